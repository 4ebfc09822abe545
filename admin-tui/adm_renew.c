/* acme-pay-admin renew: staff move the suggested renewal window (RFC 9773 ARI) of one
 * certificate or of many (an incident, a key rotation), so clients that ask renewalInfo
 * (mod_md, acme.sh, lego, Caddy, …) renew by themselves; the renewal is free. */
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_admin.h"
#include "acp_ari.h"
#include "acp_util.h"

#define RENEW_MAX 100000

/* "90s", "30m", "1h", "2d" (a bare number is seconds); -1 when not a duration */
long long adm_duration(const char *s)
{
    char *end = NULL;
    long long v;

    if (!s || !*s) {
        return -1;
    }
    v = apr_strtoi64(s, &end, 10);
    if (v <= 0 || end == s) {
        return -1;
    }
    if (!*end || !strcmp(end, "s")) {
        return v;
    }
    if (!strcmp(end, "m")) {
        return v * 60;
    }
    if (!strcmp(end, "h")) {
        return v * 3600;
    }
    if (!strcmp(end, "d")) {
        return v * 86400;
    }
    return -1;
}

/* RFC 3339, "YYYY-MM-DD" (midnight UTC) or unix seconds; -1 otherwise */
static long long when(apr_pool_t *p, const char *s)
{
    long long t = 0;
    char *end = NULL;

    if (acp_rfc3339_parse(s, &t) == 0) {
        return t;
    }
    if (strlen(s) == 10 && acp_rfc3339_parse(apr_pstrcat(p, s, "T00:00:00Z", NULL), &t) == 0) {
        return t;
    }
    t = apr_strtoi64(s, &end, 10);
    return (end != s && !*end && t > 0) ? t : -1;
}

int adm_cmd_renew(adm_t *adm, int argc, char **argv)
{
    acp_ari_select_t sel;
    const char *reason = adm_opt(argc, argv, "--reason"), *by = adm_opt(argc, argv, "--by");
    const char *url = adm_opt(argc, argv, "--url"), *before = adm_opt(argc, argv, "--issued-before");
    const char *err = NULL;
    apr_array_header_t *certs = NULL;
    long long span = by ? adm_duration(by) : 3600, now = acp_now();
    json_object *o, *arr;
    int i, bulk;

    memset(&sel, 0, sizeof(sel));
    if (argc >= 1 && argv[0][0] != '-') {
        sel.serial = acp_admin_serial(adm->pool, argv[0]);
    }
    sel.holder = adm_opt(argc, argv, "--holder");
    sel.name_pattern = adm_opt(argc, argv, "--name");
    bulk = !sel.serial;
    if (before) {
        sel.issued_before = when(adm->pool, before);
        if (sel.issued_before < 0) {
            return adm_fail(adm, ADM_USAGE, "--issued-before: a date (2026-12-01), an RFC 3339 "
                                            "time or unix seconds");
        }
    }
    if (!sel.serial && !sel.holder && !sel.name_pattern && !before) {
        return adm_fail(adm, ADM_USAGE,
                        "usage: renew SERIAL --reason TEXT [--by DURATION] [--url URL]\n"
                        "       renew [--holder H] [--name PATTERN] [--issued-before TIME] "
                        "--reason TEXT [--by DURATION] [--yes]");
    }
    if (!reason || !*reason) {
        return adm_fail(adm, ADM_USAGE, "a --reason is required (it is the explanation clients "
                                        "are shown)");
    }
    if (span <= 0 || span > 90LL * 86400) {
        return adm_fail(adm, ADM_USAGE, "--by: a duration such as 30m, 1h or 2d (at most 90d)");
    }
    if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        return adm_fail(adm, ADM_USAGE, "--url must be an http(s) URL");
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_ari_select(adm->db, adm->pool, &sel, RENEW_MAX, &certs) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error selecting certificates");
    }
    if (certs->nelts == 0) {
        return adm_fail(adm, bulk ? ADM_FAIL : ADM_USAGE,
                        bulk ? "no live certificate matches" : "no live certificate with this serial");
    }
    if (bulk && !adm->yes && !adm_flag(argc, argv, "--yes")) {
        if (!isatty(0)) {
            return adm_fail(adm, ADM_USAGE,
                            apr_psprintf(adm->pool, "%d certificate(s) match; add --yes to move "
                                                    "their renewal window", certs->nelts));
        }
        if (!adm_confirm(apr_psprintf(adm->pool, "Ask %d certificate(s) to renew within %s?",
                                      certs->nelts, by ? by : "1h"))) {
            return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
        }
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < certs->nelts; i++) {
        acp_ari_cert_t *c = APR_ARRAY_IDX(certs, i, acp_ari_cert_t *);
        const char *note = apr_psprintf(adm->pool, "%s (by %s)", reason, adm->actor);
        if (acp_ari_set_window_tx(adm->db, adm->pool, c->id, now, now + span, note, url) !=
            APR_SUCCESS) {
            acp_sa_rollback(adm->db);
            return adm_fail(adm, ADM_FAIL, "database error moving the window; nothing changed");
        }
        json_object_array_add(arr, json_object_new_string(c->serial));
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "commit failed; nothing changed");
    }
    o = adm_jpool(adm->pool, json_object_new_object());
    json_object_object_add(o, "count", json_object_new_int(certs->nelts));
    json_object_object_add(o, "serials", json_object_get(arr));
    json_object_object_add(o, "start", json_object_new_string(acp_rfc3339(adm->pool, now)));
    json_object_object_add(o, "end", json_object_new_string(acp_rfc3339(adm->pool, now + span)));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    adm_emit(adm, o,
             apr_psprintf(adm->pool,
                          "%d certificate(s) asked to renew between %s and %s (clients polling "
                          "renewalInfo renew by themselves, free of charge)\n",
                          certs->nelts, acp_rfc3339(adm->pool, now),
                          acp_rfc3339(adm->pool, now + span)));
    return ADM_OK;
}

int adm_op_renew(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                 long long span, adm_result_t *r)
{
    acp_ari_select_t sel;
    apr_array_header_t *certs = NULL;
    acp_ari_cert_t *c;
    const char *err = NULL;
    long long now = acp_now();

    memset(r, 0, sizeof(*r));
    r->code = ADM_USAGE;
    if (!serial || !*serial || !reason || !*reason) {
        r->msg = "a serial and a reason are required";
        return r->code;
    }
    memset(&sel, 0, sizeof(sel));
    sel.serial = acp_admin_serial(p, serial);
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        r->code = ADM_FAIL;
        r->msg = err;
        return r->code;
    }
    if (acp_ari_select(adm->db, p, &sel, 1, &certs) != APR_SUCCESS || certs->nelts == 0) {
        r->msg = apr_psprintf(p, "no live certificate with serial %s", serial);
        return r->code;
    }
    c = APR_ARRAY_IDX(certs, 0, acp_ari_cert_t *);
    if (acp_sa_begin(adm->db) != APR_SUCCESS ||
        acp_ari_set_window_tx(adm->db, p, c->id, now, now + span,
                              apr_psprintf(p, "%s (by %s)", reason, adm->actor), NULL) !=
            APR_SUCCESS ||
        acp_sa_commit(adm->db) != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        r->code = ADM_FAIL;
        r->msg = "database error moving the window; nothing changed";
        return r->code;
    }
    r->code = ADM_OK;
    r->msg = apr_psprintf(p, "renewal asked for %s: window %s .. %s", c->serial,
                          acp_rfc3339(p, now), acp_rfc3339(p, now + span));
    r->out = adm_jpool(p, json_object_new_object());
    json_object_object_add(r->out, "serial", json_object_new_string(c->serial));
    return r->code;
}
