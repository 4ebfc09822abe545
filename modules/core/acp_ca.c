/* The local OpenSSL CA signer: its certificate, chain and key loaded (acp_ca_local_create),
 * the CRL shards, and certificate serial and AKI lookup. The certificates and CRLs it signs
 * are built in acp_ca_sign.c; CSR parsing and checks (acp_csr_parse, acp_csr_check) are in
 * acp_csr.c. */
#include <limits.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_ca.h"
#include "acp_ca_int.h"

/* ---- pool cleanups for OpenSSL objects ------------------------------------------------ */

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t md_cleanup(void *data)
{
    EVP_MD_free(data);
    return APR_SUCCESS;
}

/* The newest OpenSSL error as text (and the thread's queue cleared). */
const char *acp_ca_int_ssl_error(apr_pool_t *p, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (!e) {
        return what;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return apr_psprintf(p, "%s (%s)", what, buf);
}

/* ---- the local CA ---------------------------------------------------------------------- */

/* Never prompt for a passphrase (we may be running without a terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

const char *acp_ca_int_x509_pem(apr_pool_t *p, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    const char *pem = NULL;

    if (b && PEM_write_bio_X509(b, x) == 1) {
        n = BIO_get_mem_data(b, &data);
        if (n > 0 && data) {
            pem = apr_pstrmemdup(p, data, (apr_size_t)n);
        }
    }
    BIO_free(b);
    return pem;
}

void acp_ca_set_crl(acp_signer_t *signer, const char *url, int shards)
{
    signer->crl_url = url;
    signer->crl_shards = shards;
}

int acp_ca_crl_shard(const char *serial_hex, int shards)
{
    unsigned long long v = 0;
    const char *c;

    if (shards <= 0 || !serial_hex || !*serial_hex) {
        return -1;
    }
    /* the serial's value modulo shards, digit by digit (Horner) */
    for (c = serial_hex; *c; c++) {
        int d;
        if (*c >= '0' && *c <= '9') {
            d = *c - '0';
        }
        else if (*c >= 'a' && *c <= 'f') {
            d = *c - 'a' + 10;
        }
        else if (*c >= 'A' && *c <= 'F') {
            d = *c - 'A' + 10;
        }
        else {
            return -1;
        }
        v = (v * 16 + (unsigned long long)d) % (unsigned long long)shards;
    }
    return (int)v;
}

apr_status_t acp_ca_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                         acp_sign_result_t *res, const char **errmsg)
{
    apr_status_t rv = signer->sign(signer, p, req, res, errmsg);

    res->crl_shard = rv == APR_SUCCESS && signer->crl_url
                         ? acp_ca_crl_shard(res->serial_hex, signer->crl_shards)
                         : -1;
    return rv;
}

const char *acp_ca_crl_url(apr_pool_t *p, const char *url, int shard)
{
    const char *at = strstr(url, "{shard}");

    if (!at) {
        return url;
    }
    return apr_psprintf(p, "%.*s%d%s", (int)(at - url), url, shard, at + 7);
}

apr_status_t acp_ca_local_create(apr_pool_t *p, const char *cert_file, const char *key_file,
                                 int validity_days, acp_signer_t **out, const char **errmsg)
{
    local_ca_t *ca = apr_pcalloc(p, sizeof(*ca));
    acp_signer_t *signer;
    BIO *b = NULL;
    X509 *extra = NULL;
    const ASN1_OCTET_STRING *skid;
    const char *err = NULL, *chain;
    apr_array_header_t *pems;
    int nchain = 0;

    if (out) {
        *out = NULL;
    }
    if (errmsg) {
        *errmsg = NULL;
    }
    ERR_clear_error();
    if (!cert_file || !key_file) {
        err = "a CA certificate file and a key file are needed";
        goto done;
    }
    if (validity_days <= 0) {
        err = apr_psprintf(p, "validity of %d days is not positive", validity_days);
        goto done;
    }
    ca->validity_days = validity_days;

    b = BIO_new_file(cert_file, "r");
    if (!b) {
        err = apr_psprintf(p, "cannot open the CA certificate file %s", cert_file);
        goto done;
    }
    ca->cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
    if (!ca->cert) {
        err = apr_psprintf(p, "no PEM certificate in %s", cert_file);
        goto done;
    }
    apr_pool_cleanup_register(p, ca->cert, x509_cleanup, apr_pool_cleanup_null);
    /* the pieces collected, joined once (appending to the joined text is quadratic) */
    pems = apr_array_make(p, 4, sizeof(const char *));
    chain = acp_ca_int_x509_pem(p, ca->cert);
    APR_ARRAY_PUSH(pems, const char *) = chain;
    while ((extra = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        const char *pem = acp_ca_int_x509_pem(p, extra);
        X509_free(extra);
        if (!pem) {
            err = apr_psprintf(p, "cannot encode chain certificate %d of %s", nchain + 1,
                               cert_file);
            goto done;
        }
        APR_ARRAY_PUSH(pems, const char *) = pem;
        nchain++;
    }
    {
        unsigned long e = ERR_peek_last_error();
        if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            err = apr_psprintf(p, "chain certificate %d in %s is unreadable", nchain + 1,
                               cert_file);
            goto done;
        }
        ERR_clear_error();
    }
    if (chain) {
        chain = apr_array_pstrcat(p, pems, '\0');
    }
    if (!chain) {
        err = "cannot encode the CA certificate";
        goto done;
    }
    ca->chain_pem = chain;
    BIO_free(b);

    b = BIO_new_file(key_file, "r");
    if (!b) {
        err = apr_psprintf(p, "cannot open the CA key file %s", key_file);
        goto done;
    }
    ca->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    if (!ca->key) {
        err = apr_psprintf(p, "no readable (unencrypted) PEM private key in %s", key_file);
        goto done;
    }
    apr_pool_cleanup_register(p, ca->key, pkey_cleanup, apr_pool_cleanup_null);
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        err = apr_psprintf(p, "the key in %s does not match the certificate in %s", key_file,
                           cert_file);
        goto done;
    }
    if (X509_check_ca(ca->cert) == 0) {
        err = apr_psprintf(p, "the certificate in %s is not a CA certificate", cert_file);
        goto done;
    }
    if (EVP_PKEY_is_a(ca->key, "ED25519") || EVP_PKEY_is_a(ca->key, "ED448")) {
        ca->md = NULL;
    }
    else {
        ca->md = EVP_sha256();
    }
    /* an explicit fetch once here instead of EVP_sha1()'s implicit one on every use */
    ca->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!ca->sha1) {
        err = "no SHA-1 for the key identifiers";
        goto done;
    }
    apr_pool_cleanup_register(p, ca->sha1, md_cleanup, apr_pool_cleanup_null);
    /* the authority key identifier: the CA's SKI, else the RFC 5280 method 1 hash */
    skid = X509_get0_subject_key_id(ca->cert);
    if (skid && ASN1_STRING_length(skid) > 0 &&
        ASN1_STRING_length(skid) <= (int)sizeof(ca->keyid)) {
        ca->keyid_len = ASN1_STRING_length(skid);
        memcpy(ca->keyid, ASN1_STRING_get0_data(skid), (size_t)ca->keyid_len);
    }
    else {
        unsigned int n = 0;
        if (X509_pubkey_digest(ca->cert, ca->sha1, ca->keyid, &n) != 1) {
            err = "cannot hash the CA public key";
            goto done;
        }
        ca->keyid_len = (int)n;
    }
    ERR_clear_error();

    signer = apr_pcalloc(p, sizeof(*signer));
    signer->name = "local";
    signer->sign = acp_ca_int_local_sign;
    signer->sign_crl = acp_ca_int_local_sign_crl;
    signer->baton = ca;
    if (out) {
        *out = signer;
    }

done:
    BIO_free(b);
    if (err) {
        if (errmsg) {
            *errmsg = acp_ca_int_ssl_error(p, err);
        }
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t acp_ca_cert_serial(apr_pool_t *p, const unsigned char *der, size_t len,
                                const char **serial_hex, const char **issuer_hash)
{
    const unsigned char *q = der;
    X509 *x = NULL;
    const ASN1_INTEGER *serial;
    apr_status_t rv = APR_EINVAL;

    if (!der || len == 0 || len > (size_t)LONG_MAX) {
        return APR_EINVAL;
    }
    x = d2i_X509(NULL, &q, (long)len);
    if (!x || q != der + len) {
        goto done;
    }
    serial = X509_get0_serialNumber(x);
    if (!serial) {
        goto done;
    }
    if (serial_hex) {
        int n = ASN1_STRING_length(serial);
        const char *hex = n > 0 ? acp_hex(p, ASN1_STRING_get0_data(serial), (size_t)n) : "00";
        *serial_hex = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER
                          ? apr_pstrcat(p, "-", hex, NULL)
                          : hex;
    }
    if (issuer_hash) {
        *issuer_hash = apr_psprintf(p, "%08lx", X509_issuer_name_hash(x));
    }
    rv = APR_SUCCESS;

done:
    X509_free(x);
    ERR_clear_error();
    return rv;
}

apr_status_t acp_ca_pem_aki(apr_pool_t *p, const char *pem, const char **aki_hex)
{
    BIO *in = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    const ASN1_OCTET_STRING *kid = x ? X509_get0_authority_key_id(x) : NULL;
    apr_status_t rv = APR_EINVAL;

    if (kid && ASN1_STRING_length(kid) > 0) {
        *aki_hex = acp_hex(p, ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
        rv = APR_SUCCESS;
    }
    X509_free(x);
    BIO_free(in);
    ERR_clear_error();
    return rv;
}
