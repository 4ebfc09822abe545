/* Validation authority: performs http-01, dns-01 and tls-alpn-01 checks for real. */
#ifndef ACP_VA_H
#define ACP_VA_H

#include "acp_core.h"

/* An address range (CIDR), for AcmePayValidationAllow. */
typedef struct acp_va_cidr_t {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network byte order; 4 bytes used for AF_INET */
    int bits;               /* prefix length */
} acp_va_cidr_t;

typedef struct acp_va_cfg_t {
    const char *resolver;   /* "ip:port" of the DNS server to ask; NULL = system resolv.conf */
    int http_port;          /* port http-01 is checked on (80 in production) */
    int tlsalpn_port;       /* port tls-alpn-01 is checked on (443 in production) */
    int timeout_ms;         /* per check overall, e.g. 10000 */
    /* acp_va_cidr_t entries exempt from the special-purpose address refusal (NULL: none) */
    const apr_array_header_t *allow;
    int max_host_conns;     /* concurrent connections per target address in this process;
                             * <= 0: ACP_VA_DEFAULT_HOST_CONNS */
    /* AcmePayCAAIdentities: the issuer domain names CAA issue/issuewild must name for us
     * (const char*; NULL or empty: none, so any issue/issuewild RRset refuses) */
    const apr_array_header_t *caa_identities;
} acp_va_cfg_t;

#define ACP_VA_DEFAULT_HOST_CONNS 2

/* Validate one challenge. type: "http-01" | "dns-01" | "tls-alpn-01".
 * domain: the normalised identifier without any "*." prefix. key_authz:
 * token "." thumbprint. Returns NULL when valid, else a problem with kind
 * ACP_ERR_DNS (no such name / no answer), ACP_ERR_CONNECTION (connect/timeout),
 * ACP_ERR_UNAUTHORIZED or ACP_ERR_INCORRECT_RESPONSE (wrong content),
 * ACP_ERR_TLS (tls-alpn handshake / certificate problems), with a detail that names
 * the domain and what was seen. Blocking; never call it on a request thread. */
acp_problem_t *acp_va_validate(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *type,
                               const char *domain, const char *token, const char *key_authz);

/* Parse "addr/bits" (or a bare address: a single host) into *out. Returns NULL, or
 * an error message in p. The address must be the network's first (no host bits set). */
const char *acp_va_cidr_parse(apr_pool_t *p, const char *s, acp_va_cidr_t *out);

/* Why the validator refuses to connect to an address (family AF_INET with a 4-byte
 * addr, or AF_INET6 with 16 bytes): NULL when allowed, else a sentence naming the
 * IANA special-purpose range and its RFC, e.g. "address 10.0.0.1 is in 10.0.0.0/8
 * (RFC 1918 private-use)". An IPv4-mapped IPv6 address is judged as its IPv4 address.
 * Ranges in allow (may be NULL) are exempt. */
const char *acp_va_addr_refusal(apr_pool_t *p, const apr_array_header_t *allow, int family,
                                const unsigned char *addr);

/* ---- CAA (RFC 8659, RFC 8657 accounturi and validationmethods) */

/* One CAA resource record (RFC 8659 §4.1): flags, tag (lower-cased, NUL-terminated),
 * value (NUL-terminated, an embedded NUL shown as '?'). */
typedef struct acp_caa_rr_t {
    int flags;
    const char *tag;
    const char *value;
} acp_caa_rr_t;

#define ACP_CAA_CRITICAL 0x80 /* the issuer critical flag (RFC 8659 §4.1) */
#define ACP_CAA_MAX_RRS  64   /* CAA records examined per answer; more: refused */

/* The RDATA of one CAA record (len bytes, untrusted): 0 with *out, or -1 when it is
 * malformed (truncated, empty tag, tag not alphanumeric or over 15 bytes). */
int acp_caa_parse_rdata(apr_pool_t *p, const unsigned char *rdata, size_t len,
                        acp_caa_rr_t *out);

/* CAA(qname) from a whole DNS answer message (untrusted: bounds, compression pointers and
 * counts checked): the CNAME chain in the answer section is followed from qname (at most
 * 8 aliases; a loop or a longer chain is an error), and the CAA records (acp_caa_rr_t)
 * owned by its end are returned; records of other names are not CAA(qname). *end is that
 * end (lowercase, no trailing dot; qname itself when there is no alias): when it is not
 * qname and the set is empty, the resolver stopped at an alias and the caller asks for
 * *end (RFC 8659 §3 follows aliases). NULL with *err on a malformed message. */
apr_array_header_t *acp_caa_parse_answer(apr_pool_t *p, const unsigned char *msg, size_t len,
                                         const char *qname, const char **end, const char **err);

/* Does the relevant CAA RRset rrs (non-empty) let us issue? NULL when it does, else why
 * not (a sentence). wildcard: the certificate name is "*.<domain>" (issuewild, else
 * issue); identities: AcmePayCAAIdentities (may be NULL); method: the validation method
 * used ("http-01", …; RFC 8657 validationmethods); account_id: our account's id (an RFC
 * 8657 accounturi must be an http(s) URL whose path ends in "/acct/<account_id>"). */
const char *acp_caa_policy(apr_pool_t *p, const apr_array_header_t *rrs,
                           const apr_array_header_t *identities, int wildcard,
                           const char *method, const char *account_id);

/* The CAA check of one name (RFC 8659 §3): the relevant RRset is CAA(name), else CAA of
 * its closest parent that has one, where CAA(X) follows X's aliases (the resolver's
 * answer, and a further query for an alias target it did not answer for) but the climb
 * is over the parents of the name itself; none anywhere: allowed. An IP address: allowed
 * (CAA is for DNS names). NULL when allowed, else a problem of kind ACP_ERR_CAA
 * (also when a lookup fails: SERVFAIL, timeout). domain: without "*.". Blocking. */
acp_problem_t *acp_va_caa_check(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *domain,
                                int wildcard, const char *method, const char *account_id);

/* Process-wide initialisation (curl_global_init, ares_library_init); call once. */
void acp_va_global_init(void);

/* Drops the calling thread's DNS channel (acp_va_dns.c keeps one per thread; a thread that
 * ends drops its own). For a thread that validated and lives on without validating. */
void acp_va_dns_thread_done(void);

/* How many DNS channels this process has built (each reads the system's resolver files). */
unsigned long acp_va_dns_channels_made(void);

#endif
