/* Storage authority: the only unit that talks SQL (apr_dbd prepared statements).
 * Every statement lives in the catalogue in acp_sa.c under a label; the module
 * registers the catalogue with mod_dbd (ap_dbd_prepare), acme-pay-admin and the
 * tests prepare it on their own apr_dbd connection (acp_sa_prepare_all). */
#ifndef ACP_SA_H
#define ACP_SA_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include "acp_core.h"

typedef struct acp_migration_t {
    const char *driver;    /* "sqlite3" | "pgsql" */
    int version;
    const char *name;
    const char *sql;
} acp_migration_t;

extern const acp_migration_t acp_migrations[];

typedef struct acp_sa_stmt_t {
    const char *label;
    const char *sql;
} acp_sa_stmt_t;

/* The catalogue, terminated by {NULL, NULL}: what the module prepares. */
extern const acp_sa_stmt_t acp_sa_catalogue[];
/* PostgreSQL only: statements SQLite cannot parse (acp_sa_catalogue.c). */
extern const acp_sa_stmt_t acp_sa_pg_catalogue[];
/* Statements only acme-pay-admin uses (acp_sa_admin.c); acp_sa_open prepares both. */
extern const acp_sa_stmt_t acp_sa_admin_catalogue[];
/* An admin statement with its per-driver search fragments ("@NAME@") filled in. */
const char *acp_sa_admin_sql(apr_pool_t *p, const char *sql, int pgsql);
/* A search text as the driver's search takes it: an FTS5 phrase (SQLite) or an
 * escaped ILIKE substring pattern (PostgreSQL). Texts under 3 characters match
 * nothing through the trigram indexes: callers ask for 3 or more. */
const char *acp_sa_search_pattern(apr_pool_t *p, const char *text, int pgsql);
/* text as a query of the word indexes (find's @W_x@ statements): its runs of ASCII letters
 * and digits, lowercase, the last one a prefix; NULL when it has none, or a byte outside
 * ASCII (then only the trigram indexes can answer). */
const char *acp_sa_search_words(apr_pool_t *p, const char *text, int pgsql);
#define ACP_SA_SEARCH_MIN 3

/* A database handle: what mod_dbd's ap_dbd_t carries, or what acp_sa_open made. */
typedef struct acp_db_t acp_db_t;
struct acp_db_t {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;   /* label -> apr_dbd_prepared_t* */
    /* Optional: the pool of the connection itself (mod_dbd's). When set, a statement
     * missing from prepared is prepared on first use and kept there for the life of
     * the connection: a new connection costs no round trip per catalogue entry. */
    apr_pool_t *stmt_pool;
    int pgsql;              /* 1 for pgsql, 0 for sqlite3 */
    /* SQLite only, optional: held from BEGIN to COMMIT/ROLLBACK so writers of this
     * server queue here instead of meeting SQLITE_BUSY, which apr_dbd_sqlite3 answers
     * with 100 ms sleeps (the glue passes an apr_global_mutex) */
    apr_status_t (*write_lock)(void *baton);
    apr_status_t (*write_unlock)(void *baton);
    void *lock_baton;
    int in_tx;              /* a transaction (and the lock) is held */
    /* AcmePayKeyFile's key (acp_secret.h): seals EAB keys and the nonce key; NULL: none */
    const struct acp_secret_key_t *secrets;
    /* Set when a statement failed because the database cannot be used right now
     * (connection lost or refused, disk full, read-only file system, file locked by
     * another program): the web front end answers 503 + Retry-After, not 500. */
    int unavailable;
    const char *fault;      /* the driver's message for the first such failure */
    int committed;          /* a COMMIT succeeded on this handle */
    /* Optional (the glue): replace a connection found dead by a fresh one. sa calls
     * it only where nothing can have happened yet on the dead connection (BEGIN, a
     * read outside a transaction), then runs the statement again. */
    apr_status_t (*reconnect)(acp_db_t *db, void *baton);
    void *reconnect_baton;
    int reconnects;         /* bound on reconnect calls for this handle */
    /* PostgreSQL: the driver's connection check re-established the connection under
     * the same handle (PQreset) after a failure: a new server session. Outside a
     * transaction the statement runs again; inside, the transaction is gone with the old
     * session and every statement fails until ROLLBACK (none may autocommit). */
    int session_reset;
    apr_pool_t *pool;       /* the pool the handle was wrapped in */
    /* PostgreSQL: acp_sa_begin sent nothing yet; BEGIN travels with the transaction's
     * first statement, in one message (a COMMIT or ROLLBACK before any is no round trip) */
    int begin_pending;
    /* PostgreSQL: writes of the open transaction not sent yet (acp_sa_exec_later), each
     * "EXECUTE label(…)" with its label; they go in one message with the transaction's
     * next statement or its COMMIT. later_pool (a subpool of pool) holds them until then
     * and is cleared when they were sent or dropped */
    apr_array_header_t *later;
    apr_pool_t *later_pool;
    /* SQLite: the connection's statements run on its own handle (acp_sa_sqlite.c): label
     * or text -> sqlite3_stmt, kept in sq_pool (the stmt_pool they were found in) */
    apr_hash_t *sq_cache;
    apr_pool_t *sq_pool;
    /* SQLite with group commit: the connection's commit counter (acp_sa_sqlite.c) */
    struct sq_gc_t *sq_gc;
    /* PostgreSQL: a read noted by acp_sa_prefetch, to travel with the next statement
     * (acp_sa_prefetch.c), then its rows for the statement after that */
    struct acp_sa_pf_t *pf;
    /* PostgreSQL: the transaction's last write went with its COMMIT (acp_sa_exec_commit):
     * acp_sa_commit has nothing left to send, and nothing may be written any more */
    int tx_done;
};

/* DBDParams for a log line or an error: passwords replaced by "***" (key=value
 * conninfo "password=…"/"pass=…"/"pwd=…", and the password of a postgresql:// URI). */
const char *acp_sa_params_safe(apr_pool_t *p, const char *driver, const char *params);
/* Was the last failure on db one of the "database unavailable" kind above? */
int acp_sa_unavailable(const acp_db_t *db);

/* Open a connection (driver "sqlite3"|"pgsql"), migrate it if migrate != 0,
 * and prepare the catalogue. The connection closes with pool p. */
apr_status_t acp_sa_open(apr_pool_t *p, const char *driver, const char *params, int migrate,
                         acp_db_t **out, const char **errmsg);
/* Per-connection settings, once for every new connection. SQLite: memory-mapped reads
 * of up to mmap_size bytes (0: none, SQLite's default; at most ACP_SA_MMAP_MAX).
 * PostgreSQL: no JIT compilation and no parallel workers (acp_sa.c says why). */
#define ACP_SA_MMAP_MAX 2147418112LL
apr_status_t acp_sa_tune(acp_db_t *db, apr_int64_t mmap_size);
/* Wrap an existing connection (mod_dbd's), with its prepared-statement hash. */
acp_db_t *acp_sa_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                      apr_hash_t *prepared);
apr_status_t acp_sa_prepare_all(apr_pool_t *p, acp_db_t *db, const char **errmsg);
/* Bring the schema to the newest version; idempotent and safe against concurrent
 * callers (SQLite: BEGIN IMMEDIATE; PostgreSQL: advisory lock). */
apr_status_t acp_sa_migrate(apr_pool_t *p, acp_db_t *db, int *version, const char **errmsg);
/* A statement's text run as is, no parameters, no rows (BEGIN, PRAGMA, a migration's
 * DDL); inside a transaction whose session was reset it refuses all but ROLLBACK. */
apr_status_t acp_sa_raw_exec(acp_db_t *db, const char *sql);

/* A write inside a transaction whose count of rows the caller does not read and whose
 * failure fails the transaction (the caller would roll back and answer 500 either way):
 * on PostgreSQL it is sent in one message with the transaction's next statement or its
 * COMMIT, a round trip less. Its failure is then that statement's or the commit's, and
 * the transaction is rolled back as for any other failure; a ROLLBACK (or ROLLBACK TO a
 * savepoint set before it) drops it unsent. Elsewhere (SQLite; outside a transaction)
 * it is acp_sa_exec. */
apr_status_t acp_sa_exec_later(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                               const char *const *args);

/* Transactions. SQLite uses BEGIN IMMEDIATE (take the write lock up front so a
 * busy database waits in busy_timeout instead of failing on lock upgrade). */
apr_status_t acp_sa_begin(acp_db_t *db);
apr_status_t acp_sa_commit(acp_db_t *db);
apr_status_t acp_sa_rollback(acp_db_t *db);
apr_status_t acp_sa_savepoint(acp_db_t *db, const char *name);
apr_status_t acp_sa_rollback_to(acp_db_t *db, const char *name);
/* Inside a transaction: its commit waits for the WAL flush even where the server's
 * synchronous_commit says otherwise (PostgreSQL; a no-op with SQLite). */
apr_status_t acp_sa_sync_commit(acp_db_t *db);

/* Spent nonces in the database (acp_sa_nonce.c; docs/ARCHITECTURE.md, Nonces). A nonce
 * of epoch E is spent by inserting it while the row of E is there; the table is
 * unlogged with PostgreSQL, so a crash empties it and with it every epoch row.
 * acp_sa_nonce_spend: 1 spent now, 0 used already or its epoch is gone, -1 error. */
int acp_sa_nonce_spend(acp_db_t *db, apr_pool_t *p, const char *nonce, long long expires,
                       apr_uint32_t epoch);
/* The row of an epoch in nonce_spent ("epoch:<N>"): while it is there, nonces of the
 * epoch can be spent. */
const char *acp_sa_nonce_epoch_row(apr_pool_t *p, apr_uint32_t epoch);
/* A nonce spent by a request that was then refused, given back (spendable again). */
apr_status_t acp_sa_nonce_unspend(acp_db_t *db, apr_pool_t *p, const char *nonce);
/* 1 when the row of epoch is there, 0 when not, -1 on error. */
int acp_sa_nonce_epoch_live(acp_db_t *db, apr_pool_t *p, apr_uint32_t epoch);
/* The live epoch: settings.nonce_epoch when its row is there, else the next one,
 * bumped with a synchronous commit and its row written (its own transaction; at most
 * one node wins a race, the others adopt its epoch). */
apr_status_t acp_sa_nonce_epoch(acp_db_t *db, apr_pool_t *p, apr_uint32_t *epoch);

/* Prepares label on this connection now, if it is not yet (it is otherwise on first
 * use): APR_ENOENT when no catalogue has it. */
apr_status_t acp_sa_prepared(acp_db_t *db, const char *label);

/* PostgreSQL: "EXECUTE label('a', NULL, …)" in p (the prepared statement, its arguments
 * as escaped literals), for a simple-query message that carries more than one statement */
const char *acp_sa_execute_sql(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                               const char *const *args);

/* PostgreSQL, outside a transaction: the read label(args) travels in one round trip with
 * the next statement, and its rows answer the statement after that if it is the same read
 * (nothing else may come between; anything else drops them). Elsewhere nothing happens
 * and the read runs when it is asked for. (acp_sa_prefetch.c) */
typedef struct acp_sa_pf_t acp_sa_pf_t;
apr_status_t acp_sa_prefetch(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                             const char *const *args);
/* acp_sa.c's statements meet the noted read: 1 when this statement was answered (from the
 * read's rows, or run together with it: rows for a read, *nrows for a write), 0 when it
 * still has to run; the read is then dropped. */
int acp_sa_pf_next(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                   const char *const *args, apr_array_header_t **rows, int *nrows);

/* The transaction's last write: on PostgreSQL it goes with the COMMIT, in one message
 * after what the transaction holds back (or, when nothing of the transaction was sent,
 * alone: one statement is a transaction), and acp_sa_commit then sends nothing. For a
 * write after which the caller commits whatever its count says; a failure leaves the
 * transaction to roll back, as any failure does. SQLite, or outside a transaction: as
 * acp_sa_exec. (acp_sa_prefetch.c reads the message's results.) */
apr_status_t acp_sa_exec_commit(acp_db_t *db, apr_pool_t *p, const char *label, int *nrows,
                                int nargs, const char *const *args);
int acp_sa_pg_commit_message(acp_db_t *db, const char *text, int *nrows);

/* Generic statement execution by label. args: nargs strings (NULL = SQL NULL). */
apr_status_t acp_sa_exec(acp_db_t *db, apr_pool_t *p, const char *label, int *nrows,
                         int nargs, const char *const *args);
/* First row's columns (array of const char*; NULL entries for SQL NULL) or *row = NULL
 * when there is none. The result set is always read to the end. */
apr_status_t acp_sa_row(acp_db_t *db, apr_pool_t *p, const char *label, const char ***row,
                        int nargs, const char *const *args);
/* All rows: an array of const char** rows. */
apr_status_t acp_sa_rows(acp_db_t *db, apr_pool_t *p, const char *label,
                         apr_array_header_t **rows, int nargs, const char *const *args);
const char *acp_sa_error(acp_db_t *db, apr_pool_t *p, int rv);
/* A function of the database library the apr_dbd driver loaded (libpq, libsqlite3), by
 * name, looked up once into *cache; NULL when that library is not loaded. */
void *acp_sa_driver_symbol(void **cache, const char *name);
/* The number of arguments catalogue statement label takes on this driver; -1: not in the
 * catalogue. acp_sa_exec and acp_sa_rows refuse (APR_EINVAL) a call giving another count. */
int acp_sa_stmt_nargs(int pgsql, const char *label);
/* The catalogue entry label runs as on this driver: PostgreSQL's own twin first, then
 * the module's catalogue, then the staff tool's (*admin = 1: its @NAME@ fragments are
 * filled by acp_sa_admin_sql); NULL when none names it. */
const acp_sa_stmt_t *acp_sa_stmt_find(int pgsql, const char *label, int *admin);
/* acp_sa_rows, stopped after ms milliseconds (PostgreSQL: statement_timeout in a
 * transaction of its own; SQLite: a progress handler). *stopped = 1 and no rows when it
 * was: a result cut short is never returned as if it were whole. ms <= 0, or inside a
 * transaction: no limit. (acp_sa_bounds.c) */
apr_status_t acp_sa_rows_within(acp_db_t *db, apr_pool_t *p, const char *label, int ms,
                                int *stopped, apr_array_header_t **rows, int nargs,
                                const char *const *args);

/* SQLite statements on the connection's own handle, without apr_dbd_sqlite3's process-wide
 * mutex (acp_sa_sqlite.c; acp_sa.c's calls go there first on SQLite). Each returns 0, an
 * SQLite result code (its message: acp_sa_error), ACP_SQ_OFF when apr_dbd must run it
 * (PostgreSQL, no statement pool, or a library without thread safety), or ACP_SQ_UNKNOWN
 * when no catalogue has label. */
#define ACP_SQ_OFF (-1)
#define ACP_SQ_UNKNOWN (-2)
int acp_sa_sq_prepare(acp_db_t *db, const char *label);
/* label's statement on nargs text arguments; rows (NULL: none wanted) as acp_sa_rows gives
 * them, in p; nrows (NULL: not wanted) the rows it changed; *unprepared = 1 when it failed
 * before running (preparing it) */
int acp_sa_sq_run(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                  const char *const *args, apr_array_header_t **rows, int *nrows,
                  int *unprepared);
/* Before the process's first SQLite connection (acp_sa_open): no memory statistics */
void acp_sa_sq_setup(void);
/* sql run as is (acp_sa_raw_exec): its statements one after another, rows ignored */
int acp_sa_sq_exec_text(acp_db_t *db, const char *sql);
/* Group commit on db's connection (once per connection): PRAGMA synchronous = NORMAL and
 * a WAL hook that numbers its commits; 0 when on, -1 when this path is not taken (the
 * connection stays as it was). */
int acp_sa_sq_group_commit(acp_db_t *db);
/* The connection's last commit on disk (its WAL synced, unless another thread's sync since
 * then covered it); 0 also when there is nothing to sync, -1 when the sync failed. Call it
 * after letting go of the writers' lock and before answering. */
int acp_sa_sq_durable(acp_db_t *db);
/* WAL syncs acp_sa_sq_durable made in this process. */
unsigned long acp_sa_sq_wal_syncs(void);

#define ACP_SA_ARGS(...) \
    (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
        (const char *const[]){__VA_ARGS__}
#define ACP_SA_NOARGS 0, (const char *const *)NULL

const char *acp_sa_ll(apr_pool_t *p, long long v);  /* "%lld" */
long long acp_sa_atoll(const char *s);            /* NULL -> 0 */


/* Records, as the catalogue's column lists read them (acp_sa_records.c). */
typedef struct acp_account_t {
    const char *id, *thumbprint, *jwk, *status, *contacts, *eab_kid, *billing_id;
    int tos_agreed;
    long long created;
} acp_account_t;

typedef struct acp_order_t {
    const char *id, *account_id, *status, *identifiers, *names_key, *error, *csr, *cert_id;
    const char *replaces;      /* RFC 9773 certID this order replaces, or NULL */
    const char *profile;       /* the profile it was placed under, or NULL */
    long long expires, not_before, not_after, price, created;
    int has_price;
    apr_array_header_t *authzs; /* acp_authz_t *: read with it (acp_sa_order_with_authzs), or NULL */
} acp_order_t;

typedef struct acp_authz_t {
    const char *id, *account_id, *ident, *status;
    int wildcard;
    long long expires;
    apr_array_header_t *challs; /* acp_chall_t *: read with it (acp_sa_authz_with_challs), or NULL */
    /* read with its order (acp_sa_order_with_authzs): valid_known = 1, and its oldest
     * valid challenge's type and validation time (valid_type NULL: none) */
    int valid_known;
    const char *valid_type;
    long long valid_at;
} acp_authz_t;

typedef struct acp_chall_t {
    const char *id, *authz_id, *type, *token, *status, *error;
    long long validated;
} acp_chall_t;

typedef struct acp_cert_t {
    const char *id, *serial, *order_id, *account_id, *billing_id, *names_key, *pem;
    long long not_before, not_after, issued, revoked;
    int revoked_reason;
} acp_cert_t;

typedef struct acp_job_t {
    const char *id, *kind, *ref;
    int attempts;
    /* scheduling hints, not stored (may be NULL): validation: the account and the
     * identifier, so the workers can serve accounts and target hosts fairly */
    const char *owner, *target;
    /* a validation's challenge, authorization and account key thumbprint as whoever
     * queued or claimed it read them, not stored (NULL: the worker reads them). Only
     * the challenge's status changes while it is processing, and only its job moves it */
    const acp_chall_t *chall;
    const acp_authz_t *authz;
    const char *thumbprint;
} acp_job_t;

/* The records' reads a request can name before it has its account (acp_sa_prefetch):
 * what acp_sa_authz_with_challs, acp_sa_order_with_authzs, acp_sa_cert_get,
 * acp_sa_chall_authz (no count) and acp_sa_account_by_thumbprint read for key */
typedef enum {
    ACP_READ_AUTHZ_CHALLS,
    ACP_READ_ORDER_AUTHZS,
    ACP_READ_CERT,
    ACP_READ_CHALL_AUTHZ,
    ACP_READ_ACCT_BY_THUMB
} acp_sa_read_t;
void acp_sa_prefetch_read(acp_db_t *db, apr_pool_t *p, acp_sa_read_t read, const char *key);
/* acp_sa_chall_authz_failed's read, noted the same way */
void acp_sa_prefetch_chall_failed(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                  long long failed_since);

/* Getters: APR_SUCCESS with *out set, APR_NOTFOUND when absent, else a db error. */
apr_status_t acp_sa_account_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_account_t **out);
/* PostgreSQL: acp_sa_account_get and acp_sa_nonce_spend in one round trip; *spent as
 * acp_sa_nonce_spend's answer (1 spent now, 0 not), also when the account is not found
 * (APR_NOTFOUND). */
apr_status_t acp_sa_account_spend(acp_db_t *db, apr_pool_t *p, const char *id,
                                  const char *nonce, long long expires, apr_uint32_t epoch,
                                  acp_account_t **out, int *spent);
apr_status_t acp_sa_account_by_thumbprint(acp_db_t *db, apr_pool_t *p, const char *thumb,
                                          acp_account_t **out);
apr_status_t acp_sa_order_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_order_t **out);
/* An order and its authorizations (order->authzs, in the order's order) in one round
 * trip. */
apr_status_t acp_sa_order_with_authzs(acp_db_t *db, apr_pool_t *p, const char *id,
                                      acp_order_t **out);
/* Authorizations of an order, in identifier order (array of acp_authz_t*). */
apr_status_t acp_sa_order_authzs(acp_db_t *db, apr_pool_t *p, const char *order_id,
                                 apr_array_header_t **out);
apr_status_t acp_sa_authz_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_authz_t **out);
/* An authorization and its challenges (authz->challs, by type) in one round trip. */
apr_status_t acp_sa_authz_with_challs(acp_db_t *db, apr_pool_t *p, const char *id,
                                      acp_authz_t **out);
/* A challenge, its authorization and (thumbprint, may be NULL) its account's key
 * thumbprint in one round trip. */
apr_status_t acp_sa_chall_authz(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                acp_chall_t **chall, acp_authz_t **authz, const char **thumbprint);
/* The same for a challenge answer, with the account's failed validations of the
 * authorization's name since failed_since (*failed) and the oldest of them. */
apr_status_t acp_sa_chall_authz_failed(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                       long long failed_since, acp_chall_t **chall,
                                       acp_authz_t **authz, long long *failed,
                                       long long *failed_oldest);
/* PostgreSQL: newOrder's first read (acp_new_order_read, args as the catalogue names
 * them) for an order of nnames names: *counts, acp_limit_new_order's five columns; *reuse,
 * for each name in turn the account's valid authorization to reuse or NULL
 * (acp_authz_t *, as acp_sa_authz_reusable finds it). */
apr_status_t acp_sa_new_order_read(acp_db_t *db, apr_pool_t *p, int nargs,
                                   const char *const *args, int nnames, const char ***counts,
                                   apr_array_header_t **reuse);
apr_status_t acp_sa_authz_reusable(acp_db_t *db, apr_pool_t *p, const char *account_id,
                                   const char *ident, int wildcard, long long min_expires,
                                   acp_authz_t **out);
/* Challenges of an authorization (array of acp_chall_t*). */
apr_status_t acp_sa_authz_challs(acp_db_t *db, apr_pool_t *p, const char *authz_id,
                                 apr_array_header_t **out);
apr_status_t acp_sa_cert_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_cert_t **out);
apr_status_t acp_sa_cert_by_serial(acp_db_t *db, apr_pool_t *p, const char *serial,
                                   acp_cert_t **out);
/* Jobs that are due and unclaimed (array of acp_job_t*). */
apr_status_t acp_sa_jobs_due(acp_db_t *db, apr_pool_t *p, long long now,
                             apr_array_header_t **out);
/* Insert a job row; *id set to its new id. */
apr_status_t acp_sa_job_add(acp_db_t *db, apr_pool_t *p, const char *kind, const char *ref,
                            long long run_after, const char **id);
/* A challenge answered: pending -> processing, with its validation job queued claimed
 * until claimed_until (0: unclaimed). *moved 0 when it was no longer pending (nothing
 * written); *job_id the job's id. One statement on PostgreSQL, the transaction's last
 * write: it goes with the COMMIT (acp_sa_exec_commit). */
apr_status_t acp_sa_chall_respond(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                  long long claimed_until, int *moved, const char **job_id);
/* The same, already claimed until claimed_until (0: unclaimed) by the caller. */
apr_status_t acp_sa_job_add_claimed(acp_db_t *db, apr_pool_t *p, const char *kind,
                                    const char *ref, long long run_after, long long claimed_until,
                                    const char **id);
/* Claim a job until now+lease: APR_SUCCESS when this caller got it, APR_EBUSY otherwise. */
apr_status_t acp_sa_job_claim(acp_db_t *db, apr_pool_t *p, const char *id, long long now,
                              int lease);

/* The figures server-status shows (acp_sa_status). */
typedef struct acp_sa_status_t {
    apr_array_header_t *orders;  /* acp_sa_count_t, by status name */
    long long certs_total, certs_last_hour, jobs_pending, invoices_open, revenue_today;
} acp_sa_status_t;

typedef struct acp_sa_count_t {
    const char *name;
    long long n;
} acp_sa_count_t;

/* Read them at `now` (unix seconds): last hour = [now - 3600, now], today = the UTC day;
 * an open invoice past its expiry does not count; revenue = debits minus refunds. */
apr_status_t acp_sa_status(acp_db_t *db, apr_pool_t *p, long long now, acp_sa_status_t *out);

#endif
