/* WeChat Pay API v3: the signature strings, request signing, notification signature
 * checks with the platform certificates and the AEAD_AES_256_GCM resource decryption.
 * Formats and cryptography only (no I/O but reading the key files at configuration):
 * acp_provider_wechat.c builds the provider on them. Base64 here is standard base64
 * with padding, as WeChat Pay uses it. */
#ifndef ACP_WECHAT_H
#define ACP_WECHAT_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include <openssl/evp.h>

#define ACP_WECHAT_TOLERANCE 300     /* seconds a notification's timestamp may be off */

/* A platform certificate: its serial number as WeChat Pay writes it (upper-case hex, no
 * leading zero bytes) and its public key. */
typedef struct acp_wechat_cert_t {
    const char *serial;
    EVP_PKEY *key;
    long long not_after;             /* unix seconds */
} acp_wechat_cert_t;

/* The string WeChat Pay signs: every part followed by "\n" (a request: METHOD, URL path
 * with query, timestamp, nonce, body; a notification: timestamp, nonce, body). */
char *acp_wechat_message(apr_pool_t *p, const char *const *parts, int n);

/* SHA256-RSA (PKCS #1 v1.5) of msg, base64. */
apr_status_t acp_wechat_sign(apr_pool_t *p, EVP_PKEY *key, const char *msg, size_t len,
                             const char **sig_b64);
/* 0 when sig_b64 is a valid SHA256-RSA signature of msg by key, else -1. */
int acp_wechat_verify_sig(apr_pool_t *p, EVP_PKEY *key, const char *msg, size_t len,
                          const char *sig_b64);

/* The Authorization header value of a request: WECHATPAY2-SHA256-RSA2048 mchid="…",
 * nonce_str="…",signature="…",timestamp="…",serial_no="…". */
apr_status_t acp_wechat_authorization(apr_pool_t *p, EVP_PKEY *key, const char *mchid,
                                      const char *serial, const char *method,
                                      const char *url_path, const char *body, long long ts,
                                      const char *nonce, const char **header);

/* Check a notification's Wechatpay-Timestamp, -Nonce, -Signature and -Serial against the
 * platform certificates: 0, or -1 with *why (stale timestamp, unknown serial, bad
 * signature, a header missing or malformed). */
int acp_wechat_verify_notification(apr_pool_t *p, const apr_array_header_t *certs,
                                   const char *timestamp, const char *nonce,
                                   const char *signature, const char *serial,
                                   const char *body, size_t len, long long now,
                                   const char **why);

/* AEAD_AES_256_GCM: key (32 bytes, the APIv3 key), nonce and associated_data as given,
 * ciphertext base64 of ciphertext || 16-byte tag. APR_SUCCESS with *out (NUL-terminated)
 * and *len, or APR_EINVAL (bad base64, too short, tag mismatch: tampered). */
apr_status_t acp_wechat_decrypt(apr_pool_t *p, const unsigned char *key, const char *nonce,
                                const char *aad, const char *ciphertext_b64, char **out,
                                size_t *len);

/* Strict standard base64 (padding required, no whitespace): APR_SUCCESS or APR_EINVAL. */
apr_status_t acp_wechat_b64_decode(apr_pool_t *p, const char *s, unsigned char **out,
                                   size_t *len);
char *acp_wechat_b64_encode(apr_pool_t *p, const unsigned char *d, size_t len);

/* A random nonce_str: 32 characters A-Z 0-9. */
char *acp_wechat_nonce(apr_pool_t *p);

/* Read the merchant's private key (PEM, RSA) and the platform certificates (one or more
 * PEM certificates in one file). The keys live as long as p. */
apr_status_t acp_wechat_load_key(apr_pool_t *p, const char *path, EVP_PKEY **key,
                                 const char **err);
apr_status_t acp_wechat_load_certs(apr_pool_t *p, const char *path,
                                   apr_array_header_t **certs, const char **err);

#endif
