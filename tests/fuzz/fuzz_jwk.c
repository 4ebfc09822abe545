/* JWK (RFC 7517): acp_jwk_to_pkey (RSA, EC P-256/384/521, Ed25519; private members and
 * weak keys refused), the RFC 7638 thumbprint, the canonical form stored for an account,
 * and the round trip back to a JWK. */
#include "fuzz_common.h"
#include "acp_jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_object *jwk;

    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    jwk = acp_json_parse(p, (const char *)data, size);
    if (jwk) {
        EVP_PKEY *key = NULL;
        const char *t1 = acp_jwk_thumbprint(p, jwk);
        acp_jwk_canonical(p, jwk);
        if (acp_jwk_to_pkey(p, jwk, &key) == NULL && key) {
            /* a key we accept has a thumbprint, and its own JWK has the same one */
            json_object *back = acp_jwk_from_pkey(p, key);
            const char *t2 = back ? acp_jwk_thumbprint(p, back) : NULL;
            if (!t1 || !t2 || strcmp(t1, t2) != 0) {
                abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
