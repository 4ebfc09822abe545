/* Console screen 6: invoices (open, paid, expired, superseded, voided); mark paid by hand
 * with a reference (the webhook's credit path) after a confirmation; void an open one. */
#include <apr_strings.h>
#include "tui.h"

static const char *const statuses[] = {NULL, "open", "paid", "expired", "superseded", "voided",
                                       NULL};

static int pay(tui_t *t)
{
    const char *id = tui_target(t, "invoice", "id");
    char ref[128];
    adm_preview_t pv;
    adm_result_t r;

    if (!id) {
        return TUI_HANDLED;
    }
    if (adm_invoice_preview(t->adm, t->data, id, NULL, &pv, &r) != ADM_OK) {
        return tui_result(t, &r);
    }
    if (!tui_ask(t, apr_psprintf(t->data, "Payment reference for %s:", id), ref, sizeof(ref)) ||
        !tui_confirm(t, apr_pstrcat(t->data, pv.text, "?", NULL))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_invoice_pay(t->adm, t->data, id, ref, NULL, &r);
    return tui_result(t, &r);
}

static int void_invoice(tui_t *t)
{
    const char *id = tui_target(t, "invoice", "id");
    char reason[200];
    adm_result_t r;

    if (!id || !tui_ask(t, apr_psprintf(t->data, "Void invoice %s, reason (required):", id),
                        reason, sizeof(reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!reason[0]) {
        tui_say(t, 1, "invoice void needs a reason; nothing changed");
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_confirm(t, apr_psprintf(t->data, "Void invoice %s (nothing will be due)?", id))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_invoice_void(t->adm, t->data, id, reason, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    return k == TUI_K_PAY ? pay(t) : k == TUI_K_VOID ? void_invoice(t) : 0;
}

const tui_screen_t tui_invoices = {"invoices", "invoice", "id",
                                   "id,status,holder,amount,paid,expires", statuses, NULL, key};
