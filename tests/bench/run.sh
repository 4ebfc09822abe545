#!/bin/sh
# tests/bench/run.sh -- `make bench`: mod_acme_pay (Apache + SQLite WAL, durable) side by side
# with Pebble, driven by the same C load generator (tests/bench/acmebench.c), then a growth
# run (10k / 100k / 1M seeded certificates) and a soak (one Apache child, RSS before/after).
# BENCH_DB=pgsql adds a node on a throw-away PostgreSQL cluster (durable: fsync and
# synchronous_commit on); BENCH_MODE=cluster adds two nodes on that PostgreSQL behind
# HAProxy (TLS at the balancer, each request to the next node). All in one run, one table.
#
# Environment:
#   BENCH_DB=sqlite|pgsql      pgsql: also a PostgreSQL node (default sqlite)
#   BENCH_MODE=single|cluster  cluster: also two nodes behind HAProxy (implies pgsql)
#   BENCH_TARGETS="…"  columns of the comparison (default: pebble sqlite [pgsql] [cluster];
#                      also sqlite-event: the SQLite node on the event MPM as Debian ships it
#                      (with the sample site's MaxKeepAliveRequests 1000 in the vhost),
#                      and pgsql-sock: the PostgreSQL node over the server's Unix socket);
#                      a target NAME@base runs BENCH_BASE_MODULE (another build of
#                      mod_acme_pay.so, e.g. main's) instead: before/after in one run
#   BENCH_RATIOS="a/b …"  ratio columns (default: sqlite/pebble pgsql/sqlite cluster/pgsql
#                      and X/X@base for every X@base target)
#   BENCH_PG_STATS=1   pg_stat_statements in the PostgreSQL cluster; the per-statement
#                      census of each PostgreSQL target lands in out/bench/pgstat-<target>.txt
#   BENCH_PG_OPTS="-c …"  more PostgreSQL settings (e.g. -c log_statement=all; with KEEP=1
#                      the statements stay in the temp dir's pg/pg.log)
#   ACME_PORT_OFFSET=N added to every port below (as in tests/integration/lib.sh)
#   BENCH_QUICK=1      small sizes (~1 minute): 150 flows, wrk 3 s, growth 1k/10k/30k, soak 2000
#   BENCH_FLOWS=N      issuance flows per server (default 1500; quick 150)
#   BENCH_ROUNDS=N     run the columns N times, interleaved (every column, then every column
#                      again…); the table shows each figure's median over the rounds (failed
#                      flows and certificates summed, books balanced only if every round's
#                      were) and each round's CPU per certificate, so one burst of load on
#                      a shared machine moves one round, not a ratio (default 1)
#   BENCH_CONC=N       concurrent flows (default 8)
#   BENCH_WARM_FLOWS=N flows of each column's warm-up (default 200, at least 3 x BENCH_CONC):
#                      enough rows that PostgreSQL's statistics, taken after it, describe
#                      tables of several pages (see "Warm-up" in docs/PERFORMANCE.md)
#   BENCH_SIZES="…"    growth sizes (default "10000 100000 1000000")
#   BENCH_SOAK=N       soak requests (default 10000)
#   BENCH_SOAK_WARM=N  requests before the soak's first reading (default 30000; quick 6000)
#   BENCH_PORT_BASE=P  private loopback ports P000.. (default 18: 18053 DNS, 18055 its API,
#                      18002 http-01, 18001 tls-alpn-01, 18400/18401 Pebble, 18500 the module,
#                      18432 PostgreSQL, 18510 HAProxy, 18511/18512 the cluster's nodes)
#                      -- apart from make test's fixed ports, so both can run at once
#   BENCH_SKIP="compare growth soak"  leave parts out
#   KEEP=1             keep the temp dir
# Results: printed, and kept in out/bench/results.txt.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/out/bench
mkdir -p "$out"

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    flows=${BENCH_FLOWS:-150}; wrk_d=${BENCH_WRK_D:-3s}; sizes=${BENCH_SIZES:-"1000 10000 30000"}
    soak=${BENCH_SOAK:-2000}; gflows=${BENCH_GROWTH_FLOWS:-40}; lookups=20000
    soak_warm=${BENCH_SOAK_WARM:-6000}
else
    flows=${BENCH_FLOWS:-1500}; wrk_d=${BENCH_WRK_D:-10s}; sizes=${BENCH_SIZES:-"10000 100000 1000000"}
    soak=${BENCH_SOAK:-10000}; gflows=${BENCH_GROWTH_FLOWS:-150}; lookups=200000
    soak_warm=${BENCH_SOAK_WARM:-30000}
fi
conc=${BENCH_CONC:-8}
warm=${BENCH_WARM_FLOWS:-200}
[ "$warm" -ge $((conc * 3)) ] 2>/dev/null || warm=$((conc * 3))
# Debian's Pebble stops answering (internal lock-up: newAccount and validations hang, no error)
# after a few hundred flows at 8 concurrent; it runs at most this many flows.
pflows=${BENCH_PEBBLE_FLOWS:-250}
[ "$pflows" -gt "$flows" ] && pflows=$flows
pb=${BENCH_PORT_BASE:-18}
skip=${BENCH_SKIP:-}
pbase=$((pb * 1000 + ${ACME_PORT_OFFSET:-0}))
dns_port=$((pbase + 53)); cts_port=$((pbase + 55)); http01_port=$((pbase + 2)); alpn_port=$((pbase + 1))
pebble_port=$((pbase + 400)); pebble_mgmt=$((pbase + 401)); acme_port=$((pbase + 500))
pg_port=$((pbase + 432)); lb_port=$((pbase + 510)); node1_port=$((pbase + 511)); node2_port=$((pbase + 512))
bench_db=${BENCH_DB:-sqlite}
bench_mode=${BENCH_MODE:-single}
[ "$bench_mode" = cluster ] && bench_db=pgsql
dflt_targets="pebble sqlite"
[ "$bench_db" = pgsql ] && dflt_targets="$dflt_targets pgsql"
[ "$bench_mode" = cluster ] && dflt_targets="$dflt_targets cluster"
targets=${BENCH_TARGETS:-$dflt_targets}
# the money path runs in every flow: a welcome credit and a charge per certificate, so
# "books balanced" checks real ledger rows
money="AcmePayPrice 100
AcmePayFreeBalance 100
AcmePayFreeBalanceLimit 1000000 86400"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] FAIL: %s\n' "$*" >&2; exit 1; }

# ---- the generator: same flags as the Makefile ---------------------------------------------
CC=${CC:-gcc}
gen=$out/acmebench
# built again when one of its sources (acmebench.c, acmebench_http.c, acmebench_flow.c,
# acmebench.h) is newer
if [ ! -x "$gen" ] ||
    [ -n "$(find "$here" -maxdepth 1 -name 'acmebench*.[ch]' -newer "$gen")" ]; then
    log "building $gen"
    # shellcheck disable=SC2046
    $CC -O2 -g -Wall -Wextra -Werror -std=gnu11 -pthread -o "$gen" "$here/acmebench.c" \
        "$here/acmebench_http.c" "$here/acmebench_flow.c" \
        $(pkg-config --cflags --libs libcurl openssl json-c) || die "cannot build the generator"
fi
for t in pebble pebble-challtestsrv wrk sqlite3 apache2 curl; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed (make deps)"
done
[ -f "$repo/out/mod_acme_pay.so" ] || die "out/mod_acme_pay.so not built (make all)"

T=$(mktemp -d /tmp/acp-bench.XXXXXX)
chmod 755 "$T"
CTS_PID= PEBBLE_PID= APACHE_DIR= APACHE_DIR2= PG_DIR= HAPROXY_PID=
. "$here/nodes.sh"
cleanup() {
    trap - EXIT INT TERM
    [ -n "$APACHE_DIR" ] && apache_stop "$APACHE_DIR"
    [ -n "$APACHE_DIR2" ] && { apache_stop "$APACHE_DIR2"; APACHE_DIR2=; }
    bench_haproxy_stop
    [ -n "$PG_DIR" ] && bench_pg_stop "$PG_DIR"
    [ -n "$PEBBLE_PID" ] && kill "$PEBBLE_PID" 2>/dev/null
    [ -n "$CTS_PID" ] && kill "$CTS_PID" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# (sh is dash here: no /dev/tcp) curl exits 7 when nothing accepts on the port
port_busy() { curl -s -o /dev/null --max-time 1 "telnet://127.0.0.1:$1" </dev/null 2>/dev/null; [ $? -ne 7 ]; }
wait_url() { # URL SECONDS
    _w=0
    while [ $_w -lt $(($2 * 5)) ]; do
        curl -sf --max-time 2 --cacert "$T/ca/trust.pem" "$1" >/dev/null 2>&1 && return 0
        sleep 0.2; _w=$((_w + 1))
    done
    return 1
}
for p in $dns_port $cts_port $http01_port $pebble_port $pebble_mgmt $acme_port $pg_port $lb_port $node1_port $node2_port; do
    port_busy "$p" && die "port $p is busy (another bench? set BENCH_PORT_BASE)"
done

sh "$repo/build/gen-ca.sh" "$T/ca" 2>/dev/null || die "gen-ca.sh failed"
pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$cts_port" \
    -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    > "$T/challtestsrv.log" 2>&1 &
CTS_PID=$!
sleep 0.5

res=$out/results.txt
: > "$T/results"
record() { echo "$*" >> "$T/results"; }
field() { # LINE KEY
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
run_gen() { # LABEL DIR PID [extra args]
    label=$1 dir=$2 pid=$3
    shift 3
    "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --pid "$pid" --http01 "$http01_port" \
        --label "$label" --prefix "$(printf '%s' "$label" | tr -c 'a-z0-9-' '-')-$(date +%s)-" "$@" 2> "$T/gen-$label.err" | grep '^RESULT' || {
        tail -n 20 "$T/gen-$label.err" >&2; return 1; }
}
wrk_rps() { # URL -> "req/s non2xx"
    w=$(wrk -t2 -c32 -d"$wrk_d" "$1" 2>&1)
    rps=$(printf '%s\n' "$w" | awk '/Requests\/sec/ { print $2 }')
    bad=$(printf '%s\n' "$w" | awk '/Non-2xx/ { print $5 }')
    echo "${rps:-0} ${bad:-0}"
}

# ---- Pebble --------------------------------------------------------------------------------
pebble_start() {
    cat > "$T/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$pebble_mgmt",
 "certificate": "$T/ca/server.pem", "privateKey": "$T/ca/server.key", "httpPort": $http01_port,
 "tlsPort": $alpn_port, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
        pebble -config "$T/pebble.json" -dnsserver "127.0.0.1:$dns_port" > "$T/pebble.log" 2>&1 &
    PEBBLE_PID=$!
    wait_url "https://localhost:$pebble_port/dir" 20 || { tail "$T/pebble.log" >&2; die "Pebble did not start"; }
}
pebble_stop() { kill "$PEBBLE_PID" 2>/dev/null; wait "$PEBBLE_PID" 2>/dev/null || true; PEBBLE_PID=; }

# ---- Apache + module ---------------------------------------------------------------------
apache_start() { # DIR [apache-conf.sh args]; DRIVER/PARAMS/PORT/URL from A_DRIVER… when set
    d=$1
    shift
    mkdir -p "$d/db"
    sh "$repo/build/apache-conf.sh" --run-dir "$d" --ca-dir "$T/ca" --module "${A_MODULE:-$repo/out/mod_acme_pay.so}" \
        --acme-port "${A_PORT:-$acme_port}" --http01-vhost-port none --db-driver "${A_DRIVER:-sqlite3}" \
        --db-params "${A_PARAMS:-$d/db/acme.db}" --resolver "127.0.0.1:$dns_port" --http01-port "$http01_port" \
        --tlsalpn01-port "$alpn_port" --log-level warn "$@" > "$d/httpd.conf"
    apache2 -f "$d/httpd.conf" -k start > "$d/start.log" 2>&1 || { cat "$d/start.log" >&2; die "Apache did not start"; }
    if [ -z "$APACHE_DIR" ]; then APACHE_DIR=$d; else APACHE_DIR2=$d; fi
    wait_url "${A_URL:-https://localhost:$acme_port/acme/directory}" 30 ||
        { tail -n 30 "$d/logs/error.log" >&2; die "the module did not answer"; }
}
apache_stop() { # DIR (bounded: graceful 10 s, then SIGKILL to the process group)
    d=$1
    [ -s "$d/httpd.pid" ] || { APACHE_DIR=; return 0; }
    pid=$(cat "$d/httpd.pid")
    apache2 -f "$d/httpd.conf" -k stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    _s=0
    while kill -0 "$pid" 2>/dev/null && [ $_s -lt 50 ]; do sleep 0.2; _s=$((_s + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    rm -f "$d/httpd.pid"
    if [ "$APACHE_DIR2" = "$d" ]; then APACHE_DIR2=; else APACHE_DIR=; fi
}
apache_pid() { cat "$1/httpd.pid"; }
children_of() { ps -o pid= --ppid "$1" | tr -d ' '; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# heap and other private memory: what a leak grows (VmRSS also counts the database's
# memory-mapped file pages, which grow with the database, not with requests)
anon_kb() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }

# ---- 1. side by side ---------------------------------------------------------------------
log "$(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); flows=$flows conc=$conc"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# measure_module LABEL DIRECTORY-URL PIDS DRIVER PARAMS: warm-up, the flows, wrk on newNonce,
# directory and renewalInfo, the books; everything into $T/r-LABEL (key=value lines)
measure_module() {
    ml=$1 mu=$2 mp=$3 mdrv=$4 mpar=$5
    mbase=${mu%/directory}
    log "$ml: warm-up ($warm flows), then $flows flows"
    # at full concurrency, so every Apache thread has its database connection already; and
    # long enough that the tables are past a few pages when PostgreSQL's statistics are
    # taken below: a statement planned on one-page tables keeps its whole-table scan while
    # the flows grow the table (until autovacuum's next ANALYZE, which in a production
    # database comes long before the table has grown twenty-fold)
    run_gen "$ml-warm" "$mu" "$mp" --flows "$warm" --conc "$conc" >/dev/null || die "warm-up failed on $ml"
    if [ "$mdrv" = pgsql ]; then
        # as pgbench does before a run: the warm-up's dead rows vacuumed and a checkpoint
        # taken now, so neither autovacuum nor a timed checkpoint (every 5 minutes) lands
        # in one column's few seconds of flows and not in another's
        bench_psql "$PG_DIR" "VACUUM ANALYZE" acme >/dev/null
        bench_psql "$PG_DIR" "CHECKPOINT" >/dev/null
    fi
    if [ "$mdrv" = pgsql ] && [ "${BENCH_PG_STATS:-0}" = 1 ]; then
        bench_psql "$PG_DIR" "SELECT pg_stat_statements_reset(), pg_stat_reset()" acme >/dev/null
    fi
    [ "$mdrv" = pgsql ] && w0=$(pg_counts)
    R=$(run_gen "$ml" "$mu" "$mp" --flows "$flows" --conc "$conc") || die "generator failed against $ml"
    log "$R"
    if [ "$mdrv" = pgsql ]; then
        # what the database did per certificate: WAL flushes, commits, WAL bytes, rows read by
        # whole-table scans (counts, not times: they do not depend on what else the machine
        # runs). A backend hands in its counters at most once a second while busy and within
        # 10 s of going idle (PostgreSQL 15's PGSTAT_IDLE_INTERVAL): wait for the last ones.
        sleep 11
        set -- $w0 $(pg_counts)
        nok=$(printf '%s\n' "$R" | tr ' ' '\n' | sed -n 's/^ok=//p')
        pg_per="$(awk -v a="$1" -v b="$5" -v n="$nok" 'BEGIN { printf "%.1f", (b - a) / n }') $(awk -v a="$2" -v b="$6" -v n="$nok" 'BEGIN { printf "%.1f", (b - a) / n }') $(awk -v a="$3" -v b="$7" -v n="$nok" 'BEGIN { printf "%.0f", (b - a) / n }') $(awk -v a="$4" -v b="$8" -v n="$nok" 'BEGIN { printf "%.0f", (b - a) / n }')"
    fi
    if [ "$mdrv" = pgsql ] && [ "${BENCH_PG_STATS:-0}" = 1 ]; then
        bench_psql "$PG_DIR" "SELECT calls, round(total_exec_time::numeric, 1) AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY calls DESC LIMIT 60" acme \
            > "$out/pgstat-$ml.txt" 2>&1 || true
        bench_psql "$PG_DIR" "SELECT 'statements', sum(calls) FROM pg_stat_statements" acme >> "$out/pgstat-$ml.txt" 2>&1 || true
        # updates that had to add index entries (not HOT), per table, the measured flows only
        bench_psql "$PG_DIR" "SELECT 'updates', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE n_tup_upd > 0 ORDER BY n_tup_upd DESC" acme >> "$out/pgstat-$ml.txt" 2>&1 || true
        # whole-table reads, per table, the measured flows only
        bench_psql "$PG_DIR" "SELECT 'seqscans', relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables WHERE seq_scan > 0 ORDER BY seq_tup_read DESC" acme >> "$out/pgstat-$ml.txt" 2>&1 || true
    fi
    if [ "$mdrv" = pgsql ]; then
        psql "$mpar" -tAc "SELECT pem FROM certificates ORDER BY issued DESC LIMIT 1" > "$T/one.pem"
    else
        sqlite3 "$mpar" "SELECT pem FROM certificates ORDER BY issued DESC LIMIT 1" > "$T/one.pem"
    fi
    cid=$(ari_id "$T/one.pem")
    set -- $(wrk_rps "$mbase/new-nonce"); mn=$1 mnb=$2
    set -- $(wrk_rps "$mbase/directory"); md=$1
    set -- $(wrk_rps "$mbase/renewal-info/$cid"); ma=$1 mab=$2
    if ACME_DB_DRIVER=$mdrv ACME_DB_PARAMS=$mpar python3 "$repo/tests/integration/outage.py" books > "$T/books-$ml" 2>&1; then
        mbk=balanced
    else
        mbk=UNBALANCED; cat "$T/books-$ml" >&2
    fi
    {
        printf '%s\n' "$R" | tr ' ' '\n' | grep '='
        echo "nonce_rps=$mn"; echo "nonce_bad=$mnb"; echo "dir_rps=$md"
        echo "ari_rps=$ma"; echo "ari_bad=$mab"; echo "books=$mbk"
        echo "certs_rows=$(sed -n 's/^books: \([0-9]*\) certificates.*/\1/p' "$T/books-$ml")"
        if [ "$mdrv" = pgsql ]; then
            set -- $pg_per
            echo "pg_wal_syncs=$1"; echo "pg_commits=$2"; echo "pg_wal_bytes=$3"; echo "pg_seq_rows=$4"
            if [ -f "$out/pgstat-$ml.txt" ] && [ "${BENCH_PG_STATS:-0}" = 1 ]; then
                echo "pg_statements=$(awk -F'|' -v n="$nok" '$1 == "statements" { printf "%.1f", $2 / n }' "$out/pgstat-$ml.txt")"
            fi
        fi
    } > "$T/r-$ml"
}
val() { sed -n "s/^$2=//p" "$T/r-$1" 2>/dev/null | head -n 1; }
# "wal_sync commits wal_bytes seq_rows" of the bench database so far (seq_rows: rows read by
# whole-table scans)
pg_counts() {
    bench_psql "$PG_DIR" "SELECT (SELECT wal_sync FROM pg_stat_wal), (SELECT xact_commit FROM pg_stat_database WHERE datname = 'acme'), (SELECT wal_bytes FROM pg_stat_wal), (SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables)" acme | tr '|' ' '
}

case " $skip " in *" compare "*) : > "$T/table" ;; *)
case " $targets " in *" pgsql"*|*" cluster"*)
    PG_DIR=$T/pg
    bench_pg_start "$PG_DIR" "$pg_port" || die "PostgreSQL did not start"
    log "PostgreSQL on 127.0.0.1:$pg_port (fsync on, synchronous_commit on)"
;; esac
rounds=${BENCH_ROUNDS:-1}
case $rounds in ''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive number" ;; esac
for round in $(seq 1 "$rounds"); do
[ "$rounds" -gt 1 ] && log "round $round of $rounds"
for tg in $targets; do
    rm -rf "$T/d-$tg" "$T/d-${tg}1" "$T/d-${tg}2"
    A_MODULE=
    case $tg in *@base)
        [ -f "${BENCH_BASE_MODULE:-}" ] || die "$tg: set BENCH_BASE_MODULE to a mod_acme_pay.so"
        A_MODULE=$BENCH_BASE_MODULE ;;
    esac
    export A_MODULE
    case ${tg%@base} in
    pebble)
        pebble_start
        log "Pebble: warm-up, $pflows flows"
        run_gen pebble-warm "https://localhost:$pebble_port/dir" "$PEBBLE_PID" --flows 20 --conc 4 >/dev/null
        P=$(run_gen pebble "https://localhost:$pebble_port/dir" "$PEBBLE_PID" --flows "$pflows" --conc "$conc" --timeout 15 --deadline 120) ||
            die "generator failed against Pebble"
        log "$P"
        set -- $(wrk_rps "https://localhost:$pebble_port/nonce-plz"); P_NONCE=$1 P_NONCE_BAD=$2
        set -- $(wrk_rps "https://localhost:$pebble_port/dir"); P_DIR=$1
        pebble_stop
        { printf '%s\n' "$P" | tr ' ' '\n' | grep '='
          echo "nonce_rps=$P_NONCE"; echo "nonce_bad=$P_NONCE_BAD"; echo "dir_rps=$P_DIR"
          echo "ari_rps=-"; echo "books=-"; } > "$T/r-pebble"
        ;;
    sqlite|sqlite-event)
        # sqlite-event: Apache as Debian ships it (event MPM, MaxKeepAliveRequests 100), with
        # what the sample site (conf/acme-pay.conf) sets in its <VirtualHost>
        set --
        [ "${tg%@base}" = sqlite-event ] && set -- --mpm event --global "MaxKeepAliveRequests 100" \
            --directive "MaxKeepAliveRequests 1000"
        apache_start "$T/d-$tg" --directive "$money" "$@"
        measure_module "$tg" "https://localhost:$acme_port/acme/directory" "$(apache_pid "$T/d-$tg")" \
            sqlite3 "$T/d-$tg/db/acme.db"
        M_SYNC=$(sqlite3 "$T/d-$tg/db/acme.db" "PRAGMA journal_mode" 2>/dev/null || echo "?")
        apache_stop "$T/d-$tg"
        ;;
    pgsql|pgsql-sock)
        # pgsql-sock: the same node over PostgreSQL's Unix socket, as a single host whose
        # database is local connects (Debian: host=/var/run/postgresql); pgsql over TCP,
        # as to a database server of its own
        bench_psql "$PG_DIR" "DROP DATABASE IF EXISTS acme WITH (FORCE)" >/dev/null
        bench_psql "$PG_DIR" "CREATE DATABASE acme OWNER acme" >/dev/null
        [ "${BENCH_PG_STATS:-0}" = 1 ] && bench_psql "$PG_DIR" "CREATE EXTENSION pg_stat_statements" acme >/dev/null
        prm=$PG_PARAMS
        [ "${tg%@base}" = pgsql-sock ] && prm="host=$PG_SOCK port=$PG_PORT dbname=acme user=acme"
        A_DRIVER=pgsql A_PARAMS=$prm apache_start "$T/d-$tg" --directive "$money"
        measure_module "$tg" "https://localhost:$acme_port/acme/directory" \
            "$(apache_pid "$T/d-$tg"),$(bench_pg_pid "$PG_DIR")" pgsql "$prm"
        apache_stop "$T/d-$tg"
        ;;
    cluster)
        bench_psql "$PG_DIR" "DROP DATABASE IF EXISTS acme WITH (FORCE)" >/dev/null
        bench_psql "$PG_DIR" "CREATE DATABASE acme OWNER acme" >/dev/null
        [ "${BENCH_PG_STATS:-0}" = 1 ] && bench_psql "$PG_DIR" "CREATE EXTENSION pg_stat_statements" acme >/dev/null
        lbn="ServerName https://localhost:$lb_port
UseCanonicalName On"
        for i in 1 2; do
            eval "np=\$node${i}_port"
            A_DRIVER=pgsql A_PARAMS=$PG_PARAMS A_PORT=$np A_URL=http://127.0.0.1:$np/acme/directory \
                apache_start "$T/d-$tg$i" --plain --key-file "$T/$tg.key" --directive "$money" --directive "$lbn"
        done
        bench_haproxy_start "$T/lb" "$lb_port" "127.0.0.1:$node1_port" "127.0.0.1:$node2_port"
        wait_url "https://localhost:$lb_port/acme/directory" 20 || die "HAProxy did not answer"
        measure_module "$tg" "https://localhost:$lb_port/acme/directory" \
            "$(apache_pid "$T/d-${tg}1"),$(apache_pid "$T/d-${tg}2"),$(bench_pg_pid "$PG_DIR"),$HAPROXY_PID" pgsql "$PG_PARAMS"
        for i in 1 2; do
            echo "node${i}_posts=$(grep -c '"POST /acme/' "$T/d-$tg$i/logs/access.log" 2>/dev/null || echo 0)" >> "$T/r-$tg"
        done
        bench_haproxy_stop
        apache_stop "$T/d-${tg}2"
        apache_stop "$T/d-${tg}1"
        ;;
    *) die "unknown target $tg (pebble sqlite sqlite-event pgsql pgsql-sock cluster)" ;;
    esac
    mv "$T/r-$tg" "$T/r-$tg.$round"
done
done
# each target's figures over the rounds: the median of a number (the lower middle one for
# an even count), the sum of ok and fail, books UNBALANCED if any round was, and
# srv_cpu_rounds listing every round's CPU per certificate
for tg in $targets; do
    cat "$T/r-$tg".* | awk -F= -v n="$rounds" '
        function median(a, m,    i, j, x) {
            for (i = 2; i <= m; i++) { x = a[i]; j = i - 1; while (j > 0 && a[j] + 0 > x + 0) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
            return a[int((m + 1) / 2)]
        }
        !($1 in seen) { seen[$1] = 1; keys[++nk] = $1 }
        { v[$1, ++c[$1]] = $2 }
        END {
            for (k = 1; k <= nk; k++) {
                key = keys[k]; m = c[key]
                if (key == "ok" || key == "fail") {
                    t = 0; for (i = 1; i <= m; i++) t += v[key, i]; print key "=" t; continue
                }
                if (key == "books") {
                    b = v[key, 1]; for (i = 1; i <= m; i++) if (v[key, i] != "balanced") b = v[key, i]
                    print key "=" b; continue
                }
                if (key ~ /_by_root$/) { # a/b/c: the median of each part
                    np = split(v[key, 1], p0, "/"); out = ""
                    for (q = 1; q <= np; q++) {
                        for (i = 1; i <= m; i++) { split(v[key, i], pi, "/"); a[i] = pi[q] }
                        out = out (q > 1 ? "/" : "") median(a, m)
                    }
                    print key "=" out; continue
                }
                num = 1
                for (i = 1; i <= m; i++) { a[i] = v[key, i]; if (a[i] !~ /^-?[0-9]+(\.[0-9]+)?$/) num = 0 }
                if (!num || m == 1) { print key "=" v[key, 1]; continue }
                print key "=" median(a, m)
            }
            r = ""; for (i = 1; i <= c["srv_cpu_ms_per_cert"]; i++) r = r (i > 1 ? "/" : "") v["srv_cpu_ms_per_cert", i]
            print "srv_cpu_rounds=" r
        }' > "$T/r-$tg"
done
[ -n "$PG_DIR" ] && { bench_pg_stop "$PG_DIR"; PG_DIR=; }

{
    echo
    if [ "$rounds" -gt 1 ]; then
        echo "== full issuance flows (http-01; module $flows, Pebble $pflows), $conc concurrent, same generator, one run of $rounds interleaved rounds: medians =="
    else
        echo "== full issuance flows (http-01; module $flows, Pebble $pflows), $conc concurrent, same generator, one run =="
    fi
    printf '%-26s' ""
    for tg in $targets; do printf ' %12s' "$tg"; done
    pr=""
    case " $targets " in *" sqlite "*) case " $targets " in *" pebble "*) pr="$pr sqlite/pebble" ;; esac ;; esac
    case " $targets " in *" pgsql "*) case " $targets " in *" sqlite "*) pr="$pr pgsql/sqlite" ;; esac ;; esac
    case " $targets " in *" pgsql-sock "*) case " $targets " in *" sqlite "*) pr="$pr pgsql-sock/sqlite" ;; esac ;; esac
    case " $targets " in *" cluster "*) case " $targets " in *" pgsql "*) pr="$pr cluster/pgsql" ;; esac ;; esac
    for tg in $targets; do
        case $tg in *@base) case " $targets " in *" ${tg%@base} "*) pr="$pr ${tg%@base}/$tg" ;; esac ;; esac
    done
    pr=${BENCH_RATIOS:-$pr}
    for r in $pr; do printf ' %14s' "$r"; done
    echo
    row() { # NAME KEY
        printf '%-26s' "$1"
        for tg in $targets; do printf ' %12s' "$(val "$tg" "$2")"; done
        for r in $pr; do
            a=$(val "${r%/*}" "$2"); b=$(val "${r#*/}" "$2")
            printf ' %14s' "$(awk -v a="$a" -v b="$b" 'BEGIN { if (b + 0 > 0 && a + 0 == a) printf "%.2f", a / b; else print "-" }')"
        done
        echo
    }
    row "certificates issued" ok
    row "failed flows" fail
    row "certificates/s" certs_per_s
    row "finalize p50 ms" fin_p50_ms
    row "finalize p99 ms" fin_p99_ms
    row "flow p50 ms" flow_p50_ms
    row "flow p99 ms" flow_p99_ms
    row "requests/cert" req_per_cert
    row "server CPU ms/cert" srv_cpu_ms_per_cert
    row "server CPU (cores busy)" srv_cpu_util
    row "server sleeps/cert" srv_sleeps_per_cert
    row "server preemptions/cert" srv_preempts_per_cert
    row "server peak RSS MB" peak_rss_mb
    row "generator CPU ms/cert" gen_cpu_ms_per_cert
    row "wrk newNonce req/s" nonce_rps
    row "wrk directory req/s" dir_rps
    row "wrk renewalInfo req/s" ari_rps
    row "PG WAL flushes/cert" pg_wal_syncs
    row "PG transactions/cert" pg_commits
    row "PG WAL bytes/cert" pg_wal_bytes
    row "PG rows scanned/cert" pg_seq_rows
    row "PG statements/cert" pg_statements
    row "books" books
    echo "(server CPU: every process of Apache (both nodes), PostgreSQL and HAProxy; SQLite"
    echo " journal_mode=${M_SYNC:-?}; PostgreSQL fsync=on synchronous_commit=on; wrk -t2 -c32 -d$wrk_d GET;"
    printf ' non-2xx on newNonce:'
    for tg in $targets; do printf ' %s %s' "$tg" "$(val "$tg" nonce_bad)"; done
    [ -f "$T/r-cluster" ] && printf '; cluster POSTs per node: %s / %s' "$(val cluster node1_posts)" "$(val cluster node2_posts)"
    echo ")"
    if [ "$rounds" -gt 1 ]; then
        echo "Server CPU ms/cert in each round:"
        for tg in $targets; do printf '  %-14s %s\n' "$tg" "$(val "$tg" srv_cpu_rounds)"; done
    fi
    parts_of() { # TARGET: the process trees its figures are split into
        case ${1%@base} in
        pebble) echo "pebble" ;; sqlite|sqlite-event) echo "apache" ;;
        pgsql|pgsql-sock) echo "apache/postgresql" ;; cluster) echo "node1/node2/postgresql/haproxy" ;;
        *) echo "?" ;;
        esac
    }
    if [ "$rounds" -gt 1 ]; then echo "Server CPU ms/cert by process tree (medians):"; else echo "Server CPU ms/cert by process tree:"; fi
    for tg in $targets; do
        parts=$(parts_of "$tg")
        printf '  %-14s %-32s %s\n' "$tg" "$parts" "$(val "$tg" srv_cpu_ms_per_cert_by_root)"
    done
    if [ "$rounds" -gt 1 ]; then echo "Server sleeps/cert by process tree (medians):"; else echo "Server sleeps/cert by process tree:"; fi
    for tg in $targets; do
        parts=$(parts_of "$tg")
        printf '  %-14s %-32s %s\n' "$tg" "$parts" "$(val "$tg" srv_sleeps_per_cert_by_root)"
    done
    echo
    echo "Targets:"
    ratio() { awk -v a="$(val "$1" "$3")" -v b="$(val "$2" "$3")" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "nan" }'; }
    verdict() { awk -v r="$1" -v g="$2" -v dir="$3" 'BEGIN { if (r == "nan") print "-"; else if ((dir == "le" && r + 0 <= g + 0) || (dir == "ge" && r + 0 >= g + 0)) print "MET"; else print "MISSED" }'; }
    if [ -f "$T/r-sqlite" ] && [ -f "$T/r-pebble" ]; then
        r=$(ratio sqlite pebble srv_cpu_ms_per_cert); echo "  server CPU/cert sqlite <= 0.5x Pebble   : ${r}x  $(verdict "$r" 0.5 le)"
        r=$(ratio sqlite pebble nonce_rps); echo "  newNonce req/s >= 1.0x Pebble          : ${r}x  $(verdict "$r" 1.0 ge)"
        awk -v m="$(val sqlite fin_p99_ms)" 'BEGIN { printf "  finalize p99 < 50 ms                   : %.1f ms  %s\n", m, (m < 50 ? "MET" : "MISSED") }'
    fi
    if [ -f "$T/r-pgsql" ] && [ -f "$T/r-sqlite" ]; then
        r=$(ratio pgsql sqlite srv_cpu_ms_per_cert); echo "  server CPU/cert pgsql <= 1.3x sqlite    : ${r}x  $(verdict "$r" 1.3 le)"
    fi
    if [ -f "$T/r-pgsql-sock" ] && [ -f "$T/r-sqlite" ]; then
        r=$(ratio pgsql-sock sqlite srv_cpu_ms_per_cert); echo "  (Unix socket) pgsql-sock <= 1.3x sqlite : ${r}x  $(verdict "$r" 1.3 le)"
    fi
    if [ -f "$T/r-cluster" ] && [ -f "$T/r-pgsql" ]; then
        r=$(ratio cluster pgsql srv_cpu_ms_per_cert); echo "  server CPU/cert cluster <= 1.1x pgsql   : ${r}x  $(verdict "$r" 1.1 le)"
        echo "  cluster: failed flows $(val cluster fail), books $(val cluster books)"
    fi
} > "$T/table"
;; esac
cat "$T/table" >> "$T/results"

# ---- 2. growth -------------------------------------------------------------------------------
case " $skip " in *" growth "*) ;; *)
    log "growth run: sizes $sizes"
    G=$T/grow
    apache_start "$G"        # creates and migrates the schema
    apache_stop "$G"
    db=$G/db/acme.db
    have=0
    now=$(date +%s)
    {
        echo
        echo "== growth: cost at each database size (serial flows, $gflows each; lookup = acp_cert_reissue_match via sqlite3, $lookups lookups) =="
        printf '%10s %12s %14s %14s %16s %12s %10s\n' "certs" "seed s" "newOrder p50" "finalize p50" "srv CPU ms/cert" "lookup us" "db MB"
    } >> "$T/growth"
    for n in $sizes; do
        t0=$(date +%s.%N)
        sh "$here/seed.sh" "$db" "$have" "$n" > /dev/null || die "seeding to $n failed"
        # the seed is written without fsync: flush it now, or the server's first fsync of
        # the database (a checkpoint) writes back gigabytes of seed and is billed to it
        sync "$db"
        t1=$(date +%s.%N)
        have=$n
        real=$(sqlite3 "$db" "SELECT COUNT(*) FROM certificates")
        lk=$(sqlite3 -batch "$db" <<SQL 2>&1 | awk '/Run Time/ { r = $4 } END { print r }'
PRAGMA mmap_size = 2147418112;
.timer on
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $lookups - 1)
SELECT count((SELECT id FROM certificates WHERE billing_id = printf('sb%09d', (j * 7919 % $n) / 4 * 4)
  AND names_key = printf('seed-%09d.bench.test', j * 7919 % $n) AND revoked IS NULL
  AND issued >= $now - 2592000 AND not_after > $now ORDER BY issued DESC LIMIT 1)) FROM k;
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $lookups - 1)
SELECT count((SELECT id FROM certificates WHERE billing_id = printf('sb%09d', (j * 7919 % $n) / 4 * 4)
  AND names_key = printf('seed-%09d.bench.test', j * 7919 % $n) AND revoked IS NULL
  AND issued >= $now - 2592000 AND not_after > $now ORDER BY issued DESC LIMIT 1)) FROM k;
SQL
)
        plan=$(sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT id, not_after FROM certificates WHERE billing_id = 'x' AND names_key = 'y' AND revoked IS NULL AND issued >= 1 AND not_after > 2 ORDER BY issued DESC LIMIT 1" | tail -n 1)
        apache_start "$G"
        R=$(run_gen "grow$n" "https://localhost:$acme_port/acme/directory" "$(apache_pid "$G")" \
            --flows "$gflows" --conc 1) || die "generator failed in the growth run"
        apache_stop "$G"
        mb=$(du -m "$db" | cut -f1)
        printf '%10s %12.1f %14s %14s %16s %12s %10s\n' "$real" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
            "$(field "$R" order_p50_ms)" "$(field "$R" fin_p50_ms)" "$(field "$R" srv_cpu_ms_per_cert)" \
            "$(awk -v t="$lk" -v k="$lookups" 'BEGIN { printf "%.2f", t * 1e6 / k }')" "$mb" >> "$T/growth"
        log "growth $n: $R"
    done
    echo "  plan: $plan" >> "$T/growth"
    awk 'NR > 2 && $1 ~ /^[0-9]+$/ { if (!f) { o = $3; fi = $4; l = $6; f = 1 } lo = $3; lf = $4; ll = $6 }
         END { printf "  largest/smallest: newOrder %.2fx, finalize %.2fx, reissue lookup %.2fx  %s\n",
               lo / o, lf / fi, ll / l, (lo / o <= 1.2 && lf / fi <= 1.2 && ll / l <= 1.2) ? "FLAT (<= 1.2x)" : "NOT FLAT" }' \
        "$T/growth" >> "$T/growth"
    cat "$T/growth" >> "$T/results"
;; esac

# ---- 3. soak: one Apache child ----------------------------------------------------------------
case " $skip " in *" soak "*) ;; *)
    log "soak: $soak requests against one Apache child"
    S=$T/soak
    apache_start "$S" --global "ServerLimit 1" --global "StartServers 1" --global "MaxRequestWorkers 25" \
        --global "MaxConnectionsPerChild 0"
    ppid=$(apache_pid "$S")
    kids=$(children_of "$ppid")
    [ "$(echo "$kids" | wc -w)" = 1 ] || log "warning: $(echo "$kids" | wc -w) children: $kids"
    kid=$(echo "$kids" | head -n 1)
    # the warm-up fills what is bounded but filled per new account: the 1024-slot account
    # key cache (direct-mapped: ~95 % full after 3000 accounts) and the threads' malloc arenas
    run_gen soak-warm "https://localhost:$acme_port/acme/directory" "$ppid" --requests "$soak_warm" --conc "$conc" >/dev/null
    r0=$(rss_kb "$kid"); a0=$(anon_kb "$kid")
    half=$((soak / 2))
    SK1=$(run_gen soak1 "https://localhost:$acme_port/acme/directory" "$ppid" --requests "$half" --conc "$conc") ||
        die "generator failed in the soak"
    r1=$(rss_kb "$kid" 2>/dev/null || echo 0); a1=$(anon_kb "$kid" 2>/dev/null || echo 0)
    SK2=$(run_gen soak2 "https://localhost:$acme_port/acme/directory" "$ppid" --requests "$half" --conc "$conc") ||
        die "generator failed in the soak"
    r2=$(rss_kb "$kid" 2>/dev/null || echo 0); a2=$(anon_kb "$kid" 2>/dev/null || echo 0)
    kids2=$(children_of "$ppid")
    apache_stop "$S"
    nreq=$(($(field "$SK1" requests) + $(field "$SK2" requests)))
    nok=$(($(field "$SK1" ok) + $(field "$SK2" ok)))
    {
        echo
        echo "== soak: one Apache child (pid $kid), $nreq requests / $nok issuances after a $soak_warm-request warm-up =="
        awk -v a="$a0" -v b="$a1" -v c="$a2" -v k1="$kid" -v k2="$kids2" 'BEGIN {
            printf "  child private memory (RssAnon) after warm-up %d kB, after half %d kB, at the end %d kB: %+d kB over the run, %+d kB over the second half  %s\n",
                   a, b, c, c - a, c - b, (k1 == k2 && c - b <= 512 && c <= a * 1.05) ? "NO GROWTH" : "GREW (or child replaced)" }'
        awk -v a="$r0" -v b="$r1" -v c="$r2" 'BEGIN {
            printf "  (VmRSS, with the mapped database pages: %d, %d, %d kB)\n", a, b, c }'
    } >> "$T/results"
;; esac

{
    echo
    echo "run: $(date -u +%FT%TZ), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} >> "$T/results"
cp "$T/results" "$res"
cat "$res"
