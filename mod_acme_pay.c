/* mod_acme_pay: an RFC 8555 ACME server inside Apache httpd.
 * Apache glue only: module record, start-up hooks. The directives and the server config
 * are modules/httpd/acp_httpd_directives.c and acp_httpd_config.c; the request path and
 * the rest of the glue the other files of modules/httpd/. Everything ACME lives in
 * modules/core (Apache-free). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
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
#include "acp_secret.h"
#include "acp_profile.h"

/* SQLite writers of all children queue on this lock (see acp_db_t.write_lock). */
#define DB_MUTEX_TYPE "acme-pay-db"
static apr_global_mutex_t *db_mutex;
/* AcmePaySQLiteMmapSize: bytes of the database each SQLite connection maps (0: none) */
apr_int64_t acp_httpd_sqlite_mmap = 0;
/* AcmePaySQLiteGroupCommit */
int acp_httpd_sqlite_group_commit = 1;
/* AcmePayMallocTrimThreshold (0: glibc's own) */
apr_int64_t acp_httpd_malloc_trim = ACP_HTTPD_MALLOC_TRIM_DEFAULT;
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
        acp_sa_tune(db, acp_httpd_sqlite_mmap);
        if (!db->pgsql && acp_httpd_sqlite_group_commit) {
            (void)acp_sa_sq_group_commit(db); /* else it stays synchronous = FULL */
        }
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
    acp_httpd_sqlite_mmap = 0; /* AcmePaySQLiteMmapSize sets it again if still there */
    acp_httpd_sqlite_group_commit = 1;
    acp_httpd_malloc_trim = ACP_HTTPD_MALLOC_TRIM_DEFAULT;
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

/* glibc gives a thread arena's free top back to the kernel once it passes the trim
 * threshold (128 kB, raised only when a mapped chunk larger than it is freed), with
 * madvise: on a multi-core machine each call flushes the other cores' TLBs. A child's
 * threads free and allocate SQLite's page caches and temporary tables and OpenSSL's
 * buffers around that size all the time: 1.6 madvise calls per issued certificate,
 * with page faults to get the memory back (docs/PERFORMANCE.md, "SQLite without the
 * driver's mutex"). A fixed threshold keeps up to that much free memory per arena; the
 * mmap threshold is fixed with it (a fixed trim threshold stops glibc's raising of both),
 * at a quarter. Left alone where the environment sets glibc's malloc already. */
static void malloc_setup(server_rec *s)
{
#ifdef M_TRIM_THRESHOLD
    if (acp_httpd_malloc_trim <= 0 || getenv("MALLOC_TRIM_THRESHOLD_") ||
        getenv("MALLOC_MMAP_THRESHOLD_") || getenv("GLIBC_TUNABLES")) {
        return;
    }
    if (!mallopt(M_TRIM_THRESHOLD, (int)acp_httpd_malloc_trim) ||
        !mallopt(M_MMAP_THRESHOLD, (int)(acp_httpd_malloc_trim / 4))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     ACPLOGNO(02004) "AcmePayMallocTrimThreshold: mallopt refused %"
                     APR_INT64_T_FMT, acp_httpd_malloc_trim);
    }
#else
    (void)s;
#endif
}

static void acp_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *sp;

    malloc_setup(s);
    acp_httpd_request_child_init();
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
    acp_httpd_create_srv_cfg,
    acp_httpd_merge_srv_cfg,
    acp_httpd_cmds,
    acp_register_hooks,
    AP_MODULE_FLAG_NONE,
};
