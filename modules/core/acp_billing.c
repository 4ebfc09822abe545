/* Billing: holders, free reissues, debit/refund, invoices, payments; ledger rows always. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "acp_billing.h"
#include "acp_secret.h"
#include "acp_util.h"

void acp_billing_cfg_defaults(acp_billing_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->currency = "CNY";
    cfg->reissue_window = 30LL * 86400;
    cfg->invoice_lifetime = 7 * 86400;
    cfg->eth_wei_per_minor = "0";
}

#define LL(p, v) acp_sa_ll(p, v)

apr_status_t acp_billing_balance(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                 long long *balance)
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
    return APR_SUCCESS;
}

static apr_status_t ledger(acp_db_t *db, apr_pool_t *p, const char *billing_id, long long delta,
                           long long after, const char *kind, const char *order_id,
                           const char *invoice_id, const char *cert_id, const char *reference,
                           const char *actor, const char *reason)
{
    return acp_sa_exec(db, p, "acp_ledger_insert", NULL,
                       ACP_SA_ARGS(acp_random_id(p, 12), billing_id, LL(p, delta),
                                   LL(p, after), kind, order_id, invoice_id, cert_id, reference,
                                   actor, reason, LL(p, acp_now())));
}

apr_status_t acp_billing_adjust_tx(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                   long long delta, const char *kind, const char *actor,
                                   const char *reason, const char *invoice_id,
                                   const char *reference, long long *balance_after)
{
    long long after = 0;
    int n = 0;
    apr_status_t rv;

    if (delta >= 0) {
        rv = acp_sa_exec(db, p, "acp_billing_add", &n, ACP_SA_ARGS(LL(p, delta), billing_id));
    }
    else {
        rv = acp_sa_exec(db, p, "acp_billing_debit", &n,
                         ACP_SA_ARGS(LL(p, -delta), billing_id, LL(p, -delta)));
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n != 1) {
        /* unknown holder, or a debit below zero */
        return acp_billing_balance(db, p, billing_id, &after) == APR_NOTFOUND ? APR_NOTFOUND
                                                                              : APR_EINVAL;
    }
    rv = acp_billing_balance(db, p, billing_id, &after);
    if (rv == APR_SUCCESS) {
        rv = ledger(db, p, billing_id, delta, after, kind, NULL, invoice_id, NULL, reference,
                    actor, reason);
    }
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

apr_status_t acp_billing_new_holder_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                       const char *kind, const char *label, const char **id)
{
    const char *bid = acp_random_id(p, 12);
    apr_status_t rv = acp_sa_exec(db, p, "acp_billing_insert", NULL,
                                  ACP_SA_ARGS(bid, kind, label, "0", LL(p, acp_now())));

    if (rv == APR_SUCCESS && cfg && cfg->free_balance > 0) {
        rv = acp_billing_adjust_tx(db, p, bid, cfg->free_balance, "credit", "system",
                                   "welcome credit", NULL, NULL, NULL);
    }
    *id = rv == APR_SUCCESS ? bid : NULL;
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
 * checkout URL (first line). Runs at most once per invoice. */
static const char *provider_url(apr_pool_t *p, const char *cmd, const char *invoice_id,
                                long long amount, const char *currency)
{
    char line[2048];
    const char *argv_line;
    FILE *f;
    size_t n;

    argv_line = apr_psprintf(p, "timeout 10 '%s' '%s' '%" APR_INT64_T_FMT "' '%s'", cmd,
                             invoice_id, (apr_int64_t)amount, currency);
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
    return n > 0 ? apr_pstrdup(p, line) : NULL;
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
    const char *inv_id, *url, *wei = NULL, *qr = NULL;
    acp_pay_request_t *req = apr_pcalloc(p, sizeof(*req));
    acp_problem_t *prob;
    long long now = acp_now();
    unsigned int unique = 0;

    if (acp_sa_row(db, p, "acp_invoice_open", &row,
                   ACP_SA_ARGS(billing_id, LL(p, shortfall), LL(p, now))) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading invoices");
    }
    if (row) {
        inv_id = row[0];
        url = row[1];
        wei = row[2];
    }
    else {
        inv_id = acp_random_id(p, 8);
        url = pay_link(p, cfg, base_url, inv_id);
        if (cfg->eth_address) {
            RAND_bytes((unsigned char *)&unique, sizeof(unique));
            wei = acp_eip681_uri(p, cfg->eth_address, cfg->eth_chain, shortfall,
                                 cfg->eth_wei_per_minor, (long long)(unique % 999999) + 1);
        }
        if (acp_sa_exec(db, p, "acp_invoice_insert", NULL,
                        ACP_SA_ARGS(inv_id, billing_id, order_id, LL(p, shortfall),
                                    cfg->currency, url, wei, LL(p, now),
                                    LL(p, now + cfg->invoice_lifetime))) != APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error creating an invoice");
        }
    }
    if (bind_invoice(db, p, billing_id, order_id, inv_id, shortfall) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error binding an invoice");
    }
    if (cfg->invoice_command) {
        qr = provider_url(p, cfg->invoice_command, inv_id, shortfall, cfg->currency);
    }
    req->amount_minor = shortfall;
    req->currency = cfg->currency;
    req->link = url;
    req->qr_data = qr ? qr : url;
    req->eip681 = wei;
    req->order_names = apr_array_pstrcat(p, names, ',');
    prob = acp_problem(p, ACP_ERR_USER_ACTION_REQUIRED, "Payment required: %s at %s",
                       acp_money(p, shortfall, cfg->currency), url);
    prob->instance = url;
    prob->payment = req;
    prob->commit = 1; /* keep the invoice */
    return prob;
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

acp_problem_t *acp_billing_quote_tx(acp_db_t *db, apr_pool_t *p, const acp_billing_cfg_t *cfg,
                                    const char *billing_id, const char *order_id,
                                    const char *names_key, const apr_array_header_t *names,
                                    const char *base_url)
{
    const char **row = NULL;
    long long price = acp_price(&cfg->price, names), balance = 0;

    if (price <= 0) {
        return NULL;
    }
    if (reissue_match(db, p, cfg, billing_id, names_key, &row) != APR_SUCCESS ||
        acp_billing_balance(db, p, billing_id, &balance) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading the balance");
    }
    if (row || balance >= price) {
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
    const char **row = NULL;
    long long balance = 0, after = 0;
    int n = 0;

    const char *reason = "certificate";
    acp_charge_t in = *charge;

    memset(charge, 0, sizeof(*charge));
    charge->replaces_cert_id = in.replaces_cert_id;
    charge->replaces_serial = in.replaces_serial;
    charge->replaces_not_after = in.replaces_not_after;
    charge->replaces_free = in.replaces_free;
    charge->price = acp_price(&cfg->price, names);
    if (reissue_match(db, p, cfg, billing_id, names_key, &row) != APR_SUCCESS) {
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
    if (!charge->reissue_of && charge->price > 0) {
        if (acp_sa_exec(db, p, "acp_billing_debit", &n,
                        ACP_SA_ARGS(LL(p, charge->price), billing_id, LL(p, charge->price))) !=
            APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error debiting");
        }
        if (n != 1) {
            if (acp_billing_balance(db, p, billing_id, &balance) != APR_SUCCESS) {
                return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "unknown billing holder");
            }
            return payment_required(db, p, cfg, billing_id, order_id, charge->price - balance,
                                    names, base_url);
        }
        charge->charged = charge->price;
    }
    if (acp_billing_balance(db, p, billing_id, &after) != APR_SUCCESS ||
        ledger(db, p, billing_id, -charge->charged, after, charge->reissue_of ? "reissue" : "debit",
               order_id, NULL, charge->reissue_of, NULL, "acme", reason) !=
            APR_SUCCESS) {
        /* the unique (order, kind) index refuses a second charge of one order */
        return acp_problem(p, ACP_ERR_ORDER_NOT_READY, "order was already charged");
    }
    /* the order's money question is answered: its open invoices are closed */
    if (acp_sa_exec(db, p, "acp_invoice_close_order", NULL,
                    ACP_SA_ARGS(LL(p, acp_now()), "acme",
                                charge->reissue_of ? "free reissue within the window"
                                                   : "order charged from the balance",
                                order_id)) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error closing invoices");
    }
    {
        long long na = default_not_after;
        if (charge->not_after_cap && (!na || na > charge->not_after_cap)) {
            na = charge->not_after_cap;
        }
        charge->not_after = na;
        if (acp_sa_exec(db, p, "acp_order_charge", NULL,
                        ACP_SA_ARGS(LL(p, charge->price), LL(p, charge->charged),
                                    charge->reissue_of, na ? LL(p, na) : NULL, order_id)) !=
            APR_SUCCESS) {
            return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error");
        }
    }
    return NULL;
}

apr_status_t acp_billing_refund_tx(acp_db_t *db, apr_pool_t *p, const char *order_id,
                                   const char *reason)
{
    apr_array_header_t *rows = NULL;
    long long debit = 0, after = 0;
    const char *billing_id = NULL;
    int i, refunded = 0, n = 0;
    apr_status_t rv = acp_sa_rows(db, p, "acp_ledger_order", &rows, ACP_SA_ARGS(order_id));

    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        if (!strcmp(r[0], "debit")) {
            debit = -acp_sa_atoll(r[1]);
            billing_id = r[2];
        }
        else if (!strcmp(r[0], "refund")) {
            refunded = 1;
        }
    }
    if (refunded || debit <= 0 || !billing_id) {
        return APR_SUCCESS;
    }
    rv = acp_sa_exec(db, p, "acp_billing_add", &n, ACP_SA_ARGS(LL(p, debit), billing_id));
    if (rv == APR_SUCCESS) {
        rv = acp_billing_balance(db, p, billing_id, &after);
    }
    if (rv == APR_SUCCESS) {
        rv = ledger(db, p, billing_id, debit, after, "refund", order_id, NULL, NULL, NULL,
                    "system", reason);
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
    if (currency && strcasecmp(currency, inv[5]) != 0) {
        return APR_EINVAL;
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
        rv = acp_billing_adjust_tx(db, p, inv[1], amount, "payment", source, "payment",
                                   invoice_id, reference, NULL);
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
