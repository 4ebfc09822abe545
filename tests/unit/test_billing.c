/* Billing against a real SQLite file: the currency of holders and ledger rows, the
 * welcome-credit bound, the invoice command run once per invoice, terminal escaping.
 * (PostgreSQL: the same paths in tests/integration/test_160..165.) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include "acp_test.h"
#include "acp_billing.h"
#include "acp_problem.h"
#include "acp_util.h"

/* rows of a query run straight on the connection (tests only) */
static int count_rows(acp_db_t *db, apr_pool_t *p, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int n = 0;

    if (apr_dbd_select(db->driver, p, db->handle, &res, sql, 0) != 0) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        n++;
    }
    return n;
}

/* the money invariant: every holder's balance is the sum of its ledger rows, and every
 * ledger row names its currency, the holder's */
static int ledger_consistent(acp_db_t *db, apr_pool_t *p)
{
    return count_rows(db, p,
                      "SELECT b.id FROM billing b WHERE b.balance <> COALESCE((SELECT "
                      "SUM(l.delta) FROM ledger l WHERE l.billing_id = b.id), 0)") == 0 &&
           count_rows(db, p,
                      "SELECT l.id FROM ledger l JOIN billing b ON b.id = l.billing_id "
                      "WHERE l.currency IS NULL OR l.currency <> b.currency") == 0 &&
           count_rows(db, p, "SELECT id FROM ledger") > 0;
}

static void test_escapes(apr_pool_t *p)
{
    /* nothing to do: the same pointer back */
    const char *ok = "plain \xe2\x96\x80 text \xc2\xa0";
    CHECK(acp_text_safe(p, ok) == ok);
    CHECK(acp_text_safe(p, NULL) == NULL);
    CHECK_STR(acp_text_safe(p, "a\x1b[31mb"), "a\\x1b[31mb");
    CHECK_STR(acp_text_safe(p, "a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
    /* UTF-8-encoded C1: 8-bit CSI and OSC */
    CHECK_STR(acp_text_safe(p, "x\xc2\x9b" "31m\xc2\x9d" "0;t\x07"), "x\\u009b31m\\u009d0;t\\x07");
    /* raw C1 bytes and broken UTF-8 */
    CHECK_STR(acp_text_safe(p, "x\x9b" "y\xe2\x96"), "x\\x9by\\xe2\\x96");
    CHECK_STR(acp_text_safe(p, "\xc0\xaf"), "\\xc0\\xaf");       /* overlong '/' */
    CHECK_STR(acp_text_safe(p, "\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* a surrogate */
    /* JSON: structure whitespace stays, C1/DEL/invalid become \u escapes */
    CHECK_STR(acp_json_safe(p, "{\n  \"a\": \"\\u001b\xc2\x9b\x7f\x9b\"\n}"),
              "{\n  \"a\": \"\\u001b\\u009b\\u007f\\ufffd\"\n}");
}

static void test_addr_key(apr_pool_t *p)
{
    CHECK_STR(acp_billing_addr_key(p, "192.0.2.7"), "192.0.2.7");
    CHECK_STR(acp_billing_addr_key(p, "::ffff:192.0.2.7"), "192.0.2.7");
    CHECK_STR(acp_billing_addr_key(p, "2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
    CHECK_STR(acp_billing_addr_key(p, "2001:db8:1:2::9"), "2001:db8:1:2::/64");
    CHECK(acp_billing_addr_key(p, "not-an-ip") == NULL);
    CHECK(acp_billing_addr_key(p, NULL) == NULL);
}

static void test_db(apr_pool_t *p)
{
    const char *path;
    char dir[64], cmd[128], runs[128];
    acp_db_t *db = NULL;
    const char *err = NULL, *h[8], **row = NULL;
    acp_billing_cfg_t cfg, eur;
    acp_charge_t charge;
    acp_problem_t *prob;
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    long long bal = 0;
    int welcomed = 0, credited = 0, ran = 0, i;
    FILE *f;

    memset(&charge, 0, sizeof(charge));
    APR_ARRAY_PUSH(names, const char *) = "a.example";
    path = acp_t_sqlite_db(p, "billing");
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    acp_billing_cfg_defaults(&cfg);
    cfg.price.base = 1000;
    cfg.free_balance = 1000;
    eur = cfg;
    eur.currency = "EUR";

    /* ---- welcome credit: once per address and window; once per EAB credential ---- */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_billing_account_holder_tx(db, p, &cfg, "192.0.2.1", &h[0], &welcomed) ==
              APR_SUCCESS && welcomed == 1);
    CHECK(acp_billing_account_holder_tx(db, p, &cfg, "192.0.2.1", &h[1], &welcomed) ==
              APR_SUCCESS && welcomed == 0);
    CHECK(acp_billing_account_holder_tx(db, p, &cfg, "2001:db8::1", &h[2], &welcomed) ==
              APR_SUCCESS && welcomed == 1);
    CHECK(acp_billing_account_holder_tx(db, p, &cfg, "2001:db8::2", &h[3], &welcomed) ==
              APR_SUCCESS && welcomed == 0); /* same /64 */
    cfg.free_limit = 0;
    CHECK(acp_billing_account_holder_tx(db, p, &cfg, "198.51.100.1", &h[4], &welcomed) ==
              APR_SUCCESS && welcomed == 0);
    cfg.free_limit = 1;
    CHECK(acp_billing_new_holder_tx(db, p, &cfg, "eab", "reseller", &h[5]) == APR_SUCCESS);
    CHECK(acp_billing_balance(db, p, h[5], &bal) == APR_SUCCESS && bal == 0);
    CHECK(acp_billing_eab_welcome_tx(db, p, &cfg, h[5], &welcomed) == APR_SUCCESS && welcomed == 1);
    CHECK(acp_billing_eab_welcome_tx(db, p, &cfg, h[5], &welcomed) == APR_SUCCESS && welcomed == 0);
    CHECK(acp_billing_balance(db, p, h[5], &bal) == APR_SUCCESS && bal == 1000);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(acp_billing_balance(db, p, h[1], &bal) == APR_SUCCESS && bal == 0);

    /* ---- currencies: a CNY holder cannot be charged, invoiced or credited in EUR ---- */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    prob = acp_billing_charge_tx(db, p, &eur, h[0], "o1", "a.example", names, 0,
                                 "https://ca.test/acme", &charge);
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED && !prob->payment &&
          strstr(prob->detail, "CNY") && strstr(prob->detail, "EUR"));
    prob = acp_billing_quote_tx(db, p, &eur, h[1], "o2", "a.example", names,
                                "https://ca.test/acme");
    CHECK(prob && prob->kind == ACP_ERR_UNAUTHORIZED && !prob->payment);
    CHECK(acp_sa_rollback(db) == APR_SUCCESS);
    CHECK(acp_billing_balance(db, p, h[0], &bal) == APR_SUCCESS && bal == 1000);
    /* a short CNY holder gets an invoice in CNY; a payment for it in EUR is refused */
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    prob = acp_billing_charge_tx(db, p, &cfg, h[1], "o3", "a.example", names, 0,
                                 "https://ca.test/acme", &charge);
    CHECK(prob && prob->payment && prob->payment->invoice_id);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    if (prob && prob->payment) {
        const char *inv = prob->payment->invoice_id;
        CHECK(acp_sa_begin(db) == APR_SUCCESS);
        CHECK(acp_billing_payment_tx(db, p, inv, 1000, "EUR", "r1", "test", &credited) ==
              APR_EMISMATCH);
        CHECK(acp_sa_rollback(db) == APR_SUCCESS);
        /* the holder keeps CNY even if the invoice row were in EUR (planted) */
        CHECK(acp_sa_begin(db) == APR_SUCCESS);
        CHECK(acp_sa_exec(db, p, "acp_invoice_insert", NULL,
                          ACP_SA_ARGS("eurinv", h[1], NULL, "1000", "EUR", "x", NULL, "1",
                                      "9999999999")) == APR_SUCCESS);
        CHECK(acp_billing_payment_tx(db, p, "eurinv", 1000, "EUR", "r2", "test", &credited) ==
              APR_EMISMATCH);
        CHECK(acp_sa_rollback(db) == APR_SUCCESS);
        CHECK(acp_billing_balance(db, p, h[1], &bal) == APR_SUCCESS && bal == 0);
        CHECK(acp_sa_begin(db) == APR_SUCCESS);
        CHECK(acp_billing_payment_tx(db, p, inv, 1000, "CNY", "r3", "test", &credited) ==
                  APR_SUCCESS && credited == 1);
        CHECK(acp_sa_commit(db) == APR_SUCCESS);
        CHECK(acp_billing_balance(db, p, h[1], &bal) == APR_SUCCESS && bal == 1000);
    }
    CHECK(ledger_consistent(db, p));

    /* ---- the invoice command: once per invoice, its answer kept ---- */
    apr_snprintf(dir, sizeof(dir), "/tmp/acp-test-billing-%d.d", (int)getpid());
    mkdir(dir, 0700);
    apr_snprintf(runs, sizeof(runs), "%s/runs", dir);
    apr_snprintf(cmd, sizeof(cmd), "%s/checkout", dir);
    f = fopen(cmd, "w");
    if (f) {
        fprintf(f, "#!/bin/sh\necho \"$1 $2 $3\" >> %s\necho \"https://pay.test/c/$1\"\n", runs);
        fclose(f);
    }
    chmod(cmd, 0700);
    cfg.invoice_command = cmd;
    for (i = 0; i < 3; i++) {
        CHECK(acp_sa_begin(db) == APR_SUCCESS);
        prob = acp_billing_charge_tx(db, p, &cfg, h[4], "o4", "a.example", names, 0,
                                     "https://ca.test/acme", &charge);
        CHECK(acp_sa_commit(db) == APR_SUCCESS);
        CHECK(prob && prob->payment && prob->payment->checkout_pending == (i == 0));
        if (prob && prob->payment) {
            CHECK(acp_billing_checkout(db, p, &cfg, prob->payment, &ran) == APR_SUCCESS);
            CHECK(ran == (i == 0));
            CHECK(strncmp(prob->payment->qr_data, "https://pay.test/c/", 19) == 0);
            CHECK(strcmp(prob->payment->link, prob->payment->qr_data) != 0);
        }
    }
    {
        char line[256];
        int lines = 0;
        f = fopen(runs, "r");
        while (f && fgets(line, sizeof(line), f)) {
            lines++;
            CHECK(strstr(line, " 1000 CNY\n") != NULL);
        }
        if (f) {
            fclose(f);
        }
        CHECK(lines == 1);
    }
    /* a command that prints no http(s) URL: recorded as failed, the link is shown */
    f = fopen(cmd, "w");
    if (f) {
        fprintf(f, "#!/bin/sh\nprintf 'javascript:alert(1)\\033[2J\\n'\n");
        fclose(f);
    }
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    prob = acp_billing_charge_tx(db, p, &cfg, h[3], "o5", "a.example", names, 0,
                                 "https://ca.test/acme", &charge);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    if (prob && prob->payment) {
        CHECK(acp_billing_checkout(db, p, &cfg, prob->payment, &ran) == APR_SUCCESS && ran == 1);
        CHECK_STR(prob->payment->qr_data, prob->payment->link);
        CHECK(acp_sa_row(db, p, "acp_invoice_get", &row,
                         ACP_SA_ARGS(prob->payment->invoice_id)) == APR_SUCCESS && row &&
              row[12] && !strcmp(row[12], "failed") && !row[11]);
    }
    CHECK(ledger_consistent(db, p));
    unlink(cmd);
    unlink(runs);
    rmdir(dir);
}

static void run_tests(apr_pool_t *p)
{
    test_escapes(p);
    test_addr_key(p);
    test_db(p);
}
