#!/bin/bash
# CAA (RFC 8659 + RFC 8657) against pebble-challtestsrv serving CAA records: no record,
# our identity, another CA, issuewild vs issue, empty issuer, tree climbing, CNAME (one
# level answered by the resolver, longer chains followed by the server, the climb over
# the alias's own parents), accounturi, validationmethods, SERVFAIL, a lookup that times
# out, the critical flag on an unknown tag, and the recheck at finalize after 8 hours
# with a price, so a charge would show (tests/integration/caa.py).
# The server asks a small proxy in front of challtestsrv (dns_proxy.py): it drops CAA
# queries for "timeout-*" names and sets the critical flag on CAA answers for "crit-*"
# names (challtestsrv's add-caa has no flags).
. "$(dirname "$0")/lib.sh"
DNS_PROXY_PORT=$((ACME_PORT + 7))
acme_setup --directive "AcmePayCAAIdentities ca.example.net" \
    --directive "AcmePayValidationTimeout 3" \
    --directive "AcmePayPrice 100" --directive "AcmePayFreeBalance 10000" \
    --directive "AcmePayFreeBalanceLimit 100 86400" \
    --resolver "127.0.0.1:$DNS_PROXY_PORT"
port_free 127.0.0.1 "$DNS_PROXY_PORT" || die "port $DNS_PROXY_PORT is busy"
python3 "$IT_DIR/dns_proxy.py" "$DNS_PROXY_PORT" "$DNS_PORT" > "$T/dns_proxy.log" 2>&1 &
DNS_PROXY_PID=$!
at_exit "kill $DNS_PROXY_PID"
for _ in $(seq 50); do grep -q "dns proxy on" "$T/dns_proxy.log" && break; sleep 0.1; done
grep -q "dns proxy on" "$T/dns_proxy.log" || die "dns_proxy.py did not start: $(cat "$T/dns_proxy.log")"
/usr/bin/python3 "$IT_DIR/caa.py" || { server_log 40; fail "caa.py"; }
grep -q "dropped CAA query for timeout-" "$T/dns_proxy.log" || fail "the proxy dropped no CAA query"
finish
