#!/bin/bash
# AcmePaySQLiteMmapSize: by default the module's SQLite connections map none of the
# database (in WAL mode every commit of another connection makes each connection drop
# its mapping and fault it in again, which measured dearer than reading through the page
# cache: docs/PERFORMANCE.md, "SQLite: reads"); with the directive they map it. A bad
# value or a use inside a virtual host is refused at configuration time. With PostgreSQL
# the directive changes nothing (no PRAGMA reaches the server; requests work).
. "$(dirname "$0")/lib.sh"

# the number of the Apache children's mappings of the database file (SQLite), after some
# requests that read it (newAccount, newOrder, POST-as-GET of the order); $1: the
# Apache's run directory
db_maps() {
    /usr/bin/python3 - <<'PY' || { fail "requests before reading the mappings"; return 1; }
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
for _ in range(4):
    a = Acme()
    k = Key()
    r = a.new_account(k)
    assert r.status == 201, r
    o = a.new_order(["mmap.example"])
    assert o.status == 201, o
    assert a.get(o.header("Location")).status == 200
PY
    local n=0 c
    for c in $(pgrep -P "$(cat "$1/httpd.pid")"); do
        # the file itself (every WAL connection maps acme.db-shm, the WAL's index)
        n=$((n + $(awk -v f="$ACME_DB_PARAMS" '$NF == f' "/proc/$c/maps" 2>/dev/null | wc -l)))
    done
    echo "$n"
}
export IT_DIR

acme_setup
n=$(db_maps "$T/httpd")
log "default: $n mappings of $ACME_DB_PARAMS"
expect_eq 0 "$n" "mappings of the database without AcmePaySQLiteMmapSize"
apache_stop "$T/httpd"

# with the directive (server-wide) every connection maps the file
apache_start "$T/httpd2" --ca-dir "$T/ca" --module "$ACME_MODULE" \
    --acme-port "$ACME_PORT" --webroot "$ACME_WEBROOT" --http01-vhost-port "$HTTP01_PORT" \
    --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
    --resolver "127.0.0.1:$DNS_PORT" --http01-port $HTTP01_PORT \
    --tlsalpn01-port $TLSALPN01_PORT --key-file "$ACME_KEY_FILE" \
    --global "AcmePaySQLiteMmapSize 268435456" ||
    die "Apache with AcmePaySQLiteMmapSize did not start"
n=$(db_maps "$T/httpd2")
log "AcmePaySQLiteMmapSize 268435456: $n mappings"
# (PostgreSQL: the requests above answered as they should with the directive set)
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    [ "$n" -ge 1 ] || fail "AcmePaySQLiteMmapSize set, but no child maps the database"
fi
apache_stop "$T/httpd2"

# refused: not a number, over SQLite's maximum, inside a virtual host
for bad in "--global|AcmePaySQLiteMmapSize lots" "--global|AcmePaySQLiteMmapSize 4294967296" \
    "--directive|AcmePaySQLiteMmapSize 1048576"; do
    mkdir -p "$T/bad"
    sh "$REPO/build/apache-conf.sh" --run-dir "$T/bad" --ca-dir "$T/ca" --module "$ACME_MODULE" \
        --acme-port "$ACME_PORT" --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
        "${bad%%|*}" "${bad#*|}" > "$T/bad/httpd.conf"
    if out=$(apache2 -f "$T/bad/httpd.conf" -t 2>&1); then
        fail "'${bad#*|}' (${bad%%|*}) accepted"
    else
        expect_contains "$out" "AcmePaySQLiteMmapSize" "the refusal of '${bad#*|}'"
    fi
done
finish
