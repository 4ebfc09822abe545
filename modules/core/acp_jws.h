/* JWS (RFC 7515, flattened JSON serialization) and JWK (RFC 7517/7638) for ACME.
 * acp_jws.c implements the JWS part and acp_json_parse; acp_jwk.c implements the JWK
 * part (acp_jwk_to_pkey, acp_jwk_from_pkey, acp_jwk_thumbprint, acp_jwk_canonical). */
#ifndef ACP_JWS_H
#define ACP_JWS_H

#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_core.h"

/* Signature algorithms accepted on ACME requests, space separated. */
#define ACP_JWS_ALGORITHMS "RS256 PS256 ES256 ES384 ES512 EdDSA"

typedef enum {
    ACP_JWS_OUTER = 0,     /* an ACME request: nonce + url required, one of jwk/kid */
    ACP_JWS_KEYCHANGE,     /* inner keyChange JWS: jwk + url, no nonce, no kid */
    ACP_JWS_EAB            /* EAB inner JWS: HS256/384/512, kid + url, no nonce, no jwk */
} acp_jws_kind_t;

typedef struct acp_jws_t {
    const char *alg;
    const char *nonce;        /* NULL when absent */
    const char *url;
    const char *kid;          /* NULL when absent */
    json_object *jwk;         /* NULL when absent; freed by a pool cleanup */
    const char *payload;      /* decoded payload, NUL-terminated ("" for POST-as-GET) */
    size_t payload_len;
    const char *protected_b64;  /* as received, for the signing input */
    const char *payload_b64;
    const unsigned char *sig;
    size_t sig_len;
} acp_jws_t;

/* Parse a flattened JWS of the given kind. Checks: JSON object with exactly
 * "protected", "payload", "signature" (strings, strict base64url); protected header
 * is a JSON object with "alg" and "url"; for OUTER a "nonce" and exactly one of
 * "jwk"/"kid"; "alg" is in ACP_JWS_ALGORITHMS (HS* for EAB), otherwise
 * ACP_ERR_BAD_SIGNATURE_ALG; "none" and HS* on OUTER are rejected.
 * Returns NULL on success, else a problem (malformed / badSignatureAlgorithm). */
acp_problem_t *acp_jws_parse(apr_pool_t *p, acp_jws_kind_t kind, const char *body,
                             size_t len, acp_jws_t **out);

/* Public JWK (RSA, EC P-256/384/521, OKP Ed25519) to EVP_PKEY. The key is freed
 * by a cleanup on p. Private members ("d" …) are rejected. RSA < 2048 bits rejected.
 * Problem kind: ACP_ERR_BAD_PUBLIC_KEY (or MALFORMED for non-object input). */
acp_problem_t *acp_jwk_to_pkey(apr_pool_t *p, json_object *jwk, EVP_PKEY **out);

/* EVP_PKEY back to a public JWK (json object, freed by a cleanup on p). */
json_object *acp_jwk_from_pkey(apr_pool_t *p, EVP_PKEY *key);

/* Verify jws signature with key; alg must fit the key type (RS256/PS256 with RSA,
 * ES256 with P-256, ES384 with P-384, ES512 with P-521, EdDSA with Ed25519).
 * ECDSA signatures are raw r||s (RFC 7518 §3.4). Returns NULL or a problem
 * (ACP_ERR_MALFORMED for a bad signature, ACP_ERR_BAD_SIGNATURE_ALG for a mismatch). */
acp_problem_t *acp_jws_verify(apr_pool_t *p, const acp_jws_t *jws, EVP_PKEY *key);

/* Verify an HS256/384/512 JWS with a raw MAC key (EAB). Constant-time compare. */
acp_problem_t *acp_jws_verify_hmac(apr_pool_t *p, const acp_jws_t *jws,
                                   const unsigned char *key, size_t keylen);

/* RFC 7638 thumbprint, base64url(SHA-256(canonical JSON)). NULL on bad jwk. */
char *acp_jwk_thumbprint(apr_pool_t *p, json_object *jwk);
/* The required public members only, lexicographic order, no whitespace
 * (the same JSON the thumbprint hashes); what we store for an account. */
char *acp_jwk_canonical(apr_pool_t *p, json_object *jwk);

/* Parse JSON text into an object that is released by a cleanup on p.
 * Returns NULL on syntax error, trailing garbage, or nesting deeper than 16. */
json_object *acp_json_parse(apr_pool_t *p, const char *text, size_t len);

#endif
