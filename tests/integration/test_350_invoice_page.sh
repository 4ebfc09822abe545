#!/bin/bash
# Issue 9 item 5: the invoice page a payer sees, in headless Chromium (tests/integration/
# invoice_page.py + invoice_browser.js): names, amount, expiry, every way to pay (provider
# checkout QR + link, Ethereum QR + URI + amount in ETH and in an ERC-20 token, test mode); the status turns to
# paid without a reload when the signed webhook lands (and to voided, superseded), partial
# payments show; English and Simplified Chinese by Accept-Language; a branding template
# (AcmePayInvoiceTemplate) with hostile names, reason and checkout URL proven escaped, a
# strict CSP with no violation. Screenshots kept in out/test-artefacts/. A missing or
# broken template stops `apache2 -t`.
# acp-test: timeout 600
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null && [ -d /opt/playwright-core/node_modules/playwright-core ] ||
    die "chromium or playwright-core missing (build/install-deps.sh)"
secret_dir=$(mktemp -d /tmp/acp-secret.XXXXXX)
at_exit "rm -rf '$secret_dir'"
chmod 755 "$secret_dir"
openssl rand -hex 32 > "$secret_dir/webhook.secret"
export ACME_WEBHOOK_SECRET_FILE=$secret_dir/webhook.secret
# a provider whose checkout URL carries markup: it must stay text and an attribute value
export ACP_CHECKOUT_PREFIX='https://pay.example.test/checkout?x="><script>alert(3)</script>&i='
cat > "$secret_dir/checkout" <<'SH'
#!/bin/sh
printf '%s%s\n' 'https://pay.example.test/checkout?x="><script>alert(3)</script>&i=' "$1"
SH
# the branding template: every placeholder, one in an attribute, a style allowed by nonce
cat > "$secret_dir/invoice.html" <<'HTML'
<!DOCTYPE html>
<html lang="{{lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · Example Hosting</title>
{{head}}<style nonce="{{nonce}}">header.brand{background:#0b3d91;color:#fff;padding:.5em 1em}</style>
</head><body class="state-{{state}}">
<header class="brand" data-names="{{names}}">Example Hosting — {{amount}}</header>
{{content}}
<footer class="brand-footer">Invoice {{invoice}} · support@example.test</footer>
</body></html>
HTML
chmod 644 "$secret_dir"/*
chmod 755 "$secret_dir/checkout"
export ETH_ADDR=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayPricePerExtraName 200" \
    --directive "AcmePayWebhookSecret file:$ACME_WEBHOOK_SECRET_FILE" \
    --directive "AcmePayTestMode on" \
    --directive "AcmePayEthereum $ETH_ADDR 1 10000000000000" \
    --directive "AcmePayEthereumToken USDT 0xdAC17F958D2ee523a2206206994597C13D831ec7 6 1400" \
    --directive "AcmePayInvoiceCommand $secret_dir/checkout" \
    --directive "AcmePayInvoiceTemplate $secret_dir/invoice.html"
export ACP_ARTEFACTS=$REPO/out/test-artefacts
mkdir -p "$ACP_ARTEFACTS"
/usr/bin/python3 "$IT_DIR/invoice_page.py" || { server_log 40; fail "invoice_page.py"; }

# ---- a missing or broken template is a configuration error ----------------------------------
bad() {   # bad FILE CONTENT-OR-EMPTY WHAT: apache2 -t refuses, naming the directive and why
    local conf=$T/bad.conf
    [ -n "$2" ] && printf '%s' "$2" > "$1"
    sed "s#AcmePayInvoiceTemplate .*#AcmePayInvoiceTemplate $1#" "$APACHE_CONF" > "$conf"
    local out
    out=$(apache2 -f "$conf" -t 2>&1) && fail "apache2 -t accepted a template that $3"
    expect_contains "$out" "AcmePayInvoiceTemplate" "apache2 -t on a template that $3"
    expect_contains "$out" "$4" "apache2 -t on a template that $3"
}
bad "$T/none.html" "" "is missing" "cannot read"
bad "$T/t1.html" "<p>hello</p>" "has no {{content}}" "no {{content}}"
bad "$T/t2.html" $'<p>\n{{content}} {{logo}}</p>' "names an unknown placeholder" "line 2: unknown placeholder {{logo}}"
bad "$T/t3.html" $'{{content}}\xff' "is not UTF-8" "not valid UTF-8"
expect_eq 0 "$(apache2 -f "$APACHE_CONF" -t >/dev/null 2>&1; echo $?)" "the good template passes apache2 -t"
# nothing logged at error level by the page or its status
grep -E '\[(acme_pay|core):(error|crit|alert|emerg)\]' "$T/httpd/logs/error.log" | grep -v AH00 &&
    fail "errors in the error log"
finish
