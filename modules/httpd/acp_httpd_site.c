/* Where the CA lives in a multi-site Apache: which servers carry "SetHandler acme-pay",
 * whether they are reachable over plain HTTP, one set of module-wide settings (database,
 * CA, nonce key) shared by them, and mod_dbd's statement catalogue registered once per
 * database configuration (mod_dbd keeps one hash per configuration, shared by every
 * virtual host that sets no DBD directive: registering it per vhost logs AH02653 for
 * every label). */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_listen.h"
#include "util_cfgtree.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include <apr_hash.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_util.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

struct acp_site_t {
    apr_pool_t *p;
    apr_hash_t *servers;   /* server_rec* -> "file:line" of its SetHandler acme-pay */
    const char *main_at;   /* "file:line" of a SetHandler acme-pay outside any vhost */
    int found;             /* any SetHandler acme-pay at all */
    acp_srv_cfg_t *first;  /* the first server set up: the module-wide settings */
    server_rec *first_s;
    const void *first_dbd;
    apr_hash_t *prepared;  /* dbd_cfg_t* already given the catalogue (SQLite) */
};

static int is_acme_handler(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args, *w;

    if (strcasecmp(d->directive, "SetHandler") != 0 || !args) {
        return 0;
    }
    w = ap_getword_conf(p, &args);
    return w && !strcmp(w, "acme-pay");
}

/* The <VirtualHost> a directive sits in, or NULL at server level. */
static const ap_directive_t *enclosing_vhost(const ap_directive_t *d)
{
    for (d = d->parent; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            return d;
        }
    }
    return NULL;
}

static server_rec *server_of(server_rec *s, const ap_directive_t *vh)
{
    server_rec *sp;

    for (sp = s->next; sp; sp = sp->next) {
        if (sp->defn_name && vh->filename && !strcmp(sp->defn_name, vh->filename) &&
            (int)sp->defn_line_number == vh->line_num) {
            return sp;
        }
    }
    return NULL;
}

static void scan(acp_site_t *site, server_rec *s, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (is_acme_handler(site->p, d)) {
            const ap_directive_t *vh = enclosing_vhost(d);
            const char *at = apr_psprintf(site->p, "%s:%d", d->filename ? d->filename : "?",
                                          d->line_num);
            server_rec *sp = vh ? server_of(s, vh) : NULL;
            site->found = 1;
            if (!vh) {
                site->main_at = site->main_at ? site->main_at : at;
            }
            else if (sp) {
                apr_hash_set(site->servers, sp, sizeof(sp), at);
            }
        }
        if (d->first_child) {
            scan(site, s, d->first_child);
        }
    }
}

acp_site_t *acp_site_scan(apr_pool_t *p, server_rec *s)
{
    acp_site_t *site = apr_pcalloc(p, sizeof(*site));

    site->p = p;
    site->servers = apr_hash_make(p);
    site->prepared = apr_hash_make(p);
    scan(site, s, ap_conftree);
    if (site->main_at) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     ACPLOGNO(03401) "SetHandler acme-pay at %s is outside any <VirtualHost>: "
                     "every site of this Apache answers ACME below that path. Put it in one "
                     "dedicated <VirtualHost *:443> (see conf/acme-pay.conf)",
                     site->main_at);
    }
    return site;
}

int acp_site_active(const acp_site_t *site, server_rec *s, server_rec *sp)
{
    if (site->main_at || !site->found) {
        /* server level, or set where we cannot see it (.htaccess): as before, every
         * server that inherits the module's settings may serve */
        return 1;
    }
    return apr_hash_get(site->servers, sp, sizeof(sp)) != NULL;
}

/* Does the vhost block itself say "SSLEngine on"? */
static int vhost_ssl_engine(apr_pool_t *p, server_rec *sp)
{
    const ap_directive_t *d;

    for (d = ap_conftree; d; d = d->next) {
        const ap_directive_t *c;
        if (strcasecmp(d->directive, "<VirtualHost") != 0 || !d->filename || !sp->defn_name ||
            strcmp(d->filename, sp->defn_name) != 0 || d->line_num != (int)sp->defn_line_number) {
            continue;
        }
        for (c = d->first_child; c; c = c->next) {
            const char *args = c->args;
            if (!strcasecmp(c->directive, "SSLEngine") && args &&
                !strcasecmp(ap_getword_conf(p, &args), "on")) {
                return 1;
            }
        }
    }
    return 0;
}

/* A port of this server whose listener speaks plain HTTP, or 0. */
static int plain_http_port(apr_pool_t *p, server_rec *sp)
{
    server_addr_rec *a;
    ap_listen_rec *lr;

    if (sp->server_scheme && !strcasecmp(sp->server_scheme, "https")) {
        return 0; /* ServerName https://…: TLS ends in front of Apache */
    }
    if (vhost_ssl_engine(p, sp)) {
        return 0;
    }
    for (a = sp->addrs; a; a = a->next) {
        for (lr = ap_listeners; lr; lr = lr->next) {
            if (lr->bind_addr && lr->bind_addr->port == a->host_port &&
                (!lr->protocol || strcasecmp(lr->protocol, "https") != 0)) {
                return a->host_port;
            }
        }
    }
    return 0;
}

void acp_site_check_https(acp_site_t *site, server_rec *sp)
{
    int port = plain_http_port(site->p, sp);

    if (port) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                     ACPLOGNO(03402) "the ACME virtual host %s (%s:%d) listens for plain HTTP "
                     "on port %d: ACME answers 403 there (RFC 8555 section 6.1 requires "
                     "HTTPS); give it SSLEngine on or a Listen ... https",
                     sp->server_hostname ? sp->server_hostname : "?",
                     sp->defn_name ? sp->defn_name : "?", sp->defn_line_number, port);
    }
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

const char *acp_site_where(apr_pool_t *p, server_rec *sp)
{
    if (!sp->defn_name) {
        return "the main server";
    }
    return apr_psprintf(p, "<VirtualHost> %s at %s:%d",
                        sp->server_hostname ? sp->server_hostname : "", sp->defn_name,
                        sp->defn_line_number);
}

acp_srv_cfg_t *acp_site_shared(acp_site_t *site, server_rec *sp, acp_srv_cfg_t *c,
                               const char *driver, const char *params, int *conflict)
{
    acp_srv_cfg_t *f = site->first;
    const dbd_cfg_t *fd;

    *conflict = 0;
    if (!f) {
        return NULL;
    }
    fd = site->first_dbd;
    if (!same(fd->name, driver) || !same(fd->params, params) || !same(f->ca_cert, c->ca_cert) ||
        !same(f->ca_key, c->ca_key) || !same(f->sign_command, c->sign_command)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp,
                     ACPLOGNO(03403) "%s names another database or CA than %s: one Apache "
                     "serves one CA (its workers serve one database). ACME stays off here; "
                     "state DBDriver, DBDParams and AcmePayCA once",
                     acp_site_where(site->p, sp), acp_site_where(site->p, site->first_s));
        *conflict = 1;
        return NULL;
    }
    return f;
}

void acp_site_first(acp_site_t *site, server_rec *sp, acp_srv_cfg_t *c, const void *dbd_cfg)
{
    if (!site->first) {
        site->first = c;
        site->first_s = sp;
        site->first_dbd = dbd_cfg;
    }
}

void acp_site_check_billing(acp_site_t *site, server_rec *sp, const acp_srv_cfg_t *c)
{
    const acp_billing_cfg_t *b = &c->wfe.ra.billing;
    int charges = b->price.base > 0 || b->price.per_extra_name > 0 || b->price.per_wildcard > 0;

    /* with the chain watcher, Ethereum payments are credited without the webhook */
    int watcher = c->chain.rpc_url && b->eth_address;

    /* a built-in provider (AcmePayStripe, …) takes its own notifications */
    if (charges && !c->wfe.webhook_secret_len &&
        !(b->providers && b->providers->nelts > 0)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sp,
                     ACPLOGNO(03404) "%s charges for certificates but has no "
                     "AcmePayWebhookSecret: payment notifications will be refused (404) and "
                     "no balance can be credited except by %s%s",
                     acp_site_where(site->p, sp),
                     watcher ? "the chain watcher (Ethereum payments) or acme-pay-admin"
                             : "acme-pay-admin",
                     c->wfe.test_mode ? " or the test-mode button" : "");
    }
}

/* SQLite: the catalogue goes to mod_dbd, which prepares it on every connection it opens
 * and drops a connection where that fails. A file system that was read-only when a
 * connection was opened leaves SQLite with a connection that can never write (nor open
 * its WAL); preparing at connect keeps such a connection out of the pool. Preparing costs
 * no round trip on SQLite; PostgreSQL prepares on first use (acp_sa.c). */
void acp_site_prepare(acp_site_t *site, server_rec *sp, const void *dbd_cfg)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    const acp_sa_stmt_t *st;

    if (!prepare || apr_hash_get(site->prepared, &dbd_cfg, sizeof(dbd_cfg))) {
        return;
    }
    apr_hash_set(site->prepared, apr_pmemdup(site->p, &dbd_cfg, sizeof(dbd_cfg)),
                 sizeof(dbd_cfg), (void *)1);
    for (st = acp_sa_catalogue; st->label; st++) {
        prepare(sp, st->sql, st->label);
    }
}
