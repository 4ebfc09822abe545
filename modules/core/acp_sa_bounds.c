/* Bounds a statement respects: the number of arguments it takes (checked at every run:
 * apr_dbd's drivers read as many as the statement has placeholders) and, for the staff
 * console's searches, the time it may take (acp_sa_rows_within). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_sa.h"

/* ---- how many arguments each statement takes -------------------------------------
 * apr_dbd's drivers read as many arguments as the statement has placeholders, whatever
 * count the caller gives: a call with one argument too few reads past its array. Every
 * run of a catalogue statement is checked against the count apr_dbd_prepare will see
 * ('%' that is not "%%"), taken once per process from the catalogue, per driver. */
typedef struct {
    const char *label;
    int nargs;
} nargs_entry_t;

static nargs_entry_t *nargs_index[2]; /* [pgsql] */
static size_t nargs_count[2];
static pthread_once_t nargs_once = PTHREAD_ONCE_INIT;

static int placeholders(const char *sql)
{
    int n = 0;

    for (; (sql = strchr(sql, '%')) != NULL; sql++) {
        if (sql[1] == '%') {
            sql++;
        }
        else {
            n++;
        }
    }
    return n;
}

static int nargs_cmp(const void *a, const void *b)
{
    return strcmp(((const nargs_entry_t *)a)->label, ((const nargs_entry_t *)b)->label);
}

/* list's statements that run on this driver (acp_sa_stmt_find picks them), counted */
static size_t nargs_add(nargs_entry_t *out, size_t n, apr_pool_t *p, const acp_sa_stmt_t *list,
                        int pgsql)
{
    const acp_sa_stmt_t *s;

    for (s = list; s->label; s++) {
        int admin = 0;
        if (acp_sa_stmt_find(pgsql, s->label, &admin) == s) {
            out[n].label = s->label;
            out[n++].nargs = placeholders(admin ? acp_sa_admin_sql(p, s->sql, pgsql) : s->sql);
        }
    }
    return n;
}

static size_t list_len(const acp_sa_stmt_t *list)
{
    size_t n = 0;

    while (list[n].label) {
        n++;
    }
    return n;
}

static void nargs_build(void)
{
    apr_pool_t *p = NULL;
    size_t total = list_len(acp_sa_pg_catalogue) + list_len(acp_sa_catalogue) +
                   list_len(acp_sa_admin_catalogue);
    int pg;

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return; /* no index: no check */
    }
    for (pg = 0; pg < 2; pg++) {
        nargs_entry_t *out = calloc(total, sizeof(*out));
        size_t n = 0;
        if (!out) {
            continue;
        }
        n = nargs_add(out, n, p, acp_sa_pg_catalogue, pg);
        n = nargs_add(out, n, p, acp_sa_catalogue, pg);
        n = nargs_add(out, n, p, acp_sa_admin_catalogue, pg);
        qsort(out, n, sizeof(*out), nargs_cmp);
        nargs_index[pg] = out;
        nargs_count[pg] = n;
    }
    apr_pool_destroy(p);
}

int acp_sa_stmt_nargs(int pgsql, const char *label)
{
    nargs_entry_t key, *e;

    pthread_once(&nargs_once, nargs_build);
    key.label = label;
    e = nargs_index[!!pgsql] ? bsearch(&key, nargs_index[!!pgsql], nargs_count[!!pgsql],
                                       sizeof(key), nargs_cmp)
                             : NULL;
    return e ? e->nargs : -1;
}


/* ---- a time budget --------------------------------------------------------------------
 * PostgreSQL: the statement runs in a transaction of its own with SET LOCAL
 * statement_timeout, so the server itself stops it. SQLite: a progress handler on the
 * connection (the library apr_dbd_sqlite3 loaded, found by name as PQbackendPID is)
 * interrupts it once the deadline has passed. */
typedef void (*progress_fn_t)(void *sqlite, int n, int (*cb)(void *), void *baton);

typedef struct {
    apr_time_t deadline;
    int fired;
} budget_t;

static int budget_spent(void *baton)
{
    budget_t *b = baton;

    if (apr_time_now() >= b->deadline) {
        b->fired = 1;
        return 1; /* SQLITE_INTERRUPT */
    }
    return 0;
}

static progress_fn_t progress_fn(void)
{
    static void *resolved;

    return (progress_fn_t)acp_sa_driver_symbol(&resolved, "sqlite3_progress_handler");
}

static apr_status_t rows_within_pg(acp_db_t *db, apr_pool_t *p, const char *label, int ms,
                                   int *stopped, apr_array_header_t **rows, int nargs,
                                   const char *const *args)
{
    apr_status_t rv = acp_sa_begin(db);
    const char *m;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acp_sa_raw_exec(db, apr_psprintf(p, "SET LOCAL statement_timeout = %d", ms));
    if (rv == APR_SUCCESS) {
        rv = acp_sa_rows(db, p, label, rows, nargs, args);
    }
    if (rv == APR_SUCCESS) {
        return acp_sa_commit(db);
    }
    /* libpq's message of the failed statement (SQLSTATE 57014), before the rollback */
    m = apr_dbd_error(db->driver, db->handle, (int)rv);
    *stopped = m && strstr(m, "statement timeout") != NULL;
    acp_sa_rollback(db);
    if (*stopped) {
        *rows = apr_array_make(p, 1, sizeof(const char **));
        return APR_SUCCESS;
    }
    return rv;
}

apr_status_t acp_sa_rows_within(acp_db_t *db, apr_pool_t *p, const char *label, int ms,
                                int *stopped, apr_array_header_t **rows, int nargs,
                                const char *const *args)
{
    progress_fn_t fn;
    void *native;
    budget_t b;
    apr_status_t rv;

    *stopped = 0;
    if (ms <= 0 || db->in_tx) {
        return acp_sa_rows(db, p, label, rows, nargs, args);
    }
    db->pf = NULL; /* a transaction of its own comes first */
    /* the budget is the lookup's: a statement this connection has not prepared yet is
     * prepared first (on PostgreSQL a round trip with parsing and planning, which a
     * command line's first find pays for every statement it runs) */
    (void)acp_sa_prepared(db, label);
    if (db->pgsql) {
        return rows_within_pg(db, p, label, ms, stopped, rows, nargs, args);
    }
    if (!(fn = progress_fn()) || !(native = apr_dbd_native_handle(db->driver, db->handle))) {
        return acp_sa_rows(db, p, label, rows, nargs, args);
    }
    b.deadline = apr_time_now() + apr_time_from_msec(ms);
    b.fired = 0;
    fn(native, 1000, budget_spent, &b); /* checked every 1000 virtual-machine steps */
    rv = acp_sa_rows(db, p, label, rows, nargs, args);
    fn(native, 0, NULL, NULL);
    if (b.fired) { /* an error, or (a driver that ends the rows there) a part of them */
        *stopped = 1;
        *rows = apr_array_make(p, 1, sizeof(const char **));
        return APR_SUCCESS;
    }
    return rv;
}
