/* Billing: holders, prices, the free-reissue window, debit and refund, invoices and
 * payments, always with a ledger row in the caller's transaction. */
#ifndef ACP_BILLING_H
#define ACP_BILLING_H

#include "acp_core.h"
#include "acp_sa.h"
#include "acp_money.h"
#include "acp_pay.h"
#include "acp_eth.h"
#include "acp_provider.h"

typedef struct acp_billing_cfg_t {
    const char *currency;          /* ISO 4217, one per deployment */
    acp_price_cfg_t price;         /* minor units */
    long long reissue_window;      /* seconds */
    long long free_balance;        /* welcome credit: every EAB credential; accounts without
                                    * EAB within free_limit per address and free_period */
    long long free_limit;          /* AcmePayFreeBalanceLimit: credits per client address */
    long long free_period;         /*   … per this many seconds (fixed windows) */
    const char *payment_url;       /* template with {invoice}; NULL: built-in invoice page */
    const char *invoice_command;   /* prints a provider checkout URL for the QR; NULL: none */
    const apr_array_header_t *providers; /* acp_provider_t *: AcmePayStripe, AcmePayAlipay,
                                    * … in directive order; NULL: none */
    const char *eth_address;       /* EIP-55 checksummed; NULL: no Ethereum */
    long long eth_chain;
    const char *eth_wei_per_minor;
    apr_array_header_t *eth_tokens; /* acp_eth_token_t (AcmePayEthereumToken); NULL: none */
    int invoice_lifetime;          /* seconds */
    const char *profile;           /* set per order under profiles (price is then the
                                      profile's): a free reissue needs the same profile */
    long long term;                /* the profile is sold as a term of this many seconds
                                    * (a subscription); 0: per certificate */
    long long sub_renew_window;    /* AcmePaySubscriptionRenewWindow: a finalize this near
                                    * the end buys the next term (at most term / 2) */
    int sub_refund_none;           /* AcmePaySubscriptionRefund none (else pro rata) */
} acp_billing_cfg_t;

void acp_billing_cfg_defaults(acp_billing_cfg_t *cfg);

#define ACP_CHECKOUT_TIMEOUT 10    /* seconds the invoice command may take */
#define ACP_ETH_UNIQUE_TRIES 16    /* unique Ethereum amounts tried per new invoice */

typedef struct acp_charge_t {
    /* in: the certificate a renewal order replaces (RFC 9773), else all 0/NULL */
    const char *replaces_cert_id;
    const char *replaces_serial;   /* for the ledger row's reason */
    long long replaces_not_after;
    int replaces_free;             /* the RA's decision: staff asked for this renewal */
    /* out */
    long long price;               /* what the names cost */
    long long charged;             /* what was debited (0 for a free reissue) */
    const char *reissue_of;        /* certificate id when free */
    long long not_after_cap;       /* a reissue must not outlive the original (0: none) */
    long long not_after;           /* the order's notAfter to store (0: the default) */
    const char *subscription;      /* the subscription that covered (or was opened by) it */
    int order_locked;              /* the order is locked in this transaction while ready
                                    * (PostgreSQL's one-statement charge): moving it to
                                    * processing cannot miss */
} acp_charge_t;

/* A new billing holder (kind "account" or "eab") keeping cfg->currency (NULL: the currency
 * of its first money movement). No welcome credit: see the two functions below. */
apr_status_t acp_billing_new_holder_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *kind, const char *label, const char **id);

/* An account binds to an EAB credential's holder: the welcome credit, once per credential
 * (the first binding gives it). *given = 1 when it was given now. */
apr_status_t acp_billing_eab_welcome_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                        const char *billing_id, int *given);

/* Deletes the welcome-credit counters of windows that have ended (the workers, now and
 * then). */
apr_status_t acp_billing_welcome_prune(acp_db_t *db, apr_pool_t *p);

/* The holder of a new account without EAB. The welcome credit only while the client
 * address (IPv4, or the /64 of IPv6) has had fewer than cfg->free_limit in the current
 * window of cfg->free_period seconds (counted in the database: holds across nodes).
 * *welcomed = 1 when it was given. welcomed NULL: not asked, and on PostgreSQL the
 * holder's statement then waits for the transaction's next message (acp_sa_exec_later:
 * nothing reads its count, and its failure fails the transaction). */
apr_status_t acp_billing_account_holder_tx(acp_db_t *db, apr_pool_t *p,
                                           const acp_billing_cfg_t *cfg,
                                           const char *client_addr, const char **id,
                                           int *welcomed);
/* The key an address is counted under: "192.0.2.1", "2001:db8:1:2::/64"; NULL if it is
 * not an IP address. */
const char *acp_billing_addr_key(apr_pool_t *p, const char *client_addr);

/* After the transaction that answered with a payment request has committed: make the
 * invoice's checkout if no one has (one run per invoice, claimed in the database, never
 * inside a transaction) with the configured providers in order, then
 * AcmePayInvoiceCommand, the first URL winning; store it (and the provider's name and
 * reference) and put it in req->qr_data; when another request is making it, wait for its
 * answer (bounded). req->checkout_error: why this call made no checkout (for the log).
 * *ran = 1 when this call ran the command. */
apr_status_t acp_billing_checkout(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                  acp_pay_request_t *req, int *ran);

/* Charge for an order being finalized: a free reissue when the holder has an unrevoked
 * certificate for exactly these names issued within the window, or when the order
 * replaces a certificate whose renewal staff asked for (charge->replaces_free, capped at
 * that certificate's notAfter), otherwise a debit of the price. The ledger row of a free
 * replacement names the replaced certificate. Short balance: an invoice for the shortfall (an open one for the same amount is
 * reused) and a userActionRequired problem carrying the payment request, whose writes
 * the caller must commit (prob->commit). base_url: for the built-in invoice page link.
 * The order's own row is the caller's to write, in the same transaction: price, charged,
 * reissue_of and not_after as *charge says (with its move to processing). On PostgreSQL a
 * priced order outside a term product is locked here while ready (charge->order_locked;
 * an order no longer ready: orderNotReady, nothing written). */
acp_problem_t *acp_billing_charge_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                     const char *billing_id, const char *order_id,
                                     const char *names_key, const apr_array_header_t *names,
                                     long long default_not_after, const char *base_url,
                                     acp_charge_t *charge);

/* Would finalizing this order be paid for? NULL when it is free, a reissue, or the
 * balance covers it; else the same payment request (and invoice) as a short finalize.
 * Charges nothing. */
acp_problem_t *acp_billing_quote_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                    const char *billing_id, const char *order_id,
                                    const char *names_key, const apr_array_header_t *names,
                                    const char *base_url);

/* Give back what an order was charged (issuance failed for good). Idempotent. */
apr_status_t acp_billing_refund_tx(acp_db_t *db, apr_pool_t *p, const char *order_id,
                                   const char *reason);

/* A credit (amount >= 0, 0 too: the row records the event) tied to an order, e.g. a
 * cancelled subscription's refund; the unique (order, kind) index refuses a second. */
apr_status_t acp_billing_order_credit_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                         const char *order_id, long long amount,
                                         const char *kind, const char *reference,
                                         const char *actor, const char *reason,
                                         long long *balance_after);

/* Move money by hand: delta > 0 credits, < 0 debits (never below zero: APR_EINVAL), in
 * the holder's own currency. Writes the ledger row. */
apr_status_t acp_billing_adjust_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                   long long delta, const char *kind, const char *actor,
                                   const char *reason, const char *invoice_id,
                                   const char *reference, long long *balance_after);

/* A payment for an invoice: credits the invoice's holder exactly once per reference.
 * *credited = 0 when this reference was seen before. Errors: APR_NOTFOUND (no invoice),
 * APR_EINVAL (amount <= 0), APR_EMISMATCH (currency is not the invoice's, or the holder
 * keeps another currency: nothing changes). */
apr_status_t acp_billing_payment_tx(acp_db_t *db, apr_pool_t *p, const char *invoice_id,
                                    long long amount, const char *currency,
                                    const char *reference, const char *source, int *credited);

/* A new EAB credential with its own billing holder (shared by every account that
 * registers with it). The HMAC key is returned once, base64url. */
apr_status_t acp_billing_eab_create_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *label, const char **kid,
                                       const char **hmac_key, const char **billing_id);

/* Balance of a holder (APR_NOTFOUND when unknown). */
apr_status_t acp_billing_balance(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                 long long *balance);

#endif
