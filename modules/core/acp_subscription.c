/* Subscriptions: coverage and renewal, pro-rata refunds, cancel and extend
 * (acp_subscription.h). */
#include <string.h>
#include <apr_strings.h>
#include "acp_subscription.h"
#include "acp_billing.h"
#include "acp_util.h"
#include "acp_validity.h"

#define LL(p, v) acp_sa_ll(p, v)

long long acp_subscription_window(long long window, long long term)
{
    if (window < 0) {
        window = 0;
    }
    return window > term / 2 ? term / 2 : window;
}

int acp_subscription_names_subset(apr_pool_t *p, const char *sub, const char *key)
{
    char *copy = apr_pstrdup(p, sub), *last = NULL, *n;

    for (n = apr_strtok(copy, ",", &last); n; n = apr_strtok(NULL, ",", &last)) {
        size_t nl = strlen(n);
        const char *at = key;
        int found = 0;
        while ((at = strstr(at, n)) != NULL) {
            if ((at == key || at[-1] == ',') && (at[nl] == ',' || at[nl] == '\0')) {
                found = 1;
                break;
            }
            at++;
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

apr_status_t acp_subscription_cover(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                    const char *profile, const char *names_key,
                                    long long window, long long now, acp_sub_cover_t *out)
{
    apr_array_header_t *rows = NULL;
    apr_status_t rv;
    int i, moved, rounds;

    memset(out, 0, sizeof(*out));
    /* running or bought ahead, not void or cancelled, the earliest first */
    rv = acp_sa_rows(db, p, "acp_subscription_ahead", &rows,
                     ACP_SA_ARGS(billing_id, profile, LL(p, now)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        long long starts = acp_sa_atoll(r[2]), ends = acp_sa_atoll(r[3]);
        if (starts <= now && ends > now && acp_subscription_names_subset(p, names_key, r[1]) &&
            (!out->id || ends > out->chain_end)) {
            out->id = r[0];
            out->chain_end = ends;
        }
    }
    if (!out->id) {
        return APR_SUCCESS;
    }
    /* terms bought ahead extend the coverage when they start by its end (at most one
     * pass per row) */
    for (rounds = 0, moved = 1; moved && rounds < rows->nelts; rounds++) {
        moved = 0;
        for (i = 0; i < rows->nelts; i++) {
            const char **r = APR_ARRAY_IDX(rows, i, const char **);
            long long starts = acp_sa_atoll(r[2]), ends = acp_sa_atoll(r[3]);
            if (starts <= out->chain_end && ends > out->chain_end &&
                acp_subscription_names_subset(p, names_key, r[1])) {
                out->chain_end = ends;
                moved = 1;
            }
        }
    }
    out->renew = out->chain_end - now <= window;
    return APR_SUCCESS;
}

long long acp_subscription_prorata(long long price, long long paid_start, long long paid_end,
                                   long long now)
{
    long long paid = paid_end - paid_start, unused, q, r;

    if (price <= 0 || paid <= 0) {
        return 0;
    }
    unused = paid_end - (now > paid_start ? now : paid_start);
    if (unused <= 0) {
        return 0;
    }
    if (unused >= paid) {
        return price;
    }
    /* floor(price * unused / paid) without overflow: price = q * paid + r, r < paid */
    q = price / paid;
    r = price % paid;
    return q * unused + (r * unused) / paid;
}

/* The subscription's row, refused when it no longer runs. */
static apr_status_t get_live(acp_db_t *db, apr_pool_t *p, const char *id, long long now,
                             const char ***row, const char **why)
{
    apr_status_t rv = acp_sa_row(db, p, "acp_subscription_get", row, ACP_SA_ARGS(id));
    long long starts, ends;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!*row) {
        return APR_NOTFOUND;
    }
    starts = acp_sa_atoll((*row)[4]);
    ends = acp_sa_atoll((*row)[5]);
    if ((*row)[7]) {
        *why = "the subscription was cancelled already";
        return APR_EINVAL;
    }
    if (ends < starts) {
        *why = "the subscription is void (its purchase was refunded)";
        return APR_EINVAL;
    }
    if (ends <= now) {
        *why = "the subscription has ended";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acp_subscription_cancel_tx(acp_db_t *db, apr_pool_t *p, const char *id,
                                        int refund_none, const char *actor, const char *reason,
                                        long long now, acp_sub_change_t *out, const char **why)
{
    const char **r = NULL;
    long long price, starts, ends, extended, refund;
    int n = 0;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    rv = get_live(db, p, id, now, &r, why);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out->billing_id = r[1];
    out->order_id = r[2];
    price = acp_sa_atoll(r[3]);
    starts = acp_sa_atoll(r[4]);
    ends = acp_sa_atoll(r[5]);
    extended = acp_sa_atoll(r[6]);
    /* the holder's row first: a finalize covered by this subscription waits for us */
    if ((rv = acp_sa_exec(db, p, "acp_billing_lock", NULL, ACP_SA_ARGS(out->billing_id))) !=
        APR_SUCCESS) {
        return rv;
    }
    /* staff's extensions are free: only the paid part is refunded */
    refund = refund_none ? 0 : acp_subscription_prorata(price, starts, ends - extended, now);
    out->ends = now > starts ? now : starts;
    /* once: the row changes only while not cancelled */
    rv = acp_sa_exec(db, p, "acp_subscription_cancel", &n,
                     ACP_SA_ARGS(LL(p, out->ends), LL(p, now), actor, reason, LL(p, refund), id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n != 1) {
        *why = "the subscription was cancelled already";
        return APR_EINVAL;
    }
    out->refund = refund;
    /* the refund (or the record of none) on the purchasing order, in this transaction */
    return acp_billing_order_credit_tx(
        db, p, out->billing_id, out->order_id, refund, "refund", id, actor,
        apr_psprintf(p, "subscription %s cancelled (%s refund): %s", id,
                     refund_none ? "no" : "pro-rata", reason),
        &out->balance);
}

apr_status_t acp_subscription_extend_tx(acp_db_t *db, apr_pool_t *p, const char *id,
                                        long long seconds, const char *actor,
                                        const char *reason, long long now,
                                        acp_sub_change_t *out, const char **why)
{
    const char **r = NULL;
    int n = 0;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (seconds <= 0) {
        *why = "an extension is a positive duration";
        return APR_EINVAL;
    }
    rv = get_live(db, p, id, now, &r, why);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out->billing_id = r[1];
    out->order_id = r[2];
    out->ends = acp_sa_atoll(r[5]) + seconds;
    rv = acp_sa_exec(db, p, "acp_subscription_extend", &n,
                     ACP_SA_ARGS(LL(p, seconds), LL(p, seconds), id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n != 1) {
        *why = "the subscription changed meanwhile";
        return APR_EINVAL;
    }
    /* audited like money: a ledger row of 0 naming the subscription */
    return acp_billing_adjust_tx(
        db, p, out->billing_id, 0, "extend", actor,
        apr_psprintf(p, "subscription %s extended by %s to %s: %s", id,
                     acp_validity_text(p, seconds), acp_rfc3339(p, out->ends), reason),
        NULL, id, &out->balance);
}
