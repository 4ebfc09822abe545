/* Renewal information (RFC 9773): certIDs, the suggested window of a certificate, the
 * `replaces` check of newOrder, and the windows staff move. RA policy over sa records. */
#ifndef ACP_ARI_H
#define ACP_ARI_H

#include "acp_core.h"
#include "acp_sa.h"

/* What ARI needs of a certificate (one indexed read by serial). */
typedef struct acp_ari_cert_t {
    const char *id, *serial, *billing_id, *names_key, *aki;
    long long not_before, not_after, revoked;
    long long ari_start, ari_end;   /* staff's (or a revocation's) window; 0: none */
    const char *ari_reason, *ari_url;
    /* read with it by acp_ari_lookup (with_subs): the holder's live subscriptions under the
     * order's profile that end where the certificate does (rows: starts, ends, names_key);
     * NULL when not read */
    const apr_array_header_t *subs;
} acp_ari_cert_t;

typedef struct acp_ari_cfg_t {
    int retry_after;                /* seconds, Retry-After of a renewalInfo answer */
    const char *explanation_url;    /* default explanationURL of a staff window; NULL:
                                       the built-in note page */
} acp_ari_cfg_t;

/* certID = base64url(AKI keyIdentifier) "." base64url(DER serial content). Lowercase
 * hex of both (the serial without DER's sign byte, as certificates.serial stores it).
 * NULL, or a malformed problem. */
acp_problem_t *acp_ari_parse_certid(apr_pool_t *p, const char *certid, const char **aki_hex,
                                    const char **serial_hex);
/* The certID of a certificate from its serial and AKI (hex). */
const char *acp_ari_certid(apr_pool_t *p, const char *aki_hex, const char *serial_hex);

/* The certificate a certID names, with with_subs its subscriptions too (subs; renewalInfo):
 * NULL with *out set, or a problem (malformed: bad certID; not found: no such certificate
 * of ours). One read. */
acp_problem_t *acp_ari_lookup(acp_db_t *db, apr_pool_t *p, const char *certid, int with_subs,
                              acp_ari_cert_t **out);

/* The suggested window: staff's when set; a revoked certificate: from its revocation,
 * one hour (renew now); else inside the last third of the validity, shifted per serial
 * by up to a twelfth of it so certificates issued together do not renew together. */
void acp_ari_window(const acp_ari_cert_t *c, long long *start, long long *end);

/* A certificate cut short at its subscription's end (acp_subscription.h; c->subs, read
 * by acp_ari_lookup): the window moves into the subscription's renewal window
 * (renew_window, at most half the term), so the client's renewal buys the next term from
 * that end instead of fetching free ever shorter certificates; it still closes before the
 * certificate ends. Unchanged for any other certificate, a staff window or a revoked one. */
void acp_ari_subscription_window(apr_pool_t *p, const acp_ari_cert_t *c,
                                 long long renew_window, long long *start, long long *end);

/* newOrder's `replaces` (RFC 9773 §5): the certificate must belong to billing_id, not be
 * replaced already (alreadyReplaced, 409), and share at least one name with names_key.
 * "Replaced" means by an order that was finalized (processing or valid): an unfinished
 * replacement order (unpaid, failed validation, abandoned) does not block the client's
 * next attempt, which RFC 9773's "not invalid" would do until that order expires (7 days;
 * mod_md retries with a new order). *cert set on success. */
acp_problem_t *acp_ari_replaces_check(acp_db_t *db, apr_pool_t *p, const char *billing_id,
                                      const char *names_key, const char *certid,
                                      acp_ari_cert_t **cert);

/* Staff (or revocation) move the window of one certificate. In the caller's
 * transaction; APR_NOTFOUND when there is no such live certificate. */
apr_status_t acp_ari_set_window_tx(acp_db_t *db, apr_pool_t *p, const char *cert_id,
                                   long long start, long long end, const char *reason,
                                   const char *url);

/* Which live (unrevoked, unexpired) certificates a staff renewal touches: one serial,
 * or any combination of a holder, a name pattern (fnmatch over each name, e.g.
 * "*.example.com") and an issue time bound. */
typedef struct acp_ari_select_t {
    const char *serial;        /* normalised (acp_admin_serial) */
    const char *holder;        /* billing id */
    const char *name_pattern;
    long long issued_before;   /* 0: any */
} acp_ari_select_t;

/* The matching certificates (array of acp_ari_cert_t*), at most max. Reads only. */
apr_status_t acp_ari_select(acp_db_t *db, apr_pool_t *p, const acp_ari_select_t *sel, int max,
                            apr_array_header_t **out);

/* 1 when names_key (comma-separated, sorted) and other share a name. */
int acp_ari_names_overlap(const char *names_key, const char *other);

#endif
