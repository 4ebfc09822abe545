/* WeChat Pay notifications' untrusted input below the provider (acp_wechat.c). The first
 * byte picks: 0 the rest is base64 (strict decoder); 1 the rest is a resource ciphertext
 * (base64) decrypted with a fixed APIv3 key, nonce and associated data (a forged
 * tag fails; the seed holds a real one); 2 the rest is
 * "timestamp\nnonce\nsignature\nserial\nbody" checked against a fixed platform key
 * (FUZZ_KEY_RSA; a forged input that verifies would be a finding: abort). */
#include "fuzz_common.h"
#include "acp_wechat.h"

static apr_array_header_t *certs;
static EVP_PKEY *platform_key; /* also held here: LeakSanitizer does not scan pool memory */

static void setup(void)
{
    acp_wechat_cert_t *c;
    BIO *b = BIO_new_mem_buf(FUZZ_KEY_RSA, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    platform_key = k;

    if (!k) {
        fuzz_die("RSA key");
    }
    certs = apr_array_make(fuzz_root, 1, sizeof(acp_wechat_cert_t *));
    c = apr_pcalloc(fuzz_root, sizeof(*c));
    c->serial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
    c->key = k;
    APR_ARRAY_PUSH(certs, acp_wechat_cert_t *) = c;
    apr_pool_cleanup_register(fuzz_root, k, (apr_status_t (*)(void *))EVP_PKEY_free,
                              apr_pool_cleanup_null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *key = (const unsigned char *)"0123456789abcdefghijklmnopqrstuv";
    apr_pool_t *p;
    unsigned char *dec = NULL;
    char *out = NULL;
    size_t len = 0;
    const char *s, *why = NULL;

    fuzz_init_apr();
    if (!certs) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    s = fuzz_str(p, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        if (acp_wechat_b64_decode(p, s, &dec, &len) == APR_SUCCESS &&
            (len > strlen(s) / 4 * 3 || len + 3 <= strlen(s) / 4 * 3 ||
             strlen(acp_wechat_b64_encode(p, dec, len)) != strlen(s))) {
            abort(); /* 4 characters for every 3 bytes, padding only at the end */
        }
        break;
    case 1:
        if (acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", s, &out, &len) ==
                APR_SUCCESS &&
            (out[len] != '\0' || len + 16 > strlen(s) / 4 * 3)) {
            abort(); /* the plaintext is the ciphertext less its 16-byte tag */
        }
        break;
    default: {
        char *parts[5] = {NULL, NULL, NULL, NULL, NULL}, *q = apr_pstrdup(p, s);
        int i;
        for (i = 0; i < 4 && q; i++) {
            char *nl = strchr(q, '\n');
            parts[i] = q;
            q = nl ? (*nl = '\0', nl + 1) : NULL;
        }
        parts[4] = q ? q : "";
        if (acp_wechat_verify_notification(p, certs, parts[0], parts[1], parts[2], parts[3],
                                           parts[4], strlen(parts[4]), FUZZ_NOW, &why) == 0) {
            abort(); /* a signature by a key made at start-up cannot be in the input */
        }
        break;
    }
    }
    apr_pool_destroy(p);
    return 0;
}
