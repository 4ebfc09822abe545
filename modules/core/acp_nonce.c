/* Stateless, MAC'd anti-replay nonces. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "acp_nonce.h"
#include "acp_util.h"

#define BODY_LEN 16
#define MAC_LEN 16

static void nonce_mac(const unsigned char *key, const unsigned char *body, unsigned char *mac)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    HMAC(EVP_sha256(), key, ACP_NONCE_KEY_LEN, body, BODY_LEN, full, &len);
    memcpy(mac, full, MAC_LEN);
}

char *acp_nonce_make(apr_pool_t *p, const unsigned char *key, long long now)
{
    unsigned char raw[BODY_LEN + MAC_LEN];
    unsigned long long exp = (unsigned long long)(now + ACP_NONCE_LIFETIME);
    int i;

    for (i = 7; i >= 0; i--) {
        raw[i] = (unsigned char)(exp & 0xff);
        exp >>= 8;
    }
    if (RAND_bytes(raw + 8, 8) != 1) {
        abort();
    }
    nonce_mac(key, raw, raw + BODY_LEN);
    return acp_b64url_encode(p, raw, sizeof(raw));
}

int acp_nonce_check(apr_pool_t *p, const unsigned char *key, const char *nonce, long long now,
                    long long *expires)
{
    unsigned char *raw = NULL, mac[MAC_LEN];
    size_t len = 0;
    unsigned long long exp = 0;
    int i;

    if (!nonce || acp_b64url_decode(p, nonce, strlen(nonce), &raw, &len) != 0 ||
        len != BODY_LEN + MAC_LEN) {
        return -1;
    }
    nonce_mac(key, raw, mac);
    if (CRYPTO_memcmp(mac, raw + BODY_LEN, MAC_LEN) != 0) {
        return -1;
    }
    for (i = 0; i < 8; i++) {
        exp = (exp << 8) | raw[i];
    }
    if ((long long)exp < now) {
        return -1;
    }
    *expires = (long long)exp;
    return 0;
}
