/* ACME profiles (draft-ietf-acme-profiles) as products: a name a client picks in
 * newOrder, with its own validity and price. RA policy; billing only sees the price. */
#ifndef ACP_PROFILE_H
#define ACP_PROFILE_H

#include <apr_tables.h>
#include "acp_core.h"
#include "acp_money.h"

typedef struct acp_profile_t {
    const char *name;              /* [A-Za-z0-9._-], at most 64 */
    const char *description;
    int days;                      /* certificate lifetime */
    acp_price_cfg_t price;         /* minor units; a surcharge of -1: the global one */
    long long term;                /* seconds a purchase covers (a subscription); 0: none */
    int ov;                        /* organization-validated: needs a vetted organization
                                      (acp_org.h); its subject and the OV policy OID */
} acp_profile_t;

/* The profile called name in profiles (array of acp_profile_t*), or NULL. */
const acp_profile_t *acp_profile_find(const apr_array_header_t *profiles, const char *name);

/* The profile an order gets: the one it asked for (invalidProfile when unknown), else
 * default_name, else the first. *out = NULL when no profiles are configured (and the
 * request's own "profile" member is then ignored, as before profiles existed). */
acp_problem_t *acp_profile_choose(apr_pool_t *p, const apr_array_header_t *profiles,
                                  const char *default_name, const char *requested,
                                  const acp_profile_t **out);

/* "description (N days, 10.00 CNY)": what directory meta.profiles shows. */
const char *acp_profile_label(apr_pool_t *p, const acp_profile_t *prof, const char *currency);

/* 1 when a name is a valid profile name. */
int acp_profile_name_ok(const char *name);

#endif
