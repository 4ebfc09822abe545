/* Console screen 7: the ledger, append-only (no action edits or deletes a row). */
#include "tui.h"

const tui_screen_t tui_ledger = {"ledger", NULL, NULL,
                                 "created,holder,kind,delta,balance_after,actor,reason", NULL,
                                 NULL, NULL};
