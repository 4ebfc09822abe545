/* Billing at finalize: the quote before it (acp_billing_quote_tx), the charge with its
 * free reissues, renewals and subscription terms (acp_billing_charge_tx), and the refund
 * when issuance fails for good (acp_billing_refund_tx). */
#include <limits.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_billing.h"
#include "acp_billing_int.h"
#include "acp_money.h"
#include "acp_subscription.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

/* The refusal when a holder's money is in another currency than this server charges. */
static acp_problem_t *currency_problem(apr_pool_t *p, const char *held, const char *wanted)
{
    return acp_problem(p, ACP_ERR_UNAUTHORIZED,
                       "this account's balance is held in %s and this server charges in %s: "
                       "balances do not move between currencies; use an account registered "
                       "for %s",
                       held, wanted, wanted);
}

/* The holder's newest unrevoked certificate for exactly these names issued within the
 * window (the free-reissue rule); *row = NULL when there is none. */
static apr_status_t reissue_match(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                  const char *billing_id, const char *names_key,
                                  const char ***row)
{
    long long now = acp_now();

    *row = NULL;
    if (cfg->reissue_window <= 0) {
        return APR_SUCCESS;
    }
    if (cfg->profile) {
        return acp_sa_row(db, p, "acp_cert_reissue_match_profile", row,
                          ACP_SA_ARGS(billing_id, names_key, LL(p, now - cfg->reissue_window),
                                      LL(p, now), cfg->profile));
    }
    return acp_sa_row(db, p, "acp_cert_reissue_match", row,
                      ACP_SA_ARGS(billing_id, names_key, LL(p, now - cfg->reissue_window),
                                  LL(p, now)));
}

/* PostgreSQL, a priced order outside a term product: acp_billing_charge_ready (the order
 * locked while ready, the free-reissue look-up and the debit, one statement). *m: its row,
 * always one (see the catalogue). */
static apr_status_t charge_ready(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                 const char *billing_id, const char *order_id,
                                 const char *names_key, long long price, const char ***m)
{
    long long now = acp_now(),
              /* no window: a start no certificate was issued after */
        from = cfg->reissue_window > 0 ? now - cfg->reissue_window : LLONG_MAX;

    return acp_sa_row(db, p, "acp_billing_charge_ready", m,
                      ACP_SA_ARGS(order_id, billing_id, names_key, LL(p, from), LL(p, now),
                                  cfg->profile, cfg->profile, LL(p, price), cfg->currency,
                                  billing_id, cfg->currency, LL(p, price), acp_random_id(p, 12),
                                  LL(p, -price), order_id, LL(p, now), LL(p, now), order_id));
}

/* Under a term profile: what covers this finalize now (acp_subscription_cover). */
static apr_status_t sub_cover(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                              const char *billing_id, const char *names_key,
                              acp_sub_cover_t *cov)
{
    return acp_subscription_cover(db, p, billing_id, cfg->profile, names_key,
                                  acp_subscription_window(cfg->sub_renew_window, cfg->term),
                                  acp_now(), cov);
}

acp_problem_t *acp_billing_quote_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                    const char *billing_id, const char *order_id,
                                    const char *names_key, const apr_array_header_t *names,
                                    const char *base_url)
{
    const char **row = NULL, *held = NULL;
    long long price = acp_price(&cfg->price, names), balance = 0;

    if (price <= 0) {
        return NULL;
    }
    if (cfg->term > 0 && cfg->profile) {
        acp_sub_cover_t cov;
        if (sub_cover(db, p, cfg, billing_id, names_key, &cov) != APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading subscriptions");
        }
        if (cov.id && !cov.renew) {
            return NULL;
        }
    }
    else if (reissue_match(db, p, cfg, billing_id, names_key, &row) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading the balance");
    }
    if (acp_billing_int_holder_get(db, p, billing_id, &balance, &held) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading the balance");
    }
    if (row) {
        return NULL;
    }
    if (held && strcmp(held, cfg->currency) != 0) {
        return currency_problem(p, held, cfg->currency);
    }
    if (balance >= price) {
        return NULL;
    }
    return acp_billing_int_payment_required(db, p, cfg, billing_id, order_id, price - balance,
                                            names, base_url);
}

acp_problem_t *acp_billing_charge_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                     const char *billing_id, const char *order_id,
                                     const char *names_key, const apr_array_header_t *names,
                                     long long default_not_after, const char *base_url,
                                     acp_charge_t *charge)
{
    const char **row = NULL, **drow = NULL, *held = NULL;
    long long balance = 0, after = 0;
    int have_after = 0, booked = 0;
    const char *reason = "certificate";
    acp_charge_t in = *charge;
    int term = cfg->term > 0 && cfg->profile, covered = 0, merged;
    acp_sub_cover_t cov;

    memset(charge, 0, sizeof(*charge));
    memset(&cov, 0, sizeof(cov));
    charge->replaces_cert_id = in.replaces_cert_id;
    charge->replaces_serial = in.replaces_serial;
    charge->replaces_not_after = in.replaces_not_after;
    charge->replaces_free = in.replaces_free;
    charge->price = acp_price(&cfg->price, names);
    merged = db->pgsql && !term && !in.replaces_free && charge->price > 0;
    if (merged) {
        /* PostgreSQL: the order locked while ready, the reissue look-up and the debit */
        const char **m = NULL;
        if (charge_ready(db, p, cfg, billing_id, order_id, names_key, charge->price, &m) !=
            APR_SUCCESS) {
            const char *e = acp_sa_error(db, p, 1);
            if (e && strstr(e, "duplicate key")) {
                /* the unique (order, kind) index: a second charge of one order */
                return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order was already charged");
            }
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error debiting");
        }
        if (!m || acp_sa_atoll(m[0]) != 1) {
            return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order is no longer ready");
        }
        charge->order_locked = 1;
        row = m[1] ? m + 1 : NULL;  /* the reissued certificate: id, notAfter */
        drow = m[3] ? m + 3 : NULL; /* the debit: balance and currency after */
        booked = drow != NULL;
    }
    else if (term) {
        /* a subscription product: covered while one runs for these names (or more);
         * the holder's row lock first, so a racing first purchase waits and then sees it */
        if (acp_sa_exec(db, p, "acp_billing_lock", NULL, ACP_SA_ARGS(billing_id)) !=
                APR_SUCCESS ||
            sub_cover(db, p, cfg, billing_id, names_key, &cov) != APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error");
        }
        if (cov.id && !cov.renew) {
            covered = 1;
            charge->subscription = cov.id;
            charge->not_after_cap = cov.chain_end;
            reason = apr_pstrcat(p, "covered by subscription ", cov.id, NULL);
        }
    }
    else if (reissue_match(db, p, cfg, billing_id, names_key, &row) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (row) {
        charge->reissue_of = row[0];
        charge->not_after_cap = acp_sa_atoll(row[1]);
        reason = "free reissue within the window";
    }
    if (in.replaces_cert_id && (row || in.replaces_free)) {
        /* a renewal (RFC 9773 replaces): the ledger names what it replaced */
        charge->reissue_of = in.replaces_cert_id;
        if (in.replaces_not_after &&
            (!charge->not_after_cap || in.replaces_not_after < charge->not_after_cap)) {
            charge->not_after_cap = in.replaces_not_after;
        }
        reason = apr_pstrcat(p, "free renewal replacing ",
                             in.replaces_serial ? in.replaces_serial : in.replaces_cert_id, NULL);
    }
    if (!charge->reissue_of && !covered && charge->price > 0) {
        /* only in the holder's currency, only down to zero (merged: done above) */
        if (!merged && acp_sa_row(db, p, "acp_billing_debit_ret", &drow,
                                  ACP_SA_ARGS(LL(p, charge->price), cfg->currency, billing_id,
                                              cfg->currency, LL(p, charge->price))) !=
                           APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error debiting");
        }
        if (drow) {
            /* the balance after, for the ledger row */
            after = acp_sa_atoll(drow[0]);
            held = drow[1];
            have_after = 1;
        }
        else {
            if (acp_billing_int_holder_get(db, p, billing_id, &balance, &held) != APR_SUCCESS) {
                return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "unknown billing holder");
            }
            if (held && strcmp(held, cfg->currency) != 0) {
                return currency_problem(p, held, cfg->currency);
            }
            return acp_billing_int_payment_required(db, p, cfg, billing_id, order_id,
                                                    charge->price - balance, names, base_url);
        }
        charge->charged = charge->price;
    }
    if (term && !covered) {
        /* a purchase: the subscription opens with the charge, in this transaction; a
         * renewal (within the window of the end) starts where the running one ends, so
         * no day is lost and none paid twice */
        long long starts = cov.renew ? cov.chain_end : acp_now();
        int ins = 0;
        charge->subscription = acp_random_id(p, 12);
        charge->not_after_cap = starts + cfg->term;
        if (acp_sa_exec(db, p, "acp_subscription_insert", &ins,
                        ACP_SA_ARGS(charge->subscription, billing_id, names_key, cfg->profile,
                                    order_id, LL(p, charge->price), LL(p, starts),
                                    LL(p, charge->not_after_cap), billing_id, names_key,
                                    cfg->profile)) != APR_SUCCESS ||
            ins != 1) {
            /* a concurrent finalize bought it first: nothing here is kept */
            return acp_problem(p, ACP_ERR_ORDER_NOT_READY,
                               "a subscription for these names was just bought by another "
                               "order; finalize again (it is now covered)");
        }
        reason = cov.renew ? apr_pstrcat(p, "subscription ", charge->subscription,
                                         " bought, renewing ", cov.id, " from ",
                                         acp_rfc3339(p, starts), NULL)
                           : apr_pstrcat(p, "subscription ", charge->subscription, " bought",
                                         NULL);
    }
    /* (acp_billing_charge_ready wrote the ledger row and closed the invoices already) */
    if (!booked) {
        if ((!have_after &&
             acp_billing_int_holder_get(db, p, billing_id, &after, &held) != APR_SUCCESS) ||
            acp_billing_int_ledger(db, p, billing_id, -charge->charged, after, held,
                                   covered ? "subscription"
                                   : charge->reissue_of ? "reissue" : "debit",
                                   order_id, NULL, charge->reissue_of,
                                   covered ? charge->subscription : NULL, "acme",
                                   reason) != APR_SUCCESS) {
            /* the unique (order, kind) index refuses a second charge of one order */
            return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order was already charged");
        }
        /* the order's money question is answered: its open invoices are closed */
        if (acp_sa_exec(db, p, "acp_invoice_close_order", NULL,
                        ACP_SA_ARGS(LL(p, acp_now()), "acme",
                                    covered ? "covered by a subscription"
                                    : charge->reissue_of ? "free reissue within the window"
                                                       : "order charged from the balance",
                                    order_id)) != APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error closing invoices");
        }
    }
    {
        /* the caller stores it on the order with the charge (acp_order_processing) */
        long long na = default_not_after;
        if (charge->not_after_cap && (!na || na > charge->not_after_cap)) {
            na = charge->not_after_cap;
        }
        charge->not_after = na;
    }
    return NULL;
}

apr_status_t acp_billing_refund_tx(acp_db_t *db, apr_pool_t *p, const char *order_id,
                                   const char *reason)
{
    apr_array_header_t *rows = NULL;
    long long debit = 0, after = 0;
    const char *billing_id = NULL, *held = NULL, *debit_currency = NULL, **row = NULL;
    int i, refunded = 0;
    apr_status_t rv = acp_sa_rows(db, p, "acp_ledger_order", &rows, ACP_SA_ARGS(order_id));

    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        if (!strcmp(r[0], "debit")) {
            debit = -acp_sa_atoll(r[1]);
            billing_id = r[2];
            debit_currency = r[3];
        }
        else if (!strcmp(r[0], "refund")) {
            refunded = 1;
        }
    }
    if (refunded || debit <= 0 || !billing_id) {
        return APR_SUCCESS;
    }
    /* back in the currency it was taken in (the holder's: no other can be debited; a
     * debit from before schema 4 names none) */
    rv = acp_billing_int_holder_get(db, p, billing_id, &after, &held);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!debit_currency) {
        debit_currency = held;
    }
    /* the balance and currency after come back with the update */
    rv = acp_sa_row(db, p, "acp_billing_add_ret", &row,
                    ACP_SA_ARGS(LL(p, debit), debit_currency, billing_id, debit_currency));
    if (rv == APR_SUCCESS && !row) {
        rv = APR_EMISMATCH;
    }
    if (rv == APR_SUCCESS) {
        after = acp_sa_atoll(row[0]);
        held = row[1];
        rv = acp_billing_int_ledger(db, p, billing_id, debit, after, held, "refund", order_id,
                                    NULL, NULL, NULL, "system", reason);
    }
    if (rv == APR_SUCCESS) {
        /* a subscription this order bought never started */
        rv = acp_sa_exec(db, p, "acp_subscription_void", NULL, ACP_SA_ARGS(order_id));
    }
    return rv;
}
