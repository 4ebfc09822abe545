/* acmebench: the http-01 responder (our own HTTP server on loopback, answering tokens from
 * an in-memory table) and the HTTP client the flows use (libcurl, one keep-alive TLS
 * connection per flow). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "acmebench.h"

/* ---- http-01 responder ---------------------------------------------------------------- */

#define TOK_SLOTS 8192
static struct {
    char token[128];
    char keyauth[256];
} g_tok[TOK_SLOTS];
static pthread_mutex_t g_tok_mu = PTHREAD_MUTEX_INITIALIZER;
long g_http01_served;

static unsigned tok_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) {
        h = (h ^ (unsigned char)*s++) * 16777619u;
    }
    return h;
}

void tok_put(const char *token, const char *keyauth)
{
    unsigned h = tok_hash(token), i;
    pthread_mutex_lock(&g_tok_mu);
    for (i = 0; i < TOK_SLOTS; i++) {
        unsigned s = (h + i) % TOK_SLOTS;
        if (!g_tok[s].token[0] || !strcmp(g_tok[s].token, token)) {
            snprintf(g_tok[s].token, sizeof(g_tok[s].token), "%s", token);
            snprintf(g_tok[s].keyauth, sizeof(g_tok[s].keyauth), "%s", keyauth);
            break;
        }
    }
    pthread_mutex_unlock(&g_tok_mu);
}

/* the slot holding token, or -1 (the caller holds g_tok_mu); a tombstone ("-") is passed
 * over, an empty slot ends the probe */
static int tok_find(const char *token)
{
    unsigned h = tok_hash(token), i;

    for (i = 0; i < TOK_SLOTS; i++) {
        unsigned s = (h + i) % TOK_SLOTS;
        if (!g_tok[s].token[0]) {
            break;
        }
        if (!strcmp(g_tok[s].token, token)) {
            return (int)s;
        }
    }
    return -1;
}

/* deletion with open addressing: mark the slot as a tombstone ("-") so probes continue */
void tok_del(const char *token)
{
    int s;

    pthread_mutex_lock(&g_tok_mu);
    if ((s = tok_find(token)) >= 0) {
        strcpy(g_tok[s].token, "-");
        g_tok[s].keyauth[0] = '\0';
    }
    pthread_mutex_unlock(&g_tok_mu);
}

static int tok_get(const char *token, char *out, size_t outlen)
{
    int s;

    pthread_mutex_lock(&g_tok_mu);
    if ((s = tok_find(token)) >= 0) {
        snprintf(out, outlen, "%s", g_tok[s].keyauth);
    }
    pthread_mutex_unlock(&g_tok_mu);
    return s >= 0;
}

static int g_listen_fd = -1;

static void serve_conn(int fd)
{
    char buf[4096], ka[256], resp[512];
    size_t got = 0;
    int round;
    struct timeval tv = {2, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (round = 0; round < 64; round++) { /* keep-alive: at most 64 requests */
        char *end, *sp1, *sp2, *tok;
        const char *prefix = "/.well-known/acme-challenge/";
        size_t hl;
        int n, len;
        while (!(end = memmem(buf, got, "\r\n\r\n", 4))) {
            ssize_t r;
            if (got >= sizeof(buf) - 1) {
                return;
            }
            r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
            if (r <= 0) {
                return;
            }
            got += (size_t)r;
        }
        hl = (size_t)(end - buf) + 4;
        buf[hl - 1] = '\0';
        sp1 = strchr(buf, ' ');
        sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2) {
            return;
        }
        *sp2 = '\0';
        tok = sp1 + 1;
        if (!strncmp(tok, prefix, strlen(prefix)) &&
            tok_get(tok + strlen(prefix), ka, sizeof(ka))) {
            len = (int)strlen(ka);
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %d\r\n\r\n%s",
                         len, ka);
            __sync_fetch_and_add(&g_http01_served, 1);
        }
        else {
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
        if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) != n) {
            return;
        }
        memmove(buf, buf + hl, got - hl);
        got -= hl;
    }
}

static void *http01_thread(void *arg)
{
    (void)arg;
    while (!g_stop) {
        int fd = accept(g_listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) {
                continue;
            }
            break;
        }
        serve_conn(fd);
        close(fd);
    }
    return NULL;
}

void http01_start(int port, int nthreads)
{
    struct sockaddr_in sa;
    int one = 1, i;
    struct timeval tv = {0, 200000};

    g_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(g_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* accept() wakes up every 200 ms so the threads notice g_stop */
    setsockopt(g_listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(g_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(g_listen_fd, 512) != 0) {
        die("cannot listen on 127.0.0.1:%d for http-01: %s", port, strerror(errno));
    }
    for (i = 0; i < nthreads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, http01_thread, NULL);
        pthread_detach(t);
    }
}

/* ---- HTTP client ------------------------------------------------------------------------ */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_t *h = ud;
    size_t n = size * nmemb;
    if (h->len + n + 1 > h->cap) {
        h->cap = (h->len + n + 1) * 2;
        h->body = realloc(h->body, h->cap);
    }
    memcpy(h->body + h->len, ptr, n);
    h->len += n;
    h->body[h->len] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name), vl;
    const char *v;
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') {
        return;
    }
    v = line + nl + 1;
    while (*v == ' ') {
        v++;
    }
    vl = n - (size_t)(v - line);
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) {
        vl--;
    }
    if (vl >= outlen) {
        vl = outlen - 1;
    }
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_t *h = ud;
    size_t n = size * nmemb;
    header_value(ptr, n, "Replay-Nonce", h->nonce, sizeof(h->nonce));
    header_value(ptr, n, "Location", h->location, sizeof(h->location));
    return n;
}

int http_do(http_t *h, const char *method, const char *url, const char *body)
{
    struct curl_slist *hdrs = NULL;
    CURLcode rc;

    h->len = 0;
    if (h->body) {
        h->body[0] = '\0';
    }
    h->location[0] = '\0';
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_NOBODY, !strcmp(method, "HEAD") ? 1L : 0L);
    if (!strcmp(method, "POST")) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    else {
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
        if (!strcmp(method, "HEAD")) {
            curl_easy_setopt(h->c, CURLOPT_NOBODY, 1L);
        }
    }
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h->c);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    h->reqs++;
    __sync_fetch_and_add(&g_requests, 1);
    if (rc != CURLE_OK) {
        fprintf(stderr, "acmebench: %s %s: %s\n", method, url, curl_easy_strerror(rc));
        h->status = 0;
        return -1;
    }
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &h->status);
    return 0;
}

void http_init(http_t *h)
{
    memset(h, 0, sizeof(*h));
    h->c = curl_easy_init();
    curl_easy_setopt(h->c, CURLOPT_CAINFO, opt_cacert);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h->c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->c, CURLOPT_TIMEOUT, (long)opt_timeout);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_USERAGENT, "acmebench/1");
    /* one TLS connection per flow, kept alive for the flow's requests; no session
     * resumption across flows (every flow is a new client) */
    curl_easy_setopt(h->c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
}

void http_free(http_t *h)
{
    curl_easy_cleanup(h->c);
    free(h->body);
}
