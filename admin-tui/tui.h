/* acme-pay-admin console: shared state and the services screen handlers may use.
 * Handlers return reaction flags and never draw; they may ask the user (tui_ask,
 * tui_confirm), which tui_draw.c draws. */
#ifndef TUI_H
#define TUI_H

#include <stdarg.h>
#include "adm.h"
#include "tui_keys.h"

enum {
    TUI_HANDLED = 1, /* the key was consumed */
    TUI_REDRAW = 2,  /* draw again */
    TUI_RELOAD = 4,  /* read the data again */
    TUI_QUIT = 8,
};

typedef struct tui_t {
    adm_t *adm;
    apr_pool_t *data;                 /* cleared on every reload */
    int screen;
    int detail;                       /* 1: a detail page is shown */
    int sticky;                       /* 1: the page is not reloaded (one-time secrets) */
    json_object *rows;                /* the list */
    int sel, top;
    apr_array_header_t *lines;        /* page text (detail, dashboard, help) */
    int ptop;
    const char *detail_id;
    const char *detail_kind;          /* adm_show kind of the page (NULL: the screen's) */
    const char *detail_holder;        /* the holder the page links to (money keys, h) */
    const char *next;                 /* cursor of the list's next page (NULL: all shown) */
    char findq[128];                  /* the Find screen's text */
    int findall;                      /* Find: any part even after exact matches */
    int findexact;                    /* Find: the rows are exact matches */
    int findwords;                    /* Find: the rows hold the text as whole words */
    int complete;                     /* Find, lists: wait for every match (no budget) */
    int listpartial;                  /* the list's search stopped at its budget */
    const char *findpartial;          /* Find: kinds answered from their newest rows */
    char q[TUI_S_COUNT][128];         /* search text per screen */
    int status[TUI_S_COUNT];          /* index into the screen's status cycle, 0 = all */
    int unpaid;
    int asc[TUI_S_COUNT];             /* oldest first, per screen */
    char msg[512];
    int msg_err;
    int help;
} tui_t;

typedef struct tui_screen_t {
    const char *list;                 /* adm_list kind (NULL: the dashboard) */
    const char *show;                 /* adm_show kind for Enter */
    const char *id_key;               /* row key passed to adm_show */
    const char *cols;                 /* the columns shown */
    const char *const *statuses;      /* status filter cycle (NULL entry first = all) */
    int (*load)(tui_t *t, const char **err);        /* page screens (dashboard) */
    int (*key)(tui_t *t, tui_key_t k);              /* screen actions */
} tui_screen_t;

extern const tui_screen_t tui_dashboard, tui_holders, tui_accounts, tui_orders, tui_certs,
    tui_invoices, tui_eab, tui_ledger, tui_orgs, tui_chain, tui_find;

/* services */
int tui_ask(tui_t *t, const char *question, char *buf, size_t size);
int tui_confirm(tui_t *t, const char *question);
void tui_say(tui_t *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *tui_field(tui_t *t, const char *key);   /* of the selected / opened row */
/* What an action acts on: the page's id when the page shows kind (or the screen's own
 * kind), NULL on another kind's page; without a page, key of the selected row. */
const char *tui_target(tui_t *t, const char *kind, const char *key);
void tui_set_page(tui_t *t, const char *text);      /* split text into t->lines */
int tui_result(tui_t *t, const adm_result_t *r);    /* message + reaction flags */
void tui_flash(tui_t *t, const char *msg);          /* show msg now (before slow work) */
const char *tui_holder_of(tui_t *t);                /* the holder of the row or page */

/* the console's own (tui.c, tui_draw.c): the screens in tab order; the whole screen drawn
 * from t */
extern const tui_screen_t *const tui_screens[TUI_S_COUNT];
void tui_draw(tui_t *t);

/* tui_crt.c: curses start-up, colours (monochrome fallback), restoring the terminal */
enum { TUI_C_TITLE = 1, TUI_C_TAB, TUI_C_TAB_ON, TUI_C_HEAD, TUI_C_SEL, TUI_C_BARKEY,
       TUI_C_BAR, TUI_C_OK, TUI_C_ERR, TUI_C_RULE, TUI_C_COUNT };
void tui_crt_init(void);
void tui_crt_done(void);
int tui_attr(int role);

#endif
