/* Console screen 3: orders, filtered by status and unpaid; the detail page shows names,
 * authorizations with challenge results, price, invoice and certificate. */
#include "tui.h"

static const char *const statuses[] = {NULL, "pending", "ready", "processing", "valid",
                                       "invalid", NULL};

const tui_screen_t tui_orders = {"orders", "order", "id",
                                 "id,status,names,price,charged,invoice,created", statuses, NULL,
                                 NULL};
