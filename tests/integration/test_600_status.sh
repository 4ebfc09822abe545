#!/bin/bash
# The module's section in mod_status's server-status: the ?auto lines (what
# apache_exporter and other scrapers read) and the HTML page carry orders by status,
# certificates issued (total, last hour), pending jobs, open invoices and revenue today,
# and each figure equals what the database says, before and after real issuance (two paid
# certificates, a third order waiting for its invoice, one order left pending).
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 500" --directive "AcmePayFreeBalance 1000" \
    --global "LoadModule status_module /usr/lib/apache2/modules/mod_status.so" \
    --directive "<Location /server-status>" --directive "SetHandler server-status" \
    --directive "Require all granted" --directive "</Location>"
STATUS=https://localhost:$ACME_PORT/server-status
auto() { curl -sf --max-time 10 --cacert "$ACME_TRUST" "$STATUS?auto"; }
# key NAME: the value of "NAME: value" in the last ?auto answer
key() { awk -F': ' -v k="$1" '$1 == k { print $2; f = 1 } END { exit !f }' "$T/auto"; }

# check: every figure against a query of its own
check() {
    local now day0 st
    auto > "$T/auto" || { fail "server-status?auto did not answer"; return; }
    now=$(date +%s)
    day0=$((now - now % 86400))
    for st in pending ready processing valid invalid; do
        expect_eq "$(db_query "SELECT COUNT(*) FROM orders WHERE status = '$st'")" \
            "$(key "AcmePayOrders${st^}")" "$1: orders $st"
    done
    expect_eq "$(db_query "SELECT COUNT(*) FROM certificates")" "$(key AcmePayCertificatesIssued)" \
        "$1: certificates issued"
    expect_eq "$(db_query "SELECT COUNT(*) FROM certificates WHERE issued >= $((now - 3600))")" \
        "$(key AcmePayCertificatesIssuedLastHour)" "$1: certificates issued in the last hour"
    expect_eq "$(db_query "SELECT COUNT(*) FROM jobs")" "$(key AcmePayJobsPending)" "$1: jobs"
    expect_eq "$(db_query "SELECT COUNT(*) FROM invoices WHERE status = 'open' AND expires >= $now")" \
        "$(key AcmePayInvoicesOpen)" "$1: open invoices"
    expect_eq "$(db_query "SELECT COALESCE(-SUM(delta), 0) FROM ledger WHERE created >= $day0 AND kind IN ('debit', 'refund')")" \
        "$(key AcmePayRevenueToday)" "$1: revenue today"
    expect_eq CNY "$(key AcmePayCurrency)" "$1: currency"
}

check "empty database"
expect_eq 0 "$(key AcmePayCertificatesIssued)" "no certificate yet"

n1=$(unique_name st1) n2=$(unique_name st2) n3=$(unique_name st3) n4=$(unique_name st4)
export n1 n2 n3 n4 IT_DIR
/usr/bin/python3 - <<'PY' || die "issuance through the module failed"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
W = os.environ["ACME_WEBROOT"]
a = Acme(); k = Key()
assert a.new_account(k).status == 201
a.issue([os.environ["n1"]], W)
a.issue([os.environ["n2"]], W)
o = a.new_order([os.environ["n3"]]); assert o.status == 201
for az in o.json()["authorizations"]:
    a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr([os.environ["n3"]])
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403 and r.json()["type"].endswith("userActionRequired"), r
assert a.new_order([os.environ["n4"]]).status == 201
PY
check "after issuance"
# the figures this scenario fixes, so a section that reads nothing cannot pass
expect_eq 2 "$(key AcmePayCertificatesIssued)" "two certificates"
expect_eq 2 "$(key AcmePayCertificatesIssuedLastHour)" "two in the last hour"
expect_eq 2 "$(key AcmePayOrdersValid)" "two valid orders"
expect_eq 1 "$(key AcmePayOrdersReady)" "the unpaid order is ready"
expect_eq 1 "$(key AcmePayOrdersPending)" "one pending order"
expect_eq 1 "$(key AcmePayInvoicesOpen)" "one open invoice"
expect_eq 1000 "$(key AcmePayRevenueToday)" "revenue today: two debits of 500"
# still mod_status's own lines around ours
grep -q '^ServerUptimeSeconds: ' "$T/auto" || fail "mod_status's own ?auto lines missing"

html=$(curl -sf --max-time 10 --cacert "$ACME_TRUST" "$STATUS") || fail "server-status HTML"
expect_contains "$html" "ACME server (mod_acme_pay)" "HTML section"
expect_contains "$html" "<tr><td>certificates issued</td><td>2</td></tr>" "HTML certificates row"
finish
