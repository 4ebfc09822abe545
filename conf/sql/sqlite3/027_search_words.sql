-- mod_acme_pay schema, version 27 (SQLite): word indexes for the staff search.
-- A part of a text made of common trigrams (a label of a name among millions that share
-- its letters) walks long trigram posting lists; a word does not. One FTS5 table per kind
-- with the unicode61 tokenizer (words: runs of letters and digits; '.', '-', '@' and the
-- like separate them), same bodies as the trigram tables of version 9, filled by
-- triggers. find asks them first for the text as whole words, the last one a prefix
-- ("shop.exam" finds shop.example.com), and the trigram tables only when that finds
-- nothing. The FTS rowid follows insertion: newest first is ORDER BY rowid DESC.
CREATE VIRTUAL TABLE search_word_holder USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_account USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_order USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_invoice USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_cert USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_eab USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_word_payment USING fts5(ref UNINDEXED, body, tokenize = 'unicode61');
CREATE TRIGGER search_word_holder_ai AFTER INSERT ON billing BEGIN
  INSERT INTO search_word_holder (ref, body) VALUES (new.id, new.id || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_word_account_ai AFTER INSERT ON accounts BEGIN
  INSERT INTO search_word_account (ref, body) VALUES (new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_word_account_au AFTER UPDATE OF contacts ON accounts BEGIN
  DELETE FROM search_word_account WHERE search_word_account MATCH '"' || old.id || '"' AND ref = old.id;
  INSERT INTO search_word_account (ref, body) VALUES (new.id, new.id || ' ' || new.contacts);
END;
CREATE TRIGGER search_word_order_ai AFTER INSERT ON orders BEGIN
  INSERT INTO search_word_order (ref, body) VALUES (new.id, new.id || ' ' || new.names_key);
END;
CREATE TRIGGER search_word_invoice_ai AFTER INSERT ON invoices BEGIN
  INSERT INTO search_word_invoice (ref, body) VALUES (new.id, new.id);
END;
CREATE TRIGGER search_word_cert_ai AFTER INSERT ON certificates BEGIN
  INSERT INTO search_word_cert (ref, body) VALUES (new.id, new.serial || ' ' || new.names_key);
END;
CREATE TRIGGER search_word_eab_ai AFTER INSERT ON eab_keys BEGIN
  INSERT INTO search_word_eab (ref, body) VALUES (new.kid, new.kid || ' ' || COALESCE(new.label, ''));
END;
CREATE TRIGGER search_word_payment_ai AFTER INSERT ON payments BEGIN
  INSERT INTO search_word_payment (ref, body) VALUES (new.reference, new.reference || ' ' || new.invoice_id);
END;
INSERT INTO search_word_holder (ref, body) SELECT id, id || ' ' || COALESCE(label, '') FROM billing ORDER BY created, rowid;
INSERT INTO search_word_account (ref, body) SELECT id, id || ' ' || contacts FROM accounts ORDER BY created, rowid;
INSERT INTO search_word_order (ref, body) SELECT id, id || ' ' || names_key FROM orders ORDER BY created, rowid;
INSERT INTO search_word_invoice (ref, body) SELECT id, id FROM invoices ORDER BY created, rowid;
INSERT INTO search_word_cert (ref, body) SELECT id, serial || ' ' || names_key FROM certificates ORDER BY issued, rowid;
INSERT INTO search_word_eab (ref, body) SELECT kid, kid || ' ' || COALESCE(label, '') FROM eab_keys ORDER BY created, rowid;
INSERT INTO search_word_payment (ref, body) SELECT reference, reference || ' ' || invoice_id FROM payments ORDER BY created, rowid;
