/* The local OpenSSL CA signer, signing: a leaf certificate built from the CSR and the
 * order's names (subject, SubjectPublicKeyInfo, extensions, CRL distribution point) and
 * signed, and a CRL (a shard's) built and signed. Its key and chain are loaded in acp_ca.c. */
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_ident.h"
#include "acp_ca.h"
#include "acp_ca_int.h"

#define SERIAL_LEN 16
#define CN_MAX 64

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

apr_status_t acp_ca_int_local_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
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
    leaf_pem = acp_ca_int_x509_pem(p, x);
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
            *errmsg = acp_ca_int_ssl_error(p, err);
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
apr_status_t acp_ca_int_local_sign_crl(acp_signer_t *signer, apr_pool_t *p,
                                       const acp_crl_req_t *req, unsigned char **der,
                                       size_t *der_len, const char **errmsg)
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
            *errmsg = acp_ca_int_ssl_error(p, err);
        }
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
