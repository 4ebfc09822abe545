/* Storage authority: SQL catalogue, connections, transactions, migrations.
 * No other unit contains SQL. Statements use apr_dbd's portable placeholders
 * (%s text, %lld bigint, %d integer), so one text serves SQLite and PostgreSQL; the few
 * that SQLite cannot parse are in pg_catalogue, used on PostgreSQL only. */
#include <dlfcn.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>
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

const acp_sa_stmt_t acp_sa_catalogue[] = {
    {"acp_setting_get", "SELECT value FROM settings WHERE name = %s"},
    {"acp_setting_put",
     "INSERT INTO settings (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"},
    {"acp_billing_insert",
     "INSERT INTO billing (id, kind, label, balance, created, currency) "
     "VALUES (%s, %s, %s, %lld, %lld, %s)"},
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
     "a.account_id, a.ident, a.wildcard, a.status, a.expires FROM orders o "
     "LEFT JOIN order_authz oa ON oa.order_id = o.id "
     "LEFT JOIN authorizations a ON a.id = oa.authz_id WHERE o.id = %s ORDER BY oa.pos"},
    {"acp_order_status",
     "UPDATE orders SET status = %s, error = %s, updated = %lld WHERE id = %s AND status = %s"},
    {"acp_order_processing",
     "UPDATE orders SET status = 'processing', csr = %s, updated = %lld "
     "WHERE id = %s AND status = 'ready'"},
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
    {"acp_limit_orders",
     "SELECT COUNT(*), MIN(created) FROM orders WHERE account_id = %s AND created > %lld"},
    {"acp_limit_pending",
     "SELECT COUNT(*), MIN(expires) FROM authorizations "
     "WHERE account_id = %s AND status = 'pending' AND expires > %lld"},
    {"acp_limit_failed",
     "SELECT ident, COUNT(*), MIN(failed) FROM authorizations "
     "WHERE account_id = %s AND failed > %lld GROUP BY ident HAVING COUNT(*) >= CAST(%lld AS BIGINT)"},
    {"acp_limit_failed_name",
     "SELECT COUNT(*), MIN(failed) FROM authorizations "
     "WHERE account_id = %s AND ident = %s AND failed > %lld"},
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
    {"acp_chall_authz",
     "SELECT c.id, c.authz_id, c.type, c.token, c.status, c.validated, c.error, a.id, "
     "a.account_id, a.ident, a.wildcard, a.status, a.expires, u.thumbprint FROM challenges c "
     "JOIN authorizations a ON a.id = c.authz_id LEFT JOIN accounts u ON u.id = a.account_id "
     "WHERE c.id = %s"},
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
    /* ARI: the subscription whose end cut a certificate short (acp_ari_subscription_window) */
    {"acp_ari_subscription",
     "SELECT s.starts, s.ends, s.names_key FROM certificates c JOIN orders o ON o.id = c.order_id "
     "JOIN subscriptions s ON s.billing_id = c.billing_id AND s.profile = o.profile "
     "WHERE c.id = %s AND s.ends >= %lld AND s.ends <= %lld AND s.ends > s.starts "
     "AND s.cancelled IS NULL"},
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
    {"acp_order_charge",
     "UPDATE orders SET price = %lld, charged = %lld, reissue_of = %s, not_after = %lld "
     "WHERE id = %s"},
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
     * ledger_created; orders by status reads orders_status. */
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
static const acp_sa_stmt_t pg_catalogue[] = {
    {"acp_acct_spend",
     "WITH s AS (INSERT INTO nonce_spent (nonce, expires) SELECT %s, %lld WHERE EXISTS "
     "(SELECT 1 FROM nonce_spent WHERE nonce = %s) ON CONFLICT (nonce) DO NOTHING "
     "RETURNING 1) SELECT (SELECT COUNT(*) FROM s), a.id, a.thumbprint, a.jwk, a.status, "
     "a.contacts, a.tos_agreed, a.eab_kid, a.billing_id, a.created FROM (SELECT 1) o "
     "LEFT JOIN accounts a ON a.id = %s"},
    {NULL, NULL}};

const char *acp_sa_ll(apr_pool_t *p, long long v)
{
    /* apr_psprintf has no %lld; APR_INT64_T_FMT is its spelling */
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

long long acp_sa_atoll(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

const char *acp_sa_error(acp_db_t *db, apr_pool_t *p, int rv)
{
    const char *e = apr_dbd_error(db->driver, db->handle, rv);
    return apr_pstrdup(p, e ? e : "unknown database error");
}

acp_db_t *acp_sa_wrap(apr_pool_t *p, const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                      apr_hash_t *prepared)
{
    acp_db_t *db = apr_pcalloc(p, sizeof(*db));

    db->driver = driver;
    db->handle = handle;
    db->prepared = prepared;
    db->pgsql = strcmp(apr_dbd_name(driver), "pgsql") == 0;
    db->pool = p;
    return db;
}

/* ---- faults: "the database cannot be used right now" vs. an error of the statement -- */

/* SQLite primary result codes (sqlite3.h) that say the file cannot be used now. */
#define SQ_BUSY 5
#define SQ_LOCKED 6
#define SQ_NOMEM 7
#define SQ_READONLY 8
#define SQ_IOERR 10
#define SQ_FULL 13
#define SQ_CANTOPEN 14
#define SQ_PROTOCOL 15

/* PostgreSQL: apr_dbd_check_conn -- ours after a failure (connection_lost), and
 * mod_dbd's each time it hands out a pooled connection -- answers a broken connection
 * with PQreset: the same handle, but a new server session, which has none of the
 * statements the connection's table (db->prepared) still lists. Each of them then
 * failed with "prepared statement does not exist" for the life of the connection: a
 * PostgreSQL restart broke every pooled connection for good (test_602). The session's
 * identity is its backend process id (PQbackendPID, from the libpq the pgsql driver
 * loaded); when it changed, our labels are forgotten and prepared again on first use. */
#define SESSION_KEY "acme-pay-pg-session"

typedef int (*backend_pid_fn_t)(const void *conn);

static backend_pid_fn_t backend_pid_fn(void)
{
    static void *resolved; /* a race only stores the same value twice */
    void *fn = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);

    if (!fn) {
        fn = dlsym(RTLD_DEFAULT, "PQbackendPID");
        __atomic_store_n(&resolved, fn, __ATOMIC_RELEASE);
    }
    return (backend_pid_fn_t)fn;
}

static void forget_list(acp_db_t *db, const acp_sa_stmt_t *list)
{
    const acp_sa_stmt_t *s;

    for (s = list; s->label; s++) {
        apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, NULL);
    }
}

/* The server session lost our statements: forget them (other modules' entries in a
 * mod_dbd connection's table stay). */
static void forget_prepared(acp_db_t *db)
{
    forget_list(db, acp_sa_catalogue);
    forget_list(db, pg_catalogue);
    forget_list(db, acp_sa_admin_catalogue);
}

/* Records the session the statements are prepared in; forgets them when it changed.
 * Returns 1 when it did. */
static int session_changed(acp_db_t *db)
{
    backend_pid_fn_t fn;
    void *conn;
    int *seen = NULL, pid;

    if (!db->pgsql || !db->prepared || !db->stmt_pool || !(fn = backend_pid_fn()) ||
        !(conn = apr_dbd_native_handle(db->driver, db->handle))) {
        return 0;
    }
    pid = fn(conn);
    apr_pool_userdata_get((void **)&seen, SESSION_KEY, db->stmt_pool);
    if (seen && *seen == pid) {
        return 0;
    }
    if (!seen) {
        seen = apr_palloc(db->stmt_pool, sizeof(*seen));
        apr_pool_userdata_setn(seen, SESSION_KEY, NULL, db->stmt_pool);
        *seen = pid;
        return 0;
    }
    *seen = pid;
    forget_prepared(db);
    return 1;
}

static int connection_lost(acp_db_t *db)
{
    return db->pgsql && apr_dbd_check_conn(db->driver, db->pool, db->handle) != APR_SUCCESS;
}

static int message_says_unavailable(const char *m)
{
    static const char *const words[] = {
        "database is locked", "disk", "read-only", "readonly", "unable to open",
        "No space left", "the database system is", "terminating connection",
        "server closed the connection", "could not connect", "connection refused",
        "no connection to the server", NULL};
    int i;

    for (i = 0; m && words[i]; i++) {
        if (strstr(m, words[i])) {
            return 1;
        }
    }
    return 0;
}

/* rv: what the apr_dbd call returned (an SQLite result code, or a PGRES_* status). */
static void note_failure(acp_db_t *db, int rv)
{
    int code = rv & 0xff, lost = connection_lost(db);

    if (!lost && session_changed(db)) {
        /* the check reconnected: the failure was the old session's death */
        db->session_reset = 1;
        if (!db->unavailable && db->pool) {
            db->fault = "the connection to the database was lost (and opened again)";
        }
        db->unavailable = 1;
        return;
    }
    if (lost ||
        (!db->pgsql && (code == SQ_BUSY || code == SQ_LOCKED || code == SQ_NOMEM ||
                        code == SQ_READONLY || code == SQ_IOERR || code == SQ_FULL ||
                        code == SQ_CANTOPEN || code == SQ_PROTOCOL)) ||
        message_says_unavailable(apr_dbd_error(db->driver, db->handle, rv))) {
        if (!db->unavailable && db->pool) {
            const char *m = apr_dbd_error(db->driver, db->handle, rv);
            db->fault = apr_pstrdup(db->pool, m ? m : "unknown database error");
        }
        db->unavailable = 1;
    }
}

int acp_sa_unavailable(const acp_db_t *db)
{
    return db && db->unavailable;
}

/* A statement failed on a connection that is now known dead (a PostgreSQL restart
 * leaves every pooled connection so, found only when used): swap in a fresh one. Only
 * where nothing can have happened on the dead one: outside a transaction. */
#define RECONNECTS_MAX 12

static int reconnected(acp_db_t *db)
{
    if (db->session_reset && !db->in_tx && db->reconnects < RECONNECTS_MAX) {
        db->session_reset = 0; /* the driver's check reconnected already */
        db->reconnects++;
        db->unavailable = 0;
        return 1;
    }
    if (!db->reconnect || db->in_tx || db->reconnects >= RECONNECTS_MAX ||
        !connection_lost(db)) {
        return 0;
    }
    db->reconnects++;
    if (db->reconnect(db, db->reconnect_baton) != APR_SUCCESS) {
        db->unavailable = 1;
        return 0;
    }
    db->unavailable = 0;
    return 1;
}

/* The transaction went with a reset session: nothing may run (it would autocommit). */
static int tx_gone(const acp_db_t *db)
{
    return db->in_tx && db->session_reset;
}

static apr_status_t raw_exec(acp_db_t *db, const char *sql)
{
    int nrows = 0, rv;

    if (tx_gone(db) && strcmp(sql, "ROLLBACK") != 0) {
        return APR_EGENERAL;
    }
    rv = apr_dbd_query(db->driver, db->handle, &nrows, sql);
    if (rv != 0) {
        note_failure(db, rv);
    }
    return rv == 0 ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- DBDParams without secrets --------------------------------------------------- */

static int secret_key(const char *k, size_t n)
{
    static const char *const keys[] = {"password", "pass", "passwd", "pwd", NULL};
    int i;

    for (i = 0; keys[i]; i++) {
        if (strlen(keys[i]) == n && strncasecmp(k, keys[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *acp_sa_params_safe(apr_pool_t *p, const char *driver, const char *params)
{
    /* values end at these (pgsql conninfo: blanks; URI query: '&'; mysql and others: ',') */
    const char *ends = driver && !strcmp(driver, "pgsql") ? " \t&" : " \t&,;";
    apr_size_t n = params ? strlen(params) : 0, i = 0, o = 0;
    char *out;

    if (!params) {
        return "(none)";
    }
    if (driver && !strcmp(driver, "sqlite3")) {
        return params; /* a file name */
    }
    out = apr_palloc(p, n + 4 * (n + 1) + 1);
    if (!strncmp(params, "postgres://", 11) || !strncmp(params, "postgresql://", 13)) {
        /* scheme://user:secret@host/db?password=secret */
        const char *auth = strstr(params, "://") + 3, *at = strchr(auth, '@'),
                   *slash = strchr(auth, '/'), *colon = strchr(auth, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            o = (apr_size_t)(colon - params) + 1;
            memcpy(out, params, o);
            memcpy(out + o, "***", 3);
            o += 3;
            i = (apr_size_t)(at - params);
        }
    }
    while (i < n) {
        apr_size_t ks = i, ke, j;
        /* a key: letters, digits, '_' */
        while (i < n && (apr_isalnum(params[i]) || params[i] == '_')) {
            i++;
        }
        ke = i;
        j = i;
        while (j < n && (params[j] == ' ' || params[j] == '\t')) {
            j++;
        }
        if (ke == ks || j >= n || params[j] != '=') {
            /* not a key=value pair: copy one character and look again */
            i = ks + 1;
            out[o++] = params[ks];
            continue;
        }
        j++;
        while (j < n && (params[j] == ' ' || params[j] == '\t')) {
            j++;
        }
        memcpy(out + o, params + ks, j - ks); /* "key = " */
        o += j - ks;
        i = j;
        if (i < n && params[i] == '\'') {
            for (i++; i < n && params[i] != '\''; i++) {
                if (params[i] == '\\' && i + 1 < n) {
                    i++;
                }
            }
            i += i < n ? 1 : 0;
        }
        else {
            while (i < n && !strchr(ends, params[i])) {
                i++;
            }
        }
        if (secret_key(params + ks, ke - ks)) {
            memcpy(out + o, "***", 3);
            o += 3;
        }
        else {
            memcpy(out + o, params + j, i - j);
            o += i - j;
        }
    }
    out[o] = '\0';
    return out;
}

apr_status_t acp_sa_tune(acp_db_t *db, apr_int64_t mmap_size)
{
    char sql[64];

    if (db->pgsql || mmap_size <= 0) {
        return APR_SUCCESS;
    }
    /* WAL mode discards a connection's page cache whenever another connection has
     * committed, so nearly every read comes from the file: mapped, it costs no pread.
     * But the mapping is discarded too (munmap, and page faults to map it again), which
     * costs more than the preads on a server with many connections (docs/PERFORMANCE.md,
     * "SQLite: reads"): the module's connections leave it off unless configured. */
    apr_snprintf(sql, sizeof(sql), "PRAGMA mmap_size = %" APR_INT64_T_FMT,
                 (apr_int64_t)(mmap_size < ACP_SA_MMAP_MAX ? mmap_size : ACP_SA_MMAP_MAX));
    return raw_exec(db, sql);
}

/* SQLite: apr_dbd_sqlite3 holds one process-wide mutex around every sqlite3 call and
 * releases it only while sleeping in its own SQLITE_BUSY retry loop (15 x 100 ms). A
 * busy_timeout would make sqlite3 wait *inside* that mutex, so a thread waiting for the
 * write lock would stop the lock holder in the same process from committing. We keep
 * busy_timeout at 0 and retry BEGIN IMMEDIATE here, outside the mutex, for up to
 * BEGIN_TRIES rounds of the driver's loop (each up to 1.5 s). */
#define BEGIN_TRIES 6

static void unlock_writers(acp_db_t *db)
{
    if (db->in_tx && db->write_unlock) {
        db->write_unlock(db->lock_baton);
    }
    if (db->in_tx) {
        db->session_reset = 0; /* what it took away has been answered for */
    }
    db->in_tx = 0;
}

apr_status_t acp_sa_begin(acp_db_t *db)
{
    int i;

    if (db->pgsql) {
        /* a session mod_dbd's check opened anew when it handed the connection out is
         * noticed here, not inside the transaction (where it would mean one lost) */
        session_changed(db);
        while (raw_exec(db, "BEGIN") != APR_SUCCESS) {
            if (!reconnected(db)) {
                return APR_EGENERAL;
            }
        }
        db->session_reset = 0;
        db->in_tx = 1;
        return APR_SUCCESS;
    }
    if (db->write_lock && db->write_lock(db->lock_baton) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    db->in_tx = 1;
    for (i = 0; i < BEGIN_TRIES; i++) {
        if (raw_exec(db, "BEGIN IMMEDIATE") == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        apr_sleep(apr_time_from_msec(5 + (i % 5) * 10));
    }
    unlock_writers(db);
    if (!db->unavailable) {
        db->fault = "the database stayed locked (by another program?) or cannot be written";
    }
    db->unavailable = 1;
    return APR_EBUSY;
}

apr_status_t acp_sa_commit(acp_db_t *db)
{
    apr_status_t rv = APR_SUCCESS;

    if (raw_exec(db, "COMMIT") != APR_SUCCESS) {
        /* never hand a connection back with a transaction (and its locks) open */
        raw_exec(db, "ROLLBACK");
        rv = APR_EGENERAL;
    }
    else {
        db->committed = 1;
    }
    unlock_writers(db);
    return rv;
}

apr_status_t acp_sa_rollback(acp_db_t *db)
{
    apr_status_t rv = raw_exec(db, "ROLLBACK");
    unlock_writers(db);
    return rv;
}

apr_status_t acp_sa_savepoint(acp_db_t *db, const char *name)
{
    char sql[64];
    apr_snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
    return raw_exec(db, sql);
}

apr_status_t acp_sa_rollback_to(acp_db_t *db, const char *name)
{
    char sql[64];
    apr_snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT %s", name);
    return raw_exec(db, sql);
}

static const acp_sa_stmt_t *catalogue_entry(const acp_db_t *db, const char *label, int *admin)
{
    const acp_sa_stmt_t *s;

    for (s = db->pgsql ? pg_catalogue : NULL; s && s->label; s++) {
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

/* The prepared statement of label on this connection; prepared now, on the
 * connection's own pool, the first time this connection runs it (stmt_pool). */
apr_status_t acp_sa_sync_commit(acp_db_t *db)
{
    return db->pgsql ? raw_exec(db, "SET LOCAL synchronous_commit = on") : APR_SUCCESS;
}

/* The statement was not there: a session change the id did not show (the new backend
 * got the old one's process id, or libpq's symbol could not be found). */
static int statement_missing(acp_db_t *db)
{
    const char *m;

    if (!db->pgsql || !db->stmt_pool || db->in_tx) {
        return 0;
    }
    m = apr_dbd_error(db->driver, db->handle, 1);
    if (!m || !strstr(m, "prepared statement") || !strstr(m, "does not exist")) {
        return 0;
    }
    forget_prepared(db);
    return 1;
}

static apr_dbd_prepared_t *stmt_of(acp_db_t *db, const char *label)
{
    apr_dbd_prepared_t *st;
    const acp_sa_stmt_t *s;
    int admin = 0, rv;

    if (session_changed(db) && db->in_tx) {
        db->session_reset = 1; /* the transaction went with the old session */
        db->unavailable = 1;
        return NULL;
    }
    st = db->prepared ? apr_hash_get(db->prepared, label, APR_HASH_KEY_STRING) : NULL;
    if (st || !db->prepared || !db->stmt_pool || !(s = catalogue_entry(db, label, &admin))) {
        return st;
    }
    rv = apr_dbd_prepare(db->driver, db->stmt_pool, db->handle,
                         admin ? acp_sa_admin_sql(db->stmt_pool, s->sql, db->pgsql) : s->sql,
                         s->label, &st);
    if (rv != 0) {
        note_failure(db, rv);
        return NULL;
    }
    apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, st);
    return st;
}

apr_status_t acp_sa_exec(acp_db_t *db, apr_pool_t *p, const char *label, int *nrows, int nargs,
                         const char *const *args)
{
    apr_dbd_prepared_t *st = tx_gone(db) ? NULL : stmt_of(db, label);
    int n = 0, rv;

    if (!st) {
        return db->unavailable ? APR_EGENERAL : APR_ENOENT;
    }
    rv = apr_dbd_pquery(db->driver, p, db->handle, &n, st, nargs, (const char **)args);
    if (rv != 0 && statement_missing(db) && (st = stmt_of(db, label)) != NULL) {
        rv = apr_dbd_pquery(db->driver, p, db->handle, &n, st, nargs, (const char **)args);
    }
    if (rv != 0) {
        note_failure(db, rv);
    }
    if (nrows) {
        *nrows = n;
    }
    return rv == 0 ? APR_SUCCESS : APR_EGENERAL;
}

static const char **read_row(acp_db_t *db, apr_pool_t *p, apr_dbd_results_t *res,
                             apr_dbd_row_t *row)
{
    int i, n = apr_dbd_num_cols(db->driver, res);
    const char **cols = apr_pcalloc(p, sizeof(char *) * (size_t)(n + 1));

    for (i = 0; i < n; i++) {
        /* apr_dbd_get_entry gives "" for SQL NULL with pgsql; datum_get says ENOENT */
        char *v = NULL;
        apr_status_t rv = apr_dbd_datum_get(db->driver, row, i, APR_DBD_TYPE_STRING, &v);
        cols[i] = rv == APR_SUCCESS && v ? apr_pstrdup(p, v) : NULL;
    }
    return cols;
}

apr_status_t acp_sa_rows(acp_db_t *db, apr_pool_t *p, const char *label,
                         apr_array_header_t **rows, int nargs, const char *const *args)
{
    apr_dbd_prepared_t *st;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *out;
    int rv, missed = 0;

    *rows = NULL;
    /* pgsql: random access (one PQexecPrepared). In sequential mode apr_dbd_pgsql meets an
     * empty result set with apr_sleep(100 ms) before it asks libpq again, so every select
     * that finds nothing would cost a tenth of a second, and a failed statement (a dead
     * connection) looks like an empty result; the whole result is held in memory either
     * way. SQLite: sequential (random access copies every row first). */
    for (;;) {
        if (tx_gone(db)) {
            return APR_EGENERAL;
        }
        st = stmt_of(db, label); /* prepared on first use: may meet a dead connection */
        if (!st && !db->unavailable) {
            return APR_ENOENT;
        }
        if (st) {
            rv = apr_dbd_pselect(db->driver, p, db->handle, &res, st, db->pgsql ? 1 : 0, nargs,
                                 (const char **)args);
            if (rv == 0) {
                break;
            }
            if (!missed && statement_missing(db)) {
                missed = 1; /* prepared again by stmt_of, once */
                res = NULL;
                continue;
            }
            note_failure(db, rv);
        }
        if (!reconnected(db)) {
            return APR_EGENERAL;
        }
        res = NULL;
    }
    out = apr_array_make(p, 4, sizeof(const char **));
    /* read to the end: an unfinished result set keeps the statement busy */
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        APR_ARRAY_PUSH(out, const char **) = read_row(db, p, res, row);
    }
    *rows = out;
    return APR_SUCCESS;
}

apr_status_t acp_sa_row(acp_db_t *db, apr_pool_t *p, const char *label, const char ***row,
                        int nargs, const char *const *args)
{
    apr_array_header_t *rows;
    apr_status_t rv = acp_sa_rows(db, p, label, &rows, nargs, args);

    *row = NULL;
    if (rv == APR_SUCCESS && rows->nelts > 0) {
        *row = APR_ARRAY_IDX(rows, 0, const char **);
    }
    return rv;
}

static apr_status_t prepare_list(apr_pool_t *p, acp_db_t *db, const acp_sa_stmt_t *list,
                                 int fill, const char **errmsg)
{
    const acp_sa_stmt_t *s;

    for (s = list; s->label; s++) {
        apr_dbd_prepared_t *st = NULL;
        const char *sql = fill ? acp_sa_admin_sql(p, s->sql, db->pgsql) : s->sql;
        int rv = apr_dbd_prepare(db->driver, p, db->handle, sql, s->label, &st);
        if (rv != 0) {
            *errmsg = apr_psprintf(p, "preparing %s: %s", s->label, acp_sa_error(db, p, rv));
            return APR_EGENERAL;
        }
        apr_hash_set(db->prepared, s->label, APR_HASH_KEY_STRING, st);
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_prepare_all(apr_pool_t *p, acp_db_t *db, const char **errmsg)
{
    apr_status_t rv;

    if (!db->prepared) {
        db->prepared = apr_hash_make(p);
    }
    session_changed(db); /* the session these are prepared in */
    rv = prepare_list(p, db, acp_sa_catalogue, 0, errmsg);
    if (rv == APR_SUCCESS && db->pgsql) {
        rv = prepare_list(p, db, pg_catalogue, 0, errmsg);
    }
    return rv == APR_SUCCESS ? prepare_list(p, db, acp_sa_admin_catalogue, 1, errmsg) : rv;
}

static int raw_int(acp_db_t *db, apr_pool_t *p, const char *sql, int *val)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int found = 0;

    if (apr_dbd_select(db->driver, p, db->handle, &res, sql, 0) != 0) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(db->driver, row, 0);
        if (!found) {
            *val = v ? (int)strtol(v, NULL, 10) : 0;
            found = 1;
        }
    }
    return found ? 0 : -1;
}

/* The first ';' at or after s that is outside a $$-quoted body (PostgreSQL's function
 * bodies hold statements of their own); NULL: none. */
static char *semi_outside_dollars(char *s)
{
    int quoted = 0;

    for (; *s; s++) {
        if (s[0] == '$' && s[1] == '$') {
            quoted = !quoted;
            s++;
        }
        else if (*s == ';' && !quoted) {
            return s;
        }
    }
    return NULL;
}

/* Whether the word w stands at c (any case), inside the text s..end: not part of a
 * longer name on either side. */
static int word_at(const char *s, const char *c, const char *end, const char *w)
{
    size_t n = strlen(w);

    return c >= s && c + n <= end && strncasecmp(c, w, n) == 0 &&
           (c == s || (!apr_isalnum(c[-1]) && c[-1] != '_')) &&
           (c + n == end || (!apr_isalnum(c[n]) && c[n] != '_'));
}

/* Whether the word w stands anywhere between s and end. */
static int has_word_before(const char *s, const char *end, const char *w)
{
    const char *c;

    for (c = s; c < end; c++) {
        if (word_at(s, c, end, w)) {
            return 1;
        }
    }
    return 0;
}

/* The end of the statement that starts at s: its ';' -- for a CREATE TRIGGER, the ';'
 * after its END (a SQLite trigger's body holds statements of its own); a ';' inside $$
 * does not count. NULL: no end. */
static char *stmt_end(char *s)
{
    char *semi = semi_outside_dollars(s);
    int trigger;

    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
        s++;
    }
    /* a SQLite trigger: a BEGIN … END body before the first ';' (PostgreSQL's CREATE
     * TRIGGER … EXECUTE FUNCTION f() ends at its own ';') */
    trigger = strncasecmp(s, "CREATE TRIGGER", 14) == 0 && semi &&
              has_word_before(s, semi, "BEGIN");
    while (trigger && semi) {
        char *e = semi;
        while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (word_at(s, e - 3, e, "END")) {
            break;
        }
        semi = semi_outside_dollars(semi + 1);
    }
    return semi;
}

/* Run a migration script: comment lines dropped, statements split at ';'
 * (migration files keep semicolons for statement ends only; a trigger ends at END;). */
static apr_status_t run_script(acp_db_t *db, apr_pool_t *p, const char *sql,
                               const char **errmsg)
{
    char *text = apr_pcalloc(p, strlen(sql) + 1), *o = text, *stmt, *end;
    const char *line = sql;

    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (strncmp(line, "--", 2) != 0) {
            memcpy(o, line, len);
            o += len;
        }
        line += len;
    }
    for (stmt = text; stmt && *stmt; stmt = end ? end + 1 : NULL) {
        int nrows, rv;
        end = stmt_end(stmt);
        if (end) {
            *end = '\0';
        }
        while (*stmt == '\n' || *stmt == ' ') {
            stmt++;
        }
        if (!*stmt) {
            continue;
        }
        rv = apr_dbd_query(db->driver, db->handle, &nrows, stmt);
        if (rv != 0) {
            *errmsg = apr_psprintf(p, "%s: %s", stmt, acp_sa_error(db, p, rv));
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_migrate(apr_pool_t *p, acp_db_t *db, int *version, const char **errmsg)
{
    const acp_migration_t *m;
    const char *drv = db->pgsql ? "pgsql" : "sqlite3";
    int current = 0;
    apr_status_t rv;

    if (!db->pgsql) {
        /* WAL lets readers run beside the writer; it cannot be set inside a transaction */
        raw_exec(db, "PRAGMA journal_mode = WAL");
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "BEGIN: %s", acp_sa_error(db, p, 1));
        return APR_EGENERAL;
    }
    if (db->pgsql) {
        raw_exec(db, "SELECT pg_advisory_xact_lock(4242001)");
    }
    rv = raw_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "schema_version: %s", acp_sa_error(db, p, 1));
        goto fail;
    }
    if (raw_int(db, p, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &current) != 0) {
        current = 0;
    }
    for (m = acp_migrations; m->driver; m++) {
        int done = 0;
        if (strcmp(m->driver, drv) != 0) {
            continue;
        }
        /* every migration not yet recorded, in number order: numbers are handed out in
         * parallel, so one may land after a higher one was applied (004 after 010) */
        if (m->version <= current &&
            (raw_int(db, p,
                     apr_psprintf(p, "SELECT COUNT(*) FROM schema_version WHERE version = %d",
                                  m->version),
                     &done) != 0 ||
             done > 0)) {
            continue;
        }
        rv = run_script(db, p, m->sql, errmsg);
        if (rv != APR_SUCCESS) {
            *errmsg = apr_psprintf(p, "migration %s: %s", m->name, *errmsg);
            goto fail;
        }
        if (raw_exec(db, apr_psprintf(p, "INSERT INTO schema_version (version) VALUES (%d)",
                                      m->version)) != APR_SUCCESS) {
            *errmsg = apr_psprintf(p, "recording migration %s failed", m->name);
            goto fail;
        }
        if (m->version > current) {
            current = m->version;
        }
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "COMMIT: %s", acp_sa_error(db, p, 1));
        return APR_EGENERAL;
    }
    if (version) {
        *version = current;
    }
    return APR_SUCCESS;
fail:
    acp_sa_rollback(db);
    return APR_EGENERAL;
}

static apr_status_t db_close(void *data)
{
    acp_db_t *db = data;
    apr_dbd_close(db->driver, db->handle);
    return APR_SUCCESS;
}

apr_status_t acp_sa_open(apr_pool_t *p, const char *driver, const char *params, int migrate,
                         acp_db_t **out, const char **errmsg)
{
    const apr_dbd_driver_t *drv = NULL;
    apr_dbd_t *handle = NULL;
    const char *err = NULL;
    acp_db_t *db;
    apr_status_t rv;

    apr_dbd_init(p);
    rv = apr_dbd_get_driver(p, driver, &drv);
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "no apr_dbd driver '%s' (is libaprutil1-dbd-%s installed?)",
                               driver, driver);
        return rv;
    }
    rv = apr_dbd_open_ex(drv, p, params, &handle, &err);
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "cannot open %s database '%s': %s", driver,
                               acp_sa_params_safe(p, driver, params), err ? err : "error");
        return rv;
    }
    db = acp_sa_wrap(p, drv, handle, NULL);
    db->stmt_pool = p; /* what a reset session lost is prepared again there */
    apr_pool_cleanup_register(p, db, db_close, apr_pool_cleanup_null);
    /* a connection of its own (the staff tool, start-up): one thread, so remapping after
     * the server's commits costs no other thread's TLB (the shoot-downs that made it dear
     * in Apache's children), and the staff tool's searches read much */
    acp_sa_tune(db, ACP_SA_MMAP_MAX);
    if (migrate) {
        rv = acp_sa_migrate(p, db, NULL, errmsg);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = acp_sa_prepare_all(p, db, errmsg);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = db;
    return APR_SUCCESS;
}
