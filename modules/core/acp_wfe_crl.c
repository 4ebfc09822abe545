/* Web front end: the CRLs (RFC 5280), GET <base>/crl/<shard> over HTTP or HTTPS, no
 * nonce, no write: the stored DER as application/pkix-crl with an ETag (shard and CRL
 * number) and Last-Modified (thisUpdate), and 304 for a conditional GET that has it. */
#include <string.h>
#include <apr_date.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "acp_wfe.h"
#include "acp_crl.h"
#include "acp_problem.h"
#include "acp_util.h"

#define CRL_MAX_AGE 60 /* seconds a cache may keep one: a revocation shows within minutes */

/* Does an If-None-Match list name etag (or "*")? Weak tags compare weakly (RFC 9110 §13.1.2). */
static int etag_listed(const char *list, const char *etag)
{
    size_t n = strlen(etag);
    const char *c = list;

    while (c && *c) {
        while (*c == ' ' || *c == '\t' || *c == ',') {
            c++;
        }
        if (*c == '*') {
            return 1;
        }
        if (!strncmp(c, "W/", 2)) {
            c += 2;
        }
        if (!strncmp(c, etag, n) && (c[n] == '\0' || c[n] == ',' || c[n] == ' ')) {
            return 1;
        }
        c = strchr(c, ',');
    }
    return 0;
}

void acp_wfe_crl(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req, acp_resp_t *resp,
                 const char *shard_text)
{
    const acp_crl_cfg_t *cfg = &wfe->cfg->ra.crl;
    int shard = acp_crl_parse_shard(shard_text);
    acp_db_t *db;
    acp_crl_t *crl = NULL;
    const char *etag;
    char date[APR_RFC822_DATE_LEN];
    apr_status_t rv;
    int fresh = 0;

    if (!resp->headers) {
        resp->headers = apr_table_make(p, 4);
    }
    if (!cfg->url || shard < 0 || shard >= cfg->shards) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_NOT_FOUND, "no such CRL"));
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_METHOD, "a CRL is read with GET"));
        apr_table_setn(resp->headers, "Allow", "GET, HEAD");
        return;
    }
    db = wfe->unavailable ? NULL : wfe->get_db(wfe->db_baton);
    if (!db) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_UNAVAILABLE, "database unavailable"));
        apr_table_setn(resp->headers, "Retry-After", "5");
        resp->status = 503;
        return;
    }
    rv = acp_crl_get(db, p, shard, 0, &crl);
    if (rv == APR_SUCCESS && crl->number == 0) {
        rv = APR_NOTFOUND;
    }
    if (rv == APR_NOTFOUND) {
        /* a configured shard whose first CRL the workers have not signed yet */
        acp_wfe_resp_problem(p, resp,
                             acp_problem(p, ACP_ERR_UNAVAILABLE, "this CRL is being generated"));
        apr_table_setn(resp->headers, "Retry-After", "10");
        resp->status = 503;
        return;
    }
    if (rv != APR_SUCCESS) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error"));
        return;
    }
    etag = apr_psprintf(p, "\"%d-%" APR_INT64_T_FMT "\"", shard, (apr_int64_t)crl->number);
    apr_rfc822_date(date, apr_time_from_sec(crl->this_update));
    apr_table_setn(resp->headers, "ETag", etag);
    apr_table_setn(resp->headers, "Last-Modified", apr_pstrdup(p, date));
    apr_table_setn(resp->headers, "Cache-Control",
                   apr_psprintf(p, "public, max-age=%d", CRL_MAX_AGE));
    /* RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since */
    if (req->if_none_match) {
        fresh = etag_listed(req->if_none_match, etag);
    }
    else if (req->if_modified_since) {
        apr_time_t ims = apr_date_parse_http(req->if_modified_since);
        fresh = ims != APR_DATE_BAD && apr_time_sec(ims) >= crl->this_update;
    }
    if (fresh) {
        resp->status = 304;
        resp->body = "";
        resp->body_len = 0;
        return;
    }
    rv = acp_crl_get(db, p, shard, 1, &crl);
    if (rv != APR_SUCCESS || !crl->der) {
        acp_wfe_resp_problem(p, resp, acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error"));
        return;
    }
    /* the DER read second may be newer than the head read first: name what is sent */
    apr_table_setn(resp->headers, "ETag", apr_psprintf(p, "\"%d-%" APR_INT64_T_FMT "\"", shard,
                                                       (apr_int64_t)crl->number));
    apr_rfc822_date(date, apr_time_from_sec(crl->this_update));
    apr_table_setn(resp->headers, "Last-Modified", apr_pstrdup(p, date));
    resp->status = 200;
    resp->content_type = "application/pkix-crl";
    resp->body = (const char *)crl->der;
    resp->body_len = crl->der_len;
}
