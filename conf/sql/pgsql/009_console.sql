-- mod_acme_pay schema, version 9 (PostgreSQL): what the staff console needs.
-- Search: pg_trgm GIN indexes on the very expressions the console's ILIKE queries use
-- (any substring of 3 or more characters, case-insensitive). pg_trgm is a trusted
-- extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX billing_search ON billing USING gin ((id || ' ' || COALESCE(label, '')) gin_trgm_ops);
CREATE INDEX accounts_search ON accounts USING gin ((id || ' ' || contacts) gin_trgm_ops);
CREATE INDEX orders_search ON orders USING gin ((id || ' ' || names_key) gin_trgm_ops);
CREATE INDEX invoices_search ON invoices USING gin (id gin_trgm_ops);
CREATE INDEX certificates_search ON certificates USING gin ((serial || ' ' || names_key) gin_trgm_ops);
CREATE INDEX eab_keys_search ON eab_keys USING gin ((kid || ' ' || COALESCE(label, '')) gin_trgm_ops);
CREATE INDEX payments_search ON payments USING gin ((reference || ' ' || invoice_id) gin_trgm_ops);
-- The ledger in insertion order: rows of one second keep the order they were written in;
-- lists page by (created, seq).
ALTER TABLE ledger ADD COLUMN seq BIGSERIAL;
CREATE INDEX ledger_created_seq ON ledger (created, seq);
CREATE INDEX ledger_billing_seq ON ledger (billing_id, created, seq);
CREATE INDEX ledger_invoice ON ledger (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX ledger_cert ON ledger (cert_id) WHERE cert_id IS NOT NULL;
CREATE INDEX ledger_reference ON ledger (reference) WHERE reference IS NOT NULL;
CREATE INDEX invoices_order ON invoices (order_id);
CREATE INDEX invoices_created ON invoices (created);
CREATE INDEX orders_created ON orders (created);
-- An invoice is closed once its question is answered: paid, superseded (the balance
-- covers it, or the order was charged or reissued free), voided by staff; needs_balance
-- is the balance at which the order it was made for can be charged.
ALTER TABLE invoices ADD COLUMN needs_balance BIGINT;
ALTER TABLE invoices ADD COLUMN closed BIGINT;
ALTER TABLE invoices ADD COLUMN closed_by TEXT;
ALTER TABLE invoices ADD COLUMN closed_reason TEXT;
-- Staff reissues, signed by the module's workers (a "reissue" job names the request).
CREATE TABLE reissue_requests (
    id TEXT PRIMARY KEY, cert_id TEXT NOT NULL, serial TEXT NOT NULL, actor TEXT NOT NULL,
    reason TEXT NOT NULL, status TEXT NOT NULL, new_serial TEXT, error TEXT,
    created BIGINT NOT NULL, done BIGINT);
