/* A key's JWK as text, for test_jws and test_jwk (the keys: acp_test_key.h). */
#ifndef ACP_TEST_JWK_H
#define ACP_TEST_JWK_H

#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_jws.h"
#include "acp_test_key.h"

static const char *jwk_text(apr_pool_t *p, EVP_PKEY *key)
{
    json_object *o = acp_jwk_from_pkey(p, key);
    return o ? apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : "{}";
}

#endif
