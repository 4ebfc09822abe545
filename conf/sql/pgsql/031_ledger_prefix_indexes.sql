-- mod_acme_pay schema, version 31 (PostgreSQL): two ledger indexes of version 2 are the
-- leading columns of two of version 9, which page the ledger by (created, seq):
-- ledger_billing (billing_id, created) of ledger_billing_seq, ledger_created (created) of
-- ledger_created_seq. Every query the short ones served is served by the long ones (same
-- order, same range), and each ledger row (two per paid certificate) wrote four index
-- entries where two do.
DROP INDEX IF EXISTS ledger_billing;
DROP INDEX IF EXISTS ledger_created;
