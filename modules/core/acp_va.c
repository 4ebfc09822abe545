/* Validation authority: http-01, dns-01 (RFC 8555 §8.3, §8.4) and tls-alpn-01
 * (RFC 8737) checks against the real network.
 *
 * Every name is resolved here with c-ares (a private channel per lookup, driven by
 * poll() until the per-check deadline); libcurl gets the answer through
 * CURLOPT_RESOLVE and an open-socket callback refuses any other address, so it never
 * consults the system resolver. Thread-safe: no global mutable state, every library
 * object is freed on the function's single exit path, results live in the pool. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_errno.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <ares.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acp_va.h"
#include "acp_util.h"

#define VA_MAX_BODY       8192 /* bytes of an http-01 response we read at most */
#define VA_MAX_REDIRECTS  10
#define VA_QUOTE_MAX      64   /* bytes of a wrong answer quoted in a problem */
#define VA_DEFAULT_TIMEOUT_MS 10000
#define VA_ALPN           "acme-tls/1"
#define VA_OID_ACME_IDENT "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier, RFC 8737 §6.1 */

/* DNS RR types (RFC 1035, RFC 3596) */
#define VA_T_A    1
#define VA_T_TXT  16
#define VA_T_AAAA 28
#define VA_C_IN   1
#define VA_EBADRESOLVER (-1000) /* our status: cfg->resolver is unusable */

typedef struct {
    apr_pool_t *p;
    const acp_va_cfg_t *cfg;
    long long deadline; /* CLOCK_MONOTONIC, milliseconds */
    int http_port;
    int tlsalpn_port;
} va_t;

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    struct in_addr v4;
    struct in6_addr v6;
    char str[INET6_ADDRSTRLEN];
} va_addr_t;

/* ---------------------------------------------------------------- helpers */

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until the deadline, 0 when it has passed. */
static int remaining_ms(const va_t *va)
{
    long long left = va->deadline - mono_ms();

    if (left <= 0) {
        return 0;
    }
    return left > 3600000 ? 3600000 : (int)left;
}

static const char *os_error(apr_pool_t *p, int err)
{
    char buf[256];

    return apr_pstrdup(p, apr_strerror(APR_FROM_OS_ERROR(err), buf, sizeof(buf)));
}

/* At most VA_QUOTE_MAX bytes of untrusted data, printable ASCII only, for a detail. */
static const char *quote(apr_pool_t *p, const char *data, size_t len)
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
 * single dots, no leading/trailing dot, at most 253 bytes. */
static int valid_hostname(const char *s)
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
    return label > 0 && s[len - 1] != '-';
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

static int sha256(const char *data, unsigned char md[32])
{
    unsigned int mdlen = 0;

    return EVP_Digest(data, strlen(data), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
}

/* ---------------------------------------------------------------- DNS (c-ares) */

typedef struct {
    apr_pool_t *p;
    int type;
    int done;
    int status;
    va_addr_t addr;              /* A / AAAA: the first address */
    apr_array_header_t *txts;    /* TXT: const char * per record (chunks joined) */
} dnsq_t;

static void dns_parse_txt(dnsq_t *q, const unsigned char *abuf, int alen)
{
    struct ares_txt_ext *txt = NULL, *t;
    char *cur = NULL;
    int rc;

    rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    if (rc != ARES_SUCCESS) {
        q->status = rc;
        return;
    }
    for (t = txt; t; t = t->next) {
        char *chunk = apr_pstrmemdup(q->p, (const char *)t->txt, t->length);
        size_t i;

        for (i = 0; i < t->length; i++) { /* an embedded NUL must not shorten the record */
            if (chunk[i] == '\0') {
                chunk[i] = '?';
            }
        }
        if (t->record_start || !cur) {
            if (cur) {
                APR_ARRAY_PUSH(q->txts, const char *) = cur;
            }
            cur = chunk;
        }
        else {
            cur = apr_pstrcat(q->p, cur, chunk, NULL);
        }
    }
    if (cur) {
        APR_ARRAY_PUSH(q->txts, const char *) = cur;
    }
    ares_free_data(txt);
    if (q->txts->nelts == 0) {
        q->status = ARES_ENODATA;
    }
}

static void dns_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    dnsq_t *q = arg;

    (void)timeouts;
    if (q->done) {
        return;
    }
    q->done = 1;
    q->status = status;
    if (status != ARES_SUCCESS || !abuf) {
        return;
    }
    if (q->type == VA_T_A) {
        struct ares_addrttl at[16];
        int n = 16, rc = ares_parse_a_reply(abuf, alen, NULL, at, &n);
        if (rc != ARES_SUCCESS || n <= 0) {
            q->status = rc != ARES_SUCCESS ? rc : ARES_ENODATA;
            return;
        }
        q->addr.family = AF_INET;
        q->addr.v4 = at[0].ipaddr;
        inet_ntop(AF_INET, &q->addr.v4, q->addr.str, sizeof(q->addr.str));
    }
    else if (q->type == VA_T_AAAA) {
        struct ares_addr6ttl at[16];
        int n = 16, rc = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
        if (rc != ARES_SUCCESS || n <= 0) {
            q->status = rc != ARES_SUCCESS ? rc : ARES_ENODATA;
            return;
        }
        q->addr.family = AF_INET6;
        memcpy(&q->addr.v6, &at[0].ip6addr, sizeof(q->addr.v6));
        inet_ntop(AF_INET6, &q->addr.v6, q->addr.str, sizeof(q->addr.str));
    }
    else {
        dns_parse_txt(q, abuf, alen);
    }
}

/* Drive the channel until the query finished or the deadline passed. */
static void dns_wait(const va_t *va, ares_channel ch, dnsq_t *q)
{
    while (!q->done) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        struct timeval maxtv, tv, *tvp;
        unsigned int ubits;
        int i, n = 0, left = remaining_ms(va), wait_ms, rc;

        if (left <= 0) {
            ares_cancel(ch); /* the callback runs with ARES_ECANCELLED */
            if (!q->done) {
                q->done = 1;
                q->status = ARES_ETIMEOUT;
            }
            else if (q->status == ARES_ECANCELLED) {
                q->status = ARES_ETIMEOUT;
            }
            break;
        }
        ubits = (unsigned int)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            /* not ARES_GETSOCK_WRITABLE: it shifts a signed 1 into the sign bit */
            if ((ubits >> i) & 1u) {
                ev |= POLLIN;
            }
            if ((ubits >> (i + ARES_GETSOCK_MAXNUM)) & 1u) {
                ev |= POLLOUT;
            }
            if (ev) {
                pfd[n].fd = socks[i];
                pfd[n].events = ev;
                pfd[n].revents = 0;
                n++;
            }
        }
        maxtv.tv_sec = left / 1000;
        maxtv.tv_usec = (left % 1000) * 1000;
        tvp = ares_timeout(ch, &maxtv, &tv);
        wait_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
        rc = poll(pfd, (nfds_t)n, wait_ms);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            ares_cancel(ch);
            if (!q->done) {
                q->done = 1;
            }
            q->status = ARES_ECONNREFUSED;
            break;
        }
        if (rc == 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts, retries */
            continue;
        }
        for (i = 0; i < n; i++) {
            short re = pfd[i].revents;
            if (re) {
                ares_process_fd(ch, (re & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD,
                                (re & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
            }
        }
    }
}

/* One query on a fresh channel. Returns the c-ares status; results in *q. */
static int dns_lookup(const va_t *va, const char *name, int type, dnsq_t *q)
{
    struct ares_options opts;
    ares_channel ch = NULL;
    int left = remaining_ms(va), rc;

    memset(q, 0, sizeof(*q));
    q->p = va->p;
    q->type = type;
    q->txts = apr_array_make(va->p, 2, sizeof(const char *));
    if (left <= 0) {
        q->status = ARES_ETIMEOUT;
        return q->status;
    }
    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: report SERVFAIL/REFUSED as such instead of "could not contact" */
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    opts.timeout = left / 3 < 200 ? 200 : (left / 3 > 3000 ? 3000 : left / 3);
    opts.tries = 3;
    rc = ares_init_options(&ch, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        q->status = rc;
        return rc; /* ares_init_options leaves no channel on failure */
    }
    if (va->cfg->resolver && *va->cfg->resolver) {
        rc = ares_set_servers_ports_csv(ch, va->cfg->resolver);
        if (rc != ARES_SUCCESS) {
            q->status = VA_EBADRESOLVER;
            goto done;
        }
    }
    ares_query(ch, name, VA_C_IN, type, dns_cb, q);
    dns_wait(va, ch, q);

done:
    ares_destroy(ch); /* may call dns_cb with ARES_EDESTRUCTION; q->done keeps it idle */
    return q->status;
}

static const char *rr_name(int type)
{
    return type == VA_T_A ? "A" : type == VA_T_AAAA ? "AAAA" : "TXT";
}

static acp_problem_t *dns_problem(const va_t *va, int status, int type, const char *name)
{
    const char *t = rr_name(type);

    switch (status) {
    case ARES_ENOTFOUND:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: NXDOMAIN looking up %s for %s", t, name);
    case ARES_ENODATA:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: no %s records found for %s", t, name);
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: timeout looking up %s for %s", t, name);
    case ARES_ESERVFAIL:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: SERVFAIL looking up %s for %s", t, name);
    case ARES_EREFUSED:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: REFUSED looking up %s for %s", t, name);
    case VA_EBADRESOLVER:
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "invalid DNS resolver address \"%s\"",
                           va->cfg->resolver);
    default:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: %s looking up %s for %s",
                           ares_strerror(status), t, name);
    }
}

/* First A record of host, else first AAAA record. */
static acp_problem_t *va_resolve(const va_t *va, const char *host, va_addr_t *out)
{
    dnsq_t q;
    int st = dns_lookup(va, host, VA_T_A, &q);

    if (st == ARES_SUCCESS) {
        *out = q.addr;
        return NULL;
    }
    if (st != ARES_ENODATA) {
        return dns_problem(va, st, VA_T_A, host);
    }
    st = dns_lookup(va, host, VA_T_AAAA, &q);
    if (st == ARES_SUCCESS) {
        *out = q.addr;
        return NULL;
    }
    if (st == ARES_ENODATA) {
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: no valid A or AAAA records found for %s",
                           host);
    }
    return dns_problem(va, st, VA_T_AAAA, host);
}

/* ---------------------------------------------------------------- http-01 */

typedef struct {
    char *buf; /* VA_MAX_BODY bytes */
    size_t len;
    int too_large;
} va_body_t;

typedef struct {
    const va_addr_t *addr;
    int port;
} va_target_t;

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    va_body_t *b = ud;
    size_t n = size * nmemb;

    if (n > VA_MAX_BODY - b->len) {
        b->too_large = 1;
        return 0; /* abort the transfer: CURLE_WRITE_ERROR */
    }
    memcpy(b->buf + b->len, ptr, n);
    b->len += n;
    return n;
}

/* libcurl may only connect to the address we resolved, on the URL's port. */
static curl_socket_t va_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    const va_target_t *t = clientp;

    if (purpose != CURLSOCKTYPE_IPCXN || a->family != t->addr->family) {
        return CURL_SOCKET_BAD;
    }
    if (a->family == AF_INET) {
        struct sockaddr_in sin;
        if (a->addrlen < sizeof(sin)) {
            return CURL_SOCKET_BAD;
        }
        memcpy(&sin, &a->addr, sizeof(sin));
        if (sin.sin_addr.s_addr != t->addr->v4.s_addr || ntohs(sin.sin_port) != t->port) {
            return CURL_SOCKET_BAD;
        }
    }
    else {
        struct sockaddr_in6 sin6;
        if (a->addrlen < sizeof(sin6)) {
            return CURL_SOCKET_BAD;
        }
        memcpy(&sin6, &a->addr, sizeof(sin6));
        if (memcmp(&sin6.sin6_addr, &t->addr->v6, sizeof(t->addr->v6)) != 0
            || ntohs(sin6.sin6_port) != t->port) {
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static char *url_part(apr_pool_t *p, CURLU *u, CURLUPart what, unsigned int flags)
{
    char *s = NULL, *r;

    if (curl_url_get(u, what, &s, flags) != CURLUE_OK || !s) {
        return NULL;
    }
    r = apr_pstrdup(p, s);
    curl_free(s);
    return r;
}

static int is_ip_literal(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    return host[0] == '[' || inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static int is_redirect(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

static acp_problem_t *curl_problem(const va_t *va, CURLcode rc, CURL *h, const char *errbuf,
                                   const char *url, const va_addr_t *addr, int port)
{
    long oserr = 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem: could not connect to %s port %d for %s: %s",
                           addr->str, port, url, oserr ? os_error(va->p, (int)oserr) : why);
    case CURLE_OPERATION_TIMEDOUT:
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem: timeout fetching %s from %s port %d",
                           url, addr->str, port);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
        return acp_problem(va->p, ACP_ERR_TLS, "TLS problem fetching %s from %s port %d: %s", url,
                           addr->str, port, why);
    default:
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem fetching %s from %s port %d: %s",
                           url, addr->str, port, why);
    }
}

/* One request. Sets *next to the redirect target (and returns NULL) on a redirect;
 * otherwise returns NULL when the body is the key authorization, else a problem. */
static acp_problem_t *http_hop(const va_t *va, const char *url_in, int hop, const char *key_authz,
                               va_body_t *body, char **next)
{
    acp_problem_t *prob = NULL;
    CURLU *u = NULL;
    CURL *h = NULL;
    struct curl_slist *resolve = NULL, *hdrs = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE];
    char *scheme, *host, *portstr, *url, *end;
    const char *redir = NULL;
    va_addr_t addr;
    va_target_t target;
    long code = 0, port;
    CURLcode rc;

    *next = NULL;
    errbuf[0] = '\0';
    body->len = 0;
    body->too_large = 0;

    u = curl_url();
    if (!u) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "out of memory");
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, url_in, 0) != CURLUE_OK
        || !(scheme = url_part(va->p, u, CURLUPART_SCHEME, 0))
        || !(host = url_part(va->p, u, CURLUPART_HOST, 0))
        || !(portstr = url_part(va->p, u, CURLUPART_PORT, CURLU_DEFAULT_PORT))
        || !(url = url_part(va->p, u, CURLUPART_URL, 0))) {
        prob = acp_problem(va->p, hop ? ACP_ERR_UNAUTHORIZED : ACP_ERR_MALFORMED,
                           "Invalid URL \"%s\"%s", quote(va->p, url_in, strlen(url_in)),
                           hop ? " in redirect" : "");
        goto done;
    }
    port = strtol(portstr, &end, 10);
    if (*end || port <= 0 || port > 65535) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Invalid port in %s", url);
        goto done;
    }
    /* RFC 8555 §8.3 / Boulder: redirects only to http or https on the standard ports,
     * and only to a host name (never to an IP address) */
    if (strcasecmp(scheme, "http") == 0) {
        if (port != va->http_port) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Invalid redirect to %s: only port %d is allowed for http", url,
                               va->http_port);
            goto done;
        }
    }
    else if (strcasecmp(scheme, "https") == 0) {
        if (port != va->tlsalpn_port && port != 443) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Invalid redirect to %s: only port %d is allowed for https", url,
                               va->tlsalpn_port);
            goto done;
        }
    }
    else {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Invalid redirect to %s: only http and https are allowed", url);
        goto done;
    }
    if (is_ip_literal(host)) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Invalid redirect to %s: redirects to IP addresses are not allowed", url);
        goto done;
    }
    if (!valid_hostname(host)) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Invalid host name in redirect to %s", url);
        goto done;
    }

    prob = va_resolve(va, host, &addr);
    if (prob) {
        goto done;
    }
    target.addr = &addr;
    target.port = (int)port;

    tmp = curl_slist_append(resolve, addr.family == AF_INET6
                                         ? apr_psprintf(va->p, "%s:%ld:[%s]", host, port, addr.str)
                                         : apr_psprintf(va->p, "%s:%ld:%s", host, port, addr.str));
    if (tmp) {
        resolve = tmp;
        tmp = curl_slist_append(hdrs, apr_pstrcat(va->p, "Host: ", host, NULL));
    }
    if (tmp) {
        hdrs = tmp;
        h = curl_easy_init();
    }
    if (!h) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "out of memory");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_CURLU, u);
    curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, va_opensocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &target);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(remaining_ms(va) > 0 ? remaining_ms(va) : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(remaining_ms(va) > 0 ? remaining_ms(va) : 1));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_acme_pay validation (RFC 8555)");
    /* RFC 8555 §8.3: a redirect to https is followed without checking the certificate */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);

    rc = curl_easy_perform(h);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body->too_large)) {
        prob = curl_problem(va, rc, h, errbuf, url, &addr, (int)port);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (is_redirect(code)) {
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redir);
        if (!redir || !*redir) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Invalid response from %s: %ld without a Location", url, code);
        }
        else if (hop >= VA_MAX_REDIRECTS) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Too many redirects (more than %d), last from %s", VA_MAX_REDIRECTS, url);
        }
        else {
            *next = apr_pstrdup(va->p, redir);
        }
        goto done;
    }
    if (code != 200) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Invalid response from %s: %ld", url, code);
        goto done;
    }
    if (body->too_large) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Invalid response from %s: response too large (more than %d bytes)", url,
                           VA_MAX_BODY);
        goto done;
    }
    /* RFC 8555 §8.3: trailing whitespace in the body is ignored */
    while (body->len > 0 && (body->buf[body->len - 1] == ' ' || body->buf[body->len - 1] == '\t'
                             || body->buf[body->len - 1] == '\r' || body->buf[body->len - 1] == '\n')) {
        body->len--;
    }
    if (body->len != strlen(key_authz) || memcmp(body->buf, key_authz, body->len) != 0) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "The key authorization file from the server did not match this challenge: "
                           "%s (%s) returned \"%s\"", url, addr.str, quote(va->p, body->buf, body->len));
    }

done:
    if (h) {
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(resolve);
    curl_slist_free_all(hdrs);
    curl_url_cleanup(u);
    return prob;
}

static acp_problem_t *va_http01(const va_t *va, const char *domain, const char *token,
                                const char *key_authz)
{
    va_body_t body;
    char *url = apr_psprintf(va->p, "http://%s:%d/.well-known/acme-challenge/%s", domain,
                             va->http_port, token);
    int hop;

    body.buf = apr_palloc(va->p, VA_MAX_BODY);
    for (hop = 0;; hop++) {
        char *next = NULL;
        acp_problem_t *prob = http_hop(va, url, hop, key_authz, &body, &next);
        if (prob || !next) {
            return prob;
        }
        url = next;
    }
}

/* ---------------------------------------------------------------- dns-01 */

static acp_problem_t *va_dns01(const va_t *va, const char *domain, const char *key_authz)
{
    unsigned char md[32];
    const char *name = apr_pstrcat(va->p, "_acme-challenge.", domain, NULL), *expected;
    dnsq_t q;
    int st, i;

    if (!sha256(key_authz, md)) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "SHA-256 failed");
    }
    expected = acp_b64url_encode(va->p, md, sizeof(md));
    st = dns_lookup(va, name, VA_T_TXT, &q);
    if (st == ARES_ENODATA) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "No TXT record found at %s", name);
    }
    if (st != ARES_SUCCESS) {
        return dns_problem(va, st, VA_T_TXT, name);
    }
    for (i = 0; i < q.txts->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(q.txts, i, const char *), expected) == 0) {
            return NULL;
        }
    }
    {
        const char *first = APR_ARRAY_IDX(q.txts, 0, const char *);
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Incorrect TXT record \"%s\"%s found at %s",
                           quote(va->p, first, strlen(first)),
                           q.txts->nelts > 1 ? apr_psprintf(va->p, " (and %d more)", q.txts->nelts - 1) : "",
                           name);
    }
}

/* ---------------------------------------------------------------- tls-alpn-01 */

/* Wait until fd is ready for events; 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(const va_t *va, int fd, short events)
{
    for (;;) {
        struct pollfd pfd;
        int left = remaining_ms(va), rc;

        if (left <= 0) {
            return 0;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        rc = poll(&pfd, 1, left);
        if (rc > 0) {
            return 1;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static acp_problem_t *tcp_connect(const va_t *va, const va_addr_t *addr, int port, const char *domain,
                                  int *fdp)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    socklen_t salen;
    int fd, err = 0, w;
    socklen_t errlen = sizeof(err);

    *fdp = -1;
    if (addr->family == AF_INET) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)port);
        sin.sin_addr = addr->v4;
        sa = (const struct sockaddr *)&sin;
        salen = sizeof(sin);
    }
    else {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((unsigned short)port);
        sin6.sin6_addr = addr->v6;
        sa = (const struct sockaddr *)&sin6;
        salen = sizeof(sin6);
    }
    fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "socket: %s", os_error(va->p, errno));
    }
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            err = errno;
        }
        else {
            w = wait_fd(va, fd, POLLOUT);
            if (w == 0) {
                close(fd);
                return acp_problem(va->p, ACP_ERR_CONNECTION,
                                   "Connection problem: timeout connecting to %s port %d for %s",
                                   addr->str, port, domain);
            }
            if (w < 0) {
                err = errno;
            }
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) {
                err = errno;
            }
        }
    }
    if (err) {
        close(fd);
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem: could not connect to %s port %d for %s: %s",
                           addr->str, port, domain, os_error(va->p, err));
    }
    *fdp = fd;
    return NULL;
}

static const char *ssl_error(apr_pool_t *p, int fallback_errno)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        return apr_pstrdup(p, buf);
    }
    if (fallback_errno) {
        return os_error(p, fallback_errno);
    }
    return "connection closed by peer";
}

/* RFC 8737 §3: exactly one subjectAltName entry, a dNSName equal to domain. */
static acp_problem_t *check_san(const va_t *va, X509 *cert, const char *domain, const char *where)
{
    GENERAL_NAMES *gens;
    acp_problem_t *prob = NULL;
    int crit = 0;

    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (!gens) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: %s",
                           where, crit == -2 ? "more than one subjectAltName extension"
                                              : "no subjectAltName extension");
    }
    if (sk_GENERAL_NAME_num(gens) != 1) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "subjectAltName has %d entries, want exactly one dNSName %s",
                           where, sk_GENERAL_NAME_num(gens), domain);
    }
    else {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, 0);
        const unsigned char *d = NULL;
        int dlen = 0;

        if (gn->type == GEN_DNS) {
            d = ASN1_STRING_get0_data(gn->d.dNSName);
            dlen = ASN1_STRING_length(gn->d.dNSName);
        }
        if (!d || dlen < 0 || (size_t)dlen != strlen(domain)
            || strncasecmp((const char *)d, domain, (size_t)dlen) != 0) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                               "requested %s, received certificate for %s",
                               where, domain, d ? quote(va->p, (const char *)d, (size_t)dlen) : "(not a dNSName)");
        }
    }
    GENERAL_NAMES_free(gens);
    return prob;
}

/* RFC 8737 §3: one critical id-pe-acmeIdentifier extension, an OCTET STRING holding
 * SHA-256(key authorization). */
static acp_problem_t *check_acme_ident(const va_t *va, X509 *cert, const char *key_authz,
                                       const char *where)
{
    unsigned char md[32];
    X509_EXTENSION *found = NULL;
    const ASN1_OCTET_STRING *val;
    const unsigned char *v;
    int i, n = X509_get_ext_count(cert), count = 0, vlen;

    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        char oid[64];

        if (ext && OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) > 0
            && strcmp(oid, VA_OID_ACME_IDENT) == 0) {
            found = ext;
            count++;
        }
    }
    if (count != 1) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: %s",
                           where, count ? "more than one acmeIdentifier extension"
                                        : "missing acmeIdentifier extension");
    }
    if (X509_EXTENSION_get_critical(found) != 1) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "acmeIdentifier extension is not critical", where);
    }
    if (!sha256(key_authz, md)) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "SHA-256 failed");
    }
    val = X509_EXTENSION_get_data(found);
    v = ASN1_STRING_get0_data(val);
    vlen = ASN1_STRING_length(val);
    /* DER: OCTET STRING (0x04), length 32, then the digest */
    if (vlen != 34 || v[0] != 0x04 || v[1] != 0x20) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "malformed acmeIdentifier extension", where);
    }
    if (CRYPTO_memcmp(v + 2, md, sizeof(md)) != 0) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "expected acmeIdentifier %s, got %s", where,
                           acp_hex(va->p, md, sizeof(md)), acp_hex(va->p, v + 2, 32));
    }
    return NULL;
}

static acp_problem_t *va_tlsalpn01(const va_t *va, const char *domain, const char *key_authz)
{
    static const unsigned char alpn[] = "\x0a" VA_ALPN;
    acp_problem_t *prob;
    va_addr_t addr;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    X509 *cert;
    const unsigned char *proto = NULL;
    unsigned int protolen = 0;
    const char *where;
    int fd = -1, port = va->tlsalpn_port;

    prob = va_resolve(va, domain, &addr);
    if (prob) {
        return prob;
    }
    where = apr_psprintf(va->p, "%s port %d (%s)", addr.str, port, domain);
    prob = tcp_connect(va, &addr, port, domain, &fd);
    if (prob) {
        return prob;
    }

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1
        || SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "TLS setup failed: %s", ssl_error(va->p, 0));
        goto done;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* RFC 8737: the certificate is self-signed */
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, domain) != 1) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "TLS setup failed: %s", ssl_error(va->p, 0));
        goto done;
    }
    SSL_set_connect_state(ssl);
    for (;;) {
        int r, e, w;

        r = SSL_connect(ssl);
        if (r == 1) {
            break;
        }
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            w = wait_fd(va, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
            if (w > 0) {
                continue;
            }
            if (w == 0) {
                prob = acp_problem(va->p, ACP_ERR_CONNECTION,
                                   "Connection problem: timeout during the TLS handshake with %s", where);
                goto done;
            }
        }
        prob = acp_problem(va->p, ACP_ERR_TLS, "TLS handshake with %s failed: %s", where,
                           ssl_error(va->p, e == SSL_ERROR_SYSCALL ? errno : 0));
        goto done;
    }
    SSL_get0_alpn_selected(ssl, &proto, &protolen);
    if (protolen != sizeof(VA_ALPN) - 1 || memcmp(proto, VA_ALPN, protolen) != 0) {
        prob = acp_problem(va->p, ACP_ERR_TLS, "%s did not negotiate the ALPN protocol " VA_ALPN "%s%s",
                           where, protolen ? ", it chose " : "",
                           protolen ? quote(va->p, (const char *)proto, protolen) : "");
        goto done;
    }
    cert = SSL_get0_peer_certificate(ssl);
    if (!cert) {
        prob = acp_problem(va->p, ACP_ERR_TLS, "%s presented no certificate", where);
        goto done;
    }
    prob = check_san(va, cert, domain, where);
    if (!prob) {
        prob = check_acme_ident(va, cert, key_authz, where);
    }

done:
    SSL_free(ssl); /* does not close fd (SSL_set_fd uses BIO_NOCLOSE) */
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
    return prob;
}

/* ---------------------------------------------------------------- entry points */

acp_problem_t *acp_va_validate(apr_pool_t *p, const acp_va_cfg_t *cfg, const char *type,
                               const char *domain, const char *token, const char *key_authz)
{
    va_t va;

    if (!cfg || !type || !domain || !token || !key_authz) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "validation called without its arguments");
    }
    va.p = p;
    va.cfg = cfg;
    va.deadline = mono_ms() + (cfg->timeout_ms > 0 ? cfg->timeout_ms : VA_DEFAULT_TIMEOUT_MS);
    va.http_port = cfg->http_port > 0 && cfg->http_port <= 65535 ? cfg->http_port : 80;
    va.tlsalpn_port = cfg->tlsalpn_port > 0 && cfg->tlsalpn_port <= 65535 ? cfg->tlsalpn_port : 443;

    if (!valid_hostname(domain)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "Cannot validate \"%s\": not a DNS name",
                           quote(p, domain, strlen(domain)));
    }
    if (strcmp(type, "http-01") == 0) {
        if (!valid_token(token)) {
            return acp_problem(p, ACP_ERR_MALFORMED, "Invalid challenge token");
        }
        return va_http01(&va, domain, token, key_authz);
    }
    if (strcmp(type, "dns-01") == 0) {
        return va_dns01(&va, domain, key_authz);
    }
    if (strcmp(type, "tls-alpn-01") == 0) {
        return va_tlsalpn01(&va, domain, key_authz);
    }
    return acp_problem(p, ACP_ERR_MALFORMED, "Unsupported challenge type \"%s\"",
                       quote(p, type, strlen(type)));
}

void acp_va_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ares_library_init(ARES_LIB_INIT_ALL);
}
