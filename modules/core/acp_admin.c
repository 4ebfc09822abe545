/* Staff actions: revocation by serial and reissue from the stored CSR. */
#include <ctype.h>
#include <string.h>
#include <apr_strings.h>
#include <json-c/json.h>
#include "acp_admin.h"
#include "acp_crl.h"
#include "acp_jws.h"
#include "acp_org.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

int acp_admin_reason_ok(int r)
{
    return r == 0 || r == 1 || r == 3 || r == 4 || r == 5 || r == 9;
}

const char *acp_admin_serial(apr_pool_t *p, const char *in)
{
    char *out = apr_pcalloc(p, strlen(in) + 1), *o = out;

    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
        in += 2;
    }
    for (; *in; in++) {
        if (*in == ':') {
            continue;
        }
        *o++ = (char)tolower((unsigned char)*in);
    }
    return out;
}

apr_status_t acp_admin_revoke(acp_db_t *db, apr_pool_t *p, const char *serial, int reason,
                              acp_cert_t **cert)
{
    int n = 0;
    apr_status_t rv;

    *cert = NULL;
    if (!acp_admin_reason_ok(reason)) {
        return APR_EINVAL;
    }
    rv = acp_sa_cert_by_serial(db, p, acp_admin_serial(p, serial), cert);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((*cert)->revoked) {
        return APR_EEXIST;
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = acp_sa_exec(db, p, "acp_cert_revoke", &n,
                     ACP_SA_ARGS(LL(p, acp_now()), apr_itoa(p, reason), (*cert)->id));
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    if (n != 1) {
        acp_sa_rollback(db);
        return APR_EEXIST; /* someone revoked it in between */
    }
    /* its CRL shard is due: the workers publish it within seconds */
    rv = acp_crl_mark(db, p, (*cert)->id);
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    (*cert)->revoked = acp_now();
    (*cert)->revoked_reason = reason;
    return APR_SUCCESS;
}

static apr_array_header_t *order_names(apr_pool_t *p, const acp_order_t *order)
{
    json_object *ids = acp_json_parse(p, order->identifiers, strlen(order->identifiers));
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    size_t i;

    for (i = 0; ids && json_object_is_type(ids, json_type_array) &&
                i < json_object_array_length(ids);
         i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(ids, i), "value", &v)) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, json_object_get_string(v));
        }
    }
    return names;
}

/* The ledger row of a staff reissue: delta 0, balance_after read under the row lock. */
static apr_status_t reissue_ledger(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                   const char *order_id, const char *cert_id,
                                   const char *actor, const char *reason)
{
    const char **row = NULL;
    apr_status_t rv = acp_sa_exec(db, p, "adm_billing_touch", NULL, ACP_SA_ARGS(billing_id));

    if (rv == APR_SUCCESS) {
        rv = acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(billing_id));
    }
    if (rv != APR_SUCCESS || !row) {
        return rv != APR_SUCCESS ? rv : APR_NOTFOUND;
    }
    return acp_sa_exec(db, p, "acp_ledger_insert", NULL,
                       ACP_SA_ARGS(acp_random_id(p, 12), billing_id, "0", row[3], "reissue",
                                   NULL, NULL, cert_id,
                                   apr_pstrcat(p, "order:", order_id, NULL), actor, reason,
                                   LL(p, acp_now()), row[5]));
}

/* What a reissue needs, checked before anything is signed or written. */
static apr_status_t reissue_check(acp_db_t *db, apr_pool_t *p, const char *serial,
                                  acp_cert_t **old, acp_order_t **order, const char **errmsg)
{
    long long now = acp_now();
    apr_status_t rv = acp_sa_cert_by_serial(db, p, acp_admin_serial(p, serial), old);

    if (rv != APR_SUCCESS) {
        *errmsg = rv == APR_NOTFOUND ? "no certificate with this serial" : "database error";
        return rv;
    }
    if ((*old)->revoked) {
        *errmsg = "the certificate is revoked; the holder needs a new order";
        return APR_EINVAL;
    }
    if ((*old)->not_after <= now + 60) {
        *errmsg = "the certificate has expired; the holder needs a new order";
        return APR_EINVAL;
    }
    rv = acp_sa_order_get(db, p, (*old)->order_id, order);
    if (rv != APR_SUCCESS) {
        *errmsg = "the certificate's order is gone";
        return rv == APR_NOTFOUND ? APR_EINVAL : rv;
    }
    if (strcmp((*order)->status, "valid") != 0) {
        *errmsg = apr_psprintf(p, "order %s is %s, not valid", (*order)->id, (*order)->status);
        return APR_EINVAL;
    }
    if (!(*order)->csr) {
        *errmsg = "the order has no readable stored CSR";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* An OV order's reissue carries its organization again, from a vetting still current
 * (its stored end: the staff tool does not know AcmePayOVVettingDays); *so NULL for DV. */
static apr_status_t reissue_org(acp_db_t *db, apr_pool_t *p, const acp_order_t *order,
                                acp_sign_org_t **so, const char **errmsg)
{
    const char **row = NULL;
    acp_org_t *org = NULL;

    *so = NULL;
    if (acp_sa_row(db, p, "acp_order_org_get", &row, ACP_SA_ARGS(order->id)) != APR_SUCCESS) {
        *errmsg = "database error reading the order's organization";
        return APR_EGENERAL;
    }
    if (!row || !row[0]) {
        return APR_SUCCESS;
    }
    if (acp_org_get(db, p, row[0], &org) != APR_SUCCESS ||
        acp_org_state(org, acp_now(), 0) != ACP_ORG_CURRENT) {
        *errmsg = "the certificate is organization-validated and its organization's vetting is "
                  "no longer current (acme-pay-admin org vet)";
        return APR_EINVAL;
    }
    *so = apr_pcalloc(p, sizeof(**so));
    (*so)->o = org->legal_name;
    (*so)->l = org->locality;
    (*so)->st = org->state;
    (*so)->c = org->country;
    return APR_SUCCESS;
}

apr_status_t acp_admin_reissue(acp_db_t *db, apr_pool_t *p, acp_signer_t *signer,
                               const char *serial, const char *actor, const char *reason,
                               acp_reissue_t *out, const char **errmsg)
{
    acp_cert_t *old = NULL;
    acp_order_t *order = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    acp_sign_req_t req;
    acp_sign_result_t res;
    acp_sign_org_t *so = NULL;
    const char *cert_id, *err = NULL;
    long long now = acp_now();
    apr_status_t rv;
    int n = 0;

    memset(out, 0, sizeof(*out));
    *errmsg = NULL;
    rv = reissue_check(db, p, serial, &old, &order, errmsg);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (acp_b64url_decode(p, order->csr, strlen(order->csr), &der, &derlen) != 0) {
        *errmsg = "the order has no readable stored CSR";
        return APR_EINVAL;
    }
    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    req.csr_der = der;
    req.csr_len = derlen;
    req.names = order_names(p, order);
    req.not_before = 0;
    req.not_after = old->not_after;
    rv = reissue_org(db, p, order, &so, errmsg);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    req.org = so;
    /* sign first: a failed signature writes nothing */
    rv = acp_ca_sign(signer, p, &req, &res, &err);
    if (rv != APR_SUCCESS) {
        *errmsg = apr_pstrcat(p, "signing failed: ", err ? err : "unknown error", NULL);
        return rv;
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        *errmsg = "cannot start a transaction (database busy?)";
        return APR_EGENERAL;
    }
    cert_id = acp_random_id(p, 12);
    if (acp_sa_exec(db, p, "acp_cert_insert", NULL,
                    ACP_SA_ARGS(cert_id, res.serial_hex, order->id, old->account_id,
                                old->billing_id, old->names_key, res.pem_chain,
                                LL(p, res.not_before), LL(p, res.not_after), LL(p, now),
                                res.aki_hex, apr_itoa(p, res.crl_shard))) !=
            APR_SUCCESS ||
        acp_sa_exec(db, p, "adm_order_set_cert", &n, ACP_SA_ARGS(cert_id, LL(p, now), order->id)) !=
            APR_SUCCESS ||
        n != 1 ||
        reissue_ledger(db, p, old->billing_id, order->id, cert_id, actor, reason) != APR_SUCCESS) {
        *errmsg = apr_pstrcat(p, "storing the reissued certificate: ",
                              acp_sa_error(db, p, 1), NULL);
        acp_sa_rollback(db);
        return APR_EGENERAL;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        *errmsg = "commit failed";
        return APR_EGENERAL;
    }
    out->order_id = order->id;
    out->old_serial = old->serial;
    out->old_cert_id = old->id;
    out->new_serial = res.serial_hex;
    out->new_cert_id = cert_id;
    out->not_after = res.not_after;
    return APR_SUCCESS;
}

apr_status_t acp_admin_reissue_request(acp_db_t *db, apr_pool_t *p, const char *serial,
                                       const char *actor, const char *reason,
                                       const char **request_id, const char **errmsg)
{
    acp_cert_t *old = NULL;
    acp_order_t *order = NULL;
    const char *id = acp_random_id(p, 12);
    apr_status_t rv;

    *request_id = NULL;
    *errmsg = NULL;
    rv = reissue_check(db, p, serial, &old, &order, errmsg);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        *errmsg = "cannot start a transaction (database busy?)";
        return APR_EGENERAL;
    }
    /* the request (who asked, why) and the job that names it commit together */
    if (acp_sa_exec(db, p, "acp_reissue_insert", NULL,
                    ACP_SA_ARGS(id, old->id, old->serial, actor, reason, LL(p, acp_now()))) !=
            APR_SUCCESS ||
        acp_sa_job_add(db, p, "reissue", id, 0, NULL) != APR_SUCCESS) {
        *errmsg = apr_pstrcat(p, "queueing the reissue: ", acp_sa_error(db, p, 1), NULL);
        acp_sa_rollback(db);
        return APR_EGENERAL;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        *errmsg = "commit failed";
        return APR_EGENERAL;
    }
    *request_id = id;
    return APR_SUCCESS;
}

apr_status_t acp_admin_reissue_job(acp_db_t *db, apr_pool_t *p, acp_signer_t *signer,
                                   const acp_job_t *job)
{
    const char **rq = NULL, *err = NULL;
    acp_reissue_t ri;
    apr_status_t rv;

    if (acp_sa_row(db, p, "acp_reissue_get", &rq, ACP_SA_ARGS(job->ref)) != APR_SUCCESS) {
        return APR_EGENERAL; /* the database is away: the lease runs out, a worker retries */
    }
    if (rq && !strcmp(rq[5], "queued")) {
        rv = signer ? acp_admin_reissue(db, p, signer, rq[2], rq[3], rq[4], &ri, &err)
                    : APR_ENOTIMPL;
        if (rv == APR_SUCCESS) {
            acp_sa_exec(db, p, "acp_reissue_done", NULL,
                        ACP_SA_ARGS("done", ri.new_serial, NULL, LL(p, acp_now()), job->ref));
        }
        else {
            acp_sa_exec(db, p, "acp_reissue_done", NULL,
                        ACP_SA_ARGS("failed", NULL, err ? err : "no signer",
                                    LL(p, acp_now()), job->ref));
        }
    }
    acp_sa_exec(db, p, "acp_job_delete", NULL, ACP_SA_ARGS(job->id));
    return APR_SUCCESS;
}
