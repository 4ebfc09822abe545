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

SOCK=acp-tui266-$$
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
start_tui() {
    local cmd
    cmd=$(printf '%q ' "${ADM[@]}" --actor sam tui)
    tm new-session -d -s tui -x 130 -y 30 "TERM=xterm-256color $cmd; echo TUI-EXIT=\$?; sleep 30"
    wait_for "Certificates issued" || finish
}
start_tui
keys 2; wait_for "Holders ·"
keys Enter; wait_for "subscriptions (1):"
page=$(screen)
expect_contains "$page" "$sub" "the holder page names the subscription"
expect_contains "$page" "$n1" "with its names"
expect_contains "$page" "active" "running"
expect_contains "$page" "sub " "under its profile"
keys q; wait_for "TUI-EXIT=0"
tm kill-session -t tui

adm subscriptions cancel "$sub" --reason "moved to another CA" --yes >/dev/null || fail "cancel"
start_tui
keys 2; wait_for "Holders ·"
keys Enter; wait_for "subscriptions (1):"
expect_contains "$(screen)" "cancelled" "the page shows the cancellation"
keys q; wait_for "TUI-EXIT=0"
finish
