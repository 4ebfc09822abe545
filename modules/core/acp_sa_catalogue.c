/* The storage authority's catalogue: every statement the module runs, by label. No other
 * unit contains SQL (the staff tool's own list: acp_sa_admin.c). Statements use
 * apr_dbd's portable placeholders (%s text, %lld bigint, %d integer), so one text serves
 * SQLite and PostgreSQL; the few that SQLite cannot parse are in acp_sa_pg_catalogue,
 * prepared on PostgreSQL only. */
#include <string.h>
#include "acp_sa.h"

#define ACCT_COLS "id, thumbprint, jwk, status, contacts, tos_agreed, eab_kid, billing_id, created"
#define ORDER_COLS \
    "id, account_id, status, expires, identifiers, names_key, not_before, not_after, " \
    "error, csr, cert_id, price, created, replaces, profile"
#define AUTHZ_COLS "id, account_id, ident, wildcard, status, expires"
#define CHALL_COLS "id, authz_id, type, token, status, validated, error"
#define CERT_COLS \
    "id, serial, order_id, account_id, billing_id, names_key, pem, not_before, not_after, " \
    "issued, revoked, revoked_reason"
/* a column of an order read with its authorizations, in the first row only */
#define FIRST_ROW(col) "CASE WHEN ROW_NUMBER() OVER (ORDER BY oa.pos) = 1 THEN " col " END"
#define ORG_COLS \
    "id, billing_id, legal_name, locality, state, country, evidence, vetted_by, vetted_at, " \
    "valid_until, revoked_at, revoked_by, revoked_reason, created, updated"

#define CHALL_AUTHZ(more)                                                                  \
    "SELECT c.id, c.authz_id, c.type, c.token, c.status, c.validated, c.error, a.id, "      \
    "a.account_id, a.ident, a.wildcard, a.status, a.expires, u.thumbprint" more " FROM "    \
    "challenges c JOIN authorizations a ON a.id = c.authz_id "                             \
    "LEFT JOIN accounts u ON u.id = a.account_id "

#define LIMIT_NEW_ORDER(agg)                                                               \
    "SELECT o.n, o.m, a.n, a.m, f.x FROM (SELECT COUNT(*) AS n, MIN(created) AS m FROM orders " \
    "WHERE account_id = %s AND created > %lld) o, (SELECT COUNT(*) AS n, MIN(expires) AS m "  \
    "FROM authorizations WHERE account_id = %s AND status = 'pending' AND expires > %lld) a, " \
    "(SELECT " agg "(ident || '/' || m, ' ') AS x FROM (SELECT ident, MIN(failed) AS m "      \
    "FROM authorizations WHERE account_id = %s AND failed > %lld GROUP BY ident "             \
    "HAVING COUNT(*) >= CAST(%lld AS BIGINT)) g) f"

const acp_sa_stmt_t acp_sa_catalogue[] = {
    {"acp_setting_get", "SELECT value FROM settings WHERE name = %s"},
    {"acp_setting_put",
     "INSERT INTO settings (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"},
    /* a holder; a new account's is born with its welcome credit (acp_billing.c) */
    {"acp_billing_insert",
     "INSERT INTO billing (id, kind, label, balance, created, currency, welcomed) "
     "VALUES (%s, %s, %s, %lld, %lld, %s, %lld)"},
    {"acp_eab_get", "SELECT kid, hmac_key, label, billing_id, status FROM eab_keys WHERE kid = %s"},
    {"acp_eab_disable", "UPDATE eab_keys SET status = 'disabled' WHERE kid = %s AND status = 'active'"},
    {"acp_eab_list",
     "SELECT e.kid, e.label, e.billing_id, e.status, e.created, b.balance FROM eab_keys e "
     "JOIN billing b ON b.id = e.billing_id ORDER BY e.created DESC LIMIT %lld"},
    /* secrets at rest (acp_secret.c): legacy plaintext values sealed in place */
    {"acp_eab_plain_keys",
     "SELECT kid, hmac_key FROM eab_keys WHERE substr(hmac_key, 1, 5) <> 'enc1:'"},
    {"acp_eab_seal_key", "UPDATE eab_keys SET hmac_key = %s WHERE kid = %s AND hmac_key = %s"},
    {"acp_setting_seal", "UPDATE settings SET value = %s WHERE name = %s AND value = %s"},
    {"acp_eab_insert",
     "INSERT INTO eab_keys (kid, hmac_key, label, billing_id, status, created) "
     "VALUES (%s, %s, %s, %s, 'active', %lld)"},
    {"acp_acct_insert",
     "INSERT INTO accounts (" ACCT_COLS ", reg_addr) "
     "VALUES (%s, %s, %s, 'valid', %s, %d, %s, %s, %lld, %s)"},
    {"acp_acct_by_id", "SELECT " ACCT_COLS " FROM accounts WHERE id = %s"},
    {"acp_acct_by_thumb", "SELECT " ACCT_COLS " FROM accounts WHERE thumbprint = %s"},
    {"acp_acct_contacts",
     "UPDATE accounts SET contacts = %s WHERE id = %s AND status = 'valid'"},
    {"acp_acct_tos", "UPDATE accounts SET tos_agreed = 1 WHERE id = %s AND status = 'valid'"},
    {"acp_acct_deactivate",
     "UPDATE accounts SET status = 'deactivated' WHERE id = %s AND status = 'valid'"},
    {"acp_acct_rekey",
     "UPDATE accounts SET jwk = %s, thumbprint = %s WHERE id = %s AND thumbprint = %s "
     "AND status = 'valid'"},
    {"acp_acct_orders",
     "SELECT id FROM orders WHERE account_id = %s ORDER BY created DESC, id "
     "LIMIT %lld OFFSET %lld"},
    {"acp_order_insert",
     "INSERT INTO orders (id, account_id, status, expires, identifiers, names_key, "
     "not_before, not_after, created, updated, profile) "
     "VALUES (%s, %s, %s, %lld, %s, %s, %lld, %lld, %lld, %lld, %s)"},
    {"acp_order_get", "SELECT " ORDER_COLS " FROM orders WHERE id = %s"},
    /* an order with its authorizations, one row each (none: one row of NULLs after the
     * order's columns); the texts that grow with the names (identifiers, names, error,
     * CSR) only in the first row, so an order of many names is not read once per name */
    {"acp_order_authz_get",
     "SELECT o.id, o.account_id, o.status, o.expires, " FIRST_ROW("o.identifiers") ", "
     FIRST_ROW("o.names_key") ", o.not_before, o.not_after, " FIRST_ROW("o.error") ", "
     FIRST_ROW("o.csr") ", o.cert_id, o.price, o.created, o.replaces, o.profile, a.id, "
     "a.account_id, a.ident, a.wildcard, a.status, a.expires, "
     /* the oldest valid challenge's type and time (finalize's CAA recheck) */
     "(SELECT c.type FROM challenges c WHERE c.authz_id = a.id AND c.status = 'valid' "
     "ORDER BY c.validated, c.id LIMIT 1), "
     "(SELECT MIN(c.validated) FROM challenges c WHERE c.authz_id = a.id AND c.status = 'valid') "
     "FROM orders o LEFT JOIN order_authz oa ON oa.order_id = o.id "
     "LEFT JOIN authorizations a ON a.id = oa.authz_id WHERE o.id = %s ORDER BY oa.pos"},
    {"acp_order_status",
     "UPDATE orders SET status = %s, error = %s, updated = %lld WHERE id = %s AND status = %s"},
    /* finalize: the CSR and what the charge decided (acp_billing_charge_tx), one write */
    {"acp_order_processing",
     "UPDATE orders SET status = 'processing', csr = %s, updated = %lld, price = %lld, "
     "charged = %lld, reissue_of = %s, not_after = %lld WHERE id = %s AND status = 'ready'"},
    {"acp_order_valid",
     "UPDATE orders SET status = 'valid', cert_id = %s, updated = %lld "
     "WHERE id = %s AND status = 'processing'"},
    {"acp_order_for_authz",
     "SELECT o.id FROM order_authz oa JOIN orders o ON o.id = oa.order_id "
     "WHERE oa.authz_id = %s AND o.account_id = %s AND o.status = 'pending' "
     "ORDER BY o.created DESC LIMIT 1"},
    {"acp_order_authz_insert",
     "INSERT INTO order_authz (order_id, authz_id, pos) VALUES (%s, %s, %d)"},
    {"acp_order_authzs",
     "SELECT a.id, a.account_id, a.ident, a.wildcard, a.status, a.expires "
     "FROM order_authz oa JOIN authorizations a ON a.id = oa.authz_id "
     "WHERE oa.order_id = %s ORDER BY oa.pos"},
    {"acp_authz_insert",
     "INSERT INTO authorizations (id, account_id, ident, wildcard, status, expires, created) "
     "VALUES (%s, %s, %s, %d, 'pending', %lld, %lld)"},
    {"acp_authz_get", "SELECT " AUTHZ_COLS " FROM authorizations WHERE id = %s"},
    {"acp_authz_reuse",
     "SELECT " AUTHZ_COLS " FROM authorizations WHERE account_id = %s AND ident = %s "
     "AND wildcard = %d AND status = 'valid' AND expires > %lld ORDER BY expires DESC LIMIT 1"},
    {"acp_authz_status",
     "UPDATE authorizations SET status = %s WHERE id = %s AND status = %s"},
    {"acp_authz_failed",
     "UPDATE authorizations SET status = 'invalid', failed = %lld "
     "WHERE id = %s AND status = 'pending'"},
    /* abuse limits (acp_ra_limit.c): each count is one range of a (partial) index */
    {"acp_limit_accounts",
     "SELECT COUNT(*), MIN(created) FROM accounts WHERE reg_addr = %s AND created > %lld"},
    /* newOrder's limits in one round trip: the account's orders in the window, its
     * pending authorizations, and the names whose validations failed too often
     * ("name/oldest" joined by spaces; PostgreSQL's twin below) */
    {"acp_limit_new_order", LIMIT_NEW_ORDER("group_concat")},
    {"acp_authz_valid",
     "UPDATE authorizations SET status = 'valid', expires = %lld "
     "WHERE id = %s AND status = 'pending'"},
    /* an authorization's challenges, one statement for one, two or three */
    {"acp_chall_insert",
     "INSERT INTO challenges (id, authz_id, type, token, status) "
     "VALUES (%s, %s, %s, %s, 'pending')"},
    {"acp_chall_insert2",
     "INSERT INTO challenges (id, authz_id, type, token, status) "
     "VALUES (%s, %s, %s, %s, 'pending'), (%s, %s, %s, %s, 'pending')"},
    {"acp_chall_insert3",
     "INSERT INTO challenges (id, authz_id, type, token, status) "
     "VALUES (%s, %s, %s, %s, 'pending'), (%s, %s, %s, %s, 'pending'), "
     "(%s, %s, %s, %s, 'pending')"},
    {"acp_chall_by_authz",
     "SELECT " CHALL_COLS " FROM challenges WHERE authz_id = %s ORDER BY type"},
    /* a challenge with its authorization and the account's key thumbprint (a challenge
     * answer, a validation): one round trip instead of three */
    {"acp_chall_authz", CHALL_AUTHZ("") "WHERE c.id = %s"},
    /* the same for a challenge answer, with the failed-validations limit's count of the
     * account and name since %lld (and the oldest counted), so the answer reads once */
    {"acp_chall_authz_failed",
     CHALL_AUTHZ(", (SELECT COUNT(*) FROM authorizations f WHERE f.account_id = a.account_id "
                 "AND f.ident = a.ident AND f.failed > %lld), (SELECT MIN(f.failed) FROM "
                 "authorizations f WHERE f.account_id = a.account_id AND f.ident = a.ident "
                 "AND f.failed > %lld) ") "WHERE c.id = %s"},
    /* an authorization with its challenges (none: one row of NULL challenge columns) */
    {"acp_authz_challs",
     "SELECT a.id, a.account_id, a.ident, a.wildcard, a.status, a.expires, c.id, c.authz_id, "
     "c.type, c.token, c.status, c.validated, c.error FROM authorizations a "
     "LEFT JOIN challenges c ON c.authz_id = a.id WHERE a.id = %s ORDER BY c.type"},
    {"acp_chall_status",
     "UPDATE challenges SET status = %s, validated = %lld, error = %s "
     "WHERE id = %s AND status = %s"},
    {"acp_cert_insert",
     "INSERT INTO certificates (" CERT_COLS ", aki, crl_shard) "
     "VALUES (%s, %s, %s, %s, %s, %s, %s, %lld, %lld, %lld, NULL, NULL, %s, %d)"},
    {"acp_cert_get", "SELECT " CERT_COLS " FROM certificates WHERE id = %s"},
    {"acp_cert_by_serial", "SELECT " CERT_COLS " FROM certificates WHERE serial = %s"},
    {"acp_cert_revoke",
     "UPDATE certificates SET revoked = %lld, revoked_reason = %d "
     "WHERE id = %s AND revoked IS NULL"},
    /* CRLs (acp_crl.c): one row per shard; the number only grows (conditional store) */
    {"acp_crl_dirty",
     "UPDATE crls SET dirty = 1 WHERE shard = (SELECT crl_shard FROM certificates WHERE id = %s)"},
    {"acp_crl_count", "SELECT COUNT(*) FROM crls WHERE shard < %d"},
    {"acp_crl_ensure", "INSERT INTO crls (shard) VALUES (%d) ON CONFLICT (shard) DO NOTHING"},
    {"acp_crl_due",
     "SELECT shard FROM crls WHERE shard < %d AND lease_until < %lld "
     "AND (dirty = 1 OR der IS NULL OR this_update <= %lld) ORDER BY shard"},
    {"acp_crl_claim",
     "UPDATE crls SET lease_owner = %s, lease_until = %lld, dirty = 0 "
     "WHERE shard = %d AND lease_until < %lld"},
    {"acp_crl_claim_due",
     "UPDATE crls SET lease_owner = %s, lease_until = %lld, dirty = 0 "
     "WHERE shard = %d AND lease_until < %lld "
     "AND (dirty = 1 OR der IS NULL OR this_update <= %lld)"},
    {"acp_crl_claimed", "SELECT number FROM crls WHERE shard = %d AND lease_owner = %s"},
    {"acp_crl_revoked",
     "SELECT serial, revoked, revoked_reason FROM certificates "
     "WHERE crl_shard = %d AND revoked IS NOT NULL AND not_after > %lld"},
    {"acp_crl_store",
     "UPDATE crls SET number = %lld, this_update = %lld, next_update = %lld, der = %s, "
     "entries = %lld, lease_owner = NULL, lease_until = 0 "
     "WHERE shard = %d AND number = %lld AND lease_owner = %s"},
    {"acp_crl_release",
     "UPDATE crls SET dirty = 1, lease_owner = NULL, lease_until = 0 "
     "WHERE shard = %d AND lease_owner = %s"},
    {"acp_crl_get",
     "SELECT shard, number, this_update, next_update, entries, dirty, lease_until, der "
     "FROM crls WHERE shard = %d"},
    {"acp_crl_head",
     "SELECT shard, number, this_update, next_update, entries, dirty, lease_until "
     "FROM crls WHERE shard = %d"},
    {"acp_crl_list",
     "SELECT shard, number, this_update, next_update, entries, dirty, lease_until "
     "FROM crls ORDER BY shard"},
    /* renewal information (acp_ari.c): one read by the unique serial per GET */
    {"acp_ari_by_serial",
     "SELECT id, serial, billing_id, names_key, aki, not_before, not_after, revoked, "
     "ari_start, ari_end, ari_reason, ari_url FROM certificates WHERE serial = %s"},
    /* renewalInfo's one read (acp_ari_lookup): acp_ari_by_serial's columns and, a row each,
     * the live subscriptions of the holder under the order's profile that end where the
     * certificate does (the signer may take up to a minute off; acp_ari_subscription_window),
     * or one row with NULLs */
    {"acp_ari_get",
     "SELECT c.id, c.serial, c.billing_id, c.names_key, c.aki, c.not_before, c.not_after, "
     "c.revoked, c.ari_start, c.ari_end, c.ari_reason, c.ari_url, s.starts, s.ends, "
     "s.names_key FROM certificates c LEFT JOIN orders o ON o.id = c.order_id "
     "LEFT JOIN subscriptions s ON s.billing_id = c.billing_id AND s.profile = o.profile "
     "AND s.ends >= c.not_after AND s.ends <= c.not_after + 120 AND s.ends > s.starts "
     "AND s.cancelled IS NULL WHERE c.serial = %s"},
    {"acp_ari_pem", "SELECT pem FROM certificates WHERE id = %s"},
    {"acp_ari_note", "SELECT ari_reason, serial FROM certificates WHERE id = %s"},
    {"acp_ari_replaced",
     "SELECT id FROM orders WHERE replaces_cert = %s AND status IN ('processing', 'valid') "
     "LIMIT 1"},
    {"acp_ari_set",
     "UPDATE certificates SET ari_start = %lld, ari_end = %lld, ari_reason = %s, ari_url = %s "
     "WHERE id = %s"},
    {"acp_order_replaces", "UPDATE orders SET replaces = %s, replaces_cert = %s WHERE id = %s"},
    /* spent nonces (acp_sa_nonce.c): a nonce is spent by inserting it, and only while
     * the row of its epoch ("epoch:<N>") is there */
    {"acp_nonce_spend",
     "INSERT INTO nonce_spent (nonce, expires) SELECT %s, %lld WHERE EXISTS "
     "(SELECT 1 FROM nonce_spent WHERE nonce = %s) ON CONFLICT (nonce) DO NOTHING"},
    {"acp_nonce_epoch_live", "SELECT expires FROM nonce_spent WHERE nonce = %s"},
    {"acp_nonce_epoch_mark",
     "INSERT INTO nonce_spent (nonce, expires) VALUES (%s, %lld) ON CONFLICT (nonce) DO NOTHING"},
    {"acp_nonce_epoch_bump",
     "UPDATE settings SET value = %s WHERE name = 'nonce_epoch' AND value = %s"},
    {"acp_nonce_prune", "DELETE FROM nonce_spent WHERE expires < %lld"},
    {"acp_nonce_unspend", "DELETE FROM nonce_spent WHERE nonce = %s"},
    {"acp_job_insert",
     "INSERT INTO jobs (id, kind, ref, run_after, claimed_until, attempts, created) "
     "VALUES (%s, %s, %s, %lld, %lld, 0, %lld)"},
    {"acp_job_claim",
     "UPDATE jobs SET claimed_until = %lld, attempts = attempts + 1 "
     "WHERE id = %s AND claimed_until < %lld"},
    {"acp_job_due",
     "SELECT id, kind, ref, attempts FROM jobs WHERE claimed_until < %lld AND run_after <= %lld "
     "ORDER BY created LIMIT 16"},
    {"acp_job_delete", "DELETE FROM jobs WHERE id = %s"},
    {"acp_job_delete_ref", "DELETE FROM jobs WHERE kind = %s AND ref = %s"},
    {"acp_job_retry",
     "UPDATE jobs SET run_after = %lld, claimed_until = 0 WHERE id = %s"},
    /* billing (the only statements that move money; callers hold the transaction) */
    {"acp_billing_get",
     "SELECT id, kind, label, balance, created, currency FROM billing WHERE id = %s"},
    /* money moves only in the holder's currency (a holder from before schema 4 takes the
     * currency of its first movement): zero rows = unknown holder, other currency, short */
    /* a balance move in the holder's currency (set on its first move), answering the
     * balance and currency after; a debit only down to zero */
    {"acp_billing_add_ret",
     "UPDATE billing SET balance = balance + %lld, currency = COALESCE(currency, %s) "
     "WHERE id = %s AND (currency IS NULL OR currency = %s) RETURNING balance, currency"},
    {"acp_billing_debit_ret",
     "UPDATE billing SET balance = balance - %lld, currency = COALESCE(currency, %s) "
     "WHERE id = %s AND (currency IS NULL OR currency = %s) AND balance >= %lld "
     "RETURNING balance, currency"},
    {"acp_ledger_insert",
     "INSERT INTO ledger (id, billing_id, delta, balance_after, kind, order_id, invoice_id, "
     "cert_id, reference, actor, reason, created, currency) "
     "VALUES (%s, %s, %lld, %lld, %s, %s, %s, %s, %s, %s, %s, %lld, %s)"},
    /* the holder's row lock (PostgreSQL): one invoice per holder and amount under
     * concurrent finalizes (SQLite has one writer anyway) */
    {"acp_billing_lock", "UPDATE billing SET balance = balance WHERE id = %s"},
    {"acp_billing_welcomed",
     "UPDATE billing SET welcomed = %lld WHERE id = %s AND welcomed IS NULL"},
    {"acp_welcome_prune", "DELETE FROM welcome_grants WHERE expires <= %lld"},
    /* one more welcome credit for this address in this window, if under the limit */
    {"acp_welcome_take",
     "INSERT INTO welcome_grants (addr, win, n, expires) VALUES (%s, %lld, 1, %lld) "
     "ON CONFLICT (addr, win) DO UPDATE SET n = welcome_grants.n + 1 "
     "WHERE welcome_grants.n < %lld"},
    {"acp_ledger_order",
     "SELECT kind, delta, billing_id, currency FROM ledger WHERE order_id = %s "
     "ORDER BY created"},
    {"acp_cert_reissue_match",
     "SELECT id, not_after FROM certificates WHERE billing_id = %s AND names_key = %s "
     "AND revoked IS NULL AND issued >= %lld AND not_after > %lld "
     "ORDER BY issued DESC LIMIT 1"},
    /* the same under profiles: only a certificate of the same profile is reissued free */
    {"acp_cert_reissue_match_profile",
     "SELECT c.id, c.not_after FROM certificates c JOIN orders o ON o.id = c.order_id "
     "WHERE c.billing_id = %s AND c.names_key = %s AND c.revoked IS NULL AND c.issued >= %lld "
     "AND c.not_after > %lld AND COALESCE(o.profile, '') = %s ORDER BY c.issued DESC LIMIT 1"},
    /* a purchase: seq is the next for (holder, names, profile); the unique index refuses
     * a racing second first purchase */
    {"acp_subscription_insert",
     "INSERT INTO subscriptions (id, billing_id, names_key, profile, seq, order_id, price, "
     "starts, ends) SELECT %s, %s, %s, %s, COUNT(*), %s, CAST(%lld AS BIGINT), "
     "CAST(%lld AS BIGINT), CAST(%lld AS BIGINT) FROM subscriptions "
     "WHERE billing_id = %s AND names_key = %s AND profile = %s"},
    /* subscriptions that cover from now on (running or bought ahead; not void, not
     * cancelled), the earliest first */
    {"acp_subscription_ahead",
     "SELECT id, names_key, starts, ends FROM subscriptions WHERE billing_id = %s "
     "AND profile = %s AND ends > %lld AND ends > starts AND cancelled IS NULL "
     "ORDER BY starts, id"},
    {"acp_subscription_get",
     "SELECT id, billing_id, order_id, price, starts, ends, extended, cancelled, profile, "
     "names_key FROM subscriptions WHERE id = %s"},
    /* staff's cancel: once (cancelled set by the first) */
    {"acp_subscription_cancel",
     "UPDATE subscriptions SET ends = %lld, cancelled = %lld, cancelled_by = %s, "
     "cancel_reason = %s, refunded = %lld WHERE id = %s AND cancelled IS NULL"},
    {"acp_subscription_extend",
     "UPDATE subscriptions SET ends = ends + %lld, extended = extended + %lld "
     "WHERE id = %s AND cancelled IS NULL AND ends > starts"},
    /* issuance failed for good and was refunded: the purchase never started */
    {"acp_subscription_void", "UPDATE subscriptions SET ends = starts - 1 WHERE order_id = %s"},
    {"acp_invoice_open",
     "SELECT id, pay_url, eth_wei, checkout_url, checkout_state FROM invoices "
     "WHERE billing_id = %s AND status = 'open' "
     "AND amount = %lld AND expires > %lld ORDER BY created DESC LIMIT 1"},
    /* zero rows: the id or (open invoices) the EIP-681 URI is taken: try another */
    {"acp_invoice_insert",
     "INSERT INTO invoices (id, billing_id, order_id, amount, paid, currency, status, pay_url, "
     "eth_wei, created, expires) VALUES (%s, %s, %s, %lld, 0, %s, 'open', %s, %s, %lld, %lld) "
     "ON CONFLICT DO NOTHING"},
    /* an open invoice past its expiry gives its Ethereum amount back */
    {"acp_invoice_expire_eth",
     "UPDATE invoices SET status = 'expired' "
     "WHERE eth_wei = %s AND status = 'open' AND expires <= %lld"},
    {"acp_invoice_get",
     "SELECT id, billing_id, order_id, amount, paid, currency, status, pay_url, eth_wei, "
     "created, expires, checkout_url, checkout_state FROM invoices WHERE id = %s"},
    /* the invoice command: claimed by one request (outside any transaction), answer kept */
    {"acp_invoice_checkout_claim",
     "UPDATE invoices SET checkout_state = 'running', checkout_until = %lld WHERE id = %s "
     "AND (checkout_state IS NULL OR (checkout_state = 'running' AND checkout_until < %lld))"},
    {"acp_invoice_checkout_done",
     "UPDATE invoices SET checkout_state = %s, checkout_url = %s WHERE id = %s "
     "AND checkout_state = 'running'"},
    {"acp_invoice_checkout_ref",
     "UPDATE invoices SET checkout_provider = %s, checkout_ref = %s WHERE id = %s"},
    {"acp_invoice_paid",
     "UPDATE invoices SET paid = paid + %lld, "
     "status = CASE WHEN paid + %lld >= amount THEN 'paid' ELSE status END WHERE id = %s"},
    {"acp_payment_insert",
     "INSERT INTO payments (reference, invoice_id, amount, currency, source, created) "
     "VALUES (%s, %s, %lld, %s, %s, %lld) ON CONFLICT (reference) DO NOTHING"},
    /* the chain watcher (acp_chain.c, migration 011): a lease taken when free, run out or
     * already ours; progress moved only by the lease holder from the value it read */
    {"acp_chain_lease",
     "UPDATE chain_watch SET holder = %s, lease_until = %lld "
     "WHERE name = 'eth' AND (holder = %s OR lease_until < %lld)"},
    {"acp_chain_release",
     "UPDATE chain_watch SET lease_until = 0 WHERE name = 'eth' AND holder = %s"},
    {"acp_chain_state",
     "SELECT last_block, last_hash, chain_id, holder, lease_until, updated FROM chain_watch "
     "WHERE name = 'eth'"},
    {"acp_chain_advance",
     "UPDATE chain_watch SET last_block = %lld, last_hash = %s, chain_id = %lld, updated = %lld "
     "WHERE name = 'eth' AND holder = %s AND last_block = %lld"},
    {"acp_chain_open_invoices",
     "SELECT id, amount, eth_wei FROM invoices WHERE status = 'open' AND eth_wei IS NOT NULL"},
    {"acp_chain_transfer_insert",
     "INSERT INTO chain_transfers (reference, chain_id, block_number, block_hash, tx_hash, "
     "from_addr, token, value, amount, invoice_id, status, created) "
     "VALUES (%s, %lld, %lld, %s, %s, %s, %s, %s, %lld, %s, %s, %lld) "
     "ON CONFLICT (reference) DO NOTHING"},
    /* ERC-20 options of invoices (acp_eth.c, migration 018) */
    {"acp_eth_token_insert",
     "INSERT INTO invoice_tokens (invoice_id, token, contract, decimals, value, uri, status) "
     "VALUES (%s, %s, %s, %d, %s, %s, 'open') ON CONFLICT DO NOTHING"},
    {"acp_eth_token_free",
     "UPDATE invoice_tokens SET status = 'closed' WHERE contract = %s AND value = %s "
     "AND status = 'open' AND invoice_id IN (SELECT id FROM invoices "
     "WHERE status <> 'open' OR expires <= %lld)"},
    {"acp_eth_token_options",
     "SELECT token, contract, decimals, value, uri FROM invoice_tokens "
     "WHERE invoice_id = %s ORDER BY token"},
    {"acp_chain_token_invoices",
     "SELECT t.invoice_id, i.amount, t.value FROM invoice_tokens t "
     "JOIN invoices i ON i.id = t.invoice_id "
     "WHERE t.contract = %s AND t.status = 'open' AND i.status = 'open'"},
    /* a successful poll: the head seen and when (server-status shows the lag) */
    {"acp_chain_polled",
     "UPDATE chain_watch SET head = %lld, polled = %lld WHERE name = 'eth' AND holder = %s"},
    {"acp_chain_lag", "SELECT last_block, head, polled, updated FROM chain_watch WHERE name = 'eth'"},
    {"acp_chain_transfer_get",
     "SELECT reference, status, amount, billing_id, invoice_id FROM chain_transfers "
     "WHERE reference = %s"},
    {"acp_chain_transfer_assign",
     "UPDATE chain_transfers SET status = 'assigned', billing_id = %s, assigned = %lld, "
     "assigned_by = %s, reason = %s WHERE reference = %s AND status = 'unmatched'"},
    {"acp_chain_transfer_list",
     "SELECT reference, block_number, tx_hash, from_addr, token, value, amount, status, "
     "invoice_id, billing_id, created, assigned_by, reason FROM chain_transfers "
     "WHERE status = %s OR %s = 'all' ORDER BY created DESC, reference LIMIT %d"},
    /* server-status figures (acp_sa_status): args now - 3600, now, start of the UTC day.
     * Each sub-select reads an index: certificates_issued, jobs (small), invoices_status,
     * ledger_created (PostgreSQL: ledger_created_seq); orders by status reads orders_status. */
    {"acp_status",
     "SELECT (SELECT COUNT(*) FROM certificates), "
     "(SELECT COUNT(*) FROM certificates WHERE issued >= %lld), "
     "(SELECT COUNT(*) FROM jobs), "
     "(SELECT COUNT(*) FROM invoices WHERE status = 'open' AND expires >= %lld), "
     "(SELECT COALESCE(-SUM(delta), 0) FROM ledger WHERE created >= %lld "
     "AND kind IN ('debit', 'refund'))"},
    {"acp_status_orders", "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status"},
    /* an invoice answers one order's money question: the order it is shown for now, and
     * the balance at which that order can be charged */
    {"acp_invoice_bind",
     "UPDATE invoices SET order_id = %s, needs_balance = %lld WHERE id = %s"},
    /* closed once the question is answered by any route (migration 009) */
    {"acp_invoice_close_order",
     "UPDATE invoices SET status = 'superseded', closed = %lld, closed_by = %s, "
     "closed_reason = %s WHERE order_id = %s AND status = 'open'"},
    {"acp_invoice_close_covered",
     "UPDATE invoices SET status = 'superseded', closed = %lld, closed_by = %s, "
     "closed_reason = %s WHERE billing_id = %s AND status = 'open' "
     "AND needs_balance IS NOT NULL AND needs_balance <= %lld"},
    {"acp_invoice_closed",
     "UPDATE invoices SET closed = %lld, closed_by = %s, closed_reason = %s "
     "WHERE id = %s AND status = 'paid' AND closed IS NULL"},
    {"acp_invoice_close_info",
     "SELECT closed, closed_by, closed_reason FROM invoices WHERE id = %s"},
    /* the invoice page and its JSON status (acp_wfe_invoice.c): one read by primary key,
     * with the names of the order the invoice answers */
    {"acp_invoice_page",
     "SELECT i.id, i.amount, i.paid, i.currency, i.status, i.pay_url, i.eth_wei, i.expires, "
     "i.checkout_url, i.closed_reason, o.names_key, i.checkout_provider FROM invoices i "
     "LEFT JOIN orders o ON o.id = i.order_id WHERE i.id = %s"},
    /* a staff reissue points the order at its new certificate */
    {"adm_order_set_cert",
     "UPDATE orders SET cert_id = %s, updated = %lld WHERE id = %s AND status = 'valid'"},
    /* lock the holder's row (PostgreSQL) before a zero ledger row reads balance_after */
    {"adm_billing_touch", "UPDATE billing SET balance = balance WHERE id = %s"},
    /* staff reissue requests, signed by the module's workers */
    {"acp_reissue_insert",
     "INSERT INTO reissue_requests (id, cert_id, serial, actor, reason, status, created) "
     "VALUES (%s, %s, %s, %s, %s, 'queued', %lld)"},
    {"acp_reissue_get",
     "SELECT id, cert_id, serial, actor, reason, status, new_serial, error, created, done "
     "FROM reissue_requests WHERE id = %s"},
    {"acp_reissue_done",
     "UPDATE reissue_requests SET status = %s, new_serial = %s, error = %s, done = %lld "
     "WHERE id = %s AND status = 'queued'"},
    /* organizations (acp_org.c, migration 021): one per holder; the OV order's vetting */
    {"acp_org_get", "SELECT " ORG_COLS " FROM organizations WHERE id = %s"},
    {"acp_org_by_holder", "SELECT " ORG_COLS " FROM organizations WHERE billing_id = %s"},
    {"acp_order_org", "UPDATE orders SET org_id = %s WHERE id = %s"},
    {"acp_order_org_get", "SELECT org_id FROM orders WHERE id = %s"},
    {NULL, NULL}};

/* PostgreSQL only (statements SQLite cannot parse; prepared on PostgreSQL alone). A
 * data-modifying WITH runs once whatever the outer query reads: a POST signed with a kid
 * spends its nonce in the unlogged table (as acp_nonce_spend) and reads its account in
 * one round trip; the first column says whether the nonce was spent now. */
/* a validation's outcome, atomic as one statement (no BEGIN/COMMIT round trips): the
 * challenge, its authorization, the job gone (SQLite: the same three in a transaction) */
#define VALIDATION_DONE(chall_set, authz_set, more)                                        \
    "WITH c AS (UPDATE challenges SET " chall_set " WHERE id = %s AND status = 'processing'), " \
    "a AS (UPDATE authorizations SET " authz_set " WHERE id = %s AND status = 'pending' "      \
    "RETURNING id)" more " "                                                                   \
    "DELETE FROM jobs WHERE id = %s"
/* ... and when valid, every pending order of that authorization whose other
 * authorizations are valid too becomes ready in the same statement, as finalize's
 * refresh would make it (acp_ra_order.c, order_due): finalize then finds it ready and has no
 * status to write, one round trip less. The other authorizations are read as they were
 * before this statement (a data-modifying WITH's snapshot), so two of one order's
 * authorizations validated at the same moment each leave the order pending, and
 * finalize's refresh makes it ready as before. Arguments: now, the authorization, now, now. */
#define VALIDATION_ORDERS_READY                                                             \
    ", o AS (UPDATE orders SET status = 'ready', error = NULL, updated = %lld "                \
    "WHERE status = 'pending' AND id IN (SELECT x.order_id FROM order_authz x, a "              \
    "WHERE x.authz_id = a.id) AND NOT EXISTS (SELECT 1 FROM order_authz y "                    \
    "JOIN authorizations z ON z.id = y.authz_id WHERE y.order_id = orders.id "                 \
    "AND y.authz_id <> %s AND (z.status <> 'valid' OR z.expires < %lld)) "                     \
    "AND expires >= %lld)"

/* processing (or ready) -> valid, the certificate stored; no row moved: division by
 * zero. The count is the source's one row and its filter divides by it, so the error
 * comes whatever the planner does (a join with the moved rows never evaluated the count
 * when there were none: it inserted nothing, without an error) */
#define CERT_ISSUED(more_set, from)                                                         \
    "WITH o AS (UPDATE orders SET status = 'valid', cert_id = %s, updated = %lld" more_set   \
    " WHERE id = %s AND status = '" from "' RETURNING id) "                                 \
    "INSERT INTO certificates (" CERT_COLS ", aki, crl_shard) "                              \
    "SELECT %s, %s, %s, %s, %s, %s, %s, %lld, %lld, %lld, NULL, NULL, %s, %d "               \
    "FROM (SELECT COUNT(*) AS moved FROM o) AS m WHERE 1 / m.moved = 1"

#define CHALL_VALUES "(%s, %s, %s, %s, 'pending')"
#define AUTHZ_NEW(challs)                                                                  \
    "WITH a AS (INSERT INTO authorizations (id, account_id, ident, wildcard, status, "     \
    "expires, created) VALUES (%s, %s, %s, %d, 'pending', %lld, %lld) RETURNING id), "    \
    "c AS (INSERT INTO challenges (id, authz_id, type, token, status) VALUES " challs ") " \
    "INSERT INTO order_authz (order_id, authz_id, pos) SELECT %s, a.id, %d FROM a"

const acp_sa_stmt_t acp_sa_pg_catalogue[] = {
    {"acp_validation_valid",
     VALIDATION_DONE("status = 'valid', validated = %lld, error = NULL",
                     "status = 'valid', expires = %lld", VALIDATION_ORDERS_READY)},
    {"acp_validation_invalid",
     VALIDATION_DONE("status = 'invalid', validated = %lld, error = %s",
                     "status = 'invalid', failed = %lld", "")},
    {"acp_limit_new_order", LIMIT_NEW_ORDER("string_agg")},
    /* newOrder's first read: acp_limit_new_order's five counts, and for each of the order's
     * names (one text, space-separated, "*." for a wildcard) in turn its position and the
     * account's valid authorization to reuse (acp_authz_reuse's, or NULLs): one row per
     * name. Arguments: acp_limit_new_order's seven, the names, the account, the least
     * expiry of an authorization to reuse. The names are split by regexp_split_to_table,
     * not unnest(string_to_array()): unnest's row estimate knows a constant array's length
     * (1 in a plan made for the values) but not a parameter's (10), so PostgreSQL judged
     * the generic plan ten times dearer and planned this statement anew on every execution
     * (0.25-0.35 ms, several times its run; "plan_cache_mode" in docs/PERFORMANCE.md). A
     * function without that estimate is costed alike in both plans, and the generic one is
     * kept. */
    {"acp_new_order_read",
     "SELECT l.o_n, l.o_m, l.a_n, l.a_m, l.f_x, q.ord, r.id, r.account_id, r.ident, "
     "r.wildcard, r.status, r.expires FROM (" LIMIT_NEW_ORDER("string_agg") ") "
     "AS l(o_n, o_m, a_n, a_m, f_x) "
     "CROSS JOIN regexp_split_to_table(%s, ' ') WITH ORDINALITY AS q(name, ord) "
     "LEFT JOIN LATERAL (SELECT " AUTHZ_COLS " FROM authorizations WHERE account_id = %s "
     "AND ident = CASE WHEN left(q.name, 2) = '*.' THEN substr(q.name, 3) ELSE q.name END "
     "AND wildcard = CASE WHEN left(q.name, 2) = '*.' THEN 1 ELSE 0 END "
     "AND status = 'valid' AND expires > %lld ORDER BY expires DESC LIMIT 1) AS r ON TRUE "
     "ORDER BY q.ord"},
    /* finalize's charge, one statement: the order locked while it is ready (FOR UPDATE:
     * a concurrent finalize waits, then finds it no longer ready), the holder's
     * certificate for the same names within the free-reissue window (issued from the
     * window's start, alive now; with a profile name, only one of that profile), and
     * when there is none the debit (in the holder's currency, down to zero at most), its
     * ledger row and the order's open invoices closed. One row: orders locked (0 or 1),
     * the reissued certificate's id and notAfter, the balance and currency after the
     * debit (NULL when nothing was debited: a reissue, or a short balance). SQLite:
     * acp_cert_reissue_match, acp_billing_debit_ret, acp_ledger_insert,
     * acp_invoice_close_order. The ledger's unique (order, kind) index refuses a second
     * charge of one order: the statement fails whole */
    {"acp_billing_charge_ready",
     "WITH o AS (SELECT id FROM orders WHERE id = %s AND status = 'ready' FOR UPDATE), "
     "r AS (SELECT c.id, c.not_after FROM certificates c WHERE c.billing_id = %s "
     "AND c.names_key = %s AND c.revoked IS NULL AND c.issued >= %lld AND c.not_after > %lld "
     "AND (CAST(%s AS VARCHAR) IS NULL OR EXISTS (SELECT 1 FROM orders po "
     "WHERE po.id = c.order_id AND COALESCE(po.profile, '') = %s)) "
     "AND EXISTS (SELECT 1 FROM o) ORDER BY c.issued DESC LIMIT 1), "
     "b AS (UPDATE billing SET balance = balance - %lld, currency = COALESCE(currency, %s) "
     "WHERE id = %s AND (currency IS NULL OR currency = %s) AND balance >= %lld "
     "AND EXISTS (SELECT 1 FROM o) AND NOT EXISTS (SELECT 1 FROM r) "
     "RETURNING id, balance, currency), "
     "l AS (INSERT INTO ledger (id, billing_id, delta, balance_after, kind, order_id, "
     "invoice_id, cert_id, reference, actor, reason, created, currency) "
     "SELECT %s, b.id, %lld, b.balance, 'debit', %s, NULL, NULL, NULL, 'acme', 'certificate', "
     "%lld, b.currency FROM b), "
     "i AS (UPDATE invoices SET status = 'superseded', closed = %lld, closed_by = 'acme', "
     "closed_reason = 'order charged from the balance' WHERE order_id = %s AND status = 'open' "
     "AND EXISTS (SELECT 1 FROM b)) "
     "SELECT (SELECT COUNT(*) FROM o), r.id, r.not_after, b.balance, b.currency "
     "FROM (SELECT 1) AS one LEFT JOIN r ON TRUE LEFT JOIN b ON TRUE"},
    /* a new authorization with its one to three challenges, linked to its order at its
     * position, one statement (SQLite: acp_authz_insert, acp_chall_insertN,
     * acp_order_authz_insert) */
    {"acp_authz_new1", AUTHZ_NEW(CHALL_VALUES)},
    {"acp_authz_new2", AUTHZ_NEW(CHALL_VALUES ", " CHALL_VALUES)},
    {"acp_authz_new3", AUTHZ_NEW(CHALL_VALUES ", " CHALL_VALUES ", " CHALL_VALUES)},
    /* a new account's holder, one statement: the address's welcome grant taken when its
     * window has one left, the holder born with the credit (balance, welcomed) or
     * without, and the credit's ledger row when it was given (SQLite: acp_welcome_take,
     * acp_billing_insert, acp_ledger_insert). A row when the credit was given */
    {"acp_welcome_holder",
     "WITH w AS (INSERT INTO welcome_grants (addr, win, n, expires) VALUES (%s, %lld, 1, %lld) "
     "ON CONFLICT (addr, win) DO UPDATE SET n = welcome_grants.n + 1 "
     "WHERE welcome_grants.n < %lld RETURNING 1), "
     "b AS (INSERT INTO billing (id, kind, label, balance, created, currency, welcomed) "
     "SELECT %s, 'account', NULL, CASE WHEN g.n > 0 THEN %lld ELSE 0 END, %lld, %s, "
     "CASE WHEN g.n > 0 THEN %lld END FROM (SELECT COUNT(*) AS n FROM w) g "
     "RETURNING id, balance, welcomed, created, currency) "
     "INSERT INTO ledger (id, billing_id, delta, balance_after, kind, order_id, invoice_id, "
     "cert_id, reference, actor, reason, created, currency) "
     "SELECT %s, b.id, b.balance, b.balance, 'credit', NULL, NULL, NULL, NULL, 'system', "
     "'welcome credit', b.created, b.currency FROM b WHERE b.welcomed IS NOT NULL"},
    /* a certificate signed: processing -> valid and the certificate stored, one statement
     * (SQLite: acp_order_valid's and acp_cert_insert's arguments, those two in turn); a
     * row when the order moved, an error (division by zero) when it did not: the
     * statement goes with its transaction's COMMIT (acp_sa_exec_commit), which must then
     * not commit the charge without the certificate */
    {"acp_cert_issued", CERT_ISSUED("", "processing")},
    /* the same from ready, with what acp_order_processing would have stored first (csr,
     * price, charged, reissue_of, not_after): finalize with a fast signer whose charge
     * locked the order while ready (acp_billing_charge_ready) skips processing, one row
     * version of the order fewer (each writes every index of orders) */
    {"acp_cert_issued_ready",
     CERT_ISSUED(", csr = %s, price = %lld, charged = %lld, reissue_of = %s, not_after = %lld",
                 "ready")},
    /* a challenge answered: pending -> processing and its validation job queued, one
     * statement (SQLite: acp_chall_status, then acp_job_insert); a row when it moved */
    {"acp_chall_respond",
     "WITH c AS (UPDATE challenges SET status = 'processing', validated = NULL, error = NULL "
     "WHERE id = %s AND status = 'pending' RETURNING id) "
     "INSERT INTO jobs (id, kind, ref, run_after, claimed_until, attempts, created) "
     "SELECT %s, 'validate', c.id, 0, %lld, 0, %lld FROM c"},
    {"acp_acct_spend",
     "WITH s AS (INSERT INTO nonce_spent (nonce, expires) SELECT %s, %lld WHERE EXISTS "
     "(SELECT 1 FROM nonce_spent WHERE nonce = %s) ON CONFLICT (nonce) DO NOTHING "
     "RETURNING 1) SELECT (SELECT COUNT(*) FROM s), a.id, a.thumbprint, a.jwk, a.status, "
     "a.contacts, a.tos_agreed, a.eab_kid, a.billing_id, a.created FROM (SELECT 1) o "
     "LEFT JOIN accounts a ON a.id = %s"},
    {NULL, NULL}};

const acp_sa_stmt_t *acp_sa_stmt_find(int pgsql, const char *label, int *admin)
{
    const acp_sa_stmt_t *s;

    for (s = pgsql ? acp_sa_pg_catalogue : NULL; s && s->label; s++) {
        if (!strcmp(s->label, label)) {
            *admin = 0;
            return s;
        }
    }
    for (s = acp_sa_catalogue; s->label; s++) {
        if (!strcmp(s->label, label)) {
            *admin = 0;
            return s;
        }
    }
    for (s = acp_sa_admin_catalogue; s->label; s++) {
        if (!strcmp(s->label, label)) {
            *admin = 1;
            return s;
        }
    }
    return NULL;
}
