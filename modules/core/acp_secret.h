/* Secrets at rest: EAB HMAC keys and the nonce key are stored sealed with AES-256-GCM
 * under a 32-byte key kept in a file (AcmePayKeyFile) that only Apache and
 * acme-pay-admin read, so a copy of the database alone does not let anyone sign as an
 * EAB holder or forge nonces. Stored form: "enc1:" base64url(iv[12] ciphertext tag[16]);
 * the additional data binds a value to its place ("eab:<kid>", "setting:nonce_key"), so
 * a sealed value cannot be moved to another row. Values without the prefix are legacy
 * plaintext: still readable, and re-sealed at start-up (acp_secret_reseal_all). */
#ifndef ACP_SECRET_H
#define ACP_SECRET_H

#include <apr_pools.h>
#include "acp_sa.h"

#define ACP_SECRET_KEY_LEN 32
#define ACP_SECRET_PREFIX "enc1:"

typedef struct acp_secret_key_t {
    unsigned char key[ACP_SECRET_KEY_LEN];
    const char *path;
} acp_secret_key_t;

/* Read a key file: 64 hex digits (a trailing newline allowed) or 32 raw bytes. With
 * create != 0 a missing file is made (64 hex digits, O_EXCL, mode 0640) and *created set;
 * an existing file is never replaced. Refuses a file readable by others (mode & 007). */
apr_status_t acp_secret_key_load(apr_pool_t *p, const char *path, int create,
                                 acp_secret_key_t **out, int *created, const char **err);

/* Is this stored value sealed? */
int acp_secret_is_sealed(const char *stored);

/* "enc1:…" of plain, bound to aad; NULL on failure. */
const char *acp_secret_seal(apr_pool_t *p, const acp_secret_key_t *k, const char *aad,
                            const char *plain);

/* The plaintext of a stored value: sealed values are opened with k (APR_EGENERAL when k is
 * NULL, wrong or the value was tampered with); legacy plaintext comes back as it is. */
apr_status_t acp_secret_open(apr_pool_t *p, const acp_secret_key_t *k, const char *aad,
                             const char *stored, const char **plain);

/* Seal what is still stored in clear (EAB keys; the nonce key is handled by its reader).
 * *n: values sealed. */
apr_status_t acp_secret_reseal_all(acp_db_t *db, apr_pool_t *p, const acp_secret_key_t *k,
                                   int *n);

/* The nonce key from the settings table (made by the first server to start, sealed when
 * db->secrets is set; a legacy plaintext key is sealed in place). */
apr_status_t acp_secret_nonce_key(acp_db_t *db, apr_pool_t *p, unsigned char *key, size_t len,
                                  const char **err);

#endif
