/* Web front end, the invoice page side: GET pay/i/<id> (the page a payer sees, drawn by
 * acp_invoice_page.c) and GET pay/i/<id>/status (the JSON its script polls). Both read one
 * row by primary key and write nothing; the status answers of one child come from a small
 * cache for a second, so however many pages poll, an invoice costs a child at most one
 * database read a second. The ways to pay are a table: a payment provider adds a function
 * that appends its options (none when it is not configured for this invoice). */
#include <string.h>
#include <pthread.h>
#include <apr_strings.h>
#include "acp_wfe.h"
#include "acp_billing.h"
#include "acp_eth.h"
#include "acp_invoice_page.h"
#include "acp_money.h"
#include "acp_pay.h"
#include "acp_util.h"

/* the columns of acp_invoice_page */
enum {
    C_ID, C_AMOUNT, C_PAID, C_CURRENCY, C_STATUS, C_PAY_URL, C_ETH_URI, C_EXPIRES, C_CHECKOUT,
    C_REASON, C_NAMES, C_PROVIDER
};

typedef struct {
    apr_pool_t *p;
    acp_db_t *db;
    const acp_wfe_cfg_t *cfg;
    const char *const *inv; /* the acp_invoice_page row */
    const char *self;       /* this page's absolute URL (configured server name) */
    acp_lang_t lang;
    apr_array_header_t *ways;
} ways_ctx_t;

static acp_invoice_way_t *way_add(ways_ctx_t *c, const char *kind, acp_str_t label)
{
    acp_invoice_way_t *w = apr_array_push(c->ways);

    memset(w, 0, sizeof(*w));
    w->kind = kind;
    w->label = label;
    w->href_label = ACP_S_COUNT;
    w->post_label = ACP_S_COUNT;
    return w;
}

/* The checkout a provider made (AcmePayStripe, …, or AcmePayInvoiceCommand's URL): its
 * QR and a link, headed by the provider's name when the page knows it. */
static void way_provider(ways_ctx_t *c)
{
    static const struct {
        const char *name;
        acp_str_t label;
    } names[] = {{"stripe", ACP_S_PV_STRIPE}, {"alipay", ACP_S_PV_ALIPAY},
                 {"wechat", ACP_S_PV_WECHAT}};
    const char *url = c->inv[C_CHECKOUT];
    acp_invoice_way_t *w;
    size_t i;

    if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        return;
    }
    w = way_add(c, "provider", ACP_S_WAY_PROVIDER);
    for (i = 0; c->inv[C_PROVIDER] && i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(c->inv[C_PROVIDER], names[i].name)) {
            w->label = names[i].label;
        }
    }
    w->qr = url;
    w->href = url;
    w->href_label = ACP_S_OPEN_PROVIDER;
}

/* An external payment page (AcmePayPaymentURL) when the link is not this page. */
static void way_link(ways_ctx_t *c)
{
    const char *url = c->inv[C_PAY_URL];
    acp_invoice_way_t *w;

    if (!url || !strcmp(url, c->self) || c->inv[C_CHECKOUT] ||
        (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
        return;
    }
    w = way_add(c, "link", ACP_S_WAY_LINK);
    w->qr = url;
    w->href = url;
    w->href_label = ACP_S_OPEN_PROVIDER;
}

/* Ethereum: each option of the invoice (native ETH, then each ERC-20 token,
 * acp_eth_invoice_options) with its own QR, EIP-681 URI and amount in its own units. */
static void way_ethereum(ways_ctx_t *c)
{
    apr_array_header_t *opts = NULL;
    acp_invoice_way_t *w;
    int i;

    if (!c->inv[C_ETH_URI]) {
        return;
    }
    if (acp_eth_invoice_options(c->db, c->p, c->inv[C_ID], &opts) != APR_SUCCESS) {
        /* the tokens could not be read: the stored ETH URI alone, without an amount */
        w = way_add(c, "ethereum", ACP_S_WAY_ETH);
        w->qr = w->href = w->uri = c->inv[C_ETH_URI];
        return;
    }
    for (i = 0; i < opts->nelts; i++) {
        const acp_eth_option_t *o = &APR_ARRAY_IDX(opts, i, acp_eth_option_t);
        w = way_add(c, o->contract ? "erc20" : "ethereum", ACP_S_WAY_ETH);
        if (o->contract) {
            w->label_text = apr_pstrcat(c->p, o->symbol, " (ERC-20)", NULL);
        }
        w->qr = w->href = w->uri = o->uri;
        w->hint = acp_invoice_str(c->lang, ACP_S_ETH_HINT);
        w->amount = apr_pstrcat(c->p, o->amount, " ", o->symbol, NULL);
    }
}

/* AcmePayTestMode: the "Simulate payment" button (same credit path as the webhook). */
static void way_test(ways_ctx_t *c)
{
    acp_invoice_way_t *w;

    if (!c->cfg->test_mode) {
        return;
    }
    w = way_add(c, "test", ACP_S_WAY_TEST);
    w->post = apr_pstrcat(c->p, c->inv[C_ID], "/simulate", NULL);
    w->post_label = ACP_S_SIMULATE;
}

/* The ways to pay, in the order shown. */
static void (*const ways[])(ways_ctx_t *) = {way_provider, way_link, way_ethereum, way_test};

/* Without any QR among them, one of this page itself (viewed on a desktop, the payer
 * moves to a phone). */
static void way_phone(ways_ctx_t *c)
{
    acp_invoice_way_t *w;
    int i;

    for (i = 0; i < c->ways->nelts; i++) {
        if (APR_ARRAY_IDX(c->ways, i, acp_invoice_way_t).qr) {
            return;
        }
    }
    w = way_add(c, "phone", ACP_S_WAY_PHONE);
    w->qr = c->self;
    w->hint = acp_invoice_str(c->lang, ACP_S_PHONE_HINT);
}

/* ---- the state of an invoice ------------------------------------------------------------ */

typedef struct {
    const char *state;    /* open, paid, expired, voided, superseded */
    const char *amount;   /* "10.00 CNY" */
    const char *received; /* partial payment, or NULL */
    const char *reason;   /* closing reason (voided, superseded), or NULL */
} inv_state_t;

static void state_of(apr_pool_t *p, const char *const *inv, inv_state_t *s)
{
    long long amount = acp_sa_atoll(inv[C_AMOUNT]), paid = acp_sa_atoll(inv[C_PAID]);
    const char *st = inv[C_STATUS] ? inv[C_STATUS] : "open";

    memset(s, 0, sizeof(*s));
    s->amount = acp_money(p, amount, inv[C_CURRENCY]);
    if (!strcmp(st, "open") && acp_sa_atoll(inv[C_EXPIRES]) < acp_now()) {
        st = "expired";
    }
    s->state = !strcmp(st, "open") || !strcmp(st, "paid") || !strcmp(st, "expired") ||
                       !strcmp(st, "voided") || !strcmp(st, "superseded")
                   ? st
                   : "voided";
    if (paid > 0 && paid < amount && !strcmp(s->state, "open")) {
        s->received = acp_money(p, paid, inv[C_CURRENCY]);
    }
    if (!strcmp(s->state, "voided") || !strcmp(s->state, "superseded")) {
        s->reason = inv[C_REASON];
    }
}

/* the names key "a.example,b.example" as "a.example, b.example" */
static const char *names_text(apr_pool_t *p, const char *key)
{
    size_t n = 0, i, k;
    char *s;

    if (!key || !*key) {
        return NULL;
    }
    for (i = 0; key[i]; i++) {
        n += key[i] == ',';
    }
    s = apr_palloc(p, i + n + 1);
    for (i = 0, k = 0; key[i]; i++) {
        s[k++] = key[i];
        if (key[i] == ',') {
            s[k++] = ' ';
        }
    }
    s[k] = '\0';
    return s;
}

/* Read the invoice; answers 503/404 itself and returns NULL. */
static const char **load(apr_pool_t *p, const acp_wfe_t *wfe, acp_resp_t *resp, const char *id,
                         int json, acp_db_t **dbp)
{
    acp_db_t *db = wfe->get_db(wfe->db_baton);
    const char **inv = NULL;
    const char *ct = json ? "application/json" : "text/plain; charset=utf-8";

    if (!db || acp_sa_row(db, p, "acp_invoice_page", &inv, ACP_SA_ARGS(id)) != APR_SUCCESS) {
        apr_table_setn(resp->headers, "Retry-After", apr_itoa(p, ACP_UNAVAILABLE_RETRY_AFTER));
        resp->status = 503;
        resp->content_type = ct;
        resp->body = json ? "{\"error\":\"database unavailable\"}" : "database unavailable\n";
        resp->body_len = strlen(resp->body);
        return NULL;
    }
    if (!inv) {
        resp->status = 404;
        resp->content_type = ct;
        resp->body = json ? "{\"error\":\"no such invoice\"}" : "no such invoice\n";
        resp->body_len = strlen(resp->body);
        return NULL;
    }
    *dbp = db;
    return inv;
}

void acp_wfe_invoice_page(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                          acp_resp_t *resp, const char *invoice_id)
{
    acp_db_t *db = NULL;
    const char **inv = load(p, wfe, resp, invoice_id, 0, &db);
    acp_invoice_view_t v;
    inv_state_t st;
    ways_ctx_t c;
    acp_lang_t lang = acp_invoice_lang(req->accept_language);
    const char *html, *csp;
    size_t i;

    if (!inv) {
        return;
    }
    state_of(p, inv, &st);
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.db = db;
    c.cfg = wfe->cfg;
    c.inv = inv;
    c.lang = lang;
    /* links from the configured server name, never from the request's Host */
    c.self = apr_pstrcat(p, req->pay_base_url ? req->pay_base_url : req->base_url, "/pay/i/",
                         invoice_id, NULL);
    c.ways = apr_array_make(p, 4, sizeof(acp_invoice_way_t));
    if (!strcmp(st.state, "open")) {
        for (i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
            ways[i](&c);
        }
        way_phone(&c);
    }
    memset(&v, 0, sizeof(v));
    v.id = invoice_id;
    v.names = names_text(p, inv[C_NAMES]);
    v.amount = st.amount;
    v.received = st.received;
    v.expires = acp_sa_atoll(inv[C_EXPIRES]);
    v.state = st.state;
    v.reason = st.reason;
    v.ways = c.ways;
    /* relative: the page's own origin, whatever name it was reached by (CSP connect-src) */
    v.status_url = apr_pstrcat(p, invoice_id, "/status", NULL);
    acp_invoice_render(p, &v, lang, wfe->cfg->invoice_tpl, &html, &csp);
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->body = html;
    resp->body_len = strlen(html);
    apr_table_setn(resp->headers, "Content-Security-Policy", csp);
    apr_table_setn(resp->headers, "Content-Language", acp_invoice_lang_tag(lang));
    apr_table_setn(resp->headers, "Vary", "Accept-Language");
    apr_table_setn(resp->headers, "Cache-Control", "no-store");
    apr_table_setn(resp->headers, "X-Content-Type-Options", "nosniff");
    apr_table_setn(resp->headers, "Referrer-Policy", "no-referrer");
}

/* ---- the JSON status, with a one-second cache per child ------------------------------------ */

#define STATUS_SLOTS 128
#define STATUS_TTL_MS 1000

static struct {
    char id[65];
    apr_time_t at;
    char body[640];
} status_cache[STATUS_SLOTS];
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_of(const char *id)
{
    unsigned h = 2166136261u;

    for (; *id; id++) {
        h = (h ^ (unsigned char)*id) * 16777619u;
    }
    return h % STATUS_SLOTS;
}

static const char *status_json(apr_pool_t *p, const char **inv)
{
    inv_state_t st;
    json_object *o = json_object_new_object();
    const char *s;

    state_of(p, inv, &st);
    json_object_object_add(o, "invoice", json_object_new_string(inv[C_ID]));
    json_object_object_add(o, "status", json_object_new_string(st.state));
    json_object_object_add(o, "amount", json_object_new_string(st.amount));
    json_object_object_add(o, "amountMinor", json_object_new_int64(acp_sa_atoll(inv[C_AMOUNT])));
    json_object_object_add(o, "paidMinor", json_object_new_int64(acp_sa_atoll(inv[C_PAID])));
    json_object_object_add(o, "currency", json_object_new_string(inv[C_CURRENCY]));
    if (st.received) {
        json_object_object_add(o, "received", json_object_new_string(st.received));
    }
    if (st.reason) {
        /* at most 200 bytes of it: the answer fits the cache */
        json_object_object_add(o, "reason",
                               json_object_new_string_len(st.reason, (int)strnlen(st.reason,
                                                                                  200)));
    }
    json_object_object_add(o, "expires", json_object_new_string(acp_rfc3339(
                                             p, acp_sa_atoll(inv[C_EXPIRES]))));
    s = apr_pstrdup(p, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

void acp_wfe_invoice_status(apr_pool_t *p, const acp_wfe_t *wfe, const acp_req_t *req,
                            acp_resp_t *resp, const char *invoice_id)
{
    unsigned slot = slot_of(invoice_id);
    apr_time_t now = apr_time_now();
    const char *body = NULL;
    const char **inv;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp->status = 405;
        resp->content_type = "application/json";
        resp->body = "{\"error\":\"GET only\"}";
        resp->body_len = strlen(resp->body);
        apr_table_setn(resp->headers, "Allow", "GET, HEAD");
        return;
    }
    pthread_mutex_lock(&status_lock);
    if (!strcmp(status_cache[slot].id, invoice_id) &&
        now - status_cache[slot].at < apr_time_from_msec(STATUS_TTL_MS) &&
        now >= status_cache[slot].at) {
        body = apr_pstrdup(p, status_cache[slot].body);
    }
    pthread_mutex_unlock(&status_lock);
    if (!body) {
        acp_db_t *db = NULL;
        inv = load(p, wfe, resp, invoice_id, 1, &db);
        if (!inv) {
            return;
        }
        body = status_json(p, inv);
        if (strlen(body) < sizeof(status_cache[0].body) && strlen(invoice_id) < 65) {
            pthread_mutex_lock(&status_lock);
            apr_cpystrn(status_cache[slot].id, invoice_id, sizeof(status_cache[slot].id));
            apr_cpystrn(status_cache[slot].body, body, sizeof(status_cache[slot].body));
            status_cache[slot].at = now;
            pthread_mutex_unlock(&status_lock);
        }
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = body;
    resp->body_len = strlen(body);
    apr_table_setn(resp->headers, "Cache-Control", "private, max-age=1");
    apr_table_setn(resp->headers, "X-Content-Type-Options", "nosniff");
}
