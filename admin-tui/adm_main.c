/* acme-pay-admin: the staff tool. Sub-commands for scripts (every one with --json);
 * without a sub-command, the ncurses console. Exit codes: 0 ok, 1 failure (database,
 * not found), 2 usage or bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <json-c/json.h>
#include "adm.h"
#include "acp_billing.h"
#include "acp_util.h"

#define EXIT_USAGE 2

static int usage(void)
{
    fprintf(stderr,
            "usage: acme-pay-admin [-f apache.conf | --driver D --params P] [--json]\n"
            "                      [--actor NAME] COMMAND ...\n"
            "commands:\n"
            "  migrate                         create or upgrade the schema\n"
            "  eab create --label L            new EAB key (key id and HMAC key shown once)\n"
            "  eab disable KID                 disable an EAB key\n"
            "  eab list                        EAB keys\n"
            "  balance HOLDER                  a billing holder's balance\n"
            "  credit HOLDER AMOUNT --reason R add minor units (ledger row, actor recorded)\n"
            "  debit HOLDER AMOUNT --reason R  take minor units\n"
            "  invoice pay ID --reference R [--amount N]\n"
            "                                  record a payment (same path as the webhook)\n");
    return EXIT_USAGE;
}

static int fail(adm_t *adm, int code, const char *msg)
{
    if (adm->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(msg));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    fprintf(stderr, "acme-pay-admin: %s\n", msg);
    return code;
}

static void emit(adm_t *adm, json_object *o, const char *text)
{
    if (adm->json) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    else {
        fputs(text, stdout);
    }
    json_object_put(o);
}

/* A strictly positive integer amount of minor units. */
static int parse_amount(const char *s, long long *out)
{
    char *end = NULL;
    long long v;
    if (!s || !*s || *s == '-' || *s == '+') {
        return -1;
    }
    v = strtoll(s, &end, 10);
    if (*end || v <= 0 || v > 1000000000000LL) {
        return -1;
    }
    *out = v;
    return 0;
}

static const char *opt(int argc, char **argv, const char *name)
{
    int i;
    for (i = 0; i < argc - 1; i++) {
        if (!strcmp(argv[i], name)) {
            return argv[i + 1];
        }
    }
    return NULL;
}

static int open_db(adm_t *adm, int migrate)
{
    const char *err = NULL;
    if (acp_sa_open(adm->pool, adm->driver, adm->params, migrate, &adm->db, &err) != APR_SUCCESS) {
        return fail(adm, 1, err);
    }
    return 0;
}

static int with_tx(adm_t *adm)
{
    if (acp_sa_begin(adm->db) != APR_SUCCESS) {
        return fail(adm, 1, "cannot start a transaction (database busy?)");
    }
    return 0;
}

static int finish(adm_t *adm, apr_status_t rv, const char *what)
{
    if (rv != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return fail(adm, rv == APR_NOTFOUND ? 1 : rv == APR_EINVAL ? EXIT_USAGE : 1,
                    apr_psprintf(adm->pool, "%s failed: %s", what,
                                 rv == APR_NOTFOUND ? "not found"
                                 : rv == APR_EINVAL ? "refused (balance would go below zero, "
                                                      "or currency/amount mismatch)"
                                                    : acp_sa_error(adm->db, adm->pool, 1)));
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return fail(adm, 1, "commit failed");
    }
    return 0;
}

static int cmd_migrate(adm_t *adm)
{
    int rc = open_db(adm, 1);
    if (rc == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "migrated", json_object_new_boolean(1));
        emit(adm, o, "schema is up to date\n");
    }
    return rc;
}

static int cmd_eab(adm_t *adm, int argc, char **argv)
{
    acp_billing_cfg_t bcfg;
    const char *kid = NULL, *key = NULL, *bid = NULL;
    apr_status_t rv;
    int rc;

    if (argc < 1) {
        return usage();
    }
    acp_billing_cfg_defaults(&bcfg);
    if (!strcmp(argv[0], "create")) {
        const char *label = opt(argc, argv, "--label");
        json_object *o;
        if (!label || !*label) {
            return fail(adm, EXIT_USAGE, "eab create needs --label");
        }
        if ((rc = open_db(adm, 0)) || (rc = with_tx(adm))) {
            return rc;
        }
        rv = acp_billing_eab_create_tx(adm->db, adm->pool, &bcfg, label, &kid, &key, &bid);
        if ((rc = finish(adm, rv, "eab create"))) {
            return rc;
        }
        o = json_object_new_object();
        json_object_object_add(o, "kid", json_object_new_string(kid));
        json_object_object_add(o, "hmac_key", json_object_new_string(key));
        json_object_object_add(o, "holder", json_object_new_string(bid));
        json_object_object_add(o, "label", json_object_new_string(label));
        emit(adm, o,
             apr_psprintf(adm->pool,
                          "EAB key id:  %s\nHMAC key:    %s   (shown once; store it now)\n"
                          "holder:      %s\n",
                          kid, key, bid));
        return 0;
    }
    if (!strcmp(argv[0], "disable") && argc >= 2) {
        int n = 0;
        if ((rc = open_db(adm, 0))) {
            return rc;
        }
        if (acp_sa_exec(adm->db, adm->pool, "acp_eab_disable", &n, ACP_SA_ARGS(argv[1])) !=
                APR_SUCCESS ||
            n != 1) {
            return fail(adm, 1, apr_psprintf(adm->pool, "no active EAB key '%s'", argv[1]));
        }
        emit(adm, json_object_new_string("disabled"), "disabled\n");
        return 0;
    }
    return usage();
}

static int cmd_money(adm_t *adm, int credit, int argc, char **argv)
{
    const char *reason = opt(argc, argv, "--reason");
    long long amount = 0, after = 0;
    apr_status_t rv;
    json_object *o;
    int rc;

    if (argc < 2) {
        return usage();
    }
    if (parse_amount(argv[1], &amount) != 0) {
        return fail(adm, EXIT_USAGE,
                    apr_psprintf(adm->pool, "amount '%s' must be a positive integer of minor units",
                                 argv[1]));
    }
    if (!reason || !*reason) {
        return fail(adm, EXIT_USAGE, "a --reason is required for every money move");
    }
    if ((rc = open_db(adm, 0)) || (rc = with_tx(adm))) {
        return rc;
    }
    rv = acp_billing_adjust_tx(adm->db, adm->pool, argv[0], credit ? amount : -amount,
                               credit ? "credit" : "debit", adm->actor, reason, NULL, NULL,
                               &after);
    if ((rc = finish(adm, rv, credit ? "credit" : "debit"))) {
        return rc;
    }
    o = json_object_new_object();
    json_object_object_add(o, "holder", json_object_new_string(argv[0]));
    json_object_object_add(o, "balance", json_object_new_int64(after));
    emit(adm, o, apr_psprintf(adm->pool, "%s balance %" APR_INT64_T_FMT "\n", argv[0],
                              (apr_int64_t)after));
    return 0;
}

static int cmd_balance(adm_t *adm, int argc, char **argv)
{
    long long bal = 0;
    json_object *o;
    int rc;

    if (argc < 1) {
        return usage();
    }
    if ((rc = open_db(adm, 0))) {
        return rc;
    }
    if (acp_billing_balance(adm->db, adm->pool, argv[0], &bal) != APR_SUCCESS) {
        return fail(adm, 1, apr_psprintf(adm->pool, "no billing holder '%s'", argv[0]));
    }
    o = json_object_new_object();
    json_object_object_add(o, "holder", json_object_new_string(argv[0]));
    json_object_object_add(o, "balance", json_object_new_int64(bal));
    emit(adm, o, apr_psprintf(adm->pool, "%" APR_INT64_T_FMT "\n", (apr_int64_t)bal));
    return 0;
}

static int cmd_invoice(adm_t *adm, int argc, char **argv)
{
    const char *ref = opt(argc, argv, "--reference"), *amt = opt(argc, argv, "--amount");
    const char **inv = NULL;
    long long amount = 0;
    int credited = 0, rc;
    apr_status_t rv;
    json_object *o;

    if (argc < 2 || strcmp(argv[0], "pay") != 0) {
        return usage();
    }
    if (!ref || !*ref) {
        return fail(adm, EXIT_USAGE, "invoice pay needs --reference");
    }
    if ((rc = open_db(adm, 0))) {
        return rc;
    }
    if (acp_sa_row(adm->db, adm->pool, "acp_invoice_get", &inv, ACP_SA_ARGS(argv[1])) !=
            APR_SUCCESS ||
        !inv) {
        return fail(adm, 1, apr_psprintf(adm->pool, "no invoice '%s'", argv[1]));
    }
    if (amt && parse_amount(amt, &amount) != 0) {
        return fail(adm, EXIT_USAGE, "--amount must be a positive integer of minor units");
    }
    if (!amt) {
        amount = acp_sa_atoll(inv[3]) - acp_sa_atoll(inv[4]);
        if (amount <= 0) {
            return fail(adm, EXIT_USAGE, "invoice is already paid; give --amount to add more");
        }
    }
    if ((rc = with_tx(adm))) {
        return rc;
    }
    rv = acp_billing_payment_tx(adm->db, adm->pool, argv[1], amount, NULL, ref,
                                apr_pstrcat(adm->pool, "staff:", adm->actor, NULL), &credited);
    if ((rc = finish(adm, rv, "invoice pay"))) {
        return rc;
    }
    o = json_object_new_object();
    json_object_object_add(o, "invoice", json_object_new_string(argv[1]));
    json_object_object_add(o, "credited", json_object_new_boolean(credited));
    emit(adm, o, credited ? "payment recorded\n" : "this reference was already recorded\n");
    return 0;
}

int main(int argc, char **argv)
{
    adm_t adm;
    const char *conf = NULL, *err = NULL;
    int i, rc;

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
        else if (!strcmp(argv[i], "--json")) {
            adm.json = 1;
        }
        else {
            return usage();
        }
    }
    if (!adm.driver || !adm.params) {
        if (!conf) {
            conf = "/etc/apache2/apache2.conf";
        }
        if (adm_conf_read(&adm, conf, &err) != 0) {
            return fail(&adm, 1, err);
        }
    }
    if (i >= argc) {
        return usage();
    }
    /* --json may also follow the command */
    for (rc = i; rc < argc; rc++) {
        if (!strcmp(argv[rc], "--json")) {
            adm.json = 1;
        }
    }
    if (!strcmp(argv[i], "migrate")) {
        return cmd_migrate(&adm);
    }
    if (!strcmp(argv[i], "eab")) {
        return cmd_eab(&adm, argc - i - 1, argv + i + 1);
    }
    if (!strcmp(argv[i], "credit") || !strcmp(argv[i], "debit")) {
        return cmd_money(&adm, !strcmp(argv[i], "credit"), argc - i - 1, argv + i + 1);
    }
    if (!strcmp(argv[i], "balance")) {
        return cmd_balance(&adm, argc - i - 1, argv + i + 1);
    }
    if (!strcmp(argv[i], "invoice")) {
        return cmd_invoice(&adm, argc - i - 1, argv + i + 1);
    }
    return usage();
}
