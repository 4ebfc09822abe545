/* acme-pay-admin: the listing, detail and certificate sub-commands. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

int adm_cmd_list(adm_t *adm, int argc, char **argv)
{
    static const char *const order_st[] = {"pending", "ready", "processing", "valid", "invalid",
                                           NULL};
    static const char *const inv_st[] = {"open", "paid", "expired", NULL};
    const char *what = argv[0], *err = NULL, *lim = adm_opt(argc, argv, "--limit");
    adm_filter_t f;
    json_object *arr = NULL;
    int rc;

    memset(&f, 0, sizeof(f));
    if (!strcmp(what, "holders") || !strcmp(what, "holder")) {
        what = "holders";
    }
    else if (!strcmp(what, "cert") || !strcmp(what, "certificates")) {
        what = "certs";
    }
    f.status = adm_opt(argc, argv, "--status");
    f.q = adm_opt(argc, argv, "--search");
    f.holder = adm_opt(argc, argv, "--holder");
    f.name = adm_opt(argc, argv, "--name");
    f.serial = adm_opt(argc, argv, "--serial");
    f.order = adm_opt(argc, argv, "--order");
    f.unpaid = adm_flag(argc, argv, "--unpaid");
    if (lim) {
        char *end = NULL;
        f.limit = apr_strtoi64(lim, &end, 10);
        if (*end || f.limit <= 0) {
            return adm_fail(adm, ADM_USAGE, "--limit must be a positive integer");
        }
    }
    if (f.status && !strcmp(what, "orders") && !one_of(f.status, order_st)) {
        return adm_fail(adm, ADM_USAGE,
                        "--status must be pending, ready, processing, valid or invalid");
    }
    if (f.status && !strcmp(what, "invoices") && !one_of(f.status, inv_st)) {
        return adm_fail(adm, ADM_USAGE, "--status must be open, paid or expired");
    }
    if (f.serial) {
        f.serial = acp_admin_serial(adm->pool, f.serial);
    }
    if ((rc = open_or_fail(adm))) {
        return rc;
    }
    rc = adm_list(adm, adm->pool, what, &f, &arr, &err);
    if (rc != ADM_OK) {
        return adm_fail(adm, rc, err);
    }
    adm_emit(adm, arr, adm_table(adm, adm->pool, arr, adm_list_cols(what)));
    return ADM_OK;
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

/* y/N on the terminal; anything but y/yes refuses. */
static int confirm(const char *question)
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

    if (argc < 1 || argv[0][0] == '-') {
        return adm_fail(adm, ADM_USAGE, "usage: revoke SERIAL --reason N [--yes]");
    }
    if (!adm->yes && !adm_flag(argc, argv, "--yes") && isatty(0) && reason) {
        if (!confirm(apr_psprintf(adm->pool, "Revoke certificate %s with reason %s?", argv[0],
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

    if (argc < 1 || argv[0][0] == '-') {
        return adm_fail(adm, ADM_USAGE, "usage: reissue SERIAL --reason TEXT");
    }
    adm_op_reissue(adm, adm->pool, argv[0], adm_opt(argc, argv, "--reason"), &r);
    return result(adm, &r);
}
