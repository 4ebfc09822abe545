/* The local OpenSSL CA signer: certificates from CSRs (DV, OV, IP identifiers), signing
 * from several threads at once, CA set-up variants, certificate serials. CSR parsing and
 * checks: test_csr.c. */
#include <pthread.h>
#include <unistd.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include "acp_test.h"
#include "acp_test_csr.h"
#include "acp_ident.h"
#include "acp_ca.h"
#include "acp_util.h"

#define VALIDITY_DAYS 90

static apr_status_t x509_free_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static int add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A CA certificate for key, self-signed or signed by (issuer, issuer_key). */
static X509 *make_ca_cert(apr_pool_t *p, EVP_PKEY *key, const char *cn, X509 *issuer,
                          EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok;

    ok = x && name && X509_set_version(x, X509_VERSION_3) == 1 &&
         ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
         X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) == 1 &&
         X509_set_subject_name(x, name) == 1 &&
         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) &&
         X509_set_pubkey(x, key) == 1;
    ok = ok && add_ext_conf(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext_conf(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         add_ext_conf(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    ok = ok && X509_sign(x, issuer_key ? issuer_key : key,
                         md_for(issuer_key ? issuer_key : key)) > 0;
    X509_NAME_free(name);
    if (!ok) {
        ERR_print_errors_fp(stderr);
        X509_free(x);
        return NULL;
    }
    apr_pool_cleanup_register(p, x, x509_free_cleanup, apr_pool_cleanup_null);
    return x;
}

static int write_pem(const char *path, X509 *cert, X509 *chain, EVP_PKEY *key)
{
    BIO *b = BIO_new_file(path, "w");
    int ok = b != NULL;

    if (ok && cert) {
        ok = PEM_write_bio_X509(b, cert) == 1;
    }
    if (ok && chain) {
        ok = PEM_write_bio_X509(b, chain) == 1;
    }
    if (ok && key) {
        ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1;
    }
    BIO_free(b);
    return ok;
}

/* ---- signing -------------------------------------------------------------------------- */

static X509 *leaf_of(apr_pool_t *p, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    if (x) {
        apr_pool_cleanup_register(p, x, x509_free_cleanup, apr_pool_cleanup_null);
    }
    return x;
}

static int count_certs(const char *pem)
{
    int n = 0;
    const char *q = pem;

    while (q && (q = strstr(q, "-----BEGIN CERTIFICATE-----")) != NULL) {
        n++;
        q++;
    }
    return n;
}

static const char *san_list(apr_pool_t *p, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    const char *s = NULL;
    int i;

    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const char *v = g->type == GEN_DNS
                            ? apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                                             (apr_size_t)ASN1_STRING_length(g->d.dNSName))
                            : "?";
        if (g->type == GEN_IPADD) {
            int l = ASN1_STRING_length(g->d.iPAddress);
            const char *t = acp_ident_ip_text(p, l == 4 ? AF_INET : l == 16 ? AF_INET6 : 0,
                                              ASN1_STRING_get0_data(g->d.iPAddress));
            v = apr_pstrcat(p, "IP:", t ? t : "?", NULL);
        }
        s = s ? apr_pstrcat(p, s, ",", v, NULL) : v;
    }
    GENERAL_NAMES_free(gens);
    return s;
}

static int ext_critical(X509 *x, int nid)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    return idx >= 0 ? X509_EXTENSION_get_critical(X509_get_ext(x, idx)) : -1;
}

static const char *cn_of(apr_pool_t *p, X509 *x)
{
    char buf[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
                                      sizeof(buf));
    return n >= 0 ? apr_pstrdup(p, buf) : NULL;
}

/* The leaf's SubjectPublicKeyInfo occurs byte for byte in the CSR, and its subject key
 * identifier is the SHA-1 of the key bits (RFC 5280 §4.2.1.2 method 1). */
static int spki_from_csr(const unsigned char *csr, size_t csr_len, X509 *leaf)
{
    unsigned char *spki = NULL, dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(leaf);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(leaf);
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &spki);
    int ok = n > 0 && memmem(csr, csr_len, spki, (size_t)n) != NULL && bits && ski &&
             EVP_Digest(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), dgst, &dlen,
                        EVP_sha1(), NULL) == 1 &&
             ASN1_STRING_length(ski) == (int)dlen &&
             memcmp(ASN1_STRING_get0_data(ski), dgst, dlen) == 0;

    OPENSSL_free(spki);
    return ok;
}

/* chain verification with the CA as trust anchor, for TLS server use */
static int chain_verifies(X509 *root, X509 *leaf, STACK_OF(X509) *untrusted, const char *host)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;

    if (st && ctx && X509_STORE_add_cert(st, root) == 1 &&
        X509_STORE_CTX_init(ctx, st, leaf, untrusted) == 1) {
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
        ok = X509_verify_cert(ctx) == 1;
        if (!ok) {
            fprintf(stderr, "verify: %s\n",
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

typedef struct sign_env_t {
    X509 *ca;
    EVP_PKEY *ca_key;
    const char *cert_path, *key_path;
    acp_signer_t *signer;
} sign_env_t;

/* IP identifiers are iPAddress SANs of their octets; the CN is the first DNS name, and a
 * certificate for addresses only has an empty subject and a critical SAN extension. */
static void test_sign_ip(apr_pool_t *p, sign_env_t *env)
{
    EVP_PKEY *ec = gen_key(p, "EC", "P-256", 0);
    acp_sign_req_t req;
    acp_sign_result_t res;
    const char *err = NULL;
    size_t len;
    X509 *leaf;

    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, ec, NULL, "IP:127.0.0.1,IP:::1,DNS:b.example", &len);
    req.csr_len = len;
    req.names = list(p, "127.0.0.1,::1,b.example");
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
    CHECK(leaf != NULL);
    if (leaf) {
        CHECK_STR(san_list(p, leaf), "IP:127.0.0.1,IP:::1,b.example");
        CHECK_STR(cn_of(p, leaf), "b.example");
        CHECK(ext_critical(leaf, NID_subject_alt_name) == 0);
        CHECK(X509_check_ip_asc(leaf, "::1", 0) == 1);
        CHECK(X509_check_ip_asc(leaf, "127.0.0.1", 0) == 1);
        CHECK(X509_check_ip_asc(leaf, "127.0.0.2", 0) == 0);
    }
    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, ec, NULL, "IP:2001:db8::1", &len);
    req.csr_len = len;
    req.names = list(p, "2001:db8::1");
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
    CHECK(leaf != NULL);
    if (leaf) {
        CHECK_STR(san_list(p, leaf), "IP:2001:db8::1");
        CHECK(X509_NAME_entry_count(X509_get_subject_name(leaf)) == 0);
        CHECK(ext_critical(leaf, NID_subject_alt_name) == 1);
    }
    /* a name that is not a canonical identifier is never signed */
    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, ec, NULL, "IP:127.0.0.1", &len);
    req.csr_len = len;
    req.names = list(p, "127.000.0.1");
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) != APR_SUCCESS);
}

static void test_sign_basic(apr_pool_t *p, sign_env_t *env)
{
    EVP_PKEY *rsa = gen_key(p, "RSA", NULL, 2048);
    EVP_PKEY *ec = gen_key(p, "EC", "P-256", 0);
    acp_sign_req_t req;
    acp_sign_result_t res, res2;
    const char *err = NULL, *serial = NULL, *issuer = NULL;
    unsigned char *der = NULL, *cder = NULL;
    size_t len;
    X509 *leaf;
    int n, days = -1, secs = -1;

    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, rsa, "b.example", "DNS:b.example,DNS:a.example", &len);
    req.csr_len = len;
    req.names = list(p, "a.example,b.example");
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    if (!res.pem_chain) {
        fprintf(stderr, "sign: %s\n", err ? err : "?");
        return;
    }
    CHECK(count_certs(res.pem_chain) == 2);
    CHECK(res.pem_chain[strlen(res.pem_chain) - 1] == '\n');
    leaf = leaf_of(p, res.pem_chain);
    CHECK(leaf != NULL);
    if (!leaf) {
        return;
    }
    CHECK(X509_verify(leaf, X509_get0_pubkey(env->ca)) == 1);
    CHECK(chain_verifies(env->ca, leaf, NULL, "a.example"));
    CHECK(X509_get_version(leaf) == X509_VERSION_3);
    CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(env->ca)) == 0);
    CHECK_STR(cn_of(p, leaf), "a.example");
    CHECK_STR(san_list(p, leaf), "a.example,b.example");
    CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), rsa) == 1);
    CHECK(spki_from_csr(req.csr_der, req.csr_len, leaf));
    /* extensions */
    CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) != 0);
    CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0);
    CHECK(X509_check_ca(leaf) == 0);
    CHECK(ext_critical(leaf, NID_basic_constraints) == 1);
    CHECK(ext_critical(leaf, NID_key_usage) == 1);
    CHECK(ext_critical(leaf, NID_subject_alt_name) == 0);
    CHECK(X509_get_key_usage(leaf) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
    CHECK(X509_get0_subject_key_id(leaf) != NULL);
    CHECK(X509_get0_authority_key_id(leaf) != NULL && X509_get0_subject_key_id(env->ca) &&
          ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
                                X509_get0_subject_key_id(env->ca)) == 0);
    /* serial */
    {
        const ASN1_INTEGER *s = X509_get0_serialNumber(leaf);
        CHECK(ASN1_STRING_length(s) == 16);
        CHECK(ASN1_STRING_type(s) == V_ASN1_INTEGER);
        CHECK((ASN1_STRING_get0_data(s)[0] & 0x80) == 0);
        CHECK_STR(acp_hex(p, ASN1_STRING_get0_data(s), 16), res.serial_hex);
        CHECK(strlen(res.serial_hex) == 32);
    }
    /* validity */
    CHECK(res.not_after - res.not_before == (long long)VALIDITY_DAYS * 86400);
    CHECK(res.not_before <= acp_now() - 59 && res.not_before >= acp_now() - 120);
    CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)) &&
          days == VALIDITY_DAYS && secs == 0);
    CHECK(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), (time_t)res.not_before) == 0);
    CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), (time_t)res.not_after) == 0);
    /* acp_ca_cert_serial on the leaf's DER */
    n = i2d_X509(leaf, &der);
    CHECK(n > 0);
    if (n > 0) {
        cder = apr_pmemdup(p, der, (apr_size_t)n);
        OPENSSL_free(der);
        CHECK(acp_ca_cert_serial(p, cder, (size_t)n, &serial, &issuer) == APR_SUCCESS);
        CHECK_STR(serial, res.serial_hex);
        CHECK_STR(issuer, apr_psprintf(p, "%08lx", X509_subject_name_hash(env->ca)));
        CHECK(acp_ca_cert_serial(p, cder, (size_t)n - 1, &serial, &issuer) != APR_SUCCESS);
        CHECK(acp_ca_cert_serial(p, (const unsigned char *)"junk", 4, &serial, &issuer) !=
              APR_SUCCESS);
        {
            /* trailing bytes are not a certificate */
            unsigned char *t = apr_palloc(p, (apr_size_t)n + 1);
            memcpy(t, cder, (size_t)n);
            t[n] = 0;
            CHECK(acp_ca_cert_serial(p, t, (size_t)n + 1, &serial, &issuer) != APR_SUCCESS);
        }
    }

    /* a second signature of the same CSR: a different serial */
    memset(&res2, 0, sizeof(res2));
    CHECK(env->signer->sign(env->signer, p, &req, &res2, &err) == APR_SUCCESS);
    CHECK(res2.serial_hex && strcmp(res2.serial_hex, res.serial_hex) != 0);

    /* an already parsed CSR: used when its DER is csr_der, ignored otherwise */
    {
        acp_csr_t *parsed = NULL, copy, *other = NULL;
        const unsigned char *rsa_der = req.csr_der;
        size_t rsa_len = req.csr_len, olen = 0;
        const unsigned char *oder = make_csr(p, ec, NULL, "DNS:o.example", &olen);

        CHECK(acp_csr_parse(p, req.csr_der, req.csr_len, &parsed) == NULL && parsed);
        CHECK(parsed && parsed->der && parsed->der != req.csr_der &&
              parsed->der_len == req.csr_len && memcmp(parsed->der, req.csr_der, req.csr_len) == 0);
        CHECK(acp_csr_parse(p, oder, olen, &other) == NULL && other);
        if (parsed && other) {
            req.names = NULL;
            req.csr = parsed;
            memset(&res2, 0, sizeof(res2));
            CHECK(env->signer->sign(env->signer, p, &req, &res2, &err) == APR_SUCCESS);
            leaf = res2.pem_chain ? leaf_of(p, res2.pem_chain) : NULL;
            CHECK(leaf && EVP_PKEY_eq(X509_get0_pubkey(leaf), rsa) == 1);
            CHECK(leaf && spki_from_csr(rsa_der, rsa_len, leaf));
            CHECK(leaf && chain_verifies(env->ca, leaf, NULL, "b.example"));
            CHECK_STR(leaf ? san_list(p, leaf) : NULL, "a.example,b.example");
            /* the given parse is what is signed (its names, when the request has none) */
            copy = *parsed;
            copy.names = list(p, "z.example");
            req.csr = &copy;
            CHECK(env->signer->sign(env->signer, p, &req, &res2, &err) == APR_SUCCESS);
            leaf = res2.pem_chain ? leaf_of(p, res2.pem_chain) : NULL;
            CHECK_STR(leaf ? san_list(p, leaf) : NULL, "z.example");
            /* a parse of another CSR is not used: csr_der is parsed and signed */
            req.csr = other;
            CHECK(env->signer->sign(env->signer, p, &req, &res2, &err) == APR_SUCCESS);
            leaf = res2.pem_chain ? leaf_of(p, res2.pem_chain) : NULL;
            CHECK(leaf && EVP_PKEY_eq(X509_get0_pubkey(leaf), rsa) == 1);
            CHECK_STR(leaf ? san_list(p, leaf) : NULL, "a.example,b.example");
            /* nor one whose DER differs in length */
            copy = *other;
            copy.der = rsa_der;
            copy.der_len = rsa_len - 1;
            req.csr = &copy;
            CHECK(env->signer->sign(env->signer, p, &req, &res2, &err) == APR_SUCCESS);
            leaf = res2.pem_chain ? leaf_of(p, res2.pem_chain) : NULL;
            CHECK(leaf && EVP_PKEY_eq(X509_get0_pubkey(leaf), rsa) == 1);
            req.csr = NULL;
        }
    }

    /* EC leaf: digitalSignature only; given validity window; names from the request */
    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, ec, NULL, "DNS:*.c.example,DNS:c.example", &len);
    req.csr_len = len;
    req.names = list(p, "*.C.example,c.EXAMPLE");
    req.not_before = 1800000000LL;
    req.not_after = 1800000000LL + 7 * 86400;
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
    CHECK(leaf != NULL);
    if (leaf) {
        CHECK(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
        CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), ec) == 1);
        CHECK(spki_from_csr(req.csr_der, req.csr_len, leaf));
        CHECK_STR(cn_of(p, leaf), "*.c.example");
        CHECK_STR(san_list(p, leaf), "*.c.example,c.example");
        CHECK(res.not_before == 1800000000LL && res.not_after == 1800000000LL + 7 * 86400);
        CHECK(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), 1800000000) == 0);
        CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), 1800000000 + 7 * 86400) == 0);
        CHECK(X509_verify(leaf, X509_get0_pubkey(env->ca)) == 1);
    }

    /* a first name longer than 64 characters: no CN, the SAN is critical */
    {
        const char *longname =
            "a-very-long-label-of-more-than-forty-characters-here.example.com";
        const char *ln2 = apr_pstrcat(p, "x", longname, NULL);
        memset(&req, 0, sizeof(req));
        CHECK(strlen(ln2) > 64);
        req.csr_der = make_csr(p, ec, NULL, apr_pstrcat(p, "DNS:", ln2, NULL), &len);
        req.csr_len = len;
        req.names = list(p, ln2);
        CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
        leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
        CHECK(leaf && cn_of(p, leaf) == NULL);
        CHECK(leaf && X509_NAME_entry_count(X509_get_subject_name(leaf)) == 0);
        CHECK(leaf && ext_critical(leaf, NID_subject_alt_name) == 1);
        CHECK(leaf && chain_verifies(env->ca, leaf, NULL, ln2));
    }

    /* failures: a bad CSR, a bad window */
    memset(&req, 0, sizeof(req));
    err = NULL;
    req.csr_der = (const unsigned char *)"junk";
    req.csr_len = 4;
    req.names = list(p, "a.example");
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) != APR_SUCCESS && err && *err);
    req.csr_der = make_csr(p, ec, NULL, "DNS:a.example", &len);
    req.csr_len = len;
    req.not_before = 1800000000LL;
    req.not_after = 1800000000LL - 1;
    err = NULL;
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) != APR_SUCCESS && err && *err);
    CHECK(ERR_peek_error() == 0);
}

/* ---- concurrency ---------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 8

typedef struct thread_arg_t {
    acp_signer_t *signer;
    apr_pool_t *pool;
    const unsigned char *der;
    size_t len;
    const char *serials[PER_THREAD];
    int ok;
} thread_arg_t;

static void *sign_thread(void *data)
{
    thread_arg_t *a = data;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        acp_sign_req_t req;
        acp_sign_result_t res;
        const char *err = NULL;
        memset(&req, 0, sizeof(req));
        memset(&res, 0, sizeof(res));
        req.csr_der = a->der;
        req.csr_len = a->len;
        req.names = NULL; /* the CSR's names */
        if (a->signer->sign(a->signer, a->pool, &req, &res, &err) == APR_SUCCESS &&
            res.serial_hex && res.pem_chain) {
            a->serials[i] = res.serial_hex;
            a->ok++;
        }
    }
    return NULL;
}

static void test_threads(apr_pool_t *p, sign_env_t *env)
{
    EVP_PKEY *key = gen_key(p, "EC", "P-256", 0);
    thread_arg_t args[THREADS];
    pthread_t tids[THREADS];
    size_t len;
    unsigned char *der = make_csr(p, key, NULL, "DNS:t.example", &len);
    int i, j, k, started[THREADS], distinct = 1;

    for (i = 0; i < THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].signer = env->signer;
        apr_pool_create(&args[i].pool, p);
        args[i].der = der;
        args[i].len = len;
        started[i] = pthread_create(&tids[i], NULL, sign_thread, &args[i]) == 0;
    }
    for (i = 0; i < THREADS; i++) {
        if (started[i]) {
            pthread_join(tids[i], NULL);
        }
        CHECK(started[i] && args[i].ok == PER_THREAD);
    }
    for (i = 0; i < THREADS * PER_THREAD; i++) {
        for (j = i + 1; j < THREADS * PER_THREAD; j++) {
            const char *a = args[i / PER_THREAD].serials[i % PER_THREAD];
            const char *b = args[j / PER_THREAD].serials[j % PER_THREAD];
            if (!a || !b || strcmp(a, b) == 0) {
                distinct = 0;
            }
        }
    }
    CHECK(distinct);
    for (k = 0; k < THREADS; k++) {
        apr_pool_destroy(args[k].pool);
    }
}

/* ---- CA set-up variants --------------------------------------------------------------- */

static void test_ca_variants(apr_pool_t *p, const char *dir)
{
    EVP_PKEY *root_key = gen_key(p, "EC", "P-384", 0);
    EVP_PKEY *rsa_ca_key = gen_key(p, "RSA", NULL, 2048);
    EVP_PKEY *ed_ca_key = gen_key(p, "ED25519", NULL, 0);
    EVP_PKEY *leaf_key = gen_key(p, "ED25519", NULL, 0);
    X509 *root = make_ca_cert(p, root_key, "Test Root", NULL, NULL);
    X509 *rsa_ca = root ? make_ca_cert(p, rsa_ca_key, "Test RSA Intermediate", root, root_key)
                        : NULL;
    X509 *ed_ca = make_ca_cert(p, ed_ca_key, "Test Ed25519 CA", NULL, NULL);
    const char *cert = apr_pstrcat(p, dir, "-var.crt", NULL);
    const char *key = apr_pstrcat(p, dir, "-var.key", NULL);
    acp_signer_t *signer = NULL;
    acp_sign_req_t req;
    acp_sign_result_t res;
    const char *err = NULL;
    size_t len;
    X509 *leaf;

    CHECK(root && rsa_ca && ed_ca);
    if (!root || !rsa_ca || !ed_ca) {
        return;
    }
    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, leaf_key, "v.example", NULL, &len);
    req.csr_len = len;
    req.names = list(p, "v.example");

    /* RSA intermediate with the root appended: 3 certificates in the chain */
    CHECK(write_pem(cert, rsa_ca, root, NULL) && write_pem(key, NULL, NULL, rsa_ca_key));
    CHECK(acp_ca_local_create(p, cert, key, 30, &signer, &err) == APR_SUCCESS && signer);
    if (signer) {
        CHECK(signer->sign(signer, p, &req, &res, &err) == APR_SUCCESS);
        CHECK(count_certs(res.pem_chain) == 3);
        leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
        CHECK(leaf && X509_verify(leaf, X509_get0_pubkey(rsa_ca)) == 1);
        CHECK(leaf && X509_get_signature_nid(leaf) == NID_sha256WithRSAEncryption);
        CHECK(leaf && X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
        {
            STACK_OF(X509) *untrusted = sk_X509_new_null();
            sk_X509_push(untrusted, rsa_ca);
            CHECK(leaf && chain_verifies(root, leaf, untrusted, "v.example"));
            sk_X509_free(untrusted);
        }
        CHECK(res.not_after - res.not_before == 30LL * 86400);
    }

    /* Ed25519 CA key: no digest */
    signer = NULL;
    CHECK(write_pem(cert, ed_ca, NULL, NULL) && write_pem(key, NULL, NULL, ed_ca_key));
    CHECK(acp_ca_local_create(p, cert, key, 10, &signer, &err) == APR_SUCCESS && signer);
    if (signer) {
        CHECK(signer->sign(signer, p, &req, &res, &err) == APR_SUCCESS);
        CHECK(count_certs(res.pem_chain) == 2);
        leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
        CHECK(leaf && X509_verify(leaf, X509_get0_pubkey(ed_ca)) == 1);
        CHECK(leaf && X509_get_signature_nid(leaf) == NID_ED25519);
        CHECK(leaf && EVP_PKEY_eq(X509_get0_pubkey(leaf), leaf_key) == 1);
        CHECK(leaf && spki_from_csr(req.csr_der, req.csr_len, leaf));
    }

    /* errors: key of another CA, missing files, bad validity, garbage */
    signer = NULL;
    err = NULL;
    CHECK(write_pem(cert, ed_ca, NULL, NULL) && write_pem(key, NULL, NULL, rsa_ca_key));
    CHECK(acp_ca_local_create(p, cert, key, 10, &signer, &err) != APR_SUCCESS && !signer &&
          err && strstr(err, "does not match"));
    err = NULL;
    CHECK(acp_ca_local_create(p, "/nonexistent/ca.crt", key, 10, &signer, &err) !=
              APR_SUCCESS &&
          err && *err);
    err = NULL;
    CHECK(acp_ca_local_create(p, cert, "/nonexistent/ca.key", 10, &signer, &err) !=
              APR_SUCCESS &&
          err && *err);
    err = NULL;
    CHECK(write_pem(key, NULL, NULL, ed_ca_key));
    CHECK(acp_ca_local_create(p, cert, key, 0, &signer, &err) != APR_SUCCESS && err && *err);
    err = NULL;
    CHECK(acp_ca_local_create(p, key, key, 10, &signer, &err) != APR_SUCCESS && err && *err);
    err = NULL;
    CHECK(acp_ca_local_create(p, cert, cert, 10, &signer, &err) != APR_SUCCESS && err && *err);
    CHECK(ERR_peek_error() == 0);
    unlink(cert);
    unlink(key);
}

/* OV: the subject is the organization given (C, ST, L, O, CN), never the CSR's; the OV
 * policy OID in certificatePolicies; a DV certificate carries no policy. */
static void test_sign_ov(apr_pool_t *p, sign_env_t *env)
{
    EVP_PKEY *ec = gen_key(p, "EC", "P-256", 0);
    acp_sign_org_t org = {"Widgets \xc3\x9cnited GmbH", "Berlin", NULL, "DE"};
    acp_sign_req_t req;
    acp_sign_result_t res;
    const char *err = NULL;
    size_t len;
    X509 *leaf;
    char buf[512];
    CERTIFICATEPOLICIES *pols;
    int crit = -1;

    memset(&req, 0, sizeof(req));
    req.csr_der = make_csr(p, ec, "o.example", "DNS:o.example", &len);
    req.csr_len = len;
    req.names = list(p, "o.example");
    req.org = &org;
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
    CHECK(leaf != NULL);
    if (!leaf) {
        return;
    }
    X509_NAME_oneline(X509_get_subject_name(leaf), buf, sizeof(buf));
    CHECK_STR(buf, "/C=DE/L=Berlin/O=Widgets \\xC3\\x9Cnited GmbH/CN=o.example");
    CHECK(X509_NAME_get_index_by_NID(X509_get_subject_name(leaf), NID_stateOrProvinceName, -1) < 0);
    pols = X509_get_ext_d2i(leaf, NID_certificate_policies, &crit, NULL);
    CHECK(pols && sk_POLICYINFO_num(pols) == 1 && crit == 0);
    if (pols) {
        OBJ_obj2txt(buf, sizeof(buf), sk_POLICYINFO_value(pols, 0)->policyid, 1);
        CHECK_STR(buf, "2.23.140.1.2.2");
        CERTIFICATEPOLICIES_free(pols);
    }
    CHECK(ext_critical(leaf, NID_subject_alt_name) == 0);
    /* DV: no organization, no policy */
    req.org = NULL;
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) == APR_SUCCESS);
    leaf = res.pem_chain ? leaf_of(p, res.pem_chain) : NULL;
    CHECK(leaf && X509_get_ext_by_NID(leaf, NID_certificate_policies, -1) < 0);
    CHECK(leaf && X509_NAME_entry_count(X509_get_subject_name(leaf)) == 1);
    /* an organization without a country is refused, not signed half-way */
    org.c = NULL;
    req.org = &org;
    CHECK(env->signer->sign(env->signer, p, &req, &res, &err) != APR_SUCCESS && err);
}

static void run_tests(apr_pool_t *p)
{
    sign_env_t env;
    const char *base = apr_psprintf(p, "/tmp/acp-test-ca-%d", (int)getpid());
    const char *err = NULL;

    memset(&env, 0, sizeof(env));
    env.ca_key = gen_key(p, "EC", "P-256", 0);
    env.ca = env.ca_key ? make_ca_cert(p, env.ca_key, "Test CA", NULL, NULL) : NULL;
    env.cert_path = apr_pstrcat(p, base, ".crt", NULL);
    env.key_path = apr_pstrcat(p, base, ".key", NULL);
    CHECK(env.ca && write_pem(env.cert_path, env.ca, NULL, NULL) &&
          write_pem(env.key_path, NULL, NULL, env.ca_key));
    CHECK(acp_ca_local_create(p, env.cert_path, env.key_path, VALIDITY_DAYS, &env.signer,
                              &err) == APR_SUCCESS &&
          env.signer && env.signer->sign && env.signer->name);
    if (!env.signer) {
        fprintf(stderr, "acp_ca_local_create: %s\n", err ? err : "?");
    }
    else {
        test_sign_basic(p, &env);
        test_sign_ov(p, &env);
        test_sign_ip(p, &env);
        test_threads(p, &env);
    }
    unlink(env.cert_path);
    unlink(env.key_path);
    test_ca_variants(p, base);
}
