/* Console screen 2: billing holders (search, balance, accounts, EAB key, ledger).
 * Credit and debit (c, d) are common keys: they work wherever a holder is at hand. */
#include "tui.h"

const tui_screen_t tui_holders = {"holders", "holder", "id",
                                  "id,label,kind,balance,accounts,eab_kid", NULL, NULL, NULL};
