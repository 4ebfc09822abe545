/* The abuse-limit directives (AcmePayLimit*): parsed here, enforced by the RA
 * (modules/core/acp_ra_limit.c). A <VirtualHost> inherits each one it does not set. */
#include <stddef.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_limit.h"

static acp_limits_cfg_t *limits(cmd_parms *cmd, unsigned bit)
{
    acp_srv_cfg_t *c = ap_get_module_config(cmd->server->module_config, &acme_pay_module);
    c->limits_set |= bit;
    return &c->wfe.ra.limits;
}

/* AcmePayLimit{AccountsPerAddress,OrdersPerAccount,FailedValidations} N|off [period] and
 * AcmePayLimitPendingAuthz N|off (cmd->info: offsetof the limit in acp_limit_set_t) */
const char *acp_httpd_set_limit(cmd_parms *cmd, void *d, const char *max, const char *period)
{
    apr_size_t off = (apr_size_t)cmd->info;
    unsigned bit = off == offsetof(acp_limit_set_t, accounts) ? ACP_LIMIT_ACCOUNTS
                   : off == offsetof(acp_limit_set_t, orders) ? ACP_LIMIT_ORDERS
                   : off == offsetof(acp_limit_set_t, pending) ? ACP_LIMIT_PENDING
                                                               : ACP_LIMIT_FAILED;
    acp_limit_t *l = (acp_limit_t *)((char *)&limits(cmd, bit)->dflt + off);
    const char *err = acp_limit_parse_max(max, &l->max);

    if (!err && period) {
        if (cmd->info == (void *)offsetof(acp_limit_set_t, pending)) {
            err = "takes no period (pending authorizations are counted, not a rate)";
        }
        else {
            err = acp_limit_parse_period(period, &l->period);
        }
    }
    return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err) : NULL;
}

/* AcmePayLimitEAB kid name=N[/period] … */
const char *acp_httpd_set_limit_eab(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_limits_cfg_t *cfg = limits(cmd, ACP_LIMIT_EAB);
    acp_limit_eab_t *e;
    int i;

    if (argc < 2) {
        return "AcmePayLimitEAB: an EAB key id and at least one name=N[/period]";
    }
    if (!cfg->eab) {
        cfg->eab = apr_array_make(cmd->pool, 4, sizeof(acp_limit_eab_t));
    }
    e = apr_array_push(cfg->eab);
    e->kid = argv[0];
    memset(&e->set, 0, sizeof(e->set)); /* period 0: the default's, when the limit applies */
    e->set.accounts.max = e->set.orders.max = e->set.pending.max = e->set.failed.max = -1;
    for (i = 1; i < argc; i++) {
        const char *err = acp_limit_parse_item(cmd->pool, argv[i], &e->set);
        if (err) {
            return apr_psprintf(cmd->pool, "AcmePayLimitEAB: %s", err);
        }
    }
    return NULL;
}
