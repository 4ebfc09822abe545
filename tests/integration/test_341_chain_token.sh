#!/bin/bash
# ERC-20 payments through the chain watcher against a real anvil: a test token compiled by
# solc-js (erc20/TestToken.sol, solc from build/install-deps.sh) and deployed by the test,
# configured with AcmePayEthereumToken; the RPC behind rpc_proxy.py, which can lie in
# eth_getLogs (tests/integration/chain_token.py). Also: the chain lag in server-status, and
# the no-webhook warning (ACP03404) naming the chain watcher.
. "$(dirname "$0")/lib.sh"
[ -f /opt/solc-js/node_modules/solc/soljson.js ] || die "solc-js missing: run build/install-deps.sh as root"
export ETH_ADDR=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil's second account
export ETH_WPM=10000000000000 ETH_CONF=4
# anvil's first deployment from its first account lands here (CREATE: sender, nonce 0)
export TOKEN=0x5FbDB2315678afecb367f032d93F642f64180aa3 TOKEN_DECIMALS=6 TOKEN_UPM=1400
anvil_start
/usr/bin/python3 "$IT_DIR/evm.py" deploy "http://127.0.0.1:$ANVIL_PORT" "$TOKEN_DECIMALS" \
    1000000000000000 > "$ANVIL_DIR/token.json" || die "the test token did not deploy"
grep -qi "\"address\": \"$TOKEN\"" "$ANVIL_DIR/token.json" || die "token not at $TOKEN: $(cat "$ANVIL_DIR/token.json")"
export TOKEN_JSON=$ANVIL_DIR/token.json
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayEthereum $ETH_ADDR 31337 $ETH_WPM" \
    --directive "AcmePayEthereumToken TTK $TOKEN $TOKEN_DECIMALS $TOKEN_UPM" \
    --directive "AcmePayEthereumRPC http://127.0.0.1:$PROXY_PORT/" \
    --directive "AcmePayEthereumConfirmations $ETH_CONF" \
    --directive "AcmePayEthereumPollInterval 1" \
    --directive "LogLevel acme_pay:info" \
    --global "LoadModule status_module /usr/lib/apache2/modules/mod_status.so" \
    --directive "<Location /server-status>" --directive "SetHandler server-status" \
    --directive "Require all granted" --directive "</Location>"
export ANVIL_URL=http://127.0.0.1:$ANVIL_PORT RPC_PROXY=http://127.0.0.1:$PROXY_PORT
export APACHE_CONF T REPO ACME_PORT ACME_TRUST
/usr/bin/python3 "$IT_DIR/chain_token.py" || { server_log 60; fail "chain_token.py"; }
finish
