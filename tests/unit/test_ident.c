/* Identifier policy: normalisation, wildcards, names keys. */
#include <stdio.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_ident.h"

/* normalize; return the normalised value, or NULL with *kind set */
static const char *norm(apr_pool_t *p, const char *type, const char *value, acp_errkind_t *kind,
                        const char **detail)
{
    const char *out = "unset";
    acp_problem_t *prob = acp_ident_normalize(p, type, value, &out);

    *kind = prob ? prob->kind : ACP_ERR_NONE;
    if (detail) {
        *detail = prob ? prob->detail : NULL;
    }
    return prob ? NULL : out;
}

static int rejected(apr_pool_t *p, const char *value)
{
    acp_errkind_t k;
    const char *d = NULL;
    return norm(p, "dns", value, &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER && d &&
           *d;
}

static void test_valid(apr_pool_t *p)
{
    acp_errkind_t k;

    CHECK_STR(norm(p, "dns", "example.com", &k, NULL), "example.com");
    CHECK_STR(norm(p, "dns", "WWW.Example.COM", &k, NULL), "www.example.com");
    CHECK_STR(norm(p, "dns", "example.com.", &k, NULL), "example.com");
    CHECK_STR(norm(p, "dns", "a-b.c-d.example", &k, NULL), "a-b.c-d.example");
    CHECK_STR(norm(p, "dns", "xn--bcher-kva.example", &k, NULL), "xn--bcher-kva.example");
    CHECK_STR(norm(p, "dns", "XN--BCHER-KVA.example", &k, NULL), "xn--bcher-kva.example");
    CHECK_STR(norm(p, "dns", "1.2.3.example", &k, NULL), "1.2.3.example");
    CHECK_STR(norm(p, "dns", "123.com", &k, NULL), "123.com");
    CHECK_STR(norm(p, "dns", "*.example.com", &k, NULL), "*.example.com");
    CHECK_STR(norm(p, "dns", "*.Example.COM.", &k, NULL), "*.example.com");
    CHECK(k == ACP_ERR_NONE);
    {
        /* 63-octet label ok; total 253 ok */
        char label[64], name[254];
        memset(label, 'a', 63);
        label[63] = '\0';
        CHECK_STR(norm(p, "dns", apr_pstrcat(p, label, ".example", NULL), &k, NULL),
                  apr_pstrcat(p, label, ".example", NULL));
        /* 63+1+63+1+63+1+61 = 253 */
        apr_snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
        CHECK(strlen(name) == 253);
        CHECK_STR(norm(p, "dns", name, &k, NULL), name);
    }
}

static void test_rejected(apr_pool_t *p)
{
    acp_errkind_t k;
    const char *d = NULL;
    char label[65], name[300];

    CHECK(norm(p, "dns", "-bad.example", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "'-bad.example' is not a valid DNS name") != NULL);
    CHECK(rejected(p, "bad-.example"));
    CHECK(rejected(p, "a..example"));
    CHECK(rejected(p, ".example.com"));
    CHECK(rejected(p, "example.com.."));
    CHECK(rejected(p, "."));
    CHECK(rejected(p, "under_score.example"));
    CHECK(rejected(p, "sp ace.example"));
    CHECK(rejected(p, "ex!ample.com"));
    CHECK(rejected(p, "ab--cd.example"));      /* reserved R-LDH form */
    CHECK(rejected(p, "b\xc3\xbc" "cher.example")); /* non-ASCII */
    CHECK(rejected(p, "example.123"));         /* numeric TLD */
    /* single label / localhost */
    CHECK(norm(p, "dns", "localhost", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "'localhost'") != NULL);
    CHECK(rejected(p, "com"));
    CHECK(rejected(p, "localhost."));
    /* empty / NULL */
    CHECK(norm(p, "dns", "", &k, NULL) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(norm(p, "dns", NULL, &k, NULL) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    /* IP literals */
    CHECK(norm(p, "dns", "127.0.0.1", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "'127.0.0.1'") && strstr(d, "IP"));
    CHECK(norm(p, "dns", "::1", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "IP"));
    CHECK(norm(p, "dns", "[2001:db8::1]", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "IP"));
    /* wildcards */
    CHECK(norm(p, "dns", "*.com", &k, &d) == NULL && k == ACP_ERR_REJECTED_IDENTIFIER);
    CHECK(d && strstr(d, "'*.com'") != NULL);
    CHECK(rejected(p, "a.*.example.com"));
    CHECK(rejected(p, "*example.com"));
    CHECK(rejected(p, "**.x.com"));
    CHECK(rejected(p, "*.*.example.com"));
    CHECK(rejected(p, "*"));
    CHECK(rejected(p, "*."));
    CHECK(rejected(p, "foo*.example.com"));
    CHECK(rejected(p, "*.-bad.example"));
    /* lengths */
    memset(label, 'a', 64);
    label[64] = '\0';
    CHECK(rejected(p, apr_pstrcat(p, label, ".example", NULL)));
    label[63] = '\0';
    apr_snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
    CHECK(strlen(name) == 254);
    CHECK(rejected(p, name));
    /* 253 + a trailing dot is fine */
    apr_snprintf(name, sizeof(name), "%s.%s.%s.%.61s.", label, label, label, label);
    CHECK(norm(p, "dns", name, &k, NULL) != NULL);
}

static void test_unsupported(apr_pool_t *p)
{
    acp_errkind_t k;
    const char *d = NULL;

    CHECK(norm(p, "email", "a@example.com", &k, &d) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(d && strstr(d, "'email'") != NULL && strstr(d, "'ip'") != NULL);
    CHECK(norm(p, "IP", "127.0.0.1", &k, NULL) == NULL && k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(norm(p, "email", "a@example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(norm(p, "DNS", "example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(norm(p, NULL, "example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
}

/* RFC 8738 §3: exactly the RFC 1123 / RFC 5952 text; else malformed, naming the
 * canonical form where there is one */
static void test_ip(apr_pool_t *p)
{
    static const struct {
        const char *in;
        acp_errkind_t kind;
        const char *detail; /* a part of it, or NULL */
    } bad[] = {
        {"127.000.0.1", ACP_ERR_MALFORMED, "dotted-decimal"},
        {"01.2.3.4", ACP_ERR_MALFORMED, "leading zeros"},
        {"1.2.3", ACP_ERR_MALFORMED, NULL},
        {"1.2.3.4.5", ACP_ERR_MALFORMED, NULL},
        {"256.1.1.1", ACP_ERR_MALFORMED, NULL},
        {"0x7f.0.0.1", ACP_ERR_MALFORMED, NULL},
        {"127.0.0.1 ", ACP_ERR_MALFORMED, NULL},
        {"::01", ACP_ERR_MALFORMED, "'::1'"},
        {"0:0:0:0:0:0:0:1", ACP_ERR_MALFORMED, "'::1'"},
        {"2001:DB8::1", ACP_ERR_MALFORMED, "'2001:db8::1'"},
        {"2001:db8:0:0:1:0:0:1", ACP_ERR_MALFORMED, "'2001:db8::1:0:0:1'"},
        {"2001:db8::0:1", ACP_ERR_MALFORMED, "'2001:db8::1'"},
        {"2001:0:0:1:0:0:0:1", ACP_ERR_MALFORMED, "'2001:0:0:1::1'"}, /* the longest run */
        {"2001:db8:0:1:1:1:1:1", ACP_ERR_NONE, NULL}, /* one zero field: not compressed */
        {"2001:db8::1:1:1:1:1", ACP_ERR_MALFORMED, "'2001:db8:0:1:1:1:1:1'"},
        {"fe80::1%eth0", ACP_ERR_MALFORMED, "zone"},
        {"fe80::1%25eth0", ACP_ERR_MALFORMED, "zone"},
        {"[::1]", ACP_ERR_MALFORMED, "brackets"},
        {"::1/128", ACP_ERR_MALFORMED, "prefix"},
        {"example.com", ACP_ERR_MALFORMED, "IPv4"},
        {"*.127.0.0.1", ACP_ERR_MALFORMED, NULL},
        {":::1", ACP_ERR_MALFORMED, "IPv6"},
        {"", ACP_ERR_MALFORMED, "empty"},
        {"::ffff:127.0.0.1", ACP_ERR_REJECTED_IDENTIFIER, "'127.0.0.1'"},
        {"::ffff:7f00:1", ACP_ERR_MALFORMED, "'::ffff:127.0.0.1'"},
    };
    acp_errkind_t k;
    const char *d = NULL;
    unsigned char a[16];
    size_t i;

    CHECK_STR(norm(p, "ip", "127.0.0.1", &k, NULL), "127.0.0.1");
    CHECK_STR(norm(p, "ip", "192.0.2.10", &k, NULL), "192.0.2.10");
    CHECK_STR(norm(p, "ip", "0.0.0.0", &k, NULL), "0.0.0.0");
    CHECK_STR(norm(p, "ip", "::1", &k, NULL), "::1");
    CHECK_STR(norm(p, "ip", "2001:db8::1", &k, NULL), "2001:db8::1");
    CHECK_STR(norm(p, "ip", "2001:db8::1:0:0:1", &k, NULL), "2001:db8::1:0:0:1");
    CHECK_STR(norm(p, "ip", "fe80::1", &k, NULL), "fe80::1");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *out = norm(p, "ip", bad[i].in, &k, &d);
        if (bad[i].kind == ACP_ERR_NONE) {
            CHECK_STR(out, bad[i].in);
            continue;
        }
        CHECK(out == NULL);
        CHECK(k == bad[i].kind);
        if (k != bad[i].kind || (bad[i].detail && (!d || !strstr(d, bad[i].detail)))) {
            printf("FAIL ip '%s': kind %d, detail %s\n", bad[i].in, (int)k, d ? d : "(none)");
        }
        CHECK(!bad[i].detail || (d && strstr(d, bad[i].detail)));
    }
    /* the problem names the identifier as an ip one */
    {
        acp_problem_t *prob = acp_ident_normalize(p, "ip", "01.2.3.4", NULL);
        CHECK(prob && prob->ident && !strcmp(prob->ident, "01.2.3.4") && prob->ident_type &&
              !strcmp(prob->ident_type, "ip"));
    }
    /* parse: canonical text only, bytes out */
    CHECK(acp_ident_ip_parse("127.0.0.1", a) == AF_INET && a[0] == 127 && a[3] == 1);
    CHECK(acp_ident_ip_parse("::1", a) == AF_INET6 && a[15] == 1 && a[0] == 0);
    CHECK(acp_ident_ip_parse("0:0:0:0:0:0:0:1", a) == 0);
    CHECK(acp_ident_ip_parse("example.com", a) == 0);
    CHECK(acp_ident_ip_parse("", a) == 0);
    CHECK(acp_ident_ip_parse(NULL, a) == 0);
    CHECK_STR(acp_ident_type("127.0.0.1"), "ip");
    CHECK_STR(acp_ident_type("2001:db8::1"), "ip");
    CHECK_STR(acp_ident_type("a.example"), "dns");
    CHECK_STR(acp_ident_type("*.a.example"), "dns");
    {
        static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 1};
        static const unsigned char v4[4] = {10, 1, 2, 3};
        CHECK_STR(acp_ident_ip_text(p, AF_INET6, v6), "2001:db8::1");
        CHECK_STR(acp_ident_ip_text(p, AF_INET, v4), "10.1.2.3");
        CHECK(acp_ident_ip_text(p, 0, v4) == NULL);
    }
    /* RFC 8738 §6: the tls-alpn-01 SNI */
    CHECK_STR(acp_ident_ip_reverse(p, "127.0.0.1"), "1.0.0.127.in-addr.arpa");
    CHECK_STR(acp_ident_ip_reverse(p, "192.0.2.10"), "10.2.0.192.in-addr.arpa");
    CHECK_STR(acp_ident_ip_reverse(p, "::1"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
    CHECK_STR(acp_ident_ip_reverse(p, "2001:db8::567:89ab"),
              "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    CHECK(acp_ident_ip_reverse(p, "a.example") == NULL);
    CHECK(acp_ident_ip_reverse(p, "0:0::1") == NULL);
}

static void test_wildcard_flag(void)
{
    CHECK(acp_ident_is_wildcard("*.example.com"));
    CHECK(!acp_ident_is_wildcard("example.com"));
    CHECK(!acp_ident_is_wildcard("*"));
    CHECK(!acp_ident_is_wildcard(""));
    CHECK(!acp_ident_is_wildcard(NULL));
}

static const char *key_of(apr_pool_t *p, const char *const *v)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    for (; *v; v++) {
        APR_ARRAY_PUSH(a, const char *) = *v;
    }
    return acp_ident_names_key(p, a);
}

static void test_names_key(apr_pool_t *p)
{
    static const char *const k1[] = {"b.example", "a.example", "*.a.example", NULL};
    static const char *const k2[] = {"A.example", "a.example", "B.EXAMPLE", "a.example", NULL};
    static const char *const k3[] = {"only.example", NULL};
    static const char *const k4[] = {NULL};
    static const char *const k5[] = {"b.example", "*.a.example", "a.example", "B.example",
                                     NULL};

    CHECK_STR(key_of(p, k1), "*.a.example,a.example,b.example");
    CHECK_STR(key_of(p, k2), "a.example,b.example");
    CHECK_STR(key_of(p, k3), "only.example");
    CHECK_STR(key_of(p, k4), "");
    CHECK_STR(acp_ident_names_key(p, NULL), "");
    CHECK_STR(key_of(p, k5), key_of(p, k1));
    {
        /* an IP identifier is marked in the key: never the same key as a dns name */
        static const char *const k6[] = {"b.example", "127.0.0.1", "::1", NULL};
        static const char *const k7[] = {"127.0.0.1", NULL};
        CHECK_STR(key_of(p, k6), "b.example,ip:127.0.0.1,ip:::1");
        CHECK_STR(key_of(p, k7), "ip:127.0.0.1");
    }
}

static void run_tests(apr_pool_t *p)
{
    test_valid(p);
    test_rejected(p);
    test_unsupported(p);
    test_ip(p);
    test_wildcard_flag();
    test_names_key(p);
}
