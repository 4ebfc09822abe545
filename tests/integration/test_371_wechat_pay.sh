#!/bin/bash
# WeChat Pay API v3 (AcmePayWeChatPay) against a local stand-in (wechat_standin.py on
# loopback: checks the documented request and its Authorization signature with the
# merchant's public key, sends notifications signed with a platform test key and
# encrypted with the test APIv3 key): wechat.py (code_url as the QR, every bad
# notification refused and logged once, replayed and concurrent deliveries credited once,
# refund recording), then the full path with lego: short balance -> the code_url in
# lego's output -> the notification -> the same command issues; ledger sum = balance.
# acp-test: timeout 600
. "$(dirname "$0")/lib.sh"
WECHAT_DIR=$(mktemp -d /tmp/acp-wechat.XXXXXX)
chmod 755 "$WECHAT_DIR"
at_exit "rm -rf '$WECHAT_DIR'"
export WECHAT_DIR
/usr/bin/python3 "$IT_DIR/wechat_standin.py" keys "$WECHAT_DIR" || die "stand-in keys"
standin_port=$((ACME_PORT + 7))
port_free 127.0.0.1 "$standin_port" || die "port $standin_port is busy"
/usr/bin/python3 "$IT_DIR/wechat_standin.py" serve "$WECHAT_DIR" "$standin_port" \
    2> "$WECHAT_DIR/standin.log" &
standin_pid=$!
at_exit "kill $standin_pid"
wait_port 127.0.0.1 "$standin_port" 10 || die "the WeChat Pay stand-in did not start"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayWeChatPay mchid=1900000109 appid=wxd930ea5d5a258f4f serial=$(cat "$WECHAT_DIR/merchant.serial") private-key=file:$WECHAT_DIR/merchant.key apiv3-key=file:$WECHAT_DIR/apiv3.key platform-cert=file:$WECHAT_DIR/platform.pem api=http://127.0.0.1:$standin_port"
/usr/bin/python3 "$IT_DIR/wechat.py" || { server_log 30; tail -n 20 "$WECHAT_DIR/standin.log"; fail "wechat.py"; }

# ---- the full path with a real client (lego)
name=$(unique_name wx-lego)
lego_cmd() {
    LEGO_CA_CERTIFICATES=$ACME_TRUST lego --server "$ACME_DIRECTORY" --accept-tos \
        --email admin@example.com --path "$T/lego" --key-type ec256 \
        --http --http.webroot "$ACME_WEBROOT" -d "$name" run
}
lego_cmd > "$T/lego-1.log" 2>&1 && fail "lego issued without payment"
code_url=$(grep -o 'weixin://wxpay/bizpayurl?pr=[A-Za-z0-9_-]*' "$T/lego-1.log" | head -n 1)
[ -n "$code_url" ] || { tail -n 30 "$T/lego-1.log"; die "no WeChat code_url in lego's output"; }
expect_contains "$(cat "$T/lego-1.log")" "10.00 CNY" "lego output (amount)"
expect_contains "$(cat "$T/lego-1.log")" "▄" "lego output (QR rows)"
inv=$(grep -l "\"$code_url\"" "$WECHAT_DIR"/orders/*.json | head -n 1)
inv=$(basename "${inv%.json}")
[ -n "$inv" ] || die "the stand-in has no order for $code_url"
expect_eq open "$(db_query "SELECT status FROM invoices WHERE id = '$inv'")" "invoice before payment"
out=$(/usr/bin/python3 "$IT_DIR/wechat_standin.py" notify "$WECHAT_DIR" "$inv") ||
    fail "notification for $inv: $out"
holder=$(db_query "SELECT billing_id FROM invoices WHERE id = '$inv'")
expect_eq 1000 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance after the notification"
if run_client "$T/lego-2.log" lego_cmd; then
    check_cert "$T/lego/certificates/$name.crt" "$name"
fi
expect_eq 0 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance after issuing"
expect_eq 1 "$(db_query "SELECT COUNT(*) FROM ledger WHERE billing_id = '$holder' AND kind = 'debit'")" "debits"
# every holder's ledger sums to its balance
expect_eq 0 "$(db_query "SELECT COUNT(*) FROM billing b WHERE b.balance <> COALESCE((SELECT SUM(delta) FROM ledger l WHERE l.billing_id = b.id), 0)")" "holders whose ledger does not sum to the balance"
# the refusals are warnings (ACP04600, one per bad delivery, counted by wechat.py); nothing
# was logged at error level or above
expect_eq 0 "$(grep -cE '\[[a-z_]*:(error|crit|alert|emerg)\]' "$T/httpd/logs/error.log")" "errors in the log"
finish
