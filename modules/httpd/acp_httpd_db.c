/* The database as the children see it: connections from mod_dbd with a reconnect that
 * drops a dead one, "unavailable" / "back" logged once across all children, and the
 * degraded start (no database at start-up: answer 503, migrate and read the nonce key
 * from the background workers as soon as it is reachable). */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include <apr_atomic.h>
#include <apr_optional.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_secret.h"
#include "acp_util.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

/* ---- one state for all children: log a change once ------------------------------ */

typedef struct {
    apr_uint32_t down;       /* 1 while the database is known unusable (logged) */
    apr_uint32_t down_since; /* seconds since the epoch */
    apr_uint32_t degraded;   /* 1 while a degraded start has not recovered (any child) */
    apr_uint32_t started;    /* start-up time, seconds since the epoch */
} db_state_t;

static apr_shm_t *state_shm;
static db_state_t *state;
static db_state_t local_state; /* if shared memory cannot be had: per process */

static char ready_line[512];

void acp_httpd_db_state_reset(void)
{
    ready_line[0] = '\0';
    state_shm = NULL;
    state = NULL;
}

void acp_httpd_db_state_create(apr_pool_t *pconf, server_rec *s)
{
    if (state) {
        return;
    }
    if (apr_shm_create(&state_shm, sizeof(db_state_t), NULL, pconf) == APR_SUCCESS) {
        state = apr_shm_baseaddr_get(state_shm);
        memset(state, 0, sizeof(*state));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     ACPLOGNO(03300) "no shared memory for the database state: each child "
                                     "logs database outages on its own");
        state = &local_state;
    }
    state->started = (apr_uint32_t)acp_now();
}

static db_state_t *st(void)
{
    return state ? state : &local_state;
}

/* A use of the database ended: db NULL (no connection at all) or marked unavailable
 * logs the outage once; the first use after it that committed a write logs the recovery
 * once (a read alone proves little: a full disk or a lock still lets reads through). */
void acp_httpd_db_outcome(server_rec *s, acp_db_t *db)
{
    db_state_t *t = st();

    if (!db || acp_sa_unavailable(db)) {
        if (apr_atomic_cas32(&t->down, 1, 0) == 0) {
            t->down_since = (apr_uint32_t)acp_now();
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         ACPLOGNO(03301) "database unavailable (%s): ACME requests answer 503 "
                                         "with Retry-After, background work waits; logged "
                                         "again when it is back",
                         db && db->fault ? db->fault : "no connection");
        }
        return;
    }
    if (db->committed && apr_atomic_read32(&t->down) && apr_atomic_cas32(&t->down, 0, 1) == 1) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ACPLOGNO(03302) "database back after %ld s", (long)(acp_now() -
                                                                       (long long)t->down_since));
    }
}

/* ---- connections ------------------------------------------------------------------- */

typedef struct {
    server_rec *s;
    apr_pool_t *p;
    ap_dbd_t *dbd;
} conn_t;

static void optional_fns(void)
{
    if (!dbd_open) {
        dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
        dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    }
}

/* mod_dbd's ap_dbd_open answers NULL both when it cannot connect and when the pooled
 * connection it took failed its check (it then drops it from the pool): one more try
 * tells the two apart. */
static ap_dbd_t *open_fresh(conn_t *c)
{
    int i;

    for (i = 0; i < 2; i++) {
        ap_dbd_t *d = dbd_open(c->p, c->s);
        if (d) {
            return d;
        }
    }
    return NULL;
}

static apr_status_t conn_release(void *data)
{
    conn_t *c = data;

    if (c->dbd) {
        dbd_close(c->s, c->dbd);
        c->dbd = NULL;
    }
    return APR_SUCCESS;
}

/* sa found the connection dead (a PostgreSQL restart leaves every pooled connection so,
 * and each is found only when used): take another, then hand the dead one back --
 * mod_dbd's check drops it from the pool when it comes up next. When no other can be
 * had the dead one stays (its calls fail at once) so the handle never dangles. */
static apr_status_t reconnect(acp_db_t *db, void *baton)
{
    conn_t *c = baton;
    ap_dbd_t *dead = c->dbd, *d = open_fresh(c);
    acp_db_t *fresh;

    if (!d) {
        return APR_EGENERAL;
    }
    if (dead) {
        dbd_close(c->s, dead);
    }
    c->dbd = d;
    fresh = acp_httpd_db(c->p, c->dbd);
    db->driver = fresh->driver;
    db->handle = fresh->handle;
    db->prepared = fresh->prepared;
    db->stmt_pool = fresh->stmt_pool;
    return APR_SUCCESS;
}

acp_db_t *acp_httpd_db_acquire(apr_pool_t *p, server_rec *s)
{
    conn_t *c = apr_pcalloc(p, sizeof(*c));
    acp_db_t *db;

    optional_fns();
    if (!dbd_open || !dbd_close) {
        return NULL;
    }
    c->s = s;
    c->p = p;
    c->dbd = open_fresh(c);
    if (!c->dbd) {
        return NULL;
    }
    apr_pool_cleanup_register(p, c, conn_release, apr_pool_cleanup_null);
    db = acp_httpd_db(p, c->dbd);
    db->reconnect = reconnect;
    db->reconnect_baton = c;
    return db;
}

/* ---- degraded start ------------------------------------------------------------------ */

int acp_httpd_db_ready(const acp_srv_cfg_t *c)
{
    return __atomic_load_n(&c->db_ready, __ATOMIC_ACQUIRE);
}

/* Migrate the schema (its own connection: mod_dbd's prepare our statements on connect,
 * which fails until the tables exist) and read the nonce key into c. */
apr_status_t acp_httpd_db_prepare(apr_pool_t *p, acp_srv_cfg_t *c, acp_db_t **out,
                                  const char **err)
{
    acp_db_t *db = NULL;
    int version = 0;
    apr_status_t rv;

    if (!strcmp(c->db_driver, "sqlite3")) {
        acp_httpd_sqlite_precreate(p, c->db_params); /* 0640 before SQLite makes it */
    }
    /* opens, migrates, then prepares the catalogue */
    rv = acp_sa_open(p, c->db_driver, c->db_params, 1, &db, err);
    if (rv == APR_SUCCESS) {
        db->secrets = acp_httpd_secrets();
        rv = acp_sa_migrate(p, db, &version, err); /* nothing left to do: the version */
    }
    if (rv == APR_SUCCESS) {
        const char *why = NULL;
        if (acp_secret_nonce_key(db, p, c->wfe.nonce_key, ACP_NONCE_KEY_LEN, &why) !=
            APR_SUCCESS) {
            *err = apr_pstrcat(p, "nonce key: ", why ? why : "cannot read or create it", NULL);
            rv = APR_EGENERAL;
        }
    }
    if (rv != APR_SUCCESS && db && acp_sa_unavailable(db) && !*err) {
        *err = acp_sa_error(db, p, 1);
    }
    if (rv == APR_SUCCESS) {
        c->db_version = version;
        __atomic_store_n(&c->db_ready, 1, __ATOMIC_RELEASE);
    }
    if (out) {
        *out = rv == APR_SUCCESS ? db : NULL;
    }
    return rv;
}

void acp_httpd_db_degraded(server_rec *s, acp_srv_cfg_t *c, const char *why)
{
    db_state_t *t = st();

    __atomic_store_n(&c->db_ready, 0, __ATOMIC_RELEASE);
    if (apr_atomic_cas32(&t->degraded, 1, 0) == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     ACPLOGNO(03303) "database not usable at start-up: %s -- Apache starts "
                                     "anyway; ACME answers 503 with Retry-After, and the "
                                     "schema and nonce key are set up in the background as "
                                     "soon as the database is reachable (logged then)",
                     why);
    }
}

/* Background workers (every child) before they look for jobs: bring every server that
 * started without its database up, at most once a second per child. */
int acp_httpd_db_recover(apr_pool_t *p, server_rec *s)
{
    static apr_uint32_t busy;
    static volatile apr_uint32_t last_try;
    db_state_t *t = st();
    server_rec *sp;
    int all = 1;
    apr_uint32_t now = (apr_uint32_t)acp_now();

    for (sp = s; sp; sp = sp->next) {
        acp_srv_cfg_t *c = ap_get_module_config(sp->module_config, &acme_pay_module);
        if (c->wfe.ra.signer && !acp_httpd_db_ready(c)) {
            all = 0;
            break;
        }
    }
    if (all) {
        return 1;
    }
    if (now == last_try || apr_atomic_cas32(&busy, 1, 0) != 0) {
        return 0;
    }
    last_try = now;
    all = 1;
    for (sp = s; sp; sp = sp->next) {
        acp_srv_cfg_t *c = ap_get_module_config(sp->module_config, &acme_pay_module);
        const char *err = NULL;
        apr_pool_t *tp;
        if (!c->wfe.ra.signer || acp_httpd_db_ready(c)) {
            continue;
        }
        apr_pool_create(&tp, p);
        if (acp_httpd_db_prepare(tp, c, NULL, &err) != APR_SUCCESS) {
            all = 0;
        }
        else if (apr_atomic_cas32(&t->degraded, 0, 1) == 1) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sp,
                         ACPLOGNO(03304) "database reachable %ld s after start-up: schema at "
                                         "version %d, ACME ready",
                         (long)(acp_now() - (long long)t->started), c->db_version);
        }
        apr_pool_destroy(tp);
    }
    apr_atomic_set32(&busy, 0);
    return all;
}

/* ---- the start-up line ----------------------------------------------------------------- */

void acp_httpd_db_log_ready(apr_pool_t *p, server_rec *s, const acp_srv_cfg_t *c)
{
    char line[512];

    apr_snprintf(line, sizeof(line), "database %s '%s' (%s), nonces in %s, signer %s%s%s",
                 c->db_driver, acp_sa_params_safe(p, c->db_driver, c->db_params),
                 acp_httpd_db_ready(c) ? apr_psprintf(p, "schema version %d",
                                                      c->db_version)
                                       : "not reachable yet: retrying in the background",
                 c->wfe.nonce_store ? "shared memory (one host)" : "the database",
                 c->wfe.ra.signer->name,
                 c->sign_command ? " " : (c->ca_cert ? " CA " : ""),
                 c->sign_command ? c->sign_command : (c->ca_cert ? c->ca_cert : ""));
    if (strcmp(line, ready_line) == 0) {
        return; /* the same for another virtual host */
    }
    apr_cpystrn(ready_line, line, sizeof(ready_line));
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, ACPLOGNO(03305) "%s", line);
}
