/* acme-pay-admin revenue: charges minus refunds per profile (the product sold), since a
 * date (default: the start of this month, UTC). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_util.h"

int adm_cmd_revenue(adm_t *adm, int argc, char **argv)
{
    const char *since_s = adm_opt(argc, argv, "--since"), *err = NULL;
    apr_array_header_t *rows = NULL;
    long long since = 0;
    json_object *arr;
    int i;

    if (since_s) {
        if (acp_rfc3339_parse(apr_pstrcat(adm->pool, since_s, "T00:00:00Z", NULL), &since) != 0 &&
            acp_rfc3339_parse(since_s, &since) != 0) {
            return adm_fail(adm, ADM_USAGE, "--since: a date (2026-12-01) or an RFC 3339 time");
        }
    }
    else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        since = (long long)timegm(&tm);
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_rows(adm->db, adm->pool, "adm_revenue_profiles", &rows,
                    ACP_SA_ARGS(acp_sa_ll(adm->pool, since))) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading the ledger");
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "profile", json_object_new_string(r[0]));
        json_object_object_add(o, "orders", json_object_new_int64(acp_sa_atoll(r[1])));
        json_object_object_add(o, "revenue", json_object_new_int64(acp_sa_atoll(r[2])));
        json_object_array_add(arr, o);
    }
    adm_emit(adm, arr,
             apr_pstrcat(adm->pool, "revenue since ", acp_rfc3339(adm->pool, since), "\n",
                         adm_table(adm, adm->pool, arr, "profile,orders,revenue"), NULL));
    return ADM_OK;
}
