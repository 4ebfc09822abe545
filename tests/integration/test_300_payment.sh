#!/bin/bash
# Billing and payment in the ACME flow (tests/integration/payment.py): payment request
# on a short balance, signed webhook (forged/stale/malformed rejected), pay then the same
# finalize issues, free reissue, 50 concurrent finalizes and webhooks, invoice page.
. "$(dirname "$0")/lib.sh"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
export ACME_WEBHOOK_SECRET_FILE=$secret_dir/webhook.secret
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayPricePerExtraName 200" --directive "AcmePayPriceWildcard 500" \
    --directive "AcmePayWebhookSecret file:$ACME_WEBHOOK_SECRET_FILE" \
    --directive "AcmePayTestMode on"
/usr/bin/python3 "$IT_DIR/payment.py" || { server_log 40; fail "payment.py"; }
finish
