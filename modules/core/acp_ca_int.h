/* The local CA signer: internals shared by acp_ca.c (its certificate, chain and key loaded)
 * and acp_ca_sign.c (the certificates and CRLs it signs). Not a public API. */
#ifndef ACP_CA_INT_H
#define ACP_CA_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "acp_ca.h"

typedef struct local_ca_t {
    X509 *cert;                /* read-only after creation */
    EVP_PKEY *key;             /* read-only after creation */
    const EVP_MD *md;          /* NULL for Ed25519 / Ed448 */
    EVP_MD *sha1;              /* fetched once, for the subject key identifier */
    unsigned char keyid[EVP_MAX_MD_SIZE];  /* the CA's subject key identifier */
    int keyid_len;
    const char *chain_pem;     /* the CA certificate and the chain, PEM */
    int validity_days;
} local_ca_t;

/* ---- acp_ca.c */

/* The newest OpenSSL error as text (and the thread's queue cleared). */
const char *acp_ca_int_ssl_error(apr_pool_t *p, const char *what);
/* x as PEM text in p; NULL when it cannot be encoded. */
const char *acp_ca_int_x509_pem(apr_pool_t *p, X509 *x);

/* ---- acp_ca_sign.c */

/* The local signer's sign and sign_crl (acp_signer_t); signer->baton is its local_ca_t. */
apr_status_t acp_ca_int_local_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                                   acp_sign_result_t *res, const char **errmsg);
apr_status_t acp_ca_int_local_sign_crl(acp_signer_t *signer, apr_pool_t *p,
                                       const acp_crl_req_t *req, unsigned char **der,
                                       size_t *der_len, const char **errmsg);

#endif
