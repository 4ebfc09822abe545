/* Certificate revocation lists: which shard is due, one generator at a time (a lease on
 * the shard's row), CRL numbers that only grow (kept in the database), and the stored
 * CRL a GET serves. The CA layer signs (acp_signer_t.sign_crl), sa stores, the
 * background workers call acp_crl_run_due. */
#ifndef ACP_CRL_H
#define ACP_CRL_H

#include "acp_core.h"
#include "acp_sa.h"
#include "acp_ca.h"

#define ACP_CRL_SHARDS_DEFAULT 16
#define ACP_CRL_SHARDS_MAX 1024
#define ACP_CRL_LIFETIME_DEFAULT (7 * 86400)
#define ACP_CRL_LEASE 120   /* seconds one generator holds a shard */

typedef struct acp_crl_cfg_t {
    const char *url;       /* AcmePayCRLURL ("{shard}" replaced); NULL: no CRLs */
    int shards;            /* AcmePayCRLShards */
    int lifetime;          /* AcmePayCRLLifetime: nextUpdate - thisUpdate, seconds */
    acp_signer_t *signer;  /* signs the CRLs (the local CA); NULL: no CRLs */
} acp_crl_cfg_t;

typedef struct acp_crl_t {
    int shard, dirty;
    long long number, this_update, next_update, entries, lease_until;
    const unsigned char *der;   /* NULL: none signed yet (or not asked for) */
    size_t der_len;
} acp_crl_t;

void acp_crl_cfg_defaults(acp_crl_cfg_t *cfg);
/* Generated CRLs are due again after this many seconds (a third of the lifetime), so a
 * CRL is replaced well before its nextUpdate. */
long long acp_crl_refresh(const acp_crl_cfg_t *cfg);

/* Regenerate the shards that are due (a revocation since, never signed, or older than
 * the refresh): rows for shards 0..N-1 are made first. Returns how many were signed;
 * *lasterr (may be NULL) the last failure other than a shard another generator holds. */
int acp_crl_run_due(acp_db_t *db, apr_pool_t *p, const acp_crl_cfg_t *cfg, const char **lasterr);

/* Sign one shard: claim its lease (APR_EBUSY: another generator holds it, or, unless
 * force, the shard is no longer due because another one just signed it), read the
 * revoked certificates, sign number + 1, store it only if the number is still the one
 * read (APR_EEXIST otherwise: another node published meanwhile). */
apr_status_t acp_crl_generate(acp_db_t *db, apr_pool_t *p, const acp_crl_cfg_t *cfg, int shard,
                              int force, acp_crl_t **out, const char **errmsg);

/* One shard's row (with_der: and the DER); APR_NOTFOUND when there is none. */
apr_status_t acp_crl_get(acp_db_t *db, apr_pool_t *p, int shard, int with_der, acp_crl_t **out);
/* Every shard's row without the DER, by shard (array of acp_crl_t*). */
apr_status_t acp_crl_list(acp_db_t *db, apr_pool_t *p, apr_array_header_t **out);

/* In the revocation's own transaction: the certificate's shard is due. */
apr_status_t acp_crl_mark(acp_db_t *db, apr_pool_t *p, const char *cert_id);

/* A shard number from a URL path segment: decimal digits only, no leading zero (but
 * "0"), below ACP_CRL_SHARDS_MAX; -1 otherwise. */
int acp_crl_parse_shard(const char *s);

#endif
