-- ERC-20 tokens (AcmePayEthereumToken): invoice_tokens holds each open invoice's amount per
-- token contract (base units, decimal), unique among open rows per contract (the partial
-- unique index says so across nodes); a row of an invoice no longer open is closed when
-- its amount is wanted again. chain_watch also keeps the head block the watcher last saw
-- and when it last polled successfully (server-status: lag).
CREATE TABLE invoice_tokens (
    invoice_id TEXT NOT NULL, token TEXT NOT NULL, contract TEXT NOT NULL,
    decimals INTEGER NOT NULL, value TEXT NOT NULL, uri TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open', PRIMARY KEY (invoice_id, token));
CREATE UNIQUE INDEX invoice_tokens_open ON invoice_tokens (contract, value) WHERE status = 'open';
ALTER TABLE chain_watch ADD COLUMN head BIGINT NOT NULL DEFAULT -1;
ALTER TABLE chain_watch ADD COLUMN polled BIGINT NOT NULL DEFAULT 0;
