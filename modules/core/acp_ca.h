/* CSR checks and certificate signing behind a small signer interface.
 * acp_csr.c implements the CSR part (acp_csr_parse, acp_csr_check), acp_ca.c and
 * acp_ca_sign.c the local CA signer and acp_ca_cert_serial, acp_ca_command.c the command
 * signer. */
#ifndef ACP_CA_H
#define ACP_CA_H

#include <openssl/x509.h>
#include "acp_core.h"

typedef struct acp_csr_t {
    const X509_NAME *subject;      /* the request's subject */
    const X509_ALGOR *key_alg;     /* its SubjectPublicKeyInfo: the algorithm, parameters */
    const ASN1_BIT_STRING *key_bits; /* and the key's bits, as received */
    EVP_PKEY *pkey;                /* the CSR's public key; all freed by cleanups on the
                                      parse pool */
    apr_array_header_t *names;     /* const char*: lowercased DNS names from CN + SAN and
                                      the canonical text of iPAddress SANs (a CN may also
                                      be an address's canonical text), de-duplicated,
                                      sorted */
    const unsigned char *der;      /* a copy of the DER that was parsed, in the parse pool */
    size_t der_len;
} acp_csr_t;

/* Parse a DER CSR: signature must verify; key policy RSA >= 2048 (and <= 8192),
 * EC P-256 / P-384, Ed25519; only dNSName and iPAddress SANs, at most ACP_MAX_IDENTIFIERS
 * of them
 * (counted before any is looked at). Problem kind ACP_ERR_BAD_CSR. */
acp_problem_t *acp_csr_parse(apr_pool_t *p, const unsigned char *der, size_t len,
                             acp_csr_t **out);

/* The CSR's names must equal order_names (normalised dns names and IP identifiers, any
 * order) exactly;
 * the CN, if present, must be among them; the CSR key must differ from account_key
 * (may be NULL to skip). Problem kind ACP_ERR_BAD_CSR with a detail of bounded length
 * (ACP_CSR_DETAIL_MAX bytes of names at most). Linear in the number of names. */
#define ACP_CSR_DETAIL_MAX 512
acp_problem_t *acp_csr_check(apr_pool_t *p, const acp_csr_t *csr,
                             const apr_array_header_t *order_names, EVP_PKEY *account_key);

/* An organization-validated certificate's subject (acp_org.h, from the vetting, never from
 * the CSR): O, L, ST, C beside the CN; the certificate then names the CA/Browser Forum OV
 * policy (ACP_CA_POLICY_OV) in certificatePolicies. L and ST may be NULL. */
typedef struct acp_sign_org_t {
    const char *o, *l, *st, *c;
} acp_sign_org_t;

#define ACP_CA_POLICY_OV "2.23.140.1.2.2"

typedef struct acp_sign_req_t {
    const unsigned char *csr_der;
    size_t csr_len;
    const apr_array_header_t *names;   /* SANs to put in the certificate */
    long long not_before;              /* unix seconds; 0 = now */
    long long not_after;               /* unix seconds; 0 = not_before + validity */
    const acp_csr_t *csr;              /* optional: csr_der as acp_csr_parse returned it
                                          (alive for the call, read-only, may be shared
                                          between threads); the local signer then does not
                                          parse csr_der again. Used only when its der equals
                                          csr_der byte for byte, else csr_der is parsed. */
    const acp_sign_org_t *org;         /* OV: the vetted organization; NULL: DV */
} acp_sign_req_t;

typedef struct acp_sign_result_t {
    const char *serial_hex;    /* lowercase hex, no leading zeros stripped beyond one byte */
    const char *pem_chain;     /* leaf first, then the CA chain */
    const char *aki_hex;       /* the leaf's Authority Key Identifier (hex), NULL: none */
    long long not_before;
    long long not_after;
    int crl_shard;             /* the CRL shard it is listed on; -1: none (no CRLs) */
} acp_sign_result_t;

/* One revoked certificate on a CRL. */
typedef struct acp_crl_entry_t {
    const char *serial_hex;    /* as stored (lowercase hex) */
    long long revoked;         /* unix seconds */
    int reason;                /* RFC 5280 CRLReason; 0 (unspecified): no reasonCode */
} acp_crl_entry_t;

typedef struct acp_crl_req_t {
    int shard;
    long long number;          /* cRLNumber */
    long long this_update, next_update;
    const char *idp_url;       /* issuingDistributionPoint fullName (this shard's URL) or NULL */
    const apr_array_header_t *entries;   /* acp_crl_entry_t */
} acp_crl_req_t;

typedef struct acp_signer_t acp_signer_t;
struct acp_signer_t {
    const char *name;
    /* Sign; result strings in p. Returns APR_SUCCESS or an error with *errmsg set. */
    apr_status_t (*sign)(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                         acp_sign_result_t *res, const char **errmsg);
    void *baton;
    /* Sign a v2 CRL (DER in p); NULL when this signer cannot (the command signer) */
    apr_status_t (*sign_crl)(acp_signer_t *signer, apr_pool_t *p, const acp_crl_req_t *req,
                             unsigned char **der, size_t *der_len, const char **errmsg);
    const char *crl_url;  /* AcmePayCRLURL template ("{shard}" replaced), NULL: no CRLs */
    int crl_shards;       /* AcmePayCRLShards */
    int slow;   /* may block for seconds (external command, remote CA): the request thread
                   hands it to a worker and waits at most AcmePaySignTimeout */
};

/* Local OpenSSL CA: cert_file holds the issuing CA certificate (followed by any chain
 * certificates to append), key_file its private key (PEM). validity_days > 0.
 * The certificate: v3, random positive 128-bit serial (top bit clear, never zero),
 * subject CN = first name (OV: C, ST, L, O from req->org first, and certificatePolicies
 * naming ACP_CA_POLICY_OV), SAN = names, EKU serverAuth, KU digitalSignature
 * (+ keyEncipherment for RSA keys), SKI, AKI, basicConstraints critical CA:FALSE,
 * notBefore = now - 1 minute (unless given). Lives in pool p. */
apr_status_t acp_ca_local_create(apr_pool_t *p, const char *cert_file, const char *key_file,
                                 int validity_days, acp_signer_t **out, const char **errmsg);

/* Command signer: runs "<command>" with the CSR (PEM) on stdin and the names in the
 * environment (ACME_PAY_NAMES, comma separated; ACME_PAY_NOT_AFTER when set); it prints
 * the PEM chain, leaf first, on stdout and exits 0. Anything else is a failure (its
 * stderr's first line becomes the error). timeout_s bounds one run. An OV request adds
 * ACME_PAY_ORG_O, ACME_PAY_ORG_L, ACME_PAY_ORG_ST, ACME_PAY_ORG_C and ACME_PAY_POLICY
 * (ACP_CA_POLICY_OV): the command must put them in the certificate. */
apr_status_t acp_ca_command_create(apr_pool_t *p, const char *command, int timeout_s,
                                   acp_signer_t **out, const char **errmsg);

/* Certificates the local signer issues name the CRL of their shard in
 * crlDistributionPoints: url with "{shard}" replaced by acp_ca_crl_shard(serial). */
void acp_ca_set_crl(acp_signer_t *signer, const char *url, int shards);
/* The shard of a serial (hex): its value modulo shards; -1 when shards <= 0 or the serial
 * is not hex. Stable: the same serial always lands in the same shard. */
int acp_ca_crl_shard(const char *serial_hex, int shards);
/* signer->sign, then res->crl_shard from the serial when the signer has CRLs (for the
 * command signer too: its certificates are listed on the shard's CRL when revoked). */
apr_status_t acp_ca_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                         acp_sign_result_t *res, const char **errmsg);
/* url with the first "{shard}" replaced by the number. */
const char *acp_ca_crl_url(apr_pool_t *p, const char *url, int shard);

/* DER of a PEM certificate chain's leaf, for revocation matching. */
apr_status_t acp_ca_cert_serial(apr_pool_t *p, const unsigned char *der, size_t len,
                                const char **serial_hex, const char **issuer_hash);

/* The Authority Key Identifier (keyIdentifier, lowercase hex) of a PEM chain's leaf. */
apr_status_t acp_ca_pem_aki(apr_pool_t *p, const char *pem, const char **aki_hex);

#endif
