/* Payment providers: the registry and the helpers every provider shares (HTTP through
 * libcurl with timeouts, form encoding, exact decimal amounts, secrets from files). */
#include <string.h>
#include <curl/curl.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "acp_provider.h"
#include "acp_util.h"

const acp_provider_t *acp_provider_find(const apr_array_header_t *providers, const char *name)
{
    int i;

    if (!providers || !name) {
        return NULL;
    }
    for (i = 0; i < providers->nelts; i++) {
        const acp_provider_t *pv = APR_ARRAY_IDX(providers, i, const acp_provider_t *);
        if (!strcmp(pv->name, name)) {
            return pv;
        }
    }
    return NULL;
}

int acp_provider_name_ok(const char *name)
{
    size_t n;

    for (n = 0; name[n]; n++) {
        if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9'))) {
            return 0;
        }
    }
    /* <base>/pay/i/<invoice> and <base>/pay/webhook are taken */
    return n >= 1 && n <= 16 && strcmp(name, "i") != 0 && strcmp(name, "webhook") != 0;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static size_t http_write(char *ptr, size_t size, size_t nmemb, void *baton)
{
    acp_buf_t *b = baton;
    size_t n = size * nmemb;

    if (n > ACP_PROVIDER_MAX_ANSWER - b->len) {
        return 0; /* too large: curl stops with a write error */
    }
    acp_buf_addn(b, ptr, n);
    return n;
}

apr_status_t acp_provider_http(apr_pool_t *p, const char *url, const char *const *headers,
                               const char *body, int timeout_ms, long *status,
                               const char **answer, size_t *len, const char **err)
{
    CURL *h;
    struct curl_slist *hdrs = NULL;
    acp_buf_t buf;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode cc;
    apr_status_t rv = APR_SUCCESS;

    *status = 0;
    *answer = NULL;
    *len = 0;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        *err = "not an http(s) URL";
        return APR_EINVAL;
    }
    if (timeout_ms <= 0) {
        *err = "no time left";
        return APR_TIMEUP;
    }
    h = curl_easy_init();
    if (!h) {
        *err = "curl_easy_init failed";
        return APR_ENOMEM;
    }
    acp_buf_init(&buf, p, 4096);
    errbuf[0] = '\0';
    for (; headers && *headers; headers++) {
        hdrs = curl_slist_append(hdrs, *headers);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ACP_PROVIDER_MAX_ANSWER);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_acme_pay");
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        *err = apr_pstrdup(p, *errbuf ? errbuf : curl_easy_strerror(cc));
        rv = cc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
    }
    else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        *answer = buf.b;
        *len = buf.len;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rv;
}

/* ---- forms ---------------------------------------------------------------------------- */

char *acp_form_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i;
    char *out = apr_palloc(p, 3 * n + 1), *o = out;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '*') {
            *o++ = (char)c;
        }
        else if (c == ' ') {
            *o++ = '+';
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Decode one form component [s, s+n): NULL on a bad escape or a decoded NUL. */
static char *form_decode(apr_pool_t *p, const char *s, size_t n)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n) {
                return NULL;
            }
            hi = acp_hexval((unsigned char)s[i + 1]);
            lo = acp_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        }
        else if (s[i] == '\0') {
            return NULL;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

apr_table_t *acp_form_parse(apr_pool_t *p, const char *body, size_t len)
{
    apr_table_t *t = apr_table_make(p, 32);
    const char *s = body, *end = body + len;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s)), *eq;
        const char *stop = amp ? amp : end;
        char *name, *value;
        if (stop == s) {
            s = stop + 1; /* empty component ("a=1&&b=2", a trailing '&') */
            continue;
        }
        eq = memchr(s, '=', (size_t)(stop - s));
        name = form_decode(p, s, (size_t)((eq ? eq : stop) - s));
        value = eq ? form_decode(p, eq + 1, (size_t)(stop - eq - 1)) : apr_pstrdup(p, "");
        if (!name || !value || !*name || apr_table_get(t, name)) {
            return NULL;
        }
        apr_table_setn(t, name, value);
        s = stop + 1;
    }
    return t;
}

/* ---- amounts -------------------------------------------------------------------------- */

int acp_decimal_to_minor(const char *s, int exponent, long long *minor)
{
    long long v = 0;
    int decimals = 0, digits = 0, point = 0;

    if (!s || !*s) {
        return -1;
    }
    for (; *s; s++) {
        if (*s == '.') {
            if (point || !digits) {
                return -1;
            }
            point = 1;
            continue;
        }
        if (*s < '0' || *s > '9') {
            return -1;
        }
        if (point && ++decimals > exponent) {
            return -1;
        }
        if (v > (9000000000000000000LL - 9) / 10) {
            return -1;
        }
        v = v * 10 + (*s - '0');
        digits++;
    }
    if (point && decimals == 0) {
        return -1; /* "88." */
    }
    for (; decimals < exponent; decimals++) {
        if (v > 900000000000000000LL) {
            return -1;
        }
        v *= 10;
    }
    *minor = v;
    return 0;
}

char *acp_minor_to_decimal(apr_pool_t *p, long long minor, int exponent)
{
    long long div = 1;
    int i;

    for (i = 0; i < exponent; i++) {
        div *= 10;
    }
    if (exponent <= 0) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)minor);
    }
    return apr_psprintf(p, "%s%" APR_INT64_T_FMT ".%0*" APR_INT64_T_FMT, minor < 0 ? "-" : "",
                        (apr_int64_t)((minor < 0 ? -minor : minor) / div), exponent,
                        (apr_int64_t)((minor < 0 ? -minor : minor) % div));
}

int acp_str_equal_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char d = 0;

    if (la != lb) {
        return 0;
    }
    for (i = 0; i < la; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0;
}

apr_status_t acp_provider_read_secret(apr_pool_t *p, const char *path, size_t min_len,
                                      size_t max_len, const char **out, size_t *len,
                                      const char **err)
{
    apr_file_t *f = NULL;
    char *buf = apr_palloc(p, max_len + 2);
    apr_size_t n = max_len + 1;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return APR_ENOENT;
    }
    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS && n == 0) {
        n = 0;
    }
    apr_file_close(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        n--;
    }
    if (n < min_len || n > max_len || memchr(buf, '\0', n)) {
        *err = apr_psprintf(p, "%s: the secret must be %lu to %lu bytes", path,
                            (unsigned long)min_len, (unsigned long)max_len);
        return APR_EINVAL;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return APR_SUCCESS;
}

const char *acp_provider_opt_secret(apr_pool_t *p, const apr_table_t *opts, const char *key,
                               size_t min, size_t max, size_t *len, const char **err)
{
    const char *v = apr_table_get(opts, key), *out = NULL;
    size_t n = 0;

    if (!v) {
        *err = apr_psprintf(p, "%s=file:/path is required", key);
        return NULL;
    }
    if (strncmp(v, "file:", 5) != 0) {
        *err = apr_psprintf(p, "%s must be file:/path (keep secrets out of the config)", key);
        return NULL;
    }
    if (acp_provider_read_secret(p, v + 5, min, max, &out, &n, err) != APR_SUCCESS) {
        *err = apr_psprintf(p, "%s: %s", key, *err);
        return NULL;
    }
    if (len) {
        *len = n;
    }
    return out;
}

apr_status_t acp_provider_opts_check(apr_pool_t *p, const apr_table_t *opts,
                                     const char *const *known, const char **err)
{
    const apr_array_header_t *arr = apr_table_elts(opts);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i, j;

    for (i = 0; i < arr->nelts; i++) {
        for (j = 0; known[j] && strcmp(known[j], e[i].key) != 0; j++) {
        }
        if (!known[j]) {
            *err = apr_psprintf(p, "unknown option %s", e[i].key);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}
