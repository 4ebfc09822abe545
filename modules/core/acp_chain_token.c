/* ERC-20 payments for the chain watcher: the Transfer(address,address,uint256) logs of the
 * configured token contracts to the payment address, read with one eth_getLogs per poll
 * over the bounded range of confirmed blocks, each log checked field by field (the node
 * is untrusted), re-checked in its canonical receipt before crediting, and matched to the
 * open invoice whose amount for that token it carries. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_chain_int.h"
#include "acp_util.h"

/* keccak256("Transfer(address,address,uint256)") */
#define TRANSFER_TOPIC "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

static void lower(char *s)
{
    for (; *s; s++) {
        *s = (char)((*s >= 'A' && *s <= 'F') ? *s + 32 : *s);
    }
}

/* "0x" + 24 zero digits + the 40 digits of an address: a topic naming it. */
static char *address_topic(apr_pool_t *p, const char *address)
{
    char *t = apr_pstrcat(p, "0x000000000000000000000000", address + 2, NULL);
    lower(t);
    return t;
}

static const acp_eth_token_t *token_of(const acp_chain_cfg_t *cfg, const char *contract)
{
    int i;

    for (i = 0; contract && cfg->tokens && i < cfg->tokens->nelts; i++) {
        const acp_eth_token_t *t = &APR_ARRAY_IDX(cfg->tokens, i, acp_eth_token_t);
        if (!strcasecmp(t->contract, contract)) {
            return t;
        }
    }
    return NULL;
}

static int is_false_or_absent(json_object *log, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(log, key, &v)) {
        return 1;
    }
    return json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v);
}

/* One log of the answer into *c, or why it is refused. */
static const char *read_log(apr_pool_t *p, const acp_chain_cfg_t *cfg, json_object *log,
                            const char *to_topic, long long from, long long to,
                            acp_chain_cand_t *c)
{
    json_object *topics = NULL;
    const char *addr = acp_chain_jstr(log, "address"), *data = acp_chain_jstr(log, "data");
    const char *bn = acp_chain_jstr(log, "blockNumber"), *bh = acp_chain_jstr(log, "blockHash");
    const char *th = acp_chain_jstr(log, "transactionHash");
    const char *li = acp_chain_jstr(log, "logIndex"), *t0, *t1, *t2;
    unsigned __int128 v = 0;
    long long number = -1, index = -1;

    if (!json_object_is_type(log, json_type_object)) {
        return "a log is not an object";
    }
    if (!acp_hex_fixed(addr, 40) || !(c->token = token_of(cfg, addr))) {
        return "a log of a contract that is not a configured token";
    }
    if (!json_object_object_get_ex(log, "topics", &topics) ||
        !json_object_is_type(topics, json_type_array) || json_object_array_length(topics) != 3) {
        return "a log without the three topics of Transfer";
    }
    t0 = json_object_get_string(json_object_array_get_idx(topics, 0));
    t1 = json_object_get_string(json_object_array_get_idx(topics, 1));
    t2 = json_object_get_string(json_object_array_get_idx(topics, 2));
    if (!t0 || strcasecmp(t0, TRANSFER_TOPIC) != 0 || !t2 || strcasecmp(t2, to_topic) != 0 ||
        !acp_hex_fixed(t1, 64) || strncmp(t1, "0x000000000000000000000000", 26) != 0) {
        return "a log that is not a Transfer to the payment address";
    }
    if (!acp_hex_fixed(data, 64) || acp_hex_u128(data, &v) != 0) {
        return "a Transfer log whose amount is not a uint256 below 2^128";
    }
    if (acp_hex_quantity(bn, &number) != 0 || number < from || number > to ||
        acp_hex_quantity(li, &index) != 0 || !acp_hex_fixed(bh, 64) ||
        !acp_hex_fixed(th, 64) || !is_false_or_absent(log, "removed")) {
        return "a log with a bad or out-of-range block, index or hash";
    }
    c->hash = apr_pstrdup(p, th);
    lower((char *)c->hash);
    c->from = apr_pstrcat(p, "0x", t1 + 26, NULL);
    c->value = v;
    c->value_dec = acp_u128_dec(p, v);
    c->block = number;
    c->log_index = index;
    c->block_hash = apr_pstrdup(p, bh);
    c->ref = apr_psprintf(p, "eth:%" APR_INT64_T_FMT ":%s:%" APR_INT64_T_FMT,
                          (apr_int64_t)cfg->chain_id, c->hash, (apr_int64_t)index);
    return NULL;
}

apr_status_t acp_chain_token_logs(acp_rpc_t *rpc, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                                  long long from, long long to, apr_array_header_t *cands,
                                  const char **err)
{
    json_object *res = NULL;
    const char *to_topic = address_topic(p, cfg->address), *addrs = "", *why;
    char range[80];
    size_t i, n;
    int k;

    for (k = 0; k < cfg->tokens->nelts; k++) {
        const acp_eth_token_t *t = &APR_ARRAY_IDX(cfg->tokens, k, acp_eth_token_t);
        addrs = apr_pstrcat(p, addrs, k ? "," : "", "\"", t->contract, "\"", NULL);
    }
    snprintf(range, sizeof(range), "\"fromBlock\":\"0x%llx\",\"toBlock\":\"0x%llx\"",
             (unsigned long long)from, (unsigned long long)to);
    if (acp_rpc_call(rpc, p, "eth_getLogs",
                     apr_pstrcat(p, "[{", range, ",\"address\":[", addrs, "],\"topics\":[\"",
                                 TRANSFER_TOPIC, "\",null,\"", to_topic, "\"]}]", NULL),
                     &res, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!json_object_is_type(res, json_type_array)) {
        *err = "eth_getLogs: the result is not an array";
        return APR_EGENERAL;
    }
    n = json_object_array_length(res);
    for (i = 0; i < n; i++) {
        acp_chain_cand_t c;

        memset(&c, 0, sizeof(c));
        why = read_log(p, cfg, json_object_array_get_idx(res, i), to_topic, from, to, &c);
        if (why) {
            *err = apr_psprintf(p, "eth_getLogs %" APR_INT64_T_FMT "-%" APR_INT64_T_FMT ": %s",
                                (apr_int64_t)from, (apr_int64_t)to, why);
            return APR_EGENERAL;
        }
        if (c.value == 0) {
            continue;
        }
        *(acp_chain_cand_t *)apr_array_push(cands) = c;
    }
    return APR_SUCCESS;
}

int acp_chain_token_in_receipt(json_object *receipt, const acp_chain_cand_t *c)
{
    json_object *logs = NULL;
    size_t i, n;

    if (!json_object_object_get_ex(receipt, "logs", &logs) ||
        !json_object_is_type(logs, json_type_array)) {
        return 0;
    }
    n = json_object_array_length(logs);
    for (i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(logs, i);
        const char *addr = acp_chain_jstr(l, "address"), *data = acp_chain_jstr(l, "data");
        long long index = -1;
        unsigned __int128 v = 0;

        if (acp_hex_quantity(acp_chain_jstr(l, "logIndex"), &index) == 0 &&
            index == c->log_index && addr && !strcasecmp(addr, c->token->contract) &&
            acp_hex_u128(data, &v) == 0 && v == c->value) {
            return 1;
        }
    }
    return 0;
}

apr_status_t acp_chain_token_match(acp_db_t *db, apr_pool_t *p, const acp_eth_token_t *t,
                                   unsigned __int128 value, const char **invoice_id,
                                   long long *minor)
{
    apr_array_header_t *rows = NULL;
    unsigned __int128 upm = 0;
    char *contract = apr_pstrdup(p, t->contract);
    apr_status_t rv;

    *invoice_id = NULL;
    *minor = 0;
    lower(contract);
    if (acp_dec_u128(t->units_per_minor, &upm) != 0) {
        return APR_EINVAL;
    }
    rv = acp_sa_rows(db, p, "acp_chain_token_invoices", &rows, ACP_SA_ARGS(contract));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acp_chain_match_rows(rows, 0, upm, value, invoice_id, minor);
    return APR_SUCCESS;
}
