-- mod_acme_pay schema, version 9 (SQLite): what the staff console needs.
-- Search: one FTS5 table per kind of thing staff look for, trigram-tokenized (any
-- substring of 3 or more characters, case-insensitive), filled by triggers so every
-- path that writes a row is indexed. The FTS rowid follows insertion, so "newest first"
-- is ORDER BY rowid DESC inside the index. A statement ends with ';' at a line's end;
-- a trigger is one statement up to its END.
CREATE VIRTUAL TABLE search_holder USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_account USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_order USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_invoice USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_cert USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_eab USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_payment USING fts5(ref UNINDEXED, body, tokenize = 'trigram');
CREATE TRIGGER search_holder_ai AFTER INSERT ON billing BEGIN
  INSERT INTO search_holder (ref, body) VALUES (new.id, new.id || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_account_ai AFTER INSERT ON accounts BEGIN
  INSERT INTO search_account (ref, body) VALUES (new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_account_au AFTER UPDATE OF contacts ON accounts BEGIN
  DELETE FROM search_account WHERE search_account MATCH '"' || old.id || '"' AND ref = old.id;
  INSERT INTO search_account (ref, body) VALUES (new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_order_ai AFTER INSERT ON orders BEGIN
  INSERT INTO search_order (ref, body) VALUES (new.id, new.id || ' ' || new.names_key);
END;
CREATE TRIGGER search_invoice_ai AFTER INSERT ON invoices BEGIN
  INSERT INTO search_invoice (ref, body) VALUES (new.id, new.id);
END;
CREATE TRIGGER search_cert_ai AFTER INSERT ON certificates BEGIN
  INSERT INTO search_cert (ref, body) VALUES (new.id, new.serial || ' ' || new.names_key);
END;
CREATE TRIGGER search_eab_ai AFTER INSERT ON eab_keys BEGIN
  INSERT INTO search_eab (ref, body) VALUES (new.kid, new.kid || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_payment_ai AFTER INSERT ON payments BEGIN
  INSERT INTO search_payment (ref, body) VALUES (new.reference, new.reference || ' ' || new.invoice_id);
END;
INSERT INTO search_holder (ref, body) SELECT id, id || ' ' || COALESCE(label, '') FROM billing ORDER BY created, rowid;
INSERT INTO search_account (ref, body) SELECT id, id || ' ' || contacts FROM accounts ORDER BY created, rowid;
INSERT INTO search_order (ref, body) SELECT id, id || ' ' || names_key FROM orders ORDER BY created, rowid;
INSERT INTO search_invoice (ref, body) SELECT id, id FROM invoices ORDER BY created, rowid;
INSERT INTO search_cert (ref, body) SELECT id, serial || ' ' || names_key FROM certificates ORDER BY issued, rowid;
INSERT INTO search_eab (ref, body) SELECT kid, kid || ' ' || COALESCE(label, '') FROM eab_keys ORDER BY created, rowid;
INSERT INTO search_payment (ref, body) SELECT reference, reference || ' ' || invoice_id FROM payments ORDER BY created, rowid;
-- The ledger in insertion order: rows of one second keep the order they were written in;
-- lists page by (created, rowid), which ledger_created and ledger_billing already hold.
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
