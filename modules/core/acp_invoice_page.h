/* The invoice page a payer sees, often on a phone after scanning a QR: rendering only.
 * Every string in English and Simplified Chinese from one table, the language chosen from
 * Accept-Language, an optional branding template (AcmePayInvoiceTemplate) with
 * placeholders, every interpolated value HTML-escaped, and the Content-Security-Policy
 * that fits the page (hashes of the built-in script and style, a nonce for the template's
 * own <style>). No database, no httpd. */
#ifndef ACP_INVOICE_PAGE_H
#define ACP_INVOICE_PAGE_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum { ACP_LANG_EN = 0, ACP_LANG_ZH_CN = 1, ACP_LANG_COUNT } acp_lang_t;

/* Every string the page shows, one row each in the table of acp_invoice_page.c. */
typedef enum {
    ACP_S_TITLE, ACP_S_NAMES, ACP_S_AMOUNT, ACP_S_EXPIRES, ACP_S_STATUS, ACP_S_RECEIVED,
    ACP_S_WAYS, ACP_S_WAY_PROVIDER, ACP_S_WAY_LINK, ACP_S_OPEN_PROVIDER, ACP_S_WAY_ETH,
    ACP_S_ETH_HINT, ACP_S_WAY_TEST, ACP_S_SIMULATE, ACP_S_WAY_PHONE, ACP_S_PHONE_HINT,
    ACP_S_OPEN, ACP_S_OPEN_TEXT, ACP_S_PAID, ACP_S_PAID_TEXT, ACP_S_EXPIRED, ACP_S_EXPIRED_TEXT,
    ACP_S_VOIDED, ACP_S_VOIDED_TEXT, ACP_S_SUPERSEDED, ACP_S_SUPERSEDED_TEXT, ACP_S_REASON,
    ACP_S_PV_STRIPE, ACP_S_PV_ALIPAY, ACP_S_PV_WECHAT, /* providers' names (ways to pay) */
    ACP_S_COUNT
} acp_str_t;

/* The string in a language (never NULL). */
const char *acp_invoice_str(acp_lang_t lang, acp_str_t s);
/* The language for an Accept-Language header (RFC 9110 §12.5.4): the acceptable range of
 * highest q (ties: the first) that names a language the page speaks -- "zh", "zh-CN",
 * "zh-Hans…", "zh-SG" are Simplified Chinese, "en…" and "*" English; q=0 excludes.
 * NULL, garbage or nothing matching: English. */
acp_lang_t acp_invoice_lang(const char *accept_language);
/* BCP 47 tag of a language: "en", "zh-CN". */
const char *acp_invoice_lang_tag(acp_lang_t lang);

/* HTML text and attribute values: & < > " ' as entities; NULL becomes "". */
const char *acp_html_escape(apr_pool_t *p, const char *s);

/* One way to pay an open invoice. Filled by the web front end's table of ways
 * (acp_wfe_invoice.c), drawn here in the order given. */
typedef struct acp_invoice_way_t {
    const char *kind;       /* class and test hook: "provider", "link", "ethereum", "test" …
                             * ([a-z0-9-] only; anything else is dropped) */
    acp_str_t label;        /* its heading */
    const char *label_text; /* or this literal heading (a provider's own name), else NULL */
    const char *qr;         /* what its QR encodes, or NULL (no QR) */
    const char *href;       /* where a tap goes (http(s) or ethereum:), or NULL */
    acp_str_t href_label;   /* the link's text (ACP_S_COUNT: the href itself) */
    const char *amount;     /* the amount in this way's own units ("0.0100…01 ETH"), or NULL */
    const char *hint;       /* a line above the amount (already a table string), or NULL */
    const char *uri;        /* text to copy (an EIP-681 URI), or NULL */
    const char *post;       /* a relative URL a button POSTs to (test mode), or NULL */
    acp_str_t post_label;
} acp_invoice_way_t;

/* What the page says about one invoice. */
typedef struct acp_invoice_view_t {
    const char *id;
    const char *names;       /* "a.example, b.example", or NULL (unknown order) */
    const char *amount;      /* "10.00 CNY" */
    const char *received;    /* part received so far ("5.00 CNY"), or NULL */
    long long expires;       /* unix seconds */
    const char *state;       /* open | paid | expired | voided | superseded */
    const char *reason;      /* why it was closed (voided, superseded), or NULL */
    const apr_array_header_t *ways; /* acp_invoice_way_t, shown while open */
    const char *status_url;  /* the JSON status, relative to the page */
} acp_invoice_view_t;

/* A branding template (AcmePayInvoiceTemplate): an HTML document with placeholders
 *   {{content}}  the invoice (required, exactly once)
 *   {{head}}     the built-in <style> (leave it out to style the page yourself)
 *   {{lang}}     "en" or "zh-CN"          {{title}}    the page title
 *   {{nonce}}    this response's CSP nonce: <style nonce="{{nonce}}"> is allowed
 *   {{invoice}}  the invoice id            {{state}}    open, paid, expired, …
 *   {{amount}}   "10.00 CNY"               {{names}}    the names paid for
 * Values are HTML-escaped. Anything else between {{ and }} is an error, and so are a
 * template above 64 KiB, a NUL byte and invalid UTF-8. */
typedef struct acp_invoice_tpl_t acp_invoice_tpl_t;
#define ACP_INVOICE_TPL_MAX 65536
/* Parse a template; NULL and *out, or an error message. */
const char *acp_invoice_tpl_parse(apr_pool_t *p, const char *text, apr_size_t len,
                                  const acp_invoice_tpl_t **out);

/* The page in lang, through tpl (NULL: the built-in layout); *csp is the
 * Content-Security-Policy header value it needs. */
void acp_invoice_render(apr_pool_t *p, const acp_invoice_view_t *v, acp_lang_t lang,
                        const acp_invoice_tpl_t *tpl, const char **html, const char **csp);

#endif
