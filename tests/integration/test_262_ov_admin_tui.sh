#!/bin/bash
# Organizations in acme-pay-admin (issue 17, item 1): bad input refused with exit 2 and
# nothing written (unknown country, control characters, no locality/state, a second
# organization for a holder, edit without a reason, vet without evidence); the vetting
# period from AcmePayOVVettingDays (-f apache.conf) caps --days; an edit of the name clears
# the vetting; a value planted with escape sequences is shown escaped; every change has
# its audit row. Then the console's Orgs screen in tmux: list, detail with the audit trail,
# vet (v) and revoke (r) with confirmation.
. "$(dirname "$0")/lib.sh"
acme_setup --directive 'AcmePayProfile ov1y 365 0 "1-year OV" ov' \
    --directive "AcmePayOVVettingDays 30"
ADM=("$REPO/out/acme-pay-admin" -f "$APACHE_CONF" --actor ines)
adm() { "${ADM[@]}" "$@"; }
h=$(adm --json eab create --label "Org holder" | jq -r .holder)
[ -n "$h" ] && [ "$h" != null ] || die "eab create"
orgs() { db_query "SELECT COUNT(*) FROM organizations"; }
# refused ARGS…: exit 2 and nothing written
refused() {
    local what=$1 rc
    shift
    adm "$@" > "$T/refused.log" 2>&1
    rc=$?
    expect_eq 2 "$rc" "exit code of $what" || cat "$T/refused.log"
}
refused "unknown country" org create "$h" --name "Acme Ltd" --locality London --country UK
refused "ESC in the name" org create "$h" --name $'Acme\e]0;x\a Ltd' --locality London --country GB
refused "C1 CSI in the name" org create "$h" --name $'Acme\xc2\x9b31m' --locality London --country GB
refused "no locality or state" org create "$h" --name "Acme Ltd" --country GB
refused "an unknown holder" org create nosuchholder --name "Acme Ltd" --locality London --country GB
refused "a name over 64 characters" org create "$h" --name "$(printf 'a%.0s' {1..65})" --locality London --country GB
expect_eq 0 "$(orgs)" "organizations after refused creates"
adm org create "$h" --name "Acme Ltd" --locality London --country gb --evidence "CH 01234567" \
    > /dev/null || die "org create"
refused "a second organization for the holder" org create "$h" --name "Other" --locality X --country GB
expect_eq 1 "$(orgs)" "one organization"
refused "edit without a reason" org edit "$h" --name "Acme Limited"
refused "revoke without a vetting" org revoke "$h" --reason x --yes
db_query "UPDATE organizations SET evidence = NULL" > /dev/null
refused "vet without evidence" org vet "$h"
refused "vet in the future" org vet "$h" --evidence x --vetted-at 2099-01-01
refused "vet for 0 days" org vet "$h" --evidence x --days 0
json=$(adm --json org vet "$h" --evidence "CH 01234567" --days 100) || fail "org vet"
expect_eq vetted "$(jq -r .status <<<"$json")" "status after vet"
expect_eq GB "$(jq -r .country <<<"$json")" "country stored upper case"
expect_eq $((30 * 86400)) "$(jq '.vetting_end - .vetted_at' <<<"$json")" \
    "AcmePayOVVettingDays 30 caps --days 100"
expect_eq ines "$(jq -r .vetted_by <<<"$json")" "vetted by the --actor"
json=$(adm --json org edit "$h" --name "Acme Limited" --reason "name change at the registry") ||
    fail "org edit"
expect_eq unvetted "$(jq -r .status <<<"$json")" "an edited name clears the vetting"
expect_eq "create vet edit" "$(db_query "SELECT action FROM org_audit ORDER BY seq" | paste -sd' ')" \
    "audit rows (refused commands wrote none)"
expect_eq "ines|name change at the registry" \
    "$(db_query "SELECT actor, reason FROM org_audit WHERE action = 'edit'")" "who and why of the edit"
expect_contains "$(adm show holder "$h")" "organization (1)" "the holder's page lists its organization"
# ---- a value with escape sequences (written by something else) is shown escaped
db_query "UPDATE organizations SET locality = 'x' || char(27) || '[2J' || char(194) || char(155) || '31m'" \
    > /dev/null 2>&1 ||
    db_query "UPDATE organizations SET locality = 'x' || chr(27) || '[2J' || chr(155) || '31m'" > /dev/null
for c in "org list" "org show $h"; do
    adm $c > "$T/out.txt" 2>&1 || fail "$c"
    if LC_ALL=C grep -q -P '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$T/out.txt"; then
        fail "$c printed raw control bytes"
    fi
    expect_contains "$(cat "$T/out.txt")" 'x\x1b[2J' "$c shows the escape"
done
db_query "UPDATE organizations SET locality = 'London'" > /dev/null

# ---- the console: Orgs screen, detail, vet, revoke
tui_start "${ADM[@]}" tui
tui_wait_for "Certificates issued" || finish
tui_keys 9; tui_wait_for "Orgs ·" || finish
tui_wait_for "Acme Limited"
expect_contains "$(tui_screen)" "unvetted" "the list shows the state"
tui_keys Enter; tui_wait_for "audit (3)"
expect_contains "$(tui_screen)" "name change at the registry" "the detail shows the audit trail"
tui_keys v; tui_wait_for "evidence reference"; tui_type "CH 01234567, checked again"
tui_wait_for "[y/N]"; tui_type y
tui_wait_for "vetted by ines until"
expect_eq vetted "$(adm --json org show "$h" | jq -r .status)" "vetted from the console"
tui_keys r; tui_wait_for "reason (required)"; tui_type "customer asked to close"
tui_wait_for "[y/N]"; tui_type n; tui_wait_for "not confirmed; nothing changed"
expect_eq vetted "$(adm --json org show "$h" | jq -r .status)" "n: nothing changed"
tui_keys r; tui_wait_for "reason (required)"; tui_type "customer asked to close"
tui_wait_for "[y/N]"; tui_type y; tui_wait_for "revoked"
expect_eq revoked "$(adm --json org show "$h" | jq -r .status)" "revoked from the console"
expect_eq "create vet edit vet revoke" "$(db_query "SELECT action FROM org_audit ORDER BY seq" | paste -sd' ')" \
    "audit rows after the console"
tui_keys q
finish
