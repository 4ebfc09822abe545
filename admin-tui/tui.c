/* acme-pay-admin console: the loop, the key table, drawing, prompts. Screens (tui_*.c)
 * only say what to list and how keys react; everything on screen is drawn here. */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <apr_strings.h>
#include "tui.h"

#define TUI_SCREEN_TITLE(id, title) title,
const char *const tui_screen_titles[] = {TUI_SCREENS(TUI_SCREEN_TITLE) NULL};

#define TUI_KEY_DEF(id, code, alt, keys, bar, screens, help) \
    {TUI_K_##id, code, alt, keys, bar, screens, help},
const tui_keydef_t tui_keys[] = {TUI_KEY_TABLE(TUI_KEY_DEF){TUI_K_NONE, 0, 0, NULL, NULL, 0, NULL}};

static const tui_screen_t *const screens[TUI_S_COUNT] = {
    &tui_dashboard, &tui_holders, &tui_accounts, &tui_orders, &tui_certs,
    &tui_invoices,  &tui_eab,     &tui_ledger,   &tui_orgs,     &tui_chain,   &tui_find};

#define PAGE_ROWS 200 /* rows read at a time; more load as the selection reaches the end */

static void draw(tui_t *t);

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

void tui_flash(tui_t *t, const char *msg)
{
    tui_say(t, 0, "%s", msg);
    draw(t);
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

/* UTF-8 text clipped to width columns at (y, x); pads with spaces when pad. */
static void put(int y, int x, const char *s, int width, int pad)
{
    wchar_t wbuf[512];
    mbstate_t st;
    const char *src = s;
    size_t n;

    if (width <= 0) {
        return;
    }
    memset(&st, 0, sizeof(st));
    n = mbsrtowcs(wbuf, &src, sizeof(wbuf) / sizeof(wbuf[0]) - 1, &st);
    if (n == (size_t)-1) {
        mvaddnstr(y, x, s, width);
        n = strlen(s) < (size_t)width ? strlen(s) : (size_t)width;
    }
    else {
        if (n > (size_t)width) {
            n = (size_t)width;
        }
        mvaddnwstr(y, x, wbuf, (int)n);
    }
    if (pad) {
        for (; (int)n < width; n++) {
            addch(' ');
        }
    }
}

static void rule(int y, const char *label)
{
    attrset(tui_attr(TUI_C_RULE));
    mvhline_set(y, 0, WACS_HLINE, COLS);
    attrset(A_BOLD);
    if (label) {
        put(y, 2, label, COLS - 4, 0);
    }
    attrset(A_NORMAL);
}

/* A prompt on the message line; 1 with the text in buf, 0 when cancelled (Esc). */
int tui_ask(tui_t *t, const char *question, char *buf, size_t size)
{
    size_t len = 0;
    wint_t wc;
    int rc;

    buf[0] = '\0';
    curs_set(1);
    for (;;) {
        move(LINES - 2, 0);
        clrtoeol();
        attrset(A_BOLD);
        put(LINES - 2, 0, question, COLS - 1, 0);
        attrset(A_NORMAL);
        addstr(" ");
        addnstr(buf, COLS - getcurx(stdscr) - 1);
        refresh();
        rc = get_wch(&wc);
        if (rc == ERR) {
            continue;
        }
        if (rc == KEY_CODE_YES) {
            if (wc == KEY_BACKSPACE && len > 0) {
                do {
                    len--;
                } while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80);
                buf[len] = '\0';
            }
            else if (wc == KEY_ENTER) {
                break;
            }
            else if (wc == KEY_RESIZE) {
                continue;
            }
            continue;
        }
        if (wc == 27) {
            curs_set(0);
            buf[0] = '\0';
            tui_say(t, 1, "cancelled");
            return 0;
        }
        if (wc == '\n' || wc == '\r') {
            break;
        }
        if (wc == 127 || wc == 8) {
            while (len > 0) {
                len--;
                if (((unsigned char)buf[len] & 0xC0) != 0x80) {
                    break;
                }
            }
            buf[len] = '\0';
        }
        else if (wc >= 32) {
            char mb[8];
            mbstate_t st;
            size_t n;
            memset(&st, 0, sizeof(st));
            n = wcrtomb(mb, (wchar_t)wc, &st);
            if (n != (size_t)-1 && len + n < size) {
                memcpy(buf + len, mb, n);
                len += n;
                buf[len] = '\0';
            }
        }
    }
    curs_set(0);
    return 1;
}

int tui_confirm(tui_t *t, const char *question)
{
    char yn[8];
    if (!tui_ask(t, apr_psprintf(t->data, "%s [y/N]", question), yn, sizeof(yn))) {
        return 0;
    }
    if (yn[0] == 'y' || yn[0] == 'Y') {
        return 1;
    }
    tui_say(t, 1, "not confirmed; nothing changed");
    return 0;
}

/* ---- data ------------------------------------------------------------------------------ */

static void fill_filter(tui_t *t, adm_filter_t *f)
{
    const tui_screen_t *s = screens[t->screen];

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
    const tui_screen_t *s = screens[t->screen];
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
    const tui_screen_t *s = screens[t->screen];
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

/* ---- drawing ------------------------------------------------------------------------- */

static void draw_head(tui_t *t)
{
    int i, x = 0;
    char right[160];

    attrset(tui_attr(TUI_C_TITLE));
    mvhline(0, 0, ' ', COLS);
    snprintf(right, sizeof(right), "%s · actor %s", t->adm->driver, t->adm->actor);
    put(0, 1, "acme-pay-admin", COLS - 2, 0);
    if ((int)strlen(right) + 18 < COLS) {
        put(0, COLS - (int)strlen(right) - 1, right, (int)strlen(right), 0);
    }
    attrset(A_NORMAL);
    move(1, 0);
    clrtoeol();
    for (i = 0; i < TUI_S_COUNT && x < COLS; i++) {
        char tab[32];
        if (i == TUI_S_FIND) {
            if (t->screen != TUI_S_FIND) {
                continue;
            }
            snprintf(tab, sizeof(tab), " f %s ", tui_screen_titles[i]);
        }
        else {
            snprintf(tab, sizeof(tab), " %d %s ", i + 1, tui_screen_titles[i]);
        }
        attrset(tui_attr(i == t->screen ? TUI_C_TAB_ON : TUI_C_TAB));
        put(1, x, tab, COLS - x, 0);
        x += (int)strlen(tab);
        attrset(A_NORMAL);
    }
}

static const char *filter_label(tui_t *t)
{
    const tui_screen_t *s = screens[t->screen];
    const char *l = tui_screen_titles[t->screen];
    if (t->help) {
        return " Help ";
    }
    if (t->detail) {
        return apr_psprintf(t->data, " %s › %s%s%s ", l,
                            t->detail_kind ? t->detail_kind : "", t->detail_kind ? " " : "",
                            t->detail_id ? t->detail_id : "");
    }
    if (t->screen == TUI_S_FIND) {
        l = apr_psprintf(t->data, "Find \"%s\"", t->findq);
        if (t->rows) {
            l = apr_pstrcat(t->data, l, " · ",
                            adm_count(t->data, (long long)json_object_array_length(t->rows),
                                      "match", "matches"),
                            t->findexact ? (t->findall ? " (exact first, then any part)"
                                                       : " (exact; a: any part)")
                            : t->findwords ? " (whole words; a: any part)"
                                           : "",
                            t->findpartial ? apr_psprintf(t->data,
                                                          " · newest only: %s (e: every match)",
                                                          t->findpartial)
                            : t->complete ? " · every match"
                                              : "",
                            NULL);
        }
        return apr_pstrcat(t->data, " ", l, " ", NULL);
    }
    if (s->statuses) {
        const char *st = s->statuses[t->status[t->screen]];
        l = apr_psprintf(t->data, "%s · status %s", l, st ? st : "all");
    }
    if (t->screen == TUI_S_ORDERS && t->unpaid) {
        l = apr_pstrcat(t->data, l, " · unpaid", NULL);
    }
    if (t->asc[t->screen]) {
        l = apr_pstrcat(t->data, l, " · oldest first", NULL);
    }
    if (t->q[t->screen][0]) {
        l = apr_psprintf(t->data, "%s · search \"%s\"%s", l, t->q[t->screen],
                         t->listpartial ? ", newest only (e: every match)"
                         : t->complete ? " (every match)"
                                           : "");
    }
    if (t->rows) {
        l = apr_pstrcat(t->data, l, " · ",
                        adm_count(t->data, (long long)json_object_array_length(t->rows), "row",
                                  "rows"),
                        t->next ? ", more below" : "", NULL);
    }
    return apr_pstrcat(t->data, " ", l, " ", NULL);
}

static void draw_page(tui_t *t, int y0, int h)
{
    int i;
    for (i = 0; i < h; i++) {
        int n = t->ptop + i;
        move(y0 + i, 0);
        clrtoeol();
        if (t->lines && n < t->lines->nelts) {
            const char *s = APR_ARRAY_IDX(t->lines, n, const char *);
            attrset(*s && *s != ' ' && s[strlen(s) - 1] == ':' ? (int)A_BOLD : (int)A_NORMAL);
            put(y0 + i, 1, s, COLS - 2, 0);
            attrset(A_NORMAL);
        }
    }
}

static void draw_list(tui_t *t, int y0, int h)
{
    const tui_screen_t *s = screens[t->screen];
    char *cols = apr_pstrdup(t->data, s->cols), *state = NULL, *tok;
    const char *names[16];
    int w[16], nc = 0, c, r, n = t->rows ? (int)json_object_array_length(t->rows) : 0, x;

    for (tok = apr_strtok(cols, ",", &state); tok && nc < 16; tok = apr_strtok(NULL, ",", &state)) {
        names[nc] = tok;
        w[nc] = (int)strlen(tok);
        for (r = 0; r < n; r++) {
            json_object *v = NULL;
            int len;
            json_object_object_get_ex(json_object_array_get_idx(t->rows, (size_t)r), tok, &v);
            len = (int)mbstowcs(NULL, adm_fmt(t->adm, t->data, tok, v), 0);
            if (len > w[nc]) {
                w[nc] = len;
            }
        }
        if (w[nc] > 32) {
            w[nc] = 32;
        }
        nc++;
    }
    if (t->sel < t->top) {
        t->top = t->sel;
    }
    if (t->sel >= t->top + h - 1) {
        t->top = t->sel - h + 2;
    }
    attrset(tui_attr(TUI_C_HEAD));
    mvhline(y0, 0, ' ', COLS);
    for (c = 0, x = 1; c < nc && x < COLS; x += w[c] + 2, c++) {
        put(y0, x, names[c], COLS - x, 0);
    }
    attrset(A_NORMAL);
    for (r = 0; r < h - 1; r++) {
        int i = t->top + r;
        move(y0 + 1 + r, 0);
        clrtoeol();
        if (i >= n) {
            if (n == 0 && r == 0) {
                put(y0 + 1, 1, "(nothing here; / searches, F5 reloads)", COLS - 2, 0);
            }
            continue;
        }
        attrset(i == t->sel ? tui_attr(TUI_C_SEL) : (int)A_NORMAL);
        if (i == t->sel) {
            mvhline(y0 + 1 + r, 0, ' ', COLS);
        }
        for (c = 0, x = 1; c < nc && x < COLS; x += w[c] + 2, c++) {
            json_object *v = NULL;
            json_object_object_get_ex(json_object_array_get_idx(t->rows, (size_t)i), names[c], &v);
            put(y0 + 1 + r, x, adm_fmt(t->adm, t->data, names[c], v),
                w[c] < COLS - x ? w[c] : COLS - x, 0);
        }
        attrset(A_NORMAL);
    }
}

static void draw_bar(tui_t *t)
{
    const tui_keydef_t *k;
    int x = 0;

    move(LINES - 1, 0);
    clrtoeol();
    for (k = tui_keys; k->id != TUI_K_NONE && x < COLS; k++) {
        const char *key;
        if (!k->bar || !(k->screens & (1u << t->screen))) {
            continue;
        }
        if ((k->id == TUI_K_OPEN && t->detail) || (k->id == TUI_K_BACK && !t->detail && !t->help)) {
            continue;
        }
        key = k->keys;
        if (!strncmp(key, "F", 1) && strchr(key, ' ')) {
            key = apr_pstrndup(t->data, key, (apr_size_t)(strchr(key, ' ') - key));
        }
        attrset(tui_attr(TUI_C_BARKEY));
        put(LINES - 1, x, key, COLS - x, 0);
        x += (int)strlen(key);
        attrset(tui_attr(TUI_C_BAR));
        put(LINES - 1, x, k->bar, COLS - x, 0);
        x += (int)strlen(k->bar);
        attrset(A_NORMAL);
        if (x < COLS) {
            addch(' ');
            x++;
        }
    }
}

static void draw(tui_t *t)
{
    if (!t->data) {
        return;
    }
    int h = LINES - 5;

    erase();
    draw_head(t);
    rule(2, filter_label(t));
    if (t->help || t->detail || !screens[t->screen]->list) {
        draw_page(t, 3, h);
    }
    else {
        draw_list(t, 3, h);
    }
    move(LINES - 2, 0);
    clrtoeol();
    if (t->msg[0]) {
        attrset(tui_attr(t->msg_err ? TUI_C_ERR : TUI_C_OK));
        put(LINES - 2, 0, t->msg, COLS, 0);
        attrset(A_NORMAL);
    }
    draw_bar(t);
    refresh();
}

/* ---- keys ----------------------------------------------------------------------------- */

static int move_sel(tui_t *t, tui_key_t k)
{
    int page = LINES - 6 > 1 ? LINES - 6 : 1;
    int paged = t->help || t->detail || !screens[t->screen]->list;
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
    const tui_screen_t *s = screens[t->screen];
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
        draw(&t);
        ch = getch();
        if (ch == KEY_RESIZE || ch == ERR) {
            continue; /* ncurses has the new size (SIGWINCH); draw again */
        }
        k = tui_key_lookup(ch, t.screen);
        t.msg[0] = '\0';
        if (screens[t.screen]->key && !t.help && k != TUI_K_NONE) {
            r = screens[t.screen]->key(&t, k);
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
