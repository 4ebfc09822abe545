/* Console screen 8: the ledger, append-only (no action edits or deletes a row), in the
 * order rows were written; Enter opens a row with its holder. */
#include "tui.h"

const tui_screen_t tui_ledger = {"ledger", "ledger", "id",
                                 "created,holder,kind,delta,balance_after,actor,reason", NULL,
                                 NULL, NULL};
