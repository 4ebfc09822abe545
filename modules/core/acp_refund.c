/* Refunds made in a payment provider's console, recorded by staff (acme-pay-admin refund
 * record). The order of the steps in acp_refund_record_tx is the design: the refund row
 * first (its primary key makes a second record of the same refund a no-op), then the
 * payment's refunded amount raised only while it stays within what the payment credited
 * (a conditional UPDATE, so two concurrent records cannot both pass), then the debit with
 * its ledger row through billing's one path. */
#include <string.h>
#include <apr_strings.h>
#include "acp_refund.h"
#include "acp_billing.h"
#include "acp_money.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

/* 1..max printable ASCII characters, no space (stored, shown to staff, searched) */
static int token_ok(const char *s, size_t max)
{
    size_t n;

    if (!s) {
        return 0;
    }
    for (n = 0; s[n]; n++) {
        if (s[n] <= 0x20 || s[n] >= 0x7f || n >= max) {
            return 0;
        }
    }
    return n > 0;
}

static int provider_ok(const char *s)
{
    size_t n;

    if (!s) {
        return 0;
    }
    for (n = 0; s[n]; n++) {
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
              s[n] == '_') ||
            n >= 32) {
            return 0;
        }
    }
    return n > 0;
}

const char *acp_refund_ledger_ref(apr_pool_t *p, const acp_refund_t *rf)
{
    return rf->refund_id && *rf->refund_id
               ? apr_pstrcat(p, "refund:", rf->payment_ref, ":", rf->refund_id, NULL)
               : apr_pstrcat(p, "refund:", rf->payment_ref, NULL);
}

/* The payment: "<provider>:<reference>" as the providers store it, else the reference as
 * stored when it names this provider (its prefix or its source: the generic webhook). */
static apr_status_t payment_find(acp_db_t *db, apr_pool_t *p, acp_refund_t *rf,
                                 const char ***row)
{
    size_t pl = strlen(rf->provider);
    apr_status_t rv;

    *row = NULL;
    rv = acp_sa_row(db, p, "acp_refund_payment", row,
                    ACP_SA_ARGS(apr_pstrcat(p, rf->provider, ":", rf->reference, NULL)));
    if (rv != APR_SUCCESS || *row) {
        return rv;
    }
    rv = acp_sa_row(db, p, "acp_refund_payment", row, ACP_SA_ARGS(rf->reference));
    if (rv == APR_SUCCESS && *row &&
        !(strncmp((*row)[0], rf->provider, pl) == 0 && (*row)[0][pl] == ':') &&
        strcmp((*row)[5], rf->provider) != 0) {
        *row = NULL;
    }
    return rv;
}

static apr_status_t refuse(acp_refund_t *rf, const char *why)
{
    rf->why = why;
    return APR_EINVAL;
}

apr_status_t acp_refund_check(acp_db_t *db, apr_pool_t *p, acp_refund_t *rf)
{
    const char **pay = NULL, **prior = NULL, **holder = NULL;
    apr_status_t rv;

    rf->why = NULL;
    rf->recorded = 0;
    if (!provider_ok(rf->provider)) {
        return refuse(rf, "--provider must be 1 to 32 characters a-z, 0-9, '-' or '_'");
    }
    if (!token_ok(rf->reference, 200)) {
        return refuse(rf, "--reference must be 1 to 200 printable ASCII characters, no spaces");
    }
    if (rf->refund_id && *rf->refund_id && !token_ok(rf->refund_id, 100)) {
        return refuse(rf, "--refund-id must be 1 to 100 printable ASCII characters, no spaces");
    }
    if (rf->amount <= 0) {
        return refuse(rf, "the refund must be more than zero");
    }
    if (!rf->reason || !*rf->reason) {
        return refuse(rf, "a --reason is required for every money move");
    }
    rv = payment_find(db, p, rf, &pay);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!pay) {
        rf->why = apr_psprintf(p, "no payment %s:%s (nor %s credited by %s)", rf->provider,
                               rf->reference, rf->reference, rf->provider);
        return APR_NOTFOUND;
    }
    rf->payment_ref = pay[0];
    rf->invoice_id = pay[1];
    rf->paid = acp_sa_atoll(pay[2]);
    rf->currency = pay[3];
    rf->refunded = acp_sa_atoll(pay[4]);
    rf->billing_id = pay[6];
    if (rf->holder && strcmp(rf->holder, rf->billing_id) != 0) {
        return refuse(rf, apr_psprintf(p, "payment %s was credited to holder %s, not %s",
                                       rf->payment_ref, rf->billing_id, rf->holder));
    }
    if (rf->invoice && strcmp(rf->invoice, rf->invoice_id) != 0) {
        return refuse(rf, apr_psprintf(p, "payment %s paid invoice %s, not %s", rf->payment_ref,
                                       rf->invoice_id, rf->invoice));
    }
    rv = acp_sa_row(db, p, "acp_refund_get", &prior,
                    ACP_SA_ARGS(rf->payment_ref, rf->refund_id ? rf->refund_id : ""));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acp_sa_row(db, p, "acp_billing_get", &holder, ACP_SA_ARGS(rf->billing_id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!holder) {
        return refuse(rf, apr_psprintf(p, "holder %s of payment %s does not exist",
                                       rf->billing_id, rf->payment_ref));
    }
    rf->balance = acp_sa_atoll(holder[3]);
    if (prior) {
        if (acp_sa_atoll(prior[0]) != rf->amount) {
            return refuse(rf, apr_psprintf(p, "this refund of payment %s was recorded before "
                                              "with another amount (%s, by %s)",
                                           rf->payment_ref,
                                           acp_money(p, acp_sa_atoll(prior[0]), rf->currency),
                                           prior[1]));
        }
        return APR_SUCCESS; /* the same refund again: nothing to do */
    }
    if (holder[5] && strcmp(holder[5], rf->currency) != 0) {
        return refuse(rf, apr_psprintf(p, "payment %s is in %s, its holder keeps %s",
                                       rf->payment_ref, rf->currency, holder[5]));
    }
    if (rf->refunded + rf->amount > rf->paid) {
        return refuse(rf, apr_psprintf(p, "payment %s credited %s and %s of it is refunded "
                                          "already: a refund of %s would exceed it",
                                       rf->payment_ref, acp_money(p, rf->paid, rf->currency),
                                       acp_money(p, rf->refunded, rf->currency),
                                       acp_money(p, rf->amount, rf->currency)));
    }
    if (rf->balance < rf->amount) {
        return refuse(rf, apr_psprintf(p, "the balance of %s is %s: a refund of %s would take "
                                          "it below zero (the credit was spent)",
                                       rf->billing_id, acp_money(p, rf->balance, rf->currency),
                                       acp_money(p, rf->amount, rf->currency)));
    }
    rf->recorded = 1;
    return APR_SUCCESS;
}

apr_status_t acp_refund_record_tx(acp_db_t *db, apr_pool_t *p, acp_refund_t *rf)
{
    long long after = 0;
    apr_status_t rv;
    int n = 0;

    /* the checks again inside the transaction: what the preview read may have changed */
    rv = acp_refund_check(db, p, rf);
    if (rv != APR_SUCCESS || !rf->recorded) {
        return rv;
    }
    rf->recorded = 0;
    /* the refund once: a concurrent record of the same refund inserts nothing here */
    rv = acp_sa_exec(db, p, "acp_refund_insert", &n,
                     ACP_SA_ARGS(rf->provider, rf->payment_ref, rf->refund_id ? rf->refund_id : "",
                                 rf->invoice_id, rf->billing_id, LL(p, rf->amount),
                                 rf->currency, rf->actor, rf->reason, LL(p, acp_now())));
    if (rv != APR_SUCCESS || n == 0) {
        return rv;
    }
    /* never beyond what the payment credited, whatever runs at the same time */
    rv = acp_sa_exec(db, p, "acp_refund_payment_take", &n,
                     ACP_SA_ARGS(LL(p, rf->amount), rf->payment_ref, LL(p, rf->amount)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n != 1) {
        return refuse(rf, apr_psprintf(p, "payment %s has less than %s left to refund",
                                       rf->payment_ref, acp_money(p, rf->amount, rf->currency)));
    }
    /* the debit and its ledger row (never below zero) */
    rv = acp_billing_adjust_tx(db, p, rf->billing_id, -rf->amount, "payment_refund", rf->actor,
                               rf->reason, rf->invoice_id, acp_refund_ledger_ref(p, rf), &after);
    if (rv == APR_EINVAL || rv == APR_EMISMATCH) {
        return refuse(rf, apr_psprintf(p, "the balance of %s cannot give %s back",
                                       rf->billing_id, acp_money(p, rf->amount, rf->currency)));
    }
    if (rv == APR_SUCCESS) {
        rf->recorded = 1;
        rf->refunded += rf->amount;
        rf->balance = after;
    }
    return rv;
}
