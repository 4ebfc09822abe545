-- Spent nonces of AcmePayNonceStore database (docs/ARCHITECTURE.md, Nonces): the same
-- table and epoch rows as with PostgreSQL (there UNLOGGED). A SQLite file is never
-- emptied behind our back, so its epoch stays unless the row is lost with the file.
CREATE TABLE nonce_spent (nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX nonce_spent_expires ON nonce_spent (expires);
DELETE FROM nonces;
