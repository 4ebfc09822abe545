/* acme-pay-admin: the listing, detail and certificate sub-commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_admin.h"

const char *adm_opt(int argc, char **argv, const char *name)
{
    int i;
    for (i = 0; i < argc - 1; i++) {
        if (!strcmp(argv[i], name)) {
            return argv[i + 1];
        }
    }
    return NULL;
}

int adm_flag(int argc, char **argv, const char *name)
{
    int i;
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], name)) {
            return 1;
        }
    }
    return 0;
}

static int open_or_fail(adm_t *adm)
{
    const char *err = NULL;
    return adm_open_db(adm, 0, &err) == ADM_OK ? ADM_OK : adm_fail(adm, ADM_FAIL, err);
}

static int one_of(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(s, *list)) {
            return 1;
        }
    }
    return 0;
}

/* A date as staff type it (UTC): YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], or unix seconds. */
int adm_parse_date(const char *s, long long *out)
{
    struct tm tm;
    const char *end;
    char *e = NULL;

    memset(&tm, 0, sizeof(tm));
    if (!s || !*s) {
        return -1;
    }
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end && *end == '\0') {
        *out = (long long)timegm(&tm);
        return 0;
    }
    if (end && (*end == ' ' || *end == 'T')) {
        const char *e2 = strptime(end + 1, "%H:%M", &tm);
        if (e2 && *e2 == ':') {
            e2 = strptime(e2 + 1, "%S", &tm);
        }
        if (e2 && *e2 == '\0') {
            *out = (long long)timegm(&tm);
            return 0;
        }
        return -1;
    }
    *out = strtoll(s, &e, 10);
    return *e || *out < 0 ? -1 : 0;
}

static const char *const order_st[] = {"pending", "ready", "processing", "valid", "invalid",
                                       NULL};
static const char *const inv_st[] = {"open", "paid", "expired", "superseded", "voided", NULL};

int adm_cmd_list(adm_t *adm, int argc, char **argv)
{
    const char *what = argv[0], *err = NULL, *lim = adm_opt(argc, argv, "--limit"), *d;
    adm_filter_t f;
    json_object *arr = NULL;
    int rc, run;

    memset(&f, 0, sizeof(f));
    if (!strcmp(what, "holders") || !strcmp(what, "holder")) {
        what = "holders";
    }
    else if (!strcmp(what, "cert") || !strcmp(what, "certificates")) {
        what = "certs";
    }
    f.status = adm_opt(argc, argv, "--status");
    f.q = adm_opt(argc, argv, "--search");
    if (!f.q) {
        f.q = adm_opt(argc, argv, "--name");
    }
    f.holder = adm_opt(argc, argv, "--holder");
    f.serial = adm_opt(argc, argv, "--serial");
    f.order = adm_opt(argc, argv, "--order");
    f.invoice = adm_opt(argc, argv, "--invoice");
    f.unpaid = adm_flag(argc, argv, "--unpaid");
    f.after = adm_opt(argc, argv, "--after");
    f.asc = adm_flag(argc, argv, "--oldest-first");
    f.complete = adm_flag(argc, argv, "--complete");
    if (lim) {
        char *end = NULL;
        f.limit = apr_strtoi64(lim, &end, 10);
        if (*end || f.limit <= 0 || f.limit > 100000) {
            return adm_fail(adm, ADM_USAGE, "--limit must be an integer from 1 to 100000");
        }
    }
    if ((d = adm_opt(argc, argv, "--since")) && adm_parse_date(d, &f.since) != 0) {
        return adm_fail(adm, ADM_USAGE, "--since must be YYYY-MM-DD[ HH:MM] (UTC)");
    }
    if ((d = adm_opt(argc, argv, "--until")) && adm_parse_date(d, &f.until) != 0) {
        return adm_fail(adm, ADM_USAGE, "--until must be YYYY-MM-DD[ HH:MM] (UTC)");
    }
    if (f.status && !strcmp(what, "orders") && !one_of(f.status, order_st)) {
        return adm_fail(adm, ADM_USAGE,
                        "--status must be pending, ready, processing, valid or invalid");
    }
    if (f.status && !strcmp(what, "invoices") && !one_of(f.status, inv_st)) {
        return adm_fail(adm, ADM_USAGE,
                        "--status must be open, paid, expired, superseded or voided");
    }
    if (f.serial) {
        f.serial = acp_admin_serial(adm->pool, f.serial);
    }
    if ((rc = open_or_fail(adm))) {
        return rc;
    }
    /* --timing: the list twice, as find --timing (the first prepares its statements) */
    for (run = 0; run < (adm_flag(argc, argv, "--timing") ? 2 : 1); run++) {
        apr_time_t t0 = apr_time_now();
        rc = adm_list(adm, adm->pool, what, &f, &arr, &err);
        if (rc != ADM_OK) {
            return adm_fail(adm, rc, err);
        }
        if (adm_flag(argc, argv, "--timing")) {
            fprintf(stderr, "list: %s%.2f ms wall, search %s\n", run ? "" : "first ",
                    (double)(apr_time_now() - t0) / 1000.0, f.path ? f.path : "none");
        }
    }
    if (adm_flag(argc, argv, "--csv")) {
        fputs(adm_csv(adm, adm->pool, arr, NULL), stdout);
    }
    else {
        adm_emit(adm, arr, adm_table(adm, adm->pool, arr, adm_list_cols(what)));
    }
    if (f.next) {
        /* on stderr: stdout stays one clean JSON array / CSV / table */
        fprintf(stderr, "more: --after %s\n", f.next);
    }
    if (f.partial) {
        fprintf(stderr,
                "only the newest records searched: looking through every one takes over %d "
                "ms for this text (type more of it, or --complete to wait)\n",
                ADM_LIST_BUDGET_MS);
    }
    return ADM_OK;
}

/* what answered a find, after its table (nothing when every part was searched) */
static const char *find_step_note(json_object *obj, int all)
{
    const char *step = json_object_get_string(json_object_object_get(obj, "step"));

    if (all || !step) {
        return "";
    }
    if (!strcmp(step, "exact")) {
        return "; exact keys (--all: any part of the text too)";
    }
    if (!strcmp(step, "words")) {
        return "; whole words (--all: any part of the text too)";
    }
    return "";
}

/* the kinds whose any-part lookup stopped at the budget: what was searched, the way out */
static const char *find_partial_note(apr_pool_t *p, json_object *obj)
{
    json_object *partial = json_object_object_get(obj, "partial");

    if (!partial || json_object_array_length(partial) == 0) {
        return "";
    }
    return apr_psprintf(p,
                        "; only the newest records of: %s (looking through every one takes "
                        "over %d ms for this text: type more of it, or --complete to wait)",
                        json_object_to_json_string_ext(partial, JSON_C_TO_STRING_PLAIN),
                        ADM_FIND_BUDGET_MS);
}

int adm_cmd_find(adm_t *adm, int argc, char **argv)
{
    const char *err = NULL, *lim = adm_opt(argc, argv, "--limit");
    json_object *obj = NULL, *res, *more;
    long long n = 20;
    int rc, flags = (adm_flag(argc, argv, "--all") ? ADM_FIND_ALL : 0) |
                    (adm_flag(argc, argv, "--complete") ? ADM_FIND_COMPLETE : 0);

    if (argc < 1 || (argv[0][0] == '-' && argv[0][1] == '-')) {
        return adm_fail(adm, ADM_USAGE, "usage: find TEXT [--all] [--complete] [--limit N]");
    }
    if (lim) {
        char *end = NULL;
        n = apr_strtoi64(lim, &end, 10);
        if (*end || n <= 0 || n > 1000) {
            return adm_fail(adm, ADM_USAGE, "--limit must be an integer from 1 to 1000");
        }
    }
    if ((rc = open_or_fail(adm))) {
        return rc;
    }
    if (adm_flag(argc, argv, "--timing")) {
        /* the queries alone (tests/bench/search.sh): the first find of a process
         * prepares its statements on the connection; the console's later searches reuse
         * them, as the second run here does */
        int run;
        for (run = 0; run < 2; run++) {
            apr_time_t t0 = apr_time_now();
            struct rusage r0, r1;
            getrusage(RUSAGE_SELF, &r0);
            rc = adm_find(adm, adm->pool, argv[0], n, flags, &obj,
                          &err);
            if (rc != ADM_OK) {
                return adm_fail(adm, rc, err);
            }
            getrusage(RUSAGE_SELF, &r1);
            fprintf(stderr, "find: %s%.2f ms wall, %.2f ms cpu\n", run ? "" : "first ",
                    (double)(apr_time_now() - t0) / 1000.0,
                    ((double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                              r0.ru_stime.tv_sec) * 1000.0 +
                     (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
                              r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1000.0));
        }
    }
    else if ((rc = adm_find(adm, adm->pool, argv[0], n, flags, &obj,
                            &err)) != ADM_OK) {
        return adm_fail(adm, rc, err);
    }
    res = json_object_object_get(obj, "results");
    more = json_object_object_get(obj, "more");
    adm_emit(adm, obj,
             json_object_array_length(res) == 0
                 ? apr_psprintf(adm->pool, "nothing matches '%s'%s\n", argv[0],
                                find_partial_note(adm->pool, obj))
                 : apr_pstrcat(adm->pool,
                               adm_table(adm, adm->pool, res, "kind,id,summary,holder,created"),
                               adm_count(adm->pool, (long long)json_object_array_length(res),
                                         "match", "matches"),
                               json_object_array_length(more) > 0
                                   ? apr_pstrcat(adm->pool, "; more of: ",
                                                 json_object_to_json_string_ext(
                                                     more, JSON_C_TO_STRING_PLAIN),
                                                 " (--limit, or the lists' --search)", NULL)
                                   : "",
                               find_step_note(obj, adm_flag(argc, argv, "--all")),
                               find_partial_note(adm->pool, obj), "\n", NULL));
    return json_object_array_length(res) == 0 ? ADM_FAIL : ADM_OK;
}

int adm_cmd_show(adm_t *adm, int argc, char **argv)
{
    const char *err = NULL;
    json_object *obj = NULL;
    int rc;

    if (argc < 2) {
        return adm_fail(adm, ADM_USAGE, "usage: show holder|order|cert|invoice ID");
    }
    if ((rc = open_or_fail(adm))) {
        return rc;
    }
    rc = adm_show(adm, adm->pool, argv[0], argv[1], &obj, &err);
    if (rc != ADM_OK) {
        return adm_fail(adm, rc, err);
    }
    if (!adm->json && !strcmp(argv[0], "cert")) {
        json_object_object_del(obj, "pem"); /* text view: the PEM only with --json */
    }
    adm_emit(adm, obj, adm_page(adm, adm->pool, obj));
    return ADM_OK;
}

int adm_cmd_dashboard(adm_t *adm, int argc, char **argv)
{
    const char *err = NULL;
    json_object *obj = NULL;
    int rc;

    if ((rc = open_or_fail(adm))) {
        return rc;
    }
    rc = adm_dashboard(adm, adm->pool, &obj, &err);
    if (rc != ADM_OK) {
        return adm_fail(adm, rc, err);
    }
    adm_emit(adm, obj, adm_page(adm, adm->pool, obj));
    return ADM_OK;
}

int adm_confirm(const char *question)
{
    char line[32];
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin)) {
        return 0;
    }
    return !strcmp(line, "y\n") || !strcmp(line, "yes\n") || !strcmp(line, "Y\n");
}

static int result(adm_t *adm, adm_result_t *r)
{
    if (r->code != ADM_OK) {
        return adm_fail(adm, r->code, r->msg);
    }
    adm_emit(adm, r->out, apr_pstrcat(adm->pool, r->msg, "\n", NULL));
    return ADM_OK;
}

int adm_cmd_revoke(adm_t *adm, int argc, char **argv)
{
    const char *reason = adm_opt(argc, argv, "--reason");
    adm_result_t r;

    if (argc < 1 || (argv[0][0] == '-' && argv[0][1] == '-')) {
        return adm_fail(adm, ADM_USAGE, "usage: revoke SERIAL --reason N [--yes]");
    }
    if (!adm->yes && !adm_flag(argc, argv, "--yes") && isatty(0) && reason) {
        if (!adm_confirm(apr_psprintf(adm->pool, "Revoke certificate %s with reason %s?", argv[0],
                                  reason))) {
            return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
        }
    }
    adm_op_revoke(adm, adm->pool, argv[0], reason, &r);
    return result(adm, &r);
}

int adm_cmd_reissue(adm_t *adm, int argc, char **argv)
{
    adm_result_t r;

    if (argc < 1 || (argv[0][0] == '-' && argv[0][1] == '-')) {
        return adm_fail(adm, ADM_USAGE, "usage: reissue SERIAL --reason TEXT [--no-wait]");
    }
    adm_op_reissue(adm, adm->pool, argv[0], adm_opt(argc, argv, "--reason"),
                   adm_flag(argc, argv, "--no-wait") ? 0 : 30, &r);
    return result(adm, &r);
}

/* Every money move shows holder, amount and the new balance first and, on a terminal,
 * asks (unless --yes); bad input is refused before anything is asked or written. */
int adm_cmd_money(adm_t *adm, int credit, int argc, char **argv)
{
    const char *holder = argc > 0 && (argv[0][0] != '-' || argv[0][1] != '-') ? argv[0] : NULL;
    const char *amount = argc > 1 && (argv[1][0] != '-' || argv[1][1] != '-') ? argv[1] : NULL;
    const char *reason = adm_opt(argc, argv, "--reason");
    adm_preview_t pv;
    adm_result_t r;

    if (!holder || !amount) {
        return adm_fail(adm, ADM_USAGE,
                        apr_psprintf(adm->pool, "usage: %s HOLDER AMOUNT --reason R [--yes]",
                                     credit ? "credit" : "debit"));
    }
    if (adm_money_preview(adm, adm->pool, credit, holder, amount, &pv, &r) != ADM_OK) {
        return result(adm, &r);
    }
    if (!reason || !*reason) {
        return adm_fail(adm, ADM_USAGE, "a --reason is required for every money move");
    }
    if (!adm->yes && isatty(0) && !adm_confirm(apr_pstrcat(adm->pool, pv.text, "?", NULL))) {
        return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
    }
    adm_op_money(adm, adm->pool, credit, holder, amount, reason, &r);
    return result(adm, &r);
}

int adm_cmd_invoice(adm_t *adm, int argc, char **argv)
{
    const char *id = argc > 1 && (argv[1][0] != '-' || argv[1][1] != '-') ? argv[1] : NULL;
    adm_preview_t pv;
    adm_result_t r;

    if (argc >= 1 && !strcmp(argv[0], "pay")) {
        const char *ref = adm_opt(argc, argv, "--reference");
        const char *amount = adm_opt(argc, argv, "--amount");
        if (!id) {
            return adm_fail(adm, ADM_USAGE, "usage: invoice pay ID --reference R [--amount A]");
        }
        if (!ref || !*ref) {
            return adm_fail(adm, ADM_USAGE, "invoice pay needs --reference");
        }
        if (adm_invoice_preview(adm, adm->pool, id, amount, &pv, &r) != ADM_OK) {
            return result(adm, &r);
        }
        if (!adm->yes && isatty(0) &&
            !adm_confirm(apr_pstrcat(adm->pool, pv.text, "?", NULL))) {
            return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
        }
        adm_op_invoice_pay(adm, adm->pool, id, ref, amount, &r);
        return result(adm, &r);
    }
    if (argc >= 1 && !strcmp(argv[0], "void")) {
        if (!id) {
            return adm_fail(adm, ADM_USAGE, "usage: invoice void ID --reason R");
        }
        adm_op_invoice_void(adm, adm->pool, id, adm_opt(argc, argv, "--reason"), &r);
        return result(adm, &r);
    }
    return adm_fail(adm, ADM_USAGE, "usage: invoice pay ID --reference R | invoice void ID --reason R");
}
