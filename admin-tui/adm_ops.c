/* acme-pay-admin: the staff actions, shared by the sub-commands and the console. Each is
 * one transaction; input is checked before anything is written. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_admin.h"
#include "acp_billing.h"

static int set(adm_t *adm, adm_result_t *r, int code, const char *msg, json_object *out)
{
    r->code = code;
    r->msg = msg;
    r->out = out;
    return code;
}

int adm_open_db(adm_t *adm, int migrate, const char **err)
{
    if (adm->db) {
        return ADM_OK;
    }
    if (acp_sa_open(adm->pool, adm->driver, adm->params, migrate, &adm->db, err) !=
        APR_SUCCESS) {
        adm->db = NULL;
        return ADM_FAIL;
    }
    return ADM_OK;
}

/* A strictly positive integer amount of minor units. */
static int parse_amount(const char *s, long long *out)
{
    char *end = NULL;
    long long v;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
        return -1;
    }
    v = strtoll(s, &end, 10);
    if (*end || v <= 0 || v > 1000000000000LL) {
        return -1;
    }
    *out = v;
    return 0;
}

static int blank(const char *s)
{
    if (!s) {
        return 1;
    }
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t') {
            return 0;
        }
    }
    return 1;
}

static int tx_end(adm_t *adm, apr_pool_t *p, apr_status_t rv, const char *what,
                  adm_result_t *r)
{
    if (rv != APR_SUCCESS) {
        const char *why = rv == APR_NOTFOUND ? "not found"
                          : rv == APR_EINVAL ? "refused (balance would go below zero, or "
                                               "currency/amount mismatch)"
                                             : acp_sa_error(adm->db, p, 1);
        acp_sa_rollback(adm->db);
        return set(adm, r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                   apr_psprintf(p, "%s failed: %s", what, why), NULL);
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        return set(adm, r, ADM_FAIL, apr_psprintf(p, "%s: commit failed", what), NULL);
    }
    return ADM_OK;
}

static int begin(adm_t *adm, apr_pool_t *p, adm_result_t *r)
{
    const char *err = NULL;
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return set(adm, r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_begin(adm->db) != APR_SUCCESS) {
        return set(adm, r, ADM_FAIL, "cannot start a transaction (database busy?)", NULL);
    }
    return ADM_OK;
}

int adm_op_money(adm_t *adm, apr_pool_t *p, int credit, const char *holder, const char *amount,
                 const char *reason, adm_result_t *r)
{
    long long v = 0, after = 0;
    json_object *o;
    apr_status_t rv;

    if (blank(holder)) {
        return set(adm, r, ADM_USAGE, "a billing holder id is required", NULL);
    }
    if (parse_amount(amount, &v) != 0) {
        return set(adm, r, ADM_USAGE,
                   apr_psprintf(p, "amount '%s' must be a positive integer of minor units",
                                amount ? amount : ""),
                   NULL);
    }
    if (blank(reason)) {
        return set(adm, r, ADM_USAGE, "a --reason is required for every money move", NULL);
    }
    if (begin(adm, p, r) != ADM_OK) {
        return r->code;
    }
    rv = acp_billing_adjust_tx(adm->db, p, holder, credit ? v : -v, credit ? "credit" : "debit",
                               adm->actor, reason, NULL, NULL, &after);
    if (rv == APR_NOTFOUND) {
        acp_sa_rollback(adm->db);
        return set(adm, r, ADM_USAGE, apr_psprintf(p, "no billing holder '%s'", holder), NULL);
    }
    if (tx_end(adm, p, rv, credit ? "credit" : "debit", r) != ADM_OK) {
        return r->code;
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "holder", json_object_new_string(holder));
    json_object_object_add(o, "delta", json_object_new_int64(credit ? v : -v));
    json_object_object_add(o, "balance", json_object_new_int64(after));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return set(adm, r, ADM_OK,
               apr_psprintf(p, "%s %s %s: balance %s", credit ? "credited" : "debited", holder,
                            adm_fmt(adm, p, "amount", json_object_object_get(o, "delta")),
                            adm_fmt(adm, p, "balance", json_object_object_get(o, "balance"))),
               o);
}

int adm_op_invoice_pay(adm_t *adm, apr_pool_t *p, const char *id, const char *reference,
                       const char *amount, adm_result_t *r)
{
    const char **inv = NULL, *err = NULL;
    long long v = 0;
    int credited = 0;
    apr_status_t rv;
    json_object *o;

    if (blank(id)) {
        return set(adm, r, ADM_USAGE, "an invoice id is required", NULL);
    }
    if (blank(reference)) {
        return set(adm, r, ADM_USAGE, "invoice pay needs --reference", NULL);
    }
    if (amount && parse_amount(amount, &v) != 0) {
        return set(adm, r, ADM_USAGE, "--amount must be a positive integer of minor units",
                   NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return set(adm, r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_row(adm->db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !inv) {
        return set(adm, r, ADM_USAGE, apr_psprintf(p, "no invoice '%s'", id), NULL);
    }
    if (!amount) {
        v = acp_sa_atoll(inv[3]) - acp_sa_atoll(inv[4]);
        if (v <= 0) {
            return set(adm, r, ADM_USAGE, "invoice is already paid; give --amount to add more",
                       NULL);
        }
    }
    if (begin(adm, p, r) != ADM_OK) {
        return r->code;
    }
    rv = acp_billing_payment_tx(adm->db, p, id, v, NULL, reference,
                                apr_pstrcat(p, "staff:", adm->actor, NULL), &credited);
    if (tx_end(adm, p, rv, "invoice pay", r) != ADM_OK) {
        return r->code;
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "invoice", json_object_new_string(id));
    json_object_object_add(o, "holder", json_object_new_string(inv[1]));
    json_object_object_add(o, "amount", json_object_new_int64(v));
    json_object_object_add(o, "reference", json_object_new_string(reference));
    json_object_object_add(o, "credited", json_object_new_boolean(credited));
    return set(adm, r, ADM_OK,
               credited ? apr_psprintf(p, "payment of %s recorded for invoice %s",
                                       adm_fmt(adm, p, "amount", json_object_object_get(o, "amount")),
                                       id)
                        : "this reference was already recorded",
               o);
}

int adm_op_eab_create(adm_t *adm, apr_pool_t *p, const char *label, adm_result_t *r)
{
    acp_billing_cfg_t bcfg;
    const char *kid = NULL, *key = NULL, *bid = NULL;
    json_object *o;

    if (blank(label)) {
        return set(adm, r, ADM_USAGE, "eab create needs --label", NULL);
    }
    acp_billing_cfg_defaults(&bcfg);
    if (begin(adm, p, r) != ADM_OK) {
        return r->code;
    }
    if (tx_end(adm, p, acp_billing_eab_create_tx(adm->db, p, &bcfg, label, &kid, &key, &bid),
               "eab create", r) != ADM_OK) {
        return r->code;
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "kid", json_object_new_string(kid));
    json_object_object_add(o, "hmac_key", json_object_new_string(key));
    json_object_object_add(o, "holder", json_object_new_string(bid));
    json_object_object_add(o, "label", json_object_new_string(label));
    return set(adm, r, ADM_OK, apr_psprintf(p, "EAB key id %s  HMAC key %s", kid, key), o);
}

int adm_op_eab_disable(adm_t *adm, apr_pool_t *p, const char *kid, adm_result_t *r)
{
    const char *err = NULL;
    json_object *o;
    int n = 0;

    if (blank(kid)) {
        return set(adm, r, ADM_USAGE, "eab disable needs a key id", NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return set(adm, r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_exec(adm->db, p, "acp_eab_disable", &n, ACP_SA_ARGS(kid)) != APR_SUCCESS) {
        return set(adm, r, ADM_FAIL, acp_sa_error(adm->db, p, 1), NULL);
    }
    if (n != 1) {
        return set(adm, r, ADM_USAGE, apr_psprintf(p, "no active EAB key '%s'", kid), NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "kid", json_object_new_string(kid));
    json_object_object_add(o, "status", json_object_new_string("disabled"));
    return set(adm, r, ADM_OK, apr_psprintf(p, "EAB key %s disabled", kid), o);
}

int adm_op_revoke(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                  adm_result_t *r)
{
    acp_cert_t *c = NULL;
    const char *err = NULL;
    char *end = NULL;
    long code;
    apr_status_t rv;
    json_object *o;

    if (blank(serial)) {
        return set(adm, r, ADM_USAGE, "revoke needs a serial", NULL);
    }
    code = reason && *reason ? strtol(reason, &end, 10) : -1;
    if (!reason || !*reason || *end || !acp_admin_reason_ok((int)code)) {
        return set(adm, r, ADM_USAGE,
                   "--reason must be a revocation reason code: 0 unspecified, 1 keyCompromise, "
                   "3 affiliationChanged, 4 superseded, 5 cessationOfOperation, "
                   "9 privilegeWithdrawn",
                   NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return set(adm, r, ADM_FAIL, err, NULL);
    }
    rv = acp_admin_revoke(adm->db, p, serial, (int)code, &c);
    if (rv == APR_NOTFOUND) {
        return set(adm, r, ADM_USAGE, apr_psprintf(p, "no certificate with serial '%s'", serial),
                   NULL);
    }
    if (rv == APR_EEXIST) {
        return set(adm, r, ADM_USAGE, apr_psprintf(p, "certificate %s is already revoked", serial),
                   NULL);
    }
    if (rv != APR_SUCCESS) {
        return set(adm, r, ADM_FAIL, "revoke failed: database error", NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "serial", json_object_new_string(c->serial));
    json_object_object_add(o, "names", json_object_new_string(c->names_key));
    json_object_object_add(o, "revoked", json_object_new_int64(c->revoked));
    json_object_object_add(o, "revoked_reason", json_object_new_int((int)code));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    return set(adm, r, ADM_OK,
               apr_psprintf(p, "revoked %s (%s), reason %ld", c->serial, c->names_key, code), o);
}

static int signer(adm_t *adm, apr_pool_t *p, const char **err)
{
    if (adm->signer) {
        return ADM_OK;
    }
    if (adm->sign_command) {
        return acp_ca_command_create(adm->pool, adm->sign_command, 60, &adm->signer, err) ==
                       APR_SUCCESS
                   ? ADM_OK
                   : ADM_FAIL;
    }
    if (!adm->ca_cert || !adm->ca_key) {
        *err = "reissue needs the CA: -f apache.conf (AcmePayCA) or --ca CERT KEY";
        return ADM_USAGE;
    }
    return acp_ca_local_create(adm->pool, adm->ca_cert, adm->ca_key,
                               adm->validity_days > 0 ? adm->validity_days : 90, &adm->signer,
                               err) == APR_SUCCESS
               ? ADM_OK
               : ADM_FAIL;
}

int adm_op_reissue(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                   adm_result_t *r)
{
    acp_reissue_t ri;
    const char *err = NULL;
    apr_status_t rv;
    json_object *o;
    int rc;

    if (blank(serial)) {
        return set(adm, r, ADM_USAGE, "reissue needs a serial", NULL);
    }
    if (blank(reason)) {
        return set(adm, r, ADM_USAGE, "a --reason is required for a reissue", NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return set(adm, r, ADM_FAIL, err, NULL);
    }
    if ((rc = signer(adm, p, &err)) != ADM_OK) {
        return set(adm, r, rc, apr_pstrcat(p, "CA: ", err ? err : "unavailable", NULL), NULL);
    }
    rv = acp_admin_reissue(adm->db, p, adm->signer, serial, adm->actor, reason, &ri, &err);
    if (rv != APR_SUCCESS) {
        return set(adm, r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                   apr_psprintf(p, "reissue %s: %s", serial, err ? err : "failed"), NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "order_id", json_object_new_string(ri.order_id));
    json_object_object_add(o, "old_serial", json_object_new_string(ri.old_serial));
    json_object_object_add(o, "serial", json_object_new_string(ri.new_serial));
    json_object_object_add(o, "cert_id", json_object_new_string(ri.new_cert_id));
    json_object_object_add(o, "not_after", json_object_new_int64(ri.not_after));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return set(adm, r, ADM_OK, apr_psprintf(p, "reissued: new serial %s", ri.new_serial), o);
}
