#!/bin/bash
# The console shows subscriptions: a holder who bought a term (real issuance under a
# term= profile) opens from the Holders screen with a "subscriptions" section naming the
# subscription, its profile, names and status; after `subscriptions cancel` the same page
# says cancelled. Driven headless in tmux like test_410.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayFreeBalance 900" \
    --directive 'AcmePayProfile sub 30 500 "Yearly renewals" term=365d'
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS")
adm() { "${ADM[@]}" "$@"; }
n1=$(unique_name tuisub)
export n1 IT_DIR
/usr/bin/python3 - <<'PY' || die "issuance through the module failed"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
a = Acme(); assert a.new_account(Key()).status == 201
a.issue([os.environ["n1"]], os.environ["ACME_WEBROOT"])
PY
sub=$(adm --json subscriptions list | jq -r '.[0].id')
[ -n "$sub" ] && [ "$sub" != null ] || fail "no subscription was bought"

start_tui() {
    TUI_COLS=130 TUI_ROWS=30 tui_start "${ADM[@]}" --actor sam tui
    tui_wait_for "Certificates issued" || finish
}
start_tui
tui_keys 2; tui_wait_for "Holders ·"
tui_keys Enter; tui_wait_for "subscriptions (1):"
page=$(tui_screen)
expect_contains "$page" "$sub" "the holder page names the subscription"
expect_contains "$page" "$n1" "with its names"
expect_contains "$page" "active" "running"
expect_contains "$page" "sub " "under its profile"
tui_keys q; tui_wait_for "TUI-EXIT=0"
tui_tmux kill-session -t tui

adm subscriptions cancel "$sub" --reason "moved to another CA" --yes >/dev/null || fail "cancel"
start_tui
tui_keys 2; tui_wait_for "Holders ·"
tui_keys Enter; tui_wait_for "subscriptions (1):"
expect_contains "$(tui_screen)" "cancelled" "the page shows the cancellation"
tui_keys q; tui_wait_for "TUI-EXIT=0"
finish
