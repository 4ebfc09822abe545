/* JWS (RFC 7515 flattened JSON, RFC 8555 §6.2): parsing and verification, and the
 * strict JSON parser. The JWK part (RFC 7517/7518/7638/8037) is in acp_jwk.c.
 * OpenSSL 3 provider APIs only (no deprecated RSA_* / EC_KEY_*). */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_jws.h"
#include "acp_jws_int.h"

#define ACP_JSON_MAX_DEPTH 16

/* ---- pool cleanups -------------------------------------------------------------- */

apr_status_t acp_jws_int_json_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* ---- JSON ----------------------------------------------------------------------- */

static int json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

json_object *acp_json_parse(apr_pool_t *p, const char *text, size_t len)
{
    struct json_tokener *tok;
    json_object *obj = NULL;
    size_t end = len;
    int flags = JSON_TOKENER_STRICT;

    if (!text || len == 0 || len >= (size_t)INT_MAX || memchr(text, '\0', len) != NULL) {
        return NULL;
    }
    /* at most 16 levels of values: [[1]] is 3 deep, [[]] 2 */
    tok = json_tokener_new_ex(ACP_JSON_MAX_DEPTH);
    if (!tok) {
        return NULL;
    }
#ifdef JSON_TOKENER_VALIDATE_UTF8
    flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
    json_tokener_set_flags(tok, flags);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (obj) {
        end = json_tokener_get_parse_end(tok);
    }
    else if (json_tokener_get_error(tok) == json_tokener_continue) {
        /* a top-level scalar ("123", "true") ends only at the end of input: feed a NUL */
        obj = json_tokener_parse_ex(tok, "", 1);
        end = len;
    }
    if (obj && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        obj = NULL;
    }
    for (; obj && end < len; end++) {
        if (!json_ws(text[end])) {
            json_object_put(obj);
            obj = NULL;
        }
    }
    json_tokener_free(tok);
    if (obj) {
        apr_pool_cleanup_register(p, obj, acp_jws_int_json_cleanup, apr_pool_cleanup_null);
    }
    return obj;
}

/* The string member name of o: 1 and *val set (no embedded NUL), 0 absent, -1 not a string. */
int acp_jws_int_member_str(json_object *o, const char *name, const char **val, size_t *vlen)
{
    json_object *v;
    const char *s;
    int n;

    *val = NULL;
    if (!json_object_object_get_ex(o, name, &v)) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return -1;
    }
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (!s || n < 0 || strlen(s) != (size_t)n) {
        return -1;
    }
    *val = s;
    if (vlen) {
        *vlen = (size_t)n;
    }
    return 1;
}

/* ---- algorithms (the curves are in acp_jwk.c) ----------------------------------- */

typedef enum { KT_RSA, KT_EC, KT_ED25519, KT_HMAC } keytype_t;

typedef struct {
    const char *alg;
    keytype_t kt;
    const char *md; /* NULL for EdDSA */
    int pss;
    const acp_jws_int_curve_t *curve;
} alg_t;

static const alg_t algs[] = {
    {"RS256", KT_RSA, "SHA256", 0, NULL},
    {"PS256", KT_RSA, "SHA256", 1, NULL},
    {"ES256", KT_EC, "SHA256", 0, &acp_jws_int_curves[0]},
    {"ES384", KT_EC, "SHA384", 0, &acp_jws_int_curves[1]},
    {"ES512", KT_EC, "SHA512", 0, &acp_jws_int_curves[2]},
    {"EdDSA", KT_ED25519, NULL, 0, NULL},
    {"HS256", KT_HMAC, "SHA256", 0, NULL},
    {"HS384", KT_HMAC, "SHA384", 0, NULL},
    {"HS512", KT_HMAC, "SHA512", 0, NULL},
};

static const alg_t *find_alg(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].alg, name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* name is one of the space-separated words of ACP_JWS_ALGORITHMS */
static int alg_listed(const char *name)
{
    const char *s = ACP_JWS_ALGORITHMS;
    size_t n = strlen(name);

    if (n == 0) {
        return 0;
    }
    while (*s) {
        size_t w = strcspn(s, " ");
        if (w == n && strncmp(s, name, n) == 0) {
            return 1;
        }
        s += w;
        s += strspn(s, " ");
    }
    return 0;
}

/* ---- JWS parsing ----------------------------------------------------------------- */

/* A top-level JWS member: a string of strict base64url. */
static acp_problem_t *jws_member(apr_pool_t *p, json_object *root, const char *name,
                                 const char **b64, unsigned char **dec, size_t *declen)
{
    const char *s;
    size_t n = 0;
    int r = acp_jws_int_member_str(root, name, &s, &n);

    if (r == 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS has no \"%s\" member", name);
    }
    if (r < 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS member \"%s\" must be a string", name);
    }
    if (acp_b64url_decode(p, s, n, dec, declen) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS member \"%s\" is not base64url", name);
    }
    *b64 = apr_pstrmemdup(p, s, n);
    return NULL;
}

static acp_problem_t *check_alg(apr_pool_t *p, acp_jws_kind_t kind, const char *alg)
{
    if (kind == ACP_JWS_EAB) {
        const alg_t *a = find_alg(alg);
        if (!a || a->kt != KT_HMAC) {
            return acp_problem(p, ACP_ERR_BAD_SIGNATURE_ALG,
                               "externalAccountBinding algorithm '%s' is not supported "
                               "(HS256 HS384 HS512)",
                               alg);
        }
        return NULL;
    }
    if (!alg_listed(alg) || !find_alg(alg)) {
        return acp_problem(p, ACP_ERR_BAD_SIGNATURE_ALG,
                           "JWS algorithm '%s' is not supported (supported: %s)", alg,
                           ACP_JWS_ALGORITHMS);
    }
    return NULL;
}

acp_problem_t *acp_jws_parse(apr_pool_t *p, acp_jws_kind_t kind, const char *body,
                             size_t len, acp_jws_t **out)
{
    acp_jws_t *jws = apr_pcalloc(p, sizeof(*jws));
    json_object *root, *hdr, *jwk = NULL;
    acp_problem_t *prob;
    unsigned char *hdr_text, *payload, *sig;
    size_t hdr_len, payload_len, sig_len;
    const char *alg, *url, *nonce, *kid, *sig_b64;
    int r;

    *out = NULL;
    root = acp_json_parse(p, body, len);
    if (!root || !json_object_is_type(root, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS is not a JSON object");
    }
    if (json_object_object_length(root) != 3) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "JWS must use the flattened JSON serialization with exactly "
                           "\"protected\", \"payload\" and \"signature\"");
    }
    if ((prob = jws_member(p, root, "protected", &jws->protected_b64, &hdr_text, &hdr_len)) ||
        (prob = jws_member(p, root, "payload", &jws->payload_b64, &payload, &payload_len)) ||
        (prob = jws_member(p, root, "signature", &sig_b64, &sig, &sig_len))) {
        return prob;
    }
    hdr = acp_json_parse(p, (const char *)hdr_text, hdr_len);
    if (!hdr || !json_object_is_type(hdr, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS protected header is not a JSON object");
    }

    /* alg */
    if (acp_jws_int_member_str(hdr, "alg", &alg, NULL) != 1) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS protected header needs a string \"alg\"");
    }
    if ((prob = check_alg(p, kind, alg))) {
        return prob;
    }
    /* after the alg check: "alg":"none" comes with an empty signature and must be
     * answered badSignatureAlgorithm (RFC 8555 §6.2) */
    if (sig_len == 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS signature is empty");
    }
    /* no extensions are understood, so any "crit" must be rejected (RFC 7515 §4.1.11) */
    if (json_object_object_get_ex(hdr, "crit", NULL)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS \"crit\" header parameter not supported");
    }
    /* url */
    if (acp_jws_int_member_str(hdr, "url", &url, NULL) != 1 || !*url) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS protected header needs a string \"url\"");
    }
    /* nonce */
    r = acp_jws_int_member_str(hdr, "nonce", &nonce, NULL);
    if (kind == ACP_JWS_OUTER) {
        if (r != 1 || !*nonce) {
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "JWS protected header needs a non-empty string \"nonce\"");
        }
    }
    else if (r != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "%s JWS must not have a \"nonce\"",
                           kind == ACP_JWS_EAB ? "externalAccountBinding" : "inner keyChange");
    }
    /* jwk / kid */
    if (json_object_object_get_ex(hdr, "jwk", &jwk) &&
        !json_object_is_type(jwk, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS \"jwk\" must be a JSON object");
    }
    r = acp_jws_int_member_str(hdr, "kid", &kid, NULL);
    if (r < 0 || (r == 1 && !*kid)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS \"kid\" must be a non-empty string");
    }
    switch (kind) {
    case ACP_JWS_OUTER:
        if ((jwk != NULL) == (kid != NULL)) {
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "JWS protected header needs exactly one of \"jwk\" and \"kid\"");
        }
        break;
    case ACP_JWS_KEYCHANGE:
        if (!jwk || kid) {
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "inner keyChange JWS needs a \"jwk\" and no \"kid\"");
        }
        break;
    case ACP_JWS_EAB:
    default:
        if (!kid || jwk) {
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "externalAccountBinding JWS needs a \"kid\" and no \"jwk\"");
        }
        break;
    }

    /* strings and jwk belong to hdr, which lives until p's cleanups run */
    jws->alg = apr_pstrdup(p, alg);
    jws->nonce = nonce ? apr_pstrdup(p, nonce) : NULL;
    jws->url = apr_pstrdup(p, url);
    jws->kid = kid ? apr_pstrdup(p, kid) : NULL;
    jws->jwk = jwk;
    jws->payload = (const char *)payload; /* NUL-terminated by acp_b64url_decode */
    jws->payload_len = payload_len;
    jws->sig = sig;
    jws->sig_len = sig_len;
    *out = jws;
    return NULL;
}

/* ---- signatures ------------------------------------------------------------------- */

/* One non-negative big-endian integer as a DER INTEGER (X.690 §8.3: minimal octets, a
 * leading zero octet when the high bit is set); n <= 66. Returns the octets written. */
static size_t der_uint(unsigned char *out, const unsigned char *v, size_t n)
{
    size_t pad, len;

    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    pad = (v[0] & 0x80) ? 1 : 0;
    len = n + pad;
    out[0] = 0x02;
    out[1] = (unsigned char)len;
    out[2] = 0;
    memcpy(out + 2 + pad, v, n);
    return 2 + len;
}

/* RFC 7518 §3.4: raw r||s (len <= 132) to the DER ECDSA-Sig-Value OpenSSL verifies, the
 * same octets as i2d_ECDSA_SIG, written without BIGNUMs. out holds ECDSA_DER_MAX. */
#define ECDSA_DER_MAX (3 + 2 * (3 + 66))
static size_t ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char *out)
{
    unsigned char body[2 * (3 + 66)];
    size_t n = der_uint(body, raw, len / 2);
    size_t hdr;

    n += der_uint(body + n, raw + len / 2, len / 2);
    out[0] = 0x30;
    if (n < 0x80) {
        out[1] = (unsigned char)n;
        hdr = 2;
    } else {
        out[1] = 0x81;
        out[2] = (unsigned char)n;
        hdr = 3;
    }
    memcpy(out + hdr, body, n);
    return hdr + n;
}

/* ---- digests, fetched once ---------------------------------------------------------- */

/* An explicit fetch instead of the implicit one by name on every verification. Written
 * once under pthread_once, read-only afterwards; a fetched EVP_MD may be shared between
 * threads. Kept for the life of the process. */
static const char *const md_names[] = {"SHA256", "SHA384", "SHA512"};
static EVP_MD *md_fetched[sizeof(md_names) / sizeof(md_names[0])];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch_all(void)
{
    size_t i;

    for (i = 0; i < sizeof(md_names) / sizeof(md_names[0]); i++) {
        md_fetched[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
    }
    ERR_clear_error();
}

/* The fetched digest called name, or NULL (then the caller names it to OpenSSL). */
static const EVP_MD *md_get(const char *name)
{
    size_t i;

    if (!name || pthread_once(&md_once, md_fetch_all) != 0) {
        return NULL;
    }
    for (i = 0; i < sizeof(md_names) / sizeof(md_names[0]); i++) {
        if (strcmp(md_names[i], name) == 0) {
            return md_fetched[i];
        }
    }
    return NULL;
}

/* ECDSA over the digest of tbs: what EVP_DigestVerify does for an EC key, without the
 * digest-verify context (and its second digest fetch in the provider). 1 valid, 0 invalid,
 * -1 cannot verify. */
static int ecdsa_verify(const alg_t *a, EVP_PKEY *key, const unsigned char *der, size_t derlen,
                        const char *tbs, size_t tbslen)
{
    const EVP_MD *md = md_get(a->md);
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_PKEY_CTX *ctx;
    int r;

    if (!md || EVP_Digest(tbs, tbslen, dgst, &dlen, md, NULL) != 1) {
        return -1;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return -1;
    }
    r = EVP_PKEY_verify(ctx, der, derlen, dgst, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static int key_fits(const alg_t *a, EVP_PKEY *key)
{
    switch (a->kt) {
    case KT_RSA:
        return EVP_PKEY_is_a(key, "RSA");
    case KT_EC:
        return acp_jws_int_curve_of_key(key) == a->curve;
    case KT_ED25519:
        return EVP_PKEY_is_a(key, "ED25519");
    default:
        return 0;
    }
}

static const char *key_type_name(EVP_PKEY *key)
{
    const acp_jws_int_curve_t *c = acp_jws_int_curve_of_key(key);

    if (c) {
        return c->crv;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        return "RSA";
    }
    if (EVP_PKEY_is_a(key, "ED25519")) {
        return "Ed25519";
    }
    return "unsupported";
}

acp_problem_t *acp_jws_verify(apr_pool_t *p, const acp_jws_t *jws, EVP_PKEY *key)
{
    const alg_t *a = jws ? find_alg(jws->alg) : NULL;
    const unsigned char *sig;
    unsigned char der[ECDSA_DER_MAX];
    size_t siglen, tbslen;
    const char *tbs;
    const EVP_MD *fetched;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    acp_problem_t *prob = NULL;

    if (!a || a->kt == KT_HMAC || !alg_listed(a->alg)) {
        return acp_problem(p, ACP_ERR_BAD_SIGNATURE_ALG,
                           "JWS algorithm '%s' is not supported (supported: %s)",
                           jws && jws->alg ? jws->alg : "", ACP_JWS_ALGORITHMS);
    }
    if (!key || !key_fits(a, key)) {
        return acp_problem(p, ACP_ERR_BAD_SIGNATURE_ALG,
                           "JWS algorithm %s does not fit the key type (%s)", a->alg,
                           key ? key_type_name(key) : "none");
    }
    sig = jws->sig;
    siglen = jws->sig_len;
    if (a->kt == KT_EC && siglen != 2 * a->curve->size) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "JWS signature invalid: %s signatures are %zu octets, not %zu", a->alg,
                           2 * a->curve->size, siglen);
    }
    tbs = apr_pstrcat(p, jws->protected_b64, ".", jws->payload_b64, NULL);
    tbslen = strlen(tbs);
    if (a->kt == KT_EC) {
        size_t derlen = ecdsa_raw_to_der(sig, siglen, der);
        int r = ecdsa_verify(a, key, der, derlen, tbs, tbslen);
        if (r < 0) {
            prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot set up %s verification", a->alg);
        } else if (r == 0) {
            prob = acp_problem(p, ACP_ERR_MALFORMED, "JWS signature invalid");
        }
        goto done;
    }

    /* RSA (the fetched digest, else by name) and EdDSA (no digest) */
    fetched = md_get(a->md);
    md = EVP_MD_CTX_new();
    if (!md || (fetched ? EVP_DigestVerifyInit(md, &pctx, fetched, NULL, key)
                        : EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key, NULL)) != 1) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot set up %s verification", a->alg);
        goto done;
    }
    if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) != 1 ||
                   /* RFC 7518 §3.5 says salt = hash length; auto accepts that and others */
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1)) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot set up PSS verification");
        goto done;
    }
    if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)tbs, tbslen) != 1) {
        prob = acp_problem(p, ACP_ERR_MALFORMED, "JWS signature invalid");
    }
done:
    EVP_MD_CTX_free(md); /* frees pctx too */
    if (prob) {
        ERR_clear_error();
    }
    return prob;
}

acp_problem_t *acp_jws_verify_hmac(apr_pool_t *p, const acp_jws_t *jws,
                                   const unsigned char *key, size_t keylen)
{
    const alg_t *a = jws ? find_alg(jws->alg) : NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    const EVP_MD *md;
    const char *tbs;

    if (!a || a->kt != KT_HMAC) {
        return acp_problem(p, ACP_ERR_BAD_SIGNATURE_ALG,
                           "MAC algorithm '%s' is not supported (HS256 HS384 HS512)",
                           jws && jws->alg ? jws->alg : "");
    }
    if (!key || keylen == 0 || keylen > INT_MAX) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "no MAC key");
    }
    md = EVP_get_digestbyname(a->md);
    tbs = apr_pstrcat(p, jws->protected_b64, ".", jws->payload_b64, NULL);
    if (!md || !HMAC(md, key, (int)keylen, (const unsigned char *)tbs, strlen(tbs), mac,
                     &maclen)) {
        ERR_clear_error();
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot compute %s", a->alg);
    }
    if (jws->sig_len != maclen || CRYPTO_memcmp(mac, jws->sig, maclen) != 0) {
        OPENSSL_cleanse(mac, sizeof(mac));
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS signature invalid");
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return NULL;
}
