#!/bin/bash
# The Ethereum chain watcher against a real local chain (anvil from npm, installed by
# build/install-deps.sh) behind a JSON-RPC proxy that can fail or lie
# (tests/integration/chain.py): payment credited once after N confirmations and the same
# finalize issues, restart, reorg, outage, hostile answers, over/underpayment, unmatched.
. "$(dirname "$0")/lib.sh"
export ETH_ADDR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil's second account
export ETH_WPM=10000000000000 ETH_CONF=5
anvil_start
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayEthereum $ETH_ADDR 31337 $ETH_WPM" \
    --directive "AcmePayEthereumRPC http://127.0.0.1:$PROXY_PORT/" \
    --directive "AcmePayEthereumConfirmations $ETH_CONF" \
    --directive "AcmePayEthereumPollInterval 1" \
    --directive "LogLevel acme_pay:info"
export ANVIL_URL=http://127.0.0.1:$ANVIL_PORT RPC_PROXY=http://127.0.0.1:$PROXY_PORT
export APACHE_CONF T REPO
/usr/bin/python3 "$IT_DIR/chain.py" || { server_log 60; fail "chain.py"; }

# the console's Chain screen: the unmatched transfer chain.py left, assigned with c
read -r tref tholder < "$T/tui_transfer" || die "chain.py left no transfer for the console"
tui_start "$REPO/out/acme-pay-admin" -f "$APACHE_CONF" --actor carol tui
tui_wait_for "Dashboard" || finish
tui_keys BTab                 # Shift-Tab from the dashboard: the last tab, Chain
tui_wait_for "${tref:0:30}" || finish
tui_keys s                    # status: unmatched
tui_wait_for "status unmatched" || finish
tui_keys c
tui_wait_for "to holder (id)" || finish
tui_type "$tholder"
tui_wait_for "Reason (required)" || finish
tui_type ""
tui_wait_for "needs a reason; nothing changed" || finish
expect_eq unmatched "$(db_query "SELECT status FROM chain_transfers WHERE reference = '$tref'")" "no reason: nothing changed"
tui_keys c
tui_wait_for "to holder (id)" || finish
tui_type "$tholder"
tui_wait_for "Reason (required)" || finish
tui_type "customer mail 7"
tui_wait_for "Credit 0.05 CNY to holder $tholder" || finish
tui_type y
tui_wait_for "assigned to $tholder" || finish
expect_eq "assigned staff:carol customer mail 7" "$(db_query "SELECT status || ' ' || assigned_by || ' ' || reason FROM chain_transfers WHERE reference = '$tref'")" "assigned in the console"
expect_eq "payment 5 staff:carol" "$(db_query "SELECT kind || ' ' || delta || ' ' || actor FROM ledger WHERE reference = '$tref'")" "its ledger row"
expect_eq "$(db_query "SELECT balance FROM billing WHERE id = '$tholder'")" "$(db_query "SELECT SUM(delta) FROM ledger WHERE billing_id = '$tholder'")" "ledger sum = balance"
tui_keys q
finish
