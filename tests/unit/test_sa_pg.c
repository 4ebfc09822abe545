/* Storage authority on PostgreSQL, when ACP_TEST_PG names a database (test_605 runs this
 * so; without it nothing runs): the messages that carry several statements (writes kept
 * back until the next statement or the COMMIT, a transaction's last write with its
 * COMMIT, a read carried by the statement before it) and finalize's statements that
 * exist on PostgreSQL only. */
#include <limits.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_sa.h"
#include "acp_util.h"

/* writes kept back by acp_sa_exec_later go with the transaction's next statement or its
 * COMMIT, their failure fails that, and a ROLLBACK (or ROLLBACK TO a savepoint before
 * them) drops them */
static const char *later_run; /* this run's part of the ids */

static const char *holder_id(apr_pool_t *p, const char *n)
{
    return apr_pstrcat(p, "later-", later_run, "-", n, NULL);
}

static int holder_there(acp_db_t *db, apr_pool_t *p, const char *n)
{
    const char **row = NULL, *id = holder_id(p, n);
    return acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(id)) == APR_SUCCESS && row;
}

static apr_status_t holder_later(acp_db_t *db, apr_pool_t *p, const char *n)
{
    const char *id = holder_id(p, n);
    return acp_sa_exec_later(db, p, "acp_billing_insert",
                             ACP_SA_ARGS(id, "account", "later", "0", "1", NULL, "0"));
}

static void test_pg_prefetch(acp_db_t *db, acp_db_t *db2, apr_pool_t *p);
static void test_pg_finalize(acp_db_t *db, acp_db_t *db2, apr_pool_t *p);
static void test_pg_generic_plan(acp_db_t *db, apr_pool_t *p);
static void test_pg_prefix_indexes(acp_db_t *db, apr_pool_t *p);

/* PostgreSQL: a transaction's last write with its COMMIT (acp_sa_exec_commit) */
static void test_pg_exec_commit(acp_db_t *db, acp_db_t *db2, apr_pool_t *p)
{
    const char *ida = holder_id(p, "ca"), *idb = holder_id(p, "cb");
    int n = -1;

    /* after what the transaction held back, in one message: its count, committed */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "c1") == APR_SUCCESS);
    CHECK(acp_sa_exec_commit(db, p, "acp_billing_insert", &n,
                             ACP_SA_ARGS(ida, "account", NULL, "0", "1", NULL, "0")) ==
          APR_SUCCESS);
    CHECK(n == 1);
    CHECK(holder_there(db2, p, "c1") && holder_there(db2, p, "ca")); /* before acp_sa_commit */
    /* nothing more may be written; the ROLLBACK of a caller has nothing left to undo */
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS(idb, "account", NULL, "0", "1", NULL, "0")) != APR_SUCCESS);
    CHECK(holder_later(db, p, "c2") != APR_SUCCESS);
    CHECK(acp_sa_rollback_to(db, "h") == APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(!holder_there(db2, p, "cb") && !holder_there(db2, p, "c2"));
    /* the only write: alone, its own transaction */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    n = -1;
    CHECK(acp_sa_exec_commit(db, p, "acp_billing_insert", &n,
                             ACP_SA_ARGS(idb, "account", NULL, "0", "1", NULL, "0")) ==
          APR_SUCCESS);
    CHECK(n == 1 && db->tx_done);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "cb"));
    /* its failure (id ca again) is the transaction's: what it held back is gone too, the
     * caller's ROLLBACK ends it, and the connection serves the next one */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "c3") == APR_SUCCESS);
    CHECK(acp_sa_exec_commit(db, p, "acp_billing_insert", NULL,
                             ACP_SA_ARGS(ida, "account", NULL, "0", "1", NULL, "0")) !=
          APR_SUCCESS);
    CHECK(!db->tx_done);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(!holder_there(db2, p, "c3"));
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS(holder_id(p, "c4"), "account", NULL, "0", "1", NULL, "0")) ==
          APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "c4"));
    /* outside a transaction: a plain statement */
    CHECK(acp_sa_exec_commit(db, p, "acp_billing_insert", &n,
                             ACP_SA_ARGS(holder_id(p, "c5"), "account", NULL, "0", "1", NULL,
                                         "0")) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "c5") && !db->tx_done);
}

static void test_pg_later(apr_pool_t *p)
{
    const char *params = getenv("ACP_TEST_PG"), *err = NULL, *id3, *id5, *id1;
    const char **row = NULL;
    acp_db_t *db = NULL, *db2 = NULL;
    apr_pool_t *p1 = NULL, *p2 = NULL;

    if (!params || !*params) {
        return;
    }
    later_run = acp_random_id(p, 6);
    id1 = holder_id(p, "1");
    id3 = holder_id(p, "3");
    id5 = holder_id(p, "5");
    /* a pool each: a connection's pool records its server session (acp_sa.c) */
    apr_pool_create(&p1, p);
    apr_pool_create(&p2, p);
    CHECK(acp_sa_open(p1, "pgsql", params, 1, &db, &err) == APR_SUCCESS);
    CHECK(acp_sa_open(p2, "pgsql", params, 0, &db2, &err) == APR_SUCCESS);
    if (!db || !db2) {
        fprintf(stderr, "open: %s\n", err ? err : "?");
        return;
    }
    /* kept until the COMMIT, which carries it */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "1") == APR_SUCCESS);
    CHECK(db->later && db->later->nelts == 1);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "1"));
    /* dropped by a ROLLBACK, unsent */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "2") == APR_SUCCESS);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(!holder_there(db2, p, "2"));
    /* its failure (a second row with id 1) is the commit's; nothing of the transaction
     * stays, and the connection serves the next one */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS(id3, "account", NULL, "0", "1", NULL, "0")) == APR_SUCCESS);
    CHECK(holder_later(db, p, "1") == APR_SUCCESS);
    CHECK(acp_sa_commit(db) != APR_SUCCESS);
    CHECK(!holder_there(db2, p, "3"));
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "4") == APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "4"));
    /* sent before the transaction's next statement, which sees it; a failure among them
     * is that statement's */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "5") == APR_SUCCESS);
    CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(id5)) == APR_SUCCESS &&
          row && !strcmp(row[2], "later"));
    CHECK(!db->later || db->later->nelts == 0);
    CHECK(holder_later(db, p, "6") == APR_SUCCESS);
    CHECK(holder_later(db, p, "5") == APR_SUCCESS);
    CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(id1)) != APR_SUCCESS);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(!holder_there(db2, p, "5") && !holder_there(db2, p, "6"));
    /* ROLLBACK TO a savepoint drops what was kept after it; what was kept before it went
     * with the SAVEPOINT */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(holder_later(db, p, "7") == APR_SUCCESS);
    CHECK(acp_sa_savepoint(db, "h") == APR_SUCCESS);
    CHECK(holder_later(db, p, "8") == APR_SUCCESS);
    CHECK(acp_sa_rollback_to(db, "h") == APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "7") && !holder_there(db2, p, "8"));
    /* outside a transaction it runs at once */
    CHECK(holder_later(db, p, "9") == APR_SUCCESS);
    CHECK(holder_there(db2, p, "9"));
    test_pg_exec_commit(db, db2, p);
    test_pg_prefetch(db, db2, p);
    test_pg_finalize(db, db2, p);
    test_pg_generic_plan(db, p);
    test_pg_prefix_indexes(db, p);
}

/* PostgreSQL (ACP_TEST_PG): a read noted by acp_sa_prefetch runs with the next statement
 * (outside a transaction) and answers the statement after it if that is the same read;
 * the label changed by another connection in between shows which run answered */
static const char *pf_label(acp_db_t *db, apr_pool_t *p, const char *n)
{
    const char **row = NULL, *id = holder_id(p, n);
    if (acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS || !row) {
        return "(none)";
    }
    return row[2] ? row[2] : "(null)";
}

static void pf_relabel(acp_db_t *db, apr_pool_t *p, const char *n, const char *label)
{
    CHECK(acp_sa_raw_exec(db, apr_psprintf(p, "UPDATE billing SET label = '%s' WHERE id = '%s'",
                                           label, holder_id(p, n))) == APR_SUCCESS);
}

static void pf_note(acp_db_t *db, apr_pool_t *p, const char *n)
{
    const char *id = holder_id(p, n);
    CHECK(acp_sa_prefetch(db, p, "acp_billing_get", ACP_SA_ARGS(id)) == APR_SUCCESS);
    CHECK(db->pf != NULL);
}

static void test_pg_prefetch(acp_db_t *db, acp_db_t *db2, apr_pool_t *p)
{
    const char *idw = holder_id(p, "pw"), *idp = holder_id(p, "p");
    int n = 0;

    CHECK(holder_later(db2, p, "p") == APR_SUCCESS); /* label "later" */
    /* carried by a read: the rows are those of when it ran */
    pf_note(db, p, "p");
    CHECK(strcmp(pf_label(db, p, "1"), "later") == 0); /* the carrier */
    pf_relabel(db2, p, "p", "one");
    CHECK(strcmp(pf_label(db, p, "p"), "later") == 0); /* answered by the noted read */
    CHECK(strcmp(pf_label(db, p, "p"), "one") == 0);   /* once */
    /* carried by a write, which ran (its count) */
    pf_note(db, p, "p");
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", &n,
                      ACP_SA_ARGS(idw, "account", "w", "0", "1", NULL, "0")) == APR_SUCCESS);
    CHECK(n == 1);
    CHECK(holder_there(db2, p, "pw"));
    pf_relabel(db2, p, "p", "two");
    CHECK(strcmp(pf_label(db, p, "p"), "one") == 0);
    /* another statement between: the noted rows are dropped */
    pf_note(db, p, "p");
    CHECK(strcmp(pf_label(db, p, "1"), "later") == 0);
    pf_relabel(db2, p, "p", "three");
    CHECK(strcmp(pf_label(db, p, "1"), "later") == 0);
    CHECK(strcmp(pf_label(db, p, "p"), "three") == 0);
    /* a carrier that fails fails as it would alone; nothing of it stays, no rows kept */
    pf_note(db, p, "p");
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", &n,
                      ACP_SA_ARGS(idp, "account", "dup", "0", "1", NULL, "0")) != APR_SUCCESS);
    CHECK(db->pf == NULL);
    pf_relabel(db2, p, "p", "four");
    CHECK(strcmp(pf_label(db, p, "p"), "four") == 0);
    /* a transaction begun in between (nothing sent yet) may take the rows; BEGIN then goes
     * with the transaction's first statement */
    pf_note(db, p, "p");
    CHECK(strcmp(pf_label(db, p, "1"), "later") == 0);
    pf_relabel(db2, p, "p", "five");
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(strcmp(pf_label(db, p, "p"), "four") == 0);
    CHECK(db->begin_pending);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS(holder_id(p, "pt"), "account", "t", "0", "1", NULL, "0")) ==
          APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(holder_there(db2, p, "pt"));
    /* the arguments travel as escaped literals: a quote in one is data */
    {
        const char *odd = holder_id(p, "q'); DELETE FROM billing; --"), **row = NULL;
        CHECK(acp_sa_prefetch(db, p, "acp_billing_get", ACP_SA_ARGS(odd)) == APR_SUCCESS);
        CHECK(strcmp(pf_label(db, p, "1"), "later") == 0);
        CHECK(db->pf != NULL); /* the read ran too: its (no) rows kept */
        CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(odd)) == APR_SUCCESS);
        CHECK(row == NULL);
        CHECK(holder_there(db2, p, "p"));
    }
    /* inside a transaction nothing is noted */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_prefetch(db, p, "acp_billing_get", ACP_SA_ARGS(idp)) == APR_SUCCESS);
    CHECK(db->pf == NULL);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
}


/* finalize's charge (acp_billing_charge_ready) and record from ready
 * (acp_cert_issued_ready): an order of holder "f" (balance 150) for names names_key */
static const char *fin_order(acp_db_t *db, apr_pool_t *p, const char *n, const char *status,
                             const char *names_key, const char *profile)
{
    const char *id = holder_id(p, n), *now = acp_sa_ll(p, acp_now());
    CHECK(acp_sa_exec(db, p, "acp_order_insert", NULL,
                      ACP_SA_ARGS(id, "acct", status, acp_sa_ll(p, acp_now() + 3600), "[]",
                                  names_key, NULL, NULL, now, now, profile)) == APR_SUCCESS);
    return id;
}

/* the charge's one row: orders locked, reissued id and notAfter, balance and currency */
static const char **fin_charge(acp_db_t *db, apr_pool_t *p, const char *order_id,
                               const char *names_key, long long from, const char *profile)
{
    const char **row = NULL, *holder = holder_id(p, "f"), *now = acp_sa_ll(p, acp_now());
    if (acp_sa_row(db, p, "acp_billing_charge_ready", &row,
                   ACP_SA_ARGS(order_id, holder, names_key, acp_sa_ll(p, from), now, profile,
                               profile, "100", "CNY", holder, "CNY", "100",
                               acp_random_id(p, 12), "-100", order_id, now, now, order_id)) !=
        APR_SUCCESS) {
        return NULL;
    }
    CHECK(row != NULL); /* always one row */
    return row;
}

static long long fin_balance(acp_db_t *db, apr_pool_t *p)
{
    const char **row = NULL;
    CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(holder_id(p, "f"))) ==
          APR_SUCCESS && row);
    return row ? acp_sa_atoll(row[3]) : -1;
}

static apr_status_t fin_record(acp_db_t *db, apr_pool_t *p, const char *order_id,
                               const char *cert_id, const char *names_key, int *n)
{
    const char *now = acp_sa_ll(p, acp_now()), *na = acp_sa_ll(p, acp_now() + 86400);
    return acp_sa_exec_commit(
        db, p, "acp_cert_issued_ready", n,
        ACP_SA_ARGS(cert_id, now, "Y3Ny", "100", "100", NULL, na, order_id, cert_id,
                    acp_random_id(p, 16), order_id, "acct", holder_id(p, "f"), names_key,
                    "PEM", now, na, now, "aki", "0"));
}

static void test_pg_finalize(acp_db_t *db, acp_db_t *db2, apr_pool_t *p)
{
    const char *keys = apr_pstrcat(p, later_run, ".fin.test", NULL), **row, *o1, *o2, *c1, *o;
    long long now = acp_now(), window = now - 30 * 86400;
    int n = -1;

    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS(holder_id(p, "f"), "account", "fin", "150", "1", "CNY",
                                  "0")) == APR_SUCCESS);
    /* a ready order: locked, nothing to reissue, debited; then recorded from ready with
     * what processing would have stored, in the COMMIT's message */
    o1 = fin_order(db, p, "o1", "ready", keys, NULL);
    c1 = holder_id(p, "c1");
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    row = fin_charge(db, p, o1, keys, window, NULL);
    CHECK(row && !strcmp(row[0], "1") && !row[1] && row[3] && !strcmp(row[3], "50") &&
          row[4] && !strcmp(row[4], "CNY"));
    CHECK(fin_record(db, p, o1, c1, keys, &n) == APR_SUCCESS && n == 1);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(fin_balance(db2, p) == 50);
    CHECK(acp_sa_row(db2, p, "acp_order_get", &row, ACP_SA_ARGS(o1)) == APR_SUCCESS && row);
    CHECK(row && !strcmp(row[2], "valid") && row[9] && !strcmp(row[9], "Y3Ny") && row[10] &&
          !strcmp(row[10], c1) && !strcmp(row[11], "100"));
    CHECK(acp_sa_row(db2, p, "acp_ledger_order", &row, ACP_SA_ARGS(o1)) == APR_SUCCESS && row &&
          !strcmp(row[0], "debit") && !strcmp(row[1], "-100"));
    /* charged once: the ledger's (order, kind) index refuses a second debit of the order,
     * even when it is made ready again */
    CHECK(acp_sa_raw_exec(db, apr_psprintf(p, "UPDATE orders SET status = 'ready' WHERE id = '%s'",
                                           o1)) == APR_SUCCESS);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_row(db, p, "acp_billing_add_ret", &row,
                     ACP_SA_ARGS("100", "CNY", holder_id(p, "f"), "CNY")) == APR_SUCCESS && row);
    CHECK(fin_charge(db, p, o1, apr_pstrcat(p, "other.", keys, NULL), window, NULL) == NULL);
    CHECK(strstr(acp_sa_error(db, p, 1), "duplicate key") != NULL);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(fin_balance(db2, p) == 50);
    /* the same names again within the window: the certificate to reissue, no debit */
    o2 = fin_order(db, p, "o2", "ready", keys, NULL);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    row = fin_charge(db, p, o2, keys, window, NULL);
    CHECK(row && !strcmp(row[0], "1") && row[1] && !strcmp(row[1], c1) && row[2] && !row[3]);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    /* ... not when the window is off, nor under another profile: then the debit, here
     * short (50 left): no row of its own, nothing written */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    row = fin_charge(db, p, o2, keys, LLONG_MAX, NULL);
    CHECK(row && !strcmp(row[0], "1") && !row[1] && !row[3]);
    row = fin_charge(db, p, o2, keys, window, "gold");
    CHECK(row && !strcmp(row[0], "1") && !row[1] && !row[3]);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(fin_balance(db2, p) == 50);
    CHECK(acp_sa_row(db2, p, "acp_ledger_order", &row, ACP_SA_ARGS(o2)) == APR_SUCCESS && !row);
    /* an order that is not ready: not locked, nothing looked up or debited, and the record
     * from ready refuses it (the whole transaction with it) */
    o = fin_order(db, p, "o3", "pending", apr_pstrcat(p, "third.", keys, NULL), NULL);
    CHECK(acp_sa_row(db, p, "acp_billing_add_ret", &row,
                     ACP_SA_ARGS("100", "CNY", holder_id(p, "f"), "CNY")) == APR_SUCCESS && row);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    row = fin_charge(db, p, o, keys, window, NULL);
    CHECK(row && !strcmp(row[0], "0") && !row[1] && !row[3]);
    CHECK(fin_record(db, p, o, holder_id(p, "c3"), keys, &n) != APR_SUCCESS);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    /* and the record from processing (acp_cert_issued) refuses an order not processing */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_row(db, p, "acp_billing_add_ret", &row,
                     ACP_SA_ARGS("1", "CNY", holder_id(p, "f"), "CNY")) == APR_SUCCESS && row);
    CHECK(acp_sa_exec_commit(db, p, "acp_cert_issued", &n,
                             ACP_SA_ARGS(holder_id(p, "c3"), "1", o, holder_id(p, "c3"),
                                         acp_random_id(p, 16), o, "acct", holder_id(p, "f"), keys,
                                         "PEM", "1", "2", "1", "aki", "0")) != APR_SUCCESS);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(fin_balance(db2, p) == 150);
    CHECK(acp_sa_row(db2, p, "acp_cert_get", &row, ACP_SA_ARGS(holder_id(p, "c3"))) ==
          APR_SUCCESS && !row);
}

/* How many executions of the session's prepared statement `label` used its generic plan
 * (PostgreSQL's pg_prepared_statements); -1 when it cannot be read. */
static long long generic_plans(acp_db_t *db, apr_pool_t *p, const char *label)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v;
    long long n = -1;

    if (apr_dbd_select(db->driver, p, db->handle, &res,
                       apr_psprintf(p, "SELECT generic_plans FROM pg_prepared_statements "
                                       "WHERE name = '%s'", label), 0) != 0) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        v = apr_dbd_get_entry(db->driver, row, 0);
        n = v ? atoll(v) : -1;
    }
    return n;
}

/* newOrder's first read settles on one plan: after PostgreSQL's five plans made for the
 * values of the first executions, the generic plan is kept (no planning per newOrder) */
static void test_pg_generic_plan(acp_db_t *db, apr_pool_t *p)
{
    const char *acct = apr_pstrcat(p, "acct-plan-", later_run, NULL), **counts = NULL;
    apr_array_header_t *reuse = NULL;
    int i, ok = 1;

    for (i = 0; i < 8; i++) {
        const char *const args[] = {acct, "0", acct, "0", acct, "0", "5",
                                    "a.example *.b.example", acct, "0"};
        ok &= acp_sa_new_order_read(db, p, 10, args, 2, &counts, &reuse) == APR_SUCCESS &&
              counts && reuse && reuse->nelts == 2 && !strcmp(counts[0], "0") &&
              !APR_ARRAY_IDX(reuse, 0, void *) && !APR_ARRAY_IDX(reuse, 1, void *);
    }
    CHECK(ok);
    CHECK(generic_plans(db, p, "acp_new_order_read") >= 2);
}

/* No plain B-tree index is the leading columns of another on its table (each row written
 * pays for every index; the longer one serves the shorter one's queries): pairs listed */
static void test_pg_prefix_indexes(acp_db_t *db, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int n = 0;

    CHECK(apr_dbd_select(
              db->driver, p, db->handle, &res,
              "SELECT a.indexrelid::regclass || ' < ' || b.indexrelid::regclass "
              "FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid "
              "AND a.indexrelid <> b.indexrelid JOIN pg_class ia ON ia.oid = a.indexrelid "
              "JOIN pg_class ib ON ib.oid = b.indexrelid JOIN pg_am am ON am.oid = ia.relam "
              "WHERE am.amname = 'btree' AND ib.relam = ia.relam AND NOT a.indisunique "
              "AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL "
              "AND b.indexprs IS NULL AND a.indnatts < b.indnatts "
              "AND ia.relnamespace = current_schema()::regnamespace "
              "AND array_to_string((b.indkey::int2[])[0:a.indnatts - 1], ',') = "
              "array_to_string(a.indkey::int2[], ',')",
              0) == 0);
    while (res && apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        printf("redundant index: %s\n", apr_dbd_get_entry(db->driver, row, 0));
        n++;
    }
    CHECK(res && n == 0);
}

static void run_tests(apr_pool_t *p)
{
    test_pg_later(p);
}
