/* Prints every catalogue statement with the number of arguments it takes on SQLite and on
 * PostgreSQL (-1: not on that driver), one per line: "label sqlite pgsql". Read by
 * build/check-stmt-args.py (make check-style), which compares it with every call site. */
#include <stdio.h>
#include <apr_general.h>
#include "acp_sa.h"

static void list(const acp_sa_stmt_t *s)
{
    for (; s->label; s++) {
        printf("%s %d %d\n", s->label, acp_sa_stmt_nargs(0, s->label),
               acp_sa_stmt_nargs(1, s->label));
    }
}

int main(void)
{
    apr_initialize();
    list(acp_sa_catalogue);
    list(acp_sa_pg_catalogue);
    list(acp_sa_admin_catalogue);
    apr_terminate();
    return 0;
}
