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

# -f: the Apache config under test gives the CA for reissues (flags give the database)
TUI_COLS=100 TUI_ROWS=30 tui_start "${ADM[@]}" -f "$APACHE_CONF" --actor bob tui
tui_wait_for "Certificates issued" || finish
# revenue is money received; the welcome credit paid for both certificates
expect_contains "$(tui_screen)" "Revenue today     0.00 CNY" "dashboard revenue"
expect_contains "$(tui_screen)" "Charged today     6.00 CNY" "dashboard charges"
expect_contains "$(tui_screen)" "F1Help" "function-key bar"
expect_contains "$(tui_screen)" "──" "UTF-8 box drawing"
cp /dev/null "$T/screens.txt"
for i in 2 3 4 5 6 7 8; do
    tui_keys "$i"
    case $i in
    2) tui_wait_for "Holders ·" ;; 3) tui_wait_for "Accounts ·" ;; 4) tui_wait_for "Orders · status all" ;;
    5) tui_wait_for "Certs ·" ;; 6) tui_wait_for "Invoices · status all" ;; 7) tui_wait_for "EAB keys ·" ;;
    8) tui_wait_for "Ledger ·" ;;
    esac
    tui_screen >> "$T/screens.txt"
done
tui_keys '?'; tui_wait_for "generated from the key table"; tui_keys Escape

# holders: search, open, credit with a reason -> ledger row with the actor
tui_keys 2; tui_wait_for "Holders ·"
tui_keys /; tui_wait_for "Search:"; tui_type "${holder:0:6}"
tui_wait_for "search \"${holder:0:6}\""
tui_keys Enter; tui_wait_for "Holders › $holder"
tui_keys c; tui_wait_for "Credit $holder"; tui_type 2.50
tui_wait_for "Reason (required):"; tui_type "tmux goodwill"
tui_wait_for "[y/N]"; tui_type y
tui_wait_for "credited $holder 2.50 CNY: balance 2.50 CNY"
tui_keys 8; tui_wait_for "tmux goodwill"
expect_contains "$(tui_screen)" "bob" "ledger actor"
expect_eq bob "$(adm --json ledger list --holder "$holder" | jq -r '[.[] | select(.reason == "tmux goodwill")][0].actor')" "ledger row in the database"
# a money move without a reason changes nothing
tui_keys 2; tui_wait_for "Holders ·"; tui_keys c; tui_wait_for "Credit"; tui_type 1.00
tui_wait_for "Reason (required):"; tui_keys Enter
tui_wait_for "a --reason is required"
expect_eq 250 "$(adm --json show holder "$holder" | jq .holder.balance)" "no credit without a reason"

# orders: status filter and detail
tui_keys 4; tui_wait_for "Orders ·"; tui_keys s; tui_wait_for "status pending"; tui_keys s; tui_keys s; tui_keys s
tui_wait_for "status valid"
tui_keys Enter; tui_wait_for "challenges ("
expect_contains "$(tui_screen)" "http-01" "order detail shows the challenge"
tui_keys Escape

# certificates: revoke n1 with reason 4 after confirmation
tui_keys 5; tui_wait_for "Certs ·"
tui_keys /; tui_wait_for "Search:"; tui_type "$n1"; tui_wait_for "search \"$n1\""
tui_keys r; tui_wait_for "Reason code"; tui_type 4
tui_wait_for "[y/N]"; tui_type y
tui_wait_for "revoked $s1"
expect_eq 4 "$(adm --json show cert "$s1" | jq .certificate.revoked_reason)" "revoked with reason 4"
# reissue n2: the screen shows the new serial
tui_keys /; tui_wait_for "Search:"; tui_type "$n2"; tui_wait_for "search \"$n2\""
tui_keys i; tui_wait_for "Reissue reason"; tui_type "tui reissue"
tui_wait_for "reissued: new serial"
ns=$(tui_screen | sed -n 's/.*reissued: new serial \([0-9a-f]*\).*/\1/p')
expect_eq "$ns" "$(adm --json certs list --name "$n2" | jq -r --arg s "$ns" '.[] | select(.serial == $s) | .serial')" "new serial in the database"
expect_eq 2 "$(adm --json certs list --name "$n2" | jq length)" "old and new certificate of $n2"
[ "$ns" != "$s2" ] || fail "reissue kept the serial"
tui_wait_for "serial         $ns"
tui_screen > "$T/cert_detail.txt"
# renew (ARI) the new certificate from its page: reason, confirmation, window moved
tui_keys w; tui_wait_for "Renewal reason"; tui_type "tui key rotation"
tui_wait_for "[y/N]"; tui_type y
tui_wait_for "renewal asked for $ns"
expect_eq "tui key rotation (by bob)" \
    "$(db_query "SELECT ari_reason FROM certificates WHERE serial = '$ns'")" "ARI reason stored"

# EAB: create on screen, register a real client with the shown key
tui_keys 7; tui_wait_for "EAB keys ·"
tui_keys n; tui_wait_for "Label for the new EAB key:"; tui_type "tmux reseller"
tui_wait_for "HMAC key:"
kid=$(tui_screen | sed -n 's/^ *EAB key id: *\([A-Za-z0-9_-]*\).*/\1/p')
mac=$(tui_screen | sed -n 's/^ *HMAC key: *\([A-Za-z0-9_-]*\).*/\1/p')
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
tui_keys Escape; tui_wait_for "EAB keys ·"
expect_contains "$(tui_screen)" "tmux reseller  active" "new key listed"
expect_eq "$kid" "$(adm --json accounts list | jq -r --arg k "$kid" '[.[] | select(.eab_kid == $k)][0].eab_kid')" "account bound to the key"
# disable asks first; n keeps it, y disables
tui_keys /; tui_wait_for "Search:"; tui_type "tmux reseller"; tui_wait_for "search \"tmux reseller\""
tui_keys x; tui_wait_for "[y/N]"; tui_type n; tui_wait_for "not confirmed"
tui_keys x; tui_wait_for "[y/N]"; tui_type y; tui_wait_for "disabled"
expect_eq disabled "$(adm --json eab list | jq -r --arg k "$kid" '.[] | select(.kid == $k) | .status')" "key disabled"

# resize to 80x24: still drawn, bar on the last line
tui_tmux resize-window -t tui -x 80 -y 24 2>/dev/null
tui_keys 1; tui_wait_for "Certificates issued"
expect_contains "$(tui_screen | sed -n 24p)" "F10Quit" "function-key bar at 80x24"
tui_screen > "$T/dashboard.txt"
tui_keys q; tui_wait_for "TUI-EXIT=0"
if [ -n "${TUI_CAPTURE_DIR:-}" ]; then cp "$T/dashboard.txt" "$T/cert_detail.txt" "$TUI_CAPTURE_DIR/"; fi
finish
