/* Storage authority, inside: what acp_sa.c (statements by label, connections, faults,
 * transactions) and acp_sa_message.c (PostgreSQL's messages of several statements)
 * share. Not for the rest of the module: it calls acp_sa.h. */
#ifndef ACP_SA_INT_H
#define ACP_SA_INT_H

#include "acp_sa.h"

/* acp_sa.c */
/* rv: what the apr_dbd call returned; marks the handle unavailable when the failure says
 * the database or the connection is gone */
void acp_sa_note_failure(acp_db_t *db, int rv);
/* a failed statement's dead connection replaced (outside a transaction only): 1 */
int acp_sa_reconnected(acp_db_t *db);
/* the transaction went with a reset session: nothing may run in it */
int acp_sa_tx_gone(const acp_db_t *db);
/* the last failure was a prepared statement the session no longer has */
int acp_sa_statement_missing(acp_db_t *db);
/* the catalogue's statement label, prepared on this session on first use; NULL: none */
apr_dbd_prepared_t *acp_sa_stmt_of(acp_db_t *db, const char *label);
/* nargs is not what label takes (logged): 1 */
int acp_sa_nargs_wrong(const acp_db_t *db, const char *label, int nargs);

/* acp_sa_message.c */
/* writes kept back by acp_sa_exec_later wait */
int acp_sa_has_later(const acp_db_t *db);
/* the transaction's next message carries more than its own statement (BEGIN, writes) */
int acp_sa_held_back(const acp_db_t *db);
/* the writes kept back dropped, unsent */
void acp_sa_drop_later(acp_db_t *db);
/* sends what the transaction holds back with sql, or with label's prepared statement on
 * args, for rows (res) or a count (n); the apr_dbd result code */
int acp_sa_run_with_prefix(acp_db_t *db, apr_pool_t *p, const char *sql, const char *label,
                           int nargs, const char *const *args, apr_dbd_results_t **res, int *n);

#endif
