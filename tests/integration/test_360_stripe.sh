#!/bin/bash
# Stripe built in (AcmePayStripe) against a local stand-in of its API (providers.py):
# Checkout Session made once per invoice and shown as the QR, Stripe-Signature webhooks
# (bad signature, stale, unknown invoice, wrong amount or currency: nothing changes, one
# log line each), replays and 16 concurrent deliveries credit once, a failing API falls
# back to the invoice page; then lego: short balance -> the session URL in lego's QR
# -> the webhook -> the same command issues; the books balance.
. "$(dirname "$0")/lib.sh"
d=$(mktemp -d /tmp/acp-stripe.XXXXXX)
at_exit "touch '$d/stop'; rm -rf '$d'"
chmod 755 "$d"
echo "sk_test_$(openssl rand -hex 24)" > "$d/stripe.key"
echo "whsec_$(openssl rand -hex 24)" > "$d/stripe-webhook.secret"
chmod 600 "$d/stripe.key" "$d/stripe-webhook.secret"
port=$((ACME_PORT + 11))
provider_standin stripe "$port" "$d"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayStripe secret-key=file:$d/stripe.key webhook-secret=file:$d/stripe-webhook.secret api=http://127.0.0.1:$port"
export ACME_ERROR_LOG=$T/httpd/logs/error.log
/usr/bin/python3 "$IT_DIR/providers.py" cases stripe "$d" || { server_log 40; fail "providers.py cases stripe"; }

# ---- lego: the same command before and after paying through Stripe (lego prints the
# finalize problem: the session URL is its QR from the first run)
name=$(unique_name stripe-lego)
lego_pay_request "$name"
expect_contains "$url" "https://checkout.stripe.test/c/pay/cs_test_" "the invoice's checkout"
/usr/bin/python3 "$IT_DIR/providers.py" notify stripe "$d" "$inv" >/dev/null || fail "the webhook for $inv"
run_client "$T/lego-2.log" lego_http_run "$name" && check_cert "$T/lego/certificates/$name.crt" "$name"
holder=$(db_query "SELECT billing_id FROM invoices WHERE id = '$inv'")
expect_one_charge "$holder"
expect_eq "stripe:$(db_query "SELECT checkout_ref FROM invoices WHERE id = '$inv'")" \
    "$(db_query "SELECT reference FROM payments WHERE invoice_id = '$inv'")" "payment reference"
finish
