/* Validation authority, http-01 (RFC 8555 §8.3): the fetch of the key authorization over
 * libcurl, pinned to the address we resolved (CURLOPT_RESOLVE and an open-socket callback),
 * with its redirect rules, size bound and problems. The entry points are in acp_va.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_strings.h>

#include <curl/curl.h>

#include "acp_va.h"
#include "acp_va_int.h"

#define VA_MAX_BODY       8192 /* bytes of an http-01 response we read at most */
#define VA_MAX_REDIRECTS  10

typedef struct {
    char *buf; /* VA_MAX_BODY bytes */
    size_t len;
    int too_large;
} va_body_t;

typedef struct {
    const acp_va_int_addr_t *addr;
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

static acp_problem_t *curl_problem(const acp_va_int_t *va, CURLcode rc, CURL *h, const char *errbuf,
                                   const char *url, const acp_va_int_addr_t *addr, int port)
{
    long oserr = 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem: could not connect to %s port %d for %s: %s",
                           addr->str, port, url,
                           oserr ? acp_va_int_os_error(va->p, (int)oserr) : why);
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
static acp_problem_t *http_hop(const acp_va_int_t *va, const char *url_in, int hop,
                               const acp_va_int_addr_t *ip, const char *key_authz,
                               va_body_t *body, char **next)
{
    acp_problem_t *prob = NULL;
    CURLU *u = NULL;
    CURL *h = NULL;
    struct curl_slist *resolve = NULL, *hdrs = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE];
    char *scheme, *host, *portstr, *url, *end;
    const char *redir = NULL;
    acp_va_int_addr_t addr;
    va_target_t target;
    long code = 0, port;
    CURLcode rc;
    int conn_slot = -1;

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
                           "Invalid URL \"%s\"%s", acp_va_int_quote(va->p, url_in, strlen(url_in)),
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
    if (ip && hop == 0) {
        addr = *ip; /* an IP identifier (RFC 8738): its own address, no DNS */
    }
    else if (is_ip_literal(host)) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Invalid redirect to %s: redirects to IP addresses are not allowed", url);
        goto done;
    }
    else if (!acp_va_int_valid_hostname(host)) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Invalid host name in redirect to %s", url);
        goto done;
    }
    else {
        prob = acp_va_dns_resolve(va, host, &addr);
        if (prob) {
            goto done;
        }
    }
    /* IANA special-purpose addresses (RFC 6890; Boulder refuses them too): checked on the
     * address itself, on the first request and on every redirect; curl is pinned to it by
     * CURLOPT_RESOLVE and va_opensocket, so a second DNS answer cannot swap it (rebinding) */
    prob = acp_va_int_refuse(va, &addr, host, (int)port);
    if (prob) {
        goto done;
    }
    prob = acp_va_int_conn_acquire(va, &addr, host, &conn_slot);
    if (prob) {
        goto done;
    }
    target.addr = &addr;
    target.port = (int)port;

    /* a host name is resolved by us only; an address literal needs no resolving (the
     * open-socket callback pins the address either way). The Host header is the name,
     * or the address (RFC 8738; an IPv6 one in brackets, as in the URL). */
    if (ip && hop == 0) {
        tmp = curl_slist_append(hdrs, apr_pstrcat(va->p, "Host: ", host, NULL));
    }
    else {
        tmp = curl_slist_append(resolve, addr.family == AF_INET6
                                             ? apr_psprintf(va->p, "%s:%ld:[%s]", host, port,
                                                            addr.str)
                                             : apr_psprintf(va->p, "%s:%ld:%s", host, port,
                                                            addr.str));
        if (tmp) {
            resolve = tmp;
            tmp = curl_slist_append(hdrs, apr_pstrcat(va->p, "Host: ", host, NULL));
        }
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
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(acp_va_int_remaining_ms(va) > 0 ? acp_va_int_remaining_ms(va) : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(acp_va_int_remaining_ms(va) > 0 ? acp_va_int_remaining_ms(va) : 1));
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
                           "%s (%s) returned \"%s\"", url, addr.str,
                           acp_va_int_quote(va->p, body->buf, body->len));
    }

done:
    if (h) {
        curl_easy_cleanup(h); /* closes the connection (CURLOPT_FORBID_REUSE) */
    }
    acp_va_int_conn_release(conn_slot);
    curl_slist_free_all(resolve);
    curl_slist_free_all(hdrs);
    curl_url_cleanup(u);
    return prob;
}

/* ip: the address of an IP identifier (domain is then its text), else NULL */
acp_problem_t *acp_va_http01(const acp_va_int_t *va, const char *domain,
                             const acp_va_int_addr_t *ip, const char *token,
                             const char *key_authz)
{
    va_body_t body;
    char *url = apr_psprintf(va->p, "http://%s%s%s:%d/.well-known/acme-challenge/%s",
                             ip && ip->family == AF_INET6 ? "[" : "", domain,
                             ip && ip->family == AF_INET6 ? "]" : "", va->http_port, token);
    int hop;

    body.buf = apr_palloc(va->p, VA_MAX_BODY);
    for (hop = 0;; hop++) {
        char *next = NULL;
        acp_problem_t *prob = http_hop(va, url, hop, ip, key_authz, &body, &next);
        if (prob || !next) {
            return prob;
        }
        url = next;
    }
}
