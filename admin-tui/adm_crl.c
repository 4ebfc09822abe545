/* acme-pay-admin crl: list the shards' CRLs, show one (and write its DER), regenerate. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_crl.h"
#include "acp_util.h"

static json_object *crl_json(const acp_crl_t *c, long long now)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "shard", json_object_new_int(c->shard));
    json_object_object_add(o, "number", json_object_new_int64(c->number));
    json_object_object_add(o, "this_update", json_object_new_int64(c->this_update));
    json_object_object_add(o, "next_update", json_object_new_int64(c->next_update));
    json_object_object_add(o, "entries", json_object_new_int64(c->entries));
    json_object_object_add(o, "state",
                           json_object_new_string(c->lease_until > now ? "signing"
                                                  : c->number == 0    ? "never signed"
                                                  : c->dirty          ? "due"
                                                                      : "current"));
    return o;
}

static int open_db(adm_t *adm)
{
    const char *err = NULL;
    return adm_open_db(adm, 0, &err) == ADM_OK ? ADM_OK : adm_fail(adm, ADM_FAIL, err);
}

static int crl_list(adm_t *adm)
{
    apr_array_header_t *rows = NULL;
    json_object *arr;
    long long now = acp_now();
    int i;

    if (acp_crl_list(adm->db, adm->pool, &rows) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading the CRLs");
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        json_object_array_add(arr, crl_json(APR_ARRAY_IDX(rows, i, acp_crl_t *), now));
    }
    adm_emit(adm, arr,
             rows->nelts ? adm_table(adm, adm->pool, arr,
                                     "shard,number,this_update,next_update,entries,state")
                         : "no CRLs yet (AcmePayCRLURL unset, or the server has not run)\n");
    return ADM_OK;
}

static int crl_show(adm_t *adm, const char *shard_text, const char *out)
{
    int shard = acp_crl_parse_shard(shard_text);
    acp_crl_t *c = NULL;
    json_object *o;
    apr_status_t rv;

    if (shard < 0) {
        return adm_fail(adm, ADM_USAGE, "SHARD: a shard number");
    }
    rv = acp_crl_get(adm->db, adm->pool, shard, 1, &c);
    if (rv == APR_NOTFOUND) {
        return adm_fail(adm, ADM_FAIL, apr_psprintf(adm->pool, "no CRL for shard %d", shard));
    }
    if (rv != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, "database error reading the CRL");
    }
    o = adm_jpool(adm->pool, crl_json(c, acp_now()));
    json_object_object_add(o, "size", json_object_new_int64((long long)c->der_len));
    if (adm->crl_url) {
        json_object_object_add(o, "url",
                               json_object_new_string(acp_ca_crl_url(adm->pool, adm->crl_url,
                                                                     shard)));
    }
    if (out) {
        FILE *f = c->der ? fopen(out, "wb") : NULL;
        if (!f || fwrite(c->der, 1, c->der_len, f) != c->der_len || fclose(f) != 0) {
            return adm_fail(adm, ADM_FAIL,
                            apr_psprintf(adm->pool, "cannot write the DER to %s", out));
        }
        json_object_object_add(o, "written", json_object_new_string(out));
    }
    adm_emit(adm, o,
             apr_psprintf(adm->pool,
                          "shard        %d\nnumber       %" APR_INT64_T_FMT "\nthis update  %s\n"
                          "next update  %s\nentries      %" APR_INT64_T_FMT "\nsize         %lu bytes\n"
                          "state        %s\n%s%s%s",
                          c->shard, (apr_int64_t)c->number, acp_rfc3339(adm->pool, c->this_update),
                          acp_rfc3339(adm->pool, c->next_update), (apr_int64_t)c->entries,
                          (unsigned long)c->der_len,
                          json_object_get_string(json_object_object_get(o, "state")),
                          adm->crl_url ? "url          " : "",
                          adm->crl_url ? acp_ca_crl_url(adm->pool, adm->crl_url, shard) : "",
                          adm->crl_url ? "\n" : ""));
    return ADM_OK;
}

static int crl_regenerate(adm_t *adm, int argc, char **argv)
{
    acp_crl_cfg_t cfg;
    const char *err = NULL;
    json_object *arr;
    int all = adm_flag(argc, argv, "--all"), from, to, i, rc = ADM_OK;

    acp_crl_cfg_defaults(&cfg);
    cfg.url = adm->crl_url;
    if (adm->crl_shards > 0) {
        cfg.shards = adm->crl_shards;
    }
    if (adm->crl_lifetime > 0) {
        cfg.lifetime = adm->crl_lifetime;
    }
    if (!cfg.url) {
        return adm_fail(adm, ADM_USAGE, "no AcmePayCRLURL in the configuration (-f apache.conf)");
    }
    if (!adm->ca_cert || !adm->ca_key) {
        return adm_fail(adm, ADM_USAGE,
                        "regenerate signs with the CA: -f apache.conf (AcmePayCA) or --ca CERT KEY");
    }
    if (acp_ca_local_create(adm->pool, adm->ca_cert, adm->ca_key, 90, &cfg.signer, &err) !=
        APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, apr_pstrcat(adm->pool, "the CA: ", err, NULL));
    }
    if (all) {
        from = 0;
        to = cfg.shards - 1;
    }
    else {
        from = to = argc > 0 ? acp_crl_parse_shard(argv[0]) : -1;
        if (from < 0 || from >= cfg.shards) {
            return adm_fail(adm, ADM_USAGE,
                            apr_psprintf(adm->pool, "SHARD: 0 … %d, or --all", cfg.shards - 1));
        }
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = from; i <= to; i++) {
        acp_crl_t *c = NULL;
        apr_status_t rv;
        /* a shard the server never signed has no row yet: make it */
        acp_sa_exec(adm->db, adm->pool, "acp_crl_ensure", NULL,
                    ACP_SA_ARGS(apr_itoa(adm->pool, i)));
        rv = acp_crl_generate(adm->db, adm->pool, &cfg, i, 1, &c, &err);
        if (rv != APR_SUCCESS) {
            fprintf(stderr, "acme-pay-admin: shard %d: %s\n", i, err ? err : "failed");
            rc = ADM_FAIL;
            continue;
        }
        json_object_array_add(arr, crl_json(c, acp_now()));
    }
    adm_emit(adm, arr,
             adm_table(adm, adm->pool, arr, "shard,number,this_update,next_update,entries,state"));
    return rc;
}

int adm_cmd_crl(adm_t *adm, int argc, char **argv)
{
    int rc;

    if (argc < 1) {
        return adm_fail(adm, ADM_USAGE,
                        "usage: crl list | crl show SHARD [--out FILE] | crl regenerate SHARD|--all");
    }
    rc = open_db(adm);
    if (rc != ADM_OK) {
        return rc;
    }
    if (!strcmp(argv[0], "list")) {
        return crl_list(adm);
    }
    if (!strcmp(argv[0], "show") && argc >= 2) {
        return crl_show(adm, argv[1], adm_opt(argc, argv, "--out"));
    }
    if (!strcmp(argv[0], "regenerate")) {
        return crl_regenerate(adm, argc - 1, argv + 1);
    }
    return adm_fail(adm, ADM_USAGE,
                    "usage: crl list | crl show SHARD [--out FILE] | crl regenerate SHARD|--all");
}
