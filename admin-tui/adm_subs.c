/* acme-pay-admin subscriptions list: terms sold under AcmePayProfile ... term=, the newest
 * first, with whether each still runs. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_util.h"

int adm_cmd_subscriptions(adm_t *adm, int argc, char **argv)
{
    const char *holder = adm_opt(argc, argv, "--holder"), *err = NULL;
    apr_array_header_t *rows = NULL;
    long long now = acp_now();
    json_object *arr;
    int i;

    if (argc < 1 || strcmp(argv[0], "list") != 0) {
        return adm_fail(adm, ADM_USAGE, "usage: subscriptions list [--holder H]");
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_rows(adm->db, adm->pool, "adm_subscriptions", &rows,
                    ACP_SA_ARGS(holder, holder, acp_sa_ll(adm->pool, 1000))) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading subscriptions");
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        long long starts = acp_sa_atoll(r[4]), ends = acp_sa_atoll(r[5]);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(r[0]));
        json_object_object_add(o, "holder", json_object_new_string(r[1]));
        json_object_object_add(o, "profile", json_object_new_string(r[2]));
        json_object_object_add(o, "names", json_object_new_string(r[3]));
        json_object_object_add(o, "start", json_object_new_string(acp_rfc3339(adm->pool, starts)));
        json_object_object_add(o, "end", json_object_new_string(acp_rfc3339(adm->pool, ends)));
        json_object_object_add(o, "ends_at", json_object_new_int64(ends));
        json_object_object_add(o, "status",
                               json_object_new_string(ends < starts ? "void"
                                                      : ends > now ? "active"
                                                                   : "ended"));
        json_object_object_add(o, "order", json_object_new_string(r[6]));
        json_object_object_add(o, "price", json_object_new_int64(acp_sa_atoll(r[7])));
        json_object_array_add(arr, o);
    }
    adm_emit(adm, arr, adm_table(adm, adm->pool, arr, "id,holder,profile,names,start,end,status,price"));
    return ADM_OK;
}
