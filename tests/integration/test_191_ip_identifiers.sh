#!/bin/bash
# IP identifiers (RFC 8738) with the project's client (tests/integration/ip_ident.py):
# http-01 and tls-alpn-01 on 127.0.0.1 and ::1 (the SNI is the reverse-mapping name),
# iPAddress SANs, no dns-01, malformed and refused addresses (nothing written), a CSR
# that does not carry the order's addresses (badCSR, nothing charged), the price of an
# address (that of a name) and the names key "ip:<address>".
. "$(dirname "$0")/lib.sh"
args=(--directive "AcmePayPrice 100" --directive "AcmePayPricePerExtraName 10"
      --directive "AcmePayFreeBalance 1000" --directive "AcmePayFreeBalanceLimit 100 86400")
# IPv6 loopback: the webroot is also served on [::1]:$HTTP01_PORT when ::1 can be bound
# (its own document root, made before acme_setup: the client writes each token to both)
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    export ACP_IPV6=1
    ACME_WEBROOT_V6=$(mktemp -d /tmp/acp-it-webroot6.XXXXXX) || die "mktemp"
    at_exit "rm -rf '$ACME_WEBROOT_V6'"
    chmod 755 "$ACME_WEBROOT_V6"
    mkdir -p "$ACME_WEBROOT_V6/.well-known/acme-challenge"
    export ACME_WEBROOT_V6
    args+=(--global "Listen [::1]:$HTTP01_PORT http"
           --global "<VirtualHost [::1]:$HTTP01_PORT>"
           --global "    DocumentRoot \"$ACME_WEBROOT_V6\""
           --global "    <Directory \"$ACME_WEBROOT_V6\">"
           --global "        Require all granted"
           --global "    </Directory>"
           --global "</VirtualHost>")
else
    export ACP_IPV6=0
    log "SKIP (visible): IPv6 loopback ::1 cannot be bound on this machine; only IPv4 is tested"
fi
acme_setup "${args[@]}"
export TLSALPN01_PORT
/usr/bin/python3 "$IT_DIR/ip_ident.py" || { server_log 40; fail "ip_ident.py"; }
finish
