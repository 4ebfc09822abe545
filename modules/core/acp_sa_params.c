/* Storage authority: DBDParams as they may be shown (a log line, an error), without
 * passwords. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_sa.h"

static int secret_key(const char *k, size_t n)
{
    static const char *const keys[] = {"password", "pass", "passwd", "pwd", NULL};
    int i;

    for (i = 0; keys[i]; i++) {
        if (strlen(keys[i]) == n && strncasecmp(k, keys[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *acp_sa_params_safe(apr_pool_t *p, const char *driver, const char *params)
{
    /* values end at these (pgsql conninfo: blanks; URI query: '&'; mysql and others: ',') */
    const char *ends = driver && !strcmp(driver, "pgsql") ? " \t&" : " \t&,;";
    apr_size_t n = params ? strlen(params) : 0, i = 0, o = 0;
    char *out;

    if (!params) {
        return "(none)";
    }
    if (driver && !strcmp(driver, "sqlite3")) {
        return params; /* a file name */
    }
    out = apr_palloc(p, n + 4 * (n + 1) + 1);
    if (!strncmp(params, "postgres://", 11) || !strncmp(params, "postgresql://", 13)) {
        /* scheme://user:secret@host/db?password=secret */
        const char *auth = strstr(params, "://") + 3, *at = strchr(auth, '@'),
                   *slash = strchr(auth, '/'), *colon = strchr(auth, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            o = (apr_size_t)(colon - params) + 1;
            memcpy(out, params, o);
            memcpy(out + o, "***", 3);
            o += 3;
            i = (apr_size_t)(at - params);
        }
    }
    while (i < n) {
        apr_size_t ks = i, ke, j;
        /* a key: letters, digits, '_' */
        while (i < n && (apr_isalnum(params[i]) || params[i] == '_')) {
            i++;
        }
        ke = i;
        j = i;
        while (j < n && (params[j] == ' ' || params[j] == '\t')) {
            j++;
        }
        if (ke == ks || j >= n || params[j] != '=') {
            /* not a key=value pair: copy one character and look again */
            i = ks + 1;
            out[o++] = params[ks];
            continue;
        }
        j++;
        while (j < n && (params[j] == ' ' || params[j] == '\t')) {
            j++;
        }
        memcpy(out + o, params + ks, j - ks); /* "key = " */
        o += j - ks;
        i = j;
        if (i < n && params[i] == '\'') {
            for (i++; i < n && params[i] != '\''; i++) {
                if (params[i] == '\\' && i + 1 < n) {
                    i++;
                }
            }
            i += i < n ? 1 : 0;
        }
        else {
            while (i < n && !strchr(ends, params[i])) {
                i++;
            }
        }
        if (secret_key(params + ks, ke - ks)) {
            memcpy(out + o, "***", 3);
            o += 3;
        }
        else {
            memcpy(out + o, params + j, i - j);
            o += i - j;
        }
    }
    out[o] = '\0';
    return out;
}
