/* Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/seed-*): the
 * inputs the unit and integration tests send, built with the same keys and clock the
 * harnesses use, so a seed reaches past the signature, MAC and expiry checks.
 *   out/fuzz-seeds tests/fuzz/corpus      (make fuzz-seeds)
 * Seeds with randomness (signatures, RSA keys) differ on every run; commit once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>
#include "acp_jws.h"
#include "acp_nonce.h"
#include "acp_webhook.h"
#include "acp_util.h"
#include "fuzz_common.h"

#define BASE "https://fuzz.test/acme"

static const char *out_dir;

static void put(const char *target, const char *name, unsigned char prefix, int use_prefix,
                const void *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fuzz_die(path);
    }
    snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, target, name);
    f = fopen(path, "wb");
    if (!f || (use_prefix && fwrite(&prefix, 1, 1, f) != 1) ||
        (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fuzz_die(path);
    }
}

static void put_s(const char *target, const char *name, const char *s)
{
    put(target, name, 0, 0, s, strlen(s));
}

static void put_p(const char *target, const char *name, unsigned char prefix, const char *s)
{
    put(target, name, prefix, 1, s, strlen(s));
}

static const char *b64s(apr_pool_t *p, const char *s)
{
    return acp_b64url_encode(p, (const unsigned char *)s, strlen(s));
}

static const char *jtext(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* ES256 signature, raw r||s, base64url */
static const char *es256(apr_pool_t *p, EVP_PKEY *key, const char *tbs)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128], raw[64];
    const unsigned char *q = der;
    size_t len = sizeof(der);
    ECDSA_SIG *es;
    const BIGNUM *r, *s;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &len, (const unsigned char *)tbs, strlen(tbs)) != 1) {
        fuzz_die("sign");
    }
    EVP_MD_CTX_free(ctx);
    es = d2i_ECDSA_SIG(NULL, &q, (long)len);
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, raw, 32);
    BN_bn2binpad(s, raw + 32, 32);
    ECDSA_SIG_free(es);
    return acp_b64url_encode(p, raw, sizeof(raw));
}

static const char *jws_es256(apr_pool_t *p, EVP_PKEY *key, const char *prot, const char *payload)
{
    const char *ph = b64s(p, prot), *pl = payload ? b64s(p, payload) : "";
    const char *sig = es256(p, key, apr_pstrcat(p, ph, ".", pl, NULL));
    return apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", ph,
                        pl, sig);
}

static const char *jws_hs256(apr_pool_t *p, const unsigned char *k, size_t klen,
                             const char *prot, const char *payload)
{
    const char *ph = b64s(p, prot), *pl = b64s(p, payload);
    const char *tbs = apr_pstrcat(p, ph, ".", pl, NULL);
    unsigned char mac[32];
    unsigned int n = 0;

    HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)tbs, strlen(tbs), mac, &n);
    return apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", ph,
                        pl, acp_b64url_encode(p, mac, n));
}

static const unsigned char *csr_der(apr_pool_t *p, EVP_PKEY *key, const char *cn,
                                    const char *sans, size_t *len)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    unsigned char *der = NULL;
    const unsigned char *copy;
    int n;

    if (cn) {
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0);
    }
    X509_REQ_set_subject_name(req, name);
    X509_REQ_set_pubkey(req, key);
    if (sans) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
        sk_X509_EXTENSION_push(exts, ext);
        X509_REQ_add_extensions(req, exts);
    }
    X509_REQ_sign(req, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256());
    n = i2d_X509_REQ(req, &der);
    copy = apr_pmemdup(p, der, (apr_size_t)n);
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    *len = (size_t)n;
    return copy;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    EVP_PKEY *acct, *other, *p384, *rsa, *ed;
    const char *acct_jwk, *other_jwk, *s;
    const unsigned char *der;
    size_t len;
    unsigned char nkey[ACP_NONCE_KEY_LEN];
    static const unsigned char mac_key[32] = {7};
    static const unsigned char wh_secret[] = "fuzz-webhook-secret-0123456789";
    static const char wh_body[] =
        "{\"invoice\":\"fuzzinv\",\"amount\":100,\"currency\":\"CNY\",\"reference\":\"r1\"}";
    int i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    fuzz_init_apr();
    p = fuzz_root;
    acct = fuzz_key(FUZZ_KEY_ACCOUNT);
    other = fuzz_key(FUZZ_KEY_OTHER);
    p384 = EVP_EC_gen("P-384");
    rsa = EVP_RSA_gen(2048);
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    acct_jwk = jtext(acp_jwk_from_pkey(p, acct));
    other_jwk = jtext(acp_jwk_from_pkey(p, other));

    /* JSON documents as they arrive */
    put_s("fuzz_json", "new-order", "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},"
                                    "{\"type\":\"dns\",\"value\":\"*.b.example.com\"}],"
                                    "\"notAfter\":\"2027-01-01T00:00:00Z\"}");
    put_s("fuzz_json", "webhook", wh_body);
    put_s("fuzz_json", "nested", "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]");
    put_s("fuzz_json", "numbers", "{\"a\":1e308,\"b\":-0,\"c\":18446744073709551616,\"d\":\"\\u00e9\\ud83d\\ude00\"}");
    put_s("fuzz_json", "jwk", acct_jwk);

    /* JWS: an ACME request with jwk and with kid, a keyChange inner JWS, an EAB inner JWS */
    s = jws_es256(p, acct,
                  apr_psprintf(p, "{\"alg\":\"ES256\",\"nonce\":\"abc\",\"url\":\"" BASE
                                  "/new-account\",\"jwk\":%s}", acct_jwk),
                  "{\"termsOfServiceAgreed\":true}");
    put_p("fuzz_jws", "outer-jwk", 0, s);
    s = jws_es256(p, acct,
                  "{\"alg\":\"ES256\",\"nonce\":\"abc\",\"url\":\"" BASE "/new-order\",\"kid\":\""
                  BASE "/acct/fuzzacct\"}",
                  "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}]}");
    put_p("fuzz_jws", "outer-kid", 0, s);
    s = jws_es256(p, acct,
                  "{\"alg\":\"ES256\",\"nonce\":\"abc\",\"url\":\"" BASE "/order/x\",\"kid\":\""
                  BASE "/acct/fuzzacct\"}",
                  NULL);
    put_p("fuzz_jws", "post-as-get", 0, s);
    s = jws_es256(p, other,
                  apr_psprintf(p, "{\"alg\":\"ES256\",\"url\":\"" BASE "/key-change\",\"jwk\":%s}",
                               other_jwk),
                  apr_psprintf(p, "{\"account\":\"" BASE "/acct/fuzzacct\",\"oldKey\":%s}",
                               acct_jwk));
    put_p("fuzz_jws", "keychange-inner", 1, s);
    put_p("fuzz_payload", "keychange", 6, s);
    s = jws_hs256(p, mac_key, sizeof(mac_key),
                  "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"" BASE "/new-account\"}",
                  other_jwk);
    put_p("fuzz_jws", "eab-inner", 2, s);

    /* JWKs of every accepted kind, and a private one */
    put_s("fuzz_jwk", "ec-p256", acct_jwk);
    put_s("fuzz_jwk", "ec-p384", jtext(acp_jwk_from_pkey(p, p384)));
    put_s("fuzz_jwk", "rsa-2048", jtext(acp_jwk_from_pkey(p, rsa)));
    put_s("fuzz_jwk", "ed25519", jtext(acp_jwk_from_pkey(p, ed)));
    put_s("fuzz_jwk", "ec-private",
          apr_psprintf(p, "%.*s,\"d\":\"AAAA\"}", (int)strlen(acct_jwk) - 1, acct_jwk));

    /* CSRs (DER) */
    der = csr_der(p, other, "fuzz.example.com", "DNS:fuzz.example.com", &len);
    put("fuzz_csr", "ec-cn-san", 0, 0, der, len);
    put_p("fuzz_payload", "finalize", 4,
          apr_psprintf(p, "{\"csr\":\"%s\"}", acp_b64url_encode(p, der, len)));
    der = csr_der(p, rsa, NULL, "DNS:fuzz.example.com,DNS:www.fuzz.example.com", &len);
    put("fuzz_csr", "rsa-two-sans", 0, 0, der, len);
    der = csr_der(p, ed, "Fuzz.Example.COM", "DNS:fuzz.example.com", &len);
    put("fuzz_csr", "ed25519", 0, 0, der, len);
    der = csr_der(p, p384, "x.example.com", "DNS:*.example.com,IP:192.0.2.1", &len);
    put("fuzz_csr", "p384-wildcard-ip", 0, 0, der, len);

    /* identifiers (the cases of tests/unit/test_ident.c) */
    {
        static const char *const names[] = {
            "*.Sub-Domain.example.COM.", "xn--bcher-kva.example", "a.b", "192.0.2.1", "a..b",
            "-a.example.com", "*.*.example.com", "ex\xc3\xa4mple.com", "a.123",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com"};
        for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
            put_p("fuzz_ident", apr_itoa(p, i), 0, names[i]);
        }
        put_p("fuzz_ident", "ip", 1, "2001:db8::1");
        {
            /* ip identifiers (RFC 8738): canonical, non-canonical, zone, mapped */
            static const char *const ips[] = {"127.0.0.1", "::1", "0:0:0:0:0:0:0:1",
                                              "127.000.0.1", "fe80::1%eth0", "::ffff:127.0.0.1",
                                              "2001:DB8::1", "[::1]", "2001:db8:0:1:1:1:1:1"};
            for (i = 0; i < (int)(sizeof(ips) / sizeof(ips[0])); i++) {
                put_p("fuzz_ident", apr_psprintf(p, "ip-%d", i), 1, ips[i]);
            }
        }
    }

    /* CAA answers for example.com (first byte 0): one issue record naming us, a CNAME
     * with the target's records, a CNAME alone, a critical unknown tag, a pointer loop */
    {
        static const unsigned char hdr[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
                                            7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                            3, 'c', 'o', 'm', 0, 0x01, 0x01, 0, 1};
        static const unsigned char rr_issue[] = {0xc0, 0x0c, 0x01, 0x01, 0, 1, 0, 0, 0, 60,
                                                 0, 21, 0, 5, 'i', 's', 's', 'u', 'e',
                                                 'c', 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l',
                                                 'e', '.', 'n', 'e', 't'};
        /* example.com CNAME foo.example.com; the target's name is at offset 41 */
        static const unsigned char rr_cname[] = {0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60,
                                                 0, 6, 3, 'f', 'o', 'o', 0xc0, 0x0c};
        static const unsigned char rr_tgt[] = {0xc0, 41, 0x01, 0x01, 0, 1, 0, 0, 0, 60,
                                               0, 8, 0x80, 3, 't', 'b', 's', 'x', ';', 'y'};
        static const unsigned char rr_loop[] = {0xc0, 29, 0x01, 0x01, 0, 1, 0, 0, 0, 60,
                                                0, 0};
        unsigned char m[512];
        size_t n;
#define CAA_SEED(name, an, ...)                                                            \
    do {                                                                                   \
        const unsigned char *parts[] = {__VA_ARGS__};                                      \
        m[0] = 0;                                                                          \
        memcpy(m + 1, hdr, sizeof(hdr));                                                   \
        m[1 + 7] = (an);                                                                   \
        n = 1 + sizeof(hdr);                                                               \
        for (i = 0; i < (int)(sizeof(parts) / sizeof(parts[0])); i++) {                   \
            size_t l = parts[i] == rr_issue ? sizeof(rr_issue)                             \
                       : parts[i] == rr_cname ? sizeof(rr_cname)                           \
                       : parts[i] == rr_tgt   ? sizeof(rr_tgt)                             \
                                              : sizeof(rr_loop);                           \
            memcpy(m + n, parts[i], l);                                                    \
            n += l;                                                                        \
        }                                                                                  \
        put("fuzz_caa", name, 0, 0, m, n);                                                 \
    } while (0)
        CAA_SEED("issue", 1, rr_issue);
        CAA_SEED("cname-target", 2, rr_cname, rr_tgt);
        CAA_SEED("cname-only", 1, rr_cname);
        CAA_SEED("loop", 1, rr_loop);
#undef CAA_SEED
    }

    /* nonces valid at FUZZ_NOW for the harness's key */
    memset(nkey, 3, sizeof(nkey));
    put_s("fuzz_nonce", "valid", acp_nonce_make(p, nkey, NULL, FUZZ_NOW));
    {
        acp_nonce_store_t *st = acp_nonce_store_init(calloc(1, acp_nonce_store_size()));
        put_s("fuzz_nonce", "valid-store", acp_nonce_make(p, nkey, st, FUZZ_NOW));
    }
    put_s("fuzz_nonce", "expired", acp_nonce_make(p, nkey, NULL, FUZZ_NOW - 7200));

    /* webhook: the signature header, and signed bodies */
    put_p("fuzz_webhook", "header", 0,
          acp_webhook_sign(p, wh_secret, sizeof(wh_secret) - 1, wh_body, strlen(wh_body),
                           FUZZ_NOW));
    put_p("fuzz_webhook", "header-two", 0,
          apr_pstrcat(p, "t=1800000000,v1=00,",
                      acp_webhook_sign(p, wh_secret, sizeof(wh_secret) - 1, wh_body,
                                       strlen(wh_body), FUZZ_NOW) + 14,
                      NULL));
    put_p("fuzz_webhook", "body", 1, wh_body);
    put_p("fuzz_webhook", "body-other-currency", 1,
          "{\"invoice\":\"fuzzinv\",\"amount\":5,\"currency\":\"USD\",\"reference\":\"r2\"}");
    put_p("fuzz_webhook", "body-unknown-invoice", 1,
          "{\"invoice\":\"nope\",\"amount\":100,\"currency\":\"CNY\",\"reference\":\"r3\"}");

    /* ACME payloads, per resource (first byte: the harness's switch) */
    put_p("fuzz_payload", "new-account", 0,
          "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:admin@example.com\"]}");
    put_p("fuzz_payload", "new-account-eab", 0,
          apr_psprintf(p, "{\"termsOfServiceAgreed\":true,\"externalAccountBinding\":%s}",
                       jws_hs256(p, mac_key, sizeof(mac_key),
                                 "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"" BASE
                                 "/new-account\"}",
                                 other_jwk)));
    put_p("fuzz_payload", "only-existing", 0, "{\"onlyReturnExisting\":true}");
    put_p("fuzz_payload", "account-contact", 1, "{\"contact\":[\"mailto:b@example.org\"]}");
    put_p("fuzz_payload", "account-deactivate", 1, "{\"status\":\"deactivated\"}");
    put_p("fuzz_payload", "new-order", 2,
          "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},"
          "{\"type\":\"dns\",\"value\":\"*.a.example.com\"}],"
          "\"notBefore\":\"2026-12-01T00:00:00Z\",\"notAfter\":\"2027-01-01T00:00:00Z\"}");
    put_p("fuzz_payload", "new-order-reuse", 2,
          "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"fuzz.example.com\"}]}");
    put_p("fuzz_payload", "authz-deactivate", 3, "{\"status\":\"deactivated\"}");
    put_p("fuzz_payload", "revoke", 5,
          apr_psprintf(p, "{\"certificate\":\"%s\",\"reason\":1}",
                       acp_b64url_encode(p, der, len)));
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    printf("seeds written to %s\n", out_dir);
    return 0;
}
