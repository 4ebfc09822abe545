#!/bin/bash
# acme-tiny with our own account key and CSR; http-01 from --acme-dir = the webroot's
# .well-known/acme-challenge (5002). --disable-check: acme-tiny's own pre-check fetches
# http://NAME/… through the system resolver, which does not know NAME (challtestsrv does).
# acme-tiny prints the certificate chain on stdout.
# Trust: SSL_CERT_FILE=$ACME_TRUST (urllib over OpenSSL's default verify paths).
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name acme-tiny)
openssl genrsa -out "$T/account.key" 2048 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/domain.key" \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name" -out "$T/domain.csr" 2>/dev/null ||
    die "CSR"
tiny() {
    SSL_CERT_FILE=$ACME_TRUST acme-tiny --account-key "$T/account.key" --csr "$T/domain.csr" \
        --acme-dir "$ACME_WEBROOT/.well-known/acme-challenge" \
        --disable-check --directory-url "$ACME_DIRECTORY" --contact mailto:admin@example.com > "$T/chain.pem"
}
run_client "$T/acme-tiny.log" tiny || finish
check_cert "$T/chain.pem" "$name"
check_db_issued 1
finish
