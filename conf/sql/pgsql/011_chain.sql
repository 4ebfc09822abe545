-- The Ethereum chain watcher. chain_watch: one row per watched chain, holding the lease
-- (holder, lease_until: one watcher per deployment) and the last block processed with its
-- hash (durable progress). chain_transfers: every transfer to the payment address the
-- watcher saw with its confirmations, keyed by eth:<chainId>:<txhash>:<logIndex> (0 for a
-- native transfer): credited to an invoice, or unmatched until staff assign it.
CREATE TABLE chain_watch (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0, chain_id BIGINT NOT NULL DEFAULT 0,
    last_block BIGINT NOT NULL DEFAULT -1, last_hash TEXT, updated BIGINT NOT NULL DEFAULT 0);
INSERT INTO chain_watch (name) VALUES ('eth');
CREATE TABLE chain_transfers (
    reference TEXT PRIMARY KEY, chain_id BIGINT NOT NULL, block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL, tx_hash TEXT NOT NULL, from_addr TEXT, token TEXT NOT NULL,
    value TEXT NOT NULL, amount BIGINT NOT NULL, invoice_id TEXT, status TEXT NOT NULL,
    billing_id TEXT, created BIGINT NOT NULL, assigned BIGINT, assigned_by TEXT, reason TEXT);
CREATE INDEX chain_transfers_status ON chain_transfers (status, created);
