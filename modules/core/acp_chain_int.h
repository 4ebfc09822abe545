/* Inside the chain watcher: what acp_chain.c (blocks, native transfers, progress) and
 * acp_chain_token.c (ERC-20 Transfer logs) share. Not for other units. */
#ifndef ACP_CHAIN_INT_H
#define ACP_CHAIN_INT_H

#include "acp_chain.h"
#include "acp_eth.h"

/* APR pools align to 8 bytes; a plain __int128 member would be assumed 16-aligned */
typedef unsigned __int128 acp_u128_pool_t __attribute__((aligned(8)));

/* A transfer to the payment address seen in a block: native (token NULL, log_index 0)
 * or an ERC-20 Transfer log of a configured token. */
typedef struct acp_chain_cand_t {
    const char *hash, *from, *value_dec, *ref;
    const acp_eth_token_t *token;
    long long block, log_index;
    const char *block_hash;      /* the log's own (tokens); NULL for native */
    acp_u128_pool_t value;
} acp_chain_cand_t;

/* A string member of a JSON object, or NULL. */
const char *acp_chain_jstr(json_object *o, const char *key);

/* The Transfer logs to cfg->address of the configured tokens in blocks [from, to]
 * (one eth_getLogs), appended to cands (acp_chain_cand_t) in block/log order. Every log
 * is checked (contract one of ours, topics, 256-bit data, block in range, hashes);
 * APR_EGENERAL with *err when the answer is not exactly that. */
apr_status_t acp_chain_token_logs(acp_rpc_t *rpc, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                                  long long from, long long to, apr_array_header_t *cands,
                                  const char **err);

/* The canonical receipt still carries the log (same index, contract and value). */
int acp_chain_token_in_receipt(json_object *receipt, const acp_chain_cand_t *c);

/* The open invoice a token transfer pays (the same rules as acp_chain_match, against
 * the invoice's amount for that token). */
apr_status_t acp_chain_token_match(acp_db_t *db, apr_pool_t *p, const acp_eth_token_t *t,
                                   unsigned __int128 value, const char **invoice_id,
                                   long long *minor);

/* The matching rule over rows (id, amount in minor units, asked base units as decimal,
 * or an EIP-681 "…?value=" URI when uri is set). */
void acp_chain_match_rows(const apr_array_header_t *rows, int uri, unsigned __int128 upm,
                          unsigned __int128 value, const char **invoice_id, long long *minor);

#endif
