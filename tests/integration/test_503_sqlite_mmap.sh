#!/bin/bash
# AcmePaySQLiteMmapSize: by default the module's SQLite connections map none of the
# database (in WAL mode every commit of another connection makes each connection drop
# its mapping and fault it in again, which measured dearer than reading through the page
# cache: docs/PERFORMANCE.md, "SQLite: reads"); with the directive they map it. A bad
# value or a use inside a virtual host is refused at configuration time. With PostgreSQL
# the directive changes nothing (no PRAGMA reaches the server; requests work), and the
# per-connection settings there are no JIT and no parallel workers: on a database set to
# compile every plan (jit_above_cost = 0), to plan parallel scans at no cost, and to log
# each plan (auto_explain), no plan of the module's sessions or the staff tool's shows a
# JIT section or a Gather (a big database's estimates made PostgreSQL compile 1-ms index
# lookups for 30 ms and start two workers for a one-row word lookup: docs/PERFORMANCE.md).
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

if [ "$ACME_DB_DRIVER" = pgsql ]; then
    dbn=$(printf '%s\n' "$ACME_DB_PARAMS" | tr ' ' '\n' | sed -n 's/^dbname=//p')
    for set in "jit_above_cost = 0" "parallel_setup_cost = 0" "parallel_tuple_cost = 0" \
        "min_parallel_table_scan_size = 0" "min_parallel_index_scan_size = 0" \
        "session_preload_libraries = 'auto_explain'" \
        "auto_explain.log_min_duration = 0" "auto_explain.log_analyze = on"; do
        pg_super "ALTER DATABASE \"$dbn\" SET $set" > /dev/null || die "ALTER DATABASE SET $set"
    done
    PGLOG=$(dirname "$(pg_super "SHOW data_directory")")/pg.log
    [ -f "$PGLOG" ] || die "no server log at $PGLOG"
    pg_off=$(stat -c %s "$PGLOG")
fi
# with the directive (server-wide) every connection maps the file
apache_again "$T/httpd2" --global "AcmePaySQLiteMmapSize 268435456" ||
    die "Apache with AcmePaySQLiteMmapSize did not start"
n=$(db_maps "$T/httpd2")
log "AcmePaySQLiteMmapSize 268435456: $n mappings"
# (PostgreSQL: the requests above answered as they should with the directive set)
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    [ "$n" -ge 1 ] || fail "AcmePaySQLiteMmapSize set, but no child maps the database"
fi
apache_stop "$T/httpd2"
if [ "$ACME_DB_DRIVER" = pgsql ]; then
    "$REPO/out/acme-pay-admin" --driver pgsql --params "$ACME_DB_PARAMS" find mmap.example \
        > /dev/null || fail "acme-pay-admin find"
    sleep 1 # the server's log written
    plans=$(tail -c +$((pg_off + 1)) "$PGLOG" | grep -c 'Query Text:' || true)
    # (the statement that turns JIT off is itself planned before it runs: not counted)
    jits=$(tail -c +$((pg_off + 1)) "$PGLOG" |
        awk '/Query Text:/ { own = index($0, "set_config(\x27jit\x27") > 0 } /JIT:/ && !own { n++ } END { print n + 0 }')
    gathers=$(tail -c +$((pg_off + 1)) "$PGLOG" | grep -c 'Gather' || true)
    log "PostgreSQL: $plans plans logged, $jits with JIT, $gathers parallel (Gather)"
    [ "$plans" -ge 20 ] || fail "auto_explain logged $plans plans: the JIT check saw nothing"
    expect_eq 0 "$jits" "plans compiled by JIT (module and staff tool sessions)"
    expect_eq 0 "$gathers" "parallel plans (module and staff tool sessions)"
fi

# refused: not a number, over SQLite's maximum, inside a virtual host
expect_refused AcmePaySQLiteMmapSize "--global|AcmePaySQLiteMmapSize lots" "--global|AcmePaySQLiteMmapSize 4294967296" \
    "--directive|AcmePaySQLiteMmapSize 1048576"
finish
