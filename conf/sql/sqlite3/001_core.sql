-- mod_acme_pay schema, version 1 (SQLite). Times are unix seconds; money is integer minor units.
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE billing (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT,
    balance BIGINT NOT NULL DEFAULT 0, created BIGINT NOT NULL);
CREATE TABLE eab_keys (
    kid TEXT PRIMARY KEY, hmac_key TEXT NOT NULL, label TEXT, billing_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', created BIGINT NOT NULL);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY, thumbprint TEXT NOT NULL UNIQUE, jwk TEXT NOT NULL,
    status TEXT NOT NULL, contacts TEXT NOT NULL, tos_agreed INTEGER NOT NULL DEFAULT 0,
    eab_kid TEXT, billing_id TEXT NOT NULL, created BIGINT NOT NULL);
CREATE INDEX accounts_billing ON accounts (billing_id);
CREATE TABLE orders (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, status TEXT NOT NULL,
    expires BIGINT NOT NULL, identifiers TEXT NOT NULL, names_key TEXT NOT NULL,
    not_before BIGINT, not_after BIGINT, error TEXT, csr TEXT, cert_id TEXT,
    price BIGINT, created BIGINT NOT NULL, updated BIGINT NOT NULL);
CREATE INDEX orders_account ON orders (account_id, created);
CREATE INDEX orders_status ON orders (status, created);
CREATE TABLE authorizations (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, ident TEXT NOT NULL,
    wildcard INTEGER NOT NULL, status TEXT NOT NULL, expires BIGINT NOT NULL,
    created BIGINT NOT NULL);
CREATE INDEX authz_reuse ON authorizations (account_id, ident, wildcard, status);
CREATE TABLE order_authz (
    order_id TEXT NOT NULL, authz_id TEXT NOT NULL, pos INTEGER NOT NULL,
    PRIMARY KEY (order_id, authz_id));
CREATE INDEX order_authz_authz ON order_authz (authz_id);
CREATE TABLE challenges (
    id TEXT PRIMARY KEY, authz_id TEXT NOT NULL, type TEXT NOT NULL, token TEXT NOT NULL,
    status TEXT NOT NULL, validated BIGINT, error TEXT);
CREATE INDEX challenges_authz ON challenges (authz_id);
CREATE TABLE certificates (
    id TEXT PRIMARY KEY, serial TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL,
    account_id TEXT NOT NULL, billing_id TEXT NOT NULL, names_key TEXT NOT NULL,
    pem TEXT NOT NULL, not_before BIGINT NOT NULL, not_after BIGINT NOT NULL,
    issued BIGINT NOT NULL, revoked BIGINT, revoked_reason INTEGER);
CREATE INDEX certificates_reissue ON certificates (billing_id, names_key, issued);
CREATE INDEX certificates_order ON certificates (order_id);
CREATE TABLE nonces (nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX nonces_expires ON nonces (expires);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL,
    run_after BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL);
CREATE INDEX jobs_due ON jobs (claimed_until, run_after);
