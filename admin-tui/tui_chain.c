/* Console screen: the on-chain transfers the chain watcher saw (all, unmatched, credited,
 * assigned: s cycles); c on an unmatched one credits it to a holder (holder id, reason,
 * confirmation; an audited payment ledger row, as `acme-pay-admin chain assign`). */
#include <string.h>
#include <apr_strings.h>
#include "tui.h"
#include "acp_money.h"

static const char *const statuses[] = {NULL, "unmatched", "credited", "assigned", NULL};

static int assign(tui_t *t)
{
    const char *ref = tui_field(t, "reference"), *st = tui_field(t, "status");
    char holder[128], reason[256];
    adm_result_t r;

    if (!ref || t->detail) {
        return TUI_HANDLED;
    }
    if (!st || strcmp(st, "unmatched") != 0) {
        tui_say(t, 1, "only an unmatched transfer can be assigned");
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_ask(t, apr_psprintf(t->data, "Credit transfer %s to holder (id):", ref), holder,
                 sizeof(holder)) ||
        !holder[0]) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_ask(t, "Reason (required):", reason, sizeof(reason)) || !reason[0]) {
        tui_say(t, 1, "assigning a transfer needs a reason; nothing changed");
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_confirm(t, apr_psprintf(t->data, "Credit %s to holder %s from transfer %s?",
                                     acp_money(t->data,
                                               acp_sa_atoll(tui_field(t, "amount")
                                                                ? tui_field(t, "amount")
                                                                : "0"),
                                               adm_currency(t->adm)),
                                     holder, ref))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_chain_assign(t->adm, t->data, ref, holder, reason, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    return k == TUI_K_ASSIGN ? assign(t) : 0;
}

const tui_screen_t tui_chain = {"chain", NULL, "reference",
                                "reference,block,amount,status,invoice,holder,created", statuses,
                                NULL, key};
