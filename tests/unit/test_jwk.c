/* JWK import and export (key sizes, private members, points off the curve, kty), RFC 7638
 * thumbprints and canonical forms, and the JSON parser's limits. JWS: test_jws.c. */
#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "acp_test.h"
#include "acp_test_jwk.h"
#include "acp_util.h"
#include "acp_jws.h"

#define JP(s) acp_json_parse(p, (s), strlen(s))

static acp_errkind_t jwk_kind(apr_pool_t *p, json_object *jwk)
{
    EVP_PKEY *k = NULL;
    acp_problem_t *prob = acp_jwk_to_pkey(p, jwk, &k);
    return prob ? prob->kind : (k ? ACP_ERR_NONE : ACP_ERR_KINDS_END);
}

/* jwk of key as a mutable object */
static json_object *jwk_obj(apr_pool_t *p, EVP_PKEY *key)
{
    const char *t = jwk_text(p, key);
    return acp_json_parse(p, t, strlen(t));
}

static void set_b64(apr_pool_t *p, json_object *o, const char *name, const unsigned char *buf,
                    size_t len)
{
    json_object_object_add(o, name, json_object_new_string(acp_b64url_encode(p, buf, len)));
}

static void test_jwk(apr_pool_t *p, EVP_PKEY *rsa, EVP_PKEY *p256, EVP_PKEY *p521, EVP_PKEY *ed)
{
    EVP_PKEY *rsa1024 = gen_key(p, "RSA", NULL, 1024);
    json_object *o;
    acp_problem_t *prob;
    EVP_PKEY *k = NULL;
    unsigned char *buf;
    size_t len;

    /* valid keys */
    CHECK(jwk_kind(p, jwk_obj(p, rsa)) == ACP_ERR_NONE);
    CHECK(jwk_kind(p, jwk_obj(p, p256)) == ACP_ERR_NONE);
    CHECK(jwk_kind(p, jwk_obj(p, p521)) == ACP_ERR_NONE);
    CHECK(jwk_kind(p, jwk_obj(p, ed)) == ACP_ERR_NONE);
    /* extra public members are ignored */
    o = jwk_obj(p, p256);
    json_object_object_add(o, "use", json_object_new_string("sig"));
    json_object_object_add(o, "kid", json_object_new_string("k1"));
    CHECK(jwk_kind(p, o) == ACP_ERR_NONE);

    /* RSA 1024 */
    CHECK(rsa1024 != NULL);
    o = jwk_obj(p, rsa1024);
    prob = acp_jwk_to_pkey(p, o, &k);
    CHECK(prob && prob->kind == ACP_ERR_BAD_PUBLIC_KEY && k == NULL);
    CHECK(prob && strstr(prob->detail, "1024") != NULL);
    /* private members */
    o = jwk_obj(p, rsa);
    json_object_object_add(o, "d", json_object_new_string("AQAB"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, p256);
    json_object_object_add(o, "d", json_object_new_string("AQAB"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, rsa);
    json_object_object_add(o, "qi", json_object_new_string("AQAB"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    /* RSA: leading zero octet, even exponent, missing n */
    o = jwk_obj(p, rsa);
    CHECK(acp_b64url_decode(p, json_object_get_string(json_object_object_get(o, "n")),
                            strlen(json_object_get_string(json_object_object_get(o, "n"))), &buf,
                            &len) == 0);
    {
        unsigned char *z = apr_pcalloc(p, len + 1);
        memcpy(z + 1, buf, len);
        set_b64(p, o, "n", z, len + 1);
        CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    }
    o = jwk_obj(p, rsa);
    json_object_object_add(o, "e", json_object_new_string("AQAA"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, rsa);
    json_object_object_del(o, "n");
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);

    /* EC point off the curve */
    o = jwk_obj(p, p256);
    CHECK(acp_b64url_decode(p, json_object_get_string(json_object_object_get(o, "y")),
                            strlen(json_object_get_string(json_object_object_get(o, "y"))), &buf,
                            &len) == 0 &&
          len == 32);
    buf[31] ^= 0x01;
    set_b64(p, o, "y", buf, len);
    prob = acp_jwk_to_pkey(p, o, &k);
    CHECK(prob && prob->kind == ACP_ERR_BAD_PUBLIC_KEY && k == NULL);
    /* coordinates out of range, wrong length, wrong curve for the length */
    o = jwk_obj(p, p256);
    memset(buf, 0xff, 32);
    set_b64(p, o, "x", buf, 32);
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, p256);
    set_b64(p, o, "x", buf, 31);
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, p256);
    json_object_object_add(o, "crv", json_object_new_string("P-384"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, p256);
    json_object_object_add(o, "crv", json_object_new_string("secp256k1"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    /* point at infinity / all-zero */
    o = jwk_obj(p, p256);
    memset(buf, 0, 32);
    set_b64(p, o, "x", buf, 32);
    set_b64(p, o, "y", buf, 32);
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);

    /* OKP */
    o = jwk_obj(p, ed);
    json_object_object_add(o, "crv", json_object_new_string("X25519"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, ed);
    set_b64(p, o, "x", buf, 31);
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);
    o = jwk_obj(p, ed);
    json_object_object_add(o, "d", json_object_new_string("AQAB"));
    CHECK(jwk_kind(p, o) == ACP_ERR_BAD_PUBLIC_KEY);

    /* kty */
    CHECK(jwk_kind(p, JP("{\"kty\":\"oct\",\"k\":\"AQAB\"}")) ==
          ACP_ERR_BAD_PUBLIC_KEY);
    CHECK(jwk_kind(p, JP("{\"kty\":\"DSA\",\"y\":\"AQAB\"}")) ==
          ACP_ERR_BAD_PUBLIC_KEY);
    CHECK(jwk_kind(p, JP("{\"n\":\"AQAB\"}")) == ACP_ERR_BAD_PUBLIC_KEY);
    CHECK(jwk_kind(p, JP("[1]")) == ACP_ERR_MALFORMED);
    CHECK(jwk_kind(p, NULL) == ACP_ERR_MALFORMED);

    /* round trip pkey -> jwk -> pkey for every type */
    {
        EVP_PKEY *all[] = {rsa, p256, p521, ed, gen_key(p, "EC", "P-384", 0)};
        size_t i;
        for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            json_object *j = acp_jwk_from_pkey(p, all[i]);
            k = NULL;
            CHECK(j != NULL);
            CHECK(acp_jwk_to_pkey(p, j, &k) == NULL);
            CHECK(k && EVP_PKEY_eq(k, all[i]) == 1);
            if (i > 0) {
                CHECK(k && EVP_PKEY_eq(k, all[i - 1]) != 1);
            }
        }
    }
    ERR_clear_error();
}

static void test_thumbprint(apr_pool_t *p, EVP_PKEY *p256)
{
    /* RFC 7638 §3.1 */
    static const char rfc7638[] =
        "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z"
        "wu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_"
        "RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
        "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
    /* RFC 8037 A.3 */
    static const char rfc8037[] =
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    static const char ec[] = "{\"y\":\"nhI6iD5eFXgBTLt_1p3aip-5VbZeMhxeFSpjfEAf7Ww\","
                             "\"kty\":\"EC\","
                             "\"x\":\"jJ6Flys3zK9jUhnOHf6G49Dyp5hah6CNP84-gY-n9eo\",\"crv\":\"P-"
                             "256\",\"use\":\"sig\"}";
    json_object *o = acp_json_parse(p, rfc7638, strlen(rfc7638));
    EVP_PKEY *k = NULL;
    char *canon;

    CHECK_STR(acp_jwk_thumbprint(p, o), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    canon = acp_jwk_canonical(p, o);
    CHECK(canon && strncmp(canon, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7ag", 34) == 0);
    CHECK(canon && strlen(canon) > 7 && strcmp(canon + strlen(canon) - 7, "qDKgw\"}") == 0);
    /* the example is a 2048-bit key and imports */
    CHECK(acp_jwk_to_pkey(p, o, &k) == NULL && k != NULL);
    CHECK_STR(acp_jwk_thumbprint(p, acp_jwk_from_pkey(p, k)),
              "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

    o = acp_json_parse(p, rfc8037, strlen(rfc8037));
    CHECK_STR(acp_jwk_thumbprint(p, o), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    CHECK_STR(acp_jwk_canonical(p, o),
              "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaP"
              "cHURo\"}");
    o = acp_json_parse(p, ec, strlen(ec));
    CHECK_STR(acp_jwk_thumbprint(p, o), "w9eYdC6_s_tLQ8lH6PUpc0mddazaqtPgeC2IgWDiqY8");
    CHECK_STR(acp_jwk_canonical(p, o),
              "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"jJ6Flys3zK9jUhnOHf6G49Dyp5hah6CNP84-gY-"
              "n9eo\",\"y\":\"nhI6iD5eFXgBTLt_1p3aip-5VbZeMhxeFSpjfEAf7Ww\"}");

    /* a generated key: thumbprint is SHA-256 over the canonical text */
    {
        json_object *j = acp_jwk_from_pkey(p, p256);
        const char *c = acp_jwk_canonical(p, j);
        unsigned char d[32];
        unsigned int dl = 0;
        CHECK(c && EVP_Digest(c, strlen(c), d, &dl, EVP_sha256(), NULL) == 1 && dl == 32);
        CHECK_STR(acp_jwk_thumbprint(p, j), acp_b64url_encode(p, d, dl));
        CHECK(c && strncmp(c, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 31) == 0);
    }

    /* bad jwks: NULL */
    CHECK(acp_jwk_thumbprint(p, NULL) == NULL);
    CHECK(acp_jwk_thumbprint(p, JP("{\"kty\":\"RSA\",\"n\":\"AQAB\"}")) ==
          NULL);
    CHECK(acp_jwk_thumbprint(p, JP("{\"kty\":\"oct\",\"k\":\"AQAB\"}")) ==
          NULL);
    CHECK(acp_jwk_canonical(p, JP("{\"kty\":\"RSA\",\"n\":\"a\\\"b\",\"e\":\"AQAB\"}")) == NULL);
    CHECK(acp_jwk_canonical(p, JP("{\"kty\":\"RSA\",\"n\":\"a+b\",\"e\":\"AQAB\"}")) == NULL);
    CHECK(acp_jwk_canonical(p, JP("{\"kty\":\"RSA\",\"n\":5,\"e\":\"AQAB\"}")) ==
          NULL);
    CHECK(acp_jwk_canonical(p, JP("{\"kty\":\"OKP\",\"crv\":\"\",\"x\":\"AQAB\"}")) == NULL);
}

/* n nested arrays around inner */
static const char *nest(apr_pool_t *p, int n, const char *inner)
{
    const char *s = inner;
    int i;

    for (i = 0; i < n; i++) {
        s = apr_pstrcat(p, "[", s, "]", NULL);
    }
    return s;
}

static void test_json(apr_pool_t *p)
{
    json_object *o;

    o = JP("{\"a\":[1,2]}");
    CHECK(o && json_object_is_type(o, json_type_object));
    CHECK(JP(" {\"a\":1} \n") != NULL);
    CHECK(JP("{\"a\":1} x") == NULL);
    CHECK(JP("{\"a\":1}{}") == NULL);
    CHECK(JP("{\"a\":1") == NULL);
    CHECK(JP("{\"a\":1,}") == NULL);
    CHECK(acp_json_parse(p, "{\"a\":1}\0", 8) == NULL);
    CHECK(acp_json_parse(p, "{\"a\":\0}", 7) == NULL);
    CHECK(JP("") == NULL);
    CHECK(acp_json_parse(p, NULL, 0) == NULL);
    CHECK(JP("   ") == NULL);
    CHECK(acp_json_parse(p, "{}xyz", 2) != NULL); /* only len bytes */
    o = JP("123");
    CHECK(o && json_object_get_int(o) == 123);
    o = JP("true ");
    CHECK(o && json_object_get_boolean(o));
    CHECK(JP("12 3") == NULL);
    o = JP("[\"x\"]");
    CHECK(o && json_object_is_type(o, json_type_array));
    /* nesting: at most 16 levels of values ("[[1]]" has 3) */
    CHECK(acp_json_parse(p, nest(p, 16, ""), 32) != NULL);
    CHECK(acp_json_parse(p, nest(p, 15, "1"), 31) != NULL);
    CHECK(acp_json_parse(p, nest(p, 16, "1"), 33) == NULL);
    CHECK(acp_json_parse(p, nest(p, 17, ""), 34) == NULL);
    CHECK(JP(apr_pstrcat(p, "{\"a\":", nest(p, 13, "{\"b\":1}"), "}", NULL)) != NULL);
    CHECK(JP(apr_pstrcat(p, "{\"a\":", nest(p, 14, "{\"b\":1}"), "}", NULL)) == NULL);
    /* invalid UTF-8 */
    CHECK(JP("{\"a\":\"\xff\"}") == NULL);
}

static void run_tests(apr_pool_t *p)
{
    EVP_PKEY *rsa = gen_key(p, "RSA", NULL, 2048);
    EVP_PKEY *p256 = gen_key(p, "EC", "P-256", 0);
    EVP_PKEY *p521 = gen_key(p, "EC", "P-521", 0);
    EVP_PKEY *ed = gen_key(p, "ED25519", NULL, 0);

    if (!(rsa && p256 && p521 && ed)) {
        CHECK(!"test keys generated");
        return;
    }
    test_json(p);
    test_jwk(p, rsa, p256, p521, ed);
    test_thumbprint(p, p256);
}
