/* Web front end: renewal information (RFC 9773), an unauthenticated GET answered from one
 * indexed read, no write, no nonce; and the plain-text note a staff window points to. */
#include <string.h>
#include <apr_strings.h>
#include "acp_wfe.h"
#include "acp_ari.h"
#include "acp_problem.h"
#include "acp_util.h"

static int is_get(const acp_req_t *req)
{
    return !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
}

void acp_wfe_renewal_info(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *certid)
{
    const acp_wfe_cfg_t *cfg = wfe->cfg;
    acp_db_t *db;
    acp_ari_cert_t *c = NULL;
    acp_problem_t *prob;
    json_object *o, *win;
    long long start = 0, end = 0;
    int retry = cfg->ari.retry_after > 0 ? cfg->ari.retry_after : 21600;
    const char *s;

    if (!is_get(req)) {
        acp_wfe_resp_problem(p, resp,
                             acp_problem(p, ACP_ERR_METHOD, "renewalInfo is read with GET"));
        return;
    }
    /* the certID is checked before the database is asked for anything */
    {
        const char *aki = NULL, *serial = NULL;
        prob = acp_ari_parse_certid(p, certid, &aki, &serial);
        if (prob) {
            acp_wfe_resp_problem(p, resp, prob);
            return;
        }
    }
    db = wfe->get_db(wfe->db_baton);
    if (!db) {
        acp_wfe_resp_problem(p, resp,
                             acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database unavailable"));
        apr_table_setn(resp->headers, "Retry-After", "5");
        resp->status = 503;
        return;
    }
    prob = acp_ari_lookup(db, p, certid, 1, &c);
    if (prob) {
        acp_wfe_resp_problem(p, resp, prob);
        return;
    }
    acp_ari_window(c, &start, &end);
    acp_ari_subscription_window(p, c, cfg->ra.billing.sub_renew_window, &start, &end);
    o = json_object_new_object();
    win = json_object_new_object();
    json_object_object_add(win, "start", json_object_new_string(acp_rfc3339(p, start)));
    json_object_object_add(win, "end", json_object_new_string(acp_rfc3339(p, end)));
    json_object_object_add(o, "suggestedWindow", win);
    if (c->ari_url) {
        json_object_object_add(o, "explanationURL", json_object_new_string(c->ari_url));
    }
    else if (c->ari_reason) {
        json_object_object_add(
            o, "explanationURL",
            json_object_new_string(cfg->ari.explanation_url
                                       ? cfg->ari.explanation_url
                                       : apr_pstrcat(p, req->base_url, "/renewal-note/", c->id,
                                                     NULL)));
    }
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = apr_pstrdup(p, s);
    resp->body_len = strlen(resp->body);
    json_object_put(o);
    /* RFC 9773 §4.3: Retry-After is both the earliest and the target time of the next
     * poll; caches may keep the answer as long (the window moves at most that late) */
    apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, retry));
    apr_table_setn(resp->headers, "Cache-Control", apr_psprintf(p, "public, max-age=%d", retry));
}

/* The explanation staff gave when they moved a certificate's window, as text. Control
 * characters other than newline and tab never leave (terminals, browsers). */
void acp_wfe_renewal_note(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *cert_id)
{
    acp_db_t *db = is_get(req) ? wfe->get_db(wfe->db_baton) : NULL;
    const char **row = NULL;
    char *text;
    size_t i;

    if (!is_get(req)) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_METHOD, "use GET"));
        return;
    }
    if (!db) {
        acp_wfe_resp_problem(p, resp,
                             acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database unavailable"));
        apr_table_setn(resp->headers, "Retry-After", "5");
        resp->status = 503;
        return;
    }
    if (acp_sa_row(db, p, "acp_ari_note", &row, ACP_SA_ARGS(cert_id)) != APR_SUCCESS || !row ||
        !row[0]) {
        acp_wfe_resp_problem(p, resp,
                             acp_problem(p, ACP_ERR_NOT_FOUND,
                                         "no renewal note for this certificate"));
        return;
    }
    text = apr_pstrcat(p, "Renewal requested for certificate ", row[1], ":\n", row[0], "\n", NULL);
    for (i = 0; text[i]; i++) {
        unsigned char ch = (unsigned char)text[i];
        if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
            text[i] = '?';
        }
    }
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    resp->body = text;
    resp->body_len = strlen(text);
    apr_table_setn(resp->headers, "Cache-Control", "public, max-age=300");
}
