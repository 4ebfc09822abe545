/* Registration authority, accounts: the per-process cache of decoded account keys,
 * newAccount (contacts, external account binding), account updates and keyChange. */
#include <pthread.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_ra.h"
#include "acp_ident.h"
#include "acp_problem.h"
#include "acp_util.h"
#include "acp_ra_int.h"
#include "acp_secret.h"

#define MAX_CONTACTS 10

/* Decoded account keys, per process, by thumbprint (which names the key's content, so a
 * keyChange can never find a stale entry). Decoding a JWK into an EVP_PKEY was about a
 * tenth of the instructions per certificate (make bench, callgrind). A fixed table: a
 * colliding thumbprint replaces the entry; holders keep their own reference. */
#define KEY_CACHE_SLOTS 1024

static struct {
    char thumb[48];
    EVP_PKEY *key;
} key_cache[KEY_CACHE_SLOTS];
static pthread_mutex_t key_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static apr_status_t pkey_release(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static unsigned key_slot(const char *thumb)
{
    unsigned h = 2166136261u;
    for (; *thumb; thumb++) {
        h = (h ^ (unsigned char)*thumb) * 16777619u;
    }
    return h % KEY_CACHE_SLOTS;
}

EVP_PKEY *acp_ra_account_key(apr_pool_t *p, const acp_account_t *acct)
{
    unsigned slot = key_slot(acct->thumbprint);
    json_object *jwk;
    EVP_PKEY *key = NULL;

    pthread_mutex_lock(&key_cache_lock);
    if (key_cache[slot].key && strcmp(key_cache[slot].thumb, acct->thumbprint) == 0 &&
        EVP_PKEY_up_ref(key_cache[slot].key) == 1) {
        key = key_cache[slot].key;
    }
    pthread_mutex_unlock(&key_cache_lock);
    if (key) {
        apr_pool_cleanup_register(p, key, pkey_release, apr_pool_cleanup_null);
        return key;
    }
    jwk = acp_json_parse(p, acct->jwk, strlen(acct->jwk));
    if (!jwk || acp_jwk_to_pkey(p, jwk, &key) != NULL) {
        return NULL; /* key belongs to p's cleanups */
    }
    acp_ra_account_key_remember(acct->thumbprint, key);
    return key;
}

void acp_ra_account_key_remember(const char *thumbprint, EVP_PKEY *key)
{
    unsigned slot;
    EVP_PKEY *old;

    if (!thumbprint || !key || strlen(thumbprint) >= sizeof(key_cache[0].thumb)) {
        return;
    }
    slot = key_slot(thumbprint);
    pthread_mutex_lock(&key_cache_lock);
    if (key_cache[slot].key == key || EVP_PKEY_up_ref(key) != 1) {
        pthread_mutex_unlock(&key_cache_lock);
        return;
    }
    old = key_cache[slot].key;
    key_cache[slot].key = key;
    apr_cpystrn(key_cache[slot].thumb, thumbprint, sizeof(key_cache[slot].thumb));
    pthread_mutex_unlock(&key_cache_lock);
    EVP_PKEY_free(old);
}

/* ---- accounts ------------------------------------------------------------------ */

static acp_problem_t *check_contacts(apr_pool_t *p, json_object *contact, const char **out)
{
    size_t i, n;

    if (!json_object_is_type(contact, json_type_array)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "contact must be an array of URLs");
    }
    n = json_object_array_length(contact);
    if (n > MAX_CONTACTS) {
        return acp_problem(p, ACP_ERR_MALFORMED, "too many contacts (max %d)", MAX_CONTACTS);
    }
    for (i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(contact, i);
        const char *s, *addr, *at, *q;
        if (!json_object_is_type(c, json_type_string)) {
            return acp_problem(p, ACP_ERR_MALFORMED, "contact entries must be strings");
        }
        s = json_object_get_string(c);
        if (strncasecmp(s, "mailto:", 7) != 0) {
            return acp_problem(p, ACP_ERR_UNSUPPORTED_CONTACT,
                               "contact '%s': only mailto: URLs are supported", s);
        }
        addr = s + 7;
        at = strchr(addr, '@');
        for (q = addr; *q; q++) {
            if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f || strchr("?,;<>\"()", *q)) {
                break;
            }
        }
        if (*q || !at || at == addr || strchr(at + 1, '@') || strlen(addr) > 254) {
            return acp_problem(p, ACP_ERR_INVALID_CONTACT,
                               "contact '%s' is not a single valid email address", s);
        }
        {
            const char *dom = NULL;
            acp_problem_t *prob = acp_ident_normalize(p, "dns", at + 1, &dom);
            if (prob || acp_ident_is_wildcard(dom)) {
                return acp_problem(p, ACP_ERR_INVALID_CONTACT,
                                   "contact '%s' has an invalid domain", s);
            }
        }
    }
    *out = acp_ra_int_json_text(p, contact);
    return NULL;
}

static acp_problem_t *check_eab(acp_db_t *db, apr_pool_t *p, json_object *eab,
                                const acp_jws_t *outer, const char *url, const char **kid,
                                const char **billing_id)
{
    const char *text = acp_ra_int_json_text(p, eab);
    acp_jws_t *inner = NULL;
    acp_problem_t *prob;
    const char **row = NULL, *stored = NULL;
    unsigned char *key = NULL;
    size_t keylen = 0;
    json_object *pjwk;
    const char *t1, *t2;

    prob = acp_jws_parse(p, ACP_JWS_EAB, text, strlen(text), &inner);
    if (prob) {
        return acp_problem(p, ACP_ERR_MALFORMED, "externalAccountBinding: %s", prob->detail);
    }
    if (strcmp(inner->url, url) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "externalAccountBinding url must be %s", url);
    }
    if (acp_sa_row(db, p, "acp_eab_get", &row, ACP_SA_ARGS(inner->kid)) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading an EAB key");
    }
    if (!row || strcmp(row[4], "active") != 0) {
        return acp_problem(p, ACP_ERR_UNAUTHORIZED, "unknown or disabled EAB key id '%s'",
                           inner->kid);
    }
    if (acp_secret_open(p, db->secrets, apr_pstrcat(p, "eab:", row[0], NULL), row[1],
                        &stored) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL,
                           "stored EAB key cannot be opened (AcmePayKeyFile missing or "
                           "another key)");
    }
    if (acp_b64url_decode(p, stored, strlen(stored), &key, &keylen) != 0) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "stored EAB key is not base64url");
    }
    prob = acp_jws_verify_hmac(p, inner, key, keylen);
    if (prob) {
        return acp_problem(p, ACP_ERR_UNAUTHORIZED, "externalAccountBinding signature invalid");
    }
    pjwk = acp_json_parse(p, inner->payload, inner->payload_len);
    t1 = pjwk ? acp_jwk_thumbprint(p, pjwk) : NULL;
    t2 = acp_jwk_thumbprint(p, outer->jwk);
    if (!t1 || !t2 || strcmp(t1, t2) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "externalAccountBinding payload must be the account key");
    }
    *kid = inner->kid;
    *billing_id = row[3];
    return NULL;
}

acp_problem_t *acp_ra_new_account_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                     const acp_jws_t *jws, json_object *payload,
                                     const char *new_account_url, const char *client_ip,
                                     acp_account_t **acct, int *created)
{
    const char *thumb, *contacts = "[]", *eab_kid = NULL, *billing_id = NULL, *id, *addr;
    json_object *v;
    int only_existing = 0, tos = 0, welcomed = 0;
    acp_problem_t *prob;
    apr_status_t rv;
    long long now = acp_now();

    *created = 0;
    if (!jws->jwk) {
        return acp_problem(p, ACP_ERR_MALFORMED, "newAccount must be signed with a jwk");
    }
    if (!json_object_is_type(payload, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "newAccount payload must be a JSON object");
    }
    thumb = acp_jwk_thumbprint(p, jws->jwk);
    if (!thumb) {
        return acp_problem(p, ACP_ERR_BAD_PUBLIC_KEY, "cannot compute the key's thumbprint");
    }
    if (json_object_object_get_ex(payload, "onlyReturnExisting", &v)) {
        only_existing = json_object_get_boolean(v);
    }
    rv = acp_sa_account_by_thumbprint(db, p, thumb, acct);
    if (rv == APR_SUCCESS) {
        if (strcmp((*acct)->status, "valid") != 0) {
            return acp_problem(p, ACP_ERR_UNAUTHORIZED, "account is %s", (*acct)->status);
        }
        return NULL;
    }
    if (rv != APR_NOTFOUND) {
        return acp_ra_int_db_problem(p, "looking up the account");
    }
    if (only_existing) {
        return acp_problem(p, ACP_ERR_ACCOUNT_DOES_NOT_EXIST, "no account exists with this key");
    }
    if (json_object_object_get_ex(payload, "termsOfServiceAgreed", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            return acp_problem(p, ACP_ERR_MALFORMED, "termsOfServiceAgreed must be a boolean");
        }
        tos = json_object_get_boolean(v);
    }
    if (cfg->tos && !tos) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "you must agree to the terms of service at %s", cfg->tos);
    }
    if (json_object_object_get_ex(payload, "contact", &v)) {
        prob = check_contacts(p, v, &contacts);
        if (prob) {
            return prob;
        }
    }
    if (json_object_object_get_ex(payload, "externalAccountBinding", &v)) {
        prob = check_eab(db, p, v, jws, new_account_url, &eab_kid, &billing_id);
        if (prob) {
            return prob;
        }
        if (acp_billing_eab_welcome_tx(db, p, &cfg->billing, billing_id, &welcomed) !=
            APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "crediting the EAB credential");
        }
    }
    else if (cfg->eab_required) {
        return acp_problem(p, ACP_ERR_EXTERNAL_ACCOUNT_REQUIRED,
                           "this server requires external account binding");
    }
    /* counted over the accounts table itself; refused before anything is written */
    addr = acp_limit_addr_key(p, client_ip);
    prob = acp_ra_limit_new_account(db, p, cfg, addr, eab_kid, now);
    if (prob) {
        return prob;
    }
    if (!billing_id &&
        acp_billing_account_holder_tx(db, p, &cfg->billing, client_ip, &billing_id, NULL) !=
            APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "creating a billing holder");
    }
    id = acp_random_id(p, 12);
    {
        /* the row as inserted (acp_acct_insert's columns), not read back: one round trip
         * less per new account */
        acp_account_t *a = apr_pcalloc(p, sizeof(*a));
        a->id = id;
        a->thumbprint = thumb;
        a->jwk = acp_jwk_canonical(p, jws->jwk);
        a->status = "valid";
        a->contacts = contacts;
        a->tos_agreed = tos ? 1 : 0;
        a->eab_kid = eab_kid;
        a->billing_id = billing_id;
        a->created = now;
        if (!a->jwk ||
            acp_sa_exec_later(db, p, "acp_acct_insert",
                              ACP_SA_ARGS(id, thumb, a->jwk, contacts, tos ? "1" : "0",
                                          eab_kid, billing_id, acp_sa_ll(p, now), addr)) !=
                APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "creating the account");
        }
        *acct = a;
    }
    *created = 1;
    return NULL;
}

acp_problem_t *acp_ra_update_account_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                        acp_account_t *acct, json_object *payload)
{
    json_object *v;
    const char *contacts;
    acp_problem_t *prob;

    if (!json_object_is_type(payload, json_type_object)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "account update must be a JSON object");
    }
    if (json_object_object_get_ex(payload, "status", &v)) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) || strcmp(s, "deactivated") != 0) {
            return acp_problem(p, ACP_ERR_MALFORMED, "status may only be set to deactivated");
        }
        if (acp_sa_exec(db, p, "acp_acct_deactivate", NULL, ACP_SA_ARGS(acct->id)) !=
            APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "deactivating the account");
        }
        acct->status = "deactivated";
        return NULL;
    }
    if (json_object_object_get_ex(payload, "contact", &v)) {
        prob = check_contacts(p, v, &contacts);
        if (prob) {
            return prob;
        }
        if (acp_sa_exec(db, p, "acp_acct_contacts", NULL, ACP_SA_ARGS(contacts, acct->id)) !=
            APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "updating contacts");
        }
        acct->contacts = contacts;
    }
    if (json_object_object_get_ex(payload, "termsOfServiceAgreed", &v) &&
        json_object_get_boolean(v) && !acct->tos_agreed) {
        if (acp_sa_exec(db, p, "acp_acct_tos", NULL, ACP_SA_ARGS(acct->id)) != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "recording the terms agreement");
        }
        acct->tos_agreed = 1;
    }
    return NULL;
}

acp_problem_t *acp_ra_key_change_tx(acp_db_t *db, apr_pool_t *p, acp_account_t *acct,
                                    const acp_jws_t *outer, const char *acct_url,
                                    const char **conflict_id)
{
    acp_jws_t *inner = NULL;
    acp_problem_t *prob;
    EVP_PKEY *newkey = NULL;
    json_object *payload, *old;
    const char *account, *oldthumb, *newthumb;
    acp_account_t *other = NULL;
    int n = 0;

    *conflict_id = NULL;
    prob = acp_jws_parse(p, ACP_JWS_KEYCHANGE, outer->payload, outer->payload_len, &inner);
    if (prob) {
        return prob;
    }
    if (strcmp(inner->url, outer->url) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "inner JWS url must equal the outer url");
    }
    prob = acp_jwk_to_pkey(p, inner->jwk, &newkey);
    if (prob) {
        return prob;
    }
    prob = acp_jws_verify(p, inner, newkey);
    if (prob) {
        return acp_problem(p, ACP_ERR_MALFORMED, "inner JWS: %s", prob->detail);
    }
    payload = acp_json_parse(p, inner->payload, inner->payload_len);
    account = acp_ra_int_jstr(payload, "account");
    if (!payload || !account || !json_object_object_get_ex(payload, "oldKey", &old)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "keyChange payload needs account and oldKey");
    }
    if (strcmp(account, acct_url) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "keyChange account does not match the kid");
    }
    oldthumb = acp_jwk_thumbprint(p, old);
    if (!oldthumb || strcmp(oldthumb, acct->thumbprint) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "oldKey is not the account's current key");
    }
    newthumb = acp_jwk_thumbprint(p, inner->jwk);
    if (acp_sa_account_by_thumbprint(db, p, newthumb, &other) == APR_SUCCESS) {
        *conflict_id = other->id;
        return acp_problem(p, ACP_ERR_CONFLICT, "the new key is already in use by an account");
    }
    if (acp_sa_exec(db, p, "acp_acct_rekey", &n,
                    ACP_SA_ARGS(acp_jwk_canonical(p, inner->jwk), newthumb, acct->id,
                                acct->thumbprint)) != APR_SUCCESS ||
        n != 1) {
        return acp_ra_int_db_problem(p, "changing the account key");
    }
    acct->thumbprint = newthumb;
    acct->jwk = acp_jwk_canonical(p, inner->jwk);
    return NULL;
}
