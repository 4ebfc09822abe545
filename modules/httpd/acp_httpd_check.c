/* What `apache2 -t` (and apache2ctl configtest/graceful) can check without starting:
 * the CA files load and the key matches the certificate, a signer command is
 * executable, the apr_dbd driver is installed, and an SQLite database's directory exists
 * and can be written by the user Apache's children run as. A normal start does not run
 * these: it reports CA problems itself, and starts degraded without its database. */
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <sys/stat.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "ap_mpm.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include "unixd.h"
#include <apr_strings.h>
#include "acp_httpd.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

/* May the user Apache's children run as (User/Group; this process itself when not
 * started as root) do `want` (R_OK, W_OK, X_OK bits) on a file with this stat? */
static int user_may(apr_pool_t *p, const struct stat *st, int want)
{
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    int shift = 0, in_group = st->st_gid == gid;
    mode_t bits = 0;

    if (uid == 0) {
        return 1;
    }
    if (!in_group && ap_unixd_config.user_name) {
        gid_t groups[64];
        int n = 64, i;
        if (getgrouplist(ap_unixd_config.user_name, gid, groups, &n) >= 0) {
            for (i = 0; i < n; i++) {
                in_group |= groups[i] == st->st_gid;
            }
        }
    }
    shift = st->st_uid == uid ? 6 : in_group ? 3 : 0;
    bits = (mode_t)((want & R_OK ? 4 : 0) | (want & W_OK ? 2 : 0) | (want & X_OK ? 1 : 0));
    return ((st->st_mode >> shift) & bits) == bits;
}

static const char *check_sqlite_dir(apr_pool_t *p, const char *file)
{
    char *dir = ap_make_dirstr_parent(p, file), *q;
    struct stat st;
    int root = geteuid() == 0;

    if (!*dir) {
        dir = "./";
    }
    if (stat(dir, &st) != 0) {
        return apr_psprintf(p, "the SQLite database directory %s does not exist", dir);
    }
    if (!S_ISDIR(st.st_mode)) {
        return apr_psprintf(p, "%s (the SQLite database's directory) is not a directory", dir);
    }
    if (access(dir, W_OK) != 0) {
        return apr_psprintf(p, "the SQLite database directory %s is not writable%s", dir,
                            root ? " (read-only file system?)" : "");
    }
    if (!root) {
        /* Apache's children run as this user */
        return access(dir, W_OK | X_OK) == 0
                   ? NULL
                   : apr_psprintf(p, "the SQLite database directory %s is not writable", dir);
    }
    /* started as root: the module hands the directory to User at start-up, but every
     * directory above it must let User through */
    for (q = dir + 1; *q; q++) {
        if (*q == '/') {
            struct stat up;
            char keep = q[1];
            q[1] = '\0';
            if (stat(dir, &up) == 0 && !user_may(p, &up, X_OK)) {
                const char *bad = apr_pstrdup(p, dir);
                q[1] = keep;
                return apr_psprintf(p, "user %s cannot enter %s on the way to the SQLite "
                                       "database directory %s",
                                    ap_unixd_config.user_name, bad, dir);
            }
            q[1] = keep;
        }
    }
    if (stat(file, &st) == 0 && (!S_ISREG(st.st_mode))) {
        return apr_psprintf(p, "the SQLite database %s is not a regular file", file);
    }
    return NULL;
}

int acp_httpd_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    server_rec *sp;
    apr_hash_t *seen = apr_hash_make(ptemp);
    int bad = 0;

    if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_CONFIG_TEST) {
        return OK;
    }
    for (sp = s; sp; sp = sp->next) {
        acp_srv_cfg_t *c = ap_get_module_config(sp->module_config, &acme_pay_module);
        const dbd_cfg_t *dc = acp_httpd_dbd_config(sp);
        const char *err = NULL, *key;
        if (!c || !c->ca_cert) {
            continue;
        }
        key = apr_pstrcat(ptemp, c->ca_cert, "|", c->ca_key, "|",
                          c->sign_command ? c->sign_command : "", "|",
                          dc && dc->name ? dc->name : "", "|", dc && dc->params ? dc->params : "",
                          NULL);
        if (apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
            continue; /* a virtual host that inherits the same settings */
        }
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
        if (c->sign_command) {
            if (access(c->sign_command, X_OK) != 0) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp,
                             ACPLOGNO(03310) "AcmePaySignCommand: %s is not an executable "
                                             "file",
                             c->sign_command);
                bad = 1;
            }
        }
        else if (acp_ca_local_create(ptemp, c->ca_cert, c->ca_key, 1, NULL, &err) !=
                 APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp, ACPLOGNO(03311) "AcmePayCA: %s", err);
            bad = 1;
        }
        if (!dc || !dc->name || !dc->params) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp,
                         ACPLOGNO(03312) "mod_acme_pay needs mod_dbd with DBDriver and "
                                         "DBDParams");
            bad = 1;
            continue;
        }
        {
            const apr_dbd_driver_t *drv = NULL;
            if (apr_dbd_get_driver(ptemp, dc->name, &drv) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp,
                             ACPLOGNO(03313) "DBDriver %s: no apr_dbd driver (is "
                                             "libaprutil1-dbd-%s installed?)",
                             dc->name, dc->name);
                bad = 1;
            }
        }
        if (!strcmp(dc->name, "sqlite3") && (err = check_sqlite_dir(ptemp, dc->params))) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, sp,
                         ACPLOGNO(03314) "database: %s (a normal start would run without it "
                                         "and answer ACME requests with 503)",
                         err);
            bad = 1;
        }
    }
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}
