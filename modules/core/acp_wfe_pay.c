/* Web front end, payment side: the signed webhook that credits balances, the built-in
 * invoice page's route (the page itself: acp_wfe_invoice.c) and, in test mode only, the
 * "Simulate payment" button that goes through the same credit path. Not ACME: no JWS,
 * no nonce; answers are JSON (webhook) or HTML (invoice page). */
#include <string.h>
#include <apr_strings.h>
#include "acp_wfe.h"
#include "acp_billing.h"
#include "acp_webhook.h"
#include "acp_util.h"

static void answer(acp_resp_t *resp, apr_pool_t *p, int status, const char *ctype,
                   const char *body)
{
    resp->status = status;
    resp->content_type = ctype;
    resp->body = body;
    resp->body_len = strlen(body);
}

static void answer_json(acp_resp_t *resp, apr_pool_t *p, int status, const char *key,
                        const char *val)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, json_object_new_string(val));
    answer(resp, p, status, "application/json",
           apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE)));
    json_object_put(o);
}

/* Credit a payment in its own transaction. Returns the HTTP status to answer with. */
static int credit(acp_db_t *db, apr_pool_t *p, const char *invoice, long long amount,
                  const char *currency, const char *reference, const char *source,
                  const char **what)
{
    int credited = 0;
    apr_status_t rv;

    if (acp_sa_begin(db) != APR_SUCCESS) {
        *what = "database busy";
        return 503;
    }
    rv = acp_billing_payment_tx(db, p, invoice, amount, currency, reference, source, &credited);
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        *what = rv == APR_NOTFOUND    ? "unknown invoice"
                : rv == APR_EMISMATCH ? "currency does not match the invoice and its holder"
                : rv == APR_EINVAL    ? "amount does not fit the invoice"
                                      : "database error";
        return rv == APR_NOTFOUND ? 404 : rv == APR_EINVAL || rv == APR_EMISMATCH ? 422 : 500;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        acp_sa_rollback(db);
        *what = "database commit failed";
        return 500;
    }
    *what = credited ? "credited" : "already credited";
    return 200;
}

/* A provider's payment reference: 1..200 printable ASCII characters, no space (it is
 * stored, shown to staff and searched: no control or escape sequence gets in). */
static int reference_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] <= 0x20 || s[n] >= 0x7f || n >= 200) {
            return 0;
        }
    }
    return n > 0;
}

static const char *member_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

void acp_wfe_pay_webhook(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                         acp_resp_t *resp)
{
    const acp_wfe_cfg_t *cfg = wfe->cfg;
    const char *why = NULL, *invoice, *currency, *reference;
    json_object *body, *v;
    long long amount;
    acp_db_t *db;
    int status;

    if (strcmp(req->method, "POST") != 0) {
        answer_json(resp, p, 405, "error", "POST only");
        return;
    }
    if (!cfg->webhook_secret_len) {
        answer_json(resp, p, 404, "error", "no webhook secret configured");
        return;
    }
    if (req->body_too_large) {
        answer_json(resp, p, 413, "error", "body too large");
        return;
    }
    if (acp_webhook_verify(p, cfg->webhook_secret, cfg->webhook_secret_len, req->pay_signature,
                           req->body, req->body_len, acp_now(), 300, &why) != 0) {
        answer_json(resp, p, 401, "error", why ? why : "bad signature");
        return;
    }
    body = acp_json_parse(p, req->body, req->body_len);
    invoice = member_str(body, "invoice");
    currency = member_str(body, "currency");
    reference = member_str(body, "reference");
    amount = body && json_object_object_get_ex(body, "amount", &v) &&
                     json_object_is_type(v, json_type_int)
                 ? json_object_get_int64(v)
                 : 0;
    if (!invoice || !currency || !reference || !reference_ok(reference) || amount <= 0) {
        answer_json(resp, p, 400, "error",
                    "body must be {invoice, amount (integer minor units > 0), currency, "
                    "reference (1 to 200 printable ASCII characters, no spaces)}");
        return;
    }
    db = wfe->get_db(wfe->db_baton);
    if (!db) {
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        answer_json(resp, p, 503, "error", "database unavailable");
        return;
    }
    status = credit(db, p, invoice, amount, currency, reference, "webhook", &why);
    if (status >= 500 && acp_sa_unavailable(db)) {
        /* not credited: the provider delivers again later (the reference is unique) */
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        status = 503;
        why = "database unavailable";
    }
    answer_json(resp, p, status, status == 200 ? "status" : "error", why);
}

/* pay/i/<id> shows the invoice page (acp_wfe_invoice.c); pay/i/<id>/simulate, in test
 * mode, pays what is still due through the credit path and goes back to the page. */
void acp_wfe_pay_invoice(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                         acp_resp_t *resp, const char *invoice_id, int simulate)
{
    const acp_wfe_cfg_t *cfg = wfe->cfg;
    acp_db_t *db;
    const char **inv = NULL, *why = NULL, *self;
    long long amount, paid;

    if (!simulate) {
        acp_wfe_invoice_page(p, wfe, req, resp, invoice_id);
        return;
    }
    if (!cfg->test_mode || strcmp(req->method, "POST") != 0) {
        answer(resp, p, 404, "text/plain; charset=utf-8", "not found\n");
        return;
    }
    db = wfe->get_db(wfe->db_baton);
    if (!db || acp_sa_row(db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(invoice_id)) !=
                   APR_SUCCESS) {
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        answer(resp, p, 503, "text/plain; charset=utf-8", "database unavailable\n");
        return;
    }
    if (!inv) {
        answer(resp, p, 404, "text/plain; charset=utf-8", "no such invoice\n");
        return;
    }
    amount = acp_sa_atoll(inv[3]);
    paid = acp_sa_atoll(inv[4]);
    if (amount > paid) {
        credit(db, p, invoice_id, amount - paid, inv[5],
               apr_pstrcat(p, "test-", acp_random_id(p, 9), NULL), "test-mode", &why);
    }
    /* back to the page, by the configured server name, never the request's Host */
    self = apr_pstrcat(p, req->pay_base_url ? req->pay_base_url : req->base_url, "/pay/i/",
                       invoice_id, NULL);
    apr_table_setn(resp->headers, "Location", self);
    answer(resp, p, 303, "text/plain; charset=utf-8", "paid (test mode)\n");
}
