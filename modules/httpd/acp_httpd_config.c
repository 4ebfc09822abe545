/* The server config (acp_srv_cfg_t): its defaults, and how a <VirtualHost> inherits
 * the main server's directives. The directives that fill it are acp_httpd_directives.c's. */
#include <stddef.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include <apr_strings.h>
#include "acp_httpd.h"

#define OFF(field) offsetof(acp_srv_cfg_t, field)
#define FIELD_SIZE(field) sizeof(((acp_srv_cfg_t *)0)->field)

void *acp_httpd_create_srv_cfg(apr_pool_t *p, server_rec *s)
{
    acp_srv_cfg_t *c = apr_pcalloc(p, sizeof(*c));
    acp_wfe_cfg_defaults(&c->wfe);
    c->keepalive_thread = 1;
    return c;
}

/* How a <VirtualHost> inherits a field from the main server: when it leaves the field
 * unset (all zero: NULL, 0), or when it did not give the directive (a bit in pay_set,
 * cfg_set or limits_set; for fields whose default is not zero). Each directive is
 * inherited on its own: a <VirtualHost> that sets only AcmePayPrice keeps the main
 * server's AcmePayWebhookSecret, currency, window, … */
enum { BY_VALUE, BY_PAY, BY_CFG, BY_LIMIT };
typedef struct {
    int by;
    unsigned bit;
    apr_size_t off, len;
} inherit_t;
#define INHERIT(by, bit, field) {by, bit, OFF(field), FIELD_SIZE(field)}

static const inherit_t inherited[] = {
    INHERIT(BY_VALUE, 0, ca_cert),
    INHERIT(BY_VALUE, 0, ca_key),
    INHERIT(BY_VALUE, 0, wfe.ra.tos),
    INHERIT(BY_VALUE, 0, wfe.website),
    INHERIT(BY_VALUE, 0, wfe.caa_identities),
    INHERIT(BY_VALUE, 0, wfe.ra.va.resolver),
    INHERIT(BY_VALUE, 0, wfe.ra.va.allow),
    INHERIT(BY_VALUE, 0, wfe.ra.va.max_host_conns),
    INHERIT(BY_VALUE, 0, va_per_account),
    INHERIT(BY_VALUE, 0, workers),
    INHERIT(BY_VALUE, 0, sign_command),
    INHERIT(BY_VALUE, 0, key_file),
    INHERIT(BY_VALUE, 0, nonce_mode),
    INHERIT(BY_VALUE, 0, wfe.ari.retry_after),
    INHERIT(BY_VALUE, 0, wfe.ari.explanation_url),
    INHERIT(BY_VALUE, 0, wfe.invoice_tpl),
    INHERIT(BY_VALUE, 0, wfe.ra.profiles),
    INHERIT(BY_VALUE, 0, wfe.ra.default_profile),
    INHERIT(BY_VALUE, 0, wfe.ra.ov_vetting_days),
    INHERIT(BY_VALUE, 0, wfe.ra.ov_contact_url),
    INHERIT(BY_VALUE, 0, wfe.ra.crl.url),
    INHERIT(BY_VALUE, 0, wfe.ra.crl.shards),
    INHERIT(BY_VALUE, 0, wfe.ra.crl.lifetime),
    INHERIT(BY_VALUE, 0, chain.confirmations),
    INHERIT(BY_VALUE, 0, chain.poll_interval),
    INHERIT(BY_CFG, ACP_SET_EAB, wfe.ra.eab_required),
    INHERIT(BY_CFG, ACP_SET_HTTP_PORT, wfe.ra.va.http_port),
    INHERIT(BY_CFG, ACP_SET_ALPN_PORT, wfe.ra.va.tlsalpn_port),
    INHERIT(BY_CFG, ACP_SET_VALIDITY, wfe.ra.validity_days),
    INHERIT(BY_CFG, ACP_SET_MAX_VALIDITY, wfe.ra.max_validity),
    INHERIT(BY_CFG, ACP_SET_BODY, wfe.max_body),
    INHERIT(BY_CFG, ACP_SET_TIMEOUT, wfe.ra.va.timeout_ms),
    INHERIT(BY_CFG, ACP_SET_KEEPALIVE, keepalive_thread),
    INHERIT(BY_PAY, ACP_PAY_CURRENCY, wfe.ra.billing.currency),
    INHERIT(BY_PAY, ACP_PAY_PRICE, wfe.ra.billing.price.base),
    INHERIT(BY_PAY, ACP_PAY_PRICE_EXTRA, wfe.ra.billing.price.per_extra_name),
    INHERIT(BY_PAY, ACP_PAY_PRICE_WILDCARD, wfe.ra.billing.price.per_wildcard),
    INHERIT(BY_PAY, ACP_PAY_FREE_BALANCE, wfe.ra.billing.free_balance),
    INHERIT(BY_PAY, ACP_PAY_FREE_LIMIT, wfe.ra.billing.free_limit),
    INHERIT(BY_PAY, ACP_PAY_FREE_LIMIT, wfe.ra.billing.free_period),
    INHERIT(BY_PAY, ACP_PAY_REISSUE_WINDOW, wfe.ra.billing.reissue_window),
    INHERIT(BY_PAY, ACP_PAY_URL, wfe.ra.billing.payment_url),
    INHERIT(BY_PAY, ACP_PAY_INVOICE_COMMAND, wfe.ra.billing.invoice_command),
    INHERIT(BY_PAY, ACP_PAY_ETHEREUM, wfe.ra.billing.eth_address),
    INHERIT(BY_PAY, ACP_PAY_ETHEREUM, wfe.ra.billing.eth_chain),
    INHERIT(BY_PAY, ACP_PAY_ETHEREUM, wfe.ra.billing.eth_wei_per_minor),
    INHERIT(BY_PAY, ACP_PAY_ETH_TOKENS, wfe.ra.billing.eth_tokens),
    INHERIT(BY_PAY, ACP_PAY_SIGN_TIMEOUT, wfe.sign_timeout_ms),
    INHERIT(BY_PAY, ACP_PAY_RETRY_AFTER, wfe.retry_after),
    INHERIT(BY_PAY, ACP_PAY_WEBHOOK_SECRET, wfe.webhook_secret),
    INHERIT(BY_PAY, ACP_PAY_WEBHOOK_SECRET, wfe.webhook_secret_len),
    INHERIT(BY_PAY, ACP_PAY_SUB_RENEW_WINDOW, wfe.ra.billing.sub_renew_window),
    INHERIT(BY_PAY, ACP_PAY_SUB_REFUND, wfe.ra.billing.sub_refund_none),
    INHERIT(BY_PAY, ACP_PAY_TEST_MODE, wfe.test_mode),
    INHERIT(BY_LIMIT, ACP_LIMIT_ACCOUNTS, wfe.ra.limits.dflt.accounts),
    INHERIT(BY_LIMIT, ACP_LIMIT_ORDERS, wfe.ra.limits.dflt.orders),
    INHERIT(BY_LIMIT, ACP_LIMIT_PENDING, wfe.ra.limits.dflt.pending),
    INHERIT(BY_LIMIT, ACP_LIMIT_FAILED, wfe.ra.limits.dflt.failed),
    INHERIT(BY_LIMIT, ACP_LIMIT_EAB, wfe.ra.limits.eab),
};

static int given(const acp_srv_cfg_t *add, const inherit_t *in)
{
    const char *v = (const char *)add + in->off;
    apr_size_t i;

    switch (in->by) {
    case BY_PAY:
        return (add->pay_set & in->bit) != 0;
    case BY_CFG:
        return (add->cfg_set & in->bit) != 0;
    case BY_LIMIT:
        return (add->limits_set & in->bit) != 0;
    default:
        for (i = 0; i < in->len; i++) {
            if (v[i]) {
                return 1;
            }
        }
        return 0;
    }
}

void *acp_httpd_merge_srv_cfg(apr_pool_t *p, void *basev, void *addv)
{
    acp_srv_cfg_t *base = basev, *add = addv, *c = apr_pmemdup(p, add, sizeof(*c));
    apr_size_t i;

    for (i = 0; i < sizeof(inherited) / sizeof(inherited[0]); i++) {
        const inherit_t *in = &inherited[i];
        if (!given(add, in)) {
            memcpy((char *)c + in->off, (const char *)base + in->off, in->len);
        }
    }
    c->wfe.ra.va.caa_identities = c->wfe.caa_identities; /* the VA checks CAA against them */
    if (!add->chain.rpc_url) { /* AcmePayEthereumRPC: the URL and its header together */
        c->chain.rpc_url = base->chain.rpc_url;
        c->chain.rpc_header = base->chain.rpc_header;
    }
    acp_httpd_merge_providers(p, c, base, add);
    c->pay_set = add->pay_set | base->pay_set;
    c->cfg_set = add->cfg_set | base->cfg_set;
    c->limits_set = add->limits_set | base->limits_set;
    return c;
}
