/* Stateless, MAC'd anti-replay nonces. Making one writes nothing; redeeming one
 * is recorded by the caller inside the request's own transaction (acp_sa). */
#ifndef ACP_NONCE_H
#define ACP_NONCE_H

#include <apr_pools.h>

#define ACP_NONCE_KEY_LEN 32
#define ACP_NONCE_LIFETIME 3600 /* seconds */

/* base64url(expiry[8] || random[8] || HMAC-SHA256(key, expiry||random)[0..15]) */
char *acp_nonce_make(apr_pool_t *p, const unsigned char *key, long long now);
/* 0 when the MAC is right and the nonce has not expired; *expires is set. */
int acp_nonce_check(apr_pool_t *p, const unsigned char *key, const char *nonce, long long now,
                    long long *expires);

#endif
