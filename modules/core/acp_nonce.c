/* MAC'd anti-replay nonces and the shared-memory redemption table. */
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "acp_nonce.h"
#include "acp_util.h"

#define BODY_LEN 16
#define MAC_LEN 16
#define STORE_MAGIC 0x41435031u /* "ACP1" */

struct acp_nonce_store_t {
    apr_uint32_t magic;
    apr_uint32_t epoch;
    apr_uint64_t next;                  /* atomic: the next issue number */
    apr_uint64_t slot[ACP_NONCE_SLOTS]; /* atomic: 1 + highest issue number spent here */
};

/* HMAC-SHA256 through a context keyed once per thread: OpenSSL 3's one-shot HMAC()
 * fetches the algorithm and builds a context on every call, which was ~13 % of
 * Apache's CPU on newNonce. Re-initialising a keyed context with a NULL key restarts
 * from its stored inner/outer pad state. The one-shot path remains as the fallback. */
static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static __thread EVP_MAC_CTX *tl_ctx;
static __thread unsigned char tl_key[ACP_NONCE_KEY_LEN];

static void hmac_fetch(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int nonce_mac_fast(const unsigned char *key, const unsigned char *body, unsigned char *out)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    size_t len = 0;
    int keyed = tl_ctx && CRYPTO_memcmp(tl_key, key, ACP_NONCE_KEY_LEN) == 0;

    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_alg) {
        return -1;
    }
    if (!keyed) {
        OSSL_PARAM params[2];
        EVP_MAC_CTX_free(tl_ctx);
        tl_ctx = EVP_MAC_CTX_new(hmac_alg);
        params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (!tl_ctx || EVP_MAC_init(tl_ctx, key, ACP_NONCE_KEY_LEN, params) != 1) {
            EVP_MAC_CTX_free(tl_ctx);
            tl_ctx = NULL;
            return -1;
        }
        memcpy(tl_key, key, ACP_NONCE_KEY_LEN);
    }
    else if (EVP_MAC_init(tl_ctx, NULL, 0, NULL) != 1) {
        return -1;
    }
    if (EVP_MAC_update(tl_ctx, body, BODY_LEN) != 1 ||
        EVP_MAC_final(tl_ctx, full, &len, sizeof(full)) != 1 || len < MAC_LEN) {
        EVP_MAC_CTX_free(tl_ctx);
        tl_ctx = NULL;
        return -1;
    }
    memcpy(out, full, MAC_LEN);
    return 0;
}

static void nonce_mac(const unsigned char *key, const unsigned char *body, unsigned char *mac)
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (nonce_mac_fast(key, body, mac) == 0) {
        return;
    }
    HMAC(EVP_sha256(), key, ACP_NONCE_KEY_LEN, body, BODY_LEN, full, &len);
    memcpy(mac, full, MAC_LEN);
}

static void put_be(unsigned char *out, apr_uint64_t v, int n)
{
    int i;
    for (i = n - 1; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_uint64_t get_be(const unsigned char *in, int n)
{
    apr_uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) {
        v = (v << 8) | in[i];
    }
    return v;
}

apr_size_t acp_nonce_store_size(void)
{
    return sizeof(acp_nonce_store_t);
}

acp_nonce_store_t *acp_nonce_store_init(void *mem)
{
    acp_nonce_store_t *st = mem;
    unsigned char r[4];

    do {
        if (RAND_bytes(r, sizeof(r)) != 1) {
            return NULL;
        }
        st->epoch = (apr_uint32_t)get_be(r, 4);
    } while (st->epoch == 0);
    __atomic_store_n(&st->next, 0, __ATOMIC_SEQ_CST);
    st->magic = STORE_MAGIC;
    return st;
}

char *acp_nonce_make(apr_pool_t *p, const unsigned char *key, acp_nonce_store_t *store,
                     long long now)
{
    unsigned char raw[BODY_LEN + MAC_LEN];

    if (!store) {
        return acp_nonce_make_epoch(p, key, 0, now);
    }
    put_be(raw, (apr_uint64_t)(now + ACP_NONCE_LIFETIME), 4);
    put_be(raw + 4, store->epoch, 4);
    put_be(raw + 8, __atomic_fetch_add(&store->next, 1, __ATOMIC_RELAXED), 8);
    nonce_mac(key, raw, raw + BODY_LEN);
    return acp_b64url_encode(p, raw, sizeof(raw));
}

char *acp_nonce_make_epoch(apr_pool_t *p, const unsigned char *key, apr_uint32_t epoch,
                           long long now)
{
    unsigned char raw[BODY_LEN + MAC_LEN];

    put_be(raw, (apr_uint64_t)(now + ACP_NONCE_LIFETIME), 4);
    put_be(raw + 4, epoch, 4);
    if (RAND_bytes(raw + 8, 8) != 1) {
        abort();
    }
    nonce_mac(key, raw, raw + BODY_LEN);
    return acp_b64url_encode(p, raw, sizeof(raw));
}

int acp_nonce_check(apr_pool_t *p, const unsigned char *key, const char *nonce, long long now,
                    acp_nonce_info_t *info)
{
    unsigned char *raw = NULL, mac[MAC_LEN];
    size_t len = 0;

    if (!nonce || acp_b64url_decode(p, nonce, strlen(nonce), &raw, &len) != 0 ||
        len != BODY_LEN + MAC_LEN) {
        return -1;
    }
    nonce_mac(key, raw, mac);
    if (CRYPTO_memcmp(mac, raw + BODY_LEN, MAC_LEN) != 0) {
        return -1;
    }
    info->expires = (long long)get_be(raw, 4);
    info->epoch = (apr_uint32_t)get_be(raw + 4, 4);
    info->seq = get_be(raw + 8, 8);
    if (info->expires < now) {
        return -1;
    }
    return 0;
}

int acp_nonce_redeem(acp_nonce_store_t *store, const acp_nonce_info_t *info)
{
    apr_uint64_t *slot, old, want;

    if (!store || store->magic != STORE_MAGIC || info->epoch != store->epoch ||
        info->seq >= __atomic_load_n(&store->next, __ATOMIC_ACQUIRE)) {
        return -1;
    }
    slot = &store->slot[info->seq & (ACP_NONCE_SLOTS - 1)];
    want = info->seq + 1;
    old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    /* the slot only ever grows: once seq is spent, nothing at or below it passes again */
    while (old < want) {
        if (__atomic_compare_exchange_n(slot, &old, want, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            return 0;
        }
    }
    return -1;
}
