/* Web front end: responses, problem documents and the rendering of ACME objects. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_wfe_int.h"
#include "acp_ident.h"
#include "acp_problem.h"
#include "acp_pay.h"
#include "acp_money.h"
#include "acp_util.h"

/* ---- responses ---------------------------------------------------------------------- */

const char *acp_wfe_url(const wfe_req_t *w, const char *what, const char *id)
{
    return id ? apr_pstrcat(w->p, w->req->base_url, "/", what, "/", id, NULL)
              : apr_pstrcat(w->p, w->req->base_url, "/", what, NULL);
}

void acp_wfe_set_json(wfe_req_t *w, int status, json_object *o, const char *ctype)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_SPACED |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    w->resp->status = status;
    w->resp->content_type = ctype;
    w->resp->body = apr_pstrdup(w->p, s);
    w->resp->body_len = strlen(w->resp->body);
    json_object_put(o);
}

/* A payment request as the problem the client will read: the detail drawn for its
 * profile (acp_client_profile); mod_md waits 24 h after an "input" problem such as
 * userActionRequired, so a retryable type lets it try again minutes after paying. */
static json_object *payment_problem_json(wfe_req_t *w, const acp_problem_t *prob,
                                         const acp_client_profile_t *prof, const char **detail)
{
    acp_problem_t shaped = *prob;

    shaped.detail = *detail = acp_pay_detail(w->p, prob->payment, prof);
    if (prof->retryable_type) {
        shaped.kind = ACP_ERR_ORDER_NOT_READY;
    }
    return acp_problem_json(&shaped);
}

static void set_payment_problem(wfe_req_t *w, const acp_problem_t *prob)
{
    const acp_client_profile_t *prof = acp_client_profile(w->req->user_agent);
    const char *detail = NULL;
    json_object *o = payment_problem_json(w, prob, prof, &detail);

    if (prof->plain_text) {
        /* clients that print a non-JSON error body verbatim (acme-tiny, dehydrated) */
        json_object_put(o);
        w->resp->status = 403;
        w->resp->content_type = "text/plain; charset=utf-8";
        w->resp->body = apr_pstrcat(w->p, detail, "\n", NULL);
        w->resp->body_len = strlen(w->resp->body);
        return;
    }
    acp_wfe_set_json(w, 403, o, "application/problem+json");
}

/* The payment request as a stored challenge error (clients with early_payment). */
const char *acp_wfe_pay_base(const acp_req_t *req)
{
    return req->pay_base_url ? req->pay_base_url : req->base_url;
}

const char *acp_wfe_payment_error_json(wfe_req_t *w, const acp_problem_t *prob,
                                      const acp_client_profile_t *prof)
{
    const char *detail = NULL, *text;
    json_object *o = payment_problem_json(w, prob, prof, &detail);

    text = apr_pstrdup(w->p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

void acp_wfe_set_problem(wfe_req_t *w, const acp_problem_t *prob)
{
    json_object *o;

    if (prob->kind != ACP_ERR_UNAVAILABLE && acp_sa_unavailable(w->db)) {
        /* the database failed, not the request (whatever the handler made of the failure,
         * e.g. a refused ledger row read as "already charged"): nothing was committed,
         * the client should come back */
        prob = acp_problem(w->p, ACP_ERR_UNAVAILABLE, "%s (the database is unavailable; "
                                                      "try again shortly)",
                           prob->detail ? prob->detail : "database error");
    }
    if (prob->kind == ACP_ERR_UNAVAILABLE) {
        apr_table_setn(w->resp->headers, "Retry-After",
                       apr_itoa(w->p, ACP_UNAVAILABLE_RETRY_AFTER));
    }
    if (prob->payment) {
        set_payment_problem(w, prob);
        return;
    }
    o = acp_problem_json(prob);

    if (prob->kind == ACP_ERR_BAD_SIGNATURE_ALG) {
        json_object *algs = json_object_new_array();
        char *list = apr_pstrdup(w->p, ACP_JWS_ALGORITHMS), *state = NULL, *a;
        for (a = apr_strtok(list, " ", &state); a; a = apr_strtok(NULL, " ", &state)) {
            json_object_array_add(algs, json_object_new_string(a));
        }
        json_object_object_add(o, "algorithms", algs);
    }
    acp_wfe_set_json(w, acp_problem_status(prob->kind), o, "application/problem+json");
    if (prob->retry_after > 0) {
        apr_table_setn(w->resp->headers, "Retry-After", apr_itoa(w->p, prob->retry_after));
    }
    if (prob->kind == ACP_ERR_METHOD) {
        apr_table_setn(w->resp->headers, "Allow",
                       w->route == R_DIRECTORY ? "GET, HEAD"
                       : w->route == R_NEW_NONCE ? "GET, HEAD" : "POST");
    }
}

void acp_wfe_resp_problem(apr_pool_t *p, acp_resp_t *resp, const acp_problem_t *prob)
{
    json_object *o = acp_problem_json(prob);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    resp->status = acp_problem_status(prob->kind);
    resp->content_type = "application/problem+json";
    resp->body = apr_pstrdup(p, s);
    resp->body_len = strlen(resp->body);
    json_object_put(o);
    apr_table_setn(resp->headers, "Cache-Control", "no-store");
}

void acp_wfe_jadd_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *parse_stored(apr_pool_t *p, const char *text)
{
    json_object *o = text ? acp_json_parse(p, text, strlen(text)) : NULL;
    return o ? json_object_get(o) : NULL; /* a reference the caller's tree owns */
}

/* ---- rendering ---------------------------------------------------------------------- */

json_object *acp_wfe_render_account(wfe_req_t *w, const acp_account_t *a)
{
    json_object *o = json_object_new_object();
    json_object *contacts = parse_stored(w->p, a->contacts);

    acp_wfe_jadd_str(o, "status", a->status);
    json_object_object_add(o, "contact", contacts ? contacts : json_object_new_array());
    json_object_object_add(o, "termsOfServiceAgreed", json_object_new_boolean(a->tos_agreed));
    acp_wfe_jadd_str(o, "orders", apr_pstrcat(w->p, acp_wfe_url(w, "acct", a->id), "/orders", NULL));
    acp_wfe_jadd_str(o, "createdAt", acp_rfc3339(w->p, a->created));
    return o;
}

acp_problem_t *acp_wfe_render_order(wfe_req_t *w, acp_order_t *order, json_object **out)
{
    const acp_billing_cfg_t *b;
    json_object *o = json_object_new_object(), *authzs = json_object_new_array(), *ids, *err;
    apr_array_header_t *list = NULL;
    int i;

    if (order->authzs) {
        list = order->authzs; /* read with the order */
    }
    else if (acp_sa_order_authzs(w->db, w->p, order->id, &list) != APR_SUCCESS) {
        json_object_put(o);
        json_object_put(authzs);
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error reading the order");
    }
    acp_wfe_jadd_str(o, "status", order->status);
    acp_wfe_jadd_str(o, "expires", acp_rfc3339(w->p, order->expires));
    ids = parse_stored(w->p, order->identifiers);
    json_object_object_add(o, "identifiers", ids ? ids : json_object_new_array());
    if (order->not_before) {
        acp_wfe_jadd_str(o, "notBefore", acp_rfc3339(w->p, order->not_before));
    }
    if (order->not_after) {
        acp_wfe_jadd_str(o, "notAfter", acp_rfc3339(w->p, order->not_after));
    }
    if (order->replaces) {
        acp_wfe_jadd_str(o, "replaces", order->replaces);
    }
    for (i = 0; i < list->nelts; i++) {
        acp_authz_t *a = APR_ARRAY_IDX(list, i, acp_authz_t *);
        json_object_array_add(authzs, json_object_new_string(acp_wfe_url(w, "authz", a->id)));
    }
    json_object_object_add(o, "authorizations", authzs);
    acp_wfe_jadd_str(o, "finalize", apr_pstrcat(w->p, acp_wfe_url(w, "order", order->id), "/finalize", NULL));
    if (order->cert_id && strcmp(order->status, "valid") == 0) {
        acp_wfe_jadd_str(o, "certificate", acp_wfe_url(w, "cert", order->cert_id));
    }
    err = parse_stored(w->p, order->error);
    if (err) {
        json_object_object_add(o, "error", err);
    }
    if (order->profile) {
        acp_wfe_jadd_str(o, "profile", order->profile);
    }
    {
        int days = 0;
        acp_problem_t *gone = NULL;
        b = acp_ra_order_billing(w->p, &w->cfg->ra, order, &days, &gone);
    }
    if (b && b->price.base > 0 && ids) {
        /* an extension member clients ignore: what finalizing this order costs */
        apr_array_header_t *names = apr_array_make(w->p, 4, sizeof(const char *));
        json_object *price = json_object_new_object();
        long long amount;
        size_t k;
        for (k = 0; k < json_object_array_length(ids); k++) {
            json_object *v = NULL;
            if (json_object_object_get_ex(json_object_array_get_idx(ids, k), "value", &v)) {
                APR_ARRAY_PUSH(names, const char *) = json_object_get_string(v);
            }
        }
        amount = order->has_price ? order->price : acp_price(&b->price, names);
        json_object_object_add(price, "amount", json_object_new_int64(amount));
        acp_wfe_jadd_str(price, "currency", b->currency);
        acp_wfe_jadd_str(price, "display", acp_money(w->p, amount, b->currency));
        json_object_object_add(o, "price", price);
    }
    *out = o;
    return NULL;
}

json_object *acp_wfe_render_chall(wfe_req_t *w, const acp_chall_t *c)
{
    json_object *o = json_object_new_object(), *err;

    acp_wfe_jadd_str(o, "type", c->type);
    acp_wfe_jadd_str(o, "url", acp_wfe_url(w, "chall", c->id));
    acp_wfe_jadd_str(o, "status", c->status);
    acp_wfe_jadd_str(o, "token", c->token);
    if (c->validated) {
        acp_wfe_jadd_str(o, "validated", acp_rfc3339(w->p, c->validated));
    }
    err = parse_stored(w->p, c->error);
    if (err) {
        json_object_object_add(o, "error", err);
    }
    return o;
}

acp_problem_t *acp_wfe_render_authz(wfe_req_t *w, const acp_authz_t *a, json_object **out)
{
    json_object *o = json_object_new_object(), *id = json_object_new_object(), *cs;
    apr_array_header_t *challs = NULL;
    long long now = acp_now();
    int i;

    if (a->challs) {
        challs = a->challs; /* read with the authorization */
    }
    else if (acp_sa_authz_challs(w->db, w->p, a->id, &challs) != APR_SUCCESS) {
        json_object_put(o);
        json_object_put(id);
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error reading challenges");
    }
    acp_wfe_jadd_str(id, "type", acp_ident_type(a->ident));
    acp_wfe_jadd_str(id, "value", a->ident);
    json_object_object_add(o, "identifier", id);
    acp_wfe_jadd_str(o, "status",
             a->expires < now && (!strcmp(a->status, "pending") || !strcmp(a->status, "valid"))
                 ? "expired"
                 : a->status);
    acp_wfe_jadd_str(o, "expires", acp_rfc3339(w->p, a->expires));
    cs = json_object_new_array();
    for (i = 0; i < challs->nelts; i++) {
        const acp_chall_t *c = APR_ARRAY_IDX(challs, i, acp_chall_t *);
        /* a valid authorization lists only the challenge that validated it */
        if (!strcmp(a->status, "valid") && strcmp(c->status, "valid") != 0) {
            continue;
        }
        json_object_array_add(cs, acp_wfe_render_chall(w, c));
    }
    json_object_object_add(o, "challenges", cs);
    if (a->wildcard) {
        json_object_object_add(o, "wildcard", json_object_new_boolean(1));
    }
    *out = o;
    return NULL;
}
