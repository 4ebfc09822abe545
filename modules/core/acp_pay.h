/* Payment requests: terminal and SVG QR codes (libqrencode), Keccak-256 / EIP-55 /
 * EIP-681 for Ethereum payments, money formatting, certificate prices, webhook
 * signatures and the per-client rendering of the finalize problem detail.
 * Pure functions: no database, no httpd. */
#ifndef ACP_PAY_H
#define ACP_PAY_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* QR code of data (libqrencode, 8-bit mode, ECC level L, smallest version) drawn for a
 * terminal with a dark background: the LIGHT modules (including a quiet zone of 2 modules
 * on every side) are printed as blocks, dark modules as spaces, so the light terminal
 * foreground shows the light modules. Unicode half blocks (U+2580, U+2584, U+2588, space),
 * two module rows per text row; rows joined by "\n", no trailing newline.
 * ascii != 0: ASCII-only variant, one text row per module row, "##" for light modules and
 * "  " for dark (same inversion). Returns NULL if data is empty or does not fit. */
char *acp_qr_text(apr_pool_t *p, const char *data, int ascii);
/* The same QR as a standalone SVG document (black modules on white, quiet zone 4),
 * module_px pixels per module (clamped to 1..64). NULL if data does not fit. */
char *acp_qr_svg(apr_pool_t *p, const char *data, int module_px);

/* Keccak-256 (original Keccak padding 0x01, as Ethereum uses; not SHA3-256). */
void acp_keccak256(const unsigned char *data, size_t len, unsigned char out[32]);
/* The rate-136 Keccak sponge with 256-bit output and a given domain padding byte:
 * 0x01 is Keccak-256, 0x06 is SHA3-256 (the tests check it against OpenSSL's). */
void acp_keccak_sponge256(const unsigned char *data, size_t len, unsigned char pad,
                          unsigned char out[32]);
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

/* ISO 4217 minor-unit exponent of a currency code (case-insensitive): 0 for JPY, KRW, …,
 * 3 for BHD, KWD, …, 2 for everything else. */
int acp_currency_exponent(const char *currency);
/* "12.34 CNY", "500 JPY", "-0.05 EUR"; just the number when currency is NULL or "". */
char *acp_money(apr_pool_t *p, long long minor, const char *currency);

/* Price of a certificate: base + per_extra_name * (names - 1) + per_wildcard * wildcards.
 * names holds const char * ("*.x.y" for wildcards). Returns -1 on arithmetic overflow. */
typedef struct acp_price_cfg_t { long long base, per_extra_name, per_wildcard; } acp_price_cfg_t;
long long acp_price(const acp_price_cfg_t *cfg, const apr_array_header_t *names);

/* Webhook signature header "t=<unix>,v1=<hex HMAC-SHA256(secret, t "." body)>" (several
 * v1= entries allowed, any match wins, constant-time compare; other keys ignored).
 * Returns 0 when a signature matches and |now - t| <= tolerance; else -1 with *why set:
 * "missing signature header", "malformed signature header", "timestamp too old",
 * "timestamp in the future", "signature mismatch". */
int acp_webhook_verify(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *header, const char *body, size_t body_len, long long now,
                       int tolerance, const char **why);
/* For tests and tools: the header value for a body at time t. */
char *acp_webhook_sign(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                       const char *body, size_t body_len, long long t);

/* How an ACME client shows a finalize error, decided by its User-Agent (table in
 * acp_pay.c, derived from /work/shared/CLIENTS.md and the clients' source). */
typedef struct acp_client_profile_t {
    const char *name;          /* "certbot", "certbot-renew", "lego", "acme.sh", … "default" */
    int ascii_qr;              /* client escapes non-ASCII: draw the ASCII QR */
    int plain_text;            /* client prints a non-JSON body verbatim: answer text/plain */
    int no_qr;                 /* client squashes newlines (logs a single line): omit the QR */
    int retryable_type;        /* use a non-"input" problem type so it retries soon (mod_md) */
    int early_payment;         /* the client cannot show a finalize problem at all: report a
                                  short balance as the challenge's error instead, which it
                                  does print (certbot 2.1 on Python 3.11, see README) */
} acp_client_profile_t;
/* Never NULL: the "default" profile when nothing matches (or user_agent is NULL). */
const acp_client_profile_t *acp_client_profile(const char *user_agent);

/* One way to pay an invoice on Ethereum (acp_eth_invoice_options). */
typedef struct acp_eth_option_t {
    const char *symbol;        /* "ETH" or the token's symbol */
    const char *amount;        /* human units, e.g. "10.000000000000123456" */
    const char *uri;           /* EIP-681 */
    const char *contract;      /* the token contract (lower case); NULL for ETH */
    const char *value;         /* base units (wei), decimal */
    int decimals;
} acp_eth_option_t;

struct acp_pay_request_t {
    long long amount_minor;
    const char *currency;
    const char *link;          /* short payment URL (what the QR encodes) */
    const char *qr_data;       /* what the QR encodes: the link, or a provider's checkout URL;
                                * NULL: the link */
    const char *eip681;        /* NULL when Ethereum is not configured */
    const apr_array_header_t *eth_options; /* acp_eth_option_t, ETH first; NULL: eip681 only */
    const char *order_names;   /* "a.example, b.example" */
    const char *invoice_id;    /* the invoice this request is for (NULL: none) */
    int checkout_pending;      /* the invoice command has still to run for it */
    const char *notify_base;   /* <base> of the providers' notification URLs <base>/pay/<name> */
    const char *checkout_error; /* set by acp_billing_checkout when no provider made one */
};
typedef struct acp_pay_request_t acp_pay_request_t;

/* The problem detail: "\n", "Payment required: 12.34 CNY for a.example — pay at <link>",
 * a blank line, the QR rows (unless profile->no_qr or the data does not fit), a blank
 * line, "Pay at: <link>", then per Ethereum option "Ethereum (<symbol>): <amount> <symbol>",
 * its own QR (as above), "Ethereum: <uri>" (without options: "Ethereum: <eip681>" when
 * set), then "Pay, then run the same command again." Lines joined by "\n", no trailing newline. Raw UTF-8; pure ASCII for ascii_qr
 * profiles. Control characters in the request's strings become '?'. profile NULL: default. */
char *acp_pay_detail(apr_pool_t *p, const acp_pay_request_t *req,
                     const acp_client_profile_t *profile);

#endif
