/* Web front end: routing, JWS and nonce checks, problem documents, rendering of
 * ACME objects, response headers. Knows nothing of httpd: the glue fills an
 * acp_req_t and copies an acp_resp_t back. */
#ifndef ACP_WFE_H
#define ACP_WFE_H

#include <apr_tables.h>
#include "acp_core.h"
#include "acp_ra.h"
#include "acp_nonce.h"
#include "acp_ari.h"

typedef struct acp_wfe_cfg_t {
    acp_ra_cfg_t ra;
    const char *website;                   /* meta.website, or NULL */
    apr_array_header_t *caa_identities;    /* const char*, may be NULL */
    apr_size_t max_body;                   /* bytes */
    unsigned char nonce_key[ACP_NONCE_KEY_LEN];
    acp_nonce_store_t *nonce_store;        /* shared redemption table; NULL: in the DB */
    apr_uint32_t *nonce_epoch;             /* in the DB: the epoch this node hands out
                                            * (shared memory; 0 none known yet) */
    unsigned char webhook_secret[128];     /* AcmePayWebhookSecret */
    apr_size_t webhook_secret_len;         /* 0: webhook disabled */
    int test_mode;                         /* AcmePayTestMode: "Simulate payment" */
    int sign_timeout_ms;                   /* how long finalize waits for a slow signer */
    int retry_after;                       /* seconds, on a processing order */
    acp_ari_cfg_t ari;                     /* renewal information */
    const struct acp_invoice_tpl_t *invoice_tpl; /* AcmePayInvoiceTemplate, NULL: built-in */
} acp_wfe_cfg_t;

typedef struct acp_req_t {
    const char *method;        /* "GET", "HEAD", "POST", … */
    const char *base_url;      /* "https://host:port/acme" (no trailing slash) */
    const char *pay_base_url;  /* the same from the configured server name, never from the
                                * request's Host: payment links are stored and shown to
                                * others (NULL: base_url) */
    const char *path;          /* below the base: "/directory", "/order/ID", … */
    const char *content_type;  /* may be NULL */
    const char *user_agent;    /* may be NULL */
    const char *client_ip;     /* the client's address (abuse limits), may be NULL */
    const char *pay_signature; /* AcmePay-Signature header (webhook), may be NULL */
    const apr_table_t *headers; /* every request header (providers' notifications), may be
                                 * NULL */
    const char *body;
    apr_size_t body_len;
    int body_too_large;        /* the glue stopped reading at max_body */
    int insecure;              /* arrived over plain HTTP: refused (RFC 8555 section 6.1) */
    const char *if_none_match;     /* If-None-Match, may be NULL (CRL GETs) */
    const char *if_modified_since; /* If-Modified-Since, may be NULL (CRL GETs) */
    const char *accept_language;   /* Accept-Language, may be NULL (invoice page) */
} acp_req_t;

typedef struct acp_resp_t {
    int status;
    const char *content_type;
    const char *body;
    apr_size_t body_len;
    apr_table_t *headers;      /* extra headers (Location, Link, Replay-Nonce, …) */
    const char *log_note;      /* one line the glue logs for this request (a refused or
                                * credited provider notification), or NULL */
    int log_warn;              /* log_note is a refusal (warning), else a notice (a credit) */
} acp_resp_t;

/* Lazily supplies the database (directory and newNonce never ask for it). */
typedef acp_db_t *(*acp_db_getter_t)(void *baton);
/* Called after a commit that queued background work. */
typedef void (*acp_wake_fn_t)(void *baton);
/* Called after the commit of a job this process claimed as it queued it: the job must
 * be run by this process (else it waits for its lease to run out). */
typedef void (*acp_handoff_fn_t)(void *baton, const acp_job_t *job);

typedef struct acp_wfe_t {
    const acp_wfe_cfg_t *cfg;
    acp_db_getter_t get_db;
    void *db_baton;
    acp_wake_fn_t wake;
    acp_handoff_fn_t handoff; /* may be NULL: jobs are left to any worker */
    void *wake_baton;
    int unavailable;          /* not ready (database unreachable since start-up): 503 */
} acp_wfe_t;

void acp_wfe_cfg_defaults(acp_wfe_cfg_t *cfg);

/* Payment side (acp_wfe_pay.c): the webhook and the built-in invoice page. */
void acp_wfe_pay_webhook(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                         acp_resp_t *resp);
void acp_wfe_pay_invoice(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                         acp_resp_t *resp, const char *invoice_id, int simulate);
/* Providers' notifications (acp_wfe_notify.c): POST <base>/pay/<name>. 0 when no
 * provider of that name is configured (the caller answers 404). */
int acp_wfe_pay_notify(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                       acp_resp_t *resp, const char *name);
/* The invoice page (acp_wfe_invoice.c): GET pay/i/<id> and its JSON pay/i/<id>/status. */
void acp_wfe_invoice_page(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *invoice_id);
void acp_wfe_invoice_status(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                            acp_resp_t *resp, const char *invoice_id);
/* Renewal information (acp_wfe_ari.c): GET renewalInfo/<certID>, and the note a staff
 * window's explanationURL points to. */
void acp_wfe_renewal_info(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *certid);
void acp_wfe_renewal_note(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *cert_id);
/* A problem document as the answer of a handler outside the JWS path (renewalInfo, CRLs;
 * acp_wfe_render.c): the kind's status, not to be cached. */
void acp_wfe_resp_problem(apr_pool_t *p, acp_resp_t *resp, const acp_problem_t *prob);
/* CRLs (acp_wfe_crl.c): GET crl/<shard>, over HTTP or HTTPS, conditional GET. */
void acp_wfe_crl(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req, acp_resp_t *resp,
                 const char *shard);
void acp_wfe_handle(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                    acp_resp_t *resp);

#endif
