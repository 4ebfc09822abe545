/* Secrets at rest, Apache side: the AcmePayKeyFile key (read, or created, at start-up by
 * root; the children inherit it in memory) and the modes of the SQLite files: database,
 * -wal and -shm owned by the Apache user, group of their directory (the staff group when
 * the directory is set-group-ID), mode 0640. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "unixd.h"
#include <apr_strings.h>
#include "acp_httpd.h"
#include "acp_secret.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

static acp_secret_key_t *secret_key;

void acp_httpd_secrets_reset(void)
{
    secret_key = NULL;
}

const acp_secret_key_t *acp_httpd_secrets(void)
{
    return secret_key;
}

int acp_httpd_secrets_load(apr_pool_t *pconf, server_rec *s, const char *path)
{
    const char *err = NULL;
    int created = 0;

    if (!path) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     ACPLOGNO(03406) "no AcmePayKeyFile: EAB keys and the nonce key are "
                     "stored in clear in the database (anyone with a copy can sign as an EAB "
                     "holder)");
        return OK;
    }
    if (secret_key && !strcmp(secret_key->path, path)) {
        return OK;
    }
    if (acp_secret_key_load(pconf, path, 1, &secret_key, &created, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ACPLOGNO(03407) "AcmePayKeyFile: %s", err);
        secret_key = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (created) {
        /* root reads it at start-up; acme-pay-admin runs as the Apache user */
        if (geteuid() == 0 && chown(path, 0, ap_unixd_config.group_id) != 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                         ACPLOGNO(03408) "AcmePayKeyFile: cannot chown %s", path);
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ACPLOGNO(03405) "created the key file %s (mode 0640): back it up "
                     "together with the database, sealed secrets cannot be opened without it",
                     path);
    }
    return OK;
}

void acp_httpd_sqlite_precreate(apr_pool_t *p, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

    if (fd >= 0) {
        if (fchmod(fd, 0640) != 0) {
            /* checked again by acp_httpd_sqlite_secure */
        }
        close(fd);
    }
}

static void secure_one(server_rec *s, const char *path, gid_t gid)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return; /* -wal, -shm not made yet: SQLite gives them the database's mode and owner */
    }
    if (geteuid() == 0 && (st.st_uid != ap_unixd_config.user_id || st.st_gid != gid) &&
        chown(path, ap_unixd_config.user_id, gid) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     ACPLOGNO(03409) "cannot hand %s to the Apache user", path);
    }
    if ((st.st_mode & 07777) != 0640 && chmod(path, 0640) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     ACPLOGNO(03410) "cannot chmod 0640 %s", path);
    }
}

void acp_httpd_sqlite_secure(apr_pool_t *p, server_rec *s, const char *path)
{
    const char *dir = ap_make_dirstr_parent(p, path);
    struct stat st;
    gid_t gid = ap_unixd_config.group_id;

    if (stat(dir, &st) == 0) {
        gid = st.st_gid; /* the directory's group: staff, when they are to read it */
        if (geteuid() == 0 && st.st_uid != ap_unixd_config.user_id &&
            chown(dir, ap_unixd_config.user_id, (gid_t)-1) != 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                         ACPLOGNO(03411) "cannot hand the directory %s to the Apache user", dir);
        }
    }
    secure_one(s, path, gid);
    secure_one(s, apr_pstrcat(p, path, "-wal", NULL), gid);
    secure_one(s, apr_pstrcat(p, path, "-shm", NULL), gid);
    secure_one(s, apr_pstrcat(p, path, "-journal", NULL), gid);
}
