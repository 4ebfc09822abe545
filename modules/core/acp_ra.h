/* Registration authority: accounts, orders, authorizations and challenges as state
 * machines, identifier policy, and the issuance cycle. Callers (wfe, the job worker,
 * acme-pay-admin) hold the transaction for the *_tx functions; the others open
 * their own, because they wait on the network or the signer. */
#ifndef ACP_RA_H
#define ACP_RA_H

#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_core.h"
#include "acp_sa.h"
#include "acp_va.h"
#include "acp_ca.h"
#include "acp_jws.h"
#include "acp_billing.h"
#include "acp_limit.h"
#include "acp_crl.h"
#include "acp_validity.h"

/* How far in the past a newOrder notBefore may lie (clock skew), and how far before
 * the moment of signing a certificate's notBefore may be: no backdating. */
#define ACP_NOT_BEFORE_SKEW 300

typedef struct acp_ra_cfg_t {
    int eab_required;
    const char *tos;             /* NULL: no terms to agree to */
    int validity_days;           /* certificate lifetime */
    acp_validity_sched_t max_validity; /* AcmePayMaxValidity: the longest by issue date
                                        * (default the CA/Browser Forum schedule) */
    int order_lifetime;          /* seconds an order stays usable */
    int authz_pending_lifetime;  /* seconds a pending authorization lives */
    int authz_valid_lifetime;    /* seconds a valid authorization is reused */
    acp_va_cfg_t va;
    acp_signer_t *signer;
    acp_billing_cfg_t billing;
    acp_limits_cfg_t limits;     /* abuse limits (acp_ra_limit.c) */
    apr_array_header_t *profiles;   /* acp_profile_t*; NULL or empty: no profiles */
    const char *default_profile;    /* AcmePayDefaultProfile, NULL: the first */
    acp_crl_cfg_t crl;           /* CRLs: AcmePayCRL*, signed by the local CA */
    int ov_vetting_days;         /* AcmePayOVVettingDays: a vetting is current this long */
    const char *ov_contact_url;  /* AcmePayOVContactURL: where to get vetted (problem instance) */
} acp_ra_cfg_t;

/* Billing as it applies to an order: under profiles, the order's profile's price and
 * name (a free reissue needs the same profile); *days its validity (0: the default).
 * NULL with an invalidProfile problem in *prob when the profile is no longer offered. */
const acp_billing_cfg_t *acp_ra_order_billing(apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                              const acp_order_t *order, int *days,
                                              acp_problem_t **prob);

void acp_ra_cfg_defaults(acp_ra_cfg_t *cfg);
/* AcmePayOVVettingDays, or the default (ACP_ORG_VETTING_DAYS). */
int acp_ra_ov_vetting_days(const acp_ra_cfg_t *cfg);

/* newAccount. *acct is the existing or new account, *created says which. client_ip: the
 * address the request came from (NULL: not limited by address; no welcome credit without
 * EAB, which is bounded per address). */
acp_problem_t *acp_ra_new_account_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                     const acp_jws_t *jws, json_object *payload,
                                     const char *new_account_url, const char *client_ip,
                                     acp_account_t **acct, int *created);
/* Account update: contact, termsOfServiceAgreed, status "deactivated". */
acp_problem_t *acp_ra_update_account_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                        acp_account_t *acct, json_object *payload);
/* keyChange; on 409 *conflict_id names the account that has the new key. */
acp_problem_t *acp_ra_key_change_tx(acp_db_t *db, apr_pool_t *p, acp_account_t *acct,
                                    const acp_jws_t *outer, const char *acct_url,
                                    const char **conflict_id);

acp_problem_t *acp_ra_new_order_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                   const acp_account_t *acct, json_object *payload,
                                   acp_order_t **order);
/* The same; defer_ov: an OV profile's vetting is not checked here but when the client
 * answers a challenge (acp_ra_ov_check_tx) and at finalize, for clients that cannot show
 * a newOrder problem (certbot 2.1, acp_client_profile_t.early_payment). */
acp_problem_t *acp_ra_new_order_ex_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct, json_object *payload,
                                      int defer_ov, acp_order_t **order);
/* For those clients, at a challenge response: the problem an OV order of this
 * authorization meets for want of a current vetting (NULL: none, or no such order). */
acp_problem_t *acp_ra_ov_check_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                  const acp_account_t *acct, const acp_authz_t *authz);
/* Bring a pending/ready order's status up to date with its authorizations and
 * its expiry (writes only when it changes). */
acp_problem_t *acp_ra_order_refresh(acp_db_t *db, apr_pool_t *p, acp_order_t *order);
/* 1 when acp_ra_order_refresh would write (or cannot tell): a read-only request then
 * refreshes the order inside a write transaction. */
int acp_ra_order_stale(acp_db_t *db, apr_pool_t *p, const acp_order_t *order);

acp_problem_t *acp_ra_authz_update_tx(acp_db_t *db, apr_pool_t *p, acp_authz_t *authz,
                                      json_object *payload);
/* Challenge response: pending -> processing and a validation job, *queued set to it
 * (NULL when none was added), carrying chall, authz and thumbprint (the account's key,
 * for the key authorization) for the worker. With claim the job is queued already
 * claimed by the caller, which must run it after commit (acp_wfe_t.handoff); else wake
 * a worker. */
acp_problem_t *acp_ra_chall_respond_tx(acp_db_t *db, apr_pool_t *p, const acp_authz_t *authz,
                                       acp_chall_t *chall, const char *thumbprint, int claim,
                                       const acp_job_t **queued);

/* Before a challenge response queues a validation: the failed-validations limit of this
 * account and name (rateLimited with Retry-After when reached), from the count of failed
 * validations since acp_ra_limit_failed_since (acp_sa_chall_authz_failed read it). */
long long acp_ra_limit_failed_since(const acp_ra_cfg_t *cfg, const acp_account_t *acct,
                                    long long now);
/* The same before the account is read: 1 and *since when no AcmePayLimit… of an EAB key
 * can change it (then it is the same for every account), else 0. */
int acp_ra_limit_failed_since_any(const acp_ra_cfg_t *cfg, long long now, long long *since);
/* newOrder's first read on PostgreSQL (acp_new_order_read: the rate limits' counts and
 * each name's authorization to reuse) before the account is read and the JWS verified:
 * its number of arguments and *args when payload (the JWS's parsed, unverified: the read
 * is only used if the verified request asks for the very same; NULL: none) names an
 * order newOrder would read for, and no EAB key's limits can change the counts, else 0.
 * For acp_sa_prefetch; the same read as acp_ra_limit_new_order's at now. */
int acp_ra_new_order_read_any(apr_pool_t *p, const acp_ra_cfg_t *cfg, const char *acct_id,
                              json_object *payload, long long now, const char *const **args);
/* newOrder's names from its payload: each identifier normalized and allowed (an IP
 * address the validator would never reach is refused), sorted, without duplicates;
 * else the problem newOrder answers with. */
acp_problem_t *acp_ra_order_names(apr_pool_t *p, const acp_ra_cfg_t *cfg, json_object *payload,
                                  apr_array_header_t **names);
acp_problem_t *acp_ra_limit_challenge(apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                      const acp_account_t *acct, const acp_authz_t *authz,
                                      long long failed, long long oldest, long long now);

/* For clients that cannot show a finalize problem: would the pending order this
 * authorization belongs to be paid for at finalize? NULL if so (or if there is no such
 * order), else the payment request problem (its invoice must be committed). */
acp_problem_t *acp_ra_payment_check_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                       const acp_account_t *acct, const acp_authz_t *authz,
                                       const char *base_url);
/* Fail a challenge (and its pending authorization) with a stored error object. */
acp_problem_t *acp_ra_chall_fail_tx(acp_db_t *db, apr_pool_t *p, acp_authz_t *authz,
                                    acp_chall_t *chall, const char *error_json);

/* A finalize request's CSR, decoded, parsed and checked before any transaction. */
typedef struct acp_ra_csr_t {
    const char *b64;          /* as the client sent it (stored with the order) */
    unsigned char *der;
    size_t der_len;
    acp_csr_t *csr;           /* NULL when prob is set */
    acp_problem_t *prob;      /* what is wrong with it, answered once the order is ready */
    acp_problem_t *caa;       /* a CAA recheck refused a name (acp_ra_finalize_caa) */
} acp_ra_csr_t;

/* CAA is checked again at finalize for a name whose validation is older than this
 * (seconds; the CA/Browser Forum Baseline Requirements allow reusing a CAA check for 8
 * hours). */
#define ACP_CAA_RECHECK_AFTER (8 * 3600)

/* Finalize, before the transaction (it waits on DNS): for every valid authorization of
 * a ready or pending order (a stored pending may be ready: it is refreshed when read)
 * whose challenge was validated more than ACP_CAA_RECHECK_AFTER ago, CAA again; the
 * first refusal is fin->caa (NULL: none). Reads only; uses order->authzs when set. */
void acp_ra_finalize_caa(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                         const acp_account_t *acct, const acp_order_t *order,
                         acp_ra_csr_t *fin);

/* Finalize, step zero (no transaction, no lock, no database): decode the payload's CSR,
 * parse it and check it against the order's names (fixed when the order was created)
 * and the account key. Always fills *out; a bad CSR is out->prob. */
void acp_ra_finalize_csr(apr_pool_t *p, const acp_account_t *acct, const acp_order_t *order,
                         json_object *payload, acp_ra_csr_t *out);
/* Finalize, first half (in the caller's transaction): every authorization rechecked
 * (RFC 8555 §7.1.6), the CSR's problem if it has one, the charge (free reissue, debit,
 * or a payment request when the balance is short), ready -> processing, an "issue" job
 * as the intent record. */
acp_problem_t *acp_ra_finalize_tx(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                                  const acp_account_t *acct, acp_order_t *order,
                                  const acp_ra_csr_t *fin, const char *base_url);
/* Finalize, second half (own transactions): sign, store, processing -> valid;
 * a failed signature makes the order invalid and refunds its charge. Idempotent. */
acp_problem_t *acp_ra_issue(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                            const char *order_id);

/* revokeCert: acct != NULL when signed with an account key (kid), else jwk_key is the
 * key the request was signed with (must be the certificate's key). */
acp_problem_t *acp_ra_revoke_tx(acp_db_t *db, apr_pool_t *p, const acp_account_t *acct,
                                EVP_PKEY *jwk_key, json_object *payload);

/* Run one claimed job (validate a challenge, or finish an issuance). */
apr_status_t acp_ra_run_job(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg,
                            const acp_job_t *job);
/* Claim and run due jobs (at most max); returns how many ran. */
int acp_ra_run_due_jobs(acp_db_t *db, apr_pool_t *p, const acp_ra_cfg_t *cfg, int max);

/* The account's key as an EVP_PKEY (cleanup on p). */
EVP_PKEY *acp_ra_account_key(apr_pool_t *p, const acp_account_t *acct);
/* Keeps key as the decoded key of thumbprint (newAccount has it decoded and verified
 * already, so the account's next request in this process need not decode it again). The
 * thumbprint names the key's content: an entry is right whether or not the account's
 * transaction commits. */
void acp_ra_account_key_remember(const char *thumbprint, EVP_PKEY *key);

#endif
