/* Small helpers: problems, base64url, random identifiers, hex, a growable string, time. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "acp_core.h"
#include "acp_util.h"

acp_problem_t *acp_problem(apr_pool_t *p, acp_errkind_t kind, const char *fmt, ...)
{
    acp_problem_t *prob = apr_pcalloc(p, sizeof(*prob));
    va_list ap;
    char small[512], *buf = small;
    int n;

    /* libc's formatter, so the printf format attribute holds (%lld, %zu) */
    prob->kind = kind;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
        small[0] = '\0';
    }
    if ((size_t)n >= sizeof(small)) {
        buf = apr_palloc(p, (apr_size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    else {
        buf = apr_pstrmemdup(p, small, (apr_size_t)n);
    }
    prob->detail = buf;
    return prob;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *acp_b64url_encode(apr_pool_t *p, const unsigned char *data, size_t len)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = ((unsigned)data[i] << 16) | ((unsigned)data[i + 1] << 8) | data[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)data[i] << 16;
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
    }
    else if (len - i == 2) {
        unsigned v = ((unsigned)data[i] << 16) | ((unsigned)data[i + 1] << 8);
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

int acp_b64url_decode(apr_pool_t *p, const char *in, size_t inlen, unsigned char **out,
                      size_t *outlen)
{
    unsigned char *buf;
    size_t i, o = 0;
    unsigned acc = 0;
    int bits = 0;

    if (inlen % 4 == 1) {
        return -1;
    }
    buf = apr_palloc(p, inlen / 4 * 3 + 3);
    for (i = 0; i < inlen; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    /* leftover bits must be zero (canonical encoding) */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}

char *acp_random_id(apr_pool_t *p, int nbytes)
{
    unsigned char buf[64];

    if (nbytes > (int)sizeof(buf)) {
        nbytes = sizeof(buf);
    }
    if (RAND_bytes(buf, nbytes) != 1) {
        abort(); /* no randomness: nothing safe to do */
    }
    {
        char *id = acp_b64url_encode(p, buf, (size_t)nbytes);
        size_t n = strlen(id);
        /* never begin or end with '-': ids are typed as command-line arguments
         * (acme-pay-admin credit HOLDER …) and end up in DNS labels of tests */
        if (n > 0 && id[0] == '-') {
            id[0] = 'A' + (char)(buf[0] % 26);
        }
        if (n > 1 && id[n - 1] == '-') {
            id[n - 1] = 'a' + (char)(buf[nbytes - 1] % 26);
        }
        return id;
    }
}

char *acp_hex(apr_pool_t *p, const unsigned char *data, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    char *out = apr_palloc(p, len * 2 + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = hx[data[i] >> 4];
        out[2 * i + 1] = hx[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

int acp_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void acp_buf_init(acp_buf_t *sb, apr_pool_t *p, size_t cap)
{
    sb->p = p;
    sb->cap = cap ? cap : 64;
    sb->b = apr_palloc(p, sb->cap);
    sb->len = 0;
    sb->b[0] = '\0';
}

void acp_buf_addn(acp_buf_t *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap * 2;
        char *nb;
        while (cap < sb->len + n + 1) {
            cap *= 2;
        }
        nb = apr_palloc(sb->p, cap);
        memcpy(nb, sb->b, sb->len);
        sb->b = nb;
        sb->cap = cap;
    }
    memcpy(sb->b + sb->len, s, n);
    sb->len += n;
    sb->b[sb->len] = '\0';
}

void acp_buf_add(acp_buf_t *sb, const char *s)
{
    acp_buf_addn(sb, s, strlen(s));
}

char *acp_rfc3339(apr_pool_t *p, long long unix_seconds)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    char buf[32];

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}

int acp_rfc3339_parse(const char *s, long long *out)
{
    struct tm tm;
    const char *rest;
    int off = 0;

    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) {
        return -1;
    }
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9') {
            rest++;
        }
    }
    if (*rest == 'Z' || *rest == 'z') {
        rest++;
    }
    else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
        int h = (rest[1] - '0') * 10 + (rest[2] - '0');
        int m = (rest[4] - '0') * 10 + (rest[5] - '0');
        off = (h * 60 + m) * 60;
        if (*rest == '-') {
            off = -off;
        }
        rest += 6;
    }
    else {
        return -1;
    }
    if (*rest != '\0') {
        return -1;
    }
    *out = (long long)timegm(&tm) - off;
    return 0;
}

long long acp_now(void)
{
    return (long long)time(NULL);
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when it is not one (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)) {
            return 0;
        }
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
            (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/* json: 0 for terminal text ("\xNN", "\u00NN"), 1 for JSON ("\u00NN", "\ufffd"). */
static const char *escape_controls(apr_pool_t *p, const char *in, int json)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0, n;
    char *out;
    int dirty = 0, len;

    if (!in) {
        return NULL;
    }
    n = strlen(in);
    while (i < n) {
        len = utf8_len(s + i);
        if (len == 0 || (s[i] < 0x20 && !json) || s[i] == 0x7f ||
            (len == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0)) {
            dirty = 1;
            break;
        }
        i += (size_t)len;
    }
    if (!dirty) {
        return in;
    }
    out = apr_palloc(p, n * 6 + 1); /* at most six characters per input byte */
    for (i = 0; i < n;) {
        len = utf8_len(s + i);
        if (len == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0) {
            /* U+0080..U+009F: a C1 control in UTF-8 */
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[s[i + 1] >> 4];
            out[o + 5] = hex[s[i + 1] & 15];
            o += 6;
            i += 2;
        }
        else if (len == 0 && json) {
            memcpy(out + o, "\\ufffd", 6);
            o += 6;
            i++;
        }
        else if (len == 0 || (s[i] < 0x20 && !json) || s[i] == 0x7f) {
            if (json) {
                memcpy(out + o, "\\u00", 4);
                out[o + 4] = hex[s[i] >> 4];
                out[o + 5] = hex[s[i] & 15];
                o += 6;
            }
            else {
                memcpy(out + o, "\\x", 2);
                out[o + 2] = hex[s[i] >> 4];
                out[o + 3] = hex[s[i] & 15];
                o += 4;
            }
            i++;
        }
        else {
            memcpy(out + o, s + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        }
    }
    out[o] = '\0';
    return out;
}

const char *acp_text_safe(apr_pool_t *p, const char *s)
{
    return escape_controls(p, s, 0);
}

const char *acp_json_safe(apr_pool_t *p, const char *json)
{
    return escape_controls(p, json, 1);
}
