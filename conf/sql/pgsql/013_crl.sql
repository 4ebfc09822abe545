-- Certificate revocation lists (RFC 5280 v2), sharded by serial. certificates.crl_shard:
-- the shard named in the certificate's crlDistributionPoints (-1 or NULL: none). crls:
-- one row per shard, the newest signed CRL (der: base64) and its number, which only
-- ever grows (the store is a conditional UPDATE on the number the generator read);
-- dirty: a revocation since the last generation; lease_*: the one generator at a time.
ALTER TABLE certificates ADD COLUMN crl_shard INTEGER;
CREATE INDEX certificates_crl ON certificates (crl_shard) WHERE revoked IS NOT NULL;
CREATE TABLE crls (
    shard INTEGER PRIMARY KEY, number BIGINT NOT NULL DEFAULT 0,
    this_update BIGINT NOT NULL DEFAULT 0, next_update BIGINT NOT NULL DEFAULT 0,
    der TEXT, entries BIGINT NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 1,
    lease_owner TEXT, lease_until BIGINT NOT NULL DEFAULT 0);
