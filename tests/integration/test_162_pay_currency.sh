#!/bin/bash
# Issue 16, finding 8: two servers on one database, one charging CNY, one EUR (as two
# <VirtualHost>s or two nodes would). A balance paid in CNY does not spend in EUR (403
# unauthorized, nothing written), a webhook in another currency is refused (422), and
# every holder and ledger row records its currency. A webhook reference with control
# characters (issue 16, finding 9) is refused too.
. "$(dirname "$0")/lib.sh"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
chmod 644 "$secret_dir/webhook.secret"
export ACME_WEBHOOK_SECRET_FILE=$secret_dir/webhook.secret
pay=(--directive "AcmePayPrice 1000" --directive "AcmePayWebhookSecret file:$ACME_WEBHOOK_SECRET_FILE")
acme_setup --directive "AcmePayCurrency CNY" "${pay[@]}"
eur_port=$((ACME_PORT + 7))
# a second node: same database, same key file (sealed secrets), its own currency
apache_start "$T/httpd-eur" --ca-dir "$T/ca" --module "$ACME_MODULE" --acme-port "$eur_port" \
    --webroot "$ACME_WEBROOT" --http01-vhost-port none \
    --db-driver "$ACME_DB_DRIVER" --db-params "$ACME_DB_PARAMS" \
    --resolver "127.0.0.1:$DNS_PORT" --http01-port "$HTTP01_PORT" \
    --tlsalpn01-port "$TLSALPN01_PORT" --directive "AcmePayCurrency EUR" "${pay[@]}" \
    --directive "AcmePayKeyFile $T/httpd/secrets.key" ||
    die "the EUR server did not start"
export ACME_DIRECTORY_EUR=https://localhost:$eur_port/acme/directory
/usr/bin/python3 "$IT_DIR/billing_sec.py" currencies_do_not_mix webhook_reference_must_be_printable ||
    { server_log 40; tail -n 20 "$T/httpd-eur/logs/error.log"; fail "currencies"; }
finish
