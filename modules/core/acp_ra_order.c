/* Registration authority, orders: newOrder (identifiers, profile, validity window,
 * authorizations reused or created with their challenges), order status refresh,
 * authorization deactivation, challenge responses and failures, and the billing
 * settings an order is charged under. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_ra.h"
#include "acp_ari.h"
#include "acp_profile.h"
#include "acp_org.h"
#include "acp_ident.h"
#include "acp_problem.h"
#include "acp_util.h"
#include "acp_ra_int.h"

#define MAX_IDENTIFIERS ACP_MAX_IDENTIFIERS

/* ---- orders ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static acp_problem_t *parse_time(apr_pool_t *p, json_object *payload, const char *key,
                                 long long *out)
{
    json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(payload, key, &v)) {
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string) ||
        acp_rfc3339_parse(json_object_get_string(v), out) != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "%s must be an RFC 3339 date", key);
    }
    return NULL;
}

/* An IP identifier the validator would never connect to (IANA special-purpose ranges,
 * less AcmePayValidationAllow) is refused at once: its challenges could only fail. */
static acp_problem_t *ip_policy(apr_pool_t *p, const acp_ra_cfg_t *cfg, const char *name)
{
    unsigned char addr[16];
    int family = acp_ident_ip_parse(name, addr);
    const char *why;

    if (!family) {
        return NULL;
    }
    why = acp_va_addr_refusal(p, cfg->va.allow, family, addr);
    if (!why) {
        return NULL;
    }
    return acp_problem(p, ACP_ERR_REJECTED_IDENTIFIER,
                       "this CA does not issue for %s: %s", name, why);
}

/* The authorization of name for order_id at position pos: a valid one reused, or a new
 * one with its challenges. *linked: it was linked to the order too (PostgreSQL: a new
 * authorization, its challenges and the link are one statement). known: the one to
 * reuse (*known, NULL: none) when newOrder's first read found it, else NULL: looked up. */
static acp_problem_t *new_authz(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                const acp_account_t *acct, const char *name, long long now,
                                acp_ra_pending_budget_t *budget, const char *order_id, int pos,
                                acp_authz_t *const *known, acp_authz_t **out, int *linked)
{
    int wildcard = acp_ident_is_wildcard(name);
    const char *ident = wildcard ? name + 2 : name;
    static const char *const all_types[] = {"http-01", "dns-01", "tls-alpn-01"};
    static const char *const wild_types[] = {"dns-01"};
    /* RFC 8738 §7: an IP address has no DNS zone to put a TXT record in */
    static const char *const ip_types[] = {"http-01", "tls-alpn-01"};
    int is_ip = acp_ident_ip_parse(ident, NULL) != 0;
    const char *const *types = wildcard ? wild_types : is_ip ? ip_types : all_types;
    int ntypes = wildcard ? 1 : is_ip ? 2 : 3, i;
    acp_authz_t *reuse = NULL;
    apr_status_t rv;
    const char *id;

    *linked = 0;
    if (known) {
        reuse = *known;
        rv = reuse ? APR_SUCCESS : APR_NOTFOUND;
    }
    else {
        rv = acp_sa_authz_reusable(db, p, acct->id, ident, wildcard, now + ACP_RA_REUSE_MIN_LEFT,
                                   &reuse);
    }
    if (rv == APR_SUCCESS) {
        *out = reuse;
        return NULL;
    }
    if (rv != APR_NOTFOUND) {
        return acp_ra_int_db_problem(p, "looking for a reusable authorization");
    }
    {
        acp_problem_t *prob = acp_ra_limit_pending_spend(p, budget, now);
        if (prob) {
            return prob;
        }
    }
    id = acp_random_id(p, 12);
    {
        /* the authorization's row, then its challenges' (one to three) */
        static const char *const labels[] = {"acp_chall_insert", "acp_chall_insert2",
                                              "acp_chall_insert3"};
        static const char *const pg_labels[] = {"acp_authz_new1", "acp_authz_new2",
                                                 "acp_authz_new3"};
        const char *args[6 + 12 + 2];
        args[0] = id;
        args[1] = acct->id;
        args[2] = ident;
        args[3] = wildcard ? "1" : "0";
        args[4] = acp_sa_ll(p, now + cfg->authz_pending_lifetime);
        args[5] = acp_sa_ll(p, now);
        for (i = 0; i < ntypes; i++) {
            args[6 + i * 4] = acp_random_id(p, 12);
            args[6 + i * 4 + 1] = id;
            args[6 + i * 4 + 2] = types[i];
            args[6 + i * 4 + 3] = acp_random_id(p, 32);
        }
        if (ntypes < 1 || ntypes > 3) {
            return acp_ra_int_db_problem(p, "creating a challenge");
        }
        if (db->pgsql) {
            args[6 + ntypes * 4] = order_id;
            args[6 + ntypes * 4 + 1] = apr_itoa(p, pos);
            if (acp_sa_exec_later(db, p, pg_labels[ntypes - 1], 6 + ntypes * 4 + 2, args) !=
                APR_SUCCESS) {
                return acp_ra_int_db_problem(p, "creating an authorization");
            }
            *linked = 1;
        }
        else if (acp_sa_exec(db, p, "acp_authz_insert", NULL, 6, args) != APR_SUCCESS ||
                 acp_sa_exec(db, p, labels[ntypes - 1], NULL, ntypes * 4, args + 6) !=
                     APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "creating an authorization");
        }
    }
    {
        /* the row as inserted (acp_authz_insert) */
        acp_authz_t *a = apr_pcalloc(p, sizeof(*a));
        a->id = id;
        a->account_id = acct->id;
        a->ident = ident;
        a->wildcard = wildcard ? 1 : 0;
        a->status = "pending";
        a->expires = now + cfg->authz_pending_lifetime;
        *out = a;
    }
    return NULL;
}

acp_problem_t *acp_ra_order_names(apr_pool_t *p, const acp_ra_cfg_t *cfg, json_object *payload,
                                  apr_array_header_t **out)
{
    json_object *idents;
    apr_array_header_t *names;
    acp_problem_t *prob;
    size_t i, n;

    if (!json_object_is_type(payload, json_type_object) ||
        !json_object_object_get_ex(payload, "identifiers", &idents) ||
        !json_object_is_type(idents, json_type_array)) {
        return acp_problem(p, ACP_ERR_MALFORMED, "newOrder needs an identifiers array");
    }
    n = json_object_array_length(idents);
    if (n == 0 || n > MAX_IDENTIFIERS) {
        return acp_problem(p, ACP_ERR_MALFORMED, "an order needs 1 to %d identifiers",
                           MAX_IDENTIFIERS);
    }
    names = apr_array_make(p, (int)n, sizeof(const char *));
    for (i = 0; i < n; i++) {
        json_object *ident = json_object_array_get_idx(idents, i);
        const char *type = acp_ra_int_jstr(ident, "type"),
                   *value = acp_ra_int_jstr(ident, "value"), *norm = NULL;
        if (!type || !value) {
            return acp_problem(p, ACP_ERR_MALFORMED, "identifier %zu needs type and value", i);
        }
        prob = acp_ident_normalize(p, type, value, &norm);
        if (!prob) {
            prob = ip_policy(p, cfg, norm);
        }
        if (prob) {
            if (!prob->ident) {
                prob->ident = value;
            }
            return prob;
        }
        APR_ARRAY_PUSH(names, const char *) = norm;
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    /* drop duplicates */
    {
        int r, w = 0;
        for (r = 0; r < names->nelts; r++) {
            const char *s = APR_ARRAY_IDX(names, r, const char *);
            if (w == 0 || strcmp(s, APR_ARRAY_IDX(names, w - 1, const char *)) != 0) {
                APR_ARRAY_IDX(names, w++, const char *) = s;
            }
        }
        names->nelts = w;
    }
    *out = names;
    return NULL;
}

acp_problem_t *acp_ra_new_order_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                   const acp_account_t *acct, json_object *payload,
                                   acp_order_t **order)
{
    return acp_ra_new_order_ex_tx(db, p, cfg, acct, payload, 0, order);
}

acp_problem_t *acp_ra_new_order_ex_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct, json_object *payload,
                                      int defer_ov, acp_order_t **order)
{
    json_object *stored;
    apr_array_header_t *names, *authzs, *reuse = NULL;
    long long nb = 0, na = 0, now = acp_now();
    acp_problem_t *prob;
    const char *id, *names_key, *replaces = NULL, *idtext;
    acp_ari_cert_t *replaced = NULL;
    const acp_profile_t *profile = NULL;
    size_t i;
    int all_valid = 1, validity_days = cfg->validity_days;
    acp_ra_pending_budget_t budget;

    if ((prob = acp_ra_order_names(p, cfg, payload, &names))) {
        return prob;
    }
    {
        /* draft-ietf-acme-profiles: the product the client asked for, else the default */
        json_object *pj = NULL;
        const char *requested = NULL;
        if (json_object_object_get_ex(payload, "profile", &pj) && cfg->profiles &&
            cfg->profiles->nelts) {
            if (!json_object_is_type(pj, json_type_string)) {
                return acp_problem(p, ACP_ERR_MALFORMED, "profile must be a string");
            }
            requested = json_object_get_string(pj);
        }
        prob = acp_profile_choose(p, cfg->profiles, cfg->default_profile, requested, &profile);
        if (prob) {
            return prob;
        }
        if (profile) {
            validity_days = profile->days;
        }
        if (profile && profile->ov && !defer_ov) {
            /* an OV product: the holder needs a current organization vetting now (and
             * again at finalize); the names are still validated as for DV */
            acp_org_t *org = NULL;
            prob = acp_org_require(db, p, acct->billing_id, profile->name,
                                   acp_ra_ov_vetting_days(cfg), cfg->ov_contact_url, &org);
            if (prob) {
                return prob;
            }
        }
    }
    if ((prob = parse_time(p, payload, "notBefore", &nb)) ||
        (prob = parse_time(p, payload, "notAfter", &na))) {
        return prob;
    }
    /* no backdating: a notBefore may lie at most ACP_NOT_BEFORE_SKEW in the past (clock
     * skew between client and server); the certificate then lives validity_days at most,
     * counted from its notBefore (or from now) */
    if (nb && nb < now - ACP_NOT_BEFORE_SKEW) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "notBefore may be at most %d seconds in the past (no backdating)",
                           ACP_NOT_BEFORE_SKEW);
    }
    {
        /* the longest certificate issued today (AcmePayMaxValidity), counted inclusively */
        long long max = acp_validity_max(&cfg->max_validity, now);
        if (max > 0 && max / 86400 < validity_days) {
            validity_days = (int)(max / 86400);
        }
    }
    if ((nb && na && na <= nb) || (na && na <= now) ||
        (na && na - (nb ? nb : now) > (long long)validity_days * 86400) ||
        (nb && nb > now + cfg->order_lifetime)) {
        return acp_problem(p, ACP_ERR_MALFORMED,
                           "notBefore/notAfter outside what this CA issues (at most %d days)",
                           validity_days);
    }
    /* abuse limits: a refused order is never written (the caller rolls back) */
    if ((prob = acp_ra_limit_new_order(db, p, cfg, acct, names, now, &budget, &reuse))) {
        return prob;
    }
    names_key = acp_ident_names_key(p, names);
    {
        /* RFC 9773 §5: a renewal names the certificate it replaces */
        json_object *rj = NULL;
        if (json_object_object_get_ex(payload, "replaces", &rj)) {
            if (!json_object_is_type(rj, json_type_string)) {
                return acp_problem(p, ACP_ERR_MALFORMED, "replaces must be a certID string");
            }
            replaces = json_object_get_string(rj);
            prob = acp_ari_replaces_check(db, p, acct->billing_id, names_key, replaces,
                                          &replaced);
            if (prob) {
                return prob;
            }
        }
    }
    id = acp_random_id(p, 12);
    stored = json_object_new_array();
    for (i = 0; i < (size_t)names->nelts; i++) {
        json_object *o = json_object_new_object();
        const char *nm = APR_ARRAY_IDX(names, i, const char *);
        json_object_object_add(o, "type", json_object_new_string(acp_ident_type(nm)));
        json_object_object_add(o, "value", json_object_new_string(nm));
        json_object_array_add(stored, o);
    }
    idtext = acp_ra_int_json_text(p, stored);
    json_object_put(stored);
    {
        /* sent with the next statement (the order's authorizations follow; nothing reads
         * the order back before the commit) */
        if (acp_sa_exec_later(db, p, "acp_order_insert",
                        ACP_SA_ARGS(id, acct->id, "pending",
                                    acp_sa_ll(p, now + cfg->order_lifetime), idtext, names_key,
                                    nb ? acp_sa_ll(p, nb) : NULL, na ? acp_sa_ll(p, na) : NULL,
                                    acp_sa_ll(p, now), acp_sa_ll(p, now),
                                    profile ? profile->name : NULL)) != APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "creating the order");
        }
    }
    if (replaced && acp_sa_exec_later(db, p, "acp_order_replaces",
                                      ACP_SA_ARGS(replaces, replaced->id, id)) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "recording what the order replaces");
    }
    authzs = apr_array_make(p, names->nelts, sizeof(acp_authz_t *));
    for (i = 0; i < (size_t)names->nelts; i++) {
        acp_authz_t *a = NULL;
        int linked = 0;
        prob = new_authz(db, p, cfg, acct, APR_ARRAY_IDX(names, i, const char *), now, &budget,
                         id, (int)i, reuse ? &APR_ARRAY_IDX(reuse, i, acp_authz_t *) : NULL,
                         &a, &linked);
        if (prob) {
            return prob;
        }
        /* a reused authorization is valid (acp_sa_authz_reusable), a new one pending */
        all_valid = all_valid && !strcmp(a->status, "valid");
        if (!linked && acp_sa_exec_later(db, p, "acp_order_authz_insert",
                                         ACP_SA_ARGS(id, a->id, apr_itoa(p, (int)i))) !=
                           APR_SUCCESS) {
            return acp_ra_int_db_problem(p, "linking an authorization");
        }
        APR_ARRAY_PUSH(authzs, acp_authz_t *) = a;
    }
    /* (nothing reads its count: it goes with the COMMIT on PostgreSQL) */
    if (all_valid &&
        acp_sa_exec_later(db, p, "acp_order_status",
                          ACP_SA_ARGS("ready", NULL, acp_sa_ll(p, now), id, "pending")) !=
            APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "updating the order");
    }
    {
        /* the order as written above, with its authorizations in order (the answer lists
         * them), not read back: one round trip less per order */
        acp_order_t *o = apr_pcalloc(p, sizeof(*o));
        o->id = id;
        o->account_id = acct->id;
        o->status = all_valid ? "ready" : "pending";
        o->expires = now + cfg->order_lifetime;
        o->identifiers = idtext;
        o->names_key = names_key;
        o->not_before = nb;
        o->not_after = na;
        o->created = now;
        o->replaces = replaced ? replaces : NULL;
        o->profile = profile ? profile->name : NULL;
        o->authzs = authzs;
        *order = o;
    }
    return NULL;
}

acp_problem_t *acp_ra_int_set_order_status(acp_db_t *db, apr_pool_t *p, acp_order_t *order,
                                       const char *status, const acp_problem_t *err)
{
    const char *errtext = NULL;
    int n = 0;

    if (err) {
        json_object *o = acp_problem_json(err);
        errtext = acp_ra_int_json_text(p, o);
        json_object_put(o);
    }
    if (acp_sa_exec(db, p, "acp_order_status", &n,
                    ACP_SA_ARGS(status, errtext, acp_sa_ll(p, acp_now()), order->id,
                                order->status)) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "updating the order status");
    }
    if (n == 1) {
        order->status = status;
        order->error = errtext;
    }
    return NULL;
}

/* An invalid authorization that CAA refused: that problem (type caa) for its order too;
 * else NULL. */
static acp_problem_t *authz_caa_problem(acp_db_t *db, apr_pool_t *p, const acp_authz_t *a)
{
    apr_array_header_t *challs = NULL;
    int k;

    if (strcmp(a->status, "invalid") != 0 ||
        acp_sa_authz_challs(db, p, a->id, &challs) != APR_SUCCESS) {
        return NULL;
    }
    for (k = 0; k < challs->nelts; k++) {
        const acp_chall_t *c = APR_ARRAY_IDX(challs, k, acp_chall_t *);
        json_object *o = c->error ? acp_json_parse(p, c->error, strlen(c->error)) : NULL;
        const char *type = acp_ra_int_jstr(o, "type"), *detail = acp_ra_int_jstr(o, "detail");
        if (type && strcmp(type, "urn:ietf:params:acme:error:caa") == 0) {
            acp_problem_t *prob = acp_problem(p, ACP_ERR_CAA, "%s",
                                              detail ? detail : "CAA forbids issuance");
            prob->ident = a->ident;
            return prob;
        }
    }
    return NULL;
}

/* What a pending or ready order's status must become now (*status NULL: unchanged),
 * and the error it then carries. Reads only. */
static acp_problem_t *order_due(acp_db_t *db, apr_pool_t *p, const acp_order_t *order,
                                const char **status, acp_problem_t **why)
{
    apr_array_header_t *authzs;
    long long now = acp_now();
    int i, all_valid = 1;

    *status = NULL;
    *why = NULL;
    if (strcmp(order->status, "pending") != 0 && strcmp(order->status, "ready") != 0) {
        return NULL;
    }
    if (order->expires < now) {
        *status = "invalid";
        *why = acp_problem(p, ACP_ERR_MALFORMED, "order expired");
        return NULL;
    }
    /* a ready order too: an authorization may have expired or been deactivated since
     * (RFC 8555 §7.1.6: the order is then invalid) */
    if (order->authzs) {
        authzs = order->authzs; /* read with the order */
    }
    else if (acp_sa_order_authzs(db, p, order->id, &authzs) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "reading authorizations");
    }
    for (i = 0; i < authzs->nelts; i++) {
        acp_authz_t *a = APR_ARRAY_IDX(authzs, i, acp_authz_t *);
        if (strcmp(a->status, "valid") == 0 && a->expires >= now) {
            continue;
        }
        all_valid = 0;
        if (strcmp(order->status, "ready") == 0 || strcmp(a->status, "pending") != 0 ||
            a->expires < now) {
            *status = "invalid";
            *why = authz_caa_problem(db, p, a);
            if (!*why) {
                *why = acp_problem(p, ACP_ERR_UNAUTHORIZED, "authorization for %s is %s",
                                   a->ident, a->expires < now ? "expired" : a->status);
            }
            return NULL;
        }
    }
    if (all_valid && strcmp(order->status, "ready") != 0) {
        *status = "ready";
    }
    return NULL;
}

acp_problem_t *acp_ra_order_refresh(acp_db_t *db, apr_pool_t *p, acp_order_t *order)
{
    const char *status = NULL;
    acp_problem_t *why = NULL, *prob = order_due(db, p, order, &status, &why);

    if (prob || !status) {
        return prob;
    }
    return acp_ra_int_set_order_status(db, p, order, status, why);
}

int acp_ra_order_stale(acp_db_t *db, apr_pool_t *p, const acp_order_t *order)
{
    const char *status = NULL;
    acp_problem_t *why = NULL, *prob = order_due(db, p, order, &status, &why);

    return prob != NULL || status != NULL;
}

acp_problem_t *acp_ra_authz_update_tx(acp_db_t *db, apr_pool_t *p, acp_authz_t *authz,
                                      json_object *payload)
{
    const char *status = acp_ra_int_jstr(payload, "status");
    int n = 0;

    if (!status || strcmp(status, "deactivated") != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "authorization status may only be deactivated");
    }
    if (strcmp(authz->status, "pending") != 0 && strcmp(authz->status, "valid") != 0) {
        return acp_problem(p, ACP_ERR_MALFORMED, "authorization is %s", authz->status);
    }
    if (acp_sa_exec(db, p, "acp_authz_status", &n,
                    ACP_SA_ARGS("deactivated", authz->id, authz->status)) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "deactivating the authorization");
    }
    authz->status = "deactivated";
    return NULL;
}

acp_problem_t *acp_ra_chall_respond_tx(acp_db_t *db, apr_pool_t *p, const acp_authz_t *authz,
                                       acp_chall_t *chall, const char *thumbprint, int claim,
                                       const acp_job_t **queued)
{
    int n = 0;
    acp_job_t *job;

    *queued = NULL;
    if (strcmp(chall->status, "pending") != 0) {
        return NULL; /* processing, valid or invalid: answer with the current state */
    }
    if (strcmp(authz->status, "pending") != 0 || authz->expires < acp_now()) {
        return acp_problem(p, ACP_ERR_MALFORMED, "the authorization is %s",
                           authz->expires < acp_now() ? "expired" : authz->status);
    }
    job = apr_pcalloc(p, sizeof(*job));
    /* claimed as it is queued: no second write to claim it; should this process die
     * first, the lease runs out and any worker takes it */
    if (acp_sa_chall_respond(db, p, chall->id, claim ? acp_now() + ACP_JOB_LEASE : 0, &n,
                             &job->id) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "queueing the validation");
    }
    if (n == 1) {
        job->kind = "validate";
        job->ref = chall->id;
        job->owner = authz->account_id; /* for fair queueing in the workers */
        job->target = authz->ident;
        chall->status = "processing";
        /* what the validation needs, so that a worker of this process need not read it */
        job->chall = chall;
        job->authz = authz;
        job->thumbprint = thumbprint;
        *queued = job;
    }
    return NULL;
}

acp_problem_t *acp_ra_chall_fail_tx(acp_db_t *db, apr_pool_t *p, acp_authz_t *authz,
                                    acp_chall_t *chall, const char *error_json)
{
    long long now = acp_now();

    if (acp_sa_exec(db, p, "acp_chall_status", NULL,
                    ACP_SA_ARGS("invalid", acp_sa_ll(p, now), error_json, chall->id,
                                chall->status)) != APR_SUCCESS ||
        acp_sa_exec(db, p, "acp_authz_status", NULL,
                    ACP_SA_ARGS("invalid", authz->id, "pending")) != APR_SUCCESS) {
        return acp_ra_int_db_problem(p, "failing the challenge");
    }
    chall->status = "invalid";
    chall->validated = now;
    chall->error = error_json;
    authz->status = "invalid";
    return NULL;
}

const acp_billing_cfg_t *acp_ra_order_billing(apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                              const acp_order_t *order, int *days,
                                              acp_problem_t **prob)
{
    const acp_profile_t *prof;
    acp_billing_cfg_t *b;

    *days = 0;
    *prob = NULL;
    if (!order->profile || !cfg->profiles || cfg->profiles->nelts == 0) {
        return &cfg->billing;
    }
    prof = acp_profile_find(cfg->profiles, order->profile);
    if (!prof) {
        *prob = acp_problem(p, ACP_ERR_INVALID_PROFILE,
                            "profile '%s' is no longer offered; place a new order",
                            order->profile);
        return NULL;
    }
    b = apr_pmemdup(p, &cfg->billing, sizeof(*b));
    b->price = prof->price;
    /* surcharges a profile does not name are the global ones */
    if (b->price.per_extra_name < 0) {
        b->price.per_extra_name = cfg->billing.price.per_extra_name;
    }
    if (b->price.per_wildcard < 0) {
        b->price.per_wildcard = cfg->billing.price.per_wildcard;
    }
    b->profile = prof->name;
    b->term = prof->term;
    *days = prof->days;
    return b;
}
