/* The test bed of test_va: pebble-challtestsrv started on loopback (a pid-derived port
 * block, stopped with us), records set through its management API, one-shot HTTP servers
 * on ephemeral ports, and the small helpers the checks use. */
#ifndef ACP_TEST_CTS_H
#define ACP_TEST_CTS_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_pools.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_core.h"
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

#endif
