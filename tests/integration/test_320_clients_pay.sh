#!/bin/bash
# Payment with real clients: with a zero balance each client fails and its own output
# shows the amount and the payment link (and the QR where the per-client table sends
# one); a signed webhook credits; the same command run again issues; the balance dropped
# by the price exactly once; running lego again within the window issues free.
. "$(dirname "$0")/lib.sh"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayWebhookSecret file:$secret_dir/webhook.secret"
base_url=${ACME_DIRECTORY%/directory}
QR_ROW='▄'

# pay_open_invoice: pay the newest open invoice through the signed webhook; echo its holder
pay_open_invoice() {
    local row inv amount holder body t sig code
    row=$(db_query "SELECT id, amount, billing_id FROM invoices WHERE status = 'open' ORDER BY created DESC LIMIT 1")
    inv=${row%%|*}; amount=$(echo "$row" | cut -d'|' -f2); holder=${row##*|}
    [ -n "$inv" ] || { fail "no open invoice"; return 1; }
    body="{\"invoice\":\"$inv\",\"amount\":$amount,\"currency\":\"CNY\",\"reference\":\"ref-$inv\"}"
    t=$(date +%s)
    sig=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$(cat "$secret_dir/webhook.secret")" | awk '{print $NF}')
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ACME_TRUST" -H "Content-Type: application/json" \
        -H "AcmePay-Signature: t=$t,v1=$sig" --data-binary "$body" "$base_url/pay/webhook")
    expect_eq 200 "$code" "webhook for $inv" || return 1
    echo "$holder"
}
# expect_payment_request LOG CLIENT QR(yes|no)
expect_payment_request() {
    local out
    out=$(cat "$1")
    expect_contains "$out" "10.00 CNY" "$2 output (amount)"
    expect_contains "$out" "$base_url/pay/i/" "$2 output (payment link)"
    expect_contains "$out" "run the same command again" "$2 output (what to do)"
    if [ "$3" = yes ]; then
        expect_contains "$out" "$QR_ROW" "$2 output (QR rows)"
    fi
}

# ---- certbot
name=$(unique_name pay-certbot)
cb=$T/certbot
certbot_cmd() {
    REQUESTS_CA_BUNDLE=$ACME_TRUST certbot certonly --non-interactive --agree-tos \
        --register-unsafely-without-email --server "$ACME_DIRECTORY" \
        --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
        --webroot --webroot-path "$ACME_WEBROOT" --key-type ecdsa -d "$name"
}
certbot_cmd > "$T/certbot-1.log" 2>&1 && fail "certbot issued without payment"
# certbot 2.1 (Debian 12) cannot print a finalize problem: it gets the request on the
# challenge and prints "Domain / Type / Detail: <the request>" (its Type line says None:
# its error-code list predates userActionRequired)
expect_payment_request "$T/certbot-1.log" certbot yes
expect_contains "$(cat "$T/certbot-1.log")" "Certbot failed to authenticate" "certbot output (challenge report)"
holder=$(pay_open_invoice) && {
    run_client "$T/certbot-2.log" certbot_cmd && check_cert "$cb/config/live/$name/fullchain.pem" "$name"
    expect_one_charge "$holder"
}

# ---- lego (then again: free reissue)
name=$(unique_name pay-lego)
lego_cmd() { lego_http_run "$name"; }
lego_cmd > "$T/lego-1.log" 2>&1 && fail "lego issued without payment"
expect_payment_request "$T/lego-1.log" lego yes
holder=$(pay_open_invoice) && {
    run_client "$T/lego-2.log" lego_cmd && check_cert "$T/lego/certificates/$name.crt" "$name"
    expect_one_charge "$holder"
    run_client "$T/lego-3.log" lego_cmd
    expect_eq 1 "$(db_query "SELECT COUNT(*) FROM ledger WHERE billing_id = '$holder' AND kind = 'reissue' AND delta = 0")" "free reissue rows"
    expect_eq 0 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance after the reissue"
}

# ---- acme-tiny (text/plain answer, printed verbatim)
name=$(unique_name pay-tiny)
openssl genrsa -out "$T/account.key" 2048 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/domain.key" \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name" -out "$T/domain.csr" 2>/dev/null
tiny_cmd() {
    SSL_CERT_FILE=$ACME_TRUST acme-tiny --account-key "$T/account.key" --csr "$T/domain.csr" \
        --acme-dir "$ACME_WEBROOT/.well-known/acme-challenge" --disable-check \
        --directory-url "$ACME_DIRECTORY" > "$T/tiny-chain.pem"
}
tiny_cmd > "$T/tiny-1.log" 2>&1 && fail "acme-tiny issued without payment"
expect_payment_request "$T/tiny-1.log" acme-tiny yes
holder=$(pay_open_invoice) && {
    run_client "$T/tiny-2.log" tiny_cmd && check_cert "$T/tiny-chain.pem" "$name"
    expect_one_charge "$holder"
}

# ---- dehydrated (text/plain answer, raw body dump)
name=$(unique_name pay-dehydrated)
dh=$T/dehydrated
mkdir -p "$dh"
cat > "$dh/config" <<CONF
CA="$ACME_DIRECTORY"
CHALLENGETYPE="http-01"
BASEDIR="$dh"
WELLKNOWN="$ACME_WEBROOT/.well-known/acme-challenge"
CURL_OPTS="--cacert $ACME_TRUST"
KEY_ALGO="prime256v1"
CONF
dehydrated --config "$dh/config" --register --accept-terms > "$T/dh-0.log" 2>&1 || fail "dehydrated register"
dehydrated --config "$dh/config" -c -d "$name" > "$T/dh-1.log" 2>&1 && fail "dehydrated issued without payment"
expect_payment_request "$T/dh-1.log" dehydrated yes
holder=$(pay_open_invoice) && {
    run_client "$T/dh-2.log" dehydrated --config "$dh/config" -c -d "$name" &&
        check_cert "$dh/certs/$name/fullchain.pem" "$name"
    expect_one_charge "$holder"
}

# ---- uacme (JSON strings printed raw: no QR, the link and amount still show)
name=$(unique_name pay-uacme)
hook=$T/uacme-hook.sh
uacme_hook "$hook"
uc=$T/uacme
mkdir -p "$uc"
with_system_trust "$ACME_TRUST" uacme -v -y -a "$ACME_DIRECTORY" -c "$uc" new > "$T/uacme-0.log" 2>&1 || fail "uacme new"
uacme_cmd() {
    with_system_trust "$ACME_TRUST" uacme -v -y -o -a "$ACME_DIRECTORY" -c "$uc" -h "$hook" -t EC issue "$name"
}
uacme_cmd > "$T/uacme-1.log" 2>&1 && fail "uacme issued without payment"
expect_payment_request "$T/uacme-1.log" uacme no
holder=$(pay_open_invoice) && {
    run_client "$T/uacme-2.log" uacme_cmd && check_cert "$uc/$name/cert.pem" "$name"
    expect_one_charge "$holder"
}
for f in certbot-1 lego-1 tiny-1 dh-1 uacme-1; do
    [ "$FAILS" -eq 0 ] || { echo "---- $f"; tail -n 40 "$T/$f.log"; }
done
finish
