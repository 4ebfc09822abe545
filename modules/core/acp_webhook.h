/* Webhook signatures: the header "t=<unix>,v1=<hex HMAC-SHA256>" that Stripe sends and
 * that the module's own payment webhook takes as AcmePay-Signature, made and checked. Pure
 * functions. */
#ifndef ACP_WEBHOOK_H
#define ACP_WEBHOOK_H

#include <stddef.h>
#include <apr_pools.h>

/* Webhook signature header "t=<unix>,v1=<hex HMAC-SHA256(secret, t "." body)>" (several
 * v1= entries allowed, any match wins, constant-time compare; other keys ignored).
 * Returns 0 when a signature matches and |now - t| <= tolerance; else -1 with *why set:
 * "missing signature header", "malformed signature header", "timestamp too old",
 * "timestamp in the future", "signature mismatch". */
int acp_webhook_verify(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *header, const char *body, size_t body_len, long long now,
                       int tolerance, const char **why);
/* For tests and tools: the header value for a body at time t. */
char *acp_webhook_sign(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *body, size_t body_len, long long t);

#endif
