-- mod_acme_pay schema, version 26 (PostgreSQL): exact keys for the staff search.
-- What staff paste most (an e-mail address, a complete DNS name or IP address) is found
-- by an index lookup, at any size of the database, before any substring search: GIN
-- indexes on the contact list as jsonb and on the names as an array (containment), on
-- the very expressions the queries use. Ids, serials and payment references are already
-- primary or unique keys of their own tables. fastupdate off: a row adds one to three keys,
-- written at once, so a lookup never walks a pending list (seen: 40-70 ms per lookup after
-- a bulk load until VACUUM cleaned it).
CREATE INDEX accounts_contact_key ON accounts USING gin ((lower(contacts)::jsonb)) WITH (fastupdate = off);
CREATE INDEX orders_name_key ON orders USING gin ((string_to_array(names_key, ','))) WITH (fastupdate = off);
CREATE INDEX certificates_name_key ON certificates USING gin ((string_to_array(names_key, ','))) WITH (fastupdate = off);
