/* Renewal information (RFC 9773): certIDs, suggested windows, `replaces`, staff windows. */
#include <fnmatch.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_ari.h"
#include "acp_subscription.h"
#include "acp_ca.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

/* RFC 5280 §4.1.2.2: serials are at most 20 octets (21 with DER's sign byte); key
 * identifiers are a hash (SHA-1: 20 octets), 64 leaves room for any other method */
#define ARI_MAX_SERIAL 21
#define ARI_MAX_AKI 64

acp_problem_t *acp_ari_parse_certid(apr_pool_t *p, const char *certid, const char **aki_hex,
                                    const char **serial_hex)
{
    const char *dot = certid ? strchr(certid, '.') : NULL;
    unsigned char *aki = NULL, *ser = NULL;
    size_t akilen = 0, serlen = 0, skip = 0;

    if (!dot || dot == certid || !dot[1] || strchr(dot + 1, '.') ||
        strlen(certid) > 2 * (ARI_MAX_AKI + ARI_MAX_SERIAL)) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "a certID is base64url(AKI keyIdentifier) \".\" base64url(serial)");
    }
    if (acp_b64url_decode(p, certid, (size_t)(dot - certid), &aki, &akilen) != 0 ||
        acp_b64url_decode(p, dot + 1, strlen(dot + 1), &ser, &serlen) != 0 || akilen == 0 ||
        akilen > ARI_MAX_AKI || serlen == 0 || serlen > ARI_MAX_SERIAL) {
        return acp_problem(p, ACP_ERR_MALFORMED, "certID is not valid base64url of an AKI "
                                                 "and a serial number");
    }
    if (ser[0] & 0x80) {
        return acp_problem(p, ACP_ERR_MALFORMED, "certID names a negative serial number");
    }
    /* DER adds a 0x00 before a serial whose top bit is set; certificates.serial does not */
    while (serlen - skip > 1 && ser[skip] == 0) {
        skip++;
    }
    *aki_hex = acp_hex(p, aki, akilen);
    *serial_hex = acp_hex(p, ser + skip, serlen - skip);
    return NULL;
}

const char *acp_ari_certid(apr_pool_t *p, const char *aki_hex, const char *serial_hex)
{
    unsigned char *aki, *ser;
    size_t na = strlen(aki_hex) / 2, ns = strlen(serial_hex) / 2, i, off = 0;

    aki = apr_palloc(p, na + 1);
    ser = apr_palloc(p, ns + 2);
    for (i = 0; i < na; i++) {
        aki[i] = (unsigned char)strtol(apr_pstrndup(p, aki_hex + 2 * i, 2), NULL, 16);
    }
    for (i = 0; i < ns; i++) {
        ser[i + 1] = (unsigned char)strtol(apr_pstrndup(p, serial_hex + 2 * i, 2), NULL, 16);
    }
    if (ns > 0 && (ser[1] & 0x80)) {
        ser[0] = 0; /* DER's sign byte */
    }
    else {
        off = 1;
    }
    return apr_pstrcat(p, acp_b64url_encode(p, aki, na), ".",
                       acp_b64url_encode(p, ser + off, ns + 1 - off), NULL);
}

#define ARI_COLS 12 /* cert_of's columns (acp_ari_by_serial's); acp_ari_get adds three */

static acp_ari_cert_t *cert_of(apr_pool_t *p, const char **r)
{
    acp_ari_cert_t *c = apr_pcalloc(p, sizeof(*c));
    c->id = r[0];
    c->serial = r[1];
    c->billing_id = r[2];
    c->names_key = r[3];
    c->aki = r[4];
    c->not_before = acp_sa_atoll(r[5]);
    c->not_after = acp_sa_atoll(r[6]);
    c->revoked = acp_sa_atoll(r[7]);
    c->ari_start = acp_sa_atoll(r[8]);
    c->ari_end = acp_sa_atoll(r[9]);
    c->ari_reason = r[10];
    c->ari_url = r[11];
    return c;
}

acp_problem_t *acp_ari_lookup(acp_db_t *db, apr_pool_t *p, const char *certid, int with_subs,
                              acp_ari_cert_t **out)
{
    const char *aki = NULL, *serial = NULL;
    acp_problem_t *prob = acp_ari_parse_certid(p, certid, &aki, &serial);
    apr_array_header_t *rows = NULL, *subs;
    acp_ari_cert_t *c;
    int i;

    *out = NULL;
    if (prob) {
        return prob;
    }
    /* renewalInfo's certificate and its subscriptions in one read: a row per
     * subscription, or one with NULLs (every client polls it for every certificate) */
    if (acp_sa_rows(db, p, with_subs ? "acp_ari_get" : "acp_ari_by_serial", &rows,
                    ACP_SA_ARGS(serial)) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (rows->nelts == 0) {
        return acp_problem(p, ACP_ERR_NOT_FOUND, "no certificate with this certID");
    }
    c = cert_of(p, APR_ARRAY_IDX(rows, 0, const char **));
    subs = apr_array_make(p, 1, sizeof(const char **));
    for (i = 0; with_subs && i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        if (r[ARI_COLS]) {
            APR_ARRAY_PUSH(subs, const char **) = r + ARI_COLS;
        }
    }
    c->subs = with_subs ? subs : NULL;
    if (!c->aki) {
        /* issued before the AKI was recorded: read it from the certificate itself */
        const char **pem = NULL;
        if (acp_sa_row(db, p, "acp_ari_pem", &pem, ACP_SA_ARGS(c->id)) != APR_SUCCESS || !pem ||
            acp_ca_pem_aki(p, pem[0], &c->aki) != APR_SUCCESS) {
            c->aki = "";
        }
    }
    if (strcmp(c->aki, aki) != 0) {
        return acp_problem(p, ACP_ERR_NOT_FOUND, "no certificate with this certID");
    }
    *out = c;
    return NULL;
}

void acp_ari_window(const acp_ari_cert_t *c, long long *start, long long *end)
{
    long long v = c->not_after - c->not_before, shift = 0;
    size_t i;

    if (c->ari_start && c->ari_end > c->ari_start) {
        *start = c->ari_start;
        *end = c->ari_end;
        return;
    }
    if (c->revoked) {
        *start = c->revoked;
        *end = c->revoked + 3600;
        return;
    }
    if (v < 12) {
        v = 12;
    }
    /* a stable per-certificate shift (the serial is random) of up to v/12 */
    for (i = 0; c->serial && c->serial[i]; i++) {
        shift = (shift * 31 + (unsigned char)c->serial[i]) % 1000003;
    }
    shift = shift % (v / 12 + 1);
    *start = c->not_before + 2 * v / 3 + shift;
    *end = *start + v / 6;
    if (*end >= c->not_after) {
        *end = c->not_after - 1;
    }
    if (*end <= *start) {
        *end = *start + 1;
    }
}

void acp_ari_subscription_window(apr_pool_t *p, const acp_ari_cert_t *c,
                                 long long renew_window, long long *start, long long *end)
{
    int i;

    if ((c->ari_start && c->ari_end > c->ari_start) || c->revoked || !c->subs) {
        return;
    }
    for (i = 0; i < c->subs->nelts; i++) {
        const char **r = APR_ARRAY_IDX(c->subs, i, const char **);
        long long starts = acp_sa_atoll(r[0]), ends = acp_sa_atoll(r[1]), lo;
        if (!acp_subscription_names_subset(p, c->names_key, r[2])) {
            continue;
        }
        lo = c->not_after - acp_subscription_window(renew_window, ends - starts);
        if (*start < lo) {
            *start = lo;
        }
        if (*end <= *start) {
            *end = *start + (c->not_after - *start) / 2;
        }
        if (*end >= c->not_after) {
            *end = c->not_after - 1;
        }
        if (*end <= *start) {
            *end = *start + 1;
        }
        break;
    }
}

int acp_ari_names_overlap(const char *names_key, const char *other)
{
    const char *a = names_key;

    while (a && *a) {
        const char *comma = strchr(a, ',');
        size_t n = comma ? (size_t)(comma - a) : strlen(a);
        const char *b = other;
        while (b && *b) {
            const char *bc = strchr(b, ',');
            size_t m = bc ? (size_t)(bc - b) : strlen(b);
            if (m == n && strncmp(a, b, n) == 0) {
                return 1;
            }
            b = bc ? bc + 1 : NULL;
        }
        a = comma ? comma + 1 : NULL;
    }
    return 0;
}

acp_problem_t *acp_ari_replaces_check(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                      const char *names_key, const char *certid,
                                      acp_ari_cert_t **cert)
{
    acp_ari_cert_t *c = NULL;
    acp_problem_t *prob = acp_ari_lookup(db, p, certid, 0, &c);
    const char **row = NULL;

    *cert = NULL;
    if (prob) {
        if (prob->kind == ACP_ERR_NOT_FOUND) {
            /* in a newOrder the certID is a field of the request, not the resource */
            return acp_problem(p, ACP_ERR_MALFORMED, "replaces: no certificate with this certID");
        }
        return prob;
    }
    if (strcmp(c->billing_id, billing_id) != 0) {
        return acp_problem(p, ACP_ERR_UNAUTHORIZED,
                           "replaces: the certificate belongs to another account");
    }
    if (!acp_ari_names_overlap(c->names_key, names_key)) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "replaces: the certificate shares no identifier with this order");
    }
    if (acp_sa_row(db, p, "acp_ari_replaced", &row, ACP_SA_ARGS(c->id)) != APR_SUCCESS) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error");
    }
    if (row) {
        return acp_problem(p, ACP_ERR_ALREADY_REPLACED,
                           "the certificate is already replaced by order %s", row[0]);
    }
    *cert = c;
    return NULL;
}

apr_status_t acp_ari_set_window_tx(acp_db_t *db, apr_pool_t *p, const char *cert_id,
                                   long long start, long long end, const char *reason,
                                   const char *url)
{
    int n = 0;
    apr_status_t rv = acp_sa_exec(db, p, "acp_ari_set", &n,
                                  ACP_SA_ARGS(LL(p, start), LL(p, end), reason, url, cert_id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return n == 1 ? APR_SUCCESS : APR_NOTFOUND;
}

static int any_name_matches(apr_pool_t *p, const char *names_key, const char *pattern)
{
    char *copy = apr_pstrdup(p, names_key ? names_key : ""), *last = NULL, *n;

    for (n = apr_strtok(copy, ",", &last); n; n = apr_strtok(NULL, ",", &last)) {
        if (fnmatch(pattern, n, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_status_t acp_ari_select(acp_db_t *db, apr_pool_t *p, const acp_ari_select_t *sel, int max,
                            apr_array_header_t **out)
{
    apr_array_header_t *rows = NULL;
    long long now = acp_now();
    apr_status_t rv;
    int i;

    *out = apr_array_make(p, 16, sizeof(acp_ari_cert_t *));
    if (sel->serial) {
        const char **row = NULL;
        rv = acp_sa_row(db, p, "acp_ari_by_serial", &row, ACP_SA_ARGS(sel->serial));
        if (rv == APR_SUCCESS && row) {
            acp_ari_cert_t *c = cert_of(p, row);
            if (!c->revoked && c->not_after > now) {
                APR_ARRAY_PUSH(*out, acp_ari_cert_t *) = c;
            }
        }
        return rv;
    }
    rv = acp_sa_rows(db, p, "acp_ari_live", &rows,
                     ACP_SA_ARGS(LL(p, now), sel->holder, sel->holder,
                                 LL(p, sel->issued_before ? sel->issued_before : now + 1)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts && (*out)->nelts < max; i++) {
        acp_ari_cert_t *c = cert_of(p, APR_ARRAY_IDX(rows, i, const char **));
        if (sel->name_pattern && !any_name_matches(p, c->names_key, sel->name_pattern)) {
            continue;
        }
        APR_ARRAY_PUSH(*out, acp_ari_cert_t *) = c;
    }
    return APR_SUCCESS;
}
