/* Renewal information: certIDs (RFC 9773 §4.1 example), windows, name overlap. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_ari.h"

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

static void run_tests(apr_pool_t *p)
{
    test_certid(p);
    test_window(p);
    test_overlap(p);
}
