/* acme-pay-admin: output. JSON for scripts, aligned text for people; one formatter
 * (times, money) for the tables, the detail pages and the console. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_money.h"
#include "acp_util.h"

static apr_status_t jput(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

json_object *adm_jpool(apr_pool_t *p, json_object *o)
{
    if (o) {
        apr_pool_cleanup_register(p, o, jput, apr_pool_cleanup_null);
    }
    return o;
}

int adm_fail(adm_t *adm, int code, const char *msg)
{
    if (adm->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(msg));
        json_object_object_add(o, "code", json_object_new_int(code));
        printf("%s\n", acp_json_safe(adm->pool, json_object_to_json_string_ext(
                                                      o, JSON_C_TO_STRING_PLAIN)));
        json_object_put(o);
    }
    fprintf(stderr, "acme-pay-admin: %s\n", acp_text_safe(adm->pool, msg));
    return code;
}

void adm_emit(adm_t *adm, json_object *o, const char *text)
{
    if (adm->json) {
        /* values from the database may hold escape sequences: \u-escaped, never raw */
        printf("%s\n", acp_json_safe(adm->pool,
                                     json_object_to_json_string_ext(
                                         o, JSON_C_TO_STRING_PRETTY |
                                                JSON_C_TO_STRING_NOSLASHESCAPE)));
    }
    else if (text) {
        fputs(text, stdout);
    }
}

/* RFC 5280 CRLReason names (the codes RFC 8555 lets a CA record, and the rest) */
const char *adm_reason_name(int code)
{
    static const char *const names[] = {"unspecified", "keyCompromise", "cACompromise",
                                        "affiliationChanged", "superseded",
                                        "cessationOfOperation", "certificateHold", "7",
                                        "removeFromCRL", "privilegeWithdrawn", "aACompromise"};
    return code >= 0 && code <= 10 ? names[code] : "unknown";
}

static int in_list(const char *key, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(key, *list)) {
            return 1;
        }
    }
    return 0;
}

static const char *const time_keys[] = {"created", "expires", "issued", "not_after", "not_before",
                                        "revoked", "validated", "updated", "closed", "vetted_at",
                                        "vetting_end", "valid_until", "revoked_at", NULL};
static const char *const money_keys[] = {"balance", "amount", "paid", "delta", "balance_after",
                                         "price", "charged", "holders_balance", "open_amount",
                                         "revenue_today", "revenue_month", "charged_today",
                                         "charged_month", NULL};

static const char *fmt_raw(adm_t *adm, apr_pool_t *p, const char *key, json_object *v);

/* Every value shown to staff as text (tables, detail pages, the console) passes here:
 * control characters and escape sequences from the database are shown, not obeyed. */
const char *adm_fmt(adm_t *adm, apr_pool_t *p, const char *key, json_object *v)
{
    return acp_text_safe(p, fmt_raw(adm, p, key, v));
}

static const char *fmt_raw(adm_t *adm, apr_pool_t *p, const char *key, json_object *v)
{
    if (!v) {
        return "-";
    }
    if (json_object_is_type(v, json_type_int)) {
        long long n = (long long)json_object_get_int64(v);
        if (!strcmp(key, "revoked_reason")) {
            return adm_reason_name((int)n);
        }
        if (in_list(key, time_keys)) {
            char buf[32];
            time_t t = (time_t)n;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
            return apr_pstrdup(p, buf);
        }
        if (in_list(key, money_keys)) {
            return acp_money(p, n, adm->currency ? adm->currency : "CNY");
        }
    }
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
        return acp_json_safe(p, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    return apr_pstrdup(p, json_object_get_string(v));
}

/* Display width of UTF-8 text (one column per code point: good enough for labels). */
static size_t width_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static apr_array_header_t *col_list(apr_pool_t *p, json_object *arr, const char *cols)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    if (cols) {
        char *c = apr_pstrdup(p, cols), *state = NULL, *tok;
        for (tok = apr_strtok(c, ",", &state); tok; tok = apr_strtok(NULL, ",", &state)) {
            APR_ARRAY_PUSH(out, const char *) = tok;
        }
    }
    else if (json_object_array_length(arr) > 0) {
        json_object_object_foreach(json_object_array_get_idx(arr, 0), k, v)
        {
            (void)v;
            APR_ARRAY_PUSH(out, const char *) = k;
        }
    }
    return out;
}

const char *adm_table(adm_t *adm, apr_pool_t *p, json_object *arr, const char *cols)
{
    apr_array_header_t *names = col_list(p, arr, cols);
    size_t rows = json_object_array_length(arr), r, *w;
    int c;
    char *out = "";

    if (rows == 0) {
        return "(none)\n";
    }
    w = apr_pcalloc(p, sizeof(size_t) * (size_t)(names->nelts + 1));
    for (c = 0; c < names->nelts; c++) {
        w[c] = width_of(APR_ARRAY_IDX(names, c, const char *));
        for (r = 0; r < rows; r++) {
            json_object *v = NULL;
            const char *k = APR_ARRAY_IDX(names, c, const char *);
            json_object_object_get_ex(json_object_array_get_idx(arr, r), k, &v);
            if (width_of(adm_fmt(adm, p, k, v)) > w[c]) {
                w[c] = width_of(adm_fmt(adm, p, k, v));
            }
        }
    }
    for (r = 0; r <= rows; r++) {
        char *line = "";
        for (c = 0; c < names->nelts; c++) {
            const char *k = APR_ARRAY_IDX(names, c, const char *), *s;
            json_object *v = NULL;
            size_t pad;
            if (r == 0) {
                s = k;
            }
            else {
                json_object_object_get_ex(json_object_array_get_idx(arr, r - 1), k, &v);
                s = adm_fmt(adm, p, k, v);
            }
            pad = c + 1 < names->nelts ? w[c] - width_of(s) + 2 : 0;
            line = apr_psprintf(p, "%s%s%*s", line, s, (int)pad, "");
        }
        out = apr_pstrcat(p, out, line, "\n", NULL);
    }
    return out;
}

const char *adm_page(adm_t *adm, apr_pool_t *p, json_object *obj)
{
    char *out = "";

    json_object_object_foreach(obj, k, v)
    {
        if (v && json_object_is_type(v, json_type_array)) {
            out = apr_psprintf(p, "%s\n%s (%d):\n%s", out, k, (int)json_object_array_length(v),
                               adm_table(adm, p, v, NULL));
        }
        else if (v && json_object_is_type(v, json_type_object)) {
            out = apr_psprintf(p, "%s\n%s:\n", out, k);
            json_object_object_foreach(v, k2, v2)
            {
                out = apr_psprintf(p, "%s  %-14s %s\n", out, k2, adm_fmt(adm, p, k2, v2));
            }
        }
        else {
            out = apr_psprintf(p, "%s%-16s %s\n", out, k, adm_fmt(adm, p, k, v));
        }
    }
    return out;
}

const char *adm_count(apr_pool_t *p, long long n, const char *one, const char *many)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT " %s", (apr_int64_t)n, n == 1 ? one : many);
}

/* one CSV field: quoted when it holds a comma, a quote or a line break */
static const char *csv_field(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;

    if (!strpbrk(s, ",\"\r\n")) {
        return s;
    }
    out = apr_palloc(p, strlen(s) * 2 + 3);
    o = out;
    *o++ = '"';
    for (c = s; *c; c++) {
        if (*c == '"') {
            *o++ = '"';
        }
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *adm_csv(adm_t *adm, apr_pool_t *p, json_object *arr, const char *cols)
{
    apr_array_header_t *names = col_list(p, arr, cols);
    apr_array_header_t *lines = apr_array_make(p, 64, sizeof(const char *));
    size_t r, rows = json_object_array_length(arr);
    int c;

    for (r = 0; r <= rows; r++) {
        apr_array_header_t *f = apr_array_make(p, names->nelts, sizeof(const char *));
        for (c = 0; c < names->nelts; c++) {
            const char *k = APR_ARRAY_IDX(names, c, const char *);
            json_object *v = NULL;
            if (r == 0) {
                APR_ARRAY_PUSH(f, const char *) = csv_field(p, k);
                continue;
            }
            json_object_object_get_ex(json_object_array_get_idx(arr, r - 1), k, &v);
            /* raw values (integers stay integers, times unix seconds): a sheet converts */
            APR_ARRAY_PUSH(f, const char *) =
                v ? csv_field(p, json_object_get_string(v)) : "";
        }
        APR_ARRAY_PUSH(lines, const char *) = apr_array_pstrcat(p, f, ',');
        APR_ARRAY_PUSH(lines, const char *) = "\r\n";
    }
    return apr_array_pstrcat(p, lines, 0);
}
