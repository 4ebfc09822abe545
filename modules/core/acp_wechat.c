/* WeChat Pay API v3 formats and cryptography (see acp_wechat.h). The rules cited are
 * WeChat Pay's own documentation of API v3: "签名生成" (request signatures), "签名验证"
 * (answer and notification signatures, platform certificate chosen by Wechatpay-Serial)
 * and "证书和回调报文解密" (AEAD_AES_256_GCM with the APIv3 key, tag appended). */
#include <string.h>
#include <stdio.h>
#include <apr_strings.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <strings.h>
#include <time.h>
#include "acp_wechat.h"

static apr_status_t free_pkey(void *d)
{
    EVP_PKEY_free(d);
    return APR_SUCCESS;
}

char *acp_wechat_message(apr_pool_t *p, const char *const *parts, int n)
{
    apr_size_t total = 1;
    char *out, *q;
    int i;

    for (i = 0; i < n; i++) {
        total += strlen(parts[i] ? parts[i] : "") + 1;
    }
    out = q = apr_palloc(p, total);
    for (i = 0; i < n; i++) {
        size_t l = strlen(parts[i] ? parts[i] : "");
        memcpy(q, parts[i] ? parts[i] : "", l);
        q += l;
        *q++ = '\n';
    }
    *q = '\0';
    return out;
}

char *acp_wechat_b64_encode(apr_pool_t *p, const unsigned char *d, size_t len)
{
    char *out = apr_palloc(p, 4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, d, (int)len);
    return out;
}

static int b64_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

apr_status_t acp_wechat_b64_decode(apr_pool_t *p, const char *s, unsigned char **out,
                                   size_t *len)
{
    size_t n = s ? strlen(s) : 0, i, pad = 0;
    int got;

    if (n == 0 || n % 4 != 0 || n > 64 * 1024 * 1024) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '=' && i >= n - 2) {
            pad++;
            continue;
        }
        if (pad || !b64_char((unsigned char)s[i])) {
            return APR_EINVAL; /* '=' only at the end, nothing after it */
        }
    }
    *out = apr_palloc(p, n / 4 * 3 + 1);
    got = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got < pad) {
        return APR_EINVAL;
    }
    *len = (size_t)got - pad;
    (*out)[*len] = 0;
    return APR_SUCCESS;
}

char *acp_wechat_nonce(apr_pool_t *p)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[32];
    char *out = apr_palloc(p, 33);
    int i;

    if (RAND_bytes(r, sizeof(r)) != 1) {
        return NULL;
    }
    for (i = 0; i < 32; i++) {
        out[i] = set[r[i] % 36]; /* 256 % 36 = 4: a bias too small to matter for a nonce */
    }
    out[32] = '\0';
    return out;
}

apr_status_t acp_wechat_sign(apr_pool_t *p, EVP_PKEY *key, const char *msg, size_t len,
                             const char **sig_b64)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t slen = 0;
    apr_status_t rv = APR_EGENERAL;

    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, NULL, &slen, (const unsigned char *)msg, len) == 1) {
        sig = apr_palloc(p, slen);
        if (EVP_DigestSign(md, sig, &slen, (const unsigned char *)msg, len) == 1) {
            *sig_b64 = acp_wechat_b64_encode(p, sig, slen);
            rv = APR_SUCCESS;
        }
    }
    EVP_MD_CTX_free(md);
    return rv;
}

int acp_wechat_verify_sig(apr_pool_t *p, EVP_PKEY *key, const char *msg, size_t len,
                          const char *sig_b64)
{
    unsigned char *sig = NULL;
    size_t slen = 0;
    EVP_MD_CTX *md;
    int ok;

    if (!key || acp_wechat_b64_decode(p, sig_b64, &sig, &slen) != APR_SUCCESS ||
        slen != (size_t)EVP_PKEY_get_size(key)) {
        return -1;
    }
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, sig, slen, (const unsigned char *)msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

apr_status_t acp_wechat_authorization(apr_pool_t *p, EVP_PKEY *key, const char *mchid,
                                      const char *serial, const char *method,
                                      const char *url_path, const char *body, long long ts,
                                      const char *nonce, const char **header)
{
    const char *tss = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)ts), *sig = NULL;
    const char *parts[5];
    char *msg;

    parts[0] = method;
    parts[1] = url_path;
    parts[2] = tss;
    parts[3] = nonce;
    parts[4] = body ? body : ""; /* a GET signs an empty body */
    msg = acp_wechat_message(p, parts, 5);
    if (acp_wechat_sign(p, key, msg, strlen(msg), &sig) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *header = apr_psprintf(p,
                           "WECHATPAY2-SHA256-RSA2048 mchid=\"%s\",nonce_str=\"%s\","
                           "signature=\"%s\",timestamp=\"%s\",serial_no=\"%s\"",
                           mchid, nonce, sig, tss, serial);
    return APR_SUCCESS;
}

/* decimal unix seconds, nothing else */
static int parse_ts(const char *s, long long *v)
{
    long long t = 0;
    int i;

    if (!s || !*s) {
        return -1;
    }
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 12) {
            return -1;
        }
        t = t * 10 + (s[i] - '0');
    }
    *v = t;
    return 0;
}

int acp_wechat_verify_notification(apr_pool_t *p, const apr_array_header_t *certs,
                                   const char *timestamp, const char *nonce,
                                   const char *signature, const char *serial,
                                   const char *body, size_t len, long long now,
                                   const char **why)
{
    const acp_wechat_cert_t *cert = NULL;
    long long ts = 0;
    char *msg;
    size_t tl, nl;
    int i;

    if (!timestamp || !nonce || !signature || !serial) {
        *why = "Wechatpay-Timestamp, -Nonce, -Signature or -Serial missing";
        return -1;
    }
    if (parse_ts(timestamp, &ts) != 0 || !*nonce || strlen(nonce) > 64) {
        *why = "Wechatpay-Timestamp or Wechatpay-Nonce malformed";
        return -1;
    }
    /* a replayed old delivery is refused before anything else is looked at */
    if (ts < now - ACP_WECHAT_TOLERANCE || ts > now + ACP_WECHAT_TOLERANCE) {
        *why = "Wechatpay-Timestamp is more than 5 minutes off";
        return -1;
    }
    for (i = 0; certs && i < certs->nelts; i++) {
        const acp_wechat_cert_t *c = APR_ARRAY_IDX(certs, i, const acp_wechat_cert_t *);
        if (!strcasecmp(c->serial, serial)) {
            cert = c;
            break;
        }
    }
    if (!cert) {
        *why = "Wechatpay-Serial names no configured platform certificate";
        return -1;
    }
    /* timestamp \n nonce \n body \n, the body exactly as received */
    tl = strlen(timestamp);
    nl = strlen(nonce);
    msg = apr_palloc(p, tl + nl + len + 4);
    memcpy(msg, timestamp, tl);
    msg[tl] = '\n';
    memcpy(msg + tl + 1, nonce, nl);
    msg[tl + 1 + nl] = '\n';
    memcpy(msg + tl + nl + 2, body, len);
    msg[tl + nl + 2 + len] = '\n';
    msg[tl + nl + 3 + len] = '\0';
    if (acp_wechat_verify_sig(p, cert->key, msg, tl + nl + len + 3, signature) != 0) {
        *why = "Wechatpay-Signature does not verify with the platform certificate";
        return -1;
    }
    return 0;
}

apr_status_t acp_wechat_decrypt(apr_pool_t *p, const unsigned char *key, const char *nonce,
                                const char *aad, const char *ciphertext_b64, char **out,
                                size_t *len)
{
    unsigned char *ct = NULL;
    size_t ctlen = 0;
    EVP_CIPHER_CTX *c;
    int n = 0, fin = 0, ok;

    if (!nonce || !*nonce || strlen(nonce) > 64 ||
        acp_wechat_b64_decode(p, ciphertext_b64, &ct, &ctlen) != APR_SUCCESS || ctlen < 16 ||
        ctlen - 16 > 1024 * 1024) {
        return APR_EINVAL;
    }
    *out = apr_palloc(p, ctlen - 16 + 1);
    c = EVP_CIPHER_CTX_new();
    ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)strlen(nonce), NULL) == 1 &&
         EVP_DecryptInit_ex(c, NULL, NULL, key, (const unsigned char *)nonce) == 1 &&
         (!aad || !*aad ||
          EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1) &&
         EVP_DecryptUpdate(c, (unsigned char *)*out, &n, ct, (int)(ctlen - 16)) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, ct + ctlen - 16) == 1 &&
         EVP_DecryptFinal_ex(c, (unsigned char *)*out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        return APR_EINVAL; /* the tag did not match: tampered, or another key */
    }
    *len = (size_t)(n + fin);
    (*out)[*len] = '\0';
    return APR_SUCCESS;
}

apr_status_t acp_wechat_load_key(apr_pool_t *p, const char *path, EVP_PKEY **key,
                                 const char **err)
{
    FILE *f = fopen(path, "r");

    if (!f) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return APR_ENOENT;
    }
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!*key || EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(*key);
        *key = NULL;
        *err = apr_psprintf(p, "%s holds no RSA private key (PEM)", path);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, *key, free_pkey, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* WeChat Pay writes a serial as upper-case hex of its bytes */
static const char *cert_serial(apr_pool_t *p, X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *s = hex ? apr_pstrdup(p, hex) : NULL;

    OPENSSL_free(hex);
    BN_free(bn);
    return s;
}

apr_status_t acp_wechat_load_certs(apr_pool_t *p, const char *path,
                                   apr_array_header_t **certs, const char **err)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (!f) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return APR_ENOENT;
    }
    *certs = apr_array_make(p, 2, sizeof(acp_wechat_cert_t *));
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        acp_wechat_cert_t *c = apr_pcalloc(p, sizeof(*c));
        const ASN1_TIME *na = X509_get0_notAfter(x);
        struct tm tm;
        c->serial = cert_serial(p, x);
        c->key = X509_get_pubkey(x);
        if (na && ASN1_TIME_to_tm(na, &tm) == 1) {
            c->not_after = (long long)timegm(&tm);
        }
        X509_free(x);
        if (!c->serial || !c->key || EVP_PKEY_get_base_id(c->key) != EVP_PKEY_RSA) {
            EVP_PKEY_free(c->key);
            fclose(f);
            *err = apr_psprintf(p, "%s: a certificate without an RSA key", path);
            return APR_EINVAL;
        }
        apr_pool_cleanup_register(p, c->key, free_pkey, apr_pool_cleanup_null);
        APR_ARRAY_PUSH(*certs, acp_wechat_cert_t *) = c;
    }
    ERR_clear_error(); /* the end of the file reads as a PEM error */
    fclose(f);
    if ((*certs)->nelts == 0) {
        *err = apr_psprintf(p, "%s holds no PEM certificate", path);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
