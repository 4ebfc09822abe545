/* Refunds made in a payment provider's console, recorded by staff: the payment they give
 * back is found by its provider reference, the holder is debited with an audited ledger
 * row (kind payment_refund) in the caller's transaction, once per (payment, refund id),
 * never beyond what that payment credited. */
#ifndef ACP_REFUND_H
#define ACP_REFUND_H

#include "acp_core.h"
#include "acp_sa.h"

typedef struct acp_refund_t {
    /* in */
    const char *provider;    /* e.g. "wechat", "stripe", "alipay"; "webhook" for payments the
                              * generic webhook credited */
    const char *reference;   /* the payment at the provider: its transaction id (stored as
                              * "<provider>:<id>") or the stored payment reference itself */
    const char *refund_id;   /* the provider's refund number; NULL/"": one refund per payment */
    const char *holder;      /* NULL, or the payment's holder must be this one */
    const char *invoice;     /* NULL, or the payment's invoice must be this one */
    long long amount;        /* minor units, > 0 */
    const char *actor;
    const char *reason;
    /* out (acp_refund_check and acp_refund_record_tx) */
    const char *payment_ref; /* the stored payment reference */
    const char *invoice_id;
    const char *billing_id;
    const char *currency;
    long long paid;          /* what that payment credited */
    long long refunded;      /* refunded before (after, once recorded) */
    long long balance;       /* the holder's balance before (after, once recorded) */
    int recorded;            /* 1: recorded now; 0: this refund was recorded before */
    const char *why;         /* the refusal, for APR_NOTFOUND / APR_EINVAL */
} acp_refund_t;

/* Find and check without writing (the confirmation shows what would happen): APR_NOTFOUND
 * (no such payment), APR_EINVAL (refused: rf->why), APR_SUCCESS. rf->recorded = 0 and
 * success when exactly this refund was recorded before. */
apr_status_t acp_refund_check(acp_db_t *db, apr_pool_t *p, acp_refund_t *rf);

/* Record it in the caller's transaction: the refund row, the payment's refunded amount
 * (conditional: never above what it credited), the holder's debit and ledger row. The
 * same errors as acp_refund_check; on any error the caller rolls back. */
apr_status_t acp_refund_record_tx(acp_db_t *db, apr_pool_t *p, acp_refund_t *rf);

/* The ledger reference of a refund: "refund:<payment reference>[:<refund id>]". */
const char *acp_refund_ledger_ref(apr_pool_t *p, const acp_refund_t *rf);

#endif
