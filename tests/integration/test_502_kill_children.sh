#!/bin/bash
# kill -9 of Apache children during issuance and payment: paid issuances run the whole
# time (tests/integration/outage.py load) while a child is killed every 1.5 s, 12 times.
# Afterwards the books balance (ledger = balance, every debit has its certificate or a
# refund), no order is left processing, no request was answered 500, and a new issuance
# succeeds (the SQLite write lock and the pool of connections survived the deaths).
# acp-test: serial
. "$(dirname "$0")/lib.sh"

acme_setup --directive "AcmePayPrice 100" --directive "AcmePayFreeBalance 100000000" \
    --directive "AcmePayFreeBalanceLimit 100 86400"
py=/usr/bin/python3
export IT_DIR
events=$T/events.jsonl
ppid_apache=$(cat "$T/httpd/httpd.pid")

"$py" "$IT_DIR/outage.py" load "$events" "$T/stop" 120 3 1 &
lp=$!
sleep 3
killed=0
for i in $(seq 1 12); do
    kids=$(pgrep -P "$ppid_apache" | shuf -n 1)
    if [ -n "$kids" ]; then
        kill -KILL "$kids" 2>/dev/null && killed=$((killed + 1))
    fi
    sleep 1.5
done
log "killed $killed children"
sleep 3
touch "$T/stop"
wait_gone "$lp" 60 || fail "the load did not stop"
kill -0 "$ppid_apache" 2>/dev/null || die "Apache's parent died"
expect_eq 12 "$killed" "children killed"

n500=$("$py" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for e in ev if e["status"] == 500))
ok = sum(1 for e in ev if 0 < e["status"] < 500)
lost = sum(1 for e in ev if e["status"] == 0)
print("requests: %d answered, %d cut by a killed child" % (ok, lost), file=sys.stderr)' "$events")
expect_eq 0 "$n500" "requests answered 500"

out=$("$py" - <<'EOF'
import os, sys, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme
a = Acme()
assert a.new_account().status == 201
order, pem = a.issue(["after-kill-%s.test" % uuid.uuid4().hex[:8]], os.environ["ACME_WEBROOT"])
print("issued", order["status"])
EOF
)
expect_contains "$out" "issued valid" "an issuance after the kills"
"$py" "$IT_DIR/outage.py" books || fail "the books do not balance"
finish
