/* mod_acme_pay: an RFC 8555 ACME server inside Apache httpd.
 * Apache glue only: module record, directives, hooks, request_rec <-> acp_req_t.
 * Everything ACME lives in modules/core (Apache-free). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include "unixd.h"
#include "util_mutex.h"
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_util.h"
#include "acp_va.h"
#include "acp_pay.h"
#include "acp_secret.h"
#include "acp_profile.h"


/* SQLite writers of all children queue on this lock (see acp_db_t.write_lock). */
#define DB_MUTEX_TYPE "acme-pay-db"
static apr_global_mutex_t *db_mutex;
/* Nonce redemption table shared by all children (AcmePayNonceStore shm). */
static apr_shm_t *nonce_shm;
static acp_nonce_store_t *nonce_store;
/* AcmePayNonceStore database: the nonce epoch this node hands out, shared by all
 * children (a child that finds it gone moves every child to the live one). */
static apr_shm_t *epoch_shm;
static apr_uint32_t *nonce_epoch;

static apr_status_t db_lock(void *baton)
{
    return apr_global_mutex_lock(baton);
}

static apr_status_t db_unlock(void *baton)
{
    return apr_global_mutex_unlock(baton);
}

/* The SQLite writers' lock, whatever the server-wide Mutex default. Debian's apache2.conf
 * says `Mutex file:${APACHE_LOCK_DIR} default`, which makes every mutex without its own
 * Mutex line fcntl(2). fcntl locks belong to the process, and the kernel's deadlock
 * detection follows them process by process: a thread of child A holding this lock while
 * A's listener waits for the accept mutex (also fcntl) that child B's listener holds, and
 * a thread of B asking for this lock, look like a cycle, so one of them gets EDEADLK and
 * a child exits (AH00273). An fcntl choice is therefore replaced by flock(2) on a file in
 * the same directory (no deadlock detection; released when a process dies); any other
 * mechanism (sysvsem, pthread, posixsem, flock) is kept as configured. */
static apr_status_t db_mutex_create(server_rec *s, apr_pool_t *pconf)
{
    apr_status_t rv = ap_global_mutex_create(&db_mutex, NULL, DB_MUTEX_TYPE, NULL, s, pconf, 0);
    const char *file;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (apr_global_mutex_mech(db_mutex) == APR_LOCK_FCNTL) {
        file = apr_global_mutex_lockfile(db_mutex);
        file = file ? apr_pstrdup(pconf, file)
                    : apr_psprintf(pconf, "%s/%s.%" APR_PID_T_FMT,
                                   ap_runtime_dir_relative(pconf, ""), DB_MUTEX_TYPE, getpid());
        apr_global_mutex_destroy(db_mutex);
        db_mutex = NULL;
#if APR_HAS_FLOCK_SERIALIZE
        rv = apr_global_mutex_create(&db_mutex, file, APR_LOCK_FLOCK, pconf);
#else
        rv = apr_global_mutex_create(&db_mutex, NULL, APR_LOCK_DEFAULT, pconf);
#endif
        if (rv == APR_SUCCESS) {
            rv = ap_unixd_set_global_mutex_perms(db_mutex);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         ACPLOGNO(03202) "cannot create the database write lock with %s "
                         "instead of fcntl (set `Mutex flock:DIR %s` or `Mutex sysvsem %s`)",
#if APR_HAS_FLOCK_SERIALIZE
                         "flock",
#else
                         "the default mechanism",
#endif
                         DB_MUTEX_TYPE, DB_MUTEX_TYPE);
            db_mutex = NULL;
            return rv;
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ACPLOGNO(03201) "Mutex %s: fcntl (the configured or default mechanism) "
                     "misfires with threads (EDEADLK); using %s instead",
                     DB_MUTEX_TYPE, apr_global_mutex_name(db_mutex));
    }
    file = apr_global_mutex_lockfile(db_mutex);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 ACPLOGNO(03200) "database write lock (Mutex %s): mechanism %s%s%s", DB_MUTEX_TYPE,
                 apr_global_mutex_name(db_mutex), file ? ", file " : "", file ? file : "");
    return APR_SUCCESS;
}

acp_db_t *acp_httpd_db(apr_pool_t *p, ap_dbd_t *dbd)
{
    acp_db_t *db = acp_sa_wrap(p, dbd->driver, dbd->handle, dbd->prepared);
    void *tuned = NULL;

    /* statements are prepared on a connection when it first runs them (acp_sa.c), not
     * all of the catalogue at connect: a new pooled connection costs one round trip */
    db->stmt_pool = dbd->pool;

    /* mod_dbd opens connections on its own; tune each once, marked in its pool */
    apr_pool_userdata_get(&tuned, "acme-pay-tuned", dbd->pool);
    if (!tuned) {
        acp_sa_tune(db);
        apr_pool_userdata_setn((void *)1, "acme-pay-tuned", NULL, dbd->pool);
    }
    db->secrets = acp_httpd_secrets();
    if (!db->pgsql && db_mutex) {
        db->write_lock = db_lock;
        db->write_unlock = db_unlock;
        db->lock_baton = db_mutex;
    }
    return db;
}

/* ---- configuration ------------------------------------------------------------------ */

static void *create_srv_cfg(apr_pool_t *p, server_rec *s)
{
    acp_srv_cfg_t *c = apr_pcalloc(p, sizeof(*c));
    acp_wfe_cfg_defaults(&c->wfe);
    c->workers = 2;
    return c;
}

/* Billing and payment directives merge one by one: a <VirtualHost> that sets only
 * AcmePayPrice keeps the main server's AcmePayWebhookSecret, currency, window, … */
static void merge_billing(acp_srv_cfg_t *c, const acp_srv_cfg_t *base, const acp_srv_cfg_t *add)
{
    acp_billing_cfg_t *b = &c->wfe.ra.billing;
    const acp_billing_cfg_t *bb = &base->wfe.ra.billing;

    if (!(add->pay_set & ACP_PAY_CURRENCY)) {
        b->currency = bb->currency;
    }
    if (!(add->pay_set & ACP_PAY_PRICE)) {
        b->price.base = bb->price.base;
    }
    if (!(add->pay_set & ACP_PAY_PRICE_EXTRA)) {
        b->price.per_extra_name = bb->price.per_extra_name;
    }
    if (!(add->pay_set & ACP_PAY_PRICE_WILDCARD)) {
        b->price.per_wildcard = bb->price.per_wildcard;
    }
    if (!(add->pay_set & ACP_PAY_FREE_BALANCE)) {
        b->free_balance = bb->free_balance;
    }
    if (!(add->pay_set & ACP_PAY_FREE_LIMIT)) {
        b->free_limit = bb->free_limit;
        b->free_period = bb->free_period;
    }
    if (!(add->pay_set & ACP_PAY_REISSUE_WINDOW)) {
        b->reissue_window = bb->reissue_window;
    }
    if (!(add->pay_set & ACP_PAY_URL)) {
        b->payment_url = bb->payment_url;
    }
    if (!(add->pay_set & ACP_PAY_INVOICE_COMMAND)) {
        b->invoice_command = bb->invoice_command;
    }
    if (!(add->pay_set & ACP_PAY_ETHEREUM)) {
        b->eth_address = bb->eth_address;
        b->eth_chain = bb->eth_chain;
        b->eth_wei_per_minor = bb->eth_wei_per_minor;
    }
    if (!(add->pay_set & ACP_PAY_ETH_TOKENS)) {
        b->eth_tokens = bb->eth_tokens;
    }
    if (!(add->pay_set & ACP_PAY_SIGN_TIMEOUT)) {
        c->wfe.sign_timeout_ms = base->wfe.sign_timeout_ms;
    }
    if (!(add->pay_set & ACP_PAY_RETRY_AFTER)) {
        c->wfe.retry_after = base->wfe.retry_after;
    }
    if (!(add->pay_set & ACP_PAY_WEBHOOK_SECRET)) {
        memcpy(c->wfe.webhook_secret, base->wfe.webhook_secret, sizeof(c->wfe.webhook_secret));
        c->wfe.webhook_secret_len = base->wfe.webhook_secret_len;
    }
    if (!(add->pay_set & ACP_PAY_SUB_RENEW_WINDOW)) {
        b->sub_renew_window = bb->sub_renew_window;
    }
    if (!(add->pay_set & ACP_PAY_SUB_REFUND)) {
        b->sub_refund_none = bb->sub_refund_none;
    }
    if (!(add->pay_set & ACP_PAY_TEST_MODE)) {
        c->wfe.test_mode = base->wfe.test_mode;
    }
    c->pay_set = add->pay_set | base->pay_set;
}

static void *merge_srv_cfg(apr_pool_t *p, void *basev, void *addv)
{
    acp_srv_cfg_t *base = basev, *add = addv, *c = apr_pmemdup(p, add, sizeof(*c));

#define INHERIT(field) c->field = add->field ? add->field : base->field
    INHERIT(ca_cert);
    INHERIT(ca_key);
    INHERIT(wfe.ra.tos);
    INHERIT(wfe.website);
    INHERIT(wfe.caa_identities);
    c->wfe.ra.va.caa_identities = c->wfe.caa_identities; /* the VA checks CAA against them */
    INHERIT(wfe.ra.va.resolver);
    INHERIT(wfe.ra.va.allow);
    INHERIT(wfe.ra.va.max_host_conns);
    INHERIT(va_per_account);
    INHERIT(sign_command);
    INHERIT(key_file);
    INHERIT(nonce_mode);
    INHERIT(wfe.ari.retry_after);
    INHERIT(wfe.ari.explanation_url);
    INHERIT(wfe.invoice_tpl);
    INHERIT(wfe.ra.profiles);
    INHERIT(wfe.ra.default_profile);
    INHERIT(wfe.ra.ov_vetting_days);
    INHERIT(wfe.ra.ov_contact_url);
    INHERIT(wfe.ra.crl.url);
    INHERIT(wfe.ra.crl.shards);
    INHERIT(wfe.ra.crl.lifetime);
    INHERIT(chain.confirmations);
    INHERIT(chain.poll_interval);
    if (!add->chain.rpc_url) {
        c->chain.rpc_url = base->chain.rpc_url;
        c->chain.rpc_header = base->chain.rpc_header;
    }
#undef INHERIT
#define INHERIT_SET(flag, field) c->field = add->flag ? add->field : base->field
    INHERIT_SET(eab_set, wfe.ra.eab_required);
    INHERIT_SET(http_port_set, wfe.ra.va.http_port);
    INHERIT_SET(alpn_port_set, wfe.ra.va.tlsalpn_port);
    INHERIT_SET(validity_set, wfe.ra.validity_days);
    INHERIT_SET(max_validity_set, wfe.ra.max_validity);
    INHERIT_SET(body_set, wfe.max_body);
    INHERIT_SET(timeout_set, wfe.ra.va.timeout_ms);
#undef INHERIT_SET
    merge_billing(c, base, add);
    acp_httpd_merge_providers(p, c, base, add);
    /* each abuse limit is inherited on its own, like the billing directives */
    if (!(add->limits_set & ACP_LIMIT_ACCOUNTS)) {
        c->wfe.ra.limits.dflt.accounts = base->wfe.ra.limits.dflt.accounts;
    }
    if (!(add->limits_set & ACP_LIMIT_ORDERS)) {
        c->wfe.ra.limits.dflt.orders = base->wfe.ra.limits.dflt.orders;
    }
    if (!(add->limits_set & ACP_LIMIT_PENDING)) {
        c->wfe.ra.limits.dflt.pending = base->wfe.ra.limits.dflt.pending;
    }
    if (!(add->limits_set & ACP_LIMIT_FAILED)) {
        c->wfe.ra.limits.dflt.failed = base->wfe.ra.limits.dflt.failed;
    }
    if (!(add->limits_set & ACP_LIMIT_EAB)) {
        c->wfe.ra.limits.eab = base->wfe.ra.limits.eab;
    }
    c->limits_set = add->limits_set | base->limits_set;
    c->eab_set = add->eab_set || base->eab_set;
    c->http_port_set = add->http_port_set || base->http_port_set;
    c->alpn_port_set = add->alpn_port_set || base->alpn_port_set;
    c->validity_set = add->validity_set || base->validity_set;
    c->max_validity_set = add->max_validity_set || base->max_validity_set;
    c->body_set = add->body_set || base->body_set;
    c->timeout_set = add->timeout_set || base->timeout_set;
    return c;
}

static acp_srv_cfg_t *srv_cfg(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &acme_pay_module);
}

static const char *set_ca(cmd_parms *cmd, void *d, const char *cert, const char *key)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    c->ca_cert = ap_server_root_relative(cmd->pool, cert);
    c->ca_key = ap_server_root_relative(cmd->pool, key);
    return NULL;
}

static const char *set_resolver(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->wfe.ra.va.resolver = !strcasecmp(arg, "system") ? NULL : arg;
    return NULL;
}

static const char *parse_int(cmd_parms *cmd, const char *arg, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number in %ld..%ld", cmd->cmd->name,
                            arg, lo, hi);
    }
    *out = v;
    return NULL;
}

static const char *set_port(cmd_parms *cmd, void *d, const char *arg)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 65535, &v);
    if (err) {
        return err;
    }
    if (cmd->info) {
        c->wfe.ra.va.tlsalpn_port = (int)v;
        c->alpn_port_set = 1;
    }
    else {
        c->wfe.ra.va.http_port = (int)v;
        c->http_port_set = 1;
    }
    return NULL;
}

static const char *set_eab(cmd_parms *cmd, void *d, int flag)
{
    srv_cfg(cmd)->wfe.ra.eab_required = flag;
    srv_cfg(cmd)->eab_set = 1;
    return NULL;
}

static const char *set_tos(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->wfe.ra.tos = arg;
    return NULL;
}

static const char *set_website(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->wfe.website = arg;
    return NULL;
}

static const char *add_caa(cmd_parms *cmd, void *d, const char *arg)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    if (!c->wfe.caa_identities) {
        c->wfe.caa_identities = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->wfe.caa_identities, const char *) = arg;
    c->wfe.ra.va.caa_identities = c->wfe.caa_identities;
    return NULL;
}

static const char *set_validity(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 3650, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.ra.validity_days = (int)v;
        srv_cfg(cmd)->validity_set = 1;
    }
    return err;
}

/* AcmePayMaxValidity schedule|off|DURATION|YYYY-MM-DD=DURATION ... */
static const char *set_max_validity(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    const char *err;

    if (argc < 1) {
        return "AcmePayMaxValidity schedule|off|DURATION|YYYY-MM-DD=DURATION ...";
    }
    err = acp_validity_parse(cmd->pool, &c->wfe.ra.max_validity, argc,
                             (const char *const *)argv);
    if (err) {
        return apr_pstrcat(cmd->pool, "AcmePayMaxValidity: ", err, NULL);
    }
    c->max_validity_set = 1;
    return NULL;
}

/* AcmePaySubscriptionRenewWindow DURATION: a finalize this near a subscription's end
 * buys the next one (from the end on) */
static const char *set_sub_window(cmd_parms *cmd, void *d, const char *arg)
{
    long long v = acp_validity_duration(arg, 3650LL * 86400);

    if (v < 0) {
        return "AcmePaySubscriptionRenewWindow: a duration such as 30d, 12h or 600s";
    }
    srv_cfg(cmd)->wfe.ra.billing.sub_renew_window = v;
    srv_cfg(cmd)->pay_set |= ACP_PAY_SUB_RENEW_WINDOW;
    return NULL;
}

/* AcmePaySubscriptionRefund prorata|none: what a cancelled subscription gives back */
static const char *set_sub_refund(cmd_parms *cmd, void *d, const char *arg)
{
    if (strcasecmp(arg, "prorata") && strcasecmp(arg, "none")) {
        return "AcmePaySubscriptionRefund: prorata or none";
    }
    srv_cfg(cmd)->wfe.ra.billing.sub_refund_none = !strcasecmp(arg, "none");
    srv_cfg(cmd)->pay_set |= ACP_PAY_SUB_REFUND;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1024, 16 * 1024 * 1024, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.max_body = (apr_size_t)v;
        srv_cfg(cmd)->body_set = 1;
    }
    return err;
}

static const char *set_workers(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 64, &v);
    if (!err) {
        srv_cfg(cmd)->workers = (int)v;
    }
    return err;
}

/* AcmePayEthereumRPC URL ["Header: value"]: the JSON-RPC node the chain watcher asks */
static const char *set_eth_rpc(cmd_parms *cmd, void *d, const char *url, const char *header)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);

    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        return "AcmePayEthereumRPC: the URL must start with http:// or https://";
    }
    if (header && (!strchr(header, ':') || strpbrk(header, "\r\n"))) {
        return "AcmePayEthereumRPC: the header must read \"Name: value\" on one line";
    }
    c->chain.rpc_url = url;
    c->chain.rpc_header = header;
    return NULL;
}

static const char *set_eth_number(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    int interval = cmd->info != NULL;
    const char *err = interval ? parse_int(cmd, arg, 1, 3600, &v) : parse_int(cmd, arg, 1, 1000, &v);

    if (err) {
        return err;
    }
    if (interval) {
        srv_cfg(cmd)->chain.poll_interval = (int)v;
    }
    else {
        srv_cfg(cmd)->chain.confirmations = (int)v;
    }
    return NULL;
}

static const char *set_nonce_store(cmd_parms *cmd, void *d, const char *arg)
{
    if (!strcasecmp(arg, "shm")) {
        srv_cfg(cmd)->nonce_mode = ACP_NONCE_SHM;
    }
    else if (!strcasecmp(arg, "database")) {
        srv_cfg(cmd)->nonce_mode = ACP_NONCE_DB;
    }
    else {
        return "AcmePayNonceStore: shm or database";
    }
    return NULL;
}

static const char *set_va_timeout(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 300, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.ra.va.timeout_ms = (int)v * 1000;
        srv_cfg(cmd)->timeout_set = 1;
    }
    return err;
}

static const char *set_va_limit(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 64, &v);

    if (!err && cmd->info) {
        srv_cfg(cmd)->wfe.ra.va.max_host_conns = (int)v;
    }
    else if (!err) {
        srv_cfg(cmd)->va_per_account = (int)v;
    }
    return err;
}

static const char *add_va_allow(cmd_parms *cmd, void *d, const char *arg)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    acp_va_cidr_t cidr;
    const char *err = acp_va_cidr_parse(cmd->pool, arg, &cidr);
    apr_array_header_t *a;

    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    a = (apr_array_header_t *)c->wfe.ra.va.allow;
    if (!a) {
        a = apr_array_make(cmd->pool, 4, sizeof(acp_va_cidr_t));
        c->wfe.ra.va.allow = a;
    }
    APR_ARRAY_PUSH(a, acp_va_cidr_t) = cidr;
    return NULL;
}

/* ---- billing and payment directives ------------------------------------------------ */

static const char *parse_ll(cmd_parms *cmd, const char *arg, long long lo, long long hi,
                            long long *out)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be an integer (minor units) in range",
                            cmd->cmd->name, arg);
    }
    *out = v;
    return NULL;
}

static const char *set_currency(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_CURRENCY;
    size_t i, n = strlen(arg);
    if (n != 3) {
        return "AcmePayCurrency: a three-letter ISO 4217 code, e.g. CNY";
    }
    for (i = 0; i < n; i++) {
        if (arg[i] < 'A' || arg[i] > 'Z') {
            return "AcmePayCurrency: a three-letter ISO 4217 code in capitals, e.g. CNY";
        }
    }
    srv_cfg(cmd)->wfe.ra.billing.currency = arg;
    return NULL;
}

static const char *set_price(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= cmd->info == (void *)1   ? ACP_PAY_PRICE_EXTRA
                            : cmd->info == (void *)2 ? ACP_PAY_PRICE_WILDCARD
                            : cmd->info == (void *)3 ? ACP_PAY_FREE_BALANCE
                                                     : ACP_PAY_PRICE;
    acp_price_cfg_t *pr = &srv_cfg(cmd)->wfe.ra.billing.price;
    long long *field = cmd->info == (void *)1   ? &pr->per_extra_name
                       : cmd->info == (void *)2 ? &pr->per_wildcard
                       : cmd->info == (void *)3 ? &srv_cfg(cmd)->wfe.ra.billing.free_balance
                                                : &pr->base;
    return parse_ll(cmd, arg, 0, 1000000000000LL, field);
}

/* AcmePayFreeBalanceLimit COUNT SECONDS: welcome credits per client address and window
 * for accounts without EAB (COUNT 0: none) */
static const char *set_free_limit(cmd_parms *cmd, void *d, const char *count,
                                  const char *period)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_FREE_LIMIT;
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    long long c = 0, s = 0;
    if (parse_ll(cmd, count, 0, 1000000, &c) || parse_ll(cmd, period, 60, 366LL * 86400, &s)) {
        return "AcmePayFreeBalanceLimit: a count (0..1000000) and a period in seconds "
               "(60..31622400), e.g. 1 86400";
    }
    b->free_limit = c;
    b->free_period = s;
    return NULL;
}

static const char *set_window(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_REISSUE_WINDOW;
    char *end = NULL;
    long long v = strtoll(arg, &end, 10), mul = 1;
    if (end && *end == 'd' && end[1] == '\0') {
        mul = 86400;
    }
    else if (end && *end == 'h' && end[1] == '\0') {
        mul = 3600;
    }
    else if (end && *end == 's' && end[1] == '\0') {
        mul = 1;
    }
    else if (!end || *end) {
        return "AcmePayReissueWindow: a duration such as 30d, 12h or 3600s";
    }
    if (v < 0 || v > 3650) {
        if (mul != 1 || v < 0) {
            return "AcmePayReissueWindow: out of range";
        }
    }
    srv_cfg(cmd)->wfe.ra.billing.reissue_window = v * mul;
    return NULL;
}

static const char *set_seconds(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= cmd->info ? ACP_PAY_RETRY_AFTER : ACP_PAY_SIGN_TIMEOUT;
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 3600, &v);
    if (err) {
        return err;
    }
    if (cmd->info) {
        srv_cfg(cmd)->wfe.retry_after = (int)v;
    }
    else {
        srv_cfg(cmd)->wfe.sign_timeout_ms = (int)v * 1000;
    }
    return NULL;
}

/* AcmePayProfile NAME DAYS PRICE "description" [extra=MINOR] [wildcard=MINOR] [term=Nd|Nh]
 *                [ov] */
static const char *add_profile(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    acp_profile_t *prof;
    long v = 0;
    const char *err;
    int i;

    if (argc < 4) {
        return "AcmePayProfile NAME DAYS PRICE \"description\" [extra=MINOR] [wildcard=MINOR] "
               "[term=DAYSd|HOURSh] [ov]";
    }
    if (!acp_profile_name_ok(argv[0])) {
        return "AcmePayProfile: a NAME of letters, digits, '.', '_' or '-' (at most 64)";
    }
    if (c->wfe.ra.profiles && acp_profile_find(c->wfe.ra.profiles, argv[0])) {
        return apr_psprintf(cmd->pool, "AcmePayProfile: '%s' is defined twice", argv[0]);
    }
    prof = apr_pcalloc(cmd->pool, sizeof(*prof));
    prof->name = argv[0];
    prof->description = argv[3];
    if ((err = parse_int(cmd, argv[1], 1, 3650, &v))) {
        return err;
    }
    prof->days = (int)v;
    if ((err = parse_int(cmd, argv[2], 0, 1000000000L, &v))) {
        return err;
    }
    prof->price.base = v;
    /* surcharges: the global ones unless the profile names its own (resolved at start) */
    prof->price.per_extra_name = -1;
    prof->price.per_wildcard = -1;
    for (i = 4; i < argc; i++) {
        long long *dst = NULL;
        const char *val = NULL;
        if (!strncmp(argv[i], "extra=", 6)) {
            dst = &prof->price.per_extra_name;
            val = argv[i] + 6;
        }
        else if (!strncmp(argv[i], "wildcard=", 9)) {
            dst = &prof->price.per_wildcard;
            val = argv[i] + 9;
        }
        else if (!strcmp(argv[i], "ov")) {
            /* organization-validated: only for a holder with a current vetting */
            prof->ov = 1;
            continue;
        }
        else if (!strncmp(argv[i], "term=", 5)) {
            /* sold as a subscription: term=365d (days) or term=12h (hours) */
            const char *t = argv[i] + 5;
            size_t tl = strlen(t);
            long unit = tl > 1 && t[tl - 1] == 'd' ? 86400 : tl > 1 && t[tl - 1] == 'h' ? 3600 : 0;
            if (!unit) {
                return "AcmePayProfile: term=DAYSd or term=HOURSh (e.g. term=365d)";
            }
            if ((err = parse_int(cmd, apr_pstrndup(cmd->pool, t, tl - 1), 1, 3650L * 24, &v))) {
                return err;
            }
            prof->term = (long long)v * unit;
            if (prof->term > 3650LL * 86400) {
                return "AcmePayProfile: term at most 3650d";
            }
            continue;
        }
        else {
            return apr_psprintf(cmd->pool, "AcmePayProfile: unknown option '%s'", argv[i]);
        }
        if ((err = parse_int(cmd, val, 0, 1000000000L, &v))) {
            return err;
        }
        *dst = v;
    }
    if (!c->wfe.ra.profiles) {
        c->wfe.ra.profiles = apr_array_make(cmd->pool, 4, sizeof(acp_profile_t *));
    }
    APR_ARRAY_PUSH(c->wfe.ra.profiles, acp_profile_t *) = prof;
    return NULL;
}

static const char *set_default_profile(cmd_parms *cmd, void *d, const char *arg)
{
    if (!acp_profile_name_ok(arg)) {
        return "AcmePayDefaultProfile: a profile NAME";
    }
    srv_cfg(cmd)->wfe.ra.default_profile = arg;
    return NULL;
}

static const char *set_ov_vetting_days(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, 3650, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.ra.ov_vetting_days = (int)v;
    }
    return err;
}

static const char *set_ov_contact_url(cmd_parms *cmd, void *d, const char *arg)
{
    if (strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7) && strncmp(arg, "mailto:", 7)) {
        return "AcmePayOVContactURL: an http(s):// or mailto: URL";
    }
    srv_cfg(cmd)->wfe.ra.ov_contact_url = arg;
    return NULL;
}

static const char *set_ari_retry(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 60, 7 * 86400, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.ari.retry_after = (int)v;
    }
    return err;
}

static const char *set_ari_url(cmd_parms *cmd, void *d, const char *arg)
{
    if (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0) {
        return "AcmePayARIExplanationURL: an http(s) URL";
    }
    srv_cfg(cmd)->wfe.ari.explanation_url = arg;
    return NULL;
}

static const char *set_crl_url(cmd_parms *cmd, void *d, const char *arg)
{
    const char *at = strstr(arg, "{shard}");
    if ((strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) || !at ||
        strstr(at + 1, "{shard}") || strpbrk(arg, " \t\"<>")) {
        return "AcmePayCRLURL: an http URL naming the shard once, e.g. "
               "http://ca.example/acme/crl/{shard}";
    }
    srv_cfg(cmd)->wfe.ra.crl.url = arg;
    return NULL;
}

static const char *set_crl_shards(cmd_parms *cmd, void *d, const char *arg)
{
    long v = 0;
    const char *err = parse_int(cmd, arg, 1, ACP_CRL_SHARDS_MAX, &v);
    if (!err) {
        srv_cfg(cmd)->wfe.ra.crl.shards = (int)v;
    }
    return err;
}

static const char *set_crl_lifetime(cmd_parms *cmd, void *d, const char *arg)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10), mul = 1;
    if (end && *end == 'd' && end[1] == '\0') {
        mul = 86400;
    }
    else if (end && *end == 'h' && end[1] == '\0') {
        mul = 3600;
    }
    else if (end && *end == 's' && end[1] == '\0') {
        mul = 1;
    }
    else if (!end || end == arg || *end) {
        return "AcmePayCRLLifetime: a duration such as 7d, 36h or 600s";
    }
    /* at least a minute; at most 10 days (the Baseline Requirements' bound) */
    if (v <= 0 || v * mul < 60 || v * mul > 10 * 86400) {
        return "AcmePayCRLLifetime: between 60s and 10d";
    }
    srv_cfg(cmd)->wfe.ra.crl.lifetime = (int)(v * mul);
    return NULL;
}

static const char *set_payment_url(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_URL;
    if (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0) {
        return "AcmePayPaymentURL: an http(s) URL template containing {invoice}";
    }
    srv_cfg(cmd)->wfe.ra.billing.payment_url = arg;
    return NULL;
}

static const char *set_invoice_command(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_INVOICE_COMMAND;
    srv_cfg(cmd)->wfe.ra.billing.invoice_command = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static const char *set_key_file(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->key_file = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static const char *set_sign_command(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->sign_command = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static const char *set_ethereum(cmd_parms *cmd, void *d, const char *addr, const char *chain,
                                const char *wei)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_ETHEREUM;
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    long long c = 0;
    const char *q;
    if (!acp_eth_address_valid(addr)) {
        return apr_psprintf(cmd->pool,
                            "AcmePayEthereum: '%s' is not an EIP-55 checksummed address "
                            "(expected %s)",
                            addr, acp_eth_checksum(cmd->pool, addr) ? acp_eth_checksum(cmd->pool, addr)
                                                                    : "0x + 40 hex digits");
    }
    if (parse_ll(cmd, chain, 1, 1LL << 53, &c)) {
        return "AcmePayEthereum: the chain id must be a positive integer";
    }
    for (q = wei; *q; q++) {
        if (*q < '0' || *q > '9') {
            return "AcmePayEthereum: wei per minor unit must be a decimal integer";
        }
    }
    if (!*wei || strlen(wei) > 40) {
        return "AcmePayEthereum: wei per minor unit must be a decimal integer";
    }
    b->eth_address = addr;
    b->eth_chain = c;
    b->eth_wei_per_minor = wei;
    return NULL;
}

/* AcmePayEthereumToken SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR (repeatable) */
static const char *set_eth_token(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    acp_eth_token_t *t;
    const char *err;
    int i;

    if (argc != 4) {
        return "AcmePayEthereumToken: SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR";
    }
    err = acp_eth_token_check(argv[0], argv[1], argv[2], argv[3]);
    if (err) {
        return apr_pstrcat(cmd->pool, "AcmePayEthereumToken ", argv[0], ": ", err, NULL);
    }
    if (!(srv_cfg(cmd)->pay_set & ACP_PAY_ETH_TOKENS) || !b->eth_tokens) {
        b->eth_tokens = apr_array_make(cmd->pool, 2, sizeof(acp_eth_token_t));
    }
    srv_cfg(cmd)->pay_set |= ACP_PAY_ETH_TOKENS;
    for (i = 0; i < b->eth_tokens->nelts; i++) {
        const acp_eth_token_t *o = &APR_ARRAY_IDX(b->eth_tokens, i, acp_eth_token_t);
        if (!strcasecmp(o->symbol, argv[0]) || !strcasecmp(o->contract, argv[1])) {
            return apr_pstrcat(cmd->pool, "AcmePayEthereumToken ", argv[0],
                               ": the symbol or the contract is configured twice", NULL);
        }
    }
    t = apr_array_push(b->eth_tokens);
    t->symbol = argv[0];
    t->contract = argv[1];
    t->decimals = (int)strtol(argv[2], NULL, 10);
    t->units_per_minor = argv[3];
    return NULL;
}

static const char *set_webhook_secret(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_WEBHOOK_SECRET;
    acp_srv_cfg_t *c = srv_cfg(cmd);
    apr_file_t *f = NULL;
    apr_size_t n = sizeof(c->wfe.webhook_secret);
    const char *path;

    if (strncmp(arg, "file:", 5) != 0) {
        return "AcmePayWebhookSecret: file:/path/to/secret (keep secrets out of the config)";
    }
    path = ap_server_root_relative(cmd->pool, arg + 5);
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AcmePayWebhookSecret: cannot read %s", path);
    }
    apr_file_read(f, c->wfe.webhook_secret, &n);
    apr_file_close(f);
    while (n > 0 && (c->wfe.webhook_secret[n - 1] == '\n' || c->wfe.webhook_secret[n - 1] == '\r' ||
                     c->wfe.webhook_secret[n - 1] == ' ')) {
        n--;
    }
    if (n < 16 || n >= sizeof(c->wfe.webhook_secret)) {
        return "AcmePayWebhookSecret: the secret must be 16 to 127 bytes";
    }
    c->wfe.webhook_secret_len = n;
    return NULL;
}

static const char *set_test_mode(cmd_parms *cmd, void *d, int flag)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_TEST_MODE;
    srv_cfg(cmd)->wfe.test_mode = flag;
    return NULL;
}

static const command_rec acp_cmds[] = {
    AP_INIT_TAKE1("AcmePayCurrency", set_currency, NULL, RSRC_CONF,
                  "ISO 4217 currency of every price and balance (default CNY)"),
    AP_INIT_TAKE1("AcmePayPrice", set_price, NULL, RSRC_CONF,
                  "price of a certificate in minor units (default 0: free)"),
    AP_INIT_TAKE1("AcmePayPricePerExtraName", set_price, (void *)1, RSRC_CONF,
                  "added for every name beyond the first, minor units"),
    AP_INIT_TAKE1("AcmePayPriceWildcard", set_price, (void *)2, RSRC_CONF,
                  "added for every wildcard name, minor units"),
    AP_INIT_TAKE1("AcmePayFreeBalance", set_price, (void *)3, RSRC_CONF,
                  "welcome credit, minor units (default 0): per EAB credential, and for "
                  "accounts without EAB within AcmePayFreeBalanceLimit"),
    AP_INIT_TAKE2("AcmePayFreeBalanceLimit", set_free_limit, NULL, RSRC_CONF,
                  "welcome credits per client address and period in seconds for accounts "
                  "without EAB (default 1 86400; 0: none)"),
    AP_INIT_TAKE1("AcmePayReissueWindow", set_window, NULL, RSRC_CONF,
                  "same holder + same names within this window reissue free (default 30d)"),
    AP_INIT_TAKE1("AcmePaySignTimeout", set_seconds, NULL, RSRC_CONF,
                  "seconds finalize waits for a slow signer before answering processing (3)"),
    AP_INIT_TAKE1("AcmePayRetryAfter", set_seconds, (void *)1, RSRC_CONF,
                  "Retry-After seconds on a processing order (default 30)"),
    AP_INIT_TAKE1("AcmePayPaymentURL", set_payment_url, NULL, RSRC_CONF,
                  "payment link template with {invoice} (default: built-in invoice page)"),
    AP_INIT_TAKE1("AcmePayInvoiceCommand", set_invoice_command, NULL, RSRC_CONF,
                  "program printing a provider checkout URL for the QR (invoice amount cur)"),
    AP_INIT_TAKE3("AcmePayEthereum", set_ethereum, NULL, RSRC_CONF,
                  "EIP-55 address, chain id, wei per minor unit: adds an EIP-681 URI"),
    AP_INIT_TAKE1("AcmePayWebhookSecret", set_webhook_secret, NULL, RSRC_CONF,
                  "file:/path holding the payment webhook's HMAC secret"),
    AP_INIT_RAW_ARGS("AcmePayStripe", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "secret-key=file:/path webhook-secret=file:/path [api=URL] "
                     "[methods=card,alipay,…]: Stripe Checkout, notifications at <base>/pay/stripe"),
    AP_INIT_RAW_ARGS("AcmePayAlipay", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "app-id=… private-key=file:/path alipay-public-key=file:/path "
                     "[gateway=URL]: Alipay face-to-face (alipay.trade.precreate), "
                     "notifications at <base>/pay/alipay"),
    AP_INIT_RAW_ARGS("AcmePayWeChatPay", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "mchid=… appid=… serial=… private-key=file:/path apiv3-key=file:/path "
                     "platform-cert=file:/path [api=URL]: WeChat Pay API v3 Native pay, "
                     "notifications at <base>/pay/wechat"),
    AP_INIT_FLAG("AcmePayTestMode", set_test_mode, NULL, RSRC_CONF,
                 "adds a 'Simulate payment' button to invoice pages (default off)"),
    AP_INIT_TAKE1("AcmePayInvoiceTemplate", acp_httpd_set_invoice_template, NULL, RSRC_CONF,
                  "HTML file branding the invoice page ({{content}} and other placeholders; "
                  "default: the built-in layout)"),
    AP_INIT_TAKE1("AcmePaySignCommand", set_sign_command, NULL, RSRC_CONF,
                  "sign with this program instead of AcmePayCA's key (CSR in, chain out)"),
    AP_INIT_TAKE1("AcmePayKeyFile", set_key_file, NULL, RSRC_CONF,
                  "32-byte key (64 hex digits) sealing EAB keys and the nonce key in the "
                  "database; created 0640 at start-up when missing"),
    AP_INIT_TAKE2("AcmePayCA", set_ca, NULL, RSRC_CONF,
                  "issuing CA certificate (PEM, chain may follow) and its private key"),
    AP_INIT_TAKE1("AcmePayResolver", set_resolver, NULL, RSRC_CONF,
                  "DNS server (ip:port) used for validation, or 'system'"),
    AP_INIT_TAKE1("AcmePayHTTP01Port", set_port, NULL, RSRC_CONF,
                  "port http-01 challenges are checked on (default 80)"),
    AP_INIT_TAKE1("AcmePayTLSALPN01Port", set_port, (void *)1, RSRC_CONF,
                  "port tls-alpn-01 challenges are checked on (default 443)"),
    AP_INIT_FLAG("AcmePayEABRequired", set_eab, NULL, RSRC_CONF,
                 "require External Account Binding on newAccount (default off)"),
    AP_INIT_TAKE1("AcmePayTermsOfService", set_tos, NULL, RSRC_CONF,
                  "terms of service URL clients must agree to"),
    AP_INIT_TAKE1("AcmePayWebsite", set_website, NULL, RSRC_CONF,
                  "website URL shown in the directory meta"),
    AP_INIT_ITERATE("AcmePayCAAIdentities", add_caa, NULL, RSRC_CONF,
                    "CAA issuer domain names shown in the directory meta"),
    AP_INIT_TAKE1("AcmePayCertValidity", set_validity, NULL, RSRC_CONF,
                  "certificate lifetime in days (default 90)"),
    AP_INIT_TAKE_ARGV("AcmePayMaxValidity", set_max_validity, NULL, RSRC_CONF,
                      "the longest certificate by issue date: schedule (the CA/Browser Forum's, "
                      "the default), off, a DURATION, or YYYY-MM-DD=DURATION steps"),
    AP_INIT_TAKE1("AcmePaySubscriptionRenewWindow", set_sub_window, NULL, RSRC_CONF,
                  "a finalize this near a subscription's end buys the next one from its end "
                  "(default 30d, at most half the term)"),
    AP_INIT_TAKE1("AcmePaySubscriptionRefund", set_sub_refund, NULL, RSRC_CONF,
                  "what cancelling a subscription gives back: prorata (default) or none"),
    AP_INIT_TAKE1("AcmePayMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest accepted request body in bytes (default 65536)"),
    AP_INIT_TAKE1("AcmePayWorkers", set_workers, NULL, RSRC_CONF,
                  "background worker threads per child (default 2)"),
    AP_INIT_TAKE_ARGV("AcmePayEthereumToken", set_eth_token, NULL, RSRC_CONF,
                      "SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR: an ERC-20 token payers may "
                      "use too (repeatable); UNITS_PER_MINOR token base units make one minor "
                      "unit of AcmePayCurrency"),
    AP_INIT_TAKE12("AcmePayEthereumRPC", set_eth_rpc, NULL, RSRC_CONF,
                   "JSON-RPC URL of an Ethereum node the chain watcher asks, and optionally "
                   "one header line such as \"Authorization: Bearer …\" (default: no watcher)"),
    AP_INIT_TAKE1("AcmePayEthereumConfirmations", set_eth_number, NULL, RSRC_CONF,
                  "confirmations a transfer needs before it is credited (default 12)"),
    AP_INIT_TAKE1("AcmePayEthereumPollInterval", set_eth_number, (void *)1, RSRC_CONF,
                  "seconds between the chain watcher's polls (default 15)"),
    AP_INIT_TAKE1("AcmePayNonceStore", set_nonce_store, NULL, RSRC_CONF,
                  "where spent nonces are kept: shm (one host) or database (several nodes); "
                  "default shm with sqlite3, database with pgsql"),
    AP_INIT_TAKE1("AcmePayValidationTimeout", set_va_timeout, NULL, RSRC_CONF,
                  "seconds one challenge check may take (default 10)"),
    AP_INIT_TAKE1("AcmePayValidationPerAccount", set_va_limit, NULL, RSRC_CONF,
                  "validations one account may have running at once in a child (default: "
                  "half of AcmePayWorkers, at least 1)"),
    AP_INIT_TAKE1("AcmePayValidationPerHost", set_va_limit, (void *)1, RSRC_CONF,
                  "validation connections to one address (and checks of one name) at once "
                  "in a child (default 2)"),
    AP_INIT_ITERATE("AcmePayValidationAllow", add_va_allow, NULL, RSRC_CONF,
                    "address ranges (CIDR) the validator may connect to although they are "
                    "IANA special-purpose (loopback, RFC 1918 …); default none"),
    AP_INIT_TAKE_ARGV("AcmePayProfile", add_profile, NULL, RSRC_CONF,
                      "NAME DAYS PRICE \"description\" [extra=MINOR] [wildcard=MINOR]: a "
                      "product clients choose with newOrder's profile"),
    AP_INIT_TAKE1("AcmePayDefaultProfile", set_default_profile, NULL, RSRC_CONF,
                  "the profile of an order that names none (default: the first)"),
    AP_INIT_TAKE1("AcmePayOVVettingDays", set_ov_vetting_days, NULL, RSRC_CONF,
                  "days an organization vetting stays current (default 397)"),
    AP_INIT_TAKE1("AcmePayOVContactURL", set_ov_contact_url, NULL, RSRC_CONF,
                  "where a customer gets the organization vetted (OV problems link it)"),
    AP_INIT_TAKE1("AcmePayARIRetryAfter", set_ari_retry, NULL, RSRC_CONF,
                  "seconds between renewalInfo polls (Retry-After, default 21600)"),
    AP_INIT_TAKE1("AcmePayARIExplanationURL", set_ari_url, NULL, RSRC_CONF,
                  "explanationURL of a window staff moved (default: a built-in note page)"),
    AP_INIT_TAKE12("AcmePayLimitAccountsPerAddress", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, accounts), RSRC_CONF,
                   "new accounts per client address (IPv4, IPv6 /64) per period, N|off [3h]"),
    AP_INIT_TAKE12("AcmePayLimitOrdersPerAccount", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, orders), RSRC_CONF,
                   "new orders per account per period, N|off [3h] (default 300 3h)"),
    AP_INIT_TAKE12("AcmePayLimitPendingAuthz", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, pending), RSRC_CONF,
                   "pending authorizations per account, N|off (default 300)"),
    AP_INIT_TAKE12("AcmePayLimitFailedValidations", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, failed), RSRC_CONF,
                   "failed validations per account per name per period, N|off [1h] (default 5 1h)"),
    AP_INIT_TAKE_ARGV("AcmePayLimitEAB", acp_httpd_set_limit_eab, NULL, RSRC_CONF,
                      "an EAB key's own limits: kid accounts=N[/period] orders=N[/period] "
                      "pending=N failed=N[/period]"),
    AP_INIT_TAKE1("AcmePayCRLURL", set_crl_url, NULL, RSRC_CONF,
                  "crlDistributionPoints URL of issued certificates, {shard} replaced by the "
                  "shard number (default: none, no CRLs)"),
    AP_INIT_TAKE1("AcmePayCRLShards", set_crl_shards, NULL, RSRC_CONF,
                  "number of CRL shards, certificates spread by serial (default 16)"),
    AP_INIT_TAKE1("AcmePayCRLLifetime", set_crl_lifetime, NULL, RSRC_CONF,
                  "nextUpdate - thisUpdate of a CRL (default 7d)"),
    {NULL}};

/* ---- start-up --------------------------------------------------------------------- */

/* mod_dbd keeps DBDriver/DBDParams in its server config, whose first member is the
 * public dbd_cfg_t* (mod_dbd.c, httpd 2.4). We read them to migrate the schema
 * before mod_dbd opens connections that prepare statements against it. */
static const dbd_cfg_t *dbd_config(server_rec *s)
{
    module *m = ap_find_linked_module("mod_dbd.c");
    void *svr;
    if (!m) {
        return NULL;
    }
    svr = ap_get_module_config(s->module_config, m);
    return svr ? *(dbd_cfg_t **)svr : NULL;
}

const char *acp_httpd_dbd_params(server_rec *s)
{
    const dbd_cfg_t *dc = dbd_config(s);
    return dc ? dc->params : NULL;
}

const dbd_cfg_t *acp_httpd_dbd_config(server_rec *s)
{
    return dbd_config(s);
}

/* Legacy plaintext EAB keys sealed under AcmePayKeyFile (still readable until then). */
static int reseal_secrets(apr_pool_t *ptemp, server_rec *s, acp_db_t *db)
{
    int n = 0;

    if (!db->secrets) {
        return OK;
    }
    if (acp_secret_reseal_all(db, ptemp, db->secrets, &n) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ACPLOGNO(03412) "cannot seal the stored EAB keys under AcmePayKeyFile");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (n > 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ACPLOGNO(03413) "sealed %d EAB key(s) stored in clear", n);
    }
    return OK;
}

static int setup_crl(apr_pool_t *pconf, server_rec *s, acp_srv_cfg_t *c);

static int setup_server(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                        acp_srv_cfg_t *c)
{
    int rv;
    APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    const dbd_cfg_t *dc = dbd_config(s);
    const char *err = NULL;
    acp_db_t *db = NULL;

    if (!prepare || !dc || !dc->name || !dc->params) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ACPLOGNO(01001) "mod_acme_pay needs mod_dbd with DBDriver and DBDParams");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!c->ca_cert || !c->ca_key) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ACPLOGNO(01002) "AcmePayCA <cert> <key> is required");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (acp_httpd_secrets_load(pconf, s, c->key_file) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    c->db_driver = dc->name;
    c->db_params = dc->params;
    if (acp_httpd_db_prepare(ptemp, c, &db, &err) != APR_SUCCESS) {
        /* other sites of this Apache keep running: start degraded (acp_httpd_db.c) */
        acp_httpd_db_degraded(s, c, err);
    }
    else if (reseal_secrets(ptemp, s, db) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!strcmp(dc->name, "sqlite3") && !db_mutex && db_mutex_create(s, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ACPLOGNO(01008) "cannot create the database write lock");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->nonce_mode == ACP_NONCE_SHM ||
        (c->nonce_mode == 0 && !strcmp(dc->name, "sqlite3"))) {
        if (!nonce_store &&
            (apr_shm_create(&nonce_shm, acp_nonce_store_size(), NULL, pconf) != APR_SUCCESS ||
             !(nonce_store = acp_nonce_store_init(apr_shm_baseaddr_get(nonce_shm))))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         ACPLOGNO(01009) "cannot create the shared nonce table");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        c->wfe.nonce_store = nonce_store;
        c->wfe.nonce_epoch = NULL;
    }
    else {
        apr_uint32_t e = 0;
        c->wfe.nonce_store = NULL;
        if (!nonce_epoch &&
            (apr_shm_create(&epoch_shm, 64, NULL, pconf) != APR_SUCCESS ||
             !(nonce_epoch = apr_shm_baseaddr_get(epoch_shm)))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         ACPLOGNO(04800) "cannot create the shared nonce epoch");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* without the database now: 0, and the first POST moves to the live epoch */
        if (db && acp_sa_nonce_epoch(db, ptemp, &e) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         ACPLOGNO(04801) "cannot read or start the nonce epoch: the first "
                                         "request will try again");
        }
        __atomic_store_n(nonce_epoch, e, __ATOMIC_RELEASE);
        c->wfe.nonce_epoch = nonce_epoch;
    }
    if (!strcmp(dc->name, "sqlite3")) {
        acp_httpd_sqlite_secure(ptemp, s, dc->params);
    }
    if (c->sign_command) {
        if (acp_ca_command_create(pconf, c->sign_command, 120, &c->wfe.ra.signer, &err) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ACPLOGNO(01006) "AcmePaySignCommand: %s",
                         err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else if (acp_ca_local_create(pconf, c->ca_cert, c->ca_key, c->wfe.ra.validity_days,
                                 &c->wfe.ra.signer, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ACPLOGNO(01005) "AcmePayCA: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    {
        /* a configured lifetime beyond today's maximum is capped at issuance: say so once */
        long long max = acp_validity_max(&c->wfe.ra.max_validity, acp_now());
        int i, longest = c->wfe.ra.validity_days;
        for (i = 0; c->wfe.ra.profiles && i < c->wfe.ra.profiles->nelts; i++) {
            const acp_profile_t *pr = APR_ARRAY_IDX(c->wfe.ra.profiles, i, acp_profile_t *);
            if (pr->days > longest) {
                longest = pr->days;
            }
        }
        if (max > 0 && (long long)longest * 86400 > max) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         ACPLOGNO(04500) "certificates are capped at %s today (AcmePayMaxValidity); "
                         "a configured lifetime of %d days is shortened",
                         acp_validity_text(ptemp, max), longest);
        }
    }
    rv = setup_crl(pconf, s, c);
    if (rv != OK) {
        return rv;
    }
    acp_httpd_db_log_ready(ptemp, s, c);
    return OK;
}

/* CRLs: the issuing signer names the shard's URL in every certificate; the local CA
 * (AcmePayCA) signs the CRLs, also when AcmePaySignCommand issues. */
static int setup_crl(apr_pool_t *pconf, server_rec *s, acp_srv_cfg_t *c)
{
    acp_crl_cfg_t *crl = &c->wfe.ra.crl;
    const char *err = NULL;

    if (!crl->shards) {
        crl->shards = ACP_CRL_SHARDS_DEFAULT;
    }
    if (!crl->lifetime) {
        crl->lifetime = ACP_CRL_LIFETIME_DEFAULT;
    }
    crl->signer = NULL;
    if (!crl->url) {
        return OK;
    }
    acp_ca_set_crl(c->wfe.ra.signer, crl->url, crl->shards);
    if (!c->sign_command) {
        crl->signer = c->wfe.ra.signer;
        return OK;
    }
    if (acp_ca_local_create(pconf, c->ca_cert, c->ca_key, c->wfe.ra.validity_days, &crl->signer,
                            &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ACPLOGNO(04003) "AcmePayCRLURL with AcmePaySignCommand: the CRLs are "
                                     "signed with the AcmePayCA key, which is unusable: %s",
                     err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int acp_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    db_mutex = NULL; /* the old ones went with the previous generation's pool */
    acp_httpd_crl_site(NULL, NULL);
    acp_httpd_secrets_reset();
    nonce_shm = NULL;
    nonce_store = NULL;
    epoch_shm = NULL;
    nonce_epoch = NULL;
    acp_httpd_db_state_reset();
    return ap_mutex_register(pconf, DB_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static int setup_site(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *sp, acp_srv_cfg_t *c,
                      acp_site_t *site);

static int acp_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    server_rec *sp;
    acp_site_t *site;
    int rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    acp_va_global_init();
    acp_httpd_db_state_create(pconf, s);
    site = acp_site_scan(ptemp, s);
    for (sp = s; sp; sp = sp->next) {
        acp_srv_cfg_t *c = ap_get_module_config(sp->module_config, &acme_pay_module);
        if (!c->ca_cert || !acp_site_active(site, s, sp)) {
            continue; /* not an ACME server: its requests never reach the CA */
        }
        rv = setup_site(pconf, ptemp, sp, c, site);
        if (rv != OK) {
            return rv;
        }
    }
    return OK;
}

/* One ACME server: the module-wide settings (database, CA, nonce key) are set up once
 * and shared by every server that states the same ones; statements are prepared on
 * each connection when it first runs them (acp_sa.c). */
static int setup_site(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *sp, acp_srv_cfg_t *c,
                      acp_site_t *site)
{
    const dbd_cfg_t *dc = dbd_config(sp);
    acp_srv_cfg_t *shared;
    int conflict = 0, rv;

    acp_site_check_https(site, sp);
    acp_site_check_billing(site, sp, c);
    shared = acp_site_shared(site, sp, c, dc ? dc->name : NULL, dc ? dc->params : NULL,
                             &conflict);
    if (conflict) {
        c->wfe.ra.signer = NULL;
        return OK;
    }
    if (shared) {
        c->wfe.ra.signer = shared->wfe.ra.signer;
        memcpy(c->wfe.nonce_key, shared->wfe.nonce_key, sizeof(c->wfe.nonce_key));
        c->wfe.nonce_store = shared->wfe.nonce_store;
        c->wfe.nonce_epoch = shared->wfe.nonce_epoch;
        /* the database too: a start without it recovers every server (acp_httpd_db.c) */
        c->db_driver = shared->db_driver;
        c->db_params = shared->db_params;
        c->db_ready = shared->db_ready;
        c->db_version = shared->db_version;
        c->wfe.ra.crl = shared->wfe.ra.crl;
    }
    else {
        rv = setup_server(pconf, ptemp, sp, c);
        if (rv != OK) {
            return rv;
        }
        acp_site_first(site, sp, c, dc);
        acp_httpd_crl_site(sp, c);
    }
    if (dc && dc->name && !strcmp(dc->name, "sqlite3")) {
        acp_site_prepare(site, sp, dc);
    }
    return OK;
}

static void acp_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *sp;

    if (db_mutex &&
        apr_global_mutex_child_init(&db_mutex, apr_global_mutex_lockfile(db_mutex), pchild) !=
            APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     ACPLOGNO(02003) "cannot attach to the database write lock");
        db_mutex = NULL;
    }
    for (sp = s; sp; sp = sp->next) {
        acp_srv_cfg_t *c = ap_get_module_config(sp->module_config, &acme_pay_module);
        if (c->wfe.ra.signer) {
            acp_httpd_workers_start(pchild, sp, c);
            break; /* one worker set per child serves every vhost's jobs from one DB */
        }
    }
}

static void acp_register_hooks(apr_pool_t *p)
{
    /* before mod_dbd's post_config: the schema is migrated before it connects */
    static const char *const succ[] = {"mod_dbd.c", NULL};
    ap_hook_pre_config(acp_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(acp_post_config, NULL, succ, APR_HOOK_MIDDLE);
    ap_hook_check_config(acp_httpd_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(acp_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    acp_httpd_request_hooks();
    acp_httpd_status_hooks();
}

AP_DECLARE_MODULE(acme_pay) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_srv_cfg,
    merge_srv_cfg,
    acp_cmds,
    acp_register_hooks,
    AP_MODULE_FLAG_NONE,
};
