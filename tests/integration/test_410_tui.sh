#!/bin/bash
# The acme-pay-admin console driven headless in tmux (send-keys, capture-pane), on a
# database filled by real issuance: every screen opens, / search, credit with a reason
# shows up in the ledger, revoke (reason + confirmation), reissue shows a new serial, renew
# (ARI window) from the certificate's page, an
# EAB key created on screen registers a real client, resize to 80x24, q restores.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 300" --directive "AcmePayFreeBalance 600"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS")
adm() { "${ADM[@]}" "$@"; }
n1=$(unique_name tui1) n2=$(unique_name tui2)
export n1 n2 IT_DIR
/usr/bin/python3 - <<'PY' || die "issuance through the module failed"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
a = Acme(); assert a.new_account(Key()).status == 201
a.issue([os.environ["n1"]], os.environ["ACME_WEBROOT"])
a.issue([os.environ["n2"]], os.environ["ACME_WEBROOT"])
PY
holder=$(adm --json holders list | jq -r '.[0].id')
s1=$(adm --json certs list --name "$n1" | jq -r '.[0].serial')
s2=$(adm --json certs list --name "$n2" | jq -r '.[0].serial')

SOCK=acp-tui-$$
tm() { tmux -L "$SOCK" "$@"; }
at_exit "tmux -L '$SOCK' kill-server"
screen() { tm capture-pane -p -t tui; }
# wait_for TEXT [SECONDS]: until the screen shows TEXT (bounded)
wait_for() {
    local end=$((SECONDS + ${2:-8}))
    while [ $SECONDS -lt $end ]; do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "screen never showed '$1'; it shows:"
    screen
    return 1
}
keys() { tm send-keys -t tui "$@"; }
type_line() { tm send-keys -t tui -l -- "$1"; tm send-keys -t tui Enter; }

# -f: the Apache config under test gives the CA for reissues (flags give the database)
cmd=$(printf '%q ' "${ADM[@]}" -f "$APACHE_CONF" --actor bob tui)
tm new-session -d -s tui -x 100 -y 30 "TERM=xterm-256color $cmd; echo TUI-EXIT=\$?; sleep 30"
wait_for "Certificates issued" || finish
# revenue is money received; the welcome credit paid for both certificates
expect_contains "$(screen)" "Revenue today     0.00 CNY" "dashboard revenue"
expect_contains "$(screen)" "Charged today     6.00 CNY" "dashboard charges"
expect_contains "$(screen)" "F1Help" "function-key bar"
expect_contains "$(screen)" "──" "UTF-8 box drawing"
cp /dev/null "$T/screens.txt"
for i in 2 3 4 5 6 7 8; do
    keys "$i"
    case $i in
    2) wait_for "Holders ·" ;; 3) wait_for "Accounts ·" ;; 4) wait_for "Orders · status all" ;;
    5) wait_for "Certs ·" ;; 6) wait_for "Invoices · status all" ;; 7) wait_for "EAB keys ·" ;;
    8) wait_for "Ledger ·" ;;
    esac
    screen >> "$T/screens.txt"
done
keys '?'; wait_for "generated from the key table"; keys Escape

# holders: search, open, credit with a reason -> ledger row with the actor
keys 2; wait_for "Holders ·"
keys /; wait_for "Search:"; type_line "${holder:0:6}"
wait_for "search \"${holder:0:6}\""
keys Enter; wait_for "Holders › $holder"
keys c; wait_for "Credit $holder"; type_line 2.50
wait_for "Reason (required):"; type_line "tmux goodwill"
wait_for "[y/N]"; type_line y
wait_for "credited $holder 2.50 CNY: balance 2.50 CNY"
keys 8; wait_for "tmux goodwill"
expect_contains "$(screen)" "bob" "ledger actor"
expect_eq bob "$(adm --json ledger list --holder "$holder" | jq -r '[.[] | select(.reason == "tmux goodwill")][0].actor')" "ledger row in the database"
# a money move without a reason changes nothing
keys 2; wait_for "Holders ·"; keys c; wait_for "Credit"; type_line 1.00
wait_for "Reason (required):"; keys Enter
wait_for "a --reason is required"
expect_eq 250 "$(adm --json show holder "$holder" | jq .holder.balance)" "no credit without a reason"

# orders: status filter and detail
keys 4; wait_for "Orders ·"; keys s; wait_for "status pending"; keys s; keys s; keys s
wait_for "status valid"
keys Enter; wait_for "challenges ("
expect_contains "$(screen)" "http-01" "order detail shows the challenge"
keys Escape

# certificates: revoke n1 with reason 4 after confirmation
keys 5; wait_for "Certs ·"
keys /; wait_for "Search:"; type_line "$n1"; wait_for "search \"$n1\""
keys r; wait_for "Reason code"; type_line 4
wait_for "[y/N]"; type_line y
wait_for "revoked $s1"
expect_eq 4 "$(adm --json show cert "$s1" | jq .certificate.revoked_reason)" "revoked with reason 4"
# reissue n2: the screen shows the new serial
keys /; wait_for "Search:"; type_line "$n2"; wait_for "search \"$n2\""
keys i; wait_for "Reissue reason"; type_line "tui reissue"
wait_for "reissued: new serial"
ns=$(screen | sed -n 's/.*reissued: new serial \([0-9a-f]*\).*/\1/p')
expect_eq "$ns" "$(adm --json certs list --name "$n2" | jq -r --arg s "$ns" '.[] | select(.serial == $s) | .serial')" "new serial in the database"
expect_eq 2 "$(adm --json certs list --name "$n2" | jq length)" "old and new certificate of $n2"
[ "$ns" != "$s2" ] || fail "reissue kept the serial"
wait_for "serial         $ns"
screen > "$T/cert_detail.txt"
# renew (ARI) the new certificate from its page: reason, confirmation, window moved
keys w; wait_for "Renewal reason"; type_line "tui key rotation"
wait_for "[y/N]"; type_line y
wait_for "renewal asked for $ns"
expect_eq "tui key rotation (by bob)" \
    "$(db_query "SELECT ari_reason FROM certificates WHERE serial = '$ns'")" "ARI reason stored"

# EAB: create on screen, register a real client with the shown key
keys 7; wait_for "EAB keys ·"
keys n; wait_for "Label for the new EAB key:"; type_line "tmux reseller"
wait_for "HMAC key:"
kid=$(screen | sed -n 's/^ *EAB key id: *\([A-Za-z0-9_-]*\).*/\1/p')
mac=$(screen | sed -n 's/^ *HMAC key: *\([A-Za-z0-9_-]*\).*/\1/p')
[ -n "$kid" ] && [ -n "$mac" ] || fail "no key id / HMAC key on screen"
export kid mac
/usr/bin/python3 - <<'PY' || fail "newAccount with the EAB key from the console"
import base64, hashlib, hmac, json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64
a = Acme(); k = Key()
prot = b64(json.dumps({"alg": "HS256", "kid": os.environ["kid"], "url": a.dir["newAccount"]}))
pay = b64(json.dumps(k.jwk()))
mk = os.environ["mac"]
sig = hmac.new(base64.urlsafe_b64decode(mk + "=" * (-len(mk) % 4)), (prot + "." + pay).encode(), hashlib.sha256).digest()
r = a.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": {"protected": prot, "payload": pay, "signature": b64(sig)}})
assert r.status == 201, r
PY
keys Escape; wait_for "EAB keys ·"
expect_contains "$(screen)" "tmux reseller  active" "new key listed"
expect_eq "$kid" "$(adm --json accounts list | jq -r --arg k "$kid" '[.[] | select(.eab_kid == $k)][0].eab_kid')" "account bound to the key"
# disable asks first; n keeps it, y disables
keys /; wait_for "Search:"; type_line "tmux reseller"; wait_for "search \"tmux reseller\""
keys x; wait_for "[y/N]"; type_line n; wait_for "not confirmed"
keys x; wait_for "[y/N]"; type_line y; wait_for "disabled"
expect_eq disabled "$(adm --json eab list | jq -r --arg k "$kid" '.[] | select(.kid == $k) | .status')" "key disabled"

# resize to 80x24: still drawn, bar on the last line
tm resize-window -t tui -x 80 -y 24 2>/dev/null
keys 1; wait_for "Certificates issued"
expect_contains "$(screen | sed -n 24p)" "F10Quit" "function-key bar at 80x24"
screen > "$T/dashboard.txt"
keys q; wait_for "TUI-EXIT=0"
if [ -n "${TUI_CAPTURE_DIR:-}" ]; then cp "$T/dashboard.txt" "$T/cert_detail.txt" "$TUI_CAPTURE_DIR/"; fi
finish
