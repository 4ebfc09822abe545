/* Organizations for organization-validated (OV) certificates: one per billing holder,
 * vetted by staff for a limited time. Field checks (shared by acme-pay-admin and the
 * tests), the vetting state, and the RA's check before an OV order and its signing. */
#ifndef ACP_ORG_H
#define ACP_ORG_H

#include "acp_core.h"
#include "acp_sa.h"

/* CA/Browser Forum Baseline Requirements §4.2.1: validated organization data may be reused
 * for at most 397 days. */
#define ACP_ORG_VETTING_DAYS 397
/* X.520 upper bounds (RFC 5280 Appendix A): organizationName 64, localityName and
 * stateOrProvinceName 128 characters; the evidence reference is ours. */
#define ACP_ORG_NAME_MAX 64
#define ACP_ORG_PLACE_MAX 128
#define ACP_ORG_EVIDENCE_MAX 512

typedef struct acp_org_t {
    const char *id, *billing_id, *legal_name, *locality, *state, *country, *evidence;
    const char *vetted_by, *revoked_by, *revoked_reason;
    long long vetted_at, valid_until, revoked_at, created, updated;
} acp_org_t;

typedef enum {
    ACP_ORG_UNVETTED = 0, /* never vetted, or a vetted field was edited since */
    ACP_ORG_CURRENT,
    ACP_ORG_EXPIRED,
    ACP_ORG_REVOKED
} acp_org_state_t;

/* 1 when c is an assigned ISO 3166-1 alpha-2 code (upper case, e.g. "DE", "CN"). */
int acp_org_country_ok(const char *c);
/* NULL when v is acceptable for the field what (max characters; required: not empty),
 * else why not: valid UTF-8, no control character (C0, DEL, C1), no leading or trailing
 * space, at most max characters. */
const char *acp_org_text_check(apr_pool_t *p, const char *what, const char *v, size_t max,
                               int required);

/* When the vetting stops being current: the earlier of its valid_until and vetted_at +
 * vetting_days (the configured period caps every stored vetting); 0 when never vetted. */
long long acp_org_vetting_end(const acp_org_t *org, int vetting_days);
acp_org_state_t acp_org_state(const acp_org_t *org, long long now, int vetting_days);
const char *acp_org_state_name(acp_org_state_t s);

/* Records (sa labels acp_org_get / acp_org_by_holder): APR_SUCCESS with *out,
 * APR_NOTFOUND, or a database error. */
apr_status_t acp_org_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_org_t **out);
apr_status_t acp_org_by_holder(acp_db_t *db, apr_pool_t *p, const char *holder,
                               acp_org_t **out);
/* The row's columns (in the catalogue's ORG_COLS order) as a record. */
acp_org_t *acp_org_from_row(apr_pool_t *p, const char **row);

/* The RA's rule for an OV profile: the holder needs an organization with a current
 * vetting. NULL with *out set, or userActionRequired (403) naming the profile and why
 * (none, not vetted, expired on DATE, revoked), instance = contact_url (may be NULL). */
acp_problem_t *acp_org_require(acp_db_t *db, apr_pool_t *p, const char *holder,
                               const char *profile, int vetting_days, const char *contact_url,
                               acp_org_t **out);

#endif
