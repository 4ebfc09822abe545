/* Billing: the payment request of an order the balance does not cover: its open invoice
 * (payment link, Ethereum URI) and, after the transaction commits, its checkout URL from
 * the providers or AcmePayInvoiceCommand (acp_billing_checkout). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "acp_billing.h"
#include "acp_billing_int.h"
#include "acp_eth.h"
#include "acp_money.h"
#include "acp_pay.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

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

acp_problem_t *acp_billing_int_payment_required(acp_db_t *db, apr_pool_t *p,
                                                const acp_billing_cfg_t *cfg,
                                                const char *billing_id, const char *order_id,
                                                long long shortfall,
                                                const apr_array_header_t *names,
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
