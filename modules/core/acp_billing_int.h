/* Billing, inside: what acp_billing.c (holders and the ledger), acp_billing_checkout.c (the
 * payment request) and acp_billing_charge.c (quote, charge and refund at finalize) share.
 * Not a public API: the rest of the module calls acp_billing.h. */
#ifndef ACP_BILLING_INT_H
#define ACP_BILLING_INT_H

#include "acp_billing.h"

/* acp_billing.c */
/* the holder's balance and currency (*currency NULL: a holder from before schema 4 that
 * has not moved money since; currency NULL: not asked); APR_NOTFOUND: unknown holder */
apr_status_t acp_billing_int_holder_get(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                        long long *balance, const char **currency);
/* one ledger row: delta moved, the balance after it, in currency */
apr_status_t acp_billing_int_ledger(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                    long long delta, long long after, const char *currency,
                                    const char *kind, const char *order_id, const char *invoice_id,
                                    const char *cert_id, const char *reference, const char *actor,
                                    const char *reason);

/* acp_billing_checkout.c */
/* the order is shortfall short: its invoice (an open one of that amount reused, bound to
 * the order) and the userActionRequired problem carrying the payment request, whose
 * writes the caller commits (prob->commit) */
acp_problem_t *acp_billing_int_payment_required(acp_db_t *db, apr_pool_t *p,
                                                const acp_billing_cfg_t *cfg,
                                                const char *billing_id, const char *order_id,
                                                long long shortfall,
                                                const apr_array_header_t *names,
                                                const char *base_url);

#endif
