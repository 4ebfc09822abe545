/* Console screen 4: orders, filtered by status and unpaid; the detail page shows names,
 * authorizations with challenge results, price, the holder and its balance, invoices,
 * ledger rows and the certificate. An order waiting for its invoice says so. */
#include "tui.h"

static const char *const statuses[] = {NULL, "pending", "ready", "processing", "valid",
                                       "invalid", NULL};

const tui_screen_t tui_orders = {"orders", "order", "id",
                                 "id,status,payment,names,price,charged,invoice,created",
                                 statuses, NULL, NULL};
