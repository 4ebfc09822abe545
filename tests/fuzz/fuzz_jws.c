/* acp_jws_parse (flattened JWS, RFC 7515) of every kind, then what authenticate() does with
 * a parsed one: the embedded JWK to a key, its thumbprint, the signature check. The first
 * byte picks the kind (ACME request, keyChange inner JWS, EAB inner JWS). */
#include "fuzz_common.h"
#include "acp_jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char mac_key[32] = {7};
    apr_pool_t *p;
    acp_jws_t *jws = NULL;
    acp_jws_kind_t kind;

    if (size < 1) {
        return 0;
    }
    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    kind = data[0] % 3 == 0 ? ACP_JWS_OUTER : data[0] % 3 == 1 ? ACP_JWS_KEYCHANGE : ACP_JWS_EAB;
    if (acp_jws_parse(p, kind, (const char *)data + 1, size - 1, &jws) == NULL && jws) {
        EVP_PKEY *key = NULL;
        if (jws->jwk && acp_jwk_to_pkey(p, jws->jwk, &key) == NULL && key) {
            acp_jws_verify(p, jws, key);
            acp_jwk_thumbprint(p, jws->jwk);
            acp_jwk_canonical(p, jws->jwk);
        }
        if (kind == ACP_JWS_EAB) {
            acp_jws_verify_hmac(p, jws, mac_key, sizeof(mac_key));
        }
        if (jws->payload_len) {
            acp_json_parse(p, jws->payload, jws->payload_len);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
