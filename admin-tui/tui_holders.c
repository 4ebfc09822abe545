/* Console screen 2: billing holders (search, balance, accounts, EAB key, ledger);
 * credit and debit with a reason, recorded with the actor. */
#include <apr_strings.h>
#include "tui.h"

static int money(tui_t *t, int credit)
{
    const char *holder = t->detail ? t->detail_id : tui_field(t, "id");
    char amount[32], reason[200];
    adm_result_t r;

    if (!holder) {
        return TUI_HANDLED;
    }
    if (!tui_ask(t, apr_psprintf(t->data, "%s %s, minor units:", credit ? "Credit" : "Debit",
                                 holder),
                 amount, sizeof(amount)) ||
        !tui_ask(t, "Reason (required):", reason, sizeof(reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_money(t->adm, t->data, credit, holder, amount, reason, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    switch (k) {
    case TUI_K_CREDIT: return money(t, 1);
    case TUI_K_DEBIT: return money(t, 0);
    default: return 0;
    }
}

const tui_screen_t tui_holders = {"holders", "holder", "id",
                                  "id,label,kind,balance,accounts,eab_kid", NULL, NULL, key};
