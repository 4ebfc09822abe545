/* Certificate requests for test_ca and test_csr: a DER CSR signed by a key (cn, SANs,
 * digest), a comma list as an array (the keys: acp_test_key.h). */
#ifndef ACP_TEST_CSR_H
#define ACP_TEST_CSR_H

#include <stdio.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_test_key.h"

static const EVP_MD *md_for(EVP_PKEY *k)
{
    return EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448") ? NULL : EVP_sha256();
}

/* DER CSR signed by key with md; cn may be NULL; san like "DNS:a.example,IP:1.2.3.4". */
static unsigned char *make_csr_md(apr_pool_t *p, EVP_PKEY *key, const char *cn,
                                  const char *san, const EVP_MD *md, size_t *len)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = NULL;
    unsigned char *der = NULL, *out = NULL;
    int n;

    *len = 0;
    if (!req || !name || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
        goto done;
    }
    if (cn && X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                         (const unsigned char *)cn, -1, -1, 0) != 1) {
        goto done;
    }
    if (X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1) {
        goto done;
    }
    if (san) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        exts = sk_X509_EXTENSION_new_null();
        if (!ext || !exts || !sk_X509_EXTENSION_push(exts, ext)) {
            X509_EXTENSION_free(ext);
            goto done;
        }
        if (X509_REQ_add_extensions(req, exts) != 1) {
            goto done;
        }
    }
    if (X509_REQ_sign(req, key, md) <= 0) {
        goto done;
    }
    n = i2d_X509_REQ(req, &der);
    if (n <= 0) {
        goto done;
    }
    out = apr_pmemdup(p, der, (apr_size_t)n);
    *len = (size_t)n;

done:
    if (!out) {
        ERR_print_errors_fp(stderr);
    }
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return out;
}

static unsigned char *make_csr(apr_pool_t *p, EVP_PKEY *key, const char *cn, const char *san,
                               size_t *len)
{
    return make_csr_md(p, key, cn, san, md_for(key), len);
}

static apr_array_header_t *list(apr_pool_t *p, const char *csv)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *last = NULL, *tok;

    for (tok = apr_strtok(apr_pstrdup(p, csv), ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(a, const char *) = tok;
    }
    return a;
}

#endif
