/* Spent nonces in the database (AcmePayNonceStore database, several nodes on one
 * database): epochs and redemption. Why a nonce passes at most once, across nodes and
 * across node and database restarts, is argued in docs/ARCHITECTURE.md (Nonces). */
#include <stdlib.h>
#include <apr_strings.h>
#include "acp_sa.h"

#define EPOCH_ROW_EXPIRES 4611686018427387904LL /* 2^62: never pruned */
#define EPOCH_TRIES 8                           /* bound on lost races with other nodes */

const char *acp_sa_nonce_epoch_row(apr_pool_t *p, apr_uint32_t epoch)
{
    return apr_psprintf(p, "epoch:%u", (unsigned)epoch);
}

int acp_sa_nonce_spend(acp_db_t *db, apr_pool_t *p, const char *nonce, long long expires,
                       apr_uint32_t epoch)
{
    int n = 0;

    if (epoch == 0) {
        return 0; /* made before this node knew an epoch: never good */
    }
    if (acp_sa_exec(db, p, "acp_nonce_spend", &n,
                    ACP_SA_ARGS(nonce, acp_sa_ll(p, expires), acp_sa_nonce_epoch_row(p, epoch))) !=
        APR_SUCCESS) {
        return -1;
    }
    return n == 1 ? 1 : 0;
}

apr_status_t acp_sa_nonce_unspend(acp_db_t *db, apr_pool_t *p, const char *nonce)
{
    return acp_sa_exec(db, p, "acp_nonce_unspend", NULL, ACP_SA_ARGS(nonce));
}

int acp_sa_nonce_epoch_live(acp_db_t *db, apr_pool_t *p, apr_uint32_t epoch)
{
    const char **row = NULL;

    if (epoch == 0) {
        return 0;
    }
    if (acp_sa_row(db, p, "acp_nonce_epoch_live", &row, ACP_SA_ARGS(acp_sa_nonce_epoch_row(p, epoch))) !=
        APR_SUCCESS) {
        return -1;
    }
    return row != NULL;
}

apr_status_t acp_sa_nonce_epoch(acp_db_t *db, apr_pool_t *p, apr_uint32_t *epoch)
{
    int i;

    for (i = 0; i < EPOCH_TRIES; i++) {
        const char **row = NULL, *cur_s, *next_s;
        apr_uint64_t cur;
        int n = 0, live;

        if (acp_sa_begin(db) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        /* the bump must survive a crash whatever the server's default (a lost bump
         * would hand out an epoch a second time) */
        if (acp_sa_sync_commit(db) != APR_SUCCESS ||
            acp_sa_row(db, p, "acp_setting_get", &row, ACP_SA_ARGS("nonce_epoch")) !=
                APR_SUCCESS) {
            acp_sa_rollback(db);
            return APR_EGENERAL;
        }
        if (!row) {
            if (acp_sa_exec(db, p, "acp_setting_put", NULL, ACP_SA_ARGS("nonce_epoch", "0")) !=
                APR_SUCCESS) {
                acp_sa_rollback(db);
                return APR_EGENERAL;
            }
            cur_s = "0";
        }
        else {
            cur_s = row[0] ? row[0] : "0";
        }
        cur = apr_strtoi64(cur_s, NULL, 10);
        live = cur > 0 ? acp_sa_nonce_epoch_live(db, p, (apr_uint32_t)cur) : 0;
        if (live < 0 || cur >= 0xffffffffULL) {
            acp_sa_rollback(db); /* out of epochs after 2^32 - 1 database crashes */
            return APR_EGENERAL;
        }
        if (live) {
            acp_sa_rollback(db);
            *epoch = (apr_uint32_t)cur;
            return APR_SUCCESS;
        }
        next_s = apr_psprintf(p, "%" APR_UINT64_T_FMT, cur + 1);
        if (acp_sa_exec(db, p, "acp_nonce_epoch_bump", &n, ACP_SA_ARGS(next_s, cur_s)) !=
            APR_SUCCESS) {
            acp_sa_rollback(db);
            return APR_EGENERAL;
        }
        if (n != 1) {
            acp_sa_rollback(db); /* another node moved it first: look again */
            continue;
        }
        if (acp_sa_exec(db, p, "acp_nonce_epoch_mark", NULL,
                        ACP_SA_ARGS(acp_sa_nonce_epoch_row(p, (apr_uint32_t)(cur + 1)),
                                    acp_sa_ll(p, EPOCH_ROW_EXPIRES))) != APR_SUCCESS) {
            acp_sa_rollback(db);
            return APR_EGENERAL;
        }
        if (acp_sa_commit(db) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        *epoch = (apr_uint32_t)(cur + 1);
        return APR_SUCCESS;
    }
    return APR_EBUSY;
}
