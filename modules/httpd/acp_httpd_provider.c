/* The payment provider directives (AcmePayStripe, AcmePayAlipay, …): "option=value"
 * words, file: paths made ServerRoot-relative, handed to the provider's constructor in
 * modules/core, which reads its secrets from those files. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_provider.h"

typedef apr_status_t (*provider_new_fn)(apr_pool_t *p, const apr_table_t *opts,
                                        acp_provider_t **out, const char **err);

static provider_new_fn constructor(const char *directive)
{
    if (!strcasecmp(directive, "AcmePayStripe")) {
        return acp_provider_stripe_new;
    }
    if (!strcasecmp(directive, "AcmePayWeChatPay")) {
        return acp_provider_wechat_new;
    }
    if (!strcasecmp(directive, "AcmePayAlipay")) {
        return acp_provider_alipay_new;
    }
    return NULL;
}

const char *acp_httpd_set_provider(cmd_parms *cmd, void *d, const char *args)
{
    acp_srv_cfg_t *c = ap_get_module_config(cmd->server->module_config, &acme_pay_module);
    provider_new_fn make = constructor(cmd->directive->directive);
    apr_table_t *opts = apr_table_make(cmd->pool, 8);
    apr_array_header_t *list;
    acp_provider_t *pv = NULL;
    const char *err = NULL, *w;
    int i;

    if (!make) {
        return "unknown payment provider directive";
    }
    while (*(w = ap_getword_conf(cmd->pool, &args)) != '\0') {
        const char *eq = strchr(w, '=');
        const char *name, *value;
        if (!eq || eq == w) {
            return apr_psprintf(cmd->pool, "%s: '%s' is not option=value",
                                cmd->directive->directive, w);
        }
        name = apr_pstrmemdup(cmd->pool, w, (apr_size_t)(eq - w));
        value = eq + 1;
        if (!strncmp(value, "file:", 5)) {
            value = apr_pstrcat(cmd->pool, "file:",
                                ap_server_root_relative(cmd->pool, value + 5), NULL);
        }
        if (apr_table_get(opts, name)) {
            return apr_psprintf(cmd->pool, "%s: %s given twice", cmd->directive->directive,
                                name);
        }
        apr_table_setn(opts, name, value);
    }
    if (make(cmd->pool, opts, &pv, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->directive->directive,
                            err ? err : "invalid");
    }
    list = (apr_array_header_t *)c->wfe.ra.billing.providers;
    if (!list) {
        list = apr_array_make(cmd->pool, 4, sizeof(acp_provider_t *));
        c->wfe.ra.billing.providers = list;
    }
    for (i = 0; i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, acp_provider_t *)->name, pv->name)) {
            return apr_psprintf(cmd->pool, "%s: given twice for this server",
                                cmd->directive->directive);
        }
    }
    APR_ARRAY_PUSH(list, acp_provider_t *) = pv;
    return NULL;
}

/* A <VirtualHost> has its own providers first (in its order), then those of the main
 * server it does not configure itself. */
void acp_httpd_merge_providers(apr_pool_t *p, acp_srv_cfg_t *c, const acp_srv_cfg_t *base,
                               const acp_srv_cfg_t *add)
{
    const apr_array_header_t *a = add->wfe.ra.billing.providers;
    const apr_array_header_t *b = base->wfe.ra.billing.providers;
    apr_array_header_t *m;
    int i;

    if (!b || !b->nelts) {
        c->wfe.ra.billing.providers = a;
        return;
    }
    if (!a || !a->nelts) {
        c->wfe.ra.billing.providers = b;
        return;
    }
    m = apr_array_copy(p, a);
    for (i = 0; i < b->nelts; i++) {
        const acp_provider_t *pv = APR_ARRAY_IDX(b, i, const acp_provider_t *);
        if (!acp_provider_find(a, pv->name)) {
            APR_ARRAY_PUSH(m, const acp_provider_t *) = pv;
        }
    }
    c->wfe.ra.billing.providers = m;
}
