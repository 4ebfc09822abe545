/* acme-pay-admin: find the database the way the module does, from Apache's config. */
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "adm.h"

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

/* The argument of a directive line, without surrounding quotes. */
static const char *arg_of(apr_pool_t *p, char *rest)
{
    rest = trim(rest);
    if (*rest == '"') {
        char *end = strrchr(rest + 1, '"');
        if (end) {
            return apr_pstrmemdup(p, rest + 1, (apr_size_t)(end - rest - 1));
        }
    }
    return apr_pstrdup(p, rest);
}

/* The first two (optionally quoted) words of a directive's arguments. */
static void two_args(apr_pool_t *p, char *rest, const char **a, const char **b)
{
    const char *out[2] = {NULL, NULL};
    int i;

    rest = trim(rest);
    for (i = 0; i < 2 && *rest; i++) {
        char *end;
        if (*rest == '"') {
            rest++;
            end = strchr(rest, '"');
        }
        else {
            end = rest + strcspn(rest, " \t");
        }
        if (!end) {
            end = rest + strlen(rest);
        }
        out[i] = apr_pstrmemdup(p, rest, (apr_size_t)(end - rest));
        rest = *end ? end + 1 : end;
        while (*rest == ' ' || *rest == '\t') {
            rest++;
        }
    }
    if (out[0] && out[1]) {
        *a = out[0];
        *b = out[1];
    }
}

static int read_file(adm_t *adm, const char *path, const char *root, int depth, int optional)
{
    char line[4096];
    FILE *f;

    if (depth > 16) {
        return -1;
    }
    f = fopen(path, "r");
    if (!f) {
        return optional ? 0 : -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *sp;
        size_t n;
        if (*s == '#' || !*s) {
            continue;
        }
        sp = s + strcspn(s, " \t");
        n = (size_t)(sp - s);
        if (!*sp) {
            continue;
        }
        if ((n == 7 && !strncasecmp(s, "Include", 7)) ||
            (n == 15 && !strncasecmp(s, "IncludeOptional", 15))) {
            const char *pat = arg_of(adm->pool, sp);
            glob_t g;
            size_t i;
            if (*pat != '/') {
                pat = apr_pstrcat(adm->pool, root, "/", pat, NULL);
            }
            if (glob(pat, 0, NULL, &g) == 0) {
                for (i = 0; i < g.gl_pathc; i++) {
                    read_file(adm, apr_pstrdup(adm->pool, g.gl_pathv[i]), root, depth + 1, n == 15);
                }
                globfree(&g);
            }
        }
        else if (n == 10 && !strncasecmp(s, "ServerRoot", 10)) {
            root = arg_of(adm->pool, sp);
        }
        else if (n == 8 && !strncasecmp(s, "DBDriver", 8)) {
            adm->driver = arg_of(adm->pool, sp);
        }
        else if (n == 9 && !strncasecmp(s, "DBDParams", 9)) {
            adm->params = arg_of(adm->pool, sp);
        }
        else if (n == 15 && !strncasecmp(s, "AcmePayCurrency", 15)) {
            adm->currency = arg_of(adm->pool, sp);
        }
        else if (n == 9 && !strncasecmp(s, "AcmePayCA", 9) && !adm->ca_cert) {
            two_args(adm->pool, sp, &adm->ca_cert, &adm->ca_key);
        }
        else if (n == 18 && !strncasecmp(s, "AcmePaySignCommand", 18) && !adm->sign_command) {
            adm->sign_command = arg_of(adm->pool, sp);
        }
        else if (n == 19 && !strncasecmp(s, "AcmePayCertValidity", 19)) {
            adm->validity_days = (int)apr_atoi64(arg_of(adm->pool, sp));
        }
    }
    fclose(f);
    return 0;
}

int adm_conf_read(adm_t *adm, const char *path, const char **err)
{
    char *root = apr_pstrdup(adm->pool, path), *slash = strrchr(root, '/');

    if (slash) {
        *slash = '\0';
    }
    else {
        root = ".";
    }
    if (read_file(adm, path, root, 0, 0) != 0) {
        *err = apr_psprintf(adm->pool, "cannot read %s", path);
        return -1;
    }
    if (!adm->driver || !adm->params) {
        *err = apr_psprintf(adm->pool, "%s has no DBDriver/DBDParams", path);
        return -1;
    }
    return 0;
}
