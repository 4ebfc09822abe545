-- mod_acme_pay schema, version 30 (SQLite): the staff search's rows are indexed in batches.
-- Every FTS5 table a transaction writes flushes a segment of its own when it commits (a
-- leaf, the structure record, the averages, the document size and the content row): a
-- certificate's search rows went into 8 of the 14 tables of versions 9 and 27 in three
-- transactions, 1.5-2.1 ms of the SQLite node's 9 ms of CPU per certificate
-- (docs/PERFORMANCE.md). A record's search row now goes into search_queue (one B-tree row),
-- and the queue moves into the FTS5 tables in one statement, DELETE FROM search_queue,
-- whose AFTER DELETE triggers insert each row into its kind's two tables: one segment per
-- table for the whole batch. The queue is moved by the insert that finds 256 rows in it
-- (about 85 certificates; that transaction pays a few milliseconds more), and by
-- acme-pay-admin before every search (adm_search_drain): a search sees every record
-- committed before it, as before. The FTS rowid still follows insertion: the queue is
-- moved whole, in its own order (seq), and starts again at 1.
-- The exact keys (search_key, version 26) stay in the records' transactions: B-tree rows.
DROP TRIGGER search_holder_ai;
DROP TRIGGER search_account_ai;
DROP TRIGGER search_account_au;
DROP TRIGGER search_order_ai;
DROP TRIGGER search_invoice_ai;
DROP TRIGGER search_cert_ai;
DROP TRIGGER search_eab_ai;
DROP TRIGGER search_payment_ai;
DROP TRIGGER search_word_holder_ai;
DROP TRIGGER search_word_account_ai;
DROP TRIGGER search_word_account_au;
DROP TRIGGER search_word_order_ai;
DROP TRIGGER search_word_invoice_ai;
DROP TRIGGER search_word_cert_ai;
DROP TRIGGER search_word_eab_ai;
DROP TRIGGER search_word_payment_ai;
CREATE TABLE search_queue (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, body TEXT);
CREATE TRIGGER search_queue_holder_ai AFTER INSERT ON billing BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('holder', new.id, new.id || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_queue_account_ai AFTER INSERT ON accounts BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('account', new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_queue_order_ai AFTER INSERT ON orders BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('order', new.id, new.id || ' ' || new.names_key);
END;
CREATE TRIGGER search_queue_invoice_ai AFTER INSERT ON invoices BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('invoice', new.id, new.id);
END;
CREATE TRIGGER search_queue_cert_ai AFTER INSERT ON certificates BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('cert', new.id, new.serial || ' ' || new.names_key);
END;
CREATE TRIGGER search_queue_eab_ai AFTER INSERT ON eab_keys BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('eab', new.kid, new.kid || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_queue_payment_ai AFTER INSERT ON payments BEGIN
  INSERT INTO search_queue (kind, ref, body) VALUES ('payment', new.reference, new.reference || ' ' || new.invoice_id);
END;
-- a changed contact: a queued row of the account is moved first (into the FTS tables,
-- with the old text), then every row of the account leaves both tables, and the new text
-- is queued (the newest account, as before)
CREATE TRIGGER search_queue_account_au AFTER UPDATE OF contacts ON accounts BEGIN
  DELETE FROM search_queue WHERE kind = 'account' AND ref = old.id;
  DELETE FROM search_account WHERE search_account MATCH '"' || old.id || '"' AND ref = old.id;
  DELETE FROM search_word_account WHERE search_word_account MATCH '"' || old.id || '"' AND ref = old.id;
  INSERT INTO search_queue (kind, ref, body) VALUES ('account', new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_queue_holder_out AFTER DELETE ON search_queue WHEN old.kind = 'holder' BEGIN
  INSERT INTO search_holder (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_holder (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_account_out AFTER DELETE ON search_queue WHEN old.kind = 'account' BEGIN
  INSERT INTO search_account (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_account (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_order_out AFTER DELETE ON search_queue WHEN old.kind = 'order' BEGIN
  INSERT INTO search_order (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_order (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_invoice_out AFTER DELETE ON search_queue WHEN old.kind = 'invoice' BEGIN
  INSERT INTO search_invoice (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_invoice (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_cert_out AFTER DELETE ON search_queue WHEN old.kind = 'cert' BEGIN
  INSERT INTO search_cert (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_cert (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_eab_out AFTER DELETE ON search_queue WHEN old.kind = 'eab' BEGIN
  INSERT INTO search_eab (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_eab (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_payment_out AFTER DELETE ON search_queue WHEN old.kind = 'payment' BEGIN
  INSERT INTO search_payment (ref, body) VALUES (old.ref, old.body);
  INSERT INTO search_word_payment (ref, body) VALUES (old.ref, old.body);
END;
CREATE TRIGGER search_queue_full AFTER INSERT ON search_queue WHEN new.seq >= 256 BEGIN
  DELETE FROM search_queue;
END;
