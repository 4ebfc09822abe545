/* The schema migration runner: each conf/sql/<driver>/NNN_*.sql not yet recorded in
 * schema_version runs, in number order, in one transaction (PostgreSQL: under an advisory
 * lock, so two nodes starting at once do not both migrate). A script is split into
 * statements here: comment lines dropped, ';' ends a statement except inside a SQLite
 * trigger's BEGIN … END or a PostgreSQL $$-quoted function body. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_sa.h"

static int raw_int(acp_db_t *db, apr_pool_t *p, const char *sql, int *val)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int found = 0;

    if (apr_dbd_select(db->driver, p, db->handle, &res, sql, 0) != 0) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(db->driver, row, 0);
        if (!found) {
            *val = v ? (int)strtol(v, NULL, 10) : 0;
            found = 1;
        }
    }
    return found ? 0 : -1;
}

/* The first ';' at or after s that is outside a $$-quoted body (PostgreSQL's function
 * bodies hold statements of their own); NULL: none. */
static char *semi_outside_dollars(char *s)
{
    int quoted = 0;

    for (; *s; s++) {
        if (s[0] == '$' && s[1] == '$') {
            quoted = !quoted;
            s++;
        }
        else if (*s == ';' && !quoted) {
            return s;
        }
    }
    return NULL;
}

/* Whether the word w stands at c (any case), inside the text s..end: not part of a
 * longer name on either side. */
static int word_at(const char *s, const char *c, const char *end, const char *w)
{
    size_t n = strlen(w);

    return c >= s && c + n <= end && strncasecmp(c, w, n) == 0 &&
           (c == s || (!apr_isalnum(c[-1]) && c[-1] != '_')) &&
           (c + n == end || (!apr_isalnum(c[n]) && c[n] != '_'));
}

/* Whether the word w stands anywhere between s and end. */
static int has_word_before(const char *s, const char *end, const char *w)
{
    const char *c;

    for (c = s; c < end; c++) {
        if (word_at(s, c, end, w)) {
            return 1;
        }
    }
    return 0;
}

/* The end of the statement that starts at s: its ';' -- for a CREATE TRIGGER, the ';'
 * after its END (a SQLite trigger's body holds statements of its own); a ';' inside $$
 * does not count. NULL: no end. */
static char *stmt_end(char *s)
{
    char *semi = semi_outside_dollars(s);
    int trigger;

    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
        s++;
    }
    /* a SQLite trigger: a BEGIN … END body before the first ';' (PostgreSQL's CREATE
     * TRIGGER … EXECUTE FUNCTION f() ends at its own ';') */
    trigger = strncasecmp(s, "CREATE TRIGGER", 14) == 0 && semi &&
              has_word_before(s, semi, "BEGIN");
    while (trigger && semi) {
        char *e = semi;
        while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (word_at(s, e - 3, e, "END")) {
            break;
        }
        semi = semi_outside_dollars(semi + 1);
    }
    return semi;
}

/* Run a migration script: comment lines dropped, statements split at ';'
 * (migration files keep semicolons for statement ends only; a trigger ends at END;). */
static apr_status_t run_script(acp_db_t *db, apr_pool_t *p, const char *sql,
                               const char **errmsg)
{
    char *text = apr_pcalloc(p, strlen(sql) + 1), *o = text, *stmt, *end;
    const char *line = sql;

    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (strncmp(line, "--", 2) != 0) {
            memcpy(o, line, len);
            o += len;
        }
        line += len;
    }
    for (stmt = text; stmt && *stmt; stmt = end ? end + 1 : NULL) {
        int nrows, rv;
        end = stmt_end(stmt);
        if (end) {
            *end = '\0';
        }
        while (*stmt == '\n' || *stmt == ' ') {
            stmt++;
        }
        if (!*stmt) {
            continue;
        }
        rv = apr_dbd_query(db->driver, db->handle, &nrows, stmt);
        if (rv != 0) {
            *errmsg = apr_psprintf(p, "%s: %s", stmt, acp_sa_error(db, p, rv));
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acp_sa_migrate(apr_pool_t *p, acp_db_t *db, int *version, const char **errmsg)
{
    const acp_migration_t *m;
    const char *drv = db->pgsql ? "pgsql" : "sqlite3";
    int current = 0;
    apr_status_t rv;

    if (!db->pgsql) {
        /* WAL lets readers run beside the writer; it cannot be set inside a transaction */
        acp_sa_raw_exec(db, "PRAGMA journal_mode = WAL");
    }
    if (acp_sa_begin(db) != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "BEGIN: %s", acp_sa_error(db, p, 1));
        return APR_EGENERAL;
    }
    if (db->pgsql) {
        acp_sa_raw_exec(db, "SELECT pg_advisory_xact_lock(4242001)");
    }
    rv = acp_sa_raw_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rv != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "schema_version: %s", acp_sa_error(db, p, 1));
        goto fail;
    }
    if (raw_int(db, p, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &current) != 0) {
        current = 0;
    }
    for (m = acp_migrations; m->driver; m++) {
        int done = 0;
        if (strcmp(m->driver, drv) != 0) {
            continue;
        }
        /* every migration not yet recorded, in number order: numbers are handed out in
         * parallel, so one may land after a higher one was applied (004 after 010) */
        if (m->version <= current &&
            (raw_int(db, p,
                     apr_psprintf(p, "SELECT COUNT(*) FROM schema_version WHERE version = %d",
                                  m->version),
                     &done) != 0 ||
             done > 0)) {
            continue;
        }
        rv = run_script(db, p, m->sql, errmsg);
        if (rv != APR_SUCCESS) {
            *errmsg = apr_psprintf(p, "migration %s: %s", m->name, *errmsg);
            goto fail;
        }
        if (acp_sa_raw_exec(db, apr_psprintf(p, "INSERT INTO schema_version (version) VALUES (%d)",
                                      m->version)) != APR_SUCCESS) {
            *errmsg = apr_psprintf(p, "recording migration %s failed", m->name);
            goto fail;
        }
        if (m->version > current) {
            current = m->version;
        }
    }
    if (acp_sa_commit(db) != APR_SUCCESS) {
        *errmsg = apr_psprintf(p, "COMMIT: %s", acp_sa_error(db, p, 1));
        return APR_EGENERAL;
    }
    if (version) {
        *version = current;
    }
    return APR_SUCCESS;
fail:
    acp_sa_rollback(db);
    return APR_EGENERAL;
}
