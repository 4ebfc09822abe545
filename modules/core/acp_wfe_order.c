/* Web front end, the order handlers: newOrder, an order, finalize (with its check before
 * the transaction), an authorization, a challenge, a certificate and revokeCert. Routing
 * and the request pipeline that calls them are in acp_wfe.c. */
#include <string.h>
#include <apr_strings.h>
#include "acp_wfe_int.h"
#include "acp_problem.h"
#include "acp_pay.h"
#include "acp_util.h"

/* The order this request's account owns (with its authorizations when asked: a
 * POST-as-GET checks and renders them, and one statement reads both). */
static acp_problem_t *own_order(wfe_req_t *w, const char *id, int with_authzs,
                                acp_order_t **order)
{
    apr_status_t rv = with_authzs ? acp_sa_order_with_authzs(w->db, w->p, id, order)
                                  : acp_sa_order_get(w->db, w->p, id, order);
    if (rv == APR_NOTFOUND) {
        return acp_problem(w->p, ACP_ERR_NOT_FOUND, "no such order");
    }
    if (rv != APR_SUCCESS) {
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error reading the order");
    }
    if (strcmp((*order)->account_id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "this order belongs to another account");
    }
    return NULL;
}

acp_problem_t *acp_wfe_answer_order(wfe_req_t *w, acp_order_t *order, int status)
{
    json_object *o = NULL;
    acp_problem_t *prob = acp_wfe_render_order(w, order, &o);
    if (prob) {
        return prob;
    }
    apr_table_setn(w->resp->headers, "Location", acp_wfe_url(w, "order", order->id));
    if (!strcmp(order->status, "processing")) {
        apr_table_setn(w->resp->headers, "Retry-After", apr_itoa(w->p, w->cfg->retry_after));
    }
    acp_wfe_set_json(w, status, o, "application/json");
    return NULL;
}

acp_problem_t *acp_wfe_h_new_order(wfe_req_t *w)
{
    acp_order_t *order = NULL;
    acp_problem_t *prob;

    if (!w->payload) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "newOrder needs a payload");
    }
    /* certbot 2.1 shows no newOrder problem: its OV refusal comes with the challenge */
    prob = acp_ra_new_order_ex_tx(w->db, w->p, &w->cfg->ra, w->acct, w->payload,
                                  acp_client_profile(w->req->user_agent)->early_payment, &order);
    return prob ? prob : acp_wfe_answer_order(w, order, 201);
}

acp_problem_t *acp_wfe_h_order(wfe_req_t *w)
{
    acp_order_t *order = NULL;
    acp_problem_t *prob = acp_wfe_need_empty(w);

    if (prob || (prob = own_order(w, w->id, 1, &order))) {
        return prob;
    }
    if (!w->read_only) {
        prob = acp_ra_order_refresh(w->db, w->p, order);
    }
    else if (acp_ra_order_stale(w->db, w->p, order)) {
        /* the status moves (ready, expired, an authorization failed): write it */
        if (acp_sa_begin(w->db) != APR_SUCCESS) {
            return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database busy");
        }
        if ((prob = own_order(w, w->id, 1, &order)) ||
            (prob = acp_ra_order_refresh(w->db, w->p, order))) {
            acp_sa_rollback(w->db);
            return prob;
        }
        if (acp_sa_commit(w->db) != APR_SUCCESS) {
            return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database commit failed");
        }
    }
    return prob ? prob : acp_wfe_answer_order(w, order, 200);
}

/* Finalize's work that needs no lock, before the write transaction: the CSR (up to
 * the body limit of names and bytes) is decoded, parsed and checked against the order
 * here, so the writer lock is only ever held for the cheap part. Returns non-zero when
 * the answer is known without the transaction: the nonce is spent (w->nonce_spent)
 * already, and the order as read is ready (a not-ready order answers orderNotReady
 * first, from the transaction). */
int acp_wfe_finalize_precheck(wfe_req_t *w)
{
    acp_order_t *order = NULL;

    if (!w->payload) {
        w->pre_prob = acp_problem(w->p, ACP_ERR_MALFORMED, "finalize needs a payload with a csr");
        return w->nonce_spent;
    }
    /* with its authorizations (the CAA recheck reads them), and on PostgreSQL for the
     * transaction too. Read committed, the isolation the module's sessions run at, gives
     * a read inside the transaction no more than one just before it (every statement
     * sees what was committed when it started; nothing here locks the row), and each
     * write of finalize checks the status it changes from. SQLite's transaction holds
     * the writer lock, under which the order is read again. */
    w->pre_prob = own_order(w, w->id, 1, &order);
    if (w->pre_prob) {
        return w->nonce_spent;
    }
    if (w->db->pgsql) {
        w->pre_order = order;
    }
    acp_ra_finalize_csr(w->p, w->acct, order, w->payload, &w->fin);
    acp_ra_finalize_caa(w->db, w->p, &w->cfg->ra, w->acct, order, &w->fin);
    return w->nonce_spent && w->fin.prob && !strcmp(order->status, "ready");
}

acp_problem_t *acp_wfe_h_finalize(wfe_req_t *w)
{
    acp_order_t *order = NULL;
    acp_problem_t *prob;

    if (w->pre_prob) {
        return w->pre_prob;
    }
    order = w->pre_order;
    if ((!order && (prob = own_order(w, w->id, 1, &order))) ||
        (prob = acp_ra_finalize_tx(w->db, w->p, &w->cfg->ra, w->acct, order, &w->fin,
                                   acp_wfe_pay_base(w->req)))) {
        return prob;
    }
    if (w->cfg->ra.signer->slow) {
        w->issue_order = order->id; /* a worker signs after commit; answered then */
        return NULL;
    }
    /* signed in this transaction; finalize left the order as it stored it */
    return acp_wfe_answer_order(w, order, 200);
}

/* The authorization this request's account owns (with its challenges when asked: a
 * POST-as-GET renders them, and one statement reads both). */
static acp_problem_t *own_authz(wfe_req_t *w, const char *id, int with_challs,
                                acp_authz_t **authz)
{
    apr_status_t rv = with_challs ? acp_sa_authz_with_challs(w->db, w->p, id, authz)
                                  : acp_sa_authz_get(w->db, w->p, id, authz);
    if (rv == APR_NOTFOUND) {
        return acp_problem(w->p, ACP_ERR_NOT_FOUND, "no such authorization");
    }
    if (rv != APR_SUCCESS) {
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (strcmp((*authz)->account_id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "this authorization is another account's");
    }
    return NULL;
}

acp_problem_t *acp_wfe_h_authz(wfe_req_t *w)
{
    acp_authz_t *authz = NULL;
    json_object *o = NULL;
    /* an update (deactivation) changes what is rendered: read the challenges after it */
    acp_problem_t *prob = own_authz(w, w->id, !w->payload, &authz);

    if (!prob && w->payload) {
        prob = acp_ra_authz_update_tx(w->db, w->p, authz, w->payload);
    }
    if (!prob) {
        prob = acp_wfe_render_authz(w, authz, &o);
    }
    if (prob) {
        return prob;
    }
    acp_wfe_set_json(w, 200, o, "application/json");
    return NULL;
}

acp_problem_t *acp_wfe_h_chall(wfe_req_t *w)
{
    acp_chall_t *chall = NULL;
    acp_authz_t *authz = NULL;
    acp_problem_t *prob;
    long long now = w->chall_now ? w->chall_now : acp_now(), failed = 0, oldest = 0;
    /* an answer reads the failed-validations limit's count with the challenge */
    apr_status_t rv =
        w->payload ? acp_sa_chall_authz_failed(w->db, w->p, w->id,
                                               acp_ra_limit_failed_since(&w->cfg->ra, w->acct, now),
                                               &chall, &authz, &failed, &oldest)
                   : acp_sa_chall_authz(w->db, w->p, w->id, &chall, &authz, NULL);

    if (rv == APR_NOTFOUND) {
        return acp_problem(w->p, ACP_ERR_NOT_FOUND, "no such challenge");
    }
    if (rv != APR_SUCCESS) {
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (strcmp(authz->account_id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "this authorization is another account's");
    }
    if (w->payload) {
        if (!json_object_is_type(w->payload, json_type_object)) {
            return acp_problem(w->p, ACP_ERR_MALFORMED, "challenge response must be an object");
        }
        if (!strcmp(chall->status, "pending") && !strcmp(authz->status, "pending") &&
            (prob = acp_ra_limit_challenge(w->p, &w->cfg->ra, w->acct, authz, failed, oldest,
                                           now))) {
            return prob;
        }
        if (!strcmp(chall->status, "pending") && !strcmp(authz->status, "pending") &&
            acp_client_profile(w->req->user_agent)->early_payment &&
            (prob = acp_ra_ov_check_tx(w->db, w->p, &w->cfg->ra, w->acct, authz))) {
            /* an OV order without a current vetting, for a client that prints only a
             * challenge's error: that is where the refusal goes (nothing is charged) */
            json_object *pj = acp_problem_json(prob);
            const char *text = apr_pstrdup(
                w->p, json_object_to_json_string_ext(pj, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(pj);
            if (prob->kind == ACP_ERR_SERVER_INTERNAL ||
                (prob = acp_ra_chall_fail_tx(w->db, w->p, authz, chall, text))) {
                return prob;
            }
        }
        if (!strcmp(chall->status, "pending") && !strcmp(authz->status, "pending") &&
            w->cfg->ra.billing.price.base > 0) {
            const acp_client_profile_t *prof = acp_client_profile(w->req->user_agent);
            if (prof->early_payment) {
                prob = acp_ra_payment_check_tx(w->db, w->p, &w->cfg->ra, w->acct, authz,
                                               acp_wfe_pay_base(w->req));
                if (prob && !prob->payment) {
                    return prob;
                }
                if (prob) {
                    /* the invoice command runs once this transaction has committed */
                    w->checkout = prob->payment;
                }
                if (prob && (prob = acp_ra_chall_fail_tx(w->db, w->p, authz, chall,
                                                         acp_wfe_payment_error_json(w, prob, prof)))) {
                    return prob;
                }
            }
        }
        prob = acp_ra_chall_respond_tx(w->db, w->p, authz, chall, w->acct->thumbprint,
                                       w->wfe->handoff != NULL, &w->handoff_job);
        if (prob) {
            return prob;
        }
    }
    apr_table_addn(w->resp->headers, "Link",
                   apr_pstrcat(w->p, "<", acp_wfe_url(w, "authz", authz->id), ">;rel=\"up\"", NULL));
    acp_wfe_set_json(w, 200, acp_wfe_render_chall(w, chall), "application/json");
    return NULL;
}

acp_problem_t *acp_wfe_h_cert(wfe_req_t *w)
{
    acp_cert_t *cert = NULL;
    acp_problem_t *prob = acp_wfe_need_empty(w);
    apr_status_t rv;

    if (prob) {
        return prob;
    }
    rv = acp_sa_cert_get(w->db, w->p, w->id, &cert);
    if (rv == APR_NOTFOUND) {
        return acp_problem(w->p, ACP_ERR_NOT_FOUND, "no such certificate");
    }
    if (rv != APR_SUCCESS) {
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (strcmp(cert->account_id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "this certificate is another account's");
    }
    w->resp->status = 200;
    w->resp->content_type = "application/pem-certificate-chain";
    w->resp->body = cert->pem;
    w->resp->body_len = strlen(cert->pem);
    return NULL;
}

acp_problem_t *acp_wfe_h_revoke(wfe_req_t *w)
{
    acp_problem_t *prob;

    if (!w->payload) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "revokeCert needs a payload");
    }
    prob = acp_ra_revoke_tx(w->db, w->p, w->acct, w->key, w->payload);
    if (prob) {
        return prob;
    }
    w->wake = 1; /* the workers publish the shard's CRL */
    w->resp->status = 200;
    w->resp->content_type = NULL;
    w->resp->body = "";
    w->resp->body_len = 0;
    return NULL;
}
