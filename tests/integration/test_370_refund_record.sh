#!/bin/bash
# Staff refund recording (acme-pay-admin refund record, tests/integration/refunds.py): a
# refund made in a provider's console debits the holder with an audited ledger row, once
# per (payment, refund id), never beyond the payment, never below zero; concurrent records
# refund once; bad input and an unconfirmed prompt change nothing; ledger views show it.
. "$(dirname "$0")/lib.sh"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
export ACME_WEBHOOK_SECRET_FILE=$secret_dir/webhook.secret
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayWebhookSecret file:$ACME_WEBHOOK_SECRET_FILE"
/usr/bin/python3 "$IT_DIR/refunds.py" || { server_log 40; fail "refunds.py"; }
finish
