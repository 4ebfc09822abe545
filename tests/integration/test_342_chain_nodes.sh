#!/bin/bash
# Two nodes on one database (two Apache instances, as behind a load balancer) with the chain
# watcher configured on both: exactly one holds the lease and polls the node, a payment is
# credited once, and when the holder dies (kill -9 of its whole Apache) the other node takes
# over and credits the next payment (tests/integration/chain_nodes.py). Each node asks the
# RPC proxy under its own path, so the proxy tells which node polls.
. "$(dirname "$0")/lib.sh"
ANVIL_BIN=${ANVIL_BIN:-/opt/foundry-anvil/bin/anvil}
[ -x "$ANVIL_BIN" ] || die "anvil missing ($ANVIL_BIN): run build/install-deps.sh as root"
ANVIL_PORT=$((ACME_PORT + 41))
PROXY_PORT=$((ACME_PORT + 42))
export ETH_ADDR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil's second account
export ETH_WPM=10000000000000 ETH_CONF=3
adir=$(mktemp -d /tmp/acp-anvil.XXXXXX)
at_exit "rm -rf '$adir'"
"$ANVIL_BIN" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id 31337 --silent > "$adir/anvil.log" 2>&1 &
anvil_pid=$!
at_exit "kill $anvil_pid 2>/dev/null"
/usr/bin/python3 "$IT_DIR/rpc_proxy.py" "$PROXY_PORT" "http://127.0.0.1:$ANVIL_PORT" &
proxy_pid=$!
at_exit "kill $proxy_pid 2>/dev/null"
wait_port 127.0.0.1 "$ANVIL_PORT" 20 || die "anvil did not start: $(cat "$adir/anvil.log")"
wait_port 127.0.0.1 "$PROXY_PORT" 20 || die "the RPC proxy did not start"
eth=(--directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000"
    --directive "AcmePayEthereum $ETH_ADDR 31337 $ETH_WPM"
    --directive "AcmePayEthereumConfirmations $ETH_CONF"
    --directive "AcmePayEthereumPollInterval 1" --directive "LogLevel acme_pay:info")
acme_setup "${eth[@]}" --directive "AcmePayEthereumRPC http://127.0.0.1:$PROXY_PORT/node1"
second_node_start "$T/httpd2" 127.0.0.2 "${eth[@]}" \
    --directive "AcmePayEthereumRPC http://127.0.0.1:$PROXY_PORT/node2" || die "node 2 did not start"
export ANVIL_URL=http://127.0.0.1:$ANVIL_PORT RPC_PROXY=http://127.0.0.1:$PROXY_PORT
export APACHE_CONF T REPO
/usr/bin/python3 "$IT_DIR/chain_nodes.py" ||
    { server_log 40; tail -n 40 "$T/httpd2/logs/error.log"; fail "chain_nodes.py"; }
finish
