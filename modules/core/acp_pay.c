/* The payment request as an ACME problem (see acp_pay.h): the table of ACME clients by
 * User-Agent and the finalize problem detail each of them is sent. Pure functions. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_pay.h"
#include "acp_money.h"
#include "acp_qr.h"
#include "acp_util.h"

/* ---- ACME clients ----------------------------------------------------------------------- */

static int ci_prefix(const char *s, const char *pre)
{
    return strncasecmp(s, pre, strlen(pre)) == 0;
}

static int ci_contains(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        if (strncasecmp(s, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* First match wins. prefix: the User-Agent begins with it; contains: it occurs anywhere
 * (both case-insensitive; a row may require both). See /work/shared/CLIENTS.md. */
static const struct {
    const char *prefix;
    const char *contains;
    acp_client_profile_t profile;
} client_table[] = {
    /* certbot renew: problem __str__ escapes non-ASCII (a half block shows as \u2580) */
    {"CertbotACMEClient/", "(renew;", {"certbot-renew", 1, 0, 0, 0, 1}},
    /* certbot certonly/run: "title :: detail" verbatim for urn:ietf types, UTF-8 kept --
     * in its source; Debian 12's certbot 2.1 on Python 3.11 turns every ACME problem
     * raised at finalize into "AttributeError: can't set attribute" (josepy's immutable
     * Error under contextlib), so the request is reported on the challenge, whose error
     * it prints as "Domain / Type / Detail" */
    {"CertbotACMEClient/", NULL, {"certbot", 0, 0, 0, 0, 1}},
    /* lego: "acme: error: 403 :: … :: <detail>" verbatim, newlines kept */
    {"lego-cli/", NULL, {"lego", 0, 0, 0, 0, 0}},
    /* acme.sh: raw body through printf %b, so JSON "\n" escapes become newlines */
    {"acme.sh/", NULL, {"acme.sh", 0, 0, 0, 0, 0}},
    /* dehydrated: on non-2xx cats headers and raw body and exits without parsing it
     * (checked in its http_request()): text/plain prints the QR; JSON would show "\n" */
    {"dehydrated/", NULL, {"dehydrated", 0, 1, 0, 0, 0}},
    /* uacme: JSON strings printed raw, escapes not decoded; non-JSON body not shown */
    {"uacme/", NULL, {"uacme", 0, 0, 1, 0, 0}},
    /* acme-tiny: JSON shown as dict repr (\n literal); non-JSON 403 body printed verbatim */
    {"acme-tiny", NULL, {"acme-tiny", 0, 1, 0, 0, 0}},
    /* mod_md ("Apache/2.4.x (Debian) mod_md/2.x"): one escaped log line; treats
     * userActionRequired as input-related and waits 24 h, so send a retryable type */
    {NULL, "mod_md/", {"mod_md", 0, 0, 1, 1, 0}},
    /* Caddy ("Caddy/2 CertMagic acmez …"): logged, newlines escaped by the logger */
    {NULL, "CertMagic", {"caddy", 0, 0, 1, 0, 0}},
    /* cert-manager: detail lands in the Order's status, a single line */
    {NULL, "cert-manager/", {"cert-manager", 0, 0, 1, 0, 0}},
    /* win-acme: prints detail with newlines (Unicode console) */
    {"win-acme/", NULL, {"win-acme", 0, 0, 0, 0, 0}},
    /* Posh-ACME: the exception message is detail, newlines kept */
    {"Posh-ACME/", NULL, {"posh-acme", 0, 0, 0, 0, 0}},
};

/* anything else: detail verbatim with the Unicode QR, the RFC 8555 baseline */
static const acp_client_profile_t default_profile = {"default", 0, 0, 0, 0, 0};

const acp_client_profile_t *acp_client_profile(const char *user_agent)
{
    size_t i;

    if (!user_agent) {
        return &default_profile;
    }
    for (i = 0; i < sizeof(client_table) / sizeof(client_table[0]); i++) {
        if (client_table[i].prefix && !ci_prefix(user_agent, client_table[i].prefix)) {
            continue;
        }
        if (client_table[i].contains && !ci_contains(user_agent, client_table[i].contains)) {
            continue;
        }
        return &client_table[i].profile;
    }
    return &default_profile;
}

/* ---- the problem detail ---------------------------------------------------------------- */

/* s with control characters (and, when ascii, every byte >= 0x80) replaced by '?'. */
static const char *clean(apr_pool_t *p, const char *s, int ascii)
{
    char *o;
    size_t i;

    if (!s) {
        return "";
    }
    o = apr_pstrdup(p, s);
    for (i = 0; o[i]; i++) {
        unsigned char c = (unsigned char)o[i];
        if (c < 0x20 || c == 0x7f || (ascii && c >= 0x80)) {
            o[i] = '?';
        }
    }
    return o;
}

/* Each Ethereum option: its amount in human units, its own QR, its URI. */
static void eth_options(acp_buf_t *sb, apr_pool_t *p, const apr_array_header_t *opts,
                        const acp_client_profile_t *profile)
{
    int i, ascii = profile->ascii_qr;

    for (i = 0; i < opts->nelts; i++) {
        const acp_eth_option_t *o = &APR_ARRAY_IDX(opts, i, acp_eth_option_t);
        const char *sym = clean(p, o->symbol, ascii), *qr;

        if (!o->uri || !*o->uri || !o->amount) {
            continue;
        }
        qr = profile->no_qr ? NULL : acp_qr_text(p, o->uri, ascii);
        acp_buf_add(sb, "\nEthereum (");
        acp_buf_add(sb, sym);
        acp_buf_add(sb, "): ");
        acp_buf_add(sb, clean(p, o->amount, ascii));
        acp_buf_add(sb, " ");
        acp_buf_add(sb, sym);
        acp_buf_add(sb, "\n");
        if (qr) {
            acp_buf_add(sb, qr);
            acp_buf_add(sb, "\n");
        }
        acp_buf_add(sb, "Ethereum: ");
        acp_buf_add(sb, clean(p, o->uri, ascii));
        acp_buf_add(sb, "\n");
    }
    acp_buf_add(sb, "\n");
}

char *acp_pay_detail(apr_pool_t *p, const acp_pay_request_t *req,
                     const acp_client_profile_t *profile)
{
    int ascii;
    const char *link, *names, *qr = NULL;
    acp_buf_t sb;

    if (!req) {
        return NULL;
    }
    if (!profile) {
        profile = &default_profile;
    }
    ascii = profile->ascii_qr;
    link = clean(p, req->link, ascii);
    names = clean(p, req->order_names, ascii);
    if (!profile->no_qr) {
        const char *data = req->qr_data ? req->qr_data : req->link;
        if (data && *data) {
            qr = acp_qr_text(p, data, ascii);
        }
    }
    acp_buf_init(&sb, p, 4096);
    acp_buf_add(&sb, "\nPayment required: ");
    acp_buf_add(&sb, clean(p, acp_money(p, req->amount_minor, req->currency), ascii));
    if (*names) {
        acp_buf_add(&sb, " for ");
        acp_buf_add(&sb, names);
    }
    if (*link) {
        acp_buf_add(&sb, ascii ? " - pay at " : " \xe2\x80\x94 pay at ");
        acp_buf_add(&sb, link);
    }
    acp_buf_add(&sb, "\n\n");
    if (qr) {
        acp_buf_add(&sb, qr);
        acp_buf_add(&sb, "\n\n");
    }
    if (req->qr_data && *req->qr_data && (!req->link || strcmp(req->qr_data, req->link) != 0)) {
        /* the provider's checkout the QR encodes (a weixin:// code_url cannot be opened
         * from a terminal, but can be pasted into a QR generator or the staff console) */
        acp_buf_add(&sb, "Checkout: ");
        acp_buf_add(&sb, clean(p, req->qr_data, ascii));
        acp_buf_add(&sb, "\n");
    }
    if (*link) {
        acp_buf_add(&sb, "Pay at: ");
        acp_buf_add(&sb, link);
        acp_buf_add(&sb, "\n");
    }
    if (req->eth_options && req->eth_options->nelts > 0) {
        eth_options(&sb, p, req->eth_options, profile);
    }
    else if (req->eip681 && *req->eip681) {
        acp_buf_add(&sb, "Ethereum: ");
        acp_buf_add(&sb, clean(p, req->eip681, ascii));
        acp_buf_add(&sb, "\n");
    }
    acp_buf_add(&sb, "Pay, then run the same command again.");
    return sb.b;
}
