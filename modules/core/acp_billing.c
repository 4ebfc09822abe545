/* Billing: holders, free reissues, debit/refund, invoices, payments; ledger rows always. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "acp_billing.h"
#include "acp_eth.h"
#include "acp_money.h"
#include "acp_pay.h"
#include "acp_subscription.h"
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
static apr_status_t holder_get(acp_db_t *db, apr_pool_t *p, const char *billing_id,
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
    return holder_get(db, p, billing_id, balance, NULL);
}

static apr_status_t ledger(acp_db_t *db, apr_pool_t *p, const char *billing_id, long long delta,
                           long long after, const char *currency, const char *kind,
                           const char *order_id, const char *invoice_id, const char *cert_id,
                           const char *reference, const char *actor, const char *reason)
{
    return acp_sa_exec(db, p, "acp_ledger_insert", NULL,
                       ACP_SA_ARGS(acp_random_id(p, 12), billing_id, LL(p, delta),
                                   LL(p, after), kind, order_id, invoice_id, cert_id, reference,
                                   actor, reason, LL(p, acp_now()), currency));
}

/* The refusal when a holder's money is in another currency than this server charges. */
static acp_problem_t *currency_problem(apr_pool_t *p, const char *held, const char *wanted)
{
    return acp_problem(p, ACP_ERR_UNAUTHORIZED,
                       "this account's balance is held in %s and this server charges in %s: "
                       "balances do not move between currencies; use an account registered "
                       "for %s",
                       held, wanted, wanted);
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
        if ((rv = holder_get(db, p, billing_id, &after, &held)) != APR_SUCCESS) {
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
        if ((rv = holder_get(db, p, billing_id, &after, &held)) != APR_SUCCESS) {
            return rv;
        }
        return held && currency && strcmp(held, currency) != 0 ? APR_EMISMATCH : APR_EINVAL;
    }
    after = acp_sa_atoll(row[0]);
    held = row[1];
    rv = ledger(db, p, billing_id, delta, after, held, kind, order_id, invoice_id, NULL,
                reference, actor, reason);
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
        rv = ledger(db, p, bid, cfg->free_balance, cfg->free_balance, cfg->currency, "credit",
                    NULL, NULL, NULL, NULL, "system", "welcome credit");
    }
    if (rv == APR_SUCCESS) {
        *id = bid;
        if (welcomed) {
            *welcomed = 1;
        }
    }
    return rv;
}

static const char *pay_link(apr_pool_t *p, const acp_billing_cfg_t *cfg, const char *base_url,
                            const char *invoice_id)
{
    const char *tpl = cfg->payment_url, *at;

    if (!tpl) {
        return apr_pstrcat(p, base_url, "/pay/i/", invoice_id, NULL);
    }
    at = strstr(tpl, "{invoice}");
    if (!at) {
        return apr_pstrcat(p, tpl, invoice_id, NULL);
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, tpl, (apr_size_t)(at - tpl)), invoice_id,
                       at + strlen("{invoice}"), NULL);
}

/* AcmePayInvoiceCommand: "<prog> <invoice> <amount> <currency>" prints the provider's
 * checkout URL (first line). Only an http(s) URL of printable ASCII is taken. */
static const char *provider_url(apr_pool_t *p, const char *cmd, const char *invoice_id,
                                long long amount, const char *currency)
{
    char line[2048];
    const char *argv_line;
    FILE *f;
    size_t n, i;

    argv_line = apr_psprintf(p, "timeout %d '%s' '%s' '%" APR_INT64_T_FMT "' '%s'",
                             ACP_CHECKOUT_TIMEOUT, cmd, invoice_id, (apr_int64_t)amount,
                             currency);
    f = popen(argv_line, "r");
    if (!f) {
        return NULL;
    }
    if (!fgets(line, sizeof(line), f)) {
        line[0] = '\0';
    }
    pclose(f);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) {
        line[--n] = '\0';
    }
    for (i = 0; i < n; i++) {
        if (line[i] <= 0x20 || line[i] >= 0x7f) {
            return NULL;
        }
    }
    if (strncmp(line, "https://", 8) != 0 && strncmp(line, "http://", 7) != 0) {
        return NULL;
    }
    return apr_pstrdup(p, line);
}

static int has_providers(const acp_billing_cfg_t *cfg)
{
    return cfg->providers && cfg->providers->nelts > 0;
}

/* The invoice's checkout: each provider in order, then the invoice command; the first
 * URL wins, all of them within ACP_CHECKOUT_TIMEOUT. */
static const char *make_checkout(apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                 acp_pay_request_t *req, const char **provider,
                                 const char **reference)
{
    apr_time_t end = apr_time_now() + apr_time_from_sec(ACP_CHECKOUT_TIMEOUT);
    const char *errors = NULL;
    int i;

    *provider = *reference = NULL;
    for (i = 0; cfg->providers && i < cfg->providers->nelts; i++) {
        const acp_provider_t *pv = APR_ARRAY_IDX(cfg->providers, i, const acp_provider_t *);
        acp_checkout_t co;
        const char *err = NULL;
        apr_time_t left = end - apr_time_now();
        if (left < apr_time_from_msec(200)) {
            errors = apr_pstrcat(p, errors ? errors : "", errors ? "; " : "", pv->name,
                                 ": no time left", NULL);
            break;
        }
        memset(&co, 0, sizeof(co));
        co.invoice_id = req->invoice_id;
        co.amount_minor = req->amount_minor;
        co.currency = req->currency;
        co.names = req->order_names;
        co.return_url = req->link;
        co.notify_url = apr_pstrcat(p, req->notify_base ? req->notify_base : "", "/pay/",
                                    pv->name, NULL);
        co.timeout_ms = (int)apr_time_as_msec(left);
        if (pv->checkout(pv, p, &co, &err) == APR_SUCCESS && co.url) {
            *provider = pv->name;
            *reference = co.reference;
            if (errors) {
                req->checkout_error = apr_pstrcat(p, "invoice ", req->invoice_id,
                                                  ": checkout failed with ", errors, NULL);
            }
            return co.url;
        }
        errors = apr_pstrcat(p, errors ? errors : "", errors ? "; " : "", pv->name, ": ",
                             err ? err : "failed", NULL);
    }
    if (cfg->invoice_command) {
        const char *url = provider_url(p, cfg->invoice_command, req->invoice_id,
                                       req->amount_minor, req->currency);
        if (url) {
            return url;
        }
        errors = apr_pstrcat(p, errors ? errors : "", errors ? "; " : "",
                             "AcmePayInvoiceCommand gave no URL", NULL);
    }
    req->checkout_error = apr_pstrcat(p, "invoice ", req->invoice_id,
                                      ": no checkout (the QR shows the payment link): ",
                                      errors ? errors : "no provider", NULL);
    return NULL;
}

/* A new open invoice. With Ethereum, its EIP-681 URI (amount + a unique 1..999999 wei)
 * must be unused among open invoices: the database's unique index says so across nodes;
 * a taken URI is retried with another number, an expired holder of it is closed. */
static acp_problem_t *invoice_insert(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                     const char *billing_id, const char *order_id,
                                     long long amount, const char *base_url, long long now,
                                     const char **inv_id, const char **url, const char **wei)
{
    int tries, n = 0, expired = 0;
    unsigned int unique = 0;

    for (tries = 0; tries < ACP_ETH_UNIQUE_TRIES; tries++) {
        *inv_id = acp_random_id(p, 8);
        *url = pay_link(p, cfg, base_url, *inv_id);
        *wei = NULL;
        if (cfg->eth_address) {
            if (!expired) {
                RAND_bytes((unsigned char *)&unique, sizeof(unique));
            }
            *wei = acp_eip681_uri(p, cfg->eth_address, cfg->eth_chain, amount,
                                  cfg->eth_wei_per_minor, (long long)(unique % 999999) + 1);
            if (!*wei) {
                return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "cannot build the Ethereum URI");
            }
        }
        if (acp_sa_exec(db, p, "acp_invoice_insert", &n,
                        ACP_SA_ARGS(*inv_id, billing_id, order_id, LL(p, amount), cfg->currency,
                                    *url, *wei, LL(p, now), LL(p, now + cfg->invoice_lifetime))) !=
            APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error creating an invoice");
        }
        if (n == 1) {
            /* each configured token gets its own unique amount too */
            if (*wei && acp_eth_invoice_tokens_tx(db, p, cfg->eth_tokens, cfg->eth_address,
                                                  cfg->eth_chain, *inv_id, amount) !=
                            APR_SUCCESS) {
                return acp_problem(p, ACP_ERR_SERVER_INTERNAL,
                                   "no unused token amount found for a new invoice; try again "
                                   "later");
            }
            return NULL;
        }
        expired = 0;
        if (*wei && acp_sa_exec(db, p, "acp_invoice_expire_eth", &n,
                                ACP_SA_ARGS(*wei, LL(p, now))) == APR_SUCCESS && n > 0) {
            expired = 1; /* the number is free again: take it */
        }
    }
    return acp_problem(p, ACP_ERR_SERVER_INTERNAL,
                       "no unused payment amount found for a new invoice; try again later");
}

/* The invoice answers this order's question now (an open invoice of the same amount is
 * reused by the holder's next order), and is answered once the balance reaches what
 * the order costs: what the holder has plus the shortfall. */
static apr_status_t bind_invoice(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                 const char *order_id, const char *inv_id, long long shortfall)
{
    long long balance = 0;
    apr_status_t rv = acp_billing_balance(db, p, billing_id, &balance);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acp_sa_exec(db, p, "acp_invoice_bind", NULL,
                       ACP_SA_ARGS(order_id, LL(p, balance + shortfall), inv_id));
}

static acp_problem_t *payment_required(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *billing_id, const char *order_id,
                                       long long shortfall, const apr_array_header_t *names,
                                       const char *base_url)
{
    const char **row = NULL;
    const char *inv_id, *url, *wei = NULL, *checkout = NULL, *state = NULL;
    acp_pay_request_t *req = apr_pcalloc(p, sizeof(*req));
    apr_array_header_t *opts = NULL;
    acp_problem_t *prob;
    long long now = acp_now();

    /* concurrent short finalizes of one holder queue here, so the later ones find the
     * invoice the first one made (and its invoice command runs once) */
    if (acp_sa_exec(db, p, "acp_billing_lock", NULL, ACP_SA_ARGS(billing_id)) != APR_SUCCESS ||
        acp_sa_row(db, p, "acp_invoice_open", &row,
                   ACP_SA_ARGS(billing_id, LL(p, shortfall), LL(p, now))) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading invoices");
    }
    if (row) {
        inv_id = row[0];
        url = row[1];
        wei = row[2];
        checkout = row[3];
        state = row[4];
    }
    else {
        prob = invoice_insert(db, p, cfg, billing_id, order_id, shortfall, base_url, now,
                              &inv_id, &url, &wei);
        if (prob) {
            return prob;
        }
    }
    if (bind_invoice(db, p, billing_id, order_id, inv_id, shortfall) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error binding an invoice");
    }
    req->amount_minor = shortfall;
    req->currency = cfg->currency;
    req->link = url;
    req->qr_data = checkout ? checkout : url;
    req->eip681 = wei;
    if (wei && acp_eth_invoice_options(db, p, inv_id, &opts) == APR_SUCCESS) {
        req->eth_options = opts; /* ETH and each token: amount, URI (and QR when shown) */
    }
    req->order_names = apr_array_pstrcat(p, names, ',');
    req->invoice_id = inv_id;
    req->notify_base = base_url;
    /* the providers' checkout or the invoice command runs after this transaction commits
     * (acp_billing_checkout) */
    req->checkout_pending = (cfg->invoice_command || has_providers(cfg)) && !checkout &&
                            (!state || !strcmp(state, "running"));
    prob = acp_problem(p, ACP_ERR_USER_ACTION_REQUIRED, "Payment required: %s at %s",
                       acp_money(p, shortfall, cfg->currency), url);
    prob->instance = url;
    prob->payment = req;
    prob->commit = 1; /* keep the invoice */
    return prob;
}

/* Wait for another request's run of the invoice command: poll the invoice, outside any
 * transaction, for at most the command's own time limit. */
static void checkout_wait(acp_db_t *db, apr_pool_t *p, acp_pay_request_t *req)
{
    apr_time_t end = apr_time_now() + apr_time_from_sec(ACP_CHECKOUT_TIMEOUT + 1);
    apr_interval_time_t step = apr_time_from_msec(50);

    while (apr_time_now() < end) {
        const char **row = NULL;
        apr_sleep(step);
        if (step < apr_time_from_msec(400)) {
            step *= 2;
        }
        if (acp_sa_row(db, p, "acp_invoice_get", &row, ACP_SA_ARGS(req->invoice_id)) !=
                APR_SUCCESS ||
            !row || !row[12] || strcmp(row[12], "running") != 0) {
            if (row && row[11]) {
                req->qr_data = row[11];
            }
            return;
        }
    }
}

apr_status_t acp_billing_checkout(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                  acp_pay_request_t *req, int *ran)
{
    long long now = acp_now();
    const char *url, *provider = NULL, *reference = NULL;
    int n = 0;
    apr_status_t rv;

    *ran = 0;
    if (!req || !req->checkout_pending || !req->invoice_id ||
        (!cfg->invoice_command && !has_providers(cfg))) {
        return APR_SUCCESS;
    }
    req->checkout_pending = 0;
    /* claim the run in a short transaction of its own: one request per invoice runs the
     * command, and never while holding the database's write lock */
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = acp_sa_exec(db, p, "acp_invoice_checkout_claim", &n,
                     ACP_SA_ARGS(LL(p, now + ACP_CHECKOUT_TIMEOUT + 5), req->invoice_id,
                                 LL(p, now)));
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (n != 1) {
        checkout_wait(db, p, req);
        return APR_SUCCESS;
    }
    url = make_checkout(p, cfg, req, &provider, &reference);
    *ran = 1;
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = acp_sa_exec(db, p, "acp_invoice_checkout_done", NULL,
                     ACP_SA_ARGS(url ? "done" : "failed", url, req->invoice_id));
    if (rv == APR_SUCCESS && provider) {
        rv = acp_sa_exec(db, p, "acp_invoice_checkout_ref", NULL,
                         ACP_SA_ARGS(provider, reference, req->invoice_id));
    }
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (url) {
        req->qr_data = url;
    }
    return APR_SUCCESS;
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
    if (
        holder_get(db, p, billing_id, &balance, &held) != APR_SUCCESS) {
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
    return payment_required(db, p, cfg, billing_id, order_id, price - balance, names, base_url);
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
            if (holder_get(db, p, billing_id, &balance, &held) != APR_SUCCESS) {
                return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "unknown billing holder");
            }
            if (held && strcmp(held, cfg->currency) != 0) {
                return currency_problem(p, held, cfg->currency);
            }
            return payment_required(db, p, cfg, billing_id, order_id, charge->price - balance,
                                    names, base_url);
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
        if ((!have_after && holder_get(db, p, billing_id, &after, &held) != APR_SUCCESS) ||
            ledger(db, p, billing_id, -charge->charged, after, held,
                   covered ? "subscription" : charge->reissue_of ? "reissue" : "debit",
                   order_id, NULL, charge->reissue_of, covered ? charge->subscription : NULL,
                   "acme", reason) != APR_SUCCESS) {
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
    rv = holder_get(db, p, billing_id, &after, &held);
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
        rv = ledger(db, p, billing_id, debit, after, held, "refund", order_id, NULL, NULL, NULL,
                    "system", reason);
    }
    if (rv == APR_SUCCESS) {
        /* a subscription this order bought never started */
        rv = acp_sa_exec(db, p, "acp_subscription_void", NULL, ACP_SA_ARGS(order_id));
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
