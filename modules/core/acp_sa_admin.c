/* Storage authority: statements only the staff tool uses (lists, dashboards, reissue).
 * Kept apart from the module's catalogue so the hot path prepares only what it runs.
 * Optional filters are written "(%s IS NULL OR col = %s)": the caller passes the value
 * twice, or NULL twice; one text serves SQLite and PostgreSQL. */
#include "acp_sa.h"

/* invoice status as staff read it: an open invoice past its expiry is "expired" */
#define INV_STATUS "CASE WHEN i.status = 'open' AND i.expires < %lld THEN 'expired' ELSE i.status END"

const acp_sa_stmt_t acp_sa_admin_catalogue[] = {
    /* holders: q matches id or label */
    {"adm_holders",
     "SELECT b.id, b.kind, b.label, b.balance, "
     "(SELECT COUNT(*) FROM accounts a WHERE a.billing_id = b.id), "
     "(SELECT MIN(e.kid) FROM eab_keys e WHERE e.billing_id = b.id), b.created "
     "FROM billing b WHERE (%s IS NULL OR b.id LIKE %s OR b.label LIKE %s) "
     "ORDER BY b.created DESC, b.id LIMIT %lld"},
    {"adm_accounts",
     "SELECT a.id, a.status, a.billing_id, a.eab_kid, a.contacts, "
     "(SELECT COUNT(*) FROM orders o WHERE o.account_id = a.id), a.created "
     "FROM accounts a WHERE (%s IS NULL OR a.billing_id = %s) "
     "AND (%s IS NULL OR a.id LIKE %s OR a.contacts LIKE %s) "
     "ORDER BY a.created DESC, a.id LIMIT %lld"},
    /* orders: status, unpaid (an open invoice waits), q matches names or id */
    {"adm_orders",
     "SELECT o.id, o.status, o.names_key, a.billing_id, o.price, o.charged, o.cert_id, "
     "(SELECT MAX(i.id) FROM invoices i WHERE i.order_id = o.id), o.created "
     "FROM orders o JOIN accounts a ON a.id = o.account_id "
     "WHERE (%s IS NULL OR o.status = %s) "
     "AND (%s IS NULL OR EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id "
     "AND i.status = 'open')) "
     "AND (%s IS NULL OR o.names_key LIKE %s OR o.id LIKE %s) "
     "ORDER BY o.created DESC, o.id LIMIT %lld"},
    /* certificates: name (pattern), serial (pattern) */
    {"adm_certs",
     "SELECT c.id, c.serial, c.names_key, c.billing_id, c.order_id, c.issued, c.not_after, "
     "c.revoked, c.revoked_reason FROM certificates c "
     "WHERE (%s IS NULL OR c.names_key LIKE %s) AND (%s IS NULL OR c.serial LIKE %s) "
     "ORDER BY c.issued DESC, c.id LIMIT %lld"},
    {"adm_invoices",
     "SELECT i.id, " INV_STATUS ", i.billing_id, i.order_id, i.amount, i.paid, i.currency, "
     "i.created, i.expires, i.pay_url FROM invoices i "
     "WHERE (%s IS NULL OR " INV_STATUS " = %s) AND (%s IS NULL OR i.billing_id = %s) "
     "AND (%s IS NULL OR i.order_id = %s) "
     "ORDER BY i.created DESC, i.id LIMIT %lld"},
    {"adm_ledger",
     "SELECT l.id, l.created, l.billing_id, l.kind, l.delta, l.balance_after, l.actor, "
     "l.reason, l.order_id, l.invoice_id, l.cert_id, l.reference FROM ledger l "
     "WHERE (%s IS NULL OR l.billing_id = %s) "
     "AND (%s IS NULL OR l.reason LIKE %s OR l.kind LIKE %s OR l.actor LIKE %s "
     "OR l.reference LIKE %s) "
     "AND (%s IS NULL OR l.order_id = %s OR l.reference = %s) "
     "AND (%s IS NULL OR l.cert_id = %s) "
     "ORDER BY l.created DESC, l.id DESC LIMIT %lld"},
    {"adm_eab",
     "SELECT e.kid, e.label, e.status, e.billing_id, b.balance, "
     "(SELECT COUNT(*) FROM accounts a WHERE a.eab_kid = e.kid), e.created "
     "FROM eab_keys e JOIN billing b ON b.id = e.billing_id "
     "WHERE (%s IS NULL OR e.billing_id = %s) "
     "AND (%s IS NULL OR e.kid LIKE %s OR e.label LIKE %s) "
     "ORDER BY e.created DESC, e.kid LIMIT %lld"},
    {"adm_payments",
     "SELECT reference, amount, currency, source, created FROM payments "
     "WHERE invoice_id = %s ORDER BY created"},
    /* dashboard: now, now + 30 days, start of today, start of month (unix seconds) */
    {"adm_dash",
     "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM billing), "
     "(SELECT COALESCE(SUM(balance), 0) FROM billing), "
     "(SELECT COUNT(*) FROM invoices WHERE status = 'open' AND expires >= %lld), "
     "(SELECT COALESCE(SUM(amount - paid), 0) FROM invoices "
     "WHERE status = 'open' AND expires >= %lld), "
     "(SELECT COUNT(*) FROM certificates), "
     "(SELECT COUNT(*) FROM certificates WHERE revoked IS NULL AND not_after > %lld "
     "AND not_after <= %lld), "
     "(SELECT COALESCE(-SUM(delta), 0) FROM ledger WHERE kind IN ('debit', 'refund') "
     "AND created >= %lld), "
     "(SELECT COALESCE(-SUM(delta), 0) FROM ledger WHERE kind IN ('debit', 'refund') "
     "AND created >= %lld)"},
    {"adm_dash_orders",
     "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status"},
    {"adm_expiring",
     "SELECT c.id, c.serial, c.names_key, c.billing_id, c.issued, c.not_after, c.revoked, "
     "c.revoked_reason FROM certificates c WHERE c.revoked IS NULL AND c.not_after > %lld "
     "AND c.not_after <= %lld ORDER BY c.not_after, c.id LIMIT %lld"},
    /* a staff reissue points the order at its new certificate */
    {"adm_order_set_cert",
     "UPDATE orders SET cert_id = %s, updated = %lld WHERE id = %s AND status = 'valid'"},
    /* lock the holder's row (PostgreSQL) before a zero ledger row reads balance_after */
    {"adm_billing_touch", "UPDATE billing SET balance = balance WHERE id = %s"},
    {NULL, NULL}};
