/* Payment requests: QR codes (decoded back with zbarimg), Keccak-256, EIP-55, EIP-681,
 * money, prices, webhook signatures, client profiles and the problem detail. */
#include <stdlib.h>
#include <unistd.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "acp_test.h"
#include "acp_util.h"
#include "acp_pay.h"
#include "acp_qr.h"
#include "acp_keccak.h"
#include "acp_eth.h"
#include "acp_money.h"
#include "acp_webhook.h"

#define PAY_URL "https://pay.example.com/i/AbC123"

/* ---- QR helpers: text back to modules, images, zbarimg ------------------------------ */

/* Split s on "\n" into an array of const char *. */
static apr_array_header_t *lines(apr_pool_t *p, const char *s)
{
    apr_array_header_t *a = apr_array_make(p, 32, sizeof(const char *));
    const char *nl;
    while ((nl = strchr(s, '\n')) != NULL) {
        APR_ARRAY_PUSH(a, const char *) = apr_pstrmemdup(p, s, (apr_size_t)(nl - s));
        s = nl + 1;
    }
    APR_ARRAY_PUSH(a, const char *) = s;
    return a;
}

/* Unicode terminal QR -> square module matrix, 1 = LIGHT (drawn) module. Returns the size,
 * or -1 when the text is not well-formed half blocks. */
static int parse_unicode_qr(apr_pool_t *p, const char *txt, unsigned char **out)
{
    apr_array_header_t *ls = lines(p, txt);
    int w = -1, r, x, h = ls->nelts * 2;
    unsigned char *m = NULL;

    for (r = 0; r < ls->nelts; r++) {
        const char *s = APR_ARRAY_IDX(ls, r, const char *);
        int top[512], bot[512], n = 0;
        while (*s) {
            if (n >= 512) {
                return -1;
            }
            if (*s == ' ') {
                top[n] = 0, bot[n] = 0, s += 1;
            }
            else if (strncmp(s, "\xe2\x96\x88", 3) == 0) {
                top[n] = 1, bot[n] = 1, s += 3;
            }
            else if (strncmp(s, "\xe2\x96\x80", 3) == 0) {
                top[n] = 1, bot[n] = 0, s += 3;
            }
            else if (strncmp(s, "\xe2\x96\x84", 3) == 0) {
                top[n] = 0, bot[n] = 1, s += 3;
            }
            else {
                return -1;
            }
            n++;
        }
        if (w < 0) {
            w = n;
            m = apr_pcalloc(p, (apr_size_t)w * (apr_size_t)(h + 1));
        }
        if (n != w) {
            return -1;
        }
        for (x = 0; x < n; x++) {
            m[(size_t)(2 * r) * (size_t)w + (size_t)x] = (unsigned char)top[x];
            m[(size_t)(2 * r + 1) * (size_t)w + (size_t)x] = (unsigned char)bot[x];
        }
    }
    /* an odd module count leaves one empty half row at the bottom */
    if (h == w + 1) {
        for (x = 0; x < w; x++) {
            if (m[(size_t)w * (size_t)w + (size_t)x]) {
                return -1;
            }
        }
    }
    else if (h != w) {
        return -1;
    }
    *out = m;
    return w;
}

/* ASCII QR ("##" light, "  " dark) -> module matrix, 1 = light. */
static int parse_ascii_qr(apr_pool_t *p, const char *txt, unsigned char **out)
{
    apr_array_header_t *ls = lines(p, txt);
    int n = ls->nelts, r, x;
    unsigned char *m = apr_pcalloc(p, (apr_size_t)n * (apr_size_t)n);

    for (r = 0; r < n; r++) {
        const char *s = APR_ARRAY_IDX(ls, r, const char *);
        if ((int)strlen(s) != 2 * n) {
            return -1;
        }
        for (x = 0; x < n; x++) {
            if (s[2 * x] == '#' && s[2 * x + 1] == '#') {
                m[(size_t)r * (size_t)n + (size_t)x] = 1;
            }
            else if (s[2 * x] != ' ' || s[2 * x + 1] != ' ') {
                return -1;
            }
        }
    }
    *out = m;
    return n;
}

/* A unique temp file name ending in suffix (the file exists, empty). */
static char *tmpname(apr_pool_t *p, const char *suffix)
{
    char *t = apr_pstrcat(p, "/tmp/acp_test_pay_XXXXXX", suffix, NULL);
    int fd = mkstemps(t, (int)strlen(suffix));
    if (fd < 0) {
        return NULL;
    }
    close(fd);
    return t;
}

/* Write the module matrix (1 = light = white) as a binary PGM, each module scale x scale
 * pixels, with border modules of colour border_light around it. */
static int write_pgm(const char *path, const unsigned char *m, int n, int scale, int border,
                     int border_light)
{
    FILE *f = fopen(path, "wb");
    int side = (n + 2 * border) * scale, y, x;

    if (!f) {
        return -1;
    }
    fprintf(f, "P5\n%d %d\n255\n", side, side);
    for (y = 0; y < side; y++) {
        for (x = 0; x < side; x++) {
            int my = y / scale - border, mx = x / scale - border, light;
            if (my < 0 || mx < 0 || my >= n || mx >= n) {
                light = border_light;
            }
            else {
                light = m[(size_t)my * (size_t)n + (size_t)mx];
            }
            fputc(light ? 255 : 0, f);
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Run a shell command and return its standard output, trailing newlines stripped. */
static char *run(apr_pool_t *p, const char *cmd)
{
    FILE *f = popen(cmd, "r");
    char buf[4096];
    size_t n;

    if (!f) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    if (pclose(f) != 0) {
        return NULL;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return apr_pstrdup(p, buf);
}

static char *zbar(apr_pool_t *p, const char *path)
{
    return run(p, apr_pstrcat(p, "zbarimg --raw -q '", path, "' 2>/dev/null", NULL));
}

/* Decode a module matrix through a PGM image and zbarimg. */
static char *decode_modules(apr_pool_t *p, const unsigned char *m, int n, int border_light)
{
    char *path = tmpname(p, ".pgm"), *out = NULL;
    if (path && write_pgm(path, m, n, 8, 4, border_light) == 0) {
        out = zbar(p, path);
    }
    if (path) {
        unlink(path);
    }
    return out;
}

static int at(const unsigned char *m, int n, int y, int x)
{
    return m[(size_t)y * (size_t)n + (size_t)x];
}

static void test_qr_text(apr_pool_t *p)
{
    char *u = acp_qr_text(p, PAY_URL, 0), *a = acp_qr_text(p, PAY_URL, 1);
    unsigned char *mu = NULL, *ma = NULL;
    int nu, na, i, corners_light;

    CHECK(u != NULL);
    CHECK(a != NULL);
    if (!u || !a) {
        return;
    }
    nu = parse_unicode_qr(p, u, &mu);
    na = parse_ascii_qr(p, a, &ma);
    CHECK(nu > 0);
    CHECK(na > 0);
    /* 32 bytes at level L: version 2 (25 modules) + quiet zone 2 + 2 */
    CHECK(nu == 29);
    CHECK(na == nu);
    if (nu <= 0 || na != nu) {
        return;
    }
    /* both variants draw the same modules */
    CHECK(memcmp(mu, ma, (size_t)nu * (size_t)nu) == 0);
    /* inversion: the quiet zone is light (drawn) and a finder's outer ring is dark */
    corners_light = 1;
    for (i = 0; i < nu; i++) {
        /* rows 0, 1, n-1 and columns 0, 1, n-1 */
        corners_light &= at(mu, nu, 0, i) & at(mu, nu, 1, i) & at(mu, nu, nu - 1, i) &
                         at(mu, nu, i, 0) & at(mu, nu, i, 1) & at(mu, nu, i, nu - 1);
    }
    CHECK(corners_light);
    CHECK(at(mu, nu, 2, 2) == 0);   /* the top-left finder's outer ring */
    /* no trailing newline; the ASCII one is pure ASCII */
    CHECK(u[strlen(u) - 1] != '\n');
    CHECK(a[strlen(a) - 1] != '\n');
    for (i = 0; a[i]; i++) {
        if ((unsigned char)a[i] >= 0x80) {
            break;
        }
    }
    CHECK(a[i] == '\0');

    /* what a phone sees: light modules white; white border around (the brief's setup) */
    CHECK_STR(decode_modules(p, mu, nu, 1), PAY_URL);
    CHECK_STR(decode_modules(p, ma, na, 1), PAY_URL);
    /* and on a dark terminal: only the drawn 2-module quiet zone, then dark background */
    CHECK_STR(decode_modules(p, mu, nu, 0), PAY_URL);
    {
        /* the non-inverted reading (blocks = dark) must not scan: the test is sensitive
         * to the inversion, not saved by a scanner that also reads inverted codes */
        unsigned char *inv = apr_palloc(p, (size_t)nu * (size_t)nu);
        char *o;
        for (i = 0; i < nu * nu; i++) {
            inv[i] = !mu[i];
        }
        o = decode_modules(p, inv, nu, 1);
        CHECK(o == NULL || strcmp(o, PAY_URL) != 0);
    }
}

static void test_qr_size(apr_pool_t *p)
{
    /* a ~40 character short link: version 3 at most -> 33 columns, 17 rows */
    const char *url = "https://pay.example.com/i/AbCdEf1234567";
    char *u = acp_qr_text(p, url, 0);
    apr_array_header_t *ls;
    unsigned char *m;
    int n, r, maxw = 0;

    CHECK(strlen(url) >= 38);
    CHECK(u != NULL);
    if (!u) {
        return;
    }
    ls = lines(p, u);
    CHECK(ls->nelts <= 20);
    n = parse_unicode_qr(p, u, &m);
    CHECK(n > 0 && n <= 33);
    for (r = 0; r < ls->nelts; r++) {
        /* three bytes per half block; count characters */
        const char *s = APR_ARRAY_IDX(ls, r, const char *);
        int w = 0;
        for (; *s; s++) {
            w += ((unsigned char)*s & 0xc0) != 0x80;
        }
        if (w > maxw) {
            maxw = w;
        }
    }
    CHECK(maxw <= 40);   /* fits an 80x24 terminal with room for the text around it */
    CHECK_STR(decode_modules(p, m, n, 1), url);

    /* does not fit / nothing to encode */
    {
        char *big = apr_palloc(p, 8001);
        memset(big, 'A', 8000);
        big[8000] = '\0';
        CHECK(acp_qr_text(p, big, 0) == NULL);
        CHECK(acp_qr_svg(p, big, 4) == NULL);
        CHECK(acp_qr_text(p, "", 0) == NULL);
        CHECK(acp_qr_text(p, NULL, 1) == NULL);
    }
}

static void test_qr_svg(apr_pool_t *p)
{
    char *svg = acp_qr_svg(p, PAY_URL, 8);
    char *in, *png, *out = NULL;
    FILE *f;

    CHECK(svg != NULL);
    if (!svg) {
        return;
    }
    CHECK(strncmp(svg, "<?xml", 5) == 0);
    CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    /* version 2 + quiet zone 4 each side: 33 modules x 8 px */
    CHECK(strstr(svg, "width=\"264\" height=\"264\" viewBox=\"0 0 33 33\"") != NULL);
    CHECK(strstr(svg, "</svg>") != NULL);

    in = tmpname(p, ".svg");
    png = tmpname(p, ".png");
    CHECK(in && png);
    if (!in || !png) {
        return;
    }
    f = fopen(in, "w");
    if (f) {
        fputs(svg, f);
        fclose(f);
        if (run(p, apr_pstrcat(p, "convert 'svg:", in, "' 'png:", png, "' 2>/dev/null", NULL))) {
            out = zbar(p, png);
        }
    }
    CHECK_STR(out, PAY_URL);
    unlink(in);
    unlink(png);
}

/* ---- Keccak / Ethereum ----------------------------------------------------------------- */

static const char *keccak_hex(apr_pool_t *p, const char *s)
{
    unsigned char h[32];
    acp_keccak256((const unsigned char *)s, strlen(s), h);
    return acp_hex(p, h, 32);
}

static void test_keccak(apr_pool_t *p)
{
    unsigned char buf[400], mine[32], ref[32];
    unsigned int rlen = 0;
    size_t len;
    int same = 1;

    CHECK_STR(keccak_hex(p, ""),
              "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    CHECK_STR(keccak_hex(p, "abc"),
              "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    /* the same sponge with SHA-3's padding equals OpenSSL's SHA3-256 at every length
     * around and across the 136-byte block boundary: checks permutation and absorbing */
    for (len = 0; len < sizeof(buf); len++) {
        buf[len] = (unsigned char)(len * 7 + 3);
    }
    for (len = 0; len <= sizeof(buf); len++) {
        acp_keccak_sponge256(buf, len, 0x06, mine);
        if (!EVP_Digest(buf, len, ref, &rlen, EVP_sha3_256(), NULL) ||
            memcmp(mine, ref, 32) != 0) {
            same = 0;
            fprintf(stderr, "sha3 mismatch at length %zu\n", len);
            break;
        }
    }
    CHECK(same);
}

static void test_eip55(apr_pool_t *p)
{
    static const char *good[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *lower = apr_pstrdup(p, good[i]), *upper = apr_pstrdup(p, good[i]);
        size_t j;
        for (j = 2; lower[j]; j++) {
            lower[j] = (char)apr_tolower(lower[j]);
            upper[j] = (char)apr_toupper(upper[j]);
        }
        CHECK(acp_eth_address_valid(good[i]) == 1);
        CHECK_STR(acp_eth_checksum(p, lower), good[i]);
        CHECK_STR(acp_eth_checksum(p, upper), good[i]);
        CHECK(acp_eth_address_valid(lower) == 0);
        CHECK(acp_eth_address_valid(upper) == 0);
    }
    /* one letter in the wrong case */
    CHECK(acp_eth_address_valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") == 0);
    CHECK(acp_eth_address_valid("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") == 0);
    /* 39 and 41 hex digits, non-hex, no prefix, upper-case prefix, NULL */
    CHECK(acp_eth_address_valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe") == 0);
    CHECK(acp_eth_checksum(p, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae") == NULL);
    CHECK(acp_eth_address_valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0") == 0);
    CHECK(acp_eth_checksum(p, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg") == NULL);
    CHECK(acp_eth_checksum(p, "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == NULL);
    CHECK(acp_eth_address_valid("0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") == 0);
    CHECK(acp_eth_address_valid(NULL) == 0);
    CHECK(acp_eth_address_valid("") == 0);
}

static void test_eip681(apr_pool_t *p)
{
    const char *addr = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";   /* checksummed on output */

    CHECK_STR(acp_eip681_uri(p, addr, 1, 1234, "10000000000000000", 0),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=12340000000000000000");
    CHECK_STR(acp_eip681_uri(p, addr, 11155111, 123456789, "10000000000000000", 42),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@11155111"
              "?value=1234567890000000000000042");
    /* 40-digit rate times the largest amount: 59 digits, exact */
    CHECK_STR(acp_eip681_uri(p, addr, 137, 9223372036854775807LL,
                             "9999999999999999999999999999999999999999", 999999),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@137"
              "?value=92233720368547758069999999999999999999990776627963146224192");
    /* zero amount: just the unique offset; leading zeros in the rate are harmless */
    CHECK_STR(acp_eip681_uri(p, addr, 1, 0, "0001", 7),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=7");
    CHECK_STR(acp_eip681_uri(p, addr, 1, 0, "5", 0),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=0");
    /* carries ripple through */
    CHECK_STR(acp_eip681_uri(p, addr, 1, 1, "999999999999", 1),
              "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=1000000000000");
    /* bad input */
    CHECK(acp_eip681_uri(p, "0x1234", 1, 1, "1", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 0, 1, "1", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, -1, "1", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "1e18", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "-5", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, NULL, 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "12345678901234567890123456789012345678901", 0) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "1", 1000000) == NULL);
    CHECK(acp_eip681_uri(p, addr, 1, 1, "1", -1) == NULL);
}

/* ---- money, prices ---------------------------------------------------------------------- */

static void test_money(apr_pool_t *p)
{
    CHECK_STR(acp_money(p, 1234, "CNY"), "12.34 CNY");
    CHECK_STR(acp_money(p, 500, "JPY"), "500 JPY");
    CHECK_STR(acp_money(p, 500, "jpy"), "500 jpy");
    CHECK_STR(acp_money(p, -1234, "EUR"), "-12.34 EUR");
    CHECK_STR(acp_money(p, -5, "EUR"), "-0.05 EUR");
    CHECK_STR(acp_money(p, 0, "USD"), "0.00 USD");
    CHECK_STR(acp_money(p, -500, "KRW"), "-500 KRW");
    CHECK_STR(acp_money(p, 1234, "KWD"), "1.234 KWD");
    CHECK_STR(acp_money(p, 7, NULL), "0.07");
    CHECK_STR(acp_money(p, -9223372036854775807LL - 1, "USD"), "-92233720368547758.08 USD");
    CHECK(acp_currency_exponent("CNY") == 2);
    CHECK(acp_currency_exponent("JPY") == 0);
    CHECK(acp_currency_exponent("krw") == 0);
    CHECK(acp_currency_exponent("BHD") == 3);
    CHECK(acp_currency_exponent("XYZ") == 2);
    CHECK(acp_currency_exponent(NULL) == 2);
}

static apr_array_header_t *names(apr_pool_t *p, const char *const *v)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    for (; *v; v++) {
        APR_ARRAY_PUSH(a, const char *) = *v;
    }
    return a;
}

static void test_price(apr_pool_t *p)
{
    acp_price_cfg_t cfg = {1000, 200, 5000};
    static const char *const one[] = {"a.example", NULL};
    static const char *const three[] = {"a.example", "b.example", "c.example", NULL};
    static const char *const wild[] = {"*.example", "example", NULL};
    static const char *const two_wild[] = {"*.a.example", "*.b.example", NULL};
    static const char *const none[] = {NULL};
    acp_price_cfg_t huge = {9223372036854775807LL, 1, 0};

    CHECK(acp_price(&cfg, names(p, one)) == 1000);
    CHECK(acp_price(&cfg, names(p, three)) == 1400);
    CHECK(acp_price(&cfg, names(p, wild)) == 1000 + 200 + 5000);
    CHECK(acp_price(&cfg, names(p, two_wild)) == 1000 + 200 + 10000);
    CHECK(acp_price(&cfg, names(p, none)) == 1000);
    CHECK(acp_price(&cfg, NULL) == 1000);
    CHECK(acp_price(&huge, names(p, three)) == -1);
}

/* ---- webhooks ----------------------------------------------------------------------------- */

static void test_webhook(apr_pool_t *p)
{
    static const unsigned char secret[] = "whsec_test_secret";
    static const unsigned char other[] = "whsec_other";
    const char *body = "{\"id\":\"evt_1\",\"amount\":1234}";
    size_t blen = strlen(body), slen = sizeof(secret) - 1;
    long long t = 1700000000;
    const char *why = NULL, *h = acp_webhook_sign(p, secret, slen, body, blen, t);
    char *sig, *changed;

    CHECK(h != NULL && strncmp(h, "t=1700000000,v1=", 16) == 0 && strlen(h) == 16 + 64);
    if (!h) {
        return;
    }
    sig = apr_pstrdup(p, h + 16);

    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, t, 300, &why) == 0);
    CHECK(why == NULL);
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, t + 300, 300, &why) == 0);
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, t - 300, 300, &why) == 0);
    /* spaces after commas are tolerated, unknown keys ignored */
    CHECK(acp_webhook_verify(p, secret, slen,
                             apr_pstrcat(p, "t=1700000000, v0=abc, v1=", sig, NULL), body, blen,
                             t, 300, &why) == 0);

    CHECK(acp_webhook_verify(p, other, sizeof(other) - 1, h, body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "signature mismatch");
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, t + 301, 300, &why) == -1);
    CHECK_STR(why, "timestamp too old");
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, t - 301, 300, &why) == -1);
    CHECK_STR(why, "timestamp in the future");

    CHECK(acp_webhook_verify(p, secret, slen, "", body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "missing signature header");
    CHECK(acp_webhook_verify(p, secret, slen, NULL, body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "missing signature header");
    CHECK(acp_webhook_verify(p, secret, slen, apr_pstrcat(p, "t=abc,v1=", sig, NULL), body, blen,
                             t, 300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, apr_pstrcat(p, "v1=", sig, NULL), body, blen, t,
                             300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, "t=1700000000", body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, "t=1700000000,v1=abcd", body, blen, t, 300,
                             &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, "garbage", body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, apr_pstrcat(p, "t=,v1=", sig, NULL), body, blen, t,
                             300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen,
                             apr_pstrcat(p, "t=1700000000,t=1700000000,v1=", sig, NULL), body,
                             blen, t, 300, &why) == -1);
    CHECK_STR(why, "malformed signature header");
    CHECK(acp_webhook_verify(p, secret, slen, apr_pstrcat(p, "t=-1700000000,v1=", sig, NULL),
                             body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "malformed signature header");

    /* several v1 entries, one valid (in either position) */
    CHECK(acp_webhook_verify(p, secret, slen,
                             apr_pstrcat(p, "t=1700000000,v1=", acp_hex(p, (const unsigned char *)
                                         "0123456789abcdef0123456789abcdef", 32), ",v1=", sig,
                                         NULL),
                             body, blen, t, 300, &why) == 0);
    CHECK(acp_webhook_verify(p, secret, slen,
                             apr_pstrcat(p, "t=1700000000,v1=", sig, ",v1=",
                                         "00000000000000000000000000000000"
                                         "00000000000000000000000000000000", NULL),
                             body, blen, t, 300, &why) == 0);
    /* the timestamp is signed: moving it breaks the signature */
    CHECK(acp_webhook_verify(p, secret, slen, apr_pstrcat(p, "t=1700000001,v1=", sig, NULL),
                             body, blen, t, 300, &why) == -1);
    CHECK_STR(why, "signature mismatch");
    /* body changed by one byte; body shorter by one byte */
    changed = apr_pstrdup(p, body);
    changed[10] ^= 1;
    CHECK(acp_webhook_verify(p, secret, slen, h, changed, blen, t, 300, &why) == -1);
    CHECK_STR(why, "signature mismatch");
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen - 1, t, 300, &why) == -1);
    CHECK_STR(why, "signature mismatch");
    /* upper-case hex is accepted */
    {
        char *up = apr_pstrdup(p, h);
        size_t i;
        for (i = 16; up[i]; i++) {
            up[i] = (char)apr_toupper(up[i]);
        }
        CHECK(acp_webhook_verify(p, secret, slen, up, body, blen, t, 300, &why) == 0);
    }
    /* a body with a NUL byte in it */
    {
        const char bin[] = {'a', '\0', 'b'};
        const char *hb = acp_webhook_sign(p, secret, slen, bin, 3, t);
        CHECK(acp_webhook_verify(p, secret, slen, hb, bin, 3, t, 300, &why) == 0);
        CHECK(acp_webhook_verify(p, secret, slen, hb, bin, 1, t, 300, &why) == -1);
    }
    /* extreme clocks do not overflow */
    CHECK(acp_webhook_verify(p, secret, slen, h, body, blen, -9223372036854775807LL - 1, 300,
                             &why) == -1);
    CHECK_STR(why, "timestamp in the future");
}

/* ---- clients and the detail --------------------------------------------------------------- */

static const char *prof(const char *ua)
{
    return acp_client_profile(ua)->name;
}

static void test_profiles(apr_pool_t *p)
{
    const acp_client_profile_t *c;

    c = acp_client_profile("CertbotACMEClient/2.1.0 (certbot; debian 12) Authenticator/webroot "
                           "Installer/None (certonly; flags: ) Py/3.11.2");
    CHECK_STR(c->name, "certbot");
    CHECK(!c->ascii_qr && !c->plain_text && !c->no_qr && !c->retryable_type);
    c = acp_client_profile("CertbotACMEClient/2.1.0 (certbot; debian 12) Authenticator/webroot "
                           "Installer/None (renew; flags: ) Py/3.11.2");
    CHECK_STR(c->name, "certbot-renew");
    CHECK(c->ascii_qr && !c->plain_text && !c->no_qr && !c->retryable_type);
    c = acp_client_profile("lego-cli/4.9.1 (linux; amd64; xenolf-acme/4.9.1)");
    CHECK_STR(c->name, "lego");
    CHECK(!c->ascii_qr && !c->plain_text && !c->no_qr);
    c = acp_client_profile("acme.sh/3.0.7 (https://github.com/acmesh-official/acme.sh)");
    CHECK_STR(c->name, "acme.sh");
    CHECK(!c->ascii_qr && !c->plain_text && !c->no_qr);
    c = acp_client_profile("acme-tiny");
    CHECK_STR(c->name, "acme-tiny");
    CHECK(c->plain_text && !c->no_qr && !c->ascii_qr);
    c = acp_client_profile("uacme/1.7.4 (https://github.com/ndilieto/uacme)");
    CHECK_STR(c->name, "uacme");
    CHECK(c->no_qr && !c->plain_text);
    c = acp_client_profile("dehydrated/0.7.0 curl/7.88.1");
    CHECK_STR(c->name, "dehydrated");
    CHECK(c->plain_text && !c->no_qr);
    c = acp_client_profile("Apache/2.4.71 (Debian) mod_md/2.4.x");
    CHECK_STR(c->name, "mod_md");
    CHECK(c->no_qr && c->retryable_type);
    c = acp_client_profile("Caddy/2.7.6 CertMagic acmez (linux; amd64)");
    CHECK_STR(c->name, "caddy");
    CHECK(c->no_qr && !c->retryable_type);
    c = acp_client_profile("cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/abc123");
    CHECK_STR(c->name, "cert-manager");
    CHECK(c->no_qr);
    CHECK_STR(prof("cert-manager/v1.14.4 (linux/amd64) cert-manager/abc123"), "cert-manager");
    c = acp_client_profile("win-acme/2.2.9.1701");
    CHECK_STR(c->name, "win-acme");
    CHECK(!c->no_qr && !c->ascii_qr);
    c = acp_client_profile("Posh-ACME/4.23.0 PowerShell/7.4.1");
    CHECK_STR(c->name, "posh-acme");
    CHECK(!c->no_qr && !c->ascii_qr);
    /* case-insensitive; prefixes are prefixes */
    CHECK_STR(prof("certbotacmeclient/1.0 (RENEW; flags: )"), "certbot-renew");
    CHECK_STR(prof("LEGO-CLI/4.0"), "lego");
    CHECK_STR(prof("Mozilla/5.0 lego-cli/4.0"), "default");
    /* unknown and absent */
    c = acp_client_profile("curl/7.88.1");
    CHECK_STR(c->name, "default");
    CHECK(!c->ascii_qr && !c->plain_text && !c->no_qr && !c->retryable_type);
    CHECK_STR(prof(""), "default");
    CHECK_STR(prof(NULL), "default");
}

static int count_lines(const char *s)
{
    int n = 1;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

static void test_detail(apr_pool_t *p)
{
    acp_pay_request_t req;
    const char *d;
    size_t i;

    memset(&req, 0, sizeof(req));
    req.amount_minor = 1234;
    req.currency = "CNY";
    req.link = PAY_URL;
    req.order_names = "a.example, b.example";
    req.eip681 = "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=12340000000000000042";

    /* default: Unicode */
    d = acp_pay_detail(p, &req, acp_client_profile("lego-cli/4.9.1"));
    CHECK(d != NULL);
    if (!d) {
        return;
    }
    CHECK(d[0] == '\n');
    CHECK(strstr(d, "\nPayment required: 12.34 CNY for a.example, b.example \xe2\x80\x94 pay at "
                    PAY_URL "\n\n") == d);
    CHECK(strstr(d, "12.34 CNY") != NULL);
    CHECK(strstr(d, "\nPay at: " PAY_URL "\n") != NULL);
    CHECK(strstr(d, "\nEthereum: ethereum:0x5aAeb") != NULL);
    CHECK(strstr(d, "run the same command again") != NULL);
    CHECK(strcmp(d + strlen(d) - strlen("Pay, then run the same command again."),
                 "Pay, then run the same command again.") == 0);
    CHECK(strstr(d, "\xe2\x96\x88") != NULL);
    CHECK(strstr(d, acp_qr_text(p, PAY_URL, 0)) != NULL);
    /* the QR is set off by blank lines */
    CHECK(strstr(d, apr_pstrcat(p, "\n\n", acp_qr_text(p, PAY_URL, 0), "\n\nPay at: ", NULL))
          != NULL);

    /* certbot renew: pure ASCII, the ASCII QR */
    d = acp_pay_detail(p, &req, acp_client_profile("CertbotACMEClient/2.1.0 (certbot; debian 12) "
                                                   "Authenticator/webroot Installer/None "
                                                   "(renew; flags: ) Py/3.11.2"));
    CHECK(d != NULL);
    if (!d) {
        return;
    }
    for (i = 0; d[i]; i++) {
        if ((unsigned char)d[i] >= 0x80) {
            break;
        }
    }
    CHECK(d[i] == '\0');
    CHECK(strstr(d, "12.34 CNY for a.example, b.example - pay at " PAY_URL) != NULL);
    CHECK(strstr(d, acp_qr_text(p, PAY_URL, 1)) != NULL);
    CHECK(strstr(d, "run the same command again") != NULL);
    CHECK(d[0] == '\n');
    /* non-ASCII smuggled in through the names is replaced too */
    req.order_names = "b\xc3\xbc" "cher.example";
    d = acp_pay_detail(p, &req, acp_client_profile("CertbotACMEClient/2 (renew; flags: )"));
    for (i = 0; d[i]; i++) {
        if ((unsigned char)d[i] >= 0x80) {
            break;
        }
    }
    CHECK(d[i] == '\0');
    req.order_names = "a.example";

    /* mod_md: no QR rows at all */
    d = acp_pay_detail(p, &req, acp_client_profile("Apache/2.4.71 (Debian) mod_md/2.4.x"));
    CHECK(d != NULL);
    if (!d) {
        return;
    }
    CHECK(strstr(d, "\xe2\x96") == NULL);
    CHECK(strstr(d, "##") == NULL);
    CHECK(count_lines(d) <= 6);
    CHECK(strstr(d, PAY_URL) != NULL);
    CHECK(strstr(d, "12.34 CNY") != NULL);
    CHECK(strstr(d, "run the same command again") != NULL);
    CHECK(d[0] == '\n');

    /* the QR encodes qr_data when given; no Ethereum line without eip681; JPY */
    req.qr_data = "https://checkout.provider.example/c/xyz";
    req.eip681 = NULL;
    req.currency = "JPY";
    req.amount_minor = 500;
    d = acp_pay_detail(p, &req, NULL);
    CHECK(strstr(d, acp_qr_text(p, req.qr_data, 0)) != NULL);
    CHECK(strstr(d, "Ethereum:") == NULL);
    CHECK(strstr(d, "Payment required: 500 JPY for a.example") != NULL);
    CHECK(strstr(d, "Pay at: " PAY_URL) != NULL);
    /* control characters cannot break the layout */
    req.link = "https://pay.example.com/i/x\r\ny";
    d = acp_pay_detail(p, &req, acp_client_profile("uacme/1.7.4"));
    CHECK(strstr(d, "\r") == NULL);
    CHECK(strstr(d, "/i/x??y") != NULL);
    CHECK(acp_pay_detail(p, NULL, NULL) == NULL);
}

static void run_tests(apr_pool_t *p)
{
    test_qr_text(p);
    test_qr_size(p);
    test_qr_svg(p);
    test_keccak(p);
    test_eip55(p);
    test_eip681(p);
    test_money(p);
    test_price(p);
    test_webhook(p);
    test_profiles(p);
    test_detail(p);
}
