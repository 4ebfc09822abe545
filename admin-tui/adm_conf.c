/* acme-pay-admin: find the database the way Apache and the module do. The configuration
 * is read as Apache reads it (Include/IncludeOptional followed, <VirtualHost> sections as
 * servers that inherit from the main server what they do not set); the server used is
 * the one carrying "SetHandler acme-pay" (or the one named with --vhost). Several such
 * servers on different databases, or none, are refused: never a guess. */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "adm.h"

typedef struct conf_srv_t {
    const char *name;               /* ServerName (vhost), NULL for the main server */
    apr_array_header_t *aliases;    /* ServerAlias words */
    const char *at;                 /* "file:line" of <VirtualHost> */
    const char *driver, *params, *currency, *ca_cert, *ca_key, *sign_command, *key_file;
    const char *sub_refund;         /* AcmePaySubscriptionRefund */
    int validity_days;
    int ov_vetting_days;            /* AcmePayOVVettingDays */
    const char *crl_url;
    int crl_shards, crl_lifetime;
    int handler;                    /* SetHandler acme-pay inside */
} conf_srv_t;

typedef struct conf_t {
    apr_pool_t *p;
    const char *root;
    conf_srv_t *main;
    apr_array_header_t *vhosts;     /* conf_srv_t* */
    conf_srv_t *cur;                /* the server being read */
    int depth;                      /* open sections inside the current <VirtualHost> */
} conf_t;

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
        *--e = '\0';
    }
    return s;
}

/* The next (optionally quoted) word of *rest, NULL at the end. */
static const char *word(apr_pool_t *p, char **rest)
{
    char *s = trim(*rest), *end;
    const char *w;

    if (!*s) {
        return NULL;
    }
    if (*s == '"') {
        s++;
        end = strchr(s, '"');
    }
    else {
        end = s + strcspn(s, " \t>");
    }
    if (!end) {
        end = s + strlen(s);
    }
    w = apr_pstrmemdup(p, s, (apr_size_t)(end - s));
    *rest = *end ? end + 1 : end;
    return w;
}

static const char *rooted(conf_t *c, const char *path)
{
    if (!path || *path == '/') {
        return path;
    }
    return apr_pstrcat(c->p, c->root, "/", path, NULL);
}

static int read_file(conf_t *c, const char *path, int depth, int optional);

static void directive(conf_t *c, const char *name, char *rest, const char *path, int line)
{
    apr_pool_t *p = c->p;
    conf_srv_t *s = c->cur;

    if (!strcasecmp(name, "Include") || !strcasecmp(name, "IncludeOptional")) {
        const char *pat = rooted(c, word(p, &rest));
        glob_t g;
        size_t i;
        if (pat && glob(pat, 0, NULL, &g) == 0) {
            for (i = 0; i < g.gl_pathc; i++) {
                read_file(c, apr_pstrdup(p, g.gl_pathv[i]), 1,
                          !strcasecmp(name, "IncludeOptional"));
            }
            globfree(&g);
        }
    }
    else if (!strcasecmp(name, "ServerRoot") && s == c->main) {
        c->root = word(p, &rest);
    }
    else if (!strcasecmp(name, "<VirtualHost") && s == c->main) {
        conf_srv_t *v = apr_pcalloc(p, sizeof(*v));
        v->aliases = apr_array_make(p, 2, sizeof(const char *));
        v->at = apr_psprintf(p, "%s:%d", path, line);
        APR_ARRAY_PUSH(c->vhosts, conf_srv_t *) = v;
        c->cur = v;
        c->depth = 0;
    }
    else if (!strcasecmp(name, "</VirtualHost>") && s != c->main) {
        c->cur = c->main;
    }
    else if (!strcasecmp(name, "ServerName") && s != c->main) {
        const char *n = word(p, &rest);
        const char *sep = n ? strstr(n, "://") : NULL;
        s->name = sep ? sep + 3 : n;
    }
    else if (!strcasecmp(name, "ServerAlias") && s != c->main) {
        const char *w;
        while ((w = word(p, &rest)) != NULL) {
            APR_ARRAY_PUSH(s->aliases, const char *) = w;
        }
    }
    else if (!strcasecmp(name, "SetHandler")) {
        const char *w = word(p, &rest);
        if (w && !strcmp(w, "acme-pay")) {
            s->handler = 1;
        }
    }
    else if (!strcasecmp(name, "DBDriver")) {
        s->driver = word(p, &rest);
    }
    else if (!strcasecmp(name, "DBDParams")) {
        s->params = word(p, &rest);
    }
    else if (!strcasecmp(name, "AcmePayCurrency")) {
        s->currency = word(p, &rest);
    }
    else if (!strcasecmp(name, "AcmePaySubscriptionRefund")) {
        s->sub_refund = word(p, &rest);
    }
    else if (!strcasecmp(name, "AcmePayCA")) {
        s->ca_cert = rooted(c, word(p, &rest));
        s->ca_key = rooted(c, word(p, &rest));
    }
    else if (!strcasecmp(name, "AcmePaySignCommand")) {
        s->sign_command = rooted(c, word(p, &rest));
    }
    else if (!strcasecmp(name, "AcmePayKeyFile")) {
        s->key_file = rooted(c, word(p, &rest));
    }
    else if (!strcasecmp(name, "AcmePayCRLURL")) {
        s->crl_url = word(p, &rest);
    }
    else if (!strcasecmp(name, "AcmePayCRLShards")) {
        const char *w = word(p, &rest);
        s->crl_shards = w ? (int)apr_atoi64(w) : 0;
    }
    else if (!strcasecmp(name, "AcmePayCRLLifetime")) {
        const char *w = word(p, &rest);
        long long v = w ? apr_atoi64(w) : 0;
        char u = w && *w ? w[strlen(w) - 1] : 's';
        s->crl_lifetime = (int)(v * (u == 'd' ? 86400 : u == 'h' ? 3600 : 1));
    }
    else if (!strcasecmp(name, "AcmePayOVVettingDays")) {
        const char *w = word(p, &rest);
        s->ov_vetting_days = w ? (int)apr_atoi64(w) : 0;
    }
    else if (!strcasecmp(name, "AcmePayCertValidity")) {
        const char *w = word(p, &rest);
        s->validity_days = w ? (int)apr_atoi64(w) : 0;
    }
}

static int read_file(conf_t *c, const char *path, int depth, int optional)
{
    char line[4096];
    int n = 0;
    FILE *f;

    if (depth > 16) {
        return -1;
    }
    f = fopen(path, "r");
    if (!f) {
        return optional ? 0 : -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *rest;
        const char *name;
        n++;
        if (*s == '#' || !*s) {
            continue;
        }
        rest = s;
        name = word(c->p, &rest);
        if (!name) {
            continue;
        }
        if (*s == '<' && s[1] == '/') {
            /* "</VirtualHost>": word() stopped before '>' */
            name = apr_pstrcat(c->p, name, ">", NULL);
        }
        directive(c, name, rest, path, n);
    }
    fclose(f);
    return 0;
}

/* What a vhost does not set, it has from the main server. */
static conf_srv_t *effective(conf_t *c, const conf_srv_t *v)
{
    conf_srv_t *e = apr_pmemdup(c->p, v, sizeof(*v));
    const conf_srv_t *m = c->main;

    if (v == m) {
        return e;
    }
#define INHERIT(f) e->f = v->f ? v->f : m->f
    INHERIT(driver);
    INHERIT(params);
    INHERIT(currency);
    INHERIT(sub_refund);
    INHERIT(sign_command);
    INHERIT(key_file);
    INHERIT(validity_days);
    INHERIT(ov_vetting_days);
    INHERIT(crl_url);
    INHERIT(crl_shards);
    INHERIT(crl_lifetime);
#undef INHERIT
    if (!v->ca_cert) {
        e->ca_cert = m->ca_cert;
        e->ca_key = m->ca_key;
    }
    return e;
}

static const char *describe(apr_pool_t *p, const conf_srv_t *s)
{
    if (!s->at) {
        return "the main server";
    }
    return apr_psprintf(p, "<VirtualHost> %s (%s)", s->name ? s->name : "(no ServerName)", s->at);
}

static int named(const conf_srv_t *v, const char *name)
{
    int i;
    if (v->name && !strcasecmp(v->name, name)) {
        return 1;
    }
    for (i = 0; i < v->aliases->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(v->aliases, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

static int same_db(const conf_srv_t *a, const conf_srv_t *b)
{
    return a->driver && b->driver && a->params && b->params && !strcmp(a->driver, b->driver) &&
           !strcmp(a->params, b->params);
}

static int pick(conf_t *c, adm_t *adm, const char *path, conf_srv_t **out, const char **err)
{
    apr_array_header_t *cands = apr_array_make(c->p, 4, sizeof(conf_srv_t *));
    conf_srv_t *e;
    int i;

    if (adm->vhost) {
        for (i = 0; i < c->vhosts->nelts; i++) {
            conf_srv_t *v = APR_ARRAY_IDX(c->vhosts, i, conf_srv_t *);
            if (named(v, adm->vhost)) {
                APR_ARRAY_PUSH(cands, conf_srv_t *) = effective(c, v);
            }
        }
        if (cands->nelts == 0) {
            *err = apr_psprintf(c->p, "%s has no <VirtualHost> with ServerName or ServerAlias %s",
                                path, adm->vhost);
            return -1;
        }
    }
    else {
        /* Apache's rule: the ACME server is where "SetHandler acme-pay" is; one at
         * server level applies to every vhost, so it names the main server's settings */
        if (c->main->handler) {
            APR_ARRAY_PUSH(cands, conf_srv_t *) = effective(c, c->main);
        }
        for (i = 0; i < c->vhosts->nelts; i++) {
            conf_srv_t *v = APR_ARRAY_IDX(c->vhosts, i, conf_srv_t *);
            if (v->handler) {
                APR_ARRAY_PUSH(cands, conf_srv_t *) = effective(c, v);
            }
        }
        if (cands->nelts == 0) {
            *err = apr_psprintf(c->p,
                                "%s has no \"SetHandler acme-pay\": cannot tell which "
                                "database is the CA's (give --vhost NAME, or --driver and "
                                "--params)",
                                path);
            return -1;
        }
    }
    e = APR_ARRAY_IDX(cands, 0, conf_srv_t *);
    for (i = 1; i < cands->nelts; i++) {
        conf_srv_t *o = APR_ARRAY_IDX(cands, i, conf_srv_t *);
        if (!same_db(e, o)) {
            *err = apr_psprintf(c->p,
                                "ambiguous configuration %s: %s and %s use different "
                                "databases; choose one with --vhost NAME",
                                path, describe(c->p, e), describe(c->p, o));
            return -1;
        }
    }
    if (!e->driver || !e->params) {
        *err = apr_psprintf(c->p, "%s: %s has no DBDriver/DBDParams", path, describe(c->p, e));
        return -1;
    }
    *out = e;
    return 0;
}

int adm_conf_read(adm_t *adm, const char *path, const char **err)
{
    char *root = apr_pstrdup(adm->pool, path), *slash = strrchr(root, '/');
    conf_t c;
    conf_srv_t *s = NULL;

    memset(&c, 0, sizeof(c));
    c.p = adm->pool;
    if (slash) {
        *slash = '\0';
    }
    else {
        root = ".";
    }
    c.root = root;
    c.main = apr_pcalloc(c.p, sizeof(*c.main));
    c.main->aliases = apr_array_make(c.p, 1, sizeof(const char *));
    c.vhosts = apr_array_make(c.p, 8, sizeof(conf_srv_t *));
    c.cur = c.main;
    if (read_file(&c, path, 0, 0) != 0) {
        *err = apr_psprintf(adm->pool, "cannot read %s", path);
        return -1;
    }
    if (pick(&c, adm, path, &s, err) != 0) {
        return -1;
    }
    adm->driver = s->driver;
    adm->params = s->params;
    adm->server = describe(adm->pool, s);
    if (s->currency) {
        adm->currency = s->currency;
    }
    if (s->sub_refund) {
        adm->sub_refund = s->sub_refund;
    }
    adm->ca_cert = s->ca_cert;
    adm->ca_key = s->ca_key;
    adm->sign_command = s->sign_command;
    adm->crl_url = s->crl_url;
    adm->crl_shards = s->crl_shards;
    adm->crl_lifetime = s->crl_lifetime;
    adm->key_file = s->key_file;
    if (s->validity_days > 0) {
        adm->validity_days = s->validity_days;
    }
    if (s->ov_vetting_days > 0) {
        adm->ov_vetting_days = s->ov_vetting_days;
    }
    return 0;
}
