/* Shared set-up of the libFuzzer targets (tests/fuzz/fuzz_*.c): APR once, a pool per
 * input, the fixed keys, and a real SQLite database in memory for the targets that drive
 * the RA or the webhook. Built by build/fuzz.mk (clang, -fsanitize=fuzzer,address,undefined). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include "acp_sa.h"
#include "fuzz_keys.h"

/* the fuzzers' fixed clock, so a replayed input behaves the same on every run */
#define FUZZ_NOW 1800000000LL

static apr_pool_t *fuzz_root;

__attribute__((unused)) static void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz set-up failed: %s\n", what);
    abort();
}

/* At exit the fixtures go with their pool (the database closes, keys are freed): APR's
 * pool memory is not scanned by LeakSanitizer, so what only a pool holds would otherwise
 * be reported as leaked. */
static void fuzz_exit(void)
{
    apr_pool_destroy(fuzz_root);
    fuzz_root = NULL;
    apr_terminate();
}

__attribute__((unused)) static void fuzz_init_apr(void)
{
    if (!fuzz_root) {
        apr_initialize();
        if (apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            fuzz_die("pool");
        }
        atexit(fuzz_exit);
    }
}

static apr_status_t fuzz_key_free(void *k)
{
    EVP_PKEY_free(k);
    return APR_SUCCESS;
}

__attribute__((unused)) static EVP_PKEY *fuzz_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k) {
        fuzz_die("fixed key");
    }
    apr_pool_cleanup_register(fuzz_root, k, fuzz_key_free, apr_pool_cleanup_null);
    return k;
}

/* A migrated SQLite database in memory (every statement of the catalogue prepared). */
__attribute__((unused)) static acp_db_t *fuzz_db(void)
{
    acp_db_t *db = NULL;
    const char *err = NULL;

    if (acp_sa_open(fuzz_root, "sqlite3", ":memory:", 1, &db, &err) != APR_SUCCESS) {
        fuzz_die(err ? err : "database");
    }
    return db;
}

/* Raw SQL for the harness's own fixtures. */
__attribute__((unused)) static void fuzz_sql(acp_db_t *db, const char *sql)
{
    int n = 0;
    if (apr_dbd_query(db->driver, db->handle, &n, sql) != 0) {
        fprintf(stderr, "%s: %s\n", sql, apr_dbd_error(db->driver, db->handle, 1));
        fuzz_die("fixture SQL");
    }
}

/* The input as a NUL-terminated string in p (parsers take C strings). */
__attribute__((unused)) static char *fuzz_str(apr_pool_t *p, const uint8_t *data, size_t size)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

#endif
