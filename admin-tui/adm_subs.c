/* acme-pay-admin subscriptions list|show|extend|cancel|revenue: terms sold under
 * AcmePayProfile ... term=. Extend and cancel are staff actions with a --reason, each one
 * transaction with its ledger row (acp_subscription.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_subscription.h"
#include "acp_util.h"
#include "acp_money.h"

#define EXPIRING (30LL * 86400)

static const char *status_of(const char **r, long long now)
{
    long long starts = acp_sa_atoll(r[4]), ends = acp_sa_atoll(r[5]);

    if (ends < starts) {
        return "void";
    }
    if (r[9]) {
        return "cancelled";
    }
    if (starts > now) {
        return "upcoming";
    }
    return ends > now ? "active" : "ended";
}

/* One row of adm_subscriptions / adm_subscription_get as an object. */
static json_object *row_json(adm_t *adm, apr_pool_t *p, const char **r, long long now)
{
    long long starts = acp_sa_atoll(r[4]), ends = acp_sa_atoll(r[5]);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(r[0]));
    json_object_object_add(o, "holder", json_object_new_string(r[1]));
    json_object_object_add(o, "profile", json_object_new_string(r[2]));
    json_object_object_add(o, "names", json_object_new_string(r[3]));
    json_object_object_add(o, "start", json_object_new_string(acp_rfc3339(p, starts)));
    json_object_object_add(o, "end", json_object_new_string(acp_rfc3339(p, ends)));
    json_object_object_add(o, "starts_at", json_object_new_int64(starts));
    json_object_object_add(o, "ends_at", json_object_new_int64(ends));
    json_object_object_add(o, "status", json_object_new_string(status_of(r, now)));
    json_object_object_add(o, "order", json_object_new_string(r[6]));
    json_object_object_add(o, "price", json_object_new_int64(acp_sa_atoll(r[7])));
    json_object_object_add(o, "extended", json_object_new_int64(acp_sa_atoll(r[8])));
    if (r[9]) {
        json_object_object_add(o, "cancelled",
                               json_object_new_string(acp_rfc3339(p, acp_sa_atoll(r[9]))));
        json_object_object_add(o, "cancelled_by", json_object_new_string(r[10] ? r[10] : ""));
        json_object_object_add(o, "cancel_reason", json_object_new_string(r[11] ? r[11] : ""));
        json_object_object_add(o, "refunded", json_object_new_int64(acp_sa_atoll(r[12])));
    }
    return o;
}

static json_object *list_rows(adm_t *adm, apr_pool_t *p, const char *holder, int active,
                              long long ending_by, const char **err)
{
    apr_array_header_t *rows = NULL;
    long long now = acp_now(), run = active ? now : 0;
    json_object *arr;
    int i;

    if (adm_open_db(adm, 0, err) != ADM_OK) {
        return NULL;
    }
    if (acp_sa_rows(adm->db, p, "adm_subscriptions", &rows,
                    ACP_SA_ARGS(holder, holder, acp_sa_ll(p, run), acp_sa_ll(p, run),
                                acp_sa_ll(p, run), acp_sa_ll(p, ending_by),
                                acp_sa_ll(p, ending_by), acp_sa_ll(p, 1000))) != APR_SUCCESS) {
        *err = "database error reading subscriptions";
        return NULL;
    }
    arr = adm_jpool(p, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        json_object_array_add(arr, row_json(adm, p, APR_ARRAY_IDX(rows, i, const char **), now));
    }
    return arr;
}

json_object *adm_subs_rows(adm_t *adm, apr_pool_t *p, const char *holder, const char **err)
{
    static const char *const keys[] = {"id", "status", "profile", "end", "price", "names",
                                       NULL};
    json_object *all = list_rows(adm, p, holder, 0, 0, err), *out;
    size_t i, k;

    if (!all) {
        return NULL;
    }
    /* the holder page's section: the columns a console line holds */
    out = json_object_new_array();
    for (i = 0; i < json_object_array_length(all); i++) {
        json_object *r = json_object_array_get_idx(all, i), *o = json_object_new_object(), *v;
        for (k = 0; keys[k]; k++) {
            if (json_object_object_get_ex(r, keys[k], &v)) {
                json_object_object_add(o, keys[k], json_object_get(v));
            }
        }
        json_object_array_add(out, o);
    }
    return out;
}

/* The end of a staff action's transaction: commit, or roll back with why. */
static int finish(adm_t *adm, apr_pool_t *p, apr_status_t rv, const char *what, const char *why,
                  adm_result_t *r)
{
    if (rv != APR_SUCCESS) {
        const char *msg = rv == APR_NOTFOUND ? "no such subscription"
                          : why                ? why
                                               : acp_sa_error(adm->db, p, 1);
        acp_sa_rollback(adm->db);
        return adm_result(r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL,
                          apr_psprintf(p, "%s refused: %s", what, msg), NULL);
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, apr_psprintf(p, "%s: commit failed", what), NULL);
    }
    return ADM_OK;
}

static json_object *change_json(adm_t *adm, apr_pool_t *p, const char *id,
                                const acp_sub_change_t *c, const char *reason)
{
    json_object *o = adm_jpool(p, json_object_new_object());

    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "holder", json_object_new_string(c->billing_id));
    json_object_object_add(o, "end", json_object_new_string(acp_rfc3339(p, c->ends)));
    json_object_object_add(o, "ends_at", json_object_new_int64(c->ends));
    json_object_object_add(o, "refund", json_object_new_int64(c->refund));
    json_object_object_add(o, "balance", json_object_new_int64(c->balance));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return o;
}

int adm_op_sub_cancel(adm_t *adm, apr_pool_t *p, const char *id, const char *policy,
                      const char *reason, adm_result_t *r)
{
    acp_sub_change_t c;
    const char *why = NULL, *err = NULL;
    apr_status_t rv;
    int none;

    if (!policy) {
        policy = adm->sub_refund ? adm->sub_refund : "prorata";
    }
    if (strcasecmp(policy, "prorata") && strcasecmp(policy, "none")) {
        return adm_result(r, ADM_USAGE, "the refund policy is prorata or none", NULL);
    }
    none = !strcasecmp(policy, "none");
    if (!id || !*id) {
        return adm_result(r, ADM_USAGE, "a subscription id is required", NULL);
    }
    if (!reason || !*reason) {
        return adm_result(r, ADM_USAGE, "a --reason is required to cancel a subscription", NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_subscription_cancel_tx(adm->db, p, id, none, adm->actor, reason, acp_now(), &c,
                                    &why);
    if (finish(adm, p, rv, "cancel", why, r) != ADM_OK) {
        return r->code;
    }
    return adm_result(r, ADM_OK,
                      apr_psprintf(p, "cancelled %s (%s): refunded %s, balance %s", id,
                                   none ? "no refund" : "pro rata",
                                   acp_money(p, c.refund, adm_currency(adm)),
                                   acp_money(p, c.balance, adm_currency(adm))),
                      change_json(adm, p, id, &c, reason));
}

int adm_op_sub_extend(adm_t *adm, apr_pool_t *p, const char *id, const char *duration,
                      const char *reason, adm_result_t *r)
{
    long long by = adm_duration(duration);
    acp_sub_change_t c;
    const char *why = NULL, *err = NULL;
    apr_status_t rv;

    if (!id || !*id || by <= 0 || by > 3650LL * 86400) {
        return adm_result(r, ADM_USAGE,
                          "usage: subscriptions extend ID DURATION (30d, 12h) --reason R", NULL);
    }
    if (!reason || !*reason) {
        return adm_result(r, ADM_USAGE, "a --reason is required to extend a subscription", NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_subscription_extend_tx(adm->db, p, id, by, adm->actor, reason, acp_now(), &c, &why);
    if (finish(adm, p, rv, "extend", why, r) != ADM_OK) {
        return r->code;
    }
    return adm_result(r, ADM_OK, apr_psprintf(p, "extended %s to %s", id, acp_rfc3339(p, c.ends)),
                      change_json(adm, p, id, &c, reason));
}

static int result(adm_t *adm, adm_result_t *r)
{
    if (r->code != ADM_OK) {
        return adm_fail(adm, r->code, r->msg);
    }
    adm_emit(adm, r->out, apr_pstrcat(adm->pool, r->msg, "\n", NULL));
    return ADM_OK;
}

static int cmd_show(adm_t *adm, const char *id)
{
    const char **row = NULL, *err = NULL;
    apr_array_header_t *rows = NULL;
    json_object *o, *hist;
    int i;

    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_row(adm->db, adm->pool, "adm_subscription_get", &row, ACP_SA_ARGS(id)) !=
        APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading the subscription");
    }
    if (!row) {
        return adm_fail(adm, ADM_USAGE, apr_psprintf(adm->pool, "no subscription '%s'", id));
    }
    o = adm_jpool(adm->pool, row_json(adm, adm->pool, row, acp_now()));
    if (acp_sa_rows(adm->db, adm->pool, "adm_subscription_ledger", &rows,
                    ACP_SA_ARGS(id, row[6])) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading the ledger");
    }
    hist = json_object_new_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **l = APR_ARRAY_IDX(rows, i, const char **);
        json_object *h = json_object_new_object();
        json_object_object_add(h, "ledger", json_object_new_string(l[0]));
        json_object_object_add(
            h, "created", json_object_new_string(acp_rfc3339(adm->pool, acp_sa_atoll(l[1]))));
        json_object_object_add(h, "kind", json_object_new_string(l[2]));
        json_object_object_add(h, "delta", json_object_new_int64(acp_sa_atoll(l[3])));
        json_object_object_add(h, "actor", json_object_new_string(l[4] ? l[4] : ""));
        json_object_object_add(h, "reason", json_object_new_string(l[5] ? l[5] : ""));
        json_object_object_add(h, "order", json_object_new_string(l[6] ? l[6] : ""));
        json_object_array_add(hist, h);
    }
    json_object_object_add(o, "ledger", hist);
    {
        json_object *head = adm_jpool(adm->pool, json_object_new_array());
        json_object_array_add(head, json_object_get(o));
        adm_emit(adm, o,
                 apr_pstrcat(adm->pool,
                             adm_table(adm, adm->pool, head,
                                       "id,holder,profile,names,start,end,status,price"),
                             "\n",
                             adm_table(adm, adm->pool, hist, "created,kind,delta,actor,reason"),
                             NULL));
    }
    return ADM_OK;
}

static int cmd_revenue(adm_t *adm)
{
    apr_array_header_t *rows = NULL;
    const char *err = NULL;
    long long now = acp_now();
    json_object *arr;
    int i;

    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_rows(adm->db, adm->pool, "adm_subscription_revenue", &rows,
                    ACP_SA_ARGS(acp_sa_ll(adm->pool, now), acp_sa_ll(adm->pool, now),
                                acp_sa_ll(adm->pool, now), acp_sa_ll(adm->pool, now),
                                acp_sa_ll(adm->pool, now + EXPIRING))) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading subscriptions");
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        long long sold = acp_sa_atoll(r[4]), refunded = acp_sa_atoll(r[5]);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "profile", json_object_new_string(r[0]));
        json_object_object_add(o, "sold", json_object_new_int64(acp_sa_atoll(r[1])));
        json_object_object_add(o, "active", json_object_new_int64(acp_sa_atoll(r[2])));
        json_object_object_add(o, "expiring_30d", json_object_new_int64(acp_sa_atoll(r[3])));
        json_object_object_add(o, "charged", json_object_new_int64(sold));
        json_object_object_add(o, "refunded", json_object_new_int64(refunded));
        json_object_object_add(o, "revenue", json_object_new_int64(sold - refunded));
        json_object_array_add(arr, o);
    }
    adm_emit(adm, arr, adm_table(adm, adm->pool, arr, NULL));
    return ADM_OK;
}

int adm_cmd_subscriptions(adm_t *adm, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "", *err = NULL;
    const char *id = argc > 1 && strncmp(argv[1], "--", 2) ? argv[1] : NULL;
    const char *reason = adm_opt(argc, argv, "--reason");
    adm_result_t r;

    if (!strcmp(sub, "list")) {
        json_object *arr;
        int active = adm_flag(argc, argv, "--active"), expiring = adm_flag(argc, argv, "--expiring");
        arr = list_rows(adm, adm->pool, adm_opt(argc, argv, "--holder"), active || expiring,
                        expiring ? acp_now() + EXPIRING : 0, &err);
        if (!arr) {
            return adm_fail(adm, ADM_FAIL, err);
        }
        adm_emit(adm, arr,
                 adm_table(adm, adm->pool, arr, "id,holder,profile,names,start,end,status,price"));
        return ADM_OK;
    }
    if (!strcmp(sub, "show") && id) {
        return cmd_show(adm, id);
    }
    if (!strcmp(sub, "revenue")) {
        return cmd_revenue(adm);
    }
    if (!strcmp(sub, "extend") && id) {
        const char *dur = argc > 2 && strncmp(argv[2], "--", 2) ? argv[2] : NULL;
        adm_op_sub_extend(adm, adm->pool, id, dur, reason, &r);
        return result(adm, &r);
    }
    if (!strcmp(sub, "cancel") && id) {
        const char *policy = adm_opt(argc, argv, "--refund");
        if (reason && *reason && !adm->yes && isatty(0) &&
            !adm_confirm(apr_psprintf(adm->pool, "Cancel subscription %s (refund: %s)?", id,
                                      policy ? policy
                                      : adm->sub_refund ? adm->sub_refund
                                                        : "prorata"))) {
            return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
        }
        adm_op_sub_cancel(adm, adm->pool, id, policy, reason, &r);
        return result(adm, &r);
    }
    return adm_fail(adm, ADM_USAGE,
                    "usage: subscriptions list [--holder H] [--active] [--expiring] | show ID | "
                    "extend ID DURATION --reason R | cancel ID --reason R [--refund prorata|none] "
                    "| revenue");
}
