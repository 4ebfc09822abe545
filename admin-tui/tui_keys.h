/* acme-pay-admin console: the key bindings as data (tig's habit). One X-macro list
 * generates the enum, the key lookup, the function-key bar and the `?` help.
 *   X(ID, code, alt, keys shown, bar label (NULL: not on the bar), screens, help) */
#ifndef TUI_KEYS_H
#define TUI_KEYS_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

/* screens, in tab order (1..9 jump to them; Find is reached with f or /) */
#define TUI_SCREENS(X) \
    X(DASH, "Dashboard") X(HOLDERS, "Holders") X(ACCOUNTS, "Accounts") X(ORDERS, "Orders") \
    X(CERTS, "Certs") X(INVOICES, "Invoices") X(EAB, "EAB keys") X(LEDGER, "Ledger") \
    X(ORGS, "Orgs") X(CHAIN, "Chain") X(FIND, "Find")

#define TUI_SCREEN_ENUM(id, title) TUI_S_##id,
enum { TUI_SCREENS(TUI_SCREEN_ENUM) TUI_S_COUNT };
#define TUI_S_TABS TUI_S_FIND /* screens with a number key */

#define S(x) (1u << TUI_S_##x)
#define TUI_ALL 0x7ffu
#define TUI_LISTS (TUI_ALL & ~S(DASH))
/* where a holder is at hand (the row's or the detail page's): money keys work */
#define TUI_MONEY (TUI_LISTS & ~S(EAB) & ~S(CHAIN))

#define TUI_KEY_TABLE(X) \
    X(HELP, KEY_F(1), '?', "F1 ?", "Help", TUI_ALL, "this help (generated from the key table)") \
    X(NEXT, KEY_F(2), '\t', "F2 Tab", "Next", TUI_ALL, "next screen; 1-9 jump, Shift-Tab back") \
    X(PREV, KEY_BTAB, 0, "S-Tab", NULL, TUI_ALL, "previous screen") \
    X(FIND, 'f', KEY_F(6), "f F6", "Find", TUI_ALL, \
      "find anything: holders, e-mail, orders, invoice ids, names, serials, EAB keys, payment references") \
    X(SEARCH, KEY_F(3), '/', "F3 /", "Search", TUI_ALL, \
      "search this list (3+ characters; on the dashboard: find everywhere); empty clears") \
    X(FILTER, KEY_F(4), 's', "F4 s", "Status", S(ORDERS) | S(INVOICES) | S(CHAIN), \
      "cycle the status filter") \
    X(UNPAID, 'u', 0, "u", "Unpaid", S(ORDERS), "toggle: only orders waiting for payment") \
    X(ANY, 'a', 0, "a", "Any part", S(FIND), \
      "toggle: exact keys only (fast; an id, serial, e-mail, complete name) / any part of the text") \
    X(EVERY, 'e', 0, "e", NULL, TUI_LISTS, \
      "toggle: searches wait for every match (otherwise a text most records hold is looked up for 20 to 30 ms; Find then answers from the newest records)") \
    X(ORDER, 'o', 0, "o", NULL, TUI_LISTS & ~S(FIND), "toggle: oldest first / newest first") \
    X(REFRESH, KEY_F(5), 0, "F5", "Refresh", TUI_ALL, "reload from the database") \
    X(CREDIT, 'c', 0, "c", "Credit", TUI_MONEY, \
      "credit the holder of the row or page: amount (10.00), reason, confirm (ledger row)") \
    X(DEBIT, 'd', 0, "d", "Debit", TUI_MONEY, \
      "debit the holder of the row or page: amount, reason, confirm (ledger row)") \
    X(HOLDER, 'h', 0, "h", "Holder", TUI_LISTS & ~S(HOLDERS), \
      "open the holder of the row or page (balance, accounts, invoices, ledger)") \
    X(REVOKE, 'r', 0, "r", "Revoke", S(CERTS), "revoke: reason code 0,1,3,4,5,9, then confirm") \
    X(REISSUE, 'i', 0, "i", "Reissue", S(CERTS), \
      "reissue from the stored CSR: reason (no charge; the server signs)") \
    X(RENEW, 'w', 0, "w", "Renew", S(CERTS), \
      "ask the client to renew now (ARI window now..+1h): reason, confirm; free") \
    X(PAY, 'p', 0, "p", "Pay", S(INVOICES), \
      "mark paid by hand: reference, confirm (same path as the webhook)") \
    X(ASSIGN, 'c', 0, "c", "Assign", S(CHAIN), \
      "credit an unmatched on-chain transfer to a holder: holder id, reason, confirm (ledger row)") \
    X(VOID, 'v', 0, "v", "Void", S(INVOICES), "void an open invoice: reason, confirm") \
    X(NEW, 'n', 0, "n", "New", S(EAB), "create an EAB key: label; key id + HMAC key shown once") \
    X(DISABLE, 'x', 0, "x", "Disable", S(EAB), "disable the EAB key (confirmation)") \
    X(VET, 'v', 0, "v", "Vet", S(ORGS), \
      "vet the organization: evidence reference, confirm (current for AcmePayOVVettingDays)") \
    X(ORG_REVOKE, 'r', 0, "r", "Revoke", S(ORGS), \
      "revoke the organization's vetting: reason, confirm (its OV orders are refused)") \
    X(OPEN, '\n', KEY_ENTER, "Enter", "Open", TUI_LISTS, "detail of the selected row") \
    X(BACK, 27, KEY_BACKSPACE, "Esc", "Back", TUI_ALL, "back from a detail page or help; clears a search") \
    X(UP, KEY_UP, 'k', "Up k", NULL, TUI_ALL, "previous row / scroll") \
    X(DOWN, KEY_DOWN, 'j', "Down j", NULL, TUI_ALL, "next row / scroll (more rows load at the end)") \
    X(PGUP, KEY_PPAGE, 0, "PgUp", NULL, TUI_ALL, "page up") \
    X(PGDN, KEY_NPAGE, ' ', "PgDn Space", NULL, TUI_ALL, "page down") \
    X(HOME, KEY_HOME, 'g', "Home g", NULL, TUI_ALL, "first row") \
    X(END, KEY_END, 'G', "End G", NULL, TUI_ALL, "last row (loads every page)") \
    X(QUIT, KEY_F(10), 'q', "F10 q", "Quit", TUI_ALL, "quit (the terminal is restored)")

#define TUI_KEY_ENUM(id, code, alt, keys, bar, screens, help) TUI_K_##id,
typedef enum { TUI_K_NONE = 0, TUI_KEY_TABLE(TUI_KEY_ENUM) TUI_K_COUNT } tui_key_t;

typedef struct tui_keydef_t {
    tui_key_t id;
    int code, alt;
    const char *keys, *bar;
    unsigned screens;
    const char *help;
} tui_keydef_t;

extern const tui_keydef_t tui_keys[];   /* terminated by id TUI_K_NONE */
extern const char *const tui_screen_titles[];

/* The binding of ch on screen s (TUI_K_NONE when unbound). */
tui_key_t tui_key_lookup(int ch, int screen);

#endif
