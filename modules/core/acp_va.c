/* Validation authority: http-01, dns-01 (RFC 8555 §8.3, §8.4) and tls-alpn-01
 * (RFC 8737) checks against the real network.
 *
 * Every name is resolved with c-ares (a private channel per lookup, driven by
 * poll() until the per-check deadline); libcurl gets the answer through
 * CURLOPT_RESOLVE and an open-socket callback refuses any other address, so it never
 * consults the system resolver. Thread-safe: the only process-wide state is the count of
 * open connections per address (a mutex guards it), every library
 * object is freed on the function's single exit path, results live in the pool.
 *
 * This file: the shared helpers, the address policy, the connections per address and the
 * entry points. http-01 is in acp_va_http.c, the DNS part (c-ares, dns-01) in acp_va_dns.c,
 * tls-alpn-01 in acp_va_tls.c; acp_va_int.h joins them. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_errno.h>
#include <apr_strings.h>

#include <ares.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "acp_va.h"
#include "acp_va_int.h"
#include "acp_util.h"
#include "acp_ident.h"

#define VA_QUOTE_MAX      64   /* bytes of a wrong answer quoted in a problem */
#define VA_DEFAULT_TIMEOUT_MS 10000

/* ---------------------------------------------------------------- helpers */

long long acp_va_int_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until the deadline, 0 when it has passed. */
int acp_va_int_remaining_ms(const acp_va_int_t *va)
{
    long long left = va->deadline - acp_va_int_mono_ms();

    if (left <= 0) {
        return 0;
    }
    return left > 3600000 ? 3600000 : (int)left;
}

const char *acp_va_int_os_error(apr_pool_t *p, int err)
{
    char buf[256];

    return apr_pstrdup(p, apr_strerror(APR_FROM_OS_ERROR(err), buf, sizeof(buf)));
}

/* At most VA_QUOTE_MAX bytes of untrusted data, printable ASCII only, for a detail. */
const char *acp_va_int_quote(apr_pool_t *p, const char *data, size_t len)
{
    size_t n = len > VA_QUOTE_MAX ? VA_QUOTE_MAX : len, i;
    char *out = apr_palloc(p, n + 4);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        out[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* A DNS name we are willing to look up and connect to: LDH labels separated by
 * single dots, no leading/trailing dot, at most 253 bytes, a last label that is not all
 * digits. */
int acp_va_int_valid_hostname(const char *s)
{
    size_t len = strlen(s), label = 0, i;

    if (len == 0 || len > 253) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-')) {
            return 0;
        }
        if (c == '-' && label == 0) {
            return 0;
        }
        if (++label > 63) {
            return 0;
        }
    }
    if (label == 0 || s[len - 1] == '-') {
        return 0;
    }
    /* a last label of digits only is an address in disguise (127.0.0.01), never a name */
    for (i = len - label; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 1;
        }
    }
    return 0;
}

static int valid_token(const char *s)
{
    size_t i;

    if (!*s) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

int acp_va_int_sha256(const char *data, unsigned char md[32])
{
    unsigned int mdlen = 0;

    return EVP_Digest(data, strlen(data), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
}

/* ---------------------------------------------------------------- address policy */

/* IANA special-purpose address registries (RFC 6890 and its updates): the validator never
 * connects to any of these unless AcmePayValidationAllow names the range (an intranet CA, a
 * test bed). Boulder refuses the same. The first matching row names the refusal, so a
 * more specific range comes before the one containing it. */
typedef struct {
    int family;
    const char *net; /* text form, parsed on use */
    int bits;
    const char *why;
} va_special_t;

static const va_special_t va_special[] = {
    {AF_INET, "0.0.0.0", 8, "RFC 1122 \"this network\""},
    {AF_INET, "10.0.0.0", 8, "RFC 1918 private-use"},
    {AF_INET, "100.64.0.0", 10, "RFC 6598 shared address space (carrier-grade NAT)"},
    {AF_INET, "127.0.0.0", 8, "RFC 1122 loopback"},
    {AF_INET, "169.254.0.0", 16, "RFC 3927 link-local, incl. cloud metadata services"},
    {AF_INET, "172.16.0.0", 12, "RFC 1918 private-use"},
    {AF_INET, "192.0.0.0", 24, "RFC 6890 IETF protocol assignments"},
    {AF_INET, "192.0.2.0", 24, "RFC 5737 documentation (TEST-NET-1)"},
    {AF_INET, "192.31.196.0", 24, "RFC 7535 AS112-v4"},
    {AF_INET, "192.52.193.0", 24, "RFC 7450 AMT"},
    {AF_INET, "192.88.99.0", 24, "RFC 7526 deprecated 6to4 relay anycast"},
    {AF_INET, "192.168.0.0", 16, "RFC 1918 private-use"},
    {AF_INET, "192.175.48.0", 24, "RFC 7534 direct delegation AS112 service"},
    {AF_INET, "198.18.0.0", 15, "RFC 2544 benchmarking"},
    {AF_INET, "198.51.100.0", 24, "RFC 5737 documentation (TEST-NET-2)"},
    {AF_INET, "203.0.113.0", 24, "RFC 5737 documentation (TEST-NET-3)"},
    {AF_INET, "224.0.0.0", 4, "RFC 5771 multicast"},
    {AF_INET, "255.255.255.255", 32, "RFC 919 limited broadcast"},
    {AF_INET, "240.0.0.0", 4, "RFC 1112 reserved"},
    {AF_INET6, "::", 128, "RFC 4291 unspecified address"},
    {AF_INET6, "::1", 128, "RFC 4291 loopback"},
    {AF_INET6, "::", 96, "RFC 4291 deprecated IPv4-compatible"},
    {AF_INET6, "64:ff9b::", 96, "RFC 6052 IPv4/IPv6 translation (NAT64)"},
    {AF_INET6, "64:ff9b:1::", 48, "RFC 8215 local-use IPv4/IPv6 translation"},
    {AF_INET6, "100::", 64, "RFC 6666 discard-only"},
    {AF_INET6, "100:0:0:1::", 64, "RFC 9780 dummy prefix"},
    {AF_INET6, "2001::", 32, "RFC 4380 Teredo"},
    {AF_INET6, "2001:2::", 48, "RFC 5180 benchmarking"},
    {AF_INET6, "2001:20::", 28, "RFC 7343 ORCHIDv2"},
    {AF_INET6, "2001::", 23, "RFC 2928 IETF protocol assignments"},
    {AF_INET6, "2001:db8::", 32, "RFC 3849 documentation"},
    {AF_INET6, "2002::", 16, "RFC 3056 6to4"},
    {AF_INET6, "2620:4f:8000::", 48, "RFC 7534 direct delegation AS112 service"},
    {AF_INET6, "3fff::", 20, "RFC 9637 documentation"},
    {AF_INET6, "5f00::", 16, "RFC 9602 segment routing SIDs"},
    {AF_INET6, "fc00::", 7, "RFC 4193 unique-local"},
    {AF_INET6, "fec0::", 10, "RFC 3879 deprecated site-local"},
    {AF_INET6, "fe80::", 10, "RFC 4291 link-local"},
    {AF_INET6, "ff00::", 8, "RFC 4291 multicast"},
    /* IANA IPv6 address space: only 2000::/3 is allocated for global unicast */
    {AF_INET6, "::", 0, "RFC 4291 space outside global unicast 2000::/3 (reserved by the IETF)"},
};

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (full && memcmp(a, net, (size_t)full) != 0) {
        return 0;
    }
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (a[full] & mask) == (net[full] & mask);
    }
    return 1;
}

const char *acp_va_cidr_parse(apr_pool_t *p, const char *s, acp_va_cidr_t *out)
{
    const char *slash = strchr(s, '/');
    char *host = slash ? apr_pstrmemdup(p, s, (apr_size_t)(slash - s)) : apr_pstrdup(p, s);
    long bits;
    char *end;
    int i, len;

    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        len = 32;
    }
    else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        len = 128;
    }
    else {
        return apr_psprintf(p, "'%s' is not an IPv4 or IPv6 address", host);
    }
    bits = len;
    if (slash) {
        bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0 || bits > len) {
            return apr_psprintf(p, "'%s': the prefix length must be 0..%d", s, len);
        }
    }
    out->bits = (int)bits;
    for (i = (int)bits; i < len; i++) {
        if (out->addr[i / 8] & (0x80 >> (i % 8))) {
            return apr_psprintf(p, "'%s' has bits set after the /%ld prefix", s, bits);
        }
    }
    return NULL;
}

static const char *addr_text(apr_pool_t *p, int family, const unsigned char *addr)
{
    char buf[INET6_ADDRSTRLEN];

    if (!inet_ntop(family, addr, buf, sizeof(buf))) {
        return "?";
    }
    return apr_pstrdup(p, buf);
}

const char *acp_va_addr_refusal(apr_pool_t *p, const apr_array_header_t *allow, int family,
                                const unsigned char *addr)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const char *shown = addr_text(p, family, addr), *inner = "";
    unsigned char net[16];
    size_t i;
    int k;

    /* RFC 4291 §2.5.5.2: an IPv4-mapped address reaches the IPv4 host: judge that one */
    if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
        family = AF_INET;
        addr += 12;
        inner = apr_pstrcat(p, " (IPv4-mapped ", addr_text(p, AF_INET, addr), ")", NULL);
    }
    for (k = 0; allow && k < allow->nelts; k++) {
        const acp_va_cidr_t *c = &APR_ARRAY_IDX(allow, k, acp_va_cidr_t);
        if (c->family == family && prefix_match(addr, c->addr, c->bits)) {
            return NULL;
        }
    }
    for (i = 0; i < sizeof(va_special) / sizeof(va_special[0]); i++) {
        const va_special_t *sp = &va_special[i];
        if (sp->family != family) {
            continue;
        }
        memset(net, 0, sizeof(net));
        inet_pton(sp->family, sp->net, net);
        if (sp->bits == 0) { /* the catch-all: everything outside 2000::/3 */
            if ((addr[0] & 0xe0) == 0x20) {
                continue;
            }
            return apr_psprintf(p, "address %s%s is outside 2000::/3 (%s)", shown, inner, sp->why);
        }
        if (prefix_match(addr, net, sp->bits)) {
            return apr_psprintf(p, "address %s%s is in %s/%d (%s)", shown, inner, sp->net,
                                sp->bits, sp->why);
        }
    }
    return NULL;
}

/* The refusal as a problem: the address was resolved, nothing was sent to it, so nothing
 * from the target can be quoted. */
acp_problem_t *acp_va_int_refuse(const acp_va_int_t *va, const acp_va_int_addr_t *a,
                                 const char *host, int port)
{
    const char *why = acp_va_addr_refusal(va->p, va->cfg->allow, a->family,
                                          a->family == AF_INET ? (const unsigned char *)&a->v4
                                                               : (const unsigned char *)&a->v6);

    if (!why) {
        return NULL;
    }
    return acp_problem(va->p, ACP_ERR_CONNECTION,
                       "Connection problem: refused to connect to %s port %d for %s: %s; the "
                       "validator does not connect to IANA special-purpose addresses",
                       a->str, port, host, why);
}

/* ---------------------------------------------------------------- connections per address */

/* The validator must never be a traffic cannon: at most cfg->max_host_conns connections to
 * one address at once in this process (every thread of a child shares the table; children
 * and nodes each have their own, see the README's "Security bounds"). A check over the
 * limit waits for a slot until its deadline. The one piece of process-wide state here. */
#define VA_CONN_SLOTS 256
typedef struct {
    int family, n;
    unsigned char a[16];
} va_conn_t;

static pthread_mutex_t va_conn_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t va_conn_cv = PTHREAD_COND_INITIALIZER;
static va_conn_t va_conns[VA_CONN_SLOTS];

static const unsigned char *addr_bytes(const acp_va_int_addr_t *a)
{
    return a->family == AF_INET ? (const unsigned char *)&a->v4 : (const unsigned char *)&a->v6;
}

acp_problem_t *acp_va_int_conn_acquire(const acp_va_int_t *va, const acp_va_int_addr_t *a,
                                       const char *host, int *slot)
{
    int max = va->cfg->max_host_conns > 0 ? va->cfg->max_host_conns : ACP_VA_DEFAULT_HOST_CONNS;
    size_t alen = a->family == AF_INET ? 4 : 16;
    struct timespec until;
    int i, mine, free_slot;

    *slot = -1;
    clock_gettime(CLOCK_REALTIME, &until);
    {
        long long ns = (long long)until.tv_nsec + (long long)acp_va_int_remaining_ms(va) * 1000000LL;
        until.tv_sec += (time_t)(ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
    }
    pthread_mutex_lock(&va_conn_mu);
    for (;;) {
        mine = -1;
        free_slot = -1;
        for (i = 0; i < VA_CONN_SLOTS; i++) {
            if (va_conns[i].n > 0 && va_conns[i].family == a->family
                && memcmp(va_conns[i].a, addr_bytes(a), alen) == 0) {
                mine = i;
                break;
            }
            if (va_conns[i].n == 0 && free_slot < 0) {
                free_slot = i;
            }
        }
        if (mine < 0 && free_slot < 0) {
            break; /* more addresses in use than slots (more threads than slots): untracked */
        }
        if (mine < 0) {
            va_conns[free_slot].family = a->family;
            memcpy(va_conns[free_slot].a, addr_bytes(a), alen);
            va_conns[free_slot].n = 1;
            *slot = free_slot;
            break;
        }
        if (va_conns[mine].n < max) {
            va_conns[mine].n++;
            *slot = mine;
            break;
        }
        if (acp_va_int_remaining_ms(va) <= 0
            || pthread_cond_timedwait(&va_conn_cv, &va_conn_mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&va_conn_mu);
            return acp_problem(va->p, ACP_ERR_CONNECTION,
                               "Connection problem: %s (for %s) already has %d validation "
                               "connections open from this server; no further one was opened "
                               "before the check's deadline", a->str, host, max);
        }
    }
    pthread_mutex_unlock(&va_conn_mu);
    return NULL;
}

void acp_va_int_conn_release(int slot)
{
    if (slot < 0 || slot >= VA_CONN_SLOTS) {
        return;
    }
    pthread_mutex_lock(&va_conn_mu);
    va_conns[slot].n--;
    pthread_cond_broadcast(&va_conn_cv);
    pthread_mutex_unlock(&va_conn_mu);
}

/* ---------------------------------------------------------------- entry points */

/* One check's state: its pool, configuration and deadline; no ports (an entry point that
 * connects sets them). */
static void va_init(acp_va_int_t *va, apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    va->p = p;
    va->cfg = cfg;
    va->budget_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : VA_DEFAULT_TIMEOUT_MS;
    va->deadline = acp_va_int_mono_ms() + va->budget_ms;
    va->http_port = 0;
    va->tlsalpn_port = 0;
}

acp_problem_t *acp_va_validate(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *type,
                               const char *domain, const char *token, const char *key_authz)
{
    acp_va_int_t va;

    if (!cfg || !type || !domain || !token || !key_authz) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "validation called without its arguments");
    }
    va_init(&va, p, cfg);
    va.http_port = cfg->http_port > 0 && cfg->http_port <= 65535 ? cfg->http_port : 80;
    va.tlsalpn_port = cfg->tlsalpn_port > 0 && cfg->tlsalpn_port <= 65535 ? cfg->tlsalpn_port : 443;

    {
        /* an IP identifier (RFC 8738): http-01 and tls-alpn-01 at that very address,
         * still subject to the special-purpose address refusal */
        unsigned char bytes[16];
        int family = acp_ident_ip_parse(domain, bytes);
        if (family) {
            acp_va_int_addr_t ip;
            memset(&ip, 0, sizeof(ip));
            ip.family = family;
            memcpy(family == AF_INET ? (void *)&ip.v4 : (void *)&ip.v6, bytes,
                   family == AF_INET ? 4 : 16);
            apr_cpystrn(ip.str, domain, sizeof(ip.str));
            if (strcmp(type, "http-01") == 0) {
                if (!valid_token(token)) {
                    return acp_problem(p, ACP_ERR_MALFORMED, "Invalid challenge token");
                }
                return acp_va_http01(&va, domain, &ip, token, key_authz);
            }
            if (strcmp(type, "tls-alpn-01") == 0) {
                return acp_va_tls_alpn01(&va, domain, &ip, key_authz);
            }
            return acp_problem(p, ACP_ERR_MALFORMED,
                               "Cannot validate %s with \"%s\": an IP address is validated "
                               "with http-01 or tls-alpn-01 only (RFC 8738 §7)",
                               domain, acp_va_int_quote(p, type, strlen(type)));
        }
    }
    if (!acp_va_int_valid_hostname(domain)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "Cannot validate \"%s\": not a DNS name",
                           acp_va_int_quote(p, domain, strlen(domain)));
    }
    if (strcmp(type, "http-01") == 0) {
        if (!valid_token(token)) {
            return acp_problem(p, ACP_ERR_MALFORMED, "Invalid challenge token");
        }
        return acp_va_http01(&va, domain, NULL, token, key_authz);
    }
    if (strcmp(type, "dns-01") == 0) {
        return acp_va_dns_01(&va, domain, key_authz);
    }
    if (strcmp(type, "tls-alpn-01") == 0) {
        return acp_va_tls_alpn01(&va, domain, NULL, key_authz);
    }
    return acp_problem(p, ACP_ERR_MALFORMED, "Unsupported challenge type \"%s\"",
                       acp_va_int_quote(p, type, strlen(type)));
}

acp_problem_t *acp_va_caa_check(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *domain,
                                int wildcard, const char *method, const char *account_id)
{
    acp_va_int_t va;

    if (!cfg || !domain) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "CAA check called without its arguments");
    }
    va_init(&va, p, cfg);
    if (acp_ident_ip_parse(domain, NULL)) {
        return NULL; /* CAA is a property of DNS names; an IP address has none (RFC 8738) */
    }
    if (!acp_va_int_valid_hostname(domain)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "Cannot check CAA for \"%s\": not a DNS name",
                           acp_va_int_quote(p, domain, strlen(domain)));
    }
    return acp_va_caa_int(&va, domain, wildcard, method, account_id);
}

void acp_va_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ares_library_init(ARES_LIB_INIT_ALL);
}
