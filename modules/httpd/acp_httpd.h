/* Apache glue shared between mod_acme_pay.c and modules/httpd/. */
#ifndef ACP_HTTPD_H
#define ACP_HTTPD_H

#include "httpd.h"
#include "http_config.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include "acp_wfe.h"
#include "acp_chain.h"

/* Our own message numbers, in the spirit of APLOGNO (tests match on them). */
#define ACPLOGNO(n) "ACP" #n ": "

typedef struct acp_srv_cfg_t {
    acp_wfe_cfg_t wfe;
    const char *ca_cert, *ca_key;
    const char *sign_command;   /* AcmePaySignCommand: a command signer instead */
    const char *key_file;       /* AcmePayKeyFile: seals EAB keys and the nonce key */
    int workers;                /* AcmePayWorkers; 0: unset (2) */
    int va_per_account;         /* AcmePayValidationPerAccount; 0: half the workers, >= 1 */
    acp_chain_cfg_t chain;      /* AcmePayEthereumRPC, …Confirmations, …PollInterval */
    int nonce_mode;             /* AcmePayNonceStore: 0 unset (by driver), ACP_NONCE_* */
    int keepalive_thread;       /* AcmePayKeepAliveThread (default on) */
    /* the database (acp_httpd_db.c): mod_dbd's DBDriver/DBDParams, and whether the schema
     * and nonce key are there (0 after a start without the database: answer 503) */
    const char *db_driver, *db_params;
    int db_ready, db_version;
    /* set-flags for merging */
    unsigned pay_set; /* ACP_PAY_* bits: the billing/payment directives given here */
    unsigned cfg_set; /* ACP_SET_* bits: the other directives with a non-zero default */
    unsigned limits_set; /* ACP_LIMIT_* bits: the AcmePayLimit* directives given here */
} acp_srv_cfg_t;

/* One bit per billing/payment directive: a <VirtualHost> inherits every one it does not
 * set (merged per directive, as Apache modules normally do). */
#define ACP_PAY_CURRENCY (1u << 0)
#define ACP_PAY_PRICE (1u << 1)
#define ACP_PAY_PRICE_EXTRA (1u << 2)
#define ACP_PAY_PRICE_WILDCARD (1u << 3)
#define ACP_PAY_FREE_BALANCE (1u << 4)
#define ACP_PAY_REISSUE_WINDOW (1u << 5)
#define ACP_PAY_SIGN_TIMEOUT (1u << 6)
#define ACP_PAY_RETRY_AFTER (1u << 7)
#define ACP_PAY_URL (1u << 8)
#define ACP_PAY_INVOICE_COMMAND (1u << 9)
#define ACP_PAY_ETHEREUM (1u << 10)
#define ACP_PAY_WEBHOOK_SECRET (1u << 11)
#define ACP_PAY_TEST_MODE (1u << 12)
#define ACP_PAY_FREE_LIMIT (1u << 13)
#define ACP_PAY_ETH_TOKENS (1u << 14)
#define ACP_PAY_SUB_RENEW_WINDOW (1u << 20)
#define ACP_PAY_SUB_REFUND (1u << 21)

/* One bit per abuse-limit directive (inherited one by one too). */
#define ACP_LIMIT_ACCOUNTS (1u << 0)
#define ACP_LIMIT_ORDERS (1u << 1)
#define ACP_LIMIT_PENDING (1u << 2)
#define ACP_LIMIT_FAILED (1u << 3)
#define ACP_LIMIT_EAB (1u << 4)

/* One bit per directive whose default is not zero (inherited when not given here). */
#define ACP_SET_EAB (1u << 0)
#define ACP_SET_HTTP_PORT (1u << 1)
#define ACP_SET_ALPN_PORT (1u << 2)
#define ACP_SET_VALIDITY (1u << 3)
#define ACP_SET_MAX_VALIDITY (1u << 4)
#define ACP_SET_BODY (1u << 5)
#define ACP_SET_TIMEOUT (1u << 6)
#define ACP_SET_KEEPALIVE (1u << 7)

#define ACP_NONCE_SHM 1
#define ACP_NONCE_DB 2

extern module AP_MODULE_DECLARE_DATA acme_pay_module;

/* A core database handle over a mod_dbd connection, with the SQLite write lock. */
acp_db_t *acp_httpd_db(apr_pool_t *p, ap_dbd_t *dbd);
/* AcmePaySQLiteMmapSize (one value for the whole server): PRAGMA mmap_size of each
 * SQLite connection mod_dbd opens; 0, the default, maps nothing */
extern apr_int64_t acp_httpd_sqlite_mmap;
/* AcmePaySQLiteGroupCommit (server-wide, default on): each SQLite connection mod_dbd opens
 * commits without syncing and syncs its WAL after letting go of the writers' lock, before
 * it answers (acp_sa_sq_group_commit) */
extern int acp_httpd_sqlite_group_commit;
/* AcmePayMallocTrimThreshold (server-wide): glibc's trim threshold in each child, the mmap
 * threshold a quarter of it; 0 leaves glibc's defaults */
#define ACP_HTTPD_MALLOC_TRIM_DEFAULT 4194304
#define ACP_HTTPD_MALLOC_TRIM_MAX 134217728
extern apr_int64_t acp_httpd_malloc_trim;

/* DBDParams of server s (mod_dbd's configuration), NULL when unset. */
const char *acp_httpd_dbd_params(server_rec *s);

/* Each child's MPM facts for AcmePayKeepAliveThread (acp_httpd_request.c). */
void acp_httpd_request_child_init(void);

/* The server-status section (modules/httpd/acp_httpd_status.c): registers its hooks. */
void acp_httpd_status_hooks(void);

/* The server config (modules/httpd/acp_httpd_config.c) and the directives
 * (modules/httpd/acp_httpd_directives.c). */
void *acp_httpd_create_srv_cfg(apr_pool_t *p, server_rec *s);
void *acp_httpd_merge_srv_cfg(apr_pool_t *p, void *basev, void *addv);
extern const command_rec acp_httpd_cmds[];

/* The abuse-limit directives (modules/httpd/acp_httpd_limits.c). */
const char *acp_httpd_set_limit(cmd_parms *cmd, void *d, const char *max, const char *period);
/* AcmePayInvoiceTemplate file (acp_httpd_invoice.c): read and checked at config time. */
const char *acp_httpd_set_invoice_template(cmd_parms *cmd, void *d, const char *file);
const char *acp_httpd_set_limit_eab(cmd_parms *cmd, void *d, int argc, char *const argv[]);

/* The payment provider directives (modules/httpd/acp_httpd_provider.c). */
const char *acp_httpd_set_provider(cmd_parms *cmd, void *d, const char *args);
void acp_httpd_merge_providers(apr_pool_t *p, acp_srv_cfg_t *c, const acp_srv_cfg_t *base,
                               const acp_srv_cfg_t *add);

/* The database (modules/httpd/acp_httpd_db.c). */
void acp_httpd_db_state_reset(void);
void acp_httpd_db_state_create(apr_pool_t *pconf, server_rec *s);
/* A connection from mod_dbd, released with p; a dead one is replaced (sa's reconnect). */
acp_db_t *acp_httpd_db_acquire(apr_pool_t *p, server_rec *s);
/* After a use of the database (db NULL: none could be had): logs outage/recovery once. */
void acp_httpd_db_outcome(server_rec *s, acp_db_t *db);
int acp_httpd_db_ready(const acp_srv_cfg_t *c);
/* Migrate (own connection) and read the nonce key into c; sets c->db_ready. */
apr_status_t acp_httpd_db_prepare(apr_pool_t *p, acp_srv_cfg_t *c, acp_db_t **out,
                                  const char **err);
/* Start without the database: log once, answer 503 until acp_httpd_db_recover. */
void acp_httpd_db_degraded(server_rec *s, acp_srv_cfg_t *c, const char *why);
/* Workers: try to bring every not-ready server up; 1 when all are ready. */
int acp_httpd_db_recover(apr_pool_t *p, server_rec *s);
/* The start-up info line: database (no password), nonce store, signer; once per text. */
void acp_httpd_db_log_ready(apr_pool_t *p, server_rec *s, const acp_srv_cfg_t *c);

/* mod_dbd's DBDriver/DBDParams of a server (mod_acme_pay.c). */
const dbd_cfg_t *acp_httpd_dbd_config(server_rec *s);

/* Static checks for apache2 -t (modules/httpd/acp_httpd_check.c). */
int acp_httpd_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);

/* The request path (modules/httpd/acp_httpd_request.c): registers its hooks. */
void acp_httpd_request_hooks(void);

/* The ACME server whose CRLs "SetHandler acme-pay-crl" serves (the first set up). */
void acp_httpd_crl_site(server_rec *s, acp_srv_cfg_t *c);

/* Background workers (modules/httpd/acp_httpd_worker.c). */
void acp_httpd_workers_start(apr_pool_t *pchild, server_rec *s, acp_srv_cfg_t *cfg);
void acp_httpd_workers_wake(void *baton);
/* Run a job this child claimed as it queued it (acp_wfe_t.handoff). */
void acp_httpd_workers_handoff(void *baton, const acp_job_t *job);

/* Secrets at rest (modules/httpd/acp_httpd_secrets.c). */
struct acp_secret_key_t;
void acp_httpd_secrets_reset(void);
/* Read (or create, 0640 root:Group) the AcmePayKeyFile key once; path NULL: warn that
 * secrets are stored in clear. OK or HTTP_INTERNAL_SERVER_ERROR (logged). */
int acp_httpd_secrets_load(apr_pool_t *pconf, server_rec *s, const char *path);
const struct acp_secret_key_t *acp_httpd_secrets(void);
/* SQLite: create the database file 0640 before the first open; after it, database, -wal,
 * -shm owned by the Apache user and the directory's group, mode 0640. */
void acp_httpd_sqlite_precreate(apr_pool_t *p, const char *path);
void acp_httpd_sqlite_secure(apr_pool_t *p, server_rec *s, const char *path);

/* Where the CA lives (modules/httpd/acp_httpd_site.c), used by post_config. */
typedef struct acp_site_t acp_site_t;
/* Finds every "SetHandler acme-pay" in the configuration tree; warns about one outside
 * any <VirtualHost>. */
acp_site_t *acp_site_scan(apr_pool_t *p, server_rec *s);
/* Does server sp carry the handler (or can it not be told: server level, .htaccess)? */
int acp_site_active(const acp_site_t *site, server_rec *s, server_rec *sp);
/* Warns when the ACME server is reachable over plain HTTP. */
void acp_site_check_https(acp_site_t *site, server_rec *sp);
/* The server already set up with the same database and CA (its signer, nonce key and
 * nonce store are shared), NULL when sp is the first; *conflict when sp names another
 * database or CA (logged; ACME stays off on sp). */
acp_srv_cfg_t *acp_site_shared(acp_site_t *site, server_rec *sp, acp_srv_cfg_t *c,
                               const char *driver, const char *params, int *conflict);
/* Remember the first server set up (dbd_cfg: its mod_dbd dbd_cfg_t). */
void acp_site_first(acp_site_t *site, server_rec *sp, acp_srv_cfg_t *c, const void *dbd_cfg);
/* SQLite: register the statement catalogue with mod_dbd once per dbd_cfg_t. */
void acp_site_prepare(acp_site_t *site, server_rec *sp, const void *dbd_cfg);
/* Warns when certificates cost money but no webhook secret is configured. */
void acp_site_check_billing(acp_site_t *site, server_rec *sp, const acp_srv_cfg_t *c);
/* "the main server" or "<VirtualHost> name at file:line" */
const char *acp_site_where(apr_pool_t *p, server_rec *sp);

#endif
