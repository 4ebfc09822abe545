/* Ethereum: addresses with their EIP-55 checksum, EIP-681 payment URIs, and the payment
 * options of an invoice: native ETH (the invoice's EIP-681 URI) and each ERC-20 token
 * configured with AcmePayEthereumToken, every one with its own amount that is unique among
 * open invoices (per token), its EIP-681 URI and a human amount with the token's decimals.
 * What the payment request, the invoice page and the chain watcher share. */
#ifndef ACP_ETH_H
#define ACP_ETH_H

#include "acp_core.h"
#include "acp_sa.h"

/* EIP-55: address is "0x" + 40 hex digits in any case. Returns the checksummed form
 * ("0x" + mixed case) or NULL if it is not that. */
char *acp_eth_checksum(apr_pool_t *p, const char *address);
/* 1 when address is "0x" + 40 hex with the correct EIP-55 mixed-case checksum, else 0
 * (all-lowercase / all-uppercase forms are rejected: we require the checksum). */
int acp_eth_address_valid(const char *address);
/* EIP-681 payment URI "ethereum:<address>@<chain_id>?value=<wei>", the address in its
 * EIP-55 form, wei = amount_minor * wei_per_minor + unique in exact decimal arithmetic.
 * wei_per_minor: 1..40 decimal digits. NULL on bad input (address not 40 hex, chain_id < 1,
 * amount_minor < 0, unique outside 0..999999). */
char *acp_eip681_uri(apr_pool_t *p, const char *address, long long chain_id,
                     long long amount_minor, const char *wei_per_minor, long long unique);

#define ACP_ETH_DECIMALS 18          /* ETH itself */
#define ACP_ETH_TOKEN_MIN_UPM 100    /* units per minor unit: room for a unique tag */
#define ACP_ETH_TOKEN_MAX_DECIMALS 36

/* AcmePayEthereumToken SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR */
typedef struct acp_eth_token_t {
    const char *symbol;          /* 1..11 of [A-Za-z0-9] */
    const char *contract;        /* EIP-55 */
    int decimals;                /* 0..ACP_ETH_TOKEN_MAX_DECIMALS */
    const char *units_per_minor; /* decimal, >= ACP_ETH_TOKEN_MIN_UPM, fits 128 bits */
} acp_eth_token_t;

/* Checks a token's directive arguments; NULL when good, else why not (static text). */
const char *acp_eth_token_check(const char *symbol, const char *contract,
                                const char *decimals, const char *units_per_minor);

/* value_dec (decimal base units) as a human amount with `decimals` places, trailing
 * zeros of the fraction dropped: ("1000000000000000042", 18) -> "1.000000000000000042",
 * ("1500000", 6) -> "1.5", ("7", 0) -> "7". NULL when value_dec is not 1..78 digits. */
char *acp_eth_human(apr_pool_t *p, const char *value_dec, int decimals);

/* EIP-681 token transfer: "ethereum:<contract>@<chain>/transfer?address=<to>&uint256=<n>",
 * both addresses EIP-55. NULL on bad input. */
char *acp_eth_token_uri(apr_pool_t *p, const char *contract, long long chain_id,
                        const char *to, const char *value_dec);

/* The token amount of an invoice: amount_minor × units_per_minor + tag, tag in
 * 1..min(units_per_minor - 1, 999999). NULL on overflow or bad input. */
char *acp_eth_token_value(apr_pool_t *p, long long amount_minor, const char *units_per_minor,
                          unsigned int random);

/* Gives a new open invoice an option per configured token (in the caller's transaction):
 * each amount unique among open invoices for that contract (a unique index; a taken
 * amount held by an invoice no longer open is freed, else another tag is tried). */
apr_status_t acp_eth_invoice_tokens_tx(acp_db_t *db, apr_pool_t *p,
                                       const apr_array_header_t *tokens, const char *to,
                                       long long chain_id, const char *invoice_id,
                                       long long amount_minor);

/* Every Ethereum option of an invoice, ETH first, then tokens by symbol: an array of
 * acp_eth_option_t (empty when the invoice has none; APR_NOTFOUND: no such invoice).
 * For the payment request and the invoice page. */
apr_status_t acp_eth_invoice_options(acp_db_t *db, apr_pool_t *p, const char *invoice_id,
                                     apr_array_header_t **options);

#endif
