/* PostgreSQL: messages of several statements (acp_sa.h): a transaction's BEGIN with its
 * first statement, writes kept back until the transaction's next message
 * (acp_sa_exec_later), a transaction's last write with its COMMIT (acp_sa_exec_commit).
 * The statements, connections and faults they use are acp_sa.c's (acp_sa_int.h); the
 * reads carried by the statement before them are acp_sa_prefetch.c's. */
#include <string.h>
#include <apr_strings.h>
#include "acp_sa.h"
#include "acp_sa_int.h"

/* ---- PostgreSQL: BEGIN with the first statement --------------------------------------
 * A transaction's BEGIN was a round trip of its own: a wake-up of the server and of the
 * Apache thread for a statement that does nothing (on this kind of machine most of a
 * statement's cost; docs/PERFORMANCE.md). acp_sa_begin only notes it (begin_pending);
 * the first statement then goes as one simple-query message, "BEGIN; EXECUTE label(…)"
 * (the prepared statement, its arguments as escaped literals) or "BEGIN; <sql>", and the
 * server runs both in order, as it would two messages. A transaction that ends before
 * any statement sends nothing. Until that first message nothing has happened on the
 * connection, so a connection found dead there is replaced and the message sent again,
 * as a failed BEGIN was. */

const char *acp_sa_execute_sql(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                               const char *const *args)
{
    apr_array_header_t *out = apr_array_make(p, nargs * 4 + 4, sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(out, const char *) = "EXECUTE ";
    APR_ARRAY_PUSH(out, const char *) = label;
    for (i = 0; i < nargs; i++) {
        APR_ARRAY_PUSH(out, const char *) = i ? ", " : "(";
        if (!args[i]) {
            APR_ARRAY_PUSH(out, const char *) = "NULL";
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) = "'";
        APR_ARRAY_PUSH(out, const char *) = apr_dbd_escape(db->driver, p, args[i], db->handle);
        APR_ARRAY_PUSH(out, const char *) = "'";
    }
    if (nargs > 0) {
        APR_ARRAY_PUSH(out, const char *) = ")";
    }
    return apr_array_pstrcat(p, out, '\0');
}

/* ---- PostgreSQL: writes sent with what follows them ----------------------------------
 * The same saving for a transaction's writes whose results nobody reads (a new row's
 * INSERT): acp_sa_exec_later keeps "EXECUTE label(…)" (db->later) and the next message
 * of the transaction carries it before its own statement: "EXECUTE a(…); EXECUTE
 * b(…); COMMIT". The server runs them in order and stops at the first error, which
 * leaves the transaction aborted: the caller's ROLLBACK follows, as after any failure. */
typedef struct {
    const char *label, *text;
} later_t;

int acp_sa_has_later(const acp_db_t *db)
{
    return db->later && db->later->nelts > 0;
}

/* The next message of the transaction carries more than its own statement */
int acp_sa_held_back(const acp_db_t *db)
{
    return db->begin_pending || acp_sa_has_later(db);
}

void acp_sa_drop_later(acp_db_t *db)
{
    if (acp_sa_has_later(db)) {
        apr_array_clear(db->later);
        apr_pool_clear(db->later_pool);
    }
}

/* What the next message of the transaction starts with: "BEGIN; " when nothing was sent
 * yet, then the waiting writes, each with its "; " */
static const char *tx_prefix(acp_db_t *db, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 2 + (db->later ? db->later->nelts * 2 : 0),
                                             sizeof(const char *));
    int i;

    if (db->begin_pending) {
        APR_ARRAY_PUSH(out, const char *) = "BEGIN; ";
    }
    for (i = 0; db->later && i < db->later->nelts; i++) {
        APR_ARRAY_PUSH(out, const char *) = APR_ARRAY_IDX(db->later, i, later_t).text;
        APR_ARRAY_PUSH(out, const char *) = "; ";
    }
    return apr_array_pstrcat(p, out, '\0');
}

/* After the session was found new (its statements gone): the waiting writes' statements
 * prepared again. 0 when one could not be. */
static int later_prepared(acp_db_t *db)
{
    int i;

    for (i = 0; db->later && i < db->later->nelts; i++) {
        if (!acp_sa_stmt_of(db, APR_ARRAY_IDX(db->later, i, later_t).label)) {
            return 0;
        }
    }
    return 1;
}

/* Sends what the transaction holds back (its pending BEGIN, its waiting writes) with sql
 * (a statement of its own, or with label: the prepared statement on args), for rows
 * (res) or a count (n). Ends both: on failure the transaction is open and aborted, or
 * the connection is gone; either way the caller's ROLLBACK follows. Only while nothing
 * of the transaction had been sent is a lost session or connection met by sending the
 * message again (what had happened was nothing), and never a message with the COMMIT:
 * the server may have committed it before the connection went, and a second time would
 * run its writes twice (a failed COMMIT is reported, as one sent alone is). */
int acp_sa_run_with_prefix(acp_db_t *db, apr_pool_t *p, const char *sql, const char *label,
                           int nargs, const char *const *args, apr_dbd_results_t **res, int *n)
{
    int rv, missed = 0, dummy = 0, first = db->begin_pending && !(sql && !strcmp(sql, "COMMIT"));

    for (;;) {
        const char *text = apr_pstrcat(p, tx_prefix(db, p),
                                       label ? acp_sa_execute_sql(db, p, label, nargs, args) : sql,
                                       NULL);
        rv = res ? apr_dbd_select(db->driver, p, db->handle, res, text, 1)
                 : apr_dbd_query(db->driver, db->handle, n ? n : &dummy, text);
        if (rv == 0 || !first) {
            if (rv != 0) {
                acp_sa_note_failure(db, rv);
            }
            break;
        }
        /* nothing of the transaction has happened: what may be done outside one */
        db->in_tx = 0;
        if (!missed && acp_sa_statement_missing(db)) {
            missed = 1; /* the session lost its statements: prepare again, once */
            (void)apr_dbd_query(db->driver, db->handle, &dummy, "ROLLBACK");
            if ((!label || acp_sa_stmt_of(db, label)) && later_prepared(db)) {
                db->in_tx = 1;
                continue;
            }
        }
        acp_sa_note_failure(db, rv);
        if (acp_sa_reconnected(db) && (!label || acp_sa_stmt_of(db, label)) && later_prepared(db)) {
            db->in_tx = 1;
            continue;
        }
        db->in_tx = 1;
        break;
    }
    db->begin_pending = 0;
    acp_sa_drop_later(db);
    return rv;
}

apr_status_t acp_sa_exec_later(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                               const char *const *args)
{
    later_t *l;

    if (!db->pgsql || !db->in_tx) {
        return acp_sa_exec(db, p, label, NULL, nargs, args);
    }
    db->pf = NULL;
    if (acp_sa_nargs_wrong(db, label, nargs)) {
        return APR_EINVAL;
    }
    if (acp_sa_tx_gone(db) || db->tx_done) {
        return APR_EGENERAL;
    }
    if (!acp_sa_stmt_of(db, label)) { /* prepared now, on this session, if it is not yet */
        return db->unavailable ? APR_EGENERAL : APR_ENOENT;
    }
    if (!db->later) {
        if (apr_pool_create(&db->later_pool, db->pool) != APR_SUCCESS) {
            return APR_ENOMEM;
        }
        db->later = apr_array_make(db->pool, 4, sizeof(later_t));
    }
    l = &APR_ARRAY_PUSH(db->later, later_t);
    l->label = apr_pstrdup(db->later_pool, label);
    l->text = acp_sa_execute_sql(db, db->later_pool, label, nargs, args);
    return APR_SUCCESS;
}

apr_status_t acp_sa_exec_commit(acp_db_t *db, apr_pool_t *p, const char *label, int *nrows,
                                int nargs, const char *const *args)
{
    apr_status_t rv;
    int n = 0, ok;

    if (!db->pgsql || !db->in_tx || db->tx_done || acp_sa_tx_gone(db)) {
        return acp_sa_exec(db, p, label, nrows, nargs, args); /* (refuses after tx_done) */
    }
    db->pf = NULL;
    if (acp_sa_nargs_wrong(db, label, nargs)) {
        return APR_EINVAL;
    }
    if (db->begin_pending && !acp_sa_has_later(db)) {
        /* nothing of the transaction was sent: this statement alone is the transaction
         * (with the usual retries of a statement outside one) */
        db->in_tx = 0;
        db->begin_pending = 0;
        rv = acp_sa_exec(db, p, label, nrows, nargs, args);
        db->in_tx = 1;
        if (rv == APR_SUCCESS) {
            db->tx_done = 1;
            db->committed = 1;
        }
        else {
            db->begin_pending = 1; /* nothing happened: the ROLLBACK sends nothing either */
        }
        return rv;
    }
    if (!acp_sa_stmt_of(db, label)) { /* prepared now, on this session, if it is not yet */
        return db->unavailable ? APR_EGENERAL : APR_ENOENT;
    }
    ok = acp_sa_pg_commit_message(
        db, apr_pstrcat(p, tx_prefix(db, p), acp_sa_execute_sql(db, p, label, nargs, args),
                        "; COMMIT", NULL),
        &n);
    if (ok < 0) { /* nothing sent: the write as usual, its COMMIT from acp_sa_commit */
        return acp_sa_exec(db, p, label, nrows, nargs, args);
    }
    db->begin_pending = 0;
    acp_sa_drop_later(db);
    if (ok != 1) {
        /* a failed COMMIT is reported, never sent again: the server may have committed
         * before the connection went (acp_sa_run_with_prefix) */
        acp_sa_note_failure(db, 1);
        return APR_EGENERAL;
    }
    if (nrows) {
        *nrows = n;
    }
    db->tx_done = 1;
    db->committed = 1;
    return APR_SUCCESS;
}
