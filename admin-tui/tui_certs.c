/* Console screen 5: certificates (search by name or serial); revoke with a reason code
 * after confirmation; reissue from the stored CSR; renew (move the ARI window). */
#include <apr_strings.h>
#include "tui.h"

static int do_revoke(tui_t *t)
{
    const char *serial = tui_target(t, "cert", "serial");
    char reason[8];
    adm_result_t r;

    if (!serial) {
        return TUI_HANDLED;
    }
    if (!tui_ask(t, "Reason code (0 unspec, 1 keyCompromise, 3 affiliation, 4 superseded, "
                    "5 cessation, 9 privilege):",
                 reason, sizeof(reason)) ||
        !tui_confirm(t, apr_psprintf(t->data, "Revoke %s with reason %s?", serial, reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_revoke(t->adm, t->data, serial, reason, &r);
    return tui_result(t, &r);
}

static int reissue(tui_t *t)
{
    const char *serial = tui_target(t, "cert", "serial");
    char reason[200];
    adm_result_t r;
    int flags;

    if (!serial || !tui_ask(t, "Reissue reason (required):", reason, sizeof(reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    tui_flash(t, "asking the server to sign the reissue...");
    adm_op_reissue(t->adm, t->data, serial, reason, 30, &r);
    flags = tui_result(t, &r);
    if (r.code == ADM_OK) {
        /* show the new certificate */
        t->detail = 1;
        t->detail_kind = NULL;
        t->detail_id = apr_pstrdup(t->adm->pool,
                                   json_object_get_string(json_object_object_get(r.out, "serial")));
        t->sel = 0;
    }
    return flags;
}

/* ARI: the certificate's suggested renewal window becomes now .. now+1h */
static int renew(tui_t *t)
{
    const char *serial = tui_target(t, "cert", "serial");
    char reason[200];
    adm_result_t r;

    if (!serial || !tui_ask(t, "Renewal reason, shown to the client (required):", reason,
                            sizeof(reason)) ||
        !tui_confirm(t, apr_psprintf(t->data, "Ask the client of %s to renew within 1h (free)?",
                                     serial))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_renew(t->adm, t->data, serial, reason, 3600, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    switch (k) {
    case TUI_K_RENEW: return renew(t);
    case TUI_K_REVOKE: return do_revoke(t);
    case TUI_K_REISSUE: return reissue(t);
    default: return 0;
    }
}

const tui_screen_t tui_certs = {"certs", "cert", "serial",
                                "serial,names,issued,not_after,revoked,revoked_reason", NULL,
                                NULL, key};
