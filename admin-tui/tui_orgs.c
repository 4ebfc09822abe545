/* Console screen 9: organizations (OV), one per holder, with their vetting state; Enter
 * shows one with its audit trail; v vets it (evidence reference), r revokes a vetting
 * (reason). Both ask for confirmation; every change is audited like the ledger. */
#include <apr_strings.h>
#include "tui.h"

static int vet(tui_t *t)
{
    const char *id = tui_target(t, "org", "id");
    char evidence[256];
    adm_result_t r;

    if (!id || !tui_ask(t, apr_psprintf(t->data, "Vet %s, evidence reference (empty: the "
                                                 "stored one):", id),
                        evidence, sizeof(evidence))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_confirm(t, apr_psprintf(t->data, "Record that %s vetted organization %s now?",
                                     t->adm->actor, id))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_org_vet(t->adm, t->data, id, evidence[0] ? evidence : NULL, 0, 0, NULL, &r);
    return tui_result(t, &r);
}

static int revoke_vetting(tui_t *t)
{
    const char *id = tui_target(t, "org", "id");
    char reason[256];
    adm_result_t r;

    if (!id || !tui_ask(t, apr_psprintf(t->data, "Revoke the vetting of %s, reason (required):",
                                        id),
                        reason, sizeof(reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!reason[0]) {
        tui_say(t, 1, "revoking a vetting needs a reason; nothing changed");
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_confirm(t, apr_psprintf(t->data, "Revoke the vetting of %s? Its holder's OV orders "
                                              "will be refused.",
                                     id))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_org_revoke(t->adm, t->data, id, reason, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    return k == TUI_K_VET ? vet(t) : k == TUI_K_ORG_REVOKE ? revoke_vetting(t) : 0;
}

const tui_screen_t tui_orgs = {"orgs", "org", "id", "id,name,country,status,vetting_end,holder",
                               NULL, NULL, key};
