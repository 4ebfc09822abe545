/* Keys for test_jws and test_jwk: a fresh key freed with the pool, its JWK as text. */
#ifndef ACP_TEST_JWK_H
#define ACP_TEST_JWK_H

#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_jws.h"

static apr_status_t pkey_free(void *k)
{
    EVP_PKEY_free(k);
    return APR_SUCCESS;
}

static EVP_PKEY *genkey(apr_pool_t *p, const char *type, const char *curve, size_t bits)
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
        apr_pool_cleanup_register(p, k, pkey_free, apr_pool_cleanup_null);
    }
    return k;
}

static const char *jwk_text(apr_pool_t *p, EVP_PKEY *key)
{
    json_object *o = acp_jwk_from_pkey(p, key);
    return o ? apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : "{}";
}

#endif
