/* acme-pay-admin: the detail pages (holder, account, order, certificate, invoice, ledger
 * row) and the dashboard as JSON, built from the staff catalogue and the module's getters;
 * every page but the holder's links to its billing holder. Lists: adm_data.c. */
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_util.h"
#include "acp_admin.h"

#define LL(p, v) acp_sa_ll(p, v)
#define DAY 86400LL

static json_object *jstr_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *cert_obj(const acp_cert_t *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(c->id));
    json_object_object_add(o, "serial", json_object_new_string(c->serial));
    json_object_object_add(o, "names", json_object_new_string(c->names_key));
    json_object_object_add(o, "holder", json_object_new_string(c->billing_id));
    json_object_object_add(o, "account_id", json_object_new_string(c->account_id));
    json_object_object_add(o, "order_id", json_object_new_string(c->order_id));
    json_object_object_add(o, "issued", json_object_new_int64(c->issued));
    json_object_object_add(o, "not_before", json_object_new_int64(c->not_before));
    json_object_object_add(o, "not_after", json_object_new_int64(c->not_after));
    json_object_object_add(o, "revoked", c->revoked ? json_object_new_int64(c->revoked) : NULL);
    json_object_object_add(o, "revoked_reason",
                           c->revoked ? json_object_new_int(c->revoked_reason) : NULL);
    return o;
}

/* attach a sub-list (arr is pool-owned: take a reference for the parent); a page
 * that has more says where the rest is */
static int attach(adm_t *adm, apr_pool_t *p, json_object *obj, const char *key, const char *what,
                  adm_filter_t *f, const char **err)
{
    json_object *arr = NULL;
    int rc = adm_list(adm, p, what, f, &arr, err);
    if (rc == ADM_OK) {
        json_object_object_add(obj, key, json_object_get(arr));
        if (f->next) {
            json_object_object_add(obj, apr_pstrcat(p, key, "_more", NULL),
                                   json_object_new_string(f->next));
        }
    }
    return rc;
}

/* The billing holder every detail page links to: id, label, balance. */
static int holder_link(adm_t *adm, apr_pool_t *p, const char *id, int strict, json_object *obj,
                       const char **err)
{
    const char **row = NULL;
    json_object *h;

    if (!id) {
        return ADM_OK;
    }
    if (acp_sa_row(adm->db, p, "acp_billing_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS) {
        *err = apr_psprintf(p, "reading billing holder '%s': %s", id,
                            acp_sa_error(adm->db, p, 1));
        return ADM_FAIL;
    }
    if (!row) {
        if (strict) {
            *err = apr_psprintf(p, "no billing holder '%s'", id);
            return ADM_FAIL;
        }
        /* a page still opens when its holder is gone (say so, do not fail) */
        h = json_object_new_object();
        json_object_object_add(h, "id", json_object_new_string(id));
        json_object_object_add(h, "missing", json_object_new_string("no such billing holder"));
        json_object_object_add(obj, "holder", h);
        return ADM_OK;
    }
    h = json_object_new_object();
    json_object_object_add(h, "id", json_object_new_string(row[0]));
    json_object_object_add(h, "kind", json_object_new_string(row[1]));
    json_object_object_add(h, "label", jstr_or_null(row[2]));
    json_object_object_add(h, "balance", json_object_new_int64(acp_sa_atoll(row[3])));
    json_object_object_add(h, "currency", json_object_new_string(adm_currency(adm)));
    json_object_object_add(h, "created", json_object_new_int64(acp_sa_atoll(row[4])));
    json_object_object_add(obj, "holder", h);
    return ADM_OK;
}

static void sub_filter(adm_filter_t *f, long long limit)
{
    memset(f, 0, sizeof(*f));
    f->limit = limit;
}

static int show_holder(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                       const char **err)
{
    adm_filter_t f;

    if (holder_link(adm, p, id, 1, obj, err) != ADM_OK) {
        return ADM_FAIL;
    }
    {
        /* what the holder bought as terms (profiles sold with term=), first: support's
         * question is usually "is my subscription still running?" */
        json_object *subs = adm_subs_rows(adm, p, id, err);
        if (!subs) {
            return ADM_FAIL;
        }
        json_object_object_add(obj, "subscriptions", subs);
    }
    sub_filter(&f, 50);
    f.holder = id;
    if (attach(adm, p, obj, "accounts", "accounts", &f, err) ||
        attach(adm, p, obj, "eab", "eab", &f, err) ||
        attach(adm, p, obj, "organization", "orgs", &f, err) ||
        attach(adm, p, obj, "invoices", "invoices", &f, err) ||
        attach(adm, p, obj, "orders", "orders", &f, err) ||
        attach(adm, p, obj, "ledger", "ledger", &f, err)) {
        return ADM_FAIL;
    }
    return ADM_OK;
}

static int show_account(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                        const char **err)
{
    const char **row = NULL;
    adm_filter_t f;

    if (acp_sa_row(adm->db, p, "adm_account_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !row) {
        *err = apr_psprintf(p, "no account '%s'", id);
        return ADM_FAIL;
    }
    json_object_object_add(obj, "account",
                           adm_row_obj(p,
                                       "id,status,holder,eab_kid,contacts,#tos_agreed,#created,"
                                       "thumbprint",
                                       row));
    if (holder_link(adm, p, row[2], 0, obj, err) != ADM_OK) {
        return ADM_FAIL;
    }
    sub_filter(&f, 50);
    f.holder = row[2];
    return attach(adm, p, obj, "orders", "orders", &f, err);
}

static int show_order(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                      const char **err)
{
    acp_order_t *o = NULL;
    acp_cert_t *c = NULL;
    acp_account_t *acct = NULL;
    apr_array_header_t *authzs = NULL;
    json_object *jo, *ja;
    adm_filter_t f;
    int i, j;

    if (acp_sa_order_get(adm->db, p, id, &o) != APR_SUCCESS) {
        *err = apr_psprintf(p, "no order '%s'", id);
        return ADM_FAIL;
    }
    jo = json_object_new_object();
    json_object_object_add(jo, "id", json_object_new_string(o->id));
    json_object_object_add(jo, "status", json_object_new_string(o->status));
    json_object_object_add(jo, "names", json_object_new_string(o->names_key));
    json_object_object_add(jo, "account_id", json_object_new_string(o->account_id));
    json_object_object_add(jo, "profile", jstr_or_null(o->profile));
    json_object_object_add(jo, "price", o->has_price ? json_object_new_int64(o->price) : NULL);
    json_object_object_add(jo, "created", json_object_new_int64(o->created));
    json_object_object_add(jo, "expires", json_object_new_int64(o->expires));
    json_object_object_add(jo, "error", adm_order_error(o->error));
    json_object_object_add(jo, "cert_id", jstr_or_null(o->cert_id));
    json_object_object_add(obj, "order", jo);
    if (acp_sa_account_get(adm->db, p, o->account_id, &acct) == APR_SUCCESS &&
        holder_link(adm, p, acct->billing_id, 0, obj, err) != ADM_OK) {
        return ADM_FAIL;
    }
    ja = json_object_new_array();
    if (acp_sa_order_authzs(adm->db, p, o->id, &authzs) == APR_SUCCESS) {
        for (i = 0; i < authzs->nelts; i++) {
            acp_authz_t *a = APR_ARRAY_IDX(authzs, i, acp_authz_t *);
            apr_array_header_t *ch = NULL;
            if (acp_sa_authz_challs(adm->db, p, a->id, &ch) != APR_SUCCESS) {
                continue;
            }
            for (j = 0; j < ch->nelts; j++) {
                acp_chall_t *c2 = APR_ARRAY_IDX(ch, j, acp_chall_t *);
                json_object *r = json_object_new_object();
                json_object_object_add(r, "ident", json_object_new_string(
                                                       apr_pstrcat(p, a->wildcard ? "*." : "",
                                                                   a->ident, NULL)));
                json_object_object_add(r, "authz", json_object_new_string(a->status));
                json_object_object_add(r, "challenge", json_object_new_string(c2->type));
                json_object_object_add(r, "result", json_object_new_string(c2->status));
                json_object_object_add(r, "validated", c2->validated
                                                           ? json_object_new_int64(c2->validated)
                                                           : NULL);
                json_object_object_add(r, "error", adm_order_error(c2->error));
                json_object_array_add(ja, r);
            }
        }
    }
    json_object_object_add(obj, "challenges", ja);
    sub_filter(&f, 50);
    f.order = o->id;
    if (attach(adm, p, obj, "invoices", "invoices", &f, err) ||
        attach(adm, p, obj, "ledger", "ledger", &f, err)) {
        return ADM_FAIL;
    }
    {
        json_object *inv = json_object_object_get(obj, "invoices");
        size_t k;
        for (k = 0; inv && k < json_object_array_length(inv); k++) {
            json_object *st = json_object_object_get(json_object_array_get_idx(inv, k), "status");
            if (st && !strcmp(json_object_get_string(st), "open") &&
                (!strcmp(o->status, "ready") || !strcmp(o->status, "pending"))) {
                json_object_object_add(jo, "payment", json_object_new_string("awaiting payment"));
            }
        }
    }
    if (o->cert_id && acp_sa_cert_get(adm->db, p, o->cert_id, &c) == APR_SUCCESS) {
        json_object_object_add(obj, "certificate", cert_obj(c));
    }
    return ADM_OK;
}

static int show_cert(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                     const char **err)
{
    acp_cert_t *c = NULL;
    acp_order_t *o = NULL;
    adm_filter_t f;

    if (acp_sa_cert_get(adm->db, p, id, &c) != APR_SUCCESS &&
        acp_sa_cert_by_serial(adm->db, p, acp_admin_serial(p, id), &c) != APR_SUCCESS) {
        *err = apr_psprintf(p, "no certificate with id or serial '%s'", id);
        return ADM_FAIL;
    }
    json_object_object_add(obj, "certificate", cert_obj(c));
    if (holder_link(adm, p, c->billing_id, 0, obj, err) != ADM_OK) {
        return ADM_FAIL;
    }
    if (acp_sa_order_get(adm->db, p, c->order_id, &o) == APR_SUCCESS) {
        json_object_object_add(obj, "order_cert_id", jstr_or_null(o->cert_id));
        json_object_object_add(obj, "current", json_object_new_boolean(
                                                   o->cert_id && !strcmp(o->cert_id, c->id)));
    }
    sub_filter(&f, 50);
    f.cert = c->id;
    if (attach(adm, p, obj, "ledger", "ledger", &f, err)) {
        return ADM_FAIL;
    }
    json_object_object_add(obj, "pem", json_object_new_string(c->pem));
    return ADM_OK;
}

static int show_invoice(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                        const char **err)
{
    const char **row = NULL, **cl = NULL;
    json_object *inv, *arr = NULL;
    adm_filter_t f;

    if (acp_sa_row(adm->db, p, "acp_invoice_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !row) {
        *err = apr_psprintf(p, "no invoice '%s'", id);
        return ADM_FAIL;
    }
    inv = adm_row_obj(p, "id,holder,order_id,#amount,#paid,currency,status,pay_url,eth_wei,"
                         "#created,#expires", row);
    if (!strcmp(row[6], "open") && acp_sa_atoll(row[10]) < acp_now()) {
        json_object_object_add(inv, "status", json_object_new_string("expired"));
    }
    if (acp_sa_row(adm->db, p, "adm_invoice_closed", &cl, ACP_SA_ARGS(id)) == APR_SUCCESS && cl) {
        json_object_object_add(inv, "closed", cl[0] ? json_object_new_int64(acp_sa_atoll(cl[0]))
                                                    : NULL);
        json_object_object_add(inv, "closed_by", jstr_or_null(cl[1]));
        json_object_object_add(inv, "closed_reason", jstr_or_null(cl[2]));
    }
    json_object_object_add(obj, "invoice", inv);
    if (holder_link(adm, p, row[1], 0, obj, err) != ADM_OK) {
        return ADM_FAIL;
    }
    if (adm_rows_json(adm, p, "adm_payments",
                      "reference,#amount,currency,source,#created,#refunded", ACP_SA_ARGS(id),
                      &arr, err) != ADM_OK) {
        return ADM_FAIL;
    }
    json_object_object_add(obj, "payments", json_object_get(arr));
    sub_filter(&f, 50);
    f.invoice = id;
    return attach(adm, p, obj, "ledger", "ledger", &f, err);
}

static int show_ledger(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                       const char **err)
{
    const char **row = NULL;

    if (acp_sa_row(adm->db, p, "adm_ledger_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS || !row) {
        *err = apr_psprintf(p, "no ledger row '%s'", id);
        return ADM_FAIL;
    }
    json_object_object_add(obj, "ledger",
                           adm_row_obj(p,
                                       "id,#created,holder,kind,#delta,#balance_after,actor,"
                                       "reason,order_id,invoice_id,cert_id,reference",
                                       row));
    return holder_link(adm, p, row[2], 0, obj, err);
}

int adm_show(adm_t *adm, apr_pool_t *p, const char *what, const char *id, json_object **obj,
             const char **err)
{
    *obj = adm_jpool(p, json_object_new_object());
    if (!strcmp(what, "holder")) {
        return show_holder(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "account")) {
        return show_account(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "order")) {
        return show_order(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "cert")) {
        return show_cert(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "invoice")) {
        return show_invoice(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "ledger")) {
        return show_ledger(adm, p, id, *obj, err);
    }
    if (!strcmp(what, "org")) {
        return adm_org_show(adm, p, id, *obj, err);
    }
    *err = apr_psprintf(p, "show: unknown kind '%s' (holder, account, order, cert, invoice, "
                           "ledger, org)",
                        what);
    return ADM_USAGE;
}

int adm_dashboard(adm_t *adm, apr_pool_t *p, json_object **obj, const char **err)
{
    const char **row = NULL;
    apr_array_header_t *st = NULL;
    long long now = acp_now();
    time_t t = (time_t)now;
    struct tm tm;
    long long day0, month0;
    json_object *o, *arr = NULL;
    adm_filter_t f;
    const char *n;
    int i;

    gmtime_r(&t, &tm);
    day0 = now - (tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec);
    month0 = day0 - (tm.tm_mday - 1) * DAY;
    n = LL(p, now);
    if (acp_sa_row(adm->db, p, "adm_dash", &row,
                   ACP_SA_ARGS(n, n, n, n, n, LL(p, now + 30 * DAY), LL(p, day0), LL(p, month0),
                               LL(p, day0), LL(p, month0))) != APR_SUCCESS ||
        !row || acp_sa_rows(adm->db, p, "adm_dash_orders", &st, ACP_SA_NOARGS) != APR_SUCCESS) {
        *err = apr_psprintf(p, "dashboard: %s", acp_sa_error(adm->db, p, 1));
        return ADM_FAIL;
    }
    *obj = adm_jpool(p, json_object_new_object());
    json_object_object_add(*obj, "accounts", json_object_new_int64(acp_sa_atoll(row[0])));
    json_object_object_add(*obj, "holders", json_object_new_int64(acp_sa_atoll(row[1])));
    json_object_object_add(*obj, "holders_balance", json_object_new_int64(acp_sa_atoll(row[2])));
    json_object_object_add(*obj, "open_invoices", json_object_new_int64(acp_sa_atoll(row[3])));
    json_object_object_add(*obj, "open_amount", json_object_new_int64(acp_sa_atoll(row[4])));
    json_object_object_add(*obj, "certificates", json_object_new_int64(acp_sa_atoll(row[5])));
    json_object_object_add(*obj, "expiring_30d", json_object_new_int64(acp_sa_atoll(row[6])));
    json_object_object_add(*obj, "revenue_today", json_object_new_int64(acp_sa_atoll(row[7])));
    json_object_object_add(*obj, "revenue_month", json_object_new_int64(acp_sa_atoll(row[8])));
    json_object_object_add(*obj, "charged_today", json_object_new_int64(acp_sa_atoll(row[9])));
    json_object_object_add(*obj, "charged_month", json_object_new_int64(acp_sa_atoll(row[10])));
    o = json_object_new_object();
    for (i = 0; i < st->nelts; i++) {
        const char **r = APR_ARRAY_IDX(st, i, const char **);
        json_object_object_add(o, r[0], json_object_new_int64(acp_sa_atoll(r[1])));
    }
    json_object_object_add(*obj, "orders", o);
    memset(&f, 0, sizeof(f));
    f.limit = 50;
    if (adm_list(adm, p, "expiring", &f, &arr, err) != ADM_OK) {
        return ADM_FAIL;
    }
    json_object_object_add(*obj, "expiring", json_object_get(arr));
    return ADM_OK;
}
