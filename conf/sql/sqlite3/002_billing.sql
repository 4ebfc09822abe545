-- mod_acme_pay schema, version 2 (SQLite): ledger, invoices, payments.
-- The ledger is append-only: every change of billing.balance writes one row in the same
-- transaction, so SUM(delta) per holder always equals its balance.
CREATE TABLE ledger (
    id TEXT PRIMARY KEY, billing_id TEXT NOT NULL, delta BIGINT NOT NULL,
    balance_after BIGINT NOT NULL, kind TEXT NOT NULL, order_id TEXT, invoice_id TEXT,
    cert_id TEXT, reference TEXT, actor TEXT NOT NULL, reason TEXT, created BIGINT NOT NULL);
CREATE INDEX ledger_billing ON ledger (billing_id, created);
CREATE INDEX ledger_created ON ledger (created);
-- at most one charge, one refund and one free-reissue row per order
CREATE UNIQUE INDEX ledger_order_kind ON ledger (order_id, kind) WHERE order_id IS NOT NULL;
CREATE TABLE invoices (
    id TEXT PRIMARY KEY, billing_id TEXT NOT NULL, order_id TEXT, amount BIGINT NOT NULL,
    paid BIGINT NOT NULL DEFAULT 0, currency TEXT NOT NULL, status TEXT NOT NULL,
    pay_url TEXT, eth_wei TEXT, created BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE INDEX invoices_open ON invoices (billing_id, status, amount);
CREATE INDEX invoices_status ON invoices (status, created);
CREATE TABLE payments (
    reference TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, amount BIGINT NOT NULL,
    currency TEXT NOT NULL, source TEXT NOT NULL, created BIGINT NOT NULL);
ALTER TABLE orders ADD COLUMN charged BIGINT;
ALTER TABLE orders ADD COLUMN reissue_of TEXT;
