/* A section in mod_status's server-status (as mod_md adds one): orders by status,
 * certificates issued, pending background jobs, open invoices, revenue today, and with
 * the chain watcher its lag (head block - last processed, seconds since its last
 * successful poll). The figures
 * come from the storage authority (acp_sa_status); one section per database. The ?auto
 * form carries the same as "AcmePay<Name>: <value>" lines; a second database's keys end in
 * "_<its ServerName>". */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include "mod_status.h"
#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_util.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

/* the statuses RFC 8555 orders have, always shown (0 when none) */
static const char *const order_statuses[] = {"pending", "ready", "processing", "valid",
                                             "invalid", NULL};

static void put(request_rec *r, int flags, const char *suffix, const char *key,
                const char *label, const char *value)
{
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "AcmePay%s%s: %s\n", key, suffix, value);
    }
    else {
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td></tr>\n", label, value);
    }
}

static const char *num(apr_pool_t *p, long long v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

static int lower_word(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < 'a' || *s > 'z') {
            return 0;
        }
    }
    return 1;
}

static long long order_count(const acp_sa_status_t *st, const char *name)
{
    int i;
    for (i = 0; i < st->orders->nelts; i++) {
        const acp_sa_count_t *c = &APR_ARRAY_IDX(st->orders, i, acp_sa_count_t);
        if (!strcmp(c->name, name)) {
            return c->n;
        }
    }
    return 0;
}

static void section(request_rec *r, int flags, server_rec *s, acp_srv_cfg_t *c,
                    const char *suffix)
{
    apr_pool_t *p = r->pool;
    ap_dbd_t *dbd = dbd_open(p, s);
    acp_sa_status_t st;
    apr_status_t rv;
    const char *cur = c->wfe.ra.billing.currency ? c->wfe.ra.billing.currency : "";
    acp_chain_lag_t lag;
    int i, watcher = 0;

    if (!(flags & AP_STATUS_SHORT)) {
        ap_rprintf(r, "<hr />\n<h2>ACME server (mod_acme_pay) %s</h2>\n<table>\n",
                   ap_escape_html(p, s->server_hostname ? s->server_hostname : ""));
    }
    if (!dbd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ACPLOGNO(03600) "status: no database connection");
        put(r, flags, suffix, "Error", "error", "no database connection");
        goto done;
    }
    rv = acp_sa_status(acp_httpd_db(p, dbd), p, acp_now(), &st);
    if (rv == APR_SUCCESS && c->chain.rpc_url && c->wfe.ra.billing.eth_address) {
        watcher = acp_chain_lag(acp_httpd_db(p, dbd), p, &lag) == APR_SUCCESS;
    }
    dbd_close(s, dbd);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ACPLOGNO(03601) "status: database error %d", rv);
        put(r, flags, suffix, "Error", "error", "database error");
        goto done;
    }
    for (i = 0; order_statuses[i]; i++) {
        const char *n = order_statuses[i];
        put(r, flags, suffix,
            apr_pstrcat(p, "Orders", apr_psprintf(p, "%c", n[0] - 'a' + 'A'), n + 1, NULL),
            apr_pstrcat(p, "orders ", n, NULL), num(p, order_count(&st, n)));
    }
    for (i = 0; i < st.orders->nelts; i++) {
        const acp_sa_count_t *oc = &APR_ARRAY_IDX(st.orders, i, acp_sa_count_t);
        int j, known = 0;
        for (j = 0; order_statuses[j]; j++) {
            known |= !strcmp(order_statuses[j], oc->name);
        }
        if (!known && lower_word(oc->name)) {
            put(r, flags, suffix, apr_pstrcat(p, "Orders_", oc->name, NULL),
                apr_pstrcat(p, "orders ", oc->name, NULL), num(p, oc->n));
        }
    }
    put(r, flags, suffix, "CertificatesIssued", "certificates issued",
        num(p, st.certs_total));
    put(r, flags, suffix, "CertificatesIssuedLastHour", "certificates issued in the last hour",
        num(p, st.certs_last_hour));
    put(r, flags, suffix, "JobsPending", "background jobs pending",
        num(p, st.jobs_pending));
    put(r, flags, suffix, "InvoicesOpen", "open invoices",
        num(p, st.invoices_open));
    put(r, flags, suffix, "RevenueToday",
        apr_pstrcat(p, "revenue today (UTC, minor units of ", ap_escape_html(p, cur), ")", NULL),
        num(p, st.revenue_today));
    put(r, flags, suffix, "Currency", "currency", ap_escape_html(p, cur));
    if (watcher) {
        /* chain lag: blocks behind the head (N - 1 when caught up: a block waits for its
         * confirmations) and seconds since the watcher's last successful poll (-1: never) */
        long long now = acp_now();
        put(r, flags, suffix, "ChainHead", "chain head block seen", num(p, lag.head));
        put(r, flags, suffix, "ChainLastBlock", "chain block last processed",
            num(p, lag.last_block));
        put(r, flags, suffix, "ChainLagBlocks", "chain lag (head - last processed, blocks)",
            num(p, lag.head >= 0 && lag.last_block >= 0 ? lag.head - lag.last_block : -1));
        put(r, flags, suffix, "ChainLagSeconds",
            "seconds since the chain watcher's last successful poll",
            num(p, lag.polled > 0 ? (now > lag.polled ? now - lag.polled : 0) : -1));
    }
done:
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("</table>\n", r);
    }
}

static int acp_status_hook(request_rec *r, int flags)
{
    apr_array_header_t *seen = apr_array_make(r->pool, 4, sizeof(const char *));
    server_rec *s;
    int i;

    if (!dbd_open || !dbd_close) {
        return OK;
    }
    for (s = ap_server_conf; s; s = s->next) {
        acp_srv_cfg_t *c = ap_get_module_config(s->module_config, &acme_pay_module);
        const char *db = acp_httpd_dbd_params(s), *suffix = "";
        int dup = 0;

        if (!c || !c->wfe.ra.signer || !db) {
            continue;
        }
        for (i = 0; i < seen->nelts; i++) {
            dup |= !strcmp(APR_ARRAY_IDX(seen, i, const char *), db);
        }
        if (dup) {
            continue;
        }
        if (seen->nelts > 0) {
            char *h = apr_pstrdup(r->pool, s->server_hostname ? s->server_hostname : "vhost");
            char *q;
            for (q = h; *q; q++) {
                if (!apr_isalnum(*q)) {
                    *q = '_';
                }
            }
            suffix = apr_pstrcat(r->pool, "_", h, NULL);
        }
        APR_ARRAY_PUSH(seen, const char *) = db;
        section(r, flags, s, c, suffix);
    }
    return OK;
}

static void acp_status_optional_fns(void)
{
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
}

void acp_httpd_status_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, acp_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_optional_fn_retrieve(acp_status_optional_fns, NULL, NULL, APR_HOOK_MIDDLE);
}
