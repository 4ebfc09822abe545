/* Webhook signatures (see acp_webhook.h): HMAC-SHA256 over "t.body", and a strict parser
 * of the signature header with a bounded length and number of signatures. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "acp_webhook.h"
#include "acp_util.h"

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
                int hi = acp_hexval((unsigned char)v[2 * i]);
                int lo = acp_hexval((unsigned char)v[2 * i + 1]);
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
