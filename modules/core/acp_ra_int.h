/* Registration authority: helpers shared by acp_ra.c and acp_ra_issue.c. */
#ifndef ACP_RA_INT_H
#define ACP_RA_INT_H

#include "acp_ra.h"

/* seconds a claimed job is this process's before any worker may take it again */
#define ACP_JOB_LEASE 120

acp_problem_t *acp_ra_int_db_problem(apr_pool_t *p, const char *what);
const char *acp_ra_int_jstr(json_object *o, const char *key);
const char *acp_ra_int_json_text(apr_pool_t *p, json_object *o);
acp_problem_t *acp_ra_int_set_order_status(acp_db_t *db, apr_pool_t *p, acp_order_t *order,
                                           const char *status, const acp_problem_t *err);

#endif
