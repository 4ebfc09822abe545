/* JWK (RFC 7517/7518/7638/8037): public JWK to EVP_PKEY and back, RFC 7638 canonical
 * form and thumbprint. Declared in acp_jws.h; JWS parsing is in acp_jws.c.
 * OpenSSL 3 provider APIs only (no deprecated RSA_* / EC_KEY_*). */
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_jws.h"
#include "acp_jws_int.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* ---- pool cleanups -------------------------------------------------------------- */

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* ---- curves --------------------------------------------------------------------- */

const acp_jws_int_curve_t acp_jws_int_curves[] = {
    {"P-256", "prime256v1", NID_X9_62_prime256v1, 32},
    {"P-384", "secp384r1", NID_secp384r1, 48},
    {"P-521", "secp521r1", NID_secp521r1, 66},
};

static const acp_jws_int_curve_t *curve_by_crv(const char *crv)
{
    size_t i;

    for (i = 0; crv && i < sizeof(acp_jws_int_curves) / sizeof(acp_jws_int_curves[0]); i++) {
        if (strcmp(acp_jws_int_curves[i].crv, crv) == 0) {
            return &acp_jws_int_curves[i];
        }
    }
    return NULL;
}

/* The curve of an EC key, or NULL (not EC, or a curve we do not support). */
const acp_jws_int_curve_t *acp_jws_int_curve_of_key(EVP_PKEY *key)
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
    for (i = 0; i < sizeof(acp_jws_int_curves) / sizeof(acp_jws_int_curves[0]); i++) {
        if (acp_jws_int_curves[i].nid == nid) {
            return &acp_jws_int_curves[i];
        }
    }
    return NULL;
}

/* ---- JWK -> EVP_PKEY -------------------------------------------------------------- */

/* A base64url JWK member as bytes; BAD_PUBLIC_KEY when absent or not base64url. */
static acp_problem_t *jwk_bytes(apr_pool_t *p, json_object *jwk, const char *name,
                                unsigned char **buf, size_t *len)
{
    const char *s;
    size_t n = 0;

    if (acp_jws_int_member_str(jwk, name, &s, &n) != 1) {
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
    const acp_jws_int_curve_t *c;
    unsigned char *x = NULL, *y = NULL, *pt;
    size_t xl = 0, yl = 0;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *vctx = NULL;
    acp_problem_t *prob = NULL;

    acp_jws_int_member_str(jwk, "crv", &crv, NULL);
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

    acp_jws_int_member_str(jwk, "crv", &crv, NULL);
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
    if (acp_jws_int_member_str(jwk, "kty", &kty, NULL) != 1) {
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
    const acp_jws_int_curve_t *c;
    int ok = 0;

    if (!key || !(o = json_object_new_object())) {
        return NULL;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        ok = json_object_object_add(o, "kty", json_object_new_string("RSA")) == 0 &&
             add_bn(p, o, "n", key, OSSL_PKEY_PARAM_RSA_N, 0) &&
             add_bn(p, o, "e", key, OSSL_PKEY_PARAM_RSA_E, 0);
    }
    else if ((c = acp_jws_int_curve_of_key(key)) != NULL) {
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
    apr_pool_cleanup_register(p, o, acp_jws_int_json_cleanup, apr_pool_cleanup_null);
    return o;
}

/* ---- RFC 7638 thumbprint ---------------------------------------------------------- */

/* A required member for the canonical form: a non-empty base64url-alphabet string
 * (which also covers "P-256", "Ed25519", "RSA" …), so no JSON escaping is needed. */
static const char *canon_member(json_object *jwk, const char *name)
{
    const char *s, *c;

    if (acp_jws_int_member_str(jwk, name, &s, NULL) != 1 || !*s) {
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
