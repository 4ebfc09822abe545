/* WeChat Pay API v3, Native pay (AcmePayWeChatPay): POST /v3/pay/transactions/native
 * (JSON: appid, mchid, description, out_trade_no = the invoice, notify_url, amount
 * {total in fen, currency}), signed with the merchant's key (Authorization
 * WECHATPAY2-SHA256-RSA2048 …); its `code_url` is what the QR encodes. Notification:
 * Wechatpay-Signature (SHA256-RSA over timestamp, nonce and the raw body) checked with the
 * platform certificate Wechatpay-Serial names, timestamps more than 5 minutes off
 * refused, `resource` decrypted with the APIv3 key (AEAD_AES_256_GCM), then mchid and
 * appid must be ours; only TRANSACTION.SUCCESS with trade_state SUCCESS credits, with
 * transaction_id as the transaction. Answers as WeChat Pay documents them: 200 without a
 * body when received, else 4xx/5xx with {"code":"FAIL","message":"…"} (it redelivers). */
#include <string.h>
#include <json-c/json.h>
#include <apr_strings.h>
#include "acp_provider.h"
#include "acp_wechat.h"
#include "acp_jws.h"
#include "acp_util.h"

#define WECHAT_API "https://api.mch.weixin.qq.com"
#define WECHAT_NATIVE "/v3/pay/transactions/native"

typedef struct wechat_t {
    const char *mchid;
    const char *appid;
    const char *serial;              /* the merchant certificate's serial_no */
    EVP_PKEY *key;                   /* the merchant's private key */
    unsigned char apiv3[32];         /* the APIv3 key */
    apr_array_header_t *certs;       /* acp_wechat_cert_t *: the platform certificates */
    const char *api;                 /* no trailing slash */
} wechat_t;

static const char *json_str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* 1..max characters of [A-Za-z0-9_-] (mchid, appid, serial numbers) */
static int word_ok(const char *s, size_t max)
{
    size_t i;

    if (!s) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-') ||
            i >= max) {
            return 0;
        }
    }
    return i > 0;
}

static int printable(const char *s, size_t max)
{
    size_t i;

    if (!s || !*s) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f || i >= max) {
            return 0;
        }
    }
    return 1;
}

/* The path (with query) of url that the signature covers: "/v3/…" */
static const char *url_path(const char *url)
{
    const char *s = strstr(url, "://");

    s = s ? strchr(s + 3, '/') : NULL;
    return s ? s : "/";
}

/* description: at most 127 bytes (WeChat Pay's limit), cut at a character boundary */
static const char *description(apr_pool_t *p, const char *names, const char *invoice)
{
    char *d = apr_pstrcat(p, "Certificate ", names && *names ? names : invoice, NULL);
    size_t n = strlen(d);

    if (n > 127) {
        n = 124;
        while (n > 0 && ((unsigned char)d[n] & 0xC0) == 0x80) {
            n--;
        }
        d = apr_pstrcat(p, apr_pstrndup(p, d, n), "...", NULL);
    }
    return d;
}

static apr_status_t wechat_checkout(const acp_provider_t *pv, apr_pool_t *p, acp_checkout_t *co,
                                    const char **err)
{
    const wechat_t *wx = pv->ctx;
    const char *url = apr_pstrcat(p, wx->api, WECHAT_NATIVE, NULL);
    const char *hdrs[5], *answer = NULL, *auth = NULL, *body, *code_url, *nonce;
    json_object *o = json_object_new_object(), *amt = json_object_new_object(), *a;
    long status = 0;
    size_t len = 0;
    apr_status_t rv;

    json_object_object_add(o, "appid", json_object_new_string(wx->appid));
    json_object_object_add(o, "mchid", json_object_new_string(wx->mchid));
    json_object_object_add(o, "description",
                           json_object_new_string(description(p, co->names, co->invoice_id)));
    json_object_object_add(o, "out_trade_no", json_object_new_string(co->invoice_id));
    json_object_object_add(o, "notify_url", json_object_new_string(co->notify_url));
    json_object_object_add(amt, "total", json_object_new_int64(co->amount_minor));
    json_object_object_add(amt, "currency", json_object_new_string(co->currency));
    json_object_object_add(o, "amount", amt);
    body = apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    nonce = acp_wechat_nonce(p);
    if (!nonce || acp_wechat_authorization(p, wx->key, wx->mchid, wx->serial, "POST",
                                           url_path(url), body, acp_now(), nonce,
                                           &auth) != APR_SUCCESS) {
        *err = "cannot sign the request with the merchant key";
        return APR_EGENERAL;
    }
    hdrs[0] = apr_pstrcat(p, "Authorization: ", auth, NULL);
    hdrs[1] = "Content-Type: application/json";
    hdrs[2] = "Accept: application/json";
    hdrs[3] = "User-Agent: mod_acme_pay"; /* WeChat Pay refuses requests without one */
    hdrs[4] = NULL;
    rv = acp_provider_http(p, url, hdrs, body, co->timeout_ms, &status, &answer, &len, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    a = acp_json_parse(p, answer, len);
    if (status != 200) {
        const char *code = json_str(a, "code"), *msg = json_str(a, "message");
        *err = apr_psprintf(p, "WeChat Pay answered %ld%s%s%s%s", status, code ? " " : "",
                            code ? acp_text_safe(p, apr_pstrndup(p, code, 64)) : "",
                            msg ? ": " : "",
                            msg ? acp_text_safe(p, apr_pstrndup(p, msg, 200)) : "");
        return APR_EGENERAL;
    }
    code_url = json_str(a, "code_url");
    if (!printable(code_url, 512) || strncmp(code_url, "weixin://", 9) != 0) {
        *err = "WeChat Pay's answer has no usable code_url";
        return APR_EGENERAL;
    }
    co->url = code_url;
    co->reference = NULL; /* Native pay has no prepay id; the trade is our invoice id */
    return APR_SUCCESS;
}

static acp_notice_err_t wechat_verify(const acp_provider_t *pv, apr_pool_t *p,
                                      const apr_table_t *headers, const char *body, size_t len,
                                      long long now, acp_notice_t *n, const char **why)
{
    const wechat_t *wx = pv->ctx;
    const char *event, *alg, *state, *cur, *mchid, *appid;
    json_object *o, *res, *t, *amt, *total;
    char *plain = NULL;
    size_t plen = 0;

    if (acp_wechat_verify_notification(
            p, wx->certs, headers ? apr_table_get(headers, "Wechatpay-Timestamp") : NULL,
            headers ? apr_table_get(headers, "Wechatpay-Nonce") : NULL,
            headers ? apr_table_get(headers, "Wechatpay-Signature") : NULL,
            headers ? apr_table_get(headers, "Wechatpay-Serial") : NULL, body, len, now,
            why) != 0) {
        return ACP_NOTICE_FORGED;
    }
    o = acp_json_parse(p, body, len);
    event = json_str(o, "event_type");
    if (!event || !json_object_object_get_ex(o, "resource", &res) ||
        !json_object_is_type(res, json_type_object)) {
        *why = "not a WeChat Pay notification (event_type, resource)";
        return ACP_NOTICE_MALFORMED;
    }
    if (strcmp(event, "TRANSACTION.SUCCESS") != 0) {
        n->not_payment = 1; /* e.g. REFUND.SUCCESS: staff record refunds by hand */
        *why = apr_psprintf(p, "event %s: nothing to credit", acp_text_safe(p, event));
        return ACP_NOTICE_OK;
    }
    alg = json_str(res, "algorithm");
    if (!alg || strcmp(alg, "AEAD_AES_256_GCM") != 0) {
        *why = "resource.algorithm is not AEAD_AES_256_GCM";
        return ACP_NOTICE_MALFORMED;
    }
    if (acp_wechat_decrypt(p, wx->apiv3, json_str(res, "nonce"), json_str(res, "associated_data"),
                           json_str(res, "ciphertext"), &plain, &plen) != APR_SUCCESS) {
        *why = "resource does not decrypt with the APIv3 key (tampered, or another key)";
        return ACP_NOTICE_FORGED;
    }
    t = acp_json_parse(p, plain, plen);
    mchid = json_str(t, "mchid");
    appid = json_str(t, "appid");
    if (!t || !mchid || !appid) {
        *why = "the decrypted transaction has no mchid or appid";
        return ACP_NOTICE_MALFORMED;
    }
    if (strcmp(mchid, wx->mchid) != 0 || strcmp(appid, wx->appid) != 0) {
        *why = apr_psprintf(p, "transaction of mchid %s appid %s, not ours",
                            acp_text_safe(p, apr_pstrndup(p, mchid, 40)),
                            acp_text_safe(p, apr_pstrndup(p, appid, 40)));
        return ACP_NOTICE_FORGED;
    }
    state = json_str(t, "trade_state");
    if (!state || strcmp(state, "SUCCESS") != 0) {
        n->not_payment = 1;
        *why = apr_psprintf(p, "trade_state %s: nothing to credit",
                            state ? acp_text_safe(p, apr_pstrndup(p, state, 40)) : "missing");
        return ACP_NOTICE_OK;
    }
    if (!json_object_object_get_ex(t, "amount", &amt) ||
        !json_object_object_get_ex(amt, "total", &total) ||
        !json_object_is_type(total, json_type_int) || !(cur = json_str(amt, "currency")) ||
        strlen(cur) != 3 || !json_str(t, "out_trade_no") || !json_str(t, "transaction_id")) {
        *why = "the decrypted transaction lacks out_trade_no, transaction_id or amount";
        return ACP_NOTICE_MALFORMED;
    }
    n->invoice_id = json_str(t, "out_trade_no");
    n->amount_minor = json_object_get_int64(total);
    n->currency = cur;
    n->txn_id = json_str(t, "transaction_id");
    return ACP_NOTICE_OK;
}

static void wechat_answer(const acp_provider_t *pv, apr_pool_t *p, int ok, int *status,
                          const char **content_type, const char **body, const char *why)
{
    json_object *o;

    if (ok) {
        *status = 200; /* received: WeChat Pay wants 200 or 204 and no body */
        *content_type = "text/plain";
        *body = "";
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "code", json_object_new_string("FAIL"));
    json_object_object_add(o, "message", json_object_new_string(why ? why : "refused"));
    *body = apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    *content_type = "application/json";
}

apr_status_t acp_provider_wechat_new(apr_pool_t *p, const apr_table_t *opts,
                                     acp_provider_t **out, const char **err)
{
    static const char *const known[] = {"mchid", "appid", "serial", "private-key",
                                        "apiv3-key", "platform-cert", "api", NULL};
    wechat_t *wx = apr_pcalloc(p, sizeof(*wx));
    acp_provider_t *pv = apr_pcalloc(p, sizeof(*pv));
    const char *v, *api;
    size_t klen = 0;

    if (acp_provider_opts_check(p, opts, known, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    wx->mchid = apr_table_get(opts, "mchid");
    wx->appid = apr_table_get(opts, "appid");
    wx->serial = apr_table_get(opts, "serial");
    if (!word_ok(wx->mchid, 32) || !word_ok(wx->appid, 32) || !word_ok(wx->serial, 64)) {
        *err = "mchid=, appid= and serial= (the merchant certificate's serial number) are "
               "required: letters, digits, '_' or '-'";
        return APR_EINVAL;
    }
    v = apr_table_get(opts, "private-key");
    if (!v || strncmp(v, "file:", 5) != 0) {
        *err = "private-key=file:/path (the merchant's apiclient_key.pem) is required";
        return APR_EINVAL;
    }
    if (acp_wechat_load_key(p, v + 5, &wx->key, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    v = acp_provider_opt_secret(p, opts, "apiv3-key", 32, 32, &klen, err);
    if (!v) {
        return APR_EINVAL;
    }
    memcpy(wx->apiv3, v, 32);
    v = apr_table_get(opts, "platform-cert");
    if (!v || strncmp(v, "file:", 5) != 0) {
        *err = "platform-cert=file:/path (WeChat Pay's platform certificates, PEM) is required";
        return APR_EINVAL;
    }
    if (acp_wechat_load_certs(p, v + 5, &wx->certs, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    api = apr_table_get(opts, "api");
    api = api ? api : WECHAT_API;
    if ((strncmp(api, "https://", 8) != 0 && strncmp(api, "http://", 7) != 0) ||
        !printable(api, 500)) {
        *err = "api must be an http(s) URL";
        return APR_EINVAL;
    }
    wx->api = apr_pstrdup(p, api);
    while (*wx->api && wx->api[strlen(wx->api) - 1] == '/') {
        ((char *)wx->api)[strlen(wx->api) - 1] = '\0';
    }
    pv->name = "wechat";
    pv->ctx = wx;
    pv->checkout = wechat_checkout;
    pv->verify = wechat_verify;
    pv->answer = wechat_answer;
    *out = pv;
    return APR_SUCCESS;
}
