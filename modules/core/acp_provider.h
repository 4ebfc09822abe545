/* Payment providers behind one interface (acp_provider_t): each makes a checkout for an
 * invoice with the provider's own API and verifies the provider's own notification.
 *
 *  - checkout: called where AcmePayInvoiceCommand runs (acp_billing_checkout): after the
 *    transaction that created the invoice has committed, never inside one, once per
 *    invoice (claimed in the database); the URL it gives is stored with the invoice and is
 *    what the payment request's QR encodes.
 *  - verify: the web front end's dispatcher (acp_wfe_notify.c) hands it every POST to
 *    <base>/pay/<name>: request headers and the raw body. An authentic payment becomes an
 *    acp_notice_t that is credited through acp_billing_payment_tx with the reference
 *    "<name>:<txn_id>" (so a replayed or concurrent delivery credits once), after the
 *    amount and currency have been checked against the invoice.
 *  - answer: the body and status the provider expects back (Stripe: any 2xx; Alipay: the
 *    text "success"; …).
 *
 * Apache-free; HTTP through libcurl (acp_provider_http) with connect and total timeouts. */
#ifndef ACP_PROVIDER_H
#define ACP_PROVIDER_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

typedef struct acp_checkout_t {
    /* in */
    const char *invoice_id;   /* also the provider's order number (out_trade_no, …) */
    long long amount_minor;   /* ISO 4217 minor units of currency */
    const char *currency;     /* "CNY", … as configured */
    const char *names;        /* "a.example,b.example": what is bought (item description) */
    const char *return_url;   /* the invoice page: where a payer returns to */
    const char *notify_url;   /* <base>/pay/<name>: this provider's notification URL */
    int timeout_ms;           /* total time left for this call (connect: at most 5 s) */
    /* out */
    const char *url;          /* payment link or QR payload (http(s), printable ASCII) */
    const char *reference;    /* the provider's id of the checkout (session id, …) or NULL */
} acp_checkout_t;

typedef struct acp_notice_t {
    const char *invoice_id;
    long long amount_minor;   /* converted exactly from the provider's form */
    const char *currency;     /* upper case */
    const char *txn_id;       /* the provider's transaction id: reference "<name>:<txn_id>" */
    int not_payment;          /* authentic, but nothing to credit (another event type, a
                               * trade not yet paid): acknowledged, nothing changes */
} acp_notice_t;

/* How verify refuses (the dispatcher's HTTP status in brackets). */
typedef enum {
    ACP_NOTICE_OK = 0,
    ACP_NOTICE_MALFORMED,     /* 400: not the provider's format, a field missing or bad */
    ACP_NOTICE_FORGED,        /* 401: signature missing or wrong, timestamp stale, wrong app */
} acp_notice_err_t;

typedef struct acp_provider_t acp_provider_t;
struct acp_provider_t {
    const char *name;         /* [a-z0-9]{1,16}, not "i" or "webhook": the URL
                               * <base>/pay/<name> and the reference prefix */
    void *ctx;                /* the provider's own configuration */
    /* APR_SUCCESS with co->url set, else *err (one line, no secret). */
    apr_status_t (*checkout)(const acp_provider_t *pv, apr_pool_t *p, acp_checkout_t *co,
                             const char **err);
    /* ACP_NOTICE_OK with *n filled, else a refusal and *why (one line). headers: the
     * request's (case-insensitive names); now: unix seconds. */
    acp_notice_err_t (*verify)(const acp_provider_t *pv, apr_pool_t *p,
                               const apr_table_t *headers, const char *body, size_t len,
                               long long now, acp_notice_t *n, const char **why);
    /* The answer the provider expects: ok != 0 after a credit (or an acknowledged
     * not_payment / already credited notice); else status is the dispatcher's (4xx/5xx)
     * and why says what was wrong. */
    void (*answer)(const acp_provider_t *pv, apr_pool_t *p, int ok, int *status,
                   const char **content_type, const char **body, const char *why);
};

/* The configured providers of a server: acp_provider_t *, in directive order (the first
 * whose checkout succeeds makes an invoice's checkout). */
const acp_provider_t *acp_provider_find(const apr_array_header_t *providers, const char *name);
/* Is name usable as a provider's name ([a-z0-9]{1,16}, not "i"/"webhook")? */
int acp_provider_name_ok(const char *name);

/* ---- helpers for providers ---------------------------------------------------------- */

#define ACP_PROVIDER_MAX_ANSWER (256 * 1024) /* largest provider answer read */

/* POST body (GET when body is NULL) to url (http or https only, no redirects) with the
 * extra header lines given (NULL-terminated, may be NULL); connect timeout
 * min(5 s, timeout_ms), total timeout_ms. *status: the HTTP status, *answer and *len the
 * answer (NUL-terminated, at most ACP_PROVIDER_MAX_ANSWER). APR_SUCCESS once an HTTP
 * answer arrived (any status), else *err. */
apr_status_t acp_provider_http(apr_pool_t *p, const char *url, const char *const *headers,
                      const char *body, int timeout_ms, long *status, const char **answer,
                      size_t *len, const char **err);

/* application/x-www-form-urlencoded value: unreserved characters kept, space '+',
 * everything else %XX. */
char *acp_form_encode(apr_pool_t *p, const char *s);
/* Parse a form body ("a=1&b=x+y%21"): names and values decoded ('+' and %XX). NULL on a
 * malformed body: a bad %-escape, a decoded NUL, an empty or repeated name. */
apr_table_t *acp_form_parse(apr_pool_t *p, const char *body, size_t len);

/* Exact decimal of minor units: "88.80" = 8880 at exponent 2. Accepts digits with at
 * most exponent decimals ("88", "88.8", "88.80"); no sign, space or exponent. Returns 0
 * and *minor, or -1. */
int acp_decimal_to_minor(const char *s, int exponent, long long *minor);
/* "88.80" for 8880 at exponent 2, "500" at exponent 0. */
char *acp_minor_to_decimal(apr_pool_t *p, long long minor, int exponent);

/* Constant-time comparison of two NUL-terminated strings (length not hidden). */
int acp_str_equal_ct(const char *a, const char *b);

/* A secret from a file (trailing CR/LF/spaces stripped): APR_SUCCESS and *out, *len, or
 * *err. min_len..max_len bytes. */
apr_status_t acp_provider_read_secret(apr_pool_t *p, const char *path, size_t min_len, size_t max_len,
                             const char **out, size_t *len, const char **err);

/* The secret of option key, which must be "file:/path" (secrets never in the config):
 * read with acp_provider_read_secret; NULL and *err when missing or bad. */
const char *acp_provider_opt_secret(apr_pool_t *p, const apr_table_t *opts, const char *key,
                                    size_t min, size_t max, size_t *len, const char **err);
/* APR_EINVAL and *err when opts has an option not in known (NULL-terminated). */
apr_status_t acp_provider_opts_check(apr_pool_t *p, const apr_table_t *opts,
                                     const char *const *known, const char **err);

/* ---- the providers (acp_provider_stripe.c, acp_provider_alipay.c) -------------------- */

/* opts: option=value pairs of the directive, file: values already read as paths. */
apr_status_t acp_provider_stripe_new(apr_pool_t *p, const apr_table_t *opts, acp_provider_t **out,
                            const char **err);
apr_status_t acp_provider_wechat_new(apr_pool_t *p, const apr_table_t *opts,
                                     acp_provider_t **out, const char **err);
apr_status_t acp_provider_alipay_new(apr_pool_t *p, const apr_table_t *opts, acp_provider_t **out,
                            const char **err);

#endif
