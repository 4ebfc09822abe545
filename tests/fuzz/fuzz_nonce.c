/* Nonces: acp_nonce_check (base64url, length, MAC, expiry) and, for a nonce that passes,
 * redemption in a shared-memory store (once only); base64url decoding on its own. */
#include "fuzz_common.h"
#include "acp_nonce.h"
#include "acp_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char key[ACP_NONCE_KEY_LEN];
    static acp_nonce_store_t *store;
    apr_pool_t *p;
    acp_nonce_info_t info;
    unsigned char *dec = NULL;
    size_t declen = 0;
    const char *nonce;

    fuzz_init_apr();
    if (!store) {
        memset(key, 3, sizeof(key));
        static void *mem;
        mem = calloc(1, acp_nonce_store_size());
        store = acp_nonce_store_init(mem);
    }
    apr_pool_create(&p, fuzz_root);
    nonce = fuzz_str(p, data, size);
    acp_b64url_decode(p, nonce, size, &dec, &declen);
    if (acp_nonce_check(p, key, nonce, FUZZ_NOW, &info) == 0) {
        /* a valid nonce of another store (its epoch) is refused; twice is never twice ok */
        int first = acp_nonce_redeem(store, &info), second = acp_nonce_redeem(store, &info);
        if (second == 0 && first == 0) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
