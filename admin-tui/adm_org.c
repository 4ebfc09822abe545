/* acme-pay-admin org: organizations for OV certificates, one per billing holder. Staff
 * create, edit, vet and revoke a vetting; every change is one transaction that stores the
 * whole row (guarded by the time it was last changed) and appends an org_audit row with
 * who, when, what (the fields after the change) and why, like the ledger. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_org.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)
#define REASON_MAX 1024

static int vetting_days(const adm_t *adm)
{
    return adm->ov_vetting_days > 0 ? adm->ov_vetting_days : ACP_ORG_VETTING_DAYS;
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *jtime(long long t)
{
    return t ? json_object_new_int64(t) : NULL;
}

/* One organization as staff read it: the stored fields, its state and when the vetting
 * ends (the earlier of the stored end and vetted_at + AcmePayOVVettingDays). */
static json_object *org_json(adm_t *adm, const acp_org_t *o)
{
    json_object *j = json_object_new_object();
    acp_org_state_t st = acp_org_state(o, acp_now(), vetting_days(adm));

    json_object_object_add(j, "id", jstr(o->id));
    json_object_object_add(j, "holder", jstr(o->billing_id));
    json_object_object_add(j, "name", jstr(o->legal_name));
    json_object_object_add(j, "locality", jstr(o->locality));
    json_object_object_add(j, "state", jstr(o->state));
    json_object_object_add(j, "country", jstr(o->country));
    json_object_object_add(j, "evidence", jstr(o->evidence));
    json_object_object_add(j, "status", json_object_new_string(acp_org_state_name(st)));
    json_object_object_add(j, "vetted_by", jstr(o->vetted_by));
    json_object_object_add(j, "vetted_at", jtime(o->vetted_at));
    json_object_object_add(j, "vetting_end", jtime(acp_org_vetting_end(o, vetting_days(adm))));
    json_object_object_add(j, "revoked_at", jtime(o->revoked_at));
    json_object_object_add(j, "revoked_by", jstr(o->revoked_by));
    json_object_object_add(j, "revoke_reason", jstr(o->revoked_reason));
    json_object_object_add(j, "created", jtime(o->created));
    json_object_object_add(j, "updated", jtime(o->updated));
    return j;
}

/* The fields an audit row keeps: what the organization looked like after the change. */
static const char *audit_fields(apr_pool_t *p, const acp_org_t *o)
{
    json_object *j = json_object_new_object();
    const char *s;

    json_object_object_add(j, "name", jstr(o->legal_name));
    json_object_object_add(j, "locality", jstr(o->locality));
    json_object_object_add(j, "state", jstr(o->state));
    json_object_object_add(j, "country", jstr(o->country));
    json_object_object_add(j, "evidence", jstr(o->evidence));
    json_object_object_add(j, "vetted_by", jstr(o->vetted_by));
    json_object_object_add(j, "vetted_at", jtime(o->vetted_at));
    json_object_object_add(j, "valid_until", jtime(o->valid_until));
    json_object_object_add(j, "revoked_at", jtime(o->revoked_at));
    s = apr_pstrdup(p, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return s;
}

static apr_status_t audit(adm_t *adm, apr_pool_t *p, const acp_org_t *o, const char *action,
                          const char *reason)
{
    return acp_sa_exec(adm->db, p, "adm_org_audit_insert", NULL,
                       ACP_SA_ARGS(acp_random_id(p, 12), o->id, o->billing_id, action, adm->actor,
                                   reason, audit_fields(p, o), LL(p, o->updated), o->id));
}

/* Store the whole row, if nobody changed it since it was read (was: its updated time). */
static apr_status_t store(adm_t *adm, apr_pool_t *p, const acp_org_t *o, long long was)
{
    int n = 0;
    apr_status_t rv = acp_sa_exec(
        adm->db, p, "adm_org_store", &n,
        ACP_SA_ARGS(o->legal_name, o->locality, o->state, o->country, o->evidence, o->vetted_by,
                    o->vetted_at ? LL(p, o->vetted_at) : NULL,
                    o->valid_until ? LL(p, o->valid_until) : NULL,
                    o->revoked_at ? LL(p, o->revoked_at) : NULL, o->revoked_by,
                    o->revoked_reason, LL(p, o->updated), o->id, LL(p, was)));

    return rv != APR_SUCCESS ? rv : n == 1 ? APR_SUCCESS : APR_EBUSY;
}

/* An organization by its id or its holder's id. */
static apr_status_t find(adm_t *adm, apr_pool_t *p, const char *key, acp_org_t **o)
{
    apr_status_t rv = acp_org_get(adm->db, p, key, o);

    if (rv == APR_NOTFOUND) {
        rv = acp_org_by_holder(adm->db, p, key, o);
    }
    return rv;
}

/* Country as staff type it: upper-cased, then an assigned ISO 3166-1 alpha-2 code. */
static const char *country_norm(apr_pool_t *p, const char *c, const char **why)
{
    char *u;
    size_t i;

    *why = NULL;
    if (!c || !*c) {
        *why = "--country is required (ISO 3166-1 alpha-2, e.g. DE)";
        return NULL;
    }
    u = apr_pstrdup(p, c);
    for (i = 0; u[i]; i++) {
        if (u[i] >= 'a' && u[i] <= 'z') {
            u[i] = (char)(u[i] - 'a' + 'A');
        }
    }
    if (!acp_org_country_ok(u)) {
        *why = apr_psprintf(p, "--country '%s' is not an ISO 3166-1 alpha-2 country code",
                            acp_text_safe(p, c));
        return NULL;
    }
    return u;
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

/* Check the fields of o; NULL or why not. The Baseline Requirements (§7.1.4.2) want the
 * country and at least one of locality and state or province beside the name. */
static const char *check_fields(apr_pool_t *p, acp_org_t *o)
{
    const char *why;

    if ((why = acp_org_text_check(p, "--name", o->legal_name, ACP_ORG_NAME_MAX, 1)) ||
        (why = acp_org_text_check(p, "--locality", o->locality, ACP_ORG_PLACE_MAX, 0)) ||
        (why = acp_org_text_check(p, "--state", o->state, ACP_ORG_PLACE_MAX, 0)) ||
        (why = acp_org_text_check(p, "--evidence", o->evidence, ACP_ORG_EVIDENCE_MAX, 0))) {
        return why;
    }
    if (!nz(o->locality) && !nz(o->state)) {
        return "--locality or --state is required (Baseline Requirements 7.1.4.2.2)";
    }
    o->country = country_norm(p, o->country, &why);
    return why;
}

static const char *check_reason(apr_pool_t *p, const char *reason, int required)
{
    return acp_org_text_check(p, "--reason", reason, REASON_MAX, required);
}

/* Commit a change (rv from store/audit) and answer with the organization. */
static int finish(adm_t *adm, apr_pool_t *p, apr_status_t rv, const acp_org_t *o,
                  const char *msg, adm_result_t *r)
{
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return adm_result(r, rv == APR_EBUSY ? ADM_USAGE : ADM_FAIL,
                          rv == APR_EBUSY
                              ? "the organization was changed meanwhile; nothing stored"
                              : apr_psprintf(p, "database error: %s", acp_sa_error(adm->db, p, 1)),
                          NULL);
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        return adm_result(r, ADM_FAIL, "commit failed", NULL);
    }
    return adm_result(r, ADM_OK, msg, adm_jpool(p, org_json(adm, o)));
}

static int not_found(adm_t *adm, apr_pool_t *p, apr_status_t rv, const char *key,
                     adm_result_t *r)
{
    acp_sa_rollback(adm->db);
    if (rv == APR_NOTFOUND) {
        return adm_result(r, ADM_USAGE,
                          apr_psprintf(p, "no organization '%s' (an organization or holder id)",
                                       acp_text_safe(p, key)),
                          NULL);
    }
    return adm_result(r, ADM_FAIL, "database error reading the organization", NULL);
}

int adm_op_org_create(adm_t *adm, apr_pool_t *p, const char *holder, const adm_org_fields_t *f,
                      const char *reason, adm_result_t *r)
{
    acp_org_t *o = apr_pcalloc(p, sizeof(*o)), *old = NULL;
    const char **row = NULL, *why, *err = NULL;
    apr_status_t rv;

    if (!nz(holder)) {
        return adm_result(r, ADM_USAGE, "a billing holder id is required", NULL);
    }
    o->billing_id = holder;
    o->legal_name = f->name;
    o->locality = nz(f->locality);
    o->state = nz(f->state);
    o->country = f->country;
    o->evidence = nz(f->evidence);
    if ((why = check_fields(p, o)) || (why = check_reason(p, reason, 0))) {
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if (acp_sa_row(adm->db, p, "acp_billing_get", &row, ACP_SA_ARGS(holder)) != APR_SUCCESS ||
        !row) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_USAGE,
                          apr_psprintf(p, "no billing holder '%s'", acp_text_safe(p, holder)),
                          NULL);
    }
    if (acp_org_by_holder(adm->db, p, holder, &old) == APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return adm_result(
            r, ADM_USAGE,
            apr_psprintf(p, "holder %s already has organization %s (org edit changes it)", holder,
                         old->id),
            NULL);
    }
    o->id = apr_pstrcat(p, "org-", acp_random_id(p, 9), NULL);
    o->created = o->updated = acp_now();
    rv = acp_sa_exec(adm->db, p, "adm_org_insert", NULL,
                     ACP_SA_ARGS(o->id, holder, o->legal_name, o->locality, o->state, o->country,
                                 o->evidence, LL(p, o->created), LL(p, o->updated)));
    if (rv == APR_SUCCESS) {
        rv = audit(adm, p, o, "create", reason);
    }
    return finish(adm, p, rv, o,
                  apr_psprintf(p, "organization %s created for %s (not vetted yet)", o->id,
                               holder),
                  r);
}

static int same(const char *a, const char *b)
{
    return (!nz(a) && !nz(b)) || (nz(a) && nz(b) && !strcmp(a, b));
}

int adm_op_org_edit(adm_t *adm, apr_pool_t *p, const char *id, const adm_org_fields_t *f,
                    const char *reason, adm_result_t *r)
{
    acp_org_t *o = NULL, *n;
    const char *why, *err = NULL;
    apr_status_t rv;
    int identity;

    if (!nz(id)) {
        return adm_result(r, ADM_USAGE, "an organization id is required", NULL);
    }
    if ((why = check_reason(p, reason, 1))) {
        return adm_result(r, ADM_USAGE,
                          apr_pstrcat(p, why, " (every change names its reason)", NULL), NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if ((rv = find(adm, p, id, &o)) != APR_SUCCESS) {
        return not_found(adm, p, rv, id, r);
    }
    n = apr_pmemdup(p, o, sizeof(*o));
    if (f->name) {
        n->legal_name = f->name;
    }
    if (f->locality) {
        n->locality = nz(f->locality);
    }
    if (f->state) {
        n->state = nz(f->state);
    }
    if (f->country) {
        n->country = f->country;
    }
    if (f->evidence) {
        n->evidence = nz(f->evidence);
    }
    if ((why = check_fields(p, n))) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    identity = !same(n->legal_name, o->legal_name) || !same(n->locality, o->locality) ||
               !same(n->state, o->state) || !same(n->country, o->country);
    if (!identity && same(n->evidence, o->evidence)) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_USAGE,
                          "nothing to change (--name, --locality, --state, --country, "
                          "--evidence)",
                          NULL);
    }
    if (identity) {
        /* what a vetting confirmed has changed: it no longer vouches for the new fields */
        n->vetted_by = NULL;
        n->vetted_at = n->valid_until = n->revoked_at = 0;
        n->revoked_by = n->revoked_reason = NULL;
    }
    n->updated = acp_now();
    rv = store(adm, p, n, o->updated);
    if (rv == APR_SUCCESS) {
        rv = audit(adm, p, n, "edit", reason);
    }
    return finish(adm, p, rv, n,
                  apr_psprintf(p, "organization %s changed%s", n->id,
                               identity && o->vetted_at ? "; its vetting is cleared (vet it again)"
                                                        : ""),
                  r);
}

int adm_op_org_vet(adm_t *adm, apr_pool_t *p, const char *id, const char *evidence,
                   long long vetted_at, int days, const char *reason, adm_result_t *r)
{
    acp_org_t *o = NULL, *n;
    const char *why, *err = NULL;
    long long now = acp_now();
    apr_status_t rv;
    acp_org_state_t st;

    if (!nz(id)) {
        return adm_result(r, ADM_USAGE, "an organization id is required", NULL);
    }
    if ((why = acp_org_text_check(p, "--evidence", evidence, ACP_ORG_EVIDENCE_MAX, 0)) ||
        (why = check_reason(p, reason, 0))) {
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    if (vetted_at > now + 300) {
        return adm_result(r, ADM_USAGE, "--vetted-at lies in the future", NULL);
    }
    if (days < 0 || days > 3650) {
        return adm_result(r, ADM_USAGE, "--days must be 1 to 3650", NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if ((rv = find(adm, p, id, &o)) != APR_SUCCESS) {
        return not_found(adm, p, rv, id, r);
    }
    n = apr_pmemdup(p, o, sizeof(*o));
    if (nz(evidence)) {
        n->evidence = evidence;
    }
    if (!nz(n->evidence)) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_USAGE,
                          "--evidence is required: the reference of what the vetting "
                          "relied on (registry extract, ticket)",
                          NULL);
    }
    n->vetted_by = adm->actor;
    n->vetted_at = vetted_at > 0 ? vetted_at : now;
    n->valid_until = n->vetted_at + (long long)(days > 0 ? days : vetting_days(adm)) * 86400;
    n->revoked_at = 0;
    n->revoked_by = n->revoked_reason = NULL;
    n->updated = now;
    rv = store(adm, p, n, o->updated);
    if (rv == APR_SUCCESS) {
        rv = audit(adm, p, n, "vet", reason);
    }
    st = acp_org_state(n, now, vetting_days(adm));
    return finish(adm, p, rv, n,
                  apr_psprintf(p, "organization %s vetted by %s%s", n->id, adm->actor,
                               st == ACP_ORG_CURRENT
                                   ? apr_pstrcat(p, " until ",
                                                 acp_rfc3339(p, acp_org_vetting_end(
                                                                    n, vetting_days(adm))),
                                                 NULL)
                                   : apr_pstrcat(p, "; the vetting ended already on ",
                                                 acp_rfc3339(p, acp_org_vetting_end(
                                                                    n, vetting_days(adm))),
                                                 NULL)),
                  r);
}

int adm_op_org_revoke(adm_t *adm, apr_pool_t *p, const char *id, const char *reason,
                      adm_result_t *r)
{
    acp_org_t *o = NULL, *n;
    const char *why, *err = NULL;
    apr_status_t rv;

    if (!nz(id)) {
        return adm_result(r, ADM_USAGE, "an organization id is required", NULL);
    }
    if ((why = check_reason(p, reason, 1))) {
        return adm_result(r, ADM_USAGE, why, NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    if ((rv = find(adm, p, id, &o)) != APR_SUCCESS) {
        return not_found(adm, p, rv, id, r);
    }
    if (!o->vetted_at || o->revoked_at) {
        acp_sa_rollback(adm->db);
        return adm_result(
            r, ADM_USAGE,
            apr_psprintf(p, "organization %s has no vetting to revoke (%s)", o->id,
                         acp_org_state_name(acp_org_state(o, acp_now(), vetting_days(adm)))),
            NULL);
    }
    n = apr_pmemdup(p, o, sizeof(*o));
    n->revoked_at = n->updated = acp_now();
    n->revoked_by = adm->actor;
    n->revoked_reason = reason;
    rv = store(adm, p, n, o->updated);
    if (rv == APR_SUCCESS) {
        rv = audit(adm, p, n, "revoke", reason);
    }
    return finish(adm, p, rv, n,
                  apr_psprintf(p, "vetting of organization %s revoked: OV orders of %s are "
                                  "refused until it is vetted again",
                               n->id, n->billing_id),
                  r);
}

void adm_org_decorate(adm_t *adm, json_object *arr)
{
    size_t i;

    /* rows of adm_orgs (adm_data.c's view): the same state the module decides by */
    for (i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *row = json_object_array_get_idx(arr, i), *v;
        acp_org_t o;
        memset(&o, 0, sizeof(o));
        o.vetted_at = json_object_object_get_ex(row, "vetted_at", &v) && v
                          ? json_object_get_int64(v) : 0;
        o.valid_until = json_object_object_get_ex(row, "valid_until", &v) && v
                            ? json_object_get_int64(v) : 0;
        o.revoked_at = json_object_object_get_ex(row, "revoked_at", &v) && v
                           ? json_object_get_int64(v) : 0;
        json_object_object_add(row, "status",
                               json_object_new_string(acp_org_state_name(
                                   acp_org_state(&o, acp_now(), vetting_days(adm)))));
        json_object_object_add(row, "vetting_end",
                               jtime(acp_org_vetting_end(&o, vetting_days(adm))));
    }
}

int adm_org_show(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj, const char **err)
{
    acp_org_t *o = NULL;
    apr_array_header_t *rows = NULL;
    json_object *j, *trail;
    apr_status_t rv;
    int i;

    if ((rv = find(adm, p, id, &o)) != APR_SUCCESS) {
        *err = rv == APR_NOTFOUND ? apr_psprintf(p, "no organization '%s'", acp_text_safe(p, id))
                                  : "database error reading the organization";
        return ADM_FAIL;
    }
    if (acp_sa_rows(adm->db, p, "adm_org_audit", &rows, ACP_SA_ARGS(o->id)) != APR_SUCCESS) {
        *err = "database error reading the audit trail";
        return ADM_FAIL;
    }
    j = org_json(adm, o);
    json_object_object_foreach(j, k, v) {
        json_object_object_add(obj, k, json_object_get(v));
    }
    json_object_put(j);
    trail = json_object_new_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **a = APR_ARRAY_IDX(rows, i, const char **);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "seq", json_object_new_int64(acp_sa_atoll(a[6])));
        json_object_object_add(e, "created", json_object_new_int64(acp_sa_atoll(a[1])));
        json_object_object_add(e, "action", jstr(a[2]));
        json_object_object_add(e, "actor", jstr(a[3]));
        json_object_object_add(e, "reason", jstr(a[4]));
        json_object_object_add(e, "fields", jstr(a[5]));
        json_object_array_add(trail, e);
    }
    json_object_object_add(obj, "audit", trail);
    return ADM_OK;
}

/* ---- the sub-command ------------------------------------------------------------------ */

static void fields_from(int argc, char **argv, adm_org_fields_t *f)
{
    memset(f, 0, sizeof(*f));
    f->name = adm_opt(argc, argv, "--name");
    f->locality = adm_opt(argc, argv, "--locality");
    f->state = adm_opt(argc, argv, "--state");
    f->country = adm_opt(argc, argv, "--country");
    f->evidence = adm_opt(argc, argv, "--evidence");
}

static int emit(adm_t *adm, adm_result_t *r)
{
    if (r->code != ADM_OK) {
        return adm_fail(adm, r->code, r->msg);
    }
    adm_emit(adm, r->out, apr_pstrcat(adm->pool, r->msg, "\n", NULL));
    return ADM_OK;
}

static const char *positional(int argc, char **argv, int i)
{
    return argc > i && strncmp(argv[i], "--", 2) != 0 ? argv[i] : NULL;
}

static const char usage_text[] =
    "usage: org create HOLDER --name N --country CC (--locality L | --state S) [--evidence E]\n"
    "       org edit ORG [--name N] [--locality L] [--state S] [--country CC] [--evidence E] "
    "--reason R\n"
    "       org vet ORG [--evidence E] [--vetted-at DATE] [--days N] [--reason R]\n"
    "       org revoke ORG --reason R [--yes]\n"
    "       org show ORG | org list [--holder H] [--status vetted|unvetted|expired|revoked]";

int adm_cmd_org(adm_t *adm, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "", *id = positional(argc, argv, 1), *err = NULL;
    const char *reason = adm_opt(argc, argv, "--reason");
    adm_org_fields_t f;
    adm_result_t r;

    memset(&r, 0, sizeof(r));
    if (!strcmp(sub, "create")) {
        fields_from(argc, argv, &f);
        adm_op_org_create(adm, adm->pool, id, &f, reason, &r);
        return emit(adm, &r);
    }
    if (!strcmp(sub, "edit")) {
        fields_from(argc, argv, &f);
        adm_op_org_edit(adm, adm->pool, id, &f, reason, &r);
        return emit(adm, &r);
    }
    if (!strcmp(sub, "vet")) {
        const char *at = adm_opt(argc, argv, "--vetted-at"), *d = adm_opt(argc, argv, "--days");
        long long when = 0;
        char *end = NULL;
        long days = d ? strtol(d, &end, 10) : 0;
        if (at && adm_parse_date(at, &when) != 0) {
            return adm_fail(adm, ADM_USAGE, "--vetted-at must be YYYY-MM-DD[ HH:MM] (UTC)");
        }
        if (d && (!*d || *end || days < 1 || days > 3650)) {
            return adm_fail(adm, ADM_USAGE, "--days must be a number of days, 1 to 3650");
        }
        adm_op_org_vet(adm, adm->pool, id, adm_opt(argc, argv, "--evidence"), when, (int)days,
                       reason, &r);
        return emit(adm, &r);
    }
    if (!strcmp(sub, "revoke")) {
        if (id && reason && !adm->yes && isatty(0) &&
            !adm_confirm(apr_psprintf(adm->pool, "Revoke the vetting of organization %s? Its "
                                                 "holder's OV orders will be refused.",
                                      acp_text_safe(adm->pool, id)))) {
            return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
        }
        adm_op_org_revoke(adm, adm->pool, id, reason, &r);
        return emit(adm, &r);
    }
    if (!strcmp(sub, "show") && id) {
        json_object *o = adm_jpool(adm->pool, json_object_new_object());
        if (adm_open_db(adm, 0, &err) != ADM_OK) {
            return adm_fail(adm, ADM_FAIL, err);
        }
        if (adm_org_show(adm, adm->pool, id, o, &err) != ADM_OK) {
            return adm_fail(adm, ADM_FAIL, err);
        }
        adm_emit(adm, o, adm_page(adm, adm->pool, o));
        return ADM_OK;
    }
    if (!strcmp(sub, "list")) {
        const char *status = adm_opt(argc, argv, "--status");
        adm_filter_t flt;
        json_object *arr = NULL, *keep;
        size_t i;
        memset(&flt, 0, sizeof(flt));
        flt.holder = adm_opt(argc, argv, "--holder");
        flt.limit = 1000;
        if (status && strcmp(status, "vetted") && strcmp(status, "unvetted") &&
            strcmp(status, "expired") && strcmp(status, "revoked")) {
            return adm_fail(adm, ADM_USAGE, "--status must be vetted, unvetted, expired or revoked");
        }
        if (adm_open_db(adm, 0, &err) != ADM_OK) {
            return adm_fail(adm, ADM_FAIL, err);
        }
        if (adm_list(adm, adm->pool, "orgs", &flt, &arr, &err) != ADM_OK) {
            return adm_fail(adm, ADM_FAIL, err);
        }
        keep = adm_jpool(adm->pool, json_object_new_array());
        for (i = 0; i < json_object_array_length(arr); i++) {
            json_object *row = json_object_array_get_idx(arr, i), *st = NULL;
            json_object_object_get_ex(row, "status", &st);
            if (!status || (st && !strcmp(json_object_get_string(st), status))) {
                json_object_array_add(keep, json_object_get(row));
            }
        }
        adm_emit(adm, keep,
                 apr_pstrcat(adm->pool,
                             adm_table(adm, adm->pool, keep, adm_list_cols("orgs")),
                             adm_count(adm->pool, (long long)json_object_array_length(keep),
                                       "organization", "organizations"),
                             "\n", NULL));
        return ADM_OK;
    }
    return adm_fail(adm, ADM_USAGE, usage_text);
}
