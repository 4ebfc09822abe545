/* Payment requests: QR codes, Keccak-256 / EIP-55 / EIP-681, money, prices, webhook
 * signatures and the per-client finalize problem detail. Pure functions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <qrencode.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_pay.h"

/* ---- a growable string in a pool ---------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    char *b;
    size_t len, cap;
} sbuf_t;

static void sb_init(sbuf_t *sb, apr_pool_t *p, size_t cap)
{
    sb->p = p;
    sb->cap = cap ? cap : 64;
    sb->b = apr_palloc(p, sb->cap);
    sb->len = 0;
    sb->b[0] = '\0';
}

static void sb_addn(sbuf_t *sb, const char *s, size_t n)
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

static void sb_add(sbuf_t *sb, const char *s)
{
    sb_addn(sb, s, strlen(s));
}

/* ---- QR codes --------------------------------------------------------------------------- */

/* The QR of data with a quiet zone of `quiet` modules: *size x *size bytes, 1 = dark. */
static unsigned char *qr_matrix(apr_pool_t *p, const char *data, int quiet, int *size)
{
    QRcode *qr;
    unsigned char *m;
    int w, n, x, y;
    size_t len = data ? strlen(data) : 0;

    if (len == 0 || len > 7089) {
        return NULL;
    }
    qr = QRcode_encodeData((int)len, (const unsigned char *)data, 0, QR_ECLEVEL_L);
    if (!qr) {
        return NULL;
    }
    w = qr->width;
    n = w + 2 * quiet;
    m = apr_pcalloc(p, (apr_size_t)n * (apr_size_t)n);
    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x++) {
            m[(size_t)(y + quiet) * (size_t)n + (size_t)(x + quiet)] =
                qr->data[(size_t)y * (size_t)w + (size_t)x] & 1;
        }
    }
    QRcode_free(qr);
    *size = n;
    return m;
}

#define QR_TEXT_QUIET 2
#define QR_SVG_QUIET 4

char *acp_qr_text(apr_pool_t *p, const char *data, int ascii)
{
    int n, x, y;
    unsigned char *m = qr_matrix(p, data, QR_TEXT_QUIET, &n);
    sbuf_t sb;

    if (!m) {
        return NULL;
    }
    if (ascii) {
        sb_init(&sb, p, (size_t)n * (size_t)(2 * n + 1) + 1);
        for (y = 0; y < n; y++) {
            if (y) {
                sb_addn(&sb, "\n", 1);
            }
            for (x = 0; x < n; x++) {
                /* inverted: light modules are drawn (light text on a dark terminal) */
                sb_addn(&sb, m[(size_t)y * (size_t)n + (size_t)x] ? "  " : "##", 2);
            }
        }
        return sb.b;
    }
    sb_init(&sb, p, (size_t)((n + 1) / 2) * (size_t)(3 * n + 1) + 1);
    for (y = 0; y < n; y += 2) {
        if (y) {
            sb_addn(&sb, "\n", 1);
        }
        for (x = 0; x < n; x++) {
            int top = !m[(size_t)y * (size_t)n + (size_t)x];
            /* below the last module row is the terminal's own dark background */
            int bot = y + 1 < n && !m[(size_t)(y + 1) * (size_t)n + (size_t)x];
            if (top && bot) {
                sb_add(&sb, "\xe2\x96\x88");     /* U+2588 full block */
            }
            else if (top) {
                sb_add(&sb, "\xe2\x96\x80");     /* U+2580 upper half block */
            }
            else if (bot) {
                sb_add(&sb, "\xe2\x96\x84");     /* U+2584 lower half block */
            }
            else {
                sb_addn(&sb, " ", 1);
            }
        }
    }
    return sb.b;
}

char *acp_qr_svg(apr_pool_t *p, const char *data, int module_px)
{
    int n, x, y;
    unsigned char *m = qr_matrix(p, data, QR_SVG_QUIET, &n);
    sbuf_t sb;

    if (!m) {
        return NULL;
    }
    if (module_px < 1) {
        module_px = 1;
    }
    if (module_px > 64) {
        module_px = 64;
    }
    sb_init(&sb, p, 4096);
    sb_add(&sb, apr_psprintf(p,
                             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                             "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                             "shape-rendering=\"crispEdges\">\n"
                             "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
                             "<path fill=\"#000000\" d=\"",
                             n * module_px, n * module_px, n, n, n, n));
    for (y = 0; y < n; y++) {
        for (x = 0; x < n;) {
            int run = 0;
            while (x + run < n && m[(size_t)y * (size_t)n + (size_t)(x + run)]) {
                run++;
            }
            if (run) {
                sb_add(&sb, apr_psprintf(p, "M%d %dh%dv1h-%dz", x, y, run, run));
                x += run;
            }
            else {
                x++;
            }
        }
    }
    sb_add(&sb, "\"/>\n</svg>\n");
    return sb.b;
}

/* ---- Keccak-256 --------------------------------------------------------------------------- */

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL
};
/* rho rotation offsets and pi lane order, in the order the combined rho-pi step walks */
static const unsigned keccak_rotc[24] = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44
};
static const unsigned keccak_piln[24] = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1
};

static uint64_t rotl64(uint64_t v, unsigned n)
{
    return (v << n) | (v >> (64 - n));
}

static void keccak_f1600(uint64_t st[25])
{
    uint64_t bc[5], t;
    int round, i, j;

    for (round = 0; round < 24; round++) {
        /* theta */
        for (i = 0; i < 5; i++) {
            bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        }
        for (i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ rotl64(bc[(i + 1) % 5], 1);
            for (j = 0; j < 25; j += 5) {
                st[j + i] ^= t;
            }
        }
        /* rho and pi */
        t = st[1];
        for (i = 0; i < 24; i++) {
            j = (int)keccak_piln[i];
            bc[0] = st[j];
            st[j] = rotl64(t, keccak_rotc[i]);
            t = bc[0];
        }
        /* chi */
        for (j = 0; j < 25; j += 5) {
            for (i = 0; i < 5; i++) {
                bc[i] = st[j + i];
            }
            for (i = 0; i < 5; i++) {
                st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
            }
        }
        /* iota */
        st[0] ^= keccak_rc[round];
    }
}

#define KECCAK256_RATE 136

static void keccak_absorb(uint64_t st[25], const unsigned char *block)
{
    int i, b;
    for (i = 0; i < KECCAK256_RATE / 8; i++) {
        uint64_t lane = 0;
        for (b = 7; b >= 0; b--) {
            lane = (lane << 8) | block[i * 8 + b];   /* little-endian lanes */
        }
        st[i] ^= lane;
    }
    keccak_f1600(st);
}

void acp_keccak_sponge256(const unsigned char *data, size_t len, unsigned char pad,
                          unsigned char out[32])
{
    uint64_t st[25];
    unsigned char last[KECCAK256_RATE];
    size_t rem;
    int i;

    memset(st, 0, sizeof(st));
    while (len >= KECCAK256_RATE) {
        keccak_absorb(st, data);
        data += KECCAK256_RATE;
        len -= KECCAK256_RATE;
    }
    rem = len;
    memset(last, 0, sizeof(last));
    if (rem) {
        memcpy(last, data, rem);
    }
    last[rem] ^= pad;
    last[KECCAK256_RATE - 1] ^= 0x80;
    keccak_absorb(st, last);
    for (i = 0; i < 32; i++) {
        out[i] = (unsigned char)(st[i / 8] >> (8 * (i % 8)));
    }
}

void acp_keccak256(const unsigned char *data, size_t len, unsigned char out[32])
{
    acp_keccak_sponge256(data, len, 0x01, out);   /* Keccak padding, not SHA-3's 0x06 */
}

/* ---- Ethereum addresses and EIP-681 --------------------------------------------------- */

static int hexval(int c)
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

/* "0x" + 40 hex digits in any case: the checksummed form into out[43]; -1 otherwise. */
static int eth_checksum(const char *address, char out[43])
{
    char lower[40];
    unsigned char h[32];
    int i;

    if (!address || address[0] != '0' || (address[1] != 'x' && address[1] != 'X')) {
        return -1;
    }
    address += 2;
    for (i = 0; i < 40; i++) {
        if (hexval((unsigned char)address[i]) < 0) {
            return -1;
        }
        lower[i] = (char)apr_tolower(address[i]);
    }
    if (address[40] != '\0') {
        return -1;
    }
    acp_keccak256((const unsigned char *)lower, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (i = 0; i < 40; i++) {
        int nib = (i % 2) ? (h[i / 2] & 0x0f) : (h[i / 2] >> 4);
        out[2 + i] = (lower[i] >= 'a' && nib >= 8) ? (char)apr_toupper(lower[i]) : lower[i];
    }
    out[42] = '\0';
    return 0;
}

char *acp_eth_checksum(apr_pool_t *p, const char *address)
{
    char out[43];
    return eth_checksum(address, out) == 0 ? apr_pstrdup(p, out) : NULL;
}

int acp_eth_address_valid(const char *address)
{
    char out[43];
    /* the "0x" prefix must be lower case; then every letter must match the checksum */
    return address && address[0] == '0' && address[1] == 'x' && eth_checksum(address, out) == 0 &&
           strcmp(out, address) == 0;
}

#define DEC_MAX 64   /* 40 + 19 digits of product, + carry room */

char *acp_eip681_uri(apr_pool_t *p, const char *address, long long chain_id,
                     long long amount_minor, const char *wei_per_minor, long long unique)
{
    char addr[43], amt[24], wei[DEC_MAX + 1];
    int a[DEC_MAX], r[DEC_MAX];      /* little-endian decimal digits */
    size_t wlen, alen, i, j;
    int top, k;

    if (eth_checksum(address, addr) != 0 || chain_id < 1 || amount_minor < 0 ||
        unique < 0 || unique > 999999 || !wei_per_minor) {
        return NULL;
    }
    wlen = strlen(wei_per_minor);
    if (wlen == 0 || wlen > 40) {
        return NULL;
    }
    for (i = 0; i < wlen; i++) {
        if (wei_per_minor[i] < '0' || wei_per_minor[i] > '9') {
            return NULL;
        }
        a[i] = wei_per_minor[wlen - 1 - i] - '0';
    }
    snprintf(amt, sizeof(amt), "%lld", amount_minor);
    alen = strlen(amt);
    memset(r, 0, sizeof(r));
    /* schoolbook product; every partial sum stays far below INT_MAX */
    for (i = 0; i < wlen; i++) {
        for (j = 0; j < alen; j++) {
            r[i + j] += a[i] * (amt[alen - 1 - j] - '0');
        }
    }
    /* + unique, then normalise the carries */
    for (i = 0; unique > 0; i++, unique /= 10) {
        r[i] += (int)(unique % 10);
    }
    for (i = 0; i + 1 < DEC_MAX; i++) {
        r[i + 1] += r[i] / 10;
        r[i] %= 10;
    }
    top = DEC_MAX - 1;
    while (top > 0 && r[top] == 0) {
        top--;
    }
    for (k = top, i = 0; k >= 0; k--, i++) {
        wei[i] = (char)('0' + r[k]);
    }
    wei[i] = '\0';
    return apr_pstrcat(p, "ethereum:", addr, "@",
                       apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)chain_id),
                       "?value=", wei, NULL);
}

/* ---- money and prices ------------------------------------------------------------------ */

static const struct {
    const char *code;
    int exponent;
} currency_exponents[] = {
    /* ISO 4217 currencies without minor units */
    {"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"ISK", 0}, {"JPY", 0}, {"KMF", 0},
    {"KRW", 0}, {"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0},
    {"XAF", 0}, {"XOF", 0}, {"XPF", 0},
    /* three-decimal currencies */
    {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"TND", 3},
    /* four decimals */
    {"CLF", 4}, {"UYW", 4},
};

int acp_currency_exponent(const char *currency)
{
    size_t i;
    if (!currency) {
        return 2;
    }
    for (i = 0; i < sizeof(currency_exponents) / sizeof(currency_exponents[0]); i++) {
        if (strcasecmp(currency, currency_exponents[i].code) == 0) {
            return currency_exponents[i].exponent;
        }
    }
    return 2;
}

char *acp_money(apr_pool_t *p, long long minor, const char *currency)
{
    int e = acp_currency_exponent(currency), i;
    unsigned long long mag = minor < 0 ? 0ULL - (unsigned long long)minor
                                       : (unsigned long long)minor;
    unsigned long long scale = 1;
    char num[48];
    const char *sep = (currency && *currency) ? " " : "";

    for (i = 0; i < e; i++) {
        scale *= 10;
    }
    if (e == 0) {
        snprintf(num, sizeof(num), "%s%llu", minor < 0 ? "-" : "", mag);
    }
    else {
        snprintf(num, sizeof(num), "%s%llu.%0*llu", minor < 0 ? "-" : "", mag / scale, e,
                 mag % scale);
    }
    return apr_pstrcat(p, num, sep, currency ? currency : "", NULL);
}

long long acp_price(const acp_price_cfg_t *cfg, const apr_array_header_t *names)
{
    long long n = names ? names->nelts : 0, wild = 0, extra, total, part;
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        if (name && name[0] == '*' && name[1] == '.') {
            wild++;
        }
    }
    extra = n > 1 ? n - 1 : 0;
    total = cfg->base;
    if (__builtin_mul_overflow(cfg->per_extra_name, extra, &part) ||
        __builtin_add_overflow(total, part, &total) ||
        __builtin_mul_overflow(cfg->per_wildcard, wild, &part) ||
        __builtin_add_overflow(total, part, &total)) {
        return -1;
    }
    return total;
}

/* ---- webhook signatures ---------------------------------------------------------------- */

#define WEBHOOK_HEADER_MAX 8192

static int webhook_mac(const unsigned char *secret, size_t secret_len, const char *t,
                       size_t tlen, const char *body, size_t body_len, unsigned char mac[32],
                       apr_pool_t *p)
{
    unsigned char *msg = apr_palloc(p, tlen + 1 + body_len + 1);
    unsigned int maclen = 0;
    static const unsigned char nokey[1] = {0};

    memcpy(msg, t, tlen);
    msg[tlen] = '.';
    if (body_len) {
        memcpy(msg + tlen + 1, body, body_len);
    }
    if (!HMAC(EVP_sha256(), secret ? (const void *)secret : nokey, (int)secret_len, msg,
              tlen + 1 + body_len, mac, &maclen) || maclen != 32) {
        return -1;
    }
    return 0;
}

char *acp_webhook_sign(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *body, size_t body_len, long long t)
{
    char ts[24];
    unsigned char mac[32];

    snprintf(ts, sizeof(ts), "%lld", t);
    if (webhook_mac(secret, secret_len, ts, strlen(ts), body, body_len, mac, p) != 0) {
        return NULL;
    }
    return apr_pstrcat(p, "t=", ts, ",v1=", acp_hex(p, mac, 32), NULL);
}

int acp_webhook_verify(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *header, const char *body, size_t body_len, long long now,
                       int tolerance, const char **why)
{
    const char *s, *t = NULL;
    size_t tlen = 0, hlen;
    unsigned char *sigs, mac[32];
    int nsig = 0, maxsig, match = 0, i;
    long long ts = 0, diff;
    const char *dummy;

    if (!why) {
        why = &dummy;
    }
    if (!header || !*header) {
        *why = "missing signature header";
        return -1;
    }
    hlen = strlen(header);
    if (hlen > WEBHOOK_HEADER_MAX) {
        *why = "malformed signature header";
        return -1;
    }
    maxsig = (int)(hlen / 67) + 1;                 /* "v1=" + 64 hex */
    sigs = apr_palloc(p, (apr_size_t)maxsig * 32);
    s = header;
    while (*s) {
        const char *k, *v, *end;
        size_t klen, vlen;

        while (*s == ' ' || *s == '\t') {
            s++;
        }
        k = s;
        end = strchr(s, ',');
        if (!end) {
            end = s + strlen(s);
        }
        v = memchr(k, '=', (size_t)(end - k));
        if (!v) {
            *why = "malformed signature header";
            return -1;
        }
        klen = (size_t)(v - k);
        v++;
        vlen = (size_t)(end - v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
            vlen--;
        }
        if (klen == 1 && k[0] == 't') {
            if (t || vlen == 0 || vlen > 15) {
                *why = "malformed signature header";
                return -1;
            }
            for (i = 0; i < (int)vlen; i++) {
                if (v[i] < '0' || v[i] > '9') {
                    *why = "malformed signature header";
                    return -1;
                }
                ts = ts * 10 + (v[i] - '0');
            }
            t = v;
            tlen = vlen;
        }
        else if (klen == 2 && k[0] == 'v' && k[1] == '1') {
            if (vlen != 64 || nsig >= maxsig) {
                *why = "malformed signature header";
                return -1;
            }
            for (i = 0; i < 32; i++) {
                int hi = hexval((unsigned char)v[2 * i]), lo = hexval((unsigned char)v[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                    *why = "malformed signature header";
                    return -1;
                }
                sigs[nsig * 32 + i] = (unsigned char)(hi << 4 | lo);
            }
            nsig++;
        }
        /* other keys (v0, future schemes) are ignored */
        s = *end ? end + 1 : end;
    }
    if (!t || nsig == 0) {
        *why = "malformed signature header";
        return -1;
    }
    if (tolerance < 0) {
        tolerance = 0;
    }
    if (__builtin_sub_overflow(now, ts, &diff)) {
        *why = "timestamp in the future";
        return -1;
    }
    if (diff > tolerance) {
        *why = "timestamp too old";
        return -1;
    }
    if (diff < -(long long)tolerance) {
        *why = "timestamp in the future";
        return -1;
    }
    if (webhook_mac(secret, secret_len, t, tlen, body, body_len, mac, p) != 0) {
        *why = "signature mismatch";
        return -1;
    }
    for (i = 0; i < nsig; i++) {
        match |= CRYPTO_memcmp(mac, sigs + i * 32, 32) == 0;   /* no early exit */
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!match) {
        *why = "signature mismatch";
        return -1;
    }
    *why = NULL;
    return 0;
}

/* ---- ACME clients ----------------------------------------------------------------------- */

static int ci_prefix(const char *s, const char *pre)
{
    return strncasecmp(s, pre, strlen(pre)) == 0;
}

static int ci_contains(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        if (strncasecmp(s, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* First match wins. prefix: the User-Agent begins with it; contains: it occurs anywhere
 * (both case-insensitive; a row may require both). See /work/shared/CLIENTS.md. */
static const struct {
    const char *prefix;
    const char *contains;
    acp_client_profile_t profile;
} client_table[] = {
    /* certbot renew: problem __str__ escapes non-ASCII (a half block shows as \u2580) */
    {"CertbotACMEClient/", "(renew;", {"certbot-renew", 1, 0, 0, 0, 1}},
    /* certbot certonly/run: "title :: detail" verbatim for urn:ietf types, UTF-8 kept --
     * in its source; Debian 12's certbot 2.1 on Python 3.11 turns every ACME problem
     * raised at finalize into "AttributeError: can't set attribute" (josepy's immutable
     * Error under contextlib), so the request is reported on the challenge, whose error
     * it prints as "Domain / Type / Detail" */
    {"CertbotACMEClient/", NULL, {"certbot", 0, 0, 0, 0, 1}},
    /* lego: "acme: error: 403 :: … :: <detail>" verbatim, newlines kept */
    {"lego-cli/", NULL, {"lego", 0, 0, 0, 0, 0}},
    /* acme.sh: raw body through printf %b, so JSON "\n" escapes become newlines */
    {"acme.sh/", NULL, {"acme.sh", 0, 0, 0, 0, 0}},
    /* dehydrated: on non-2xx cats headers and raw body and exits without parsing it
     * (checked in its http_request()): text/plain prints the QR; JSON would show "\n" */
    {"dehydrated/", NULL, {"dehydrated", 0, 1, 0, 0, 0}},
    /* uacme: JSON strings printed raw, escapes not decoded; non-JSON body not shown */
    {"uacme/", NULL, {"uacme", 0, 0, 1, 0, 0}},
    /* acme-tiny: JSON shown as dict repr (\n literal); non-JSON 403 body printed verbatim */
    {"acme-tiny", NULL, {"acme-tiny", 0, 1, 0, 0, 0}},
    /* mod_md ("Apache/2.4.x (Debian) mod_md/2.x"): one escaped log line; treats
     * userActionRequired as input-related and waits 24 h, so send a retryable type */
    {NULL, "mod_md/", {"mod_md", 0, 0, 1, 1, 0}},
    /* Caddy ("Caddy/2 CertMagic acmez …"): logged, newlines escaped by the logger */
    {NULL, "CertMagic", {"caddy", 0, 0, 1, 0, 0}},
    /* cert-manager: detail lands in the Order's status, a single line */
    {NULL, "cert-manager/", {"cert-manager", 0, 0, 1, 0, 0}},
    /* win-acme: prints detail with newlines (Unicode console) */
    {"win-acme/", NULL, {"win-acme", 0, 0, 0, 0, 0}},
    /* Posh-ACME: the exception message is detail, newlines kept */
    {"Posh-ACME/", NULL, {"posh-acme", 0, 0, 0, 0, 0}},
};

/* anything else: detail verbatim with the Unicode QR, the RFC 8555 baseline */
static const acp_client_profile_t default_profile = {"default", 0, 0, 0, 0, 0};

const acp_client_profile_t *acp_client_profile(const char *user_agent)
{
    size_t i;

    if (!user_agent) {
        return &default_profile;
    }
    for (i = 0; i < sizeof(client_table) / sizeof(client_table[0]); i++) {
        if (client_table[i].prefix && !ci_prefix(user_agent, client_table[i].prefix)) {
            continue;
        }
        if (client_table[i].contains && !ci_contains(user_agent, client_table[i].contains)) {
            continue;
        }
        return &client_table[i].profile;
    }
    return &default_profile;
}

/* ---- the problem detail ---------------------------------------------------------------- */

/* s with control characters (and, when ascii, every byte >= 0x80) replaced by '?'. */
static const char *clean(apr_pool_t *p, const char *s, int ascii)
{
    char *o;
    size_t i;

    if (!s) {
        return "";
    }
    o = apr_pstrdup(p, s);
    for (i = 0; o[i]; i++) {
        unsigned char c = (unsigned char)o[i];
        if (c < 0x20 || c == 0x7f || (ascii && c >= 0x80)) {
            o[i] = '?';
        }
    }
    return o;
}

/* Each Ethereum option: its amount in human units, its own QR, its URI. */
static void eth_options(sbuf_t *sb, apr_pool_t *p, const apr_array_header_t *opts,
                        const acp_client_profile_t *profile)
{
    int i, ascii = profile->ascii_qr;

    for (i = 0; i < opts->nelts; i++) {
        const acp_eth_option_t *o = &APR_ARRAY_IDX(opts, i, acp_eth_option_t);
        const char *sym = clean(p, o->symbol, ascii), *qr;

        if (!o->uri || !*o->uri || !o->amount) {
            continue;
        }
        qr = profile->no_qr ? NULL : acp_qr_text(p, o->uri, ascii);
        sb_add(sb, "\nEthereum (");
        sb_add(sb, sym);
        sb_add(sb, "): ");
        sb_add(sb, clean(p, o->amount, ascii));
        sb_add(sb, " ");
        sb_add(sb, sym);
        sb_add(sb, "\n");
        if (qr) {
            sb_add(sb, qr);
            sb_add(sb, "\n");
        }
        sb_add(sb, "Ethereum: ");
        sb_add(sb, clean(p, o->uri, ascii));
        sb_add(sb, "\n");
    }
    sb_add(sb, "\n");
}

char *acp_pay_detail(apr_pool_t *p, const acp_pay_request_t *req,
                     const acp_client_profile_t *profile)
{
    int ascii;
    const char *link, *names, *qr = NULL;
    sbuf_t sb;

    if (!req) {
        return NULL;
    }
    if (!profile) {
        profile = &default_profile;
    }
    ascii = profile->ascii_qr;
    link = clean(p, req->link, ascii);
    names = clean(p, req->order_names, ascii);
    if (!profile->no_qr) {
        const char *data = req->qr_data ? req->qr_data : req->link;
        if (data && *data) {
            qr = acp_qr_text(p, data, ascii);
        }
    }
    sb_init(&sb, p, 4096);
    sb_add(&sb, "\nPayment required: ");
    sb_add(&sb, clean(p, acp_money(p, req->amount_minor, req->currency), ascii));
    if (*names) {
        sb_add(&sb, " for ");
        sb_add(&sb, names);
    }
    if (*link) {
        sb_add(&sb, ascii ? " - pay at " : " \xe2\x80\x94 pay at ");
        sb_add(&sb, link);
    }
    sb_add(&sb, "\n\n");
    if (qr) {
        sb_add(&sb, qr);
        sb_add(&sb, "\n\n");
    }
    if (req->qr_data && *req->qr_data && (!req->link || strcmp(req->qr_data, req->link) != 0)) {
        /* the provider's checkout the QR encodes (a weixin:// code_url cannot be opened
         * from a terminal, but can be pasted into a QR generator or the staff console) */
        sb_add(&sb, "Checkout: ");
        sb_add(&sb, clean(p, req->qr_data, ascii));
        sb_add(&sb, "\n");
    }
    if (*link) {
        sb_add(&sb, "Pay at: ");
        sb_add(&sb, link);
        sb_add(&sb, "\n");
    }
    if (req->eth_options && req->eth_options->nelts > 0) {
        eth_options(&sb, p, req->eth_options, profile);
    }
    else if (req->eip681 && *req->eip681) {
        sb_add(&sb, "Ethereum: ");
        sb_add(&sb, clean(p, req->eip681, ascii));
        sb_add(&sb, "\n");
    }
    sb_add(&sb, "Pay, then run the same command again.");
    return sb.b;
}
