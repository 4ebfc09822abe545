/* Abuse limits (acp_limit.h): the policy and its counts. Each count is one indexed range
 * over rows the limited request writes anyway (accounts.reg_addr, orders.created, pending
 * authorizations, authorizations.failed), read inside the request's own transaction: no
 * counter row, no extra durable write, and every node on one database sees the same
 * numbers. Sliding windows, as Boulder's: a slot frees when the oldest counted row leaves
 * the window, which is what Retry-After says. On SQLite writers are serialized, so a
 * limit is exact; on PostgreSQL (read committed) requests racing on one key can each see
 * the count below the limit, so it can be overshot by the number of such requests in
 * flight at once. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_network_io.h>
#include <arpa/inet.h>
#include "acp_limit.h"
#include "acp_ra.h"
#include "acp_ra_int.h"
#include "acp_util.h"

void acp_limits_defaults(acp_limits_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->dflt.accounts.max = 10;
    cfg->dflt.accounts.period = 3 * 3600;
    cfg->dflt.orders.max = 300;
    cfg->dflt.orders.period = 3 * 3600;
    cfg->dflt.pending.max = 300;
    cfg->dflt.failed.max = 5;
    cfg->dflt.failed.period = 3600;
}

/* an override's period 0 (not given) is the default's */
static void pick(acp_limit_t *out, const acp_limit_t *dflt, const acp_limit_t *over)
{
    *out = *dflt;
    if (over->max >= 0) {
        out->max = over->max;
        if (over->period > 0) {
            out->period = over->period;
        }
    }
}

acp_limit_set_t acp_limits_for(const acp_limits_cfg_t *cfg, const char *kid)
{
    acp_limit_set_t s = cfg->dflt;
    int i;

    if (!kid || !cfg->eab) {
        return s;
    }
    for (i = 0; i < cfg->eab->nelts; i++) {
        const acp_limit_eab_t *e = &APR_ARRAY_IDX(cfg->eab, i, acp_limit_eab_t);
        if (strcmp(e->kid, kid) == 0) {
            pick(&s.accounts, &cfg->dflt.accounts, &e->set.accounts);
            pick(&s.orders, &cfg->dflt.orders, &e->set.orders);
            pick(&s.pending, &cfg->dflt.pending, &e->set.pending);
            pick(&s.failed, &cfg->dflt.failed, &e->set.failed);
            break;
        }
    }
    return s;
}

/* ---- parsing ----------------------------------------------------------------------- */

const char *acp_limit_parse_max(const char *arg, int *max)
{
    char *end = NULL;
    long v;

    if (!strcasecmp(arg, "off")) {
        *max = 0;
        return NULL;
    }
    v = strtol(arg, &end, 10);
    if (!*arg || *end || v < 0 || v > 100000000) {
        return "a limit is a number from 0 to 100000000, or off (0: no limit)";
    }
    *max = (int)v;
    return NULL;
}

const char *acp_limit_parse_period(const char *arg, int *seconds)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10), mul = 1;

    if (end && *end && end[1] == '\0') {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        default: mul = 0;
        }
    }
    else if (end && *end) {
        mul = 0;
    }
    if (!*arg || mul == 0 || v < 1 || v * mul > 366LL * 86400) {
        return "a period is a number with s, m, h or d (e.g. 3h), from 1s to 366d";
    }
    *seconds = (int)(v * mul);
    return NULL;
}

const char *acp_limit_parse_item(apr_pool_t *p, const char *item, acp_limit_set_t *set)
{
    const char *eq = strchr(item, '='), *slash, *err;
    char *name, *num;
    acp_limit_t *l;
    int max = 0, period = 0;

    if (!eq) {
        return apr_psprintf(p, "'%s': expected name=N[/period]", item);
    }
    name = apr_pstrmemdup(p, item, (apr_size_t)(eq - item));
    l = !strcmp(name, "accounts") ? &set->accounts
        : !strcmp(name, "orders") ? &set->orders
        : !strcmp(name, "pending") ? &set->pending
        : !strcmp(name, "failed") ? &set->failed
                                  : NULL;
    if (!l) {
        return apr_psprintf(p, "'%s': the limits are accounts, orders, pending, failed", name);
    }
    slash = strchr(eq + 1, '/');
    num = slash ? apr_pstrmemdup(p, eq + 1, (apr_size_t)(slash - eq - 1)) : apr_pstrdup(p, eq + 1);
    if ((err = acp_limit_parse_max(num, &max)) ||
        (slash && (err = acp_limit_parse_period(slash + 1, &period)))) {
        return apr_psprintf(p, "'%s': %s", item, err);
    }
    if (slash && l == &set->pending) {
        return apr_psprintf(p, "'%s': pending takes no period", item);
    }
    l->max = max;
    if (slash) {
        l->period = period;
    }
    return NULL;
}

const char *acp_limit_period_text(apr_pool_t *p, int seconds)
{
    if (seconds % 86400 == 0) {
        return apr_psprintf(p, "%dd", seconds / 86400);
    }
    if (seconds % 3600 == 0) {
        return apr_psprintf(p, "%dh", seconds / 3600);
    }
    if (seconds % 60 == 0) {
        return apr_psprintf(p, "%dm", seconds / 60);
    }
    return apr_psprintf(p, "%ds", seconds);
}

const char *acp_limit_addr_key(apr_pool_t *p, const char *ip)
{
    unsigned char a[16];
    char buf[INET6_ADDRSTRLEN];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (!ip) {
        return NULL;
    }
    if (inet_pton(AF_INET, ip, a) == 1) {
        return inet_ntop(AF_INET, a, buf, sizeof(buf)) ? apr_pstrdup(p, buf) : NULL;
    }
    if (inet_pton(AF_INET6, ip, a) != 1) {
        return NULL;
    }
    if (memcmp(a, mapped, sizeof(mapped)) == 0) {
        return inet_ntop(AF_INET, a + 12, buf, sizeof(buf)) ? apr_pstrdup(p, buf) : NULL;
    }
    /* one customer usually gets a whole /64: count the prefix, not the address */
    memset(a + 8, 0, 8);
    if (!inet_ntop(AF_INET6, a, buf, sizeof(buf))) {
        return NULL;
    }
    return apr_pstrcat(p, buf, "/64", NULL);
}

acp_problem_t *acp_limit_problem(apr_pool_t *p, long long now, long long free_at,
                                 const char *what, int max, int period, const char *ident)
{
    long long wait = free_at > now ? free_at - now : 1;
    acp_problem_t *prob;

    if (wait > 366LL * 86400) {
        wait = 366LL * 86400;
    }
    if (period > 0) {
        prob = acp_problem(p, ACP_ERR_RATE_LIMITED, "too many %s: limit %d per %s; retry after %s",
                           what, max, acp_limit_period_text(p, period),
                           acp_rfc3339(p, now + wait));
    }
    else {
        prob = acp_problem(p, ACP_ERR_RATE_LIMITED, "too many %s: limit %d; retry after %s", what,
                           max, acp_rfc3339(p, now + wait));
    }
    prob->retry_after = (int)wait;
    prob->ident = ident;
    return prob;
}

/* ---- the checks (inside the request's transaction) ------------------------------------ */

/* COUNT(*) and MIN(time) of one limit's rows. */
static acp_problem_t *count(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                            const char *const *args, long long *n, long long *oldest)
{
    const char **row = NULL;

    if (acp_sa_row(db, p, label, &row, nargs, args) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "counting for a rate limit");
    }
    *n = row ? acp_sa_atoll(row[0]) : 0;
    *oldest = row ? acp_sa_atoll(row[1]) : 0;
    return NULL;
}

acp_problem_t *acp_ra_limit_new_account(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                        const char *addr_key, const char *eab_kid, long long now)
{
    acp_limit_set_t s = acp_limits_for(&cfg->limits, eab_kid);
    long long n = 0, oldest = 0;
    acp_problem_t *prob;

    if (!addr_key || s.accounts.max <= 0) {
        return NULL;
    }
    prob = count(db, p, "acp_limit_accounts",
                 ACP_SA_ARGS(addr_key, acp_sa_ll(p, now - s.accounts.period)), &n, &oldest);
    if (prob || n < s.accounts.max) {
        return prob;
    }
    return acp_limit_problem(p, now, oldest + s.accounts.period,
                             apr_psprintf(p, "new accounts from %s", addr_key), s.accounts.max,
                             s.accounts.period, NULL);
}

/* acp_limit_new_order's arguments: every count in one statement; a limit that is off
 * counts an empty window */
static const char *const *new_order_args(apr_pool_t *p, const acp_limit_set_t *s,
                                         const char *acct_id, long long now)
{
    const char **a = apr_pcalloc(p, 8 * sizeof(*a));

    a[0] = acct_id;
    a[1] = acp_sa_ll(p, s->orders.max > 0 ? now - s->orders.period : now);
    a[2] = acct_id;
    a[3] = acp_sa_ll(p, now);
    a[4] = acct_id;
    a[5] = acp_sa_ll(p, s->failed.max > 0 ? now - s->failed.period : now);
    a[6] = acp_sa_ll(p, s->failed.max > 0 ? s->failed.max : 1);
    return a;
}

static int new_order_counted(const acp_limit_set_t *s)
{
    return s->failed.max > 0 || s->orders.max > 0 || s->pending.max > 0;
}

/* acp_new_order_read's arguments (PostgreSQL): acp_limit_new_order's, the names, the
 * account, the least expiry of an authorization to reuse */
#define NEW_ORDER_READ_NARGS 10
static const char *const *new_order_read_args(apr_pool_t *p, const acp_limit_set_t *s,
                                              const char *acct_id,
                                              const apr_array_header_t *names, long long now)
{
    const char **a = apr_pcalloc(p, (NEW_ORDER_READ_NARGS + 1) * sizeof(*a));

    memcpy(a, new_order_args(p, s, acct_id, now), 7 * sizeof(*a));
    a[7] = apr_array_pstrcat(p, names, ' ');
    a[8] = acct_id;
    a[9] = acp_sa_ll(p, now + ACP_RA_REUSE_MIN_LEFT);
    return a;
}

int acp_ra_new_order_read_any(apr_pool_t *p, const acp_ra_cfg_t *cfg, const char *acct_id,
                              json_object *payload, long long now, const char *const **args)
{
    apr_array_header_t *names = NULL;
    acp_limit_set_t s;

    if (cfg->limits.eab && cfg->limits.eab->nelts > 0) {
        return 0;
    }
    if (!payload || acp_ra_order_names(p, cfg, payload, &names) != NULL) {
        return 0; /* newOrder refuses it before it reads */
    }
    s = acp_limits_for(&cfg->limits, NULL);
    *args = new_order_read_args(p, &s, acct_id, names, now);
    return NEW_ORDER_READ_NARGS;
}

acp_problem_t *acp_ra_limit_new_order(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct,
                                      const apr_array_header_t *names, long long now,
                                      acp_ra_pending_budget_t *budget,
                                      apr_array_header_t **reuse)
{
    acp_limit_set_t s = acp_limits_for(&cfg->limits, acct->eab_kid);
    long long n = 0, oldest = 0;
    const char **row = NULL;
    int i;

    budget->left = -1;
    *reuse = NULL;
    if (db->pgsql) {
        /* the counts with each name's authorization to reuse, one read (it may have come
         * with the nonce's spend: acp_ra_new_order_read_any); the transaction's writes
         * then need no answer before its COMMIT */
        if (acp_sa_new_order_read(db, p, NEW_ORDER_READ_NARGS,
                                  new_order_read_args(p, &s, acct->id, names, now),
                                  names->nelts, &row, reuse) != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "counting for a rate limit");
        }
        if (!new_order_counted(&s)) {
            return NULL;
        }
    }
    else if (!new_order_counted(&s)) {
        return NULL;
    }
    /* every count in one round trip */
    else if (acp_sa_row(db, p, "acp_limit_new_order", &row, 7,
                        new_order_args(p, &s, acct->id, now)) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "counting for a rate limit");
    }
    /* the most specific limit first: a name that keeps failing ("ident/oldest ...") */
    if (s.failed.max > 0 && row && row[4]) {
        char *last = NULL, *tok;
        for (tok = apr_strtok(apr_pstrdup(p, row[4]), " ", &last); tok;
             tok = apr_strtok(NULL, " ", &last)) {
            char *slash = strrchr(tok, '/');
            if (!slash) {
                continue;
            }
            *slash = '\0';
            for (i = 0; i < names->nelts; i++) {
                const char *name = APR_ARRAY_IDX(names, i, const char *);
                const char *ident = !strncmp(name, "*.", 2) ? name + 2 : name;
                if (strcmp(tok, ident) == 0) {
                    return acp_limit_problem(
                        p, now, acp_sa_atoll(slash + 1) + s.failed.period,
                        apr_psprintf(p, "failed validations for %s on this account", ident),
                        s.failed.max, s.failed.period, name);
                }
            }
        }
    }
    if (s.orders.max > 0 || s.pending.max > 0) {
        n = row ? acp_sa_atoll(row[0]) : 0;
        oldest = row ? acp_sa_atoll(row[1]) : 0;
        if (s.orders.max > 0 && n >= s.orders.max) {
            return acp_limit_problem(p, now, oldest + s.orders.period,
                                     "new orders from this account", s.orders.max,
                                     s.orders.period, NULL);
        }
        if (s.pending.max > 0) {
            long long pn = row ? acp_sa_atoll(row[2]) : 0;
            budget->left = pn >= s.pending.max ? 0 : (int)(s.pending.max - pn);
            budget->max = s.pending.max;
            budget->free_at = row ? acp_sa_atoll(row[3]) : 0;
        }
    }
    return NULL;
}

acp_problem_t *acp_ra_limit_pending_spend(apr_pool_t *p, acp_ra_pending_budget_t *budget,
                                          long long now)
{
    if (budget->left < 0) {
        return NULL;
    }
    if (budget->left == 0) {
        return acp_limit_problem(p, now, budget->free_at,
                                 "pending authorizations on this account (finish or deactivate "
                                 "some)",
                                 budget->max, 0, NULL);
    }
    budget->left--;
    return NULL;
}

long long acp_ra_limit_failed_since(const acp_ra_cfg_t *cfg, const acp_account_t *acct,
                                    long long now)
{
    acp_limit_set_t s = acp_limits_for(&cfg->limits, acct->eab_kid);

    return s.failed.max > 0 ? now - s.failed.period : now; /* off: an empty window */
}

int acp_ra_limit_failed_since_any(const acp_ra_cfg_t *cfg, long long now, long long *since)
{
    acp_account_t none;

    if (cfg->limits.eab && cfg->limits.eab->nelts > 0) {
        return 0;
    }
    memset(&none, 0, sizeof(none));
    *since = acp_ra_limit_failed_since(cfg, &none, now);
    return 1;
}

acp_problem_t *acp_ra_limit_challenge(apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct, const acp_authz_t *authz,
                                      long long n, long long oldest, long long now)
{
    acp_limit_set_t s = acp_limits_for(&cfg->limits, acct->eab_kid);

    if (s.failed.max <= 0 || n < s.failed.max) {
        return NULL;
    }
    return acp_limit_problem(
        p, now, oldest + s.failed.period,
        apr_psprintf(p, "failed validations for %s on this account", authz->ident), s.failed.max,
        s.failed.period, authz->ident);
}
