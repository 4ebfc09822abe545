/* The invoice page's rendering: Accept-Language with q-values, escaping of every
 * interpolated value (text and attributes), the branding template's checks, the states,
 * and a CSP whose script hash is the hash of the script the page carries. */
#include <stdlib.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "acp_test.h"
#include "acp_invoice_page.h"

static void languages(void)
{
    CHECK(acp_invoice_lang(NULL) == ACP_LANG_EN);
    CHECK(acp_invoice_lang("") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("zh-CN") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("zh") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("ZH-cn,en;q=0.5") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("zh-Hans-CN") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("en-US,en;q=0.9,zh-CN;q=0.8") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("en;q=0.3, zh-CN;q=0.9") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("zh-CN;q=0.2, en;q=0.9") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("fr-FR, zh;q=0.5") == ACP_LANG_ZH_CN);  /* first it speaks */
    CHECK(acp_invoice_lang("fr, de") == ACP_LANG_EN);               /* nothing: default */
    CHECK(acp_invoice_lang("zh-TW") == ACP_LANG_EN);                /* Traditional */
    CHECK(acp_invoice_lang("zh-Hant, zh-CN;q=0.1") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("zh-CN;q=0") == ACP_LANG_EN);            /* q=0: not acceptable */
    CHECK(acp_invoice_lang("zh-CN;q=0, *;q=0.1") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("*;q=0.5, zh;q=0.6") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang("zh;q=1.5") == ACP_LANG_EN);             /* malformed q */
    CHECK(acp_invoice_lang("zh;q=abc, en;q=0.1") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("zh;q=0.001") == ACP_LANG_ZH_CN);
    CHECK(acp_invoice_lang(",,;;,q=,") == ACP_LANG_EN);
    CHECK(acp_invoice_lang("en;q=0.5,zh;q=0.5") == ACP_LANG_EN);    /* tie: the first */
    CHECK_STR(acp_invoice_lang_tag(ACP_LANG_ZH_CN), "zh-CN");
    CHECK_STR(acp_invoice_str(ACP_LANG_ZH_CN, ACP_S_PAID), "已付款");
    CHECK_STR(acp_invoice_str(ACP_LANG_EN, ACP_S_SIMULATE), "Simulate payment");
    /* every string exists in every language */
    {
        int s, l, all = 1;
        for (s = 0; s < ACP_S_COUNT; s++) {
            for (l = 0; l < ACP_LANG_COUNT; l++) {
                all &= acp_invoice_str((acp_lang_t)l, (acp_str_t)s)[0] != '\0';
            }
        }
        CHECK(all);
    }
}

static void escaping(apr_pool_t *p)
{
    CHECK_STR(acp_html_escape(p, "<script>\"x\" & 'y'</script>"),
              "&lt;script&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/script&gt;");
    CHECK_STR(acp_html_escape(p, "plain 中文"), "plain 中文");
    CHECK_STR(acp_html_escape(p, NULL), "");
}

static void templates(apr_pool_t *p)
{
    const acp_invoice_tpl_t *t = NULL;
    const char *err;
    static const char ok[] = "<html lang=\"{{lang}}\"><head>{{head}}<style nonce=\"{{nonce}}\">"
                             "</style></head><body>{{content}}</body></html>";

    CHECK(acp_invoice_tpl_parse(p, ok, strlen(ok), &t) == NULL && t);
    err = acp_invoice_tpl_parse(p, "<p>no content</p>", 17, &t);
    CHECK(err && strstr(err, "{{content}}") && !t);
    err = acp_invoice_tpl_parse(p, "{{content}}{{content}}", 22, &t);
    CHECK(err && strstr(err, "more than once"));
    err = acp_invoice_tpl_parse(p, "a\nb\n{{contnet}}", 15, &t);
    CHECK(err && strstr(err, "line 3") && strstr(err, "{{contnet}}"));
    err = acp_invoice_tpl_parse(p, "{{content}} {{", 14, &t);
    CHECK(err && strstr(err, "without a matching"));
    err = acp_invoice_tpl_parse(p, "{{content}}\xff", 12, &t);
    CHECK(err && strstr(err, "UTF-8"));
    err = acp_invoice_tpl_parse(p, "{{content}}\xed\xa0\x80", 14, &t); /* a surrogate */
    CHECK(err && strstr(err, "UTF-8"));
    err = acp_invoice_tpl_parse(p, "{{content}}\0x", 13, &t);
    CHECK(err && strstr(err, "NUL"));
    {
        char *big = apr_palloc(p, ACP_INVOICE_TPL_MAX + 20);
        memset(big, 'a', ACP_INVOICE_TPL_MAX + 20);
        memcpy(big, "{{content}}", 11);
        err = acp_invoice_tpl_parse(p, big, ACP_INVOICE_TPL_MAX + 20, &t);
        CHECK(err && strstr(err, "64 KiB"));
    }
}

static const char *sha256_b64(apr_pool_t *p, const char *s, size_t n)
{
    unsigned char md[32];
    unsigned int len = 0;
    char *out = apr_palloc(p, 48);
    EVP_Digest(s, n, md, &len, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)len);
    return out;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle)) {
        n++;
    }
    return n;
}

static void rendering(apr_pool_t *p)
{
    apr_array_header_t *ways = apr_array_make(p, 2, sizeof(acp_invoice_way_t));
    acp_invoice_way_t *w = apr_array_push(ways);
    acp_invoice_view_t v;
    const acp_invoice_tpl_t *t = NULL;
    const char *html, *csp, *s, *e;
    static const char brand[] = "<html lang=\"{{lang}}\"><title>{{title}}</title>"
                                "<h1 data-n=\"{{names}}\">ACME Hosting {{amount}}</h1>"
                                "{{content}}<footer>{{invoice}} {{state}}</footer></html>";

    memset(w, 0, sizeof(*w));
    w->kind = "provider";
    w->label = ACP_S_WAY_PROVIDER;
    w->qr = "https://pay.example/c?i=1";
    w->href = "https://pay.example/c?i=1&x=\"><script>alert(1)</script>";
    w->href_label = ACP_S_OPEN_PROVIDER;
    w->post_label = ACP_S_COUNT;
    w = apr_array_push(ways);
    memset(w, 0, sizeof(*w));
    w->kind = "bad kind\"";   /* dropped */
    w->label = ACP_S_WAY_TEST;
    memset(&v, 0, sizeof(v));
    v.id = "inv1";
    v.names = "<script>alert(2)</script>.example, \"q'.example";
    v.amount = "10.00 CNY";
    v.expires = 1700000000;
    v.state = "open";
    v.ways = ways;
    v.status_url = "inv1/status";
    acp_invoice_render(p, &v, ACP_LANG_EN, NULL, &html, &csp);
    CHECK(strstr(html, "<html lang=\"en\">") != NULL);
    CHECK(strstr(html, "&lt;script&gt;alert(2)&lt;/script&gt;.example, &#34;q&#39;.example"));
    CHECK(strstr(html, "&#34;&gt;&lt;script&gt;alert(1)") != NULL);
    CHECK(count(html, "<script>") == 1);                  /* the page's own, nothing else */
    CHECK(strstr(html, "bad kind") == NULL);
    CHECK(strstr(html, "<svg") != NULL && strstr(html, "<?xml") == NULL);
    CHECK(strstr(html, "2023-11-14 22:13 UTC") != NULL);
    CHECK(strstr(html, "data-state=\"open\"") && strstr(html, "data-when=\"paid\""));
    /* the CSP allows exactly the script and the style the page carries */
    s = strstr(html, "<script>") + 8;
    e = strstr(s, "</script>");
    CHECK(strstr(csp, apr_pstrcat(p, "script-src 'sha256-", sha256_b64(p, s, (size_t)(e - s)),
                                  "'", NULL)) != NULL);
    s = strstr(html, "<style>") + 7;
    e = strstr(s, "</style>");
    CHECK(strstr(csp, apr_pstrcat(p, "style-src 'sha256-", sha256_b64(p, s, (size_t)(e - s)),
                                  "'", NULL)) != NULL);
    CHECK(strstr(csp, "default-src 'none'") && !strstr(csp, "unsafe"));

    /* closed: only its own state, no ways, no script; the reason escaped */
    v.state = "voided";
    v.reason = "<b>fraud</b>";
    acp_invoice_render(p, &v, ACP_LANG_ZH_CN, NULL, &html, &csp);
    CHECK(strstr(html, "<html lang=\"zh-CN\">") && strstr(html, "此账单已作废"));
    CHECK(strstr(html, "&lt;b&gt;fraud&lt;/b&gt;") && !strstr(html, "<b>"));
    CHECK(!strstr(html, "<script") && !strstr(html, "acp-ways") && !strstr(html, "data-when=\"paid\""));

    /* branded: placeholders filled and escaped, the nonce in the CSP */
    CHECK(acp_invoice_tpl_parse(p, brand, strlen(brand), &t) == NULL);
    v.state = "open";
    acp_invoice_render(p, &v, ACP_LANG_EN, t, &html, &csp);
    CHECK(strstr(html, "<title>Certificate payment inv1</title>") != NULL);
    CHECK(strstr(html, "data-n=\"&lt;script&gt;alert(2)&lt;/script&gt;.example, &#34;q&#39;"));
    CHECK(strstr(html, "ACME Hosting 10.00 CNY") && strstr(html, "<footer>inv1 open</footer>"));
    CHECK(strstr(html, "<style>") == NULL);                /* no {{head}}: no built-in style */
    CHECK(strstr(csp, "'nonce-") != NULL);
}

static void run_tests(apr_pool_t *p)
{
    languages();
    escaping(p);
    templates(p);
    rendering(p);
}
