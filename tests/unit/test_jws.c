/* JWS parsing and verification, JWK import/export, RFC 7638 thumbprints, JSON parsing. */
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include "acp_test.h"
#include "acp_util.h"
#include "acp_jws.h"

#define URL "https://acme.example/acme/new-order"
#define KID "https://acme.example/acme/acct/abc"
#define JP(s) acp_json_parse(p, (s), strlen(s))

/* ---- keys and signing (test side) ------------------------------------------------- */

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

static const char *b64s(apr_pool_t *p, const char *s)
{
    return acp_b64url_encode(p, (const unsigned char *)s, strlen(s));
}

/* JWS signature (base64url) of tbs: raw r||s for ECDSA; HMAC when mac is given.
 * pss_salt is used for PS256 only. */
static const char *sign_b64(apr_pool_t *p, EVP_PKEY *key, const char *alg, const char *tbs,
                            const unsigned char *mac, size_t maclen, int pss_salt)
{
    const char *md = NULL;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL, *raw;
    size_t siglen = 0, half = 0;
    const char *out = NULL;

    if (strcmp(alg + 2, "256") == 0) {
        md = "SHA256";
    }
    else if (strcmp(alg + 2, "384") == 0) {
        md = "SHA384";
    }
    else if (strcmp(alg + 2, "512") == 0) {
        md = "SHA512";
    }
    if (mac) {
        unsigned char buf[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (!HMAC(EVP_get_digestbyname(md), mac, (int)maclen, (const unsigned char *)tbs,
                  strlen(tbs), buf, &len)) {
            return NULL;
        }
        return acp_b64url_encode(p, buf, len);
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL) != 1) {
        goto done;
    }
    if (alg[0] == 'P' && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                          EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) != 1 ||
                          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) != 1)) {
        goto done;
    }
    if (EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)tbs, strlen(tbs)) != 1) {
        goto done;
    }
    sig = apr_palloc(p, siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)tbs, strlen(tbs)) != 1) {
        goto done;
    }
    if (alg[0] == 'E' && alg[1] == 'S') {
        const unsigned char *q = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
        const BIGNUM *r, *s;
        half = strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0 ? 48 : 66;
        if (!es) {
            goto done;
        }
        ECDSA_SIG_get0(es, &r, &s);
        raw = apr_palloc(p, 2 * half);
        if (BN_bn2binpad(r, raw, (int)half) != (int)half ||
            BN_bn2binpad(s, raw + half, (int)half) != (int)half) {
            ECDSA_SIG_free(es);
            goto done;
        }
        ECDSA_SIG_free(es);
        sig = raw;
        siglen = 2 * half;
    }
    out = acp_b64url_encode(p, sig, siglen);
done:
    EVP_MD_CTX_free(ctx);
    return out;
}

static const char *assemble(apr_pool_t *p, const char *ph, const char *pl, const char *sig)
{
    return apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", ph,
                        pl, sig);
}

typedef struct {
    const char *ph, *pl, *sig, *body;
} parts_t;

static parts_t mkjws_ex(apr_pool_t *p, EVP_PKEY *key, const char *alg, const char *hdr,
                        const char *payload, const unsigned char *mac, size_t maclen)
{
    parts_t r;

    r.ph = b64s(p, hdr);
    r.pl = b64s(p, payload);
    r.sig = sign_b64(p, key, alg, apr_pstrcat(p, r.ph, ".", r.pl, NULL), mac, maclen, 32);
    r.body = r.sig ? assemble(p, r.ph, r.pl, r.sig) : "";
    return r;
}

static const char *mkjws(apr_pool_t *p, EVP_PKEY *key, const char *alg, const char *hdr,
                         const char *payload)
{
    return mkjws_ex(p, key, alg, hdr, payload, NULL, 0).body;
}

/* protected header; jwk is JSON text, NULL members are left out */
static const char *hdr(apr_pool_t *p, const char *alg, const char *jwk, const char *kid,
                       const char *nonce, const char *url)
{
    const char *s = apr_psprintf(p, "{\"alg\":\"%s\"", alg);
    if (jwk) {
        s = apr_pstrcat(p, s, ",\"jwk\":", jwk, NULL);
    }
    if (kid) {
        s = apr_pstrcat(p, s, ",\"kid\":\"", kid, "\"", NULL);
    }
    if (nonce) {
        s = apr_pstrcat(p, s, ",\"nonce\":\"", nonce, "\"", NULL);
    }
    if (url) {
        s = apr_pstrcat(p, s, ",\"url\":\"", url, "\"", NULL);
    }
    return apr_pstrcat(p, s, "}", NULL);
}

static const char *jwk_text(apr_pool_t *p, EVP_PKEY *key)
{
    json_object *o = acp_jwk_from_pkey(p, key);
    return o ? apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : "{}";
}

static acp_errkind_t parse_kind(apr_pool_t *p, acp_jws_kind_t kind, const char *body,
                                acp_jws_t **out)
{
    acp_jws_t *dummy;
    acp_problem_t *prob = acp_jws_parse(p, kind, body, strlen(body), out ? out : &dummy);
    return prob ? prob->kind : ACP_ERR_NONE;
}

/* parse (OUTER) and verify with key; the problem kind */
static acp_errkind_t check_kind(apr_pool_t *p, const char *body, EVP_PKEY *key,
                                const char **detail)
{
    acp_jws_t *jws = NULL;
    acp_problem_t *prob = acp_jws_parse(p, ACP_JWS_OUTER, body, strlen(body), &jws);

    if (!prob) {
        prob = acp_jws_verify(p, jws, key);
    }
    if (detail) {
        *detail = prob ? prob->detail : NULL;
    }
    return prob ? prob->kind : ACP_ERR_NONE;
}

static acp_errkind_t jwk_kind(apr_pool_t *p, json_object *jwk)
{
    EVP_PKEY *k = NULL;
    acp_problem_t *prob = acp_jwk_to_pkey(p, jwk, &k);
    return prob ? prob->kind : (k ? ACP_ERR_NONE : ACP_ERR_KINDS_END);
}

/* ---- tests -------------------------------------------------------------------------- */

typedef struct {
    const char *alg;
    EVP_PKEY *key;
} case_t;

static void test_algorithms(apr_pool_t *p, case_t *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *jwk = jwk_text(p, cases[i].key);
        const char *h = hdr(p, cases[i].alg, jwk, NULL, "nonce1", URL);
        parts_t j = mkjws_ex(p, cases[i].key, cases[i].alg, h, "{\"a\":1}", NULL, 0);
        acp_jws_t *jws = NULL;
        EVP_PKEY *k = NULL;
        const char *d = NULL;
        unsigned char *sig;
        size_t siglen;
        char *tampered;

        CHECK(j.sig != NULL);
        CHECK(parse_kind(p, ACP_JWS_OUTER, j.body, &jws) == ACP_ERR_NONE);
        if (!jws) {
            continue;
        }
        CHECK_STR(jws->alg, cases[i].alg);
        CHECK_STR(jws->nonce, "nonce1");
        CHECK_STR(jws->url, URL);
        CHECK(jws->kid == NULL);
        CHECK(jws->jwk != NULL);
        CHECK_STR(jws->payload, "{\"a\":1}");
        CHECK(jws->payload_len == 7);
        CHECK(acp_jwk_to_pkey(p, jws->jwk, &k) == NULL && k != NULL);
        CHECK(k && EVP_PKEY_eq(k, cases[i].key) == 1);
        CHECK(k && acp_jws_verify(p, jws, k) == NULL);
        CHECK(acp_jws_verify(p, jws, cases[i].key) == NULL);

        /* tampered payload */
        CHECK(check_kind(p, assemble(p, j.ph, b64s(p, "{\"a\":2}"), j.sig), cases[i].key,
                         &d) == ACP_ERR_MALFORMED);
        CHECK_STR(d, "JWS signature invalid");
        /* tampered protected header (other nonce) */
        CHECK(check_kind(p,
                         assemble(p, b64s(p, hdr(p, cases[i].alg, jwk, NULL, "nonce2", URL)),
                                  j.pl, j.sig),
                         cases[i].key, &d) == ACP_ERR_MALFORMED);
        CHECK_STR(d, "JWS signature invalid");
        /* flipped signature bit */
        CHECK(acp_b64url_decode(p, j.sig, strlen(j.sig), &sig, &siglen) == 0);
        sig[siglen / 2] ^= 0x01;
        CHECK(check_kind(p, assemble(p, j.ph, j.pl, acp_b64url_encode(p, sig, siglen)),
                         cases[i].key, &d) == ACP_ERR_MALFORMED);
        CHECK_STR(d, "JWS signature invalid");
        /* truncated signature */
        tampered = apr_pstrndup(p, j.sig, strlen(j.sig) - 4);
        CHECK(check_kind(p, assemble(p, j.ph, j.pl, tampered), cases[i].key, NULL) ==
              ACP_ERR_MALFORMED);

        /* the jwk outlives the parse of a second request in the same pool */
        CHECK(acp_jwk_thumbprint(p, jws->jwk) != NULL);
        CHECK_STR(acp_jwk_thumbprint(p, jws->jwk),
                  acp_jwk_thumbprint(p, acp_jwk_from_pkey(p, cases[i].key)));
    }
}

/* ECDSA r||s whose r or s has leading zero octets or the high bit set (minimal DER
 * INTEGERs differ in length), and values out of range, which never verify. */
static void test_ecdsa_edges(apr_pool_t *p, const char *alg, EVP_PKEY *key, size_t half)
{
    const char *h = hdr(p, alg, NULL, KID, "n", URL);
    int seen[4] = {0, 0, 0, 0}, bad = 0, i;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    const char *d = NULL;

    for (i = 0; i < 8000 && !(seen[0] && seen[1] && seen[2] && seen[3]); i++) {
        apr_pool_t *sp;
        parts_t j;
        int c[4], k, want = 0;

        apr_pool_create(&sp, p);
        j = mkjws_ex(sp, key, alg, h, apr_psprintf(sp, "{\"i\":%d}", i), NULL, 0);
        if (!j.sig || acp_b64url_decode(sp, j.sig, strlen(j.sig), &sig, &siglen) != 0 ||
            siglen != 2 * half) {
            bad++;
            apr_pool_destroy(sp);
            continue;
        }
        c[0] = sig[0] == 0;
        c[1] = sig[half] == 0;
        c[2] = (sig[0] & 0x80) != 0;
        c[3] = (sig[half] & 0x80) != 0;
        for (k = 0; k < 4; k++) {
            if (c[k] && !seen[k]) {
                seen[k] = want = 1;
            }
        }
        if (want && check_kind(sp, j.body, key, &d) != ACP_ERR_NONE) {
            fprintf(stderr, "%s r||s %s did not verify: %s\n", alg, acp_hex(sp, sig, siglen),
                    d ? d : "");
            bad++;
        }
        apr_pool_destroy(sp);
    }
    CHECK(bad == 0);
    CHECK(seen[0] && seen[1] && seen[2] && seen[3]);

    /* r = 0, s = 0, r >= n: invalid, not an internal error */
    {
        parts_t j = mkjws_ex(p, key, alg, h, "{}", NULL, 0);
        int k;
        CHECK(j.sig && acp_b64url_decode(p, j.sig, strlen(j.sig), &sig, &siglen) == 0);
        for (k = 0; j.sig && k < 3; k++) {
            unsigned char *t = apr_pmemdup(p, sig, siglen);
            memset(k == 1 ? t + half : t, k == 2 ? 0xff : 0, half);
            CHECK(check_kind(p, assemble(p, j.ph, j.pl, acp_b64url_encode(p, t, siglen)), key,
                             &d) == ACP_ERR_MALFORMED);
            CHECK_STR(d, "JWS signature invalid");
        }
    }
}

static void test_pss_salt(apr_pool_t *p, EVP_PKEY *rsa)
{
    const char *h = hdr(p, "PS256", NULL, KID, "n", URL);
    const char *ph = b64s(p, h), *pl = b64s(p, "{}");
    const char *tbs = apr_pstrcat(p, ph, ".", pl, NULL);

    /* salt = digest length (RFC 7518) and other lengths are accepted */
    CHECK(check_kind(p, assemble(p, ph, pl, sign_b64(p, rsa, "PS256", tbs, NULL, 0,
                                                     RSA_PSS_SALTLEN_DIGEST)),
                     rsa, NULL) == ACP_ERR_NONE);
    CHECK(check_kind(p, assemble(p, ph, pl, sign_b64(p, rsa, "PS256", tbs, NULL, 0, 0)), rsa,
                     NULL) == ACP_ERR_NONE);
    CHECK(check_kind(p,
                     assemble(p, ph, pl,
                              sign_b64(p, rsa, "PS256", tbs, NULL, 0, RSA_PSS_SALTLEN_MAX)),
                     rsa, NULL) == ACP_ERR_NONE);
    /* an RS256 signature does not pass as PS256 */
    CHECK(check_kind(p, assemble(p, ph, pl, sign_b64(p, rsa, "RS256", tbs, NULL, 0, 0)), rsa,
                     NULL) == ACP_ERR_MALFORMED);
}

static void test_mismatch(apr_pool_t *p, EVP_PKEY *rsa, EVP_PKEY *p256, EVP_PKEY *p384,
                          EVP_PKEY *ed)
{
    const char *d = NULL;
    const char *b;
    acp_jws_t *jws = NULL;

    /* signed correctly, verified against a key of another type */
    b = mkjws(p, p256, "ES256", hdr(p, "ES256", NULL, KID, "n", URL), "{}");
    CHECK(check_kind(p, b, rsa, &d) == ACP_ERR_BAD_SIGNATURE_ALG);
    CHECK(d && strstr(d, "ES256") != NULL);
    CHECK(check_kind(p, b, p384, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    CHECK(check_kind(p, b, ed, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    b = mkjws(p, rsa, "RS256", hdr(p, "RS256", NULL, KID, "n", URL), "{}");
    CHECK(check_kind(p, b, p256, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    CHECK(check_kind(p, b, ed, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    b = mkjws(p, ed, "EdDSA", hdr(p, "EdDSA", NULL, KID, "n", URL), "{}");
    CHECK(check_kind(p, b, rsa, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    CHECK(check_kind(p, b, p256, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    /* header says ES384 but the signature came from P-256 and is 64 octets */
    b = assemble(p, b64s(p, hdr(p, "ES384", NULL, KID, "n", URL)), b64s(p, "{}"),
                 acp_b64url_encode(p, (const unsigned char *)"0123456789012345678901234567890123"
                                                          "456789012345678901234567890123",
                                   64));
    CHECK(check_kind(p, b, p384, &d) == ACP_ERR_MALFORMED);
    CHECK(d && strstr(d, "JWS signature invalid") != NULL);
    /* no key at all */
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, &jws) == ACP_ERR_NONE);
    CHECK(jws && acp_jws_verify(p, jws, NULL) != NULL);
}

static void test_bad_algs(apr_pool_t *p, EVP_PKEY *rsa)
{
    const char *jwk = jwk_text(p, rsa);
    const char *b;
    acp_jws_t *jws;
    acp_problem_t *prob;
    static const char *const bad[] = {"none", "HS256", "HS512", "RS384", "PS512", "ES256K",
                                      "Ed25519", "", "rs256", "RS256 "};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = assemble(p, b64s(p, hdr(p, bad[i], NULL, KID, "n", URL)), b64s(p, "{}"), "AAAA");
        prob = acp_jws_parse(p, ACP_JWS_OUTER, b, strlen(b), &jws);
        CHECK(prob && prob->kind == ACP_ERR_BAD_SIGNATURE_ALG);
        CHECK(prob && strstr(prob->detail, apr_psprintf(p, "'%s'", bad[i])) != NULL);
        b = assemble(p, b64s(p, hdr(p, bad[i], jwk, NULL, NULL, URL)), b64s(p, "{}"), "AAAA");
        CHECK(parse_kind(p, ACP_JWS_KEYCHANGE, b, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    }
    /* alg missing or not a string: malformed */
    b = assemble(p, b64s(p, "{\"kid\":\"" KID "\",\"nonce\":\"n\",\"url\":\"" URL "\"}"),
                 b64s(p, "{}"), "AAAA");
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = assemble(p,
                 b64s(p, "{\"alg\":256,\"kid\":\"" KID "\",\"nonce\":\"n\",\"url\":\"" URL
                         "\"}"),
                 b64s(p, "{}"), "AAAA");
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    /* HS256 on an RSA-signed jws: verify refuses too */
    b = mkjws_ex(p, NULL, "HS256", hdr(p, "HS256", NULL, KID, NULL, URL), "{}",
                 (const unsigned char *)"k", 1)
            .body;
    CHECK(parse_kind(p, ACP_JWS_EAB, b, &jws) == ACP_ERR_NONE);
    prob = acp_jws_verify(p, jws, rsa);
    CHECK(prob && prob->kind == ACP_ERR_BAD_SIGNATURE_ALG);
}

static void test_header_rules(apr_pool_t *p, EVP_PKEY *p256)
{
    const char *jwk = jwk_text(p, p256);
    const char *d;
    acp_jws_t *jws = NULL;
    acp_problem_t *prob;
    const char *b;

#define OUTER(h) check_kind(p, mkjws(p, p256, "ES256", (h), "{}"), p256, NULL)
    CHECK(OUTER(hdr(p, "ES256", jwk, NULL, "n", URL)) == ACP_ERR_NONE);
    CHECK(OUTER(hdr(p, "ES256", NULL, KID, "n", URL)) == ACP_ERR_NONE);
    /* jwk and kid, or neither */
    b = mkjws(p, p256, "ES256", hdr(p, "ES256", jwk, KID, "n", URL), "{}");
    prob = acp_jws_parse(p, ACP_JWS_OUTER, b, strlen(b), &jws);
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    d = prob ? prob->detail : NULL;
    CHECK(d && strstr(d, "exactly one of") != NULL);
    CHECK(OUTER(hdr(p, "ES256", NULL, NULL, "n", URL)) == ACP_ERR_MALFORMED);
    /* nonce: missing, empty, not a string */
    CHECK(OUTER(hdr(p, "ES256", jwk, NULL, NULL, URL)) == ACP_ERR_MALFORMED);
    CHECK(OUTER(hdr(p, "ES256", jwk, NULL, "", URL)) == ACP_ERR_MALFORMED);
    CHECK(OUTER("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"nonce\":5,\"url\":\"" URL "\"}") ==
          ACP_ERR_MALFORMED);
    /* url: missing, empty, not a string, embedded NUL */
    CHECK(OUTER(hdr(p, "ES256", jwk, NULL, "n", NULL)) == ACP_ERR_MALFORMED);
    CHECK(OUTER(hdr(p, "ES256", jwk, NULL, "n", "")) == ACP_ERR_MALFORMED);
    CHECK(OUTER("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"nonce\":\"n\",\"url\":[]}") ==
          ACP_ERR_MALFORMED);
    CHECK(OUTER("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"nonce\":\"n\",\"url\":\"" URL
                "\\u0000x\"}") == ACP_ERR_MALFORMED);
    /* jwk must be an object, kid a non-empty string */
    CHECK(OUTER(hdr(p, "ES256", "\"jwk\"", NULL, "n", URL)) == ACP_ERR_MALFORMED);
    CHECK(OUTER("{\"alg\":\"ES256\",\"kid\":1,\"nonce\":\"n\",\"url\":\"" URL "\"}") ==
          ACP_ERR_MALFORMED);
    CHECK(OUTER(hdr(p, "ES256", NULL, "", "n", URL)) == ACP_ERR_MALFORMED);
    /* crit is not understood */
    CHECK(OUTER("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false,\"kid\":\"" KID
                "\",\"nonce\":\"n\",\"url\":\"" URL "\"}") == ACP_ERR_MALFORMED);
    /* header is not an object / not JSON */
    CHECK(OUTER("[\"ES256\"]") == ACP_ERR_MALFORMED);
    CHECK(OUTER("alg=ES256") == ACP_ERR_MALFORMED);
#undef OUTER
    /* kid request keeps the kid */
    b = mkjws(p, p256, "ES256", hdr(p, "ES256", NULL, KID, "n", URL), "{}");
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, &jws) == ACP_ERR_NONE);
    CHECK(jws && jws->jwk == NULL);
    CHECK_STR(jws ? jws->kid : NULL, KID);
}

static void test_structure(apr_pool_t *p, EVP_PKEY *p256)
{
    parts_t j = mkjws_ex(p, p256, "ES256", hdr(p, "ES256", NULL, KID, "n", URL), "{\"x\":true}",
                         NULL, 0);
    const char *b;

    CHECK(check_kind(p, j.body, p256, NULL) == ACP_ERR_NONE);
    /* base64url strictness: padding, '+', '/', whitespace */
    CHECK(parse_kind(p, ACP_JWS_OUTER, assemble(p, apr_pstrcat(p, j.ph, "=", NULL), j.pl, j.sig),
                     NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_OUTER, assemble(p, j.ph, apr_pstrcat(p, j.pl, "==", NULL), j.sig),
                     NULL) == ACP_ERR_MALFORMED);
    b = assemble(p, j.ph, j.pl, apr_pstrcat(p, "+", j.sig + 1, NULL));
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = assemble(p, j.ph, j.pl, apr_pstrcat(p, "/", j.sig + 1, NULL));
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = assemble(p, j.ph, apr_pstrcat(p, "+", j.pl + 1, NULL), j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = assemble(p, apr_pstrcat(p, "/", j.ph + 1, NULL), j.pl, j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = assemble(p, j.ph, j.pl, apr_pstrcat(p, j.sig, " ", NULL));
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    /* extra or missing top-level members, general serialization, wrong types */
    b = apr_psprintf(p,
                     "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\","
                     "\"header\":{\"kid\":\"x\"}}",
                     j.ph, j.pl, j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = apr_psprintf(p,
                     "{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\","
                     "\"signature\":\"%s\"}]}",
                     j.pl, j.ph, j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"header\":\"%s\"}", j.ph,
                     j.pl, j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\"}", j.ph, j.pl);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":{\"x\":true},\"signature\":\"%s\"}",
                     j.ph, j.sig);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    b = apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":null}", j.ph,
                     j.pl);
    CHECK(parse_kind(p, ACP_JWS_OUTER, b, NULL) == ACP_ERR_MALFORMED);
    /* empty signature */
    CHECK(parse_kind(p, ACP_JWS_OUTER, assemble(p, j.ph, j.pl, ""), NULL) == ACP_ERR_MALFORMED);
    /* not a JSON object, compact serialization, trailing garbage, NUL */
    CHECK(parse_kind(p, ACP_JWS_OUTER, "[]", NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_OUTER, "", NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_OUTER, apr_pstrcat(p, j.ph, ".", j.pl, ".", j.sig, NULL),
                     NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_OUTER, apr_pstrcat(p, j.body, "x", NULL), NULL) ==
          ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_OUTER, apr_pstrcat(p, j.body, " \r\n", NULL), NULL) ==
          ACP_ERR_NONE);
    {
        acp_jws_t *jws;
        size_t n = strlen(j.body);
        char *nul = apr_pstrcat(p, j.body, " ", NULL);
        nul[n] = '\0'; /* the length covers a NUL byte */
        CHECK(acp_jws_parse(p, ACP_JWS_OUTER, nul, n + 1, &jws) != NULL);
        CHECK(acp_jws_parse(p, ACP_JWS_OUTER, NULL, 0, &jws) != NULL);
        /* only len bytes are read */
        CHECK(acp_jws_parse(p, ACP_JWS_OUTER, apr_pstrcat(p, j.body, "garbage", NULL), n,
                            &jws) == NULL);
    }
}

static void test_post_as_get(apr_pool_t *p, EVP_PKEY *ed, EVP_PKEY *rsa)
{
    parts_t j = mkjws_ex(p, ed, "EdDSA", hdr(p, "EdDSA", NULL, KID, "n", URL), "", NULL, 0);
    acp_jws_t *jws = NULL;

    CHECK(strstr(j.body, "\"payload\":\"\"") != NULL);
    CHECK(parse_kind(p, ACP_JWS_OUTER, j.body, &jws) == ACP_ERR_NONE);
    CHECK(jws && jws->payload && jws->payload[0] == '\0' && jws->payload_len == 0);
    CHECK_STR(jws ? jws->payload_b64 : NULL, "");
    CHECK(jws && acp_jws_verify(p, jws, ed) == NULL);
    /* "{}" is not POST-as-GET */
    j = mkjws_ex(p, rsa, "RS256", hdr(p, "RS256", NULL, KID, "n", URL), "{}", NULL, 0);
    CHECK(parse_kind(p, ACP_JWS_OUTER, j.body, &jws) == ACP_ERR_NONE);
    CHECK(jws && jws->payload_len == 2);
    CHECK(jws && acp_jws_verify(p, jws, rsa) == NULL);
}

static void test_keychange(apr_pool_t *p, EVP_PKEY *oldk, EVP_PKEY *newk)
{
    const char *newjwk = jwk_text(p, newk);
    const char *payload = apr_pstrcat(p, "{\"account\":\"" KID "\",\"oldKey\":",
                                      jwk_text(p, oldk), "}", NULL);
    const char *inner = mkjws(p, newk, "ES384", hdr(p, "ES384", newjwk, NULL, NULL, URL), payload);
    acp_jws_t *jws = NULL;
    EVP_PKEY *k = NULL;

    CHECK(parse_kind(p, ACP_JWS_KEYCHANGE, inner, &jws) == ACP_ERR_NONE);
    CHECK(jws && jws->nonce == NULL && jws->kid == NULL && jws->jwk != NULL);
    CHECK(jws && acp_jwk_to_pkey(p, jws->jwk, &k) == NULL);
    CHECK(jws && k && acp_jws_verify(p, jws, k) == NULL);
    CHECK_STR(jws ? jws->payload : NULL, payload);
    /* an inner JWS is not a valid outer one (no nonce) */
    CHECK(parse_kind(p, ACP_JWS_OUTER, inner, NULL) == ACP_ERR_MALFORMED);
    /* nonce, kid, or no jwk: malformed */
    CHECK(parse_kind(p, ACP_JWS_KEYCHANGE,
                     mkjws(p, newk, "ES384", hdr(p, "ES384", newjwk, NULL, "n", URL), payload),
                     NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_KEYCHANGE,
                     mkjws(p, newk, "ES384", hdr(p, "ES384", newjwk, KID, NULL, URL), payload),
                     NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_KEYCHANGE,
                     mkjws(p, newk, "ES384", hdr(p, "ES384", NULL, KID, NULL, URL), payload),
                     NULL) == ACP_ERR_MALFORMED);
    CHECK(parse_kind(p, ACP_JWS_KEYCHANGE,
                     mkjws(p, newk, "ES384", hdr(p, "ES384", newjwk, NULL, NULL, NULL), payload),
                     NULL) == ACP_ERR_MALFORMED);
}

static void test_eab(apr_pool_t *p, EVP_PKEY *acct)
{
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    const char *jwk = jwk_text(p, acct);
    static const char *const algs[] = {"HS256", "HS384", "HS512"};
    acp_jws_t *jws = NULL;
    acp_problem_t *prob;
    parts_t j;
    size_t i;

    for (i = 0; i < 3; i++) {
        j = mkjws_ex(p, NULL, algs[i], hdr(p, algs[i], NULL, "eab-kid-1", NULL, URL), jwk, key,
                     32);
        CHECK(parse_kind(p, ACP_JWS_EAB, j.body, &jws) == ACP_ERR_NONE);
        CHECK_STR(jws ? jws->kid : NULL, "eab-kid-1");
        CHECK(jws && jws->nonce == NULL && jws->jwk == NULL);
        CHECK(jws && acp_jws_verify_hmac(p, jws, key, 32) == NULL);
        /* wrong key */
        prob = jws ? acp_jws_verify_hmac(p, jws, key, 31) : NULL;
        CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
        /* payload is the account key */
        CHECK_STR(jws ? acp_jwk_thumbprint(p, acp_json_parse(p, jws->payload, jws->payload_len))
                      : NULL,
                  acp_jwk_thumbprint(p, acp_jwk_from_pkey(p, acct)));
    }
    /* tampered payload */
    CHECK(parse_kind(p, ACP_JWS_EAB, assemble(p, j.ph, b64s(p, "{}"), j.sig), &jws) ==
          ACP_ERR_NONE);
    prob = jws ? acp_jws_verify_hmac(p, jws, key, 32) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    /* truncated MAC */
    CHECK(parse_kind(p, ACP_JWS_EAB, assemble(p, j.ph, j.pl, apr_pstrndup(p, j.sig, 24)), &jws) ==
          ACP_ERR_NONE);
    prob = jws ? acp_jws_verify_hmac(p, jws, key, 32) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    /* rules: HS* only, kid required, no nonce, no jwk */
    j = mkjws_ex(p, acct, "ES256", hdr(p, "ES256", NULL, "eab-kid-1", NULL, URL), jwk, NULL, 0);
    CHECK(parse_kind(p, ACP_JWS_EAB, j.body, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    j = mkjws_ex(p, NULL, "HS256", hdr(p, "none", NULL, "eab-kid-1", NULL, URL), jwk, key, 32);
    CHECK(parse_kind(p, ACP_JWS_EAB, j.body, NULL) == ACP_ERR_BAD_SIGNATURE_ALG);
    j = mkjws_ex(p, NULL, "HS256", hdr(p, "HS256", NULL, "eab-kid-1", "n", URL), jwk, key, 32);
    CHECK(parse_kind(p, ACP_JWS_EAB, j.body, NULL) == ACP_ERR_MALFORMED);
    j = mkjws_ex(p, NULL, "HS256", hdr(p, "HS256", jwk, "eab-kid-1", NULL, URL), jwk, key, 32);
    CHECK(parse_kind(p, ACP_JWS_EAB, j.body, NULL) == ACP_ERR_MALFORMED);
    j = mkjws_ex(p, NULL, "HS256", hdr(p, "HS256", NULL, NULL, NULL, URL), jwk, key, 32);
    CHECK(parse_kind(p, ACP_JWS_EAB, j.body, NULL) == ACP_ERR_MALFORMED);
    /* HMAC verification of an asymmetric JWS */
    j = mkjws_ex(p, acct, "ES256", hdr(p, "ES256", NULL, KID, "n", URL), "{}", NULL, 0);
    CHECK(parse_kind(p, ACP_JWS_OUTER, j.body, &jws) == ACP_ERR_NONE);
    prob = jws ? acp_jws_verify_hmac(p, jws, key, 32) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_SIGNATURE_ALG);
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
    EVP_PKEY *rsa1024 = genkey(p, "RSA", NULL, 1024);
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
        EVP_PKEY *all[] = {rsa, p256, p521, ed, genkey(p, "EC", "P-384", 0)};
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
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    static const char ec[] = "{\"y\":\"nhI6iD5eFXgBTLt_1p3aip-5VbZeMhxeFSpjfEAf7Ww\",\"kty\":\"EC\","
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
    EVP_PKEY *rsa = genkey(p, "RSA", NULL, 2048);
    EVP_PKEY *p256 = genkey(p, "EC", "P-256", 0);
    EVP_PKEY *p384 = genkey(p, "EC", "P-384", 0);
    EVP_PKEY *p521 = genkey(p, "EC", "P-521", 0);
    EVP_PKEY *ed = genkey(p, "ED25519", NULL, 0);
    case_t cases[] = {{"RS256", rsa},  {"PS256", rsa},  {"ES256", p256},
                      {"ES384", p384}, {"ES512", p521}, {"EdDSA", ed}};

    CHECK(rsa && p256 && p384 && p521 && ed);
    if (!(rsa && p256 && p384 && p521 && ed)) {
        return;
    }
    test_json(p);
    test_algorithms(p, cases, sizeof(cases) / sizeof(cases[0]));
    test_ecdsa_edges(p, "ES256", p256, 32);
    test_ecdsa_edges(p, "ES384", p384, 48);
    test_pss_salt(p, rsa);
    test_mismatch(p, rsa, p256, p384, ed);
    test_bad_algs(p, rsa);
    test_header_rules(p, p256);
    test_structure(p, p256);
    test_post_as_get(p, ed, rsa);
    test_keychange(p, p256, p384);
    test_eab(p, p256);
    test_jwk(p, rsa, p256, p521, ed);
    test_thumbprint(p, p256);
}
