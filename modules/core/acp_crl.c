/* Certificate revocation lists: scheduling, leases, numbers and storage (see acp_crl.h). */
#include <string.h>
#include <apr_base64.h>
#include <apr_strings.h>
#include "acp_crl.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

void acp_crl_cfg_defaults(acp_crl_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->shards = ACP_CRL_SHARDS_DEFAULT;
    cfg->lifetime = ACP_CRL_LIFETIME_DEFAULT;
}

long long acp_crl_refresh(const acp_crl_cfg_t *cfg)
{
    long long life = cfg->lifetime > 0 ? cfg->lifetime : ACP_CRL_LIFETIME_DEFAULT;
    return life / 3 > 0 ? life / 3 : 1;
}

int acp_crl_parse_shard(const char *s)
{
    long v = 0;
    int n = 0;

    if (!s || !*s || (s[0] == '0' && s[1] != '\0')) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || ++n > 5) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    return v < ACP_CRL_SHARDS_MAX ? (int)v : -1;
}

static acp_crl_t *crl_row(apr_pool_t *p, const char **r, int with_der)
{
    acp_crl_t *c = apr_pcalloc(p, sizeof(*c));

    c->shard = (int)acp_sa_atoll(r[0]);
    c->number = acp_sa_atoll(r[1]);
    c->this_update = acp_sa_atoll(r[2]);
    c->next_update = acp_sa_atoll(r[3]);
    c->entries = acp_sa_atoll(r[4]);
    c->dirty = (int)acp_sa_atoll(r[5]);
    c->lease_until = acp_sa_atoll(r[6]);
    if (with_der && r[7] && *r[7]) {
        int n = apr_base64_decode_len(r[7]);
        unsigned char *d = apr_palloc(p, (apr_size_t)n + 1);
        c->der_len = (size_t)apr_base64_decode_binary(d, r[7]);
        c->der = d;
    }
    return c;
}

apr_status_t acp_crl_get(acp_db_t *db, apr_pool_t *p, int shard, int with_der, acp_crl_t **out)
{
    const char **r = NULL;
    apr_status_t rv = acp_sa_row(db, p, with_der ? "acp_crl_get" : "acp_crl_head", &r,
                                 ACP_SA_ARGS(apr_itoa(p, shard)));

    *out = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!r) {
        return APR_NOTFOUND;
    }
    *out = crl_row(p, r, with_der);
    return APR_SUCCESS;
}

apr_status_t acp_crl_list(acp_db_t *db, apr_pool_t *p, apr_array_header_t **out)
{
    apr_array_header_t *rows = NULL;
    apr_status_t rv = acp_sa_rows(db, p, "acp_crl_list", &rows, ACP_SA_NOARGS);
    int i;

    *out = apr_array_make(p, rows ? rows->nelts : 0, sizeof(acp_crl_t *));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        APR_ARRAY_PUSH(*out, acp_crl_t *) = crl_row(p, APR_ARRAY_IDX(rows, i, const char **), 0);
    }
    return APR_SUCCESS;
}

apr_status_t acp_crl_mark(acp_db_t *db, apr_pool_t *p, const char *cert_id)
{
    return acp_sa_exec(db, p, "acp_crl_dirty", NULL, ACP_SA_ARGS(cert_id));
}

/* Rows for shards 0..N-1 (a new row is due at once: dirty, never signed). */
static apr_status_t ensure_rows(acp_db_t *db, apr_pool_t *p, const acp_crl_cfg_t *cfg)
{
    const char **r = NULL;
    apr_status_t rv = acp_sa_row(db, p, "acp_crl_count", &r,
                                 ACP_SA_ARGS(apr_itoa(p, cfg->shards)));
    int i;

    if (rv != APR_SUCCESS || (r && acp_sa_atoll(r[0]) >= cfg->shards)) {
        return rv;
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < cfg->shards; i++) {
        rv = acp_sa_exec(db, p, "acp_crl_ensure", NULL, ACP_SA_ARGS(apr_itoa(p, i)));
        if (rv != APR_SUCCESS) {
            acp_sa_rollback(db);
            return rv;
        }
    }
    return acp_sa_commit(db);
}

/* One short write transaction for one statement (SQLite: behind the writer lock). */
static apr_status_t exec_tx(acp_db_t *db, apr_pool_t *p, const char *label, int *n, int nargs,
                            const char *const *args)
{
    apr_status_t rv;

    if (acp_sa_begin(db) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = acp_sa_exec(db, p, label, n, nargs, args);
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    return acp_sa_commit(db);
}

apr_status_t acp_crl_generate(acp_db_t *db, apr_pool_t *p, const acp_crl_cfg_t *cfg, int shard,
                              int force, acp_crl_t **out, const char **errmsg)
{
    const char *owner = acp_random_id(p, 12), *sh = apr_itoa(p, shard), *b64;
    const char **r = NULL;
    apr_array_header_t *rows = NULL, *entries;
    acp_crl_req_t req;
    unsigned char *der = NULL;
    size_t der_len = 0;
    long long now = acp_now(), number;
    int n = 0, i;
    apr_status_t rv;

    *errmsg = NULL;
    if (out) {
        *out = NULL;
    }
    if (!cfg->url || !cfg->signer || !cfg->signer->sign_crl || shard < 0 ||
        shard >= cfg->shards) {
        *errmsg = "no CRLs are configured for this shard";
        return APR_EINVAL;
    }
    /* the lease: one generator per shard at a time, across children and nodes; taking
     * it clears dirty, so a revocation committed from here on makes the shard due again */
    rv = force ? exec_tx(db, p, "acp_crl_claim", &n,
                         ACP_SA_ARGS(owner, LL(p, now + ACP_CRL_LEASE), sh, LL(p, now)))
               : exec_tx(db, p, "acp_crl_claim_due", &n,
                         ACP_SA_ARGS(owner, LL(p, now + ACP_CRL_LEASE), sh, LL(p, now),
                                     LL(p, now - acp_crl_refresh(cfg))));
    if (rv != APR_SUCCESS) {
        *errmsg = "database error taking the lease";
        return rv;
    }
    if (n != 1) {
        /* another generator holds it, or (not forced) has just published it */
        *errmsg = "another generator holds this shard";
        return APR_EBUSY;
    }
    rv = acp_sa_row(db, p, "acp_crl_claimed", &r, ACP_SA_ARGS(sh, owner));
    if (rv != APR_SUCCESS || !r) {
        *errmsg = "database error reading the CRL number";
        rv = rv != APR_SUCCESS ? rv : APR_EGENERAL;
        goto release;
    }
    number = acp_sa_atoll(r[0]);
    rv = acp_sa_rows(db, p, "acp_crl_revoked", &rows, ACP_SA_ARGS(sh, LL(p, now)));
    if (rv != APR_SUCCESS) {
        *errmsg = "database error reading revoked certificates";
        goto release;
    }
    entries = apr_array_make(p, rows->nelts > 0 ? rows->nelts : 1, sizeof(acp_crl_entry_t));
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        acp_crl_entry_t *e = apr_array_push(entries);
        e->serial_hex = row[0];
        e->revoked = acp_sa_atoll(row[1]);
        e->reason = (int)acp_sa_atoll(row[2]);
    }
    memset(&req, 0, sizeof(req));
    req.shard = shard;
    req.number = number + 1;
    req.this_update = now;
    req.next_update = now + (cfg->lifetime > 0 ? cfg->lifetime : ACP_CRL_LIFETIME_DEFAULT);
    req.idp_url = acp_ca_crl_url(p, cfg->url, shard);
    req.entries = entries;
    rv = cfg->signer->sign_crl(cfg->signer, p, &req, &der, &der_len, errmsg);
    if (rv != APR_SUCCESS) {
        goto release;
    }
    b64 = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)der_len));
    apr_base64_encode_binary((char *)b64, der, (int)der_len);
    /* published only over the number read under the lease: a lower or equal number
     * never replaces a higher one, whatever the clocks and leases of other nodes did */
    rv = exec_tx(db, p, "acp_crl_store", &n,
                 ACP_SA_ARGS(LL(p, req.number), LL(p, req.this_update), LL(p, req.next_update),
                             b64, LL(p, entries->nelts), sh, LL(p, number), owner));
    if (rv != APR_SUCCESS) {
        *errmsg = "database error storing the CRL";
        goto release;
    }
    if (n != 1) {
        *errmsg = "the lease ran out and another generator published";
        return APR_EEXIST;
    }
    if (out) {
        acp_crl_t *c = apr_pcalloc(p, sizeof(*c));
        c->shard = shard;
        c->number = req.number;
        c->this_update = req.this_update;
        c->next_update = req.next_update;
        c->entries = entries->nelts;
        c->der = der;
        c->der_len = der_len;
        *out = c;
    }
    return APR_SUCCESS;

release:
    /* due again at once for the next generator */
    exec_tx(db, p, "acp_crl_release", NULL, ACP_SA_ARGS(sh, owner));
    return rv;
}

int acp_crl_run_due(acp_db_t *db, apr_pool_t *p, const acp_crl_cfg_t *cfg, const char **lasterr)
{
    apr_array_header_t *rows = NULL;
    long long now = acp_now();
    int i, done = 0;

    if (!cfg->url || !cfg->signer || !cfg->signer->sign_crl || cfg->shards <= 0) {
        return 0;
    }
    if (lasterr) {
        *lasterr = NULL;
    }
    if (ensure_rows(db, p, cfg) != APR_SUCCESS ||
        acp_sa_rows(db, p, "acp_crl_due", &rows,
                    ACP_SA_ARGS(apr_itoa(p, cfg->shards), LL(p, now),
                                LL(p, now - acp_crl_refresh(cfg)))) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        const char *err = NULL;
        apr_pool_t *sp;
        apr_pool_create(&sp, p);
        apr_status_t rv = acp_crl_generate(db, sp, cfg, (int)acp_sa_atoll(row[0]), 0, NULL, &err);
        if (rv == APR_SUCCESS) {
            done++;
        }
        else if (rv != APR_EBUSY && lasterr) {
            *lasterr = apr_psprintf(p, "shard %s: %s", row[0], err ? err : "failed");
        }
        apr_pool_destroy(sp);
    }
    return done;
}
