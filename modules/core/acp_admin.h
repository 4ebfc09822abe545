/* Staff actions that are more than a listing: revoke by serial, reissue an order's
 * certificate from its stored CSR. Used by acme-pay-admin (sub-commands and console). */
#ifndef ACP_ADMIN_H
#define ACP_ADMIN_H

#include "acp_core.h"
#include "acp_sa.h"
#include "acp_ca.h"

/* RFC 5280 reason codes RFC 8555 lets a CA record: 0, 1, 3, 4, 5, 9. */
int acp_admin_reason_ok(int reason);

/* Revoke the certificate with this serial (lowercase hex; case and a leading "0x" or
 * colons are tolerated). APR_NOTFOUND: no such serial; APR_EEXIST: already revoked
 * (*cert still filled); APR_EINVAL: reason code not allowed. Own transaction. */
apr_status_t acp_admin_revoke(acp_db_t *db, apr_pool_t *p, const char *serial, int reason,
                              acp_cert_t **cert);

typedef struct acp_reissue_t {
    const char *order_id;
    const char *old_serial, *old_cert_id;
    const char *new_serial, *new_cert_id;
    long long not_after;
} acp_reissue_t;

/* Re-sign the stored CSR of the order that SERIAL was issued for: new serial, new
 * certificates row, the order's cert_id points at it (so the order's certificate URL
 * serves the new chain), and a ledger row of 0 with kind "reissue", the actor and the
 * reason. The ledger row's order_id stays NULL (the unique (order_id, kind) index keeps
 * one *ACME* reissue per order); it names the order in `reference` ("order:<id>") and
 * the new certificate in `cert_id`. The new certificate never outlives the old one
 * (no free extension); not_before = now.
 * Errors: APR_NOTFOUND (serial), APR_EINVAL (*errmsg: revoked, expired, order not valid,
 * no stored CSR), else signer/database failure with *errmsg. Own transaction; the
 * signer runs before it (nothing is written when signing fails). */
apr_status_t acp_admin_reissue(acp_db_t *db, apr_pool_t *p, acp_signer_t *signer,
                               const char *serial, const char *actor, const char *reason,
                               acp_reissue_t *out, const char **errmsg);

/* Queue a reissue for the module's workers (who hold the signer): a reissue_requests
 * row (queued, actor, reason) and a "reissue" job naming it, one transaction, after the
 * checks acp_admin_reissue makes. Errors as acp_admin_reissue's. */
apr_status_t acp_admin_reissue_request(acp_db_t *db, apr_pool_t *p, const char *serial,
                                       const char *actor, const char *reason,
                                       const char **request_id, const char **errmsg);
/* The worker's side of a "reissue" job: sign the request it names (acp_admin_reissue),
 * record done (new serial) or failed (why) on the request, delete the job. */
apr_status_t acp_admin_reissue_job(acp_db_t *db, apr_pool_t *p, acp_signer_t *signer,
                                   const acp_job_t *job);

/* Normalise a serial as the certificates table stores it (lowercase hex, no 0x/colons). */
const char *acp_admin_serial(apr_pool_t *p, const char *in);

#endif
