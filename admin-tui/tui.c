/* acme-pay-admin console: the loop, the key table, the data a screen shows, the keys.
 * Screens (tui_*.c) only say what to list and how keys react; tui_draw.c draws. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "tui.h"

#define TUI_SCREEN_TITLE(id, title) title,
const char *const tui_screen_titles[] = {TUI_SCREENS(TUI_SCREEN_TITLE) NULL};

#define TUI_KEY_DEF(id, code, alt, keys, bar, screens, help) \
    {TUI_K_##id, code, alt, keys, bar, screens, help},
const tui_keydef_t tui_keys[] = {TUI_KEY_TABLE(TUI_KEY_DEF){TUI_K_NONE, 0, 0, NULL, NULL, 0, NULL}};

const tui_screen_t *const tui_screens[TUI_S_COUNT] = {
    &tui_dashboard, &tui_holders, &tui_accounts, &tui_orders, &tui_certs,
    &tui_invoices,  &tui_eab,     &tui_ledger,   &tui_orgs,     &tui_chain,   &tui_find};

#define PAGE_ROWS 200 /* rows read at a time; more load as the selection reaches the end */

tui_key_t tui_key_lookup(int ch, int screen)
{
    const tui_keydef_t *k;
    for (k = tui_keys; k->id != TUI_K_NONE; k++) {
        if ((k->code == ch || (k->alt && k->alt == ch)) && (k->screens & (1u << screen))) {
            return k->id;
        }
    }
    if (ch == '\r') {
        return tui_key_lookup('\n', screen);
    }
    if (ch == 127 || ch == 8) {
        return tui_key_lookup(KEY_BACKSPACE, screen);
    }
    return TUI_K_NONE;
}

/* ---- services for handlers ------------------------------------------------------------ */

void tui_say(tui_t *t, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
    va_end(ap);
    t->msg_err = err;
}

int tui_result(tui_t *t, const adm_result_t *r)
{
    tui_say(t, r->code != ADM_OK, "%s", r->msg ? r->msg : "done");
    return TUI_HANDLED | TUI_REDRAW | (r->code == ADM_OK ? TUI_RELOAD : 0);
}

static json_object *selected(tui_t *t)
{
    if (!t->rows || t->sel < 0 || (size_t)t->sel >= json_object_array_length(t->rows)) {
        return NULL;
    }
    return json_object_array_get_idx(t->rows, (size_t)t->sel);
}

const char *tui_field(tui_t *t, const char *key)
{
    json_object *row = selected(t), *v = NULL;
    if (!row || !json_object_object_get_ex(row, key, &v) || !v) {
        return NULL;
    }
    return json_object_get_string(v);
}

const char *tui_target(tui_t *t, const char *kind, const char *key)
{
    if (t->detail) {
        return t->detail_kind && strcmp(t->detail_kind, kind) ? NULL : t->detail_id;
    }
    return tui_field(t, key);
}

const char *tui_holder_of(tui_t *t)
{
    if (t->detail) {
        return t->detail_holder;
    }
    if (t->screen == TUI_S_HOLDERS) {
        return tui_field(t, "id");
    }
    return tui_field(t, "holder");
}

void tui_set_page(tui_t *t, const char *text)
{
    char *s = apr_pstrdup(t->data, text), *nl;
    t->lines = apr_array_make(t->data, 64, sizeof(const char *));
    while (*s) {
        nl = strchr(s, '\n');
        if (nl) {
            *nl = '\0';
        }
        APR_ARRAY_PUSH(t->lines, const char *) = s;
        if (!nl) {
            break;
        }
        s = nl + 1;
    }
    t->ptop = 0;
}

/* ---- data ------------------------------------------------------------------------------ */

static void fill_filter(tui_t *t, adm_filter_t *f)
{
    const tui_screen_t *s = tui_screens[t->screen];

    memset(f, 0, sizeof(*f));
    f->q = t->q[t->screen][0] ? t->q[t->screen] : NULL;
    f->status = s->statuses ? s->statuses[t->status[t->screen]] : NULL;
    f->unpaid = t->screen == TUI_S_ORDERS && t->unpaid;
    f->limit = PAGE_ROWS;
    f->asc = t->asc[t->screen];
    f->complete = t->complete;
}

static void load(tui_t *t)
{
    const tui_screen_t *s = tui_screens[t->screen];
    const char *err = NULL;
    adm_filter_t f;
    int rc = ADM_OK;

    if (t->sticky) {
        return;
    }
    apr_pool_clear(t->data);
    t->rows = NULL;
    t->lines = NULL;
    t->next = NULL;
    t->detail_holder = NULL;
    if (t->help) {
        const tui_keydef_t *k;
        char *text = apr_pstrdup(t->data, "Keys (from the key table; * = this screen only)\n\n");
        for (k = tui_keys; k->id != TUI_K_NONE; k++) {
            text = apr_psprintf(t->data, "%s  %-12s %s%s\n", text, k->keys,
                                k->screens == TUI_ALL || k->screens == TUI_LISTS ? "" : "* ",
                                k->help);
        }
        text = apr_pstrcat(t->data, text,
                           "\nMoney moves ask for a reason and record the actor in the ledger.\n"
                           "Esc closes this help.\n",
                           NULL);
        tui_set_page(t, text);
        return;
    }
    if (s->load && !t->detail) {
        rc = s->load(t, &err);
    }
    else if (t->detail && t->detail_id && (t->detail_kind || s->show)) {
        json_object *obj = NULL, *h = NULL, *hid = NULL;
        rc = adm_show(t->adm, t->data, t->detail_kind ? t->detail_kind : s->show, t->detail_id,
                      &obj, &err);
        if (rc == ADM_OK) {
            json_object_object_del(obj, "pem");
            if (json_object_object_get_ex(obj, "holder", &h) &&
                json_object_object_get_ex(h, "id", &hid)) {
                t->detail_holder = apr_pstrdup(t->data, json_object_get_string(hid));
            }
            tui_set_page(t, adm_page(t->adm, t->data, obj));
        }
    }
    if (t->screen == TUI_S_FIND && !t->detail) {
        json_object *obj = NULL;
        if (t->findq[0]) {
            rc = adm_find(t->adm, t->data, t->findq, 50,
                          (t->findall ? ADM_FIND_ALL : 0) |
                              (t->complete ? ADM_FIND_COMPLETE : 0),
                          &obj, &err);
            t->findpartial = NULL;
            if (rc == ADM_OK) {
                const char *step = json_object_get_string(json_object_object_get(obj, "step"));
                json_object *part = json_object_object_get(obj, "partial");
                size_t j;
                for (j = 0; part && j < json_object_array_length(part); j++) {
                    const char *k = json_object_get_string(json_object_array_get_idx(part, j));
                    t->findpartial = t->findpartial
                                         ? apr_pstrcat(t->data, t->findpartial, ", ", k, NULL)
                                         : apr_pstrdup(t->data, k);
                }
                t->findexact = json_object_get_boolean(json_object_object_get(obj, "exact"));
                t->findwords = step && !strcmp(step, "words");
                t->rows = json_object_get(json_object_object_get(obj, "results"));
                adm_jpool(t->data, t->rows);
            }
        }
    }
    else if (s->list && rc == ADM_OK && t->screen != TUI_S_FIND) {
        fill_filter(t, &f);
        rc = adm_list(t->adm, t->data, s->list, &f, &t->rows, &err);
        t->next = f.next;
        t->listpartial = f.partial;
    }
    if (rc != ADM_OK) {
        tui_say(t, 1, "%s", err ? err : "database error");
    }
    if (t->rows) {
        int n = (int)json_object_array_length(t->rows);
        if (t->sel >= n) {
            t->sel = n - 1;
        }
        if (t->sel < 0) {
            t->sel = 0;
        }
    }
}

/* The next page of the list, appended (the selection moved past what is loaded). */
static void load_more(tui_t *t)
{
    const tui_screen_t *s = tui_screens[t->screen];
    json_object *more = NULL;
    const char *err = NULL;
    adm_filter_t f;
    size_t i;

    if (!t->next || !t->rows || t->detail || t->help || !s->list) {
        return;
    }
    fill_filter(t, &f);
    f.after = t->next;
    if (adm_list(t->adm, t->data, s->list, &f, &more, &err) != ADM_OK) {
        tui_say(t, 1, "%s", err ? err : "database error");
        t->next = NULL;
        return;
    }
    for (i = 0; i < json_object_array_length(more); i++) {
        json_object_array_add(t->rows, json_object_get(json_object_array_get_idx(more, i)));
    }
    t->next = f.next;
}

/* ---- keys ----------------------------------------------------------------------------- */

static int move_sel(tui_t *t, tui_key_t k)
{
    int page = LINES - 6 > 1 ? LINES - 6 : 1;
    int paged = t->help || t->detail || !tui_screens[t->screen]->list;
    int *pos = paged ? &t->ptop : &t->sel;
    int n = paged ? (t->lines ? t->lines->nelts - (LINES - 5) + 1 : 0)
                  : (t->rows ? (int)json_object_array_length(t->rows) : 0);
    if (n < 1) {
        n = 1;
    }
    switch (k) {
    case TUI_K_UP: (*pos)--; break;
    case TUI_K_DOWN: (*pos)++; break;
    case TUI_K_PGUP: *pos -= page; break;
    case TUI_K_PGDN: *pos += page; break;
    case TUI_K_HOME: *pos = 0; break;
    case TUI_K_END: *pos = n - 1; break;
    default: return 0;
    }
    if (!paged && t->next && *pos >= n - 1) {
        /* past what is loaded: read the next pages (End reads them all, bounded) */
        int rounds = k == TUI_K_END ? 10000 : 1, want = *pos;
        while (t->next && rounds-- > 0) {
            load_more(t);
        }
        n = t->rows ? (int)json_object_array_length(t->rows) : 0;
        *pos = k == TUI_K_END ? n - 1 : want;
    }
    if (*pos >= n) {
        *pos = n - 1;
    }
    if (*pos < 0) {
        *pos = 0;
    }
    return TUI_HANDLED | TUI_REDRAW;
}

static int switch_to(tui_t *t, int s)
{
    t->screen = (s + TUI_S_TABS) % TUI_S_TABS;
    t->detail_kind = NULL;
    t->detail = t->help = t->sticky = 0;
    t->sel = t->top = 0;
    t->msg[0] = '\0';
    return TUI_HANDLED | TUI_RELOAD | TUI_REDRAW;
}

static int find(tui_t *t)
{
    char buf[128];

    if (!tui_ask(t, "Find (e-mail, name, serial, invoice, order, holder, reference):", buf,
                 sizeof(buf))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    apr_cpystrn(t->findq, buf, sizeof(t->findq));
    t->screen = TUI_S_FIND;
    t->detail = t->help = t->sticky = 0;
    t->detail_kind = NULL;
    t->sel = t->top = 0;
    return TUI_HANDLED | TUI_RELOAD;
}

/* Credit or debit the holder at hand: the amount is checked as it is typed (asked again
 * until it reads), a reason is required, and the confirmation shows holder, amount and
 * the balance before and after. */
static int money(tui_t *t, int credit)
{
    const char *holder = tui_holder_of(t), *why = NULL;
    char amount[48], reason[200];
    adm_preview_t pv;
    adm_result_t r;
    int tries;

    if (!holder) {
        tui_say(t, 1, "no billing holder here");
        return TUI_HANDLED | TUI_REDRAW;
    }
    for (tries = 0;; tries++) {
        const char *q = why ? apr_psprintf(t->data, "%s. Amount:", why)
                            : apr_psprintf(t->data, "%s %s, amount in %s (10.00, or 1000minor):",
                                           credit ? "Credit" : "Debit", holder,
                                           adm_currency(t->adm));
        if (tries >= 20 || !tui_ask(t, q, amount, sizeof(amount))) {
            return TUI_HANDLED | TUI_REDRAW;
        }
        if (adm_money_preview(t->adm, t->data, credit, holder, amount, &pv, &r) == ADM_OK) {
            break;
        }
        if (r.code != ADM_USAGE || strncmp(r.msg, "amount", 6) != 0) {
            if (!strstr(r.msg, "has more decimals")) {
                return tui_result(t, &r);
            }
        }
        why = r.msg;
    }
    if (!tui_ask(t, "Reason (required):", reason, sizeof(reason))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!reason[0]) {
        tui_say(t, 1, "a --reason is required for every money move; nothing changed");
        return TUI_HANDLED | TUI_REDRAW;
    }
    if (!tui_confirm(t, apr_pstrcat(t->data, pv.text, "?", NULL))) {
        return TUI_HANDLED | TUI_REDRAW;
    }
    adm_op_money(t->adm, t->data, credit, holder, amount, reason, &r);
    return tui_result(t, &r);
}

static int common_key(tui_t *t, int ch, tui_key_t k)
{
    const tui_screen_t *s = tui_screens[t->screen];
    char buf[128];

    if (ch >= '1' && ch < '1' + TUI_S_TABS) {
        return switch_to(t, ch - '1');
    }
    switch (k) {
    case TUI_K_QUIT: return TUI_QUIT;
    case TUI_K_HELP: t->help = 1; return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_NEXT: return switch_to(t, t->screen + 1);
    case TUI_K_PREV: return switch_to(t, t->screen - 1);
    case TUI_K_REFRESH: t->sticky = 0; t->msg[0] = '\0'; return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_BACK:
        if (t->help) {
            t->help = 0;
        }
        else if (t->detail) {
            t->detail = t->sticky = 0;
            t->detail_kind = NULL;
        }
        else if (t->q[t->screen][0]) {
            t->q[t->screen][0] = '\0';
        }
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_FIND: return find(t);
    case TUI_K_CREDIT: return money(t, 1);
    case TUI_K_DEBIT: return money(t, 0);
    case TUI_K_HOLDER:
        if (!tui_holder_of(t)) {
            tui_say(t, 1, "no billing holder here");
            return TUI_HANDLED | TUI_REDRAW;
        }
        t->detail_id = apr_pstrdup(t->adm->pool, tui_holder_of(t));
        t->detail_kind = "holder";
        t->detail = 1;
        t->ptop = 0;
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_SEARCH:
        if (t->screen == TUI_S_DASH || t->screen == TUI_S_FIND) {
            return find(t);
        }
        if (tui_ask(t, "Search:", buf, sizeof(buf))) {
            apr_cpystrn(t->q[t->screen], buf, sizeof(t->q[t->screen]));
            t->sel = t->top = 0;
            t->detail = t->sticky = 0;
        }
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_FILTER:
        if (s->statuses) {
            t->status[t->screen]++;
            if (!s->statuses[t->status[t->screen]] && t->status[t->screen] > 0) {
                t->status[t->screen] = 0;
            }
            t->sel = t->top = 0;
        }
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_ANY:
        if (t->screen == TUI_S_FIND) {
            t->findall = !t->findall;
            t->sel = t->top = 0;
        }
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_EVERY: /* Find and the lists' search */
        t->complete = !t->complete;
        t->sel = t->top = 0;
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_UNPAID: t->unpaid = !t->unpaid; t->sel = 0; return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_ORDER:
        t->asc[t->screen] = !t->asc[t->screen];
        t->sel = t->top = 0;
        return TUI_HANDLED | TUI_RELOAD;
    case TUI_K_OPEN:
        if (t->screen == TUI_S_FIND && !t->detail && tui_field(t, "show")) {
            const char *id = tui_field(t, "show_id") ? tui_field(t, "show_id") : tui_field(t, "id");
            t->detail_kind = apr_pstrdup(t->adm->pool, tui_field(t, "show"));
            t->detail_id = apr_pstrdup(t->adm->pool, id);
            t->detail = 1;
            t->ptop = 0;
        }
        else if (s->show && !t->detail && tui_field(t, s->id_key)) {
            t->detail_id = apr_pstrdup(t->adm->pool, tui_field(t, s->id_key));
            t->detail_kind = NULL;
            t->detail = 1;
            t->ptop = 0;
        }
        return TUI_HANDLED | TUI_RELOAD;
    default: return move_sel(t, k);
    }
}

int adm_tui(adm_t *adm)
{
    const char *err = NULL;
    tui_t t;
    int quit = 0, reload = 1;

    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    memset(&t, 0, sizeof(t));
    t.adm = adm;
    apr_pool_create(&t.data, adm->pool);
    tui_crt_init();
    while (!quit) {
        int ch, r = 0;
        tui_key_t k;
        if (reload) {
            load(&t);
            reload = 0;
        }
        tui_draw(&t);
        ch = getch();
        if (ch == KEY_RESIZE || ch == ERR) {
            continue; /* ncurses has the new size (SIGWINCH); draw again */
        }
        k = tui_key_lookup(ch, t.screen);
        t.msg[0] = '\0';
        if (tui_screens[t.screen]->key && !t.help && k != TUI_K_NONE) {
            r = tui_screens[t.screen]->key(&t, k);
        }
        if (!(r & TUI_HANDLED)) {
            r = common_key(&t, ch, k);
        }
        if (r & TUI_RELOAD) {
            reload = 1;
        }
        quit = r & TUI_QUIT;
    }
    tui_crt_done();
    return ADM_OK;
}
