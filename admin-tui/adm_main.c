/* acme-pay-admin: the staff tool. Sub-commands for scripts (every one with --json);
 * without a sub-command on a terminal, the ncurses console. Exit codes: 0 ok, 1 not found
 * (lookups) or database/CA failure, 2 usage or bad input (unknown id in an action,
 * negative or non-integer amount, missing reason): bad input changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "adm.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: acme-pay-admin [-f apache.conf | --driver D --params P] [--json]\n"
            "                      [--actor NAME] [--ca CERT KEY] [--yes] COMMAND ...\n"
            "commands:\n"
            "  tui                             the console (default on a terminal)\n"
            "  dashboard                       totals, orders by status, expiring certificates\n"
            "  holders list [--search S]       billing holders\n"
            "  accounts list [--holder H]      ACME accounts\n"
            "  orders list [--status S] [--unpaid] [--search S]\n"
            "  certs list [--name N] [--serial S]\n"
            "  invoices list [--status open|paid|expired] [--holder H]\n"
            "  ledger list [--holder H] [--order O]\n"
            "  eab list                        EAB keys\n"
            "  show holder|order|cert|invoice ID\n"
            "  balance HOLDER                  a billing holder's balance\n"
            "  credit HOLDER AMOUNT --reason R add minor units (ledger row, actor recorded)\n"
            "  debit HOLDER AMOUNT --reason R  take minor units\n"
            "  invoice pay ID --reference R [--amount N]\n"
            "                                  record a payment (same path as the webhook)\n"
            "  eab create --label L            new EAB key (key id and HMAC key shown once)\n"
            "  eab disable KID                 disable an EAB key\n"
            "  revoke SERIAL --reason N        reason 0,1,3,4,5,9 (asks on a tty unless --yes)\n"
            "  reissue SERIAL --reason TEXT    re-sign the order's CSR (new serial, no charge)\n"
            "  migrate                         create or upgrade the schema\n"
            "exit codes: 0 ok, 1 not found / database or CA failure, 2 usage or bad input\n");
    return ADM_USAGE;
}

static int result(adm_t *adm, adm_result_t *r)
{
    if (r->code != ADM_OK) {
        return adm_fail(adm, r->code, r->msg);
    }
    adm_emit(adm, r->out, apr_pstrcat(adm->pool, r->msg, "\n", NULL));
    return ADM_OK;
}

static int cmd_migrate(adm_t *adm)
{
    const char *err = NULL;
    json_object *o;

    if (adm_open_db(adm, 1, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    o = adm_jpool(adm->pool, json_object_new_object());
    json_object_object_add(o, "migrated", json_object_new_boolean(1));
    adm_emit(adm, o, "schema is up to date\n");
    return ADM_OK;
}

static int cmd_eab(adm_t *adm, int argc, char **argv)
{
    adm_result_t r;

    if (argc >= 1 && !strcmp(argv[0], "create")) {
        adm_op_eab_create(adm, adm->pool, adm_opt(argc, argv, "--label"), &r);
        if (r.code == ADM_OK && !adm->json) {
            json_object *v = NULL;
            adm_emit(adm, r.out,
                     apr_psprintf(adm->pool,
                                  "EAB key id:  %s\nHMAC key:    %s   (shown once; store it now)\n"
                                  "holder:      %s\n",
                                  json_object_get_string(json_object_object_get(r.out, "kid")),
                                  json_object_get_string(
                                      json_object_object_get(r.out, "hmac_key")),
                                  json_object_object_get_ex(r.out, "holder", &v)
                                      ? json_object_get_string(v)
                                      : "-"));
            return ADM_OK;
        }
        return result(adm, &r);
    }
    if (argc >= 2 && !strcmp(argv[0], "disable")) {
        adm_op_eab_disable(adm, adm->pool, argv[1], &r);
        return result(adm, &r);
    }
    if (argc >= 1 && !strcmp(argv[0], "list")) {
        return adm_cmd_list(adm, argc + 1, argv - 1); /* argv[-1] is "eab" */
    }
    return usage();
}

static int cmd_balance(adm_t *adm, int argc, char **argv)
{
    const char **row = NULL, *err = NULL;
    json_object *o;

    if (argc < 1) {
        return usage();
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_row(adm->db, adm->pool, "acp_billing_get", &row, ACP_SA_ARGS(argv[0])) !=
            APR_SUCCESS ||
        !row) {
        return adm_fail(adm, ADM_FAIL, apr_psprintf(adm->pool, "no billing holder '%s'", argv[0]));
    }
    o = adm_jpool(adm->pool, json_object_new_object());
    json_object_object_add(o, "holder", json_object_new_string(argv[0]));
    json_object_object_add(o, "balance", json_object_new_int64(acp_sa_atoll(row[3])));
    adm_emit(adm, o, apr_pstrcat(adm->pool, row[3], "\n", NULL));
    return ADM_OK;
}

static int dispatch(adm_t *adm, int argc, char **argv)
{
    const char *c = argv[0];
    adm_result_t r;

    if (!strcmp(c, "migrate")) {
        return cmd_migrate(adm);
    }
    if (!strcmp(c, "tui")) {
        return adm_tui(adm);
    }
    if (!strcmp(c, "dashboard")) {
        return adm_cmd_dashboard(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "eab")) {
        return cmd_eab(adm, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "list")) {
        return adm_cmd_list(adm, argc, argv);
    }
    if (!strcmp(c, "show")) {
        return adm_cmd_show(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "credit") || !strcmp(c, "debit")) {
        adm_op_money(adm, adm->pool, !strcmp(c, "credit"), argc > 1 ? argv[1] : NULL,
                     argc > 2 ? argv[2] : NULL, adm_opt(argc, argv, "--reason"), &r);
        return result(adm, &r);
    }
    if (!strcmp(c, "balance")) {
        return cmd_balance(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "invoice") && argc >= 2 && !strcmp(argv[1], "pay")) {
        adm_op_invoice_pay(adm, adm->pool, argc > 2 ? argv[2] : NULL,
                           adm_opt(argc, argv, "--reference"), adm_opt(argc, argv, "--amount"),
                           &r);
        return result(adm, &r);
    }
    if (!strcmp(c, "revoke")) {
        return adm_cmd_revoke(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "reissue")) {
        return adm_cmd_reissue(adm, argc - 1, argv + 1);
    }
    return usage();
}

int main(int argc, char **argv)
{
    adm_t adm;
    const char *conf = NULL, *err = NULL, *ca_cert = NULL, *ca_key = NULL;
    int i, j;

    apr_initialize();
    atexit(apr_terminate);
    memset(&adm, 0, sizeof(adm));
    apr_pool_create(&adm.pool, NULL);
    adm.actor = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER") ? getenv("USER") : "staff";
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            conf = argv[++i];
        }
        else if (!strcmp(argv[i], "--driver") && i + 1 < argc) {
            adm.driver = argv[++i];
        }
        else if (!strcmp(argv[i], "--params") && i + 1 < argc) {
            adm.params = argv[++i];
        }
        else if (!strcmp(argv[i], "--actor") && i + 1 < argc) {
            adm.actor = argv[++i];
        }
        else if (!strcmp(argv[i], "--ca") && i + 2 < argc) {
            ca_cert = argv[++i];
            ca_key = argv[++i];
        }
        else if (!strcmp(argv[i], "--currency") && i + 1 < argc) {
            adm.currency = argv[++i];
        }
        else if (!strcmp(argv[i], "--json")) {
            adm.json = 1;
        }
        else if (!strcmp(argv[i], "--yes")) {
            adm.yes = 1;
        }
        else {
            return usage();
        }
    }
    /* --json may also follow the command */
    for (j = i; j < argc; j++) {
        if (!strcmp(argv[j], "--json")) {
            adm.json = 1;
        }
    }
    if (conf || !adm.driver || !adm.params) {
        const char *drv = adm.driver, *prm = adm.params;
        if (!conf) {
            conf = "/etc/apache2/apache2.conf";
        }
        if (adm_conf_read(&adm, conf, &err) != 0 && (!drv || !prm)) {
            return adm_fail(&adm, ADM_FAIL, err);
        }
        adm.driver = drv ? drv : adm.driver;   /* flags win over the file */
        adm.params = prm ? prm : adm.params;
    }
    if (ca_cert) {
        adm.ca_cert = ca_cert;
        adm.ca_key = ca_key;
    }
    if (i >= argc) {
        if (isatty(0) && isatty(1)) {
            return adm_tui(&adm);
        }
        return usage();
    }
    return dispatch(&adm, argc - i, argv + i);
}
