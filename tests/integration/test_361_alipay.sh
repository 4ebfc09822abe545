#!/bin/bash
# Alipay built in (AcmePayAlipay) against a local stand-in of its OpenAPI gateway
# (providers.py), keys generated here (the app's and "Alipay's", RSA 2048):
# alipay.trade.precreate signed RSA2 and its signed answer's qr_code made once per invoice
# and shown as the QR; RSA2 notifications (bad signature, changed parameter, sign_type,
# stale notify_time, another app_id, unknown invoice, wrong amount: nothing changes, one
# log line each, answered "fail"), replays and 16 concurrent deliveries credit once, the
# gateway failing falls back to the invoice page; then lego: short balance -> the qr_code
# as lego's QR -> the notification ("success") -> the same command issues.
. "$(dirname "$0")/lib.sh"
d=$(mktemp -d /tmp/acp-alipay.XXXXXX)
at_exit "touch '$d/stop'; rm -rf '$d'"
chmod 755 "$d"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/app.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/alipay.key" 2>/dev/null
# Alipay's public key as its console shows it: the base64 body alone, no PEM lines
openssl pkey -in "$d/alipay.key" -pubout 2>/dev/null | grep -v -- ----- | tr -d '\n' > "$d/alipay.pub"
chmod 600 "$d/app.key" "$d/alipay.key"
echo 2021000122600000 > "$d/app_id"
port=$((ACME_PORT + 12))
provider_standin alipay "$port" "$d"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayAlipay app-id=$(cat "$d/app_id") private-key=file:$d/app.key alipay-public-key=file:$d/alipay.pub gateway=http://127.0.0.1:$port/gateway.do"
export ACME_ERROR_LOG=$T/httpd/logs/error.log
/usr/bin/python3 "$IT_DIR/providers.py" cases alipay "$d" || { server_log 40; fail "providers.py cases alipay"; }

name=$(unique_name alipay-lego)
lego_pay_request "$name"
expect_contains "$url" "https://qr.alipay.test/bax0" "the invoice's qr_code"
expect_eq "200 success" "$(/usr/bin/python3 "$IT_DIR/providers.py" notify alipay "$d" "$inv")" "the notification for $inv"
run_client "$T/lego-2.log" lego_http_run "$name" && check_cert "$T/lego/certificates/$name.crt" "$name"
holder=$(db_query "SELECT billing_id FROM invoices WHERE id = '$inv'")
expect_one_charge "$holder"
expect_contains "$(db_query "SELECT reference FROM payments WHERE invoice_id = '$inv'")" "alipay:2026" "payment reference"
finish
