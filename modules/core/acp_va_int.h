/* Internal to the validation authority (acp_va.c, acp_va_http.c, acp_va_dns.c, acp_va_caa.c,
 * acp_va_tls.c): the state of one check and the helpers the files share. Not a public API. */
#ifndef ACP_VA_INT_H
#define ACP_VA_INT_H

#include <stddef.h>
#include <netinet/in.h>
#include "acp_va.h"

typedef struct {
    apr_pool_t *p;
    const acp_va_cfg_t *cfg;
    long long deadline; /* CLOCK_MONOTONIC, milliseconds */
    int budget_ms;      /* the whole check's time (cfg->timeout_ms or the default) */
    int http_port;
    int tlsalpn_port;
} acp_va_int_t;

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    struct in_addr v4;
    struct in6_addr v6;
    char str[INET6_ADDRSTRLEN];
} acp_va_int_addr_t;

/* ---- acp_va.c */

/* CLOCK_MONOTONIC in milliseconds. */
long long acp_va_int_mono_ms(void);
/* Milliseconds left until the deadline, 0 when it has passed. */
int acp_va_int_remaining_ms(const acp_va_int_t *va);
/* strerror of an errno value, in p. */
const char *acp_va_int_os_error(apr_pool_t *p, int err);
/* At most VA_QUOTE_MAX bytes of untrusted data, printable ASCII only, for a detail. */
const char *acp_va_int_quote(apr_pool_t *p, const char *data, size_t len);
/* A DNS name we are willing to look up and connect to: LDH labels separated by single
 * dots, at most 253 bytes, a last label that is not all digits. */
int acp_va_int_valid_hostname(const char *s);
/* NULL when the validator may connect to a (host, port only for the message), else a
 * connection problem naming the special-purpose range that refused it (acp_va.c). */
acp_problem_t *acp_va_int_refuse(const acp_va_int_t *va, const acp_va_int_addr_t *a,
                                 const char *host, int port);
/* Take one of cfg->max_host_conns connection slots for address a in this process, waiting
 * until the check's deadline; *slot for the release (-1: untracked). Release it after the
 * connection is closed. */
acp_problem_t *acp_va_int_conn_acquire(const acp_va_int_t *va, const acp_va_int_addr_t *a,
                                       const char *host, int *slot);
void acp_va_int_conn_release(int slot);
/* SHA-256 of a NUL-terminated string; 1 on success. */
int acp_va_int_sha256(const char *data, unsigned char md[32]);

/* ---- acp_va_http.c */

/* http-01 (RFC 8555 §8.3): the key authorization fetched from domain on va->http_port,
 * redirects followed. ip: the address of an IP identifier (domain is then its text), else
 * NULL. */
acp_problem_t *acp_va_http01(const acp_va_int_t *va, const char *domain,
                             const acp_va_int_addr_t *ip, const char *token,
                             const char *key_authz);

/* ---- acp_va_dns.c */

/* First A record of host, else first AAAA record. */
acp_problem_t *acp_va_dns_resolve(const acp_va_int_t *va, const char *host,
                                  acp_va_int_addr_t *out);
/* dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.domain holds
 * base64url(SHA-256(key_authz)). */
acp_problem_t *acp_va_dns_01(const acp_va_int_t *va, const char *domain, const char *key_authz);

/* CAA (RR type 257) at name: 0 with *msg and *len the whole DNS answer (NULL when the name
 * has no CAA RRset or does not exist), or -1 with *prob when the lookup failed (SERVFAIL,
 * REFUSED, timeout, ...). */
int acp_va_dns_caa(const acp_va_int_t *va, const char *name, const unsigned char **msg,
                   size_t *len, acp_problem_t **prob);

/* CAA at the n names of a climb asked at once, on one channel: acp_va_dns_caa_ask sends
 * every query (NULL when no channel could be had: ask one at a time), acp_va_dns_caa_answer
 * waits for the i-th answer only and reports it as acp_va_dns_caa does, and
 * acp_va_dns_caa_done cancels the answers nobody waited for. */
typedef struct acp_va_dns_caa_set acp_va_dns_caa_set_t;
acp_va_dns_caa_set_t *acp_va_dns_caa_ask(const acp_va_int_t *va, const char *const *names, int n);
int acp_va_dns_caa_answer(acp_va_dns_caa_set_t *s, int i, const unsigned char **msg,
                          size_t *len, acp_problem_t **prob);
void acp_va_dns_caa_done(acp_va_dns_caa_set_t *s);

/* ---- acp_va_caa.c */

/* The CAA check of domain (valid host name) within va's deadline (acp_va_caa_check). */
acp_problem_t *acp_va_caa_int(const acp_va_int_t *va, const char *domain, int wildcard,
                              const char *method, const char *account_id);

/* ---- acp_va_tls.c */

/* tls-alpn-01 (RFC 8737) against domain on va->tlsalpn_port. ip: for an IP identifier
 * (domain is its text), its address: no DNS, the SNI is the reverse-mapping name and the
 * certificate must name the address as its one iPAddress (RFC 8738 §6); else NULL. */
acp_problem_t *acp_va_tls_alpn01(const acp_va_int_t *va, const char *domain,
                                 const acp_va_int_addr_t *ip, const char *key_authz);

#endif
