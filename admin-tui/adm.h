/* acme-pay-admin: shared declarations. */
#ifndef ADM_H
#define ADM_H

#include <apr_pools.h>
#include "acp_sa.h"

typedef struct adm_t {
    apr_pool_t *pool;
    const char *driver, *params;     /* the database */
    const char *conf;                /* Apache config read for them */
    const char *currency;
    const char *actor;               /* staff user recorded in the ledger */
    int json;
    acp_db_t *db;
} adm_t;

/* Read DBDriver/DBDParams (and the AcmePay directives the tool needs) from an Apache
 * configuration file, following Include/IncludeOptional. 0 on success. */
int adm_conf_read(adm_t *adm, const char *path, const char **err);

#endif
