/* Validation authority: performs http-01, dns-01 and tls-alpn-01 checks for real. */
#ifndef ACP_VA_H
#define ACP_VA_H

#include "acp_core.h"

typedef struct acp_va_cfg_t {
    const char *resolver;   /* "ip:port" of the DNS server to ask; NULL = system resolv.conf */
    int http_port;          /* port http-01 is checked on (80 in production) */
    int tlsalpn_port;       /* port tls-alpn-01 is checked on (443 in production) */
    int timeout_ms;         /* per check overall, e.g. 10000 */
} acp_va_cfg_t;

/* Validate one challenge. type: "http-01" | "dns-01" | "tls-alpn-01".
 * domain: the normalised identifier without any "*." prefix. key_authz:
 * token "." thumbprint. Returns NULL when valid, else a problem with kind
 * ACP_ERR_DNS (no such name / no answer), ACP_ERR_CONNECTION (connect/timeout),
 * ACP_ERR_UNAUTHORIZED or ACP_ERR_INCORRECT_RESPONSE (wrong content),
 * ACP_ERR_TLS (tls-alpn handshake / certificate problems), with a detail that names
 * the domain and what was seen. Blocking; never call it on a request thread. */
acp_problem_t *acp_va_validate(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *type,
                               const char *domain, const char *token, const char *key_authz);

/* Process-wide initialisation (curl_global_init, ares_library_init); call once. */
void acp_va_global_init(void);

#endif
