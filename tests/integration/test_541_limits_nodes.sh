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
(exec 3<>"/dev/tcp/$node2_ip/$ACME_PORT") 2>/dev/null && die "$node2_ip:$ACME_PORT is busy"
d2=$T/httpd2
mkdir -p "$d2"
sh "$REPO/build/apache-conf.sh" --run-dir "$d2" --ca-dir "$T/ca" --module "$ACME_MODULE" \
    --listen-ip "$node2_ip" --acme-port "$ACME_PORT" --http01-vhost-port none \
    --key-file "$ACME_KEY_FILE" \
    --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
    --resolver "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01_PORT" \
    --tlsalpn01-port "$TLSALPN01_PORT" "${limits[@]}" > "$d2/httpd.conf" || die "node 2 config"
at_exit "apache_stop '$d2'"
apache2 -f "$d2/httpd.conf" -k start > "$d2/start.log" 2>&1 || { cat "$d2/start.log"; die "node 2 start"; }
ok=0
for _ in $(seq 1 100); do
    if curl -sf --max-time 5 --cacert "$ACME_TRUST" --resolve "localhost:$ACME_PORT:$node2_ip" \
        "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; then ok=1; break; fi
    sleep 0.3
done
[ $ok = 1 ] || { tail -n 30 "$d2/logs/error.log"; die "node 2 did not answer"; }
log "node 2 on $node2_ip:$ACME_PORT, same database"
ACME_NODE2_IP=$node2_ip /usr/bin/python3 "$IT_DIR/limits.py" ||
    { server_log 30; tail -n 30 "$d2/logs/error.log"; fail "limits.py across two nodes"; }
# both nodes served requests: each access log has ACME POSTs
for d in "$T/httpd" "$d2"; do
    n=$(grep -c '"POST /acme/' "$d/logs/access.log" 2>/dev/null || echo 0)
    [ "$n" -gt 5 ] || fail "node $d answered only $n POSTs"
done
finish
