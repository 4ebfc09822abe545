/* Storage authority, nonces and base64url against a real SQLite file. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_sa.h"
#include "acp_nonce.h"
#include "acp_util.h"

static void test_b64url(apr_pool_t *p)
{
    unsigned char *out = NULL;
    size_t n = 0;

    CHECK_STR(acp_b64url_encode(p, (const unsigned char *)"", 0), "");
    CHECK_STR(acp_b64url_encode(p, (const unsigned char *)"f", 1), "Zg");
    CHECK_STR(acp_b64url_encode(p, (const unsigned char *)"fo", 2), "Zm8");
    CHECK_STR(acp_b64url_encode(p, (const unsigned char *)"foo", 3), "Zm9v");
    CHECK_STR(acp_b64url_encode(p, (const unsigned char *)"\xfb\xff", 2), "-_8");
    CHECK(acp_b64url_decode(p, "Zm9vYg", 6, &out, &n) == 0 && n == 4 && !memcmp(out, "foob", 4));
    CHECK(acp_b64url_decode(p, "-_8", 3, &out, &n) == 0 && n == 2 && out[0] == 0xfb);
    CHECK(acp_b64url_decode(p, "Zm9v=", 5, &out, &n) != 0);   /* padding */
    CHECK(acp_b64url_decode(p, "Zm+v", 4, &out, &n) != 0);    /* standard alphabet */
    CHECK(acp_b64url_decode(p, "Zm9 v", 5, &out, &n) != 0);   /* whitespace */
    CHECK(acp_b64url_decode(p, "Z", 1, &out, &n) != 0);       /* impossible length */
    CHECK(acp_b64url_decode(p, "Zh", 2, &out, &n) != 0);      /* non-canonical tail bits */
}

static void test_time(apr_pool_t *p)
{
    long long t = 0;
    CHECK_STR(acp_rfc3339(p, 0), "1970-01-01T00:00:00Z");
    CHECK(acp_rfc3339_parse("2026-11-22T10:00:00Z", &t) == 0 && t == 1795341600LL);
    CHECK(acp_rfc3339_parse("2026-11-22T12:00:00+02:00", &t) == 0 && t == 1795341600LL);
    CHECK(acp_rfc3339_parse("2026-11-22T10:00:00.123Z", &t) == 0 && t == 1795341600LL);
    CHECK(acp_rfc3339_parse("2026-11-22 10:00", &t) != 0);
    CHECK(acp_rfc3339_parse("2026-11-22T10:00:00Zjunk", &t) != 0);
}

static void test_nonce(apr_pool_t *p)
{
    unsigned char key[ACP_NONCE_KEY_LEN], other[ACP_NONCE_KEY_LEN];
    long long now = 1800000000LL;
    acp_nonce_info_t info;
    char *n1, *n2, *bad;

    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    n1 = acp_nonce_make(p, key, NULL, now);
    n2 = acp_nonce_make(p, key, NULL, now);
    CHECK(strcmp(n1, n2) != 0);
    CHECK(strlen(n1) == 43);
    CHECK(acp_nonce_check(p, key, n1, now, &info) == 0 && info.expires == now + ACP_NONCE_LIFETIME &&
          info.epoch == 0);
    CHECK(acp_nonce_check(p, other, n1, now, &info) != 0);            /* forged */
    CHECK(acp_nonce_check(p, key, n1, now + ACP_NONCE_LIFETIME + 1, &info) != 0); /* expired */
    bad = apr_pstrdup(p, n1);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    CHECK(acp_nonce_check(p, key, bad, now, &info) != 0);            /* tampered */
    CHECK(acp_nonce_check(p, key, "", now, &info) != 0);
    CHECK(acp_nonce_check(p, key, NULL, now, &info) != 0);
    /* the database's epoch travels in the nonce, under the MAC */
    n1 = acp_nonce_make_epoch(p, key, 77, now);
    n2 = acp_nonce_make_epoch(p, key, 77, now);
    CHECK(strcmp(n1, n2) != 0 && strlen(n1) == 43);
    CHECK(acp_nonce_check(p, key, n1, now, &info) == 0 && info.epoch == 77 &&
          info.expires == now + ACP_NONCE_LIFETIME);
    CHECK(acp_nonce_check(p, other, n1, now, &info) != 0);
}

/* The nonce's MAC is HMAC-SHA256(key, first 16 bytes)[0..15], whatever context the
 * thread has cached (a second key on the same thread must not reuse the first). */
static void test_nonce_mac(apr_pool_t *p)
{
    unsigned char k1[ACP_NONCE_KEY_LEN], k2[ACP_NONCE_KEY_LEN], *raw = NULL, mac[32];
    unsigned int maclen = 0;
    size_t len = 0;
    int i, ok = 1;
    acp_nonce_info_t info;

    memset(k1, 1, sizeof(k1));
    memset(k2, 2, sizeof(k2));
    for (i = 0; i < 6; i++) {
        const unsigned char *k = i % 2 ? k2 : k1;
        const char *n = acp_nonce_make(p, k, NULL, 1800000000LL + i);
        ok = ok && acp_b64url_decode(p, n, strlen(n), &raw, &len) == 0 && len == 32 &&
             HMAC(EVP_sha256(), k, ACP_NONCE_KEY_LEN, raw, 16, mac, &maclen) != NULL &&
             memcmp(mac, raw + 16, 16) == 0 &&
             acp_nonce_check(p, k, n, 1800000000LL, &info) == 0 &&
             acp_nonce_check(p, i % 2 ? k1 : k2, n, 1800000000LL, &info) != 0;
    }
    CHECK(ok);
}

static acp_nonce_store_t *new_store(void **mem)
{
    *mem = mmap(NULL, acp_nonce_store_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
    return *mem == MAP_FAILED ? NULL : acp_nonce_store_init(*mem);
}

static void test_nonce_store(apr_pool_t *p)
{
    unsigned char key[ACP_NONCE_KEY_LEN];
    long long now = 1800000000LL;
    acp_nonce_info_t a, b, db_nonce, forged, wrapped;
    void *mem = NULL, *mem2 = NULL;
    acp_nonce_store_t *st = new_store(&mem), *st2 = new_store(&mem2);
    const char *na, *nb;
    unsigned long i;

    memset(key, 9, sizeof(key));
    CHECK(st != NULL && st2 != NULL);
    if (!st || !st2) {
        return;
    }
    na = acp_nonce_make(p, key, st, now);
    nb = acp_nonce_make(p, key, st, now);
    CHECK(acp_nonce_check(p, key, na, now, &a) == 0 && a.epoch != 0 && a.seq == 0);
    CHECK(acp_nonce_check(p, key, nb, now, &b) == 0 && b.epoch == a.epoch && b.seq == 1);
    /* spent once, in any order */
    CHECK(acp_nonce_redeem(st, &b) == 0);
    CHECK(acp_nonce_redeem(st, &a) == 0);
    CHECK(acp_nonce_redeem(st, &a) != 0);
    CHECK(acp_nonce_redeem(st, &b) != 0);
    /* another store (a restart) refuses them; so does a store for a database nonce */
    CHECK(acp_nonce_redeem(st2, &a) != 0);
    CHECK(acp_nonce_check(p, key, acp_nonce_make(p, key, NULL, now), now, &db_nonce) == 0);
    CHECK(acp_nonce_redeem(st, &db_nonce) != 0);
    CHECK(acp_nonce_redeem(NULL, &a) != 0);
    /* an issue number the store never handed out (only with the key) is refused */
    forged = a;
    forged.seq = 1000;
    CHECK(acp_nonce_redeem(st, &forged) != 0);
    /* a slot is reused ACP_NONCE_SLOTS issues later: the later nonce spent first
     * supersedes the earlier one, which then fails (the client retries) */
    {
        apr_pool_t *sp;
        apr_pool_create(&sp, p);
        for (i = 2; i < ACP_NONCE_SLOTS + 3; i++) {
            acp_nonce_make(sp, key, st, now);
            if ((i & 4095) == 0) {
                apr_pool_clear(sp);
            }
        }
        apr_pool_destroy(sp);
    }
    wrapped = a;
    wrapped.seq = a.seq + ACP_NONCE_SLOTS + 2; /* slot 2 */
    a.seq = 2;
    CHECK(acp_nonce_redeem(st, &wrapped) == 0);
    CHECK(acp_nonce_redeem(st, &a) != 0);
    CHECK(acp_nonce_redeem(st, &wrapped) != 0);
    munmap(mem, acp_nonce_store_size());
    munmap(mem2, acp_nonce_store_size());
}

/* Processes sharing the table (as Apache children do) race to spend the same nonces:
 * each nonce is accepted exactly once. */
static void test_nonce_store_race(apr_pool_t *p)
{
    enum { PROCS = 4, NONCES = 2000 };
    unsigned char key[ACP_NONCE_KEY_LEN];
    long long now = 1800000000LL;
    void *mem = NULL;
    acp_nonce_store_t *st = new_store(&mem);
    acp_nonce_info_t *infos = apr_pcalloc(p, sizeof(*infos) * NONCES);
    unsigned int *wins = mmap(NULL, sizeof(unsigned int) * NONCES, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t kids[PROCS];
    int i, k, ok = 1, status = 0;

    memset(key, 5, sizeof(key));
    CHECK(st != NULL && wins != MAP_FAILED);
    if (!st || wins == MAP_FAILED) {
        return;
    }
    for (i = 0; i < NONCES; i++) {
        acp_nonce_check(p, key, acp_nonce_make(p, key, st, now), now, &infos[i]);
    }
    for (k = 0; k < PROCS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            for (i = 0; i < NONCES; i++) {
                int j = (i * (k + 1) * 7) % NONCES; /* each process its own order */
                if (acp_nonce_redeem(st, &infos[j]) == 0) {
                    __atomic_fetch_add(&wins[j], 1, __ATOMIC_RELAXED);
                }
            }
            _exit(0);
        }
    }
    for (k = 0; k < PROCS; k++) {
        waitpid(kids[k], &status, 0);
        ok = ok && kids[k] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK(ok);
    for (i = 0; i < NONCES && ok; i++) {
        ok = wins[i] == 1;
    }
    CHECK(ok); /* every nonce spent exactly once */
    munmap(wins, sizeof(unsigned int) * NONCES);
    munmap(mem, acp_nonce_store_size());
}

/* Nonces spent in the database (AcmePayNonceStore database): db and db2 stand for two
 * nodes on one database. A nonce passes once, only while the row of its epoch is
 * there; losing the table (what a PostgreSQL crash does to an unlogged table) refuses
 * every nonce of that epoch, spent or not, and the next epoch is started exactly once. */
static void test_db_nonces(apr_pool_t *p, acp_db_t *db, acp_db_t *db2)
{
    apr_uint32_t e1 = 0, e2 = 0, e3 = 0;

    CHECK(acp_sa_nonce_epoch(db, p, &e1) == APR_SUCCESS && e1 == 1);
    CHECK(acp_sa_nonce_epoch(db2, p, &e2) == APR_SUCCESS && e2 == e1); /* adopted, no bump */
    CHECK(acp_sa_nonce_epoch_live(db, p, e1) == 1);
    CHECK(acp_sa_nonce_spend(db, p, "abc", 100, e1) == 1);
    CHECK(acp_sa_nonce_spend(db, p, "abc", 100, e1) == 0);  /* replay, same node */
    CHECK(acp_sa_nonce_spend(db2, p, "abc", 100, e1) == 0); /* replay, other node */
    CHECK(acp_sa_nonce_spend(db2, p, "abd", 100, e1) == 1);
    CHECK(acp_sa_nonce_spend(db, p, "abe", 100, e1 + 1) == 0); /* an epoch never started */
    CHECK(acp_sa_nonce_spend(db, p, "abf", 100, 0) == 0);
    CHECK(acp_sa_nonce_epoch_live(db, p, 0) == 0);
    /* pruning expired nonces keeps the epoch row and the live ones */
    CHECK(acp_sa_exec(db, p, "acp_nonce_prune", NULL, ACP_SA_ARGS("101")) == APR_SUCCESS);
    CHECK(acp_sa_nonce_epoch_live(db, p, e1) == 1);
    CHECK(acp_sa_nonce_spend(db, p, "abg", 200, e1) == 1);
    CHECK(acp_sa_exec(db, p, "acp_nonce_prune", NULL, ACP_SA_ARGS("150")) == APR_SUCCESS);
    CHECK(acp_sa_nonce_spend(db2, p, "abg", 200, e1) == 0);
    /* the table is lost (every row, as a crash truncates it) */
    CHECK(acp_sa_exec(db, p, "acp_nonce_prune", NULL, ACP_SA_ARGS("4611686018427387905")) ==
          APR_SUCCESS);
    CHECK(acp_sa_nonce_epoch_live(db, p, e1) == 0);
    CHECK(acp_sa_nonce_spend(db, p, "abg", 200, e1) == 0); /* spent before: still refused */
    CHECK(acp_sa_nonce_spend(db, p, "abh", 200, e1) == 0); /* never spent: refused too */
    CHECK(acp_sa_nonce_epoch(db2, p, &e3) == APR_SUCCESS && e3 == e1 + 1);
    CHECK(acp_sa_nonce_epoch(db, p, &e2) == APR_SUCCESS && e2 == e3); /* bumped once */
    CHECK(acp_sa_nonce_spend(db, p, "abh", 200, e3) == 1);
    CHECK(acp_sa_nonce_spend(db2, p, "abh", 200, e3) == 0);
    CHECK(acp_sa_nonce_spend(db, p, "abg", 200, e1) == 0);
}

/* Two connections of one process run statements at the same time (acp_sa_sqlite.c): a
 * statement of db held inside sqlite3_step (its progress handler waits for a signal) does
 * not stop one of db2. Through apr_dbd_sqlite3 it did: the driver's process-wide mutex
 * made db2's statement wait until db's ended, and the handler's wait ran out (5 s). */
typedef struct par_t {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, released, timed_out;
    acp_db_t *db;
    apr_pool_t *p;
    apr_status_t rv;
} par_t;

/* waits on s->cv until *flag or 5 s; 0 when the time ran out */
static int par_wait(par_t *s, const int *flag)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (!*flag) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            return 0;
        }
    }
    return 1;
}

static int par_progress(void *arg)
{
    par_t *s = arg;

    pthread_mutex_lock(&s->mu);
    if (!s->entered) {
        s->entered = 1;
        pthread_cond_broadcast(&s->cv);
        s->timed_out = !par_wait(s, &s->released);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void *par_reader(void *arg)
{
    par_t *s = arg;
    const char **row = NULL;

    s->rv = acp_sa_row(s->db, s->p, "acp_setting_get", &row, ACP_SA_ARGS("held"));
    return NULL;
}

static void test_db_parallel(apr_pool_t *p, acp_db_t *db, acp_db_t *db2)
{
    void (*progress)(void *, int, int (*)(void *), void *);
    void *h = apr_dbd_native_handle(db->driver, db->handle);
    const char **row = NULL;
    apr_pool_t *tp = NULL;
    pthread_t t;
    par_t s;
    int entered;

    *(void **)&progress = dlsym(RTLD_DEFAULT, "sqlite3_progress_handler");
    CHECK(progress != NULL && h != NULL);
    if (!progress || !h) {
        return;
    }
    /* each connection's statement prepared here first: the thread allocates from its own
     * pool only */
    CHECK(acp_sa_row(db, p, "acp_setting_get", &row, ACP_SA_ARGS("x")) == APR_SUCCESS);
    CHECK(acp_sa_row(db2, p, "acp_setting_get", &row, ACP_SA_ARGS("x")) == APR_SUCCESS);
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    apr_pool_create(&tp, NULL);
    s.db = db;
    s.p = tp;
    progress(h, 1, par_progress, &s);
    CHECK(pthread_create(&t, NULL, par_reader, &s) == 0);
    pthread_mutex_lock(&s.mu);
    entered = par_wait(&s, &s.entered);
    pthread_mutex_unlock(&s.mu);
    CHECK(entered);
    /* db's statement is inside sqlite3_step now */
    CHECK(acp_sa_row(db2, p, "acp_setting_get", &row, ACP_SA_ARGS("beside")) == APR_SUCCESS &&
          row == NULL);
    pthread_mutex_lock(&s.mu);
    s.released = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    pthread_join(t, NULL);
    progress(h, 0, NULL, NULL);
    CHECK(s.rv == APR_SUCCESS);
    CHECK(!s.timed_out); /* db2's statement ran while db's was held */
    apr_pool_destroy(tp);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
}

/* SQLite's search rows wait in search_queue and reach the FTS5 tables in batches
 * (migration 030): by the insert that finds 256 rows queued, or by a search's drain */
static long long dense_holders(acp_db_t *db, apr_pool_t *p, const char *text)
{
    const char **row = NULL;
    if (acp_sa_row(db, p, "adm_holders_dense", &row, ACP_SA_ARGS(text)) != APR_SUCCESS ||
        !row || !row[0]) {
        return -1;
    }
    return atoll(row[0]);
}

static const char *queued(acp_db_t *db, apr_pool_t *p)
{
    const char **row = NULL;
    if (acp_sa_row(db, p, "adm_search_queued", &row, ACP_SA_NOARGS) != APR_SUCCESS || !row) {
        return "error";
    }
    return row[0] ? row[0] : "NULL";
}

static void test_db_search_queue(apr_pool_t *p, acp_db_t *db, acp_db_t *db2)
{
    int i;

    CHECK_STR(queued(db, p), "0");
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("hq0", "account", "Queued Shop", "0", "1", NULL, "0")) ==
          APR_SUCCESS);
    /* committed, queued, not yet in the word table */
    CHECK_STR(queued(db2, p), "1");
    CHECK(dense_holders(db2, p, "queued shop") == 0);
    CHECK(acp_sa_exec(db2, p, "adm_search_drain", NULL, ACP_SA_NOARGS) == APR_SUCCESS);
    CHECK_STR(queued(db, p), "0");
    CHECK(dense_holders(db, p, "queued shop") == 1);
    /* 255 rows wait; the 256th moves all of them, in one transaction */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    for (i = 1; i <= 256; i++) {
        char id[16], label[32];
        apr_snprintf(id, sizeof(id), "hq%d", i);
        apr_snprintf(label, sizeof(label), "Batch Holder %d", i);
        CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                          ACP_SA_ARGS(id, "account", label, "0", "1", NULL, "0")) == APR_SUCCESS);
        if (i == 255) {
            CHECK(dense_holders(db, p, "batch holder") == 0);
        }
    }
    CHECK(dense_holders(db, p, "batch holder") == 256);
    CHECK_STR(queued(db, p), "0");
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(dense_holders(db2, p, "batch holder 256") == 1);
    CHECK(dense_holders(db2, p, "queued shop") == 1);
}

/* PRAGMA synchronous of db's connection (-1: not readable) */
static int sq_synchronous(acp_db_t *db)
{
    int (*prepare)(void *, const char *, int, void **, const char **);
    int (*step)(void *), (*col)(void *, int), (*fin)(void *);
    void *h = apr_dbd_native_handle(db->driver, db->handle), *st = NULL;
    int v = -1;

    *(void **)&prepare = dlsym(RTLD_DEFAULT, "sqlite3_prepare_v2");
    *(void **)&step = dlsym(RTLD_DEFAULT, "sqlite3_step");
    *(void **)&col = dlsym(RTLD_DEFAULT, "sqlite3_column_int");
    *(void **)&fin = dlsym(RTLD_DEFAULT, "sqlite3_finalize");
    if (h && prepare && step && col && fin && prepare(h, "PRAGMA synchronous", -1, &st, NULL) == 0) {
        if (step(st) == 100) {
            v = col(st, 0);
        }
        fin(st);
    }
    return v;
}

static apr_status_t gc_insert(acp_db_t *db, apr_pool_t *p, const char *id)
{
    return acp_sa_exec(db, p, "acp_billing_insert", NULL,
                       ACP_SA_ARGS(id, "account", NULL, "0", "1", NULL, "0"));
}

typedef struct {
    const char *path;
    int idx, n, ok;
} gc_thread_t;

static void *gc_writer(void *arg)
{
    gc_thread_t *t = arg;
    apr_pool_t *tp = NULL;
    acp_db_t *db = NULL;
    const char *err = NULL;
    int i;

    apr_pool_create(&tp, NULL);
    if (acp_sa_open(tp, "sqlite3", t->path, 0, &db, &err) == APR_SUCCESS &&
        acp_sa_sq_group_commit(db) == 0) {
        for (i = 0; i < t->n; i++) {
            char id[32];
            apr_snprintf(id, sizeof(id), "gct%d-%d", t->idx, i);
            /* another connection's writer holds the lock: retried as BEGIN is */
            if (acp_sa_begin(db) == APR_SUCCESS && gc_insert(db, tp, id) == APR_SUCCESS &&
                acp_sa_commit(db) == APR_SUCCESS) {
                t->ok++;
            }
        }
    }
    apr_pool_destroy(tp);
    return NULL;
}

/* Group commit (AcmePaySQLiteGroupCommit): the connection commits with synchronous =
 * NORMAL and syncs its WAL after the commit, once; a transaction that wrote nothing, or
 * whose commit another connection's sync covered, syncs nothing. */
static void test_db_group_commit(apr_pool_t *p, const char *path)
{
    acp_db_t *db = NULL, *db2 = NULL;
    const char *err = NULL, **row = NULL;
    unsigned long s0;
    gc_thread_t t[4];
    pthread_t th[4];
    int i, ok = 0;

    CHECK(acp_sa_open(p, "sqlite3", path, 0, &db, &err) == APR_SUCCESS);
    CHECK(acp_sa_open(p, "sqlite3", path, 0, &db2, &err) == APR_SUCCESS);
    if (!db || !db2) {
        return;
    }
    CHECK(sq_synchronous(db) == 2); /* FULL, SQLite's default, until asked */
    CHECK(acp_sa_sq_group_commit(db) == 0 && acp_sa_sq_group_commit(db2) == 0);
    CHECK(acp_sa_sq_group_commit(db) == 0); /* once per connection */
    CHECK(sq_synchronous(db) == 1 && sq_synchronous(db2) == 1);

    /* a write transaction: one sync, after its commit */
    s0 = acp_sa_sq_wal_syncs();
    CHECK(acp_sa_begin(db) == APR_SUCCESS && gc_insert(db, p, "gc1") == APR_SUCCESS);
    CHECK(acp_sa_sq_wal_syncs() == s0);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(acp_sa_sq_wal_syncs() == s0 + 1);
    /* a transaction that only read: none */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_row(db, p, "acp_setting_get", &row, ACP_SA_ARGS("x")) == APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(acp_sa_sq_wal_syncs() == s0 + 1);
    /* a write outside a transaction commits on its own: synced before it returns */
    CHECK(gc_insert(db, p, "gc2") == APR_SUCCESS);
    CHECK(acp_sa_sq_wal_syncs() == s0 + 2);
    /* db2 committed (not yet synced), then db committed and synced: db's sync covered
     * db2's commit, so db2 has nothing left to sync */
    CHECK(acp_sa_begin(db2) == APR_SUCCESS && gc_insert(db2, p, "gc3") == APR_SUCCESS);
    CHECK(acp_sa_raw_exec(db2, "COMMIT") == APR_SUCCESS);
    CHECK(acp_sa_begin(db) == APR_SUCCESS && gc_insert(db, p, "gc4") == APR_SUCCESS &&
          acp_sa_commit(db) == APR_SUCCESS);
    CHECK(acp_sa_sq_wal_syncs() == s0 + 3);
    db2->in_tx = 0; /* (committed by hand above) */
    CHECK(acp_sa_sq_durable(db2) == 0);
    CHECK(acp_sa_sq_wal_syncs() == s0 + 3);
    /* db did not commit since its sync: nothing */
    CHECK(acp_sa_sq_durable(db) == 0 && acp_sa_sq_wal_syncs() == s0 + 3);

    /* a connection closed with a commit not yet synced: its counter is not a statement
     * (closing once passed it to sqlite3_finalize) */
    {
        apr_pool_t *cp = NULL;
        acp_db_t *db3 = NULL;
        apr_pool_create(&cp, p);
        CHECK(acp_sa_open(cp, "sqlite3", path, 0, &db3, &err) == APR_SUCCESS && db3 &&
              acp_sa_sq_group_commit(db3) == 0);
        if (db3) {
            CHECK(acp_sa_begin(db3) == APR_SUCCESS && gc_insert(db3, cp, "gc5") == APR_SUCCESS);
            CHECK(acp_sa_raw_exec(db3, "COMMIT") == APR_SUCCESS);
            db3->in_tx = 0;
        }
        apr_pool_destroy(cp);
    }

    /* four writers at once: every commit kept, at most one sync each */
    s0 = acp_sa_sq_wal_syncs();
    for (i = 0; i < 4; i++) {
        t[i].path = path;
        t[i].idx = i;
        t[i].n = 25;
        t[i].ok = 0;
        CHECK(pthread_create(&th[i], NULL, gc_writer, &t[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
    }
    CHECK(ok == 100);
    CHECK(acp_sa_sq_wal_syncs() - s0 >= 1 && acp_sa_sq_wal_syncs() - s0 <= 100);
    printf("group commit: 100 commits of 4 threads, %lu syncs\n", acp_sa_sq_wal_syncs() - s0);
    CHECK(acp_sa_row(db, p, "adm_holders_dense", &row, ACP_SA_ARGS("gct")) == APR_SUCCESS);
}

static void test_db(apr_pool_t *p)
{
    char path[64];
    acp_db_t *db = NULL, *db2 = NULL;
    const char *err = NULL, **row = NULL;
    int version = 0;
    acp_account_t *acct = NULL;
    apr_array_header_t *jobs = NULL;
    const char *job_id = NULL;

    apr_snprintf(path, sizeof(path), "/tmp/acp-test-sa-%d.db", (int)getpid());
    unlink(path);
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    /* migrating again is a no-op */
    CHECK(acp_sa_migrate(p, db, &version, &err) == APR_SUCCESS && version >= 1);
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db2, &err) == APR_SUCCESS);

    /* nonce redemption is single-use */
    test_db_nonces(p, db, db2);
    test_db_parallel(p, db, db2);
    test_db_search_queue(p, db, db2);
    test_db_group_commit(p, path);

    /* rollback undoes, commit keeps; NULL arguments are SQL NULL */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("b1", "account", NULL, "0", "1", "CNY", NULL)) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_acct_insert", NULL,
                      ACP_SA_ARGS("a1", "thumb1", "{}", "[]", "1", NULL, "b1", "5", NULL)) ==
          APR_SUCCESS);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(acp_sa_account_get(db, p, "a1", &acct) == APR_NOTFOUND);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_acct_insert", NULL,
                      ACP_SA_ARGS("a1", "thumb1", "{}", "[]", "1", NULL, "b1", "5", NULL)) ==
          APR_SUCCESS);
    /* a savepoint rolls back only the handler part */
    CHECK(acp_sa_savepoint(db, "h") == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_acct_insert", NULL,
                      ACP_SA_ARGS("a2", "thumb2", "{}", "[]", "0", NULL, "b1", "5", NULL)) ==
          APR_SUCCESS);
    CHECK(acp_sa_rollback_to(db, "h") == APR_SUCCESS);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(acp_sa_account_get(db2, p, "a1", &acct) == APR_SUCCESS && acct &&
          acct->created == 5 && acct->tos_agreed == 1 && acct->eab_kid == NULL);
    CHECK(acp_sa_account_get(db2, p, "a2", &acct) == APR_NOTFOUND);
    CHECK(acp_sa_account_by_thumbprint(db2, p, "thumb1", &acct) == APR_SUCCESS);
    /* unique thumbprint */
    CHECK(acp_sa_exec(db, p, "acp_acct_insert", NULL,
                      ACP_SA_ARGS("a3", "thumb1", "{}", "[]", "1", NULL, "b1", "5", NULL)) !=
          APR_SUCCESS);

    /* jobs: claimed once */
    CHECK(acp_sa_job_add(db, p, "validate", "c1", 0, &job_id) == APR_SUCCESS);
    CHECK(acp_sa_jobs_due(db, p, 1000, &jobs) == APR_SUCCESS && jobs->nelts == 1);
    CHECK(acp_sa_job_claim(db, p, job_id, 1000, 60) == APR_SUCCESS);
    CHECK(acp_sa_job_claim(db2, p, job_id, 1000, 60) == APR_EBUSY);
    CHECK(acp_sa_jobs_due(db, p, 1000, &jobs) == APR_SUCCESS && jobs->nelts == 0);
    /* an expired claim is due again */
    CHECK(acp_sa_jobs_due(db, p, 1061, &jobs) == APR_SUCCESS && jobs->nelts == 1);
    CHECK(acp_sa_exec(db, p, "acp_job_delete", NULL, ACP_SA_ARGS(job_id)) == APR_SUCCESS);
    /* a job queued already claimed (handed to the queuing process's own workers) is
     * nobody else's until its lease runs out, then any worker may claim it */
    CHECK(acp_sa_job_add_claimed(db, p, "validate", "c2", 0, 1120, &job_id) == APR_SUCCESS);
    CHECK(acp_sa_jobs_due(db, p, 1100, &jobs) == APR_SUCCESS && jobs->nelts == 0);
    CHECK(acp_sa_job_claim(db2, p, job_id, 1100, 60) == APR_EBUSY);
    CHECK(acp_sa_jobs_due(db, p, 1121, &jobs) == APR_SUCCESS && jobs->nelts == 1);
    CHECK(acp_sa_job_claim(db2, p, job_id, 1121, 60) == APR_SUCCESS);

    CHECK(acp_sa_row(db, p, "acp_setting_get", &row, ACP_SA_ARGS("missing")) == APR_SUCCESS &&
          row == NULL);
    CHECK(acp_sa_exec(db, p, "no_such_label", NULL, ACP_SA_NOARGS) == APR_ENOENT);
    unlink(path);
    apr_snprintf(path, sizeof(path), "/tmp/acp-test-sa-%d.db-wal", (int)getpid());
    unlink(path);
    apr_snprintf(path, sizeof(path), "/tmp/acp-test-sa-%d.db-shm", (int)getpid());
    unlink(path);
}

/* DBDParams never reach a log line or an error with their password. */
static void test_search_words(apr_pool_t *p)
{
    CHECK_STR(acp_sa_search_words(p, "Shop.Exam", 0), "\"shop exam\" *");
    CHECK_STR(acp_sa_search_words(p, "Shop.Exam", 1), "'shop' & 'exam':*");
    CHECK_STR(acp_sa_search_words(p, "ops-5e00ab12@x", 1), "'ops' & '5e00ab12' & 'x':*");
    CHECK_STR(acp_sa_search_words(p, "  seed  ", 0), "\"seed\" *");
    /* quotes and operators are separators, never syntax */
    CHECK_STR(acp_sa_search_words(p, "a\"b' & c:*", 1), "'a' & 'b' & 'c':*");
    CHECK_STR(acp_sa_search_words(p, "a\"b' OR c*", 0), "\"a b or c\" *");
    CHECK(acp_sa_search_words(p, "-.@", 0) == NULL);
    CHECK(acp_sa_search_words(p, "m\xc3\xbcller.de", 0) == NULL); /* not ASCII */
    CHECK(acp_sa_search_words(p, "abc\xc3\xbc", 1) == NULL);
}

static void test_params_safe(apr_pool_t *p)
{
    CHECK_STR(acp_sa_params_safe(p, "pgsql", "host=db port=5432 user=acme password=s3cret"),
              "host=db port=5432 user=acme password=***");
    CHECK_STR(acp_sa_params_safe(p, "pgsql", "password = 'a b\\' c' dbname=x"),
              "password = *** dbname=x");
    CHECK_STR(acp_sa_params_safe(p, "pgsql", "dbname=x PASSWORD=s3cret"), "dbname=x PASSWORD=***");
    CHECK_STR(acp_sa_params_safe(p, "pgsql", "postgresql://acme:s3cret@db:5432/acme?sslmode=require"),
              "postgresql://acme:***@db:5432/acme?sslmode=require");
    CHECK_STR(acp_sa_params_safe(p, "pgsql", "postgres://db/acme?user=a&password=s3cret&x=1"),
              "postgres://db/acme?user=a&password=***&x=1");
    CHECK_STR(acp_sa_params_safe(p, "mysql", "host=db,user=a,pass=s3cret"),
              "host=db,user=a,pass=***");
    CHECK_STR(acp_sa_params_safe(p, "sqlite3", "/var/lib/acme/pass=word.db"),
              "/var/lib/acme/pass=word.db");
    CHECK(strstr(acp_sa_params_safe(p, "pgsql", "password=s3cret"), "s3cret") == NULL);
}

/* A statement's own error (a constraint) is not "the database is unavailable"; a
 * missing file is. */
static void test_db_faults(apr_pool_t *p)
{
    acp_db_t *db = NULL;
    const char *err = NULL;
    char path[96];

    apr_snprintf(path, sizeof(path), "/tmp/acp-test-fault-%d.db", (int)getpid());
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        return;
    }
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("f1", "account", "x", "0", "1", NULL, NULL)) == APR_SUCCESS);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("f1", "account", "x", "0", "1", NULL, NULL)) != APR_SUCCESS);
    CHECK(!acp_sa_unavailable(db));
    /* a call with fewer (or more) arguments than the statement takes is refused before
     * the driver reads past the array, and changes nothing */
    CHECK(acp_sa_stmt_nargs(0, "acp_billing_insert") == 7);
    CHECK(acp_sa_stmt_nargs(1, "acp_billing_insert") == 7);
    CHECK(acp_sa_stmt_nargs(0, "no_such_statement") == -1);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("f2", "account", "x", "0", "1")) == APR_EINVAL);
    CHECK(acp_sa_exec(db, p, "acp_billing_insert", NULL,
                      ACP_SA_ARGS("f2", "account", "x", "0", "1", NULL, NULL, "8")) == APR_EINVAL);
    {
        const char **row = NULL;
        CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_NOARGS) == APR_EINVAL);
        CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS("f2")) == APR_SUCCESS &&
              row == NULL);
        CHECK(acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS("f1")) == APR_SUCCESS &&
              row != NULL);
    }
    CHECK(!acp_sa_unavailable(db));
    unlink(path);
    apr_snprintf(path, sizeof(path), "/tmp/acp-test-fault-%d.db-wal", (int)getpid());
    unlink(path);
    apr_snprintf(path, sizeof(path), "/tmp/acp-test-fault-%d.db-shm", (int)getpid());
    unlink(path);
    /* a directory that does not exist: the open fails and says which file, no secret */
    CHECK(acp_sa_open(p, "sqlite3", "/nonexistent-acp-dir/acme.db", 1, &db, &err) != APR_SUCCESS);
    CHECK(err && strstr(err, "/nonexistent-acp-dir/acme.db") != NULL);
}

/* ids are typed as arguments (acme-pay-admin credit HOLDER) and used in DNS labels:
 * never a leading or trailing '-' (about 3 in 64 of them had one) */
static void test_random_id(apr_pool_t *p)
{
    int i, bad = 0, len_ok = 1;
    for (i = 0; i < 20000; i++) {
        const char *id = acp_random_id(p, 12);
        size_t n = strlen(id);
        len_ok = len_ok && n == 16;
        bad += id[0] == '-' || id[n - 1] == '-';
    }
    CHECK(len_ok);
    CHECK(bad == 0);
}

static void run_tests(apr_pool_t *p)
{
    test_random_id(p);
    test_params_safe(p);
    test_search_words(p);
    test_db_faults(p);
    test_b64url(p);
    test_time(p);
    test_nonce(p);
    test_nonce_mac(p);
    test_nonce_store(p);
    test_nonce_store_race(p);
    test_db(p);
}
