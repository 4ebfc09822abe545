/* Apache glue shared between mod_acme_pay.c and modules/httpd/. */
#ifndef ACP_HTTPD_H
#define ACP_HTTPD_H

#include "httpd.h"
#include "http_config.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include "acp_wfe.h"

/* Our own message numbers, in the spirit of APLOGNO (tests match on them). */
#define ACPLOGNO(n) "ACP" #n ": "

typedef struct acp_srv_cfg_t {
    acp_wfe_cfg_t wfe;
    const char *ca_cert, *ca_key;
    const char *sign_command;   /* AcmePaySignCommand: a command signer instead */
    int workers;
    int nonce_mode;             /* AcmePayNonceStore: 0 unset (by driver), ACP_NONCE_* */
    /* set-flags for merging */
    int pay_set; /* any billing/payment directive given here */
    int eab_set, http_port_set, alpn_port_set, validity_set, body_set, timeout_set;
} acp_srv_cfg_t;

#define ACP_NONCE_SHM 1
#define ACP_NONCE_DB 2

extern module AP_MODULE_DECLARE_DATA acme_pay_module;

/* A core database handle over a mod_dbd connection, with the SQLite write lock. */
acp_db_t *acp_httpd_db(apr_pool_t *p, ap_dbd_t *dbd);

/* DBDParams of server s (mod_dbd's configuration), NULL when unset. */
const char *acp_httpd_dbd_params(server_rec *s);

/* The server-status section (modules/httpd/acp_httpd_status.c): registers its hooks. */
void acp_httpd_status_hooks(void);

/* The request path (modules/httpd/acp_httpd_request.c): registers its hooks. */
void acp_httpd_request_hooks(void);

/* Background workers (modules/httpd/acp_httpd_worker.c). */
void acp_httpd_workers_start(apr_pool_t *pchild, server_rec *s, acp_srv_cfg_t *cfg);
void acp_httpd_workers_wake(void *baton);
/* Run a job this child claimed as it queued it (acp_wfe_t.handoff). */
void acp_httpd_workers_handoff(void *baton, const acp_job_t *job);

#endif
