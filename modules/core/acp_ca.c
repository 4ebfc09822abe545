/* The local OpenSSL CA signer and certificate serial lookup. CSR parsing and checks
 * (acp_csr_parse, acp_csr_check) are in acp_csr.c. */
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_ident.h"
#include "acp_ca.h"

#define SERIAL_LEN 16
#define CN_MAX 64

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
static const char *ssl_error(apr_pool_t *p, const char *what)
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

/* Never prompt for a passphrase (we may be running without a terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static const char *x509_pem(apr_pool_t *p, X509 *x)
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

static int add_ext(X509 *x, int nid, void *value, int crit)
{
    return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_REPLACE) == 1;
}

/* The certificate's SubjectPublicKeyInfo: a copy of the CSR's algorithm, parameters and
 * key bits. X509_set_pubkey would encode the key again from the EVP_PKEY (and decode the
 * result), which costs more than the rest of the certificate. The copy leaves the
 * certificate without a cached EVP_PKEY; nothing here asks it for one. */
static int copy_spki(X509 *x, const acp_csr_t *csr)
{
    X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
    X509_ALGOR *to_alg = NULL;
    const unsigned char *bits = ASN1_STRING_get0_data(csr->key_bits);
    int nbits = ASN1_STRING_length(csr->key_bits);
    unsigned char *copy;

    if (!to || !csr->key_alg || !bits || nbits <= 0) {
        return 0;
    }
    copy = OPENSSL_memdup(bits, (size_t)nbits);
    if (!copy) {
        return 0;
    }
    /* the key bits (to owns copy from here on), then the whole algorithm identifier */
    if (X509_PUBKEY_set0_param(to, NULL, V_ASN1_UNDEF, NULL, copy, nbits) != 1) {
        OPENSSL_free(copy);
        return 0;
    }
    return X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to) == 1 && to_alg &&
           X509_ALGOR_copy(to_alg, csr->key_alg) == 1;
}

/* A DistributionPointName holding one URI (fullName). */
static DIST_POINT_NAME *dp_name(const char *url)
{
    DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

    if (!dpn || !g || !ia5 || ASN1_STRING_set(ia5, url, (int)strlen(url)) != 1) {
        goto fail;
    }
    GENERAL_NAME_set0_value(g, GEN_URI, ia5);
    ia5 = NULL;
    dpn->type = 0;
    dpn->name.fullname = sk_GENERAL_NAME_new_null();
    if (!dpn->name.fullname || sk_GENERAL_NAME_push(dpn->name.fullname, g) <= 0) {
        goto fail;
    }
    return dpn;
fail:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(g);
    DIST_POINT_NAME_free(dpn);
    return NULL;
}

/* crlDistributionPoints: one distribution point, the shard's URL (RFC 5280 §4.2.1.13) */
static int add_cdp(X509 *x, const char *url)
{
    CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
    DIST_POINT *dp = DIST_POINT_new();
    int ok = 0;

    if (cdp && dp && (dp->distpoint = dp_name(url)) != NULL &&
        sk_DIST_POINT_push(cdp, dp) > 0) {
        dp = NULL;
        ok = add_ext(x, NID_crl_distribution_points, cdp, 0);
    }
    DIST_POINT_free(dp);
    CRL_DIST_POINTS_free(cdp);
    return ok;
}

/* The subject's organization attributes (RFC 5280 §4.1.2.4; X.520): countryName as a
 * PrintableString, the others UTF8String. */
static int add_org_subject(X509_NAME *subj, const acp_sign_org_t *org)
{
    const struct {
        int nid, type;
        const char *v;
    } at[] = {{NID_countryName, MBSTRING_ASC, org->c},
              {NID_stateOrProvinceName, MBSTRING_UTF8, org->st},
              {NID_localityName, MBSTRING_UTF8, org->l},
              {NID_organizationName, MBSTRING_UTF8, org->o}};
    size_t i;

    if (!org->o || !*org->o || !org->c || strlen(org->c) != 2) {
        return 0;
    }
    for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        if (at[i].v && *at[i].v &&
            X509_NAME_add_entry_by_NID(subj, at[i].nid, at[i].type,
                                       (const unsigned char *)at[i].v, -1, -1, 0) != 1) {
            return 0;
        }
    }
    return 1;
}

/* certificatePolicies with one policy identifier, no qualifiers (RFC 5280 §4.2.1.4) */
static int add_policy(X509 *x, const char *oid)
{
    CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
    POLICYINFO *pi = POLICYINFO_new();
    int ok = 0;

    if (pols && pi && (pi->policyid = OBJ_txt2obj(oid, 1)) != NULL &&
        sk_POLICYINFO_push(pols, pi) > 0) {
        pi = NULL;
        ok = add_ext(x, NID_certificate_policies, pols, 0);
    }
    POLICYINFO_free(pi);
    CERTIFICATEPOLICIES_free(pols);
    return ok;
}

static apr_status_t local_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                               acp_sign_result_t *res, const char **errmsg)
{
    const local_ca_t *ca = signer->baton;
    const acp_csr_t *csr = NULL;
    acp_csr_t *parsed = NULL;
    acp_problem_t *prob;
    const apr_array_header_t *given;
    apr_array_header_t *names;
    X509 *x = NULL;
    X509_NAME *subj = NULL;
    ASN1_INTEGER *serial;
    BASIC_CONSTRAINTS *bc = NULL;
    ASN1_BIT_STRING *ku = NULL;
    EXTENDED_KEY_USAGE *eku = NULL;
    ASN1_OCTET_STRING *ski = NULL;
    AUTHORITY_KEYID *akid = NULL;
    GENERAL_NAMES *gens = NULL;
    unsigned char sbuf[SERIAL_LEN], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const char *first, *err = NULL, *leaf_pem;
    long long nb, na;
    int i;

    ERR_clear_error();
    memset(res, 0, sizeof(*res));
    if (errmsg) {
        *errmsg = NULL;
    }
    /* the caller's parse of this very CSR, if it has one: parsing costs as much as
     * building and signing the certificate */
    if (req->csr && req->csr->key_alg && req->csr->key_bits && req->csr->pkey && req->csr->names &&
        req->csr->names->nelts > 0 && req->csr->der && req->csr_der &&
        req->csr->der_len == req->csr_len &&
        memcmp(req->csr->der, req->csr_der, req->csr_len) == 0) {
        csr = req->csr;
    } else {
        prob = acp_csr_parse(p, req->csr_der, req->csr_len, &parsed);
        if (prob) {
            err = apr_psprintf(p, "bad CSR: %s", prob->detail);
            goto done;
        }
        csr = parsed;
    }
    /* the order's names (normalised again: only policy-conforming names are signed) */
    given = req->names && req->names->nelts > 0 ? req->names : csr->names;
    names = apr_array_make(p, given->nelts, sizeof(const char *));
    for (i = 0; i < given->nelts; i++) {
        const char *norm = NULL;
        const char *g = APR_ARRAY_IDX(given, i, const char *);
        prob = acp_ident_normalize(p, acp_ident_type(g), g, &norm);
        if (prob) {
            err = prob->detail;
            goto done;
        }
        APR_ARRAY_PUSH(names, const char *) = norm;
    }
    /* the subject CN is the first DNS name; a certificate for IP addresses only has an
     * empty subject (the SANs carry the addresses) */
    first = NULL;
    for (i = 0; i < names->nelts && !first; i++) {
        if (!acp_ident_ip_parse(APR_ARRAY_IDX(names, i, const char *), NULL)) {
            first = APR_ARRAY_IDX(names, i, const char *);
        }
    }
    nb = req->not_before ? req->not_before : acp_now() - 60;
    na = req->not_after ? req->not_after : nb + (long long)ca->validity_days * 86400;
    if (na <= nb) {
        err = "notAfter is not after notBefore";
        goto done;
    }

    x = X509_new();
    if (!x || X509_set_version(x, X509_VERSION_3) != 1) {
        err = "out of memory";
        goto done;
    }
    /* 128-bit positive serial, always 16 octets: top bit clear, first octet non-zero */
    do {
        if (RAND_bytes(sbuf, sizeof(sbuf)) != 1) {
            err = "no randomness for the serial number";
            goto done;
        }
        sbuf[0] &= 0x7f;
    } while (sbuf[0] == 0);
    serial = X509_get_serialNumber(x);
    if (ASN1_STRING_set(serial, sbuf, sizeof(sbuf)) != 1) {
        err = "setting the serial number";
        goto done;
    }
    if (X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1) {
        err = "setting the issuer";
        goto done;
    }
    subj = X509_NAME_new();
    if (!subj) {
        err = "out of memory";
        goto done;
    }
    /* OV: the vetted organization, never the CSR's subject (C, ST, L, O, then CN) */
    if (req->org && !add_org_subject(subj, req->org)) {
        err = "setting the organization in the subject";
        goto done;
    }
    if (first && strlen(first) <= CN_MAX &&
        X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_ASC,
                                   (const unsigned char *)first, -1, -1, 0) != 1) {
        err = "setting the subject";
        goto done;
    }
    if (X509_set_subject_name(x, subj) != 1 || !copy_spki(x, csr) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na)) {
        err = "setting subject, key or validity";
        goto done;
    }

    bc = BASIC_CONSTRAINTS_new();
    ku = ASN1_BIT_STRING_new();
    eku = sk_ASN1_OBJECT_new_null();
    ski = ASN1_OCTET_STRING_new();
    akid = AUTHORITY_KEYID_new();
    gens = sk_GENERAL_NAME_new_null();
    if (!bc || !ku || !eku || !ski || !akid || !gens) {
        err = "out of memory";
        goto done;
    }
    bc->ca = 0;
    if (ASN1_BIT_STRING_set_bit(ku, 0, 1) != 1 ||
        (EVP_PKEY_is_a(csr->pkey, "RSA") && ASN1_BIT_STRING_set_bit(ku, 2, 1) != 1) ||
        sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) <= 0 ||
        X509_pubkey_digest(x, ca->sha1, md, &mdlen) != 1 ||
        ASN1_OCTET_STRING_set(ski, md, (int)mdlen) != 1) {
        err = "building extensions";
        goto done;
    }
    akid->keyid = ASN1_OCTET_STRING_new();
    if (!akid->keyid || ASN1_OCTET_STRING_set(akid->keyid, ca->keyid, ca->keyid_len) != 1) {
        err = "building the authority key identifier";
        goto done;
    }
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        unsigned char ip[16];
        int family = acp_ident_ip_parse(n, ip);
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_STRING *v = family ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
        if (!g || !v ||
            (family ? ASN1_STRING_set(v, ip, family == AF_INET ? 4 : 16)
                    : ASN1_STRING_set(v, n, (int)strlen(n))) != 1) {
            GENERAL_NAME_free(g);
            ASN1_STRING_free(v);
            err = "building the subjectAltName";
            goto done;
        }
        /* RFC 8738 §5 (RFC 5280 §4.2.1.6): an IP identifier is an iPAddress of its octets */
        GENERAL_NAME_set0_value(g, family ? GEN_IPADD : GEN_DNS, v);
        if (sk_GENERAL_NAME_push(gens, g) <= 0) {
            GENERAL_NAME_free(g);
            err = "building the subjectAltName";
            goto done;
        }
    }
    /* RFC 5280 §4.2.1.6: with an empty subject the SAN extension is critical */
    if (!add_ext(x, NID_basic_constraints, bc, 1) || !add_ext(x, NID_key_usage, ku, 1) ||
        !add_ext(x, NID_ext_key_usage, eku, 0) ||
        !add_ext(x, NID_subject_key_identifier, ski, 0) ||
        !add_ext(x, NID_authority_key_identifier, akid, 0) ||
        !add_ext(x, NID_subject_alt_name, gens, X509_NAME_entry_count(subj) == 0)) {
        err = "adding extensions";
        goto done;
    }
    if (req->org && !add_policy(x, ACP_CA_POLICY_OV)) {
        err = "adding the certificate policy";
        goto done;
    }
    if (signer->crl_url && signer->crl_shards > 0) {
        int shard = acp_ca_crl_shard(acp_hex(p, sbuf, sizeof(sbuf)), signer->crl_shards);
        if (!add_cdp(x, acp_ca_crl_url(p, signer->crl_url, shard))) {
            err = "adding the CRL distribution point";
            goto done;
        }
    }
    if (X509_sign(x, ca->key, ca->md) <= 0) {
        err = "signing the certificate";
        goto done;
    }
    leaf_pem = x509_pem(p, x);
    if (!leaf_pem) {
        err = "encoding the certificate";
        goto done;
    }
    res->serial_hex = acp_hex(p, sbuf, sizeof(sbuf));
    res->aki_hex = acp_hex(p, ca->keyid, (size_t)ca->keyid_len);
    res->pem_chain = apr_pstrcat(p, leaf_pem, ca->chain_pem, NULL);
    res->not_before = nb;
    res->not_after = na;

done:
    X509_NAME_free(subj);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING_free(ku);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID_free(akid);
    GENERAL_NAMES_free(gens);
    X509_free(x);
    if (err) {
        if (errmsg) {
            *errmsg = ssl_error(p, err);
        }
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* A v2 CRL (RFC 5280 §5): issuer, thisUpdate, nextUpdate, the revoked serials with their
 * revocation dates and reason codes; extensions AKI, cRLNumber and, for a shard, a
 * critical issuingDistributionPoint naming the shard's URL with onlyContainsUserCerts
 * (a partitioned CRL must say which part it is, §5.2.5). */
static apr_status_t local_sign_crl(acp_signer_t *signer, apr_pool_t *p, const acp_crl_req_t *req,
                                   unsigned char **der, size_t *der_len, const char **errmsg)
{
    const local_ca_t *ca = signer->baton;
    X509_CRL *crl = NULL;
    ASN1_TIME *t = NULL;
    ASN1_INTEGER *num = NULL;
    AUTHORITY_KEYID *akid = NULL;
    ISSUING_DIST_POINT *idp = NULL;
    BIGNUM *bn = NULL;
    unsigned char *out = NULL;
    const char *err = NULL;
    int i, n;

    ERR_clear_error();
    *der = NULL;
    *der_len = 0;
    crl = X509_CRL_new();
    t = ASN1_TIME_new();
    num = ASN1_INTEGER_new();
    akid = AUTHORITY_KEYID_new();
    if (!crl || !t || !num || !akid) {
        err = "out of memory";
        goto done;
    }
    if (X509_CRL_set_version(crl, 1) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
        !ASN1_TIME_set(t, (time_t)req->this_update) || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
        !ASN1_TIME_set(t, (time_t)req->next_update) || X509_CRL_set1_nextUpdate(crl, t) != 1) {
        err = "setting issuer or dates";
        goto done;
    }
    for (i = 0; req->entries && i < req->entries->nelts; i++) {
        const acp_crl_entry_t *e = &APR_ARRAY_IDX(req->entries, i, acp_crl_entry_t);
        X509_REVOKED *r;
        ASN1_INTEGER *sn;
        if (!e->serial_hex || e->serial_hex[0] == '-' || !BN_hex2bn(&bn, e->serial_hex)) {
            continue; /* not a serial this CA wrote */
        }
        r = X509_REVOKED_new();
        sn = BN_to_ASN1_INTEGER(bn, NULL);
        if (!r || !sn || X509_REVOKED_set_serialNumber(r, sn) != 1 ||
            !ASN1_TIME_set(t, (time_t)e->revoked) || X509_REVOKED_set_revocationDate(r, t) != 1) {
            ASN1_INTEGER_free(sn);
            X509_REVOKED_free(r);
            err = "building a revoked entry";
            goto done;
        }
        ASN1_INTEGER_free(sn);
        /* RFC 5280 §5.3.1: unspecified (0) is expressed by leaving the reason out */
        if (e->reason > 0 && e->reason <= 10 && e->reason != 7) {
            ASN1_ENUMERATED *re = ASN1_ENUMERATED_new();
            if (!re || ASN1_ENUMERATED_set(re, e->reason) != 1 ||
                X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, re, 0, 0) != 1) {
                ASN1_ENUMERATED_free(re);
                X509_REVOKED_free(r);
                err = "adding a reason code";
                goto done;
            }
            ASN1_ENUMERATED_free(re);
        }
        if (X509_CRL_add0_revoked(crl, r) != 1) {
            X509_REVOKED_free(r);
            err = "adding a revoked entry";
            goto done;
        }
    }
    akid->keyid = ASN1_OCTET_STRING_new();
    if (!akid->keyid || ASN1_OCTET_STRING_set(akid->keyid, ca->keyid, ca->keyid_len) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1 ||
        ASN1_INTEGER_set_int64(num, req->number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1) {
        err = "adding the CRL extensions";
        goto done;
    }
    if (req->idp_url) {
        idp = ISSUING_DIST_POINT_new();
        if (idp) {
            idp->onlyuser = 0xff; /* onlyContainsUserCerts TRUE: leaves only */
        }
        if (!idp || (idp->distpoint = dp_name(req->idp_url)) == NULL ||
            X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0) != 1) {
            err = "adding the issuing distribution point";
            goto done;
        }
    }
    if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca->key, ca->md) <= 0) {
        err = "signing the CRL";
        goto done;
    }
    n = i2d_X509_CRL(crl, &out);
    if (n <= 0 || !out) {
        err = "encoding the CRL";
        goto done;
    }
    *der = apr_pmemdup(p, out, (apr_size_t)n);
    *der_len = (size_t)n;

done:
    OPENSSL_free(out);
    BN_free(bn);
    ISSUING_DIST_POINT_free(idp);
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    if (err) {
        if (errmsg) {
            *errmsg = ssl_error(p, err);
        }
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
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
    chain = x509_pem(p, ca->cert);
    APR_ARRAY_PUSH(pems, const char *) = chain;
    while ((extra = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
        const char *pem = x509_pem(p, extra);
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
    signer->sign = local_sign;
    signer->sign_crl = local_sign_crl;
    signer->baton = ca;
    if (out) {
        *out = signer;
    }

done:
    BIO_free(b);
    if (err) {
        if (errmsg) {
            *errmsg = ssl_error(p, err);
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
