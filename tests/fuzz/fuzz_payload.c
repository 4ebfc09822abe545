/* ACME request payloads through the RA, as the web front end hands them over after the
 * JWS checks: the first byte picks the resource, the rest is the payload text. A real
 * SQLite database in memory holds one account (FUZZ_KEY_ACCOUNT, id "fuzzacct"), a ready
 * order "fuzzready" for fuzz.example.com and a pending authorization "fuzzauthz"; each
 * input runs in its own transaction, rolled back, so every input meets the same state.
 * The local CA signs a finalize that passes (ACP_FUZZ_CA_DIR: gen-ca.sh output). */
#include "fuzz_common.h"
#include "acp_ra.h"
#include "acp_util.h"

#define BASE "https://fuzz.test/acme"

static acp_db_t *db;
static acp_ra_cfg_t cfg;
static json_object *other_jwk;

static json_object *json_text(const char *s)
{
    return acp_json_parse(fuzz_root, s, strlen(s));
}

static void setup(void)
{
    const char *dir = getenv("ACP_FUZZ_CA_DIR"), *err = NULL;
    EVP_PKEY *acct_key = fuzz_key(FUZZ_KEY_ACCOUNT);
    acp_jws_t jws;
    acp_account_t *acct = NULL;
    acp_order_t *order = NULL;
    json_object *pl;
    int created = 0;
    char sql[512];

    if (!dir) {
        fuzz_die("ACP_FUZZ_CA_DIR (a build/gen-ca.sh directory) is not set");
    }
    db = fuzz_db();
    acp_ra_cfg_defaults(&cfg);
    if (acp_ca_local_create(fuzz_root, apr_pstrcat(fuzz_root, dir, "/ca.pem", NULL),
                            apr_pstrcat(fuzz_root, dir, "/ca.key", NULL), 90, &cfg.signer,
                            &err) != APR_SUCCESS) {
        fuzz_die(err ? err : "local CA");
    }
    other_jwk = acp_jwk_from_pkey(fuzz_root, fuzz_key(FUZZ_KEY_OTHER));
    memset(&jws, 0, sizeof(jws));
    jws.jwk = acp_jwk_from_pkey(fuzz_root, acct_key);
    pl = json_text("{\"termsOfServiceAgreed\":true}");
    if (acp_sa_begin(db) != APR_SUCCESS ||
        acp_ra_new_account_tx(db, fuzz_root, &cfg, &jws, pl, BASE "/new-account", "192.0.2.1",
                              &acct, &created) != NULL) {
        fuzz_die("account");
    }
    apr_snprintf(sql, sizeof(sql), "UPDATE accounts SET id = 'fuzzacct' WHERE id = '%s'",
                 acct->id);
    fuzz_sql(db, sql);
    acp_sa_account_get(db, fuzz_root, "fuzzacct", &acct);
    pl = json_text("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"fuzz.example.com\"}]}");
    if (!pl || acp_ra_new_order_tx(db, fuzz_root, &cfg, acct, pl, &order) != NULL) {
        fuzz_die("ready order");
    }
    apr_snprintf(sql, sizeof(sql), "UPDATE orders SET id = 'fuzzready', status = 'ready' "
                                   "WHERE id = '%s'", order->id);
    fuzz_sql(db, sql);
    apr_snprintf(sql, sizeof(sql), "UPDATE order_authz SET order_id = 'fuzzready' "
                                   "WHERE order_id = '%s'", order->id);
    fuzz_sql(db, sql);
    fuzz_sql(db, "UPDATE authorizations SET status = 'valid', expires = 4000000000");
    pl = json_text("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"pending.example.com\"}]}");
    if (!pl || acp_ra_new_order_tx(db, fuzz_root, &cfg, acct, pl, &order) != NULL) {
        fuzz_die("pending order");
    }
    fuzz_sql(db, "UPDATE order_authz SET authz_id = 'fuzzauthz' WHERE authz_id = "
                 "(SELECT id FROM authorizations WHERE ident = 'pending.example.com')");
    fuzz_sql(db, "UPDATE challenges SET authz_id = 'fuzzauthz' WHERE authz_id = "
                 "(SELECT id FROM authorizations WHERE ident = 'pending.example.com')");
    fuzz_sql(db, "UPDATE authorizations SET id = 'fuzzauthz' WHERE ident = 'pending.example.com'");
    if (acp_sa_commit(db) != APR_SUCCESS) {
        fuzz_die("commit of the fixtures");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    acp_account_t *acct = NULL;
    json_object *payload;

    if (size < 1) {
        return 0;
    }
    fuzz_init_apr();
    if (!db) {
        setup();
    }
    apr_pool_create(&p, fuzz_root);
    payload = acp_json_parse(p, (const char *)data + 1, size - 1);
    if (!payload || acp_sa_begin(db) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return 0;
    }
    if (acp_sa_account_get(db, p, "fuzzacct", &acct) != APR_SUCCESS) {
        abort();
    }
    switch (data[0] % 7) {
    case 0: { /* newAccount with a key that has no account yet (EAB, contacts, terms) */
        acp_jws_t jws;
        acp_account_t *out = NULL;
        int created = 0;
        memset(&jws, 0, sizeof(jws));
        jws.jwk = other_jwk;
        acp_ra_new_account_tx(db, p, &cfg, &jws, payload, BASE "/new-account", "192.0.2.2",
                              &out, &created);
        break;
    }
    case 1: /* account update: contact, terms, deactivation */
        acp_ra_update_account_tx(db, p, &cfg, acct, payload);
        break;
    case 2: { /* newOrder: identifiers, notBefore/notAfter, the limits */
        acp_order_t *order = NULL;
        acp_ra_new_order_tx(db, p, &cfg, acct, payload, &order);
        break;
    }
    case 3: { /* authorization update (deactivation) */
        acp_authz_t *authz = NULL;
        if (acp_sa_authz_get(db, p, "fuzzauthz", &authz) == APR_SUCCESS) {
            acp_ra_authz_update_tx(db, p, authz, payload);
        }
        break;
    }
    case 4: { /* finalize: the CSR, names, charge, signing */
        acp_order_t *order = NULL;
        if (acp_sa_order_get(db, p, "fuzzready", &order) == APR_SUCCESS) {
            acp_ra_csr_t fin;
            acp_ra_finalize_csr(p, acct, order, payload, &fin);
            acp_ra_finalize_tx(db, p, &cfg, acct, order, &fin, BASE);
        }
        break;
    }
    case 5: /* revokeCert signed by the account */
        acp_ra_revoke_tx(db, p, acct, NULL, payload);
        break;
    default: { /* keyChange: the payload is the inner JWS */
        acp_jws_t outer;
        const char *conflict = NULL;
        memset(&outer, 0, sizeof(outer));
        outer.url = BASE "/key-change";
        outer.kid = BASE "/acct/fuzzacct";
        outer.payload = fuzz_str(p, data + 1, size - 1);
        outer.payload_len = size - 1;
        acp_ra_key_change_tx(db, p, acct, &outer, BASE "/acct/fuzzacct", &conflict);
        break;
    }
    }
    acp_sa_rollback(db);
    apr_pool_destroy(p);
    return 0;
}
