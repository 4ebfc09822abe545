# tests/integration/lib.sh -- shared functions of the integration tests (bash; source it).
#
# A test file tests/integration/test_NNN_name.sh is a bash script that sources this file,
# calls acme_setup, runs a client, checks with expect_* / check_cert and ends with
# `finish`: exit 0 = pass, non-zero = fail (what failed is printed). Run one alone:
#     bash tests/integration/test_200_certbot.sh            # module, SQLite
#     DB=pgsql bash tests/integration/test_200_certbot.sh   # module, private PostgreSQL
#     ACME_SERVER=pebble bash tests/integration/test_200_certbot.sh
#     KEEP=1 …                                              # keep the temp dir
# or all through tests/run.sh (make test).
#
# Environment (in):
#   ACME_SERVER  module (default): Apache + out/mod_acme_pay.so from build/apache-conf.sh,
#                directory https://localhost:$ACME_PORT/acme/directory.
#                pebble: developer aid to check the client command lines without the module.
#                Pebble (Let's Encrypt's test server, Debian package "pebble") on
#                127.0.0.1:14000, directory https://localhost:14000/dir, listener cert from
#                gen-ca.sh, issuing root fetched from its management port 15000; an Apache
#                from apache-conf.sh --no-acme still serves the http-01 webroot on 5002.
#   ACME_PORT    module mode: the listener port (default 14100, so `make run` on 14000 and
#                `make test` can run side by side)
#   DB           sqlite (default) | pgsql
#   ACME_MODULE  path of mod_acme_pay.so (default <repo>/out/mod_acme_pay.so)
#   ACME_PG_PORT private PostgreSQL port (default 15432). tests/run.sh starts one cluster
#                per suite and exports ACME_PG_SOCKDIR/ACME_PG_PORT/ACME_PG_SHARED=1; a test
#                run alone starts (and removes) its own.
#   KEEP=1       keep the per-test temp dir (its path is printed)
#   ACP_EXTRA    newline-separated directives added to the ACME vhost of every Apache under
#                test (build/apache-conf.sh reads it), e.g. ACP_EXTRA='AcmePayWorkers 4'.
#                A test adds its own with acme_setup --directive 'LINE'.
# Environment (out, exported by acme_setup for the client and for python tests):
#   ACME_DIRECTORY  directory URL        ACME_TRUST      CA bundle for the listener's TLS
#   ACME_ISSUER_CA  root the issued certificates must chain to (ca.pem / Pebble's root)
#   ACME_WEBROOT    http-01 webroot (served on 127.0.0.1:5002 unless --no-http01-vhost)
#   ACME_DB_DRIVER  sqlite3|pgsql        ACME_DB_PARAMS  DBDParams (sqlite: the file)
#   ACME_KEY_FILE   AcmePayKeyFile of the module (created at its first start)
#   CHALLTESTSRV    management URL of pebble-challtestsrv (http://127.0.0.1:8055)
#   T               the per-test temp dir (mode 0755: Apache children run as www-data)
# Loopback ports (defaults; each movable so two suites can run side by side): DNS 8053
# (challtestsrv, every name -> 127.0.0.1; ACME_DNS_PORT), its management 8055
# (ACME_MGMT_PORT), http-01 5002 (ACME_HTTP01_PORT), tls-alpn-01 5001
# (ACME_TLSALPN01_PORT), module 14100 (ACME_PORT), Pebble 14000/15000 (ACME_PEBBLE_PORT,
# ACME_PEBBLE_MGMT_PORT), mod_md's TLS vhost 5443 (ACME_MD_TLS_PORT), PostgreSQL 15432
# (ACME_PG_PORT). ACME_PORT_OFFSET=N adds N to every default at once. Tests use
# $HTTP01_PORT, $TLSALPN01_PORT, $DNS_PORT, $MD_TLS_PORT, $CHALLTESTSRV, never literals.

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IT_DIR/../.." && pwd)
ACME_SERVER=${ACME_SERVER:-module}
_off=${ACME_PORT_OFFSET:-0}
ACME_PORT=${ACME_PORT:-$((14100 + _off))}
DB=${DB:-sqlite}
ACME_MODULE=${ACME_MODULE:-$REPO/out/mod_acme_pay.so}
ACME_PG_PORT=${ACME_PG_PORT:-$((15432 + _off))}
MGMT_PORT=${ACME_MGMT_PORT:-$((8055 + _off))}
CHALLTESTSRV=${CHALLTESTSRV:-http://127.0.0.1:$MGMT_PORT}
PG_BIN=/usr/lib/postgresql/15/bin
# ports can be moved (ACME_HTTP01_PORT, …) so two suites can run side by side
HTTP01_PORT=${ACME_HTTP01_PORT:-$((5002 + _off))}
TLSALPN01_PORT=${ACME_TLSALPN01_PORT:-$((5001 + _off))}
DNS_PORT=${ACME_DNS_PORT:-$((8053 + _off))}
PEBBLE_PORT=${ACME_PEBBLE_PORT:-$((14000 + _off))}
PEBBLE_MGMT_PORT=${ACME_PEBBLE_MGMT_PORT:-$((15000 + _off))}
MD_TLS_PORT=${ACME_MD_TLS_PORT:-$((5443 + _off))}      # test_250: mod_md's TLS vhost
export CHALLTESTSRV

FAILS=0
_CLEANUP=()
TEST_NAME=$(basename "$0" .sh)

# ---- output, assertions ------------------------------------------------------------------

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILS=$((FAILS + 1)); return 1; }
# die MSG: fatal, stop the test now
die() { printf 'FAIL: %s\n' "$*"; FAILS=$((FAILS + 1)); exit 1; }

# expect_eq EXPECTED ACTUAL [WHAT]
expect_eq() {
    if [ "$1" == "$2" ]; then return 0; fi
    fail "${3:-value}: expected '$1', got '$2'"
}
# expect_contains HAYSTACK NEEDLE [WHAT]
expect_contains() {
    case $1 in *"$2"*) return 0 ;; esac
    fail "${3:-output}: '$2' not found in: $(printf '%s' "$1" | tail -c 600)"
}
# expect_file FILE [WHAT]
expect_file() {
    [ -s "$1" ] && return 0
    fail "${2:-file} $1 missing or empty"
}

# expect_refused NAME "OPTION|LINE"...: each apache-conf.sh OPTION (--global, --directive)
# with LINE makes a configuration that apache2 -t refuses, naming directive NAME
expect_refused() {
    local name=$1 bad out
    shift
    for bad in "$@"; do
        mkdir -p "$T/bad"
        sh "$REPO/build/apache-conf.sh" --run-dir "$T/bad" --ca-dir "$T/ca" --module "$ACME_MODULE" \
            --acme-port "$ACME_PORT" --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
            "${bad%%|*}" "${bad#*|}" > "$T/bad/httpd.conf"
        if out=$(apache2 -f "$T/bad/httpd.conf" -t 2>&1); then
            fail "'${bad#*|}' (${bad%%|*}) accepted"
        else
            expect_contains "$out" "$name" "the refusal of '${bad#*|}'"
        fi
    done
}

# finish: last call of a test file
finish() {
    if [ "$FAILS" -eq 0 ]; then
        log "pass"
        exit 0
    fi
    log "$FAILS check(s) failed"
    exit 1
}

# ---- cleanup stack -----------------------------------------------------------------------

at_exit() { _CLEANUP+=("$1"); }
_run_cleanup() {
    local rc=$? i
    trap - EXIT
    trap '' INT TERM        # a second signal (timeout, ^C) must not cut the cleanup short
    for ((i = ${#_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${_CLEANUP[i]}" >/dev/null 2>&1 || true
    done
    exit "$rc"
}
trap _run_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- small tools ---------------------------------------------------------------------------

# wait_port HOST PORT SECONDS: until something accepts TCP connections there
wait_port() {
    local end=$((SECONDS + $3))
    while :; do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
# port_free HOST PORT
port_free() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_gone PID SECONDS: until the process has exited (kill -9 after SECONDS)
wait_gone() {
    local end=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        if [ $SECONDS -ge $end ]; then
            kill -KILL "$1" 2>/dev/null
            sleep 0.2
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# unique_name PREFIX: a fresh DNS name (challtestsrv resolves every name to 127.0.0.1)
unique_name() {
    printf '%s-%s-%s.%s.it.test\n' "$1" "$(date +%s)" "$(openssl rand -hex 3)" "${DB}"
}

# make_tmpdir: $T, removed at exit unless KEEP=1
make_tmpdir() {
    T=$(mktemp -d "/tmp/acp-it-${TEST_NAME}.XXXXXX") || die "mktemp"
    chmod 755 "$T"
    if [ "${KEEP:-0}" = 1 ]; then
        at_exit "echo '[$TEST_NAME] kept $T'"
    else
        at_exit "rm -rf '$T'"
    fi
    export T
}

# with_system_trust BUNDLE CMD ARGS…: run CMD with BUNDLE appended to the system CA
# bundle, for clients that cannot be told a CA file (uacme: libcurl-gnutls reads only
# /etc/ssl/certs/ca-certificates.crt). A private mount namespace (unshare -m, root) binds
# a combined file over the system bundle for CMD alone; nothing global changes.
with_system_trust() {
    local bundle=$1 sys=/etc/ssl/certs/ca-certificates.crt rc
    shift
    cat "$sys" "$bundle" > "$T/system+trust.crt"
    if unshare -m true 2>/dev/null; then
        unshare -m -- sh -c 'mount --make-rprivate / 2>/dev/null
            mount --bind "$0" /etc/ssl/certs/ca-certificates.crt || exit 97
            exec "$@"' "$T/system+trust.crt" "$@"
        return
    fi
    # no mount namespaces here (a container without CAP_SYS_ADMIN): append the bundle to
    # the system file for the duration of CMD and put the original back
    cp -p "$sys" "$T/system.crt.orig"
    cp "$T/system+trust.crt" "$sys"
    "$@"
    rc=$?
    cp -p "$T/system.crt.orig" "$sys"
    return $rc
}

# ---- the CA -------------------------------------------------------------------------------

# gen_ca DIR: build/gen-ca.sh (quiet)
gen_ca() { sh "$REPO/build/gen-ca.sh" "$1" 2>/dev/null || die "gen-ca.sh $1 failed"; }

# ---- pebble-challtestsrv ---------------------------------------------------------------------

# challtestsrv_start: mock DNS on 127.0.0.1:8053 (A for every name: 127.0.0.1, no AAAA),
# management API on 127.0.0.1:8055. Reuses one that already answers.
challtestsrv_start() {
    if ! port_free 127.0.0.1 "$MGMT_PORT" || ! port_free 127.0.0.1 "$DNS_PORT"; then
        # someone else's (another suite's) would vanish under us: refuse
        die "challtestsrv ports $DNS_PORT/$MGMT_PORT are busy (another test run? ACME_PORT_OFFSET=N moves ours)"
    fi
    pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -management "127.0.0.1:$MGMT_PORT" \
        -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
        > "$T/challtestsrv.log" 2>&1 &
    CHALLTESTSRV_PID=$!
    at_exit "challtestsrv_stop"
    wait_port 127.0.0.1 "$MGMT_PORT" 10 || { cat "$T/challtestsrv.log"; die "challtestsrv did not start"; }
}
challtestsrv_stop() {
    [ -n "${CHALLTESTSRV_PID:-}" ] || return 0
    kill "$CHALLTESTSRV_PID" 2>/dev/null
    wait_gone "$CHALLTESTSRV_PID" 5
    CHALLTESTSRV_PID=
}
# challtestsrv_set_txt NAME VALUE / challtestsrv_clear_txt NAME (NAME: fqdn, trailing dot ok)
challtestsrv_set_txt() {
    curl -sf -X POST -d "{\"host\":\"${1%.}.\",\"value\":\"$2\"}" "$CHALLTESTSRV/set-txt"
}
challtestsrv_clear_txt() {
    curl -sf -X POST -d "{\"host\":\"${1%.}.\"}" "$CHALLTESTSRV/clear-txt"
}

# ---- PostgreSQL (private cluster) ------------------------------------------------------------

# pg_cluster_start DIR: initdb + start a cluster owned by postgres in DIR, TCP on
# 127.0.0.1:$ACME_PG_PORT only, unix socket in DIR/sock, superuser "postgres" (trust on
# the socket, scram with password on TCP). Exports ACME_PG_SOCKDIR.
pg_cluster_start() {
    local d=$1
    mkdir -p "$d/sock"
    chown -R postgres:postgres "$d"
    chmod 700 "$d"
    port_free 127.0.0.1 "$ACME_PG_PORT" || { echo "port $ACME_PG_PORT is busy"; return 1; }
    echo postgres > "$d/pw"
    chown postgres "$d/pw"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        > "$d/initdb.log" 2>&1 || { cat "$d/initdb.log"; return 1; }
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/pg.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $ACME_PG_PORT -k $d/sock -c fsync=off -c max_connections=500" \
        start > "$d/pg_ctl.log" 2>&1 || { cat "$d/pg_ctl.log" "$d/pg.log"; return 1; }
    chmod 711 "$d"     # the socket dir must be reachable for psql as root via runuser
    ACME_PG_SOCKDIR=$d/sock
    export ACME_PG_SOCKDIR ACME_PG_PORT
}
# pg_cluster_resume DIR: start again a cluster made by pg_cluster_start and stopped with
# pg_cluster_stop (same data, port and socket); returns once it accepts connections
pg_cluster_resume() {
    local d=$1
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/pg.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $ACME_PG_PORT -k $d/sock -c fsync=off -c max_connections=200" \
        start > "$d/pg_ctl.log" 2>&1 || { cat "$d/pg_ctl.log" "$d/pg.log"; return 1; }
}
# pg_cluster_stop DIR
pg_cluster_stop() {
    [ -d "$1/data" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null 2>&1
}
# pg_super SQL: run SQL as the superuser over the unix socket
pg_super() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$ACME_PG_SOCKDIR" \
        -p "$ACME_PG_PORT" -d postgres -tAc "$1"
}
# pg_new_db NAME: role NAME (password NAME) owning a fresh database NAME; prints DBDParams
pg_new_db() {
    pg_super "CREATE ROLE \"$1\" LOGIN PASSWORD '$1'" >/dev/null || return 1
    pg_super "CREATE DATABASE \"$1\" OWNER \"$1\"" >/dev/null || return 1
    printf 'host=127.0.0.1 port=%s dbname=%s user=%s password=%s\n' "$ACME_PG_PORT" "$1" "$1" "$1"
}
pg_drop_db() {
    pg_super "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
    pg_super "DROP ROLE IF EXISTS \"$1\"" >/dev/null
}

# ---- the test database ---------------------------------------------------------------------

# db_setup: ACME_DB_DRIVER / ACME_DB_PARAMS for this test (fresh SQLite file or fresh
# PostgreSQL database, in the suite's cluster or in one of our own)
db_setup() {
    case $DB in
    sqlite|sqlite3)
        DB=sqlite
        ACME_DB_DRIVER=sqlite3
        mkdir -p "$T/db"
        ACME_DB_PARAMS=$T/db/acme.db
        ;;
    pgsql|postgres|postgresql)
        DB=pgsql
        ACME_DB_DRIVER=pgsql
        if [ "${ACME_PG_SHARED:-0}" != 1 ]; then
            mkdir -p "$T/pg"
            at_exit "pg_cluster_stop '$T/pg'"
            pg_cluster_start "$T/pg" || die "could not start PostgreSQL"
        fi
        local name
        name=acme_$(date +%s)_$(openssl rand -hex 3)
        ACME_DB_PARAMS=$(pg_new_db "$name") || die "could not create database $name"
        at_exit "pg_drop_db '$name'"
        ;;
    *) die "DB must be sqlite or pgsql, not '$DB'" ;;
    esac
    export ACME_DB_DRIVER ACME_DB_PARAMS
}

# db_query SQL: one query against the test database; rows on stdout, fields '|'-separated
db_query() {
    if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
        # as the file's owner (www-data once the module has chowned it), so -wal/-shm files
        # sqlite3 may create stay writable for the Apache children
        local owner
        owner=$(stat -c %U "$ACME_DB_PARAMS" 2>/dev/null || echo root)
        if [ "$owner" != root ] && [ "$(id -u)" = 0 ]; then
            runuser -u "$owner" -- sqlite3 -batch "$ACME_DB_PARAMS" "$1"
        else
            sqlite3 -batch "$ACME_DB_PARAMS" "$1"
        fi
    else
        psql -X -q "$ACME_DB_PARAMS" -v ON_ERROR_STOP=1 -tAc "$1"
    fi
}

# search_decoys FRAGMENT N: N old rows in the certificates' search table, each holding every
# trigram of FRAGMENT (12+ characters) but not FRAGMENT itself: the trigram index yields them
# all as candidates for FRAGMENT, and each must be checked (a slow any-part lookup, as a
# fragment of one common trigram is at 10,000,000 certificates)
search_decoys() {
    local f=$1 n=$2 decoy
    decoy="${f:0:6}-${f:3:6}-${f:6:6}"
    if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
        db_query "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
                  INSERT INTO search_cert (ref, body) SELECT 'decoy-$f-' || i, '$decoy' FROM n;"
    else
        db_query "INSERT INTO search_cert (ref, body, created)
                  SELECT 'decoy-$f-' || i, '$decoy', 1 FROM generate_series(1, $n) i;"
    fi
}

# ---- Apache ----------------------------------------------------------------------------------

# apache_start DIR [apache-conf.sh options…]: generate DIR/httpd.conf, check it, start,
# wait (bounded) until the ACME directory answers -- or, with --no-acme/--no-module, until
# the first Listen port accepts. On failure print the error log and return 1.
# Sets APACHE_CONF (of the last one started).
apache_start() {
    local d=$1 acme=1 port
    shift
    case " $* " in *" --no-acme "*|*" --no-module "*) acme=0 ;; esac
    mkdir -p "$d"
    sh "$REPO/build/apache-conf.sh" --run-dir "$d" "$@" > "$d/httpd.conf" ||
        { echo "apache-conf.sh failed"; return 1; }
    APACHE_CONF=$d/httpd.conf
    at_exit "apache_stop '$d'"
    if ! apache2 -f "$d/httpd.conf" -t > "$d/configtest.log" 2>&1; then
        cat "$d/configtest.log"
        return 1
    fi
    for port in $(awk '$1 == "Listen" { n = split($2, a, ":"); print a[n] }' "$d/httpd.conf"); do
        port_free 127.0.0.1 "$port" || { echo "port $port is busy (make stop? a leftover test server?)"; return 1; }
    done
    if ! apache2 -f "$d/httpd.conf" -k start > "$d/start.log" 2>&1; then
        cat "$d/start.log" "$d/logs/error.log" 2>/dev/null
        return 1
    fi
    local end=$((SECONDS + 30)) ok=0
    port=$(awk '$1 == "Listen" { n = split($2, a, ":"); print a[n]; exit }' "$d/httpd.conf")
    while [ $SECONDS -lt $end ]; do
        if [ -s "$d/httpd.pid" ] && ! kill -0 "$(cat "$d/httpd.pid")" 2>/dev/null; then
            break       # died
        fi
        if [ $acme = 1 ]; then
            local url
            url=$(sed -n 's/^# The ACME server: //p' "$d/httpd.conf")
            if curl -sf --max-time 5 --cacert "$ACME_TRUST" "$url" 2>/dev/null | grep -q newNonce; then
                ok=1
                break
            fi
        elif [ -s "$d/httpd.pid" ] && wait_port 127.0.0.1 "$port" 0; then
            ok=1
            break
        fi
        sleep 0.3
    done
    if [ $ok != 1 ]; then
        echo "Apache in $d did not become ready; error log:"
        tail -n 60 "$d/logs/error.log" 2>/dev/null
        return 1
    fi
    return 0
}

# apache_stop DIR: stop (bounded), kill the process group if it lingers
apache_stop() {
    local d=$1 pid
    [ -s "$d/httpd.pid" ] || return 0
    pid=$(cat "$d/httpd.pid")
    apache2 -f "$d/httpd.conf" -k stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
    if ! wait_gone "$pid" 8; then
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    rm -f "$d/httpd.pid"
}

# apache_resume DIR [IP]: start again an Apache whose DIR/httpd.conf exists (stopped with
# apache_stop); returns once it answers the ACME directory on IP:$ACME_PORT (bounded)
apache_resume() {
    local d=$1 ip=${2:-127.0.0.1} i
    apache2 -f "$d/httpd.conf" -k start > "$d/start.log" 2>&1 || { cat "$d/start.log"; return 1; }
    for i in $(seq 1 100); do
        if curl -sf --max-time 5 --cacert "$ACME_TRUST" --resolve "localhost:$ACME_PORT:$ip" \
            "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; then
            return 0
        fi
        sleep 0.3
    done
    tail -n 30 "$d/logs/error.log" 2>/dev/null
    return 1
}

# second_node_start DIR IP [apache-conf.sh options…]: after acme_setup, another Apache on
# IP:$ACME_PORT serving the same URLs from the same database and key file, as a second
# node behind a load balancer (clients reach it with the same TLS name)
second_node_start() {
    local d=$1 ip=$2
    shift 2
    port_free "$ip" "$ACME_PORT" || { echo "$ip:$ACME_PORT is busy"; return 1; }
    mkdir -p "$d"
    sh "$REPO/build/apache-conf.sh" --run-dir "$d" --ca-dir "$T/ca" --module "$ACME_MODULE" \
        --listen-ip "$ip" --acme-port "$ACME_PORT" --http01-vhost-port none \
        --key-file "$ACME_KEY_FILE" --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
        --resolver "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01_PORT" \
        --tlsalpn01-port "$TLSALPN01_PORT" "$@" > "$d/httpd.conf" || return 1
    at_exit "apache_stop '$d'"
    apache_resume "$d" "$ip"
}

# apache_error_log: the error log of the Apache under test (for failure output)
apache_error_log() { tail -n "${1:-40}" "$T/httpd/logs/error.log" 2>/dev/null; }

# ---- Pebble ----------------------------------------------------------------------------------

# pebble_start: Pebble on 127.0.0.1:14000 (+ management 15000), its DNS = challtestsrv,
# http-01 checked on 5002, tls-alpn-01 on 5001. Sets ACME_ISSUER_CA to its root.
pebble_start() {
    local d=$T/pebble
    mkdir -p "$d"
    port_free 127.0.0.1 $PEBBLE_PORT || { echo "port $PEBBLE_PORT is busy"; return 1; }
    cat > "$d/pebble.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$T/ca/server.pem",
    "privateKey": "$T/ca/server.key",
    "httpPort": $HTTP01_PORT,
    "tlsPort": $TLSALPN01_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
        pebble -config "$d/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT" > "$d/pebble.log" 2>&1 &
    PEBBLE_PID=$!
    at_exit "pebble_stop"
    local end=$((SECONDS + 20))
    while [ $SECONDS -lt $end ]; do
        if curl -sf --max-time 3 --cacert "$ACME_TRUST" "https://localhost:$PEBBLE_PORT/dir" >/dev/null 2>&1 &&
           curl -sf --max-time 3 --cacert "$ACME_TRUST" -o "$d/root.pem" \
               "https://localhost:$PEBBLE_MGMT_PORT/roots/0" 2>/dev/null; then
            ACME_ISSUER_CA=$d/root.pem
            return 0
        fi
        kill -0 "$PEBBLE_PID" 2>/dev/null || break
        sleep 0.3
    done
    echo "Pebble did not start:"
    tail -n 30 "$d/pebble.log"
    return 1
}
pebble_stop() {
    [ -n "${PEBBLE_PID:-}" ] || return 0
    kill "$PEBBLE_PID" 2>/dev/null
    wait_gone "$PEBBLE_PID" 5
    PEBBLE_PID=
}

# ---- the ACME server under test ----------------------------------------------------------------

# acme_setup [--no-http01-vhost] [--pebble-ok] [apache-conf.sh options…]
#   temp dir, CA (gen-ca.sh into $T/ca), challtestsrv, DB, and the server under test:
#   the module in Apache (ACME vhost on $ACME_PORT + webroot vhost on 5002) or Pebble
#   (+ an Apache serving only the webroot). --no-http01-vhost: nothing of ours listens on
#   5002 (the client answers http-01 itself, e.g. mod_md). --pebble-ok: the test only
#   uses plain ACME, so it can also run with ACME_SERVER=pebble; without it a test exits
#   77 (skip) in Pebble mode (module-only: database, payment, signer …). Other options go to
#   apache-conf.sh (module mode), e.g. --directive 'AcmePayEABRequired on'.
acme_setup() {
    local vhost=1 args=()
    while [ $# -gt 0 ]; do
        case $1 in
        --no-http01-vhost) vhost=0 ;;
        --pebble-ok) PEBBLE_OK=1 ;;
        *) args+=("$1") ;;
        esac
        shift
    done
    if [ "$ACME_SERVER" = pebble ] && [ "${PEBBLE_OK:-0}" != 1 ]; then
        log "skip: module-only test (no --pebble-ok), ACME_SERVER=pebble"
        exit 77
    fi
    make_tmpdir
    gen_ca "$T/ca"
    ACME_TRUST=$T/ca/trust.pem
    ACME_WEBROOT=$T/httpd/webroot
    mkdir -p "$ACME_WEBROOT/.well-known/acme-challenge"
    challtestsrv_start
    case $ACME_SERVER in
    module)
        [ -f "$ACME_MODULE" ] || die "$ACME_MODULE not built (make all)"
        db_setup
        ACME_ISSUER_CA=$T/ca/ca.pem
        ACME_DIRECTORY=https://localhost:$ACME_PORT/acme/directory
        [ $vhost = 1 ] || args+=(--http01-vhost-port none)
        apache_start "$T/httpd" --ca-dir "$T/ca" --module "$ACME_MODULE" \
            --acme-port "$ACME_PORT" --webroot "$ACME_WEBROOT" --http01-vhost-port "$HTTP01_PORT" \
            --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
            --resolver "127.0.0.1:$DNS_PORT" --http01-port $HTTP01_PORT \
            --tlsalpn01-port $TLSALPN01_PORT "${args[@]}" || die "the Apache under test did not start"
        ;;
    pebble)
        ACME_DB_DRIVER=none
        ACME_DB_PARAMS=
        ACME_DIRECTORY=https://localhost:$PEBBLE_PORT/dir
        pebble_start || die "Pebble did not start"
        if [ $vhost = 1 ]; then
            apache_start "$T/httpd" --no-acme --ca-dir "$T/ca" --webroot "$ACME_WEBROOT" \
                --http01-vhost-port "$HTTP01_PORT" ||
                die "the webroot Apache did not start"
        fi
        ;;
    *) die "ACME_SERVER must be module or pebble, not '$ACME_SERVER'" ;;
    esac
    ACME_KEY_FILE=$T/httpd/secrets.key
    export ACME_DIRECTORY ACME_TRUST ACME_ISSUER_CA ACME_WEBROOT ACME_DB_DRIVER ACME_DB_PARAMS
    export ACME_KEY_FILE
    log "server=$ACME_SERVER db=$DB directory=$ACME_DIRECTORY tmp=$T"
}

# apache_again DIR [apache-conf.sh args]: the module's Apache as acme_setup started it (the
# same database, ports, CA and key file), in run directory DIR, with more settings
apache_again() {
    local d=$1
    shift
    apache_start "$d" --ca-dir "$T/ca" --module "$ACME_MODULE" \
        --acme-port "$ACME_PORT" --webroot "$ACME_WEBROOT" --http01-vhost-port "$HTTP01_PORT" \
        --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
        --resolver "127.0.0.1:$DNS_PORT" --http01-port $HTTP01_PORT \
        --tlsalpn01-port $TLSALPN01_PORT --key-file "$ACME_KEY_FILE" "$@"
}

# server_log: the server's log for failure output
server_log() {
    if [ "$ACME_SERVER" = pebble ]; then
        tail -n "${1:-40}" "$T/pebble/pebble.log" 2>/dev/null
    else
        apache_error_log "${1:-40}"
    fi
}

# ---- certificate checks ------------------------------------------------------------------------

# cert_sans PEM: the leaf's DNS/IP SANs, one per line, sorted ("DNS:a.test")
cert_sans() {
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
        sed -n '2,$p' | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s/^IP Address:/IP:/' |
        sed '/^$/d' | sort
}

# check_cert PEM NAME…: PEM (leaf, optionally followed by its chain) is a certificate for
# exactly the DNS names NAME… and chains to $ACME_ISSUER_CA (certificates after the leaf
# are given to openssl verify as untrusted intermediates).
check_cert() {
    local pem=$1 want got n
    shift
    expect_file "$pem" "certificate" || return 1
    awk -v d="$T/chk" 'BEGIN { n = 0 }
        /-----BEGIN CERTIFICATE-----/ { n++ }
        n > 0 { print > (d "." (n == 1 ? "leaf" : "chain")) }' "$pem"
    [ -s "$T/chk.leaf" ] || { fail "$pem holds no PEM certificate"; return 1; }
    got=$(cert_sans "$T/chk.leaf")
    want=$(for n in "$@"; do echo "DNS:$n"; done | sort)
    expect_eq "$(echo $want)" "$(echo $got)" "SANs of $pem" || return 1
    local out
    if [ -s "$T/chk.chain" ]; then
        out=$(openssl verify -CAfile "$ACME_ISSUER_CA" -untrusted "$T/chk.chain" "$T/chk.leaf" 2>&1)
    else
        out=$(openssl verify -CAfile "$ACME_ISSUER_CA" "$T/chk.leaf" 2>&1)
    fi
    [ $? -eq 0 ] || { fail "$pem does not verify against $ACME_ISSUER_CA: $out"; return 1; }
    rm -f "$T/chk.leaf" "$T/chk.chain"
    log "certificate $pem: $(echo $got), verifies against $(basename "$ACME_ISSUER_CA")"
    return 0
}

# check_db_issued N: module mode: the test's (fresh) database holds exactly N certificates
# (only the certificates table is read, so schema changes elsewhere do not break it).
# Pebble mode: nothing to check.
check_db_issued() {
    [ "$ACME_SERVER" = module ] || return 0
    local n
    n=$(db_query "SELECT COUNT(*) FROM certificates" 2>&1)
    expect_eq "$1" "$n" "rows in the certificates table ($ACME_DB_DRIVER)"
}

# run_client LOGFILE CMD ARGS…: run a client (bounded by the suite's per-test timeout),
# output to LOGFILE; on non-zero exit print its tail and the server log, return non-zero
run_client() {
    local logf=$1 rc
    shift
    log "running: $*"
    "$@" > "$logf" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$(basename "$1") exited with $rc"
        echo "---- client output (tail) ----"
        tail -n 40 "$logf"
        echo "---- server log (tail) ----"
        server_log 30
        return $rc
    fi
    return 0
}

# lego_http_run NAME: lego (admin@example.com, its state in $T/lego, an EC P-256 key) gets a
# certificate for NAME by http-01 in $ACME_WEBROOT: $T/lego/certificates/NAME.crt
lego_http_run() {
    LEGO_CA_CERTIFICATES=$ACME_TRUST lego --server "$ACME_DIRECTORY" --accept-tos \
        --email admin@example.com --path "$T/lego" --key-type ec256 \
        --http --http.webroot "$ACME_WEBROOT" -d "$1" run
}

# lego_pay_request NAME: lego's first run for NAME ($T/lego-1.log) must stop at the payment
# request of a provider's checkout (providers.py): its QR is the checkout URL of the newest
# open invoice, and the amount 10.00 CNY shows. Sets inv (that invoice) and url (its URL).
lego_pay_request() {
    lego_http_run "$1" > "$T/lego-1.log" 2>&1 && fail "lego issued without payment"
    inv=$(db_query "SELECT id FROM invoices WHERE status = 'open' ORDER BY created DESC LIMIT 1")
    url=$(db_query "SELECT checkout_url FROM invoices WHERE id = '$inv'")
    expect_eq "$url" "$(/usr/bin/python3 "$IT_DIR/providers.py" qr "$T/lego-1.log")" "the QR in lego's output"
    expect_contains "$(cat "$T/lego-1.log")" "10.00 CNY" "lego output (amount)"
}

# uacme_hook FILE: write uacme's hook script (-h FILE) that answers http-01 from $ACME_WEBROOT
uacme_hook() {
    cat > "$1" <<HOOK
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH
dir='$ACME_WEBROOT/.well-known/acme-challenge'
case "\$1:\$2" in
begin:http-01) printf '%s' "\$5" > "\$dir/\$4" && chmod 644 "\$dir/\$4" ;;
done:http-01|failed:http-01) rm -f "\$dir/\$4" ;;
*) exit 1 ;;
esac
HOOK
    chmod 755 "$1"
}

# expect_one_charge HOLDER: after one paid issuance the holder has balance 0, exactly one
# debit, and its ledger sums to its balance
expect_one_charge() {
    expect_eq 0 "$(db_query "SELECT balance FROM billing WHERE id = '$1'")" "balance after issuing"
    expect_eq 1 "$(db_query "SELECT COUNT(*) FROM ledger WHERE billing_id = '$1' AND kind = 'debit'")" "debits"
    expect_eq 0 "$(db_query "SELECT SUM(delta) FROM ledger WHERE billing_id = '$1'")" "ledger sum"
}

# provider_standin KIND PORT DIR: providers.py's stand-in of payment provider KIND (stripe,
# alipay) on 127.0.0.1:PORT with its keys and state in DIR (output: DIR/standin.out), stopped
# at exit
provider_standin() {
    /usr/bin/python3 "$IT_DIR/providers.py" serve "$1" "$2" "$3" > "$3/standin.out" 2>&1 &
    at_exit "kill $! 2>/dev/null"
    wait_port 127.0.0.1 "$2" 15 || die "the $1 stand-in (providers.py) did not start"
}

# ---- mod_md (Apache's own ACME client) ------------------------------------------------------

# md_apache_start NAME [apache-conf.sh options…]: a second Apache in $T/md with mod_md managing NAME against the server
# under test (http-01 answered by mod_md itself on $HTTP01_PORT, TLS vhost on $MD_TLS_PORT).
# Sets md (its run dir) and store (MDStoreDir).
md_apache_start() {
    local name=$1 mods=/usr/lib/apache2/modules
    shift
    md=$T/md
    store=$md/store
    apache_start "$md" --no-acme --ca-dir "$T/ca" --webroot "$md/webroot" \
        --http01-vhost-port "$HTTP01_PORT" --log-level "warn md:debug" \
        --global "LoadModule md_module $mods/mod_md.so" \
        --global "MDStoreDir \"$store\"" \
        --global "MDCertificateAuthority $ACME_DIRECTORY" \
        --global "MDCACertificateFile \"$ACME_TRUST\"" \
        --global "MDCertificateAgreement accepted" \
        --global "MDContactEmail admin@example.com" \
        --global "MDCAChallenges http-01" \
        --global "MDPortMap http:$HTTP01_PORT https:$MD_TLS_PORT" \
        --global "MDRetryDelay 2s" \
        --global "MDPrivateKeys secp256r1" \
        --global "MDomain $name" "$@" \
        --global "Listen 127.0.0.1:$MD_TLS_PORT https" \
        --global "<VirtualHost 127.0.0.1:$MD_TLS_PORT>" \
        --global "    ServerName $name" \
        --global "    SSLEngine on" \
        --global "</VirtualHost>"
}

# md_wait_cert NAME SECONDS: until mod_md has stored a certificate for NAME; sets pem (empty
# on timeout, after printing its job, its error log and the server's log)
md_wait_cert() {
    local name=$1 end=$((SECONDS + $2)) f
    pem=
    while [ $SECONDS -lt $end ]; do
        # pubcert.pem, or pubcert.<keyspec>.pem with MDPrivateKeys (not fallback-pubcert*)
        for f in "$store/domains/$name"/pubcert*.pem "$store/staging/$name"/pubcert*.pem; do
            [ -s "$f" ] && { pem=$f; return 0; }
        done
        sleep 1
    done
    echo "---- mod_md job ----"
    cat "$store/staging/$name/job.json" 2>/dev/null || ls -R "$store" 2>/dev/null | head -30
    echo "---- mod_md Apache error log ----"
    grep -v AH01882 "$md/logs/error.log" | tail -n 40
    echo "---- server log ----"
    server_log 30
    return 1
}

# ---- a local Ethereum chain --------------------------------------------------------------
# anvil_start: anvil (chain id 31337) on 127.0.0.1:$ANVIL_PORT (ACME_PORT + 41) behind the
# JSON-RPC proxy rpc_proxy.py on $PROXY_PORT (ACME_PORT + 42), both stopped at exit;
# ANVIL_DIR holds anvil's log (and whatever the test keeps beside it).
anvil_start() {
    local bin=${ANVIL_BIN:-/opt/foundry-anvil/bin/anvil}
    [ -x "$bin" ] || die "anvil missing ($bin): run build/install-deps.sh as root"
    ANVIL_PORT=$((ACME_PORT + 41))
    PROXY_PORT=$((ACME_PORT + 42))
    ANVIL_DIR=$(mktemp -d /tmp/acp-anvil.XXXXXX)
    at_exit "rm -rf '$ANVIL_DIR'"
    "$bin" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id 31337 --silent \
        > "$ANVIL_DIR/anvil.log" 2>&1 &
    at_exit "kill $! 2>/dev/null"
    /usr/bin/python3 "$IT_DIR/rpc_proxy.py" "$PROXY_PORT" "http://127.0.0.1:$ANVIL_PORT" &
    at_exit "kill $! 2>/dev/null"
    wait_port 127.0.0.1 "$ANVIL_PORT" 20 || die "anvil did not start: $(cat "$ANVIL_DIR/anvil.log")"
    wait_port 127.0.0.1 "$PROXY_PORT" 20 || die "the RPC proxy did not start"
}

# ---- the console in tmux ---------------------------------------------------------------------
# tui_start CMD…: run the console (acme-pay-admin … tui) in a private tmux server, 110x32
# (or TUI_COLS x TUI_ROWS). Then: tui_screen (the pane as text), tui_wait_for TEXT [SECONDS]
# (bounded; fails and prints the pane), tui_keys KEY… (tmux send-keys), tui_type LINE
# (literal text + Enter), tui_tmux ARG… (any tmux command on that server).
tui_start() {
    TUI_SOCK=acp-tui-$$-$RANDOM
    at_exit "tmux -L '$TUI_SOCK' kill-server"
    tmux -L "$TUI_SOCK" new-session -d -s tui -x "${TUI_COLS:-110}" -y "${TUI_ROWS:-32}" \
        "TERM=xterm-256color $(printf '%q ' "$@"); echo TUI-EXIT=\$?; sleep 30"
}
tui_tmux() { tmux -L "$TUI_SOCK" "$@"; }
tui_screen() { tmux -L "$TUI_SOCK" capture-pane -p -t tui; }
tui_wait_for() {
    local end=$((SECONDS + ${2:-8}))
    while [ $SECONDS -lt $end ]; do
        tui_screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "screen never showed '$1'; it shows:"
    tui_screen
    return 1
}
tui_keys() { tmux -L "$TUI_SOCK" send-keys -t tui "$@"; }
tui_type() { tmux -L "$TUI_SOCK" send-keys -t tui -l -- "$1"; tmux -L "$TUI_SOCK" send-keys -t tui Enter; }
