/* The payment request as an ACME problem: which ACME client asks (its User-Agent decides
 * the QR's form, plain text or JSON, a retryable type, reporting on the challenge), the
 * request itself with its Ethereum options, and the problem detail shaped for that client.
 * Pure functions: no database, no httpd. */
#ifndef ACP_PAY_H
#define ACP_PAY_H

#include <apr_pools.h>
#include <apr_tables.h>

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
 * set), then "Pay, then run the same command again." Lines joined by "\n", no trailing
 * newline. Raw UTF-8; pure ASCII for ascii_qr profiles. Control characters in the request's
 * strings become '?'. profile NULL: default. */
char *acp_pay_detail(apr_pool_t *p, const acp_pay_request_t *req,
                     const acp_client_profile_t *profile);

#endif
