/* The Ethereum chain watcher: scans confirmed blocks for native ETH transfers to the
 * payment address, credits the open invoice whose unique wei amount they carry, and
 * records every other transfer for staff. Driven by the module's background workers
 * behind a lease row (one watcher per deployment); the JSON-RPC client is
 * acp_chain_rpc.c. Every RPC answer is untrusted input. */
#ifndef ACP_CHAIN_H
#define ACP_CHAIN_H

#include <json-c/json.h>
#include "acp_core.h"
#include "acp_sa.h"

#define ACP_CHAIN_CONFIRMATIONS 12  /* AcmePayEthereumConfirmations default */
#define ACP_CHAIN_POLL 15           /* AcmePayEthereumPollInterval default, seconds */
#define ACP_CHAIN_RPC_MAX (1024 * 1024 * 4) /* bytes of one RPC answer, at most */
#define ACP_CHAIN_BLOCKS_PER_POLL 64  /* blocks one poll processes at most */
#define ACP_CHAIN_FIRST_WINDOW 256    /* a first start looks back this many blocks */

/* ---- JSON-RPC client (acp_chain_rpc.c) ---- */
typedef struct acp_rpc_t {
    const char *url;
    const char *header;     /* one extra header line ("Authorization: Bearer …") or NULL */
    long timeout_ms;
    size_t max_body;        /* answers above this are refused (ACP_CHAIN_RPC_MAX) */
    unsigned long calls;    /* RPC calls made (measurement) */
} acp_rpc_t;

/* POST {"jsonrpc":"2.0","id":1,"method":method,"params":params_json}; *result is the
 * answer's "result" member, alive as long as pool p. APR_EGENERAL with *err on
 * transport/HTTP/JSON/RPC errors or a missing result. */
apr_status_t acp_rpc_call(acp_rpc_t *rpc, apr_pool_t *p, const char *method,
                          const char *params_json, json_object **result, const char **err);

/* A JSON-RPC quantity: "0x" + 1..16 hex digits, value <= 2^62. 0 or -1. */
int acp_hex_quantity(const char *s, long long *out);
/* A 256-bit quantity ("0x" + 1..64 hex digits) as an unsigned 128-bit value; -1 when it
 * is not hex or does not fit in 128 bits. */
int acp_hex_u128(const char *s, unsigned __int128 *out);
/* Decimal digits (1..39) as an unsigned 128-bit value; -1 otherwise. */
int acp_dec_u128(const char *s, unsigned __int128 *out);
char *acp_u128_dec(apr_pool_t *p, unsigned __int128 v);
/* "0x" + exactly n hex digits (n = 40 address, 64 hash). 1 or 0. */
int acp_hex_fixed(const char *s, size_t n);

/* ---- the watcher (acp_chain.c) ---- */
typedef struct acp_chain_cfg_t {
    const char *rpc_url;        /* NULL: no watcher */
    const char *rpc_header;
    int confirmations;          /* 0: unset (ACP_CHAIN_CONFIRMATIONS) */
    int poll_interval;          /* seconds; 0: unset (ACP_CHAIN_POLL) */
    /* from AcmePayEthereum / AcmePayCurrency at start-up */
    const char *address;        /* EIP-55 */
    long long chain_id;
    const char *wei_per_minor;
    const char *currency;
    const apr_array_header_t *tokens; /* acp_eth_token_t (AcmePayEthereumToken) or NULL */
} acp_chain_cfg_t;

/* What one poll did, for the glue's log and the measurements. */
typedef struct acp_chain_poll_t {
    int leased;                 /* this holder has the lease */
    long long head, from, to;   /* head block seen, blocks processed [from, to] */
    int blocks, credited, unmatched;
    unsigned long rpc_calls;
    const char *error;          /* RPC or database trouble (nothing was changed by it) */
    int rpc_error;              /* 1: the error came from the RPC node */
} acp_chain_poll_t;

/* One poll by holder (unique per child and node): take or renew the lease (lease_secs),
 * then process every block that has cfg->confirmations confirmations, up to
 * ACP_CHAIN_BLOCKS_PER_POLL, each block in one transaction with its credits and the
 * stored progress. */
apr_status_t acp_chain_poll(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                            acp_rpc_t *rpc, const char *holder, long long lease_secs,
                            acp_chain_poll_t *out);
/* The watcher's progress for server-status: the head block it last saw, the last block
 * it processed, and the time of its last successful poll (0: never). */
typedef struct acp_chain_lag_t {
    long long head, last_block, polled, updated;
} acp_chain_lag_t;
apr_status_t acp_chain_lag(acp_db_t *db, apr_pool_t *p, acp_chain_lag_t *lag);

/* Give the lease up (a child stopping). */
apr_status_t acp_chain_release(acp_db_t *db, apr_pool_t *p, const char *holder);

/* The invoice a transfer of `wei` pays, if any: an open invoice whose EIP-681 amount is
 * exactly wei, or else one whose unique tag (the wei beyond amount × wei_per_minor) is
 * the remainder of wei modulo wei_per_minor (an over- or underpayment of whole minor
 * units); *minor is what arrived in minor units. *invoice_id NULL: unmatched. */
apr_status_t acp_chain_match(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                             unsigned __int128 wei, const char **invoice_id, long long *minor);

/* Staff give an unmatched transfer to a holder: a payment ledger row for what arrived,
 * the transfer marked assigned (audited: actor, reason). APR_NOTFOUND: no such unmatched
 * transfer; APR_EINVAL: nothing arrived in minor units. In the caller's transaction. */
apr_status_t acp_chain_assign_tx(acp_db_t *db, apr_pool_t *p, const char *reference,
                                 const char *billing_id, const char *actor,
                                 const char *reason, long long *amount);

#endif
