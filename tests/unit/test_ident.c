/* Identifier policy: normalisation, wildcards, names keys. */
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

    CHECK(norm(p, "ip", "127.0.0.1", &k, &d) == NULL && k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(d && strstr(d, "'ip'") != NULL);
    CHECK(norm(p, "email", "a@example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(norm(p, "DNS", "example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
    CHECK(norm(p, NULL, "example.com", &k, NULL) == NULL &&
          k == ACP_ERR_UNSUPPORTED_IDENTIFIER);
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
}

static void run_tests(apr_pool_t *p)
{
    test_valid(p);
    test_rejected(p);
    test_unsupported(p);
    test_wildcard_flag();
    test_names_key(p);
}
