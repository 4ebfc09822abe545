/* Web front end: a POST's checks -- its JWS, its account, its nonce -- and the read its
 * route starts with noted to travel with them (PostgreSQL). */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_wfe_int.h"
#include "acp_problem.h"
#include "acp_util.h"

static int media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct || strncasecmp(ct, want, n) != 0) {
        return 0;
    }
    ct += n;
    while (*ct == ' ') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

static acp_problem_t *spend_outcome(wfe_req_t *w, int r, int in_tx);

/* PostgreSQL: the read the route's handler starts with, when the URL (or the JWS key, or
 * the kid's account: acct_id, NULL for a jwk) names it, travels with the account's read
 * or the nonce's spend: one round trip less (acp_sa_prefetch). A request refused before
 * it gets there leaves it unused. */
static void prefetch_route_read(wfe_req_t *w, const char *acct_id)
{
    int empty = w->jws->payload_len == 0; /* POST-as-GET: no update comes first */

    if (!w->db->pgsql) {
        return; /* SQLite: no round trips to save */
    }
    switch (w->route) {
    case R_AUTHZ:
        if (empty) {
            acp_sa_prefetch_read(w->db, w->p, ACP_READ_AUTHZ_CHALLS, w->id);
        }
        break;
    case R_ORDER:
    case R_FINALIZE:
        acp_sa_prefetch_read(w->db, w->p, ACP_READ_ORDER_AUTHZS, w->id);
        break;
    case R_CERT:
        acp_sa_prefetch_read(w->db, w->p, ACP_READ_CERT, w->id);
        break;
    case R_CHALL:
        if (empty) {
            acp_sa_prefetch_read(w->db, w->p, ACP_READ_CHALL_AUTHZ, w->id);
        }
        else {
            long long now = acp_now(), since = 0;
            if (acp_ra_limit_failed_since_any(&w->cfg->ra, now, &since)) {
                w->chall_now = now; /* the answer's count, read for this instant */
                acp_sa_prefetch_chall_failed(w->db, w->p, w->id, since);
            }
        }
        break;
    case R_NEW_ACCOUNT:
        acp_sa_prefetch_read(w->db, w->p, ACP_READ_ACCT_BY_THUMB,
                             acp_jwk_thumbprint(w->p, w->jws->jwk));
        break;
    case R_NEW_ORDER: {
        /* its transaction starts with the rate limits' counts of the account and each
         * name's authorization to reuse */
        const char *const *args = NULL;
        int nargs = 0;
        if (acct_id && w->jws->payload_len > 0) {
            w->payload_early = acp_json_parse(w->p, w->jws->payload, w->jws->payload_len);
            nargs = acp_ra_new_order_read_any(w->p, &w->cfg->ra, acct_id, w->payload_early,
                                              acp_now(), &args);
        }
        if (nargs) {
            acp_sa_prefetch(w->db, w->p, "acp_new_order_read", nargs, args);
        }
        break;
    }
    default:
        break;
    }
}

/* authenticate's checks; *spent_early: the nonce was spent now, with the account read */
static acp_problem_t *authenticate_checks(wfe_req_t *w, int *spent_early)
{
    const acp_req_t *req = w->req;
    acp_problem_t *prob;
    const char *acct_prefix;
    int checked = 0, spent = 0; /* the nonce was spent with the account read (spent: now) */

    if (req->body_too_large) {
        return acp_problem(w->p, ACP_ERR_TOO_LARGE, "request body larger than %lu bytes",
                           (unsigned long)w->cfg->max_body);
    }
    if (!media_type_is(req->content_type, "application/jose+json")) {
        return acp_problem(w->p, ACP_ERR_MEDIA_TYPE,
                           "Content-Type must be application/jose+json");
    }
    prob = acp_jws_parse(w->p, ACP_JWS_OUTER, req->body, req->body_len, &w->jws);
    if (prob) {
        return prob;
    }
    if (strcmp(w->jws->url, apr_pstrcat(w->p, req->base_url, req->path, NULL)) != 0) {
        return acp_problem(w->p, ACP_ERR_UNAUTHORIZED,
                           "JWS url '%s' is not the URL this request was sent to", w->jws->url);
    }
    if (acp_nonce_check(w->p, w->cfg->nonce_key, w->jws->nonce, acp_now(), &w->nonce) != 0) {
        return acp_problem(w->p, ACP_ERR_BAD_NONCE, "JWS has an invalid or expired nonce");
    }
    if (w->route == R_NEW_ACCOUNT && !w->jws->jwk) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "newAccount must be signed with a jwk");
    }
    if (w->route != R_NEW_ACCOUNT && w->route != R_REVOKE && !w->jws->kid) {
        return acp_problem(w->p, ACP_ERR_MALFORMED, "this request must be signed with a kid");
    }
    w->db = w->wfe->get_db(w->wfe->db_baton);
    if (!w->db) {
        return acp_problem(w->p, ACP_ERR_UNAVAILABLE, "database unavailable");
    }
    if (w->jws->kid) {
        apr_status_t rv;
        acct_prefix = apr_pstrcat(w->p, req->base_url, "/acct/", NULL);
        if (strncmp(w->jws->kid, acct_prefix, strlen(acct_prefix)) != 0) {
            return acp_problem(w->p, ACP_ERR_ACCOUNT_DOES_NOT_EXIST, "unknown kid '%s'",
                               w->jws->kid);
        }
        prefetch_route_read(w, w->jws->kid + strlen(acct_prefix));
        if (!w->cfg->nonce_store && w->db->pgsql) {
            /* the nonce spent and the account read in one round trip (authenticate
             * gives the nonce back when a later check fails) */
            rv = acp_sa_account_spend(w->db, w->p, w->jws->kid + strlen(acct_prefix),
                                      w->jws->nonce, w->nonce.expires, w->nonce.epoch,
                                      &w->acct, &spent);
            checked = rv == APR_SUCCESS || rv == APR_NOTFOUND;
            *spent_early = checked && spent;
        }
        else {
            rv = acp_sa_account_get(w->db, w->p, w->jws->kid + strlen(acct_prefix), &w->acct);
        }
        if (rv == APR_NOTFOUND) {
            return acp_problem(w->p, ACP_ERR_ACCOUNT_DOES_NOT_EXIST, "unknown kid '%s'",
                               w->jws->kid);
        }
        if (rv != APR_SUCCESS) {
            return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "database error reading account");
        }
        if (strcmp(w->acct->status, "valid") != 0) {
            return acp_problem(w->p, ACP_ERR_UNAUTHORIZED, "account is %s", w->acct->status);
        }
        w->key = acp_ra_account_key(w->p, w->acct);
        if (!w->key) {
            return acp_problem(w->p, ACP_ERR_SERVER_INTERNAL, "stored account key unreadable");
        }
    }
    else {
        prob = acp_jwk_to_pkey(w->p, w->jws->jwk, &w->key);
        if (prob) {
            return prob;
        }
    }
    prob = acp_jws_verify(w->p, w->jws, w->key);
    if (prob) {
        return prob;
    }
    if (w->jws->payload_len > 0) {
        /* (parsed already when newOrder's read was noted: the same bytes, now verified) */
        w->payload = w->payload_early ? w->payload_early
                                      : acp_json_parse(w->p, w->jws->payload, w->jws->payload_len);
        if (!w->payload) {
            return acp_problem(w->p, ACP_ERR_MALFORMED, "JWS payload is not valid JSON");
        }
    }
    /* spent only now that the signature is good: a forged request burns nothing. With
     * PostgreSQL its own INSERT into the unlogged table (no WAL, no flush), before the
     * handler's transaction: no savepoint to keep it spent when the handler rolls back;
     * with a kid, together with the account read above. SQLite without a shared store:
     * inside the handler's transaction (dispatch_tx). */
    if (checked) {
        if ((prob = spend_outcome(w, spent, 0)) != NULL) {
            return prob;
        }
        w->nonce_spent = 1;
    }
    else if (w->cfg->nonce_store) {
        if (acp_nonce_redeem(w->cfg->nonce_store, &w->nonce) != 0) {
            return acp_problem(w->p, ACP_ERR_BAD_NONCE, "JWS nonce was already used");
        }
        w->nonce_spent = 1;
    }
    else if (w->db->pgsql) {
        prefetch_route_read(w, NULL);
        if ((prob = acp_wfe_spend_in_db(w, 0)) != NULL) {
            return prob;
        }
        w->nonce_spent = 1;
    }
    return NULL;
}

/* A nonce was not spent in the database: used already, or its epoch is gone (the
 * database crashed and emptied the unlogged table). In the second case this node's
 * own epoch may be gone too: move to the live one, so the nonce this answer carries
 * is good. Outside any transaction. */
static void nonce_epoch_check(wfe_req_t *w)
{
    apr_uint32_t mine, live = 0;

    if (!w->cfg->nonce_epoch) {
        return;
    }
    mine = __atomic_load_n(w->cfg->nonce_epoch, __ATOMIC_ACQUIRE);
    if (acp_sa_nonce_epoch_live(w->db, w->p, mine) == 0 &&
        acp_sa_nonce_epoch(w->db, w->p, &live) == APR_SUCCESS) {
        __atomic_store_n(w->cfg->nonce_epoch, live, __ATOMIC_RELEASE);
    }
}

/* The answer to a spend of the request's nonce in the database (r as
 * acp_sa_nonce_spend's: 1 spent now, 0 used already or its epoch gone, -1 error); NULL
 * when spent now. in_tx: the caller's transaction is rolled back otherwise. */
static acp_problem_t *spend_outcome(wfe_req_t *w, int r, int in_tx)
{
    if (r == 1) {
        return NULL;
    }
    if (in_tx) {
        acp_sa_rollback(w->db);
    }
    if (r < 0) {
        w->resp->log_note = apr_pstrcat(w->p, "spending a nonce failed: ",
                                        acp_sa_error(w->db, w->p, 0), NULL);
        w->resp->log_warn = 1;
        return acp_problem(w->p, acp_sa_unavailable(w->db) ? ACP_ERR_UNAVAILABLE
                                                          : ACP_ERR_SERVER_INTERNAL,
                           "database error");
    }
    nonce_epoch_check(w);
    return acp_problem(w->p, ACP_ERR_BAD_NONCE, "JWS nonce was already used");
}

/* Spends the request's nonce in the database (its own statement, or inside the
 * transaction the caller opened). NULL when spent now. */
acp_problem_t *acp_wfe_spend_in_db(wfe_req_t *w, int in_tx)
{
    return spend_outcome(w,
                         acp_sa_nonce_spend(w->db, w->p, w->jws->nonce, w->nonce.expires,
                                            w->nonce.epoch),
                         in_tx);
}

/* Checks a POST's JWS, its account and its nonce. With PostgreSQL the nonce of a kid
 * request is spent together with the account read; when a later check then fails (the
 * signature, the account's status, the payload) it is given back, as if never spent: a
 * forged request burns nothing. (Giving it back lets it pass once more; it has not
 * passed yet, and whoever spends it must still sign.) */
acp_problem_t *acp_wfe_authenticate(wfe_req_t *w)
{
    int spent_early = 0;
    acp_problem_t *prob = authenticate_checks(w, &spent_early);

    if (prob && spent_early &&
        acp_sa_nonce_unspend(w->db, w->p, w->jws->nonce) != APR_SUCCESS) {
        w->resp->log_note = "giving back the nonce of a refused request failed";
        w->resp->log_warn = 1;
    }
    return prob;
}
