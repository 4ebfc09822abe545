-- Organizations (OV): one per billing holder, vetted by staff. A vetting is current while
-- valid_until lies ahead and it is not revoked; editing a vetted field clears it. Every
-- change writes an org_audit row (who, when, what, why) in the same transaction, like the
-- ledger: append-only, the row's fields as they were after the change.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY, billing_id TEXT NOT NULL, legal_name TEXT NOT NULL,
    locality TEXT, state TEXT, country TEXT NOT NULL, evidence TEXT,
    vetted_by TEXT, vetted_at BIGINT, valid_until BIGINT,
    revoked_at BIGINT, revoked_by TEXT, revoked_reason TEXT,
    created BIGINT NOT NULL, updated BIGINT NOT NULL);
CREATE UNIQUE INDEX organizations_holder ON organizations (billing_id);
CREATE INDEX organizations_created ON organizations (created);
CREATE TABLE org_audit (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, billing_id TEXT NOT NULL, action TEXT NOT NULL,
    actor TEXT NOT NULL, reason TEXT, fields TEXT NOT NULL, created BIGINT NOT NULL,
    seq BIGINT NOT NULL);
-- seq numbers the changes of one organization: the order they happened in
CREATE UNIQUE INDEX org_audit_org ON org_audit (org_id, seq);
-- the organization an OV certificate was issued for (NULL: DV)
ALTER TABLE orders ADD COLUMN org_id TEXT;
