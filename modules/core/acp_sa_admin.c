/* Storage authority: statements only the staff tool uses (lists, dashboards, reissue).
 * Kept apart from the module's catalogue so the hot path prepares only what it runs. */
#include "acp_sa.h"

const acp_sa_stmt_t acp_sa_admin_catalogue[] = {
    {"adm_holders",
     "SELECT b.id, b.kind, b.label, b.balance, b.created, "
     "(SELECT COUNT(*) FROM accounts a WHERE a.billing_id = b.id) "
     "FROM billing b ORDER BY b.created DESC LIMIT %lld"},
    {NULL, NULL}};
