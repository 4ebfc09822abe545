/* SQLite: the catalogue's statements run on the connection's own sqlite3 handle.
 *
 * apr_dbd_sqlite3 holds one process-wide mutex around every sqlite3 call, so the threads
 * of an Apache child took turns at SQLite even on connections of their own (WAL lets
 * readers run beside the writer): `make bench` counted about 33 futex calls per issued
 * certificate on that mutex, each a sleep and a wake-up (docs/PERFORMANCE.md, "SQLite
 * without the driver's mutex"). Here each statement is prepared once per connection
 * (kept in the connection's pool, finalized before the connection closes), its
 * arguments bound as text as apr_dbd_sqlite3 binds them, and stepped on the handle
 * apr_dbd_native_handle gives; SQLite's own per-connection mutex (Debian builds it
 * serialized) is all the locking a connection used by one thread at a time needs.
 * SQLITE_BUSY is retried as the driver did (16 tries, 100 ms apart); a statement is
 * always reset after its run, so no cached statement keeps a read snapshot open.
 *
 * The library is the one the driver loaded, found by name (acp_sa_driver_symbol);
 * without it, or with a library built without thread safety, every call answers
 * ACP_SQ_OFF and acp_sa.c uses apr_dbd as before. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_sa.h"

#define SQ_OK 0
#define SQ_BUSY 5
#define SQ_MISUSE 21
#define SQ_ROW 100
#define SQ_DONE 101
#define SQ_NULL 5 /* sqlite3_column_type */
#define SQ_PREPARE_PERSISTENT 0x01
#define BUSY_TRIES 16
#define BUSY_SLEEP_MS 100
#define CACHE_KEY "acme-pay-sqlite-stmts"
#define SQ_CONFIG_MEMSTATUS 9
#define SQ_FCNTL_JOURNAL_POINTER 28 /* the WAL file, in WAL mode */
#define SQ_SYNC_NORMAL 0x00002
#define SQ_AUTOCHECKPOINT 1000      /* SQLite's own default, which a WAL hook replaces */
#define GC_KEY "\001group-commit"   /* in the statement cache: the connection's sq_gc_t */

/* sqlite3_file and the head of sqlite3_io_methods (SQLite's stable VFS ABI): only xSync
 * is called */
typedef struct sq_file sq_file_t;
typedef struct {
    int version;
    int (*close)(sq_file_t *);
    int (*read)(sq_file_t *, void *, int, long long);
    int (*write)(sq_file_t *, const void *, int, long long);
    int (*truncate)(sq_file_t *, long long);
    int (*sync)(sq_file_t *, int);
} sq_io_methods_t;
struct sq_file {
    const sq_io_methods_t *methods;
};

typedef struct sq_api_t {
    int (*prepare)(void *h, const char *sql, int n, unsigned flags, void **stmt,
                   const char **tail);
    int (*step)(void *stmt);
    int (*reset)(void *stmt);
    int (*finalize)(void *stmt);
    int (*bind_text)(void *stmt, int i, const char *v, int n, void (*destructor)(void *));
    int (*bind_null)(void *stmt, int i);
    int (*bind_count)(void *stmt);
    int (*column_count)(void *stmt);
    int (*column_type)(void *stmt, int i);
    const unsigned char *(*column_text)(void *stmt, int i);
    int (*column_bytes)(void *stmt, int i);
    int (*changes)(void *h);
    int (*file_control)(void *h, const char *db, int op, void *arg);
    void *(*wal_hook)(void *h, int (*)(void *, void *, const char *, int), void *arg);
    int (*wal_checkpoint)(void *h, const char *db);
} sq_api_t;

static sq_api_t api;
static int api_state; /* 0 unknown, 1 usable, -1 not */

/* each function of sq_api_t, by name */
static const struct {
    const char *name;
    size_t off;
} api_syms[] = {
    {"sqlite3_prepare_v3", offsetof(sq_api_t, prepare)},
    {"sqlite3_step", offsetof(sq_api_t, step)},
    {"sqlite3_reset", offsetof(sq_api_t, reset)},
    {"sqlite3_finalize", offsetof(sq_api_t, finalize)},
    {"sqlite3_bind_text", offsetof(sq_api_t, bind_text)},
    {"sqlite3_bind_null", offsetof(sq_api_t, bind_null)},
    {"sqlite3_bind_parameter_count", offsetof(sq_api_t, bind_count)},
    {"sqlite3_column_count", offsetof(sq_api_t, column_count)},
    {"sqlite3_column_type", offsetof(sq_api_t, column_type)},
    {"sqlite3_column_text", offsetof(sq_api_t, column_text)},
    {"sqlite3_column_bytes", offsetof(sq_api_t, column_bytes)},
    {"sqlite3_changes", offsetof(sq_api_t, changes)},
    {"sqlite3_file_control", offsetof(sq_api_t, file_control)},
    {"sqlite3_wal_hook", offsetof(sq_api_t, wal_hook)},
    {"sqlite3_wal_checkpoint", offsetof(sq_api_t, wal_checkpoint)},
};
#define API_SYMS (sizeof(api_syms) / sizeof(api_syms[0]))

static const sq_api_t *sq_api(void)
{
    static void *c[API_SYMS + 1];
    int state = __atomic_load_n(&api_state, __ATOMIC_ACQUIRE);
    int (*threadsafe)(void);
    sq_api_t a;
    size_t i;

    if (state) {
        return state > 0 ? &api : NULL;
    }
    for (i = 0; i < API_SYMS; i++) {
        void *fn = acp_sa_driver_symbol(&c[i], api_syms[i].name);
        if (!fn) {
            return NULL; /* the library is not loaded (yet): asked again next time */
        }
        memcpy((char *)&a + api_syms[i].off, &fn, sizeof(fn));
    }
    *(void **)&threadsafe = acp_sa_driver_symbol(&c[API_SYMS], "sqlite3_threadsafe");
    if (!threadsafe) {
        return NULL;
    }
    state = threadsafe() ? 1 : -1; /* 0: built without mutexes, apr_dbd's is needed */
    if (state > 0) {
        api = a; /* a race writes the same values twice */
    }
    __atomic_store_n(&api_state, state, __ATOMIC_RELEASE);
    return state > 0 ? &api : NULL;
}

static apr_status_t finalize_all(void *data)
{
    apr_hash_t *cache = data;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, cache); hi; hi = apr_hash_next(hi)) {
        const char *key = apr_hash_this_key(hi);
        void *stmt = apr_hash_this_val(hi);
        if (stmt && api_state > 0 && strcmp(key, GC_KEY) != 0) { /* (not a statement) */
            api.finalize(stmt);
        }
    }
    apr_hash_clear(cache);
    return APR_SUCCESS;
}

/* db's statements (label or SQL text -> sqlite3_stmt), kept in the connection's pool;
 * NULL when this path is not taken for db. */
static apr_hash_t *cache_of(acp_db_t *db)
{
    void *cache = NULL;
    const char *key;

    if (db->pgsql || !db->stmt_pool || !sq_api()) {
        return NULL;
    }
    if (db->sq_cache && db->sq_pool == db->stmt_pool) {
        return db->sq_cache;
    }
    /* one pool may hold several connections (acp_sa_open's caller's): by handle */
    key = apr_psprintf(db->pool, CACHE_KEY "-%pp", (void *)db->handle);
    apr_pool_userdata_get(&cache, key, db->stmt_pool);
    if (!cache) {
        /* registered after the connection was opened in this pool, so it runs before the
         * connection closes (cleanups run in reverse): sqlite3_close fails while any
         * statement of the connection is left */
        cache = apr_hash_make(db->stmt_pool);
        apr_pool_cleanup_register(db->stmt_pool, cache, finalize_all, apr_pool_cleanup_null);
        apr_pool_userdata_set(cache, key, NULL, db->stmt_pool); /* the key is copied */
    }
    db->sq_cache = cache;
    db->sq_pool = db->stmt_pool;
    db->sq_gc = apr_hash_get(cache, GC_KEY, APR_HASH_KEY_STRING);
    return cache;
}

/* The catalogue's text with SQLite's numbered placeholders for apr_dbd's: %s, %d, %u,
 * %ld, %lu, %lld, %llu become ?1, ?2, …; %% becomes %. Every argument is bound as text,
 * whatever its placeholder says, as apr_dbd_sqlite3 does. NULL: another placeholder
 * (then the statement is left to apr_dbd). */
static const char *numbered(apr_pool_t *p, const char *sql)
{
    static const char *const specs[] = {"lld", "llu", "ld", "lu", "s", "d", "u", NULL};
    size_t len = strlen(sql);
    char *out = apr_palloc(p, len * 2 + 16), *o = out;
    int n = 0;

    while (*sql) {
        int i;
        if (sql[0] != '%') {
            *o++ = *sql++;
            continue;
        }
        if (sql[1] == '%') {
            *o++ = '%';
            sql += 2;
            continue;
        }
        if (!apr_isalpha(sql[1])) {
            *o++ = *sql++;
            continue;
        }
        for (i = 0; specs[i] && strncmp(sql + 1, specs[i], strlen(specs[i])) != 0; i++) {
        }
        if (!specs[i]) {
            return NULL;
        }
        sql += 1 + strlen(specs[i]);
        o += apr_snprintf(o, 16, "?%d", ++n);
    }
    *o = '\0';
    return out;
}

/* label's statement (label: a catalogue label; else sql, a text of its own, kept when
 * keep). *rc: SQLite's code when preparing failed, ACP_SQ_OFF when apr_dbd must run it,
 * ACP_SQ_UNKNOWN when no catalogue has label. */
static void *stmt_get(acp_db_t *db, apr_hash_t *cache, const char *label, const char *sql,
                      int keep, int *rc)
{
    const char *key = label ? label : sql, *text = sql;
    void *stmt = apr_hash_get(cache, key, APR_HASH_KEY_STRING);
    void *h;
    int prc;

    *rc = 0;
    if (stmt) {
        return stmt;
    }
    if (label) {
        int admin = 0;
        const acp_sa_stmt_t *s = acp_sa_stmt_find(0, label, &admin);
        if (!s) {
            *rc = ACP_SQ_UNKNOWN;
            return NULL;
        }
        text = numbered(db->stmt_pool, admin ? acp_sa_admin_sql(db->stmt_pool, s->sql, 0)
                                             : s->sql);
        if (!text) {
            *rc = ACP_SQ_OFF;
            return NULL;
        }
    }
    h = apr_dbd_native_handle(db->driver, db->handle);
    if (!h) {
        *rc = ACP_SQ_OFF;
        return NULL;
    }
    prc = api.prepare(h, text, -1, keep ? SQ_PREPARE_PERSISTENT : 0, &stmt, NULL);
    if (prc != SQ_OK || !stmt) {
        if (stmt) {
            api.finalize(stmt);
        }
        *rc = prc != SQ_OK ? prc : SQ_MISUSE; /* an empty text */
        return NULL;
    }
    if (keep) {
        apr_hash_set(cache, label ? label : apr_pstrdup(db->stmt_pool, sql), APR_HASH_KEY_STRING,
                     stmt);
    }
    return stmt;
}

/* Steps stmt to its end: rows into *rows (p) when rows is given; *nrows the changes. */
static int run(acp_db_t *db, apr_pool_t *p, void *stmt, int nargs, const char *const *args,
               apr_array_header_t **rows, int *nrows)
{
    int i, rc = SQ_OK, tries = 0, nparams = api.bind_count(stmt), ncols;
    apr_array_header_t *out = rows ? apr_array_make(p, 4, sizeof(const char **)) : NULL;

    for (i = 0; i < nparams; i++) {
        /* SQLITE_STATIC (NULL): the caller's strings outlive the run, and the statement
         * is reset before this returns */
        rc = i < nargs && args[i] ? api.bind_text(stmt, i + 1, args[i], -1, NULL)
                                  : api.bind_null(stmt, i + 1);
        if (rc != SQ_OK) {
            api.reset(stmt);
            return rc;
        }
    }
    ncols = out ? api.column_count(stmt) : 0;
    for (;;) {
        rc = api.step(stmt);
        if (rc == SQ_ROW) {
            const char **cols;
            if (!out) {
                continue;
            }
            cols = apr_palloc(p, sizeof(char *) * (size_t)(ncols + 1));
            for (i = 0; i < ncols; i++) {
                const unsigned char *v;
                if (api.column_type(stmt, i) == SQ_NULL ||
                    !(v = api.column_text(stmt, i))) {
                    cols[i] = NULL;
                    continue;
                }
                cols[i] = apr_pstrmemdup(p, (const char *)v, (apr_size_t)api.column_bytes(stmt, i));
            }
            cols[ncols] = NULL;
            APR_ARRAY_PUSH(out, const char **) = cols;
            continue;
        }
        if (rc == SQ_BUSY && ++tries < BUSY_TRIES) {
            apr_sleep(apr_time_from_msec(BUSY_SLEEP_MS));
            continue;
        }
        break;
    }
    if (rc == SQ_DONE) {
        rc = SQ_OK;
        if (nrows) {
            *nrows = api.changes(apr_dbd_native_handle(db->driver, db->handle));
        }
    }
    /* a failed step's code is in its return (prepare_v3); reset repeats it: ignored */
    api.reset(stmt);
    if (rc == SQ_OK && rows) {
        *rows = out;
    }
    return rc;
}

int acp_sa_sq_prepare(acp_db_t *db, const char *label)
{
    apr_hash_t *cache = cache_of(db);
    int rc;

    if (!cache) {
        return ACP_SQ_OFF;
    }
    return stmt_get(db, cache, label, NULL, 1, &rc) ? 0 : rc;
}

int acp_sa_sq_run(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                  const char *const *args, apr_array_header_t **rows, int *nrows,
                  int *unprepared)
{
    apr_hash_t *cache = cache_of(db);
    void *stmt;
    int rc;

    *unprepared = 0;
    if (!cache) {
        return ACP_SQ_OFF;
    }
    stmt = stmt_get(db, cache, label, NULL, 1, &rc);
    if (!stmt) {
        *unprepared = 1;
        return rc;
    }
    return run(db, p, stmt, nargs, args, rows, nrows);
}

/* Transaction control and savepoints come back on every request: kept. Anything else
 * (start-up's PRAGMAs and DDL) is prepared, run and finalized, one statement at a time. */
static int kept_text(const char *sql)
{
    return strlen(sql) < 64 &&
           (!strncmp(sql, "BEGIN", 5) || !strcmp(sql, "COMMIT") || !strncmp(sql, "ROLLBACK", 8) ||
            !strncmp(sql, "SAVEPOINT ", 10) || !strncmp(sql, "RELEASE ", 8));
}

int acp_sa_sq_exec_text(acp_db_t *db, const char *sql)
{
    apr_hash_t *cache = cache_of(db);
    void *stmt, *h;
    const char *tail = sql;
    int rc = SQ_OK;

    if (!cache) {
        return ACP_SQ_OFF;
    }
    if (kept_text(sql)) {
        stmt = stmt_get(db, cache, NULL, sql, 1, &rc);
        return stmt ? run(db, NULL, stmt, 0, NULL, NULL, NULL) : rc;
    }
    if (!(h = apr_dbd_native_handle(db->driver, db->handle))) {
        return ACP_SQ_OFF;
    }
    while (rc == SQ_OK && tail && *tail) {
        stmt = NULL;
        rc = api.prepare(h, tail, -1, 0, &stmt, &tail);
        if (rc == SQ_OK && stmt) { /* NULL: only white space or a comment was left */
            rc = run(db, NULL, stmt, 0, NULL, NULL, NULL);
        }
        if (stmt) {
            api.finalize(stmt);
        }
    }
    return rc;
}

/* SQLite keeps statistics of its memory by default: then every allocation and free of
 * every connection in the process takes one global mutex (sqlite3Malloc). With apr_dbd's
 * mutex gone, that mutex was where the threads met: about 12 futex calls per issued
 * certificate in `make bench`. The setting can only be made before SQLite initializes,
 * i.e. before the process's first connection (the Apache parent's start-up connection,
 * inherited by every child); later it answers SQLITE_MISUSE and stays as it is. */
void acp_sa_sq_setup(void)
{
    static void *c;
    int (*config)(int, ...);

    *(void **)&config = acp_sa_driver_symbol(&c, "sqlite3_config");
    if (config) {
        (void)config(SQ_CONFIG_MEMSTATUS, 0);
    }
}

/* ---- group commit (AcmePaySQLiteGroupCommit; docs/ARCHITECTURE.md) ------------------------
 * With synchronous = FULL every COMMIT waits for the WAL's fdatasync while it holds the
 * writers' lock, so the next writer waits for the disk too. With the setting on, the
 * module's connections commit with synchronous = NORMAL (WAL mode: no sync at commit), a
 * WAL hook numbers each commit, and the committing thread syncs the WAL after it let go
 * of the writers' lock and before it answers anybody: a thread whose commit another
 * thread's sync already covered (that sync began after the commit) does not sync again.
 * A write is answered only once it is on disk, as before; the WAL keeps commits in order,
 * so what survives a power failure is always a prefix of them. The one difference: other
 * readers may see a commit up to one sync before it is durable. */

typedef struct sq_gc_t {
    unsigned long pending; /* this connection's last commit not yet known synced (0: none) */
} sq_gc_t;

static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long gc_seq;    /* commits numbered in this process (atomic) */
static unsigned long gc_synced; /* every commit up to this one is synced (under gc_mu) */
static unsigned long gc_syncs;  /* WAL syncs made (atomic) */

static int gc_hook(void *arg, void *h, const char *name, int pages)
{
    sq_gc_t *g = arg;

    g->pending = __atomic_add_fetch(&gc_seq, 1, __ATOMIC_ACQ_REL);
    if (pages >= SQ_AUTOCHECKPOINT) {
        (void)api.wal_checkpoint(h, name); /* what SQLite's own hook does */
    }
    return SQ_OK;
}

int acp_sa_sq_group_commit(acp_db_t *db)
{
    apr_hash_t *cache = cache_of(db);
    sq_gc_t *g;
    void *h;

    if (!cache || !(h = apr_dbd_native_handle(db->driver, db->handle))) {
        return -1;
    }
    if (apr_hash_get(cache, GC_KEY, APR_HASH_KEY_STRING)) {
        return 0;
    }
    g = apr_pcalloc(db->stmt_pool, sizeof(*g));
    /* the hook first: from the PRAGMA on, every commit must be numbered */
    api.wal_hook(h, gc_hook, g);
    apr_hash_set(cache, GC_KEY, APR_HASH_KEY_STRING, g);
    db->sq_gc = g;
    if (acp_sa_sq_exec_text(db, "PRAGMA synchronous = NORMAL") != SQ_OK) {
        return -1; /* still FULL: the syncs here only repeat what the commit did */
    }
    return 0;
}

int acp_sa_sq_durable(acp_db_t *db)
{
    sq_gc_t *g = db->pgsql ? NULL : db->sq_gc;
    unsigned long mine, target;
    sq_file_t *wal = NULL;
    void *h;
    int rc = 0;

    if (!g || !(mine = g->pending)) {
        return 0;
    }
    pthread_mutex_lock(&gc_mu);
    if (gc_synced < mine) {
        target = __atomic_load_n(&gc_seq, __ATOMIC_ACQUIRE); /* all committed by now */
        h = apr_dbd_native_handle(db->driver, db->handle);
        if (!h || api.file_control(h, "main", SQ_FCNTL_JOURNAL_POINTER, &wal) != SQ_OK ||
            !wal || !wal->methods || !wal->methods->sync ||
            wal->methods->sync(wal, SQ_SYNC_NORMAL) != SQ_OK) {
            rc = -1;
        }
        else {
            gc_synced = target;
            __atomic_add_fetch(&gc_syncs, 1, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&gc_mu);
    if (rc == 0 && g->pending == mine) {
        g->pending = 0;
    }
    return rc;
}

unsigned long acp_sa_sq_wal_syncs(void)
{
    return __atomic_load_n(&gc_syncs, __ATOMIC_RELAXED);
}
