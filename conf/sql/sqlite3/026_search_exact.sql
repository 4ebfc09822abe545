-- mod_acme_pay schema, version 26 (SQLite): exact keys for the staff search.
-- What staff paste most (an e-mail address, a complete DNS name or IP address) is found
-- by a B-tree lookup, at any size of the database, before any substring search: one row
-- per contact address of an account and per name of an order or a certificate, lowercase,
-- filled by triggers (every path that writes a row is indexed). Ids, serials and payment
-- references are already primary or unique keys of their own tables.
CREATE TABLE search_key (key TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL);
CREATE INDEX search_key_key ON search_key (key, kind);
CREATE INDEX search_key_ref ON search_key (ref);
CREATE TRIGGER search_key_account_ai AFTER INSERT ON accounts BEGIN
  INSERT INTO search_key (key, kind, ref)
  SELECT lower(substr(value, 8)), 'account', new.id
    FROM json_each(CASE WHEN json_valid(new.contacts) THEN new.contacts ELSE '[]' END)
  WHERE lower(substr(value, 1, 7)) = 'mailto:';
END;
CREATE TRIGGER search_key_account_au AFTER UPDATE OF contacts ON accounts BEGIN
  DELETE FROM search_key WHERE ref = old.id AND kind = 'account';
  INSERT INTO search_key (key, kind, ref)
  SELECT lower(substr(value, 8)), 'account', new.id
    FROM json_each(CASE WHEN json_valid(new.contacts) THEN new.contacts ELSE '[]' END)
  WHERE lower(substr(value, 1, 7)) = 'mailto:';
END;
CREATE TRIGGER search_key_order_ai AFTER INSERT ON orders BEGIN
  INSERT INTO search_key (key, kind, ref)
  SELECT value, 'order', new.id FROM json_each(CASE WHEN new.names_key GLOB '*["\]*' OR new.names_key = '' THEN '[]'
    ELSE '["' || replace(new.names_key, ',', '","') || '"]' END);
END;
CREATE TRIGGER search_key_cert_ai AFTER INSERT ON certificates BEGIN
  INSERT INTO search_key (key, kind, ref)
  SELECT value, 'cert', new.id FROM json_each(CASE WHEN new.names_key GLOB '*["\]*' OR new.names_key = '' THEN '[]'
    ELSE '["' || replace(new.names_key, ',', '","') || '"]' END);
END;
INSERT INTO search_key (key, kind, ref)
SELECT lower(substr(j.value, 8)), 'account', a.id FROM accounts a, json_each(CASE WHEN json_valid(a.contacts) THEN a.contacts ELSE '[]' END) j
WHERE lower(substr(j.value, 1, 7)) = 'mailto:';
INSERT INTO search_key (key, kind, ref)
SELECT j.value, 'order', o.id FROM orders o, json_each(CASE WHEN o.names_key GLOB '*["\]*' OR o.names_key = '' THEN '[]'
    ELSE '["' || replace(o.names_key, ',', '","') || '"]' END) j;
INSERT INTO search_key (key, kind, ref)
SELECT j.value, 'cert', c.id FROM certificates c, json_each(CASE WHEN c.names_key GLOB '*["\]*' OR c.names_key = '' THEN '[]'
    ELSE '["' || replace(c.names_key, ',', '","') || '"]' END) j;
