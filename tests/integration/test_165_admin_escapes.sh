#!/bin/bash
# Issue 16, finding 9: terminal escape sequences never reach staff. A redirect Location
# with 7-bit (ESC) and 8-bit, UTF-8-encoded C1 (U+009B CSI, U+009D OSC) sequences is stored
# escaped in the challenge error; values planted directly in the database (ledger reason,
# invoice link) are shown escaped by acme-pay-admin show/list, and as \u escapes by --json.
# (The webhook's reference check is in test_162.)
. "$(dirname "$0")/lib.sh"
export HTTP01_PORT
acme_setup --no-http01-vhost --directive "AcmePayPrice 1000"
/usr/bin/python3 "$IT_DIR/billing_sec.py" escape_sequences_are_stored_escaped ||
    { server_log 40; fail "escapes on the way in"; }
adm() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" "$@"; }
order=$(cat "$T/order_url" 2>/dev/null)
holder=$(db_query "SELECT billing_id FROM billing b JOIN accounts a ON a.billing_id = b.id LIMIT 1")
[ -n "$holder" ] || die "no holder"
# values as an attacker (or a broken provider) could have stored them before this fix
esc=$(printf 'x\033]0;owned\007\033[2J\302\23331m\302\2350;t\007\177y')
q=${esc//\'/\'\'}
db_query "INSERT INTO ledger (id, billing_id, delta, balance_after, kind, actor, reason, reference, created)
          VALUES ('lesc', '$holder', 0, 0, 'credit', 'system', '$q', '$q', 1)" ||
    die "cannot plant the ledger row"
db_query "UPDATE invoices SET pay_url = '$q'" || die "cannot plant the invoice link"
# check_clean WHAT FILE: no raw ESC, BEL, DEL or C1 (raw or UTF-8) bytes
check_clean() {
    if LC_ALL=C grep -q -P '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$2"; then
        fail "$1: raw control bytes: $(od -c "$2" | grep -m3 -E '033|302|177')"
    fi
}
adm ledger list > "$T/ledger.txt" 2>&1 || fail "list ledger"
check_clean "list ledger" "$T/ledger.txt"
expect_contains "$(cat "$T/ledger.txt")" 'x\x1b]0;owned\x07' "list ledger shows the escapes"
adm show holder "$holder" > "$T/holder.txt" 2>&1 || fail "show holder"
check_clean "show holder" "$T/holder.txt"
expect_contains "$(cat "$T/holder.txt")" '\u009b31m' "show holder shows the C1 escape"
adm invoices list > "$T/inv.txt" 2>&1 || fail "list invoices"
check_clean "list invoices" "$T/inv.txt"
if [ -n "$order" ]; then
    adm show order "$order" > "$T/order.txt" 2>&1 || fail "show order"
    check_clean "show order" "$T/order.txt"
fi
adm --json ledger list > "$T/ledger.json" 2>&1 || fail "list ledger --json"
check_clean "list ledger --json" "$T/ledger.json"
expect_contains "$(cat "$T/ledger.json")" '\u009b' "--json escapes C1"
expect_contains "$(cat "$T/ledger.json")" '\u007f' "--json escapes DEL"
# the JSON still decodes to exactly what is stored
got=$(jq -r '.[] | select(.id == "lesc") | .reason' "$T/ledger.json")
expect_eq "$esc" "$got" "--json round trip"
finish
