/* acme-pay-admin console: curses start-up, colours with a monochrome fallback, and the
 * terminal restored on exit and on a crash (htop's CRT.c habit). */
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tui.h"

static int active, colours;
static int attrs[TUI_C_COUNT];

void tui_crt_done(void)
{
    if (active) {
        active = 0;
        curs_set(1);
        endwin();
    }
}

static void on_fatal(int sig)
{
    static const char msg[] = "acme-pay-admin: terminated by a signal; terminal restored\n";
    tui_crt_done();
    if (sig != SIGTERM && sig != SIGINT && sig != SIGHUP) {
        ssize_t n = write(2, msg, sizeof(msg) - 1);
        (void)n;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void pair(int role, short fg, short bg, int mono)
{
    if (colours) {
        init_pair((short)role, fg, bg);
        attrs[role] = COLOR_PAIR(role);
    }
    else {
        attrs[role] = mono;
    }
}

void tui_crt_init(void)
{
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGBUS, SIGFPE};
    size_t i;

    setlocale(LC_ALL, "");
    if (!getenv("ESCDELAY")) {
        set_escdelay(25);
    }
    initscr();
    active = 1;
    atexit(tui_crt_done);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        signal(sigs[i], on_fatal);
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    colours = has_colors() && getenv("NO_COLOR") == NULL;
    if (colours) {
        start_color();
        use_default_colors();
    }
    pair(TUI_C_TITLE, COLOR_BLACK, COLOR_CYAN, A_REVERSE);
    pair(TUI_C_TAB, -1, -1, A_NORMAL);
    pair(TUI_C_TAB_ON, COLOR_BLACK, COLOR_GREEN, A_REVERSE | A_BOLD);
    pair(TUI_C_HEAD, COLOR_BLACK, COLOR_GREEN, A_BOLD | A_UNDERLINE);
    pair(TUI_C_SEL, COLOR_BLACK, COLOR_CYAN, A_REVERSE);
    pair(TUI_C_BARKEY, COLOR_WHITE, -1, A_BOLD);
    pair(TUI_C_BAR, COLOR_BLACK, COLOR_CYAN, A_REVERSE);
    pair(TUI_C_OK, COLOR_GREEN, -1, A_BOLD);
    pair(TUI_C_ERR, COLOR_RED, -1, A_BOLD | A_REVERSE);
    pair(TUI_C_RULE, COLOR_BLUE, -1, A_DIM);
}

int tui_attr(int role)
{
    return role > 0 && role < TUI_C_COUNT ? attrs[role] : (int)A_NORMAL;
}
