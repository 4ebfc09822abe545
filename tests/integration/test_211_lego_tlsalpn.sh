#!/bin/bash
# lego --tls: tls-alpn-01, lego itself answers on 127.0.0.1:5001 (AcmePayTLSALPN01Port).
# Trust: LEGO_CA_CERTIFICATES=$ACME_TRUST.
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name lego-alpn)
LEGO_CA_CERTIFICATES=$ACME_TRUST run_client "$T/lego.log" \
    lego --server "$ACME_DIRECTORY" --accept-tos --email admin@example.com \
    --path "$T/lego" --key-type rsa2048 \
    --tls --tls.port "127.0.0.1:$TLSALPN01_PORT" \
    -d "$name" run || finish
check_cert "$T/lego/certificates/$name.crt" "$name"
check_db_issued 1
finish
