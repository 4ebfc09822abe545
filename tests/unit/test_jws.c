/* JWS parsing and verification: every algorithm (and HMAC for external account binding),
 * ECDSA signature edges, header rules, structure, POST-as-GET, keyChange, EAB. JWK import
 * and export, thumbprints and JSON parsing: test_jwk.c. */
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include "acp_test.h"
#include "acp_test_jwk.h"
#include "acp_util.h"
#include "acp_jws.h"

#define URL "https://acme.example/acme/new-order"
#define KID "https://acme.example/acme/acct/abc"

/* ---- keys and signing (test side) ------------------------------------------------- */

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

static void run_tests(apr_pool_t *p)
{
    EVP_PKEY *rsa = gen_key(p, "RSA", NULL, 2048);
    EVP_PKEY *p256 = gen_key(p, "EC", "P-256", 0);
    EVP_PKEY *p384 = gen_key(p, "EC", "P-384", 0);
    EVP_PKEY *p521 = gen_key(p, "EC", "P-521", 0);
    EVP_PKEY *ed = gen_key(p, "ED25519", NULL, 0);
    case_t cases[] = {{"RS256", rsa},  {"PS256", rsa},  {"ES256", p256},
                      {"ES384", p384}, {"ES512", p521}, {"EdDSA", ed}};

    CHECK(rsa && p256 && p384 && p521 && ed);
    if (!(rsa && p256 && p384 && p521 && ed)) {
        return;
    }
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
}
