/* PostgreSQL: a read that travels with the statement before it.
 *
 * A POST-as-GET spends its nonce and reads its account in one statement (acp_acct_spend),
 * then reads what it asks for: its authorization, order or certificate. newAccount spends
 * its nonce, then looks for the key's account. The second statement's arguments are known
 * before the first is sent (the URL names the resource, the JWS the key), and each round
 * trip is two wake-ups and a TCP exchange (docs/PERFORMANCE.md). acp_sa_prefetch notes
 * such a read; the next statement, when it runs outside a transaction, goes with it in
 * one simple-query message (one round trip, one packet each way; each statement in a
 * transaction of its own as before, the prepared statements as they are), and the read's
 * rows are kept for the statement after it:
 *  - they answer only the very next statement of the handle, and only when that is the
 *    same read with the same arguments; anything else drops them. So nothing this request
 *    does comes between the read and its use: taking it a moment earlier is the same as
 *    the request having come a moment earlier (every statement reads what was committed
 *    when it started; a transaction begun in between had sent nothing yet).
 *  - when the statement fails in the message (or the connection goes before its end is
 *    known) it runs again on its own, as it did before, with its retries; a failed
 *    statement changed nothing. When only the read fails, nothing is kept.
 * libpq's functions are looked up in the library the pgsql driver loaded; without them
 * nothing is carried. SQLite has no round trips: nothing here.
 * The same libpq functions read acp_sa_exec_commit's message (a transaction's last write
 * with its COMMIT), whose write's count is the result before the COMMIT's. */
#include <pthread.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include "acp_sa.h"

/* libpq's values (libpq-fe.h; stable since they were added) */
#define PG_CONNECTION_OK 0
#define PG_TRANS_IDLE 0
#define PG_COMMAND_OK 1
#define PG_TUPLES_OK 2

typedef struct {
    int (*status)(const void *conn);
    int (*tx_status)(const void *conn);
    int (*send)(void *conn, const char *query);
    void *(*get)(void *conn);
    int (*res_status)(const void *res);
    int (*ntuples)(const void *res);
    int (*nfields)(const void *res);
    char *(*value)(const void *res, int row, int col);
    int (*isnull)(const void *res, int row, int col);
    char *(*cmd_tuples)(void *res);
    char *(*cmd_status)(void *res);
    void (*clear)(void *res);
} pq_t;

static pq_t pq_fns;
static int pq_there;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

/* once per process, on the first PostgreSQL prefetch (libpq is loaded by then) */
static void pq_load(void)
{
    static const char *const names[] = {
        "PQstatus",   "PQtransactionStatus", "PQsendQuery", "PQgetResult",
        "PQresultStatus", "PQntuples",       "PQnfields",   "PQgetvalue",
        "PQgetisnull", "PQcmdTuples",        "PQcmdStatus", "PQclear"};
    void *sym[sizeof(names) / sizeof(names[0])];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *none = NULL; /* looked up here once: no cache of its own */
        if (!(sym[i] = acp_sa_driver_symbol(&none, names[i]))) {
            return;
        }
    }
    pq_fns.status = (int (*)(const void *))sym[0];
    pq_fns.tx_status = (int (*)(const void *))sym[1];
    pq_fns.send = (int (*)(void *, const char *))sym[2];
    pq_fns.get = (void *(*)(void *))sym[3];
    pq_fns.res_status = (int (*)(const void *))sym[4];
    pq_fns.ntuples = (int (*)(const void *))sym[5];
    pq_fns.nfields = (int (*)(const void *))sym[6];
    pq_fns.value = (char *(*)(const void *, int, int))sym[7];
    pq_fns.isnull = (int (*)(const void *, int, int))sym[8];
    pq_fns.cmd_tuples = (char *(*)(void *))sym[9];
    pq_fns.cmd_status = (char *(*)(void *))sym[10];
    pq_fns.clear = (void (*)(void *))sym[11];
    pq_there = 1;
}

/* libpq's functions, NULL when the loaded libpq lacks one */
static const pq_t *pq(void)
{
    pthread_once(&pq_once, pq_load);
    return pq_there ? &pq_fns : NULL;
}

struct acp_sa_pf_t {
    apr_pool_t *pool; /* the request's: holds the read's arguments and rows */
    const char *label;
    int nargs;
    const char **args;
    apr_array_header_t *rows; /* NULL: not sent yet */
};

apr_status_t acp_sa_prefetch(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                             const char *const *args)
{
    acp_sa_pf_t *pf;
    int i;

    db->pf = NULL;
    if (!db->pgsql || db->in_tx || !pq() || acp_sa_stmt_nargs(1, label) != nargs) {
        return APR_SUCCESS; /* nothing to save: the read runs when it is asked for */
    }
    pf = apr_pcalloc(p, sizeof(*pf));
    pf->pool = p;
    pf->label = apr_pstrdup(p, label);
    pf->nargs = nargs;
    pf->args = apr_pcalloc(p, sizeof(char *) * (size_t)(nargs + 1));
    for (i = 0; i < nargs; i++) {
        pf->args[i] = args[i] ? apr_pstrdup(p, args[i]) : NULL;
    }
    db->pf = pf;
    return APR_SUCCESS;
}

static int same_read(const acp_sa_pf_t *pf, const char *label, int nargs,
                     const char *const *args)
{
    int i;

    if (strcmp(pf->label, label) != 0 || pf->nargs != nargs) {
        return 0;
    }
    for (i = 0; i < nargs; i++) {
        if (!pf->args[i] != !args[i] || (args[i] && strcmp(pf->args[i], args[i]) != 0)) {
            return 0;
        }
    }
    return 1;
}

/* a result's rows as acp_sa_rows gives them (NULL for SQL NULL), in p */
static apr_array_header_t *rows_of(const pq_t *f, apr_pool_t *p, void *res)
{
    int n = f->ntuples(res), cols = f->nfields(res), i, j;
    apr_array_header_t *out = apr_array_make(p, n > 0 ? n : 1, sizeof(const char **));

    for (i = 0; i < n; i++) {
        const char **r = apr_pcalloc(p, sizeof(char *) * (size_t)(cols + 1));
        for (j = 0; j < cols; j++) {
            r[j] = f->isnull(res, i, j) ? NULL : apr_pstrdup(p, f->value(res, i, j));
        }
        APR_ARRAY_PUSH(out, const char **) = r;
    }
    return out;
}

/* label(args) and the noted read in one message, "BEGIN; EXECUTE label(…); COMMIT;
 * EXECUTE read(…)": one round trip, each in a transaction of its own (the statement
 * commits as it would alone, and a read that pruned a page (WAL) never makes the spend's
 * commit wait for a flush), and one packet each way: the server sends the four results
 * together when the message is done. 1 when label ran and committed: its rows in *rows
 * (a read) or its count in *nrows (a write), and the read's rows in pf->rows when it ran
 * too; 0 when label did not run or its end is unknown (the caller runs it on its own, as
 * always: a failed statement changed nothing) */
static int carry(acp_db_t *db, apr_pool_t *p, acp_sa_pf_t *pf, const char *label, int nargs,
                 const char *const *args, apr_array_header_t **rows, int *nrows)
{
    const pq_t *f = pq();
    void *conn = apr_dbd_native_handle(db->driver, db->handle), *res;
    int idx, ran = 0, committed = 0, read = 0, dummy;
    const char *text;

    if (!conn || f->status(conn) != PG_CONNECTION_OK || f->tx_status(conn) != PG_TRANS_IDLE ||
        acp_sa_prepared(db, label) != APR_SUCCESS ||
        acp_sa_prepared(db, pf->label) != APR_SUCCESS) {
        return 0;
    }
    text = apr_pstrcat(p, "BEGIN; ", acp_sa_execute_sql(db, p, label, nargs, args), "; COMMIT; ",
                       acp_sa_execute_sql(db, p, pf->label, pf->nargs,
                                          (const char *const *)pf->args),
                       NULL);
    if (!f->send(conn, text)) {
        return 0;
    }
    /* BEGIN, the statement, COMMIT, the read; the server stops at the first error. Read to
     * the end (NULL); bounded: a lost connection answers NULL */
    for (idx = 0; idx < 16 && (res = f->get(conn)); idx++) {
        int st = f->res_status(res);
        int ok = st == PG_TUPLES_OK || st == PG_COMMAND_OK;

        if (idx == 1 && ok) {
            ran = 1;
            if (rows) {
                *rows = rows_of(f, p, res);
            }
            else if (nrows) {
                *nrows = (int)acp_sa_atoll(f->cmd_tuples(res));
            }
        }
        else if (idx == 2 && ok && ran) {
            const char *tag = f->cmd_status(res);
            committed = tag && strcmp(tag, "COMMIT") == 0;
        }
        else if (idx == 3 && ok && committed) {
            read = 1;
            pf->rows = rows_of(f, pf->pool, res);
        }
        f->clear(res);
    }
    if (f->tx_status(conn) != PG_TRANS_IDLE) {
        /* the statement failed inside the BEGIN: the transaction is open and aborted */
        (void)apr_dbd_query(db->driver, db->handle, &dummy, "ROLLBACK");
    }
    if (!read) {
        pf->rows = NULL;
    }
    return ran && committed;
}

/* acp_sa_exec_commit's message: what the transaction held back, the write, "COMMIT".
 * 1 when every statement ran and the COMMIT committed (*nrows: the write's count, the
 * result before the COMMIT's); 0 when not, or when that is unknown (the connection
 * went): the transaction is then aborted or gone, and the caller's ROLLBACK follows;
 * -1 when nothing was sent (no libpq functions, or the connection is not up). */
int acp_sa_pg_commit_message(acp_db_t *db, const char *text, int *nrows)
{
    const pq_t *f = pq();
    void *conn = f ? apr_dbd_native_handle(db->driver, db->handle) : NULL, *res;
    int idx, failed = 0, committed = 0;

    if (!conn || f->status(conn) != PG_CONNECTION_OK) {
        return -1;
    }
    if (!f->send(conn, text)) {
        return 0;
    }
    /* read to the end (NULL); the server stops at the first error. Bounded: a lost
     * connection answers NULL */
    for (idx = 0; idx < 64 && (res = f->get(conn)); idx++) {
        int st = f->res_status(res);
        if (st != PG_TUPLES_OK && st != PG_COMMAND_OK) {
            failed = 1;
        }
        else if (!failed) {
            const char *tag = f->cmd_status(res);
            committed = tag && strcmp(tag, "COMMIT") == 0;
            if (!committed) {
                *nrows = (int)acp_sa_atoll(f->cmd_tuples(res));
            }
        }
        f->clear(res);
    }
    return !failed && committed && f->tx_status(conn) == PG_TRANS_IDLE;
}

int acp_sa_pf_next(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                   const char *const *args, apr_array_header_t **rows, int *nrows)
{
    acp_sa_pf_t *pf = db->pf;

    db->pf = NULL; /* whatever happens, a noted read answers at most this statement */
    if (!pf) {
        return 0;
    }
    if (pf->rows) { /* sent with the statement before: this statement, if it is the read */
        if (!rows || !same_read(pf, label, nargs, args)) {
            return 0;
        }
        *rows = pf->rows; /* in the request's pool, as the caller's own read would be */
        return 1;
    }
    if (db->in_tx || !carry(db, p, pf, label, nargs, args, rows, nrows)) {
        return 0;
    }
    db->pf = pf->rows ? pf : NULL; /* for the next statement */
    return 1;
}
