-- Abuse limits (acp_ra_limit.c), counted over rows the limited requests write anyway:
-- the client address a new account came from (IPv4, or the IPv6 /64), the time a
-- validation failed, and partial covering indexes so each count reads one short index range
-- and no table row (status is in authz_pending only so SQLite sees it as covering).
ALTER TABLE accounts ADD COLUMN reg_addr TEXT;
CREATE INDEX accounts_reg_addr ON accounts (reg_addr, created) WHERE reg_addr IS NOT NULL;
ALTER TABLE authorizations ADD COLUMN failed BIGINT;
CREATE INDEX authz_failed ON authorizations (account_id, failed, ident) WHERE failed IS NOT NULL;
CREATE INDEX authz_pending ON authorizations (account_id, expires, status) WHERE status = 'pending';
