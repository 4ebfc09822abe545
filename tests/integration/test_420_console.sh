#!/bin/bash
# The staff console's sub-commands on a database filled through the module: find (contact
# e-mail, invoice id, serial with colons and in decimal, payment reference, names), an
# invoice closed by a staff credit (its public page and the dashboard say so), invoice
# void, the whole story of an order, money typed as people think (10.00, 1000, minor
# units, bad input, confirm and cancel on a terminal), balance with its currency, a
# reissue signed by the running module (no CA key on the staff side), help and version.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 1000"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --actor carol)
adm() { "${ADM[@]}" "$@"; }
rc() { "$@" >/dev/null 2>&1; echo $?; }
n1=$(unique_name con1) n2=$(unique_name con2) n3=$(unique_name con3)
mail="ops-$(openssl rand -hex 3)@shop.example"
export n1 n2 n3 mail IT_DIR

# an account with a contact; n1 waits for payment (10.00 CNY, the balance is 0)
/usr/bin/python3 - > "$T/a.json" <<'PY' || die "ACME through the module failed"
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
from cryptography.hazmat.primitives import serialization
W = os.environ["ACME_WEBROOT"]
a = Acme(); k = Key()
r = a.new_account(k, {"termsOfServiceAgreed": True, "contact": ["mailto:" + os.environ["mail"]]})
assert r.status == 201, r
o = a.new_order([os.environ["n1"]]); assert o.status == 201
for az in o.json()["authorizations"]:
    a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr([os.environ["n1"]])
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403 and r.json()["type"].endswith("userActionRequired"), r
open(os.path.join(os.environ["T"], "acct.pem"), "wb").write(k.priv.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
print(json.dumps({"kid": a.kid, "order": o.header("Location"), "finalize": o.json()["finalize"],
                  "pay": r.json()["instance"]}))
PY
# as_account <<'PY' …: Python with the account above signed in (a: Acme with its key and
# kid, d: a.json) before the script from stdin
as_account() {
    { cat <<'PRE'
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
from cryptography.hazmat.primitives import serialization
d = json.load(open(os.path.join(os.environ["T"], "a.json")))
a = Acme()
k = Key(); k.priv = serialization.load_pem_private_key(open(os.path.join(os.environ["T"], "acct.pem"), "rb").read(), None)
a.key = k; a.kid = d["kid"]
PRE
      cat; } | /usr/bin/python3 -
}
pay=$(jq -r .pay "$T/a.json")
inv=${pay##*/}
holder=$(adm --json holders list | jq -r '.[0].id')
oid=$(jq -r .order "$T/a.json"); oid=${oid##*/}
log "invoice $inv for $n1 (order $oid, holder $holder)"

# ---- help, version ----------------------------------------------------------------------
out=$("$REPO/out/acme-pay-admin" --help 2>/dev/null); expect_eq 0 $? "--help exit code"
expect_contains "$out" "find TEXT" "--help on stdout lists find"
expect_contains "$("$REPO/out/acme-pay-admin" help credit)" "1000minor" "help credit"
expect_contains "$("$REPO/out/acme-pay-admin" invoice --help)" "invoice void ID" "invoice --help"
expect_contains "$("$REPO/out/acme-pay-admin" --version)" "acme-pay-admin " "--version"
expect_eq 2 "$(rc "$REPO/out/acme-pay-admin" help nosuchcommand)" "help for an unknown command"
expect_eq 2 "$(rc "$REPO/out/acme-pay-admin" --bogus)" "unknown option"

# ---- find ---------------------------------------------------------------------------------
f=$(adm --json find "$mail")
expect_eq account "$(jq -r '.results[0].kind' <<<"$f")" "find by contact e-mail"
expect_eq "$holder" "$(jq -r '.results[0].holder' <<<"$f")" "the account's holder"
expect_eq "$(jq -r .kid "$T/a.json" | sed 's,.*/,,')" "$(jq -r '.results[0].id' <<<"$f")" "account id"
expect_eq account "$(adm --json find "${mail^^}" | jq -r '.results[0].kind')" "find is case-insensitive"
expect_eq invoice "$(adm --json find "$inv" | jq -r '[.results[] | select(.id == "'"$inv"'")][0].kind')" "find the invoice id a customer pastes"
expect_eq order "$(adm --json find "$n1" | jq -r '[.results[] | select(.kind == "order")][0].kind')" "find an order by name"
expect_eq 1 "$(rc adm find "$(openssl rand -hex 8)")" "nothing found: exit 1"
expect_eq 2 "$(rc adm find ab)" "find needs 3 characters"
# exact keys first (index lookups at any size); any part of the text when nothing matched
# exactly, or with --all
expect_eq true "$(adm --json find "$mail" | jq .exact)" "an e-mail address is an exact key"
expect_eq "true account" "$(adm --json find "MAILTO:${mail^^}" | jq -r '"\(.exact) \(.results[0].kind)"')" "... in any case, with mailto:"
expect_eq "false account" "$(adm --json find "${mail:0:10}" | jq -r '"\(.exact) \(.results[0].kind)"')" "part of an address: any part"
expect_eq "true 1" "$(adm --json find "${n1^^}." | jq -r '"\(.exact) \([.results[] | select(.kind == "order")] | length)"')" "a complete name (any case, trailing dot) is an exact key"
expect_eq "false 1" "$(adm --json find "${n1:1}" | jq -r '"\(.exact) \([.results[] | select(.kind == "order")] | length)"')" "part of a name: any part"
expect_eq "true holder" "$(adm --json find "$holder" | jq -r '"\(.exact) \(.results[0].kind)"')" "a holder id is an exact key"
expect_contains "$(adm find "$mail")" "exact keys (--all" "the table says the matches are exact"
# then whole words (word indexes, the last word may be unfinished), then any part
f=$(adm --json find "${mail:0:9}")
expect_eq "words account" "$(jq -r '"\(.step) \(.results[0].kind)"' <<<"$f")" "the start of an address: whole words (${mail:0:9})"
f=$(adm --json find "${mail#*@}")
expect_eq "words account" "$(jq -r '"\(.step) \(.results[0].kind)"' <<<"$f")" "an address's domain: whole words"
expect_contains "$(adm find "${mail#*@}")" "whole words (--all" "the table says the matches are whole words"
expect_eq "words 1" "$(adm --json find "${n1%%.*}" | jq -r '"\(.step) \([.results[] | select(.kind == "order")] | length)"')" "a name's first label: whole words"
# a text that starts inside a word: its later words find the candidates
f=$(adm --json find "${n1:1}")
expect_eq "words 1" "$(jq -r '"\(.step) \([.results[] | select(.kind == "order")] | length)"' <<<"$f")" "a fragment starting inside a word, then more words: whole words after the first (${n1:1})"
expect_eq "any part 1" "$(adm --json find "${n1:1:3}" | jq -r '"\(.step) \([.results[] | select(.kind == "order")] | length)"')" "a fragment inside one word: any part (${n1:1:3})"
expect_eq 1 "$(rc adm find "x${n1:1}")" "the later words match, the text as typed does not: nothing"
# the words only find candidates: a row must hold the text as typed
expect_eq 1 "$(rc adm find "${mail%%-*}.${mail#*-}")" "the same words with another separator match nothing"
f=$(adm --json find "${mail#*@}" --all)
expect_eq "false account" "$(jq -r '"\(.exact) \(.results[0].kind)"' <<<"$f")" "--all: a domain finds the address"
if [ "$ACME_DB_DRIVER" = pgsql ]; then
    # apr_dbd_pgsql's sequential mode sleeps 100 ms on every empty result set: sa reads in
    # random-access mode, so a find that matches nothing never sleeps
    n=$(strace -f -e trace=pselect6,nanosleep,clock_nanosleep "${ADM[@]}" find "$(openssl rand -hex 8)" 2>&1 | grep -c 'tv_nsec=100000000')
    expect_eq 0 "$n" "no 100 ms sleeps in the database driver"
fi
expect_contains "$(adm find "$mail")" "1 match" "one match, singular"
# the unpaid order reads "awaiting payment", not as an error
expect_eq "awaiting payment" "$(adm --json orders list --unpaid | jq -r '.[0].payment')" "orders list: awaiting payment"
expect_eq "awaiting payment" "$(adm --json show order "$oid" | jq -r .order.payment)" "order detail: awaiting payment"
expect_eq "$holder" "$(adm --json show order "$oid" | jq -r .holder.id)" "order detail links the holder"
expect_eq 0 "$(adm --json show order "$oid" | jq .holder.balance)" "with its balance"

# ---- money entry -----------------------------------------------------------------------------
rows=$(db_query "SELECT COUNT(*) FROM ledger")
for bad in abc 10.001 -5 0 "10,00" "1e3" ""; do
    expect_eq 2 "$(rc adm credit "$holder" "$bad" --reason x --yes)" "amount '$bad' refused"
done
expect_eq 2 "$(rc adm debit "$holder" 1.00 --reason x --yes)" "debit below zero"
expect_eq "$rows" "$(db_query "SELECT COUNT(*) FROM ledger")" "no ledger row after refused input"
# a terminal is asked first: "n" changes nothing, "y" credits; the question names the
# holder, the amount and the new balance
cmd=$(printf '%q ' "${ADM[@]}" credit "$holder" 4.00 --reason "goodwill: outage")
printf 'n\n' | script -qec "$cmd" /dev/null > "$T/no.txt" 2>&1
expect_contains "$(cat "$T/no.txt")" "Credit 4.00 CNY to $holder" "confirmation names holder and amount"
expect_contains "$(cat "$T/no.txt")" "balance 0.00 CNY -> 4.00 CNY" "confirmation shows the new balance"
expect_contains "$(cat "$T/no.txt")" "not confirmed; nothing changed" "cancel"
expect_eq "$rows" "$(db_query "SELECT COUNT(*) FROM ledger")" "cancel writes nothing"
printf 'y\n' | script -qec "$cmd" /dev/null > "$T/yes.txt" 2>&1
expect_contains "$(cat "$T/yes.txt")" "credited $holder 4.00 CNY: balance 4.00 CNY" "confirmed credit"
expect_eq 400 "$(adm --json balance "$holder" | jq .balance)" "4.00 is 400 minor units"
expect_eq "4.00 CNY" "$(adm balance "$holder")" "balance printed with its currency"
# the invoice (10.00) is not covered by 4.00: still open
expect_eq open "$(adm --json show invoice "$inv" | jq -r .invoice.status)" "invoice open while short"
expect_eq 1 "$(adm --json dashboard | jq .open_invoices)" "dashboard: one open invoice"

# ---- a staff credit answers the invoice ----------------------------------------------------------
c=$(adm --json credit "$holder" 6 --reason "paid by bank transfer, ticket 77" --yes) || fail "credit 6"
expect_eq 1000 "$(jq .balance <<<"$c")" "6 is 6.00 CNY"
s=$(adm --json show invoice "$inv")
expect_eq superseded "$(jq -r .invoice.status <<<"$s")" "invoice closed by the staff credit"
expect_contains "$(jq -r .invoice.closed_reason <<<"$s")" "balance covers it" "closed reason"
expect_eq carol "$(jq -r .invoice.closed_by <<<"$s")" "closed by the actor"
expect_eq 0 "$(adm --json dashboard | jq .open_invoices)" "dashboard counts no open invoice"
expect_eq 0 "$(adm --json invoices list --status open | jq length)" "no open invoice listed"
page=$(curl -s --cacert "$ACME_TRUST" "$pay")
expect_contains "$page" "Nothing to pay" "the invoice page says so"
expect_contains "$page" "superseded" "the page's status"
[[ "$page" == *"Pay this invoice"* ]] && fail "the closed invoice's page still asks for payment"
# the client finalizes again: charged from the balance, the invoice stays closed
as_account <<'PY' || fail "finalize after the credit"
der, _ = make_csr([os.environ["n1"]])
r = a.post(d["finalize"], {"csr": b64(der)})
assert r.status == 200, r
o = a.poll(d["order"]).json()
assert o["status"] == "valid", o
PY
st=$(adm --json show order "$oid")
expect_eq valid "$(jq -r .order.status <<<"$st")" "order valid"
expect_eq "$inv" "$(jq -r '.invoices[0].id' <<<"$st")" "order detail: its invoice"
expect_eq superseded "$(jq -r '.invoices[0].status' <<<"$st")" "order detail: invoice closed"
expect_eq -1000 "$(jq '[.ledger[] | select(.kind == "debit")][0].delta' <<<"$st")" "order detail: its charge"
expect_eq "$n1" "$(jq -r .certificate.names <<<"$st")" "order detail: its certificate"
expect_eq null "$(jq -r .order.payment <<<"$st")" "no longer awaiting payment"

# ---- find a certificate by serial in any format ----------------------------------------------------
serial=$(jq -r .certificate.serial <<<"$st")
colons=$(sed 's/../&:/g; s/:$//' <<<"${serial^^}")
dec=$(python3 -c "print(int('$serial', 16))")
expect_eq "$serial" "$(adm --json find "$colons" | jq -r '[.results[] | select(.kind == "cert")][0].show_id')" "find serial with colons ($colons)"
expect_eq "$serial" "$(adm --json find "$dec" | jq -r '[.results[] | select(.kind == "cert")][0].show_id')" "find serial in decimal"
expect_eq "$serial" "$(adm --json find "${serial:4:12}" | jq -r '[.results[] | select(.kind == "cert")][0].show_id')" "find part of a serial"
expect_eq "$serial" "$(adm --json show cert "$colons" | jq -r .certificate.serial)" "show cert takes colons"
expect_eq "$holder" "$(adm --json show cert "$serial" | jq -r .holder.id)" "cert detail links the holder"

# ---- payment reference, void ---------------------------------------------------------------------
/usr/bin/python3 - > "$T/b.json" <<'PY' || fail "second unpaid order"
import json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
W = os.environ["ACME_WEBROOT"]
out = {}
for n in (os.environ["n2"], os.environ["n3"]):
    a = Acme(); assert a.new_account(Key()).status == 201
    o = a.new_order([n])
    for az in o.json()["authorizations"]:
        a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
    der, _ = make_csr([n])
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 403, r
    out[n] = r.json()["instance"].rsplit("/", 1)[1]
print(json.dumps(out))
PY
inv2=$(jq -r --arg n "$n2" '.[$n]' "$T/b.json") inv3=$(jq -r --arg n "$n3" '.[$n]' "$T/b.json")
ref="BANK-$(openssl rand -hex 4)-XFER"
adm --json invoice pay "$inv2" --reference "$ref" --yes > /dev/null || fail "invoice pay"
f=$(adm --json find "${ref:5:8}")
expect_eq payment "$(jq -r '.results[0].kind' <<<"$f")" "find a payment reference"
expect_eq "$inv2" "$(jq -r '.results[0].show_id' <<<"$f")" "the payment opens its invoice"
expect_eq paid "$(adm --json show invoice "$inv2" | jq -r .invoice.status)" "paid invoice"
expect_contains "$(adm invoice pay "$inv2" --reference again --yes 2>&1)" "already paid" "pay on a paid invoice says so"
expect_eq 2 "$(rc adm invoice void "$inv3")" "void needs a reason"
expect_eq 2 "$(rc adm invoice void nosuchinvoice --reason x)" "void of an unknown invoice"
adm --json invoice void "$inv3" --reason "customer went elsewhere" > /dev/null || fail "void"
expect_eq voided "$(adm --json show invoice "$inv3" | jq -r .invoice.status)" "voided"
expect_eq 2 "$(rc adm invoice void "$inv3" --reason again)" "void twice"
expect_eq 2 "$(rc adm invoice void "$inv2" --reason x)" "a paid invoice is not voided"
page=$(curl -s --cacert "$ACME_TRUST" "${pay%/*}/$inv3")
expect_contains "$page" "voided" "the voided invoice's page"
expect_eq 1 "$(adm --json invoices list --status voided | jq length)" "list voided"

# ---- reissue: signed by the running module ------------------------------------------------------
r=$(adm --json reissue "$serial" --reason "key lost") || fail "reissue without the CA key"
expect_eq done "$(jq -r .status <<<"$r")" "the module's workers signed it"
ns=$(jq -r .serial <<<"$r")
[ -n "$ns" ] && [ "$ns" != null ] && [ "$ns" != "$serial" ] || fail "new serial '$ns'"
expect_eq "$ns" "$(adm --json show order "$oid" | jq -r .certificate.serial)" "the order serves the new certificate"
expect_eq 1 "$(db_query "SELECT COUNT(*) FROM reissue_requests WHERE status = 'done' AND actor = 'carol'")" "request recorded"
expect_eq 0 "$(db_query "SELECT COUNT(*) FROM jobs WHERE kind = 'reissue'")" "no job left"
adm revoke "$ns" --reason keyCompromise --yes > /dev/null || fail "revoke by reason name"
expect_contains "$(adm show cert "$ns")" "keyCompromise" "revoked reason shown by name"

# ---- the ledger in order, page by page ------------------------------------------------------------
# 2,000 rows, 100 per second, ids sorting against insertion: the order must be insertion's
db_query "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
 INSERT INTO ledger (id, billing_id, delta, balance_after, kind, actor, reason, created)
 SELECT 'pg' || (100000 - i), 'pagingholder', 1, i, 'credit', 'seed', 'row ' || i,
 1800000000 + i / 100 FROM n" >/dev/null || fail "seeding the ledger"
after="" pages=0
: > "$T/desc.txt"
while [ $pages -lt 10 ]; do
    pages=$((pages + 1))
    adm --json ledger list --holder pagingholder --limit 500 ${after:+--after "$after"} \
        > "$T/page.json" 2> "$T/more.txt" || { fail "ledger page $pages"; break; }
    jq -r '.[].reason' "$T/page.json" >> "$T/desc.txt"
    after=$(sed -n 's/^more: --after //p' "$T/more.txt")
    [ -n "$after" ] || break
done
expect_eq 4 "$pages" "2,000 rows in 4 pages of 500"
seq 2000 -1 1 | sed 's/^/row /' > "$T/want.txt"
cmp -s "$T/want.txt" "$T/desc.txt" || fail "ledger pages not in insertion order (newest first): $(diff "$T/want.txt" "$T/desc.txt" | head -3)"
expect_eq "row 1" "$(adm --json ledger list --holder pagingholder --oldest-first --limit 1 | jq -r '.[0].reason')" "oldest first"
expect_eq 100 "$(adm --json ledger list --holder pagingholder --since '2027-01-15 08:00:05' --until 1800000006 --limit 1000 | jq length)" "date range"
csv=$(adm ledger list --holder pagingholder --limit 2 --csv 2>/dev/null)
expect_eq 3 "$(wc -l <<<"$csv")" "CSV: header and 2 rows"
expect_contains "$(head -1 <<<"$csv")" "id,created,holder,kind,delta" "CSV header"
expect_contains "$(adm ledger list --holder pagingholder --limit 5 2>&1 >/dev/null)" "more: --after" "a table says when there is more"
expect_eq 2 "$(rc adm ledger list --after garbage)" "a bad cursor"
# words most rows hold: the newest (PostgreSQL takes them from the newest rows, not the index)
f=$(adm --json find "${DB}.it.test" --limit 1)
expect_eq "words 1 true" "$(jq -r '"\(.step) \([.results[] | select(.kind == "order")] | length) \(.more | index("order") != null)"' <<<"$f")" "a common text, --limit 1: one order, more of them"
v=$(jq '[.results[] | select(.kind == "order")][0].created' <<<"$f")
[[ "$v" =~ ^[0-9]+$ ]] || fail "the order found has no time ('$v')"
expect_eq "$(adm --json orders list --limit 500 | jq '[.[] | select(.names | test("\\.'"$DB"'\\.it\\.test")) | .created] | max')" "$v" "... the newest order"
# the client changes its contact: find follows (SQLite: the word and trigram tables'
# update triggers; PostgreSQL: search_account's trigger, migration 028)
mail2="new-$(openssl rand -hex 3)@moved.example"
export mail2
as_account <<'PY' || fail "contact update through ACME"
r = a.post(d["kid"], {"contact": ["mailto:" + os.environ["mail2"]]})
assert r.status == 200 and r.json()["contact"] == ["mailto:" + os.environ["mail2"]], r
PY
f=$(adm --json find "${mail2%@*}")
expect_eq "words account" "$(jq -r '"\(.step) \(.results[0].kind)"' <<<"$f")" "the new contact's local part, by words"
expect_eq "any part account" "$(adm --json find "${mail2:5:4}" | jq -r '"\(.step) \([.results[] | select(.kind == "account")][0].kind)"')" "a part of the new contact"
expect_eq 1 "$(rc adm find "${mail%@*}")" "the old contact is found no more"

# ---- a fragment whose trigrams most rows hold: the lookup stops at its budget -----------------
# 200,000 older search rows each hold every trigram of a part of the serial but not the part
# itself, so the trigram index yields all of them and each must be checked (as "7777777"
# does at 10,000,000 certificates). find stops that lookup after ADM_FIND_BUDGET_MS (30 ms),
# answers the certificates from their newest rows and says so; --complete waits.
frag=${serial:4:12}
search_decoys "$frag" 200000 || fail "decoy rows"
f=$(adm --json find "$frag" --timing 2> "$T/timing")
# (on a loaded machine another kind's lookup may stop too: the certificates' must)
expect_eq '"any part" true' "$(jq -c -r '"\"\(.step)\" \(.partial | index("cert") != null)"' <<<"$f")" "the certificates' lookup stopped at its budget"
expect_eq "$serial" "$(jq -r '[.results[] | select(.kind == "cert")][0].show_id' <<<"$f")" "... and the certificate found among the newest"
out=$(adm find "$frag")
expect_contains "$out" "only the newest records of: [" "the table says what was searched"
expect_contains "$(grep 'only the newest' <<<"$out")" '"cert"' "... naming the certificates"
log "with the budget: $(tail -n 1 "$T/timing")"
f=$(adm --json find "$frag" --complete --timing 2> "$T/timing")
log "--complete: $(tail -n 1 "$T/timing")"
expect_eq '[] 1' "$(jq -c -r '"\(.partial) \([.results[] | select(.kind == "cert")] | length)"' <<<"$f")" "--complete: every row checked, the certificate found"
# a list's search: the index stopped at its budget, the list scanned newest first finds the
# same rows (complete: every certificate row was checked)
l=$(adm --json certs list --search "${frag^^}" --timing 2> "$T/timing")
expect_eq "$serial" "$(jq -r '.[0].serial' <<<"$l")" "certs --search: the certificate, through the scan"
expect_contains "$(tail -n 1 "$T/timing")" "search scan" "... the index lookup stopped, the scan answered"
log "certs --search: $(tail -n 1 "$T/timing")"
# the start of the serial starts a word: the word index answers
l=$(adm --json certs list --search "${serial:0:12}" --timing 2> "$T/timing")
expect_eq "$serial" "$(jq -r '.[0].serial' <<<"$l")" "certs --search, a word's start: the certificate"
expect_contains "$(tail -n 1 "$T/timing")" "search words" "... through the word index"
l=$(adm --json certs list --search "$frag" --complete --timing 2> "$T/timing")
expect_eq "$serial" "$(jq -r '.[0].serial' <<<"$l")" "certs --search --complete: the certificate, through the index"
expect_contains "$(tail -n 1 "$T/timing")" "search index" "... --complete waits for the index"
log "certs --search --complete: $(tail -n 1 "$T/timing")"
# a text more than a page of the newest records hold: the probe of the newest 1,000 fills the
# page, so the list is scanned newest first at once (a word prefix every row holds makes the
# word index gather every row first: 159 ms at 10,000,000)
l=$(adm --json orders list --search "it.test" --limit 1 --timing 2> "$T/timing")
expect_eq 1 "$(jq length <<<"$l")" "orders --search a common text --limit 1: one row"
expect_eq "$(adm --json orders list --limit 1 | jq -r '.[0].id')" "$(jq -r '.[0].id' <<<"$l")" "... the newest order"
expect_contains "$(grep '^list:' "$T/timing" | tail -n 1)" "search scan" "... found by the scan, straight after the newest records"
expect_contains "$(cat "$T/timing")" "more: --after" "... and there is more"
# a text no record holds whose trigrams 200,000 search rows hold: the trigram index stops
# at its budget, the newest records held none (no scan): the page is theirs, named partial
gone=$(openssl rand -hex 6)
search_decoys "$gone" 200000 || fail "decoy rows"
l=$(adm --json certs list --search "$gone" --timing 2> "$T/timing")
expect_eq '[]' "$(jq -c . <<<"$l")" "certs --search, a text no record holds: no rows"
expect_contains "$(grep '^list:' "$T/timing" | tail -n 1)" "search newest" "... the index stopped, the newest records answered"
expect_contains "$(cat "$T/timing")" "only the newest records searched" "... and stderr says so"
log "certs --search, stopped: $(grep '^list:' "$T/timing" | tail -n 1)"
l=$(adm --json certs list --search "$gone" --complete --timing 2> "$T/timing")
expect_eq '[]' "$(jq -c . <<<"$l")" "... --complete: no rows either"
expect_contains "$(grep '^list:' "$T/timing" | tail -n 1)" "search index" "... every candidate checked through the index"
expect_eq "" "$(grep 'only the newest' "$T/timing")" "... and not named partial"
finish
