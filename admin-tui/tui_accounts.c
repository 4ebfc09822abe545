/* Console screen 3: ACME accounts (search by id or contact e-mail); the detail page
 * shows the holder with its balance and the account's orders. */
#include "tui.h"

const tui_screen_t tui_accounts = {"accounts", "account", "id",
                                   "id,status,contacts,holder,orders,created", NULL, NULL, NULL};
