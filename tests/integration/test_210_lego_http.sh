#!/bin/bash
# lego --http --http.webroot: http-01 answered from the webroot vhost (127.0.0.1:5002);
# two names in one order (one certificate with both SANs).
# Trust: LEGO_CA_CERTIFICATES=$ACME_TRUST.
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name lego-http)
LEGO_CA_CERTIFICATES=$ACME_TRUST run_client "$T/lego.log" \
    lego --server "$ACME_DIRECTORY" --accept-tos --email admin@example.com \
    --path "$T/lego" --key-type ec256 \
    --http --http.webroot "$ACME_WEBROOT" \
    -d "$name" -d "www.$name" run || finish
check_cert "$T/lego/certificates/$name.crt" "$name" "www.$name"
check_db_issued 1
finish
