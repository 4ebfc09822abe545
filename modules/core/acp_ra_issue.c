/* Registration authority, second half: challenge validation, finalize and issuance,
 * revocation, and the background jobs that drive them. */
#include <string.h>
#include <apr_strings.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include "acp_ra.h"
#include "acp_ari.h"
#include "acp_ident.h"
#include "acp_problem.h"
#include "acp_util.h"
#include "acp_ra_int.h"
#include "acp_admin.h"
#include "acp_org.h"
#include "acp_profile.h"

/* ---- validation ------------------------------------------------------------------- */

static apr_status_t run_validation(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                   const acp_job_t *job)
{
    const acp_chall_t *chall = job->chall;
    const acp_authz_t *authz = job->authz;
    acp_problem_t *prob;
    const char *errtext = NULL, *key_authz, *thumbprint = job->thumbprint;
    long long now;

    if (!chall || !authz || !thumbprint) {
        /* not handed over by whoever queued or claimed it: read */
        acp_chall_t *c = NULL;
        acp_authz_t *a = NULL;
        chall = NULL;
        if (acp_sa_chall_authz(db, p, job->ref, &c, &a, &thumbprint) == APR_SUCCESS) {
            chall = c;
            authz = a;
        }
    }
    if (!chall || strcmp(chall->status, "processing") != 0 || !thumbprint) {
        /* nothing left to do for this job */
        acp_sa_exec(db, p, "acp_job_delete", NULL, ACP_SA_ARGS(job->id));
        return APR_SUCCESS;
    }
    key_authz = apr_pstrcat(p, chall->token, ".", thumbprint, NULL);
    prob = acp_va_validate(p, &cfg->va, chall->type, authz->ident, chall->token, key_authz);
    if (!prob) {
        /* RFC 8659: CAA for every name, when its control is established */
        prob = acp_va_caa_check(p, &cfg->va, authz->ident, authz->wildcard, chall->type,
                                authz->account_id);
    }
    now = acp_now();
    if (prob) {
        json_object *o;
        /* the detail may quote what the target sent (a redirect URL): stored and later
         * shown to staff, it keeps no control character or escape sequence */
        prob->detail = acp_text_safe(p, prob->detail);
        prob->ident = authz->ident;
        o = acp_problem_json(prob);
        errtext = acp_ra_int_json_text(p, o);
        json_object_put(o);
    }
    if (db->pgsql) {
        /* one statement, atomic by itself: 1 round trip instead of 5 */
        return prob ? acp_sa_exec(db, p, "acp_validation_invalid", NULL,
                                  ACP_SA_ARGS(acp_sa_ll(p, now), errtext, chall->id,
                                              acp_sa_ll(p, now), authz->id, job->id))
                    : acp_sa_exec(db, p, "acp_validation_valid", NULL,
                                  ACP_SA_ARGS(acp_sa_ll(p, now), chall->id,
                                              acp_sa_ll(p, now + cfg->authz_valid_lifetime),
                                              authz->id, acp_sa_ll(p, now), authz->id,
                                              acp_sa_ll(p, now), acp_sa_ll(p, now), job->id));
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (acp_sa_exec(db, p, "acp_chall_status", NULL,
                    ACP_SA_ARGS(prob ? "invalid" : "valid", acp_sa_ll(p, now), errtext, chall->id,
                                "processing")) != APR_SUCCESS ||
        /* the failure time is what the failed-validations limit counts */
        (prob ? acp_sa_exec(db, p, "acp_authz_failed", NULL,
                            ACP_SA_ARGS(acp_sa_ll(p, now), authz->id))
              : acp_sa_exec(db, p, "acp_authz_valid", NULL,
                            ACP_SA_ARGS(acp_sa_ll(p, now + cfg->authz_valid_lifetime),
                                        authz->id))) != APR_SUCCESS ||
        acp_sa_exec(db, p, "acp_job_delete", NULL, ACP_SA_ARGS(job->id)) != APR_SUCCESS) {
        acp_sa_rollback(db);
        return APR_EGENERAL;
    }
    return acp_sa_commit(db);
}

/* ---- finalize and issuance --------------------------------------------------------- */

static apr_array_header_t *order_names(apr_pool_t *p, const acp_order_t *order)
{
    json_object *ids = acp_json_parse(p, order->identifiers, strlen(order->identifiers));
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    size_t i;

    for (i = 0; ids && i < json_object_array_length(ids); i++) {
        const char *v = acp_ra_int_jstr(json_object_array_get_idx(ids, i), "value");
        if (v) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, v);
        }
    }
    return names;
}

/* The order's profile when it is an OV product, else NULL. */
static const acp_profile_t *ov_profile(const acp_ra_cfg_t *cfg, const acp_order_t *order)
{
    const acp_profile_t *prof = order->profile ? acp_profile_find(cfg->profiles, order->profile)
                                               : NULL;
    return prof && prof->ov ? prof : NULL;
}

/* The subject of an OV certificate: the vetting's O, L, ST, C (never the CSR's). */
static const acp_sign_org_t *sign_org(apr_pool_t *p, const acp_org_t *org)
{
    acp_sign_org_t *so;

    if (!org) {
        return NULL;
    }
    so = apr_pcalloc(p, sizeof(*so));
    so->o = org->legal_name;
    so->l = org->locality;
    so->st = org->state;
    so->c = org->country;
    return so;
}

/* csr: the parse of der, when the caller has it (the local CA then skips its own).
 * org: the holder's current vetting for an OV order, NULL for DV. */
static apr_status_t sign_order(apr_pool_t *p, const acp_ra_cfg_t *cfg, const acp_order_t *order,
                               const unsigned char *der, size_t derlen, const acp_csr_t *csr,
                               const acp_org_t *org, acp_sign_result_t *res, const char **err)
{
    acp_sign_req_t req;

    memset(&req, 0, sizeof(req));
    req.org = sign_org(p, org);
    memset(res, 0, sizeof(*res));
    req.csr_der = der;
    req.csr_len = derlen;
    req.csr = csr;
    req.names = order_names(p, order);
    req.not_before = order->not_before;
    if (req.not_before && req.not_before < acp_now() - ACP_NOT_BEFORE_SKEW) {
        /* accepted at newOrder, but the order waited: never backdate beyond the skew */
        req.not_before = acp_now() - ACP_NOT_BEFORE_SKEW;
    }
    req.not_after = order->not_after;
    {
        /* the maximum validity on the day of signing (the order may have waited for a
         * slow signer or a retry): notBefore through notAfter inclusive */
        long long now = acp_now(), nb = req.not_before ? req.not_before : now - 60,
                  na = req.not_after ? req.not_after
                                     : nb + (long long)cfg->validity_days * 86400,
                  capped = acp_validity_cap(&cfg->max_validity, now, nb, na);
        if (capped != na) {
            req.not_before = nb;
            req.not_after = capped;
        }
    }
    return acp_ca_sign(cfg->signer, p, &req, res, err);
}

/* In the caller's transaction: the signed certificate and processing -> valid (on
 * PostgreSQL the transaction's last write, sent with its COMMIT), or, when signing
 * failed (rv), processing -> invalid and the charge refunded. The failure comes back
 * as a problem marked to commit. processing: acp_order_processing's 7 arguments when
 * the caller left the order ready (locked in this transaction), else NULL: on
 * PostgreSQL the certificate's record moves it from ready (acp_cert_issued_ready);
 * otherwise processing is written first. */
static acp_problem_t *record_issue_tx(acp_db_t *db, apr_pool_t *p, const acp_account_t *acct,
                                      acp_order_t *order, apr_status_t rv,
                                      const acp_sign_result_t *res, const char *err,
                                      const char *const *processing)
{
    const char *cert_id;
    int n = 0;

    if (processing && (rv != APR_SUCCESS || !db->pgsql)) {
        /* the move the caller left to the record, written now */
        if (acp_sa_exec(db, p, "acp_order_processing", &n, 7, processing) != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "updating the order");
        }
        if (n != 1) {
            return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order is no longer ready");
        }
        processing = NULL;
    }
    if (rv != APR_SUCCESS) {
        acp_problem_t *prob = acp_problem(p, ACP_ERR_SERVER_INTERNAL, "signing failed: %s",
                                          err ? err : "unknown error");
        if (acp_ra_int_set_order_status(db, p, order, "invalid", prob) ||
            acp_billing_refund_tx(db, p, order->id, "issuance failed") != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "recording the failed issuance");
        }
        prob->commit = 1;
        return prob;
    }
    cert_id = acp_random_id(p, 12);
    {
        /* acp_order_valid's arguments, then acp_cert_insert's: acp_cert_issued takes
         * both, one statement on PostgreSQL; SQLite runs the two */
        const char *now = acp_sa_ll(p, acp_now());
        const char *a[] = {cert_id, now, order->id,
                           cert_id, res->serial_hex, order->id, acct->id, acct->billing_id,
                           order->names_key, res->pem_chain, acp_sa_ll(p, res->not_before),
                           acp_sa_ll(p, res->not_after), now, res->aki_hex,
                           apr_itoa(p, res->crl_shard)};
        apr_status_t st;
        if (db->pgsql && processing) {
            /* from ready, with what processing would have stored: acp_cert_issued's
             * arguments with processing's csr, price, charged, reissue_of and not_after
             * after the first two (its own time is the record's) */
            const char *r[20];
            r[0] = a[0];
            r[1] = a[1];
            r[2] = processing[0];
            r[3] = processing[2];
            r[4] = processing[3];
            r[5] = processing[4];
            r[6] = processing[5];
            memcpy(r + 7, a + 2, 13 * sizeof(*r));
            st = acp_sa_exec_commit(db, p, "acp_cert_issued_ready", &n, 20, r);
        }
        else if (db->pgsql) {
            /* finalize's last write: it goes with the COMMIT (in a worker's issuance
             * too; the row count is 1 here: this transaction moved the order to
             * processing, and the row stays locked until the commit) */
            st = acp_sa_exec_commit(db, p, "acp_cert_issued", &n, 15, a);
        }
        else if ((st = acp_sa_exec(db, p, "acp_cert_insert", NULL, 12, a + 3)) == APR_SUCCESS) {
            st = acp_sa_exec(db, p, "acp_order_valid", &n, 3, a);
        }
        if (st != APR_SUCCESS || n != 1) {
            return acp_ra_int_db_problem(p, "storing the certificate");
        }
    }
    order->status = "valid";
    order->cert_id = cert_id;
    return NULL;
}

/* Finalize with a fast signer: sign now, inside finalize's transaction. A signing
 * failure still commits (order invalid, charge refunded) and the order is answered. */
static acp_problem_t *issue_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                               const acp_account_t *acct, acp_order_t *order,
                               const unsigned char *der, size_t derlen, const acp_csr_t *csr,
                               const acp_org_t *org, const char *const *processing)
{
    acp_sign_result_t res;
    const char *err = NULL;
    apr_status_t rv = sign_order(p, cfg, order, der, derlen, csr, org, &res, &err);
    acp_problem_t *prob = record_issue_tx(db, p, acct, order, rv, &res, err, processing);

    return prob && prob->commit ? NULL : prob;
}

acp_problem_t *acp_ra_payment_check_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                       const acp_account_t *acct, const acp_authz_t *authz,
                                       const char *base_url)
{
    const char **row = NULL;
    acp_order_t *order = NULL;

    if (acp_sa_row(db, p, "acp_order_for_authz", &row, ACP_SA_ARGS(authz->id, acct->id)) !=
        APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "finding the order");
    }
    if (!row) {
        return NULL;
    }
    if (acp_sa_order_get(db, p, row[0], &order) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading the order");
    }
    {
        int days = 0;
        acp_problem_t *prob = NULL;
        const acp_billing_cfg_t *bc = acp_ra_order_billing(p, cfg, order, &days, &prob);
        if (!bc) {
            return prob;
        }
        return acp_billing_quote_tx(db, p, bc, acct->billing_id, order->id, order->names_key,
                                    order_names(p, order), base_url);
    }
}

acp_problem_t *acp_ra_ov_check_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                  const acp_account_t *acct, const acp_authz_t *authz)
{
    const char **row = NULL;
    acp_order_t *order = NULL;
    const acp_profile_t *prof;
    acp_org_t *org = NULL;

    if (!cfg->profiles || !cfg->profiles->nelts) {
        return NULL;
    }
    if (acp_sa_row(db, p, "acp_order_for_authz", &row, ACP_SA_ARGS(authz->id, acct->id)) !=
        APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "finding the order");
    }
    if (!row) {
        return NULL;
    }
    if (acp_sa_order_get(db, p, row[0], &order) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading the order");
    }
    prof = ov_profile(cfg, order);
    return prof ? acp_org_require(db, p, acct->billing_id, prof->name,
                                  acp_ra_ov_vetting_days(cfg), cfg->ov_contact_url, &org)
                : NULL;
}

/* The detail of the error an order carries, or NULL. */
static const char *order_error_detail(apr_pool_t *p, const acp_order_t *order)
{
    json_object *o = order->error ? acp_json_parse(p, order->error, strlen(order->error)) : NULL;
    const char *d = acp_ra_int_jstr(o, "detail");

    return d ? apr_pstrdup(p, d) : NULL;
}

void acp_ra_finalize_csr(apr_pool_t *p, const acp_account_t *acct, const acp_order_t *order,
                         json_object *payload, acp_ra_csr_t *out)
{
    const char *b64 = acp_ra_int_jstr(payload, "csr");

    memset(out, 0, sizeof(*out));
    out->b64 = b64;
    if (!b64 || acp_b64url_decode(p, b64, strlen(b64), &out->der, &out->der_len) != 0 ||
        out->der_len == 0) {
        out->prob = acp_problem(p, ACP_ERR_MALFORMED, "finalize needs a base64url-encoded csr");
        return;
    }
    out->prob = acp_csr_parse(p, out->der, out->der_len, &out->csr);
    if (!out->prob) {
        out->prob = acp_csr_check(p, out->csr, order_names(p, order), acp_ra_account_key(p, acct));
    }
    if (out->prob) {
        out->csr = NULL;
    }
}

void acp_ra_finalize_caa(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                         const acp_account_t *acct, const acp_order_t *order, acp_ra_csr_t *fin)
{
    apr_array_header_t *authzs = NULL;
    long long now = acp_now();
    int i;

    fin->caa = NULL;
    /* a pending order too: its stored status stays pending after its authorizations
     * became valid until something refreshes it (a GET of the order; finalize's own
     * transaction), and a client may finalize without reading the order first */
    if (strcmp(order->status, "ready") != 0 && strcmp(order->status, "pending") != 0) {
        return; /* finalize answers these from its transaction */
    }
    /* read with the order, each with its oldest valid challenge (not newOrder's answer,
     * whose reused authorizations were read without) */
    authzs = order->authzs;
    if (!authzs ||
        (authzs->nelts > 0 && !APR_ARRAY_IDX(authzs, 0, const acp_authz_t *)->valid_known)) {
        acp_order_t *again = NULL;
        if (acp_sa_order_with_authzs(db, p, order->id, &again) != APR_SUCCESS || !again ||
            !again->authzs) {
            return; /* finalize answers a database fault from its transaction */
        }
        authzs = again->authzs;
    }
    for (i = 0; i < authzs->nelts && !fin->caa; i++) {
        const acp_authz_t *a = APR_ARRAY_IDX(authzs, i, acp_authz_t *);

        if (strcmp(a->status, "valid") != 0 || !a->valid_type ||
            now - a->valid_at <= ACP_CAA_RECHECK_AFTER) {
            continue;
        }
        fin->caa = acp_va_caa_check(p, &cfg->va, a->ident, a->wildcard, a->valid_type, acct->id);
        if (fin->caa) {
            fin->caa->ident = a->wildcard ? apr_pstrcat(p, "*.", a->ident, NULL) : a->ident;
        }
    }
}

acp_problem_t *acp_ra_finalize_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                  const acp_account_t *acct, acp_order_t *order,
                                  const acp_ra_csr_t *fin, const char *base_url)
{
    apr_array_header_t *names = order_names(p, order);
    acp_charge_t charge;
    const char *was = order->status;
    const acp_profile_t *prof;
    acp_org_t *org = NULL;
    acp_problem_t *prob;
    const char *const *processing = NULL; /* left to the certificate's record */
    int n = 0;

    /* every authorization again (RFC 8555 §7.1.6): one that expired or was deactivated
     * since the order became ready makes it invalid, and that is kept */
    prob = acp_ra_order_refresh(db, p, order);
    if (prob) {
        return prob;
    }
    if (strcmp(order->status, "ready") != 0) {
        const char *why = order_error_detail(p, order);
        prob = acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order is %s, not ready%s%s",
                           order->status, why ? ": " : "", why ? why : "");
        prob->commit = strcmp(was, order->status) != 0;
        return prob;
    }
    if (fin->caa) {
        /* CAA checked again because the validation was long ago, and it now refuses:
         * the order is invalid with that problem, nothing is charged */
        prob = acp_ra_int_set_order_status(db, p, order, "invalid", fin->caa);
        if (prob) {
            return prob;
        }
        prob = acp_problem(p, ACP_ERR_CAA, "%s", fin->caa->detail);
        prob->ident = fin->caa->ident;
        prob->commit = 1;
        return prob;
    }
    if (fin->prob || !fin->csr) {
        return fin->prob ? fin->prob : acp_problem(p, ACP_ERR_BAD_CSR, "no CSR");
    }
    if ((prof = ov_profile(cfg, order))) {
        /* OV: the vetting must still be current (it may have expired or been revoked
         * since newOrder); refused before any charge, the order stays ready */
        prob = acp_org_require(db, p, acct->billing_id, prof->name, acp_ra_ov_vetting_days(cfg),
                               cfg->ov_contact_url, &org);
        if (prob) {
            return prob;
        }
    }
    /* charge first: a short balance answers with a payment request and leaves the order
     * ready; a concurrent finalize that loses the ready -> processing race below rolls
     * its debit back with everything else (no second charge) */
    memset(&charge, 0, sizeof(charge));
    if (order->replaces) {
        /* a renewal: free when staff asked for it (a window they set) and it is for the
         * same names of the same holder; else the usual rules */
        acp_ari_cert_t *old = NULL;
        if (!acp_ari_lookup(db, p, order->replaces, 0, &old) && old) {
            charge.replaces_cert_id = old->id;
            charge.replaces_serial = old->serial;
            charge.replaces_not_after = old->not_after;
            charge.replaces_free = old->ari_reason && !old->revoked &&
                                   !strcmp(old->billing_id, acct->billing_id) &&
                                   !strcmp(old->names_key, order->names_key);
        }
    }
    {
        /* under profiles: the order's product sets the price and the lifetime */
        int days = 0;
        const acp_billing_cfg_t *bc = acp_ra_order_billing(p, cfg, order, &days, &prob);
        long long na = order->not_after;
        if (!bc) {
            return prob;
        }
        if (!na && days > 0) {
            na = acp_now() + (long long)days * 86400;
        }
        {
            /* never longer than AcmePayMaxValidity allows on this date (the CA/B Forum
             * schedule by default); the signer's notBefore is now - 60 s */
            long long now = acp_now(),
                      dflt = na ? na : now - 60 + (long long)cfg->validity_days * 86400,
                      capped = acp_validity_cap(&cfg->max_validity, now, now - 60, dflt);
            if (capped != dflt) {
                na = capped;
            }
        }
        prob = acp_billing_charge_tx(db, p, bc, acct->billing_id, order->id, order->names_key,
                                     names, na, base_url, &charge);
    }
    if (prob) {
        return prob;
    }
    {
        const char *a[] = {fin->b64, acp_sa_ll(p, acp_now()), acp_sa_ll(p, charge.price),
                           acp_sa_ll(p, charge.charged), charge.reissue_of,
                           charge.not_after ? acp_sa_ll(p, charge.not_after) : NULL,
                           order->id};
        if (charge.order_locked && !cfg->signer->slow) {
            /* the charge locked the order while ready: the certificate's record moves it
             * (from ready, on PostgreSQL, with what processing stores) */
            processing = apr_pmemdup(p, a, sizeof(a));
        }
        else if (charge.order_locked) {
            /* the move cannot miss; it goes with the transaction's next statement */
            if (acp_sa_exec_later(db, p, "acp_order_processing", 7, a) != APR_SUCCESS) {
                return acp_ra_int_db_problem(p, "updating the order");
            }
        }
        else if (acp_sa_exec(db, p, "acp_order_processing", &n, 7, a) != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "updating the order");
        }
        else if (n != 1) {
            return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order is no longer ready");
        }
    }
    if (org && acp_sa_exec(db, p, "acp_order_org", NULL, ACP_SA_ARGS(org->id, order->id)) !=
                   APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "recording the order's organization");
    }
    order->status = "processing";
    order->csr = fin->b64;
    /* what the charge stored: a free reissue must not outlive the original */
    order->not_after = charge.not_after;
    order->price = charge.price;
    order->has_price = 1;
    if (!cfg->signer->slow) {
        /* a fast signer signs inside this transaction: the charge, the certificate and
         * processing -> valid commit together or not at all */
        return issue_tx(db, p, cfg, acct, order, fin->der, fin->der_len, fin->csr, org,
                        processing);
    }
    /* the intent record: a worker signs, and finishes it if this process dies */
    if (acp_sa_job_add(db, p, "issue", order->id, 0, NULL) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "recording the issuance");
    }
    return NULL;
}

acp_problem_t *acp_ra_issue(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                            const char *order_id)
{
    acp_order_t *order = NULL;
    acp_account_t *acct = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    acp_sign_result_t res;
    const char *err = NULL;
    apr_status_t rv;
    acp_problem_t *prob;

    if (acp_sa_order_get(db, p, order_id, &order) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading the order");
    }
    if (strcmp(order->status, "processing") != 0) {
        return NULL; /* done already (or failed) */
    }
    if (acp_sa_account_get(db, p, order->account_id, &acct) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading the account");
    }
    if (!order->csr || acp_b64url_decode(p, order->csr, strlen(order->csr), &der, &derlen) != 0) {
        err = "stored CSR unreadable";
        rv = APR_EGENERAL;
    }
    else {
        acp_org_t *org = NULL;
        const acp_profile_t *prof = ov_profile(cfg, order);
        acp_problem_t *refused = prof ? acp_org_require(db, p, acct->billing_id, prof->name,
                                                        acp_ra_ov_vetting_days(cfg), NULL, &org)
                                      : NULL;
        if (refused) {
            /* the vetting lapsed between finalize and the slow signer: not signed,
             * the charge is refunded */
            err = refused->detail;
            rv = APR_EGENERAL;
        }
        else {
            rv = sign_order(p, cfg, order, der, derlen, NULL, org, &res, &err);
        }
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "starting a transaction");
    }
    /* the intent record is done with (only this background path writes one); it goes
     * with the record's statements, and is rolled back with them should they fail */
    if (acp_sa_exec_later(db, p, "acp_job_delete_ref", ACP_SA_ARGS("issue", order->id)) !=
        APR_SUCCESS) {
        prob = acp_ra_int_db_problem(p, "removing the issuance job");
    }
    else {
        prob = record_issue_tx(db, p, acct, order, rv, &res, err, NULL);
    }
    if (prob && !prob->commit) {
        acp_sa_rollback(db);
        return prob;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "committing the certificate");
    }
    return prob;
}

/* ---- revocation --------------------------------------------------------------------- */

static int reason_allowed(int r)
{
    return r == 0 || r == 1 || r == 3 || r == 4 || r == 5 || r == 9;
}

acp_problem_t *acp_ra_revoke_tx(acp_db_t *db, apr_pool_t *p, const acp_account_t *acct,
                                EVP_PKEY *jwk_key, json_object *payload)
{
    const char *b64 = acp_ra_int_jstr(payload, "certificate"), *serial = NULL, *issuer = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    json_object *v;
    int reason = 0, n = 0, match;
    acp_cert_t *cert = NULL;
    apr_status_t rv;
    X509 *x = NULL, *stored = NULL;
    BIO *bio;

    if (!b64 || acp_b64url_decode(p, b64, strlen(b64), &der, &derlen) != 0 || derlen == 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "revokeCert needs a base64url certificate");
    }
    if (json_object_object_get_ex(payload, "reason", &v)) {
        if (!json_object_is_type(v, json_type_int)) {
            return acp_problem(p, ACP_ERR_BAD_REVOCATION_REASON, "reason must be an integer");
        }
        reason = json_object_get_int(v);
        if (!reason_allowed(reason)) {
            return acp_problem(p, ACP_ERR_BAD_REVOCATION_REASON,
                               "reason %d is not allowed (use 0, 1, 3, 4, 5 or 9)", reason);
        }
    }
    if (acp_ca_cert_serial(p, der, derlen, &serial, &issuer) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_MALFORMED, "certificate is not valid DER");
    }
    rv = acp_sa_cert_by_serial(db, p, serial, &cert);
    if (rv == APR_NOTFOUND) {
        return acp_problem(p, ACP_ERR_NOT_FOUND, "certificate not issued by this server");
    }
    if (rv != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "looking up the certificate");
    }
    /* the presented certificate must be byte-identical to the stored leaf */
    bio = BIO_new_mem_buf(cert->pem, -1);
    stored = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    {
        const unsigned char *q = der;
        x = d2i_X509(NULL, &q, (long)derlen);
    }
    match = x && stored && X509_cmp(x, stored) == 0;
    if (match && !acct) {
        EVP_PKEY *ck = X509_get0_pubkey(x);
        match = ck && jwk_key && EVP_PKEY_eq(ck, jwk_key) == 1;
    }
    X509_free(x);
    X509_free(stored);
    if (!match) {
        return acp_problem(p, ACP_ERR_UNAUTHORIZED,
                           "not authorized to revoke this certificate");
    }
    if (acct && strcmp(acct->id, cert->account_id) != 0) {
        return acp_problem(p, ACP_ERR_UNAUTHORIZED,
                           "this account did not order this certificate");
    }
    if (cert->revoked) {
        return acp_problem(p, ACP_ERR_ALREADY_REVOKED, "certificate is already revoked");
    }
    if (acp_sa_exec(db, p, "acp_cert_revoke", &n,
                    ACP_SA_ARGS(acp_sa_ll(p, acp_now()), apr_itoa(p, reason), cert->id)) !=
        APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "revoking");
    }
    if (n != 1) {
        return acp_problem(p, ACP_ERR_ALREADY_REVOKED, "certificate is already revoked");
    }
    /* its CRL shard is due: the workers publish it within seconds */
    if (acp_crl_mark(db, p, cert->id) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "marking the CRL due");
    }
    return NULL;
}

/* ---- jobs ----------------------------------------------------------------------- */

apr_status_t acp_ra_run_job(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                            const acp_job_t *job)
{
    if (strcmp(job->kind, "validate") == 0) {
        return run_validation(db, p, cfg, job);
    }
    if (strcmp(job->kind, "issue") == 0) {
        acp_ra_issue(db, p, cfg, job->ref);
        return APR_SUCCESS;
    }
    if (strcmp(job->kind, "reissue") == 0) {
        /* a staff reissue: signed here, where the CA key is (acme-pay-admin never needs it) */
        return acp_admin_reissue_job(db, p, cfg->signer, job);
    }
    acp_sa_exec(db, p, "acp_job_delete", NULL, ACP_SA_ARGS(job->id));
    return APR_SUCCESS;
}

int acp_ra_run_due_jobs(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg, int max)
{
    apr_array_header_t *jobs = NULL;
    long long now = acp_now();
    int i, ran = 0;

    if (acp_sa_jobs_due(db, p, now, &jobs) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < jobs->nelts && ran < max; i++) {
        acp_job_t *job = APR_ARRAY_IDX(jobs, i, acp_job_t *);
        apr_pool_t *jp;
        if (acp_sa_job_claim(db, p, job->id, now, ACP_JOB_LEASE) != APR_SUCCESS) {
            continue;
        }
        apr_pool_create(&jp, p);
        acp_ra_run_job(db, jp, cfg, job);
        apr_pool_destroy(jp);
        ran++;
    }
    return ran;
}
