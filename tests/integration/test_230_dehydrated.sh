#!/bin/bash
# dehydrated (http-01, WELLKNOWN = the webroot's .well-known/acme-challenge on 5002).
# Trust: CURL_OPTS="--cacert $ACME_TRUST" in its config (dehydrated talks through curl).
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name dehydrated)
base=$T/dehydrated
mkdir -p "$base"
cat > "$base/config" <<CONF
CA="$ACME_DIRECTORY"
CHALLENGETYPE="http-01"
BASEDIR="$base"
WELLKNOWN="$ACME_WEBROOT/.well-known/acme-challenge"
CURL_OPTS="--cacert $ACME_TRUST"
CONTACT_EMAIL="admin@example.com"
KEY_ALGO="prime256v1"
OCSP_FETCH="no"
OCSP_MUST_STAPLE="no"
CONF
run_client "$T/dehydrated-register.log" \
    dehydrated --config "$base/config" --register --accept-terms || finish
run_client "$T/dehydrated-cert.log" \
    dehydrated --config "$base/config" -c -d "$name" || finish
check_cert "$base/certs/$name/fullchain.pem" "$name"
check_db_issued 1
finish
