/* The invoice page: strings, language choice, branding template, HTML, CSP (see
 * acp_invoice_page.h). The page is correct without JavaScript (the state on load is the
 * state); a small constant script, allowed by its hash, polls the invoice's JSON status
 * and switches to the block the server already rendered for the new state, so no text
 * is ever built from the network answer except through textContent. */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "acp_invoice_page.h"
#include "acp_qr.h"
#include "acp_util.h"

/* ---- strings: one table, a column per language ----------------------------------------- */

static const char *const strings[ACP_S_COUNT][ACP_LANG_COUNT] = {
    [ACP_S_TITLE] = {"Certificate payment", "证书付款"},
    [ACP_S_NAMES] = {"For", "用于"},
    [ACP_S_AMOUNT] = {"Amount", "金额"},
    [ACP_S_EXPIRES] = {"Pay before", "付款截止"},
    [ACP_S_STATUS] = {"Status", "状态"},
    [ACP_S_RECEIVED] = {"Received so far", "已收到"},
    [ACP_S_WAYS] = {"Ways to pay", "付款方式"},
    [ACP_S_WAY_PROVIDER] = {"Pay online", "在线支付"},
    [ACP_S_WAY_LINK] = {"Payment page", "付款页面"},
    [ACP_S_OPEN_PROVIDER] = {"Open the payment page", "打开付款页面"},
    [ACP_S_WAY_ETH] = {"Ethereum", "以太坊"},
    [ACP_S_ETH_HINT] = {"Scan with a wallet, or send exactly this amount to the URI below:",
                        "用钱包扫码，或向下面的地址准确发送以下金额："},
    [ACP_S_WAY_TEST] = {"Test mode", "测试模式"},
    [ACP_S_SIMULATE] = {"Simulate payment", "模拟付款"},
    [ACP_S_WAY_PHONE] = {"On a phone", "在手机上"},
    [ACP_S_PHONE_HINT] = {"Scan to open this page on a phone.", "扫码在手机上打开本页面。"},
    [ACP_S_OPEN] = {"Waiting for payment", "等待付款"},
    [ACP_S_OPEN_TEXT] = {"Pay with one of the ways below. This page changes by itself when the "
                         "payment arrives; then run the same command again.",
                         "请选择下面任一方式付款。收到付款后本页面会自动更新，然后请再次运行同一条命令。"},
    [ACP_S_PAID] = {"Paid", "已付款"},
    [ACP_S_PAID_TEXT] = {"Paid — run the same command again (certbot, lego, …): the "
                         "certificate will be issued.",
                         "已付款 — 请再次运行同一条命令（certbot、lego 等），证书将会签发。"},
    [ACP_S_EXPIRED] = {"Expired", "已过期"},
    [ACP_S_EXPIRED_TEXT] = {"This invoice has expired. Run the same command again for a new "
                            "one if payment is still needed.",
                            "此账单已过期。如仍需付款，请再次运行同一条命令以获取新账单。"},
    [ACP_S_VOIDED] = {"Voided", "已作废"},
    [ACP_S_VOIDED_TEXT] = {"This invoice was voided. Nothing to pay.", "此账单已作废，无需付款。"},
    [ACP_S_SUPERSEDED] = {"Nothing to pay", "无需付款"},
    [ACP_S_SUPERSEDED_TEXT] = {"Nothing to pay: the certificate is paid for another way. Run the "
                               "same command again: the certificate will be issued.",
                               "无需付款：此证书已通过其他方式付款。请再次运行同一条命令，证书将会签发。"},
    [ACP_S_REASON] = {"Reason", "原因"},
    [ACP_S_PV_STRIPE] = {"Pay by card (Stripe)", "银行卡支付（Stripe）"},
    [ACP_S_PV_ALIPAY] = {"Alipay", "支付宝"},
    [ACP_S_PV_WECHAT] = {"WeChat Pay", "微信支付"},
};

const char *acp_invoice_str(acp_lang_t lang, acp_str_t s)
{
    if ((unsigned)s >= ACP_S_COUNT) {
        return "";
    }
    if ((unsigned)lang >= ACP_LANG_COUNT || !strings[s][lang]) {
        lang = ACP_LANG_EN;
    }
    return strings[s][lang];
}

const char *acp_invoice_lang_tag(acp_lang_t lang)
{
    return lang == ACP_LANG_ZH_CN ? "zh-CN" : "en";
}

/* ---- Accept-Language --------------------------------------------------------------------- */

/* the language of one range (lowercase, no spaces), or -1 */
static int lang_of_range(const char *r)
{
    if (!strcmp(r, "*") || !strcmp(r, "en") || !strncmp(r, "en-", 3)) {
        return ACP_LANG_EN;
    }
    if (strcmp(r, "zh") != 0 && strncmp(r, "zh-", 3) != 0) {
        return -1;
    }
    /* Traditional script or regions that write it: not what the page speaks */
    if (strstr(r, "-hant") || !strncmp(r, "zh-tw", 5) || !strncmp(r, "zh-hk", 5) ||
        !strncmp(r, "zh-mo", 5)) {
        return -1;
    }
    return ACP_LANG_ZH_CN;
}

/* q-value "0", "0.5", "1", "1.000": thousandths, or -1 when malformed */
static int qvalue(const char *s)
{
    int v = 0, digits = 0;

    if (*s != '0' && *s != '1') {
        return -1;
    }
    v = (*s - '0') * 1000;
    s++;
    if (*s == '.') {
        int scale = 100;
        for (s++; *s >= '0' && *s <= '9' && digits < 3; s++, digits++) {
            v += (*s - '0') * scale;
            scale /= 10;
        }
    }
    return *s || v > 1000 ? -1 : v;
}

acp_lang_t acp_invoice_lang(const char *al)
{
    char range[64], params[64];
    int best = -1, best_q = 0;
    size_t n = 0;

    if (!al || strlen(al) > 4096) {
        return ACP_LANG_EN;
    }
    while (*al) {
        const char *end = strchr(al, ','), *semi;
        size_t len = end ? (size_t)(end - al) : strlen(al), rl, i, k;
        int q = 1000, lang;

        semi = memchr(al, ';', len);
        rl = semi ? (size_t)(semi - al) : len;
        /* the range, lowercased, without spaces */
        for (i = 0, k = 0; i < rl && k < sizeof(range) - 1; i++) {
            char c = al[i];
            if (c == ' ' || c == '\t') {
                continue;
            }
            range[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        range[k] = '\0';
        if (semi) {
            for (i = rl + 1, k = 0; i < len && k < sizeof(params) - 1; i++) {
                if (al[i] != ' ' && al[i] != '\t') {
                    params[k++] = al[i];
                }
            }
            params[k] = '\0';
            q = (params[0] == 'q' || params[0] == 'Q') && params[1] == '=' ? qvalue(params + 2)
                                                                            : -1;
        }
        lang = q > 0 && rl < sizeof(range) ? lang_of_range(range) : -1;
        if (lang >= 0 && q > best_q) {
            best = lang;
            best_q = q;
        }
        if (!end || ++n > 64) {
            break;
        }
        al = end + 1;
    }
    return best < 0 ? ACP_LANG_EN : (acp_lang_t)best;
}

/* ---- escaping ----------------------------------------------------------------------------- */

const char *acp_html_escape(apr_pool_t *p, const char *s)
{
    size_t extra = 0, i, k;
    char *out;

    if (!s) {
        return "";
    }
    for (i = 0; s[i]; i++) {
        switch (s[i]) {
        case '&': extra += 4; break;
        case '<':
        case '>': extra += 3; break;
        case '"':
        case '\'': extra += 4; break;
        default: break;
        }
    }
    if (!extra) {
        return s;
    }
    out = apr_palloc(p, i + extra + 1);
    for (i = 0, k = 0; s[i]; i++) {
        const char *e = s[i] == '&'    ? "&amp;"
                        : s[i] == '<'  ? "&lt;"
                        : s[i] == '>'  ? "&gt;"
                        : s[i] == '"'  ? "&#34;"
                        : s[i] == '\'' ? "&#39;"
                                       : NULL;
        if (e) {
            memcpy(out + k, e, strlen(e));
            k += strlen(e);
        }
        else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

/* ---- the template --------------------------------------------------------------------------- */

typedef enum {
    PH_NONE, PH_CONTENT, PH_HEAD, PH_LANG, PH_TITLE, PH_NONCE, PH_INVOICE, PH_STATE, PH_AMOUNT,
    PH_NAMES
} placeholder_t;

static const char *const ph_names[] = {NULL,    "content", "head",  "lang",   "title",
                                       "nonce", "invoice", "state", "amount", "names"};

typedef struct {
    const char *text; /* literal text before the placeholder */
    placeholder_t ph;
} segment_t;

struct acp_invoice_tpl_t {
    apr_array_header_t *segs; /* segment_t */
};

static int utf8_valid(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        apr_size_t k, len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                       : (c & 0xf8) == 0xf0   ? 4
                                                              : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4)) {
            return 0;
        }
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        if ((len == 3 && c == 0xe0 && s[i + 1] < 0xa0) ||
            (len == 3 && c == 0xed && s[i + 1] >= 0xa0) ||
            (len == 4 && c == 0xf0 && s[i + 1] < 0x90) ||
            (len == 4 && c == 0xf4 && s[i + 1] >= 0x90)) {
            return 0; /* overlong, surrogate, beyond U+10FFFF */
        }
        i += len;
    }
    return 1;
}

const char *acp_invoice_tpl_parse(apr_pool_t *p, const char *text, apr_size_t len,
                                  const acp_invoice_tpl_t **out)
{
    acp_invoice_tpl_t *t = apr_pcalloc(p, sizeof(*t));
    const char *s = text, *end = text + len;
    int content = 0, line = 1;

    *out = NULL;
    if (len > ACP_INVOICE_TPL_MAX) {
        return "the template is larger than 64 KiB";
    }
    if (memchr(text, '\0', len)) {
        return "the template holds a NUL byte";
    }
    if (!utf8_valid((const unsigned char *)text, len)) {
        return "the template is not valid UTF-8";
    }
    t->segs = apr_array_make(p, 16, sizeof(segment_t));
    while (s < end) {
        const char *open = NULL, *close, *q;
        segment_t *seg;
        size_t i, nl;
        for (q = s; q + 1 < end; q++) {
            if (q[0] == '{' && q[1] == '{') {
                open = q;
                break;
            }
        }
        seg = apr_array_push(t->segs);
        seg->text = apr_pstrmemdup(p, s, (apr_size_t)((open ? open : end) - s));
        seg->ph = PH_NONE;
        for (q = s; q < (open ? open : end); q++) {
            line += *q == '\n';
        }
        if (!open) {
            break;
        }
        close = NULL;
        for (q = open + 2; q + 1 < end && q - open < 40; q++) {
            if (q[0] == '}' && q[1] == '}') {
                close = q;
                break;
            }
        }
        if (!close) {
            return apr_psprintf(p, "line %d: '{{' without a matching '}}'", line);
        }
        nl = (size_t)(close - open - 2);
        for (i = 1; i < sizeof(ph_names) / sizeof(ph_names[0]); i++) {
            if (strlen(ph_names[i]) == nl && !memcmp(open + 2, ph_names[i], nl)) {
                seg->ph = (placeholder_t)i;
            }
        }
        if (seg->ph == PH_NONE) {
            return apr_psprintf(p,
                                "line %d: unknown placeholder {{%s}} (known: content, head, "
                                "lang, title, nonce, invoice, state, amount, names)",
                                line, apr_pstrmemdup(p, open + 2, nl));
        }
        content += seg->ph == PH_CONTENT;
        s = close + 2;
    }
    if (content != 1) {
        return content ? "{{content}} appears more than once"
                       : "the template has no {{content}} placeholder (where the invoice goes)";
    }
    *out = t;
    return NULL;
}

static const char default_layout[] =
    "<!DOCTYPE html>\n<html lang=\"{{lang}}\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n{{head}}</head>\n<body>\n{{content}}</body></html>\n";

/* ---- the built-in style and script (allowed by their hashes) -------------------------------- */

static const char style_css[] =
    "body{font-family:system-ui,sans-serif;max-width:36em;margin:1.5em auto;padding:0 1em;"
    "color:#222;line-height:1.4}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}"
    "h3{font-size:1em;margin:.2em 0}.acp-facts{display:grid;grid-template-columns:max-content 1fr;"
    "gap:.3em 1em}.acp-facts dt{color:#666}.acp-facts dd{margin:0}"
    ".acp-amount{font-size:1.3em;font-weight:bold}.acp-status{font-weight:bold}"
    ".acp-state{padding:.6em .8em;border-radius:.3em;background:#f4f4f4;margin:1em 0}"
    ".acp-state[data-when=paid],.acp-state[data-when=superseded]{background:#e3f6e3}"
    ".acp-state[data-when=expired],.acp-state[data-when=voided]{background:#fbeaea}"
    ".acp-way{border:1px solid #ddd;border-radius:.3em;padding:.8em;margin:.8em 0}"
    ".acp-qr svg{width:14em;height:14em;max-width:100%}"
    ".acp-uri{word-break:break-all;font-family:monospace;font-size:.85em}"
    ".acp-way-amount{font-weight:bold}[hidden]{display:none!important}";

/* Polls the status while the invoice is open: every 3 s for two minutes, then every 10 s,
 * nothing while the page is hidden, backing off on errors, never past 30 minutes; on a
 * new state shows the block rendered for it (text only through textContent). */
static const char status_js[] =
    "(function(){var m=document.getElementById('acp-invoice');"
    "if(!m||!window.fetch||m.getAttribute('data-state')!=='open')return;"
    "var url=m.getAttribute('data-status-url'),t0=Date.now(),fails=0;"
    "function show(s,j){var b=m.querySelectorAll('[data-when]'),hit=null,i;"
    "for(i=0;i<b.length;i++)if(b[i].getAttribute('data-when')===s)hit=b[i];"
    "if(!hit)return false;for(i=0;i<b.length;i++)b[i].hidden=b[i]!==hit;"
    "var r=hit.querySelector('.acp-reason');if(r&&j.reason){r.textContent=j.reason;"
    "r.parentNode.hidden=false;}m.setAttribute('data-state',s);"
    "var st=m.querySelector('.acp-status');if(st)st.textContent=hit.getAttribute('data-label');"
    "var w=m.querySelector('.acp-ways');if(w)w.hidden=true;"
    "var pt=m.querySelector('.acp-partial');if(pt)pt.hidden=true;return true;}"
    "function next(ms){setTimeout(poll,ms);}"
    "function poll(){var age=Date.now()-t0;if(age>1800000)return;"
    "if(document.visibilityState==='hidden')return next(10000);"
    "fetch(url,{headers:{Accept:'application/json'},credentials:'same-origin'})"
    ".then(function(r){if(!r.ok)throw r.status;return r.json();})"
    ".then(function(j){fails=0;var rc=m.querySelector('.acp-received');"
    "if(rc&&j.received){rc.textContent=j.received;rc.parentNode.hidden=false;}"
    "if(j.status!=='open'&&show(j.status,j))return;next(age<120000?3000:10000);})"
    ".catch(function(){fails++;next(Math.min(60000,3000*Math.pow(2,fails)));});}"
    "next(3000);})();";

static const char *sha256_b64(apr_pool_t *p, const char *s)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char *out = apr_palloc(p, 48);

    EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    return out;
}

/* ---- the page ------------------------------------------------------------------------------ */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *parts;
    acp_lang_t lang;
} out_t;

static void put(out_t *o, const char *s)
{
    if (s && *s) {
        APR_ARRAY_PUSH(o->parts, const char *) = s;
    }
}

static void put_esc(out_t *o, const char *s)
{
    put(o, acp_html_escape(o->p, s));
}

static const char *S(out_t *o, acp_str_t s)
{
    return acp_html_escape(o->p, acp_invoice_str(o->lang, s));
}

static int kind_ok(const char *k)
{
    if (!k || !*k || strlen(k) > 32) {
        return 0;
    }
    for (; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-')) {
            return 0;
        }
    }
    return 1;
}

/* an inline SVG QR of data (the XML declaration dropped: it is not HTML) */
static void put_qr(out_t *o, const char *data)
{
    const char *svg = data ? acp_qr_svg(o->p, data, 6) : NULL;
    const char *tag = svg ? strstr(svg, "<svg") : NULL;

    if (tag) {
        put(o, "<div class=\"acp-qr\">");
        put(o, tag);
        put(o, "</div>\n");
    }
}

static void put_way(out_t *o, const acp_invoice_way_t *w)
{
    if (!kind_ok(w->kind)) {
        return;
    }
    put(o, apr_pstrcat(o->p, "<div class=\"acp-way acp-way-", w->kind, "\" data-way=\"",
                       w->kind, "\">\n<h3>", NULL));
    put(o, w->label_text ? acp_html_escape(o->p, w->label_text) : S(o, w->label));
    put(o, "</h3>\n");
    put_qr(o, w->qr);
    if (w->hint) {
        put(o, "<p class=\"acp-way-hint\">");
        put_esc(o, w->hint);
        put(o, "</p>\n");
    }
    if (w->amount) {
        put(o, "<p class=\"acp-way-amount\">");
        put_esc(o, w->amount);
        put(o, "</p>\n");
    }
    if (w->href) {
        put(o, "<p><a class=\"acp-way-link\" rel=\"noopener noreferrer\" href=\"");
        put_esc(o, w->href);
        put(o, "\">");
        if (w->href_label == ACP_S_COUNT) {
            put(o, "<span class=\"acp-uri\">");
            put_esc(o, w->href);
            put(o, "</span>");
        }
        else {
            put(o, S(o, w->href_label));
        }
        put(o, "</a></p>\n");
    }
    if (w->uri && (!w->href || strcmp(w->uri, w->href) != 0 || w->href_label != ACP_S_COUNT)) {
        put(o, "<p class=\"acp-uri\">");
        put_esc(o, w->uri);
        put(o, "</p>\n");
    }
    if (w->post) {
        put(o, "<form method=\"post\" action=\"");
        put_esc(o, w->post);
        put(o, "\"><button type=\"submit\">");
        put(o, S(o, w->post_label));
        put(o, "</button></form>\n");
    }
    put(o, "</div>\n");
}

static const struct {
    const char *state;
    acp_str_t label, text;
} states[] = {{"open", ACP_S_OPEN, ACP_S_OPEN_TEXT},
              {"paid", ACP_S_PAID, ACP_S_PAID_TEXT},
              {"expired", ACP_S_EXPIRED, ACP_S_EXPIRED_TEXT},
              {"voided", ACP_S_VOIDED, ACP_S_VOIDED_TEXT},
              {"superseded", ACP_S_SUPERSEDED, ACP_S_SUPERSEDED_TEXT}};

/* The block of one state; an open invoice carries every block (the script shows the one
 * the status turns to), a closed one only its own (it never changes again). */
static void put_state(out_t *o, size_t i, const acp_invoice_view_t *v, int shown)
{
    int closed_with_reason = !strcmp(states[i].state, "voided") ||
                             !strcmp(states[i].state, "superseded");

    put(o, apr_pstrcat(o->p, "<div class=\"acp-state\" data-when=\"", states[i].state,
                       "\" data-label=\"", S(o, states[i].label), "\"",
                       shown ? "" : " hidden", ">\n<p>", S(o, states[i].text), "</p>\n", NULL));
    if (closed_with_reason) {
        int have = shown && v->reason && *v->reason;
        put(o, apr_pstrcat(o->p, "<p class=\"acp-reason-line\"", have ? "" : " hidden", ">",
                           S(o, ACP_S_REASON), ": <span class=\"acp-reason\">",
                           have ? acp_html_escape(o->p, v->reason) : "", "</span></p>\n",
                           NULL));
    }
    put(o, "</div>\n");
}

static size_t state_index(const char *state)
{
    size_t i;

    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (state && !strcmp(state, states[i].state)) {
            return i;
        }
    }
    return 0;
}

static const char *content(out_t *o, const acp_invoice_view_t *v)
{
    size_t cur = state_index(v->state), i;
    int open = cur == 0;
    apr_time_exp_t tm;
    const char *when, *iso;
    out_t c = *o;

    c.parts = apr_array_make(o->p, 64, sizeof(const char *));
    apr_time_exp_gmt(&tm, apr_time_from_sec(v->expires > 0 ? v->expires : 0));
    when = apr_psprintf(o->p, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min);
    iso = apr_psprintf(o->p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    put(&c, apr_pstrcat(o->p, "<main class=\"acp-invoice\" id=\"acp-invoice\" data-invoice=\"",
                        acp_html_escape(o->p, v->id), "\" data-state=\"", states[cur].state,
                        "\" data-status-url=\"", acp_html_escape(o->p, v->status_url),
                        "\">\n<h1>", S(o, ACP_S_TITLE), "</h1>\n<dl class=\"acp-facts\">\n",
                        NULL));
    if (v->names) {
        put(&c, apr_pstrcat(o->p, "<dt>", S(o, ACP_S_NAMES), "</dt><dd class=\"acp-names\">",
                            acp_html_escape(o->p, v->names), "</dd>\n", NULL));
    }
    put(&c, apr_pstrcat(o->p, "<dt>", S(o, ACP_S_AMOUNT),
                        "</dt><dd class=\"acp-amount amount\">", acp_html_escape(o->p, v->amount),
                        "</dd>\n<dt>", S(o, ACP_S_EXPIRES), "</dt><dd><time datetime=\"", iso,
                        "\">", when, "</time></dd>\n<dt>", S(o, ACP_S_STATUS),
                        "</dt><dd class=\"acp-status st\">", S(o, states[cur].label),
                        "</dd>\n</dl>\n", NULL));
    if (open) {
        put(&c, apr_pstrcat(o->p, "<p class=\"acp-partial\"", v->received ? "" : " hidden", ">",
                            S(o, ACP_S_RECEIVED), ": <span class=\"acp-received\">",
                            acp_html_escape(o->p, v->received), "</span></p>\n", NULL));
    }
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (i == cur || open) {
            put_state(&c, i, v, i == cur);
        }
    }
    if (open && v->ways && v->ways->nelts > 0) {
        put(&c, apr_pstrcat(o->p, "<section class=\"acp-ways\">\n<h2>", S(o, ACP_S_WAYS),
                            "</h2>\n", NULL));
        for (i = 0; i < (size_t)v->ways->nelts; i++) {
            put_way(&c, &APR_ARRAY_IDX(v->ways, i, acp_invoice_way_t));
        }
        put(&c, "</section>\n");
    }
    if (open) {
        put(&c, apr_pstrcat(o->p, "<script>", status_js, "</script>\n", NULL));
    }
    put(&c, "</main>\n");
    return apr_array_pstrcat(o->p, c.parts, 0);
}

void acp_invoice_render(apr_pool_t *p, const acp_invoice_view_t *v, acp_lang_t lang,
                        const acp_invoice_tpl_t *tpl, const char **html, const char **csp)
{
    out_t o;
    unsigned char raw[16];
    const char *nonce, *body;
    int i;

    o.p = p;
    o.lang = lang;
    o.parts = apr_array_make(p, 32, sizeof(const char *));
    if (!tpl && acp_invoice_tpl_parse(p, default_layout, strlen(default_layout), &tpl) != NULL) {
        tpl = NULL; /* cannot happen: the built-in layout parses */
    }
    RAND_bytes(raw, sizeof(raw));
    nonce = apr_pstrdup(p, acp_hex(p, raw, sizeof(raw)));
    body = content(&o, v);
    for (i = 0; tpl && i < tpl->segs->nelts; i++) {
        const segment_t *s = &APR_ARRAY_IDX(tpl->segs, i, segment_t);
        put(&o, s->text);
        switch (s->ph) {
        case PH_CONTENT: put(&o, body); break;
        case PH_HEAD: put(&o, apr_pstrcat(p, "<style>", style_css, "</style>\n", NULL)); break;
        case PH_LANG: put(&o, acp_invoice_lang_tag(lang)); break;
        case PH_TITLE:
            put(&o, S(&o, ACP_S_TITLE));
            put(&o, " ");
            put_esc(&o, v->id);
            break;
        case PH_NONCE: put(&o, nonce); break;
        case PH_INVOICE: put_esc(&o, v->id); break;
        case PH_STATE: put(&o, states[state_index(v->state)].state); break;
        case PH_AMOUNT: put_esc(&o, v->amount); break;
        case PH_NAMES: put_esc(&o, v->names); break;
        case PH_NONE: break;
        }
    }
    *html = apr_array_pstrcat(p, o.parts, 0);
    *csp = apr_pstrcat(p,
                       "default-src 'none'; script-src 'sha256-", sha256_b64(p, status_js),
                       "'; style-src 'sha256-", sha256_b64(p, style_css), "' 'nonce-", nonce,
                       "'; img-src 'self' data: https:; connect-src 'self'; "
                       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
                       NULL);
}
