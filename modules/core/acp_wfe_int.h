/* Web front end internals shared by acp_wfe.c, acp_wfe_order.c, acp_wfe_render.c and the
 * other acp_wfe_*.c files. */
#ifndef ACP_WFE_INT_H
#define ACP_WFE_INT_H

#include <json-c/json.h>
#include "acp_wfe.h"
#include "acp_pay.h"

typedef enum {
    R_NONE = 0,
    R_DIRECTORY,
    R_NEW_NONCE,
    R_NEW_ACCOUNT,
    R_NEW_ORDER,
    R_REVOKE,
    R_KEY_CHANGE,
    R_ACCOUNT,
    R_ACCOUNT_ORDERS,
    R_ORDER,
    R_FINALIZE,
    R_AUTHZ,
    R_CHALL,
    R_CERT,
    R_PAY_WEBHOOK,
    R_PAY_INVOICE,
    R_PAY_SIMULATE,
    R_RENEWAL_NOTE,
    R_PAY_STATUS
} route_t;

typedef struct {
    apr_pool_t *p;
    const acp_wfe_t *wfe;
    const acp_wfe_cfg_t *cfg;
    const acp_req_t *req;
    acp_resp_t *resp;
    acp_db_t *db;
    route_t route;
    const char *id;            /* resource id from the path */
    acp_jws_t *jws;
    acp_account_t *acct;       /* when signed with kid */
    EVP_PKEY *key;             /* the key that signed */
    json_object *payload;      /* NULL for POST-as-GET */
    json_object *payload_early; /* the same bytes parsed before the signature was checked
                                 * (newOrder's carried read), taken as payload once it is */
    int wake;                  /* background work queued */
    const acp_job_t *handoff_job; /* queued and claimed: hand to this process's workers */
    const char *issue_order;   /* finish issuing this order after commit */
    acp_pay_request_t *checkout; /* a payment request whose invoice command runs after commit */
    acp_nonce_info_t nonce;    /* the checked nonce of a POST */
    int read_only;             /* POST-as-GET answered without a write transaction */
    int nonce_spent;           /* spent before any transaction (shared memory, or its own
                                * INSERT with PostgreSQL): a rollback leaves it spent */
    const char *error_location; /* Location kept on an error answer (409 keyChange) */
    acp_problem_t *pre_prob;   /* finalize: found before the transaction, answered in it */
    acp_order_t *pre_order;    /* finalize on PostgreSQL: the order (with its authorizations)
                                * read before the transaction, used in it */
    acp_ra_csr_t fin;          /* finalize: the CSR, checked before the transaction */
    long long chall_now;       /* a challenge answer: the time its limit count was read for
                                * before the account (prefetch_route_read); 0: not */
} wfe_req_t;

/* acp_wfe_auth.c: a POST's JWS, account and nonce checked (the nonce spent unless the
 * handler's transaction spends it), NULL when it may go on; and the spend in the
 * database, inside the caller's transaction when in_tx (rolled back when refused) */
acp_problem_t *acp_wfe_authenticate(wfe_req_t *w);
acp_problem_t *acp_wfe_spend_in_db(wfe_req_t *w, int in_tx);

/* acp_wfe.c: "this resource takes POST-as-GET only" when the request has a payload */
acp_problem_t *acp_wfe_need_empty(wfe_req_t *w);

/* acp_wfe_order.c: the order handlers (inside the request's transaction, or none for a
 * read-only POST-as-GET), and the order's answer with its Location (and Retry-After while
 * processing). acp_wfe_finalize_precheck: finalize's work before the transaction (the CSR
 * parsed and checked, w->pre_prob, w->fin); non-zero when the answer is known without it. */
acp_problem_t *acp_wfe_h_new_order(wfe_req_t *w);
acp_problem_t *acp_wfe_h_order(wfe_req_t *w);
acp_problem_t *acp_wfe_h_finalize(wfe_req_t *w);
acp_problem_t *acp_wfe_h_authz(wfe_req_t *w);
acp_problem_t *acp_wfe_h_chall(wfe_req_t *w);
acp_problem_t *acp_wfe_h_cert(wfe_req_t *w);
acp_problem_t *acp_wfe_h_revoke(wfe_req_t *w);
int acp_wfe_finalize_precheck(wfe_req_t *w);
acp_problem_t *acp_wfe_answer_order(wfe_req_t *w, acp_order_t *order, int status);

const char *acp_wfe_url(const wfe_req_t *w, const char *what, const char *id);
/* Where payment links point: the configured server name, never the request's Host. */
const char *acp_wfe_pay_base(const acp_req_t *req);
void acp_wfe_set_json(wfe_req_t *w, int status, json_object *o, const char *ctype);
void acp_wfe_set_problem(wfe_req_t *w, const acp_problem_t *prob);
const char *acp_wfe_payment_error_json(wfe_req_t *w, const acp_problem_t *prob,
                                       const acp_client_profile_t *prof);
void acp_wfe_jadd_str(json_object *o, const char *k, const char *v);
json_object *acp_wfe_render_account(wfe_req_t *w, const acp_account_t *a);
acp_problem_t *acp_wfe_render_order(wfe_req_t *w, acp_order_t *order, json_object **out);
json_object *acp_wfe_render_chall(wfe_req_t *w, const acp_chall_t *c);
acp_problem_t *acp_wfe_render_authz(wfe_req_t *w, const acp_authz_t *a, json_object **out);

#endif
