/* Console screen 6: EAB keys. Create shows the key id and HMAC key once (a page that is
 * not reloaded, gone when left); disable asks for confirmation. */
#include <apr_strings.h>
#include "tui.h"

static int create_key(tui_t *t)
{
    char label[128];
    adm_result_t r;
    apr_pool_t *p = t->adm->pool;
    const char *text;

    if (!tui_ask(t, "Label for the new EAB key:", label, sizeof(label))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (adm_op_eab_create(t->adm, p, label, &r) != ADM_OK) {
        return tui_result(t, &r);
    }
    text = apr_psprintf(p,
                        "New EAB key for \"%s\" (shown once: copy it now)\n\n"
                        "  EAB key id:  %s\n"
                        "  HMAC key:    %s\n"
                        "  holder:      %s\n\n"
                        "certbot --eab-kid %s --eab-hmac-key %s ...\n\n"
                        "Esc returns to the list; the HMAC key cannot be shown again.\n",
                        label, json_object_get_string(json_object_object_get(r.out, "kid")),
                        json_object_get_string(json_object_object_get(r.out, "hmac_key")),
                        json_object_get_string(json_object_object_get(r.out, "holder")),
                        json_object_get_string(json_object_object_get(r.out, "kid")),
                        json_object_get_string(json_object_object_get(r.out, "hmac_key")));
    apr_pool_clear(t->data);
    t->rows = NULL;
    tui_set_page(t, text);
    t->detail = 1;
    t->sticky = 1;
    t->detail_id = "new key";
    tui_say(t, 0, "EAB key created");
    return TUI_HANDLED | TUI_REDRAW;
}

static int disable(tui_t *t)
{
    const char *kid = tui_field(t, "kid");
    adm_result_t r;

    if (!kid || t->detail) {
        return TUI_HANDLED;
    }
    if (!tui_confirm(t, apr_psprintf(t->data, "Disable EAB key %s? Its accounts can no longer "
                                              "register new devices.",
                                     kid))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_eab_disable(t->adm, t->data, kid, &r);
    return tui_result(t, &r);
}

static int key(tui_t *t, tui_key_t k)
{
    switch (k) {
    case TUI_K_NEW: return create_key(t);
    case TUI_K_DISABLE: return disable(t);
    default: return 0;
    }
}

const tui_screen_t tui_eab = {"eab", "holder", "holder",
                              "kid,label,status,holder,balance,accounts", NULL, NULL, key};
