/* acmebench -- ACME (RFC 8555) load generator for `make bench`.
 *
 * N worker threads, each running complete issuance flows back to back on its own libcurl
 * easy handle (one keep-alive TLS connection per flow, as a real client would):
 *   directory, newNonce, newAccount (fresh ES256 key), newOrder for <prefix><flow>-<i>.bench.test,
 *   authz, http-01 answered by our own HTTP server (in-memory token -> key authorization),
 *   POST challenge, poll authz, finalize with a P-256 CSR, poll order, download the certificate.
 * While the flows run, a sampler thread reads /proc every 100 ms for the server's process
 * trees (--pid: Apache parent + children, or pebble; a comma-separated list adds more roots:
 * a second node, the PostgreSQL postmaster, the load balancer) and keeps the peak RSS; CPU is
 * summed utime+stime(+cutime+cstime, so exited children count) over the trees before and after.
 *
 * Output: one line "RESULT key=value ..." (run.sh parses it) and a human summary on stderr.
 *
 *   acmebench --dir URL --cacert FILE [--flows N] [--conc C] [--requests R] [--pid PID[,PID…]]
 *             [--http01 PORT] [--prefix STR] [--label NAME] [--timeout SEC]
 *   --requests R: stop starting flows once R HTTP requests were made (soak); else --flows.
 * Every loop is bounded: polls by --timeout (default 30 s per flow), the run by
 * flows/requests and --deadline (default 240 s: no new flow starts after it). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- options and shared state ------------------------------------------------------ */

static const char *opt_dir, *opt_cacert, *opt_prefix = "", *opt_label = "server";
static int opt_flows = 100, opt_conc = 8, opt_requests = 0, opt_port = 5002, opt_timeout = 30;
static int opt_pid = 0, opt_deadline = 240;
#define MAX_ROOTS 8
static int opt_roots[MAX_ROOTS], opt_nroots; /* --pid: the roots of the trees summed */

static volatile int g_stop;
static int g_next_flow;          /* next flow index to start */
static long g_requests;          /* HTTP requests made (ACME side) */
static int g_ok, g_fail;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_new_nonce[512], g_new_account[512], g_new_order[512];

static double *lat_flow, *lat_final, *lat_issue, *lat_order;
static int n_lat;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "acmebench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* ---- base64url ------------------------------------------------------------------- */

static char *b64url(const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len * 4 / 3 + 4), *o = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
    }
    else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

/* ---- http-01 responder ---------------------------------------------------------------- */

#define TOK_SLOTS 8192
static struct {
    char token[128];
    char keyauth[256];
} g_tok[TOK_SLOTS];
static pthread_mutex_t g_tok_mu = PTHREAD_MUTEX_INITIALIZER;
static long g_http01_served;

static unsigned tok_hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) {
        h = (h ^ (unsigned char)*s++) * 16777619u;
    }
    return h;
}

static void tok_put(const char *token, const char *keyauth)
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

/* deletion with open addressing: mark the slot as a tombstone ("-") so probes continue */
static void tok_del(const char *token)
{
    unsigned h = tok_hash(token), i;
    pthread_mutex_lock(&g_tok_mu);
    for (i = 0; i < TOK_SLOTS; i++) {
        unsigned s = (h + i) % TOK_SLOTS;
        if (!g_tok[s].token[0]) {
            break;
        }
        if (!strcmp(g_tok[s].token, token)) {
            strcpy(g_tok[s].token, "-");
            g_tok[s].keyauth[0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&g_tok_mu);
}

static int tok_get(const char *token, char *out, size_t outlen)
{
    unsigned h = tok_hash(token), i;
    int found = 0;
    pthread_mutex_lock(&g_tok_mu);
    for (i = 0; i < TOK_SLOTS; i++) {
        unsigned s = (h + i) % TOK_SLOTS;
        if (!g_tok[s].token[0]) {
            break;
        }
        if (!strcmp(g_tok[s].token, token)) {
            snprintf(out, outlen, "%s", g_tok[s].keyauth);
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&g_tok_mu);
    return found;
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
        if (!strncmp(tok, prefix, strlen(prefix)) && tok_get(tok + strlen(prefix), ka, sizeof(ka))) {
            len = (int)strlen(ka);
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
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

static void http01_start(int port, int nthreads)
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
    if (bind(g_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(g_listen_fd, 512) != 0) {
        die("cannot listen on 127.0.0.1:%d for http-01: %s", port, strerror(errno));
    }
    for (i = 0; i < nthreads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, http01_thread, NULL);
        pthread_detach(t);
    }
}

/* ---- server process tree: CPU and RSS ------------------------------------------------- */

typedef struct {
    double cpu_s;  /* utime+stime+cutime+cstime over the tree */
    double root_cpu_s[MAX_ROOTS]; /* the same per --pid root's tree */
    long rss_kb;   /* sum of RSS over the tree */
    int nproc;
    /* context switches of every thread in the trees: voluntary (a thread that waits for a
     * peer or the disk: a round trip to the database is one on each side) and not (taken
     * off the CPU for another); threads that ended in between are not counted */
    unsigned long long sleeps, preempts;
    unsigned long long root_sleeps[MAX_ROOTS];
} tree_t;

static int read_stat(int pid, int *ppid, unsigned long long *ticks, long *rss_pages)
{
    char path[64], buf[2048], *p;
    FILE *f;
    size_t n;
    unsigned long long ut, st;
    long long cut, cst;
    long rss;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p) {
        return -1;
    }
    /* fields after comm: 3 state, 4 ppid, ... 14 utime 15 stime 16 cutime 17 cstime ... 24 rss */
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld %*d %*d %*d %*d "
                      "%*u %*u %ld",
               ppid, &ut, &st, &cut, &cst, &rss) != 6) {
        return -1;
    }
    *ticks = ut + st + (unsigned long long)cut + (unsigned long long)cst;
    *rss_pages = rss;
    return 0;
}

/* 1 + the index of pid in --pid's roots, 0 when it is none of them */
static int is_root(int pid)
{
    int i;
    for (i = 0; i < opt_nroots; i++) {
        if (opt_roots[i] == pid) {
            return i + 1;
        }
    }
    return 0;
}

/* the voluntary context switches of every thread of pid; the others added to *preempts */
static unsigned long long sleeps_of(int pid, unsigned long long *preempts)
{
    char path[64], line[256];
    unsigned long long sum = 0, v;
    DIR *d;
    struct dirent *e;
    int tasks = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    if (!(d = opendir(path))) {
        return 0;
    }
    while ((e = readdir(d)) && tasks++ < 4096) {
        FILE *f;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", pid, e->d_name);
        if (!(f = fopen(path, "r"))) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1) {
                sum += v;
            }
            else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
                *preempts += v;
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* the trees' CPU, RSS and process count; with_sleeps: their threads' voluntary context
 * switches too (only before and after the flows: it reads every thread's status) */
static void tree_sample(int root, tree_t *t, int with_sleeps)
{
    static int pids[65536], ppids[65536];
    static unsigned long long ticks[65536];
    static long rss[65536];
    static unsigned char in[65536]; /* 1 + the root's index, 0: outside every tree */
    int n = 0, i, changed = 1, rounds = 0;
    DIR *d;
    struct dirent *e;
    long tck = sysconf(_SC_CLK_TCK), pg = sysconf(_SC_PAGESIZE) / 1024;

    memset(t, 0, sizeof(*t));
    if (root <= 0 || !(d = opendir("/proc"))) {
        return;
    }
    while ((e = readdir(d)) && n < 65536) {
        int pid = atoi(e->d_name);
        if (pid > 0 && read_stat(pid, &ppids[n], &ticks[n], &rss[n]) == 0) {
            pids[n] = pid;
            in[n] = (unsigned char)is_root(pid);
            n++;
        }
    }
    closedir(d);
    while (changed && rounds++ < 16) { /* tree depth is small; bounded */
        changed = 0;
        for (i = 0; i < n; i++) {
            int j;
            if (in[i]) {
                continue;
            }
            for (j = 0; j < n; j++) {
                if (in[j] && pids[j] == ppids[i]) {
                    in[i] = in[j];
                    changed = 1;
                    break;
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (in[i]) {
            t->cpu_s += (double)ticks[i] / (double)tck;
            t->root_cpu_s[in[i] - 1] += (double)ticks[i] / (double)tck;
            t->rss_kb += rss[i] * pg;
            t->nproc++;
            if (with_sleeps) {
                unsigned long long v = sleeps_of(pids[i], &t->preempts);
                t->sleeps += v;
                t->root_sleeps[in[i] - 1] += v;
            }
        }
    }
}

static long g_peak_rss_kb;
static int g_peak_nproc;

static void *sampler_thread(void *arg)
{
    (void)arg;
    while (!g_stop) {
        tree_t t;
        tree_sample(opt_pid, &t, 0);
        if (t.rss_kb > g_peak_rss_kb) {
            g_peak_rss_kb = t.rss_kb;
        }
        if (t.nproc > g_peak_nproc) {
            g_peak_nproc = t.nproc;
        }
        usleep(100000);
    }
    return NULL;
}

/* ---- HTTP client ------------------------------------------------------------------------ */

typedef struct {
    CURL *c;
    char *body;
    size_t len, cap;
    char nonce[256];
    char location[512];
    long status;
    int reqs;
} http_t;

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

static int http_do(http_t *h, const char *method, const char *url, const char *body)
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

static void http_init(http_t *h)
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

static void http_free(http_t *h)
{
    curl_easy_cleanup(h->c);
    free(h->body);
}

/* ---- JWS (ES256) -------------------------------------------------------------------------- */

typedef struct {
    EVP_PKEY *key;
    char jwk[256];   /* {"crv":"P-256","kty":"EC","x":"..","y":".."} */
    char thumb[64];
    char kid[512];
} acct_t;

static EVP_PKEY *gen_p256(void)
{
    return EVP_EC_gen("P-256");
}

static void acct_init(acct_t *a)
{
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32], dig[32];
    char *xs, *ys, *t;

    memset(a, 0, sizeof(*a));
    a->key = gen_p256();
    if (!a->key || !EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
        die("EC key generation failed");
    }
    BN_bn2binpad(x, xb, 32);
    BN_bn2binpad(y, yb, 32);
    xs = b64url(xb, 32);
    ys = b64url(yb, 32);
    snprintf(a->jwk, sizeof(a->jwk), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs,
             ys);
    SHA256((const unsigned char *)a->jwk, strlen(a->jwk), dig);
    t = b64url(dig, 32);
    snprintf(a->thumb, sizeof(a->thumb), "%s", t);
    free(t);
    free(xs);
    free(ys);
    BN_free(x);
    BN_free(y);
}

/* the flattened JWS JSON; payload NULL = POST-as-GET (empty payload) */
static char *jws(acct_t *a, const char *url, const char *nonce, const char *payload)
{
    char *prot, *p64, *pl64, *signing, *sig64, *out;
    unsigned char der[80], raw[64];
    size_t derlen = sizeof(der), n;
    const unsigned char *dp = der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *es;
    const BIGNUM *r, *s;

    if (a->kid[0]) {
        n = (size_t)asprintf(&prot, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
                             a->kid, nonce, url);
    }
    else {
        n = (size_t)asprintf(&prot, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
                             a->jwk, nonce, url);
    }
    (void)n;
    p64 = b64url_str(prot);
    pl64 = payload ? b64url_str(payload) : strdup("");
    if (asprintf(&signing, "%s.%s", p64, pl64) < 0) {
        die("oom");
    }
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)signing, strlen(signing)) != 1) {
        die("ES256 signing failed");
    }
    EVP_MD_CTX_free(md);
    es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(s, raw + 32, 32);
    ECDSA_SIG_free(es);
    sig64 = b64url(raw, 64);
    if (asprintf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, pl64,
                 sig64) < 0) {
        die("oom");
    }
    free(prot);
    free(p64);
    free(pl64);
    free(signing);
    free(sig64);
    return out;
}

static char *make_csr_b64(const char *name)
{
    EVP_PKEY *k = gen_p256();
    X509_REQ *req = X509_REQ_new();
    X509_NAME *nm = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san;
    char sanv[300];
    unsigned char *der = NULL;
    int len;
    char *out;

    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_REQ_set_subject_name(req, nm);
    X509_REQ_set_pubkey(req, k);
    snprintf(sanv, sizeof(sanv), "DNS:%s", name);
    san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sanv);
    sk_X509_EXTENSION_push(exts, san);
    X509_REQ_add_extensions(req, exts);
    if (!X509_REQ_sign(req, k, EVP_sha256())) {
        die("CSR signing failed");
    }
    len = i2d_X509_REQ(req, &der);
    out = b64url(der, (size_t)len);
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(nm);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    return out;
}

/* ---- one flow -------------------------------------------------------------------------- */

typedef struct {
    double flow, finalize, issue, neworder;
} flow_lat_t;

static json_object *body_json(http_t *h)
{
    return h->body ? json_tokener_parse(h->body) : NULL;
}

static const char *jget(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* POST with a fresh nonce, retrying badNonce (bounded) */
static int post(http_t *h, acct_t *a, const char *url, const char *payload)
{
    int attempt;
    for (attempt = 0; attempt < 4; attempt++) {
        char nonce[256];
        char *b;
        int rc;
        if (!h->nonce[0]) {
            if (http_do(h, "HEAD", g_new_nonce, NULL) != 0 || !h->nonce[0]) {
                return -1;
            }
        }
        snprintf(nonce, sizeof(nonce), "%s", h->nonce);
        h->nonce[0] = '\0';
        b = jws(a, url, nonce, payload);
        rc = http_do(h, "POST", url, b);
        free(b);
        if (rc != 0) {
            return -1;
        }
        if (h->status == 400 && h->body && strstr(h->body, "badNonce")) {
            continue;
        }
        return 0;
    }
    return -1;
}

#define FAILF(...)                                                                            \
    do {                                                                                      \
        fprintf(stderr, "acmebench: flow %d: ", idx);                                          \
        fprintf(stderr, __VA_ARGS__);                                                         \
        fprintf(stderr, " (HTTP %ld) %.300s\n", h.status, h.body ? h.body : "");              \
        goto out;                                                                             \
    } while (0)

static int wait_status(http_t *h, acct_t *a, const char *url, const char *want, double deadline,
                       json_object **res)
{
    int sleep_ms = 10, i;
    for (i = 0; i < 2000 && now_s() < deadline; i++) {
        json_object *o;
        const char *st;
        if (post(h, a, url, NULL) != 0 || h->status != 200) {
            return -1;
        }
        o = body_json(h);
        st = jget(o, "status");
        if (st && !strcmp(st, want)) {
            *res = o;
            return 0;
        }
        if (!st || !strcmp(st, "invalid")) {
            json_object_put(o);
            return -1;
        }
        json_object_put(o);
        usleep((useconds_t)sleep_ms * 1000);
        if (sleep_ms < 200) {
            sleep_ms *= 2;
        }
    }
    return -1;
}

static int run_flow(int idx, flow_lat_t *lat)
{
    http_t h;
    acct_t a;
    char name[256], url[512], authz_url[512], chall_url[512], finalize_url[512], order_url[512],
        token[128], keyauth[256], payload[600];
    json_object *o = NULL, *v;
    double t0 = now_s(), t, deadline = t0 + opt_timeout;
    int ok = 0;
    size_t i;
    char *csr = NULL;

    token[0] = '\0';
    http_init(&h);
    acct_init(&a);
    snprintf(name, sizeof(name), "%sf%d-%d.bench.test", opt_prefix, idx, (int)getpid());

    if (http_do(&h, "GET", opt_dir, NULL) != 0 || h.status != 200) {
        FAILF("directory");
    }
    if (http_do(&h, "HEAD", g_new_nonce, NULL) != 0 || !h.nonce[0]) {
        FAILF("newNonce");
    }
    if (post(&h, &a, g_new_account, "{\"termsOfServiceAgreed\":true}") != 0 ||
        (h.status != 201 && h.status != 200) || !h.location[0]) {
        FAILF("newAccount");
    }
    snprintf(a.kid, sizeof(a.kid), "%s", h.location);

    snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}",
             name);
    t = now_s();
    if (post(&h, &a, g_new_order, payload) != 0 || h.status != 201 || !h.location[0]) {
        FAILF("newOrder");
    }
    lat->neworder = now_s() - t;
    snprintf(order_url, sizeof(order_url), "%s", h.location);
    o = body_json(&h);
    if (!o || !json_object_object_get_ex(o, "authorizations", &v) ||
        json_object_array_length(v) != 1 || !jget(o, "finalize")) {
        FAILF("newOrder body");
    }
    snprintf(authz_url, sizeof(authz_url), "%s", json_object_get_string(json_object_array_get_idx(v, 0)));
    snprintf(finalize_url, sizeof(finalize_url), "%s", jget(o, "finalize"));
    json_object_put(o);
    o = NULL;

    if (post(&h, &a, authz_url, NULL) != 0 || h.status != 200) {
        FAILF("authz");
    }
    o = body_json(&h);
    chall_url[0] = '\0';
    if (o && json_object_object_get_ex(o, "challenges", &v)) {
        for (i = 0; i < json_object_array_length(v); i++) {
            json_object *c = json_object_array_get_idx(v, i);
            const char *ty = jget(c, "type");
            if (ty && !strcmp(ty, "http-01") && jget(c, "url") && jget(c, "token")) {
                snprintf(chall_url, sizeof(chall_url), "%s", jget(c, "url"));
                snprintf(token, sizeof(token), "%s", jget(c, "token"));
            }
        }
    }
    json_object_put(o);
    o = NULL;
    if (!chall_url[0]) {
        FAILF("no http-01 challenge");
    }
    snprintf(keyauth, sizeof(keyauth), "%s.%s", token, a.thumb);
    tok_put(token, keyauth);
    if (post(&h, &a, chall_url, "{}") != 0 || h.status != 200) {
        FAILF("challenge");
    }
    if (wait_status(&h, &a, authz_url, "valid", deadline, &o) != 0) {
        FAILF("authz did not become valid");
    }
    json_object_put(o);
    o = NULL;

    csr = make_csr_b64(name);
    snprintf(url, sizeof(url), "{\"csr\":\"%s\"}", csr);
    t = now_s();
    if (post(&h, &a, finalize_url, url) != 0 || h.status != 200) {
        FAILF("finalize");
    }
    lat->finalize = now_s() - t;
    o = body_json(&h);
    if (!jget(o, "status") || strcmp(jget(o, "status"), "valid") != 0) {
        json_object_put(o);
        o = NULL;
        if (wait_status(&h, &a, order_url, "valid", deadline, &o) != 0) {
            FAILF("order did not become valid");
        }
    }
    lat->issue = now_s() - t;
    if (!jget(o, "certificate")) {
        FAILF("no certificate URL");
    }
    snprintf(url, sizeof(url), "%s", jget(o, "certificate"));
    json_object_put(o);
    o = NULL;
    if (post(&h, &a, url, NULL) != 0 || h.status != 200 || !h.body ||
        strncmp(h.body, "-----BEGIN CERTIFICATE-----", 27) != 0) {
        FAILF("certificate download");
    }
    lat->flow = now_s() - t0;
    ok = 1;
out:
    if (o) {
        json_object_put(o);
    }
    if (token[0]) {
        tok_del(token);
    }
    free(csr);
    EVP_PKEY_free(a.key);
    http_free(&h);
    return ok;
}

static double g_deadline;

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        int idx;
        flow_lat_t lat;
        pthread_mutex_lock(&g_mu);
        if (g_stop || now_s() > g_deadline ||
            (opt_requests > 0 ? g_requests >= opt_requests : g_next_flow >= opt_flows)) {
            pthread_mutex_unlock(&g_mu);
            break;
        }
        idx = g_next_flow++;
        pthread_mutex_unlock(&g_mu);
        memset(&lat, 0, sizeof(lat));
        if (run_flow(idx, &lat)) {
            pthread_mutex_lock(&g_mu);
            g_ok++;
            if (n_lat < opt_flows) {
                lat_flow[n_lat] = lat.flow;
                lat_final[n_lat] = lat.finalize;
                lat_issue[n_lat] = lat.issue;
                lat_order[n_lat] = lat.neworder;
                n_lat++;
            }
            pthread_mutex_unlock(&g_mu);
        }
        else {
            pthread_mutex_lock(&g_mu);
            g_fail++;
            pthread_mutex_unlock(&g_mu);
        }
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    int i;
    if (n == 0) {
        return 0;
    }
    i = (int)(q * (n - 1) + 0.5);
    return v[i] * 1000.0;
}

static void fetch_directory(void)
{
    http_t h;
    json_object *o;
    int i;

    http_init(&h);
    for (i = 0; i < 50; i++) {
        if (http_do(&h, "GET", opt_dir, NULL) == 0 && h.status == 200) {
            break;
        }
        usleep(200000);
    }
    o = body_json(&h);
    if (!jget(o, "newNonce") || !jget(o, "newAccount") || !jget(o, "newOrder")) {
        die("directory %s unusable: %.200s", opt_dir, h.body ? h.body : "");
    }
    snprintf(g_new_nonce, sizeof(g_new_nonce), "%s", jget(o, "newNonce"));
    snprintf(g_new_account, sizeof(g_new_account), "%s", jget(o, "newAccount"));
    snprintf(g_new_order, sizeof(g_new_order), "%s", jget(o, "newOrder"));
    json_object_put(o);
    http_free(&h);
}

int main(int argc, char **argv)
{
    int i;
    pthread_t *th, samp;
    tree_t before, after;
    struct rusage ru0, ru1;
    double t0, wall, gen_cpu, srv_cpu;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            die("option %s needs a value", a);
        }
        if (!strcmp(a, "--dir")) opt_dir = v;
        else if (!strcmp(a, "--cacert")) opt_cacert = v;
        else if (!strcmp(a, "--flows")) opt_flows = atoi(v);
        else if (!strcmp(a, "--conc")) opt_conc = atoi(v);
        else if (!strcmp(a, "--requests")) opt_requests = atoi(v);
        else if (!strcmp(a, "--pid")) {
            const char *q = v;
            opt_nroots = 0;
            while (q && *q && opt_nroots < MAX_ROOTS) {
                opt_roots[opt_nroots++] = atoi(q);
                q = strchr(q, ',');
                q = q ? q + 1 : NULL;
            }
            opt_pid = opt_nroots ? opt_roots[0] : 0;
        }
        else if (!strcmp(a, "--http01")) opt_port = atoi(v);
        else if (!strcmp(a, "--prefix")) opt_prefix = v;
        else if (!strcmp(a, "--label")) opt_label = v;
        else if (!strcmp(a, "--timeout")) opt_timeout = atoi(v);
        else if (!strcmp(a, "--deadline")) opt_deadline = atoi(v);
        else die("unknown option %s", a);
        i++;
    }
    if (!opt_dir || !opt_cacert || opt_conc < 1 || opt_conc > 1024 || opt_flows < 1) {
        die("usage: acmebench --dir URL --cacert FILE [--flows N] [--conc C] [--requests R] "
            "[--pid PID] [--http01 PORT] [--prefix STR] [--label NAME] [--timeout SEC] [--deadline SEC]");
    }
    if (opt_requests > 0) {
        opt_flows = opt_requests; /* upper bound on flows for the latency arrays */
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lat_flow = calloc((size_t)opt_flows, sizeof(double));
    lat_final = calloc((size_t)opt_flows, sizeof(double));
    lat_issue = calloc((size_t)opt_flows, sizeof(double));
    lat_order = calloc((size_t)opt_flows, sizeof(double));
    http01_start(opt_port, 4);
    fetch_directory();

    g_deadline = now_s() + opt_deadline;
    tree_sample(opt_pid, &before, 1);
    g_peak_rss_kb = before.rss_kb;
    g_requests = 0;
    pthread_create(&samp, NULL, sampler_thread, NULL);
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_s();
    th = calloc((size_t)opt_conc, sizeof(pthread_t));
    for (i = 0; i < opt_conc; i++) {
        pthread_create(&th[i], NULL, worker, NULL);
    }
    for (i = 0; i < opt_conc; i++) {
        pthread_join(th[i], NULL);
    }
    wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    tree_sample(opt_pid, &after, 1);
    g_stop = 1;
    pthread_join(samp, NULL);
    if (after.rss_kb > g_peak_rss_kb) {
        g_peak_rss_kb = after.rss_kb;
    }
    gen_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                       ru0.ru_stime.tv_sec) +
              (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                       ru0.ru_stime.tv_usec) / 1e6;
    srv_cpu = after.cpu_s - before.cpu_s;

    qsort(lat_flow, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_final, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_issue, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_order, (size_t)n_lat, sizeof(double), cmp_d);
    {
        int ok = g_ok > 0 ? g_ok : 1;
        printf("RESULT label=%s ok=%d fail=%d wall_s=%.3f certs_per_s=%.2f requests=%ld "
               "req_per_cert=%.1f fin_p50_ms=%.2f fin_p99_ms=%.2f issue_p50_ms=%.2f "
               "issue_p99_ms=%.2f flow_p50_ms=%.2f flow_p99_ms=%.2f order_p50_ms=%.2f "
               "order_p99_ms=%.2f srv_cpu_s=%.3f srv_cpu_ms_per_cert=%.3f srv_cpu_util=%.2f "
               "peak_rss_mb=%.1f srv_procs=%d gen_cpu_s=%.3f gen_cpu_ms_per_cert=%.3f "
               "gen_cpu_util=%.2f http01_served=%ld\n",
               opt_label, g_ok, g_fail, wall, g_ok / wall, g_requests,
               (double)g_requests / ok, pct(lat_final, n_lat, 0.5), pct(lat_final, n_lat, 0.99),
               pct(lat_issue, n_lat, 0.5), pct(lat_issue, n_lat, 0.99), pct(lat_flow, n_lat, 0.5),
               pct(lat_flow, n_lat, 0.99), pct(lat_order, n_lat, 0.5), pct(lat_order, n_lat, 0.99),
               srv_cpu, srv_cpu * 1000.0 / ok, srv_cpu / wall, (double)g_peak_rss_kb / 1024.0,
               g_peak_nproc, gen_cpu, gen_cpu * 1000.0 / ok, gen_cpu / wall, g_http01_served);
    }
    {
        /* each --pid root's share (node, database, balancer…), ms per certificate */
        char by[MAX_ROOTS * 16] = "";
        size_t o = 0;
        int ok = g_ok > 0 ? g_ok : 1;
        for (i = 0; i < opt_nroots && o < sizeof(by) - 16; i++) {
            o += (size_t)snprintf(by + o, sizeof(by) - o, "%s%.2f", i ? "/" : "",
                                  (after.root_cpu_s[i] - before.root_cpu_s[i]) * 1000.0 / ok);
        }
        printf("RESULT_BY_ROOT label=%s srv_cpu_ms_per_cert_by_root=%s", opt_label, by[0] ? by : "-");
        /* the same for the threads' voluntary context switches */
        o = 0;
        by[0] = '\0';
        for (i = 0; i < opt_nroots && o < sizeof(by) - 16; i++) {
            o += (size_t)snprintf(by + o, sizeof(by) - o, "%s%.1f", i ? "/" : "",
                                  (double)(after.root_sleeps[i] - before.root_sleeps[i]) / ok);
        }
        printf(" srv_sleeps_per_cert=%.1f srv_sleeps_per_cert_by_root=%s srv_preempts_per_cert=%.1f\n",
               (double)(after.sleeps - before.sleeps) / ok, by[0] ? by : "-",
               (double)(after.preempts - before.preempts) / ok);
    }
    fflush(stdout);
    curl_global_cleanup();
    return g_fail > 0 && g_ok == 0 ? 1 : 0;
}
