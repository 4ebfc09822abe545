#!/bin/bash
# acme-pay-admin sub-commands against a database filled by real issuance through the
# module (Python client, http-01): lists with filters, show, dashboard, credit/debit with
# bad input refused without writes, invoice pay (once per reference), revoke, reissue
# (new serial served by the order's certificate URL, ledger row of 0), EAB keys, exit codes.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 500" --directive "AcmePayFreeBalance 1000"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --key-file "$ACME_KEY_FILE" --actor alice)
adm() { "${ADM[@]}" "$@"; }
# rc CMD…: exit code only (output dropped)
rc() { "$@" >/dev/null 2>&1; echo $?; }
n1=$(unique_name adm1) n2=$(unique_name adm2) n3=$(unique_name adm3)
export n1 n2 n3 IT_DIR

# ---- fill the database: two paid certificates, a third order waiting for an invoice ----
/usr/bin/python3 - > "$T/issued.json" <<'PY' || die "issuance through the module failed"
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
from cryptography.hazmat.primitives import serialization
W = os.environ["ACME_WEBROOT"]
a = Acme(); k = Key()
assert a.new_account(k).status == 201
o1, pem1 = a.issue([os.environ["n1"]], W)
o2, pem2 = a.issue([os.environ["n2"]], W)
o = a.new_order([os.environ["n3"]]); assert o.status == 201
for az in o.json()["authorizations"]:
    a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr([os.environ["n3"]])
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403 and r.json()["type"].endswith("userActionRequired"), r
open(os.path.join(os.environ["T"], "acct.pem"), "wb").write(k.priv.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
print(json.dumps({"kid": a.kid, "order2": o2, "order3": o.header("Location")}))
PY
log "issued $n1 and $n2, $n3 waits for payment"

# ---- lists and filters ------------------------------------------------------------------
holder=$(adm --json holders list | jq -r '.[0].id')
expect_eq 1 "$(adm --json holders list | jq length)" "holders"
expect_eq 0 "$(adm --json holders list | jq '.[0].balance')" "balance after two 500 debits"
expect_eq 1 "$(adm --json accounts list --holder "$holder" | jq length)" "accounts of the holder"
expect_eq 2 "$(adm --json orders list --status valid | jq length)" "valid orders"
expect_eq "$n3" "$(adm --json orders list --unpaid | jq -r '.[0].names')" "unpaid order"
expect_eq 1 "$(adm --json orders list --unpaid | jq length)" "unpaid orders"
expect_eq 2 "$(adm --json certs list | jq length)" "certificates"
s1=$(adm --json certs list --name "$n1" | jq -r '.[0].serial')
s2=$(adm --json certs list --name "$n2" | jq -r '.[0].serial')
[ -n "$s1" ] && [ "$s1" != null ] || fail "no serial for $n1"
expect_eq "$n2" "$(adm --json certs list --serial "${s2:0:10}" | jq -r '.[0].names')" "certs --serial prefix"
inv=$(adm --json invoices list --status open | jq -r '.[0].id')
expect_eq 1 "$(adm --json invoices list --status open | jq length)" "open invoices"
expect_eq 0 "$(adm --json invoices list --status paid | jq length)" "paid invoices"
expect_eq 500 "$(adm --json show invoice "$inv" | jq '.invoice.amount')" "invoice amount"
expect_eq 2 "$(adm --json ledger list --holder "$holder" | jq '[.[] | select(.kind == "debit")] | length')" "debit rows"
out=$(adm holders list); expect_contains "$out" "balance" "text table header"
expect_contains "$(adm orders list)" "$n3" "orders table"

# ---- show --------------------------------------------------------------------------------
o2=$(jq -r '.order2.certificate' "$T/issued.json" | sed 's,.*/,,')
oid2=$(adm --json certs list --name "$n2" | jq -r '.[0].order_id')
show=$(adm --json show order "$oid2")
expect_eq valid "$(jq -r .order.status <<<"$show")" "show order status"
expect_eq http-01 "$(jq -r '[.challenges[] | select(.result == "valid")][0].challenge' <<<"$show")" "challenge result"
expect_eq "$o2" "$(jq -r .certificate.id <<<"$show")" "order's certificate"
expect_eq "$s1" "$(adm --json show cert "$s1" | jq -r .certificate.serial)" "show cert by serial"
expect_eq 1 "$(adm --json show holder "$holder" | jq '.accounts | length')" "show holder accounts"
expect_eq 1 "$(rc adm show order nosuchorder)" "show unknown order exit code"

# ---- dashboard -------------------------------------------------------------------------------
d=$(adm --json dashboard)
# revenue is money received (no payment yet: the welcome credit paid for both)
expect_eq 0 "$(jq .revenue_today <<<"$d")" "revenue today"
expect_eq 0 "$(jq .revenue_month <<<"$d")" "revenue month"
expect_eq 1000 "$(jq .charged_today <<<"$d")" "charged today"
expect_eq 1000 "$(jq .charged_month <<<"$d")" "charged month"
expect_eq 2 "$(jq .certificates <<<"$d")" "dashboard certificates"
expect_eq 1 "$(jq .open_invoices <<<"$d")" "dashboard open invoices"
expect_eq 2 "$(jq .orders.valid <<<"$d")" "dashboard valid orders"

# ---- money: bad input changes nothing -------------------------------------------------------
rows=$(db_query "SELECT COUNT(*) FROM ledger")
expect_eq 2 "$(rc adm credit "$holder" -5 --reason x)" "negative amount"
expect_eq 2 "$(rc adm credit "$holder" 1.505 --reason x)" "more decimals than the currency has"
expect_eq 2 "$(rc adm credit "$holder" 10,00 --reason x)" "comma amount"
expect_eq 2 "$(rc adm credit "$holder" 12abc --reason x)" "junk amount"
expect_eq 2 "$(rc adm credit "$holder" 100)" "missing reason"
expect_eq 2 "$(rc adm credit "$holder" 100 --reason '  ')" "blank reason"
expect_eq 2 "$(rc adm credit nosuchholder 100 --reason x)" "unknown holder"
expect_eq 2 "$(rc adm debit "$holder" 100 --reason x)" "debit below zero"
expect_eq "$rows" "$(db_query "SELECT COUNT(*) FROM ledger")" "ledger rows after refused input"
expect_eq 2 "$(adm --json credit "$holder" 100 2>/dev/null | jq .code)" "json error code"
c=$(adm --json credit "$holder" 7.00 --reason "goodwill: outage 12 May") || fail "credit"
expect_eq 700 "$(jq .balance <<<"$c")" "balance after credit"
c=$(adm --json debit "$holder" 200minor --reason "correction") || fail "debit"
expect_eq 500 "$(jq .balance <<<"$c")" "balance after debit"
l=$(adm --json ledger list --holder "$holder" | jq '[.[] | select(.reason == "goodwill: outage 12 May")][0]')
expect_eq alice "$(jq -r .actor <<<"$l")" "ledger actor"
expect_eq 700 "$(jq .delta <<<"$l")" "ledger delta"

# ---- invoice pay (once per reference) --------------------------------------------------------
expect_eq 2 "$(rc adm invoice pay "$inv")" "invoice pay without reference"
expect_eq 2 "$(rc adm invoice pay nosuchinvoice --reference r1)" "unknown invoice"
expect_eq true "$(adm --json invoice pay "$inv" --reference bank-0042 | jq .credited)" "invoice pay"
expect_eq 1000 "$(adm --json show holder "$holder" | jq .holder.balance)" "balance after payment"
expect_eq paid "$(adm --json show invoice "$inv" | jq -r .invoice.status)" "invoice status"
expect_eq bank-0042 "$(adm --json show invoice "$inv" | jq -r '.payments[0].reference')" "payment row"
expect_eq 0 "$(adm --json orders list --unpaid | jq length)" "no unpaid orders left"

# ---- revoke ------------------------------------------------------------------------------------
expect_eq 2 "$(rc adm revoke "$s1" --reason 2 --yes)" "reason 2 refused"
expect_eq 2 "$(rc adm revoke "$s1" --yes)" "revoke without reason"
expect_eq 2 "$(rc adm revoke 00ff00ff --reason 1 --yes)" "unknown serial"
r=$(adm --json revoke "$s1" --reason 1 --yes </dev/null) || fail "revoke"
expect_eq 1 "$(jq .revoked_reason <<<"$r")" "revoked reason"
expect_eq 1 "$(db_query "SELECT revoked_reason FROM certificates WHERE serial = '$s1'")" "db reason"
expect_eq 2 "$(rc adm revoke "$s1" --reason 1 --yes)" "second revoke"

# ---- reissue -----------------------------------------------------------------------------------
bal=$(adm --json show holder "$holder" | jq .holder.balance)
expect_eq 2 "$(rc adm reissue "$s2")" "reissue without reason"
expect_eq 2 "$(rc adm reissue nosuchserial --reason x)" "reissue of an unknown serial"
expect_eq 2 "$(rc adm -f "$APACHE_CONF" reissue "$s1" --reason x)" "reissue of a revoked certificate"
r=$(adm -f "$APACHE_CONF" --json reissue "$s2" --reason "customer lost the key file") || fail "reissue"
ns=$(jq -r .serial <<<"$r")
[ -n "$ns" ] && [ "$ns" != "$s2" ] && [ "$ns" != null ] || fail "reissue gave serial '$ns' (old $s2)"
expect_eq 3 "$(adm --json certs list | jq length)" "certificates after reissue"
expect_eq "$(jq -r .cert_id <<<"$r")" "$(adm --json show order "$oid2" | jq -r .certificate.id)" "order points at the new certificate"
expect_eq "$bal" "$(adm --json show holder "$holder" | jq .holder.balance)" "reissue is free"
l=$(adm --json ledger list --holder "$holder" | jq '[.[] | select(.kind == "reissue")][0]')
expect_eq 0 "$(jq .delta <<<"$l")" "reissue ledger delta"
expect_eq "customer lost the key file" "$(jq -r .reason <<<"$l")" "reissue ledger reason"
expect_eq "order:$oid2" "$(jq -r .reference <<<"$l")" "reissue ledger reference"
expect_eq alice "$(jq -r .actor <<<"$l")" "reissue ledger actor"
# the order's certificate URL serves the new chain (and it verifies)
export NEW_SERIAL=$ns
/usr/bin/python3 - > "$T/reissued.pem" <<'PY' || fail "fetching the reissued chain"
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
from cryptography.hazmat.primitives import serialization
from cryptography import x509
st = json.load(open(os.path.join(os.environ["T"], "issued.json")))
a = Acme(); k = Key()
k.priv = serialization.load_pem_private_key(open(os.path.join(os.environ["T"], "acct.pem"), "rb").read(), None)
a.key, a.kid = k, st["kid"]
order_url = st["order2"]["certificate"]  # old certificate URL; the order's URL is in its Location
orders = a.get(a.kid).json().get("orders")
found = None
for url in [u for u in (a.get(orders).json().get("orders", []) if orders else [])]:
    o = a.get(url).json()
    if o.get("certificate") and o["identifiers"][0]["value"] == os.environ["n2"]:
        found = o
assert found, "order of n2 not listed"
pem = a.get(found["certificate"]).body.decode()
leaf = x509.load_pem_x509_certificate(pem.encode())
assert format(leaf.serial_number, "x") == os.environ["NEW_SERIAL"].lstrip("0"), (format(leaf.serial_number, "x"), os.environ["NEW_SERIAL"])
sys.stdout.write(pem)
PY
check_cert "$T/reissued.pem" "$n2"

# ---- EAB keys ----------------------------------------------------------------------------------
expect_eq 2 "$(rc adm eab create)" "eab create without label"
e=$(adm --json eab create --label "Reseller B") || fail "eab create"
kid=$(jq -r .kid <<<"$e")
expect_eq active "$(adm --json eab list | jq -r --arg k "$kid" '.[] | select(.kid == $k) | .status')" "eab list"
expect_eq 0 "$(rc adm eab disable "$kid")" "eab disable"
expect_eq disabled "$(adm --json eab list | jq -r --arg k "$kid" '.[] | select(.kid == $k) | .status')" "eab disabled"
expect_eq 2 "$(rc adm eab disable "$kid")" "eab disable twice"

# ---- usage -------------------------------------------------------------------------------------
expect_eq 2 "$(rc adm frobnicate)" "unknown command"
expect_eq 2 "$(rc adm orders list --status bogus)" "bad status filter"
expect_eq 2 "$(rc adm invoices list --status bogus)" "bad invoice status"
expect_eq 0 "$(rc adm migrate)" "migrate is idempotent"
grep -E 'AH[0-9]+|ACP[0-9]+' "$T/httpd/logs/error.log" | grep -E '\[(error|crit|alert|emerg)\]' | head -5
finish
