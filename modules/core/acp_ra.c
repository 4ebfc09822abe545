/* Registration authority: its configuration, and the helpers the acp_ra*.c files share
 * (acp_ra_int.h). Accounts are in acp_ra_account.c; orders, authorizations and
 * challenges in acp_ra_order.c; validation, finalize and issuance in acp_ra_issue.c;
 * abuse limits in acp_ra_limit.c. */
#include <string.h>
#include <apr_strings.h>
#include "acp_ra.h"
#include "acp_org.h"
#include "acp_problem.h"
#include "acp_ra_int.h"

int acp_ra_ov_vetting_days(const acp_ra_cfg_t *cfg)
{
    return cfg->ov_vetting_days > 0 ? cfg->ov_vetting_days : ACP_ORG_VETTING_DAYS;
}

void acp_ra_cfg_defaults(acp_ra_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    acp_billing_cfg_defaults(&cfg->billing);
    acp_limits_defaults(&cfg->limits);
    cfg->validity_days = 90;
    acp_validity_cabf(&cfg->max_validity);
    cfg->order_lifetime = 7 * 86400;
    cfg->authz_pending_lifetime = 7 * 86400;
    cfg->authz_valid_lifetime = 30 * 86400;
    cfg->va.http_port = 80;
    cfg->va.tlsalpn_port = 443;
    cfg->va.timeout_ms = 10000;
}

acp_problem_t *acp_ra_int_db_problem(apr_pool_t *p, const char *what)
{
    return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error while %s", what);
}

const char *acp_ra_int_jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

const char *acp_ra_int_json_text(apr_pool_t *p, json_object *o)
{
    return apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
}
