/* Web front end, providers' notifications: POST <base>/pay/<name> goes to the provider
 * of that name (AcmePayStripe, AcmePayAlipay, …), which verifies it in its own format;
 * an authentic payment is checked against its invoice (amount and currency exactly) and
 * credited through acp_billing_payment_tx once per "<name>:<transaction id>". Every
 * refusal changes nothing and leaves one log line (resp->log_note). */
#include <string.h>
#include <apr_strings.h>
#include "acp_wfe.h"
#include "acp_billing.h"
#include "acp_provider.h"
#include "acp_money.h"
#include "acp_util.h"

static void reply(apr_pool_t *p, const acp_provider_t *pv, acp_resp_t *resp, int ok, int status,
                  const char *why)
{
    const char *ctype = "text/plain; charset=utf-8", *body = why;

    pv->answer(pv, p, ok, &status, &ctype, &body, why);
    resp->status = status;
    resp->content_type = ctype;
    resp->body = body ? body : "";
    resp->body_len = strlen(resp->body);
}

static int refuse(apr_pool_t *p, const acp_provider_t *pv, acp_resp_t *resp, int status,
                  const char *why, const char *what)
{
    reply(p, pv, resp, 0, status, why);
    resp->log_note = apr_psprintf(p, "%s notification refused (%d): %s%s%s", pv->name, status,
                                  why, what ? ": " : "", what ? acp_text_safe(p, what) : "");
    resp->log_warn = 1;
    return 1;
}

/* What a provider said must fit where it goes: an invoice id as we make them, a
 * transaction id of printable ASCII without spaces (stored, shown to staff, logged). */
static int notice_ok(const acp_notice_t *n)
{
    size_t i;

    if (!n->invoice_id || !n->txn_id || !n->currency || n->amount_minor <= 0) {
        return 0;
    }
    for (i = 0; n->invoice_id[i]; i++) {
        char c = n->invoice_id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_') ||
            i >= 64) {
            return 0;
        }
    }
    if (i == 0) {
        return 0;
    }
    for (i = 0; n->txn_id[i]; i++) {
        if (n->txn_id[i] <= 0x20 || n->txn_id[i] >= 0x7f || i >= 180) {
            return 0;
        }
    }
    return i > 0;
}

/* Check the notice against its invoice and credit it, in one transaction. Returns the
 * HTTP status (200: credited or credited before) and *why. */
static int credit(acp_db_t *db, apr_pool_t *p, const acp_provider_t *pv, const acp_notice_t *n,
                  const char **why, int *credited)
{
    const char **inv = NULL;
    const char *ref = apr_pstrcat(p, pv->name, ":", n->txn_id, NULL);
    apr_status_t rv;

    *credited = 0;
    if (acp_sa_begin(db) != APR_SUCCESS) {
        *why = "database busy";
        return 503;
    }
    rv = acp_sa_row(db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(n->invoice_id));
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        *why = "database error";
        return 500;
    }
    if (!inv) {
        acp_sa_rollback(db);
        *why = "unknown invoice";
        return 404;
    }
    if (strcmp(n->currency, inv[5]) != 0) {
        acp_sa_rollback(db);
        *why = apr_psprintf(p, "currency %s, the invoice is in %s", n->currency, inv[5]);
        return 422;
    }
    if (n->amount_minor != acp_sa_atoll(inv[3])) {
        acp_sa_rollback(db);
        *why = apr_psprintf(p, "amount %s, the invoice is for %s",
                            acp_money(p, n->amount_minor, n->currency),
                            acp_money(p, acp_sa_atoll(inv[3]), inv[5]));
        return 422;
    }
    rv = acp_billing_payment_tx(db, p, n->invoice_id, n->amount_minor, n->currency, ref,
                                pv->name, credited);
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        *why = rv == APR_EMISMATCH ? "currency does not match the invoice's holder"
                                   : "database error";
        return rv == APR_EMISMATCH ? 422 : 500;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        acp_sa_rollback(db);
        *credited = 0;
        *why = "database commit failed";
        return 500;
    }
    *why = *credited ? "credited" : "already credited";
    return 200;
}

int acp_wfe_pay_notify(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                       acp_resp_t *resp, const char *name)
{
    const acp_provider_t *pv = acp_provider_find(wfe->cfg->ra.billing.providers, name);
    acp_notice_t n;
    const char *why = NULL;
    acp_notice_err_t e;
    acp_db_t *db;
    int status, credited = 0;

    if (!pv) {
        return 0;
    }
    if (strcmp(req->method, "POST") != 0) {
        reply(p, pv, resp, 0, 405, "POST only");
        apr_table_setn(resp->headers, "Allow", "POST");
        return 1;
    }
    if (req->body_too_large) {
        return refuse(p, pv, resp, 413, "body too large", NULL);
    }
    memset(&n, 0, sizeof(n));
    e = pv->verify(pv, p, req->headers, req->body, req->body_len, acp_now(), &n, &why);
    if (e != ACP_NOTICE_OK) {
        return refuse(p, pv, resp, e == ACP_NOTICE_FORGED ? 401 : 400,
                      why ? why : "not verified", req->client_ip);
    }
    if (n.not_payment) {
        reply(p, pv, resp, 1, 200, why ? why : "nothing to credit");
        return 1;
    }
    if (!notice_ok(&n)) {
        return refuse(p, pv, resp, 400, "invoice, transaction id or amount out of range",
                      req->client_ip);
    }
    db = wfe->get_db(wfe->db_baton);
    if (!db) {
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        return refuse(p, pv, resp, 503, "database unavailable", NULL);
    }
    status = credit(db, p, pv, &n, &why, &credited);
    if (status >= 500 && acp_sa_unavailable(db)) {
        /* not credited: the provider delivers again later (the reference is unique) */
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        status = 503;
        why = "database unavailable";
    }
    if (status != 200) {
        return refuse(p, pv, resp, status, why,
                      apr_psprintf(p, "invoice %s, transaction %s", n.invoice_id, n.txn_id));
    }
    reply(p, pv, resp, 1, 200, why);
    resp->log_note = apr_psprintf(p, "%s notification: invoice %s, %s, transaction %s: %s",
                                  pv->name, n.invoice_id,
                                  acp_money(p, n.amount_minor, n.currency), n.txn_id, why);
    return 1;
}
