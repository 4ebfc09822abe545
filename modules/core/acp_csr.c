/* CSR parsing (RFC 2986 PKCS#10, key and name policy) and the CSR-against-order check.
 * Declared in acp_ca.h; the local CA signer is in acp_ca.c and acp_ca_sign.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_core.h"
#include "acp_util.h"
#include "acp_ident.h"
#include "acp_ca.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* ---- the request's own ASN.1 (RFC 2986 §4) ------------------------------------------------
 * d2i_X509_REQ decodes the public key through OpenSSL 3's decoder framework, whose set-up
 * (every key manager and decoder of the providers, for each key) cost as much as the rest
 * of finalize's CSR work together: about 1.2 M of the 18 M instructions callgrind counted
 * per certificate (docs/PERFORMANCE.md). The request is read here with templates of its own
 * that keep the SubjectPublicKeyInfo as its algorithm and bits; the EC P-256/P-384 and
 * Ed25519 keys every client sends are built from those directly, any other key through
 * d2i_PUBKEY as before. The signed part keeps its received encoding (ASN1_SEQUENCE_enc),
 * so the signature is checked over the very bytes the client signed, as X509_REQ_verify
 * does. */

typedef struct {
    X509_ALGOR *alg;
    ASN1_BIT_STRING *key;
} ACP_CSR_SPKI;

typedef struct {
    ASN1_ENCODING enc;
    ASN1_INTEGER *version;
    X509_NAME *subject;
    ACP_CSR_SPKI *spki;
    STACK_OF(X509_ATTRIBUTE) *attributes;
} ACP_CSR_INFO;

typedef struct {
    ACP_CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *sig;
} ACP_CSR;

ASN1_SEQUENCE(ACP_CSR_SPKI) = {
    ASN1_SIMPLE(ACP_CSR_SPKI, alg, X509_ALGOR),
    ASN1_SIMPLE(ACP_CSR_SPKI, key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(ACP_CSR_SPKI)

ASN1_SEQUENCE_enc(ACP_CSR_INFO, enc, NULL) = {
    ASN1_SIMPLE(ACP_CSR_INFO, version, ASN1_INTEGER),
    ASN1_SIMPLE(ACP_CSR_INFO, subject, X509_NAME),
    ASN1_SIMPLE(ACP_CSR_INFO, spki, ACP_CSR_SPKI),
    /* required by PKCS#10, but some requests leave an empty set out; OpenSSL's reader
     * takes them, so this one does too */
    ASN1_IMP_SET_OF_OPT(ACP_CSR_INFO, attributes, X509_ATTRIBUTE, 0)
} static_ASN1_SEQUENCE_END_ref(ACP_CSR_INFO, ACP_CSR_INFO)

ASN1_SEQUENCE(ACP_CSR) = {
    ASN1_SIMPLE(ACP_CSR, info, ACP_CSR_INFO),
    ASN1_SIMPLE(ACP_CSR, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(ACP_CSR, sig, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(ACP_CSR)

/* ---- pool cleanups for OpenSSL objects ------------------------------------------------ */

static apr_status_t req_cleanup(void *data)
{
    ASN1_item_free(data, ASN1_ITEM_rptr(ACP_CSR));
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sort_unique(apr_array_header_t *names)
{
    int r, w = 0;

    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    for (r = 0; r < names->nelts; r++) {
        const char *s = APR_ARRAY_IDX(names, r, const char *);
        if (w == 0 || strcmp(s, APR_ARRAY_IDX(names, w - 1, const char *)) != 0) {
            APR_ARRAY_IDX(names, w++, const char *) = s;
        }
    }
    names->nelts = w;
}

static char *lowercase(apr_pool_t *p, const char *s, size_t len)
{
    char *c = apr_pstrmemdup(p, s, len), *q;

    for (q = c; *q; q++) {
        if (*q >= 'A' && *q <= 'Z') {
            *q = (char)(*q - 'A' + 'a');
        }
    }
    return c;
}

/* ---- CSR parsing ----------------------------------------------------------------------- */

/* The key of a SubjectPublicKeyInfo, or NULL. EC keys on P-256 and P-384 and Ed25519 keys
 * are built from their bits; others (RSA, other curves, explicit parameters) are decoded
 * by d2i_PUBKEY, so check_key_policy words its refusal as it always has. */
static EVP_PKEY *spki_key(const ACP_CSR_SPKI *spki)
{
    const ASN1_OBJECT *aobj = NULL;
    const void *pval = NULL;
    const unsigned char *bits = ASN1_STRING_get0_data(spki->key), *q;
    unsigned char *der = NULL;
    int ptype = V_ASN1_UNDEF, len = ASN1_STRING_length(spki->key), n;
    long unused = spki->key->flags & ASN1_STRING_FLAG_BITS_LEFT ? spki->key->flags & 0x07 : 0;
    EVP_PKEY *key = NULL;

    X509_ALGOR_get0(&aobj, &ptype, &pval, spki->alg);
    if (bits && len > 0 && unused == 0) {
        int alg = OBJ_obj2nid(aobj);
        int curve = alg == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT
                        ? OBJ_obj2nid(pval)
                        : NID_undef;
        if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1) {
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
            OSSL_PARAM params[3];
            params[0] = OSSL_PARAM_construct_utf8_string(
                OSSL_PKEY_PARAM_GROUP_NAME, (char *)(curve == NID_secp384r1 ? "P-384" : "P-256"),
                0);
            params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)bits,
                                                          (size_t)len);
            params[2] = OSSL_PARAM_construct_end();
            if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
                EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
                key = NULL;
            }
            EVP_PKEY_CTX_free(ctx);
            return key; /* a point not on the curve: no key */
        }
        if (alg == NID_ED25519 && ptype == V_ASN1_UNDEF) {
            return len == 32 ? EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, bits, 32)
                             : NULL;
        }
    }
    n = ASN1_item_i2d((const ASN1_VALUE *)spki, &der, ASN1_ITEM_rptr(ACP_CSR_SPKI));
    if (n > 0) {
        q = der;
        key = d2i_PUBKEY(NULL, &q, n);
    }
    OPENSSL_free(der);
    return key;
}

/* The extensions the CSR asks for (PKCS#9 extensionRequest, else Microsoft's), as
 * X509_REQ_get_extensions finds them: an empty stack when it asks for none, NULL when the
 * attribute holds no readable extensions. */
static STACK_OF(X509_EXTENSION) *csr_extensions(const ACP_CSR_INFO *info)
{
    static const int nids[] = {NID_ext_req, NID_ms_ext_req};
    size_t i;

    for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
        int idx = X509at_get_attr_by_NID(info->attributes, nids[i], -1);
        ASN1_TYPE *t;
        const unsigned char *q;

        if (idx < 0) {
            continue;
        }
        t = X509_ATTRIBUTE_get0_type(X509at_get_attr(info->attributes, idx), 0);
        if (!t || t->type != V_ASN1_SEQUENCE || !t->value.sequence) {
            return NULL;
        }
        q = t->value.sequence->data;
        return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(
            NULL, &q, t->value.sequence->length, ASN1_ITEM_rptr(X509_EXTENSIONS));
    }
    return sk_X509_EXTENSION_new_null();
}

static acp_problem_t *check_key_policy(apr_pool_t *p, EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < RSA_MIN_BITS) {
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "RSA key of %d bits is too small (minimum %d)", bits,
                               RSA_MIN_BITS);
        }
        if (bits > RSA_MAX_BITS) {
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "RSA key of %d bits is too large (maximum %d)", bits,
                               RSA_MAX_BITS);
        }
        return NULL;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        size_t glen = 0;
        int nid = NID_undef;
        EVP_PKEY_CTX *ctx;
        int ok;

        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &glen) == 1) {
            nid = OBJ_txt2nid(group);
            if (nid == NID_undef) {
                nid = EC_curve_nist2nid(group);
            }
        }
        else {
            ERR_clear_error();
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "EC key without a named curve is not allowed "
                               "(use P-256 or P-384)");
        }
        if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "EC curve %s is not allowed (use P-256 or P-384)", group);
        }
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        ok = ctx && EVP_PKEY_public_check_quick(ctx) == 1;
        EVP_PKEY_CTX_free(ctx);
        if (!ok) {
            ERR_clear_error();
            return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR's EC public key is invalid");
        }
        return NULL;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        return NULL;
    }
    {
        const char *tn = EVP_PKEY_get0_type_name(pkey);
        return acp_problem(p, ACP_ERR_BAD_CSR,
                           "key type %s is not allowed (use RSA 2048-8192, ECDSA P-256/P-384 "
                           "or Ed25519)",
                           tn ? tn : "(unknown)");
    }
}

static acp_problem_t *check_sig_alg(apr_pool_t *p, const X509_ALGOR *sig_alg)
{
    const ASN1_OBJECT *aobj = NULL;
    int sig_nid, md_nid = NID_undef, pk_nid = NID_undef;

    X509_ALGOR_get0(&aobj, NULL, NULL, sig_alg);
    sig_nid = OBJ_obj2nid(aobj);

    if (!OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid)) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR's signature algorithm is unknown");
    }
    if (md_nid == NID_md2 || md_nid == NID_md4 || md_nid == NID_md5 || md_nid == NID_sha1 ||
        md_nid == NID_mdc2 || md_nid == NID_ripemd160) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR is signed with %s, which is too weak",
                           OBJ_nid2sn(md_nid));
    }
    return NULL;
}

/* Text that can only be an IP address: a colon (never in a dns name) or digits and dots
 * only (a dns name's last label is never all digits). Normalising it as "ip" then says
 * what is wrong with it, if anything. */
static int ip_text(const char *s)
{
    if (strchr(s, ':')) {
        return 1;
    }
    for (; *s; s++) {
        if (*s != '.' && !(*s >= '0' && *s <= '9')) {
            return 0;
        }
    }
    return 1;
}

/* One name from the CSR: ASCII, no NULs, valid per the identifier policy. */
static acp_problem_t *add_name(apr_pool_t *p, apr_array_header_t *names, const char *where,
                               int allow_ip, const unsigned char *data, int len)
{
    const char *norm = NULL;
    acp_problem_t *prob;
    int i;

    if (!data || len <= 0) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR has an empty %s", where);
    }
    for (i = 0; i < len; i++) {
        if (data[i] == 0 || data[i] >= 0x80) {
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "the CSR's %s contains a NUL or non-ASCII byte", where);
        }
    }
    {
        /* a common name may hold an IP address as its canonical text; a dNSName never
         * does (an address is an iPAddress SAN, compared by its octets) */
        const char *lc = lowercase(p, (const char *)data, (size_t)len);
        prob = acp_ident_normalize(p, allow_ip && ip_text(lc) ? "ip" : "dns", lc, &norm);
    }
    if (prob) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "CSR %s: %s", where, prob->detail);
    }
    APR_ARRAY_PUSH(names, const char *) = norm;
    return NULL;
}

/* An iPAddress subjectAltName (RFC 5280 §4.2.1.6: 4 or 16 octets), kept as the canonical
 * text of its address: the order's IP identifiers are that text, so comparing the texts
 * compares the octets. */
static acp_problem_t *add_ip(apr_pool_t *p, apr_array_header_t *names,
                             const ASN1_OCTET_STRING *ip)
{
    int len = ip ? ASN1_STRING_length(ip) : 0;
    const char *text, *norm = NULL;
    acp_problem_t *prob;

    if (len != 4 && len != 16) {
        return acp_problem(p, ACP_ERR_BAD_CSR,
                           "the CSR has an iPAddress subjectAltName of %d octets (4 or 16)", len);
    }
    text = acp_ident_ip_text(p, len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip));
    prob = text ? acp_ident_normalize(p, "ip", text, &norm) : NULL;
    if (!text || prob) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "CSR subjectAltName: %s",
                           prob ? prob->detail : "an unreadable iPAddress");
    }
    APR_ARRAY_PUSH(names, const char *) = norm;
    return NULL;
}

static const char *gen_type_name(int type)
{
    switch (type) {
    case GEN_OTHERNAME: return "otherName";
    case GEN_EMAIL: return "email address";
    case GEN_DNS: return "dNSName";
    case GEN_X400: return "X.400 address";
    case GEN_DIRNAME: return "directory name";
    case GEN_EDIPARTY: return "EDI party name";
    case GEN_URI: return "URI";
    case GEN_IPADD: return "IP address";
    case GEN_RID: return "registered ID";
    default: return "unknown";
    }
}

/* The CN of the subject (UTF-8 in p) or NULL; -1 on more than one or a bad one. */
static int subject_cn(apr_pool_t *p, const X509_NAME *subj, const unsigned char **cn,
                      int *cnlen)
{
    int idx, next;
    unsigned char *utf8 = NULL;
    int n;

    *cn = NULL;
    *cnlen = 0;
    if (!subj) {
        return 0;
    }
    idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (idx < 0) {
        return 0;
    }
    next = X509_NAME_get_index_by_NID(subj, NID_commonName, idx);
    if (next >= 0) {
        return -1;
    }
    n = ASN1_STRING_to_UTF8(&utf8,
                            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
    if (n < 0) {
        ERR_clear_error();
        return -1;
    }
    *cn = (const unsigned char *)apr_pstrmemdup(p, (const char *)utf8, (apr_size_t)n);
    *cnlen = n;
    OPENSSL_free(utf8);
    return 0;
}

acp_problem_t *acp_csr_parse(apr_pool_t *p, const unsigned char *der, size_t len,
                             acp_csr_t **out)
{
    const unsigned char *q = der;
    ACP_CSR *req = NULL;
    EVP_PKEY *pkey;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    GENERAL_NAMES *gens = NULL;
    apr_array_header_t *names;
    acp_problem_t *prob = NULL;
    const unsigned char *cn = NULL;
    int cnlen = 0, crit = -1, i;
    acp_csr_t *csr;

    if (out) {
        *out = NULL;
    }
    if (!der || len == 0 || len > (size_t)LONG_MAX) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR is empty");
    }
    req = (ACP_CSR *)ASN1_item_d2i(NULL, &q, (long)len, ASN1_ITEM_rptr(ACP_CSR));
    if (!req) {
        ERR_clear_error();
        return acp_problem(p, ACP_ERR_BAD_CSR, "the CSR is not a valid DER PKCS#10 request");
    }
    apr_pool_cleanup_register(p, req, req_cleanup, apr_pool_cleanup_null);
    if (q != der + len) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR, "the CSR has %zu bytes of trailing data",
                           (size_t)(der + len - q));
        goto done;
    }
    pkey = spki_key(req->info->spki);
    if (!pkey) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR, "the CSR's public key cannot be decoded");
        goto done;
    }
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    if ((prob = check_key_policy(p, pkey)) || (prob = check_sig_alg(p, req->sig_alg))) {
        goto done;
    }
    /* over the received encoding of the signed part (ASN1_SEQUENCE_enc) */
    if (ASN1_item_verify(ASN1_ITEM_rptr(ACP_CSR_INFO), req->sig_alg, req->sig, req->info,
                         pkey) != 1) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR, "the CSR's signature does not verify");
        goto done;
    }

    names = apr_array_make(p, 4, sizeof(const char *));
    if (subject_cn(p, req->info->subject, &cn, &cnlen) != 0) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR,
                           "the CSR's subject must have at most one readable common name");
        goto done;
    }
    if (cn && (prob = add_name(p, names, "common name", 1, cn, cnlen))) {
        goto done;
    }
    exts = csr_extensions(req->info);
    if (!exts) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR, "the CSR's extension request cannot be decoded");
        goto done;
    }
    {
        gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
        if (!gens && crit == -2) {
            prob = acp_problem(p, ACP_ERR_BAD_CSR,
                               "the CSR has more than one subjectAltName extension");
            goto done;
        }
        if (!gens && crit >= 0) {
            prob = acp_problem(p, ACP_ERR_BAD_CSR,
                               "the CSR's subjectAltName extension cannot be decoded");
            goto done;
        }
    }
    /* counted before any name is decoded or checked: the order's own limit (the one
     * CN a CSR may have usually repeats a SAN, and must be an order name anyway) */
    if (gens && sk_GENERAL_NAME_num(gens) > ACP_MAX_IDENTIFIERS) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR,
                           "the CSR has %d subjectAltNames (at most %d names per order)",
                           sk_GENERAL_NAME_num(gens), ACP_MAX_IDENTIFIERS);
        goto done;
    }
    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_IPADD) {
            prob = add_ip(p, names, g->d.iPAddress);
            if (prob) {
                goto done;
            }
            continue;
        }
        if (g->type != GEN_DNS) {
            prob = acp_problem(p, ACP_ERR_BAD_CSR,
                               "the CSR has a subjectAltName of type %s (only dNSName and "
                               "iPAddress are allowed)",
                               gen_type_name(g->type));
            goto done;
        }
        prob = add_name(p, names, "subjectAltName", 0,
                        ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
        if (prob) {
            goto done;
        }
    }
    if (names->nelts == 0) {
        prob = acp_problem(p, ACP_ERR_BAD_CSR, "the CSR contains no DNS names or IP addresses");
        goto done;
    }
    sort_unique(names);
    csr = apr_pcalloc(p, sizeof(*csr));
    csr->subject = req->info->subject;
    csr->key_alg = req->info->spki->alg;
    csr->key_bits = req->info->spki->key;
    csr->pkey = pkey;
    csr->names = names;
    csr->der = apr_pmemdup(p, der, len);
    csr->der_len = len;
    if (out) {
        *out = csr;
    }

done:
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (prob) {
        ERR_clear_error();
    }
    return prob;
}

/* ---- CSR against the order ------------------------------------------------------------- */

static int contains(const apr_array_header_t *set, const char *s)
{
    int i;

    for (i = 0; i < set->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(set, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A bounded text buffer: appends stop at its size, the rest is counted as left out. */
typedef struct {
    char buf[ACP_CSR_DETAIL_MAX];
    size_t len;
    int shown, left_out;
} detail_buf_t;

static void detail_add(detail_buf_t *d, const char *s, size_t n)
{
    memcpy(d->buf + d->len, s, n);
    d->len += n;
    d->buf[d->len] = '\0';
}

/* "'a', 'b'" as long as it fits (room kept for the " and N more" closing) */
static void detail_name(detail_buf_t *d, const char *name)
{
    size_t n = strlen(name), need = n + 4 + (d->shown ? 2 : 0);

    if (d->left_out || d->len + need + 32 >= sizeof(d->buf)) {
        d->left_out++;
        return;
    }
    if (d->shown) {
        detail_add(d, ", ", 2);
    }
    detail_add(d, "'", 1);
    detail_add(d, name, n);
    detail_add(d, "'", 1);
    d->shown++;
}

static void detail_close(detail_buf_t *d)
{
    if (d->left_out) {
        char more[32];
        int n = snprintf(more, sizeof(more), " and %d more", d->left_out);
        if (n > 0 && d->len + (size_t)n < sizeof(d->buf)) {
            detail_add(d, more, (size_t)n);
        }
        d->left_out = 0;
    }
    d->shown = 0;
}

acp_problem_t *acp_csr_check(apr_pool_t *p, const acp_csr_t *csr,
                             const apr_array_header_t *order_names, EVP_PKEY *account_key)
{
    apr_array_header_t *want, *have;
    const unsigned char *cn = NULL;
    int cnlen = 0, i;

    if (!csr || !csr->subject || !csr->names) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "no CSR");
    }
    want = apr_array_make(p, order_names ? order_names->nelts : 1, sizeof(const char *));
    for (i = 0; order_names && i < order_names->nelts; i++) {
        const char *s = APR_ARRAY_IDX(order_names, i, const char *);
        APR_ARRAY_PUSH(want, const char *) = lowercase(p, s ? s : "", s ? strlen(s) : 0);
    }
    have = apr_array_make(p, csr->names->nelts, sizeof(const char *));
    for (i = 0; i < csr->names->nelts; i++) {
        const char *s = APR_ARRAY_IDX(csr->names, i, const char *);
        APR_ARRAY_PUSH(have, const char *) = lowercase(p, s, strlen(s));
    }
    sort_unique(want);
    sort_unique(have);

    if (subject_cn(p, csr->subject, &cn, &cnlen) != 0) {
        return acp_problem(p, ACP_ERR_BAD_CSR,
                           "the CSR's subject must have at most one readable common name");
    }
    if (cn) {
        const char *norm = NULL;
        const char *lc = lowercase(p, (const char *)cn, (size_t)cnlen);
        if (acp_ident_normalize(p, ip_text(lc) ? "ip" : "dns", lc, &norm) != NULL) {
            norm = lc;
        }
        if (!contains(want, norm)) {
            return acp_problem(p, ACP_ERR_BAD_CSR,
                               "CSR common name '%s' is not one of the order's names", lc);
        }
    }

    /* both sorted and unique: one merge finds what is extra and what is missing */
    {
        detail_buf_t *extra = apr_pcalloc(p, sizeof(*extra));
        detail_buf_t *missing = apr_pcalloc(p, sizeof(*missing));
        int h = 0, o = 0, nextra = 0, nmissing = 0;

        while (h < have->nelts || o < want->nelts) {
            const char *hs = h < have->nelts ? APR_ARRAY_IDX(have, h, const char *) : NULL;
            const char *os = o < want->nelts ? APR_ARRAY_IDX(want, o, const char *) : NULL;
            int c = !hs ? 1 : !os ? -1 : strcmp(hs, os);
            if (c == 0) {
                h++;
                o++;
            }
            else if (c < 0) {
                detail_name(extra, hs);
                nextra++;
                h++;
            }
            else {
                detail_name(missing, os);
                nmissing++;
                o++;
            }
        }
        if (nextra || nmissing) {
            detail_close(extra);
            detail_close(missing);
            return acp_problem(p, ACP_ERR_BAD_CSR, "CSR names do not match the order: %s%s%s%s%s",
                               nextra ? "extra " : "", extra->buf,
                               nextra && nmissing ? "; " : "", nmissing ? "missing " : "",
                               missing->buf);
        }
    }
    if (account_key && csr->pkey && EVP_PKEY_eq(csr->pkey, account_key) == 1) {
        return acp_problem(p, ACP_ERR_BAD_CSR, "CSR uses the account key");
    }
    ERR_clear_error();
    return NULL;
}
