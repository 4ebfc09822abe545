#!/bin/bash
# Two nodes on one database (two Apache instances, as behind a load balancer) with the chain
# watcher configured on both: exactly one holds the lease and polls the node, a payment is
# credited once, and when the holder dies (kill -9 of its whole Apache) the other node takes
# over and credits the next payment (tests/integration/chain_nodes.py). Each node asks the
# RPC proxy under its own path, so the proxy tells which node polls.
. "$(dirname "$0")/lib.sh"
export ETH_ADDR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil's second account
export ETH_WPM=10000000000000 ETH_CONF=3
anvil_start
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
