/* Storage authority: the only unit that talks SQL (apr_dbd prepared statements). */
#ifndef ACP_SA_H
#define ACP_SA_H

#include <apr_dbd.h>
#include "acp_core.h"

typedef struct acp_migration_t {
    const char *driver;    /* "sqlite3" | "pgsql" */
    int version;
    const char *name;
    const char *sql;
} acp_migration_t;

extern const acp_migration_t acp_migrations[];

#endif
