/* Billing: configuration defaults, holders and the ledger (every move of money with its
 * row), the welcome credit, payments credited to invoices and EAB credentials. The payment
 * request is in acp_billing_checkout.c; quote, charge and refund in acp_billing_charge.c. */
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include "acp_billing.h"
#include "acp_billing_int.h"
#include "acp_secret.h"
#include "acp_util.h"

void acp_billing_cfg_defaults(acp_billing_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->currency = "CNY";
    cfg->reissue_window = 30LL * 86400;
    cfg->sub_renew_window = 30LL * 86400;
    cfg->invoice_lifetime = 7 * 86400;
    cfg->eth_wei_per_minor = "0";
    cfg->free_limit = 1;
    cfg->free_period = 86400;
}

#define LL(p, v) acp_sa_ll(p, v)

/* The holder's balance and currency (NULL: a holder from before schema 4 that has not
 * moved money since). */
apr_status_t acp_billing_int_holder_get(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                        long long *balance, const char **currency)
{
    const char **row = NULL;
    apr_status_t rv = acp_sa_row(db, p, "acp_billing_get", &row, ACP_SA_ARGS(billing_id));

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!row) {
        return APR_NOTFOUND;
    }
    *balance = acp_sa_atoll(row[3]);
    if (currency) {
        *currency = row[5];
    }
    return APR_SUCCESS;
}

apr_status_t acp_billing_balance(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                 long long *balance)
{
    return acp_billing_int_holder_get(db, p, billing_id, balance, NULL);
}

apr_status_t acp_billing_int_ledger(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                    long long delta, long long after, const char *currency,
                                    const char *kind, const char *order_id, const char *invoice_id,
                                    const char *cert_id, const char *reference, const char *actor,
                                    const char *reason)
{
    return acp_sa_exec(db, p, "acp_ledger_insert", NULL,
                       ACP_SA_ARGS(acp_random_id(p, 12), billing_id, LL(p, delta),
                                   LL(p, after), kind, order_id, invoice_id, cert_id, reference,
                                   actor, reason, LL(p, acp_now()), currency));
}

/* delta in currency (NULL: the holder's own) and its ledger row. APR_NOTFOUND: unknown
 * holder; APR_EINVAL: a debit below zero; APR_EMISMATCH: the holder keeps another
 * currency. */
static apr_status_t move_order_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                  long long delta, const char *currency, const char *kind,
                                  const char *actor, const char *reason, const char *order_id,
                                  const char *invoice_id, const char *reference,
                                  long long *balance_after)
{
    long long after = 0;
    const char *held = NULL, **row = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (!currency) {
        /* the holder's own currency */
        if ((rv = acp_billing_int_holder_get(db, p, billing_id, &after, &held)) != APR_SUCCESS) {
            return rv;
        }
        currency = held;
    }
    /* the balance and currency after come back with the update */
    if (delta >= 0) {
        rv = acp_sa_row(db, p, "acp_billing_add_ret", &row,
                        ACP_SA_ARGS(LL(p, delta), currency, billing_id, currency));
    }
    else {
        rv = acp_sa_row(db, p, "acp_billing_debit_ret", &row,
                        ACP_SA_ARGS(LL(p, -delta), currency, billing_id, currency,
                                    LL(p, -delta)));
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!row) {
        /* an unknown holder, another currency, or a debit below zero */
        if ((rv = acp_billing_int_holder_get(db, p, billing_id, &after, &held)) != APR_SUCCESS) {
            return rv;
        }
        return held && currency && strcmp(held, currency) != 0 ? APR_EMISMATCH : APR_EINVAL;
    }
    after = acp_sa_atoll(row[0]);
    held = row[1];
    rv = acp_billing_int_ledger(db, p, billing_id, delta, after, held, kind, order_id,
                                invoice_id, NULL, reference, actor, reason);
    if (rv == APR_SUCCESS && delta > 0) {
        /* a credit by any route answers the open invoices the balance now covers */
        rv = acp_sa_exec(db, p, "acp_invoice_close_covered", NULL,
                         ACP_SA_ARGS(LL(p, acp_now()), actor,
                                     apr_psprintf(p, "the balance covers it (%s)", kind),
                                     billing_id, LL(p, after)));
    }
    if (balance_after) {
        *balance_after = after;
    }
    return rv;
}

static apr_status_t move_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                            long long delta, const char *currency, const char *kind,
                            const char *actor, const char *reason, const char *invoice_id,
                            const char *reference, long long *balance_after)
{
    return move_order_tx(db, p, billing_id, delta, currency, kind, actor, reason, NULL,
                         invoice_id, reference, balance_after);
}

apr_status_t acp_billing_order_credit_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                         const char *order_id, long long amount,
                                         const char *kind, const char *reference,
                                         const char *actor, const char *reason,
                                         long long *balance_after)
{
    return move_order_tx(db, p, billing_id, amount, NULL, kind, actor, reason, order_id, NULL,
                         reference, balance_after);
}

apr_status_t acp_billing_adjust_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                   long long delta, const char *kind, const char *actor,
                                   const char *reason, const char *invoice_id,
                                   const char *reference, long long *balance_after)
{
    return move_tx(db, p, billing_id, delta, NULL, kind, actor, reason, invoice_id, reference,
                   balance_after);
}

/* later: the INSERT may wait for the transaction's next message (acp_sa_exec_later) */
static apr_status_t insert_holder(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                  const char *kind, const char *label, long long balance,
                                  const char *welcomed, int later, const char **id)
{
    const char *bid = acp_random_id(p, 12);
    const char *const args[] = {bid, kind, label, LL(p, balance), LL(p, acp_now()),
                                cfg ? cfg->currency : NULL, welcomed};
    apr_status_t rv = later ? acp_sa_exec_later(db, p, "acp_billing_insert", 7, args)
                            : acp_sa_exec(db, p, "acp_billing_insert", NULL, 7, args);

    *id = rv == APR_SUCCESS ? bid : NULL;
    return rv;
}

/* The welcome credit, at most once per holder (billing.welcomed). */
static apr_status_t welcome_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                               const char *bid, int *given)
{
    int n = 0;
    apr_status_t rv = acp_sa_exec(db, p, "acp_billing_welcomed", &n,
                                  ACP_SA_ARGS(LL(p, acp_now()), bid));

    *given = 0;
    if (rv != APR_SUCCESS || n != 1) {
        return rv;
    }
    rv = move_tx(db, p, bid, cfg->free_balance, cfg->currency, "credit", "system",
                 "welcome credit", NULL, NULL, NULL);
    *given = rv == APR_SUCCESS;
    return rv;
}

apr_status_t acp_billing_new_holder_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *kind, const char *label, const char **id)
{
    return insert_holder(db, p, cfg, kind, label, 0, NULL, 0, id);
}

apr_status_t acp_billing_eab_welcome_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                        const char *billing_id, int *given)
{
    *given = 0;
    if (cfg->free_balance <= 0) {
        return APR_SUCCESS;
    }
    /* staff hand out EAB credentials: one credit per credential, whatever the number of
     * accounts (keys) bound to it */
    return welcome_tx(db, p, cfg, billing_id, given);
}

const char *acp_billing_addr_key(apr_pool_t *p, const char *client_addr)
{
    unsigned char a[16];
    int i;

    if (!client_addr || !*client_addr) {
        return NULL;
    }
    if (strchr(client_addr, ':')) {
        if (inet_pton(AF_INET6, client_addr, a) != 1) {
            return NULL;
        }
        if (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
            /* IPv4-mapped: the IPv4 address itself */
            return apr_psprintf(p, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        }
        /* one host's share of IPv6 is a /64 */
        for (i = 8; i < 16; i++) {
            a[i] = 0;
        }
        {
            char buf[64];
            if (!inet_ntop(AF_INET6, a, buf, sizeof(buf))) {
                return NULL;
            }
            return apr_pstrcat(p, buf, "/64", NULL);
        }
    }
    if (inet_pton(AF_INET, client_addr, a) != 1) {
        return NULL;
    }
    return apr_psprintf(p, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

apr_status_t acp_billing_welcome_prune(acp_db_t *db, apr_pool_t *p)
{
    return acp_sa_exec(db, p, "acp_welcome_prune", NULL, ACP_SA_ARGS(LL(p, acp_now())));
}

apr_status_t acp_billing_account_holder_tx(acp_db_t *db, apr_pool_t *p,
                                           const acp_billing_cfg_t *cfg,
                                           const char *client_addr, const char **id,
                                           int *welcomed)
{
    const char *key = acp_billing_addr_key(p, client_addr), *bid;
    long long now = acp_now(), win;
    int n = 0;
    apr_status_t rv;

    if (welcomed) {
        *welcomed = 0;
    }
    *id = NULL;
    if (cfg->free_balance <= 0 || cfg->free_limit <= 0 || !key || cfg->free_period <= 0) {
        return insert_holder(db, p, cfg, "account", NULL, 0, NULL, !welcomed, id);
    }
    /* a new key costs nothing: the credit is bounded per client address and window */
    win = now / cfg->free_period;
    if (db->pgsql) {
        /* the grant, the holder and the credit's ledger row in one statement */
        const char *const args[] = {key, LL(p, win), LL(p, (win + 1) * cfg->free_period),
                                    LL(p, cfg->free_limit), (bid = acp_random_id(p, 12)),
                                    LL(p, cfg->free_balance), LL(p, now), cfg->currency,
                                    LL(p, now), acp_random_id(p, 12)};
        rv = welcomed ? acp_sa_exec(db, p, "acp_welcome_holder", &n, 10, args)
                      : acp_sa_exec_later(db, p, "acp_welcome_holder", 10, args);
        if (rv == APR_SUCCESS) {
            *id = bid;
            if (welcomed) {
                *welcomed = n == 1;
            }
        }
        return rv;
    }
    /* rows of past windows are never counted again (a window is part of the key): the
     * workers prune them (acp_billing_welcome_prune), not every new account */
    rv = acp_sa_exec(db, p, "acp_welcome_take", &n,
                     ACP_SA_ARGS(key, LL(p, win), LL(p, (win + 1) * cfg->free_period),
                                 LL(p, cfg->free_limit)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n != 1) {
        return insert_holder(db, p, cfg, "account", NULL, 0, NULL, !welcomed, id);
    }
    /* the welcome credit written with the new holder: its row is born with the balance
     * and marked welcomed, and the credit's ledger row follows (what welcome_tx does to
     * a holder that exists, in two round trips instead of five: no update of a row just
     * inserted, and no open invoice a holder this new could have) */
    rv = insert_holder(db, p, cfg, "account", NULL, cfg->free_balance, LL(p, now), 0, &bid);
    if (rv == APR_SUCCESS) {
        rv = acp_billing_int_ledger(db, p, bid, cfg->free_balance, cfg->free_balance,
                                    cfg->currency, "credit", NULL, NULL, NULL, NULL, "system",
                                    "welcome credit");
    }
    if (rv == APR_SUCCESS) {
        *id = bid;
        if (welcomed) {
            *welcomed = 1;
        }
    }
    return rv;
}

apr_status_t acp_billing_payment_tx(acp_db_t *db, apr_pool_t *p, const char *invoice_id,
                                    long long amount, const char *currency,
                                    const char *reference, const char *source, int *credited)
{
    const char **inv = NULL;
    int n = 0;
    apr_status_t rv;

    *credited = 0;
    if (amount <= 0 || !reference || !*reference) {
        return APR_EINVAL;
    }
    rv = acp_sa_row(db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(invoice_id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!inv) {
        return APR_NOTFOUND;
    }
    if (currency && strcmp(currency, inv[5]) != 0) {
        return APR_EMISMATCH;
    }
    rv = acp_sa_exec(db, p, "acp_payment_insert", &n,
                     ACP_SA_ARGS(reference, invoice_id, LL(p, amount), inv[5], source,
                                 LL(p, acp_now())));
    if (rv != APR_SUCCESS || n == 0) {
        return rv; /* n == 0: this reference was credited before */
    }
    rv = acp_sa_exec(db, p, "acp_invoice_paid", NULL,
                     ACP_SA_ARGS(LL(p, amount), LL(p, amount), invoice_id));
    if (rv == APR_SUCCESS) {
        rv = acp_sa_exec(db, p, "acp_invoice_closed", NULL,
                         ACP_SA_ARGS(LL(p, acp_now()), source, "paid", invoice_id));
    }
    if (rv == APR_SUCCESS) {
        /* in the invoice's currency, which must be the holder's */
        rv = move_tx(db, p, inv[1], amount, inv[5], "payment", source, "payment", invoice_id,
                     reference, NULL);
    }
    if (rv == APR_SUCCESS) {
        *credited = 1;
    }
    return rv;
}

apr_status_t acp_billing_eab_create_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *label, const char **kid,
                                       const char **hmac_key, const char **billing_id)
{
    const char *k = acp_random_id(p, 12), *key = acp_random_id(p, 32), *bid = NULL;
    apr_status_t rv = acp_billing_new_holder_tx(db, p, cfg, "eab", label, &bid);

    /* sealed under AcmePayKeyFile when there is one: the database alone cannot sign */
    const char *stored = db->secrets ? acp_secret_seal(p, db->secrets,
                                                       apr_pstrcat(p, "eab:", k, NULL), key)
                                     : key;

    if (rv == APR_SUCCESS && !stored) {
        rv = APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        rv = acp_sa_exec(db, p, "acp_eab_insert", NULL,
                         ACP_SA_ARGS(k, stored, label, bid, LL(p, acp_now())));
    }
    *kid = rv == APR_SUCCESS ? k : NULL;
    *hmac_key = rv == APR_SUCCESS ? key : NULL;
    if (billing_id) {
        *billing_id = rv == APR_SUCCESS ? bid : NULL;
    }
    return rv;
}
