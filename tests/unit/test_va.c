/* Validation authority against pebble-challtestsrv (started here on loopback):
 * http-01 (incl. redirects, size limit, timeouts), dns-01, tls-alpn-01, DNS failures,
 * and the same checks from several threads at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_test.h"
#include "acp_va.h"
#include "acp_util.h"

#define CTS_BIN "pebble-challtestsrv"

static pid_t cts_pid = -1;
static int p_dns, p_http, p_tls, p_https, p_mgmt, p_dead;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Stop the challenge server: SIGTERM, then SIGKILL after a bounded wait. */
static void cts_stop(void)
{
    int i;

    if (cts_pid <= 0) {
        return;
    }
    kill(cts_pid, SIGTERM);
    for (i = 0; i < 100; i++) {
        if (waitpid(cts_pid, NULL, WNOHANG) == cts_pid) {
            cts_pid = -1;
            return;
        }
        sleep_ms(20);
    }
    kill(cts_pid, SIGKILL);
    waitpid(cts_pid, NULL, 0);
    cts_pid = -1;
}

static int port_open(int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    if (fd < 0) {
        return 0;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

/* Start pebble-challtestsrv on a pid-derived port block; retry on another block if it
 * dies (port taken). Returns 0 when all its ports accept connections. */
static int cts_start(void)
{
    int attempt, i;

    for (attempt = 0; attempt < 5; attempt++) {
        int base = 20000 + (int)(((unsigned)getpid() + (unsigned)attempt * 7919u) % 4000u) * 10;
        char a_dns[32], a_http[32], a_tls[32], a_https[32], a_mgmt[32];
        pid_t parent = getpid(), pid;

        p_dns = base;
        p_http = base + 1;
        p_tls = base + 2;
        p_https = base + 3;
        p_mgmt = base + 4;
        p_dead = base + 5; /* nothing listens here (checked) */
        if (port_open(p_dns) || port_open(p_http) || port_open(p_tls) || port_open(p_https)
            || port_open(p_mgmt) || port_open(p_dead)) {
            continue;
        }
        snprintf(a_dns, sizeof(a_dns), "127.0.0.1:%d", p_dns);
        snprintf(a_http, sizeof(a_http), "127.0.0.1:%d", p_http);
        snprintf(a_tls, sizeof(a_tls), "127.0.0.1:%d", p_tls);
        snprintf(a_https, sizeof(a_https), "127.0.0.1:%d", p_https);
        snprintf(a_mgmt, sizeof(a_mgmt), "127.0.0.1:%d", p_mgmt);
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            return -1;
        }
        if (pid == 0) {
            int devnull = open("/dev/null", O_RDWR);
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with us, even if we crash */
            if (getppid() != parent) {
                _exit(1);
            }
            if (devnull >= 0 && !getenv("VA_TEST_VERBOSE")) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            execlp(CTS_BIN, CTS_BIN, "-dns01", a_dns, "-http01", a_http, "-tlsalpn01", a_tls,
                   "-https01", a_https, "-management", a_mgmt, "-defaultIPv4", "127.0.0.1",
                   "-defaultIPv6", "", (char *)NULL);
            _exit(127);
        }
        cts_pid = pid;
        for (i = 0; i < 200; i++) { /* at most ~5 s */
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                cts_pid = -1;
                break;
            }
            if (port_open(p_mgmt) && port_open(p_http) && port_open(p_tls) && port_open(p_https)
                && port_open(p_dns)) {
                return 0;
            }
            sleep_ms(25);
        }
        cts_stop();
    }
    return -1;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* POST a JSON body (consumed) to the management API; 0 on HTTP 200. */
static int mgmt(const char *path, json_object *body)
{
    char url[128];
    long code = 0;
    CURL *h = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p_mgmt, path);
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS,
                         json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
    }
    json_object_put(body);
    if (rc != CURLE_OK || code != 200) {
        fprintf(stderr, "management %s: curl %d, HTTP %ld\n", path, (int)rc, code);
        return -1;
    }
    return 0;
}

static json_object *obj2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, k1, json_object_new_string(v1));
    if (k2) {
        json_object_object_add(o, k2, json_object_new_string(v2));
    }
    return o;
}

static int cts_http01(const char *token, const char *content)
{
    return mgmt("/add-http01", obj2("token", token, "content", content));
}

static int cts_txt(const char *host, const char *value)
{
    return mgmt("/set-txt", obj2("host", host, "value", value));
}

static int cts_tlsalpn(const char *host, const char *key_authz)
{
    return mgmt("/add-tlsalpn01", obj2("host", host, "content", key_authz));
}

static int cts_redirect(const char *path, const char *target)
{
    return mgmt("/add-redirect", obj2("path", path, "targetURL", target));
}

static int cts_a(const char *host, const char *ip)
{
    json_object *o = obj2("host", host, NULL, NULL), *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(ip));
    json_object_object_add(o, "addresses", a);
    return mgmt("/add-a", o);
}

static const char *dns01_value(apr_pool_t *p, const char *key_authz)
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(key_authz, strlen(key_authz), md, &n, EVP_sha256(), NULL);
    return acp_b64url_encode(p, md, n);
}

static int has(const acp_problem_t *prob, const char *needle)
{
    return prob && prob->detail && strstr(prob->detail, needle) != NULL;
}

static void show(const char *what, const acp_problem_t *prob)
{
    if (getenv("VA_TEST_VERBOSE")) {
        fprintf(stderr, "%-28s %s\n", what, prob ? prob->detail : "valid");
    }
}

/* A listening loopback socket on an ephemeral port. */
static int listen_any(int *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 8) != 0
        || getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* One-shot HTTP server: accepts one connection, reads the request head, answers resp. */
typedef struct {
    int lfd;
    const char *resp;
} onesrv_t;

static void *onesrv_main(void *arg)
{
    onesrv_t *s = arg;
    struct pollfd pfd = {s->lfd, POLLIN, 0};
    char buf[4096];
    size_t got = 0;
    int fd, i;

    if (poll(&pfd, 1, 5000) != 1) {
        return NULL;
    }
    fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    for (i = 0; i < 50 && got < sizeof(buf) - 1; i++) {
        struct pollfd c = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&c, 1, 100) != 1) {
            continue;
        }
        n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n")) {
            break;
        }
    }
    if (write(fd, s->resp, strlen(s->resp)) < 0) {
        perror("onesrv write");
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
    return NULL;
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    apr_pool_t *p;
    const acp_va_cfg_t *cfg;
    int n;
    acp_problem_t *http, *dns, *tls, *bad;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    int i;

    for (i = 0; i < 3; i++) {
        w->http = acp_va_validate(w->p, w->cfg, "http-01", "mt.example", "mttok", "mttok.thumb");
        w->dns = acp_va_validate(w->p, w->cfg, "dns-01", "mt.example", "mttok", "mttok.thumb");
        w->tls = acp_va_validate(w->p, w->cfg, "tls-alpn-01", "mt.example", "mttok", "mttok.thumb");
        w->bad = acp_va_validate(w->p, w->cfg, "http-01", "mt.example", "mttok", "mttok.other");
        if (w->http || w->dns || w->tls || !w->bad) {
            break;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- tests */

static void test_http01(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_problem_t *prob;
    char *big;

    CHECK(cts_http01("tokA", "tokA.thumbA") == 0);
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "tokA", "tokA.thumbA");
    show("http-01 valid", prob);
    CHECK(prob == NULL);

    /* trailing whitespace is ignored (RFC 8555 §8.3) */
    CHECK(cts_http01("tokWs", "tokWs.thumb \r\n\t\n") == 0);
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "tokWs", "tokWs.thumb");
    show("http-01 trailing ws", prob);
    CHECK(prob == NULL);

    prob = acp_va_validate(p, cfg, "http-01", "h.example", "tokA", "tokA.wrongthumb");
    show("http-01 wrong content", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "\"tokA.thumbA\""));
    CHECK(has(prob, "h.example"));

    /* challtestsrv answers an unknown token with 200 and an empty body */
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "noSuchToken", "noSuchToken.x");
    show("http-01 token missing", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);

    /* the quote of what was seen is capped at 64 bytes */
    big = apr_palloc(p, 9001);
    memset(big, 'a', 9000);
    big[9000] = '\0';
    CHECK(cts_http01("tokLong", apr_pstrndup(p, big, 200)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "tokLong", "tokLong.x");
    show("http-01 long wrong", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, apr_pstrcat(p, "\"", apr_pstrndup(p, big, 64), "...\"", NULL)));
    CHECK(!has(prob, apr_pstrndup(p, big, 65)));

    /* more than 8 KiB */
    CHECK(cts_http01("tokBig", big) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "tokBig", big);
    show("http-01 too large", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "too large"));

    /* the name resolves to 127.0.0.2, where nothing listens */
    CHECK(cts_a("conn.example.", "127.0.0.2") == 0);
    prob = acp_va_validate(p, cfg, "http-01", "conn.example", "tokA", "tokA.thumbA");
    show("http-01 connection refused", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "127.0.0.2"));
    CHECK(has(prob, apr_psprintf(p, "%d", cfg->http_port)));

    /* an invalid token never reaches the network */
    prob = acp_va_validate(p, cfg, "http-01", "h.example", "../../x", "k");
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    prob = acp_va_validate(p, cfg, "http-01", "bad_name!.example", "tokA", "tokA.thumbA");
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    prob = acp_va_validate(p, cfg, "http-02", "h.example", "tokA", "tokA.thumbA");
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
}

static void test_http01_status(apr_pool_t *p, const acp_va_cfg_t *base)
{
    acp_va_cfg_t cfg = *base;
    onesrv_t srv;
    pthread_t th;
    acp_problem_t *prob;
    int port = 0;
    long long t0;

    /* a real 404 */
    srv.lfd = listen_any(&port);
    CHECK(srv.lfd >= 0);
    if (srv.lfd < 0) {
        return;
    }
    srv.resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    cfg.http_port = port;
    CHECK(pthread_create(&th, NULL, onesrv_main, &srv) == 0);
    prob = acp_va_validate(p, &cfg, "http-01", "s.example", "tok404", "tok404.x");
    pthread_join(th, NULL);
    close(srv.lfd);
    show("http-01 404", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, apr_psprintf(p, "Invalid response from http://s.example:%d/.well-known/acme-challenge/tok404: 404", port)));

    /* a listener that never answers: the overall timeout */
    srv.lfd = listen_any(&port);
    CHECK(srv.lfd >= 0);
    if (srv.lfd < 0) {
        return;
    }
    cfg.http_port = port;
    cfg.tlsalpn_port = port;
    cfg.timeout_ms = 800;
    t0 = now_ms();
    prob = acp_va_validate(p, &cfg, "http-01", "s.example", "tokHang", "tokHang.x");
    show("http-01 hang", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "timeout"));
    CHECK(now_ms() - t0 < 3000);
    t0 = now_ms();
    prob = acp_va_validate(p, &cfg, "tls-alpn-01", "s.example", "tokHang", "tokHang.x");
    show("tls-alpn-01 hang", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "timeout"));
    CHECK(now_ms() - t0 < 3000);
    close(srv.lfd);
}

static void test_redirects(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    const char *wk = "/.well-known/acme-challenge/";
    acp_va_cfg_t https_cfg = *cfg;
    acp_problem_t *prob;

    CHECK(cts_http01("tokR", "tokR.thumbR") == 0);
    CHECK(cts_redirect(apr_pstrcat(p, wk, "rOk", NULL),
                       apr_psprintf(p, "http://r2.example:%d%stokR", cfg->http_port, wk)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rOk", "tokR.thumbR");
    show("redirect ok", prob);
    CHECK(prob == NULL);

    CHECK(cts_redirect(apr_pstrcat(p, wk, "rIp", NULL),
                       apr_psprintf(p, "http://127.0.0.1:%d%stokR", cfg->http_port, wk)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rIp", "tokR.thumbR");
    show("redirect to IP", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "IP address"));

    CHECK(cts_redirect(apr_pstrcat(p, wk, "rPort", NULL),
                       apr_psprintf(p, "http://r2.example:%d%stokR", p_dead, wk)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rPort", "tokR.thumbR");
    show("redirect to other port", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "port"));

    CHECK(cts_redirect(apr_pstrcat(p, wk, "rFtp", NULL), "ftp://r2.example/x") == 0);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rFtp", "tokR.thumbR");
    show("redirect to ftp", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);

    CHECK(cts_redirect(apr_pstrcat(p, wk, "rLoop", NULL),
                       apr_psprintf(p, "http://loop.example:%d%srLoop", cfg->http_port, wk)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rLoop", "tokR.thumbR");
    show("redirect loop", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "Too many redirects"));

    /* https target: challtestsrv's self-signed HTTPS http-01 server; the certificate is
     * not checked. Allowed on the configured TLS port (here the https01 port). */
    https_cfg.tlsalpn_port = p_https;
    CHECK(cts_redirect(apr_pstrcat(p, wk, "rHttps", NULL),
                       apr_psprintf(p, "https://r3.example:%d%stokR", p_https, wk)) == 0);
    prob = acp_va_validate(p, &https_cfg, "http-01", "r.example", "rHttps", "tokR.thumbR");
    show("redirect to https", prob);
    CHECK(prob == NULL);
    prob = acp_va_validate(p, cfg, "http-01", "r.example", "rHttps", "tokR.thumbR");
    show("redirect to https bad port", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
}

static void test_dns01(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_problem_t *prob;

    CHECK(cts_txt("_acme-challenge.d.example.", dns01_value(p, "tokD.thumbD")) == 0);
    prob = acp_va_validate(p, cfg, "dns-01", "d.example", "tokD", "tokD.thumbD");
    show("dns-01 valid", prob);
    CHECK(prob == NULL);

    prob = acp_va_validate(p, cfg, "dns-01", "d.example", "tokD", "tokD.other");
    show("dns-01 wrong", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "Incorrect TXT record"));
    CHECK(has(prob, "_acme-challenge.d.example"));
    CHECK(has(prob, dns01_value(p, "tokD.thumbD")));

    prob = acp_va_validate(p, cfg, "dns-01", "nothing.example", "tokD", "tokD.thumbD");
    show("dns-01 no TXT", prob);
    CHECK(prob && (prob->kind == ACP_ERR_UNAUTHORIZED || prob->kind == ACP_ERR_DNS));
    CHECK(has(prob, "No TXT record found at _acme-challenge.nothing.example"));
}

static void test_tlsalpn01(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_problem_t *prob;

    CHECK(cts_tlsalpn("t.example", "tokT.thumbT") == 0);
    prob = acp_va_validate(p, cfg, "tls-alpn-01", "t.example", "tokT", "tokT.thumbT");
    show("tls-alpn-01 valid", prob);
    CHECK(prob == NULL);

    prob = acp_va_validate(p, cfg, "tls-alpn-01", "t.example", "tokT", "tokT.other");
    show("tls-alpn-01 wrong", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED);
    CHECK(has(prob, "acmeIdentifier"));

    /* no certificate for this SNI: challtestsrv aborts the handshake */
    prob = acp_va_validate(p, cfg, "tls-alpn-01", "none-t.example", "tokT", "tokT.thumbT");
    show("tls-alpn-01 unknown SNI", prob);
    CHECK(prob && prob->kind == ACP_ERR_TLS);

    /* nothing listens on 127.0.0.2 */
    prob = acp_va_validate(p, cfg, "tls-alpn-01", "conn.example", "tokT", "tokT.thumbT");
    show("tls-alpn-01 refused", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "127.0.0.2"));
}

/* IP identifiers (RFC 8738): http-01 at the address itself (no DNS), still refused for a
 * special-purpose address that is not exempt; never dns-01; no CAA. */
static void test_ip(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_va_cfg_t strict = *cfg;
    acp_problem_t *prob;

    CHECK(cts_http01("tokIP", "tokIP.thumbIP") == 0);
    prob = acp_va_validate(p, cfg, "http-01", "127.0.0.1", "tokIP", "tokIP.thumbIP");
    show("http-01 for 127.0.0.1", prob);
    CHECK(prob == NULL);
    prob = acp_va_validate(p, cfg, "http-01", "127.0.0.1", "tokIP", "tokIP.other");
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED && has(prob, "127.0.0.1"));
    strict.allow = NULL;
    prob = acp_va_validate(p, &strict, "http-01", "127.0.0.1", "tokIP", "tokIP.thumbIP");
    show("http-01 for 127.0.0.1, loopback not exempt", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION && has(prob, "127.0.0.0/8"));
    prob = acp_va_validate(p, &strict, "tls-alpn-01", "127.0.0.1", "tokIP", "tokIP.thumbIP");
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION && has(prob, "127.0.0.0/8"));
    prob = acp_va_validate(p, cfg, "dns-01", "127.0.0.1", "tokIP", "tokIP.thumbIP");
    show("dns-01 for 127.0.0.1", prob);
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED && has(prob, "http-01 or tls-alpn-01"));
    prob = acp_va_validate(p, cfg, "dns-01", "::1", "tokIP", "tokIP.thumbIP");
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    /* a non-canonical address is no identifier: not validated as a name either */
    prob = acp_va_validate(p, cfg, "http-01", "127.0.0.01", "tokIP", "tokIP.thumbIP");
    CHECK(prob && prob->kind == ACP_ERR_MALFORMED);
    /* tls-alpn-01: the SNI is the reverse name; challtestsrv's certificate for that name
     * carries it as a dNSName, not the address, so it is refused naming both */
    CHECK(cts_tlsalpn("1.0.0.127.in-addr.arpa", "tokIP.thumbIP") == 0);
    prob = acp_va_validate(p, cfg, "tls-alpn-01", "127.0.0.1", "tokIP", "tokIP.thumbIP");
    show("tls-alpn-01 for 127.0.0.1 (dNSName certificate)", prob);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED && has(prob, "iPAddress 127.0.0.1") &&
          has(prob, "1.0.0.127.in-addr.arpa"));
    /* CAA is not looked up for an address (even with a resolver that cannot answer) */
    strict = *cfg;
    strict.resolver = "127.0.0.1:1";
    strict.timeout_ms = 300;
    CHECK(acp_va_caa_check(p, &strict, "127.0.0.1", 0, "http-01", "acct") == NULL);
    CHECK(acp_va_caa_check(p, &strict, "::1", 0, "tls-alpn-01", "acct") == NULL);
}

typedef struct {
    apr_pool_t *p;
    const acp_va_cfg_t *cfg;
    acp_problem_t *prob;
    unsigned long made;
} chan_worker_t;

static void *chan_worker(void *arg)
{
    chan_worker_t *w = arg;
    unsigned long n0 = acp_va_dns_channels_made();

    w->prob = acp_va_caa_check(w->p, w->cfg, "a.b.example", 0, "http-01", "A1");
    w->made = acp_va_dns_channels_made() - n0;
    return NULL; /* the thread's channel goes with the thread (LeakSanitizer checks) */
}

/* A thread keeps one DNS channel: a validation's lookups (A, then CAA up the tree) and
 * the checks after it share it; a lookup that failed, another resolver setting and
 * another thread each get a new one. */
static void test_dns_channel(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_va_cfg_t other = *cfg;
    chan_worker_t w;
    pthread_t th;
    unsigned long n0;
    acp_problem_t *prob;

    CHECK(cts_http01("chtok", "chtok.thumb") == 0);
    acp_va_dns_thread_done();
    n0 = acp_va_dns_channels_made();
    prob = acp_va_validate(p, cfg, "http-01", "a.b.example", "chtok", "chtok.thumb");
    CHECK(prob == NULL);
    CHECK(acp_va_caa_check(p, cfg, "a.b.example", 0, "http-01", "A1") == NULL);
    CHECK(acp_va_validate(p, cfg, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    /* NOERROR without records (dns-01 before its TXT record exists) keeps it too */
    prob = acp_va_validate(p, cfg, "dns-01", "c.example", "chtok", "chtok.thumb");
    CHECK(prob && has(prob, "No TXT record"));
    CHECK(acp_va_dns_channels_made() - n0 == 1);

    /* SERVFAIL: this lookup's channel is dropped, the next builds another */
    CHECK(mgmt("/set-servfail", obj2("host", "sf.example.", NULL, NULL)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "sf.example", "chtok", "chtok.thumb");
    CHECK(prob && prob->kind == ACP_ERR_DNS && has(prob, "SERVFAIL"));
    CHECK(mgmt("/clear-servfail", obj2("host", "sf.example.", NULL, NULL)) == 0);
    CHECK(acp_va_dns_channels_made() - n0 == 1);
    CHECK(acp_va_validate(p, cfg, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_validate(p, cfg, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_dns_channels_made() - n0 == 2);

    /* another resolver setting (the same server twice), then back: one each */
    other.resolver = apr_psprintf(p, "127.0.0.1:%d,127.0.0.1:%d", p_dns, p_dns);
    CHECK(acp_va_validate(p, &other, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_validate(p, &other, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_dns_channels_made() - n0 == 3);
    CHECK(acp_va_validate(p, cfg, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_dns_channels_made() - n0 == 4);

    /* another thread: its own */
    memset(&w, 0, sizeof(w));
    w.p = p;
    w.cfg = cfg;
    CHECK(pthread_create(&th, NULL, chan_worker, &w) == 0 && pthread_join(th, NULL) == 0);
    CHECK(w.prob == NULL && w.made == 1);
    CHECK(acp_va_validate(p, cfg, "http-01", "c.example", "chtok", "chtok.thumb") == NULL);
    CHECK(acp_va_dns_channels_made() - n0 == 5);
    acp_va_dns_thread_done();
}

static void test_dns_failures(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    acp_va_cfg_t dead = *cfg;
    acp_problem_t *prob;
    long long t0;

    /* challtestsrv answers every A query with its default address; with none set it
     * answers NOERROR without records (it never sends NXDOMAIN) */
    CHECK(mgmt("/set-default-ipv4", obj2("ip", "", NULL, NULL)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "none.example", "tokA", "tokA.thumbA");
    show("no A/AAAA records", prob);
    CHECK(prob && prob->kind == ACP_ERR_DNS);
    CHECK(has(prob, "none.example"));
    prob = acp_va_validate(p, cfg, "tls-alpn-01", "none.example", "tokA", "tokA.thumbA");
    CHECK(prob && prob->kind == ACP_ERR_DNS);
    CHECK(mgmt("/set-default-ipv4", obj2("ip", "127.0.0.1", NULL, NULL)) == 0);

    CHECK(mgmt("/set-servfail", obj2("host", "sf.example.", NULL, NULL)) == 0);
    prob = acp_va_validate(p, cfg, "http-01", "sf.example", "tokA", "tokA.thumbA");
    show("SERVFAIL", prob);
    CHECK(prob && prob->kind == ACP_ERR_DNS);
    CHECK(has(prob, "SERVFAIL"));
    CHECK(mgmt("/clear-servfail", obj2("host", "sf.example.", NULL, NULL)) == 0);

    /* a resolver where nothing listens: a DNS problem within the deadline */
    dead.resolver = apr_psprintf(p, "127.0.0.1:%d", p_dead);
    dead.timeout_ms = 1000;
    t0 = now_ms();
    prob = acp_va_validate(p, &dead, "http-01", "h.example", "tokA", "tokA.thumbA");
    show("dead resolver", prob);
    CHECK(prob && prob->kind == ACP_ERR_DNS);
    CHECK(now_ms() - t0 < 3000);
    prob = acp_va_validate(p, &dead, "dns-01", "h.example", "tokA", "tokA.thumbA");
    CHECK(prob && prob->kind == ACP_ERR_DNS);

    /* a resolver that drops every query (bound UDP socket, never read): timeout */
    {
        struct sockaddr_in sin;
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0
              && getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
        dead.resolver = apr_psprintf(p, "127.0.0.1:%d", ntohs(sin.sin_port));
        dead.timeout_ms = 700;
        t0 = now_ms();
        prob = acp_va_validate(p, &dead, "dns-01", "h.example", "tokA", "tokA.thumbA");
        show("silent resolver", prob);
        CHECK(prob && prob->kind == ACP_ERR_DNS);
        CHECK(has(prob, "timeout"));
        CHECK(now_ms() - t0 < 2500);
        if (fd >= 0) {
            close(fd);
        }
    }

    dead.resolver = "not-an-address";
    prob = acp_va_validate(p, &dead, "dns-01", "h.example", "tokA", "tokA.thumbA");
    CHECK(prob && prob->kind != ACP_ERR_NONE);
}

static void test_threads(apr_pool_t *p, const acp_va_cfg_t *cfg)
{
    enum { NT = 6 };
    worker_t w[NT];
    pthread_t th[NT];
    int i, started[NT];

    CHECK(cts_http01("mttok", "mttok.thumb") == 0);
    CHECK(cts_txt("_acme-challenge.mt.example.", dns01_value(p, "mttok.thumb")) == 0);
    CHECK(cts_tlsalpn("mt.example", "mttok.thumb") == 0);
    for (i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        apr_pool_create(&w[i].p, p);
        w[i].cfg = cfg;
        started[i] = pthread_create(&th[i], NULL, worker_main, &w[i]) == 0;
        CHECK(started[i]);
    }
    for (i = 0; i < NT; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
            CHECK(w[i].http == NULL);
            CHECK(w[i].dns == NULL);
            CHECK(w[i].tls == NULL);
            CHECK(w[i].bad && w[i].bad->kind == ACP_ERR_UNAUTHORIZED);
        }
        apr_pool_destroy(w[i].p);
    }
}

/* ---------------------------------------------------------------- address policy */

/* Every IANA special-purpose range (IPv4 and IPv6 registries, plus multicast, reserved and
 * the IPv6 space outside 2000::/3): its first and last address are refused, naming the
 * range; public neighbours are allowed. */
static void test_special_addresses(apr_pool_t *p)
{
    static const struct {
        const char *addr, *want; /* want: substring of the refusal, NULL = allowed */
    } cases[] = {
        {"0.0.0.0", "0.0.0.0/8 (RFC 1122"}, {"0.255.255.255", "0.0.0.0/8"},
        {"10.0.0.1", "address 10.0.0.1 is in 10.0.0.0/8 (RFC 1918 private-use)"},
        {"10.255.255.255", "10.0.0.0/8"},
        {"100.64.0.0", "100.64.0.0/10 (RFC 6598"}, {"100.127.255.255", "100.64.0.0/10"},
        {"100.128.0.0", NULL}, {"100.63.255.255", NULL},
        {"127.0.0.1", "127.0.0.0/8 (RFC 1122 loopback)"}, {"127.255.255.254", "127.0.0.0/8"},
        {"169.254.169.254", "169.254.0.0/16 (RFC 3927 link-local"}, {"169.254.0.0", "169.254.0.0/16"},
        {"172.16.0.0", "172.16.0.0/12 (RFC 1918"}, {"172.31.255.255", "172.16.0.0/12"},
        {"172.32.0.0", NULL}, {"172.15.255.255", NULL},
        {"192.0.0.8", "192.0.0.0/24 (RFC 6890"}, {"192.0.0.255", "192.0.0.0/24"},
        {"192.0.2.1", "192.0.2.0/24 (RFC 5737"}, {"192.31.196.1", "192.31.196.0/24 (RFC 7535"},
        {"192.52.193.1", "192.52.193.0/24 (RFC 7450"}, {"192.88.99.1", "192.88.99.0/24 (RFC 7526"},
        {"192.168.0.1", "192.168.0.0/16 (RFC 1918"}, {"192.168.255.255", "192.168.0.0/16"},
        {"192.175.48.1", "192.175.48.0/24 (RFC 7534"},
        {"198.18.0.0", "198.18.0.0/15 (RFC 2544"}, {"198.19.255.255", "198.18.0.0/15"},
        {"198.20.0.0", NULL}, {"198.17.255.255", NULL},
        {"198.51.100.7", "198.51.100.0/24 (RFC 5737"}, {"203.0.113.9", "203.0.113.0/24 (RFC 5737"},
        {"224.0.0.1", "224.0.0.0/4 (RFC 5771 multicast)"}, {"239.255.255.255", "224.0.0.0/4"},
        {"240.0.0.1", "240.0.0.0/4 (RFC 1112"}, {"255.255.255.254", "240.0.0.0/4"},
        {"255.255.255.255", "255.255.255.255/32 (RFC 919 limited broadcast)"},
        {"8.8.8.8", NULL}, {"1.1.1.1", NULL}, {"223.255.255.255", NULL}, {"192.0.3.1", NULL},
        {"::", "::/128 (RFC 4291 unspecified"}, {"::1", "::1/128 (RFC 4291 loopback)"},
        {"::8.8.8.8", "::/96 (RFC 4291 deprecated IPv4-compatible)"},
        {"::ffff:10.1.2.3", "address ::ffff:10.1.2.3 (IPv4-mapped 10.1.2.3) is in 10.0.0.0/8"},
        {"::ffff:169.254.169.254", "169.254.0.0/16"}, {"::ffff:127.0.0.1", "127.0.0.0/8"},
        {"::ffff:8.8.8.8", NULL},
        {"64:ff9b::a00:1", "64:ff9b::/96 (RFC 6052"}, {"64:ff9b:1::1", "64:ff9b:1::/48 (RFC 8215"},
        {"100::1", "100::/64 (RFC 6666"}, {"100:0:0:1::1", "100:0:0:1::/64 (RFC 9780"},
        {"2001::1", "2001::/32 (RFC 4380 Teredo)"}, {"2001:2::1", "2001:2::/48 (RFC 5180"},
        {"2001:20::1", "2001:20::/28 (RFC 7343"}, {"2001:1::1", "2001::/23 (RFC 2928"},
        {"2001:1ff:ffff::1", "2001::/23"}, {"2001:200::1", NULL},
        {"2001:db8::1", "2001:db8::/32 (RFC 3849"}, {"2002:a00:1::1", "2002::/16 (RFC 3056 6to4)"},
        {"2620:4f:8000::1", "2620:4f:8000::/48 (RFC 7534"}, {"3fff::1", "3fff::/20 (RFC 9637"},
        {"3fff:fff::1", "3fff::/20"}, {"3fff:1000::1", NULL},
        {"5f00::1", "5f00::/16 (RFC 9602"}, {"fc00::1", "fc00::/7 (RFC 4193 unique-local)"},
        {"fdff:ffff::1", "fc00::/7"}, {"fe80::1", "fe80::/10 (RFC 4291 link-local)"},
        {"febf::1", "fe80::/10"}, {"fec0::1", "fec0::/10 (RFC 3879"},
        {"ff02::1", "ff00::/8 (RFC 4291 multicast)"}, {"ff0e::1", "ff00::/8"},
        {"4000::1", "outside 2000::/3"}, {"1234::1", "outside 2000::/3"},
        {"2606:4700::1111", NULL}, {"2a00:1450:4001::1", NULL}, {"3ffe::1", NULL},
    };
    acp_va_cidr_t c;
    apr_array_header_t *allow = apr_array_make(p, 2, sizeof(acp_va_cidr_t));
    unsigned char a[16];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fam = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;
        const char *why;

        CHECK(inet_pton(fam, cases[i].addr, a) == 1);
        why = acp_va_addr_refusal(p, NULL, fam, a);
        if (cases[i].want ? !(why && strstr(why, cases[i].want)) : why != NULL) {
            fprintf(stderr, "address %s: got \"%s\", want \"%s\"\n", cases[i].addr,
                    why ? why : "(allowed)", cases[i].want ? cases[i].want : "(allowed)");
            CHECK(!"special-purpose classification");
        }
        else {
            CHECK(1);
        }
    }
    /* AcmePayValidationAllow: an exempt range, also through its IPv4-mapped form */
    CHECK(acp_va_cidr_parse(p, "127.0.0.0/8", &c) == NULL);
    APR_ARRAY_PUSH(allow, acp_va_cidr_t) = c;
    CHECK(acp_va_cidr_parse(p, "fd00:1::/32", &c) == NULL);
    APR_ARRAY_PUSH(allow, acp_va_cidr_t) = c;
    inet_pton(AF_INET, "127.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET, a) == NULL);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) == NULL);
    inet_pton(AF_INET6, "fd00:1:2::3", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) == NULL);
    inet_pton(AF_INET6, "fd00:2::3", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) != NULL);
    inet_pton(AF_INET, "10.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET, a) != NULL);
    CHECK(acp_va_cidr_parse(p, "::1", &c) == NULL && c.bits == 128 && c.family == AF_INET6);
    CHECK(acp_va_cidr_parse(p, "10.1.2.3", &c) == NULL && c.bits == 32);
    CHECK(acp_va_cidr_parse(p, "10.0.0.1/8", &c) != NULL);     /* host bits set */
    CHECK(acp_va_cidr_parse(p, "10.0.0.0/33", &c) != NULL);
    CHECK(acp_va_cidr_parse(p, "10.0.0.0/", &c) != NULL);
    CHECK(acp_va_cidr_parse(p, "example.com/8", &c) != NULL);
}

/* The refusal against live targets: the first connection, tls-alpn-01 and a redirect into a
 * special-purpose address are refused before any connection, naming the rule. */
static void test_ssrf(apr_pool_t *p, const acp_va_cfg_t *allowed)
{
    const char *wk = "/.well-known/acme-challenge/";
    acp_va_cfg_t cfg = *allowed;
    acp_problem_t *prob;
    long long t0;

    cfg.allow = NULL; /* the default: no exemptions */
    CHECK(cts_http01("tokS", "tokS.thumbS") == 0);
    prob = acp_va_validate(p, &cfg, "http-01", "ssrf.example", "tokS", "tokS.thumbS");
    show("loopback refused", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "address 127.0.0.1 is in 127.0.0.0/8 (RFC 1122 loopback)"));
    CHECK(!has(prob, "tokS.thumbS"));
    /* the same target with loopback exempt is fine */
    prob = acp_va_validate(p, allowed, "http-01", "ssrf.example", "tokS", "tokS.thumbS");
    CHECK(prob == NULL);

    CHECK(cts_tlsalpn("ssrf-tls.example", "tokS.thumbS") == 0);
    prob = acp_va_validate(p, &cfg, "tls-alpn-01", "ssrf-tls.example", "tokS", "tokS.thumbS");
    show("tls-alpn loopback refused", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION && has(prob, "127.0.0.0/8"));

    /* a redirect from an allowed target to a name that resolves to cloud metadata */
    CHECK(cts_a("metadata.example", "169.254.169.254") == 0);
    CHECK(cts_redirect(apr_pstrcat(p, wk, "rMeta", NULL),
                       apr_psprintf(p, "http://metadata.example:%d/latest/meta-data/",
                                    allowed->http_port)) == 0);
    t0 = now_ms();
    prob = acp_va_validate(p, allowed, "http-01", "r.example", "rMeta", "rMeta.x");
    show("redirect to metadata", prob);
    CHECK(prob && prob->kind == ACP_ERR_CONNECTION);
    CHECK(has(prob, "address 169.254.169.254 is in 169.254.0.0/16"));
    CHECK(now_ms() - t0 < 2000); /* refused, not a connect timeout */

    CHECK(cts_a("rfc1918.example", "10.11.12.13") == 0);
    prob = acp_va_validate(p, allowed, "http-01", "rfc1918.example", "tokS", "tokS.thumbS");
    CHECK(has(prob, "10.0.0.0/8 (RFC 1918 private-use)"));
}

/* ---------------------------------------------------------------- connections per address */

typedef struct {
    int lfd, n;
    long long at[4];
    int fds[4];
} hangsrv_t;

/* Accepts up to 4 connections within 2.5 s, records when, answers nothing. */
static void *hangsrv_main(void *arg)
{
    hangsrv_t *h = arg;
    long long end = now_ms() + 2500;

    while (h->n < 4 && now_ms() < end) {
        struct pollfd pfd = {h->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 50) == 1) {
            int fd = accept(h->lfd, NULL, NULL);
            if (fd >= 0) {
                h->at[h->n] = now_ms();
                h->fds[h->n++] = fd;
            }
        }
    }
    return NULL;
}

typedef struct {
    apr_pool_t *p;
    const acp_va_cfg_t *cfg;
    acp_problem_t *prob;
} hangcli_t;

static void *hangcli_main(void *arg)
{
    hangcli_t *c = arg;
    c->prob = acp_va_validate(c->p, c->cfg, "http-01", "hang.example", "tokH", "tokH.x");
    return NULL;
}

/* AcmePayValidationPerHost: with 1, a second check of the same address waits for the
 * first connection to close (and gives up at its deadline); with 2 both connect at once. */
static void test_host_conns(apr_pool_t *p, const acp_va_cfg_t *base)
{
    int limit;

    for (limit = 1; limit <= 2; limit++) {
        acp_va_cfg_t cfg1 = *base, cfg2;
        hangsrv_t srv;
        hangcli_t c1, c2;
        pthread_t ts, t1, t2;
        long long t0;
        int port = 0, i;

        memset(&srv, 0, sizeof(srv));
        srv.lfd = listen_any(&port);
        CHECK(srv.lfd >= 0);
        if (srv.lfd < 0) {
            return;
        }
        cfg1.http_port = port;
        cfg1.max_host_conns = limit;
        cfg1.timeout_ms = 1500; /* the first check holds its connection this long */
        cfg2 = cfg1;
        cfg2.timeout_ms = 800;  /* the second gives up earlier */
        c1.p = c2.p = p;
        c1.cfg = &cfg1;
        c2.cfg = &cfg2;
        t0 = now_ms();
        pthread_create(&ts, NULL, hangsrv_main, &srv);
        pthread_create(&t1, NULL, hangcli_main, &c1);
        sleep_ms(200);
        pthread_create(&t2, NULL, hangcli_main, &c2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_join(ts, NULL);
        show(limit == 1 ? "per-host 1: first" : "per-host 2: first", c1.prob);
        show(limit == 1 ? "per-host 1: second" : "per-host 2: second", c2.prob);
        if (limit == 1) {
            /* one connection only: the second check waited and gave up without connecting */
            CHECK(srv.n == 1);
            CHECK(has(c2.prob, "already has 1 validation connections open"));
            CHECK(has(c1.prob, "timeout"));
        }
        else {
            CHECK(srv.n == 2);
            CHECK(srv.n == 2 && srv.at[1] - t0 < 600);
        }
        for (i = 0; i < srv.n; i++) {
            close(srv.fds[i]);
        }
        close(srv.lfd);
    }
}

static void run_tests(apr_pool_t *p)
{
    acp_va_cfg_t cfg;
    long long t0 = now_ms();

    signal(SIGPIPE, SIG_IGN);
    acp_va_global_init();
    atexit(cts_stop);
    if (cts_start() != 0) {
        fprintf(stderr, "could not start " CTS_BIN "\n");
        CHECK(!"pebble-challtestsrv started");
        return;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.resolver = apr_psprintf(p, "127.0.0.1:%d", p_dns);
    cfg.http_port = p_http;
    cfg.tlsalpn_port = p_tls;
    cfg.timeout_ms = 5000;
    {
        apr_array_header_t *allow = apr_array_make(p, 1, sizeof(acp_va_cidr_t));
        CHECK(acp_va_cidr_parse(p, "127.0.0.0/8", apr_array_push(allow)) == NULL);
        cfg.allow = allow; /* the test bed is on loopback */
    }

    test_special_addresses(p);
    test_ssrf(p, &cfg);
    test_host_conns(p, &cfg);
    test_http01(p, &cfg);
    test_http01_status(p, &cfg);
    test_redirects(p, &cfg);
    test_dns01(p, &cfg);
    test_tlsalpn01(p, &cfg);
    test_ip(p, &cfg);
    test_dns_channel(p, &cfg);
    test_dns_failures(p, &cfg);
    test_threads(p, &cfg);

    cts_stop();
    CHECK(now_ms() - t0 < 30000);
    curl_global_cleanup();
}
