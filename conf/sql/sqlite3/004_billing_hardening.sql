-- mod_acme_pay schema, version 4 (SQLite): the currency of every holder and ledger row,
-- the invoice command's answer kept with its invoice, unique Ethereum amounts among open
-- invoices, and the welcome-credit bound per client address.
-- A holder's currency is fixed by its first money movement (holders from before this
-- version have none yet); a charge or credit in another currency is refused.
ALTER TABLE billing ADD COLUMN currency TEXT;
ALTER TABLE ledger ADD COLUMN currency TEXT;
-- when the holder got its welcome credit (an EAB credential's: when the first account
-- bound to it; NULL: never)
ALTER TABLE billing ADD COLUMN welcomed BIGINT;
-- AcmePayInvoiceCommand runs once per invoice: state NULL (not run), 'running' (claimed
-- until checkout_until, outside any transaction), 'done' or 'failed'
ALTER TABLE invoices ADD COLUMN checkout_url TEXT;
ALTER TABLE invoices ADD COLUMN checkout_state TEXT;
ALTER TABLE invoices ADD COLUMN checkout_until BIGINT;
-- no two open invoices share an EIP-681 URI (address, chain and exact wei): an on-chain
-- payment names one invoice. Expired open invoices give their amount back.
UPDATE invoices SET status = 'expired' WHERE status = 'open' AND expires <= CAST(strftime('%s', 'now') AS INTEGER);
UPDATE invoices SET status = 'expired' WHERE status = 'open' AND eth_wei IS NOT NULL AND id NOT IN (SELECT MIN(id) FROM invoices WHERE status = 'open' AND eth_wei IS NOT NULL GROUP BY eth_wei);
CREATE UNIQUE INDEX invoices_open_eth ON invoices (eth_wei) WHERE status = 'open' AND eth_wei IS NOT NULL;
-- welcome credits given to accounts without EAB, per client address (IPv6: its /64) and
-- fixed window of AcmePayFreeBalanceLimit seconds
CREATE TABLE welcome_grants (
    addr TEXT NOT NULL, win BIGINT NOT NULL, n BIGINT NOT NULL, expires BIGINT NOT NULL,
    PRIMARY KEY (addr, win));
CREATE INDEX welcome_grants_expires ON welcome_grants (expires);
