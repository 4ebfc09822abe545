/* Console screen 5: invoices (open, paid, expired); mark paid by hand with a reference,
 * through the same credit path as the payment webhook. */
#include <apr_strings.h>
#include "tui.h"

static const char *const statuses[] = {NULL, "open", "paid", "expired", NULL};

static int pay(tui_t *t)
{
    const char *id = t->detail ? t->detail_id : tui_field(t, "id");
    char ref[128];
    adm_result_t r;

    if (!id || !tui_ask(t, apr_psprintf(t->data, "Payment reference for %s:", id), ref,
                        sizeof(ref))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_invoice_pay(t->adm, t->data, id, ref, NULL, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    return k == TUI_K_PAY ? pay(t) : 0;
}

const tui_screen_t tui_invoices = {"invoices", "invoice", "id",
                                   "id,status,holder,amount,paid,expires", statuses, NULL, key};
