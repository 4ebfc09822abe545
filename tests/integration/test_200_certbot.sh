#!/bin/bash
# certbot certonly --webroot: http-01 answered from the webroot vhost (127.0.0.1:5002).
# Trust: REQUESTS_CA_BUNDLE=$ACME_TRUST (python-requests).
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok
name=$(unique_name certbot)
cb=$T/certbot
mkdir -p "$cb"
REQUESTS_CA_BUNDLE=$ACME_TRUST run_client "$T/certbot.log" \
    certbot certonly --non-interactive --agree-tos --register-unsafely-without-email \
    --server "$ACME_DIRECTORY" \
    --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
    --webroot --webroot-path "$ACME_WEBROOT" \
    --key-type ecdsa --no-random-sleep-on-renew \
    -d "$name" || { tail -n 30 "$cb/logs/letsencrypt.log" 2>/dev/null; finish; }
check_cert "$cb/config/live/$name/fullchain.pem" "$name"
check_db_issued 1
finish
