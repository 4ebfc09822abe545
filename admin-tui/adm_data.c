/* acme-pay-admin: lists as JSON, built from the staff catalogue (acp_sa_admin.c): the
 * views' columns, catalogue rows as objects, and one page of a list with its search steps
 * (adm_show.c builds the detail pages and the dashboard from them). The sub-commands
 * print these objects; the console renders the very same ones. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)
#define DAY 86400LL

/* Column names of a statement's result, in order; "#" marks an integer column.
 * tcol/kcol: the columns a page's cursor is made of (time, then the tie-breaker). */
typedef struct view_t {
    const char *what, *label, *cols, *show, *tcol, *kcol;
    int knum; /* the tie-breaker is a number (the ledger's insertion order) */
} view_t;

static const view_t views[] = {
    {"holders", "adm_holders", "id,kind,label,#balance,#accounts,eab_kid,#created",
     "id,kind,label,balance,accounts,eab_kid", "created", "id", 0},
    {"accounts", "adm_accounts", "id,status,holder,eab_kid,contacts,#orders,#created",
     "id,status,holder,contacts,orders,created", "created", "id", 0},
    {"orders", "adm_orders",
     "id,status,names,holder,#price,#charged,cert_id,invoice,#created,#awaiting,error,contacts,"
     "profile",
     "id,status,names,profile,price,charged,invoice,created", "created", "id", 0},
    {"certs", "adm_certs",
     "id,serial,names,holder,order_id,#issued,#not_after,#revoked,#revoked_reason,profile",
     "serial,names,profile,issued,not_after,revoked", "issued", "id", 0},
    {"invoices", "adm_invoices",
     "id,status,holder,order_id,#amount,#paid,currency,#created,#expires,pay_url,#closed,"
     "closed_by,closed_reason",
     "id,status,holder,amount,paid,created,expires", "created", "id", 0},
    {"ledger", "adm_ledger",
     "id,#created,holder,kind,#delta,#balance_after,actor,reason,order_id,invoice_id,cert_id,"
     "reference,#seq",
     "created,holder,kind,delta,balance_after,actor,reason", "created", "seq", 1},
    {"eab", "adm_eab", "kid,label,status,holder,#balance,#accounts,#created",
     "kid,label,status,holder,balance,accounts,created", "created", "kid", 0},
    {"orgs", "adm_orgs",
     "id,holder,name,locality,state,country,evidence,vetted_by,#vetted_at,#valid_until,"
     "#revoked_at,revoked_by,revoke_reason,#created,#updated,label",
     "id,holder,name,locality,state,country,status,vetting_end,vetted_by", "created", "id", 0},
    {"expiring", "adm_expiring",
     "id,serial,names,holder,#issued,#not_after,#revoked,#revoked_reason",
     "serial,names,holder,not_after", NULL, NULL, 0},
    {"chain", "acp_chain_transfer_list",
     "reference,#block,tx,from,token,value,#amount,status,invoice,holder,#created,assigned_by,"
     "reason",
     "reference,block,amount,status,invoice,holder,created", NULL, NULL, 0},
    {"authzs", NULL, "id,ident,status,#wildcard,#expires", NULL, NULL, NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0}};

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

/* Texts the console and the tables show for stored problem documents: a payment
 * request is not an error, the order waits for its invoice. */
json_object *adm_order_error(const char *err)
{
    if (!err) {
        return NULL;
    }
    if (strstr(err, "userActionRequired")) {
        return json_object_new_string("awaiting payment");
    }
    return json_object_new_string(err);
}

/* One row as an object keyed by the spec's names. */
json_object *adm_row_obj(apr_pool_t *p, const char *spec, const char **row)
{
    json_object *o = json_object_new_object();
    char *s = apr_pstrdup(p, spec), *state = NULL, *tok;
    int i = 0;

    for (tok = apr_strtok(s, ",", &state); tok; tok = apr_strtok(NULL, ",", &state), i++) {
        const char *v = row[i];
        if (*tok == '#') {
            json_object_object_add(o, tok + 1, v ? json_object_new_int64(acp_sa_atoll(v)) : NULL);
        }
        else if (!strcmp(tok, "error")) {
            json_object_object_add(o, tok, adm_order_error(v));
        }
        else {
            json_object_object_add(o, tok, v ? json_object_new_string(v) : NULL);
        }
    }
    return o;
}

int adm_rows_json(adm_t *adm, apr_pool_t *p, const char *label, const char *spec, int nargs,
                  const char *const *args, json_object **arr, const char **err)
{
    int stopped;

    return adm_rows_json_within(adm, p, label, spec, 0, &stopped, nargs, args, arr, err);
}

int adm_rows_json_within(adm_t *adm, apr_pool_t *p, const char *label, const char *spec, int ms,
                         int *stopped, int nargs, const char *const *args, json_object **arr,
                         const char **err)
{
    apr_array_header_t *rows = NULL;
    int i;

    if (acp_sa_rows_within(adm->db, p, label, ms, stopped, &rows, nargs, args) !=
        APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: %s", label, acp_sa_error(adm->db, p, 1));
        return ADM_FAIL;
    }
    *arr = adm_jpool(p, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        json_object_array_add(*arr, adm_row_obj(p, spec, APR_ARRAY_IDX(rows, i, const char **)));
    }
    return ADM_OK;
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

#define T_MAX 9000000000000000000LL

typedef struct args_t {
    apr_pool_t *p;
    apr_array_header_t *a;
} args_t;

static void arg(args_t *a, const char *v)
{
    APR_ARRAY_PUSH(a->a, const char *) = v;
}

static void arg2(args_t *a, const char *v)
{
    arg(a, v);
    arg(a, v);
}

/* a list's search text: "(%s IS NULL OR <filter>)", the filter taking q, and then low
 * (the lowercase text) where it is the words form */
static void argq(args_t *a, const char *q, const char *low)
{
    arg2(a, q);
    if (q && low) {
        arg(a, low);
    }
}

int adm_cursor_parse(apr_pool_t *p, const char *cursor, long long *t, const char **key)
{
    const char *dot = cursor ? strchr(cursor, '.') : NULL;
    char *end = NULL;

    if (!dot || dot == cursor || !dot[1]) {
        return -1;
    }
    *t = apr_strtoi64(apr_pstrmemdup(p, cursor, (apr_size_t)(dot - cursor)), &end, 10);
    if (*end || *t < 0) {
        return -1;
    }
    *key = dot + 1;
    return 0;
}

/* The search text as the list's index takes it; *err when it cannot be searched. */
static const char *pattern(adm_t *adm, apr_pool_t *p, const char *q, const char **err)
{
    if (!nz(q)) {
        return NULL;
    }
    if (strlen(q) < ACP_SA_SEARCH_MIN) {
        *err = apr_psprintf(p, "search text '%s' is too short: give at least %d characters", q,
                            ACP_SA_SEARCH_MIN);
        return "";
    }
    return acp_sa_search_pattern(p, q, adm->db->pgsql);
}

char *adm_lowercase(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s), *c;

    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

/* A list statement's arguments, the search text q as the statement's form takes it */
static apr_array_header_t *list_args(apr_pool_t *p, const char *what, const adm_filter_t *f,
                                     const char *q, const char *low, const char *now,
                                     const char *hold, long long at, const char *key,
                                     long long lim)
{
    args_t a;

    a.p = p;
    a.a = apr_array_make(p, 24, sizeof(const char *));
    if (!strcmp(what, "holders")) {
        argq(&a, q, low);
    }
    else if (!strcmp(what, "accounts")) {
        arg2(&a, hold);
        argq(&a, q, low);
    }
    else if (!strcmp(what, "orders")) {
        arg(&a, now);
        arg2(&a, nz(f->status));
        arg(&a, f->unpaid ? "1" : NULL);
        argq(&a, q, low);
        arg2(&a, hold);
    }
    else if (!strcmp(what, "certs")) {
        const char *se = nz(f->serial);
        argq(&a, q, low);
        arg(&a, se);
        arg(&a, se);
        arg(&a, se ? apr_pstrcat(p, se, "~", NULL) : NULL);
        arg2(&a, hold);
    }
    else if (!strcmp(what, "invoices")) {
        const char *st = nz(f->status);
        arg2(&a, now);
        arg(&a, st);
        arg2(&a, now);
        arg(&a, st);
        arg2(&a, hold);
        arg2(&a, nz(f->order));
        argq(&a, q, low);
    }
    else if (!strcmp(what, "ledger")) {
        const char *ord = nz(f->order), *lq = nz(f->q);
        arg2(&a, hold);
        arg2(&a, ord);
        arg(&a, ord ? apr_pstrcat(p, "order:", ord, NULL) : NULL);
        arg2(&a, nz(f->cert));
        arg2(&a, nz(f->invoice));
        arg2(&a, lq);
        arg2(&a, lq);
        arg2(&a, lq);
    }
    else if (!strcmp(what, "eab")) {
        arg2(&a, hold);
        argq(&a, q, low);
    }
    else if (!strcmp(what, "orgs")) {
        arg2(&a, hold);
    }
    /* the page: cursor (time bound, time, time, tie-breaker), since, until, limit + 1 */
    arg(&a, LL(p, at));
    arg2(&a, LL(p, at));
    arg(&a, key);
    arg(&a, LL(p, f->since > 0 ? f->since : 0));
    arg(&a, LL(p, f->until > 0 ? f->until : T_MAX));
    arg(&a, LL(p, lim + 1));
    return a.a;
}

/* One form of a list's statement on args, within ms (0: no limit) */
static int run_page(adm_t *adm, apr_pool_t *p, const view_t *v, const char *label, int ms,
                    int *stopped, const apr_array_header_t *args, json_object **arr,
                    const char **err)
{
    return adm_rows_json_within(adm, p, label, v->cols, ms, stopped, args->nelts,
                                (const char *const *)args->elts, arr, err);
}

int adm_list(adm_t *adm, apr_pool_t *p, const char *what, adm_filter_t *f, json_object **arr,
             const char **err)
{
    const view_t *v = view_of(what);
    long long lim = f->limit > 0 ? f->limit : 100, at = f->asc ? -1 : T_MAX;
    const char *hold = nz(f->holder), *now = LL(p, acp_now()), *key = v && v->knum ? "0" : "";
    const char *q = NULL, *label, *scan;
    int rc, n, searched;

    f->next = NULL;
    f->partial = 0;
    f->path = NULL;
    if (!v || !v->label) {
        *err = apr_psprintf(p, "unknown list '%s'", what);
        return ADM_USAGE;
    }
    if (!strcmp(what, "chain")) { /* the transfers the chain watcher saw, newest first */
        const char *st = nz(f->status) ? f->status : "all";
        return adm_rows_json(adm, p, v->label, v->cols, ACP_SA_ARGS(st, st, LL(p, lim)), arr, err);
    }
    if (!strcmp(what, "expiring")) {
        return adm_rows_json(adm, p, v->label, v->cols,
                         ACP_SA_ARGS(now, LL(p, acp_now() + 30 * DAY), LL(p, lim)), arr, err);
    }
    if (f->after && adm_cursor_parse(p, f->after, &at, &key) != 0) {
        *err = apr_psprintf(p, "--after '%s' is not a cursor this tool printed", f->after);
        return ADM_USAGE;
    }
    if (strcmp(what, "ledger") != 0) {
        q = pattern(adm, p, f->q, err);
        if (q && !*q) {
            return ADM_USAGE;
        }
        if (q) {
            adm_search_current(adm, p);
        }
    }
    /* a search, as find's steps, each within a budget. First how many of the kind's
     * newest 1,000 search records hold the text (the narrow search table alone: a few ms
     * at any size). More than a page: the text is common, and the list scanned newest
     * first with the text checked on each row finds the page at once (the indexes would
     * gather every match first). Else: where the text starts a word, the word index (when
     * it finds rows, those are the answer); then the trigram index; when that stops (a
     * text whose trigrams most rows hold), the scan, unless none of the newest records
     * held the text (a scan within the budget reads some tens of thousands of rows: such
     * a text would not fill a page there), and then the index has half as long again.
     * When every step stopped, the page holds the newest records' matches, named partial
     * (f->partial). f->complete: the trigram index, without a limit */
    label = f->asc ? apr_pstrcat(p, v->label, "_asc", NULL) : v->label;
    scan = apr_pstrcat(p, v->label, "_scan", f->asc ? "_asc" : "", NULL);
    searched = q && acp_sa_stmt_nargs(adm->db->pgsql, scan) >= 0;
    if (searched) {
        /* the trigram index's form that always has a text (label_index) */
        label = apr_pstrcat(p, v->label, "_index", f->asc ? "_asc" : "", NULL);
    }
    if (searched && !f->complete) {
        const char *low = adm_lowercase(p, f->q), *words = acp_sa_search_words(p, f->q,
                                                                                adm->db->pgsql);
        const apr_array_header_t *largs = list_args(p, what, f, low, NULL, now, hold, at, key,
                                                    lim);
        json_object *dense = NULL;
        long long seen = 0;
        int stopped = 0;
        rc = adm_rows_json_within(adm, p, apr_pstrcat(p, v->label, "_dense", NULL), "#n",
                                  ADM_LIST_BUDGET_MS, &stopped, 1, &low, &dense, err);
        if (rc != ADM_OK) {
            return rc;
        }
        if (!stopped && json_object_array_length(dense) == 1) {
            json_object *c = json_object_object_get(json_object_array_get_idx(dense, 0), "n");
            seen = c ? json_object_get_int64(c) : 0;
        }
        *arr = NULL;
        stopped = 1;
        if (seen > lim) {
            rc = run_page(adm, p, v, scan, ADM_LIST_BUDGET_MS, &stopped, largs, arr, err);
            f->path = "scan";
        }
        else {
            if (words) {
                rc = run_page(adm, p, v,
                              apr_pstrcat(p, v->label, "_words", f->asc ? "_asc" : "", NULL),
                              ADM_LIST_BUDGET_MS, &stopped,
                              list_args(p, what, f, words, low, now, hold, at, key, lim), arr,
                              err);
                f->path = "words";
                if (rc == ADM_OK && json_object_array_length(*arr) == 0) {
                    *arr = NULL;
                }
            }
            if (rc == ADM_OK && !*arr) {
                int ms = seen > 0 ? ADM_LIST_BUDGET_MS : ADM_LIST_BUDGET_MS * 3 / 2;
                rc = run_page(adm, p, v, label, ms, &stopped,
                              list_args(p, what, f, q, NULL, now, hold, at, key, lim), arr, err);
                f->path = "index";
            }
            if (rc == ADM_OK && stopped && seen > 0) {
                rc = run_page(adm, p, v, scan, ADM_LIST_BUDGET_MS, &stopped, largs, arr, err);
                f->path = "scan";
            }
        }
        if (rc == ADM_OK && stopped) {
            /* the page among the newest records' matches (at most a page and one of them) */
            int late = 0;
            rc = run_page(adm, p, v,
                          apr_pstrcat(p, v->label, "_newest", f->asc ? "_asc" : "", NULL),
                          ADM_LIST_BUDGET_MS, &late,
                          list_args(p, what, f, low, LL(p, lim + 1), now, hold, at, key, lim),
                          arr, err);
            f->partial = 1;
            f->path = "newest";
        }
    }
    else {
        int stopped = 0;
        f->path = q ? "index" : NULL;
        rc = run_page(adm, p, v, label, 0, &stopped,
                      list_args(p, what, f, q, NULL, now, hold, at, key, lim), arr, err);
    }
    if (rc != ADM_OK) {
        return rc;
    }
    n = (int)json_object_array_length(*arr);
    if (n > lim) {
        json_object *last = json_object_array_get_idx(*arr, (size_t)lim - 1), *t = NULL, *k = NULL;
        json_object_object_get_ex(last, v->tcol, &t);
        json_object_object_get_ex(last, v->kcol, &k);
        f->next = apr_psprintf(p, "%s.%s", json_object_get_string(t), json_object_get_string(k));
        json_object_array_del_idx(*arr, (size_t)lim, (size_t)(n - lim));
    }
    if (!strcmp(what, "orgs")) {
        adm_org_decorate(adm, *arr);
    }
    if (!strcmp(what, "orders")) {
        size_t i;
        for (i = 0; i < json_object_array_length(*arr); i++) {
            json_object *o = json_object_array_get_idx(*arr, i), *w = NULL, *st = NULL;
            const char *s2;
            json_object_object_get_ex(o, "awaiting", &w);
            json_object_object_get_ex(o, "status", &st);
            s2 = st ? json_object_get_string(st) : "";
            json_object_object_add(o, "payment",
                                   w && json_object_get_int64(w) > 0 &&
                                           (!strcmp(s2, "ready") || !strcmp(s2, "pending"))
                                       ? json_object_new_string("awaiting payment")
                                       : NULL);
        }
    }
    return ADM_OK;
}
