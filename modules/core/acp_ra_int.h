/* Registration authority: helpers shared between the acp_ra*.c files. */
#ifndef ACP_RA_INT_H
#define ACP_RA_INT_H

#include "acp_ra.h"

/* seconds a claimed job is this process's before any worker may take it again */
#define ACP_JOB_LEASE 120
/* an authorization is reused for a new order while it stays valid this long (seconds) */
#define ACP_RA_REUSE_MIN_LEFT 86400

acp_problem_t *acp_ra_int_db_problem(apr_pool_t *p, const char *what);
const char *acp_ra_int_jstr(json_object *o, const char *key);
const char *acp_ra_int_json_text(apr_pool_t *p, json_object *o);
acp_problem_t *acp_ra_int_set_order_status(acp_db_t *db, apr_pool_t *p, acp_order_t *order,
                                           const char *status, const acp_problem_t *err);

/* Abuse limits (acp_ra_limit.c), checked inside the request's transaction. */
typedef struct acp_ra_pending_budget_t {
    int left;          /* new pending authorizations this order may still create; -1: any */
    int max;
    long long free_at; /* when the oldest pending one expires */
} acp_ra_pending_budget_t;
acp_problem_t *acp_ra_limit_new_account(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                        const char *addr_key, const char *eab_kid, long long now);
/* *reuse: on PostgreSQL, for each of names in turn the account's authorization to reuse
 * or NULL (read with the counts: acp_new_order_read); NULL on SQLite (not read). */
acp_problem_t *acp_ra_limit_new_order(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct,
                                      const apr_array_header_t *names, long long now,
                                      acp_ra_pending_budget_t *budget,
                                      apr_array_header_t **reuse);
acp_problem_t *acp_ra_limit_pending_spend(apr_pool_t *p, acp_ra_pending_budget_t *budget,
                                          long long now);

#endif
