/* Stripe (AcmePayStripe): a Checkout Session per invoice (POST /v1/checkout/sessions,
 * form-encoded, Bearer secret key, one line item of the invoice's amount and currency,
 * client_reference_id = the invoice, an Idempotency-Key per invoice); its `url` is the
 * payment link the QR encodes. Webhook: `Stripe-Signature: t=<unix>,v1=<hex>` is
 * HMAC-SHA256 with the endpoint's signing secret over "<t>.<raw body>", any of several
 * v1 may match, at most 300 s old (Stripe's default tolerance), compared in constant
 * time; only `checkout.session.completed` with payment_status "paid" credits, with the
 * session id as the transaction id. */
#include <string.h>
#include <json-c/json.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_provider.h"
#include "acp_webhook.h"
#include "acp_jws.h"
#include "acp_util.h"

#define STRIPE_API "https://api.stripe.com"
#define STRIPE_TOLERANCE 300

typedef struct stripe_t {
    const char *secret_key;
    const char *webhook_secret;
    size_t webhook_secret_len;
    const char *api;          /* no trailing slash */
    const char *methods;      /* "card,alipay,wechat_pay" or NULL: Stripe's choice */
} stripe_t;

static const char *json_str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static int printable_url(const char *s)
{
    size_t i;

    if (!s || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f || i >= 2000) {
            return 0;
        }
    }
    return 1;
}

static char *lower(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s), *q;

    for (q = o; *q; q++) {
        *q = (char)apr_tolower(*q);
    }
    return o;
}

static char *upper(apr_pool_t *p, const char *s)
{
    char *o = apr_pstrdup(p, s), *q;

    for (q = o; *q; q++) {
        *q = (char)apr_toupper(*q);
    }
    return o;
}

static apr_status_t stripe_checkout(const acp_provider_t *pv, apr_pool_t *p, acp_checkout_t *co,
                                    const char **err)
{
    const stripe_t *st = pv->ctx;
    const char *hdrs[5], *answer = NULL, *body, *what, *url, *id;
    json_object *o, *e;
    long status = 0;
    size_t len = 0;
    apr_status_t rv;

    body = apr_pstrcat(
        p, "mode=payment&client_reference_id=", acp_form_encode(p, co->invoice_id),
        "&metadata%5Binvoice%5D=", acp_form_encode(p, co->invoice_id),
        "&line_items%5B0%5D%5Bquantity%5D=1",
        "&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=", acp_form_encode(p, lower(p, co->currency)),
        "&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=",
        apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)co->amount_minor),
        "&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=",
        acp_form_encode(p, apr_pstrcat(p, "Certificate: ",
                                       co->names && *co->names ? co->names : co->invoice_id,
                                       NULL)),
        "&success_url=", acp_form_encode(p, co->return_url),
        "&cancel_url=", acp_form_encode(p, co->return_url), NULL);
    if (st->methods) {
        char *list = apr_pstrdup(p, st->methods), *last = NULL, *m;
        int i = 0;
        for (m = apr_strtok(list, ",", &last); m; m = apr_strtok(NULL, ",", &last), i++) {
            body = apr_pstrcat(p, body, "&payment_method_types%5B", apr_itoa(p, i), "%5D=",
                               acp_form_encode(p, m), NULL);
        }
    }
    hdrs[0] = apr_pstrcat(p, "Authorization: Bearer ", st->secret_key, NULL);
    hdrs[1] = "Content-Type: application/x-www-form-urlencoded";
    /* a retried create (the claim ran out, another node) gets the same session back */
    hdrs[2] = apr_pstrcat(p, "Idempotency-Key: acme-pay-invoice-", co->invoice_id, NULL);
    hdrs[3] = "Accept: application/json";
    hdrs[4] = NULL;
    rv = acp_provider_http(p, apr_pstrcat(p, st->api, "/v1/checkout/sessions", NULL), hdrs, body,
                           co->timeout_ms, &status, &answer, &len, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    o = acp_json_parse(p, answer, len);
    if (status != 200) {
        what = json_object_object_get_ex(o, "error", &e) ? json_str(e, "message") : NULL;
        *err = apr_psprintf(p, "Stripe answered %ld%s%s", status, what ? ": " : "",
                            what ? acp_text_safe(p, apr_pstrndup(p, what, 200)) : "");
        return APR_EGENERAL;
    }
    url = json_str(o, "url");
    id = json_str(o, "id");
    if (!printable_url(url) || !id || !*id || strlen(id) > 200) {
        *err = "Stripe's answer has no usable session url or id";
        return APR_EGENERAL;
    }
    co->url = url;
    co->reference = id;
    return APR_SUCCESS;
}

static acp_notice_err_t stripe_verify(const acp_provider_t *pv, apr_pool_t *p,
                                      const apr_table_t *headers, const char *body, size_t len,
                                      long long now, acp_notice_t *n, const char **why)
{
    const stripe_t *st = pv->ctx;
    const char *sig = headers ? apr_table_get(headers, "Stripe-Signature") : NULL;
    const char *type, *ref, *cur, *pay;
    json_object *o, *data, *obj, *amt;

    /* Stripe's scheme is the one acp_webhook_verify implements: t=…,v1=… (several v1
     * allowed, other keys such as v0 ignored), HMAC-SHA256 over "t.body" */
    if (acp_webhook_verify(p, (const unsigned char *)st->webhook_secret, st->webhook_secret_len,
                           sig, body, len, now, STRIPE_TOLERANCE, why) != 0) {
        return ACP_NOTICE_FORGED;
    }
    o = acp_json_parse(p, body, len);
    type = json_str(o, "type");
    if (!type) {
        *why = "not a Stripe event";
        return ACP_NOTICE_MALFORMED;
    }
    if (strcmp(type, "checkout.session.completed") != 0) {
        n->not_payment = 1;
        *why = apr_psprintf(p, "event %s: nothing to credit", acp_text_safe(p, type));
        return ACP_NOTICE_OK;
    }
    if (!json_object_object_get_ex(o, "data", &data) ||
        !json_object_object_get_ex(data, "object", &obj) ||
        !json_object_is_type(obj, json_type_object)) {
        *why = "event without data.object";
        return ACP_NOTICE_MALFORMED;
    }
    ref = json_str(obj, "client_reference_id");
    pay = json_str(obj, "payment_status");
    if (!ref) {
        n->not_payment = 1; /* a session this server did not make (a payment link, …) */
        *why = "session without client_reference_id: not an invoice of this server";
        return ACP_NOTICE_OK;
    }
    if (!pay || strcmp(pay, "paid") != 0) {
        n->not_payment = 1; /* e.g. a delayed method: not paid yet */
        *why = "payment_status is not paid: nothing to credit";
        return ACP_NOTICE_OK;
    }
    cur = json_str(obj, "currency");
    if (!json_object_object_get_ex(obj, "amount_total", &amt) ||
        !json_object_is_type(amt, json_type_int) || !cur || strlen(cur) != 3 ||
        !json_str(obj, "id")) {
        *why = "session without id, amount_total or currency";
        return ACP_NOTICE_MALFORMED;
    }
    n->invoice_id = ref;
    n->amount_minor = json_object_get_int64(amt);
    n->currency = upper(p, cur);
    n->txn_id = json_str(obj, "id");
    return ACP_NOTICE_OK;
}

static void stripe_answer(const acp_provider_t *pv, apr_pool_t *p, int ok, int *status,
                          const char **content_type, const char **body, const char *why)
{
    json_object *o = json_object_new_object();

    /* Stripe counts any 2xx as delivered and retries everything else for days */
    json_object_object_add(o, ok ? "status" : "error", json_object_new_string(why ? why : ""));
    *body = apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    *content_type = "application/json";
    if (ok) {
        *status = 200;
    }
}

apr_status_t acp_provider_stripe_new(apr_pool_t *p, const apr_table_t *opts, acp_provider_t **out,
                                     const char **err)
{
    static const char *const known[] = {"secret-key", "webhook-secret", "api", "methods", NULL};
    stripe_t *st = apr_pcalloc(p, sizeof(*st));
    acp_provider_t *pv = apr_pcalloc(p, sizeof(*pv));
    const char *api, *m;

    if (acp_provider_opts_check(p, opts, known, err) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    st->secret_key = acp_provider_opt_secret(p, opts, "secret-key", 8, 255, NULL, err);
    if (!st->secret_key) {
        return APR_EINVAL;
    }
    for (m = st->secret_key; *m; m++) {
        if (*m <= 0x20 || *m >= 0x7f) {
            *err = "secret-key: printable ASCII only";
            return APR_EINVAL;
        }
    }
    st->webhook_secret = acp_provider_opt_secret(p, opts, "webhook-secret", 16, 255,
                                     &st->webhook_secret_len, err);
    if (!st->webhook_secret) {
        return APR_EINVAL;
    }
    api = apr_table_get(opts, "api");
    api = api ? api : STRIPE_API;
    if (!printable_url(api)) {
        *err = "api must be an http(s) URL";
        return APR_EINVAL;
    }
    st->api = apr_pstrdup(p, api);
    while (*st->api && st->api[strlen(st->api) - 1] == '/') {
        ((char *)st->api)[strlen(st->api) - 1] = '\0';
    }
    m = apr_table_get(opts, "methods");
    if (m) {
        const char *q;
        for (q = m; *q; q++) {
            if (!((*q >= 'a' && *q <= 'z') || *q == '_' || *q == ',')) {
                *err = "methods: Stripe payment method types, e.g. card,alipay,wechat_pay";
                return APR_EINVAL;
            }
        }
        st->methods = m;
    }
    pv->name = "stripe";
    pv->ctx = st;
    pv->checkout = stripe_checkout;
    pv->verify = stripe_verify;
    pv->answer = stripe_answer;
    *out = pv;
    return APR_SUCCESS;
}
