/* Storage authority: statements only the staff tool uses (lists, search, dashboards,
 * reissue requests). Kept apart from the module's catalogue so the hot path prepares
 * only what it runs.
 * Optional filters are written "(%s IS NULL OR col = %s)": the caller passes the value
 * twice, or NULL twice. One text serves SQLite and PostgreSQL except where the
 * databases' own search differs: "@NAME@" marks a fragment acp_sa_admin_sql() fills in
 * per driver (SQLite: FTS5 tables kept by triggers, migrations 009 and 027; PostgreSQL:
 * search_<kind> tables kept by triggers with pg_trgm and word GIN indexes, migration 028).
 * Lists page by keyset, newest first (or oldest first, the *_asc twins): the caller
 * passes the last row's (time, time, time, id) as the cursor -- or a time beyond every
 * row and an id before every id -- then since, until and the limit. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "acp_sa.h"

/* invoice status as staff read it: an open invoice past its expiry, or whose order can
 * no longer be finalized, is "expired" */
#define INV_STATUS                                                                         \
    "CASE WHEN i.status = 'open' AND (i.expires < %lld OR EXISTS (SELECT 1 FROM orders io " \
    "WHERE io.id = i.order_id AND (io.status = 'invalid' OR io.expires < %lld))) "         \
    "THEN 'expired' ELSE i.status END"

/* keyset paging on (time column t, tie-breaker k whose cursor placeholder is kp) */
#define PAGE_DESC(t, k, kp)                                                                \
    " AND " t " <= %lld AND (" t " < %lld OR (" t " = %lld AND " k " < " kp ")) AND " t   \
    " >= %lld AND " t " < %lld ORDER BY " t " DESC, " k " DESC LIMIT %lld"
#define PAGE_ASC(t, k, kp)                                                                 \
    " AND " t " >= %lld AND (" t " > %lld OR (" t " = %lld AND " k " > " kp ")) AND " t   \
    " >= %lld AND " t " < %lld ORDER BY " t ", " k " LIMIT %lld"
#define LIST(label, sql, t, k, kp)                                                         \
    {label, sql PAGE_DESC(t, k, kp)}, {label "_asc", sql PAGE_ASC(t, k, kp)}
/* a list with a search: through the trigram index (@M_x@; label_index, @I_x@, the same
 * where the search text is always given), through the word index
 * (@L_x@, label_words: the text where it starts a word), the same list scanned newest
 * first with the text checked on each row (@S_x@, label_scan: a text most rows hold,
 * which the index would gather whole first), and the list among the newest matches of
 * the kind's NEWEST newest search records (@N_x@, label_newest: the answer named partial
 * when every other step stopped). label_dense (@D_x@) counts those matches: how common
 * the text is, read from the narrow search table alone */
#define LIST_SEARCH(label, sqlf, t, k, kp)                                                 \
    LIST(label, sqlf("M"), t, k, kp), LIST(label "_index", sqlf("I"), t, k, kp),          \
        LIST(label "_words", sqlf("L"), t, k, kp), LIST(label "_scan", sqlf("S"), t, k, kp), \
        LIST(label "_newest", sqlf("N"), t, k, kp)

#define HOLDERS_SQL(S)                                                                        \
    "SELECT b.id, b.kind, b.label, b.balance, "                                            \
    "(SELECT COUNT(*) FROM accounts a WHERE a.billing_id = b.id), "                        \
    "(SELECT MIN(e.kid) FROM eab_keys e WHERE e.billing_id = b.id), b.created "            \
    "FROM billing b WHERE (@" S "_Q@ @" S "_HOLDER@)"
#define ACCOUNTS_SQL(S)                                                                       \
    "SELECT a.id, a.status, a.billing_id, a.eab_kid, a.contacts, "                         \
    "(SELECT COUNT(*) FROM orders o WHERE o.account_id = a.id), a.created "                \
    "FROM accounts a WHERE (%s IS NULL OR a.billing_id = %s) "                             \
    "AND (@" S "_Q@ @" S "_ACCOUNT@)"
/* orders: status, unpaid (an open invoice waits), q */
#define ORDERS_SQL(S)                                                                         \
    "SELECT o.id, o.status, o.names_key, a.billing_id, o.price, o.charged, o.cert_id, "    \
    "(SELECT MAX(i.id) FROM invoices i WHERE i.order_id = o.id), o.created, "              \
    "(SELECT COUNT(*) FROM invoices i WHERE i.order_id = o.id AND i.status = 'open' "      \
    "AND i.expires >= %lld), o.error, a.contacts, o.profile "                              \
    "FROM orders o JOIN accounts a ON a.id = o.account_id "                                \
    "WHERE (%s IS NULL OR o.status = %s) "                                                 \
    "AND (%s IS NULL OR EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id "         \
    "AND i.status = 'open')) "                                                             \
    "AND (@" S "_Q@ @" S "_ORDER@) AND (%s IS NULL OR a.billing_id = %s)"
#define CERTS_SQL(S)                                                                          \
    "SELECT c.id, c.serial, c.names_key, c.billing_id, c.order_id, c.issued, c.not_after, " \
    "c.revoked, c.revoked_reason, (SELECT po.profile FROM orders po WHERE po.id = c.order_id) " \
    "FROM certificates c "                                                                 \
    "WHERE (@" S "_Q@ @" S "_CERT@) AND (%s IS NULL OR (c.serial >= %s AND c.serial < %s)) "                  \
    "AND (%s IS NULL OR c.billing_id = %s)"
#define INVOICES_SQL(S)                                                                       \
    "SELECT i.id, " INV_STATUS ", i.billing_id, i.order_id, i.amount, i.paid, i.currency, " \
    "i.created, i.expires, i.pay_url, i.closed, i.closed_by, i.closed_reason "             \
    "FROM invoices i "                                                                     \
    "WHERE (%s IS NULL OR " INV_STATUS " = %s) AND (%s IS NULL OR i.billing_id = %s) "     \
    "AND (%s IS NULL OR i.order_id = %s) AND (@" S "_Q@ @" S "_INVOICE@)"
/* ledger: holder, order (its rows, and staff reissues naming it), certificate, invoice,
 * q: an exact id, reference, invoice, order or holder (each indexed) */
#define LEDGER_SQL                                                                         \
    "SELECT l.id, l.created, l.billing_id, l.kind, l.delta, l.balance_after, l.actor, "    \
    "l.reason, l.order_id, l.invoice_id, l.cert_id, l.reference, @SEQ@ FROM ledger l "     \
    "WHERE (%s IS NULL OR l.billing_id = %s) "                                             \
    "AND (%s IS NULL OR l.order_id = %s OR l.reference = %s) "                             \
    "AND (%s IS NULL OR l.cert_id = %s) AND (%s IS NULL OR l.invoice_id = %s) "            \
    "AND (%s IS NULL OR l.id = %s OR l.reference = %s OR l.invoice_id = %s "               \
    "OR l.order_id = %s OR l.billing_id = %s)"
#define EAB_SQL(S)                                                                            \
    "SELECT e.kid, e.label, e.status, e.billing_id, b.balance, "                           \
    "(SELECT COUNT(*) FROM accounts a WHERE a.eab_kid = e.kid), e.created "                \
    "FROM eab_keys e JOIN billing b ON b.id = e.billing_id "                               \
    "WHERE (%s IS NULL OR e.billing_id = %s) AND (@" S "_Q@ @" S "_EAB@)"

/* organizations (OV) with their holder's label */
#define ORGS_SQL                                                                           \
    "SELECT o.id, o.billing_id, o.legal_name, o.locality, o.state, o.country, o.evidence, "  \
    "o.vetted_by, o.vetted_at, o.valid_until, o.revoked_at, o.revoked_by, o.revoked_reason, " \
    "o.created, o.updated, b.label FROM organizations o LEFT JOIN billing b "                \
    "ON b.id = o.billing_id WHERE (%s IS NULL OR o.billing_id = %s)"

/* find: at most %lld matches of one kind (the pattern first) */
/* find's statement of a kind, twice: through the trigram index (@F_x@, any part of the
 * text) and through the word index (@W_x@, whole words, migration 027) */
#define FIND(label, head, kind, tail)                                                      \
    {label, head "@F_" kind "@" tail}, {label "_words", head "@W_" kind "@" tail},         \
        {label "_recent", head "@R_" kind "@" tail}

const acp_sa_stmt_t acp_sa_admin_catalogue[] = {
    /* revenue per profile: charges minus refunds of orders, since a time */
    {"adm_revenue_profiles",
     "SELECT COALESCE(o.profile, '-'), COUNT(DISTINCT o.id), -SUM(l.delta) FROM ledger l "
     "JOIN orders o ON o.id = l.order_id WHERE l.kind IN ('debit', 'refund') "
     "AND l.created >= %lld GROUP BY COALESCE(o.profile, '-') ORDER BY 3 DESC"},
    /* acme-pay-admin subscriptions list: the newest first; filters: holder, running at
     * %lld (0: any), ending by %lld (0: any) */
    {"adm_subscriptions",
     "SELECT id, billing_id, profile, names_key, starts, ends, order_id, price, extended, "
     "cancelled, cancelled_by, cancel_reason, refunded FROM subscriptions "
     "WHERE (%s IS NULL OR billing_id = %s) AND (CAST(%lld AS BIGINT) = 0 OR (starts <= %lld "
     "AND ends > %lld AND cancelled IS NULL)) AND (CAST(%lld AS BIGINT) = 0 OR ends <= %lld) "
     "ORDER BY starts DESC, id LIMIT %lld"},
    {"adm_subscription_get",
     "SELECT id, billing_id, profile, names_key, starts, ends, order_id, price, extended, "
     "cancelled, cancelled_by, cancel_reason, refunded FROM subscriptions WHERE id = %s"},
    /* what the ledger says of one subscription: its purchase, the certificates it covered,
     * extensions and the cancellation */
    {"adm_subscription_ledger",
     "SELECT l.id, l.created, l.kind, l.delta, l.actor, l.reason, l.order_id FROM ledger l "
     "WHERE l.reference = %s OR (l.order_id = %s AND l.kind = 'debit') "
     "ORDER BY l.created, @SEQ@"},
    /* revenue by profile: sold (not void), running now, ending within 30 days, charged,
     * refunded on cancellation */
    {"adm_subscription_revenue",
     "SELECT profile, COUNT(*), "
     "SUM(CASE WHEN starts <= %lld AND ends > %lld AND cancelled IS NULL THEN 1 ELSE 0 END), "
     "SUM(CASE WHEN starts <= %lld AND ends > %lld AND ends <= %lld AND cancelled IS NULL "
     "THEN 1 ELSE 0 END), SUM(price), SUM(COALESCE(refunded, 0)) FROM subscriptions "
     "WHERE ends >= starts GROUP BY profile ORDER BY profile"},
    /* live certificates a bulk renewal (acme-pay-admin renew) may move */
    {"acp_ari_live",
     "SELECT id, serial, billing_id, names_key, aki, not_before, not_after, revoked, "
     "ari_start, ari_end, ari_reason, ari_url FROM certificates "
     "WHERE revoked IS NULL AND not_after > %lld AND (%s IS NULL OR billing_id = %s) "
     "AND issued < %lld ORDER BY issued, id"},
    /* SQLite's search rows waiting to be indexed (migration 030): whether any wait, and
     * the move of every one into the FTS5 tables (the queue's delete triggers).
     * PostgreSQL indexes them in the writing transaction: nothing waits */
    {"adm_search_queued", "@QUEUED@"},
    {"adm_search_drain", "@DRAIN@"},
    LIST_SEARCH("adm_holders", HOLDERS_SQL, "b.created", "b.id", "%s"),
    {"adm_holders_dense", "@D_HOLDER@"},
    LIST_SEARCH("adm_accounts", ACCOUNTS_SQL, "a.created", "a.id", "%s"),
    {"adm_accounts_dense", "@D_ACCOUNT@"},
    LIST_SEARCH("adm_orders", ORDERS_SQL, "o.created", "o.id", "%s"),
    {"adm_orders_dense", "@D_ORDER@"},
    LIST_SEARCH("adm_certs", CERTS_SQL, "c.issued", "c.id", "%s"),
    {"adm_certs_dense", "@D_CERT@"},
    LIST_SEARCH("adm_invoices", INVOICES_SQL, "i.created", "i.id", "%s"),
    {"adm_invoices_dense", "@D_INVOICE@"},
    LIST("adm_ledger", LEDGER_SQL, "l.created", "@SEQ@", "%lld"),
    LIST_SEARCH("adm_eab", EAB_SQL, "e.created", "e.kid", "%s"),
    {"adm_eab_dense", "@D_EAB@"},
    LIST("adm_orgs", ORGS_SQL, "o.created", "o.id", "%s"),
    /* organizations: every change is one statement over the whole row, guarded by the
     * updated time read in the same transaction, and an org_audit row beside it */
    {"adm_org_insert",
     "INSERT INTO organizations (id, billing_id, legal_name, locality, state, country, "
     "evidence, created, updated) VALUES (%s, %s, %s, %s, %s, %s, %s, %lld, %lld)"},
    {"adm_org_store",
     "UPDATE organizations SET legal_name = %s, locality = %s, state = %s, country = %s, "
     "evidence = %s, vetted_by = %s, vetted_at = %lld, valid_until = %lld, revoked_at = %lld, "
     "revoked_by = %s, revoked_reason = %s, updated = %lld WHERE id = %s AND updated = %lld"},
    {"adm_org_audit_insert",
     "INSERT INTO org_audit (id, org_id, billing_id, action, actor, reason, fields, created, "
     "seq) SELECT %s, %s, %s, %s, %s, %s, %s, CAST(%lld AS BIGINT), COUNT(*) FROM org_audit "
     "WHERE org_id = %s"},
    {"adm_org_audit",
     "SELECT id, created, action, actor, reason, fields, seq FROM org_audit "
     "WHERE org_id = %s ORDER BY seq"},
    FIND("adm_find_holder",
         "SELECT b.id, b.kind, b.label, b.balance, b.created FROM billing b "
         "WHERE b.id IN (", "HOLDER", ") ORDER BY b.created DESC, b.id"),
    FIND("adm_find_account",
         "SELECT a.id, a.status, a.billing_id, a.contacts, a.created FROM accounts a "
         "WHERE a.id IN (", "ACCOUNT", ") ORDER BY a.created DESC, a.id"),
    FIND("adm_find_order",
         "SELECT o.id, o.status, o.names_key, a.billing_id, o.created FROM orders o "
         "JOIN accounts a ON a.id = o.account_id "
         "WHERE o.id IN (", "ORDER", ") ORDER BY o.created DESC, o.id"),
    FIND("adm_find_invoice",
         "SELECT i.id, i.status, i.billing_id, i.amount, i.created FROM invoices i "
         "WHERE i.id IN (", "INVOICE", ") ORDER BY i.created DESC, i.id"),
    FIND("adm_find_cert",
         "SELECT c.id, c.serial, c.names_key, c.billing_id, c.issued FROM certificates c "
         "WHERE c.id IN (", "CERT", ") ORDER BY c.issued DESC, c.id"),
    FIND("adm_find_eab",
         "SELECT e.kid, e.label, e.status, e.billing_id, e.created FROM eab_keys e "
         "WHERE e.kid IN (", "EAB", ") ORDER BY e.created DESC, e.kid"),
    FIND("adm_find_payment",
         "SELECT p.reference, p.invoice_id, i.billing_id, p.amount, p.created FROM payments p "
         "JOIN invoices i ON i.id = p.invoice_id "
         "WHERE p.reference IN (", "PAYMENT", ") ORDER BY p.created DESC, p.reference"),
    /* find, exact keys first, every kind in one statement (one round trip): rows of
     * (kind, id, summary, holder, created, show_id), at most %lld per kind. The
     * parameters, per kind: holder (text, limit); account (text, key, limit); order
     * (text, key, limit); invoice (text, limit); certificate (text, serial, key, limit);
     * EAB key (text, limit); payment (text, limit). The text as typed (ids are
     * case-sensitive); the key lowercase (an e-mail address, a DNS name or IP address);
     * the serial lowercase hex. Primary and unique keys, search_key (SQLite) or GIN
     * containment (PostgreSQL): index lookups at any size (migration 026). */
    {"adm_exact",
     "SELECT * FROM (SELECT 'holder', b.id, b.label, b.id, b.created, NULL FROM billing b "
     "WHERE b.id = %s LIMIT %lld) x1 "
     "UNION ALL SELECT * FROM (SELECT * FROM (SELECT 'account', a.id, a.contacts, "
     "a.billing_id, a.created, NULL FROM accounts a WHERE a.id = %s UNION "
     "SELECT 'account', a.id, a.contacts, a.billing_id, a.created, NULL FROM accounts a "
     "WHERE @K_ACCOUNT@) y2 ORDER BY 5 DESC, 2 LIMIT %lld) x2 "
     /* the order's holder by a lookup per row found (a join may hash every account) */
     "UNION ALL SELECT * FROM (SELECT y3.k, y3.id, y3.names_key, (SELECT a.billing_id FROM "
     "accounts a WHERE a.id = y3.account_id), y3.created, NULL FROM (SELECT 'order' AS k, "
     "o.id, o.names_key, o.account_id, o.created FROM orders o WHERE o.id = %s UNION "
     "SELECT 'order', o.id, o.names_key, o.account_id, o.created FROM orders o "
     "WHERE @K_ORDER@) y3 ORDER BY 5 DESC, 2 LIMIT %lld) x3 "
     "UNION ALL SELECT * FROM (SELECT 'invoice', i.id, NULL, i.billing_id, i.created, NULL "
     "FROM invoices i WHERE i.id = %s LIMIT %lld) x4 "
     "UNION ALL SELECT * FROM (SELECT * FROM (SELECT 'cert', c.id, c.names_key, c.billing_id, "
     "c.issued, c.serial FROM certificates c WHERE c.id = %s UNION SELECT 'cert', c.id, "
     "c.names_key, c.billing_id, c.issued, c.serial FROM certificates c WHERE c.serial = %s "
     "UNION SELECT 'cert', c.id, c.names_key, c.billing_id, c.issued, c.serial "
     "FROM certificates c WHERE @K_CERT@) y5 ORDER BY 5 DESC, 2 LIMIT %lld) x5 "
     "UNION ALL SELECT * FROM (SELECT 'eab', e.kid, e.label, e.billing_id, e.created, "
     "e.billing_id FROM eab_keys e WHERE e.kid = %s LIMIT %lld) x6 "
     "UNION ALL SELECT * FROM (SELECT 'payment', p.reference, NULL, i.billing_id, p.created, "
     "p.invoice_id FROM payments p JOIN invoices i ON i.id = p.invoice_id "
     "WHERE p.reference = %s LIMIT %lld) x7"},
    {"adm_ledger_get",
     "SELECT l.id, l.created, l.billing_id, l.kind, l.delta, l.balance_after, l.actor, "
     "l.reason, l.order_id, l.invoice_id, l.cert_id, l.reference FROM ledger l "
     "WHERE l.id = %s"},
    {"adm_account_get",
     "SELECT a.id, a.status, a.billing_id, a.eab_kid, a.contacts, a.tos_agreed, a.created, "
     "a.thumbprint FROM accounts a WHERE a.id = %s"},
    {"adm_payments",
     "SELECT reference, amount, currency, source, created, refunded FROM payments "
     "WHERE invoice_id = %s ORDER BY created, reference"},
    /* refunds recorded by staff (acp_refund.c, migration 024) */
    {"acp_refund_payment",
     "SELECT p.reference, p.invoice_id, p.amount, p.currency, p.refunded, p.source, "
     "i.billing_id FROM payments p JOIN invoices i ON i.id = p.invoice_id "
     "WHERE p.reference = %s"},
    {"acp_refund_get",
     "SELECT amount, actor, created FROM payment_refunds WHERE payment_ref = %s "
     "AND refund_id = %s"},
    {"acp_refund_insert",
     "INSERT INTO payment_refunds (provider, payment_ref, refund_id, invoice_id, billing_id, "
     "amount, currency, actor, reason, created) "
     "VALUES (%s, %s, %s, %s, %s, %lld, %s, %s, %s, %lld) "
     "ON CONFLICT (payment_ref, refund_id) DO NOTHING"},
    {"acp_refund_payment_take",
     "UPDATE payments SET refunded = refunded + %lld WHERE reference = %s "
     "AND refunded + %lld <= amount"},
    {"adm_invoice_closed",
     "SELECT closed, closed_by, closed_reason, needs_balance FROM invoices WHERE id = %s"},
    /* staff void: only an open invoice (a paid one keeps its money and its status) */
    {"adm_invoice_void",
     "UPDATE invoices SET status = 'voided', closed = %lld, closed_by = %s, "
     "closed_reason = %s WHERE id = %s AND status = 'open'"},
    /* dashboard: now (x4), now + 30 days, start of today, start of month (unix seconds).
     * Revenue is money received (payments minus refunds of payments); "charged" is debits minus refunds, which
     * includes spending of welcome and goodwill credits. */
    {"adm_dash",
     "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM billing), "
     "(SELECT COALESCE(SUM(balance), 0) FROM billing), "
     "(SELECT COUNT(*) FROM invoices i WHERE i.status = 'open' AND i.expires >= %lld "
     "AND NOT EXISTS (SELECT 1 FROM orders io WHERE io.id = i.order_id "
     "AND (io.status = 'invalid' OR io.expires < %lld))), "
     "(SELECT COALESCE(SUM(i.amount - i.paid), 0) FROM invoices i "
     "WHERE i.status = 'open' AND i.expires >= %lld AND NOT EXISTS (SELECT 1 FROM orders io "
     "WHERE io.id = i.order_id AND (io.status = 'invalid' OR io.expires < %lld))), "
     "(SELECT COUNT(*) FROM certificates), "
     "(SELECT COUNT(*) FROM certificates WHERE revoked IS NULL AND not_after > %lld "
     "AND not_after <= %lld), "
     "(SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE kind IN ('payment', 'payment_refund') "
     "AND created >= %lld), "
     "(SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE kind IN ('payment', 'payment_refund') "
     "AND created >= %lld), "
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
    {NULL, NULL}};

/* the databases' own search, per driver: @M_x@ filters a list by the pattern (SQLite:
 * an FTS5 phrase; PostgreSQL: an escaped ILIKE pattern), @F_x@ selects at most %lld
 * matching keys for find (newest first where the index knows the order) */
typedef struct {
    const char *name, *sqlite, *pgsql;
} frag_t;

#define FTS(tbl) "SELECT ref FROM " tbl " WHERE " tbl " MATCH %s"
#define FTS_FIND(tbl) FTS(tbl) " ORDER BY rowid DESC LIMIT %lld"
/* PostgreSQL (migration 028): each kind's search text in a narrow table of its own
 * (search_<kind>: ref, body, created; filled by triggers), with a pg_trgm index and a
 * word index on body. OFFSET 0 keeps PostgreSQL from flattening the subquery: the
 * trigram index finds the matches, then the (small) set is sorted */
#define TRGM(kind) "SELECT ref FROM search_" kind " WHERE body ILIKE %s OFFSET 0"
#define TRGM_FIND(kind) "SELECT ref FROM search_" kind " WHERE body ILIKE %s LIMIT %lld"

/* the word indexes: SQLite FTS5 with unicode61 (a phrase, the last word a prefix);
 * PostgreSQL a GIN index on search_<kind>'s words, the very expression below (tsquery:
 * words ANDed) */
#define WORD_FIND(tbl)                                                                     \
    "SELECT ref FROM " tbl " WHERE " tbl " MATCH %s AND instr(lower(body), %s) > 0 "       \
    "ORDER BY rowid DESC LIMIT %lld"
#define WORDS_OF(expr)                                                                     \
    "array_to_tsvector(array_remove(regexp_split_to_array(lower(" expr "), '[^a-z0-9]+'), ''))"
/* a MATERIALIZED CTE keeps the planner on the index: it cannot estimate a prefix's
 * rows, and with the LIMIT it chose a scan of the whole table that computes every row's
 * words (seconds at 1,000,000 rows) */
#define WORDS_FIND(kind)                                                                   \
    "WITH m AS MATERIALIZED (SELECT ref AS k, body AS t FROM search_" kind " WHERE "        \
    WORDS_OF("body") " @@ CAST(%s AS tsquery)) SELECT k FROM m WHERE strpos(lower(t), %s) > 0 " \
    "LIMIT %lld"
/* the newest rows only (a text most rows hold, whose index lookup would gather them all):
 * the lowercase text, then the limit; PostgreSQL by time */
#define NEWEST "1000"
#define RECENT_FIND(kind)                                                                  \
    "SELECT k FROM (SELECT ref AS k, created AS c, body AS t FROM search_" kind            \
    " ORDER BY created DESC LIMIT " NEWEST ") r WHERE strpos(lower(t), %s) > 0 "           \
    "ORDER BY c DESC LIMIT %lld"
/* SQLite: the word table's newest rows (its rowid follows insertion); an FTS5 prefix
 * query gathers the whole doclist of its prefix before the first row */
#define RECENT_FTS(fts)                                                                    \
    "SELECT ref FROM (SELECT rowid AS r, ref, body FROM " fts " ORDER BY rowid DESC "      \
    "LIMIT " NEWEST ") WHERE instr(lower(body), %s) > 0 ORDER BY r DESC LIMIT %lld"
/* PostgreSQL's list filters are "= ANY(ARRAY(matches))": the matches are gathered first
 * (an InitPlan) and the list reads its rows by key. As "IN (matches)" the planner took the
 * prefix's default estimate (200,001 rows of 10,000,000), read the list newest first
 * probing a hash of the matches, and for a text two rows hold read every row (the lists'
 * search at 10,000,000, docs/PERFORMANCE.md). A text most rows hold makes a long array:
 * the time budget stops it and the newest-first scan answers (adm_list). */
/* one kind's eight fragments: M_ (a list's filter), L_ (the same by words: the words
 * query, then the lowercase text), S_ (the same, checked on the row: the lowercase text
 * in the very text the search tables hold, body), N_ (the same among the newest matches
 * of the kind's NEWEST newest search records: the lowercase text, then how many), D_ (a
 * statement: how many of those records match), F_ (any part), W_ (words), R_ (find among
 * the newest) */
/* a kind's matches for any part of the text (M_, I_), and its NEWEST newest search
 * records (N_, D_): SQLite, PostgreSQL */
#define ANY_PART(kind, col)                                                                \
    col " IN (" FTS("search_" kind) ")", col " = ANY(ARRAY(" TRGM(kind) "))"
#define NEWEST_FTS(kind)                                                                   \
    "(SELECT rowid AS n, ref, body FROM search_word_" kind " ORDER BY rowid DESC LIMIT " NEWEST ")"
#define NEWEST_PG(kind)                                                                    \
    "(SELECT ref, body, created FROM search_" kind " ORDER BY created DESC LIMIT " NEWEST ") r"
#define SEARCH_FRAGS(K, kind, col, body)                                                   \
    {"M_" K, ANY_PART(kind, col)},                                                         \
        {"L_" K,                                                                           \
         col " IN (SELECT ref FROM search_word_" kind " WHERE search_word_" kind " MATCH %s " \
             "AND instr(lower(body), %s) > 0)",                                            \
         col " = ANY(ARRAY(SELECT ref FROM search_" kind " WHERE " WORDS_OF("body")        \
             " @@ CAST(%s AS tsquery) AND strpos(lower(body), %s) > 0))"},                 \
        {"I_" K, ANY_PART(kind, col)},                                                     \
        {"S_" K, "instr(lower(" body "), %s) > 0", "strpos(lower(" body "), %s) > 0"},     \
        {"N_" K,                                                                           \
         col " IN (SELECT ref FROM " NEWEST_FTS(kind) " WHERE instr(lower(body), %s) > 0 "  \
             "ORDER BY n DESC LIMIT %lld)",                                                \
         col " = ANY(ARRAY(SELECT ref FROM " NEWEST_PG(kind) " WHERE strpos(lower(body), %s) > 0 " \
             "ORDER BY created DESC LIMIT %lld))"},                                        \
        {"D_" K, "SELECT COUNT(*) FROM " NEWEST_FTS(kind) " WHERE instr(lower(body), %s) > 0", \
         "SELECT COUNT(*) FROM " NEWEST_PG(kind) " WHERE strpos(lower(body), %s) > 0"},    \
        {"F_" K, FTS_FIND("search_" kind), TRGM_FIND(kind)},                               \
        {"W_" K, WORD_FIND("search_word_" kind), WORDS_FIND(kind)},                        \
        {"R_" K, RECENT_FTS("search_word_" kind), RECENT_FIND(kind)}

static const frag_t frags[] = {
    /* W_: the words query, then the lowercase text, which the row must contain as typed
     * (the words only find the candidates), then the limit */
    SEARCH_FRAGS("HOLDER", "holder", "b.id", "b.id || ' ' || COALESCE(b.label, '')"),
    SEARCH_FRAGS("ACCOUNT", "account", "a.id", "a.id || ' ' || a.contacts"),
    SEARCH_FRAGS("ORDER", "order", "o.id", "o.id || ' ' || o.names_key"),
    SEARCH_FRAGS("INVOICE", "invoice", "i.id", "i.id"),
    SEARCH_FRAGS("CERT", "cert", "c.id", "c.serial || ' ' || c.names_key"),
    SEARCH_FRAGS("EAB", "eab", "e.kid", "e.kid || ' ' || COALESCE(e.label, '')"),
    SEARCH_FRAGS("PAYMENT", "payment", "p.reference", "p.reference || ' ' || p.invoice_id"),
    /* find's exact keys (migration 026): the key parameter once, used by the lookup */
    {"K_ACCOUNT", "a.id IN (SELECT ref FROM search_key WHERE key = %s AND kind = 'account')",
     "lower(a.contacts)::jsonb @> jsonb_build_array('mailto:' || %s)"},
    {"K_ORDER", "o.id IN (SELECT ref FROM search_key WHERE key = %s AND kind = 'order')",
     "string_to_array(o.names_key, ',') @> ARRAY[%s]::text[]"},
    {"K_CERT", "c.id IN (SELECT ref FROM search_key WHERE key = %s AND kind = 'cert')",
     "string_to_array(c.names_key, ',') @> ARRAY[%s]::text[]"},
    /* a list's search filter: "(@x_Q@ <filter>)" takes the text once more first. The plain
     * list (M) may run without one: "%s IS NULL OR"; the search forms always have it, and
     * say so: "%s IS NOT NULL AND" keeps the filter a term of its own, which SQLite's
     * planner can drive the list from (an IN (matches) inside an OR it cannot: it read the
     * list newest first checking every row, 1,000,000 of them for a name two rows hold) */
    {"M_Q", "%s IS NULL OR", "%s IS NULL OR"},
    {"I_Q", "%s IS NOT NULL AND", "%s IS NOT NULL AND"},
    {"L_Q", "%s IS NOT NULL AND", "%s IS NOT NULL AND"},
    {"S_Q", "%s IS NOT NULL AND", "%s IS NOT NULL AND"},
    {"N_Q", "%s IS NOT NULL AND", "%s IS NOT NULL AND"},
    /* the search queue (migration 030) */
    {"QUEUED", "SELECT EXISTS (SELECT 1 FROM search_queue)", "SELECT 0"},
    {"DRAIN", "DELETE FROM search_queue", "SELECT 0 WHERE false"},
    /* the ledger's insertion order */
    {"SEQ", "l.rowid", "l.seq"},
    {NULL, NULL, NULL}};

const char *acp_sa_admin_sql(apr_pool_t *p, const char *sql, int pgsql)
{
    const char *at = strchr(sql, '@');
    /* the pieces collected, joined once (appending to the joined text is quadratic) */
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));

    while (at) {
        const char *end = strchr(at + 1, '@');
        const frag_t *f;
        if (!end) {
            break;
        }
        for (f = frags; f->name; f++) {
            if (strlen(f->name) == (size_t)(end - at - 1) &&
                !strncmp(at + 1, f->name, (size_t)(end - at - 1))) {
                break;
            }
        }
        if (!f->name) {
            at = strchr(end, '@');
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, sql, (apr_size_t)(at - sql));
        APR_ARRAY_PUSH(out, const char *) = pgsql ? f->pgsql : f->sqlite;
        sql = end + 1;
        at = strchr(sql, '@');
    }
    APR_ARRAY_PUSH(out, const char *) = sql;
    return apr_array_pstrcat(p, out, '\0');
}

const char *acp_sa_search_words(apr_pool_t *p, const char *text, int pgsql)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const unsigned char *c = (const unsigned char *)text;
    char *q, *o;
    apr_size_t n = 0;
    int i;

    for (;;) {
        const unsigned char *start;
        char *w;
        while (*c && !apr_isalnum(*c)) {
            if (*c >= 0x80) {
                return NULL; /* the indexes and this split would not agree on it */
            }
            c++;
        }
        if (!*c) {
            break;
        }
        for (start = c; apr_isalnum(*c); c++) {
        }
        if (*c >= 0x80) {
            return NULL;
        }
        w = apr_pstrmemdup(p, (const char *)start, (apr_size_t)(c - start));
        for (o = w; *o; o++) {
            *o = (char)apr_tolower(*o);
        }
        APR_ARRAY_PUSH(words, const char *) = w;
        n += (apr_size_t)(c - start) + 6;
    }
    if (words->nelts == 0) {
        return NULL;
    }
    /* SQLite: "w1 w2 w3" * (a phrase whose last word is a prefix); PostgreSQL:
     * 'w1' & 'w2' & 'w3':* (the words are letters and digits: nothing to escape) */
    q = o = apr_palloc(p, n + 8);
    if (!pgsql) {
        *o++ = '"';
    }
    for (i = 0; i < words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(words, i, const char *);
        size_t len = strlen(w);
        if (i > 0) {
            memcpy(o, pgsql ? " & " : " ", pgsql ? 3 : 1);
            o += pgsql ? 3 : 1;
        }
        if (pgsql) {
            *o++ = '\'';
        }
        memcpy(o, w, len);
        o += len;
        if (pgsql) {
            *o++ = '\'';
        }
    }
    memcpy(o, pgsql ? ":*" : "\" *", pgsql ? 2 : 3);
    o += pgsql ? 2 : 3;
    *o = '\0';
    return q;
}

const char *acp_sa_search_pattern(apr_pool_t *p, const char *text, int pgsql)
{
    char *out = apr_palloc(p, strlen(text) * 2 + 3), *o = out;

    *o++ = pgsql ? '%' : '"';
    for (; *text; text++) {
        if (pgsql && (*text == '%' || *text == '_' || *text == '\\')) {
            *o++ = '\\';
        }
        else if (!pgsql && *text == '"') {
            *o++ = '"';
        }
        *o++ = *text;
    }
    *o++ = pgsql ? '%' : '"';
    *o = '\0';
    return out;
}
