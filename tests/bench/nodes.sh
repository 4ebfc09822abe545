# tests/bench/nodes.sh -- sourced by tests/bench/run.sh (POSIX sh): a throw-away PostgreSQL
# cluster, HAProxy in front of two Apache nodes, and the ARI certificate id of a PEM.
# Needs from the caller: $T (temp dir), log, die.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# bench_pg_start DIR PORT: initdb + start, owned by postgres, TCP on 127.0.0.1:PORT only,
# socket in DIR/sock. Durable as shipped (fsync on, synchronous_commit on): the bench
# measures what a production cluster pays. BENCH_PG_STATS=1 loads pg_stat_statements and
# logs every statement's duration (the round-trip census in docs/PERFORMANCE.md).
# Sets PG_PARAMS (DBDParams of a fresh role + database "acme").
bench_pg_start() {
    _d=$1 _port=$2
    PG_PORT=$_port
    mkdir -p "$_d/sock"
    chown -R postgres:postgres "$_d"
    echo postgres > "$_d/pw"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$_d/data" -U postgres --pwfile="$_d/pw" \
        -A scram-sha-256 --auth-local=trust > "$_d/initdb.log" 2>&1 || { cat "$_d/initdb.log" >&2; return 1; }
    _o="-c listen_addresses=127.0.0.1 -p $_port -k $_d/sock -c max_connections=300"
    if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
        _o="$_o -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    fi
    # BENCH_PG_OPTS: more server settings, e.g. "-c log_statement=all" (a flow's statements
    # in DIR/pg.log, kept with KEEP=1)
    _o="$_o ${BENCH_PG_OPTS:-}"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$_d/data" -l "$_d/pg.log" -w -t 60 -o "$_o" \
        start > "$_d/pg_ctl.log" 2>&1 || { cat "$_d/pg_ctl.log" "$_d/pg.log" >&2; return 1; }
    bench_psql "$_d" "CREATE ROLE acme LOGIN PASSWORD 'acme'" >/dev/null &&
        bench_psql "$_d" "CREATE DATABASE acme OWNER acme" >/dev/null || return 1
    if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
        runuser -u postgres -- psql -X -q -h "$_d/sock" -p "$_port" -d acme \
            -c "CREATE EXTENSION pg_stat_statements" >/dev/null || return 1
    fi
    PG_PARAMS="host=127.0.0.1 port=$_port dbname=acme user=acme password=acme"
    PG_SOCK=$_d/sock PG_PORT=$_port
}
bench_psql() { # DIR SQL [DB]
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$1/sock" -p "$PG_PORT" \
        -d "${3:-postgres}" -tAc "$2"
}
bench_pg_stop() { # DIR
    [ -f "$1/data/postmaster.pid" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        kill -KILL "$(head -n 1 "$1/data/postmaster.pid")" 2>/dev/null || true
}
bench_pg_pid() { head -n 1 "$1/data/postmaster.pid"; }

# bench_haproxy_start DIR PORT BACKEND... : TLS ends here (the bench CA's server
# certificate), plain HTTP to the nodes, every request to the next node (round robin; no
# prefer-last-server, so requests on one client connection alternate), connections to
# the nodes reused. Sets HAPROXY_PID.
bench_haproxy_start() {
    _d=$1 _port=$2
    shift 2
    mkdir -p "$_d"
    cat "$T/ca/server.pem" "$T/ca/server.key" > "$_d/cert.pem"
    {
        echo "global"
        echo "    maxconn 4000"
        echo "    nbthread 2"
        echo "    pidfile $_d/haproxy.pid"
        echo "    ssl-default-bind-options ssl-min-ver TLSv1.2"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 5s"
        echo "    timeout client 60s"
        echo "    timeout server 60s"
        echo "    timeout http-keep-alive 5s"
        echo "    option http-keep-alive"
        echo "frontend acme"
        echo "    bind 127.0.0.1:$_port ssl crt $_d/cert.pem"
        echo "    default_backend nodes"
        echo "backend nodes"
        echo "    balance roundrobin"
        echo "    http-reuse always"
        _i=1
        for _b in "$@"; do
            echo "    server node$_i $_b"
            _i=$((_i + 1))
        done
    } > "$_d/haproxy.cfg"
    haproxy -c -q -f "$_d/haproxy.cfg" || die "haproxy config invalid"
    haproxy -D -f "$_d/haproxy.cfg" > "$_d/haproxy.log" 2>&1 || { cat "$_d/haproxy.log" >&2; die "haproxy did not start"; }
    HAPROXY_PID=$(cat "$_d/haproxy.pid")
}
bench_haproxy_stop() {
    [ -n "${HAPROXY_PID:-}" ] || return 0
    kill "$HAPROXY_PID" 2>/dev/null || true
    _s=0
    while kill -0 "$HAPROXY_PID" 2>/dev/null && [ $_s -lt 50 ]; do sleep 0.1; _s=$((_s + 1)); done
    kill -KILL "$HAPROXY_PID" 2>/dev/null || true
    HAPROXY_PID=
}

# ari_id PEMFILE: the renewalInfo certificate id, base64url(AKI keyIdentifier) "."
# base64url(DER serial content octets)
b64url_hex() { xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='; }
ari_id() {
    _aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier 2>/dev/null |
        sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-Fa-f:]\{20,\}\) *$/\2/p' | head -n 1 | tr -d ':')
    _ser=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
    [ $((${#_ser} % 2)) = 1 ] && _ser=0$_ser
    case $_ser in [89A-Fa-f]*) _ser=00$_ser ;; esac
    printf '%s.%s' "$(printf '%s' "$_aki" | b64url_hex)" "$(printf '%s' "$_ser" | b64url_hex)"
}
