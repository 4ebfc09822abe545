/* Web front end: routing, the directory, newNonce and the account handlers, the request
 * pipeline and its transactions. The order, authorization, challenge and certificate
 * handlers are in acp_wfe_order.c; JWS, account and nonce checks in acp_wfe_auth.c. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_wfe_int.h"
#include "acp_profile.h"
#include "acp_pay.h"
#include "acp_util.h"

void acp_wfe_cfg_defaults(acp_wfe_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    acp_ra_cfg_defaults(&cfg->ra);
    cfg->max_body = 64 * 1024;
    cfg->sign_timeout_ms = 3000;
    cfg->retry_after = 30;
}

/* ---- resource handlers (inside the request's transaction) ---------------------------- */

acp_problem_t *acp_wfe_need_empty(wfe_req_t *w)
{
    if (w->payload) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "this resource takes POST-as-GET only");
    }
    return NULL;
}

static acp_problem_t *h_new_account(wfe_req_t *w)
{
    acp_account_t *acct = NULL;
    int created = 0;
    acp_problem_t *prob;

    if (!w->payload) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "newAccount needs a payload");
    }
    prob = acp_ra_new_account_tx(w->db, w->p, &w->cfg->ra, w->jws, w->payload,
                                 acp_wfe_url(w, "new-account", NULL), w->req->client_ip, &acct,
                                 &created);
    if (prob) {
        return prob;
    }
    if (created) {
        acp_ra_account_key_remember(acct->thumbprint, w->key);
    }
    apr_table_setn(w->resp->headers, "Location", acp_wfe_url(w, "acct", acct->id));
    acp_wfe_set_json(w, created ? 201 : 200, acp_wfe_render_account(w, acct), "application/json");
    return NULL;
}

static acp_problem_t *h_account(wfe_req_t *w)
{
    acp_problem_t *prob;

    if (strcmp(w->id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "the kid does not match this account");
    }
    if (w->payload) {
        prob = acp_ra_update_account_tx(w->db, w->p, &w->cfg->ra, w->acct, w->payload);
        if (prob) {
            return prob;
        }
    }
    apr_table_setn(w->resp->headers, "Location", acp_wfe_url(w, "acct", w->acct->id));
    acp_wfe_set_json(w, 200, acp_wfe_render_account(w, w->acct), "application/json");
    return NULL;
}

static acp_problem_t *h_account_orders(wfe_req_t *w)
{
    apr_array_header_t *rows = NULL;
    json_object *o, *list;
    int i;
    acp_problem_t *prob = acp_wfe_need_empty(w);

    if (prob) {
        return prob;
    }
    if (strcmp(w->id, w->acct->id) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "not your account");
    }
    if (acp_sa_rows(w->db, w->p, "acp_acct_orders", &rows,
                    ACP_SA_ARGS(w->acct->id, "1000", "0")) != APR_SUCCESS) {
        return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error listing orders");
    }
    o = json_object_new_object();
    list = json_object_new_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        json_object_array_add(list, json_object_new_string(acp_wfe_url(w, "order", r[0])));
    }
    json_object_object_add(o, "orders", list);
    acp_wfe_set_json(w, 200, o, "application/json");
    return NULL;
}

static acp_problem_t *h_key_change(wfe_req_t *w)
{
    const char *conflict = NULL;
    acp_problem_t *prob;

    if (!w->payload) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "keyChange needs a payload");
    }
    prob = acp_ra_key_change_tx(w->db, w->p, w->acct, w->jws, acp_wfe_url(w, "acct", w->acct->id),
                                &conflict);
    if (prob) {
        if (conflict) {
            w->error_location = acp_wfe_url(w, "acct", conflict);
        }
        return prob;
    }
    acp_wfe_set_json(w, 200, acp_wfe_render_account(w, w->acct), "application/json");
    return NULL;
}

/* ---- request pipeline --------------------------------------------------------------- */

static route_t route_of(apr_pool_t *p, const char *path, const char **id)
{
    static const struct {
        const char *prefix;
        route_t route;
    } fixed[] = {{"/directory", R_DIRECTORY}, {"/new-nonce", R_NEW_NONCE},
                 {"/new-account", R_NEW_ACCOUNT}, {"/new-order", R_NEW_ORDER},
                 {"/revoke-cert", R_REVOKE}, {"/key-change", R_KEY_CHANGE},
                 {"/pay/webhook", R_PAY_WEBHOOK}};
    static const struct {
        const char *prefix, *suffix;
        route_t route;
    } ided[] = {{"/acct/", "/orders", R_ACCOUNT_ORDERS}, {"/acct/", "", R_ACCOUNT},
                {"/order/", "/finalize", R_FINALIZE},    {"/order/", "", R_ORDER},
                {"/authz/", "", R_AUTHZ},                {"/chall/", "", R_CHALL},
                {"/cert/", "", R_CERT},                  {"/pay/i/", "/simulate", R_PAY_SIMULATE},
                {"/pay/i/", "/status", R_PAY_STATUS},
                {"/pay/i/", "", R_PAY_INVOICE},          {"/renewal-note/", "", R_RENEWAL_NOTE}};
    size_t i;

    *id = NULL;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(path, fixed[i].prefix) == 0) {
            return fixed[i].route;
        }
    }
    for (i = 0; i < sizeof(ided) / sizeof(ided[0]); i++) {
        size_t pl = strlen(ided[i].prefix), sl = strlen(ided[i].suffix), n;
        const char *rest, *q;
        if (strncmp(path, ided[i].prefix, pl) != 0) {
            continue;
        }
        rest = path + pl;
        n = strlen(rest);
        if (n <= sl || strcmp(rest + n - sl, ided[i].suffix) != 0) {
            continue;
        }
        n -= sl;
        for (q = rest; q < rest + n; q++) {
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                  (*q >= '0' && *q <= '9') || *q == '-' || *q == '_')) {
                break;
            }
        }
        if (q != rest + n || n == 0 || n > 64) {
            continue;
        }
        *id = apr_pstrmemdup(p, rest, n);
        return ided[i].route;
    }
    return R_NONE;
}

static void directory(wfe_req_t *w)
{
    json_object *o = json_object_new_object(), *meta = json_object_new_object();
    const acp_wfe_cfg_t *cfg = w->cfg;

    acp_wfe_jadd_str(o, "newNonce", acp_wfe_url(w, "new-nonce", NULL));
    acp_wfe_jadd_str(o, "newAccount", acp_wfe_url(w, "new-account", NULL));
    acp_wfe_jadd_str(o, "newOrder", acp_wfe_url(w, "new-order", NULL));
    acp_wfe_jadd_str(o, "revokeCert", acp_wfe_url(w, "revoke-cert", NULL));
    acp_wfe_jadd_str(o, "keyChange", acp_wfe_url(w, "key-change", NULL));
    acp_wfe_jadd_str(o, "renewalInfo", acp_wfe_url(w, "renewal-info", NULL));
    if (cfg->ra.tos) {
        acp_wfe_jadd_str(meta, "termsOfService", cfg->ra.tos);
    }
    if (cfg->website) {
        acp_wfe_jadd_str(meta, "website", cfg->website);
    }
    if (cfg->caa_identities && cfg->caa_identities->nelts) {
        json_object *caa = json_object_new_array();
        int i;
        for (i = 0; i < cfg->caa_identities->nelts; i++) {
            json_object_array_add(
                caa, json_object_new_string(APR_ARRAY_IDX(cfg->caa_identities, i, const char *)));
        }
        json_object_object_add(meta, "caaIdentities", caa);
    }
    json_object_object_add(meta, "externalAccountRequired",
                           json_object_new_boolean(cfg->ra.eab_required));
    if (cfg->ra.profiles && cfg->ra.profiles->nelts) {
        /* draft-ietf-acme-profiles: name -> description (here with lifetime and price) */
        json_object *profs = json_object_new_object();
        int i;
        for (i = 0; i < cfg->ra.profiles->nelts; i++) {
            const acp_profile_t *prof = APR_ARRAY_IDX(cfg->ra.profiles, i, const acp_profile_t *);
            json_object_object_add(
                profs, prof->name,
                json_object_new_string(acp_profile_label(w->p, prof, cfg->ra.billing.currency)));
        }
        json_object_object_add(meta, "profiles", profs);
    }
    json_object_object_add(o, "meta", meta);
    acp_wfe_set_json(w, 200, o, "application/json");
}

static acp_problem_t *dispatch(wfe_req_t *w)
{
    switch (w->route) {
    case R_NEW_ACCOUNT:
        return h_new_account(w);
    case R_ACCOUNT:
        return h_account(w);
    case R_ACCOUNT_ORDERS:
        return h_account_orders(w);
    case R_KEY_CHANGE:
        return h_key_change(w);
    case R_NEW_ORDER:
        return acp_wfe_h_new_order(w);
    case R_ORDER:
        return acp_wfe_h_order(w);
    case R_FINALIZE:
        return acp_wfe_h_finalize(w);
    case R_AUTHZ:
        return acp_wfe_h_authz(w);
    case R_CHALL:
        return acp_wfe_h_chall(w);
    case R_CERT:
        return acp_wfe_h_cert(w);
    case R_REVOKE:
        return acp_wfe_h_revoke(w);
    default:
        return acp_problem(w->p, ACP_ERR_NOT_FOUND, "no such resource");
    }
}

/* A slow signer runs on a worker (the "issue" job finalize queued); wait for it at
 * most sign_timeout_ms, then answer with whatever state the order is in (processing
 * comes with Retry-After and completes in the background). */
static void wait_for_issue(wfe_req_t *w)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(w->cfg->sign_timeout_ms);
    apr_interval_time_t step = apr_time_from_msec(20);

    if (w->wfe->wake) {
        w->wfe->wake(w->wfe->wake_baton);
    }
    while (apr_time_now() < end) {
        acp_order_t *order = NULL;
        apr_pool_t *sp;
        int done;
        apr_sleep(step);
        if (step < apr_time_from_msec(200)) {
            step *= 2;
        }
        apr_pool_create(&sp, w->p);
        done = acp_sa_order_get(w->db, sp, w->issue_order, &order) != APR_SUCCESS ||
               strcmp(order->status, "processing") != 0;
        apr_pool_destroy(sp);
        if (done) {
            return;
        }
    }
}

/* POST-as-GET of a resource: with the nonce spent in shared memory nothing is written,
 * so no write transaction (no writer lock, no durable commit) is needed. With the nonce
 * spent in PostgreSQL its one INSERT commits on its own (an unlogged table: no WAL
 * flush) and the reads need no transaction either. */
static int read_only_route(const wfe_req_t *w)
{
    switch (w->route) {
    case R_ACCOUNT:
    case R_ACCOUNT_ORDERS:
    case R_ORDER:
    case R_AUTHZ:
    case R_CHALL:
    case R_CERT:
        return w->nonce_spent && !w->payload;
    default:
        return 0;
    }
}

/* Runs the handler inside one write transaction. Returns 0 when the answer stands,
 * -1 when a database failure has been answered already. */
static int dispatch_tx(wfe_req_t *w, acp_problem_t **probp)
{
    acp_problem_t *prob;
    int store = w->nonce_spent;

    if (acp_sa_begin(w->db) != APR_SUCCESS) {
        acp_wfe_set_problem(w, acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database busy"));
        return -1;
    }
    if (!store) {
        if ((prob = acp_wfe_spend_in_db(w, 1)) != NULL) {
            acp_wfe_set_problem(w, prob);
            return -1;
        }
        acp_sa_savepoint(w->db, "acp_h");
    }
    prob = dispatch(w);
    *probp = prob;
    if (prob && !prob->commit) {
        apr_table_clear(w->resp->headers);
        if (w->error_location) {
            apr_table_setn(w->resp->headers, "Location", w->error_location);
        }
        if (store) {
            /* the nonce is spent already (shared memory, its own INSERT): nothing stays */
            acp_sa_rollback(w->db);
            return 0;
        }
        /* keep the nonce spent, undo everything the handler did */
        acp_sa_rollback_to(w->db, "acp_h");
    }
    if (acp_sa_commit(w->db) != APR_SUCCESS) {
        acp_sa_rollback(w->db);
        apr_table_clear(w->resp->headers);
        acp_wfe_set_problem(w, acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database commit failed"));
        return -1;
    }
    return 0;
}

static void handle_post(wfe_req_t *w)
{
    acp_problem_t *prob = acp_wfe_authenticate(w);

    if (prob) {
        acp_wfe_set_problem(w, prob);
        return;
    }
    w->read_only = read_only_route(w);
    if (w->route == R_FINALIZE && acp_wfe_finalize_precheck(w)) {
        acp_wfe_set_problem(w, w->pre_prob ? w->pre_prob : w->fin.prob);
        return;
    }
    if (w->read_only) {
        prob = dispatch(w);
        if (prob) {
            apr_table_clear(w->resp->headers);
        }
    }
    else if (dispatch_tx(w, &prob) != 0) {
        return;
    }
    if (prob && prob->payment) {
        w->checkout = prob->payment;
    }
    if (w->checkout && w->checkout->checkout_pending && (!prob || prob->commit)) {
        /* committed: the invoice command runs now, outside any transaction, once per
         * invoice; its checkout URL goes into this answer's QR */
        int ran = 0;
        acp_billing_checkout(w->db, w->p, &w->cfg->ra.billing, w->checkout, &ran);
        if (w->checkout->checkout_error) {
            w->resp->log_note = w->checkout->checkout_error;
            w->resp->log_warn = 1;
        }
    }
    if (prob) {
        acp_wfe_set_problem(w, prob);
        return;
    }
    if (w->handoff_job && w->wfe->handoff) {
        /* claimed by this process when queued: its own workers run it at once */
        w->wfe->handoff(w->wfe->wake_baton, w->handoff_job);
    }
    else if (w->handoff_job) {
        w->wake = 1;
    }
    if (w->wake && w->wfe->wake) {
        w->wfe->wake(w->wfe->wake_baton);
    }
    if (w->issue_order) {
        acp_order_t *order = NULL;
        wait_for_issue(w);
        if (acp_sa_order_get(w->db, w->p, w->issue_order, &order) != APR_SUCCESS) {
            acp_wfe_set_problem(w, acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error"));
            return;
        }
        prob = acp_wfe_answer_order(w, order, 200);
        if (prob) {
            acp_wfe_set_problem(w, prob);
        }
    }
}

void acp_wfe_handle(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req, acp_resp_t *resp)
{
    wfe_req_t w;
    int is_get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

    memset(&w, 0, sizeof(w));
    w.p = p;
    w.wfe = wfe;
    w.cfg = wfe->cfg;
    w.req = req;
    w.resp = resp;
    if (!resp->headers) {
        resp->headers = apr_table_make(p, 8);
    }
    w.route = route_of(p, req->path, &w.id);
    if (!strncmp(req->path, "/crl/", 5)) {
        /* CRLs are fetched over plain HTTP as a rule (RFC 5280 §4.2.1.13: relying parties
         * need no TLS to learn about revocation, and a CRL is signed): the one route that
         * is served on both schemes */
        acp_wfe_crl(p, wfe, req, resp, req->path + 5);
        return;
    }
    if (req->insecure) {
        /* RFC 8555 section 6.1: "Each ACME function is accomplished by the client sending
         * a sequence of HTTPS requests to the server"; over plain HTTP the directory
         * would hand out http:// URLs and nonces readable on the wire. No nonce here. */
        acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_UNAUTHORIZED,
                                            "ACME is served over HTTPS only (RFC 8555 "
                                            "section 6.1): use https:// for this server"));
        return;
    }

    if (wfe->unavailable) {
        /* not ready (no database yet at start-up): no nonce can be made either */
        acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_UNAVAILABLE,
                                            "the CA is starting: its database is not "
                                            "reachable yet"));
        return;
    }
    if (w.route == R_PAY_WEBHOOK) {
        acp_wfe_pay_webhook(p, wfe, req, resp);
        return;
    }
    if (w.route == R_PAY_STATUS) {
        acp_wfe_invoice_status(p, wfe, req, resp, w.id);
        return;
    }
    if (w.route == R_NONE && !strncmp(req->path, "/pay/", 5) &&
        acp_wfe_pay_notify(p, wfe, req, resp, req->path + 5)) {
        return;
    }
    if (w.route == R_PAY_INVOICE || w.route == R_PAY_SIMULATE) {
        acp_wfe_pay_invoice(p, wfe, req, resp, w.id, w.route == R_PAY_SIMULATE);
        return;
    }
    if (w.route == R_NONE && !strncmp(req->path, "/renewal-info/", 14)) {
        acp_wfe_renewal_info(p, wfe, req, resp, req->path + 14);
        return;
    }
    if (w.route == R_RENEWAL_NOTE) {
        acp_wfe_renewal_note(p, wfe, req, resp, w.id);
        return;
    }
    if (w.route == R_NONE) {
        acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_NOT_FOUND, "no such resource"));
    }
    else if (w.route == R_DIRECTORY) {
        if (is_get) {
            directory(&w);
        }
        else {
            acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_METHOD, "use GET for the directory"));
        }
    }
    else if (w.route == R_NEW_NONCE) {
        if (is_get) {
            resp->status = !strcmp(req->method, "HEAD") ? 200 : 204;
            resp->body = "";
            resp->body_len = 0;
            apr_table_setn(resp->headers, "Cache-Control", "no-store");
        }
        else {
            acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_METHOD, "use HEAD or GET for newNonce"));
        }
    }
    else if (strcmp(req->method, "POST") != 0) {
        acp_wfe_set_problem(&w, acp_problem(p, ACP_ERR_METHOD, "use POST (or POST-as-GET)"));
    }
    else {
        handle_post(&w);
    }
    if (w.cfg->nonce_epoch && __atomic_load_n(w.cfg->nonce_epoch, __ATOMIC_ACQUIRE) == 0) {
        /* started without the database: learn the live epoch before handing out a nonce
         * (an epoch-0 nonce is never good, and a client's first POST would get badNonce) */
        acp_db_t *edb = w.db ? w.db : w.wfe->get_db(w.wfe->db_baton);
        apr_uint32_t live = 0;
        if (edb && !acp_sa_unavailable(edb) && acp_sa_nonce_epoch(edb, p, &live) == APR_SUCCESS) {
            __atomic_store_n(w.cfg->nonce_epoch, live, __ATOMIC_RELEASE);
        }
    }
    apr_table_setn(resp->headers, "Replay-Nonce",
                   w.cfg->nonce_store
                       ? acp_nonce_make(p, w.cfg->nonce_key, w.cfg->nonce_store, acp_now())
                       : acp_nonce_make_epoch(p, w.cfg->nonce_key,
                                              w.cfg->nonce_epoch
                                                  ? __atomic_load_n(w.cfg->nonce_epoch,
                                                                    __ATOMIC_ACQUIRE)
                                                  : 0,
                                              acp_now()));
    apr_table_addn(resp->headers, "Link",
                   apr_pstrcat(p, "<", req->base_url, "/directory>;rel=\"index\"", NULL));
    if (!apr_table_get(resp->headers, "Cache-Control")) {
        apr_table_setn(resp->headers, "Cache-Control", "no-store");
    }
}
