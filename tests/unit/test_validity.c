/* The maximum validity by issue date: the CA/Browser Forum schedule at its boundary
 * dates, AcmePayMaxValidity's words, the inclusive count of the BR. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_validity.h"

#define D 86400LL
/* 00:00 UTC of 2026-03-15, 2027-03-15, 2029-03-15 (date -u -d ... +%s) */
#define T2026 1773532800LL
#define T2027 1805068800LL
#define T2029 1868227200LL

static void run_tests(apr_pool_t *p)
{
    acp_validity_sched_t s;
    const char *w1[] = {"off"}, *w2[] = {"825d"}, *w3[] = {"schedule"};
    const char *w4[] = {"500d", "2027-03-15=100d", "2028-01-01=30d"};
    const char *w5[] = {"2030-01-01=10d"}, *w6[] = {"2027-03-15=365d"};
    const char *bad[] = {"0d", "12x", "2026-3-15=10d", "2026-03-15=", "2026-13-01=1d",
                         "-5d", "3651d", "d", "2026-03-15=0h", "99999999999999999999d"};
    size_t i;

    acp_validity_cabf(&s);
    /* the boundaries, to the second */
    CHECK(acp_validity_max(&s, 0) == 398 * D);
    CHECK(acp_validity_max(&s, T2026 - 1) == 398 * D);
    CHECK(acp_validity_max(&s, T2026) == 200 * D);
    CHECK(acp_validity_max(&s, T2027 - 1) == 200 * D);
    CHECK(acp_validity_max(&s, T2027) == 100 * D);
    CHECK(acp_validity_max(&s, T2029 - 1) == 100 * D);
    CHECK(acp_validity_max(&s, T2029) == 47 * D);
    CHECK(acp_validity_max(&s, T2029 + 3650 * D) == 47 * D);
    /* the cap: notBefore through notAfter inclusive */
    CHECK(acp_validity_cap(&s, T2026, T2026 - 60, 0) == T2026 - 60 + 200 * D - 1);
    CHECK(acp_validity_cap(&s, T2026, T2026, T2026 + 365 * D) == T2026 + 200 * D - 1);
    CHECK(acp_validity_cap(&s, T2026, T2026, T2026 + 90 * D) == T2026 + 90 * D);
    CHECK(acp_validity_cap(&s, T2026 - 1, T2026 - 1, T2026 + 500 * D) ==
          T2026 - 1 + 398 * D - 1);
    CHECK(acp_validity_cap(&s, T2029, T2029, T2029 + 90 * D) == T2029 + 47 * D - 1);
    /* the words */
    CHECK(acp_validity_parse(p, &s, 1, w1) == NULL && acp_validity_max(&s, T2029) == 0);
    CHECK(acp_validity_cap(&s, T2029, T2029, 0) == 0);
    CHECK(acp_validity_cap(&s, T2029, T2029, T2029 + 900 * D) == T2029 + 900 * D);
    CHECK(acp_validity_parse(p, &s, 1, w2) == NULL && acp_validity_max(&s, 0) == 825 * D &&
          acp_validity_max(&s, T2029) == 825 * D);
    CHECK(acp_validity_parse(p, &s, 1, w3) == NULL && acp_validity_max(&s, T2027) == 100 * D);
    CHECK(acp_validity_parse(p, &s, 3, w4) == NULL);
    CHECK(acp_validity_max(&s, T2027 - 1) == 500 * D && acp_validity_max(&s, T2027) == 100 * D);
    CHECK(acp_validity_max(&s, 1830297600LL - 1) == 100 * D);   /* 2028-01-01 */
    CHECK(acp_validity_max(&s, 1830297600LL) == 30 * D);
    /* a dated step alone extends the schedule; one at a schedule date replaces it on */
    CHECK(acp_validity_parse(p, &s, 1, w5) == NULL && acp_validity_max(&s, T2026) == 200 * D &&
          acp_validity_max(&s, T2029) == 47 * D && acp_validity_max(&s, 1893456000LL) == 10 * D);
    CHECK(acp_validity_parse(p, &s, 1, w6) == NULL && acp_validity_max(&s, T2026) == 200 * D &&
          acp_validity_max(&s, T2027) == 365 * D && acp_validity_max(&s, T2029) == 365 * D);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(acp_validity_parse(p, &s, 1, bad + i) != NULL);
    }
    CHECK(acp_validity_duration("36h", 3650 * D) == 36 * 3600);
    CHECK(acp_validity_duration("90s", 3650 * D) == 90);
    CHECK_STR(acp_validity_text(p, 200 * D), "200 days");
    CHECK_STR(acp_validity_text(p, 0), "no limit");
}

