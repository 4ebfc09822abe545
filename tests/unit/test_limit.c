/* Abuse limits: address keys, directive parsing, EAB overrides, the RA's checks against a
 * real SQLite file (reached, refused with Retry-After, nothing written), and that every
 * count reads one index range (EXPLAIN QUERY PLAN). */
#include <unistd.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "acp_test.h"
#include "acp_ra.h"
#include "acp_ra_int.h"
#include "acp_sa.h"
#include "acp_util.h"

static void test_addr_keys(apr_pool_t *p)
{
    CHECK_STR(acp_limit_addr_key(p, "192.0.2.7"), "192.0.2.7");
    CHECK_STR(acp_limit_addr_key(p, "::ffff:192.0.2.7"), "192.0.2.7");
    CHECK_STR(acp_limit_addr_key(p, "2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    CHECK_STR(acp_limit_addr_key(p, "2001:DB8:1:2::ffff"), "2001:db8:1:2::/64");
    CHECK_STR(acp_limit_addr_key(p, "2001:db8:1:3::1"), "2001:db8:1:3::/64");
    CHECK_STR(acp_limit_addr_key(p, "::1"), "::/64");
    CHECK(acp_limit_addr_key(p, "example.com") == NULL);
    CHECK(acp_limit_addr_key(p, "") == NULL);
    CHECK(acp_limit_addr_key(p, NULL) == NULL);
}

static void test_parse(apr_pool_t *p)
{
    int v = -5;
    acp_limits_cfg_t cfg;
    acp_limit_set_t s;
    acp_limit_eab_t *e;

    CHECK(acp_limit_parse_max("off", &v) == NULL && v == 0);
    CHECK(acp_limit_parse_max("12", &v) == NULL && v == 12);
    CHECK(acp_limit_parse_max("-1", &v) != NULL);
    CHECK(acp_limit_parse_max("1x", &v) != NULL);
    CHECK(acp_limit_parse_max("", &v) != NULL);
    CHECK(acp_limit_parse_period("3h", &v) == NULL && v == 10800);
    CHECK(acp_limit_parse_period("90s", &v) == NULL && v == 90);
    CHECK(acp_limit_parse_period("90", &v) == NULL && v == 90);
    CHECK(acp_limit_parse_period("2m", &v) == NULL && v == 120);
    CHECK(acp_limit_parse_period("1d", &v) == NULL && v == 86400);
    CHECK(acp_limit_parse_period("0s", &v) != NULL);
    CHECK(acp_limit_parse_period("3hh", &v) != NULL);
    CHECK(acp_limit_parse_period("3w", &v) != NULL);
    CHECK(acp_limit_parse_period("400d", &v) != NULL);
    CHECK_STR(acp_limit_period_text(p, 10800), "3h");
    CHECK_STR(acp_limit_period_text(p, 90), "90s");
    CHECK_STR(acp_limit_period_text(p, 86400), "1d");
    CHECK_STR(acp_limit_period_text(p, 120), "2m");

    acp_limits_defaults(&cfg);
    CHECK(cfg.dflt.accounts.max == 10 && cfg.dflt.accounts.period == 10800);
    CHECK(cfg.dflt.orders.max == 300 && cfg.dflt.pending.max == 300);
    CHECK(cfg.dflt.failed.max == 5 && cfg.dflt.failed.period == 3600);
    cfg.eab = apr_array_make(p, 1, sizeof(acp_limit_eab_t));
    e = apr_array_push(cfg.eab);
    e->kid = "kid1";
    memset(&e->set, 0, sizeof(e->set));
    e->set.accounts.max = e->set.orders.max = e->set.pending.max = e->set.failed.max = -1;
    CHECK(acp_limit_parse_item(p, "orders=1000", &e->set) == NULL);
    CHECK(acp_limit_parse_item(p, "pending=off", &e->set) == NULL);
    CHECK(acp_limit_parse_item(p, "failed=9/2h", &e->set) == NULL);
    CHECK(acp_limit_parse_item(p, "pending=3/1h", &e->set) != NULL);
    CHECK(acp_limit_parse_item(p, "bogus=3", &e->set) != NULL);
    CHECK(acp_limit_parse_item(p, "orders", &e->set) != NULL);
    CHECK(acp_limit_parse_item(p, "orders=x/1h", &e->set) != NULL);
    s = acp_limits_for(&cfg, "kid1");
    CHECK(s.orders.max == 1000 && s.orders.period == 10800);
    CHECK(s.pending.max == 0);
    CHECK(s.failed.max == 9 && s.failed.period == 7200);
    CHECK(s.accounts.max == 10 && s.accounts.period == 10800); /* not overridden */
    s = acp_limits_for(&cfg, "other");
    CHECK(s.orders.max == 300 && s.failed.max == 5 && s.pending.max == 300);
    s = acp_limits_for(&cfg, NULL);
    CHECK(s.orders.max == 300);
}

static long long count_rows(acp_db_t *db, apr_pool_t *p, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long n = -1;

    if (apr_dbd_select(db->driver, p, db->handle, &res, sql, 0) != 0) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        n = acp_sa_atoll(apr_dbd_get_entry(db->driver, row, 0));
    }
    return n;
}

/* the plan of sql names index (every detail line is joined) */
static int plan_uses(acp_db_t *db, apr_pool_t *p, const char *sql, const char *index)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *all = "";

    if (apr_dbd_select(db->driver, p, db->handle, &res,
                       apr_pstrcat(p, "EXPLAIN QUERY PLAN ", sql, NULL), 0) != 0) {
        return 0;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        all = apr_pstrcat(p, all, apr_dbd_get_entry(db->driver, row, 3), "; ", NULL);
    }
    if (!strstr(all, index) || strstr(all, "SCAN")) {
        fprintf(stderr, "plan of %s: %s\n", sql, all);
        return 0;
    }
    return 1;
}

/* the id of a challenge of acct's newest authorization for ident (NULL: none) */
static const char *chall_of(acp_db_t *db, apr_pool_t *p, const char *acct, const char *ident)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *id = NULL;

    if (apr_dbd_select(db->driver, p, db->handle, &res,
                       apr_psprintf(p, "SELECT c.id FROM challenges c JOIN authorizations a "
                                       "ON a.id = c.authz_id WHERE a.account_id = '%s' AND "
                                       "a.ident = '%s' ORDER BY a.rowid DESC",
                                    acct, ident),
                       0) != 0) {
        return NULL;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        if (!id) {
            id = apr_pstrdup(p, apr_dbd_get_entry(db->driver, row, 0));
        }
    }
    return id;
}

/* the failed-validations limit as a challenge answer meets it: the count read with the
 * challenge (acp_sa_chall_authz_failed), then the check */
static acp_problem_t *answer_limit(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                   const acp_account_t *acct, const char *ident)
{
    const char *cid = chall_of(db, p, acct->id, ident);
    acp_chall_t *chall = NULL;
    acp_authz_t *authz = NULL;
    long long now = acp_now(), n = -1, oldest = -1;

    CHECK(cid != NULL);
    CHECK(acp_sa_chall_authz_failed(db, p, cid, acp_ra_limit_failed_since(cfg, acct, now),
                                    &chall, &authz, &n, &oldest) == APR_SUCCESS);
    CHECK(authz && !strcmp(authz->ident, ident) && chall && !strcmp(chall->id, cid));
    CHECK(n >= 0 && (n == 0 || oldest > 0));
    return authz ? acp_ra_limit_challenge(p, cfg, acct, authz, n, oldest, now)
                 : acp_problem(p, ACP_ERR_SERVER_INTERNAL, "no authorization");
}

static acp_problem_t *new_account(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                  const char *ip, acp_account_t **acct)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    acp_jws_t jws;
    json_object *payload = acp_json_parse(p, "{}", 2);
    acp_problem_t *prob;
    int created = 0;

    memset(&jws, 0, sizeof(jws));
    jws.jwk = acp_jwk_from_pkey(p, key);
    EVP_PKEY_free(key);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    prob = acp_ra_new_account_tx(db, p, cfg, &jws, payload, "https://x/acme/new-account", ip,
                                 acct, &created);
    if (prob) {
        acp_sa_rollback(db);
    }
    else {
        CHECK(created == 1);
        acp_sa_commit(db);
    }
    return prob;
}

static acp_problem_t *new_order(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                const acp_account_t *acct, const char *names_json)
{
    const char *text = apr_pstrcat(p, "{\"identifiers\":", names_json, "}", NULL);
    json_object *payload = acp_json_parse(p, text, strlen(text));
    acp_order_t *order = NULL;
    acp_problem_t *prob;

    CHECK(payload != NULL);
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    prob = acp_ra_new_order_tx(db, p, cfg, acct, payload, &order);
    if (prob) {
        acp_sa_rollback(db);
    }
    else {
        acp_sa_commit(db);
    }
    return prob;
}

#define ID(n) "[{\"type\":\"dns\",\"value\":\"" n "\"}]"

static void test_ra(apr_pool_t *p)
{
    const char *path;
    acp_db_t *db = NULL;
    const char *err = NULL;
    acp_ra_cfg_t cfg;
    acp_account_t *a1 = NULL, *a2 = NULL, *a3 = NULL;
    acp_problem_t *prob;
    long long now = acp_now();

    path = acp_t_sqlite_db(p, "limit");
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    acp_ra_cfg_defaults(&cfg);
    cfg.limits.dflt.accounts.max = 2;
    cfg.limits.dflt.orders.max = 3;
    cfg.limits.dflt.pending.max = 4;
    cfg.limits.dflt.failed.max = 2;

    /* accounts per address: the IPv6 /64 counts as one address */
    CHECK(new_account(db, p, &cfg, "2001:db8:0:1::1", &a1) == NULL);
    CHECK(new_account(db, p, &cfg, "2001:db8:0:1::2", &a2) == NULL);
    prob = new_account(db, p, &cfg, "2001:db8:0:1:ffff::3", &a3);
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED && prob->retry_after > 10790 &&
          prob->retry_after <= 10800);
    CHECK(prob && strstr(prob->detail, "2001:db8:0:1::/64") && strstr(prob->detail, "limit 2 per 3h"));
    CHECK(count_rows(db, p, "SELECT COUNT(*) FROM accounts") == 2);
    CHECK(count_rows(db, p, "SELECT COUNT(*) FROM billing") == 2); /* refused: no holder */
    CHECK(new_account(db, p, &cfg, "2001:db8:0:2::1", &a3) == NULL); /* another /64 */
    CHECK(new_account(db, p, &cfg, NULL, &a3) == NULL);              /* no address: no limit */
    /* the window slides: age the first account out of it */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(apr_dbd_query(db->driver, db->handle, &(int){0},
                        apr_psprintf(p,
                                     "UPDATE accounts SET created = created - 10801 "
                                     "WHERE id = '%s'", a1->id)) == 0);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(new_account(db, p, &cfg, "2001:db8:0:1::9", &a3) == NULL);

    /* orders per account */
    CHECK(new_order(db, p, &cfg, a1, ID("o1.example.com")) == NULL);
    CHECK(new_order(db, p, &cfg, a1, ID("o2.example.com")) == NULL);
    CHECK(new_order(db, p, &cfg, a1, ID("o3.example.com")) == NULL);
    prob = new_order(db, p, &cfg, a1, ID("o4.example.com"));
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED && prob->retry_after > 0);
    CHECK(count_rows(db, p, "SELECT COUNT(*) FROM orders") == 3);
    CHECK(new_order(db, p, &cfg, a2, ID("o4.example.com")) == NULL); /* per account */

    /* pending authorizations: a2 has 1; an order needing 4 more is refused as a whole */
    prob = new_order(db, p, &cfg, a2,
                     "[{\"type\":\"dns\",\"value\":\"p1.example.com\"},"
                     "{\"type\":\"dns\",\"value\":\"p2.example.com\"},"
                     "{\"type\":\"dns\",\"value\":\"p3.example.com\"},"
                     "{\"type\":\"dns\",\"value\":\"p4.example.com\"}]");
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED && strstr(prob->detail, "pending"));
    CHECK(count_rows(db, p,
                     apr_psprintf(p, "SELECT COUNT(*) FROM authorizations WHERE account_id = '%s'",
                                  a2->id)) == 1);
    CHECK(count_rows(db, p, "SELECT COUNT(*) FROM orders") == 4);
    CHECK(new_order(db, p, &cfg, a2, "[{\"type\":\"dns\",\"value\":\"p1.example.com\"},"
                                     "{\"type\":\"dns\",\"value\":\"p2.example.com\"},"
                                     "{\"type\":\"dns\",\"value\":\"p3.example.com\"}]") == NULL);
    prob = new_order(db, p, &cfg, a2, ID("p5.example.com"));
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED);

    /* failed validations per account per name (the worker sets authorizations.failed) */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(apr_dbd_query(db->driver, db->handle, &(int){0},
                        apr_psprintf(p, "UPDATE authorizations SET status = 'invalid', "
                                        "failed = %" APR_INT64_T_FMT " WHERE account_id = '%s' AND ident IN "
                                        "('o1.example.com', 'o2.example.com')",
                                     (apr_int64_t)(now - 100), a1->id)) == 0);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    cfg.limits.dflt.orders.max = 0; /* off */
    CHECK(new_order(db, p, &cfg, a1, ID("o1.example.com")) == NULL); /* 1 failure < 2 */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(apr_dbd_query(db->driver, db->handle, &(int){0},
                        apr_psprintf(p, "UPDATE authorizations SET status = 'invalid', "
                                        "failed = %" APR_INT64_T_FMT " WHERE account_id = '%s' AND "
                                        "ident = 'o1.example.com' AND status = 'pending'",
                                     (apr_int64_t)(now - 50), a1->id)) == 0);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    prob = new_order(db, p, &cfg, a1, "[{\"type\":\"dns\",\"value\":\"ok.example.com\"},"
                                      "{\"type\":\"dns\",\"value\":\"*.o1.example.com\"}]");
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED && prob->ident &&
          !strcmp(prob->ident, "*.o1.example.com"));
    CHECK(prob && prob->retry_after > 3400 && prob->retry_after <= 3500);
    CHECK(new_order(db, p, &cfg, a1, ID("o2.example.com")) == NULL); /* one failure only */
    prob = answer_limit(db, p, &cfg, a1, "o1.example.com"); /* 2 failures */
    CHECK(prob && prob->kind == ACP_ERR_RATE_LIMITED);
    CHECK(prob && prob->retry_after > 3400 && prob->retry_after <= 3500);
    CHECK(answer_limit(db, p, &cfg, a1, "o2.example.com") == NULL);
    CHECK(answer_limit(db, p, &cfg, a2, "p1.example.com") == NULL); /* none */
    cfg.limits.dflt.failed.max = 0;
    CHECK(answer_limit(db, p, &cfg, a1, "o1.example.com") == NULL);

    /* each count is one index range, never a table scan */
    CHECK(plan_uses(db, p,
                    "SELECT COUNT(*), MIN(created) FROM accounts WHERE reg_addr = 'x' AND "
                    "created > 5",
                    "accounts_reg_addr"));
    CHECK(plan_uses(db, p,
                    "SELECT COUNT(*), MIN(created) FROM orders WHERE account_id = 'x' AND "
                    "created > 5",
                    "orders_account"));
    CHECK(plan_uses(db, p,
                    "SELECT COUNT(*), MIN(expires) FROM authorizations WHERE account_id = 'x' "
                    "AND status = 'pending' AND expires > 5",
                    "authz_pending"));
    CHECK(plan_uses(db, p,
                    "SELECT ident, COUNT(*), MIN(failed) FROM authorizations WHERE account_id = "
                    "'x' AND failed > 5 GROUP BY ident HAVING COUNT(*) >= 2",
                    "authz_failed"));
    CHECK(plan_uses(db, p,
                    "SELECT COUNT(*), MIN(failed) FROM authorizations WHERE account_id = 'x' "
                    "AND ident = 'y' AND failed > 5",
                    "authz_failed"));
}

/* The per-process account key cache: a key newAccount remembers is what the account's
 * next request gets, without decoding the stored JWK (here unreadable, so a decode would
 * fail); another thumbprint is not served from it. */
static void test_key_cache(apr_pool_t *p)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    acp_account_t a, b;

    memset(&a, 0, sizeof(a));
    a.thumbprint = "keycache-thumb-a";
    a.jwk = "not a jwk";
    b = a;
    b.thumbprint = "keycache-thumb-b";
    CHECK(key != NULL);
    CHECK(acp_ra_account_key(p, &a) == NULL);
    acp_ra_account_key_remember(a.thumbprint, key);
    acp_ra_account_key_remember(a.thumbprint, key); /* twice: one reference kept */
    CHECK(acp_ra_account_key(p, &a) == key);
    CHECK(acp_ra_account_key(p, &b) == NULL);
    /* a thumbprint longer than the cache's slot is not kept */
    a.thumbprint = "0123456789012345678901234567890123456789012345678901234567890123";
    acp_ra_account_key_remember(a.thumbprint, key);
    CHECK(acp_ra_account_key(p, &a) == NULL);
    EVP_PKEY_free(key); /* the cache and p's cleanups hold their own references */
}

static void run_tests(apr_pool_t *p)
{
    test_addr_keys(p);
    test_parse(p);
    test_ra(p);
    test_key_cache(p);
}
