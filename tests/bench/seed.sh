#!/bin/sh
# seed.sh DB FROM TO -- bulk-insert issued certificates FROM..TO-1 into the module's SQLite
# database (billing, accounts, orders, certificates consistent with conf/sql/sqlite3/*.sql):
# one billing holder + account per 4 certificates, one valid order per certificate, issued
# within the last 25 days (inside the 30-day free-reissue window). Run with Apache stopped.
# Row i: billing sb<i/4*4>, account sa<i/4*4>, order so<i>, certificate sc<i>,
# names_key seed-<i>.bench.test, contact mailto:ops-<i>@shop.example (so lookups can
# address any row). Serials look like a CA's (random 128 bits, as the local CA makes them):
# a multiplicative hash of i, unique (the second word is i times an odd number mod 2^32);
# tests/bench/search.sh computes the same.
set -eu
db=$1 from=$2 to=$3
now=$(date +%s)
sqlite3 -batch "$db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -200000;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT $from UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $to)
INSERT INTO billing (id, kind, label, balance, created)
SELECT printf('sb%09d', i), 'account', NULL, 0, $now - (i % 2160000) FROM s WHERE i % 4 = 0;
WITH RECURSIVE s(i) AS (SELECT $from UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $to)
INSERT INTO accounts (id, thumbprint, jwk, status, contacts, tos_agreed, eab_kid, billing_id, created)
SELECT printf('sa%09d', i), printf('st%041d', i),
       '{"crv":"P-256","kty":"EC","x":"' || substr(hex(zeroblob(22)), 1, 43) || '","y":"' || substr(hex(zeroblob(22)), 1, 43) || '"}',
       'valid', printf('["mailto:ops-%09d@shop.example"]', i), 1, NULL, printf('sb%09d', i),
       $now - (i % 2160000) FROM s WHERE i % 4 = 0;
WITH RECURSIVE s(i) AS (SELECT $from UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $to)
INSERT INTO orders (id, account_id, status, expires, identifiers, names_key, not_before, not_after,
                    error, csr, cert_id, price, created, updated, charged, reissue_of)
SELECT printf('so%09d', i), printf('sa%09d', i / 4 * 4), 'valid', $now - (i % 2160000) + 604800,
       printf('[{"type":"dns","value":"seed-%09d.bench.test"}]', i), printf('seed-%09d.bench.test', i),
       NULL, NULL, NULL, substr(hex(zeroblob(200)), 1, 400), printf('sc%09d', i), 0,
       $now - (i % 2160000), $now - (i % 2160000), 0, NULL FROM s;
WITH RECURSIVE s(i) AS (SELECT $from UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $to)
INSERT INTO certificates (id, serial, order_id, account_id, billing_id, names_key, pem, not_before,
                          not_after, issued, revoked, revoked_reason)
SELECT printf('sc%09d', i), printf('5e%06x%08x%08x%08x', ((i * 2246822519) >> 8) % 16777216, (i * 2654435761) % 4294967296,
              ((i * 3266489917) >> 8) % 4294967296, ((i * 668265263) >> 8) % 4294967296), printf('so%09d', i), printf('sa%09d', i / 4 * 4),
       printf('sb%09d', i / 4 * 4), printf('seed-%09d.bench.test', i),
       '-----BEGIN CERTIFICATE-----' || char(10) || substr(hex(zeroblob(700)), 1, 1400) || char(10) || '-----END CERTIFICATE-----' || char(10),
       $now - (i % 2160000), $now - (i % 2160000) + 7776000, $now - (i % 2160000), NULL, NULL FROM s;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
