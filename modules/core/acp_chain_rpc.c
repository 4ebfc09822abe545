/* JSON-RPC over HTTP(S) for the chain watcher (libcurl), and the strict readers of the
 * hex and decimal numbers its answers carry. An answer is untrusted: bounded in time
 * and size, every field checked before use. */
#include <string.h>
#include <curl/curl.h>
#include <apr_strings.h>
#include "acp_chain.h"
#include "acp_util.h"

typedef struct {
    char *buf;
    size_t len, cap, max;
    int over;
} body_t;

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *data)
{
    body_t *b = data;
    size_t n = size * nmemb;

    if (b->len + n > b->max) {
        b->over = 1;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        char *nb;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        nb = realloc(b->buf, cap);
        if (!nb) {
            return 0;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, ptr, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static apr_status_t json_put(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

apr_status_t acp_rpc_call(acp_rpc_t *rpc, apr_pool_t *p, const char *method,
                          const char *params_json, json_object **result, const char **err)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    body_t body = {NULL, 0, 0, rpc->max_body ? rpc->max_body : ACP_CHAIN_RPC_MAX, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *req;
    long status = 0;
    CURLcode cc;
    json_object *root = NULL, *res = NULL, *e = NULL;
    json_tokener *tok = NULL;
    apr_status_t rv = APR_EGENERAL;

    *result = NULL;
    *err = NULL;
    if (!h) {
        *err = "curl_easy_init failed";
        return APR_ENOMEM;
    }
    rpc->calls++;
    req = apr_psprintf(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
                       method, params_json);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (rpc->header) {
        hdrs = curl_slist_append(hdrs, rpc->header);
    }
    curl_easy_setopt(h, CURLOPT_URL, rpc->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rpc->timeout_ms > 0 ? rpc->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     rpc->timeout_ms > 0 && rpc->timeout_ms < 5000 ? rpc->timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body.max);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_acme_pay chain watcher");
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (body.over || cc == CURLE_FILESIZE_EXCEEDED) {
        *err = apr_psprintf(p, "%s: answer larger than %lu bytes", method,
                            (unsigned long)body.max);
        goto leave;
    }
    if (cc != CURLE_OK) {
        *err = apr_psprintf(p, "%s: %s", method, *errbuf ? errbuf : curl_easy_strerror(cc));
        goto leave;
    }
    if (status != 200) {
        *err = apr_psprintf(p, "%s: HTTP status %ld", method, status);
        goto leave;
    }
    if (!body.buf) {
        *err = apr_psprintf(p, "%s: empty answer", method);
        goto leave;
    }
    tok = json_tokener_new_ex(64);
    if (tok) {
        root = json_tokener_parse_ex(tok, body.buf, (int)body.len);
        if (root && json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(root);
            root = NULL;
        }
        json_tokener_free(tok);
    }
    if (!root || !json_object_is_type(root, json_type_object)) {
        if (root) {
            json_object_put(root);
        }
        *err = apr_psprintf(p, "%s: the answer is not a JSON object", method);
        goto leave;
    }
    apr_pool_cleanup_register(p, root, json_put, apr_pool_cleanup_null);
    if (json_object_object_get_ex(root, "error", &e) && !json_object_is_type(e, json_type_null)) {
        json_object *m = NULL;
        const char *msg = json_object_object_get_ex(e, "message", &m) &&
                                  json_object_is_type(m, json_type_string)
                              ? json_object_get_string(m)
                              : "(no message)";
        *err = apr_psprintf(p, "%s: RPC error %.200s", method, msg);
        goto leave;
    }
    if (!json_object_object_get_ex(root, "result", &res)) {
        *err = apr_psprintf(p, "%s: the answer has no result", method);
        goto leave;
    }
    *result = res; /* may be JSON null (e.g. an unknown block) */
    rv = APR_SUCCESS;
leave:
    free(body.buf);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rv;
}

int acp_hex_u128(const char *s, unsigned __int128 *out)
{
    unsigned __int128 v = 0;
    size_t n, i;

    if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        return -1;
    }
    s += 2;
    n = strlen(s);
    if (n == 0 || n > 64) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        int d = acp_hexval((unsigned char)s[i]);
        if (d < 0) {
            return -1;
        }
        if (v >> 124) {
            return -1; /* would not fit in 128 bits */
        }
        v = (v << 4) | (unsigned)d;
    }
    *out = v;
    return 0;
}

int acp_hex_quantity(const char *s, long long *out)
{
    unsigned __int128 v;

    if (!s || strlen(s) > 18 || acp_hex_u128(s, &v) != 0 || v > ((unsigned __int128)1 << 62)) {
        return -1;
    }
    *out = (long long)v;
    return 0;
}

int acp_dec_u128(const char *s, unsigned __int128 *out)
{
    unsigned __int128 v = 0, max = ~(unsigned __int128)0;
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > 39) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

char *acp_u128_dec(apr_pool_t *p, unsigned __int128 v)
{
    char buf[48];
    int i = (int)sizeof(buf) - 1;

    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v && i > 0);
    return apr_pstrdup(p, buf + i);
}

int acp_hex_fixed(const char *s, size_t n)
{
    size_t i;

    if (!s || s[0] != '0' || s[1] != 'x' || strlen(s) != n + 2) {
        return 0;
    }
    for (i = 2; i < n + 2; i++) {
        if (acp_hexval((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}
