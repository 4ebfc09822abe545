/* acme-pay-admin: lists, detail pages and the dashboard as JSON, built from the staff
 * catalogue (acp_sa_admin.c) and the module's getters. The sub-commands print these
 * objects; the console renders the very same ones. */
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)
#define DAY 86400LL

/* Column names of a statement's result, in order; "#" marks an integer column. */
typedef struct view_t {
    const char *what, *label, *cols, *show;
} view_t;

static const view_t views[] = {
    {"holders", "adm_holders", "id,kind,label,#balance,#accounts,eab_kid,#created",
     "id,kind,label,balance,accounts,eab_kid"},
    {"accounts", "adm_accounts", "id,status,holder,eab_kid,contacts,#orders,#created",
     "id,status,holder,eab_kid,orders,created"},
    {"orders", "adm_orders",
     "id,status,names,holder,#price,#charged,cert_id,invoice,#created",
     "id,status,names,price,charged,invoice,created"},
    {"certs", "adm_certs",
     "id,serial,names,holder,order_id,#issued,#not_after,#revoked,#revoked_reason",
     "serial,names,issued,not_after,revoked"},
    {"invoices", "adm_invoices",
     "id,status,holder,order_id,#amount,#paid,currency,#created,#expires,pay_url",
     "id,status,holder,amount,paid,created,expires"},
    {"ledger", "adm_ledger",
     "id,#created,holder,kind,#delta,#balance_after,actor,reason,order_id,invoice_id,cert_id,"
     "reference",
     "created,holder,kind,delta,balance_after,actor,reason"},
    {"eab", "adm_eab", "kid,label,status,holder,#balance,#accounts,#created",
     "kid,label,status,holder,balance,accounts,created"},
    {"expiring", "adm_expiring",
     "id,serial,names,holder,#issued,#not_after,#revoked,#revoked_reason",
     "serial,names,holder,not_after"},
    {"authzs", NULL, "id,ident,status,#wildcard,#expires", NULL},
    {NULL, NULL, NULL, NULL}};

static const view_t *view_of(const char *what)
{
    const view_t *v;
    for (v = views; v->what; v++) {
        if (!strcmp(v->what, what)) {
            return v;
        }
    }
    return NULL;
}

const char *adm_list_cols(const char *what)
{
    const view_t *v = view_of(what);
    return v ? v->show : NULL;
}

/* One row as an object keyed by the spec's names. */
static json_object *row_obj(apr_pool_t *p, const char *spec, const char **row)
{
    json_object *o = json_object_new_object();
    char *s = apr_pstrdup(p, spec), *state = NULL, *tok;
    int i = 0;

    for (tok = apr_strtok(s, ",", &state); tok; tok = apr_strtok(NULL, ",", &state), i++) {
        const char *v = row[i];
        if (*tok == '#') {
            json_object_object_add(o, tok + 1, v ? json_object_new_int64(acp_sa_atoll(v)) : NULL);
        }
        else {
            json_object_object_add(o, tok, v ? json_object_new_string(v) : NULL);
        }
    }
    return o;
}

static int rows_json(adm_t *adm, apr_pool_t *p, const char *label, const char *spec,
                     int nargs, const char *const *args, json_object **arr, const char **err)
{
    apr_array_header_t *rows = NULL;
    int i;

    if (acp_sa_rows(adm->db, p, label, &rows, nargs, args) != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: %s", label, acp_sa_error(adm->db, p, 1));
        return ADM_FAIL;
    }
    *arr = adm_jpool(p, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        json_object_array_add(*arr, row_obj(p, spec, APR_ARRAY_IDX(rows, i, const char **)));
    }
    return ADM_OK;
}

static const char *like(apr_pool_t *p, const char *s)
{
    return s && *s ? apr_pstrcat(p, "%", s, "%", NULL) : NULL;
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

int adm_list(adm_t *adm, apr_pool_t *p, const char *what, const adm_filter_t *f,
             json_object **arr, const char **err)
{
    const view_t *v = view_of(what);
    const char *lim = LL(p, f->limit > 0 ? f->limit : 500), *q = like(p, f->q);
    const char *hold = nz(f->holder), *now = LL(p, acp_now());

    if (!v || !v->label) {
        *err = apr_psprintf(p, "unknown list '%s'", what);
        return ADM_USAGE;
    }
    if (!strcmp(what, "holders")) {
        return rows_json(adm, p, v->label, v->cols, ACP_SA_ARGS(q, q, q, lim), arr, err);
    }
    if (!strcmp(what, "accounts")) {
        return rows_json(adm, p, v->label, v->cols, ACP_SA_ARGS(hold, hold, q, q, q, lim), arr,
                         err);
    }
    if (!strcmp(what, "orders")) {
        const char *st = nz(f->status);
        return rows_json(adm, p, v->label, v->cols,
                         ACP_SA_ARGS(st, st, f->unpaid ? "1" : NULL, q, q, q, lim), arr, err);
    }
    if (!strcmp(what, "certs")) {
        const char *nm = like(p, f->name ? f->name : f->q);
        const char *se = nz(f->serial) ? apr_pstrcat(p, f->serial, "%", NULL) : NULL;
        return rows_json(adm, p, v->label, v->cols, ACP_SA_ARGS(nm, nm, se, se, lim), arr, err);
    }
    if (!strcmp(what, "invoices")) {
        const char *st = nz(f->status), *ord = nz(f->order);
        return rows_json(adm, p, v->label, v->cols,
                         ACP_SA_ARGS(now, st, now, st, hold, hold, ord, ord, lim), arr, err);
    }
    if (!strcmp(what, "ledger")) {
        const char *ord = nz(f->order), *crt = nz(f->cert), *ordref = NULL;
        if (ord) {
            ordref = apr_pstrcat(p, "order:", ord, NULL);
        }
        return rows_json(adm, p, v->label, v->cols,
                         ACP_SA_ARGS(hold, hold, q, q, q, q, q, ord, ord, ordref, crt, crt, lim),
                         arr, err);
    }
    if (!strcmp(what, "eab")) {
        return rows_json(adm, p, v->label, v->cols, ACP_SA_ARGS(hold, hold, q, q, q, lim), arr,
                         err);
    }
    if (!strcmp(what, "expiring")) {
        return rows_json(adm, p, v->label, v->cols,
                         ACP_SA_ARGS(now, LL(p, acp_now() + 30 * DAY), lim), arr, err);
    }
    *err = apr_psprintf(p, "unknown list '%s'", what);
    return ADM_USAGE;
}

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

/* attach a sub-list (arr is pool-owned: take a reference for the parent) */
static int attach(adm_t *adm, apr_pool_t *p, json_object *obj, const char *key, const char *what,
                  const adm_filter_t *f, const char **err)
{
    json_object *arr = NULL;
    int rc = adm_list(adm, p, what, f, &arr, err);
    if (rc == ADM_OK) {
        json_object_object_add(obj, key, json_object_get(arr));
    }
    return rc;
}

static int show_holder(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                       const char **err)
{
    const char **row = NULL;
    adm_filter_t f;
    json_object *h;

    if (acp_sa_row(adm->db, p, "acp_billing_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS || !row) {
        *err = apr_psprintf(p, "no billing holder '%s'", id);
        return ADM_FAIL;
    }
    h = json_object_new_object();
    json_object_object_add(h, "id", json_object_new_string(row[0]));
    json_object_object_add(h, "kind", json_object_new_string(row[1]));
    json_object_object_add(h, "label", jstr_or_null(row[2]));
    json_object_object_add(h, "balance", json_object_new_int64(acp_sa_atoll(row[3])));
    json_object_object_add(h, "created", json_object_new_int64(acp_sa_atoll(row[4])));
    json_object_object_add(obj, "holder", h);
    memset(&f, 0, sizeof(f));
    f.holder = id;
    f.limit = 200;
    if (attach(adm, p, obj, "accounts", "accounts", &f, err) ||
        attach(adm, p, obj, "eab", "eab", &f, err) ||
        attach(adm, p, obj, "invoices", "invoices", &f, err) ||
        attach(adm, p, obj, "ledger", "ledger", &f, err)) {
        return ADM_FAIL;
    }
    return ADM_OK;
}

static int show_order(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj,
                      const char **err)
{
    acp_order_t *o = NULL;
    acp_cert_t *c = NULL;
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
    json_object_object_add(jo, "price", o->has_price ? json_object_new_int64(o->price) : NULL);
    json_object_object_add(jo, "created", json_object_new_int64(o->created));
    json_object_object_add(jo, "expires", json_object_new_int64(o->expires));
    json_object_object_add(jo, "error", jstr_or_null(o->error));
    json_object_object_add(jo, "cert_id", jstr_or_null(o->cert_id));
    json_object_object_add(obj, "order", jo);
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
                json_object_object_add(r, "error", jstr_or_null(c2->error));
                json_object_array_add(ja, r);
            }
        }
    }
    json_object_object_add(obj, "challenges", ja);
    memset(&f, 0, sizeof(f));
    f.order = o->id;
    if (attach(adm, p, obj, "invoices", "invoices", &f, err) ||
        attach(adm, p, obj, "ledger", "ledger", &f, err)) {
        return ADM_FAIL;
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
        acp_sa_cert_by_serial(adm->db, p, id, &c) != APR_SUCCESS) {
        *err = apr_psprintf(p, "no certificate with id or serial '%s'", id);
        return ADM_FAIL;
    }
    json_object_object_add(obj, "certificate", cert_obj(c));
    if (acp_sa_order_get(adm->db, p, c->order_id, &o) == APR_SUCCESS) {
        json_object_object_add(obj, "order_cert_id", jstr_or_null(o->cert_id));
        json_object_object_add(obj, "current", json_object_new_boolean(
                                                   o->cert_id && !strcmp(o->cert_id, c->id)));
    }
    memset(&f, 0, sizeof(f));
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
    const char **row = NULL;
    json_object *inv, *arr = NULL;

    if (acp_sa_row(adm->db, p, "acp_invoice_get", &row, ACP_SA_ARGS(id)) != APR_SUCCESS ||
        !row) {
        *err = apr_psprintf(p, "no invoice '%s'", id);
        return ADM_FAIL;
    }
    inv = row_obj(p, "id,holder,order_id,#amount,#paid,currency,status,pay_url,eth_wei,"
                     "#created,#expires", row);
    if (!strcmp(row[6], "open") && acp_sa_atoll(row[10]) < acp_now()) {
        json_object_object_add(inv, "status", json_object_new_string("expired"));
    }
    json_object_object_add(obj, "invoice", inv);
    if (rows_json(adm, p, "adm_payments", "reference,#amount,currency,source,#created",
                  ACP_SA_ARGS(id), &arr, err) != ADM_OK) {
        return ADM_FAIL;
    }
    json_object_object_add(obj, "payments", json_object_get(arr));
    return ADM_OK;
}

int adm_show(adm_t *adm, apr_pool_t *p, const char *what, const char *id, json_object **obj,
             const char **err)
{
    *obj = adm_jpool(p, json_object_new_object());
    if (!strcmp(what, "holder")) {
        return show_holder(adm, p, id, *obj, err);
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
    *err = apr_psprintf(p, "show: unknown kind '%s' (holder, order, cert, invoice)", what);
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
    int i;

    gmtime_r(&t, &tm);
    day0 = now - (tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec);
    month0 = day0 - (tm.tm_mday - 1) * DAY;
    if (acp_sa_row(adm->db, p, "adm_dash", &row,
                   ACP_SA_ARGS(LL(p, now), LL(p, now), LL(p, now), LL(p, now + 30 * DAY),
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
