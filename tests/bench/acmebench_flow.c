/* acmebench: one complete ACME issuance flow (directory, newNonce, newAccount, newOrder,
 * http-01, finalize, certificate download) with its ES256 JWS and P-256 CSR. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acmebench.h"

/* ---- base64url ------------------------------------------------------------------- */

static char *b64url(const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len * 4 / 3 + 4), *o = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
    }
    else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

/* ---- JWS (ES256) -------------------------------------------------------------------------- */

typedef struct {
    EVP_PKEY *key;
    char jwk[256];   /* {"crv":"P-256","kty":"EC","x":"..","y":".."} */
    char thumb[64];
    char kid[512];
} acct_t;

static EVP_PKEY *gen_p256(void)
{
    return EVP_EC_gen("P-256");
}

static void acct_init(acct_t *a)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32], dig[32];
    char *xs, *ys, *t;

    memset(a, 0, sizeof(*a));
    a->key = gen_p256();
    if (!a->key || !EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
        die("EC key generation failed");
    }
    BN_bn2binpad(x, xb, 32);
    BN_bn2binpad(y, yb, 32);
    xs = b64url(xb, 32);
    ys = b64url(yb, 32);
    snprintf(a->jwk, sizeof(a->jwk),
             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
    SHA256((const unsigned char *)a->jwk, strlen(a->jwk), dig);
    t = b64url(dig, 32);
    snprintf(a->thumb, sizeof(a->thumb), "%s", t);
    free(t);
    free(xs);
    free(ys);
    BN_free(x);
    BN_free(y);
}

/* the flattened JWS JSON; payload NULL = POST-as-GET (empty payload) */
static char *jws(acct_t *a, const char *url, const char *nonce, const char *payload)
{
    char *prot, *p64, *pl64, *signing, *sig64, *out;
    unsigned char der[80], raw[64];
    size_t derlen = sizeof(der), n;
    const unsigned char *dp = der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *es;
    const BIGNUM *r, *s;

    if (a->kid[0]) {
        n = (size_t)asprintf(&prot,
                             "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
                             a->kid, nonce, url);
    }
    else {
        n = (size_t)asprintf(&prot,
                             "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
                             a->jwk, nonce, url);
    }
    (void)n;
    p64 = b64url_str(prot);
    pl64 = payload ? b64url_str(payload) : strdup("");
    if (asprintf(&signing, "%s.%s", p64, pl64) < 0) {
        die("oom");
    }
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)signing, strlen(signing)) != 1) {
        die("ES256 signing failed");
    }
    EVP_MD_CTX_free(md);
    es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(s, raw + 32, 32);
    ECDSA_SIG_free(es);
    sig64 = b64url(raw, 64);
    if (asprintf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, pl64,
                 sig64) < 0) {
        die("oom");
    }
    free(prot);
    free(p64);
    free(pl64);
    free(signing);
    free(sig64);
    return out;
}

static char *make_csr_b64(const char *name)
{
    EVP_PKEY *k = gen_p256();
    X509_REQ *req = X509_REQ_new();
    X509_NAME *nm = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san;
    char sanv[300];
    unsigned char *der = NULL;
    int len;
    char *out;

    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_REQ_set_subject_name(req, nm);
    X509_REQ_set_pubkey(req, k);
    snprintf(sanv, sizeof(sanv), "DNS:%s", name);
    san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sanv);
    sk_X509_EXTENSION_push(exts, san);
    X509_REQ_add_extensions(req, exts);
    if (!X509_REQ_sign(req, k, EVP_sha256())) {
        die("CSR signing failed");
    }
    len = i2d_X509_REQ(req, &der);
    out = b64url(der, (size_t)len);
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(nm);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    return out;
}

/* ---- one flow -------------------------------------------------------------------------- */

json_object *body_json(http_t *h)
{
    return h->body ? json_tokener_parse(h->body) : NULL;
}

const char *jget(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* POST with a fresh nonce, retrying badNonce (bounded) */
static int post(http_t *h, acct_t *a, const char *url, const char *payload)
{
    int attempt;
    for (attempt = 0; attempt < 4; attempt++) {
        char nonce[256];
        char *b;
        int rc;
        if (!h->nonce[0]) {
            if (http_do(h, "HEAD", g_new_nonce, NULL) != 0 || !h->nonce[0]) {
                return -1;
            }
        }
        snprintf(nonce, sizeof(nonce), "%s", h->nonce);
        h->nonce[0] = '\0';
        b = jws(a, url, nonce, payload);
        rc = http_do(h, "POST", url, b);
        free(b);
        if (rc != 0) {
            return -1;
        }
        if (h->status == 400 && h->body && strstr(h->body, "badNonce")) {
            continue;
        }
        return 0;
    }
    return -1;
}

#define FAILF(...)                                                                            \
    do {                                                                                      \
        fprintf(stderr, "acmebench: flow %d: ", idx);                                          \
        fprintf(stderr, __VA_ARGS__);                                                         \
        fprintf(stderr, " (HTTP %ld) %.300s\n", h.status, h.body ? h.body : "");              \
        goto out;                                                                             \
    } while (0)

static int wait_status(http_t *h, acct_t *a, const char *url, const char *want, double deadline,
                       json_object **res)
{
    int sleep_ms = 10, i;
    for (i = 0; i < 2000 && now_s() < deadline; i++) {
        json_object *o;
        const char *st;
        if (post(h, a, url, NULL) != 0 || h->status != 200) {
            return -1;
        }
        o = body_json(h);
        st = jget(o, "status");
        if (st && !strcmp(st, want)) {
            *res = o;
            return 0;
        }
        if (!st || !strcmp(st, "invalid")) {
            json_object_put(o);
            return -1;
        }
        json_object_put(o);
        usleep((useconds_t)sleep_ms * 1000);
        if (sleep_ms < 200) {
            sleep_ms *= 2;
        }
    }
    return -1;
}

int run_flow(int idx, flow_lat_t *lat)
{
    http_t h;
    acct_t a;
    char name[256], url[512], authz_url[512], chall_url[512], finalize_url[512], order_url[512],
        token[128], keyauth[256], payload[600];
    json_object *o = NULL, *v;
    double t0 = now_s(), t, deadline = t0 + opt_timeout;
    int ok = 0;
    size_t i;
    char *csr = NULL;

    token[0] = '\0';
    http_init(&h);
    acct_init(&a);
    snprintf(name, sizeof(name), "%sf%d-%d.bench.test", opt_prefix, idx, (int)getpid());

    if (http_do(&h, "GET", opt_dir, NULL) != 0 || h.status != 200) {
        FAILF("directory");
    }
    if (http_do(&h, "HEAD", g_new_nonce, NULL) != 0 || !h.nonce[0]) {
        FAILF("newNonce");
    }
    if (post(&h, &a, g_new_account, "{\"termsOfServiceAgreed\":true}") != 0 ||
        (h.status != 201 && h.status != 200) || !h.location[0]) {
        FAILF("newAccount");
    }
    snprintf(a.kid, sizeof(a.kid), "%s", h.location);

    snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}",
             name);
    t = now_s();
    if (post(&h, &a, g_new_order, payload) != 0 || h.status != 201 || !h.location[0]) {
        FAILF("newOrder");
    }
    lat->neworder = now_s() - t;
    snprintf(order_url, sizeof(order_url), "%s", h.location);
    o = body_json(&h);
    if (!o || !json_object_object_get_ex(o, "authorizations", &v) ||
        json_object_array_length(v) != 1 || !jget(o, "finalize")) {
        FAILF("newOrder body");
    }
    snprintf(authz_url, sizeof(authz_url), "%s",
             json_object_get_string(json_object_array_get_idx(v, 0)));
    snprintf(finalize_url, sizeof(finalize_url), "%s", jget(o, "finalize"));
    json_object_put(o);
    o = NULL;

    if (post(&h, &a, authz_url, NULL) != 0 || h.status != 200) {
        FAILF("authz");
    }
    o = body_json(&h);
    chall_url[0] = '\0';
    if (o && json_object_object_get_ex(o, "challenges", &v)) {
        for (i = 0; i < json_object_array_length(v); i++) {
            json_object *c = json_object_array_get_idx(v, i);
            const char *ty = jget(c, "type");
            if (ty && !strcmp(ty, "http-01") && jget(c, "url") && jget(c, "token")) {
                snprintf(chall_url, sizeof(chall_url), "%s", jget(c, "url"));
                snprintf(token, sizeof(token), "%s", jget(c, "token"));
            }
        }
    }
    json_object_put(o);
    o = NULL;
    if (!chall_url[0]) {
        FAILF("no http-01 challenge");
    }
    snprintf(keyauth, sizeof(keyauth), "%s.%s", token, a.thumb);
    tok_put(token, keyauth);
    if (post(&h, &a, chall_url, "{}") != 0 || h.status != 200) {
        FAILF("challenge");
    }
    if (wait_status(&h, &a, authz_url, "valid", deadline, &o) != 0) {
        FAILF("authz did not become valid");
    }
    json_object_put(o);
    o = NULL;

    csr = make_csr_b64(name);
    snprintf(url, sizeof(url), "{\"csr\":\"%s\"}", csr);
    t = now_s();
    if (post(&h, &a, finalize_url, url) != 0 || h.status != 200) {
        FAILF("finalize");
    }
    lat->finalize = now_s() - t;
    o = body_json(&h);
    if (!jget(o, "status") || strcmp(jget(o, "status"), "valid") != 0) {
        json_object_put(o);
        o = NULL;
        if (wait_status(&h, &a, order_url, "valid", deadline, &o) != 0) {
            FAILF("order did not become valid");
        }
    }
    lat->issue = now_s() - t;
    if (!jget(o, "certificate")) {
        FAILF("no certificate URL");
    }
    snprintf(url, sizeof(url), "%s", jget(o, "certificate"));
    json_object_put(o);
    o = NULL;
    if (post(&h, &a, url, NULL) != 0 || h.status != 200 || !h.body ||
        strncmp(h.body, "-----BEGIN CERTIFICATE-----", 27) != 0) {
        FAILF("certificate download");
    }
    lat->flow = now_s() - t0;
    ok = 1;
out:
    if (o) {
        json_object_put(o);
    }
    if (token[0]) {
        tok_del(token);
    }
    free(csr);
    EVP_PKEY_free(a.key);
    http_free(&h);
    return ok;
}
