/* Identifier policy: normalisation and validation of ACME identifiers: dns names and IP
 * addresses (RFC 8738). */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include "acp_core.h"
#include "acp_ident.h"

#define MAX_NAME_LEN 253
#define MAX_LABEL_LEN 63
#define SHOW_MAX 255   /* longest value quoted verbatim in a detail */

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The value as quoted in a detail: long values are cut short. */
static const char *shown(apr_pool_t *p, const char *value)
{
    if (strlen(value) > SHOW_MAX) {
        return apr_pstrcat(p, apr_pstrndup(p, value, SHOW_MAX), "...", NULL);
    }
    return value;
}

static acp_problem_t *rejected(apr_pool_t *p, const char *value, const char *why)
{
    acp_problem_t *prob = acp_problem(p, ACP_ERR_REJECTED_IDENTIFIER,
                                      "'%s' is not a valid DNS name: %s", shown(p, value), why);
    prob->ident = apr_pstrdup(p, value);
    return prob;
}

/* Only digits and dots, or something inet_pton takes as an address. */
static int looks_like_ip(const char *s)
{
    unsigned char buf[16];
    const char *q;
    int digits_only = 1;

    for (q = s; *q; q++) {
        if (!(*q == '.' || (*q >= '0' && *q <= '9'))) {
            digits_only = 0;
            break;
        }
    }
    if (digits_only && *s) {
        return 1;
    }
    if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1) {
        return 1;
    }
    if (s[0] == '[') {
        size_t n = strlen(s);
        if (n > 2 && s[n - 1] == ']') {
            char tmp[64];
            if (n - 2 < sizeof(tmp)) {
                memcpy(tmp, s + 1, n - 2);
                tmp[n - 2] = '\0';
                return inet_pton(AF_INET6, tmp, buf) == 1;
            }
        }
    }
    return 0;
}

/* Check the labels of a (lowercase, no trailing dot) host name. Returns NULL when
 * valid, otherwise the reason. */
static const char *check_labels(apr_pool_t *p, const char *name, int *nlabels)
{
    const char *label = name, *tld = name;
    int count = 0;

    for (;;) {
        const char *end = strchr(label, '.');
        size_t len = end ? (size_t)(end - label) : strlen(label);
        size_t i;

        if (len == 0) {
            return "it has an empty label";
        }
        if (len > MAX_LABEL_LEN) {
            return apr_psprintf(p, "label '%s' is longer than %d characters",
                                apr_pstrmemdup(p, label, len), MAX_LABEL_LEN);
        }
        for (i = 0; i < len; i++) {
            if (!is_lower_alnum(label[i]) && label[i] != '-') {
                return apr_psprintf(p, "label '%s' contains '%c' (only letters, digits "
                                    "and hyphens are allowed)",
                                    apr_pstrmemdup(p, label, len), label[i]);
            }
        }
        if (label[0] == '-' || label[len - 1] == '-') {
            return apr_psprintf(p, "label '%s' starts or ends with a hyphen",
                                apr_pstrmemdup(p, label, len));
        }
        /* RFC 5891 §4.2.3.1: hyphens in positions 3-4 are reserved; only "xn--" is taken */
        if (len >= 4 && label[2] == '-' && label[3] == '-' &&
            !(label[0] == 'x' && label[1] == 'n')) {
            return apr_psprintf(p, "label '%s' has '--' in positions 3-4 (reserved for "
                                "xn-- A-labels)",
                                apr_pstrmemdup(p, label, len));
        }
        count++;
        tld = label;
        if (!end) {
            break;
        }
        label = end + 1;
    }
    *nlabels = count;
    {
        const char *q;
        for (q = tld; *q && *q >= '0' && *q <= '9'; q++) {
        }
        if (*q == '\0') {
            return apr_psprintf(p, "the top-level label '%s' is all digits", tld);
        }
    }
    return NULL;
}

/* ---- IP addresses (RFC 8738) ---------------------------------------------------------- */

int acp_ident_ip_parse(const char *name, unsigned char addr[16])
{
    unsigned char buf[16];
    char back[INET6_ADDRSTRLEN];
    int family;

    if (!name || !*name || strlen(name) >= sizeof(back)) {
        return 0;
    }
    family = strchr(name, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, name, buf) != 1 ||
        !inet_ntop(family, buf, back, sizeof(back)) || strcmp(back, name) != 0) {
        return 0;
    }
    if (addr) {
        memset(addr, 0, 16);
        memcpy(addr, buf, family == AF_INET ? 4 : 16);
    }
    return family;
}

const char *acp_ident_ip_text(apr_pool_t *p, int family, const unsigned char *addr)
{
    char buf[INET6_ADDRSTRLEN];

    if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, addr, buf, sizeof(buf))) {
        return NULL;
    }
    return apr_pstrdup(p, buf);
}

const char *acp_ident_type(const char *normalized)
{
    return acp_ident_ip_parse(normalized, NULL) ? "ip" : "dns";
}

const char *acp_ident_ip_reverse(apr_pool_t *p, const char *ip)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char a[16];
    int family = acp_ident_ip_parse(ip, a), i;

    if (family == AF_INET) {
        return apr_psprintf(p, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    }
    if (family == AF_INET6) {
        char *s = apr_palloc(p, 32 * 2 + sizeof("ip6.arpa")), *w = s;
        for (i = 15; i >= 0; i--) {
            *w++ = hex[a[i] & 0x0f];
            *w++ = '.';
            *w++ = hex[a[i] >> 4];
            *w++ = '.';
        }
        memcpy(w, "ip6.arpa", sizeof("ip6.arpa"));
        return s;
    }
    return NULL;
}

static acp_problem_t *ip_problem(apr_pool_t *p, acp_errkind_t kind, const char *value,
                                 const char *why)
{
    acp_problem_t *prob = acp_problem(p, kind, "'%s' is not a valid IP identifier: %s",
                                      shown(p, value), why);
    prob->ident = apr_pstrdup(p, value);
    prob->ident_type = "ip";
    return prob;
}

/* RFC 8738 §3: the value is the textual form of RFC 1123 §2.1 (IPv4) or RFC 5952 §4
 * (IPv6), exactly; anything else is a malformed request. An IPv4-mapped IPv6 address is
 * an IPv4 host under another name: refused, its IPv4 form is the identifier. */
static acp_problem_t *normalize_ip(apr_pool_t *p, const char *value, const char **out)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char buf[16];
    char canon[INET6_ADDRSTRLEN];
    int family;
    size_t len;

    if (!value || !*value) {
        return ip_problem(p, ACP_ERR_MALFORMED, "", "the value is empty");
    }
    len = strlen(value);
    if (strchr(value, '%')) {
        return ip_problem(p, ACP_ERR_MALFORMED, value,
                          "zone identifiers ('%') are not part of an address");
    }
    if (value[0] == '[' || strchr(value, '/')) {
        return ip_problem(p, ACP_ERR_MALFORMED, value,
                          "give the bare address (no brackets, no prefix length)");
    }
    family = strchr(value, ':') ? AF_INET6 : AF_INET;
    if (len >= sizeof(canon) || inet_pton(family, value, buf) != 1) {
        return ip_problem(p, ACP_ERR_MALFORMED, value,
                          family == AF_INET6 ? "it is not an IPv6 address"
                                             : "it is not an IPv4 address in dotted-decimal "
                                               "form (four decimal numbers, no leading zeros)");
    }
    if (!inet_ntop(family, buf, canon, sizeof(canon))) {
        return ip_problem(p, ACP_ERR_MALFORMED, value, "it cannot be printed back");
    }
    if (strcmp(canon, value) != 0) {
        return ip_problem(p, ACP_ERR_MALFORMED, value,
                          apr_psprintf(p, "not in canonical form (RFC 8738 §3, RFC 5952 §4: "
                                          "'%s')", canon));
    }
    if (family == AF_INET6 && memcmp(buf, mapped, sizeof(mapped)) == 0) {
        return ip_problem(p, ACP_ERR_REJECTED_IDENTIFIER, value,
                          apr_psprintf(p, "an IPv4-mapped IPv6 address; ask for '%s' instead",
                                       acp_ident_ip_text(p, AF_INET, buf + 12)));
    }
    if (out) {
        *out = apr_pstrdup(p, canon);
    }
    return NULL;
}

acp_problem_t *acp_ident_normalize(apr_pool_t *p, const char *type, const char *value,
                                   const char **out)
{
    char *s, *host;
    const char *why;
    size_t len, i;
    int wildcard = 0, nlabels = 0;

    if (out) {
        *out = NULL;
    }
    if (type && strcmp(type, "ip") == 0) {
        return normalize_ip(p, value, out);
    }
    if (!type || strcmp(type, "dns") != 0) {
        acp_problem_t *prob = acp_problem(p, ACP_ERR_UNSUPPORTED_IDENTIFIER,
                                          "identifier type '%s' is not supported "
                                          "(only 'dns' and 'ip')",
                                          type ? shown(p, type) : "(none)");
        if (value) {
            prob->ident = apr_pstrdup(p, value);
        }
        return prob;
    }
    if (!value || !*value) {
        return acp_problem(p, ACP_ERR_REJECTED_IDENTIFIER, "the identifier value is empty");
    }
    s = apr_pstrdup(p, value);
    len = strlen(s);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            return rejected(p, value, "it contains non-ASCII characters (use the "
                                      "xn-- A-label form)");
        }
        if (c >= 'A' && c <= 'Z') {
            s[i] = (char)(c - 'A' + 'a');
        }
    }
    if (s[len - 1] == '.') {
        s[--len] = '\0';
    }
    if (len == 0) {
        return rejected(p, value, "it is empty");
    }
    if (len > MAX_NAME_LEN) {
        return rejected(p, value, apr_psprintf(p, "it is longer than %d characters",
                                               MAX_NAME_LEN));
    }
    if (looks_like_ip(s)) {
        acp_problem_t *prob = acp_problem(p, ACP_ERR_REJECTED_IDENTIFIER,
                                          "'%s' is not a valid DNS name: it looks like an "
                                          "IP address (use an identifier of type 'ip')",
                                          shown(p, value));
        prob->ident = apr_pstrdup(p, value);
        return prob;
    }
    host = s;
    if (s[0] == '*' && s[1] == '.') {
        wildcard = 1;
        host = s + 2;
    }
    if (strchr(host, '*')) {
        return rejected(p, value, "a wildcard is allowed only as the whole leftmost "
                                  "label ('*.')");
    }
    why = check_labels(p, host, &nlabels);
    if (why) {
        return rejected(p, value, why);
    }
    if (wildcard && nlabels < 2) {
        return rejected(p, value, "a wildcard needs at least two labels after '*.'");
    }
    if (nlabels < 2) {
        return rejected(p, value, "it needs at least two labels");
    }
    if (out) {
        *out = s;
    }
    return NULL;
}

int acp_ident_is_wildcard(const char *normalized)
{
    return normalized && normalized[0] == '*' && normalized[1] == '.';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *acp_ident_names_key(apr_pool_t *p, const apr_array_header_t *names)
{
    const char **v;
    char *key, *w;
    size_t total = 0, i, n, kept = 0;

    if (!names || names->nelts <= 0) {
        return "";
    }
    n = (size_t)names->nelts;
    v = apr_palloc(p, n * sizeof(*v));
    for (i = 0; i < n; i++) {
        const char *src = APR_ARRAY_IDX(names, i, const char *);
        /* an IP identifier is marked, so it can never meet a dns name of the same text */
        char *c = apr_pstrcat(p, acp_ident_ip_parse(src, NULL) ? "ip:" : "", src ? src : "",
                              NULL);
        char *q;
        for (q = c; *q; q++) {
            if (*q >= 'A' && *q <= 'Z') {
                *q = (char)(*q - 'A' + 'a');
            }
        }
        v[i] = c;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    for (i = 0; i < n; i++) {
        if (kept == 0 || strcmp(v[i], v[kept - 1]) != 0) {
            v[kept++] = v[i];
            total += strlen(v[i]) + 1;
        }
    }
    key = apr_palloc(p, total + 1);
    w = key;
    for (i = 0; i < kept; i++) {
        size_t l = strlen(v[i]);
        if (i > 0) {
            *w++ = ',';
        }
        memcpy(w, v[i], l);
        w += l;
    }
    *w = '\0';
    return key;
}
