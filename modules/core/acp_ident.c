/* Identifier policy: normalisation and validation of ACME dns identifiers. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
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
    if (!type || strcmp(type, "dns") != 0) {
        acp_problem_t *prob = acp_problem(p, ACP_ERR_UNSUPPORTED_IDENTIFIER,
                                          "identifier type '%s' is not supported "
                                          "(only 'dns')",
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
                                          "IP address (IP identifiers are not supported)",
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
        char *c = apr_pstrdup(p, src ? src : "");
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
