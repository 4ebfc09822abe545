/* Alipay (AcmePayAlipay): face-to-face payment. Checkout: `alipay.trade.precreate`
 * through the OpenAPI gateway, public parameters + biz_content (out_trade_no = the
 * invoice, total_amount in yuan, subject) signed RSA2 (SHA256withRSA, PKCS#1 v1.5) over
 * the parameters sorted by name as "k=v&k=v" (empty values and sign left out), sent
 * form-encoded; the answer's signature (over the raw text of
 * alipay_trade_precreate_response) is verified with Alipay's public key and its `qr_code`
 * is what the QR encodes. Notification (POST <base>/pay/alipay, form-encoded): RSA2 over
 * every parameter but sign and sign_type, sorted, with Alipay's public key; app_id must
 * be ours; TRADE_SUCCESS or TRADE_FINISHED credits out_trade_no with total_amount
 * (yuan, exact to the fen) under "alipay:<trade_no>"; the answer is the text `success`,
 * anything else ("fail") makes Alipay deliver again. */
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <json-c/json.h>
#include <apr_strings.h>
#include "acp_provider.h"
#include "acp_jws.h"
#include "acp_util.h"

#define ALIPAY_GATEWAY "https://openapi.alipay.com/gateway.do"
#define ALIPAY_TOLERANCE 900 /* seconds between notify_time and our clock */
#define ALIPAY_TZ (8 * 3600) /* Alipay's times are China Standard Time, UTC+8 */

typedef struct alipay_t {
    const char *app_id;
    EVP_PKEY *key;            /* the app's private key */
    EVP_PKEY *alipay_key;     /* Alipay's public key */
    const char *gateway;
} alipay_t;

/* ---- RSA2 ----------------------------------------------------------------------------- */

static char *b64_std(apr_pool_t *p, const unsigned char *d, size_t n)
{
    char *out = apr_palloc(p, 4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return out;
}

/* Strict standard base64 (with padding): NULL on anything else. */
static unsigned char *b64_std_decode(apr_pool_t *p, const char *s, size_t *len)
{
    size_t n = strlen(s), i, pad = 0;
    unsigned char *out;
    int r;

    if (n == 0 || n % 4 != 0 || n > 8192) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=' && i >= n - 2) {
            pad++;
            continue;
        }
        if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/')) {
            return NULL;
        }
    }
    out = apr_palloc(p, n / 4 * 3 + 1);
    r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (r < 0 || (size_t)r < pad) {
        return NULL;
    }
    *len = (size_t)r - pad;
    return out;
}

static char *rsa2_sign(apr_pool_t *p, EVP_PKEY *key, const char *msg)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    char *out = NULL;

    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)msg, strlen(msg)) == 1) {
        sig = apr_palloc(p, len);
        if (EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg, strlen(msg)) == 1) {
            out = b64_std(p, sig, len);
        }
    }
    EVP_MD_CTX_free(ctx);
    return out;
}

static int rsa2_verify(apr_pool_t *p, EVP_PKEY *key, const char *msg, size_t msg_len,
                       const char *sig_b64)
{
    EVP_MD_CTX *ctx;
    unsigned char *sig;
    size_t len = 0;
    int ok = 0;

    sig = sig_b64 ? b64_std_decode(p, sig_b64, &len) : NULL;
    if (!sig) {
        return 0;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1) {
        ok = EVP_DigestVerify(ctx, sig, len, (const unsigned char *)msg, msg_len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const apr_table_entry_t *)a)->key, ((const apr_table_entry_t *)b)->key);
}

/* Alipay's signing content: parameters sorted by name, "k=v" joined by '&', raw values,
 * empty values and the names in skip (NULL-terminated) left out. */
static char *sign_content(apr_pool_t *p, const apr_table_t *params, const char *const *skip)
{
    const apr_array_header_t *arr = apr_table_elts(params);
    apr_table_entry_t *e = apr_pmemdup(p, arr->elts, (apr_size_t)arr->nelts * sizeof(*e));
    apr_array_header_t *parts = apr_array_make(p, arr->nelts, sizeof(const char *));
    int i, j;

    qsort(e, (size_t)arr->nelts, sizeof(*e), by_key);
    for (i = 0; i < arr->nelts; i++) {
        for (j = 0; skip[j] && strcmp(skip[j], e[i].key) != 0; j++) {
        }
        if (skip[j] || !e[i].val || !*e[i].val) {
            continue;
        }
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(p, e[i].key, "=", e[i].val, NULL);
    }
    return apr_array_pstrcat(p, parts, '&');
}

/* ---- times ---------------------------------------------------------------------------- */

static char *china_time(apr_pool_t *p, long long unix_s)
{
    time_t t = (time_t)(unix_s + ALIPAY_TZ);
    struct tm tm;
    char buf[32];

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    return apr_pstrdup(p, buf);
}

/* "yyyy-MM-dd HH:mm:ss" in UTC+8 -> unix seconds; -1 when it is not that */
static long long china_time_parse(const char *s)
{
    struct tm tm;
    const char *end;

    if (!s || strlen(s) != 19) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || *end) {
        return -1;
    }
    return (long long)timegm(&tm) - ALIPAY_TZ;
}

/* ---- checkout: alipay.trade.precreate ------------------------------------------------- */

/* The raw text of member name's value in the answer (the bytes Alipay signed): found by
 * letting json-c's tokener parse from the value's first byte and report where it ended. */
static const char *raw_member(apr_pool_t *p, const char *text, size_t len, const char *name)
{
    const char *key = apr_pstrcat(p, "\"", name, "\"", NULL), *at, *v;
    json_tokener *tok;
    json_object *o;
    size_t used;

    at = strstr(text, key);
    if (!at) {
        return NULL;
    }
    v = at + strlen(key);
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
        v++;
    }
    if (*v != ':') {
        return NULL;
    }
    v++;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
        v++;
    }
    if (*v != '{') {
        return NULL;
    }
    tok = json_tokener_new_ex(16);
    if (!tok) {
        return NULL;
    }
    o = json_tokener_parse_ex(tok, v, (int)(len - (size_t)(v - text)));
    used = (size_t)json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o) {
        return NULL;
    }
    json_object_put(o);
    return apr_pstrmemdup(p, v, used);
}

static const char *json_str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static apr_status_t alipay_checkout(const acp_provider_t *pv, apr_pool_t *p, acp_checkout_t *co,
                                    const char **err)
{
    static const char *const skip_sign[] = {"sign", NULL};
    const alipay_t *ap = pv->ctx;
    apr_table_t *params = apr_table_make(p, 12);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                          "Accept: application/json", NULL};
    const char *answer = NULL, *raw, *sig, *qr, *code, *subject, *body, *s;
    json_object *biz = json_object_new_object(), *resp;
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    long status = 0;
    size_t len = 0;
    apr_status_t rv;
    int i;

    if (strcmp(co->currency, "CNY") != 0) {
        json_object_put(biz);
        *err = "Alipay face-to-face payment is in CNY only";
        return APR_EINVAL;
    }
    subject = apr_pstrcat(p, "Certificate: ", co->names && *co->names ? co->names : co->invoice_id,
                          NULL);
    if (strlen(subject) > 200) {
        subject = apr_pstrcat(p, apr_pstrndup(p, subject, 190), "...", NULL);
    }
    json_object_object_add(biz, "out_trade_no", json_object_new_string(co->invoice_id));
    json_object_object_add(biz, "total_amount",
                           json_object_new_string(acp_minor_to_decimal(p, co->amount_minor, 2)));
    json_object_object_add(biz, "subject", json_object_new_string(subject));
    apr_table_setn(params, "biz_content",
                   apr_pstrdup(p, json_object_to_json_string_ext(
                                      biz, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
    json_object_put(biz);
    apr_table_setn(params, "app_id", ap->app_id);
    apr_table_setn(params, "method", "alipay.trade.precreate");
    apr_table_setn(params, "format", "JSON");
    apr_table_setn(params, "charset", "utf-8");
    apr_table_setn(params, "sign_type", "RSA2");
    apr_table_setn(params, "timestamp", china_time(p, acp_now()));
    apr_table_setn(params, "version", "1.0");
    apr_table_setn(params, "notify_url", co->notify_url);
    s = rsa2_sign(p, ap->key, sign_content(p, params, skip_sign));
    if (!s) {
        *err = "cannot sign the request with the app's private key";
        return APR_EGENERAL;
    }
    apr_table_setn(params, "sign", s);
    arr = apr_table_elts(params);
    e = (const apr_table_entry_t *)arr->elts;
    body = "";
    for (i = 0; i < arr->nelts; i++) {
        body = apr_pstrcat(p, body, i ? "&" : "", e[i].key, "=", acp_form_encode(p, e[i].val),
                           NULL);
    }
    rv = acp_provider_http(p, ap->gateway, hdrs, body, co->timeout_ms, &status, &answer, &len, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (status != 200) {
        *err = apr_psprintf(p, "the Alipay gateway answered HTTP %ld", status);
        return APR_EGENERAL;
    }
    raw = raw_member(p, answer, len, "alipay_trade_precreate_response");
    resp = acp_json_parse(p, answer, len);
    sig = json_str(resp, "sign");
    if (!raw || !sig) {
        *err = "the Alipay answer has no alipay_trade_precreate_response or sign";
        return APR_EGENERAL;
    }
    if (!rsa2_verify(p, ap->alipay_key, raw, strlen(raw), sig)) {
        *err = "the Alipay answer's signature does not verify with alipay-public-key";
        return APR_EGENERAL;
    }
    resp = acp_json_parse(p, raw, strlen(raw));
    code = json_str(resp, "code");
    qr = json_str(resp, "qr_code");
    if (!code || strcmp(code, "10000") != 0) {
        const char *sub = json_str(resp, "sub_msg");
        *err = apr_psprintf(p, "Alipay refused: %s %s",
                            code ? acp_text_safe(p, apr_pstrndup(p, code, 20)) : "(no code)",
                            sub ? acp_text_safe(p, apr_pstrndup(p, sub, 200)) : "");
        return APR_EGENERAL;
    }
    if (!json_str(resp, "out_trade_no") || strcmp(json_str(resp, "out_trade_no"), co->invoice_id)) {
        *err = "the Alipay answer is for another out_trade_no";
        return APR_EGENERAL;
    }
    if (!qr || (strncmp(qr, "https://", 8) != 0 && strncmp(qr, "http://", 7) != 0) ||
        strlen(qr) > 1000) {
        *err = "the Alipay answer has no usable qr_code";
        return APR_EGENERAL;
    }
    for (s = qr; *s; s++) {
        if (*s <= 0x20 || *s >= 0x7f) {
            *err = "the Alipay answer has no usable qr_code";
            return APR_EGENERAL;
        }
    }
    co->url = qr;
    co->reference = co->invoice_id; /* Alipay's out_trade_no */
    return APR_SUCCESS;
}

/* ---- the asynchronous notification ---------------------------------------------------- */

static acp_notice_err_t alipay_verify(const acp_provider_t *pv, apr_pool_t *p,
                                      const apr_table_t *headers, const char *body, size_t len,
                                      long long now, acp_notice_t *n, const char **why)
{
    static const char *const skip[] = {"sign", "sign_type", NULL};
    const alipay_t *ap = pv->ctx;
    apr_table_t *f = acp_form_parse(p, body, len);
    const char *st, *amount, *sent;
    long long t, minor = 0;

    if (!f || !apr_table_get(f, "sign")) {
        *why = "not an Alipay notification (form with sign)";
        return ACP_NOTICE_MALFORMED;
    }
    if (!apr_table_get(f, "sign_type") || strcmp(apr_table_get(f, "sign_type"), "RSA2") != 0) {
        *why = "sign_type is not RSA2";
        return ACP_NOTICE_FORGED;
    }
    if (!rsa2_verify(p, ap->alipay_key, sign_content(p, f, skip),
                     strlen(sign_content(p, f, skip)), apr_table_get(f, "sign"))) {
        *why = "signature mismatch (alipay-public-key)";
        return ACP_NOTICE_FORGED;
    }
    if (!apr_table_get(f, "app_id") || strcmp(apr_table_get(f, "app_id"), ap->app_id) != 0) {
        *why = "app_id is not this server's";
        return ACP_NOTICE_FORGED;
    }
    sent = apr_table_get(f, "notify_time");
    t = china_time_parse(sent);
    if (t < 0) {
        *why = "notify_time missing or malformed";
        return ACP_NOTICE_MALFORMED;
    }
    if (now - t > ALIPAY_TOLERANCE || t - now > ALIPAY_TOLERANCE) {
        *why = now > t ? "notify_time too old" : "notify_time in the future";
        return ACP_NOTICE_FORGED;
    }
    st = apr_table_get(f, "trade_status");
    if (!st || (strcmp(st, "TRADE_SUCCESS") != 0 && strcmp(st, "TRADE_FINISHED") != 0)) {
        n->not_payment = 1; /* WAIT_BUYER_PAY, TRADE_CLOSED: nothing paid */
        *why = apr_psprintf(p, "trade_status %s: nothing to credit",
                            st ? acp_text_safe(p, apr_pstrndup(p, st, 40)) : "(none)");
        return ACP_NOTICE_OK;
    }
    amount = apr_table_get(f, "total_amount");
    if (!amount || acp_decimal_to_minor(amount, 2, &minor) != 0 ||
        !apr_table_get(f, "out_trade_no") || !apr_table_get(f, "trade_no")) {
        *why = "out_trade_no, trade_no or total_amount missing or malformed";
        return ACP_NOTICE_MALFORMED;
    }
    n->invoice_id = apr_table_get(f, "out_trade_no");
    n->amount_minor = minor;
    n->currency = "CNY";
    n->txn_id = apr_table_get(f, "trade_no");
    return ACP_NOTICE_OK;
}

static void alipay_answer(const acp_provider_t *pv, apr_pool_t *p, int ok, int *status,
                          const char **content_type, const char **body, const char *why)
{
    /* Alipay stops delivering on exactly "success"; anything else is delivered again
     * (over about 25 hours) */
    *content_type = "text/plain; charset=utf-8";
    *body = ok ? "success" : "fail";
    if (ok) {
        *status = 200;
    }
}

/* ---- configuration -------------------------------------------------------------------- */

static apr_status_t pkey_free(void *k)
{
    EVP_PKEY_free(k);
    return APR_SUCCESS;
}

/* An RSA key of at least 2048 bits from a PEM file, or from a file holding only the
 * base64 body (what Alipay's key tool writes). */
static EVP_PKEY *load_key(apr_pool_t *p, const char *opt, const char *v, int private,
                          const char **err)
{
    const char *path, *text = NULL, *pem;
    size_t len = 0;
    struct stat sb;
    EVP_PKEY *k = NULL;
    BIO *bio;
    int attempt;

    if (!v || strncmp(v, "file:", 5) != 0) {
        *err = apr_psprintf(p, "%s=file:/path is required (keys never in the config)", opt);
        return NULL;
    }
    path = v + 5;
    if (private && stat(path, &sb) == 0 && (sb.st_mode & 007)) {
        *err = apr_psprintf(p, "%s: %s is readable by others (chmod o-rwx)", opt, path);
        return NULL;
    }
    if (acp_provider_read_secret(p, path, 64, 16384, &text, &len, err) != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: %s", opt, *err);
        return NULL;
    }
    for (attempt = 0; attempt < 2 && !k; attempt++) {
        if (strstr(text, "-----BEGIN")) {
            pem = text;
            attempt = 1;
        }
        else {
            pem = apr_psprintf(p, "-----BEGIN %s-----\n%s\n-----END %s-----\n",
                               !private ? "PUBLIC KEY" : attempt ? "RSA PRIVATE KEY" : "PRIVATE KEY",
                               text,
                               !private ? "PUBLIC KEY" : attempt ? "RSA PRIVATE KEY" : "PRIVATE KEY");
        }
        bio = BIO_new_mem_buf(pem, -1);
        k = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    if (!k) {
        *err = apr_psprintf(p, "%s: %s holds no %s RSA key (PEM or base64)", opt, path,
                            private ? "private" : "public");
        return NULL;
    }
    apr_pool_cleanup_register(p, k, pkey_free, apr_pool_cleanup_null);
    if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_bits(k) < 2048) {
        *err = apr_psprintf(p, "%s: RSA2 needs an RSA key of 2048 bits or more", opt);
        return NULL;
    }
    return k;
}

apr_status_t acp_provider_alipay_new(apr_pool_t *p, const apr_table_t *opts, acp_provider_t **out,
                                     const char **err)
{
    static const char *const known[] = {"app-id", "private-key", "alipay-public-key", "gateway",
                                        NULL};
    alipay_t *ap = apr_pcalloc(p, sizeof(*ap));
    acp_provider_t *pv = apr_pcalloc(p, sizeof(*pv));
    const char *s;

    if (acp_provider_opts_check(p, opts, known, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    ap->app_id = apr_table_get(opts, "app-id");
    if (!ap->app_id || !*ap->app_id || strlen(ap->app_id) > 32) {
        *err = "app-id=<the application's id> is required";
        return APR_EINVAL;
    }
    for (s = ap->app_id; *s; s++) {
        if (*s < '0' || *s > '9') {
            *err = "app-id: Alipay application ids are digits";
            return APR_EINVAL;
        }
    }
    ap->key = load_key(p, "private-key", apr_table_get(opts, "private-key"), 1, err);
    if (!ap->key) {
        return APR_EINVAL;
    }
    ap->alipay_key = load_key(p, "alipay-public-key", apr_table_get(opts, "alipay-public-key"), 0,
                              err);
    if (!ap->alipay_key) {
        return APR_EINVAL;
    }
    s = apr_table_get(opts, "gateway");
    ap->gateway = s ? s : ALIPAY_GATEWAY;
    if (strncmp(ap->gateway, "https://", 8) != 0 && strncmp(ap->gateway, "http://", 7) != 0) {
        *err = "gateway must be an http(s) URL";
        return APR_EINVAL;
    }
    pv->name = "alipay";
    pv->ctx = ap;
    pv->checkout = alipay_checkout;
    pv->verify = alipay_verify;
    pv->answer = alipay_answer;
    *out = pv;
    return APR_SUCCESS;
}
