/* Web front end, payment side: the signed webhook that credits balances, the built-in
 * invoice page (amount, status, QR as SVG, what to do next) and, in test mode only, the
 * "Simulate payment" button that goes through the same credit path. Not ACME: no JWS,
 * no nonce; answers are JSON (webhook) or HTML (invoice page). */
#include <string.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include "acp_wfe.h"
#include "acp_billing.h"
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

static const char *html_escape(apr_pool_t *p, const char *s)
{
    return s ? apr_pescape_entity(p, s, 0) : "";
}

void acp_wfe_pay_invoice(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                         acp_resp_t *resp, const char *invoice_id, int simulate)
{
    const acp_wfe_cfg_t *cfg = wfe->cfg;
    acp_db_t *db = wfe->get_db(wfe->db_baton);
    const char **inv = NULL, *page, *qr, *why = NULL, *self, *note = NULL, *status;
    int closed;
    long long amount, paid;

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
    status = inv[6];
    amount = acp_sa_atoll(inv[3]);
    paid = acp_sa_atoll(inv[4]);
    /* links from the configured server name, never from the request's Host */
    self = apr_pstrcat(p, req->pay_base_url ? req->pay_base_url : req->base_url, "/pay/i/",
                       invoice_id, NULL);
    if (simulate) {
        if (!cfg->test_mode || strcmp(req->method, "POST") != 0) {
            answer(resp, p, 404, "text/plain; charset=utf-8", "not found\n");
            return;
        }
        if (amount > paid) {
            credit(db, p, invoice_id, amount - paid, inv[5],
                   apr_pstrcat(p, "test-", acp_random_id(p, 9), NULL), "test-mode", &why);
        }
        apr_table_setn(resp->headers, "Location", self);
        answer(resp, p, 303, "text/plain; charset=utf-8", "paid (test mode)\n");
        return;
    }
    {
        /* closed by another route than a payment: say so instead of asking for money */
        const char **cl = NULL;
        int open = !strcmp(inv[6], "open");
        if ((open && acp_sa_atoll(inv[10]) < acp_now()) || !strcmp(inv[6], "expired")) {
            status = "expired";
            note = "<p>This invoice has expired. Run the same ACME command again for a new "
                   "one if payment is still needed.</p>\n";
        }
        else if (!strcmp(inv[6], "superseded")) {
            acp_sa_row(db, p, "acp_invoice_close_info", &cl, ACP_SA_ARGS(invoice_id));
            note = apr_pstrcat(p, "<p class=\"closed\">Nothing to pay: ",
                               html_escape(p, cl && cl[2] ? cl[2] : "answered otherwise"),
                               ". Run the same ACME command again: the certificate will be "
                               "issued.</p>\n",
                               NULL);
        }
        else if (!strcmp(inv[6], "voided")) {
            acp_sa_row(db, p, "acp_invoice_close_info", &cl, ACP_SA_ARGS(invoice_id));
            note = apr_pstrcat(p, "<p class=\"closed\">This invoice was voided",
                               cl && cl[2] ? apr_pstrcat(p, ": ", html_escape(p, cl[2]), NULL)
                                           : "",
                               ". Nothing to pay.</p>\n", NULL);
        }
        closed = !open || note != NULL;
    }
    /* the provider's checkout when the invoice command gave one, else this page */
    qr = closed ? NULL : acp_qr_svg(p, inv[11] ? inv[11] : inv[7] ? inv[7] : self, 6);
    page = apr_pstrcat(
        p,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>Invoice ", html_escape(p, invoice_id), "</title>"
        "<style>body{font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em}"
        ".st{font-weight:bold}.qr svg{width:14em;height:14em}</style></head><body>\n"
        "<h1>Certificate payment</h1>\n"
        "<p>Amount: <span class=\"amount\">", html_escape(p, acp_money(p, amount, inv[5])),
        "</span></p>\n<p>Status: <span class=\"st\">", html_escape(p, status), "</span>",
        paid > 0 && paid < amount
            ? apr_pstrcat(p, " (", html_escape(p, acp_money(p, paid, inv[5])), " received)", NULL)
            : "",
        "</p>\n<div class=\"qr\">", qr ? qr : "", "</div>\n",
        inv[11] && !closed
            ? apr_pstrcat(p, "<p><a class=\"checkout\" href=\"", html_escape(p, inv[11]),
                          "\">Pay with the payment provider</a></p>\n", NULL)
            : "",
        inv[8] && !closed ? apr_pstrcat(p, "<p>Ethereum: <a href=\"", html_escape(p, inv[8]), "\">",
                             html_escape(p, inv[8]), "</a></p>\n", NULL)
               : "",
        note ? note
        : !strcmp(inv[6], "paid")
            ? "<p>Paid. Run the same ACME command again: the certificate will be issued.</p>\n"
            : "<p>Pay this invoice, then run the same ACME command again "
              "(certbot, lego, …): the certificate will be issued.</p>\n",
        cfg->test_mode && !closed
            ? apr_pstrcat(p, "<form method=\"post\" action=\"", html_escape(p, self),
                          "/simulate\"><button type=\"submit\">Simulate payment</button>"
                          " <small>(test mode)</small></form>\n",
                          NULL)
            : "",
        "</body></html>\n", NULL);
    answer(resp, p, 200, "text/html; charset=utf-8", page);
}
