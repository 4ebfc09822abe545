/* Replays mutated inputs through every parser of untrusted input (JWS, JSON, JWK, CSR,
 * identifiers, nonces, webhook signatures, base64url) with a fixed seed, so a run is
 * repeatable; under ASan/UBSan (make test runs both builds) any overflow, leak or undefined
 * behaviour fails the test. Each parser must also answer every input (problem or success). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "acp_test.h"
#include "acp_jws.h"
#include "acp_ca.h"
#include "acp_ident.h"
#include "acp_nonce.h"
#include "acp_webhook.h"
#include "acp_util.h"

#define ROUNDS 30000

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

/* a copy of seed with a few random edits: flip, insert, delete, truncate, splice bytes */
static char *mutate(apr_pool_t *p, const char *seed, size_t len, size_t *outlen)
{
    size_t cap = len * 2 + 16, n = len, i, edits = 1 + rnd() % 6;
    char *b = apr_palloc(p, cap + 1);
    static const char specials[] = "{}[]\":,\\.-_=+/ \n\t\x00\xff\x80";

    memcpy(b, seed, len);
    for (i = 0; i < edits; i++) {
        size_t at = n ? rnd() % n : 0;
        switch (rnd() % 5) {
        case 0:
            if (n) {
                b[at] ^= (char)(1u << (rnd() % 8));
            }
            break;
        case 1:
            if (n < cap) {
                memmove(b + at + 1, b + at, n - at);
                b[at] = specials[rnd() % (sizeof(specials) - 1)];
                n++;
            }
            break;
        case 2:
            if (n) {
                memmove(b + at, b + at + 1, n - at - 1);
                n--;
            }
            break;
        case 3:
            n = at;
            break;
        default:
            if (n) {
                b[at] = (char)(rnd() & 0xff);
            }
        }
    }
    b[n] = '\0';
    *outlen = n;
    return b;
}

static const char *jws_seed(apr_pool_t *p)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    json_object *jwk = acp_jwk_from_pkey(p, key);
    const char *prot = apr_psprintf(
        p, "{\"alg\":\"ES256\",\"nonce\":\"abc\",\"url\":\"https://x/acme/new-order\",\"jwk\":%s}",
        json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN));
    const char *pay = "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}]}";
    unsigned char sig[64];

    memset(sig, 7, sizeof(sig));
    EVP_PKEY_free(key);
    return apr_psprintf(p, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
                        acp_b64url_encode(p, (const unsigned char *)prot, strlen(prot)),
                        acp_b64url_encode(p, (const unsigned char *)pay, strlen(pay)),
                        acp_b64url_encode(p, sig, sizeof(sig)));
}

static unsigned char *csr_seed(apr_pool_t *p, size_t *len)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char *der = NULL, *copy;
    int n;

    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"a.example.com",
                               -1, -1, 0);
    X509_REQ_set_subject_name(req, name);
    X509_REQ_set_pubkey(req, key);
    X509_REQ_sign(req, key, EVP_sha256());
    n = i2d_X509_REQ(req, &der);
    copy = apr_pmemdup(p, der, (apr_size_t)n);
    OPENSSL_free(der);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    *len = (size_t)n;
    return copy;
}

static void run_tests(apr_pool_t *p)
{
    const char *jws = jws_seed(p);
    size_t csr_len = 0, n, i;
    unsigned char *csr = csr_seed(p, &csr_len), key[ACP_NONCE_KEY_LEN];
    const char *nonce, *wh_body = "{\"invoice\":\"x\",\"amount\":100,\"currency\":\"CNY\","
                                  "\"reference\":\"r\"}";
    const char *wh_sig;
    int answered = 0, total = 0;

    memset(key, 3, sizeof(key));
    nonce = acp_nonce_make(p, key, NULL, 1800000000LL);
    wh_sig = acp_webhook_sign(p, (const unsigned char *)"secret-secret-16", 16, wh_body,
                              strlen(wh_body), 1800000000LL);
    for (i = 0; i < ROUNDS; i++) {
        apr_pool_t *sp;
        char *m;
        acp_jws_t *out = NULL;
        acp_csr_t *c = NULL;
        const char *norm = NULL, *why = NULL;
        unsigned char *dec = NULL;
        size_t declen = 0;
        acp_nonce_info_t ninfo;
        EVP_PKEY *pk = NULL;
        acp_problem_t *prob;

        apr_pool_create(&sp, p);
        m = mutate(sp, jws, strlen(jws), &n);
        prob = acp_jws_parse(sp, ACP_JWS_OUTER, m, n, &out);
        answered += prob != NULL || out != NULL;
        if (!prob && out && out->jwk) {
            acp_jwk_to_pkey(sp, out->jwk, &pk);
            if (pk) {
                acp_jws_verify(sp, out, pk);
            }
            acp_jwk_thumbprint(sp, out->jwk);
        }
        m = mutate(sp, jws, strlen(jws), &n);
        acp_jws_parse(sp, ACP_JWS_EAB, m, n, &out);
        acp_json_parse(sp, m, n);
        m = mutate(sp, (const char *)csr, csr_len, &n);
        prob = acp_csr_parse(sp, (const unsigned char *)m, n, &c);
        answered += prob != NULL || c != NULL;
        m = mutate(sp, "*.Sub-Domain.example.COM.", 25, &n);
        acp_ident_normalize(sp, "dns", m, &norm);
        m = mutate(sp, nonce, strlen(nonce), &n);
        acp_nonce_check(sp, key, m, 1800000000LL, &ninfo);
        acp_b64url_decode(sp, m, n, &dec, &declen);
        m = mutate(sp, wh_sig, strlen(wh_sig), &n);
        acp_webhook_verify(sp, (const unsigned char *)"secret-secret-16", 16, m, wh_body,
                           strlen(wh_body), 1800000000LL, 300, &why);
        total += 2;
        apr_pool_destroy(sp);
    }
    CHECK(answered == total);
    /* the unmutated seeds still parse: the harness really fed the parsers */
    {
        acp_jws_t *out = NULL;
        acp_csr_t *c = NULL;
        CHECK(acp_jws_parse(p, ACP_JWS_OUTER, jws, strlen(jws), &out) == NULL && out);
        CHECK(acp_csr_parse(p, csr, csr_len, &c) == NULL && c);
    }
}
