#!/bin/bash
# acp-test: db pgsql
# PostgreSQL: a transaction's BEGIN travels with its first statement, in one message
# ("BEGIN; EXECUTE acp_…(…)"), never as a round trip of its own; a transaction that ends
# before any statement sends nothing. Seen in the server's own statement log while a
# client issues a certificate (newAccount, newOrder, the challenge and finalize each write
# in a transaction) and while the staff tool runs a money action and a time-bounded search.
# And an order becomes ready in the statement that validates its last authorization, so
# finalize has no status of its own to write (no acp_order_status in the log); finalize
# reads its order once, before its transaction (no acp_order_get in the client's part),
# and with it each name's oldest valid challenge (its CAA recheck reads nothing more).
# New rows nothing reads back before the commit travel with the transaction's next
# statement or its COMMIT (the holder's and the account's, the order's, its
# authorizations'); a transaction's last write goes with its COMMIT (the certificate's
# record), and a challenge answer's only write is sent alone (its own transaction).
# A validation reads nothing: its job carries what the answer read.
# finalize's charge (paid here from the welcome credit) is one statement with its
# free-reissue look-up, the order locked while ready, so that the certificate's record
# moves it from ready to valid (no processing) with the COMMIT: three messages in all.
. "$(dirname "$0")/lib.sh"

[ "$DB" = pgsql ] || die "PostgreSQL only (the runner runs it so: '# acp-test: db pgsql')"
acme_setup --directive "AcmePayPrice 100" --directive "AcmePayFreeBalance 100"
dbname=$(sed -n 's/.*dbname=\([^ ]*\).*/\1/p' <<<"$ACME_DB_PARAMS")
pglog=$(dirname "$ACME_PG_SOCKDIR")/pg.log
[ -f "$pglog" ] || die "no PostgreSQL log at $pglog"
# every statement of this database logged from the next session on; Apache starts again,
# so that its connections are such sessions
pg_super "ALTER DATABASE \"$dbname\" SET log_statement = 'all'" || die "log_statement"
apache_stop "$T/httpd"
apache_resume "$T/httpd" || die "Apache did not start again"
from=$(($(wc -l < "$pglog") + 1))

name=$(unique_name begin)
export name IT_DIR
/usr/bin/python3 - <<'PY' || fail "a certificate through the module"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme
a = Acme()
r = a.new_account(None, {"termsOfServiceAgreed": True})
assert r.status == 201, r
_, pem = a.issue([os.environ["name"]], os.environ["ACME_WEBROOT"])
assert "BEGIN CERTIFICATE" in pem, pem
# the same name again: its valid authorization is reused, the order is ready at once
r = a.new_order([os.environ["name"]])
assert r.status == 201 and r.json()["status"] == "ready", r
# two names: the order is ready once the second authorization is valid, not before
from acme_client import db_sql
o = a.new_order(["one-" + os.environ["name"], "two-" + os.environ["name"]])
assert o.status == 201, o
oid = o.header("Location").rsplit("/", 1)[1]
azs = o.json()["authorizations"]
seen = []
for az in azs:
    _, r = a.answer_http01(az, os.environ["ACME_WEBROOT"])
    assert r.status == 200, r
    assert a.poll(az).json()["status"] == "valid"
    seen.append(db_sql("SELECT status FROM orders WHERE id = '%s'" % oid))
assert seen == ["pending", "ready"], seen
PY
sleep 1 # the server writes its log asynchronously
client_end=$(wc -l < "$pglog")
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --actor dora)
holder=$("${ADM[@]}" --json holders list | jq -r '.[0].id')
"${ADM[@]}" credit "$holder" 5.00 --reason "round trips" --yes > /dev/null || fail "staff credit"
"${ADM[@]}" --json find "${name:3:9}" --all > /dev/null || fail "find"
sleep 1 # the server writes its log asynchronously

# (only this database logs its statements: "statement: …" lines are ours)
# one line per logged message: a statement's text may hold newlines (a certificate's PEM)
joined() { awk '/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (l != "") print l; l = $0; next }
                { l = l "\\n" $0 } END { if (l != "") print l }'; }
ours=$(tail -n +"$from" "$pglog" | joined | grep -a 'LOG:  statement: ' || true)
alone=$(grep -ac 'statement: BEGIN$' <<<"$ours" || true)
with=$(grep -ac 'statement: BEGIN; EXECUTE acp_' <<<"$ours" || true)
bounded=$(grep -ac 'statement: BEGIN; SET LOCAL statement_timeout' <<<"$ours" || true)
log "BEGIN alone: $alone, with the first statement: $with, with a search's time budget: $bounded"
expect_eq 0 "$alone" "no BEGIN sent as a message of its own"
[ "$with" -ge 4 ] || fail "BEGIN with the first statement: $with (newAccount, newOrder, challenge, finalize: 4 at least)"
[ "$bounded" -ge 1 ] || fail "find's bounded lookups: BEGIN with SET LOCAL ($bounded)"
# the orders were ready before finalize: no status write of their own
expect_eq 0 "$(tail -n +"$from" "$pglog" | grep -ac 'execute acp_order_status:' || true)" \
    "acp_order_status statements (orders made ready with their last authorization)"
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -ac 'execute acp_order_get:' || true)" \
    "acp_order_get statements in the client's part (finalize's order read once, with its authorizations)"
# the messages the client's part cost (each a round trip: simple-query statements and
# EXECUTEs of prepared statements; preparations of a new connection included)
log "messages while the client worked: $(sed -n "${from},${client_end}p" "$pglog" | grep -acE 'LOG:  (statement|execute [^:]*): ' || true)"
# writes nothing reads back travel with what follows them: the new account's row with
# the COMMIT, the new order's with the next statement, its authorizations' with the COMMIT
# (acp_sa_exec_later); none of them is a round trip of its own
client=$(sed -n "${from},${client_end}p" "$pglog" | joined | grep -a 'LOG:  statement: ' || true)
# messages of the client's part that match the extended regex $2: exactly $1, or at least
# N for $1 = +N; else a failure $3 that quotes the messages naming $4
messages() {
    local n
    n=$(grep -acE "$2" <<<"$client" || true)
    if [[ $1 == +* ]]; then [ "$n" -ge "${1#+}" ]; else [ "$n" -eq "$1" ]; fi ||
        fail "$3 ($n): $(grep -a "$4" <<<"$client" | head -2 | cut -c1-300)"
}
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -acE 'execute acp_(acct_insert|order_insert|authz_new[123]):' || true)" \
    "new accounts, orders and authorizations sent as statements of their own"
# newAccount's transaction is one message: its holder, its account, the COMMIT
messages +1 'statement: BEGIN; EXECUTE acp_(billing_insert|welcome_holder)\(.*\); EXECUTE acp_acct_insert\(.*\); COMMIT$' \
    "the new account's holder and row with the COMMIT" 'acp_acct_insert'
# a transaction's last write goes with its COMMIT (acp_sa_exec_commit): the certificate's
# record; a challenge's answer, the only write of its transaction, is sent alone
messages +1 'statement: (BEGIN; )?(EXECUTE acp_[a-z_]+\(.*\); )*EXECUTE acp_cert_issued(_ready)?\(.*\); COMMIT$' \
    "the certificate's record with the COMMIT" 'acp_cert_issued'
# finalize: the charge with its reissue look-up and the order's lock, then the record
# that moves the order from ready to valid with the COMMIT; no look-up or debit of its
# own, and no processing (a row version of the order fewer)
messages 1 'statement: BEGIN; EXECUTE acp_billing_charge_ready\(' \
    "finalize's charge with the BEGIN" 'acp_billing_charge'
messages 1 'statement: EXECUTE acp_cert_issued_ready\(.*\); COMMIT$' \
    "the certificate's record from ready with the COMMIT" 'acp_cert_issued'
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -acE 'acp_cert_reissue_match|acp_billing_debit_ret|acp_order_processing' || true)" \
    "finalize's look-up, debit or processing"
[ "$(db_query "SELECT csr IS NOT NULL AND price = 100 AND charged = 100 AND status = 'valid' FROM orders WHERE cert_id IS NOT NULL")" = t ] ||
    fail "the issued order's csr, price and charge stored with the record: $(db_query "SELECT status, price, charged, csr IS NOT NULL FROM orders WHERE cert_id IS NOT NULL")"
expect_eq 100 "$(db_query "SELECT -delta FROM ledger WHERE billing_id = '$holder' AND kind = 'debit'")" \
    "the certificate's debit"
# the validations run on this process's workers with the challenge, authorization and
# key the answer read (the job carries them): no read of their own
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -ac 'execute acp_chall_authz:' || true)" \
    "validations reading their challenge again"
expect_eq 3 "$(sed -n "${from},${client_end}p" "$pglog" | grep -ac 'execute acp_validation_valid:' || true)" \
    "validations recorded (three challenges)"
expect_eq 0 "$(grep -ac 'acp_chall_respond(' <<<"$client" || true)" "challenge answers inside a BEGIN … COMMIT"
expect_eq 3 "$(sed -n "${from},${client_end}p" "$pglog" | grep -ac 'execute acp_chall_respond:' || true)" \
    "challenge answers sent alone (three challenges)"
messages +2 'statement: (BEGIN; )?EXECUTE acp_order_insert\(.*\); EXECUTE acp_' \
    "the new orders' rows with the next statement" 'acp_order_insert'
# newOrder's transaction is one message: it reads nothing (its first read, the limits'
# counts with each name's authorization to reuse, came with the nonce's spend), so the
# order, its authorizations and the COMMIT go together, whatever the number of names
messages +1 'statement: BEGIN; EXECUTE acp_order_insert\(.*\); EXECUTE acp_authz_new3\(.*\); COMMIT$' \
    "the one-name order with its authorization and the COMMIT" 'acp_order_insert'
messages 1 'statement: BEGIN; EXECUTE acp_order_insert\(.*\); EXECUTE acp_authz_new3\(.*\); EXECUTE acp_authz_new3\(.*\); COMMIT$' \
    "the two-name order with its authorizations and the COMMIT" 'acp_order_insert'
messages 1 'statement: BEGIN; EXECUTE acp_order_insert\(.*\); EXECUTE acp_order_authz_insert\(.*\); EXECUTE acp_order_status\(.*\); COMMIT$' \
    "the order that reuses an authorization, ready with the COMMIT" 'acp_order_authz_insert'
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -acE 'acp_authz_reuse|acp_limit_new_order' || true)" \
    "newOrder's reads of its own (limits, an authorization to reuse)"
# a request's first read travels with its nonce spend (and account read) in one message,
# each in a transaction of its own (acp_sa_prefetch): newAccount's look-up of the key, the
# authorizations' and orders' reads, the challenge's, the certificate's
carried=$(grep -acE 'statement: BEGIN; EXECUTE acp_(acct|nonce)_spend\(.*\); COMMIT; EXECUTE acp_[a-z_]+\(' <<<"$client" || true)
log "reads carried by the nonce spend: $carried"
# newOrder's first read among them (no EAB key has limits of its own here); and
# finalize's CAA recheck finds each name's validation in the order's read (no read of an
# authorization's challenges)
messages 3 'statement: BEGIN; EXECUTE acp_acct_spend\(.*\); COMMIT; EXECUTE acp_new_order_read\(' \
    "newOrder's first read carried by the nonce spend" 'acp_new_order_read'
expect_eq 0 "$(sed -n "${from},${client_end}p" "$pglog" | grep -ac 'acp_chall_by_authz' || true)" \
    "reads of an authorization's challenges in the client's part"
[ "$carried" -ge 6 ] || fail "reads carried by the nonce spend: $carried (6 at least)"
# every transaction begun ended (a lookup stopped at its budget rolls back), counted per
# statement: a message may hold more than one transaction
expect_eq "$(grep -aoE '(statement: |; )(COMMIT|ROLLBACK)(;|$)' <<<"$ours" | wc -l)" \
    "$(grep -aoE '(statement: |; )BEGIN(;|$)' <<<"$ours" | wc -l)" "every transaction begun was ended"
# the money moved as one transaction: the credit's ledger row and the balance agree
expect_eq "$("${ADM[@]}" --json ledger list --holder "$holder" | jq -r '.[0].balance_after')" \
    "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "the credit's ledger row and the balance"
finish
