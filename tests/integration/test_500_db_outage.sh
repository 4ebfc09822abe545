#!/bin/bash
# Database faults under running requests (tests/integration/outage.py drives paid
# issuances and account polls the whole time):
#   pgsql:  our own PostgreSQL cluster is stopped and started again. While it is down every
#           failing request answers 503 + Retry-After with a serverInternal problem, never
#           500; the first request after it accepts connections again succeeds and none is
#           lost (a dead pooled connection is replaced inside the request).
#   sqlite: the database on a small tmpfs that is filled up (503 while full, writes succeed
#           once space is back), then its write lock held by another program (503 after
#           the bounded wait, reads still answered, writes succeed once it lets go).
# Both: the books balance (ledger = balance, every debit has its certificate or a refund),
# no order is left processing, the outage and the recovery are logged once each, and no
# database password appears in the log. Prints MEASURE lines (README: database faults).
. "$(dirname "$0")/lib.sh"

args=(--directive "AcmePayPrice 100" --directive "AcmePayFreeBalance 100000000")
if [ "$DB" = pgsql ]; then
    # a cluster of our own to stop, never the suite's shared one
    ACME_PG_SHARED=0
    ACME_PG_PORT=$((ACME_PG_PORT + 61))
    export ACME_PG_SHARED ACME_PG_PORT
else
    fs=$(mktemp -d /tmp/acp-fs500.XXXXXX) || die "mktemp"
    chmod 755 "$fs"
    mount -t tmpfs -o size=24m,mode=0755 tmpfs "$fs" || die "cannot mount a tmpfs (root needed)"
    at_exit "rmdir '$fs'"
    at_exit "umount -l '$fs'"
    mkdir "$fs/db"
    args+=(--db-params "$fs/db/acme.db")
fi
acme_setup "${args[@]}"
if [ "$DB" = sqlite ]; then
    ACME_DB_PARAMS=$fs/db/acme.db
    export ACME_DB_PARAMS
fi
errlog=$T/httpd/logs/error.log
py=/usr/bin/python3
export IT_DIR
events=$T/events.jsonl

# run_outage NAME DOWN_CMD UP_CMD: load, DOWN_CMD, 5 s, UP_CMD, 6 s, analyze
run_outage() {
    local name=$1 down=$2 up=$3 lp t_down t_back
    rm -f "$T/stop" "$events"
    "$py" "$IT_DIR/outage.py" load "$events" "$T/stop" 90 2 2 &
    lp=$!
    sleep 4
    log "$name: down"
    eval "$down" || fail "$name: could not bring the database down"
    t_down=$(date +%s.%N)
    sleep 5
    eval "$up" || fail "$name: could not bring the database back"
    t_back=$(date +%s.%N)
    log "$name: back"
    sleep 6
    touch "$T/stop"
    wait_gone "$lp" 60 || fail "$name: the load did not stop"
    "$py" "$IT_DIR/outage.py" analyze "$events" "$t_down" "$t_back" | sed "s/^/[$name] /" |
        tee "$T/analyze.out"
    grep -q '^\[.*\] FAIL' "$T/analyze.out" && fail "$name: see above"
    return 0
}

if [ "$DB" = pgsql ]; then
    run_outage "postgresql restart" "pg_cluster_stop '$T/pg'" "pg_cluster_resume '$T/pg'"
    expect_eq 1 "$(grep -c 'ACP03301' "$errlog")" "outage logged once (ACP03301)"
    expect_eq 1 "$(grep -c 'ACP03302' "$errlog")" "recovery logged once (ACP03302)"
else
    # disk full: SQLite reuses the space its WAL already has, so empty the WAL first (a
    # TRUNCATE checkpoint, as the file's owner, retried until no reader stood in its way),
    # then fill the file system: the next write transaction needs new space
    fill_fs() {
        local i r
        for i in $(seq 1 20); do
            r=$(runuser -u www-data -- sqlite3 -cmd ".timeout 3000" "$ACME_DB_PARAMS" \
                'PRAGMA wal_checkpoint(TRUNCATE)' 2>&1)
            [ "$r" = "0|0|0" ] && break
            sleep 0.1
        done
        log "checkpoint: $r after $i tries, WAL $(stat -c %s "$ACME_DB_PARAMS-wal") bytes"
        dd if=/dev/zero of="$fs/fill" bs=64k count=400 2>/dev/null
        log "file system: $(df -k --output=avail "$fs" | tail -1) kB free"
        return 0
    }
    run_outage "sqlite disk full" fill_fs "rm -f '$fs/fill'"
    expect_eq 1 "$(grep -c 'ACP03301' "$errlog")" "outage logged once (ACP03301)"
    expect_eq 1 "$(grep -c 'ACP03302' "$errlog")" "recovery logged once (ACP03302)"

    # locked by another program: writes wait (bounded), then 503; reads still answered
    mkdir "$T/lk" && chown www-data "$T/lk"
    runuser -u www-data -- "$py" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(16)
c.execute("ROLLBACK")' "$ACME_DB_PARAMS" "$T/lk/locked" &
    holder=$!
    end=$((SECONDS + 10))
    while [ ! -e "$T/lk/locked" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
    [ -e "$T/lk/locked" ] || fail "the lock holder did not start"
    out=$("$py" - <<'EOF'
import os, sys, time
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
a = Acme()
t = time.time()
r = a.new_account(Key())
print("locked-write", r.status, r.header("Retry-After"), r.json().get("type"), "%.1f" % (time.time() - t))
EOF
)
    log "while locked: $out"
    expect_contains "$out" "locked-write 503 5 urn:ietf:params:acme:error:serverInternal" \
        "a write while another program holds the lock"
    wait_gone "$holder" 30 || fail "the lock holder did not finish"
    out=$("$py" - <<'EOF'
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
a = Acme()
r = a.new_account(Key())
print("after-unlock", r.status)
print("read", a.get(a.kid).status)
EOF
)
    log "after the lock: $(echo $out)"
    expect_contains "$out" "after-unlock 201" "the first write after the lock is gone"
    expect_contains "$out" "read 200" "a read after the lock is gone"
fi

"$py" "$IT_DIR/outage.py" books || fail "the books do not balance"
if [ "$DB" = pgsql ]; then
    pw=${ACME_DB_PARAMS##*password=}
    pw=${pw%% *}
    expect_eq 0 "$(grep -c -F -- "password=$pw" "$errlog")" "lines with the database password"
fi
# our own error lines: only the outage (mod_dbd logs each failed connect itself)
unexpected=$(grep -E '\[[a-z_]*:(error|crit|alert|emerg)\]' "$errlog" | grep -v '\[dbd:' |
    grep -v -E 'ACP0330[1-4]')
expect_eq "" "$unexpected" "unexpected error lines"
finish
