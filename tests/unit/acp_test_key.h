/* A fresh test key for the unit tests that need one (test_ca, test_csr, test_jws,
 * test_jwk): "RSA" with bits, "EC" with a curve, or a type name ("ED25519"), freed with
 * the pool; NULL (said on stderr) when OpenSSL cannot make it. */
#ifndef ACP_TEST_KEY_H
#define ACP_TEST_KEY_H

#include <stdio.h>
#include <string.h>
#include <apr_pools.h>
#include <openssl/evp.h>

static apr_status_t pkey_free_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *gen_key(apr_pool_t *p, const char *type, const char *curve, size_t bits)
{
    EVP_PKEY *k;

    if (strcmp(type, "RSA") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    }
    else if (strcmp(type, "EC") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    }
    else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, type);
    }
    if (k) {
        apr_pool_cleanup_register(p, k, pkey_free_cleanup, apr_pool_cleanup_null);
    }
    else {
        fprintf(stderr, "keygen %s failed\n", type);
    }
    return k;
}

#endif
