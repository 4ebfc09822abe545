/* JWS (RFC 7515 flattened JSON, RFC 8555 §6.2) and JWK (RFC 7517/7518/7638/8037).
 * OpenSSL 3 provider APIs only (no deprecated RSA_* / EC_KEY_*). */
#include <limits.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_jws.h"

#define ACP_JSON_MAX_DEPTH 16
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* ---- pool cleanups -------------------------------------------------------------- */

static apr_status_t json_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
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
        apr_pool_cleanup_register(p, obj, json_cleanup, apr_pool_cleanup_null);
    }
    return obj;
}

/* The string member name of o: 1 and *val set (no embedded NUL), 0 absent, -1 not a string. */
static int member_str(json_object *o, const char *name, const char **val, size_t *vlen)
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

/* ---- algorithms and curves ------------------------------------------------------ */

typedef enum { KT_RSA, KT_EC, KT_ED25519, KT_HMAC } keytype_t;

typedef struct {
    const char *crv;   /* JWK name */
    const char *group; /* OpenSSL group name */
    int nid;
    size_t size;       /* field element octets */
} curve_t;

static const curve_t curves[] = {
    {"P-256", "prime256v1", NID_X9_62_prime256v1, 32},
    {"P-384", "secp384r1", NID_secp384r1, 48},
    {"P-521", "secp521r1", NID_secp521r1, 66},
};

typedef struct {
    const char *alg;
    keytype_t kt;
    const char *md; /* NULL for EdDSA */
    int pss;
    const curve_t *curve;
} alg_t;

static const alg_t algs[] = {
    {"RS256", KT_RSA, "SHA256", 0, NULL},
    {"PS256", KT_RSA, "SHA256", 1, NULL},
    {"ES256", KT_EC, "SHA256", 0, &curves[0]},
    {"ES384", KT_EC, "SHA384", 0, &curves[1]},
    {"ES512", KT_EC, "SHA512", 0, &curves[2]},
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

static const curve_t *curve_by_crv(const char *crv)
{
    size_t i;

    for (i = 0; crv && i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcmp(curves[i].crv, crv) == 0) {
            return &curves[i];
        }
    }
    return NULL;
}

/* The curve of an EC key, or NULL (not EC, or a curve we do not support). */
static const curve_t *curve_of_key(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0, i;
    int nid;

    if (!EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                       &len) != 1) {
        return NULL;
    }
    nid = OBJ_sn2nid(name);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(name);
    }
    for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (curves[i].nid == nid) {
            return &curves[i];
        }
    }
    return NULL;
}

/* ---- JWS parsing ----------------------------------------------------------------- */

/* A top-level JWS member: a string of strict base64url. */
static acp_problem_t *jws_member(apr_pool_t *p, json_object *root, const char *name,
                                 const char **b64, unsigned char **dec, size_t *declen)
{
    const char *s;
    size_t n = 0;
    int r = member_str(root, name, &s, &n);

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
    if (member_str(hdr, "alg", &alg, NULL) != 1) {
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
    if (member_str(hdr, "url", &url, NULL) != 1 || !*url) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWS protected header needs a string \"url\"");
    }
    /* nonce */
    r = member_str(hdr, "nonce", &nonce, NULL);
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
    r = member_str(hdr, "kid", &kid, NULL);
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

/* ---- JWK -> EVP_PKEY -------------------------------------------------------------- */

/* A base64url JWK member as bytes; BAD_PUBLIC_KEY when absent or not base64url. */
static acp_problem_t *jwk_bytes(apr_pool_t *p, json_object *jwk, const char *name,
                                unsigned char **buf, size_t *len)
{
    const char *s;
    size_t n = 0;

    if (member_str(jwk, name, &s, &n) != 1) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "JWK needs a string \"%s\"", name);
    }
    if (acp_b64url_decode(p, s, n, buf, len) != 0 || *len == 0) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "JWK member \"%s\" is not base64url",
                           name);
    }
    return NULL;
}

static acp_problem_t *fromdata(apr_pool_t *p, const char *type, OSSL_PARAM_BLD *bld,
                               EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    acp_problem_t *prob = NULL;

    if (!params || !ctx) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "out of memory building a %s key", type);
    }
    else if (EVP_PKEY_fromdata_init(ctx) != 1 ||
             EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "JWK is not a valid %s public key", type);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return prob;
}

static acp_problem_t *rsa_from_jwk(apr_pool_t *p, json_object *jwk, EVP_PKEY **out)
{
    unsigned char *nb = NULL, *eb = NULL;
    size_t nl = 0, el = 0;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    acp_problem_t *prob;
    int bits;

    if ((prob = jwk_bytes(p, jwk, "n", &nb, &nl)) || (prob = jwk_bytes(p, jwk, "e", &eb, &el))) {
        goto done;
    }
    /* RFC 7518 §6.3.1: minimal octets, so that the thumbprint of a key is unique */
    if (nb[0] == 0 || eb[0] == 0) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "RSA JWK has leading zero octets");
        goto done;
    }
    if (nl > RSA_MAX_BITS / 8 || el > 4) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "RSA JWK modulus or exponent too large");
        goto done;
    }
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!n || !e || !bld) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "out of memory reading an RSA key");
        goto done;
    }
    bits = BN_num_bits(n);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                           "RSA key of %d bits; %d to %d bits are accepted", bits, RSA_MIN_BITS,
                           RSA_MAX_BITS);
        goto done;
    }
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e)) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "RSA key has an invalid modulus or exponent");
        goto done;
    }
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "out of memory reading an RSA key");
        goto done;
    }
    prob = fromdata(p, "RSA", bld, out);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return prob;
}

static acp_problem_t *ec_from_jwk(apr_pool_t *p, json_object *jwk, EVP_PKEY **out)
{
    const char *crv = NULL;
    const curve_t *c;
    unsigned char *x = NULL, *y = NULL, *pt;
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *vctx = NULL;
    acp_problem_t *prob = NULL;

    member_str(jwk, "crv", &crv, NULL);
    c = curve_by_crv(crv);
    if (!c) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                           "EC JWK curve '%s' is not supported (P-256, P-384, P-521)",
                           crv ? crv : "");
        goto done;
    }
    if ((prob = jwk_bytes(p, jwk, "x", &x, &xl)) || (prob = jwk_bytes(p, jwk, "y", &y, &yl))) {
        goto done;
    }
    if (xl != c->size || yl != c->size) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                           "EC JWK coordinates for %s must be %zu octets", c->crv, c->size);
        goto done;
    }
    pt = apr_palloc(p, 1 + 2 * c->size);
    pt[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(pt + 1, x, c->size);
    memcpy(pt + 1 + c->size, y, c->size);
    bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c->size) !=
            1) {
        prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "out of memory reading an EC key");
        goto done;
    }
    if ((prob = fromdata(p, "EC", bld, out))) {
        if (prob->kind == ACP_ERR_BAD_PUBLIC_KEY) {
            prob->detail = "EC JWK point is not on the curve";
        }
        goto done;
    }
    /* on the curve, not infinity, coordinates in range (the curves have cofactor 1) */
    vctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (!vctx || EVP_PKEY_public_check_quick(vctx) != 1) {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "EC JWK point is not on the curve");
        EVP_PKEY_free(*out);
        *out = NULL;
    }
done:
    EVP_PKEY_CTX_free(vctx);
    OSSL_PARAM_BLD_free(bld);
    return prob;
}

static acp_problem_t *okp_from_jwk(apr_pool_t *p, json_object *jwk, EVP_PKEY **out)
{
    const char *crv = NULL;
    unsigned char *x = NULL;
    size_t xl = 0;
    acp_problem_t *prob;

    member_str(jwk, "crv", &crv, NULL);
    if (!crv || strcmp(crv, "Ed25519") != 0) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                           "OKP JWK curve '%s' is not supported (Ed25519)", crv ? crv : "");
    }
    if ((prob = jwk_bytes(p, jwk, "x", &x, &xl))) {
        return prob;
    }
    if (xl != 32) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "Ed25519 JWK \"x\" must be 32 octets");
    }
    *out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, xl);
    if (!*out) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "JWK is not a valid Ed25519 public key");
    }
    return NULL;
}

acp_problem_t *acp_jwk_to_pkey(apr_pool_t *p, json_object *jwk, EVP_PKEY **out)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    const char *kty = NULL;
    EVP_PKEY *key = NULL;
    acp_problem_t *prob;
    size_t i;

    *out = NULL;
    if (!jwk || !json_object_is_type(jwk, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "JWK is not a JSON object");
    }
    for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        if (json_object_object_get_ex(jwk, private_members[i], NULL)) {
            return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                               "JWK contains the private key member \"%s\"",
                               private_members[i]);
        }
    }
    if (member_str(jwk, "kty", &kty, NULL) != 1) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "JWK needs a string \"kty\"");
    }
    if (strcmp(kty, "RSA") == 0) {
        prob = rsa_from_jwk(p, jwk, &key);
    }
    else if (strcmp(kty, "EC") == 0) {
        prob = ec_from_jwk(p, jwk, &key);
    }
    else if (strcmp(kty, "OKP") == 0) {
        prob = okp_from_jwk(p, jwk, &key);
    }
    else {
        prob = acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY,
                           "JWK key type '%s' is not supported (RSA, EC, OKP)", kty);
    }
    if (prob) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        return prob;
    }
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    *out = key;
    return NULL;
}

/* ---- EVP_PKEY -> JWK -------------------------------------------------------------- */

static int add_b64(apr_pool_t *p, json_object *o, const char *name, const unsigned char *buf,
                   size_t len)
{
    return json_object_object_add(o, name,
                                  json_object_new_string(acp_b64url_encode(p, buf, len))) == 0;
}

/* BIGNUM parameter of key as base64url (minimal octets, or padded to pad octets) */
static int add_bn(apr_pool_t *p, json_object *o, const char *name, EVP_PKEY *key,
                  const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    int len, ok = 0;

    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) {
        goto done;
    }
    len = pad ? pad : BN_num_bytes(bn);
    if (len <= 0) {
        goto done;
    }
    buf = apr_palloc(p, (apr_size_t)len);
    if (BN_bn2binpad(bn, buf, len) != len) {
        goto done;
    }
    ok = add_b64(p, o, name, buf, (size_t)len);
done:
    BN_free(bn);
    return ok;
}

json_object *acp_jwk_from_pkey(apr_pool_t *p, EVP_PKEY *key)
{
    json_object *o;
    const curve_t *c;
    int ok = 0;

    if (!key || !(o = json_object_new_object())) {
        return NULL;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        ok = json_object_object_add(o, "kty", json_object_new_string("RSA")) == 0 &&
             add_bn(p, o, "n", key, OSSL_PKEY_PARAM_RSA_N, 0) &&
             add_bn(p, o, "e", key, OSSL_PKEY_PARAM_RSA_E, 0);
    }
    else if ((c = curve_of_key(key)) != NULL) {
        ok = json_object_object_add(o, "kty", json_object_new_string("EC")) == 0 &&
             json_object_object_add(o, "crv", json_object_new_string(c->crv)) == 0 &&
             add_bn(p, o, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, (int)c->size) &&
             add_bn(p, o, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, (int)c->size);
    }
    else if (EVP_PKEY_is_a(key, "ED25519")) {
        unsigned char raw[32];
        size_t len = sizeof(raw);
        ok = EVP_PKEY_get_raw_public_key(key, raw, &len) == 1 && len == sizeof(raw) &&
             json_object_object_add(o, "kty", json_object_new_string("OKP")) == 0 &&
             json_object_object_add(o, "crv", json_object_new_string("Ed25519")) == 0 &&
             add_b64(p, o, "x", raw, len);
    }
    if (!ok) {
        json_object_put(o);
        ERR_clear_error();
        return NULL;
    }
    apr_pool_cleanup_register(p, o, json_cleanup, apr_pool_cleanup_null);
    return o;
}

/* ---- signatures ------------------------------------------------------------------- */

/* RFC 7518 §3.4: raw r||s to the DER ECDSA-Sig-Value OpenSSL verifies. */
static int ecdsa_raw_to_der(apr_pool_t *p, const unsigned char *raw, size_t len,
                            unsigned char **der, size_t *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    unsigned char *buf, *q;
    int n, ok = 0;

    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto done;
    }
    /* es owns r and s now */
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0) {
        goto done;
    }
    buf = q = apr_palloc(p, (apr_size_t)n);
    if (i2d_ECDSA_SIG(es, &q) != n) {
        goto done;
    }
    *der = buf;
    *derlen = (size_t)n;
    ok = 1;
done:
    ECDSA_SIG_free(es);
    return ok;
}

static int key_fits(const alg_t *a, EVP_PKEY *key)
{
    switch (a->kt) {
    case KT_RSA:
        return EVP_PKEY_is_a(key, "RSA");
    case KT_EC:
        return curve_of_key(key) == a->curve;
    case KT_ED25519:
        return EVP_PKEY_is_a(key, "ED25519");
    default:
        return 0;
    }
}

static const char *key_type_name(EVP_PKEY *key)
{
    const curve_t *c = curve_of_key(key);

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
    unsigned char *der = NULL;
    size_t siglen, derlen = 0;
    const char *tbs;
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
    if (a->kt == KT_EC) {
        if (siglen != 2 * a->curve->size) {
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "JWS signature invalid: %s signatures are %zu octets, not %zu",
                               a->alg, 2 * a->curve->size, siglen);
        }
        if (!ecdsa_raw_to_der(p, sig, siglen, &der, &derlen)) {
            ERR_clear_error();
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot convert an ECDSA signature");
        }
        sig = der;
        siglen = derlen;
    }
    tbs = apr_pstrcat(p, jws->protected_b64, ".", jws->payload_b64, NULL);

    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key, NULL) != 1) {
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
    if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)tbs, strlen(tbs)) != 1) {
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

/* ---- RFC 7638 thumbprint ---------------------------------------------------------- */

/* A required member for the canonical form: a non-empty base64url-alphabet string
 * (which also covers "P-256", "Ed25519", "RSA" …), so no JSON escaping is needed. */
static const char *canon_member(json_object *jwk, const char *name)
{
    const char *s, *c;

    if (member_str(jwk, name, &s, NULL) != 1 || !*s) {
        return NULL;
    }
    for (c = s; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_')) {
            return NULL;
        }
    }
    return s;
}

char *acp_jwk_canonical(apr_pool_t *p, json_object *jwk)
{
    const char *kty, *a, *b, *c;

    if (!jwk || !json_object_is_type(jwk, json_type_object) ||
        !(kty = canon_member(jwk, "kty"))) {
        return NULL;
    }
    if (strcmp(kty, "RSA") == 0) {
        a = canon_member(jwk, "e");
        b = canon_member(jwk, "n");
        return a && b ? apr_pstrcat(p, "{\"e\":\"", a, "\",\"kty\":\"RSA\",\"n\":\"", b, "\"}",
                                    NULL)
                      : NULL;
    }
    if (strcmp(kty, "EC") == 0) {
        a = canon_member(jwk, "crv");
        b = canon_member(jwk, "x");
        c = canon_member(jwk, "y");
        return a && b && c ? apr_pstrcat(p, "{\"crv\":\"", a, "\",\"kty\":\"EC\",\"x\":\"", b,
                                         "\",\"y\":\"", c, "\"}", NULL)
                           : NULL;
    }
    if (strcmp(kty, "OKP") == 0) {
        a = canon_member(jwk, "crv");
        b = canon_member(jwk, "x");
        return a && b ? apr_pstrcat(p, "{\"crv\":\"", a, "\",\"kty\":\"OKP\",\"x\":\"", b, "\"}",
                                    NULL)
                      : NULL;
    }
    return NULL;
}

char *acp_jwk_thumbprint(apr_pool_t *p, json_object *jwk)
{
    const char *canon = acp_jwk_canonical(p, jwk);
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (!canon || EVP_Digest(canon, strlen(canon), dgst, &dlen, EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    return acp_b64url_encode(p, dgst, dlen);
}
