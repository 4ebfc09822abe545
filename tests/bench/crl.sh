#!/bin/sh
# crl.sh N [SHARDS] -- CRL generation time and size for N revoked certificates spread over
# SHARDS shards (default 16): a fresh SQLite database, N certificates revoked (reasons
# 0..5), then `acme-pay-admin crl regenerate --all` (the workers' own code path: read the
# shard's revoked serials, sign with the local CA, store) timed, and the CRL sizes listed.
set -eu
n=$1 shards=${2:-16}
repo=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d /tmp/acp-crl-bench.XXXXXX)
trap 'rm -rf "$d"' EXIT
sh "$repo/build/gen-ca.sh" "$d/ca" > /dev/null 2>&1
cat > "$d/apache.conf" <<CONF
DBDriver sqlite3
DBDParams $d/acme.db
<Location /acme>
    SetHandler acme-pay
</Location>
AcmePayCA $d/ca/ca.pem $d/ca/ca.key
AcmePayCRLURL http://ca.example/crl/{shard}
AcmePayCRLShards $shards
CONF
adm() { "$repo/out/acme-pay-admin" -f "$d/apache.conf" "$@"; }
adm migrate > /dev/null
now=$(date +%s)
sqlite3 -batch "$d/acme.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $n)
INSERT INTO certificates (id, serial, order_id, account_id, billing_id, names_key, pem,
                          not_before, not_after, issued, revoked, revoked_reason, crl_shard)
SELECT printf('bc%09d', i), printf('%032x', 1000000007 * (i + 1)), 'o', 'a', 'b', 'n', '',
       $now - 86400, $now + 80 * 86400, $now - 86400, $now - (i % 86400), i % 6, i % $shards
FROM s;
COMMIT;
SQL
t0=$(date +%s.%N)
adm crl regenerate --all > /dev/null
t1=$(date +%s.%N)
total=$(sqlite3 "$d/acme.db" "SELECT SUM(length(der)) * 3 / 4 FROM crls")
biggest=$(sqlite3 "$d/acme.db" "SELECT MAX(length(der)) * 3 / 4 FROM crls")
echo "revoked=$n shards=$shards seconds=$(echo "$t1 - $t0" | bc) crl_bytes_total=$total largest_crl_bytes=$biggest"
