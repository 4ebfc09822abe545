#!/bin/bash
# acp-test: db pgsql
# PostgreSQL: test_sa_pg (the storage authority on PostgreSQL) against a database of this
# test. Writes nothing reads back before the commit (acp_sa_exec_later) travel with the
# transaction's next statement or its COMMIT: kept until the COMMIT, dropped by ROLLBACK
# and by ROLLBACK TO a savepoint before them, their failure the commit's (nothing of the
# transaction stays), sent before the next statement (which sees them), at once outside a
# transaction. A transaction's last write with its COMMIT; a read carried by the statement
# before it. finalize's charge (the order locked while ready, the free-reissue look-up,
# the debit) and its record from ready.
# (test_604 sees them ride along in the server's statement log during a real issuance.)
. "$(dirname "$0")/lib.sh"

[ "$DB" = pgsql ] || die "PostgreSQL only (the runner runs it so: '# acp-test: db pgsql')"
db_setup
[ -x "$REPO/out/unit/test_sa_pg" ] || die "out/unit/test_sa_pg not built (make unit)"
for bin in "$REPO/out/unit/test_sa_pg" "$REPO/out/asan/unit/test_sa_pg"; do
    [ -x "$bin" ] || continue
    out=$(ACP_TEST_PG="$ACME_DB_PARAMS" "$bin" 2>&1)
    last=$(tail -n 1 <<<"$out")
    log "${bin#"$REPO"/}: $last"
    [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || fail "${bin#"$REPO"/}: $(grep -a FAIL <<<"$out" | head -5)"
    # the PostgreSQL part ran: its rows are in the test's database
    expect_eq 1 "$(db_query "SELECT COUNT(*) FROM billing WHERE id LIKE 'later-%-9'" | tail -n 1)" "${bin##*/}: the part ran"
    db_query "DELETE FROM billing WHERE id LIKE 'later-%'" > /dev/null
done
finish
