/* Validation authority against pebble-challtestsrv (started here on loopback; the test bed:
 * acp_test_cts.h): http-01 (incl. redirects, size limit, timeouts), dns-01, tls-alpn-01,
 * DNS failures, refusals of special-purpose addresses and the connections per address,
 * and the same checks from several threads at once. The address classification itself:
 * test_va_addr.c. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include "acp_test.h"
#include "acp_test_cts.h"
#include "acp_va.h"
#include "acp_util.h"

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
    CHECK(has(prob, apr_psprintf(p, "Invalid response from http://s.example:%d"
                                    "/.well-known/acme-challenge/tok404: 404",
                                 port)));

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
