/* Abuse limits, in the spirit of Boulder's (Let's Encrypt's rate limits): what one client
 * may make the server do. Policy lives in the RA (acp_ra_limit.c); every limit that must
 * hold across nodes is counted in the database, over rows the limited request writes
 * anyway, inside the request's own transaction, so a refused request changes nothing. */
#ifndef ACP_LIMIT_H
#define ACP_LIMIT_H

#include <apr_tables.h>
#include "acp_core.h"

typedef struct acp_limit_t {
    int max;     /* 0: no limit; -1 (in an override only): not overridden */
    int period;  /* seconds of the sliding window (unused by "pending") */
} acp_limit_t;

typedef struct acp_limit_set_t {
    acp_limit_t accounts; /* new accounts per client address (IPv4, IPv6 /64) per period */
    acp_limit_t orders;   /* new orders per account per period */
    acp_limit_t pending;  /* pending authorizations per account at any time */
    acp_limit_t failed;   /* failed validations per account per name per period */
} acp_limit_set_t;

/* The limits of the holders of one External Account Binding key. */
typedef struct acp_limit_eab_t {
    const char *kid;
    acp_limit_set_t set;  /* max -1: the default limit; period 0: the default period */
} acp_limit_eab_t;

typedef struct acp_limits_cfg_t {
    acp_limit_set_t dflt;
    apr_array_header_t *eab; /* acp_limit_eab_t, may be NULL */
} acp_limits_cfg_t;

/* Let's Encrypt's published numbers: 10 accounts per IP per 3 h, 300 orders per account
 * per 3 h, 300 pending authorizations per account, 5 failed validations per account per
 * name per hour. */
void acp_limits_defaults(acp_limits_cfg_t *cfg);

/* The limits that apply to a holder of EAB key kid (NULL: none): the key's own where
 * an override gives one, else the defaults. */
acp_limit_set_t acp_limits_for(const acp_limits_cfg_t *cfg, const char *kid);

/* Parse "N" or "off" (0), and an optional period "90s", "30m", "3h", "1d" (a bare number
 * is seconds). NULL on success, else a message (static text). */
const char *acp_limit_parse_max(const char *arg, int *max);
const char *acp_limit_parse_period(const char *arg, int *seconds);
/* One override item "accounts=N[/period]", "orders=N[/period]", "pending=N",
 * "failed=N[/period]" into set. NULL on success, else a message (in p). */
const char *acp_limit_parse_item(apr_pool_t *p, const char *item, acp_limit_set_t *set);
/* "3h", "90s", "1d": the shortest exact spelling of a period. */
const char *acp_limit_period_text(apr_pool_t *p, int seconds);

/* The key new-account counts are kept under: the IPv4 address, or the /64 of an IPv6
 * address ("2001:db8:1:2::/64"); an IPv4-mapped IPv6 address counts as its IPv4 address.
 * NULL when ip is not an address. */
const char *acp_limit_addr_key(apr_pool_t *p, const char *ip);

/* A rateLimited problem with Retry-After: the window frees a slot at `free_at`. */
acp_problem_t *acp_limit_problem(apr_pool_t *p, long long now, long long free_at,
                                 const char *what, int max, int period, const char *ident);

#endif
