/* acme-pay-admin find: one text across every kind of record, in three steps (exact keys,
 * whole words, any part of the text), each through the databases' own indexes (the
 * statements: modules/core/acp_sa_admin.c; why and how fast: README, "Finding things"). */
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include "adm.h"
#include "acp_admin.h"
#include "acp_ident.h"

#define LL(p, v) acp_sa_ll(p, v)

/* ---- find: one text across every kind ---------------------------------------------- */

typedef struct find_kind_t {
    const char *kind, *label, *cols, *show; /* show: adm_show kind for the detail */
    const char *alphabet; /* a text with other characters cannot be in this kind's
                           * substring index (NULL: any text can) */
} find_kind_t;

/* ids are base64url; names are DNS names (and "*."), IP addresses; serials hex */
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
static const find_kind_t find_kinds[] = {
    {"holder", "adm_find_holder", "id,kind,label,#balance,#created", "holder", NULL},
    {"account", "adm_find_account", "id,status,holder,contacts,#created", "account", NULL},
    {"order", "adm_find_order", "id,status,names,holder,#created", "order",
     B64URL ".*:, "},
    {"invoice", "adm_find_invoice", "id,status,holder,#amount,#created", "invoice", B64URL},
    {"cert", "adm_find_cert", "id,serial,names,holder,#created", "cert",
     B64URL ".*:, "},
    {"eab", "adm_find_eab", "id,label,status,holder,#created", "holder", NULL},
    {"payment", "adm_find_payment", "id,invoice,holder,#amount,#created", "invoice", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

/* A serial as people paste it (colons, 0x, decimal) as the certificates table keeps it:
 * lowercase hex; NULL when the text is no serial. */
static const char *serial_variant(apr_pool_t *p, const char *q)
{
    size_t i, n = strlen(q), hex = 0, dec = 0, colons = 0;
    const char *s = q;

    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        return acp_admin_serial(p, s);
    }
    for (i = 0; i < n; i++) {
        if (s[i] == ':') {
            colons++;
        }
        else if (apr_isdigit(s[i])) {
            dec++;
        }
        else if (apr_isxdigit(s[i])) {
            hex++;
        }
    }
    if (colons > 0 && colons + dec + hex == n) {
        return acp_admin_serial(p, s);
    }
    if (dec == n && n >= 6) {
        BIGNUM *bn = NULL;
        const char *out = NULL;
        if (BN_dec2bn(&bn, s) > 0) {
            char *h = BN_bn2hex(bn);
            if (h) {
                out = acp_admin_serial(p, h);
                OPENSSL_free(h);
            }
        }
        BN_free(bn);
        return out;
    }
    if (hex > 0 && hex + dec == n) {
        return acp_admin_serial(p, s); /* uppercase hex */
    }
    return NULL;
}

/* One kind's rows (at most lim; *more = 1 when there are others) into out. args: the
 * statement's parameters before its limit. ms > 0: the lookup may take that long, and
 * *stopped says it was stopped there (nothing added). */
static int find_kind_within(adm_t *adm, apr_pool_t *p, const find_kind_t *k, const char *label,
                            const char **args, long long lim, int ms, int *stopped,
                            json_object *out, apr_hash_t *seen, int *more, const char **err)
{
    json_object *arr = NULL;
    const char *a[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t i, n;
    int rc;

    for (n = 0; args[n] && n < 3; n++) {
        a[n] = args[n];
    }
    a[n] = LL(p, lim + 1);
    rc = adm_rows_json_within(adm, p, label, k->cols, ms, stopped, (int)n + 1, a, &arr, err);

    if (rc != ADM_OK || *stopped) {
        return rc;
    }
    if ((long long)json_object_array_length(arr) > lim) {
        *more = 1;
    }
    for (i = 0; i < json_object_array_length(arr) && (long long)i < lim; i++) {
        json_object *r = json_object_array_get_idx(arr, i), *id = NULL, *o, *v = NULL;
        const char *sid;
        json_object_object_get_ex(r, "id", &id);
        sid = apr_pstrcat(p, k->kind, ":", json_object_get_string(id), NULL);
        if (apr_hash_get(seen, sid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, sid, APR_HASH_KEY_STRING, "1");
        o = json_object_new_object();
        json_object_object_add(o, "kind", json_object_new_string(k->kind));
        json_object_object_add(o, "id", json_object_get(id));
        json_object_object_add(o, "show", json_object_new_string(k->show));
        if (!strcmp(k->kind, "holder")) {
            json_object_object_get_ex(r, "label", &v);
        }
        else if (!strcmp(k->kind, "account")) {
            json_object_object_get_ex(r, "contacts", &v);
        }
        else if (!strcmp(k->kind, "order") || !strcmp(k->kind, "cert")) {
            json_object_object_get_ex(r, "names", &v);
        }
        else if (!strcmp(k->kind, "eab")) {
            json_object *h = NULL;
            json_object_object_get_ex(r, "label", &v);
            json_object_object_get_ex(r, "holder", &h);
            json_object_object_add(o, "show_id", h ? json_object_get(h) : NULL);
        }
        else if (!strcmp(k->kind, "payment")) {
            json_object *inv = NULL;
            json_object_object_get_ex(r, "invoice", &inv);
            json_object_object_add(o, "show_id", json_object_get(inv));
        }
        if (!strcmp(k->kind, "cert")) {
            json_object *se = NULL;
            json_object_object_get_ex(r, "serial", &se);
            json_object_object_add(o, "show_id", json_object_get(se));
        }
        json_object_object_add(o, "summary", v ? json_object_get(v) : NULL);
        if (!strcmp(k->kind, "holder")) {
            json_object_object_add(o, "holder", json_object_get(id));
        }
        else {
            json_object *h = NULL;
            json_object_object_get_ex(r, "holder", &h);
            json_object_object_add(o, "holder", h ? json_object_get(h) : NULL);
        }
        json_object_object_get_ex(r, "created", &v);
        json_object_object_add(o, "created", v ? json_object_get(v) : NULL);
        json_object_array_add(out, o);
    }
    return ADM_OK;
}

static int find_kind(adm_t *adm, apr_pool_t *p, const find_kind_t *k, const char *label,
                     const char **args, long long lim, json_object *out, apr_hash_t *seen,
                     int *more, const char **err)
{
    int stopped = 0;

    return find_kind_within(adm, p, k, label, args, lim, 0, &stopped, out, seen, more, err);
}

/* Exact keys, every kind at once (adm_exact): rows into out as find_kind makes them. */
static int find_exact(adm_t *adm, apr_pool_t *p, const char *text, const char *serial,
                      const char *key, long long lim, json_object *out, json_object *more,
                      apr_hash_t *seen, const char **err)
{
    const char *l = LL(p, lim + 1);
    json_object *arr = NULL;
    apr_hash_t *count = apr_hash_make(p);
    size_t i;
    int rc = adm_rows_json(adm, p, "adm_exact", "kind,id,summary,holder,#created,show_id",
                       ACP_SA_ARGS(text, l, text, key, l, text, key, l, text, l, text, serial,
                                   key, l, text, l, text, l),
                       &arr, err);

    if (rc != ADM_OK) {
        return rc;
    }
    for (i = 0; i < json_object_array_length(arr); i++) {
        json_object *r = json_object_array_get_idx(arr, i), *o, *v;
        const char *kind = json_object_get_string(json_object_object_get(r, "kind"));
        const char *sid = apr_pstrcat(p, kind, ":",
                                      json_object_get_string(json_object_object_get(r, "id")),
                                      NULL);
        const find_kind_t *k;
        long long *n = apr_hash_get(count, kind, APR_HASH_KEY_STRING);

        for (k = find_kinds; k->kind && strcmp(k->kind, kind); k++) {
        }
        if (!k->kind) {
            continue;
        }
        if (!n) {
            n = apr_pcalloc(p, sizeof(*n));
            apr_hash_set(count, kind, APR_HASH_KEY_STRING, n);
        }
        if (++*n > lim) {
            if (*n == lim + 1) {
                json_object_array_add(more, json_object_new_string(kind));
            }
            continue;
        }
        if (apr_hash_get(seen, sid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, sid, APR_HASH_KEY_STRING, "1");
        o = json_object_new_object();
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "id", json_object_get(json_object_object_get(r, "id")));
        json_object_object_add(o, "show", json_object_new_string(k->show));
        if ((v = json_object_object_get(r, "show_id")) != NULL) {
            json_object_object_add(o, "show_id", json_object_get(v));
        }
        v = json_object_object_get(r, "summary");
        json_object_object_add(o, "summary", v ? json_object_get(v) : NULL);
        v = json_object_object_get(r, "holder");
        json_object_object_add(o, "holder", v ? json_object_get(v) : NULL);
        v = json_object_object_get(r, "created");
        json_object_object_add(o, "created", v ? json_object_get(v) : NULL);
        json_object_array_add(out, o);
    }
    return ADM_OK;
}

/* Whether every character of text is in the kind's alphabet (case-insensitive: the
 * substring indexes are). */
static int shape_fits(const find_kind_t *k, const char *text)
{
    const char *c;

    if (!k->alphabet) {
        return 1;
    }
    for (c = text; *c; c++) {
        if (!strchr(k->alphabet, *c)) {
            return 0;
        }
    }
    return 1;
}

static void more_of(json_object *more, const char *kind)
{
    size_t j;

    for (j = 0; j < json_object_array_length(more); j++) {
        if (!strcmp(json_object_get_string(json_object_array_get_idx(more, j)), kind)) {
            return;
        }
    }
    json_object_array_add(more, json_object_new_string(kind));
}

/* a kind's matches among its newest rows for one text, as read once in a find (the
 * words step asks, and the any-part step asks again for a kind stopped at its budget) */
typedef struct {
    json_object *got; /* every match read (at most lim), each as find_kind makes it */
    int more;         /* there were more than lim */
} recent_t;

/* A kind's matches among its newest rows, taken into res when there are more than lim
 * of them (they are then its newest lim), or always: 1 taken, 0 not (res untouched), -1
 * error. *more = 1: there were more than lim. cache: what this find read already. */
static int recent_kind(adm_t *adm, apr_pool_t *p, const find_kind_t *k, const char *low,
                       long long lim, int always, int *more, json_object *res,
                       apr_hash_t *seen, apr_hash_t *cache, const char **err)
{
    const char *key = apr_pstrcat(p, k->kind, ":", low, NULL);
    recent_t *r = apr_hash_get(cache, key, APR_HASH_KEY_STRING);
    size_t i;

    if (!r) {
        const char *args[3] = {low, NULL, NULL};
        r = apr_pcalloc(p, sizeof(*r));
        r->got = adm_jpool(p, json_object_new_array());
        if (find_kind(adm, p, k, apr_pstrcat(p, k->label, "_recent", NULL), args, lim, r->got,
                      apr_hash_make(p), &r->more, err) != ADM_OK) {
            return -1;
        }
        apr_hash_set(cache, key, APR_HASH_KEY_STRING, r);
    }
    if (r->more) {
        *more = 1;
    }
    if (!r->more && !always) {
        return 0;
    }
    for (i = 0; i < json_object_array_length(r->got); i++) {
        json_object *o = json_object_array_get_idx(r->got, i);
        const char *sid = apr_pstrcat(p, k->kind, ":",
                                      json_object_get_string(json_object_object_get(o, "id")),
                                      NULL);
        if (!apr_hash_get(seen, sid, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, sid, APR_HASH_KEY_STRING, "1");
            json_object_array_add(res, json_object_get(o));
        }
    }
    return 1;
}

/* The text after its first word, when the text starts inside a word and has another
 * word after it ("eed-000777777" -> "000777777"); NULL otherwise. Those later words are
 * whole words (the last one may be unfinished) even where the first is the end of a
 * longer word, so the word indexes can still find the candidates. */
static const char *after_first_word(const char *text)
{
    const char *c = text;

    if (!apr_isalnum(*c)) {
        return NULL; /* the first word starts a word: the words step looked for it */
    }
    while (apr_isalnum(*c)) {
        c++;
    }
    while (*c && !apr_isalnum(*c)) {
        c++;
    }
    return *c ? c : NULL;
}

/* find's steps after the exact keys */
enum { STEP_ANY, STEP_WORDS, STEP_LATER_WORDS };

/* find's search of every kind whose text can hold the text (an e-mail address is in no
 * name, id or serial), by words (the word indexes; STEP_LATER_WORDS: the words after
 * the first) or any part (the trigram indexes); certificates also by the serial as
 * stored when it was typed otherwise. */
/* the texts a kind is searched for: the text where the kind's alphabet fits it, and for
 * certificates the serial as stored when it was typed otherwise; how many in n */
static void kind_texts(const find_kind_t *k, const char *text, const char *serial,
                       const char *texts[3], int *n)
{
    int i = 0;

    if (shape_fits(k, text)) {
        texts[i++] = text;
    }
    if (!strcmp(k->kind, "cert") && serial && strcmp(serial, text) != 0 &&
        strlen(serial) >= ACP_SA_SEARCH_MIN) {
        texts[i++] = serial;
    }
    texts[i] = NULL;
    *n += i;
}

static int find_step(adm_t *adm, apr_pool_t *p, const char *text, const char *serial,
                     int step, long long lim, int complete, json_object *res,
                     json_object *more, json_object *partial, apr_hash_t *seen,
                     apr_hash_t *cache, const char **err)
{
    const find_kind_t *k;
    int pg = adm->db->pgsql, words = step != STEP_ANY, todo = 0;
    /* the any-part step's lookups share one budget (ADM_FIND_BUDGET_MS); each may take
     * what is left less 2 ms for every lookup after it, so that one slow kind leaves
     * the others time for an index lookup and the step ends near the budget */
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(ADM_FIND_BUDGET_MS);

    for (k = find_kinds; k->kind; k++) {
        const char *texts[3];
        kind_texts(k, text, serial, texts, &todo);
    }
    for (k = find_kinds; k->kind; k++) {
        const char *label = words ? apr_pstrcat(p, k->label, "_words", NULL) : k->label;
        const char *texts[3];
        int i, m = 0, none = 0;

        kind_texts(k, text, serial, texts, &none);
        for (i = 0; texts[i]; i++) {
            const char *args[3] = {NULL, NULL, NULL};
            if (words) {
                const char *low;
                const char *w = texts[i];
                if (step == STEP_LATER_WORDS && !(w = after_first_word(w))) {
                    continue;
                }
                if (!(args[0] = acp_sa_search_words(p, w, pg))) {
                    continue;
                }
                args[1] = low = adm_lowercase(p, texts[i]);
                /* a text the newest rows already hold more than lim times is answered
                 * from them: its index lookup would gather every row holding it before
                 * the first could be returned (a PostgreSQL GIN bitmap, an FTS5 prefix) */
                {
                    int r = recent_kind(adm, p, k, low, lim, 0, &m, res, seen, cache, err);
                    if (r < 0) {
                        return ADM_FAIL;
                    }
                    if (r) {
                        continue;
                    }
                }
            }
            else {
                args[0] = acp_sa_search_pattern(p, texts[i], pg);
            }
            {
                /* any part: within what is left of the budget less 2 ms for each later
                 * lookup (at least 2 ms, time for an index lookup); stopped, the kind is
                 * answered from its newest rows and listed as partial */
                long long left = (long long)apr_time_as_msec(deadline - apr_time_now()) -
                                 2 * (long long)(--todo);
                int ms = words || complete ? 0 : (int)(left < 2 ? 2 : left), stopped = 0;
                if (find_kind_within(adm, p, k, label, args, lim, ms, &stopped, res, seen, &m,
                                     err) != ADM_OK) {
                    return ADM_FAIL;
                }
                if (stopped) {
                    if (recent_kind(adm, p, k, adm_lowercase(p, texts[i]), lim, 1, &m, res, seen,
                                    cache, err) < 0) {
                        return ADM_FAIL;
                    }
                    more_of(partial, k->kind);
                }
            }
        }
        if (m) {
            more_of(more, k->kind);
        }
    }
    return ADM_OK;
}

/* The exact key a text stands for: lowercase, without a "mailto:" or a DNS name's
 * trailing dot; an IP address as the names key marks it ("ip:" + canonical text). */
static const char *exact_key(apr_pool_t *p, const char *text)
{
    unsigned char addr[16];
    char *k, *c;

    if (!strncasecmp(text, "mailto:", 7)) {
        text += 7;
    }
    k = adm_lowercase(p, text);
    c = k + strlen(k);
    if (c > k + 1 && c[-1] == '.') {
        c[-1] = '\0';
    }
    if (inet_pton(AF_INET, k, addr) == 1) {
        return apr_pstrcat(p, "ip:", acp_ident_ip_text(p, AF_INET, addr), NULL);
    }
    if (inet_pton(AF_INET6, k, addr) == 1) {
        return apr_pstrcat(p, "ip:", acp_ident_ip_text(p, AF_INET6, addr), NULL);
    }
    return k;
}

void adm_search_current(adm_t *adm, apr_pool_t *p)
{
    const char **row = NULL;

    if (adm->db->pgsql ||
        acp_sa_row(adm->db, p, "adm_search_queued", &row, ACP_SA_NOARGS) != APR_SUCCESS ||
        !row || !row[0] || !strcmp(row[0], "0")) {
        return;
    }
    {
        /* a database this tool may only read: searched as it is, and not reported as
         * unavailable by the steps that follow */
        int unavailable = adm->db->unavailable;
        const char *fault = adm->db->fault;
        if (acp_sa_exec(adm->db, p, "adm_search_drain", NULL, ACP_SA_NOARGS) != APR_SUCCESS) {
            adm->db->unavailable = unavailable;
            adm->db->fault = fault;
        }
    }
}

int adm_find(adm_t *adm, apr_pool_t *p, const char *text, long long lim, int flags,
             json_object **obj, const char **err)
{
    json_object *res, *more, *partial;
    int all = (flags & ADM_FIND_ALL) != 0, complete = (flags & ADM_FIND_COMPLETE) != 0;
    apr_hash_t *seen = apr_hash_make(p), *cache = apr_hash_make(p);
    const char *serial, *key;
    char *t;
    int exact = 0;

    t = apr_pstrdup(p, text ? text : "");
    apr_collapse_spaces(t, t);
    if (strlen(t) < ACP_SA_SEARCH_MIN) {
        *err = apr_psprintf(p, "find needs at least %d characters (without spaces)",
                            ACP_SA_SEARCH_MIN);
        return ADM_USAGE;
    }
    text = apr_pstrdup(p, text);
    while (*text == ' ') {
        text++;
    }
    t = apr_pstrdup(p, text);
    while (*t && t[strlen(t) - 1] == ' ') {
        t[strlen(t) - 1] = '\0';
    }
    text = t;
    if (lim <= 0) {
        lim = 20;
    }
    *obj = adm_jpool(p, json_object_new_object());
    res = json_object_new_array();
    more = json_object_new_array();
    json_object_object_add(*obj, "query", json_object_new_string(text));
    json_object_object_add(*obj, "results", res);
    json_object_object_add(*obj, "more", more);
    /* kinds whose any-part lookup was stopped at the budget: their newest rows only */
    partial = json_object_new_array();
    json_object_object_add(*obj, "partial", partial);
    serial = serial_variant(p, text);
    key = exact_key(p, text);
    /* 1. exact keys: what staff paste (an id, a serial in any format, an e-mail
     * address, a complete name, a payment reference) is an index lookup, every kind in
     * one statement */
    if (find_exact(adm, p, text, serial ? serial : key, key, lim, res, more, seen, err) !=
        ADM_OK) {
        return ADM_FAIL;
    }
    exact = json_object_array_length(res) > 0;
    json_object_object_add(*obj, "exact", json_object_new_boolean(exact));
    if (exact && !all) {
        json_object_object_add(*obj, "step", json_object_new_string("exact"));
        return ADM_OK;
    }
    /* 2. the text as whole words (the last one may be unfinished): word indexes, whose
     * lookups stay short where a fragment's trigrams are common to millions of rows */
    adm_search_current(adm, p);
    if (!all) {
        if (find_step(adm, p, text, serial, STEP_WORDS, lim, complete, res, more, partial,
                      seen, cache, err) != ADM_OK) {
            return ADM_FAIL;
        }
        /* ... and a text that starts inside a word: its later words (a name's number
         * after a cut-off label), whose trigrams may be common to millions of rows */
        if (json_object_array_length(res) == 0 &&
            find_step(adm, p, text, serial, STEP_LATER_WORDS, lim, complete, res, more,
                      partial, seen, cache, err) != ADM_OK) {
            return ADM_FAIL;
        }
        if (json_object_array_length(res) > 0) {
            json_object_object_add(*obj, "step", json_object_new_string("words"));
            return ADM_OK;
        }
    }
    /* 3. any part of the text, through the trigram indexes */
    json_object_object_add(*obj, "step", json_object_new_string("any part"));
    return find_step(adm, p, text, serial, STEP_ANY, lim, complete, res, more, partial, seen,
                     cache, err);
}
