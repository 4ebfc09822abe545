-- mod_acme_pay schema, version 27 (PostgreSQL): word indexes for the staff search.
-- A part of a text made of common trigrams walks long pg_trgm posting lists; a word does
-- not. GIN indexes on the words of the very texts the trigram indexes of version 9
-- cover: runs of ASCII letters and digits, lowercase, split by a regular expression, not
-- by to_tsvector's parser (which cuts a hex serial such as 5e00ab12 into '5e00', a number,
-- and 'ab12'). find asks them first for the text as whole words, the last one a prefix,
-- and the trigram indexes only when that finds nothing. fastupdate = off: no pending list
-- for every lookup to walk after a bulk load.
CREATE INDEX billing_words ON billing USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(id || ' ' || COALESCE(label, '')), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX accounts_words ON accounts USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(id || ' ' || contacts), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX orders_words ON orders USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(id || ' ' || names_key), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX invoices_words ON invoices USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(id), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX certificates_words ON certificates USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(serial || ' ' || names_key), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX eab_keys_words ON eab_keys USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(kid || ' ' || COALESCE(label, '')), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
CREATE INDEX payments_words ON payments USING gin (array_to_tsvector(array_remove(regexp_split_to_array(lower(reference || ' ' || invoice_id), '[^a-z0-9]+'), ''))) WITH (fastupdate = off);
-- find looks at the newest rows of a kind first (a text most rows hold): by time.
CREATE INDEX IF NOT EXISTS billing_created ON billing (created);
CREATE INDEX IF NOT EXISTS accounts_created ON accounts (created);
CREATE INDEX IF NOT EXISTS eab_keys_created ON eab_keys (created);
CREATE INDEX IF NOT EXISTS payments_created ON payments (created);
