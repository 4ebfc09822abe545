/* The longest certificate a CA may issue on a given date: by default the CA/Browser
 * Forum's schedule (Baseline Requirements 6.3.2, ballot SC-081), overridable for private
 * CAs with AcmePayMaxValidity. RA policy; no I/O. */
#ifndef ACP_VALIDITY_H
#define ACP_VALIDITY_H

#include <apr_pools.h>

#define ACP_VALIDITY_STEPS 8

/* steps[0..n-1]: from `from` (unix seconds, ascending) certificates live at most `max`
 * seconds; before steps[0].from: base. A max (or base) of 0: no limit. */
typedef struct acp_validity_sched_t {
    long long base;
    int n;
    struct {
        long long from, max;
    } steps[ACP_VALIDITY_STEPS];
} acp_validity_sched_t;

/* The CA/Browser Forum schedule: 398 days, 200 days from 2026-03-15, 100 days from
 * 2027-03-15, 47 days from 2029-03-15 (all 00:00 UTC). */
void acp_validity_cabf(acp_validity_sched_t *s);

/* The longest validity (seconds) of a certificate issued at t; 0: no limit. The BR count
 * a validity period from notBefore through notAfter inclusive, so notAfter may be at most
 * notBefore + max - 1 (acp_validity_cap). */
long long acp_validity_max(const acp_validity_sched_t *s, long long t);

/* na capped for a certificate issued at t whose notBefore is nb (na 0: unset, returned
 * as nb + max - 1 when there is a limit, else 0). */
long long acp_validity_cap(const acp_validity_sched_t *s, long long t, long long nb,
                           long long na);

/* AcmePayMaxValidity's words: "schedule" (the CA/B Forum schedule), "off" (no limit), a
 * duration ("825d", "36h": the limit from then on), or "YYYY-MM-DD=DURATION" (from that
 * date, 00:00 UTC). Words apply in order (a duration drops the dated steps, a dated
 * step replaces those from its date on). NULL, or why not. */
const char *acp_validity_parse(apr_pool_t *p, acp_validity_sched_t *s, int argc,
                               const char *const *argv);

/* "Nd" / "Nh" / "Nm" / "Ns" (N >= 1) as seconds; -1 when malformed or above max_s. */
long long acp_validity_duration(const char *s, long long max_s);

/* "200 days" / "36 hours" / "no limit" */
const char *acp_validity_text(apr_pool_t *p, long long max);

#endif
