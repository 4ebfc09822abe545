-- Spent nonces without a durable write per request (docs/ARCHITECTURE.md, Nonces).
-- nonce_spent is UNLOGGED: an INSERT writes no WAL and a transaction that wrote only
-- here commits without flushing it. PostgreSQL empties an unlogged table after a crash
-- (and a promoted standby has it empty): the row "epoch:<N>" of the live epoch goes
-- with it, so every nonce of that epoch is refused, and the first node to notice bumps
-- settings.nonce_epoch (a durable, synchronous commit) and writes the new epoch's row.
-- The old nonces table of version 1 is no longer written.
CREATE UNLOGGED TABLE nonce_spent (nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX nonce_spent_expires ON nonce_spent (expires);
DELETE FROM nonces;
