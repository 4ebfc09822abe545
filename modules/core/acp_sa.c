/* Storage authority: connections, faults, transactions and the statements of the
 * catalogue (acp_sa_catalogue.c) run by label, prepared on first use. The migration
 * runner is acp_sa_migrate.c. */
#include <dlfcn.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_sa.h"
#include "acp_sa_int.h"

const char *acp_sa_ll(apr_pool_t *p, long long v)
{
    /* apr_psprintf has no %lld; APR_INT64_T_FMT is its spelling */
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

long long acp_sa_atoll(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

const char *acp_sa_error(acp_db_t *db, apr_pool_t *p, int rv)
{
    const char *e = apr_dbd_error(db->driver, db->handle, rv);
    return apr_pstrdup(p, e ? e : "unknown database error");
}

acp_db_t *acp_sa_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                      apr_hash_t *prepared)
{
    acp_db_t *db = apr_pcalloc(p, sizeof(*db));

    db->driver = driver;
    db->handle = handle;
    db->prepared = prepared;
    db->pgsql = strcmp(apr_dbd_name(driver), "pgsql") == 0;
    db->pool = p;
    return db;
}

/* ---- faults: "the database cannot be used right now" vs. an error of the statement -- */

/* SQLite primary result codes (sqlite3.h) that say the file cannot be used now. */
#define SQ_BUSY 5
#define SQ_LOCKED 6
#define SQ_NOMEM 7
#define SQ_READONLY 8
#define SQ_IOERR 10
#define SQ_FULL 13
#define SQ_CANTOPEN 14
#define SQ_PROTOCOL 15

/* PostgreSQL: apr_dbd_check_conn -- ours after a failure (connection_lost), and
 * mod_dbd's each time it hands out a pooled connection -- answers a broken connection
 * with PQreset: the same handle, but a new server session, which has none of the
 * statements the connection's table (db->prepared) still lists. Each of them then
 * failed with "prepared statement does not exist" for the life of the connection: a
 * PostgreSQL restart broke every pooled connection for good (test_602). The session's
 * identity is its backend process id (PQbackendPID, from the libpq the pgsql driver
 * loaded); when it changed, our labels are forgotten and prepared again on first use. */
#define SESSION_KEY "acme-pay-pg-session"

/* Each PostgreSQL session's settings (one statement, as set_config). At 10,000,000
 * certificates the planner's estimates for the staff search's lookups (1-3 ms of index
 * work) passed two thresholds meant for analytic scans: jit_above_cost, so PostgreSQL
 * compiled each plan with LLVM first (30 ms; hundreds of ms with inlining), and the
 * parallel-query costs, so a word lookup started two parallel workers for one row (70
 * ms of starting and stopping them on this machine). Every statement here is such a
 * lookup or a short write: no JIT, no parallel workers. Set on each new session
 * (acp_sa_tune, and again when a session was reset). */
#define PG_SESSION_SQL                                                                     \
    "SELECT set_config('jit', 'off', false), "                                            \
    "set_config('max_parallel_workers_per_gather', '0', false)"

typedef int (*backend_pid_fn_t)(const void *conn);

void *acp_sa_driver_symbol(void **cache, const char *name)
{
    void *fn = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

    if (!fn) { /* a race only stores the same value twice */
        fn = dlsym(RTLD_DEFAULT, name);
        __atomic_store_n(cache, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

static backend_pid_fn_t backend_pid_fn(void)
{
    static void *resolved;

    return (backend_pid_fn_t)acp_sa_driver_symbol(&resolved, "PQbackendPID");
}

static void forget_list(acp_db_t *db, const acp_sa_stmt_t *list)
{
    const acp_sa_stmt_t *s;

    for (s = list; s->label; s++) {
        apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, NULL);
    }
}

/* The server session lost our statements: forget them (other modules' entries in a
 * mod_dbd connection's table stay). */
static void forget_prepared(acp_db_t *db)
{
    forget_list(db, acp_sa_catalogue);
    forget_list(db, acp_sa_pg_catalogue);
    forget_list(db, acp_sa_admin_catalogue);
}

/* Records the session the statements are prepared in; forgets them when it changed.
 * Returns 1 when it did. */
static int session_changed(acp_db_t *db)
{
    backend_pid_fn_t fn;
    void *conn;
    int *seen = NULL, pid;

    if (!db->pgsql || !db->prepared || !db->stmt_pool || !(fn = backend_pid_fn()) ||
        !(conn = apr_dbd_native_handle(db->driver, db->handle))) {
        return 0;
    }
    pid = fn(conn);
    apr_pool_userdata_get((void **)&seen, SESSION_KEY, db->stmt_pool);
    if (seen && *seen == pid) {
        return 0;
    }
    if (!seen) {
        seen = apr_palloc(db->stmt_pool, sizeof(*seen));
        apr_pool_userdata_setn(seen, SESSION_KEY, NULL, db->stmt_pool);
        *seen = pid;
        return 0;
    }
    *seen = pid;
    forget_prepared(db);
    {
        /* the new session's settings, as acp_sa_tune gave the first (not through
         * acp_sa_raw_exec: this runs inside its failure handling) */
        int nrows = 0;
        (void)apr_dbd_query(db->driver, db->handle, &nrows, PG_SESSION_SQL);
    }
    return 1;
}

static int connection_lost(acp_db_t *db)
{
    return db->pgsql && apr_dbd_check_conn(db->driver, db->pool, db->handle) != APR_SUCCESS;
}

static int message_says_unavailable(const char *m)
{
    static const char *const words[] = {
        "database is locked", "disk", "read-only", "readonly", "unable to open",
        "No space left", "the database system is", "terminating connection",
        "server closed the connection", "could not connect", "connection refused",
        "no connection to the server", NULL};
    int i;

    for (i = 0; m && words[i]; i++) {
        if (strstr(m, words[i])) {
            return 1;
        }
    }
    return 0;
}

/* rv: what the apr_dbd call returned (an SQLite result code, or a PGRES_* status). */
void acp_sa_note_failure(acp_db_t *db, int rv)
{
    int code = rv & 0xff, lost = connection_lost(db);

    if (!lost && session_changed(db)) {
        /* the check reconnected: the failure was the old session's death */
        db->session_reset = 1;
        if (!db->unavailable && db->pool) {
            db->fault = "the connection to the database was lost (and opened again)";
        }
        db->unavailable = 1;
        return;
    }
    if (lost ||
        (!db->pgsql && (code == SQ_BUSY || code == SQ_LOCKED || code == SQ_NOMEM ||
                        code == SQ_READONLY || code == SQ_IOERR || code == SQ_FULL ||
                        code == SQ_CANTOPEN || code == SQ_PROTOCOL)) ||
        message_says_unavailable(apr_dbd_error(db->driver, db->handle, rv))) {
        if (!db->unavailable && db->pool) {
            const char *m = apr_dbd_error(db->driver, db->handle, rv);
            db->fault = apr_pstrdup(db->pool, m ? m : "unknown database error");
        }
        db->unavailable = 1;
    }
}

/* SQLite with group commit: the WAL could not be synced (an I/O error): what was committed
 * is not known to be on disk, so the database counts as failed (docs/ARCHITECTURE.md,
 * "Database faults at run time") */
static void sq_sync_failed(acp_db_t *db)
{
    if (!db->unavailable && db->pool) {
        db->fault = "the write-ahead log could not be synced to disk";
    }
    db->unavailable = 1;
}

static apr_status_t sq_autocommit_durable(acp_db_t *db, apr_status_t rv);

int acp_sa_unavailable(const acp_db_t *db)
{
    return db && db->unavailable;
}

/* A statement failed on a connection that is now known dead (a PostgreSQL restart
 * leaves every pooled connection so, found only when used): swap in a fresh one. Only
 * where nothing can have happened on the dead one: outside a transaction. */
#define RECONNECTS_MAX 12

int acp_sa_reconnected(acp_db_t *db)
{
    if (db->session_reset && !db->in_tx && db->reconnects < RECONNECTS_MAX) {
        db->session_reset = 0; /* the driver's check reconnected already */
        db->reconnects++;
        db->unavailable = 0;
        return 1;
    }
    if (!db->reconnect || db->in_tx || db->reconnects >= RECONNECTS_MAX ||
        !connection_lost(db)) {
        return 0;
    }
    db->reconnects++;
    if (db->reconnect(db, db->reconnect_baton) != APR_SUCCESS) {
        db->unavailable = 1;
        return 0;
    }
    db->unavailable = 0;
    return 1;
}

/* The transaction went with a reset session: nothing may run (it would autocommit). */
int acp_sa_tx_gone(const acp_db_t *db)
{
    return db->in_tx && db->session_reset;
}

/* Whether the transaction has sent anything (its BEGIN is not pending any more). */
static int in_real_tx(const acp_db_t *db)
{
    return db->in_tx && !db->begin_pending;
}

apr_status_t acp_sa_raw_exec(acp_db_t *db, const char *sql)
{
    int nrows = 0, rv;

    db->pf = NULL; /* a noted read answers only a read that follows at once */

    if (acp_sa_tx_gone(db) && strcmp(sql, "ROLLBACK") != 0) {
        return APR_EGENERAL;
    }
    if (!strcmp(sql, "ROLLBACK") || !strncmp(sql, "ROLLBACK TO ", 12)) {
        /* what waits was after the savepoint (a SAVEPOINT carries what waited before it) */
        acp_sa_drop_later(db);
    }
    if (acp_sa_held_back(db)) {
        apr_pool_t *tmp = NULL;
        if (db->begin_pending && !acp_sa_has_later(db) &&
            (!strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK"))) {
            db->begin_pending = 0; /* a transaction without a statement: nothing to send */
            return APR_SUCCESS;
        }
        if (apr_pool_create(&tmp, db->pool) != APR_SUCCESS) {
            return APR_ENOMEM;
        }
        rv = acp_sa_run_with_prefix(db, tmp, sql, NULL, 0, NULL, NULL, &nrows);
        apr_pool_destroy(tmp);
        return rv == 0 ? APR_SUCCESS : APR_EGENERAL;
    }
    rv = db->pgsql ? ACP_SQ_OFF : acp_sa_sq_exec_text(db, sql);
    if (rv == ACP_SQ_OFF) {
        rv = apr_dbd_query(db->driver, db->handle, &nrows, sql);
    }
    if (rv != 0) {
        acp_sa_note_failure(db, rv);
    }
    return sq_autocommit_durable(db, rv == 0 ? APR_SUCCESS : APR_EGENERAL);
}

apr_status_t acp_sa_tune(acp_db_t *db, apr_int64_t mmap_size)
{
    char sql[64];

    if (db->pgsql) {
        return acp_sa_raw_exec(db, PG_SESSION_SQL);
    }
    if (mmap_size <= 0) {
        return APR_SUCCESS;
    }
    /* WAL mode discards a connection's page cache whenever another connection has
     * committed, so nearly every read comes from the file: mapped, it costs no pread.
     * But the mapping is discarded too (munmap, and page faults to map it again), which
     * costs more than the preads on a server with many connections (docs/PERFORMANCE.md,
     * "SQLite: reads"): the module's connections leave it off unless configured. */
    apr_snprintf(sql, sizeof(sql), "PRAGMA mmap_size = %" APR_INT64_T_FMT,
                 (apr_int64_t)(mmap_size < ACP_SA_MMAP_MAX ? mmap_size : ACP_SA_MMAP_MAX));
    return acp_sa_raw_exec(db, sql);
}

/* SQLite: apr_dbd_sqlite3 holds one process-wide mutex around every sqlite3 call and
 * releases it only while sleeping in its own SQLITE_BUSY retry loop (15 x 100 ms). A
 * busy_timeout would make sqlite3 wait *inside* that mutex, so a thread waiting for the
 * write lock would stop the lock holder in the same process from committing. We keep
 * busy_timeout at 0 and retry BEGIN IMMEDIATE here, outside the mutex, for up to
 * BEGIN_TRIES rounds of the driver's loop (each up to 1.5 s). */
#define BEGIN_TRIES 6

static void unlock_writers(acp_db_t *db)
{
    if (db->in_tx && db->write_unlock) {
        db->write_unlock(db->lock_baton);
    }
    if (db->in_tx) {
        db->session_reset = 0; /* what it took away has been answered for */
    }
    db->in_tx = 0;
    db->begin_pending = 0;
    acp_sa_drop_later(db); /* (sent with the COMMIT, or dropped with the transaction) */
}

apr_status_t acp_sa_begin(acp_db_t *db)
{
    int i;

    db->tx_done = 0;
    if (db->pgsql) {
        /* a session mod_dbd's check opened anew when it handed the connection out is
         * noticed here, not inside the transaction (where it would mean one lost); BEGIN
         * goes with the first statement (acp_sa_run_with_prefix) */
        session_changed(db);
        db->session_reset = 0;
        db->in_tx = 1;
        db->begin_pending = 1;
        return APR_SUCCESS;
    }
    if (db->write_lock && db->write_lock(db->lock_baton) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    db->in_tx = 1;
    for (i = 0; i < BEGIN_TRIES; i++) {
        if (acp_sa_raw_exec(db, "BEGIN IMMEDIATE") == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        apr_sleep(apr_time_from_msec(5 + (i % 5) * 10));
    }
    unlock_writers(db);
    if (!db->unavailable) {
        db->fault = "the database stayed locked (by another program?) or cannot be written";
    }
    db->unavailable = 1;
    return APR_EBUSY;
}

apr_status_t acp_sa_commit(acp_db_t *db)
{
    apr_status_t rv = APR_SUCCESS;

    if (db->tx_done) { /* committed with its last write (acp_sa_exec_commit) */
        db->tx_done = 0;
        unlock_writers(db);
        return APR_SUCCESS;
    }
    if (db->begin_pending && !acp_sa_has_later(db)) { /* nothing was sent: nothing to commit */
        unlock_writers(db);
        return APR_SUCCESS;
    }
    if (acp_sa_raw_exec(db, "COMMIT") != APR_SUCCESS) {
        /* never hand a connection back with a transaction (and its locks) open */
        acp_sa_raw_exec(db, "ROLLBACK");
        rv = APR_EGENERAL;
    }
    else {
        db->committed = 1;
    }
    unlock_writers(db);
    /* SQLite with group commit: on disk before anybody is answered, but after the next
     * writer could start (acp_sa_sqlite.c) */
    if (rv == APR_SUCCESS && !db->pgsql && acp_sa_sq_durable(db) != 0) {
        sq_sync_failed(db);
        rv = APR_EGENERAL;
    }
    return rv;
}

apr_status_t acp_sa_rollback(acp_db_t *db)
{
    apr_status_t rv;

    if (db->tx_done) { /* committed already: nothing is open to roll back */
        db->tx_done = 0;
        unlock_writers(db);
        return APR_SUCCESS;
    }
    rv = acp_sa_raw_exec(db, "ROLLBACK");
    unlock_writers(db);
    return rv;
}

apr_status_t acp_sa_savepoint(acp_db_t *db, const char *name)
{
    char sql[64];
    apr_snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
    return acp_sa_raw_exec(db, sql);
}

apr_status_t acp_sa_rollback_to(acp_db_t *db, const char *name)
{
    char sql[64];

    if (db->tx_done) {
        return APR_SUCCESS; /* committed already (acp_sa_exec_commit) */
    }
    apr_snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT %s", name);
    return acp_sa_raw_exec(db, sql);
}

apr_status_t acp_sa_sync_commit(acp_db_t *db)
{
    return db->pgsql ? acp_sa_raw_exec(db, "SET LOCAL synchronous_commit = on") : APR_SUCCESS;
}

/* The statement was not there: a session change the id did not show (the new backend
 * got the old one's process id, or libpq's symbol could not be found). */
int acp_sa_statement_missing(acp_db_t *db)
{
    const char *m;

    if (!db->pgsql || !db->stmt_pool || db->in_tx) {
        return 0;
    }
    m = apr_dbd_error(db->driver, db->handle, 1);
    if (!m || !strstr(m, "prepared statement") || !strstr(m, "does not exist")) {
        return 0;
    }
    forget_prepared(db);
    return 1;
}

/* The prepared statement of label on this connection; prepared now, on the
 * connection's own pool, the first time this connection runs it (stmt_pool). */
apr_dbd_prepared_t *acp_sa_stmt_of(acp_db_t *db, const char *label)
{
    apr_dbd_prepared_t *st;
    const acp_sa_stmt_t *s;
    int admin = 0, rv;

    if (session_changed(db) && in_real_tx(db)) {
        db->session_reset = 1; /* the transaction went with the old session */
        db->unavailable = 1;
        return NULL;
    }
    st = db->prepared ? apr_hash_get(db->prepared, label, APR_HASH_KEY_STRING) : NULL;
    if (st || !db->prepared || !db->stmt_pool ||
        !(s = acp_sa_stmt_find(db->pgsql, label, &admin))) {
        return st;
    }
    rv = apr_dbd_prepare(db->driver, db->stmt_pool, db->handle,
                         admin ? acp_sa_admin_sql(db->stmt_pool, s->sql, db->pgsql) : s->sql,
                         s->label, &st);
    if (rv != 0) {
        acp_sa_note_failure(db, rv);
        return NULL;
    }
    apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, st);
    return st;
}

/* SQLite with group commit: a statement outside a transaction committed on its own; it is
 * answered for only once it is on disk (acp_sa_sq_durable). */
static apr_status_t sq_autocommit_durable(acp_db_t *db, apr_status_t rv)
{
    if (db->pgsql || db->in_tx || acp_sa_sq_durable(db) == 0) {
        return rv;
    }
    sq_sync_failed(db);
    return APR_EGENERAL;
}

/* What acp_sa_prepared, acp_sa_exec and acp_sa_rows answer for a run of acp_sa_sqlite.c
 * (rc), as they did through apr_dbd: a statement no catalogue has, or one that failed to
 * prepare on a usable database, APR_ENOENT; any other failure APR_EGENERAL. */
static apr_status_t sq_status(acp_db_t *db, int rc, int unprepared, int *nrows, int n)
{
    if (nrows) {
        *nrows = n;
    }
    if (rc == ACP_SQ_UNKNOWN) {
        return APR_ENOENT;
    }
    if (rc != 0) {
        acp_sa_note_failure(db, rc);
        return unprepared && !db->unavailable ? APR_ENOENT : APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_prepared(acp_db_t *db, const char *label)
{
    int rc;

    if (acp_sa_tx_gone(db)) {
        return APR_EGENERAL;
    }
    rc = db->pgsql ? ACP_SQ_OFF : acp_sa_sq_prepare(db, label);
    if (rc != ACP_SQ_OFF) {
        return sq_status(db, rc, 1, NULL, 0);
    }
    return acp_sa_stmt_of(db, label) ? APR_SUCCESS : db->unavailable ? APR_EGENERAL : APR_ENOENT;
}

/* 0 when nargs is what label takes; else says so on stderr (the error log) */
int acp_sa_nargs_wrong(const acp_db_t *db, const char *label, int nargs)
{
    int want = acp_sa_stmt_nargs(db->pgsql, label);

    if (want < 0 || want == nargs) {
        return 0;
    }
    fprintf(stderr, "acme_pay: statement %s given %d arguments, takes %d\n", label, nargs, want);
    return 1;
}

apr_status_t acp_sa_exec(acp_db_t *db, apr_pool_t *p, const char *label, int *nrows, int nargs,
                         const char *const *args)
{
    apr_dbd_prepared_t *st;
    int n = 0, rv;

    if (acp_sa_nargs_wrong(db, label, nargs)) {
        return APR_EINVAL;
    }
    if (db->tx_done) {
        return APR_EGENERAL; /* its transaction committed with its last write */
    }
    if (db->pf && acp_sa_pf_next(db, p, label, nargs, args, NULL, &n)) {
        if (nrows) {
            *nrows = n;
        }
        return APR_SUCCESS; /* ran with the read noted before it (acp_sa_prefetch.c) */
    }
    if (!db->pgsql) {
        int unprepared = 0;
        rv = acp_sa_sq_run(db, p, label, nargs, args, NULL, &n, &unprepared);
        if (rv != ACP_SQ_OFF) {
            return sq_autocommit_durable(db, sq_status(db, rv, unprepared, nrows, n));
        }
    }
    st = acp_sa_tx_gone(db) ? NULL : acp_sa_stmt_of(db, label);
    if (!st) {
        return db->unavailable ? APR_EGENERAL : APR_ENOENT;
    }
    if (acp_sa_held_back(db)) {
        rv = acp_sa_run_with_prefix(db, p, NULL, label, nargs, args, NULL, &n);
        if (nrows) {
            *nrows = n;
        }
        return rv == 0 ? APR_SUCCESS : APR_EGENERAL; /* (retried there where it could be) */
    }
    rv = apr_dbd_pquery(db->driver, p, db->handle, &n, st, nargs, (const char **)args);
    if (rv != 0 && acp_sa_statement_missing(db) && (st = acp_sa_stmt_of(db, label)) != NULL) {
        rv = apr_dbd_pquery(db->driver, p, db->handle, &n, st, nargs, (const char **)args);
    }
    if (rv != 0) {
        acp_sa_note_failure(db, rv);
    }
    if (nrows) {
        *nrows = n;
    }
    return sq_autocommit_durable(db, rv == 0 ? APR_SUCCESS : APR_EGENERAL);
}

static const char **read_row(acp_db_t *db, apr_pool_t *p, apr_dbd_results_t *res,
                             apr_dbd_row_t *row)
{
    int i, n = apr_dbd_num_cols(db->driver, res);
    const char **cols = apr_pcalloc(p, sizeof(char *) * (size_t)(n + 1));

    for (i = 0; i < n; i++) {
        /* apr_dbd_get_entry gives "" for SQL NULL with pgsql; datum_get says ENOENT */
        char *v = NULL;
        apr_status_t rv = apr_dbd_datum_get(db->driver, row, i, APR_DBD_TYPE_STRING, &v);
        cols[i] = rv == APR_SUCCESS && v ? apr_pstrdup(p, v) : NULL;
    }
    return cols;
}

apr_status_t acp_sa_rows(acp_db_t *db, apr_pool_t *p, const char *label,
                         apr_array_header_t **rows, int nargs, const char *const *args)
{
    apr_dbd_prepared_t *st;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *out;
    int rv, missed = 0;

    *rows = NULL;
    if (acp_sa_nargs_wrong(db, label, nargs)) {
        return APR_EINVAL;
    }
    if (db->pf && acp_sa_pf_next(db, p, label, nargs, args, rows, NULL)) {
        return APR_SUCCESS; /* the noted read's rows, or run with it (acp_sa_prefetch.c) */
    }
    if (!db->pgsql) {
        int unprepared = 0;
        rv = acp_sa_sq_run(db, p, label, nargs, args, rows, NULL, &unprepared);
        if (rv != ACP_SQ_OFF) {
            return sq_autocommit_durable(db, sq_status(db, rv, unprepared, NULL, 0));
        }
    }
    /* pgsql: random access (one PQexecPrepared). In sequential mode apr_dbd_pgsql meets an
     * empty result set with apr_sleep(100 ms) before it asks libpq again, so every select
     * that finds nothing would cost a tenth of a second, and a failed statement (a dead
     * connection) looks like an empty result; the whole result is held in memory either
     * way. SQLite: sequential (random access copies every row first). */
    for (;;) {
        if (acp_sa_tx_gone(db)) {
            return APR_EGENERAL;
        }
        st = acp_sa_stmt_of(db, label); /* prepared on first use: may meet a dead connection */
        if (!st && !db->unavailable) {
            return APR_ENOENT;
        }
        if (st) {
            if (acp_sa_held_back(db)) {
                rv = acp_sa_run_with_prefix(db, p, NULL, label, nargs, args, &res, NULL);
                if (rv != 0) {
                    return APR_EGENERAL; /* (retried there where it could be) */
                }
                break;
            }
            rv = apr_dbd_pselect(db->driver, p, db->handle, &res, st, db->pgsql ? 1 : 0, nargs,
                                 (const char **)args);
            if (rv == 0) {
                break;
            }
            if (!missed && acp_sa_statement_missing(db)) {
                missed = 1; /* prepared again by acp_sa_stmt_of, once */
                res = NULL;
                continue;
            }
            acp_sa_note_failure(db, rv);
        }
        if (!acp_sa_reconnected(db)) {
            return APR_EGENERAL;
        }
        res = NULL;
    }
    out = apr_array_make(p, 4, sizeof(const char **));
    /* read to the end: an unfinished result set keeps the statement busy */
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        APR_ARRAY_PUSH(out, const char **) = read_row(db, p, res, row);
    }
    *rows = out;
    return sq_autocommit_durable(db, APR_SUCCESS);
}

apr_status_t acp_sa_row(acp_db_t *db, apr_pool_t *p, const char *label, const char ***row,
                        int nargs, const char *const *args)
{
    apr_array_header_t *rows;
    apr_status_t rv = acp_sa_rows(db, p, label, &rows, nargs, args);

    *row = NULL;
    if (rv == APR_SUCCESS && rows->nelts > 0) {
        *row = APR_ARRAY_IDX(rows, 0, const char **);
    }
    return rv;
}

/* list's statements, each where it is the one acp_sa_stmt_find picks on this driver
 * (a generic statement with a PostgreSQL twin is not prepared on PostgreSQL) */
static apr_status_t prepare_list(apr_pool_t *p, acp_db_t *db, const acp_sa_stmt_t *list,
                                 const char **errmsg)
{
    const acp_sa_stmt_t *s;

    for (s = list; s->label; s++) {
        apr_dbd_prepared_t *st = NULL;
        int admin = 0, rv;
        const char *sql;
        if (acp_sa_stmt_find(db->pgsql, s->label, &admin) != s) {
            continue;
        }
        sql = admin ? acp_sa_admin_sql(p, s->sql, db->pgsql) : s->sql;
        rv = apr_dbd_prepare(db->driver, p, db->handle, sql, s->label, &st);
        if (rv != 0) {
            *errmsg = apr_psprintf(p, "preparing %s: %s", s->label, acp_sa_error(db, p, rv));
            return APR_EGENERAL;
        }
        apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, st);
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_prepare_all(apr_pool_t *p, acp_db_t *db, const char **errmsg)
{
    apr_status_t rv;

    if (!db->prepared) {
        db->prepared = apr_hash_make(p);
    }
    session_changed(db); /* the session these are prepared in */
    rv = prepare_list(p, db, acp_sa_catalogue, errmsg);
    if (rv == APR_SUCCESS && db->pgsql) {
        rv = prepare_list(p, db, acp_sa_pg_catalogue, errmsg);
    }
    return rv == APR_SUCCESS ? prepare_list(p, db, acp_sa_admin_catalogue, errmsg) : rv;
}

static apr_status_t db_close(void *data)
{
    acp_db_t *db = data;
    apr_dbd_close(db->driver, db->handle);
    return APR_SUCCESS;
}

apr_status_t acp_sa_open(apr_pool_t *p, const char *driver, const char *params, int migrate,
                         acp_db_t **out, const char **errmsg)
{
    const apr_dbd_driver_t *drv = NULL;
    apr_dbd_t *handle = NULL;
    const char *err = NULL;
    acp_db_t *db;
    apr_status_t rv;

    apr_dbd_init(p);
    rv = apr_dbd_get_driver(p, driver, &drv);
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "no apr_dbd driver '%s' (is libaprutil1-dbd-%s installed?)",
                               driver, driver);
        return rv;
    }
    if (!strcmp(driver, "sqlite3")) {
        acp_sa_sq_setup(); /* the driver has loaded the library; no connection yet */
    }
    rv = apr_dbd_open_ex(drv, p, params, &handle, &err);
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "cannot open %s database '%s': %s", driver,
                               acp_sa_params_safe(p, driver, params), err ? err : "error");
        return rv;
    }
    db = acp_sa_wrap(p, drv, handle, NULL);
    db->stmt_pool = p; /* what a reset session lost is prepared again there */
    apr_pool_cleanup_register(p, db, db_close, apr_pool_cleanup_null);
    /* a connection of its own (the staff tool, start-up): one thread, so remapping after
     * the server's commits costs no other thread's TLB (the shoot-downs that made it dear
     * in Apache's children), and the staff tool's searches read much */
    acp_sa_tune(db, ACP_SA_MMAP_MAX);
    if (migrate) {
        rv = acp_sa_migrate(p, db, NULL, errmsg);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = acp_sa_prepare_all(p, db, errmsg);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = db;
    return APR_SUCCESS;
}
