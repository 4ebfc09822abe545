/* Profiles: names, choice at newOrder, the directory label. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_profile.h"

static void run_tests(apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, 2, sizeof(acp_profile_t *));
    acp_profile_t a = {"dv90", "90-day DV", 90, {1000, -1, -1}, 0, 0};
    acp_profile_t b = {"dv365", "1-year DV", 365, {8000, 500, -1}, 0, 0};
    acp_profile_t c = {"sub", "1-year subscription", 90, {9000, -1, -1}, 365 * 86400, 0};
    const acp_profile_t *out = NULL;
    acp_problem_t *prob;

    CHECK(acp_profile_name_ok("dv90") && acp_profile_name_ok("a.b_c-D"));
    CHECK(!acp_profile_name_ok("") && !acp_profile_name_ok("a b") && !acp_profile_name_ok(NULL));
    CHECK(!acp_profile_name_ok("é") && !acp_profile_name_ok(apr_psprintf(p, "%065d", 1)));
    /* none configured: the request's profile is ignored */
    CHECK(acp_profile_choose(p, list, NULL, "anything", &out) == NULL && out == NULL);
    APR_ARRAY_PUSH(list, acp_profile_t *) = &a;
    APR_ARRAY_PUSH(list, acp_profile_t *) = &b;
    CHECK(acp_profile_choose(p, list, NULL, NULL, &out) == NULL && out == &a);
    CHECK(acp_profile_choose(p, list, "dv365", NULL, &out) == NULL && out == &b);
    CHECK(acp_profile_choose(p, list, "gone", NULL, &out) == NULL && out == &a);
    CHECK(acp_profile_choose(p, list, NULL, "dv365", &out) == NULL && out == &b);
    prob = acp_profile_choose(p, list, NULL, "gold", &out);
    CHECK(prob && prob->kind == ACP_ERR_INVALID_PROFILE && out == NULL);
    prob = acp_profile_choose(p, list, NULL, "bad\x1b[31m", &out);
    CHECK(prob && prob->detail && !strchr(prob->detail, 0x1b));
    CHECK(acp_profile_find(list, "dv90") == &a && acp_profile_find(list, "DV90") == NULL);
    CHECK_STR(acp_profile_label(p, &b, "CNY"), "1-year DV (365 days, 80.00 CNY)");
    CHECK_STR(acp_profile_label(p, &c, "CNY"), "1-year subscription (90 days, 90.00 CNY for 365 days)");
}
