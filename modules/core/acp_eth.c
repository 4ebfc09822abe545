/* Ethereum (see acp_eth.h): EIP-55 checksums over Keccak-256, EIP-681 URIs for ETH (exact
 * decimal wei) and for token transfers, token amounts, human amounts, and the options an
 * invoice carries. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "acp_eth.h"
#include "acp_chain.h"
#include "acp_keccak.h"
#include "acp_pay.h"
#include "acp_util.h"

#define LL(p, v) acp_sa_ll(p, v)
#define TOKEN_TRIES 16

/* ---- addresses (EIP-55) and EIP-681 ---------------------------------------------------- */

/* "0x" + 40 hex digits in any case: the checksummed form into out[43]; -1 otherwise. */
static int eth_checksum(const char *address, char out[43])
{
    char lower[40];
    unsigned char h[32];
    int i;

    if (!address || address[0] != '0' || (address[1] != 'x' && address[1] != 'X')) {
        return -1;
    }
    address += 2;
    for (i = 0; i < 40; i++) {
        if (acp_hexval((unsigned char)address[i]) < 0) {
            return -1;
        }
        lower[i] = (char)apr_tolower(address[i]);
    }
    if (address[40] != '\0') {
        return -1;
    }
    acp_keccak256((const unsigned char *)lower, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (i = 0; i < 40; i++) {
        int nib = (i % 2) ? (h[i / 2] & 0x0f) : (h[i / 2] >> 4);
        out[2 + i] = (lower[i] >= 'a' && nib >= 8) ? (char)apr_toupper(lower[i]) : lower[i];
    }
    out[42] = '\0';
    return 0;
}

char *acp_eth_checksum(apr_pool_t *p, const char *address)
{
    char out[43];
    return eth_checksum(address, out) == 0 ? apr_pstrdup(p, out) : NULL;
}

int acp_eth_address_valid(const char *address)
{
    char out[43];
    /* the "0x" prefix must be lower case; then every letter must match the checksum */
    return address && address[0] == '0' && address[1] == 'x' && eth_checksum(address, out) == 0 &&
           strcmp(out, address) == 0;
}

#define DEC_MAX 64   /* 40 + 19 digits of product, + carry room */

char *acp_eip681_uri(apr_pool_t *p, const char *address, long long chain_id,
                     long long amount_minor, const char *wei_per_minor, long long unique)
{
    char addr[43], amt[24], wei[DEC_MAX + 1];
    int a[DEC_MAX], r[DEC_MAX];      /* little-endian decimal digits */
    size_t wlen, alen, i, j;
    int top, k;

    if (eth_checksum(address, addr) != 0 || chain_id < 1 || amount_minor < 0 ||
        unique < 0 || unique > 999999 || !wei_per_minor) {
        return NULL;
    }
    wlen = strlen(wei_per_minor);
    if (wlen == 0 || wlen > 40) {
        return NULL;
    }
    for (i = 0; i < wlen; i++) {
        if (wei_per_minor[i] < '0' || wei_per_minor[i] > '9') {
            return NULL;
        }
        a[i] = wei_per_minor[wlen - 1 - i] - '0';
    }
    snprintf(amt, sizeof(amt), "%lld", amount_minor);
    alen = strlen(amt);
    memset(r, 0, sizeof(r));
    /* schoolbook product; every partial sum stays far below INT_MAX */
    for (i = 0; i < wlen; i++) {
        for (j = 0; j < alen; j++) {
            r[i + j] += a[i] * (amt[alen - 1 - j] - '0');
        }
    }
    /* + unique, then normalise the carries */
    for (i = 0; unique > 0; i++, unique /= 10) {
        r[i] += (int)(unique % 10);
    }
    for (i = 0; i + 1 < DEC_MAX; i++) {
        r[i + 1] += r[i] / 10;
        r[i] %= 10;
    }
    top = DEC_MAX - 1;
    while (top > 0 && r[top] == 0) {
        top--;
    }
    for (k = top, i = 0; k >= 0; k--, i++) {
        wei[i] = (char)('0' + r[k]);
    }
    wei[i] = '\0';
    return apr_pstrcat(p, "ethereum:", addr, "@",
                       apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)chain_id),
                       "?value=", wei, NULL);
}

/* ---- tokens and the options of an invoice --------------------------------------------- */

const char *acp_eth_token_check(const char *symbol, const char *contract,
                                const char *decimals, const char *units_per_minor)
{
    unsigned __int128 upm = 0;
    size_t i, n = strlen(symbol);
    long d = 0;
    char *end = NULL;

    if (n < 1 || n > 11) {
        return "the symbol must be 1 to 11 letters or digits";
    }
    for (i = 0; i < n; i++) {
        char c = symbol[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return "the symbol must be 1 to 11 letters or digits";
        }
    }
    if (!strcasecmp(symbol, "ETH")) {
        return "ETH is the chain's own currency, not a token";
    }
    if (!acp_eth_address_valid(contract)) {
        return "the contract must be an EIP-55 checksummed address";
    }
    d = strtol(decimals, &end, 10);
    if (!*decimals || *end || d < 0 || d > ACP_ETH_TOKEN_MAX_DECIMALS) {
        return "decimals must be an integer from 0 to 36";
    }
    if (acp_dec_u128(units_per_minor, &upm) != 0 || upm < ACP_ETH_TOKEN_MIN_UPM ||
        upm > (unsigned __int128)1 << 100) {
        return "units per minor unit must be an integer from 100 to 2^100 (the unique tag of "
               "an invoice's amount lives below one minor unit)";
    }
    return NULL;
}

char *acp_eth_human(apr_pool_t *p, const char *value_dec, int decimals)
{
    size_t n = value_dec ? strlen(value_dec) : 0, i, intlen;
    char *o, *q;

    if (n == 0 || n > 78 || decimals < 0 || decimals > 78) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (value_dec[i] < '0' || value_dec[i] > '9') {
            return NULL;
        }
    }
    while (n > 1 && *value_dec == '0') {
        value_dec++;
        n--;
    }
    o = apr_palloc(p, n + (size_t)decimals + 3);
    q = o;
    if ((size_t)decimals >= n) {
        /* 0.000…digits */
        *q++ = '0';
        *q++ = '.';
        for (i = 0; i < (size_t)decimals - n; i++) {
            *q++ = '0';
        }
        memcpy(q, value_dec, n);
        q += n;
    }
    else {
        intlen = n - (size_t)decimals;
        memcpy(q, value_dec, intlen);
        q += intlen;
        *q++ = '.';
        memcpy(q, value_dec + intlen, (size_t)decimals);
        q += decimals;
    }
    *q = '\0';
    /* drop the fraction's trailing zeros, and the point when nothing is left */
    if (strchr(o, '.')) {
        while (q > o && q[-1] == '0') {
            *--q = '\0';
        }
        if (q > o && q[-1] == '.') {
            *--q = '\0';
        }
    }
    return o;
}

char *acp_eth_token_uri(apr_pool_t *p, const char *contract, long long chain_id,
                        const char *to, const char *value_dec)
{
    const char *c = acp_eth_checksum(p, contract), *t = acp_eth_checksum(p, to);
    unsigned __int128 v;

    if (!c || !t || chain_id < 1 || acp_dec_u128(value_dec, &v) != 0) {
        return NULL;
    }
    return apr_pstrcat(p, "ethereum:", c, "@",
                       apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)chain_id),
                       "/transfer?address=", t, "&uint256=", acp_u128_dec(p, v), NULL);
}

char *acp_eth_token_value(apr_pool_t *p, long long amount_minor, const char *units_per_minor,
                          unsigned int random)
{
    unsigned __int128 upm = 0, max = ~(unsigned __int128)0, base, span;

    if (amount_minor < 0 || acp_dec_u128(units_per_minor, &upm) != 0 || upm < 2 ||
        (unsigned __int128)amount_minor > max / upm) {
        return NULL;
    }
    base = (unsigned __int128)amount_minor * upm;
    span = upm - 1 < 999999 ? upm - 1 : 999999; /* the tag stays below one minor unit */
    if (base > max - span) {
        return NULL;
    }
    return acp_u128_dec(p, base + 1 + (unsigned __int128)random % span);
}

/* A token option of a new invoice, unique among open invoices for the contract. */
static apr_status_t token_option(acp_db_t *db, apr_pool_t *p, const acp_eth_token_t *t,
                                 const char *to, long long chain_id, const char *invoice_id,
                                 long long amount_minor, long long now)
{
    const char *contract = apr_pstrdup(p, t->contract), *value = NULL, *uri;
    unsigned int r = 0;
    int tries, n = 0, freed = 0;
    apr_status_t rv;

    for (char *q = (char *)contract; *q; q++) {
        *q = (char)((*q >= 'A' && *q <= 'F') ? *q + 32 : *q);
    }
    for (tries = 0; tries < TOKEN_TRIES; tries++) {
        if (!freed) {
            RAND_bytes((unsigned char *)&r, sizeof(r));
            value = acp_eth_token_value(p, amount_minor, t->units_per_minor, r);
        }
        uri = value ? acp_eth_token_uri(p, t->contract, chain_id, to, value) : NULL;
        if (!uri) {
            return APR_EINVAL;
        }
        rv = acp_sa_exec(db, p, "acp_eth_token_insert", &n,
                         ACP_SA_ARGS(invoice_id, t->symbol, contract,
                                     LL(p, t->decimals), value, uri));
        if (rv != APR_SUCCESS || n == 1) {
            return rv;
        }
        /* taken: by an invoice that is no longer open (or past its expiry) it is freed */
        rv = acp_sa_exec(db, p, "acp_eth_token_free", &n,
                         ACP_SA_ARGS(contract, value, LL(p, now)));
        if (rv != APR_SUCCESS) {
            return rv;
        }
        freed = n > 0;
    }
    return APR_EEXIST;
}

apr_status_t acp_eth_invoice_tokens_tx(acp_db_t *db, apr_pool_t *p,
                                       const apr_array_header_t *tokens, const char *to,
                                       long long chain_id, const char *invoice_id,
                                       long long amount_minor)
{
    long long now = acp_now();
    int i;

    for (i = 0; tokens && to && i < tokens->nelts; i++) {
        apr_status_t rv = token_option(db, p, &APR_ARRAY_IDX(tokens, i, acp_eth_token_t), to,
                                       chain_id, invoice_id, amount_minor, now);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acp_eth_invoice_options(acp_db_t *db, apr_pool_t *p, const char *invoice_id,
                                     apr_array_header_t **options)
{
    const char **inv = NULL, *v;
    apr_array_header_t *rows = NULL;
    apr_status_t rv;
    int i;

    *options = apr_array_make(p, 4, sizeof(acp_eth_option_t));
    rv = acp_sa_row(db, p, "acp_invoice_get", &inv, ACP_SA_ARGS(invoice_id));
    if (rv != APR_SUCCESS || !inv) {
        return rv != APR_SUCCESS ? rv : APR_NOTFOUND;
    }
    v = inv[8] ? strstr(inv[8], "?value=") : NULL;
    if (v) {
        acp_eth_option_t *o = apr_array_push(*options);
        o->symbol = "ETH";
        o->decimals = ACP_ETH_DECIMALS;
        o->value = v + 7;
        o->amount = acp_eth_human(p, o->value, o->decimals);
        o->uri = inv[8];
        o->contract = NULL;
        if (!o->amount) {
            apr_array_pop(*options); /* a URI not of ours: not shown */
        }
    }
    rv = acp_sa_rows(db, p, "acp_eth_token_options", &rows, ACP_SA_ARGS(invoice_id));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        acp_eth_option_t *o = apr_array_push(*options);
        o->symbol = r[0];
        o->contract = r[1];
        o->decimals = (int)acp_sa_atoll(r[2]);
        o->value = r[3];
        o->uri = r[4];
        o->amount = acp_eth_human(p, o->value, o->decimals);
        if (!o->amount || !o->uri) {
            apr_array_pop(*options);
        }
    }
    return APR_SUCCESS;
}
