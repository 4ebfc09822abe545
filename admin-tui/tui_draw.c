/* acme-pay-admin console: drawing and prompts. Everything on screen is drawn here: the
 * title and tabs, the list or page, the message line and the function-key bar, and the
 * questions asked on the message line (tui_ask, tui_confirm). */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <apr_strings.h>
#include "tui.h"

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
    const tui_screen_t *s = tui_screens[t->screen];
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
    const tui_screen_t *s = tui_screens[t->screen];
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

void tui_draw(tui_t *t)
{
    if (!t->data) {
        return;
    }
    int h = LINES - 5;

    erase();
    draw_head(t);
    rule(2, filter_label(t));
    if (t->help || t->detail || !tui_screens[t->screen]->list) {
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

void tui_flash(tui_t *t, const char *msg)
{
    tui_say(t, 0, "%s", msg);
    tui_draw(t);
}
