/* CSR parsing and checks, the local OpenSSL CA signer, certificate serials. */
#include <pthread.h>
#include <unistd.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include "acp_test.h"
#include "acp_ident.h"
#include "acp_ca.h"
#include "acp_util.h"

#define VALIDITY_DAYS 90

static apr_status_t pkey_free_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t x509_free_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

/* A fresh key ("RSA" with bits, or "EC" with a curve, or "ED25519"), freed with p. */
static EVP_PKEY *gen_key(apr_pool_t *p, const char *type, const char *curve, size_t bits)
{
    EVP_PKEY *k;

    if (strcmp(type, "RSA") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    }
    else if (strcmp(type, "EC") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    }
    else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, type);
    }
    if (k) {
        apr_pool_cleanup_register(p, k, pkey_free_cleanup, apr_pool_cleanup_null);
    }
    else {
        fprintf(stderr, "keygen %s failed\n", type);
    }
    return k;
}

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

static const char *joined(apr_pool_t *p, const apr_array_header_t *a)
{
    return a ? apr_array_pstrcat(p, a, ',') : "(null)";
}

static acp_errkind_t parse_kind(apr_pool_t *p, const unsigned char *der, size_t len,
                                acp_csr_t **csr)
{
    acp_csr_t *c = NULL;
    acp_problem_t *prob = acp_csr_parse(p, der, len, &c);
    if (csr) {
        *csr = c;
    }
    if (prob) {
        CHECK(c == NULL && prob->detail && *prob->detail);
    }
    return prob ? prob->kind : ACP_ERR_NONE;
}

/* ---- CSR parsing ---------------------------------------------------------------------- */

static void test_parse(apr_pool_t *p)
{
    EVP_PKEY *rsa = gen_key(p, "RSA", NULL, 2048);
    EVP_PKEY *p256 = gen_key(p, "EC", "P-256", 0);
    EVP_PKEY *p384 = gen_key(p, "EC", "P-384", 0);
    EVP_PKEY *ed = gen_key(p, "ED25519", NULL, 0);
    EVP_PKEY *rsa1024 = gen_key(p, "RSA", NULL, 1024);
    EVP_PKEY *p521 = gen_key(p, "EC", "P-521", 0);
    EVP_PKEY *ed448 = gen_key(p, "ED448", NULL, 0);
    unsigned char *der, *bad;
    size_t len;
    acp_csr_t *csr = NULL;
    acp_problem_t *prob;

    der = make_csr(p, rsa, "a.example", "DNS:a.example,DNS:b.example", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK(csr && csr->key_alg && csr->pkey && EVP_PKEY_eq(csr->pkey, rsa) == 1);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "a.example,b.example");

    der = make_csr(p, p256, NULL, "DNS:p256.example", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "p256.example");
    der = make_csr(p, p384, NULL, "DNS:p384.example", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    der = make_csr(p, ed, "ed.example", NULL, &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "ed.example");

    /* key policy */
    der = make_csr(p, rsa1024, NULL, "DNS:a.example", &len);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
    CHECK(prob && strstr(prob->detail, "RSA key of 1024 bits is too small (minimum 2048)"));
    der = make_csr(p, p521, NULL, "DNS:a.example", &len);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "curve"));
    der = make_csr(p, ed448, NULL, "DNS:a.example", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);

    /* bad signature: flip a byte of the signature (the DER's last octets) */
    der = make_csr(p, p256, NULL, "DNS:a.example", &len);
    bad = apr_pmemdup(p, der, len);
    bad[len - 3] ^= 0x01;
    prob = acp_csr_parse(p, bad, len, &csr);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "signature"));
    der = make_csr(p, rsa, NULL, "DNS:a.example", &len);
    bad = apr_pmemdup(p, der, len);
    bad[len - 1] ^= 0x80;
    CHECK(parse_kind(p, bad, len, NULL) == ACP_ERR_BAD_CSR);

    /* a weak signature digest */
    der = make_csr_md(p, rsa, NULL, "DNS:a.example", EVP_sha1(), &len);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "SHA1"));
    der = make_csr(p, rsa, NULL, "DNS:a.example", &len);

    /* trailing data, truncation, garbage, empty */
    bad = apr_palloc(p, len + 1);
    memcpy(bad, der, len);
    bad[len] = 0;
    CHECK(parse_kind(p, bad, len + 1, NULL) == ACP_ERR_BAD_CSR);
    CHECK(parse_kind(p, der, len - 1, NULL) == ACP_ERR_BAD_CSR);
    CHECK(parse_kind(p, (const unsigned char *)"\x30\x03\x02\x01\x00", 5, NULL) ==
          ACP_ERR_BAD_CSR);
    CHECK(parse_kind(p, der, 0, NULL) == ACP_ERR_BAD_CSR);
    CHECK(parse_kind(p, NULL, 10, NULL) == ACP_ERR_BAD_CSR);

    /* iPAddress SANs (RFC 8738): kept as the canonical text of their octets */
    der = make_csr(p, p256, NULL, "DNS:a.example,IP:192.0.2.1,IP:2001:db8:0:0:0:0:0:1", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "192.0.2.1,2001:db8::1,a.example");
    /* an IPv4-mapped IPv6 iPAddress is not the IPv4 address */
    der = make_csr(p, p256, NULL, "IP:::ffff:127.0.0.1", &len);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "IPv4-mapped"));
    /* an address in a dNSName is not an iPAddress */
    der = make_csr(p, p256, NULL, "DNS:127.0.0.1", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    /* a common name may be an address's canonical text, nothing else */
    der = make_csr(p, p256, "127.0.0.1", "IP:127.0.0.1", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "127.0.0.1");
    der = make_csr(p, p256, "127.000.0.1", "IP:127.0.0.1", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    /* SAN types other than dNSName and iPAddress */
    der = make_csr(p, p256, NULL, "email:a@b.example", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    der = make_csr(p, p256, NULL, "URI:https://a.example/", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);

    /* names failing the identifier policy; no names at all */
    der = make_csr(p, p256, NULL, "DNS:localhost", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    der = make_csr(p, p256, NULL, "DNS:*.com", &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    der = make_csr(p, p256, "::01", NULL, &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);
    der = make_csr(p, p256, NULL, NULL, &len);
    CHECK(der && parse_kind(p, der, len, NULL) == ACP_ERR_BAD_CSR);

    /* names: CN + SAN, mixed case, duplicates, wildcard; lowercased, unique, sorted */
    der = make_csr(p, p256, "WWW.Example.COM",
                   "DNS:www.example.com,DNS:B.example.com,DNS:*.Example.com,DNS:b.EXAMPLE.com",
                   &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL,
              "*.example.com,b.example.com,www.example.com");
    /* CN only added when absent from the SANs */
    der = make_csr(p, p256, "c.example", "DNS:a.example", &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "a.example,c.example");
}

/* ---- CSR against the order ------------------------------------------------------------ */

static acp_problem_t *check(apr_pool_t *p, EVP_PKEY *key, const char *cn, const char *san,
                            const char *order, EVP_PKEY *account)
{
    size_t len;
    unsigned char *der = make_csr(p, key, cn, san, &len);
    acp_csr_t *csr = NULL;
    acp_problem_t *prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;

    if (!der || prob) {
        fprintf(stderr, "check: CSR unusable: %s\n", prob ? prob->detail : "no DER");
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "test setup");
    }
    return acp_csr_check(p, csr, list(p, order), account);
}

/* A signed request with CN=a.example and, when nid is not NID_undef, an attribute nid of
 * type (ext_req with a SAN: the Microsoft form; of another type: an unreadable request). */
static unsigned char *make_csr_attr(apr_pool_t *p, EVP_PKEY *key, int nid, int type,
                                    size_t *len)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:a.example");
    unsigned char *der = NULL, *out = NULL;
    int n, ok;

    *len = 0;
    ok = req && name && exts && ext && sk_X509_EXTENSION_push(exts, ext) &&
         X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
         X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                    (const unsigned char *)"a.example", -1, -1, 0) == 1 &&
         X509_REQ_set_subject_name(req, name) == 1 && X509_REQ_set_pubkey(req, key) == 1;
    if (!ok) {
        X509_EXTENSION_free(ext);
    }
    if (ok && nid != NID_undef) {
        ok = type == V_ASN1_SEQUENCE
                 ? X509_REQ_add_extensions_nid(req, exts, nid) == 1
                 : X509_REQ_add1_attr_by_NID(req, nid, type, (const unsigned char *)"x", 1) == 1;
    }
    if (ok && X509_REQ_sign(req, key, md_for(key)) > 0 && (n = i2d_X509_REQ(req, &der)) > 0) {
        out = apr_pmemdup(p, der, (apr_size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return out;
}

/* Length octets of n: the long form with a leading zero octet (BER, not DER) when ber,
 * else DER's. */
static size_t put_len(unsigned char *o, size_t n, int ber)
{
    if (ber) {
        o[0] = 0x83;
        o[1] = 0;
        o[2] = (unsigned char)(n >> 8);
        o[3] = (unsigned char)n;
        return 4;
    }
    if (n < 128) {
        o[0] = (unsigned char)n;
        return 1;
    }
    if (n < 256) {
        o[0] = 0x81;
        o[1] = (unsigned char)n;
        return 2;
    }
    o[0] = 0x82;
    o[1] = (unsigned char)(n >> 8);
    o[2] = (unsigned char)n;
    return 3;
}

/* The request of der with its signed part re-encoded with a non-minimal length, signed
 * by key over those very bytes (sign_ber 1) or still carrying the DER's signature (0). */
static unsigned char *csr_ber(apr_pool_t *p, const unsigned char *der, size_t len,
                              EVP_PKEY *key, int sign_ber, size_t *outlen)
{
    const unsigned char *q = der, *a, *content, *after;
    long olen = 0, ilen = 0, alen = 0;
    int tag, cls;
    unsigned char *tbs, *sig, *body, *out;
    size_t tbslen, siglen = 0, algo_len, blen = 0, pos = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    *outlen = 0;
    CHECK(ASN1_get_object(&q, &olen, &tag, &cls, (long)len) == V_ASN1_CONSTRUCTED);
    CHECK(ASN1_get_object(&q, &ilen, &tag, &cls, olen) == V_ASN1_CONSTRUCTED);
    content = q;
    after = content + ilen; /* the signature algorithm, then the signature */
    a = after;
    CHECK(ASN1_get_object(&a, &alen, &tag, &cls, (long)(der + len - after)) ==
          V_ASN1_CONSTRUCTED);
    algo_len = (size_t)(a + alen - after);
    tbs = apr_palloc(p, (size_t)ilen + 8);
    tbs[0] = 0x30;
    tbslen = 1 + put_len(tbs + 1, (size_t)ilen, 1);
    memcpy(tbs + tbslen, content, (size_t)ilen);
    tbslen += (size_t)ilen;

    body = apr_palloc(p, tbslen + len + 600);
    memcpy(body, tbs, tbslen);
    blen = tbslen;
    if (sign_ber) { /* the algorithm as it was, a fresh signature over the BER bytes */
        CHECK(md && EVP_DigestSignInit(md, NULL, md_for(key), NULL, key) == 1 &&
              EVP_DigestSign(md, NULL, &siglen, tbs, tbslen) == 1 && siglen < 520);
        sig = apr_palloc(p, siglen + 1);
        CHECK(EVP_DigestSign(md, sig + 1, &siglen, tbs, tbslen) == 1);
        sig[0] = 0; /* no unused bits */
        memcpy(body + blen, after, algo_len);
        blen += algo_len;
        body[blen++] = 0x03;
        blen += put_len(body + blen, siglen + 1, 0);
        memcpy(body + blen, sig, siglen + 1);
        blen += siglen + 1;
    }
    else { /* the algorithm and the DER's signature */
        memcpy(body + blen, after, (size_t)(der + len - after));
        blen += (size_t)(der + len - after);
    }
    out = apr_palloc(p, blen + 8);
    out[pos++] = 0x30;
    pos += put_len(out + pos, blen, 1);
    memcpy(out + pos, body, blen);
    EVP_MD_CTX_free(md);
    *outlen = pos + blen;
    return out;
}

/* A request for CN=name (no SAN) whose signed part leaves the attributes field out (a
 * violation of PKCS#10 that OpenSSL's reader has always taken), signed by key. */
static unsigned char *csr_no_attributes(apr_pool_t *p, EVP_PKEY *key, const char *name,
                                        size_t *outlen)
{
    size_t len = 0, ilen, blen = 0, siglen = 0, pos = 0;
    unsigned char *der = make_csr(p, key, name, NULL, &len), *info, *body, *sig, *out;
    const unsigned char *q = der, *content;
    long olen = 0, clen = 0;
    int tag, cls;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const unsigned char ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                                 0xce, 0x3d, 0x04, 0x03, 0x02};

    *outlen = 0;
    CHECK(der && ASN1_get_object(&q, &olen, &tag, &cls, (long)len) == V_ASN1_CONSTRUCTED &&
          ASN1_get_object(&q, &clen, &tag, &cls, olen) == V_ASN1_CONSTRUCTED);
    content = q;
    /* make_csr's request without extensions ends its signed part with an empty [0] */
    CHECK(clen > 2 && content[clen - 2] == 0xa0 && content[clen - 1] == 0x00);
    ilen = (size_t)clen - 2;
    info = apr_palloc(p, ilen + 8);
    info[0] = 0x30;
    pos = 1 + put_len(info + 1, ilen, 0);
    memcpy(info + pos, content, ilen);
    pos += ilen;
    CHECK(md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
          EVP_DigestSign(md, NULL, &siglen, info, pos) == 1 && siglen < 200);
    sig = apr_palloc(p, siglen + 1);
    sig[0] = 0;
    CHECK(EVP_DigestSign(md, sig + 1, &siglen, info, pos) == 1);
    EVP_MD_CTX_free(md);
    body = apr_palloc(p, pos + sizeof(ecdsa_sha256) + siglen + 8);
    memcpy(body, info, pos);
    blen = pos;
    memcpy(body + blen, ecdsa_sha256, sizeof(ecdsa_sha256));
    blen += sizeof(ecdsa_sha256);
    body[blen++] = 0x03;
    blen += put_len(body + blen, siglen + 1, 0);
    memcpy(body + blen, sig, siglen + 1);
    blen += siglen + 1;
    out = apr_palloc(p, blen + 8);
    out[0] = 0x30;
    pos = 1 + put_len(out + 1, blen, 0);
    memcpy(out + pos, body, blen);
    *outlen = pos + blen;
    return out;
}

/* The request's own templates: the keys built from their bits, the signature checked over
 * the bytes received, the extension request found as OpenSSL finds it. */
static void test_parse_encoding(apr_pool_t *p)
{
    EVP_PKEY *keys[4] = {gen_key(p, "EC", "P-256", 0), gen_key(p, "EC", "P-384", 0),
                         gen_key(p, "ED25519", NULL, 0), gen_key(p, "RSA", NULL, 2048)};
    unsigned char *der, *bad, pub[200];
    size_t len, blen, plen = 0;
    acp_csr_t *csr = NULL;
    acp_problem_t *prob;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned char *spki = NULL;
        int n = i2d_PUBKEY(keys[i], &spki);
        der = make_csr(p, keys[i], NULL, "DNS:k.example", &len);
        CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
        /* the same key, and the SubjectPublicKeyInfo kept as sent */
        CHECK(csr && csr->pkey && EVP_PKEY_eq(csr->pkey, keys[i]) == 1);
        CHECK(csr && n > 0 && csr->key_bits && ASN1_STRING_length(csr->key_bits) > 0 &&
              memmem(spki, (size_t)n, ASN1_STRING_get0_data(csr->key_bits),
                     (size_t)ASN1_STRING_length(csr->key_bits)) != NULL);
        OPENSSL_free(spki);
        /* the signed part with a non-minimal length: verified over those bytes */
        bad = csr_ber(p, der, len, keys[i], 1, &blen);
        prob = acp_csr_parse(p, bad, blen, &csr);
        CHECK(prob == NULL && csr && csr->pkey);
        if (prob) {
            printf("BER request (key %d): %s\n", i, prob->detail);
        }
        /* ... and the DER's signature does not cover them */
        bad = csr_ber(p, der, len, keys[i], 0, &blen);
        prob = acp_csr_parse(p, bad, blen, &csr);
        CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "does not verify"));
    }

    /* a P-256 point moved off the curve: no key */
    der = make_csr(p, keys[0], NULL, "DNS:k.example", &len);
    CHECK(EVP_PKEY_get_octet_string_param(keys[0], OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
                                          &plen) == 1 && plen == 65);
    bad = der ? memmem(der, len, pub, plen) : NULL;
    CHECK(bad != NULL);
    if (bad) {
        bad[plen - 1] ^= 0x01;
        prob = acp_csr_parse(p, der, len, &csr);
        CHECK(prob && prob->kind == ACP_ERR_BAD_CSR &&
              strstr(prob->detail, "public key cannot be decoded"));
    }

    /* Microsoft's extension request attribute is read too */
    der = make_csr_attr(p, keys[0], NID_ms_ext_req, V_ASN1_SEQUENCE, &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "a.example");
    /* an extension request that is not a SEQUENCE of extensions is refused */
    der = make_csr_attr(p, keys[0], NID_ext_req, V_ASN1_UTF8STRING, &len);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "extension request"));
    /* a signed part without its attributes field, as OpenSSL has always taken it */
    der = csr_no_attributes(p, keys[0], "noattr.example", &len);
    prob = der && len ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(der && len && prob == NULL && csr);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "noattr.example");
    /* an unrelated attribute (a challenge password) changes nothing */
    der = make_csr_attr(p, keys[0], NID_pkcs9_challengePassword, V_ASN1_UTF8STRING, &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK_STR(csr ? joined(p, csr->names) : NULL, "a.example");
}

static void test_check(apr_pool_t *p)
{
    EVP_PKEY *key = gen_key(p, "EC", "P-256", 0);
    EVP_PKEY *acct = gen_key(p, "EC", "P-256", 0);
    acp_problem_t *prob;

    /* exact set, any order, any case */
    CHECK(check(p, key, NULL, "DNS:b.example,DNS:a.example", "a.example,b.example", acct) ==
          NULL);
    CHECK(check(p, key, "A.example", "DNS:B.example,DNS:a.example", "b.example,a.example",
                acct) == NULL);
    CHECK(check(p, key, NULL, "DNS:*.a.example,DNS:a.example", "a.example,*.a.example",
                NULL) == NULL);
    /* extra name */
    prob = check(p, key, NULL, "DNS:a.example,DNS:x.example", "a.example", acct);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
    CHECK(prob && strstr(prob->detail, "CSR names do not match the order: extra 'x.example'"));
    /* missing name */
    prob = check(p, key, NULL, "DNS:a.example", "a.example,y.example", acct);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
    CHECK(prob && strstr(prob->detail, "missing 'y.example'"));
    /* both */
    prob = check(p, key, NULL, "DNS:a.example,DNS:x.example", "a.example,y.example", acct);
    CHECK(prob && strstr(prob->detail, "extra 'x.example'") &&
          strstr(prob->detail, "missing 'y.example'"));
    /* CN not among the SANs (nor the order) */
    prob = check(p, key, "c.example", "DNS:a.example", "a.example", acct);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "c.example"));
    /* the account key */
    prob = check(p, key, NULL, "DNS:a.example", "a.example", key);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
    CHECK(prob && strstr(prob->detail, "CSR uses the account key"));
    CHECK(acp_csr_check(p, NULL, list(p, "a.example"), NULL) != NULL);
    /* IP identifiers: the iPAddress octets, exactly */
    CHECK(check(p, key, NULL, "IP:127.0.0.1,DNS:a.example", "127.0.0.1,a.example", acct) ==
          NULL);
    CHECK(check(p, key, NULL, "IP:0:0:0:0:0:0:0:1", "::1", acct) == NULL);
    prob = check(p, key, NULL, "IP:127.0.0.2", "127.0.0.1", acct);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "extra '127.0.0.2'") &&
          strstr(prob->detail, "missing '127.0.0.1'"));
    prob = check(p, key, "127.0.0.2", "IP:127.0.0.1", "127.0.0.1", acct);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
}

/* A CSR may carry no more names than an order, and a mismatch message stays short
 * however many names differ (once built by appending to itself: quadratic). */
static void test_names_bounds(apr_pool_t *p)
{
    EVP_PKEY *key = gen_key(p, "EC", "P-256", 0);
    const char *pad = "a-rather-long-label-to-fill-the-message-quickly";
    apr_array_header_t *sans = apr_array_make(p, ACP_MAX_IDENTIFIERS, sizeof(const char *));
    apr_array_header_t *names = apr_array_make(p, ACP_MAX_IDENTIFIERS, sizeof(const char *));
    const char *san, *order;
    acp_csr_t *csr = NULL;
    acp_problem_t *prob;
    unsigned char *der;
    size_t len;
    int i;

    APR_ARRAY_PUSH(sans, const char *) = "DNS:a.example";
    APR_ARRAY_PUSH(names, const char *) = "a.example";
    for (i = 1; i < ACP_MAX_IDENTIFIERS; i++) {
        APR_ARRAY_PUSH(sans, const char *) = apr_psprintf(p, "DNS:%s%d.example", pad, i);
        APR_ARRAY_PUSH(names, const char *) = apr_psprintf(p, "%s%d.example", pad, i + 1000);
    }
    san = apr_array_pstrcat(p, sans, ',');
    order = apr_array_pstrcat(p, names, ',');
    /* 100 names: parsed; all but one differ from the order both ways */
    prob = check(p, key, NULL, san, order, NULL);
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR);
    CHECK(prob && strlen(prob->detail) < 2 * ACP_CSR_DETAIL_MAX + 100);
    CHECK(prob && strstr(prob->detail, "extra '") && strstr(prob->detail, "missing '") &&
          strstr(prob->detail, " more"));
    /* 101 names: refused before any is looked at */
    der = make_csr(p, key, NULL, apr_pstrcat(p, san, ",DNS:one-too-many.example", NULL), &len);
    CHECK(der != NULL);
    prob = der ? acp_csr_parse(p, der, len, &csr) : NULL;
    CHECK(prob && prob->kind == ACP_ERR_BAD_CSR && strstr(prob->detail, "at most 100"));
    /* 100 SANs and a CN repeating one of them (what clients send): parsed */
    der = make_csr(p, key, "a.example", san, &len);
    CHECK(der && parse_kind(p, der, len, &csr) == ACP_ERR_NONE);
    CHECK(csr && csr->names->nelts == ACP_MAX_IDENTIFIERS);
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
    test_parse(p);
    test_parse_encoding(p);
    test_check(p);
    test_names_bounds(p);

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
