/* Storage authority: typed records over the catalogue's column lists. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_sa.h"
#include "acp_util.h"

#define LL(s) acp_sa_atoll(s)

static apr_status_t one(acp_db_t *db, apr_pool_t *p, const char *label, const char *arg,
                        const char ***row)
{
    apr_status_t rv = acp_sa_row(db, p, label, row, ACP_SA_ARGS(arg));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return *row ? APR_SUCCESS : APR_NOTFOUND;
}

/* A record from a row (account_of, authz_of, …). */
typedef void *(*record_of_t)(apr_pool_t *p, const char **r);

/* The record of the one row label finds for arg; NULL with *rv APR_NOTFOUND or an error. */
static void *get_one(acp_db_t *db, apr_pool_t *p, const char *label, const char *arg,
                     record_of_t of, apr_status_t *rv)
{
    const char **r;
    *rv = one(db, p, label, arg, &r);
    return *rv == APR_SUCCESS ? of(p, r) : NULL;
}

/* The records of every row label finds for arg, an array of pointers (*out NULL on error). */
static apr_status_t get_all(acp_db_t *db, apr_pool_t *p, const char *label, const char *arg,
                            record_of_t of, apr_array_header_t **out)
{
    apr_array_header_t *rows;
    apr_status_t rv = acp_sa_rows(db, p, label, &rows, ACP_SA_ARGS(arg));
    int i;

    *out = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, rows->nelts, sizeof(void *));
    for (i = 0; i < rows->nelts; i++) {
        APR_ARRAY_PUSH(*out, void *) = of(p, APR_ARRAY_IDX(rows, i, const char **));
    }
    return APR_SUCCESS;
}

/* A record and its children from one statement (a LEFT JOIN: a row per child; without
 * children one row whose child columns are NULL): the parent from the first row, a child
 * from each row's columns from col on. */
static apr_status_t get_with_children(acp_db_t *db, apr_pool_t *p, const char *label,
                                      const char *arg, record_of_t parent_of,
                                      record_of_t child_of, int col, void **parent,
                                      apr_array_header_t **children)
{
    apr_array_header_t *rows;
    apr_status_t rv = acp_sa_rows(db, p, label, &rows, ACP_SA_ARGS(arg));
    int i;

    *parent = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts == 0) {
        return APR_NOTFOUND;
    }
    *parent = parent_of(p, APR_ARRAY_IDX(rows, 0, const char **));
    *children = apr_array_make(p, rows->nelts, sizeof(void *));
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        if (r[col]) {
            APR_ARRAY_PUSH(*children, void *) = child_of(p, r + col);
        }
    }
    return APR_SUCCESS;
}

static void *account_of(apr_pool_t *p, const char **r)
{
    acp_account_t *a = apr_pcalloc(p, sizeof(*a));
    a->id = r[0];
    a->thumbprint = r[1];
    a->jwk = r[2];
    a->status = r[3];
    a->contacts = r[4];
    a->tos_agreed = (int)LL(r[5]);
    a->eab_kid = r[6];
    a->billing_id = r[7];
    a->created = LL(r[8]);
    return a;
}

void acp_sa_prefetch_read(acp_db_t *db, apr_pool_t *p, acp_sa_read_t read, const char *key)
{
    static const char *const labels[] = {
        [ACP_READ_AUTHZ_CHALLS] = "acp_authz_challs",
        [ACP_READ_ORDER_AUTHZS] = "acp_order_authz_get",
        [ACP_READ_CERT] = "acp_cert_get",
        [ACP_READ_CHALL_AUTHZ] = "acp_chall_authz",
        [ACP_READ_ACCT_BY_THUMB] = "acp_acct_by_thumb",
    };

    if (key && (unsigned)read < sizeof(labels) / sizeof(labels[0])) {
        (void)acp_sa_prefetch(db, p, labels[read], ACP_SA_ARGS(key));
    }
}

apr_status_t acp_sa_account_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_account_t **out)
{
    apr_status_t rv;
    *out = get_one(db, p, "acp_acct_by_id", id, account_of, &rv);
    return rv;
}

apr_status_t acp_sa_account_spend(acp_db_t *db, apr_pool_t *p, const char *id,
                                  const char *nonce, long long expires, apr_uint32_t epoch,
                                  acp_account_t **out, int *spent)
{
    const char **r = NULL;
    apr_status_t rv = acp_sa_row(db, p, "acp_acct_spend", &r,
                                 ACP_SA_ARGS(nonce, acp_sa_ll(p, expires),
                                             acp_sa_nonce_epoch_row(p, epoch), id));

    *out = NULL;
    *spent = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!r) {
        return APR_EGENERAL; /* the statement always answers one row */
    }
    *spent = r[0] && !strcmp(r[0], "1");
    if (!r[1]) {
        return APR_NOTFOUND;
    }
    *out = account_of(p, r + 1);
    return APR_SUCCESS;
}

apr_status_t acp_sa_account_by_thumbprint(acp_db_t *db, apr_pool_t *p, const char *thumb,
                                          acp_account_t **out)
{
    apr_status_t rv;
    *out = get_one(db, p, "acp_acct_by_thumb", thumb, account_of, &rv);
    return rv;
}

static void *order_of(apr_pool_t *p, const char **r)
{
    acp_order_t *o = apr_pcalloc(p, sizeof(*o));

    o->id = r[0];
    o->account_id = r[1];
    o->status = r[2];
    o->expires = LL(r[3]);
    o->identifiers = r[4];
    o->names_key = r[5];
    o->not_before = LL(r[6]);
    o->not_after = LL(r[7]);
    o->error = r[8];
    o->csr = r[9];
    o->cert_id = r[10];
    o->has_price = r[11] != NULL;
    o->price = LL(r[11]);
    o->created = LL(r[12]);
    o->replaces = r[13];
    o->profile = r[14];
    return o;
}

apr_status_t acp_sa_order_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_order_t **out)
{
    const char **r;
    apr_status_t rv = one(db, p, "acp_order_get", id, &r);

    *out = rv == APR_SUCCESS ? order_of(p, r) : NULL;
    return rv;
}

static void *authz_of(apr_pool_t *p, const char **r);

/* an authorization as acp_order_authz_get gives it: with its oldest valid challenge */
static void *authz_valid_of(apr_pool_t *p, const char **r)
{
    acp_authz_t *a = authz_of(p, r);

    a->valid_known = 1;
    a->valid_type = r[6];
    a->valid_at = LL(r[7]);
    return a;
}

apr_status_t acp_sa_order_with_authzs(acp_db_t *db, apr_pool_t *p, const char *id,
                                      acp_order_t **out)
{
    void *o = NULL;
    apr_array_header_t *authzs = NULL;
    apr_status_t rv = get_with_children(db, p, "acp_order_authz_get", id, order_of, authz_valid_of,
                                        15, &o, &authzs);

    *out = o;
    if (o) {
        (*out)->authzs = authzs;
    }
    return rv;
}

static void *authz_of(apr_pool_t *p, const char **r)
{
    acp_authz_t *a = apr_pcalloc(p, sizeof(*a));
    a->id = r[0];
    a->account_id = r[1];
    a->ident = r[2];
    a->wildcard = (int)LL(r[3]);
    a->status = r[4];
    a->expires = LL(r[5]);
    return a;
}

apr_status_t acp_sa_order_authzs(acp_db_t *db, apr_pool_t *p, const char *order_id,
                                 apr_array_header_t **out)
{
    return get_all(db, p, "acp_order_authzs", order_id, authz_of, out);
}

apr_status_t acp_sa_authz_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_authz_t **out)
{
    apr_status_t rv;
    *out = get_one(db, p, "acp_authz_get", id, authz_of, &rv);
    return rv;
}

apr_status_t acp_sa_new_order_read(acp_db_t *db, apr_pool_t *p, int nargs,
                                   const char *const *args, int nnames, const char ***counts,
                                   apr_array_header_t **reuse)
{
    apr_array_header_t *rows = NULL;
    apr_status_t rv = acp_sa_rows(db, p, "acp_new_order_read", &rows, nargs, args);
    int i;

    *counts = NULL;
    *reuse = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rows->nelts != nnames) {
        return APR_EGENERAL; /* one row per name, always */
    }
    *reuse = apr_array_make(p, nnames, sizeof(acp_authz_t *));
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        if (LL(r[5]) != i + 1) {
            return APR_EGENERAL;
        }
        APR_ARRAY_PUSH(*reuse, acp_authz_t *) = r[6] ? authz_of(p, r + 6) : NULL;
    }
    *counts = APR_ARRAY_IDX(rows, 0, const char **);
    return APR_SUCCESS;
}

apr_status_t acp_sa_authz_reusable(acp_db_t *db, apr_pool_t *p, const char *account_id,
                                   const char *ident, int wildcard, long long min_expires,
                                   acp_authz_t **out)
{
    const char **r;
    apr_status_t rv = acp_sa_row(db, p, "acp_authz_reuse", &r,
                                 ACP_SA_ARGS(account_id, ident, wildcard ? "1" : "0",
                                             acp_sa_ll(p, min_expires)));
    *out = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!r) {
        return APR_NOTFOUND;
    }
    *out = authz_of(p, r);
    return APR_SUCCESS;
}

static void *chall_of(apr_pool_t *p, const char **r)
{
    acp_chall_t *c = apr_pcalloc(p, sizeof(*c));
    c->id = r[0];
    c->authz_id = r[1];
    c->type = r[2];
    c->token = r[3];
    c->status = r[4];
    c->validated = LL(r[5]);
    c->error = r[6];
    return c;
}

apr_status_t acp_sa_authz_challs(acp_db_t *db, apr_pool_t *p, const char *authz_id,
                                 apr_array_header_t **out)
{
    return get_all(db, p, "acp_chall_by_authz", authz_id, chall_of, out);
}

apr_status_t acp_sa_authz_with_challs(acp_db_t *db, apr_pool_t *p, const char *id,
                                      acp_authz_t **out)
{
    void *a = NULL;
    apr_array_header_t *challs = NULL;
    apr_status_t rv = get_with_children(db, p, "acp_authz_challs", id, authz_of, chall_of, 6,
                                        &a, &challs);

    *out = a;
    if (a) {
        (*out)->challs = challs;
    }
    return rv;
}

/* A challenge and its authorization from the row a CHALL_AUTHZ statement finds (*r: the
 * row, for the columns after them). */
static apr_status_t chall_authz_read(acp_db_t *db, apr_pool_t *p, const char *label, int nargs,
                                     const char *const *args, acp_chall_t **chall,
                                     acp_authz_t **authz, const char ***r)
{
    apr_status_t rv = acp_sa_row(db, p, label, r, nargs, args);

    *chall = NULL;
    *authz = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!*r) {
        return APR_NOTFOUND;
    }
    *chall = chall_of(p, *r);
    *authz = authz_of(p, *r + 7);
    return APR_SUCCESS;
}

void acp_sa_prefetch_chall_failed(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                  long long failed_since)
{
    const char *since = acp_sa_ll(p, failed_since);
    (void)acp_sa_prefetch(db, p, "acp_chall_authz_failed", ACP_SA_ARGS(since, since, chall_id));
}

apr_status_t acp_sa_chall_authz_failed(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                       long long failed_since, acp_chall_t **chall,
                                       acp_authz_t **authz, long long *failed,
                                       long long *failed_oldest)
{
    const char **r = NULL;
    const char *since = acp_sa_ll(p, failed_since);
    apr_status_t rv = chall_authz_read(db, p, "acp_chall_authz_failed",
                                       ACP_SA_ARGS(since, since, chall_id), chall, authz, &r);

    if (rv == APR_SUCCESS) {
        *failed = acp_sa_atoll(r[14]);
        *failed_oldest = acp_sa_atoll(r[15]);
    }
    return rv;
}

apr_status_t acp_sa_chall_authz(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                acp_chall_t **chall, acp_authz_t **authz, const char **thumbprint)
{
    const char **r = NULL;
    apr_status_t rv = chall_authz_read(db, p, "acp_chall_authz", ACP_SA_ARGS(chall_id), chall,
                                       authz, &r);

    if (rv == APR_SUCCESS && thumbprint) {
        *thumbprint = r[13];
    }
    return rv;
}

static void *cert_of(apr_pool_t *p, const char **r)
{
    acp_cert_t *c = apr_pcalloc(p, sizeof(*c));
    c->id = r[0];
    c->serial = r[1];
    c->order_id = r[2];
    c->account_id = r[3];
    c->billing_id = r[4];
    c->names_key = r[5];
    c->pem = r[6];
    c->not_before = LL(r[7]);
    c->not_after = LL(r[8]);
    c->issued = LL(r[9]);
    c->revoked = LL(r[10]);
    c->revoked_reason = (int)LL(r[11]);
    return c;
}

apr_status_t acp_sa_cert_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_cert_t **out)
{
    apr_status_t rv;
    *out = get_one(db, p, "acp_cert_get", id, cert_of, &rv);
    return rv;
}

apr_status_t acp_sa_cert_by_serial(acp_db_t *db, apr_pool_t *p, const char *serial,
                                   acp_cert_t **out)
{
    apr_status_t rv;
    *out = get_one(db, p, "acp_cert_by_serial", serial, cert_of, &rv);
    return rv;
}

apr_status_t acp_sa_jobs_due(acp_db_t *db, apr_pool_t *p, long long now,
                             apr_array_header_t **out)
{
    apr_array_header_t *rows;
    const char *n = acp_sa_ll(p, now);
    apr_status_t rv = acp_sa_rows(db, p, "acp_job_due", &rows, ACP_SA_ARGS(n, n));
    int i;

    *out = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, rows->nelts, sizeof(acp_job_t *));
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        acp_job_t *j = apr_pcalloc(p, sizeof(*j));
        j->id = r[0];
        j->kind = r[1];
        j->ref = r[2];
        j->attempts = (int)LL(r[3]);
        APR_ARRAY_PUSH(*out, acp_job_t *) = j;
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_job_add_claimed(acp_db_t *db, apr_pool_t *p, const char *kind,
                                    const char *ref, long long run_after, long long claimed_until,
                                    const char **id)
{
    const char *jid = acp_random_id(p, 12);
    apr_status_t rv = acp_sa_exec(db, p, "acp_job_insert", NULL,
                                  ACP_SA_ARGS(jid, kind, ref, acp_sa_ll(p, run_after),
                                              acp_sa_ll(p, claimed_until), acp_sa_ll(p, acp_now())));
    if (id) {
        *id = rv == APR_SUCCESS ? jid : NULL;
    }
    return rv;
}

apr_status_t acp_sa_chall_respond(acp_db_t *db, apr_pool_t *p, const char *chall_id,
                                  long long claimed_until, int *moved, const char **job_id)
{
    apr_status_t rv;

    *moved = 0;
    *job_id = NULL;
    if (db->pgsql) {
        /* the answer's last write: it goes with the COMMIT (or alone, as its own
         * transaction, when it is the only one) */
        const char *jid = acp_random_id(p, 12);
        rv = acp_sa_exec_commit(db, p, "acp_chall_respond", moved,
                         ACP_SA_ARGS(chall_id, jid, acp_sa_ll(p, claimed_until),
                                     acp_sa_ll(p, acp_now())));
        *job_id = rv == APR_SUCCESS && *moved == 1 ? jid : NULL;
        return rv;
    }
    rv = acp_sa_exec(db, p, "acp_chall_status", moved,
                     ACP_SA_ARGS("processing", NULL, NULL, chall_id, "pending"));
    if (rv != APR_SUCCESS || *moved != 1) {
        return rv;
    }
    return acp_sa_job_add_claimed(db, p, "validate", chall_id, 0, claimed_until, job_id);
}

apr_status_t acp_sa_job_add(acp_db_t *db, apr_pool_t *p, const char *kind, const char *ref,
                            long long run_after, const char **id)
{
    return acp_sa_job_add_claimed(db, p, kind, ref, run_after, 0, id);
}

apr_status_t acp_sa_job_claim(acp_db_t *db, apr_pool_t *p, const char *id, long long now,
                              int lease)
{
    int n = 0;
    apr_status_t rv = acp_sa_exec(db, p, "acp_job_claim", &n,
                                  ACP_SA_ARGS(acp_sa_ll(p, now + lease), id, acp_sa_ll(p, now)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return n == 1 ? APR_SUCCESS : APR_EBUSY;
}

apr_status_t acp_sa_status(acp_db_t *db, apr_pool_t *p, long long now, acp_sa_status_t *out)
{
    apr_array_header_t *rows = NULL;
    const char **row = NULL;
    long long day0 = now - now % 86400;
    apr_status_t rv;
    int i;

    memset(out, 0, sizeof(*out));
    rv = acp_sa_row(db, p, "acp_status", &row,
                    ACP_SA_ARGS(acp_sa_ll(p, now - 3600), acp_sa_ll(p, now), acp_sa_ll(p, day0)));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!row) {
        return APR_EGENERAL;
    }
    out->certs_total = LL(row[0]);
    out->certs_last_hour = LL(row[1]);
    out->jobs_pending = LL(row[2]);
    out->invoices_open = LL(row[3]);
    out->revenue_today = LL(row[4]);
    rv = acp_sa_rows(db, p, "acp_status_orders", &rows, ACP_SA_NOARGS);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    out->orders = apr_array_make(p, rows->nelts, sizeof(acp_sa_count_t));
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        acp_sa_count_t *c = apr_array_push(out->orders);
        c->name = r[0];
        c->n = LL(r[1]);
    }
    return APR_SUCCESS;
}
