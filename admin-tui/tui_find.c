/* Console: Find (f, or / on the dashboard): one text across holders, accounts
 * (contacts), orders, invoices, certificates (names, serials in any format), EAB keys and
 * payment references; Enter opens the match's own page. */
#include "tui.h"

const tui_screen_t tui_find = {"find", NULL, "id", "kind,id,summary,holder,created", NULL, NULL,
                               NULL};
