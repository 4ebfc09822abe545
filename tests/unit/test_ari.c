/* Renewal information: certIDs (RFC 9773 §4.1 example), windows, name overlap, and the
 * one read renewalInfo makes (the certificate with its subscriptions). */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_ari.h"
#include "acp_sa.h"

static void test_certid(apr_pool_t *p)
{
    const char *aki = NULL, *serial = NULL;

    /* the RFC's example: AKI 69:88:5B:…:D4, serial 00:87:65:43:21 */
    CHECK(acp_ari_parse_certid(p, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &aki, &serial) == NULL);
    CHECK_STR(aki, "69885b6b87464041e1b37b847ba0ae2cde01c8d4");
    CHECK_STR(serial, "87654321");   /* stored without DER's sign byte */
    CHECK_STR(acp_ari_certid(p, aki, serial), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    CHECK_STR(acp_ari_certid(p, "0102", "7f00"), "AQI.fwA");
    /* malformed: every one a problem of kind malformed, nothing returned */
    {
        static const char *bad[] = {"", ".", "abc", "a.b.c", ".AIdlQyE", "aYhb.", "aY=.AI",
                                    "aYhb.AIdl QyE", "aYhb./w", /* serial 0xff: negative */
                                    "aYhb.AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" /* 24 octets */};
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            acp_problem_t *prob = acp_ari_parse_certid(p, bad[i], &aki, &serial);
            CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
        }
    }
    {
        char *huge = apr_pcalloc(p, 5000);
        memset(huge, 'A', 4999);
        huge[10] = '.';
        CHECK(acp_ari_parse_certid(p, huge, &aki, &serial) != NULL);
    }
}

static void test_window(apr_pool_t *p)
{
    acp_ari_cert_t c;
    long long s = 0, e = 0, v = 90LL * 86400;
    int i, differs = 0;
    long long first = -1;

    memset(&c, 0, sizeof(c));
    c.not_before = 1000000;
    c.not_after = c.not_before + v;
    for (i = 0; i < 50; i++) {
        c.serial = apr_psprintf(p, "%032x", i * 7919 + 13);
        acp_ari_window(&c, &s, &e);
        CHECK(s >= c.not_before + 2 * v / 3);          /* the last third */
        CHECK(e > s && e < c.not_after);
        CHECK(s <= c.not_before + 2 * v / 3 + v / 12); /* shifted by at most v/12 */
        if (first < 0) {
            first = s;
        }
        differs += s != first;
    }
    CHECK(differs > 40); /* spread: serials give different windows */
    /* staff's window wins; revoked: renew now */
    c.ari_start = 5;
    c.ari_end = 10;
    acp_ari_window(&c, &s, &e);
    CHECK(s == 5 && e == 10);
    c.ari_start = c.ari_end = 0;
    c.revoked = 2000000;
    acp_ari_window(&c, &s, &e);
    CHECK(s == 2000000 && e == 2000000 + 3600);
    /* a degenerate validity still gives end > start */
    c.revoked = 0;
    c.not_after = c.not_before + 1;
    acp_ari_window(&c, &s, &e);
    CHECK(e > s);
}

static void test_overlap(apr_pool_t *p)
{
    CHECK(acp_ari_names_overlap("a.com,b.com", "b.com"));
    CHECK(acp_ari_names_overlap("a.com", "a.com,c.com"));
    CHECK(!acp_ari_names_overlap("a.com,b.com", "c.com"));
    CHECK(!acp_ari_names_overlap("a.com", "a.co"));
    CHECK(!acp_ari_names_overlap("ba.com", "a.com"));
    CHECK(!acp_ari_names_overlap("", "a.com"));
    CHECK(acp_ari_names_overlap("*.a.com", "*.a.com,x.com"));
}

/* acp_ari_lookup reads the certificate and, one row each, the holder's live subscriptions
 * under the order's profile ending where it does: those move its window, no others */
/* c's window after its subscriptions (renew_window): 1 when they moved it */
static int sub_window(apr_pool_t *p, const acp_ari_cert_t *c, long long renew_window,
                      long long *start, long long *end)
{
    long long s0, e0;

    acp_ari_window(c, &s0, &e0);
    *start = s0;
    *end = e0;
    acp_ari_subscription_window(p, c, renew_window, start, end);
    return *start != s0 || *end != e0;
}

#define L(v) acp_sa_ll(p, v)

static void test_lookup(apr_pool_t *p)
{
    const char *err = NULL, *aki = "0a0b", *cid;
    acp_db_t *db = NULL;
    acp_ari_cert_t *c = NULL;
    long long start, end, d = 86400, na = 1000 * 86400;

    CHECK(acp_sa_open(p, "sqlite3", acp_t_sqlite_db(p, "ari"), 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    /* one holder, two orders under profile "sub" and one without a profile */
    CHECK(acp_sa_raw_exec(db, "INSERT INTO orders (id, account_id, status, expires, identifiers, "
                              "names_key, created, updated, profile) VALUES "
                              "('o1', 'a', 'valid', 0, '[]', 'a.example', 0, 0, 'sub'), "
                              "('o2', 'a', 'valid', 0, '[]', 'b.example', 0, 0, 'sub'), "
                              "('o3', 'a', 'valid', 0, '[]', 'c.example', 0, 0, NULL)") ==
          APR_SUCCESS);
    CHECK(acp_sa_raw_exec(
              db, apr_psprintf(p,
                               "INSERT INTO certificates (id, serial, order_id, account_id, "
                               "billing_id, names_key, pem, not_before, not_after, issued, aki) "
                               "VALUES ('c1', '01', 'o1', 'a', 'h', 'a.example', '', %s, %s, "
                               "0, '%s'), ('c2', '02', 'o2', 'a', 'h', 'b.example', '', %s, "
                               "%s, 0, '%s'), ('c3', '03', 'o3', 'a', 'h', 'c.example', '', "
                               "%s, %s, 0, '%s')",
                               L(na - 90 * d), L(na), aki, L(na - 90 * d), L(na), aki,
                               L(na - 90 * d), L(na), aki)) == APR_SUCCESS);
    /* c1's term ends with it (a minute's difference), a cancelled one too; c2's ends a
     * day later; c.example's is under another profile than "sub" (and c3's order has
     * none) */
    CHECK(acp_sa_raw_exec(
              db, apr_psprintf(p,
                               "INSERT INTO subscriptions (id, billing_id, names_key, profile, "
                               "seq, order_id, price, starts, ends, cancelled) VALUES "
                               "('s1', 'h', 'a.example', 'sub', 0, 'o1', 1, %s, %s, NULL), "
                               "('s2', 'h', 'a.example,x.example', 'sub', 1, 'o1', 1, %s, "
                               "%s, 5), "
                               "('s3', 'h', 'b.example', 'sub', 0, 'o2', 1, %s, %s, NULL), "
                               "('s4', 'h', 'c.example', 'other', 0, 'o3', 1, %s, %s, NULL)",
                               L(na - 30 * d), L(na + 60), L(na - 30 * d), L(na),
                               L(na - 30 * d), L(na + d), L(na - 30 * d), L(na))) ==
          APR_SUCCESS);

    cid = acp_ari_certid(p, aki, "01");
    CHECK(acp_ari_lookup(db, p, cid, 1, &c) == NULL && c && !strcmp(c->id, "c1"));
    CHECK(c && c->subs && c->subs->nelts == 1 &&
          !strcmp(APR_ARRAY_IDX(c->subs, 0, const char **)[2], "a.example"));
    CHECK(c && sub_window(p, c, 2 * d, &start, &end) && start == na - 2 * d && end > start &&
          end < na);
    /* c2: its own term ends a day after it (not read); the holder's a.example term ends
     * with it under the same profile (read), but does not cover its names: no move */
    cid = acp_ari_certid(p, aki, "02");
    CHECK(acp_ari_lookup(db, p, cid, 1, &c) == NULL && c && c->subs && c->subs->nelts == 1 &&
          !strcmp(APR_ARRAY_IDX(c->subs, 0, const char **)[2], "a.example"));
    CHECK(c && !sub_window(p, c, 2 * d, &start, &end));
    cid = acp_ari_certid(p, aki, "03");
    CHECK(acp_ari_lookup(db, p, cid, 1, &c) == NULL && c && c->subs && c->subs->nelts == 0);
    CHECK(c && !sub_window(p, c, 2 * d, &start, &end));
    /* an unknown serial, and a known one under another AKI: not ours */
    /* without its subscriptions (newOrder's replaces): the plain read, no move */
    CHECK(acp_ari_lookup(db, p, acp_ari_certid(p, aki, "01"), 0, &c) == NULL && c &&
          !strcmp(c->id, "c1") && !c->subs && !sub_window(p, c, 2 * d, &start, &end));
    CHECK(acp_ari_lookup(db, p, acp_ari_certid(p, aki, "04"), 1, &c) != NULL);
    CHECK(acp_ari_lookup(db, p, acp_ari_certid(p, "0c0d", "01"), 1, &c) != NULL);
}

#undef L

static void run_tests(apr_pool_t *p)
{
    test_certid(p);
    test_window(p);
    test_overlap(p);
    test_lookup(p);
}
