/* Subscriptions: a profile sold as a term (AcmePayProfile ... term=). Which purchase
 * covers a finalize and whether it is a renewal, the pro-rata refund, and staff's cancel
 * and extend. Billing policy over sa records; callers hold the transaction (*_tx). */
#ifndef ACP_SUBSCRIPTION_H
#define ACP_SUBSCRIPTION_H

#include "acp_core.h"
#include "acp_sa.h"

/* What a finalize for names_key under a term profile finds at now. */
typedef struct acp_sub_cover_t {
    const char *id;         /* the subscription running now that covers the names (the
                               same names or a superset); NULL: none, a first purchase */
    long long chain_end;    /* the end of the coverage from now on: id's end, or later
                               when a next term was bought ahead (renewals start at the
                               previous end) */
    int renew;              /* covered, but chain_end lies within the renewal window:
                               the finalize buys the next term from chain_end */
} acp_sub_cover_t;

/* The renewal window of a term: AcmePaySubscriptionRenewWindow, at most half the term
 * (so a term is never bought again at once). */
long long acp_subscription_window(long long window, long long term);

/* Reads the holder's subscriptions under profile (voided, cancelled and ended ones do
 * not cover). window: acp_subscription_window's. */
apr_status_t acp_subscription_cover(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                    const char *profile, const char *names_key,
                                    long long window, long long now, acp_sub_cover_t *out);

/* 1 when every name of sub (a names_key) is in key's comma-separated list. */
int acp_subscription_names_subset(apr_pool_t *p, const char *sub, const char *key);

/* What cancelling at now gives back of price paid for paid_start .. paid_end (staff's
 * extensions are not paid for): price x unused / paid, rounded down (the holder loses
 * less than one minor unit), exact in 64 bits. 0 when nothing is unused. */
long long acp_subscription_prorata(long long price, long long paid_start, long long paid_end,
                                   long long now);

typedef struct acp_sub_change_t {
    const char *billing_id, *order_id;
    long long refund;       /* cancel: credited to the holder (0 under "none") */
    long long balance;      /* the holder's balance after */
    long long ends;         /* the subscription's end after the change */
} acp_sub_change_t;

/* Cancel: the subscription ends now (one that has not started never runs), the refund
 * (pro rata unless refund_none) is credited with a ledger row of kind "refund" on the
 * purchasing order naming it; cancelling twice is refused. APR_NOTFOUND: no such
 * subscription; APR_EINVAL: void, ended or cancelled already (*why says which). */
apr_status_t acp_subscription_cancel_tx(acp_db_t *db, apr_pool_t *p, const char *id,
                                        int refund_none, const char *actor, const char *reason,
                                        long long now, acp_sub_change_t *out, const char **why);

/* Extend: the end moves by seconds (> 0), recorded with a ledger row of 0 (kind
 * "extend", actor, reason). Errors as cancel's. */
apr_status_t acp_subscription_extend_tx(acp_db_t *db, apr_pool_t *p, const char *id,
                                        long long seconds, const char *actor,
                                        const char *reason, long long now,
                                        acp_sub_change_t *out, const char **why);

#endif
