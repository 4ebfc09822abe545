#!/bin/bash
# mod_md with a zero balance: its error log shows the payment link (one escaped line, no
# QR: the per-client table), it keeps retrying because it gets a non-"input" problem type
# (orderNotReady) instead of userActionRequired; after a signed webhook pays the invoice,
# its next retry issues. Trust: MDCACertificateFile $ACME_TRUST.
. "$(dirname "$0")/lib.sh"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
acme_setup --no-http01-vhost --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayWebhookSecret file:$secret_dir/webhook.secret"
base_url=${ACME_DIRECTORY%/directory}
name=$(unique_name md-pay)
md_apache_start "$name" || die "the mod_md Apache did not start"

# the payment request reaches mod_md's log
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
    grep -q "$base_url/pay/i/" "$md/logs/error.log" 2>/dev/null && break
    sleep 1
done
line=$(grep -m1 "$base_url/pay/i/" "$md/logs/error.log")
expect_contains "$line" "10.00 CNY" "mod_md error log (amount)" || { grep -v AH01882 "$md/logs/error.log" | tail -20; finish; }
log "mod_md logged: $(printf '%s' "$line" | cut -c1-200)"
row=$(db_query "SELECT id, amount FROM invoices WHERE status = 'open' ORDER BY created DESC LIMIT 1")
inv=${row%%|*}; amount=${row##*|}
body="{\"invoice\":\"$inv\",\"amount\":$amount,\"currency\":\"CNY\",\"reference\":\"md-$inv\"}"
t=$(date +%s)
sig=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$(cat "$secret_dir/webhook.secret")" | awk '{print $NF}')
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ACME_TRUST" -H "AcmePay-Signature: t=$t,v1=$sig" \
    --data-binary "$body" "$base_url/pay/webhook")
expect_eq 200 "$code" "webhook"
md_wait_cert "$name" 120 || { fail "mod_md got no certificate within 120 s"; finish; }
log "mod_md stored $pem after paying"
sleep 1
check_cert "$pem" "$name"
expect_eq 1 "$(db_query "SELECT COUNT(*) FROM ledger WHERE kind = 'debit'")" "charges"
finish
