/* CAA (RFC 8659, RFC 8657): the record and message parser on hostile input, and the
 * issuance policy. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "acp_test.h"
#include "acp_va.h"

/* A DNS answer message: header, question "example.com" CAA, then ancount records given
 * as (type, rdata) with a compressed owner name. */
typedef struct {
    unsigned char b[70000];
    size_t n;
} msg_t;

static void put8(msg_t *m, unsigned v) { m->b[m->n++] = (unsigned char)v; }
static void put16(msg_t *m, unsigned v) { put8(m, v >> 8); put8(m, v & 0xff); }

static void msg_start(msg_t *m, unsigned ancount)
{
    static const unsigned char q[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180);
    put16(m, 1);
    put16(m, ancount);
    put16(m, 0);
    put16(m, 0);
    memcpy(m->b + m->n, q, sizeof(q));
    m->n += sizeof(q);
    put16(m, 257);
    put16(m, 1);
}

static void msg_rr(msg_t *m, unsigned type, const unsigned char *rdata, size_t len)
{
    put16(m, 0xc00c); /* pointer to the question name */
    put16(m, type);
    put16(m, 1);
    put16(m, 0);
    put16(m, 60);
    put16(m, (unsigned)len);
    memcpy(m->b + m->n, rdata, len);
    m->n += len;
}

static void msg_caa(msg_t *m, int flags, const char *tag, const char *value)
{
    unsigned char rd[600];
    size_t tl = strlen(tag), vl = strlen(value);
    rd[0] = (unsigned char)flags;
    rd[1] = (unsigned char)tl;
    memcpy(rd + 2, tag, tl);
    memcpy(rd + 2 + tl, value, vl);
    msg_rr(m, 257, rd, 2 + tl + vl);
}

static apr_array_header_t *rrset(apr_pool_t *p, int n, ...);

static apr_array_header_t *ids(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *r = apr_array_make(p, 2, sizeof(const char *));
    if (a) {
        APR_ARRAY_PUSH(r, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(r, const char *) = b;
    }
    return r;
}

#include <stdarg.h>
/* n records as (flags, tag, value) triples */
static apr_array_header_t *rrset(apr_pool_t *p, int n, ...)
{
    apr_array_header_t *r = apr_array_make(p, 4, sizeof(acp_caa_rr_t));
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        acp_caa_rr_t rr;
        rr.flags = va_arg(ap, int);
        rr.tag = va_arg(ap, const char *);
        rr.value = va_arg(ap, const char *);
        APR_ARRAY_PUSH(r, acp_caa_rr_t) = rr;
    }
    va_end(ap);
    return r;
}

#define ALLOWED(rrs, w, m, acct) (acp_caa_policy(p, rrs, me, w, m, acct) == NULL)

static void test_rdata(apr_pool_t *p)
{
    acp_caa_rr_t rr;
    static const unsigned char ok[] = {0x80, 5, 'I', 's', 'S', 'u', 'e', 'c', 'a', '.', 'n'};
    static const unsigned char nul[] = {0, 5, 'i', 's', 's', 'u', 'e', 'a', 0, 'b'};
    static const unsigned char empty_val[] = {0, 5, 'i', 's', 's', 'u', 'e'};
    static const unsigned char long_tag[] = {0, 200, 'i', 's', 's'};
    static const unsigned char zero_tag[] = {0, 0, 'x'};
    static const unsigned char bad_tag[] = {0, 3, 'i', '-', 's'};
    static const unsigned char tag16[] = {0, 16, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
                                          'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'};

    CHECK(acp_caa_parse_rdata(p, ok, sizeof(ok), &rr) == 0);
    CHECK(rr.flags == 0x80);
    CHECK_STR(rr.tag, "issue"); /* lower-cased */
    CHECK_STR(rr.value, "ca.n");
    CHECK(acp_caa_parse_rdata(p, nul, sizeof(nul), &rr) == 0);
    CHECK_STR(rr.value, "a?b"); /* an embedded NUL cannot shorten the value */
    CHECK(acp_caa_parse_rdata(p, empty_val, sizeof(empty_val), &rr) == 0);
    CHECK_STR(rr.value, "");
    CHECK(acp_caa_parse_rdata(p, long_tag, sizeof(long_tag), &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, zero_tag, sizeof(zero_tag), &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, bad_tag, sizeof(bad_tag), &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, tag16, sizeof(tag16), &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, ok, 1, &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, ok, 0, &rr) == -1);
    CHECK(acp_caa_parse_rdata(p, NULL, 5, &rr) == -1);
}

/* parse the answer for "example.com" */
static apr_array_header_t *answer(apr_pool_t *p, msg_t *m, size_t len, const char **end,
                                  const char **err)
{
    return acp_caa_parse_answer(p, m->b, len, "Example.COM.", end, err);
}

/* an RR whose owner is the name at offset own (a compression pointer) */
static void msg_rr_at(msg_t *m, unsigned own, unsigned type, const unsigned char *rdata,
                      size_t len)
{
    put16(m, 0xc000 | own);
    put16(m, type);
    put16(m, 1);
    put16(m, 0);
    put16(m, 60);
    put16(m, (unsigned)len);
    memcpy(m->b + m->n, rdata, len);
    m->n += len;
}

static void caa_rdata(unsigned char *rd, size_t *len, int flags, const char *tag,
                      const char *value)
{
    size_t tl = strlen(tag), vl = strlen(value);
    rd[0] = (unsigned char)flags;
    rd[1] = (unsigned char)tl;
    memcpy(rd + 2, tag, tl);
    memcpy(rd + 2 + tl, value, vl);
    *len = 2 + tl + vl;
}

static void test_msg(apr_pool_t *p)
{
    msg_t *m = malloc(sizeof(*m));
    apr_array_header_t *rrs;
    const char *err, *end;
    /* example.com CNAME foo.example.com (the target name starts at rdata offset) */
    static const unsigned char cname[] = {3, 'f', 'o', 'o', 0xc0, 0x0c};
    unsigned char rd[600];
    size_t i, full, rdl, target;

    /* the resolver followed the alias: the target's records are CAA(example.com); a
     * record of the alias's own name beside a CNAME (not valid DNS) is not */
    msg_start(m, 4);
    msg_rr(m, 5, cname, sizeof(cname));
    target = m->n - sizeof(cname);
    caa_rdata(rd, &rdl, 0, "issue", "ca.example.net; accounturi=https://x/acct/1");
    msg_rr_at(m, (unsigned)target, 257, rd, rdl);
    caa_rdata(rd, &rdl, 128, "tbs", "x");
    msg_rr_at(m, (unsigned)target, 257, rd, rdl);
    msg_caa(m, 0, "issue", "other.example");
    full = m->n;
    rrs = answer(p, m, m->n, &end, &err);
    CHECK(rrs && rrs->nelts == 2 && end && !strcmp(end, "foo.example.com"));
    if (rrs && rrs->nelts == 2) {
        CHECK_STR(APR_ARRAY_IDX(rrs, 0, acp_caa_rr_t).tag, "issue");
        CHECK(APR_ARRAY_IDX(rrs, 1, acp_caa_rr_t).flags == 128);
    }
    /* every truncation is refused, never read past the end (ASan watches) */
    for (i = 0; i < full; i++) {
        unsigned char *copy = malloc(i ? i : 1);
        memcpy(copy, m->b, i);
        rrs = acp_caa_parse_answer(p, copy, i, "example.com", &end, &err);
        CHECK(rrs == NULL && err != NULL);
        free(copy);
    }
    /* the resolver stopped at the alias: ask for its target */
    msg_start(m, 1);
    msg_rr(m, 5, cname, sizeof(cname));
    rrs = answer(p, m, m->n, &end, &err);
    CHECK(rrs && rrs->nelts == 0 && end && !strcmp(end, "foo.example.com"));
    /* a chain of two in one answer: example.com -> foo.example.com -> bar.example.com */
    {
        static const unsigned char c2[] = {3, 'b', 'a', 'r', 0xc0, 0x0c};
        size_t t1, t2;
        msg_start(m, 3);
        msg_rr(m, 5, cname, sizeof(cname));
        t1 = m->n - sizeof(cname);
        msg_rr_at(m, (unsigned)t1, 5, c2, sizeof(c2));
        t2 = m->n - sizeof(c2);
        caa_rdata(rd, &rdl, 0, "issue", ";");
        msg_rr_at(m, (unsigned)t2, 257, rd, rdl);
        rrs = answer(p, m, m->n, &end, &err);
        CHECK(rrs && rrs->nelts == 1 && end && !strcmp(end, "bar.example.com"));
        /* a loop: foo.example.com -> example.com */
        msg_start(m, 2);
        msg_rr(m, 5, cname, sizeof(cname));
        t1 = m->n - sizeof(cname);
        {
            static const unsigned char back[] = {0xc0, 0x0c};
            msg_rr_at(m, (unsigned)t1, 5, back, sizeof(back));
        }
        rrs = answer(p, m, m->n, &end, &err);
        CHECK(rrs == NULL && err && strstr(err, "CNAME"));
    }
    /* the records of another name only: not CAA(example.com), nothing to follow */
    {
        static const unsigned char other[] = {5, 'o', 't', 'h', 'e', 'r', 0};
        size_t o;
        msg_start(m, 0);
        m->b[7] = 1; /* ancount */
        o = m->n;
        memcpy(m->b + m->n, other, sizeof(other));
        m->n += sizeof(other);
        put16(m, 257);
        put16(m, 1);
        put16(m, 0);
        put16(m, 60);
        caa_rdata(rd, &rdl, 0, "issue", ";");
        put16(m, (unsigned)rdl);
        memcpy(m->b + m->n, rd, rdl);
        m->n += rdl;
        (void)o;
        rrs = answer(p, m, m->n, &end, &err);
        CHECK(rrs && rrs->nelts == 0 && end && !strcmp(end, "example.com"));
    }
    /* a malformed CNAME target */
    {
        static const unsigned char badc[] = {3, 'f', 'o'};
        msg_start(m, 1);
        msg_rr(m, 5, badc, sizeof(badc));
        CHECK(answer(p, m, m->n, &end, &err) == NULL);
    }
    /* a compression pointer loop in an owner name */
    msg_start(m, 1);
    put16(m, 0xc000 | (unsigned)m->n); /* points at itself */
    put16(m, 257);
    put16(m, 1);
    put16(m, 0);
    put16(m, 60);
    put16(m, 0);
    CHECK(answer(p, m, m->n, &end, &err) == NULL);
    /* an rdlength beyond the message */
    msg_start(m, 1);
    msg_caa(m, 0, "issue", "ca");
    m->b[m->n - 11] = 0xff; /* rdlength high byte (rdata: 2 + 5 + 2 bytes) */
    CHECK(answer(p, m, m->n, &end, &err) == NULL);
    /* ancount larger than what is there */
    msg_start(m, 2);
    msg_caa(m, 0, "issue", "ca");
    CHECK(answer(p, m, m->n, &end, &err) == NULL);
    /* a malformed CAA RDATA inside a good message */
    {
        static const unsigned char bad[] = {0, 9, 'i'};
        msg_start(m, 1);
        msg_rr(m, 257, bad, sizeof(bad));
        CHECK(answer(p, m, m->n, &end, &err) == NULL);
    }
    /* a name with a label type 0x40 */
    msg_start(m, 0);
    m->b[12] = 0x41;
    CHECK(answer(p, m, m->n, &end, &err) == NULL);
    /* more than ACP_CAA_MAX_RRS records */
    msg_start(m, ACP_CAA_MAX_RRS + 1);
    for (i = 0; i < ACP_CAA_MAX_RRS + 1; i++) {
        msg_caa(m, 0, "issue", "ca");
    }
    CHECK(answer(p, m, m->n, &end, &err) == NULL);
    /* no answers: an empty set */
    msg_start(m, 0);
    rrs = answer(p, m, m->n, &end, &err);
    CHECK(rrs && rrs->nelts == 0 && end && !strcmp(end, "example.com"));
    CHECK(answer(p, m, 11, &end, &err) == NULL);
    free(m);
}

static void test_policy(apr_pool_t *p)
{
    apr_array_header_t *me = ids(p, "ca.example.net", "Other-Name.example");
    const char *why;

    /* our identity, case-insensitive, with and without whitespace */
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net"), 0, "http-01", "A1"));
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "  CA.Example.NET  "), 0, "http-01", "A1"));
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "other-name.example"), 0, "dns-01", "A1"));
    /* another CA */
    why = acp_caa_policy(p, rrset(p, 1, 0, "issue", "letsencrypt.org"), me, 0, "http-01", "A1");
    CHECK(why && strstr(why, "letsencrypt.org"));
    /* one of several names us */
    CHECK(ALLOWED(rrset(p, 2, 0, "issue", "letsencrypt.org", 0, "issue", "ca.example.net"), 0,
                  "http-01", "A1"));
    /* only iodef / unknown non-critical: no restriction */
    CHECK(ALLOWED(rrset(p, 2, 0, "iodef", "mailto:x@y", 0, "future", "x"), 0, "http-01", "A1"));
    /* empty issuer forbids all, also with parameters only */
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", ";"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", ""), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "; accounturi=https://h/acct/A1"), 0, "http-01", "A1"));
    /* critical unknown tag refuses even when issue names us; critical known tag does not */
    why = acp_caa_policy(p, rrset(p, 2, 0, "issue", "ca.example.net", 128, "tbs", "x"), me, 0,
                         "http-01", "A1");
    CHECK(why && strstr(why, "critical"));
    CHECK(ALLOWED(rrset(p, 1, 128, "issue", "ca.example.net"), 0, "http-01", "A1"));
    CHECK(ALLOWED(rrset(p, 2, 128, "iodef", "mailto:a@b", 0, "issue", "ca.example.net"), 0,
                  "http-01", "A1"));
    /* issuewild: decides for wildcards only; issue applies to wildcards without it */
    CHECK(ALLOWED(rrset(p, 2, 0, "issue", "letsencrypt.org", 0, "issuewild", "ca.example.net"), 1,
                  "dns-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 2, 0, "issue", "letsencrypt.org", 0, "issuewild", "ca.example.net"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 2, 0, "issue", "ca.example.net", 0, "issuewild", ";"), 1, "dns-01",
                   "A1"));
    CHECK(ALLOWED(rrset(p, 2, 0, "issue", "ca.example.net", 0, "issuewild", ";"), 0, "dns-01",
                  "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "letsencrypt.org"), 1, "dns-01", "A1"));
    CHECK(ALLOWED(rrset(p, 1, 0, "issuewild", "letsencrypt.org"), 0, "http-01", "A1"));
    /* accounturi (RFC 8657 §3) */
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https://ca.example.net/acme/acct/A1"),
                  0, "http-01", "A1"));
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net;accounturi = https://h:8443/acct/A1 ;"),
                  0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https://h/acct/A2"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https://h/acct/XA1"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https://h/acct/A1?x"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=ftp://h/acct/A1"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https:///acct/A1"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; accounturi=https://h/acct/A1"), 0,
                   "http-01", NULL));
    /* two accounturi parameters: unusable */
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue",
                         "ca.example.net; accounturi=https://h/acct/A1; accounturi=https://h/acct/A1"),
                   0, "http-01", "A1"));
    /* a mismatching record next to a matching one */
    CHECK(ALLOWED(rrset(p, 2, 0, "issue", "ca.example.net; accounturi=https://h/acct/A2", 0,
                        "issue", "ca.example.net; accounturi=https://h/acct/A1"),
                  0, "http-01", "A1"));
    /* validationmethods (RFC 8657 §4) */
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; validationmethods=dns-01,http-01"), 0,
                  "http-01", "A1"));
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; validationmethods=tls-alpn-01"), 0,
                  "tls-alpn-01", "A1"));
    why = acp_caa_policy(p, rrset(p, 1, 0, "issue", "ca.example.net; validationmethods=dns-01"),
                         me, 0, "http-01", "A1");
    CHECK(why && strstr(why, "validationmethods"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; validationmethods=http-0"), 0,
                   "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; validationmethods="), 0, "http-01",
                   "A1"));
    /* both parameters */
    CHECK(ALLOWED(rrset(p, 1, 0, "issue",
                        "ca.example.net; accounturi=https://h/acct/A1; validationmethods=dns-01"),
                  0, "dns-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue",
                         "ca.example.net; accounturi=https://h/acct/A1; validationmethods=dns-01"),
                   0, "http-01", "A1"));
    /* unknown parameters are ignored */
    CHECK(ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; policy=ev"), 0, "http-01", "A1"));
    /* malformed values name nobody */
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net policy"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; =x"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; a"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net; a=\x01"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "-ca.example.net"), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca.example.net."), 0, "http-01", "A1"));
    CHECK(!ALLOWED(rrset(p, 1, 0, "issue", "ca..example.net"), 0, "http-01", "A1"));
    /* no identities configured: any issue set refuses, no issue set allows */
    why = acp_caa_policy(p, rrset(p, 1, 0, "issue", "ca.example.net"), NULL, 0, "http-01", "A1");
    CHECK(why && strstr(why, "AcmePayCAAIdentities"));
    CHECK(acp_caa_policy(p, rrset(p, 1, 0, "iodef", "mailto:a@b"), NULL, 0, "http-01", "A1") == NULL);
    CHECK(acp_caa_policy(p, rrset(p, 1, 0, "issue", "x"), ids(p, NULL, NULL), 0, "http-01", "A1") != NULL);
    /* a long value is quoted at a bounded length */
    {
        char *big = malloc(5000);
        memset(big, 'a', 4999);
        big[4999] = '\0';
        why = acp_caa_policy(p, rrset(p, 1, 0, "issue", big), me, 0, "http-01", "A1");
        CHECK(why && strlen(why) < 400);
        free(big);
    }
}

/* A lookup that times out refuses (RFC 8659 §3 leaves no "allowed" for an unanswered
 * query): the resolver is a UDP socket that reads nothing. */
static void test_timeout(apr_pool_t *p)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    acp_va_cfg_t cfg;
    acp_problem_t *prob;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timespec t0, t1;
    long ms;

    acp_va_global_init();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
          getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.resolver = apr_psprintf(p, "127.0.0.1:%d", ntohs(sin.sin_port));
    cfg.timeout_ms = 600;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    prob = acp_va_caa_check(p, &cfg, "a.example.com", 0, "http-01", "A1");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(prob && prob->kind == ACP_ERR_CAA && strstr(prob->detail, "timeout") &&
          strstr(prob->detail, "refused"));
    if (prob) {
        printf("timeout: %s (%ld ms)\n", prob->detail, ms);
    }
    CHECK(ms >= 500 && ms < 3000); /* bounded by the check's own timeout */
    close(fd);
}

/* ---- a climb's questions asked at once: a resolver on a UDP socket that holds every
 * answer until `hold` questions have arrived, never answers questions for `drop`, and
 * answers CAA(caa_at) with `issue caa_value` (every other name: NOERROR, no records). */
typedef struct {
    int fd, hold, got, stop;
    const char *drop, *caa_at, *caa_value;
    struct {
        unsigned char b[512];
        size_t n;
        struct sockaddr_in from;
    } held[8];
    int nheld;
} dnsrv_t;

/* the question's name, lowercase and dotted; 0 when the message is not one question */
static int q_name(const unsigned char *b, size_t n, char *out, size_t outsz, size_t *qend)
{
    size_t off = 12, o = 0;

    if (n < 17 || b[4] != 0 || b[5] != 1) {
        return 0;
    }
    while (off < n && b[off] != 0) {
        size_t l = b[off];
        if (l > 63 || off + 1 + l >= n || o + l + 2 > outsz) {
            return 0;
        }
        if (o) {
            out[o++] = '.';
        }
        for (size_t i = 0; i < l; i++) {
            char c = (char)b[off + 1 + i];
            out[o++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        off += 1 + l;
    }
    out[o] = '\0';
    *qend = off + 5; /* the root label, QTYPE, QCLASS */
    return *qend <= n;
}

static void dnsrv_answer(dnsrv_t *s, const unsigned char *q, size_t n,
                         const struct sockaddr_in *to)
{
    unsigned char a[700];
    char name[256];
    size_t qend, len;

    if (!q_name(q, n, name, sizeof(name), &qend)) {
        return;
    }
    memcpy(a, q, qend);
    len = qend;
    a[2] = 0x81;
    a[3] = 0x80;
    a[6] = a[7] = a[8] = a[9] = a[10] = a[11] = 0;
    if (s->caa_at && !strcmp(name, s->caa_at)) {
        size_t vl = strlen(s->caa_value);
        static const unsigned char rr[] = {0xc0, 0x0c, 0x01, 0x01, 0, 1, 0, 0, 0, 60};
        a[7] = 1;
        memcpy(a + len, rr, sizeof(rr));
        len += sizeof(rr);
        a[len++] = (unsigned char)((7 + vl) >> 8);
        a[len++] = (unsigned char)((7 + vl) & 0xff);
        a[len++] = 0;
        a[len++] = 5;
        memcpy(a + len, "issue", 5);
        len += 5;
        memcpy(a + len, s->caa_value, vl);
        len += vl;
    }
    sendto(s->fd, a, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void *dnsrv_main(void *arg)
{
    dnsrv_t *s = arg;
    int rounds;

    /* until stopped and nothing is left to read: every question of a check left before
     * the check returned, so each is counted in its own check */
    for (rounds = 0; rounds < 200; rounds++) {
        unsigned char b[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        char name[256];
        size_t qend;
        ssize_t n = recvfrom(s->fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);

        if (n <= 0 && __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
            break;
        }
        if (n <= 0 || !q_name(b, (size_t)n, name, sizeof(name), &qend)) {
            continue; /* the 50 ms receive timeout, or not a question */
        }
        __atomic_add_fetch(&s->got, 1, __ATOMIC_RELEASE);
        if (s->drop && !strcmp(name, s->drop)) {
            continue;
        }
        if (s->got < s->hold && s->nheld < 8) {
            memcpy(s->held[s->nheld].b, b, (size_t)n);
            s->held[s->nheld].n = (size_t)n;
            s->held[s->nheld].from = from;
            s->nheld++;
            continue;
        }
        for (int i = 0; i < s->nheld; i++) {
            dnsrv_answer(s, s->held[i].b, s->held[i].n, &s->held[i].from);
        }
        s->nheld = 0;
        dnsrv_answer(s, b, (size_t)n, &from);
    }
    return NULL;
}

/* one check of name against the resolver set up as given (one socket for every check, so
 * one channel serves them); its outcome, *asked the questions the resolver saw */
static dnsrv_t srv = {.fd = -1};
static struct sockaddr_in srv_addr;

static acp_problem_t *climb(apr_pool_t *p, const char *name, int hold, const char *drop,
                            const char *caa_at, const char *caa_value, int *asked)
{
    socklen_t sl = sizeof(srv_addr);
    struct timeval tv = {0, 50000};
    acp_va_cfg_t cfg;
    acp_problem_t *prob = NULL;
    pthread_t th;
    int fd = srv.fd;

    if (fd < 0) {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        memset(&srv_addr, 0, sizeof(srv_addr));
        srv_addr.sin_family = AF_INET;
        srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)) == 0 &&
              getsockname(fd, (struct sockaddr *)&srv_addr, &sl) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    }
    memset(&srv, 0, sizeof(srv));
    srv.fd = fd;
    srv.hold = hold;
    srv.drop = drop;
    srv.caa_at = caa_at;
    srv.caa_value = caa_value;
    memset(&cfg, 0, sizeof(cfg));
    cfg.resolver = apr_psprintf(p, "127.0.0.1:%d", ntohs(srv_addr.sin_port));
    cfg.timeout_ms = 3000;
    cfg.caa_identities = ids(p, "ca.example.net", NULL);
    if (pthread_create(&th, NULL, dnsrv_main, &srv) == 0) {
        prob = acp_va_caa_check(p, &cfg, name, 0, "http-01", "A1");
        __atomic_store_n(&srv.stop, 1, __ATOMIC_RELEASE);
        pthread_join(th, NULL);
    }
    else {
        CHECK(!"resolver thread");
    }
    *asked = __atomic_load_n(&srv.got, __ATOMIC_ACQUIRE);
    return prob;
}

static void test_climb_at_once(apr_pool_t *p)
{
    acp_problem_t *prob;
    unsigned long made;
    int asked = 0;

    acp_va_global_init();
    /* no CAA anywhere: the resolver answers nothing until all three questions are in, so
     * a climb that asks one label after another times out */
    prob = climb(p, "a.example.com", 3, NULL, NULL, NULL, &asked);
    CHECK(prob == NULL && asked == 3);
    if (prob) {
        printf("climb: %s\n", prob->detail);
    }
    /* the name's own RRset allows us: the parents' answers are not waited for (the
     * resolver never answers example.com), and the channel is kept for the next check */
    prob = climb(p, "a.example.com", 0, "example.com", "a.example.com", "ca.example.net",
                 &asked);
    CHECK(prob == NULL && asked == 3);
    made = acp_va_dns_channels_made();
    prob = climb(p, "b.example.com", 0, NULL, NULL, NULL, &asked);
    CHECK(prob == NULL && asked == 3 && acp_va_dns_channels_made() == made);
    /* a parent's RRset names another CA: refused, found through the answers in order */
    prob = climb(p, "x.a.example.com", 4, NULL, "example.com", "other.example", &asked);
    CHECK(prob && prob->kind == ACP_ERR_CAA && strstr(prob->detail, "example.com") &&
          strstr(prob->detail, "prevents issuance"));
    CHECK(asked == 4);
    /* a refusal of the name's own is decided without the parents, which fail */
    prob = climb(p, "a.example.com", 0, "example.com", "a.example.com", "other.example",
                 &asked);
    CHECK(prob && prob->kind == ACP_ERR_CAA && strstr(prob->detail, "prevents issuance"));
    close(srv.fd);
    srv.fd = -1;
}

static void run_tests(apr_pool_t *p)
{
    test_rdata(p);
    test_msg(p);
    test_policy(p);
    test_timeout(p);
    test_climb_at_once(p);
}
