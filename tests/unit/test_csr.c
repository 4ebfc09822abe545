/* CSR parsing and checks: key policy, signatures and digests, names (CN, dNSName and
 * iPAddress SANs), the request's own encoding (non-minimal lengths, attributes), a CSR
 * against the order's names and the account key. The signer: test_ca.c. */
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_test.h"
#include "acp_test_csr.h"
#include "acp_ident.h"
#include "acp_ca.h"
#include "acp_util.h"

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

static void run_tests(apr_pool_t *p)
{
    test_parse(p);
    test_parse_encoding(p);
    test_check(p);
    test_names_bounds(p);
}
