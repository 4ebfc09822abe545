#!/bin/bash
# Never take the other sites down: Apache starts although the CA's database cannot be
# used, a plain customer site serves, the ACME vhost answers 503 + Retry-After with a
# problem document, and once the database is there the background workers migrate it and
# ACME works -- logged once when it starts degraded and once when it recovers, no
# password in any line.
#   pgsql:  our own cluster is stopped before Apache starts (the role's password is
#           distinctive, so the log can be searched for it), then started.
#   sqlite: the database directory does not exist (apache2 -t says so; a start goes on
#           degraded), then it is created; then the file system holding it is read-only at
#           start (remounted ro while Apache is stopped), then writable again.
# Also apache2 -t: a CA key that does not match its certificate and an unreadable CA file
# fail the check with a clear message. Prints MEASURE lines.
# acp-test: serial
. "$(dirname "$0")/lib.sh"

make_tmpdir
gen_ca "$T/ca"
ACME_TRUST=$T/ca/trust.pem
ACME_WEBROOT=$T/httpd/webroot
ACME_ISSUER_CA=$T/ca/ca.pem
ACME_DIRECTORY=https://localhost:$ACME_PORT/acme/directory
mkdir -p "$ACME_WEBROOT/.well-known/acme-challenge"
echo "customer site" > "$ACME_WEBROOT/index.html"
challtestsrv_start
export ACME_TRUST ACME_WEBROOT ACME_ISSUER_CA ACME_DIRECTORY IT_DIR
py=/usr/bin/python3

if [ "$DB" = pgsql ]; then
    ACME_PG_PORT=$((ACME_PG_PORT + 62))
    export ACME_PG_PORT
    mkdir -p "$T/pg"
    at_exit "pg_cluster_stop '$T/pg'"
    pg_cluster_start "$T/pg" || die "could not start PostgreSQL"
    secret=S3cret-$(openssl rand -hex 6)
    pg_super "CREATE ROLE acme LOGIN PASSWORD '$secret'" >/dev/null || die "role"
    pg_super "CREATE DATABASE acme OWNER acme" >/dev/null || die "database"
    ACME_DB_DRIVER=pgsql
    ACME_DB_PARAMS="host=127.0.0.1 port=$ACME_PG_PORT dbname=acme user=acme password=$secret connect_timeout=3"
    pg_cluster_stop "$T/pg"
else
    fs=$(mktemp -d /tmp/acp-fs501.XXXXXX) || die "mktemp"
    chmod 755 "$fs"
    mount -t tmpfs -o size=16m,mode=0755 tmpfs "$fs" || die "cannot mount a tmpfs (root needed)"
    at_exit "rmdir '$fs'"
    at_exit "umount -l '$fs'"
    ACME_DB_DRIVER=sqlite3
    ACME_DB_PARAMS=$fs/state/acme.db
    secret=
fi
export ACME_DB_DRIVER ACME_DB_PARAMS

# gen_conf DIR EXTRA…: the test's Apache configuration (apache-conf.sh) in DIR/httpd.conf
gen_conf() {
    local d=$1
    shift
    mkdir -p "$d"
    sh "$REPO/build/apache-conf.sh" --run-dir "$d" --ca-dir "$T/ca" --module "$ACME_MODULE" \
        --acme-port "$ACME_PORT" --webroot "$ACME_WEBROOT" --http01-vhost-port "$HTTP01_PORT" \
        --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
        --resolver "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01_PORT" \
        --tlsalpn01-port "$TLSALPN01_PORT" --log-level "info" "$@" > "$d/httpd.conf"
}
conf=$T/httpd/httpd.conf
gen_conf "$T/httpd"
errlog=$T/httpd/logs/error.log
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
gen_conf "$T/bad1" --directive "AcmePayCA $T/ca/ca.pem $T/other.key"
gen_conf "$T/bad2" --directive "AcmePayCA $T/ca/ca.pem $T/ca/missing.key"
# apache-conf.sh makes the database directory; we want it missing (after every gen_conf)
[ "$DB" = sqlite ] && rm -rf "$fs/state"

# ---- apache2 -t: static checks --------------------------------------------------------------
out=$(apache2 -f "$conf" -t 2>&1)
if [ "$DB" = sqlite ]; then
    expect_contains "$out" "ACP03314" "apache2 -t with the database directory missing"
    expect_contains "$out" "$fs/state/ does not exist" "apache2 -t names the directory"
else
    expect_contains "$out" "Syntax OK" "apache2 -t with PostgreSQL down (nothing static wrong)"
fi
out=$(apache2 -f "$T/bad1/httpd.conf" -t 2>&1)
expect_contains "$out" "ACP03311" "apache2 -t with a CA key that does not match"
expect_contains "$out" "does not match" "apache2 -t says the key does not match"
out=$(apache2 -f "$T/bad2/httpd.conf" -t 2>&1)
expect_contains "$out" "cannot open the CA key file $T/ca/missing.key" "apache2 -t, unreadable key"

# ---- start without the database ----------------------------------------------------------------
at_exit "apache_stop '$T/httpd'"
apache2 -f "$conf" -k start > "$T/start.log" 2>&1 || { cat "$T/start.log"; die "Apache did not start"; }
wait_port 127.0.0.1 "$HTTP01_PORT" 20 || die "Apache is not listening"
sleep 1
[ -s "$T/httpd/httpd.pid" ] && kill -0 "$(cat "$T/httpd/httpd.pid")" || die "Apache exited"
expect_eq "customer site" "$(curl -s --max-time 5 "http://127.0.0.1:$HTTP01_PORT/index.html")" \
    "the customer site while the CA has no database"

# ACME: 503 + Retry-After + problem document, for the directory and a POST
check_503() {
    local what=$1 hdr
    shift
    hdr=$(curl -s --max-time 10 --cacert "$ACME_TRUST" -D - -o "$T/body" "$@" 2>&1)
    expect_contains "$hdr" "HTTP/1.1 503" "$what: status"
    expect_contains "$hdr" "Retry-After: 5" "$what: Retry-After"
    expect_contains "$hdr" "application/problem+json" "$what: problem document"
    expect_contains "$(cat "$T/body")" "urn:ietf:params:acme:error:serverInternal" "$what: type"
}
check_503 "directory while degraded" "$ACME_DIRECTORY"
check_503 "newAccount while degraded" -X POST -H 'Content-Type: application/jose+json' \
    --data '{}' "https://localhost:$ACME_PORT/acme/new-account"

# wait_ready SECONDS: until the directory answers 200; prints the seconds it took
wait_ready() {
    local end=$((SECONDS + $1)) t0
    t0=$(date +%s.%N)
    while [ $SECONDS -lt $end ]; do
        if curl -sf --max-time 5 --cacert "$ACME_TRUST" "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; then
            echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f\n", $1 - $2 }'
            return 0
        fi
        sleep 0.2
    done
    return 1
}

issue_one() {
    "$py" - <<'EOF'
import os, sys, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme
a = Acme()
r = a.new_account()
assert r.status == 201, r
order, pem = a.issue(["deg-%s.test" % uuid.uuid4().hex[:8]], os.environ["ACME_WEBROOT"])
print("issued", order["status"])
EOF
}

if [ "$DB" = pgsql ]; then
    sleep 3
    pg_cluster_resume "$T/pg" || die "PostgreSQL did not start again"
    took=$(wait_ready 30) || fail "ACME not ready 30 s after PostgreSQL started"
    log "MEASURE seconds from PostgreSQL started to ACME ready (degraded start): $took"
else
    sleep 3
    mkdir "$fs/state" && chown www-data:www-data "$fs/state"
    took=$(wait_ready 30) || fail "ACME not ready 30 s after the directory was made"
    log "MEASURE seconds from the directory made to ACME ready (degraded start): $took"
fi
out=$(issue_one 2>&1)
expect_contains "$out" "issued valid" "an issuance after the recovery"
expect_eq 1 "$(grep -c 'ACP03303' "$errlog")" "degraded start logged once (ACP03303)"
expect_eq 1 "$(grep -c 'ACP03304' "$errlog")" "recovery logged once (ACP03304)"
expect_eq 1 "$(grep -c 'ACP03305' "$errlog")" "one start-up info line (ACP03305)"
info=$(grep 'ACP03305' "$errlog")
expect_contains "$info" "database $ACME_DB_DRIVER" "the info line names the database"
expect_contains "$info" "nonces in" "the info line names the nonce store"
expect_contains "$info" "signer local" "the info line names the signer"
if [ -n "$secret" ]; then
    expect_contains "$info" "password=***" "the info line hides the password"
    expect_eq 0 "$(grep -c -F -- "$secret" "$errlog")" "lines with the database password"
    expect_eq 0 "$(apache2 -f "$conf" -t 2>&1 | grep -c -F -- "$secret")" "password in apache2 -t"
fi

if [ "$DB" = sqlite ]; then
    # ---- a read-only file system at start-up, writable again later -----------------------------
    apache_stop "$T/httpd"
    mount -o remount,ro "$fs" || die "cannot remount $fs read-only"
    out=$(apache2 -f "$conf" -t 2>&1)
    expect_contains "$out" "not writable (read-only file system?)" "apache2 -t on a read-only fs"
    : > "$errlog"
    apache2 -f "$conf" -k start > "$T/start.log" 2>&1 || { cat "$T/start.log"; die "Apache did not start (ro)"; }
    wait_port 127.0.0.1 "$HTTP01_PORT" 20 || die "Apache is not listening (ro)"
    sleep 1
    expect_eq "customer site" "$(curl -s --max-time 5 "http://127.0.0.1:$HTTP01_PORT/index.html")" \
        "the customer site while the database is read-only"
    check_503 "directory on a read-only fs" "$ACME_DIRECTORY"
    mount -o remount,rw "$fs" || die "cannot remount $fs read-write"
    took=$(wait_ready 30) || fail "ACME not ready 30 s after the fs became writable"
    log "MEASURE seconds from the fs writable to ACME ready: $took"
    out=$(issue_one 2>&1)
    expect_contains "$out" "issued valid" "an issuance after the read-only start"
fi
finish
