-- mod_acme_pay schema, version 28 (PostgreSQL): the staff search reads narrow tables of
-- its own, as SQLite's FTS tables (versions 9 and 27) always did. The trigram and word
-- indexes of versions 9 and 27 were expressions on the wide tables, so every candidate a
-- lookup had to check read a row of the wide table (a certificate row holds its PEM: one
-- row per page): at 10,000,000 certificates those rows no longer fit in memory and a word
-- or trigram lookup read them from disk. Each kind's search text (the same text as
-- before) is now a row of search_<kind> (ref, body, time), filled by a trigger on insert
-- (and on a change of an account's contacts); the indexes are on body. The wide tables
-- lose their trigram and word indexes, so an order's status change (never HOT: the
-- status is indexed) no longer inserts into those two GIN indexes. fastupdate = off on
-- every index here: a lookup never walks a pending list (up to 4 MB after a burst of
-- inserts), and no ACME request that happens to fill the list pays for merging it.
CREATE TABLE search_holder (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_account (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_order (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_invoice (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_cert (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_eab (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
CREATE TABLE search_payment (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created BIGINT NOT NULL);
INSERT INTO search_holder (ref, body, created) SELECT id, id || ' ' || COALESCE(label, ''), created FROM billing;
INSERT INTO search_account (ref, body, created) SELECT id, id || ' ' || contacts, created FROM accounts;
INSERT INTO search_order (ref, body, created) SELECT id, id || ' ' || names_key, created FROM orders;
INSERT INTO search_invoice (ref, body, created) SELECT id, id, created FROM invoices;
INSERT INTO search_cert (ref, body, created) SELECT id, serial || ' ' || names_key, issued FROM certificates;
INSERT INTO search_eab (ref, body, created) SELECT kid, kid || ' ' || COALESCE(label, ''), created FROM eab_keys;
INSERT INTO search_payment (ref, body, created) SELECT reference, reference || ' ' || invoice_id, created FROM payments;
CREATE INDEX search_holder_trgm ON search_holder USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_holder_words ON search_holder USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_holder_created ON search_holder (created);
CREATE INDEX search_account_trgm ON search_account USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_account_words ON search_account USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_account_created ON search_account (created);
CREATE INDEX search_order_trgm ON search_order USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_order_words ON search_order USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_order_created ON search_order (created);
CREATE INDEX search_invoice_trgm ON search_invoice USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_invoice_words ON search_invoice USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_invoice_created ON search_invoice (created);
CREATE INDEX search_cert_trgm ON search_cert USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_cert_words ON search_cert USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_cert_created ON search_cert (created);
CREATE INDEX search_eab_trgm ON search_eab USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_eab_words ON search_eab USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_eab_created ON search_eab (created);
CREATE INDEX search_payment_trgm ON search_payment USING gin (body gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX search_payment_words ON search_payment USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX search_payment_created ON search_payment (created);
CREATE FUNCTION search_holder_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_holder (ref, body, created) VALUES (NEW.id, NEW.id || ' ' || COALESCE(NEW.label, ''), NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_holder_fill AFTER INSERT ON billing FOR EACH ROW EXECUTE FUNCTION search_holder_fill();
CREATE FUNCTION search_account_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_account (ref, body, created) VALUES (NEW.id, NEW.id || ' ' || NEW.contacts, NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_account_fill AFTER INSERT OR UPDATE OF contacts ON accounts FOR EACH ROW EXECUTE FUNCTION search_account_fill();
CREATE FUNCTION search_order_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_order (ref, body, created) VALUES (NEW.id, NEW.id || ' ' || NEW.names_key, NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_order_fill AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION search_order_fill();
CREATE FUNCTION search_invoice_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_invoice (ref, body, created) VALUES (NEW.id, NEW.id, NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_invoice_fill AFTER INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION search_invoice_fill();
CREATE FUNCTION search_cert_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_cert (ref, body, created) VALUES (NEW.id, NEW.serial || ' ' || NEW.names_key, NEW.issued)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_cert_fill AFTER INSERT ON certificates FOR EACH ROW EXECUTE FUNCTION search_cert_fill();
CREATE FUNCTION search_eab_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_eab (ref, body, created) VALUES (NEW.kid, NEW.kid || ' ' || COALESCE(NEW.label, ''), NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_eab_fill AFTER INSERT ON eab_keys FOR EACH ROW EXECUTE FUNCTION search_eab_fill();
CREATE FUNCTION search_payment_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_payment (ref, body, created) VALUES (NEW.reference, NEW.reference || ' ' || NEW.invoice_id, NEW.created)
    ON CONFLICT (ref) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END
$$;
CREATE TRIGGER search_payment_fill AFTER INSERT ON payments FOR EACH ROW EXECUTE FUNCTION search_payment_fill();
-- Rows another node inserted while the copy above and the index builds ran (its
-- snapshot did not see them, the triggers did not exist yet): the triggers' locks
-- have waited for those writers, so the newest rows copied once more catch them all
-- (an hour's margin for the nodes' clocks).
INSERT INTO search_holder (ref, body, created) SELECT id, id || ' ' || COALESCE(label, ''), created FROM billing WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_holder) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_account (ref, body, created) SELECT id, id || ' ' || contacts, created FROM accounts WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_account) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_order (ref, body, created) SELECT id, id || ' ' || names_key, created FROM orders WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_order) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_invoice (ref, body, created) SELECT id, id, created FROM invoices WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_invoice) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_cert (ref, body, created) SELECT id, serial || ' ' || names_key, issued FROM certificates WHERE issued >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_cert) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_eab (ref, body, created) SELECT kid, kid || ' ' || COALESCE(label, ''), created FROM eab_keys WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_eab) ON CONFLICT (ref) DO NOTHING;
INSERT INTO search_payment (ref, body, created) SELECT reference, reference || ' ' || invoice_id, created FROM payments WHERE created >= (SELECT COALESCE(MAX(created), 0) - 3600 FROM search_payment) ON CONFLICT (ref) DO NOTHING;
DROP INDEX billing_search;
DROP INDEX accounts_search;
DROP INDEX orders_search;
DROP INDEX invoices_search;
DROP INDEX certificates_search;
DROP INDEX eab_keys_search;
DROP INDEX payments_search;
DROP INDEX billing_words;
DROP INDEX accounts_words;
DROP INDEX orders_words;
DROP INDEX invoices_words;
DROP INDEX certificates_words;
DROP INDEX eab_keys_words;
DROP INDEX payments_words;
