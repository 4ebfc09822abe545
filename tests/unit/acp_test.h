/* Minimal unit-test harness: each tests/unit/test_*.c is its own program and
 * ends by printing "N passed, N failed" (tests/run.sh sums these lines). */
#ifndef ACP_TEST_H
#define ACP_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

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

static inline apr_status_t acp_t_sqlite_remove(void *data)
{
    const char *path = data;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char buf[512];
    size_t i;

    for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", path, suffix[i]);
        unlink(buf);
    }
    return APR_SUCCESS;
}

/* A new, empty SQLite database file /tmp/acp-test-<tag>-XXXXXX. It is removed with its
 * -wal, -shm and -journal files when p is destroyed: after a connection that was opened on
 * p after this call has closed (pool cleanups run last registered first), so SQLite can
 * checkpoint on close; a file unlinked under an open connection leaves its WAL behind. */
static inline const char *acp_t_sqlite_db(apr_pool_t *p, const char *tag)
{
    char *path = apr_psprintf(p, "/tmp/acp-test-%s-XXXXXX", tag);
    int fd = mkstemp(path);

    if (fd >= 0) {
        close(fd);
    }
    apr_pool_cleanup_register(p, path, acp_t_sqlite_remove, apr_pool_cleanup_null);
    return path;
}

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
