/* Minimal unit-test harness: each tests/unit/test_*.c is its own program and
 * ends by printing "N passed, N failed" (tests/run.sh sums these lines). */
#ifndef ACP_TEST_H
#define ACP_TEST_H

#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

static int acp_t_pass, acp_t_fail;

#define CHECK(cond) do { \
        if (cond) { acp_t_pass++; } \
        else { acp_t_fail++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)
#define CHECK_STR(a, b) do { \
        const char *a_ = (a), *b_ = (b); \
        if (a_ && b_ && strcmp(a_, b_) == 0) { acp_t_pass++; } \
        else { acp_t_fail++; fprintf(stderr, "FAIL %s:%d: %s == \"%s\", want \"%s\"\n", \
                                     __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } \
    } while (0)

/* Each test file defines: static void run_tests(apr_pool_t *p); */
static void run_tests(apr_pool_t *p);

int main(void)
{
    apr_pool_t *p;
    apr_initialize();
    apr_pool_create(&p, NULL);
    run_tests(p);
    apr_pool_destroy(p);
    apr_terminate();
    printf("%d passed, %d failed\n", acp_t_pass, acp_t_fail);
    return acp_t_fail ? 1 : 0;
}

#endif
