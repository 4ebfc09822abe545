/* What the abuse limits cost per request: newAccount and newOrder through the RA (each in
 * its own transaction, rolled back so every run meets the same state) with the default
 * limits and with every limit off, against a real SQLite file seeded like a busy server
 * (ACP_BENCH_ACCOUNTS accounts from as many addresses, the measured account near its
 * limits: 250 orders in the window, 250 pending authorizations, 4 failures per name).
 * Runs alternate in blocks so drift hits both sides alike. Prints CPU microseconds per
 * call (process CPU time, so other load on the machine does not count).
 *   sh tests/bench/limits.sh                 (builds out/bench/limits and runs it) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <apr_strings.h>
#include <time.h>
#include <openssl/evp.h>
#include "acp_ra.h"
#include "acp_sa.h"
#include "acp_util.h"

static void sql(acp_db_t *db, const char *q)
{
    int n = 0;
    if (apr_dbd_query(db->driver, db->handle, &n, q) != 0) {
        fprintf(stderr, "%s: %s\n", q, apr_dbd_error(db->driver, db->handle, 1));
        exit(1);
    }
}

/* CPU time of this (single-threaded) process: the machine's load does not count */
static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* printf into p (apr_psprintf has no %lld) */
static const char *fmt(apr_pool_t *p, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(apr_pool_t *p, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return apr_pstrdup(p, buf);
}

static double run(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg, int what, int n,
                  const acp_account_t *acct, const acp_jws_t *jws, json_object *acct_pl)
{
    double t0 = cpu_us();
    int i;

    for (i = 0; i < n; i++) {
        apr_pool_t *sp;
        acp_problem_t *prob;
        apr_pool_create(&sp, p);
        acp_sa_begin(db);
        if (what == 0) {
            acp_account_t *a = NULL;
            int created = 0;
            prob = acp_ra_new_account_tx(db, sp, cfg, jws, acct_pl, "https://b/acme/new-account",
                                         "198.51.100.7", &a, &created);
        }
        else {
            acp_order_t *o = NULL;
            const char *t = apr_psprintf(
                sp, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"n%d.bench.test\"}]}", i);
            prob = acp_ra_new_order_tx(db, sp, cfg, acct, acp_json_parse(sp, t, strlen(t)), &o);
        }
        if (prob) {
            fprintf(stderr, "refused: %s\n", prob->detail);
            exit(1);
        }
        acp_sa_rollback(db);
        apr_pool_destroy(sp);
    }
    return (cpu_us() - t0) / n;
}

int main(void)
{
    apr_pool_t *p;
    acp_db_t *db = NULL;
    const char *err = NULL, *s;
    char path[64];
    acp_ra_cfg_t on, off;
    acp_account_t *acct = NULL;
    acp_jws_t jws;
    json_object *pl;
    EVP_PKEY *k1 = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
    int created = 0, i, accounts = getenv("ACP_BENCH_ACCOUNTS") ? atoi(getenv("ACP_BENCH_ACCOUNTS")) : 100000;
    double acc_on = 0, acc_off = 0, ord_on = 0, ord_off = 0, new_on = 0, new_off = 0;
    acp_account_t *fresh = NULL;
    EVP_PKEY *k3 = EVP_EC_gen("P-256");
    long long now = acp_now();

    apr_initialize();
    apr_pool_create(&p, NULL);
    snprintf(path, sizeof(path), "/tmp/acp-bench-limits-%d.db", (int)getpid());
    unlink(path);
    if (acp_sa_open(p, "sqlite3", path, 1, &db, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    acp_ra_cfg_defaults(&on);
    off = on;
    off.limits.dflt.accounts.max = off.limits.dflt.orders.max = 0;
    off.limits.dflt.pending.max = off.limits.dflt.failed.max = 0;

    memset(&jws, 0, sizeof(jws));
    jws.jwk = acp_jwk_from_pkey(p, k1);
    pl = acp_json_parse(p, "{}", 2);
    acp_sa_begin(db);
    if (acp_ra_new_account_tx(db, p, &off, &jws, pl, "https://b/acme/new-account", "192.0.2.1",
                              &acct, &created)) {
        return 1;
    }
    jws.jwk = acp_jwk_from_pkey(p, k3);
    {
        acp_problem_t *prob = acp_ra_new_account_tx(db, p, &off, &jws, pl,
                                                    "https://b/acme/new-account", "192.0.2.3",
                                                    &fresh, &created);
        if (prob) {
            fprintf(stderr, "second account: %s\n", prob->detail);
            return 1;
        }
    }
    /* a busy server: many accounts from many addresses, orders and authorizations */
    sql(db, "CREATE TEMP TABLE n (i INTEGER PRIMARY KEY)");
    sql(db, fmt(p, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                            "WHERE x < %d) INSERT INTO n SELECT x FROM c", accounts));
    sql(db, fmt(p, "INSERT INTO accounts (id, thumbprint, jwk, status, contacts, "
                            "tos_agreed, billing_id, created, reg_addr) SELECT 'a' || i, 't' || i, "
                            "'{}', 'valid', '[]', 1, 'b', %lld - i %% 20000, '10.' || (i / 65536) "
                            "|| '.' || (i / 256 %% 256) || '.' || (i %% 256) FROM n",
                         (long long)now));
    sql(db, fmt(p, "INSERT INTO orders (id, account_id, status, expires, identifiers, "
                            "names_key, created, updated) SELECT 'o' || i, 'a' || (i %% 1000), "
                            "'valid', 0, '[]', 'k', %lld - i %% 20000, 0 FROM n",
                         (long long)now));
    sql(db, fmt(p, "INSERT INTO authorizations (id, account_id, ident, wildcard, status, "
                            "expires, created, failed) SELECT 'z' || i, 'a' || (i %% 1000), "
                            "'h' || i || '.test', 0, CASE WHEN i %% 3 = 0 THEN 'invalid' ELSE "
                            "'valid' END, %lld, %lld, CASE WHEN i %% 3 = 0 THEN %lld END FROM n",
                         (long long)now + 86400, (long long)now, (long long)now - 100));
    /* the measured account, near its limits */
    for (i = 0; i < 250; i++) {
        s = fmt(p, "INSERT INTO orders (id, account_id, status, expires, identifiers, "
                            "names_key, created, updated) VALUES ('m%d', '%s', 'pending', 0, "
                            "'[]', 'k', %lld, 0)", i, acct->id, (long long)now - i);
        sql(db, s);
        sql(db, fmt(p, "INSERT INTO authorizations (id, account_id, ident, wildcard, "
                                "status, expires, created) VALUES ('p%d', '%s', 'p%d.test', 0, "
                                "'pending', %lld, %lld)", i, acct->id, i,
                             (long long)now + 86400, (long long)now));
    }
    for (i = 0; i < 40; i++) {
        sql(db, fmt(p, "INSERT INTO authorizations (id, account_id, ident, wildcard, "
                                "status, expires, created, failed) VALUES ('f%d', '%s', "
                                "'f%d.test', 0, 'invalid', 0, %lld, %lld)", i, acct->id, i % 10,
                             (long long)now, (long long)now - 60));
    }
    acp_sa_commit(db);
    sql(db, "ANALYZE");
    /* statements prepared before the schema changed (temp table, ANALYZE) would fail once
     * with SQLITE_SCHEMA: a fresh connection, as a server child has */
    if (acp_sa_open(p, "sqlite3", path, 0, &db, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    jws.jwk = acp_jwk_from_pkey(p, k2); /* a key without an account: newAccount creates */
    for (i = 0; i < (getenv("ACP_BENCH_KEEP") ? 1 : 10); i++) {
        acc_off += run(db, p, &off, 0, 500, acct, &jws, pl);
        acc_on += run(db, p, &on, 0, 500, acct, &jws, pl);
        ord_off += run(db, p, &off, 1, 500, acct, &jws, pl);
        ord_on += run(db, p, &on, 1, 500, acct, &jws, pl);
        new_off += run(db, p, &off, 1, 500, fresh, &jws, pl);
        new_on += run(db, p, &on, 1, 500, fresh, &jws, pl);
    }
    printf("seed: %d accounts, %d orders, %d authorizations; measured account: 250 orders in "
           "the window, 250 pending, 40 failures\n", accounts, accounts, accounts);
    printf("newAccount: off %7.1f us  on %7.1f us  cost %+6.1f us (%+.1f %%)\n",
           acc_off / 10, acc_on / 10, (acc_on - acc_off) / 10, 100 * (acc_on - acc_off) / acc_off);
    printf("newOrder, the account near its limits: off %7.1f us  on %7.1f us  cost %+6.1f us (%+.1f %%)\n",
           ord_off / 10, ord_on / 10, (ord_on - ord_off) / 10, 100 * (ord_on - ord_off) / ord_off);
    printf("newOrder, an account with no orders yet: off %7.1f us  on %7.1f us  cost %+6.1f us "
           "(%+.1f %%)\n", new_off / 10, new_on / 10, (new_on - new_off) / 10,
           100 * (new_on - new_off) / new_off);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    if (getenv("ACP_BENCH_KEEP")) {
        printf("kept %s\n", path);
        return 0;
    }
    unlink(path);
    unlink(apr_pstrcat(p, path, "-wal", NULL));
    unlink(apr_pstrcat(p, path, "-shm", NULL));
    return 0;
}
