/* The Ethereum chain watcher (see acp_chain.h). One poll: lease, chain id, head, then
 * each block with N confirmations in order, one transaction per block holding its
 * credits, its recorded transfers and the stored progress, so a crash or an RPC outage
 * resumes exactly where the last commit left off and a transfer is credited once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_chain_int.h"
#include "acp_billing.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)

/* apr_psprintf("…%lld…%s") crashed here (the %s read the wrong argument): C's formatter */
static char *fmt(apr_pool_t *p, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(apr_pool_t *p, const char *f, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return apr_pstrdup(p, buf);
}
#define CHAIN_SOURCE "ethereum"

typedef acp_chain_cand_t cand_t;

const char *acp_chain_jstr(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}
#define jstr acp_chain_jstr

static apr_status_t rpc_quantity(acp_rpc_t *rpc, apr_pool_t *p, const char *method,
                                 long long *out, const char **err)
{
    json_object *r = NULL;

    if (acp_rpc_call(rpc, p, method, "[]", &r, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!json_object_is_type(r, json_type_string) ||
        acp_hex_quantity(json_object_get_string(r), out) != 0) {
        *err = fmt(p, "%s: the result is not a hex quantity", method);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The wei amount an EIP-681 URI of ours asks for ("…?value=<decimal>"). */
static int uri_wei(const char *uri, unsigned __int128 *wei)
{
    const char *v = uri ? strstr(uri, "?value=") : NULL;

    return v ? acp_dec_u128(v + 7, wei) : -1;
}

void acp_chain_match_rows(const apr_array_header_t *rows, int uri, unsigned __int128 upm,
                          unsigned __int128 value, const char **invoice_id, long long *minor)
{
    unsigned __int128 max = ~(unsigned __int128)0;
    const char *partial = NULL;
    long long partial_minor = 0;
    int i, partials = 0;

    *invoice_id = NULL;
    *minor = 0;
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        long long amount = acp_sa_atoll(r[1]);
        unsigned __int128 v, base, tag, q;

        if ((uri ? uri_wei(r[2], &v) : acp_dec_u128(r[2], &v)) != 0 || amount <= 0) {
            continue;
        }
        if (v == value) {
            *invoice_id = r[0]; /* the exact amount asked: the whole invoice */
            *minor = amount;
            return;
        }
        if (upm == 0 || (unsigned __int128)amount > max / upm) {
            continue;
        }
        base = (unsigned __int128)amount * upm;
        if (v < base) {
            continue;
        }
        tag = v - base; /* the unique part, below one minor unit */
        if (tag >= upm || value < tag || (value - tag) % upm != 0) {
            continue;
        }
        q = (value - tag) / upm;
        if (q == 0 || q > (unsigned __int128)(1LL << 53)) {
            continue;
        }
        partials++;
        partial = r[0];
        partial_minor = (long long)q;
    }
    if (partials == 1) {
        *invoice_id = partial; /* over- or underpaid: credit what arrived */
        *minor = partial_minor;
    }
}

apr_status_t acp_chain_match(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                             unsigned __int128 wei, const char **invoice_id, long long *minor)
{
    apr_array_header_t *rows = NULL;
    unsigned __int128 wpm = 0;
    apr_status_t rv;

    *invoice_id = NULL;
    *minor = 0;
    if (acp_dec_u128(cfg->wei_per_minor, &wpm) != 0) {
        return APR_EINVAL;
    }
    rv = acp_sa_rows(db, p, "acp_chain_open_invoices", &rows, ACP_SA_NOARGS);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acp_chain_match_rows(rows, 1, wpm, wei, invoice_id, minor);
    return APR_SUCCESS;
}

/* Record one transfer and credit it when it matches. Inside the block's transaction. */
static apr_status_t take_transfer(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                                  long long number, const char *block_hash, const cand_t *c,
                                  acp_chain_poll_t *out)
{
    const char *inv = NULL, *status = "unmatched";
    long long minor = 0;
    unsigned __int128 wpm = 0;
    int n = 0, credited = 0;
    apr_status_t rv;

    rv = c->token ? acp_chain_token_match(db, p, c->token, c->value, &inv, &minor)
                  : acp_chain_match(db, p, cfg, c->value, &inv, &minor);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!inv && acp_dec_u128(c->token ? c->token->units_per_minor : cfg->wei_per_minor,
                             &wpm) == 0 && wpm > 0 &&
        c->value / wpm <= (unsigned __int128)(1LL << 53)) {
        minor = (long long)(c->value / wpm); /* what staff may assign */
    }
    if (inv) {
        status = "credited";
    }
    rv = acp_sa_exec(db, p, "acp_chain_transfer_insert", &n,
                     ACP_SA_ARGS(c->ref, LL(p, cfg->chain_id), LL(p, number), block_hash,
                                 c->hash, c->from, c->token ? c->token->symbol : "ETH",
                                 c->value_dec, LL(p, minor), inv,
                                 status, LL(p, acp_now())));
    if (rv != APR_SUCCESS || n == 0) {
        return rv; /* n == 0: seen and recorded before */
    }
    if (!inv) {
        out->unmatched++;
        return APR_SUCCESS;
    }
    rv = acp_billing_payment_tx(db, p, inv, minor, cfg->currency, c->ref, CHAIN_SOURCE,
                                &credited);
    if (rv == APR_SUCCESS && credited) {
        out->credited++;
    }
    return rv;
}

/* Block `number` as the node has it now: its hash, parent and the transfers to us. */
static apr_status_t read_block(acp_rpc_t *rpc, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                               long long number, const char **hash, const char **parent,
                               apr_array_header_t *cands, const char **err)
{
    json_object *blk = NULL, *txs = NULL;
    const char *num;
    long long got = -1;
    size_t i, ntx;

    char params[48];

    snprintf(params, sizeof(params), "[\"0x%llx\",true]", (unsigned long long)number);
    if (acp_rpc_call(rpc, p, "eth_getBlockByNumber", params, &blk, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *hash = jstr(blk, "hash");
    *parent = jstr(blk, "parentHash");
    num = jstr(blk, "number");
    if (!json_object_is_type(blk, json_type_object) || !acp_hex_fixed(*hash, 64) ||
        !acp_hex_fixed(*parent, 64) || acp_hex_quantity(num, &got) != 0 || got != number ||
        !json_object_object_get_ex(blk, "transactions", &txs) ||
        !json_object_is_type(txs, json_type_array)) {
        *err = fmt(p, "eth_getBlockByNumber %lld: not a block with full transactions",
                            number);
        return APR_EGENERAL;
    }
    *hash = apr_pstrdup(p, *hash);
    *parent = apr_pstrdup(p, *parent);
    ntx = json_object_array_length(txs);
    for (i = 0; i < ntx; i++) {
        json_object *tx = json_object_array_get_idx(txs, i);
        const char *to = jstr(tx, "to"), *h = jstr(tx, "hash"), *from = jstr(tx, "from");
        const char *val = jstr(tx, "value"), *bh = jstr(tx, "blockHash");
        cand_t *c;
        unsigned __int128 v;

        if (!to || strcasecmp(to, cfg->address) != 0) {
            continue;
        }
        if (!acp_hex_fixed(h, 64) || acp_hex_u128(val, &v) != 0 ||
            (from && !acp_hex_fixed(from, 40)) || (bh && strcasecmp(bh, *hash) != 0)) {
            *err = fmt(p, "block %lld: a transaction to the payment address is "
                                   "malformed (hash, value or from)", number);
            return APR_EGENERAL;
        }
        if (v == 0) {
            continue;
        }
        c = apr_array_push(cands);
        c->hash = apr_pstrdup(p, h);
        for (char *q = (char *)c->hash; *q; q++) {
            *q = (char)((*q >= 'A' && *q <= 'F') ? *q + 32 : *q);
        }
        c->from = from ? apr_pstrdup(p, from) : NULL;
        c->value = v;
        c->value_dec = acp_u128_dec(p, v);
        c->ref = fmt(p, "eth:%lld:%s:0", cfg->chain_id, c->hash);
        c->token = NULL;
        c->block = number;
        c->log_index = 0;
        c->block_hash = NULL;
    }
    return APR_SUCCESS;
}

/* A transfer counts only when its receipt says it succeeded in this very block: the
 * receipt is served from the node's canonical chain, so this is the re-check that the
 * block is still canonical right before crediting. */
static apr_status_t check_receipt(acp_rpc_t *rpc, apr_pool_t *p, long long number,
                                  const char *hash, const cand_t *c, int *ok, const char **err)
{
    json_object *r = NULL;
    const char *bh, *st, *bn;
    long long got = -1;

    *ok = 0;
    if (acp_rpc_call(rpc, p, "eth_getTransactionReceipt",
                     fmt(p, "[\"%s\"]", c->hash), &r, err) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    bh = jstr(r, "blockHash");
    st = jstr(r, "status");
    bn = jstr(r, "blockNumber");
    if (!bh || !bn || acp_hex_quantity(bn, &got) != 0 || strcasecmp(bh, hash) != 0 ||
        got != number) {
        *err = fmt(p, "block %lld is no longer canonical (receipt of %s)", number,
                            c->hash);
        return APR_EGENERAL;
    }
    if (c->token && !acp_chain_token_in_receipt(r, c)) {
        *err = fmt(p, "block %lld: the receipt of %s lacks its Transfer log %lld", number,
                   c->hash, c->log_index);
        return APR_EGENERAL;
    }
    *ok = st && !strcmp(st, "0x1");
    return APR_SUCCESS;
}

static apr_status_t take_lease(acp_db_t *db, apr_pool_t *p, const char *holder,
                               long long lease_secs, int *have)
{
    long long now = acp_now();
    int n = 0;
    apr_status_t rv;

    *have = 0;
    rv = acp_sa_begin(db);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acp_sa_exec(db, p, "acp_chain_lease", &n,
                     ACP_SA_ARGS(holder, LL(p, now + lease_secs), holder, LL(p, now)));
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    rv = acp_sa_commit(db);
    *have = rv == APR_SUCCESS && n == 1;
    return rv;
}

static void polled(acp_db_t *db, apr_pool_t *p, const char *holder, long long head)
{
    if (acp_sa_begin(db) != APR_SUCCESS) {
        return;
    }
    if (acp_sa_exec(db, p, "acp_chain_polled", NULL,
                    ACP_SA_ARGS(LL(p, head), LL(p, acp_now()), holder)) != APR_SUCCESS) {
        acp_sa_rollback(db);
        return;
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        acp_sa_rollback(db);
    }
}

apr_status_t acp_chain_lag(acp_db_t *db, apr_pool_t *p, acp_chain_lag_t *lag)
{
    const char **r = NULL;
    apr_status_t rv = acp_sa_row(db, p, "acp_chain_lag", &r, ACP_SA_NOARGS);

    memset(lag, 0, sizeof(*lag));
    lag->head = lag->last_block = -1;
    if (rv != APR_SUCCESS || !r) {
        return rv != APR_SUCCESS ? rv : APR_NOTFOUND;
    }
    lag->last_block = acp_sa_atoll(r[0]);
    lag->head = acp_sa_atoll(r[1]);
    lag->polled = acp_sa_atoll(r[2]);
    lag->updated = acp_sa_atoll(r[3]);
    return APR_SUCCESS;
}

apr_status_t acp_chain_release(acp_db_t *db, apr_pool_t *p, const char *holder)
{
    apr_status_t rv = acp_sa_begin(db);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acp_sa_exec(db, p, "acp_chain_release", NULL, ACP_SA_ARGS(holder));
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        return rv;
    }
    return acp_sa_commit(db);
}

/* One block, one transaction: its transfers and the progress commit together, and only
 * while this holder still has the lease and nobody moved the progress meanwhile. */
static apr_status_t commit_block(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                                 const char *holder, long long prev, long long number,
                                 const char *hash, apr_array_header_t *cands,
                                 const int *ok, acp_chain_poll_t *out, const char **err)
{
    int i, n = 0;
    apr_status_t rv = acp_sa_begin(db);

    if (rv != APR_SUCCESS) {
        *err = "database busy";
        return rv;
    }
    rv = acp_sa_exec(db, p, "acp_chain_advance", &n,
                     ACP_SA_ARGS(LL(p, number), hash, LL(p, cfg->chain_id), LL(p, acp_now()),
                                 holder, LL(p, prev)));
    if (rv == APR_SUCCESS && n != 1) {
        acp_sa_rollback(db);
        *err = "the lease was lost or another watcher moved on";
        return APR_EAGAIN;
    }
    for (i = 0; rv == APR_SUCCESS && i < cands->nelts; i++) {
        if (ok[i]) {
            rv = take_transfer(db, p, cfg, number, hash, &APR_ARRAY_IDX(cands, i, cand_t), out);
        }
    }
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        *err = fmt(p, "database error at block %lld: %s", number,
                            acp_sa_error(db, p, (int)rv));
        return rv;
    }
    rv = acp_sa_commit(db);
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(db);
        *err = "database commit failed";
    }
    return rv;
}

apr_status_t acp_chain_poll(acp_db_t *db, apr_pool_t *p, const acp_chain_cfg_t *cfg,
                            acp_rpc_t *rpc, const char *holder, long long lease_secs,
                            acp_chain_poll_t *out)
{
    const char **st = NULL, *err = NULL, *last_hash;
    apr_array_header_t *logs;
    long long last, chain = 0, head = 0, from, to, b;
    int conf = cfg->confirmations > 0 ? cfg->confirmations : ACP_CHAIN_CONFIRMATIONS;
    unsigned long calls0 = rpc->calls;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    out->from = out->to = -1;
    rv = take_lease(db, p, holder, lease_secs, &out->leased);
    if (rv != APR_SUCCESS || !out->leased) {
        out->error = rv != APR_SUCCESS ? "database error taking the lease" : NULL;
        return rv;
    }
    rv = acp_sa_row(db, p, "acp_chain_state", &st, ACP_SA_NOARGS);
    if (rv != APR_SUCCESS || !st) {
        out->error = "database error reading the watcher state";
        return rv != APR_SUCCESS ? rv : APR_EGENERAL;
    }
    last = acp_sa_atoll(st[0]);
    last_hash = st[1];
    if (rpc_quantity(rpc, p, "eth_chainId", &chain, &err) != APR_SUCCESS ||
        rpc_quantity(rpc, p, "eth_blockNumber", &head, &err) != APR_SUCCESS) {
        goto rpc_fail;
    }
    if (chain != cfg->chain_id) {
        err = fmt(p, "the node serves chain %lld, AcmePayEthereum names chain %lld",
                           chain, cfg->chain_id);
        goto rpc_fail;
    }
    out->head = head;
    to = head - conf + 1; /* the newest block with `conf` confirmations */
    from = last >= 0 ? last + 1 : (to - ACP_CHAIN_FIRST_WINDOW + 1 > 0
                                       ? to - ACP_CHAIN_FIRST_WINDOW + 1 : 0);
    if (to - from + 1 > ACP_CHAIN_BLOCKS_PER_POLL) {
        to = from + ACP_CHAIN_BLOCKS_PER_POLL - 1;
    }
    /* the token transfers of the whole range in one bounded eth_getLogs */
    logs = apr_array_make(p, 4, sizeof(cand_t));
    if (from <= to && cfg->tokens && cfg->tokens->nelts > 0 &&
        acp_chain_token_logs(rpc, p, cfg, from, to, logs, &err) != APR_SUCCESS) {
        goto rpc_fail;
    }
    for (b = from; b <= to; b++) {
        apr_pool_t *bp;
        apr_array_header_t *cands;
        const char *hash = NULL, *parent = NULL;
        int *ok, i;

        apr_pool_create(&bp, p);
        cands = apr_array_make(bp, 4, sizeof(cand_t));
        rv = read_block(rpc, bp, cfg, b, &hash, &parent, cands, &err);
        for (i = 0; rv == APR_SUCCESS && i < logs->nelts; i++) {
            const cand_t *l = &APR_ARRAY_IDX(logs, i, cand_t);
            if (l->block != b) {
                continue;
            }
            if (strcasecmp(l->block_hash, hash) != 0) {
                err = fmt(bp, "block %lld: its logs name block %s, the block is %s", b,
                          l->block_hash, hash);
                rv = APR_EGENERAL;
                break;
            }
            *(cand_t *)apr_array_push(cands) = *l;
        }
        ok = apr_pcalloc(bp, sizeof(int) * (size_t)(cands->nelts + 1));
        for (i = 0; rv == APR_SUCCESS && i < cands->nelts; i++) {
            rv = check_receipt(rpc, bp, b, hash, &APR_ARRAY_IDX(cands, i, cand_t), &ok[i],
                               &err);
        }
        if (rv != APR_SUCCESS) {
            err = apr_pstrdup(p, err);
            apr_pool_destroy(bp);
            goto rpc_fail;
        }
        if (last_hash && b == last + 1 && strcasecmp(parent, last_hash) != 0) {
            /* a reorganisation deeper than the confirmations we wait for: what was
             * credited stays credited; said once per poll so staff can look */
            out->error = fmt(p, "block %lld does not follow the stored block %lld "
                                         "(%s): a reorganisation deeper than %d blocks",
                                      b, last, last_hash, conf);
        }
        rv = commit_block(db, bp, cfg, holder, last, b, hash, cands, ok, out, &err);
        if (rv != APR_SUCCESS) {
            out->error = apr_pstrdup(p, err);
            apr_pool_destroy(bp);
            break;
        }
        if (out->from < 0) {
            out->from = b;
        }
        out->to = b;
        out->blocks++;
        last = b;
        last_hash = apr_pstrdup(p, hash);
        apr_pool_destroy(bp);
    }
    if (rv == APR_SUCCESS) {
        polled(db, p, holder, head); /* server-status shows the lag */
    }
    out->rpc_calls = rpc->calls - calls0;
    return rv;
rpc_fail:
    out->rpc_calls = rpc->calls - calls0;
    out->error = err;
    out->rpc_error = 1;
    return APR_EGENERAL;
}

apr_status_t acp_chain_assign_tx(acp_db_t *db, apr_pool_t *p, const char *reference,
                                 const char *billing_id, const char *actor,
                                 const char *reason, long long *amount)
{
    const char **t = NULL;
    int n = 0;
    apr_status_t rv;

    *amount = 0;
    rv = acp_sa_row(db, p, "acp_chain_transfer_get", &t, ACP_SA_ARGS(reference));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!t || strcmp(t[1], "unmatched") != 0) {
        return APR_NOTFOUND;
    }
    *amount = acp_sa_atoll(t[2]);
    if (*amount <= 0) {
        return APR_EINVAL;
    }
    rv = acp_sa_exec(db, p, "acp_chain_transfer_assign", &n,
                     ACP_SA_ARGS(billing_id, LL(p, acp_now()), actor, reason, reference));
    if (rv != APR_SUCCESS || n != 1) {
        return rv != APR_SUCCESS ? rv : APR_NOTFOUND;
    }
    return acp_billing_adjust_tx(db, p, billing_id, *amount, "payment", actor,
                                 apr_pstrcat(p, "chain transfer assigned: ", reason, NULL),
                                 NULL, reference, NULL);
}
