/* CAA (RFC 8659, RFC 8657): the record and message parser on hostile input, and the
 * issuance policy. */
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

static void run_tests(apr_pool_t *p)
{
    test_rdata(p);
    test_msg(p);
    test_policy(p);
    test_timeout(p);
}
