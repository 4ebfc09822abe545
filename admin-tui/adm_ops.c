/* acme-pay-admin: the staff actions, shared by the sub-commands and the console. Each is
 * one transaction; input is checked before anything is written. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "adm.h"
#include "acp_crl.h"
#include "acp_money.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)
#include "acp_secret.h"
#include "acp_admin.h"
#include "acp_billing.h"

int adm_result(adm_result_t *r, int code, const char *msg, json_object *out)
{
    r->code = code;
    r->msg = msg;
    r->out = out;
    return code;
}

/* Does the database hold sealed secrets (its nonce key sealed by the module)? */
int adm_db_sealed(adm_t *adm, apr_pool_t *p)
{
    const char **row = NULL;

    return acp_sa_row(adm->db, p, "acp_setting_get", &row, ACP_SA_ARGS("nonce_key")) ==
               APR_SUCCESS &&
           row && acp_secret_is_sealed(row[0]);
}

int adm_open_db(adm_t *adm, int migrate, const char **err)
{
    int tries;

    if (adm->db) {
        return ADM_OK;
    }
    if (adm->key_file && !adm->secrets &&
        acp_secret_key_load(adm->pool, adm->key_file, 0, &adm->secrets, NULL, err) !=
            APR_SUCCESS) {
        return ADM_FAIL;
    }
    /* SQLite answers "database is locked" while preparing when other programs open and
     * write at the same moment (several staff commands at once): try again, bounded */
    for (tries = 0;; tries++) {
        if (acp_sa_open(adm->pool, adm->driver, adm->params, migrate, &adm->db, err) ==
            APR_SUCCESS) {
            break;
        }
        adm->db = NULL;
        if (tries >= 40 || !*err || !strstr(*err, "database is locked")) {
            return ADM_FAIL;
        }
        apr_sleep(apr_time_from_msec(25 + (tries % 4) * 25));
    }
    adm->db->secrets = adm->secrets;
    return ADM_OK;
}

int adm_begin(adm_t *adm, const char **err)
{
    if (adm_open_db(adm, 0, err) != ADM_OK) {
        return ADM_FAIL;
    }
    if (acp_sa_begin(adm->db) != APR_SUCCESS) {
        *err = "cannot start a transaction (database busy?)";
        return ADM_FAIL;
    }
    return ADM_OK;
}

const char *adm_currency(adm_t *adm)
{
    return adm->currency && *adm->currency ? adm->currency : "CNY";
}

#define MONEY_MAX 1000000000000LL /* minor units: a typo guard, far above any real move */

int adm_parse_money(adm_t *adm, const char *s, long long *minor, const char **why)
{
    int e = acp_currency_exponent(adm_currency(adm)), digits = 0, frac = -1, i;
    size_t n = s ? strlen(s) : 0;
    long long v = 0;
    const char *c;

    *why = NULL;
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    while (n > 0 && *s == ' ') {
        s++;
        n--;
    }
    if (n > 5 && !strncmp(s + n - 5, "minor", 5)) {
        /* minor units, as the ledger stores them */
        char *end = NULL;
        const char *num = apr_pstrndup(adm->pool, s, n - 5);
        size_t k = strlen(num);
        while (k > 0 && num[k - 1] == ' ') {
            k--;
        }
        num = apr_pstrndup(adm->pool, num, k);
        if (!*num || !apr_isdigit(*num)) {
            goto bad;
        }
        v = strtoll(num, &end, 10);
        if (*end || v <= 0 || v > MONEY_MAX) {
            goto bad;
        }
        *minor = v;
        return 0;
    }
    if (n == 0) {
        goto bad;
    }
    for (c = s; c < s + n; c++) {
        if (*c == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (!apr_isdigit(*c)) {
            goto bad;
        }
        if (frac >= 0) {
            if (++frac > e) {
                *why = apr_psprintf(adm->pool, "'%.*s' has more decimals than %s has (%d)",
                                    (int)n, s, adm_currency(adm), e);
                return -1;
            }
        }
        if (v > MONEY_MAX) {
            goto bad;
        }
        v = v * 10 + (*c - '0');
        digits++;
    }
    if (digits == 0) {
        goto bad;
    }
    for (i = frac < 0 ? 0 : frac; i < e; i++) {
        v *= 10;
    }
    if (v <= 0 || v > MONEY_MAX) {
        goto bad;
    }
    *minor = v;
    return 0;
bad:
    *why = apr_psprintf(adm->pool, "amount '%.*s' is not an amount in %s (10, 10.50, 1050minor)",
                        (int)n, s ? s : "", adm_currency(adm));
    return -1;
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
        return adm_result(r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                          apr_psprintf(p, "%s failed: %s", what, why), NULL);
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, apr_psprintf(p, "%s: commit failed", what), NULL);
    }
    return ADM_OK;
}

int adm_money_preview(adm_t *adm, apr_pool_t *p, int credit, const char *holder,
                      const char *amount, adm_preview_t *pv, adm_result_t *r)
{
    const char **row = NULL, *err = NULL, *why = NULL;

    memset(pv, 0, sizeof(*pv));
    if (blank(holder)) {
        return adm_result(r, ADM_USAGE, "a billing holder id is required", NULL);
    }
    if (adm_parse_money(adm, amount, &pv->amount, &why) != 0) {
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_row(adm->db, p, "acp_billing_get", &row, ACP_SA_ARGS(holder)) != APR_SUCCESS ||
        !row) {
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no billing holder '%s'", holder), NULL);
    }
    pv->holder = row[0];
    pv->label = row[2];
    pv->balance = acp_sa_atoll(row[3]);
    pv->after = pv->balance + (credit ? pv->amount : -pv->amount);
    pv->text = apr_psprintf(p, "%s %s %s %s%s%s: balance %s -> %s", credit ? "Credit" : "Debit",
                            acp_money(p, pv->amount, adm_currency(adm)), credit ? "to" : "from",
                            pv->holder, pv->label ? apr_pstrcat(p, " (", pv->label, ")", NULL) : "",
                            "", acp_money(p, pv->balance, adm_currency(adm)),
                            acp_money(p, pv->after, adm_currency(adm)));
    if (pv->after < 0) {
        return adm_result(r, ADM_USAGE,
                          apr_psprintf(p,
                                       "debit refused: %s would take the balance of %s below zero "
                                       "(balance %s)",
                                       acp_money(p, pv->amount, adm_currency(adm)), holder,
                                       acp_money(p, pv->balance, adm_currency(adm))),
                          NULL);
    }
    return adm_result(r, ADM_OK, pv->text, NULL);
}

int adm_op_money(adm_t *adm, apr_pool_t *p, int credit, const char *holder, const char *amount,
                 const char *reason, adm_result_t *r)
{
    long long v = 0, after = 0;
    const char *why = NULL, *err = NULL;
    json_object *o;
    apr_status_t rv;

    if (blank(holder)) {
        return adm_result(r, ADM_USAGE, "a billing holder id is required", NULL);
    }
    if (adm_parse_money(adm, amount, &v, &why) != 0) {
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    if (blank(reason)) {
        return adm_result(r, ADM_USAGE, "a --reason is required for every money move", NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_billing_adjust_tx(adm->db, p, holder, credit ? v : -v, credit ? "credit" : "debit",
                               adm->actor, reason, NULL, NULL, &after);
    if (rv == APR_NOTFOUND) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no billing holder '%s'", holder), NULL);
    }
    if (tx_end(adm, p, rv, credit ? "credit" : "debit", r) != ADM_OK) {
        return r->code;
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "holder", json_object_new_string(holder));
    json_object_object_add(o, "delta", json_object_new_int64(credit ? v : -v));
    json_object_object_add(o, "balance", json_object_new_int64(after));
    json_object_object_add(o, "currency", json_object_new_string(adm_currency(adm)));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return adm_result(
        r, ADM_OK,
        apr_psprintf(p, "%s %s %s: balance %s", credit ? "credited" : "debited", holder,
                     adm_fmt(adm, p, "amount", json_object_object_get(o, "delta")),
                     adm_fmt(adm, p, "balance", json_object_object_get(o, "balance"))),
        o);
}

int adm_invoice_preview(adm_t *adm, apr_pool_t *p, const char *id, const char *amount,
                        adm_preview_t *pv, adm_result_t *r)
{
    const char **inv = NULL, **row = NULL, *err = NULL, *why = NULL;

    memset(pv, 0, sizeof(*pv));
    if (blank(id)) {
        return adm_result(r, ADM_USAGE, "an invoice id is required", NULL);
    }
    if (amount && adm_parse_money(adm, amount, &pv->amount, &why) != 0) {
        return adm_result(r, ADM_USAGE, apr_pstrcat(p, "--amount: ", why, NULL), NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_row(adm->db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !inv) {
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no invoice '%s'", id), NULL);
    }
    if (!amount) {
        pv->amount = acp_sa_atoll(inv[3]) - acp_sa_atoll(inv[4]);
        if (pv->amount <= 0) {
            return adm_result(r, ADM_USAGE,
                              apr_psprintf(p, "invoice %s is already paid (%s); nothing is due", id,
                                           acp_money(p, acp_sa_atoll(inv[4]), inv[5])),
                              NULL);
        }
    }
    if (acp_sa_row(adm->db, p, "acp_billing_get", &row, ACP_SA_ARGS(inv[1])) != APR_SUCCESS ||
        !row) {
        return adm_result(r, ADM_FAIL, apr_psprintf(p, "invoice %s has no holder", id), NULL);
    }
    pv->holder = row[0];
    pv->label = row[2];
    pv->balance = acp_sa_atoll(row[3]);
    pv->after = pv->balance + pv->amount;
    pv->text = apr_psprintf(p, "Record a payment of %s for invoice %s of %s%s: balance %s -> %s",
                            acp_money(p, pv->amount, inv[5]), id, pv->holder,
                            pv->label ? apr_pstrcat(p, " (", pv->label, ")", NULL) : "",
                            acp_money(p, pv->balance, inv[5]), acp_money(p, pv->after, inv[5]));
    return adm_result(r, ADM_OK, pv->text, NULL);
}

int adm_op_invoice_pay(adm_t *adm, apr_pool_t *p, const char *id, const char *reference,
                       const char *amount, adm_result_t *r)
{
    adm_preview_t pv;
    const char *err = NULL;
    int credited = 0;
    apr_status_t rv;
    json_object *o;

    if (blank(reference)) {
        return adm_result(r, ADM_USAGE, "invoice pay needs --reference", NULL);
    }
    if (adm_invoice_preview(adm, p, id, amount, &pv, r) != ADM_OK) {
        return r->code;
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_billing_payment_tx(adm->db, p, id, pv.amount, NULL, reference,
                                apr_pstrcat(p, "staff:", adm->actor, NULL), &credited);
    if (tx_end(adm, p, rv, "invoice pay", r) != ADM_OK) {
        return r->code;
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "invoice", json_object_new_string(id));
    json_object_object_add(o, "holder", json_object_new_string(pv.holder));
    json_object_object_add(o, "amount", json_object_new_int64(pv.amount));
    json_object_object_add(o, "reference", json_object_new_string(reference));
    json_object_object_add(o, "credited", json_object_new_boolean(credited));
    return adm_result(
        r, ADM_OK,
        credited ? apr_psprintf(p, "payment of %s recorded for invoice %s",
                                adm_fmt(adm, p, "amount", json_object_object_get(o, "amount")), id)
                 : "this reference was already recorded",
        o);
}

int adm_op_invoice_void(adm_t *adm, apr_pool_t *p, const char *id, const char *reason,
                        adm_result_t *r)
{
    const char **inv = NULL, *err = NULL;
    json_object *o;
    int n = 0;

    if (blank(id)) {
        return adm_result(r, ADM_USAGE, "an invoice id is required", NULL);
    }
    if (blank(reason)) {
        return adm_result(r, ADM_USAGE, "invoice void needs --reason", NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_row(adm->db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !inv) {
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no invoice '%s'", id), NULL);
    }
    if (acp_sa_exec(adm->db, p, "adm_invoice_void", &n,
                    ACP_SA_ARGS(LL(p, acp_now()), adm->actor, reason, id)) != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, acp_sa_error(adm->db, p, 1), NULL);
    }
    if (n != 1) {
        return adm_result(
            r, ADM_USAGE,
            apr_psprintf(p, "invoice %s is %s, not open: nothing to void", id, inv[6]), NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "invoice", json_object_new_string(id));
    json_object_object_add(o, "status", json_object_new_string("voided"));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return adm_result(r, ADM_OK, apr_psprintf(p, "invoice %s voided", id), o);
}

int adm_op_eab_create(adm_t *adm, apr_pool_t *p, const char *label, adm_result_t *r)
{
    acp_billing_cfg_t bcfg;
    const char *kid = NULL, *key = NULL, *bid = NULL, *err = NULL;
    json_object *o;

    if (blank(label)) {
        return adm_result(r, ADM_USAGE, "eab create needs --label", NULL);
    }
    acp_billing_cfg_defaults(&bcfg);
    /* the holder keeps the configured currency; unknown here: that of its first credit */
    bcfg.currency = adm->currency;
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (!adm->db->secrets && adm_db_sealed(adm, p)) {
        acp_sa_rollback(adm->db);
        return adm_result(
            r, ADM_FAIL,
            "this database keeps its secrets sealed (AcmePayKeyFile): run with -f "
            "apache2.conf or --key-file FILE, or the new key would be stored in clear",
            NULL);
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
    return adm_result(r, ADM_OK, apr_psprintf(p, "EAB key id %s  HMAC key %s", kid, key), o);
}

int adm_op_eab_disable(adm_t *adm, apr_pool_t *p, const char *kid, adm_result_t *r)
{
    const char *err = NULL;
    json_object *o;
    int n = 0;

    if (blank(kid)) {
        return adm_result(r, ADM_USAGE, "eab disable needs a key id", NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_exec(adm->db, p, "acp_eab_disable", &n, ACP_SA_ARGS(kid)) != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, acp_sa_error(adm->db, p, 1), NULL);
    }
    if (n != 1) {
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no active EAB key '%s'", kid), NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "kid", json_object_new_string(kid));
    json_object_object_add(o, "status", json_object_new_string("disabled"));
    return adm_result(r, ADM_OK, apr_psprintf(p, "EAB key %s disabled", kid), o);
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
        return adm_result(r, ADM_USAGE, "revoke needs a serial", NULL);
    }
    code = reason && *reason ? strtol(reason, &end, 10) : -1;
    if (reason && *reason && *end) {
        /* a reason by its RFC 5280 name */
        for (code = 0; code <= 10 && strcasecmp(reason, adm_reason_name((int)code)); code++) {
        }
        end = (char *)"";
    }
    if (!reason || !*reason || *end || !acp_admin_reason_ok((int)code)) {
        return adm_result(
            r, ADM_USAGE,
            "--reason must be a revocation reason code: 0 unspecified, 1 keyCompromise, "
            "3 affiliationChanged, 4 superseded, 5 cessationOfOperation, "
            "9 privilegeWithdrawn",
            NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_admin_revoke(adm->db, p, serial, (int)code, &c);
    if (rv == APR_NOTFOUND) {
        return adm_result(r, ADM_USAGE, apr_psprintf(p, "no certificate with serial '%s'", serial),
                          NULL);
    }
    if (rv == APR_EEXIST) {
        return adm_result(r, ADM_USAGE,
                          apr_psprintf(p, "certificate %s is already revoked", serial), NULL);
    }
    if (rv != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, "revoke failed: database error", NULL);
    }
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "serial", json_object_new_string(c->serial));
    json_object_object_add(o, "names", json_object_new_string(c->names_key));
    json_object_object_add(o, "revoked", json_object_new_int64(c->revoked));
    json_object_object_add(o, "revoked_reason", json_object_new_int((int)code));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    return adm_result(r, ADM_OK,
                      apr_psprintf(p, "revoked %s (%s), reason %ld %s", c->serial, c->names_key,
                                   code, adm_reason_name((int)code)),
                      o);
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
    if (acp_ca_local_create(adm->pool, adm->ca_cert, adm->ca_key,
                            adm->validity_days > 0 ? adm->validity_days : 90, &adm->signer,
                            err) != APR_SUCCESS) {
        return ADM_FAIL;
    }
    if (adm->crl_url) {
        /* the certificates it signs name their CRL as the server's do */
        acp_ca_set_crl(adm->signer, adm->crl_url,
                       adm->crl_shards > 0 ? adm->crl_shards : ACP_CRL_SHARDS_DEFAULT);
    }
    return ADM_OK;
}

static json_object *reissue_out(apr_pool_t *p, adm_t *adm, const char *order_id,
                                const char *old_serial, const char *serial, const char *reason)
{
    json_object *o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "order_id", order_id ? json_object_new_string(order_id) : NULL);
    json_object_object_add(o, "old_serial", json_object_new_string(old_serial));
    json_object_object_add(o, "serial", serial ? json_object_new_string(serial) : NULL);
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return o;
}

int adm_op_reissue(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                   int wait_s, adm_result_t *r)
{
    acp_reissue_t ri;
    const char *err = NULL, *req = NULL, **row = NULL;
    apr_status_t rv;
    json_object *o;
    int rc, i;

    if (blank(serial)) {
        return adm_result(r, ADM_USAGE, "reissue needs a serial", NULL);
    }
    if (blank(reason)) {
        return adm_result(r, ADM_USAGE, "a --reason is required for a reissue", NULL);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (adm->ca_local) {
        /* --ca: the CA key is here, sign now */
        if ((rc = signer(adm, p, &err)) != ADM_OK) {
            return adm_result(r, rc, apr_pstrcat(p, "CA: ", err ? err : "unavailable", NULL), NULL);
        }
        rv = acp_admin_reissue(adm->db, p, adm->signer, serial, adm->actor, reason, &ri, &err);
        if (rv != APR_SUCCESS) {
            return adm_result(r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                              apr_psprintf(p, "reissue %s: %s", serial, err ? err : "failed"),
                              NULL);
        }
        o = reissue_out(p, adm, ri.order_id, ri.old_serial, ri.new_serial, reason);
        json_object_object_add(o, "cert_id", json_object_new_string(ri.new_cert_id));
        json_object_object_add(o, "not_after", json_object_new_int64(ri.not_after));
        return adm_result(r, ADM_OK, apr_psprintf(p, "reissued: new serial %s", ri.new_serial), o);
    }
    /* the module's workers sign: staff never hold the CA key */
    rv = acp_admin_reissue_request(adm->db, p, serial, adm->actor, reason, &req, &err);
    if (rv != APR_SUCCESS) {
        return adm_result(r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                          apr_psprintf(p, "reissue %s: %s", serial, err ? err : "failed"), NULL);
    }
    for (i = 0; i < wait_s * 5; i++) {
        if (acp_sa_row(adm->db, p, "acp_reissue_get", &row, ACP_SA_ARGS(req)) == APR_SUCCESS &&
            row && strcmp(row[5], "queued") != 0) {
            break;
        }
        row = NULL;
        apr_sleep(apr_time_from_msec(200));
    }
    if (!row) {
        o = reissue_out(p, adm, NULL, acp_admin_serial(p, serial), NULL, reason);
        json_object_object_add(o, "request", json_object_new_string(req));
        json_object_object_add(o, "status", json_object_new_string("queued"));
        return adm_result(r, ADM_OK,
                          apr_psprintf(p,
                                       "reissue queued as request %s: the server signs it (see "
                                       "`certs list --serial`)",
                                       req),
                          o);
    }
    if (strcmp(row[5], "done") != 0) {
        return adm_result(r, ADM_FAIL,
                          apr_psprintf(p, "reissue %s failed on the server: %s", serial,
                                       row[7] ? row[7] : "unknown error"),
                          NULL);
    }
    {
        acp_cert_t *c = NULL;
        if (acp_sa_cert_by_serial(adm->db, p, row[6], &c) != APR_SUCCESS) {
            return adm_result(r, ADM_FAIL,
                              apr_psprintf(p, "reissued as %s, but it cannot be read", row[6]),
                              NULL);
        }
        o = reissue_out(p, adm, c->order_id, row[2], row[6], reason);
        json_object_object_add(o, "cert_id", json_object_new_string(c->id));
        json_object_object_add(o, "not_after", json_object_new_int64(c->not_after));
    }
    json_object_object_add(o, "request", json_object_new_string(req));
    json_object_object_add(o, "status", json_object_new_string("done"));
    return adm_result(r, ADM_OK, apr_psprintf(p, "reissued: new serial %s", row[6]), o);
}
