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

tui_start "${ADM[@]}" -f "$APACHE_CONF" --actor dora tui
tui_wait_for "Certificates issued" || finish
expect_contains "$(tui_screen)" "$(printf 'Open invoices     %8d' 1)" "dashboard: the open invoice"

# ---- Find from the dashboard: the contact e-mail --------------------------------------------
tui_keys /; tui_wait_for "Find (e-mail"; tui_type "$mail"
tui_wait_for "Find \"$mail\" · 1 match"
expect_contains "$(tui_screen)" "account" "the match is the account"
tui_keys Enter; tui_wait_for "account:"
tui_wait_for "balance        0.00 CNY"
expect_contains "$(tui_screen)" "mailto:$mail" "the account page shows the contact"
tui_screen > "$T/account.txt"
# ---- Find: the invoice id a customer pastes; credit from its page -----------------------------
tui_keys f; tui_wait_for "Find (e-mail"; tui_type "$inv"
tui_wait_for "Find \"$inv\""
tui_keys Enter; tui_wait_for "invoice:"
expect_contains "$(tui_screen)" "status         open" "invoice open"
tui_keys c; tui_wait_for "Credit $holder, amount in CNY"
tui_type "10,00"; tui_wait_for "is not an amount in CNY"
tui_type "10.001"; tui_wait_for "more decimals than CNY has"
tui_type "1000"; tui_wait_for "Reason (required):"; tui_type "check 1000"
tui_wait_for "balance 0.00 CNY -> 1000.00 CNY?"
tui_keys Escape; tui_wait_for "cancelled"
expect_eq 0 "$(adm --json balance "$holder" | jq .balance)" "Esc: nothing changed"
tui_keys c; tui_wait_for "Credit $holder"; tui_type "10.00"
tui_wait_for "Reason (required):"; tui_type "bank transfer, ticket 4711"
tui_wait_for "Credit 10.00 CNY to $holder"
expect_contains "$(tui_screen)" "balance 0.00 CNY -> 10.00 CNY?" "confirmation: new balance"
tui_type n; tui_wait_for "not confirmed; nothing changed"
expect_eq 0 "$(adm --json balance "$holder" | jq .balance)" "n: nothing changed"
tui_keys c; tui_wait_for "Credit $holder"; tui_type "10.00"
tui_wait_for "Reason (required):"; tui_type "bank transfer, ticket 4711"
tui_wait_for "[y/N]"; tui_type y
tui_wait_for "credited $holder 10.00 CNY: balance 10.00 CNY"
tui_wait_for "status         superseded"
expect_eq 1000 "$(adm --json balance "$holder" | jq .balance)" "10.00 credited"
expect_eq superseded "$(adm --json show invoice "$inv" | jq -r .invoice.status)" "the credit closed the invoice"
tui_screen > "$T/invoice.txt"
# ---- the order's page: its holder, and credit from there ---------------------------------------
tui_keys Escape; tui_keys 4; tui_wait_for "Orders ·"
tui_keys /; tui_wait_for "Search:"; tui_type "$n2"; tui_wait_for "search \"$n2\" · 1 row"
tui_keys Enter; tui_wait_for "holder:"
expect_contains "$(tui_screen)" "balance        10.00 CNY" "order page: the holder's balance"
tui_keys c; tui_wait_for "Credit $holder"; tui_type "0.50"
tui_wait_for "Reason (required):"; tui_type "goodwill"; tui_wait_for "[y/N]"; tui_type y
tui_wait_for "credited $holder 0.50 CNY: balance 10.50 CNY"
# ---- Find: a serial with colons, a payment reference --------------------------------------------
tui_keys f; tui_wait_for "Find (e-mail"; tui_type "$colons"
tui_wait_for "cert "
tui_keys Enter; tui_wait_for "certificate:"
expect_contains "$(tui_screen)" "serial         $serial" "the certificate found by its serial with colons"
tui_keys f; tui_wait_for "Find (e-mail"; tui_type "$ref"
tui_wait_for "payment"
tui_keys Enter; tui_wait_for "invoice:"
expect_contains "$(tui_screen)" "invpay0001" "the payment opens its invoice"
tui_keys G; tui_wait_for "$ref"
# ---- Find: a fragment whose lookup stops at its budget (30 ms); e waits for every match -------
search_decoys "${serial:4:12}" 200000 || fail "decoy rows"
tui_keys f; tui_wait_for "Find (e-mail"; tui_type "${serial:4:12}"
tui_wait_for "(e: every match)"
# (on a loaded machine another kind's lookup may stop too: the certificates' must)
tui_screen | grep -qE 'newest only: ([a-z]+, )*cert' || fail "the header names the certificates as newest only"
expect_contains "$(tui_screen)" "cert " "the certificate found among the newest"
tui_keys e; tui_wait_for "· every match" 30
expect_contains "$(tui_screen)" "cert " "every match: the certificate"
tui_keys e; tui_wait_for "newest only: "
# the Certs list's search for the same text: the index stops, the list scanned newest first
# finds the certificate (no "stopped"); e: the index, waited for
tui_keys Escape; tui_keys 5; tui_wait_for "Certs ·"
tui_keys /; tui_wait_for "Search:"; tui_type "${serial:4:12}"
tui_wait_for "search \"${serial:4:12}\" · 1 row"
expect_contains "$(tui_screen)" "$serial" "Certs search: the certificate, through the scan"
tui_keys e; tui_wait_for "search \"${serial:4:12}\" (every match) · 1 row" 30
tui_keys e; tui_wait_for "search \"${serial:4:12}\" · 1 row"
# ---- Accounts screen ---------------------------------------------------------------------------------
tui_keys 3; tui_wait_for "Accounts ·"
tui_keys /; tui_wait_for "Search:"; tui_type "${mail%@*}"
tui_wait_for "Accounts · search \"${mail%@*}\" · 1 row"
# ---- the ledger: 2,000 rows in insertion order, scrolled to the end --------------------------------
tui_keys 8; tui_wait_for "Ledger ·"
tui_keys /; tui_wait_for "Search:"; tui_type pagingholder
tui_wait_for "200 rows, more below"
expect_contains "$(tui_screen | sed -n 5p)" "row 2000" "newest first"
tui_keys G; tui_wait_for "2000 rows" 20
[[ "$(tui_screen)" == *"more below"* ]] && fail "End did not load every page"
rows=$(tui_screen | grep -o 'row [0-9]*$' | awk '{print $2}' | tr '\n' ' ')
first=${rows%% *}
expect_eq "$(seq -s ' ' "$first" -1 1) " "$rows" "the last screen: consecutive, down to row 1"
tui_keys o; tui_wait_for "Ledger · oldest first · search \"pagingholder\" · 200 rows, more below"
expect_contains "$(tui_screen | sed -n 5p)" "row 1" "o: oldest first"
tui_keys o; tui_wait_for "search \"pagingholder\" · 200 rows"
tui_keys g; tui_wait_for "Ledger · search"
tui_keys Enter; tui_wait_for "ledger:"
expect_contains "$(tui_screen)" "reason         row 2000" "Enter opens the ledger row"
tui_screen > "$T/ledger.txt"
tui_keys q; tui_wait_for "TUI-EXIT=0"
if [ -n "${TUI_CAPTURE_DIR:-}" ]; then cp "$T/account.txt" "$T/invoice.txt" "$T/ledger.txt" "$TUI_CAPTURE_DIR/"; fi
finish
