#!/bin/bash
# lego --dns exec: dns-01, the TXT record is set in pebble-challtestsrv by
# lego-dns-exec.sh (management API /set-txt, /clear-txt); the server's resolver is
# challtestsrv (AcmePayResolver 127.0.0.1:8053). Also a wildcard name (dns-01 only).
# Trust: LEGO_CA_CERTIFICATES=$ACME_TRUST.
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name lego-dns)
EXEC_PATH=$IT_DIR/lego-dns-exec.sh EXEC_PROPAGATION_TIMEOUT=30 EXEC_POLLING_INTERVAL=1 \
LEGO_CA_CERTIFICATES=$ACME_TRUST run_client "$T/lego.log" \
    lego --server "$ACME_DIRECTORY" --accept-tos --email admin@example.com \
    --path "$T/lego" --key-type ec384 \
    --dns exec --dns.resolvers "127.0.0.1:$DNS_PORT" --dns.disable-cp \
    -d "$name" -d "*.$name" run || finish
check_cert "$T/lego/certificates/$name.crt" "$name" "*.$name"
check_db_issued 1
finish
