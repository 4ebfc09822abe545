#!/bin/bash
# The console in tmux for support work: one Find box (contact e-mail, invoice id, serial
# with colons, payment reference) whose matches open their pages; the Accounts screen;
# credit from an invoice's and an order's page with the amount typed as 10.00 (bad input
# asked again, 1000 read as 1000.00, confirm and cancel showing holder, amount and the new
# balance); the invoice closed by that credit; the ledger scrolled through 2,000 rows in
# insertion order; Enter on a ledger row; "1 row".
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayFreeBalance 1000"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS")
adm() { "${ADM[@]}" "$@"; }
n1=$(unique_name ct1) n2=$(unique_name ct2)
mail="desk-$(openssl rand -hex 3)@tui.example"
export n1 n2 mail IT_DIR
# n1 issued (the welcome credit pays), n2 waits for its invoice (balance 0)
/usr/bin/python3 - > "$T/a.json" <<'PY' || die "ACME through the module failed"
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
W = os.environ["ACME_WEBROOT"]
a = Acme()
assert a.new_account(Key(), {"termsOfServiceAgreed": True,
                             "contact": ["mailto:" + os.environ["mail"]]}).status == 201
a.issue([os.environ["n1"]], W)
o = a.new_order([os.environ["n2"]])
for az in o.json()["authorizations"]:
    a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr([os.environ["n2"]])
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403, r
print(json.dumps({"pay": r.json()["instance"], "order": o.header("Location")}))
PY
inv=$(jq -r .pay "$T/a.json"); inv=${inv##*/}
oid=$(jq -r .order "$T/a.json"); oid=${oid##*/}
holder=$(adm --json holders list | jq -r '.[0].id')
serial=$(adm --json certs list | jq -r '.[0].serial')
colons=$(sed 's/../&:/g; s/:$//' <<<"${serial^^}")
# a second holder with a paid invoice: its payment reference is what a customer quotes
ref="WIRE-$(openssl rand -hex 4)"
db_query "INSERT INTO billing (id, kind, label, balance, created) VALUES ('hpay', 'account', 'Paying Co', 0, 1700000000)" >/dev/null
db_query "INSERT INTO invoices (id, billing_id, order_id, amount, paid, currency, status, created, expires) VALUES ('invpay0001', 'hpay', NULL, 500, 0, 'CNY', 'open', 1700000000, 1700000001)" >/dev/null
adm invoice pay invpay0001 --reference "$ref" --yes >/dev/null || fail "invoice pay"
# 2,000 ledger rows, 100 per second, ids sorting against insertion
db_query "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
 INSERT INTO ledger (id, billing_id, delta, balance_after, kind, actor, reason, created)
 SELECT 'pg' || (100000 - i), 'pagingholder', 1, i, 'credit', 'seed', 'row ' || i,
 1600000000 + i / 100 FROM n" >/dev/null || fail "seeding the ledger"

SOCK=acp-tui421-$$
tm() { tmux -L "$SOCK" "$@"; }
at_exit "tmux -L '$SOCK' kill-server"
screen() { tm capture-pane -p -t tui; }
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
cmd=$(printf '%q ' "${ADM[@]}" -f "$APACHE_CONF" --actor dora tui)
tm new-session -d -s tui -x 110 -y 32 "TERM=xterm-256color $cmd; echo TUI-EXIT=\$?; sleep 30"
wait_for "Certificates issued" || finish
expect_contains "$(screen)" "$(printf 'Open invoices     %8d' 1)" "dashboard: the open invoice"

# ---- Find from the dashboard: the contact e-mail --------------------------------------------
keys /; wait_for "Find (e-mail"; type_line "$mail"
wait_for "Find \"$mail\" · 1 match"
expect_contains "$(screen)" "account" "the match is the account"
keys Enter; wait_for "account:"
wait_for "balance        0.00 CNY"
expect_contains "$(screen)" "mailto:$mail" "the account page shows the contact"
screen > "$T/account.txt"
# ---- Find: the invoice id a customer pastes; credit from its page -----------------------------
keys f; wait_for "Find (e-mail"; type_line "$inv"
wait_for "Find \"$inv\""
keys Enter; wait_for "invoice:"
expect_contains "$(screen)" "status         open" "invoice open"
keys c; wait_for "Credit $holder, amount in CNY"
type_line "10,00"; wait_for "is not an amount in CNY"
type_line "10.001"; wait_for "more decimals than CNY has"
type_line "1000"; wait_for "Reason (required):"; type_line "check 1000"
wait_for "balance 0.00 CNY -> 1000.00 CNY?"
keys Escape; wait_for "cancelled"
expect_eq 0 "$(adm --json balance "$holder" | jq .balance)" "Esc: nothing changed"
keys c; wait_for "Credit $holder"; type_line "10.00"
wait_for "Reason (required):"; type_line "bank transfer, ticket 4711"
wait_for "Credit 10.00 CNY to $holder"
expect_contains "$(screen)" "balance 0.00 CNY -> 10.00 CNY?" "confirmation: new balance"
type_line n; wait_for "not confirmed; nothing changed"
expect_eq 0 "$(adm --json balance "$holder" | jq .balance)" "n: nothing changed"
keys c; wait_for "Credit $holder"; type_line "10.00"
wait_for "Reason (required):"; type_line "bank transfer, ticket 4711"
wait_for "[y/N]"; type_line y
wait_for "credited $holder 10.00 CNY: balance 10.00 CNY"
wait_for "status         superseded"
expect_eq 1000 "$(adm --json balance "$holder" | jq .balance)" "10.00 credited"
expect_eq superseded "$(adm --json show invoice "$inv" | jq -r .invoice.status)" "the credit closed the invoice"
screen > "$T/invoice.txt"
# ---- the order's page: its holder, and credit from there ---------------------------------------
keys Escape; keys 4; wait_for "Orders ·"
keys /; wait_for "Search:"; type_line "$n2"; wait_for "search \"$n2\" · 1 row"
keys Enter; wait_for "holder:"
expect_contains "$(screen)" "balance        10.00 CNY" "order page: the holder's balance"
keys c; wait_for "Credit $holder"; type_line "0.50"
wait_for "Reason (required):"; type_line "goodwill"; wait_for "[y/N]"; type_line y
wait_for "credited $holder 0.50 CNY: balance 10.50 CNY"
# ---- Find: a serial with colons, a payment reference --------------------------------------------
keys f; wait_for "Find (e-mail"; type_line "$colons"
wait_for "cert "
keys Enter; wait_for "certificate:"
expect_contains "$(screen)" "serial         $serial" "the certificate found by its serial with colons"
keys f; wait_for "Find (e-mail"; type_line "$ref"
wait_for "payment"
keys Enter; wait_for "invoice:"
expect_contains "$(screen)" "invpay0001" "the payment opens its invoice"
keys G; wait_for "$ref"
# ---- Accounts screen ---------------------------------------------------------------------------------
keys 3; wait_for "Accounts ·"
keys /; wait_for "Search:"; type_line "${mail%@*}"
wait_for "Accounts · search \"${mail%@*}\" · 1 row"
# ---- the ledger: 2,000 rows in insertion order, scrolled to the end --------------------------------
keys 8; wait_for "Ledger ·"
keys /; wait_for "Search:"; type_line pagingholder
wait_for "200 rows, more below"
expect_contains "$(screen | sed -n 5p)" "row 2000" "newest first"
keys G; wait_for "2000 rows" 20
[[ "$(screen)" == *"more below"* ]] && fail "End did not load every page"
rows=$(screen | grep -o 'row [0-9]*$' | awk '{print $2}' | tr '\n' ' ')
first=${rows%% *}
expect_eq "$(seq -s ' ' "$first" -1 1) " "$rows" "the last screen: consecutive, down to row 1"
keys o; wait_for "Ledger · oldest first · search \"pagingholder\" · 200 rows, more below"
expect_contains "$(screen | sed -n 5p)" "row 1" "o: oldest first"
keys o; wait_for "search \"pagingholder\" · 200 rows"
keys g; wait_for "Ledger · search"
keys Enter; wait_for "ledger:"
expect_contains "$(screen)" "reason         row 2000" "Enter opens the ledger row"
screen > "$T/ledger.txt"
keys q; wait_for "TUI-EXIT=0"
if [ -n "${TUI_CAPTURE_DIR:-}" ]; then cp "$T/account.txt" "$T/invoice.txt" "$T/ledger.txt" "$TUI_CAPTURE_DIR/"; fi
finish
