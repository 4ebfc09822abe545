#!/bin/bash
# uacme new + issue with a hook script that writes the http-01 key authorization into the
# webroot (127.0.0.1:5002).
# Trust: Debian's uacme is built with GnuTLS + libcurl-gnutls and has no CA option; libcurl
# reads only /etc/ssl/certs/ca-certificates.crt, so uacme runs in a private mount namespace
# where that file is the system bundle + $ACME_TRUST (with_system_trust, lib.sh).
# -o: no OCSP check of the new certificate (no OCSP responder here).
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name uacme)
hook=$T/uacme-hook.sh
uacme_hook "$hook"
conf=$T/uacme
mkdir -p "$conf"
run_client "$T/uacme-new.log" with_system_trust "$ACME_TRUST" \
    uacme -v -y -a "$ACME_DIRECTORY" -c "$conf" new admin@example.com || finish
run_client "$T/uacme-issue.log" with_system_trust "$ACME_TRUST" \
    uacme -v -y -o -a "$ACME_DIRECTORY" -c "$conf" -h "$hook" -t EC issue "$name" || finish
check_cert "$conf/$name/cert.pem" "$name"
check_db_issued 1
finish
