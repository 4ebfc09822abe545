/* MAC'd anti-replay nonces. Making one writes nothing. Redeeming one is recorded either
 * in a redemption table in memory shared by the processes of one server
 * (acp_nonce_store_t: no database write, so POST-as-GET stays read-only), or in the
 * database (several nodes on one database, where a node's memory cannot see the
 * others' redemptions): there the nonce carries the database's nonce epoch and is
 * spent by acp_sa_nonce_spend (an unlogged table with PostgreSQL). */
#ifndef ACP_NONCE_H
#define ACP_NONCE_H

#include <apr_pools.h>

#define ACP_NONCE_KEY_LEN 32
#define ACP_NONCE_LIFETIME 3600 /* seconds */
/* Slots of the shared redemption table (a power of two; 8 bytes each). A nonce is
 * refused as used once a later nonce that shares its slot (ACP_NONCE_SLOTS issues
 * later) has been redeemed first: clients retry a badNonce with the fresh one. */
#define ACP_NONCE_SLOTS (1u << 20)

typedef struct acp_nonce_store_t acp_nonce_store_t;

typedef struct acp_nonce_info_t {
    long long expires;   /* seconds since the epoch */
    apr_uint32_t epoch;  /* the store that issued it, or the database's nonce epoch */
    apr_uint64_t seq;    /* issue number in that store (random without a store) */
} acp_nonce_info_t;

/* Bytes of memory a store needs (shared memory set up before the processes fork). */
apr_size_t acp_nonce_store_size(void);
/* Lays a store over zero-filled memory of acp_nonce_store_size() bytes, with a fresh
 * random epoch: nonces of another store (an earlier start) are refused. */
acp_nonce_store_t *acp_nonce_store_init(void *mem);

/* base64url(expires[4] || epoch[4] || seq[8] || HMAC-SHA256(key, first 16 bytes)[0..15]).
 * With a store, seq is the store's next issue number (one atomic add). */
char *acp_nonce_make(apr_pool_t *p, const unsigned char *key, acp_nonce_store_t *store,
                     long long now);
/* The same with a random seq and the given epoch (the database's nonce epoch as this
 * node last knew it; 0 when it knows none: such a nonce is never accepted). */
char *acp_nonce_make_epoch(apr_pool_t *p, const unsigned char *key, apr_uint32_t epoch,
                           long long now);
/* 0 when the MAC is right and the nonce has not expired; *info is filled. */
int acp_nonce_check(apr_pool_t *p, const unsigned char *key, const char *nonce, long long now,
                    acp_nonce_info_t *info);
/* Spends a checked nonce in the store: 0 the first time, -1 when it was used already,
 * was superseded in its slot, or was not issued by this store. Lock-free; safe
 * between threads and processes sharing the memory. */
int acp_nonce_redeem(acp_nonce_store_t *store, const acp_nonce_info_t *info);

#endif
