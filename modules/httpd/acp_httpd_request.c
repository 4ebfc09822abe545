/* The request path: request_rec <-> acp_req_t, the body, the handler, and skipping
 * core's directory walk for our URLs. */
#include <string.h>
#include <strings.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "ap_expr.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_atomic.h>
#include <unistd.h>
#include "acp_httpd.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

typedef struct {
    request_rec *r;
    acp_db_t *db;
    int asked; /* the request wanted the database */
} request_db_t;

/* "SetHandler acme-pay-crl" serves the CRLs of the first ACME server (its database and
 * CRL settings) in any server, typically a plain-HTTP <VirtualHost> on port 80 that has
 * no DBD directives of its own: the connection comes from the ACME server's pool. */
static server_rec *crl_server;
static acp_srv_cfg_t *crl_cfg;

void acp_httpd_crl_site(server_rec *s, acp_srv_cfg_t *c)
{
    crl_server = s;
    crl_cfg = c;
}

static acp_db_t *crl_db(void *baton)
{
    request_rec *r = baton;
    acp_db_t *db = NULL;

    if (acp_httpd_db_ready(crl_cfg)) {
        db = acp_httpd_db_acquire(r->pool, crl_server); /* released with r->pool */
    }
    if (!db) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ACPLOGNO(04004) "no database connection");
    }
    return db;
}

/* The request's connection, taken when first needed (directory and newNonce never
 * ask); a dead one is replaced by sa (acp_httpd_db_acquire). */
static acp_db_t *request_db(void *baton)
{
    request_db_t *rd = baton;

    if (!rd->asked) {
        rd->asked = 1;
        rd->db = acp_httpd_db_acquire(rd->r->pool, rd->r->server);
    }
    return rd->db;
}

static int read_body(request_rec *r, apr_size_t max, acp_req_t *req)
{
    apr_size_t cap = 8192, len = 0;
    char *buf;
    long n;
    int rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);

    if (rv != OK) {
        return rv;
    }
    /* A body over the limit is not drained: the client could send without end. Close the
     * connection after the 413 instead (ap_discard_request_body then reads nothing, and
     * Apache's lingering close bounds what it still accepts). */
    if (r->remaining > 0 && (apr_size_t)r->remaining > max) {
        req->body_too_large = 1; /* Content-Length says so: read nothing */
        r->connection->keepalive = AP_CONN_CLOSE;
        req->body = "";
        req->body_len = 0;
        return OK;
    }
    buf = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            if (len == cap) {
                char *bigger;
                if (cap > max) {
                    req->body_too_large = 1; /* chunked: at most cap bytes were read */
                    r->connection->keepalive = AP_CONN_CLOSE;
                    break;
                }
                bigger = apr_palloc(r->pool, cap * 2 + 1);
                memcpy(bigger, buf, len);
                buf = bigger;
                cap *= 2;
            }
            n = ap_get_client_block(r, buf + len, cap - len);
            if (n < 0) {
                return HTTP_BAD_REQUEST;
            }
            if (n == 0) {
                break;
            }
            len += (apr_size_t)n;
        }
    }
    if (len > max) {
        req->body_too_large = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    buf[len] = '\0';
    req->body = buf;
    req->body_len = len;
    return OK;
}

static int copy_header(void *data, const char *key, const char *val)
{
    request_rec *r = data;
    apr_table_addn(r->headers_out, key, val);
    return 1;
}

/* Our URLs name no file: once the <Location> with "SetHandler acme-pay" applies, core's
 * directory walk (a stat per path segment below DocumentRoot) is skipped, as mod_proxy does
 * for proxied URLs. Access control from the <Location> still runs after map_to_storage;
 * <Directory> sections do not apply to these URLs. translate_name sees r->per_dir_config
 * merged by the first location walk; it is reset to the server defaults before
 * map_to_storage, so the decision is taken here and remembered in r->request_config.
 * SetHandler's expression is evaluated early here (core evaluates it again in fixups); for
 * the plain "SetHandler acme-pay" both give the same answer. */
static int acp_translate_name(request_rec *r)
{
    core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (r->method_number == M_TRACE || !core || !core->expr_handler) {
        return DECLINED; /* TRACE stays with core's map_to_storage (TraceEnable) */
    }
    h = ap_expr_str_exec(r, core->expr_handler, &err);
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, ACPLOGNO(02103) "SetHandler: %s", err);
        return DECLINED;
    }
    if (h && (strcmp(h, "acme-pay") == 0 || strcmp(h, "acme-pay-crl") == 0)) {
        ap_set_module_config(r->request_config, &acme_pay_module, &acme_pay_module);
    }
    return DECLINED;
}

static int acp_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &acme_pay_module) ? OK : DECLINED;
}

/* The base URL from the configuration: the virtual host's ServerName (scheme and port
 * when it names them; else this connection's scheme and local port), never the Host
 * header the client sent. Payment links are stored and later shown to other devices of
 * the holder and to staff. */
static const char *configured_base(request_rec *r, const char *base)
{
    server_rec *s = r->server;
    const char *scheme = s->server_scheme ? s->server_scheme : ap_http_scheme(r);
    const char *host = s->server_hostname ? s->server_hostname : "localhost";
    apr_port_t port = s->port;
    int dflt;

    if (!port && r->connection->local_addr) {
        port = r->connection->local_addr->port;
    }
    dflt = !port || (!strcasecmp(scheme, "https") && port == 443) ||
           (!strcasecmp(scheme, "http") && port == 80);
    if (strchr(host, ':') && host[0] != '[') {
        host = apr_pstrcat(r->pool, "[", host, "]", NULL);
    }
    return apr_psprintf(r->pool, "%s://%s%s%s", scheme, host,
                        dflt ? "" : apr_psprintf(r->pool, ":%u", (unsigned)port), base);
}

static void send_resp(request_rec *r, acp_resp_t *resp);

/* Was the path sent exactly as Apache resolved it (no "..", ".", "//" or %-escapes)? A
 * CRL is named by one canonical URL; any other spelling is answered 404. */
static int path_as_sent(request_rec *r)
{
    const char *u = r->unparsed_uri ? r->unparsed_uri : "";
    const char *q;

    if (*u != '/') {
        const char *scheme = strstr(u, "://"); /* absolute-form: http://host/path */
        u = scheme ? strchr(scheme + 3, '/') : NULL;
        if (!u) {
            return 0;
        }
    }
    q = strchr(u, '?');
    return strlen(r->uri) == (size_t)(q ? q - u : (long)strlen(u)) &&
           strncmp(r->uri, u, strlen(r->uri)) == 0 && !strchr(u, '%');
}

/* SetHandler acme-pay-crl: GET <location>/<shard>, over plain HTTP as CRLs are fetched. */
static int crl_handler(request_rec *r)
{
    const char *slash = strrchr(r->uri, '/');
    acp_req_t req;
    acp_resp_t resp;
    acp_wfe_t wfe;

    if (!crl_cfg || !crl_cfg->wfe.ra.crl.url || !slash || !path_as_sent(r)) {
        return HTTP_NOT_FOUND;
    }
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    memset(&wfe, 0, sizeof(wfe));
    req.method = r->method;
    req.path = apr_pstrcat(r->pool, "/crl", slash, NULL);
    req.base_url = "";
    req.body = "";
    req.if_none_match = apr_table_get(r->headers_in, "If-None-Match");
    req.if_modified_since = apr_table_get(r->headers_in, "If-Modified-Since");
    wfe.cfg = &crl_cfg->wfe;
    wfe.get_db = crl_db;
    wfe.db_baton = r;
    wfe.wake = NULL;
    wfe.handoff = NULL;
    wfe.wake_baton = NULL;
    acp_wfe_crl(r->pool, &wfe, &req, &resp, req.path + 5);
    send_resp(r, &resp);
    return OK;
}

/* AcmePayKeepAliveThread. On an async MPM (event) a keep-alive connection goes back to
 * the listener thread after every request and reaches a worker again with the next one:
 * two epoll_ctl, a wake-up and a context switch per request (newNonce at 0.71x the worker
 * MPM's rate: docs/PERFORMANCE.md, "The event MPM: keep-alive in the thread"). ACME
 * clients send their requests in bursts on one connection, so once a request of ours has
 * been served the connection is marked as core's "clogging" kind (as mod_ssl once did
 * for every TLS connection): core then reads the connection's next requests in this
 * thread, as with the worker MPM, until the connection closes or waits longer than
 * KeepAliveTimeout. Only while at least half of this child's threads are idle, so that a
 * busy server keeps the event MPM's economy: the connections held take at most about half
 * of a child's threads. Other sites' connections are never marked. */
static int mpm_async, mpm_threads;   /* set by acp_httpd_request_child_init */
static apr_uint32_t slot_plus1;      /* this child's scoreboard slot + 1; 0: not found yet */

void acp_httpd_request_child_init(void)
{
    int a = 0, t = 0;

    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &a) != APR_SUCCESS ||
        ap_mpm_query(AP_MPMQ_MAX_THREADS, &t) != APR_SUCCESS || t < 1) {
        a = 0;
    }
    mpm_async = a;
    mpm_threads = t;
    apr_atomic_set32(&slot_plus1, 0);
}

static void keep_alive_in_thread(request_rec *r, const acp_srv_cfg_t *c)
{
    apr_uint32_t sp;
    int i, idle = 0;

    if (!mpm_async || !c->keepalive_thread || r->connection->clogging_input_filters ||
        !ap_scoreboard_image) {
        return;
    }
    sp = apr_atomic_read32(&slot_plus1);
    if (!sp) {
        apr_proc_t me;
        me.pid = getpid();
        i = ap_find_child_by_pid(&me);
        if (i < 0) {
            return; /* the parent has not recorded this child yet */
        }
        sp = (apr_uint32_t)i + 1;
        apr_atomic_set32(&slot_plus1, sp);
    }
    for (i = 0; i < mpm_threads; i++) {
        worker_score *ws = ap_get_scoreboard_worker_from_indexes((int)sp - 1, i);
        if (ws && ws->status == SERVER_READY) {
            idle++;
        }
    }
    if (idle * 2 >= mpm_threads) {
        r->connection->clogging_input_filters = 1;
    }
}

static int acp_handler(request_rec *r)
{
    acp_srv_cfg_t *c;
    core_dir_config *core;
    const char *base;
    size_t blen;
    acp_req_t req;
    acp_resp_t resp;
    acp_wfe_t wfe;
    request_db_t rd;
    int rv;

    if (r->handler && strcmp(r->handler, "acme-pay-crl") == 0) {
        return crl_handler(r);
    }
    if (!r->handler || strcmp(r->handler, "acme-pay") != 0) {
        return DECLINED;
    }
    c = ap_get_module_config(r->server->module_config, &acme_pay_module);
    /* the base path is the <Location> the handler is set in: core's merged dir config
     * names the most specific section that applied */
    core = ap_get_core_module_config(r->per_dir_config);
    base = core && core->d ? core->d : "";
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    base = apr_pstrmemdup(r->pool, base, blen);
    if (!c->wfe.ra.signer || strncmp(r->uri, base, blen) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      ACPLOGNO(02102) "not configured here (signer %s, base '%s')",
                      c->wfe.ra.signer ? "set" : "unset", base);
        return HTTP_NOT_FOUND;
    }
    if (!strncmp(r->uri + blen, "/crl/", 5) && !path_as_sent(r)) {
        return HTTP_NOT_FOUND;
    }
    keep_alive_in_thread(r, c);
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = r->method;
    req.path = r->uri + blen;
    req.base_url = ap_construct_url(r->pool, base, r);
    req.pay_base_url = configured_base(r, base);
    req.content_type = apr_table_get(r->headers_in, "Content-Type");
    req.user_agent = apr_table_get(r->headers_in, "User-Agent");
    req.client_ip = r->useragent_ip;
    req.pay_signature = apr_table_get(r->headers_in, "AcmePay-Signature");
    req.headers = r->headers_in;
    req.if_none_match = apr_table_get(r->headers_in, "If-None-Match");
    req.if_modified_since = apr_table_get(r->headers_in, "If-Modified-Since");
    req.accept_language = apr_table_get(r->headers_in, "Accept-Language");
    /* mod_ssl answers "https" on a TLS connection; "ServerName https://…" marks a server
     * whose TLS ends in front of Apache */
    req.insecure = strcmp(ap_http_scheme(r), "https") != 0;
    if (r->method_number == M_POST && !req.insecure) {
        rv = read_body(r, c->wfe.max_body, &req);
        if (rv != OK) {
            return rv;
        }
    }
    else {
        req.body = "";
    }
    memset(&rd, 0, sizeof(rd));
    rd.r = r;
    wfe.cfg = &c->wfe;
    wfe.get_db = request_db;
    wfe.db_baton = &rd;
    wfe.wake = acp_httpd_workers_wake;
    wfe.handoff = acp_httpd_workers_handoff;
    wfe.wake_baton = NULL;
    wfe.unavailable = !acp_httpd_db_ready(c);
    if (wfe.unavailable) {
        acp_httpd_workers_wake(NULL); /* they set the database up as soon as it answers */
    }
    acp_wfe_handle(r->pool, &wfe, &req, &resp);
    if (resp.status == 429) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ACPLOGNO(03500) "abuse limit: %s %s from %s answered rateLimited",
                      r->method, r->uri, r->useragent_ip);
    }
    if (resp.log_note) {
        ap_log_rerror(APLOG_MARK, resp.log_warn ? APLOG_WARNING : APLOG_NOTICE, 0, r,
                      ACPLOGNO(04600) "%s", resp.log_note);
    }
    if (rd.asked) {
        acp_httpd_db_outcome(r->server, rd.db);
    }
    send_resp(r, &resp);
    return OK;
}

static void send_resp(request_rec *r, acp_resp_t *resp)
{
    apr_table_do(copy_header, r, resp->headers, NULL);
    r->status = resp->status;
    if (resp->content_type) {
        ap_set_content_type(r, resp->content_type);
    }
    if (resp->status == HTTP_NOT_MODIFIED) {
        return; /* no body, no Content-Length (RFC 9110 §15.4.5) */
    }
    if (resp->body_len > 0) {
        ap_set_content_length(r, (apr_off_t)resp->body_len);
        if (!r->header_only) {
            ap_rwrite(resp->body, (int)resp->body_len, r);
        }
    }
    else {
        ap_set_content_length(r, 0);
    }
}

void acp_httpd_request_hooks(void)
{
    ap_hook_translate_name(acp_translate_name, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(acp_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(acp_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
