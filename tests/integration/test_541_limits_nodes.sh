#!/bin/bash
# Abuse limits across two nodes on one database, as behind a load balancer: a second
# Apache on 127.0.0.2 serves the same URLs (https://localhost:$ACME_PORT) from the same
# database; tests/integration/limits.py alternates its requests between the nodes (new
# accounts, orders, failed validations each spread over both) and every limit must hold.
. "$(dirname "$0")/lib.sh"
limits=(--directive "AcmePayPrice 1000" --directive "AcmePayFreeBalance 3000"
    --directive "AcmePayLimitAccountsPerAddress 2 10s"
    --directive "AcmePayLimitOrdersPerAccount 3 10s"
    --directive "AcmePayLimitPendingAuthz 4"
    --directive "AcmePayLimitFailedValidations 2 15s")
acme_setup "${limits[@]}"
node2_ip=127.0.0.2
NODE2_DIR=$T/httpd2
second_node_start "$NODE2_DIR" "$node2_ip" "${limits[@]}" || die "node 2 did not start"
ACME_NODE2_IP=$node2_ip /usr/bin/python3 "$IT_DIR/limits.py" ||
    { server_log 30; tail -n 30 "$NODE2_DIR/logs/error.log"; fail "limits.py across two nodes"; }
# both nodes served requests: each access log has ACME POSTs
for d in "$T/httpd" "$NODE2_DIR"; do
    n=$(grep -c '"POST /acme/' "$d/logs/access.log" 2>/dev/null || echo 0)
    [ "$n" -gt 5 ] || fail "node $d answered only $n POSTs"
done
finish
