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
#include "acp_money.h"

#ifndef ACP_VERSION
#define ACP_VERSION "0.9.0"
#endif

/* The help text, one entry per command: `--help` prints them all, `help COMMAND` one
 * (the manual page is generated from the same text). */
typedef struct help_t {
    const char *name, *synopsis, *text;
} help_t;

static const help_t helps[] = {
    {"tui", "tui", "The console (the default on a terminal). F1 or ? lists its keys."},
    {"find", "find TEXT [--all] [--complete] [--limit N]",
     "Search holders, accounts (contact e-mail), orders, invoices (the id a customer "
     "pastes), certificates (names; serials as hex with or without colons, 0x, or decimal), "
     "EAB keys and payment references at once. TEXT: 3 characters or more. Exact keys "
     "first, then whole words, then any part of the text (--all: any part even after exact "
     "or word matches). The any-part lookups share 25 ms; a kind stopped there is answered "
     "from its newest records and named as partial (--complete: wait for every match)."},
    {"dashboard", "dashboard",
     "Totals, open invoices (only those still waiting), revenue (payments received minus "
     "refunds of payments) and "
     "charges (debits minus refunds), orders by status, certificates expiring in 30 days."},
    {"holders", "holders list [--search S]", "Billing holders with their balance."},
    {"accounts", "accounts list [--holder H] [--search S]",
     "ACME accounts; --search matches the id and contacts (e-mail)."},
    {"orders", "orders list [--status S] [--unpaid] [--holder H] [--search S]",
     "Orders; --unpaid: those with an open invoice; --search matches names and the id."},
    {"certs", "certs list [--search NAME] [--serial PREFIX] [--holder H]",
     "Certificates; --serial takes a hex prefix (colons and 0x are ignored)."},
    {"invoices", "invoices list [--status open|paid|expired|superseded|voided] [--holder H] "
                 "[--order O] [--search ID]",
     "Invoices. superseded: the balance covered it, or the order was charged or reissued "
     "free; voided: by staff."},
    {"ledger", "ledger list [--holder H] [--order O] [--invoice I] [--search ID|REFERENCE]",
     "The ledger, append-only, in the order rows were written."},
    {"eab", "eab list | eab create --label L | eab disable KID",
     "EAB keys. create shows the key id and HMAC key once."},
    {"show", "show holder|account|order|cert|invoice|ledger ID",
     "One record with everything around it; every page names the holder and its balance. "
     "cert takes an id or a serial in any format."},
    {"balance", "balance HOLDER", "A holder's balance, with the currency."},
    {"credit", "credit HOLDER AMOUNT --reason R [--yes]",
     "Add money. AMOUNT in currency units (10, 10.00); minor units with the suffix minor "
     "(1000minor). Shows holder, amount and the new balance and asks first on a terminal "
     "unless --yes."},
    {"debit", "debit HOLDER AMOUNT --reason R [--yes]",
     "Take money (never below zero); AMOUNT and confirmation as for credit."},
    {"invoice", "invoice pay ID --reference R [--amount A] [--yes] | invoice void ID --reason R",
     "pay: record a payment (the webhook's path, once per reference; the amount due when "
     "--amount is not given). void: close an open invoice that should not be paid."},
    {"chain", "chain list [--status all|unmatched|credited|assigned] | "
              "chain assign REFERENCE HOLDER --reason R",
     "Transfers the Ethereum chain watcher saw (reference eth:CHAIN:TX:INDEX, value in wei, "
     "amount in minor units). assign: give an unmatched transfer to a holder, a payment "
     "ledger row naming the staff member and reason."},
    {"refund", "refund record --holder H|--invoice I --amount A --provider P --reference REF "
               "[--refund-id ID] --reason R [--yes]",
     "Record a refund made in a payment provider's console: the payment is REF as the "
     "provider names it (stored as P:REF; --provider webhook for payments the generic "
     "webhook credited), and must belong to the holder or invoice given. The holder is "
     "debited with a ledger row (kind payment_refund, reference refund:P:REF[:ID]) naming "
     "the staff member and reason; never more than that payment credited in total, never "
     "below zero. Recorded once per payment and --refund-id (the provider's refund number, "
     "for several partial refunds): the same record again changes nothing. Confirmation as "
     "for credit."},
    {"revoke", "revoke SERIAL --reason CODE|NAME [--yes]",
     "Revoke: 0 unspecified, 1 keyCompromise, 3 affiliationChanged, 4 superseded, "
     "5 cessationOfOperation, 9 privilegeWithdrawn. Asks first on a terminal unless --yes."},
    {"crl", "crl list | crl show SHARD [--out FILE] | crl regenerate SHARD|--all",
     "CRLs (AcmePayCRLURL): every shard's number, thisUpdate, nextUpdate, entries and state; "
     "one shard's (--out writes its DER); regenerate signs the shard(s) now with the "
     "AcmePayCA key (-f apache.conf or --ca CERT KEY), numbers still only grow."},
    {"reissue", "reissue SERIAL --reason TEXT [--no-wait]",
     "Re-sign the order's stored CSR (new serial, no charge, never outliving the old one). "
     "The running server signs it (a job its workers run): no CA key is needed here. "
     "Waits up to 30 s for the new serial unless --no-wait. With --ca CERT KEY the tool "
     "signs itself."},
    {"renew", "renew SERIAL | [--holder H] [--name PATTERN] [--issued-before TIME] "
              "--reason TEXT [--by 1h] [--url URL] [--yes]",
     "Ask clients to renew now (RFC 9773 ARI): the certificate's suggested window becomes "
     "now ... now+DURATION (--by, default 1h) with the reason as explanation; clients that "
     "poll renewalInfo (mod_md, acme.sh, lego, Caddy) renew by themselves, free of charge. "
     "Without a SERIAL every live certificate matching the filters; the count is shown and "
     "asked for on a terminal, --yes otherwise."},
    {"revenue", "revenue [--since DATE]",
     "Charges minus refunds per profile (the product sold) since DATE (default: the first "
     "of this month, UTC), with the number of orders."},
    {"subscriptions",
     "subscriptions list [--holder H] [--active] [--expiring] | show ID | extend ID DURATION "
     "--reason R | cancel ID --reason R [--refund prorata|none] | revenue",
     "Subscriptions (profiles sold as a term): list them (active, upcoming, ended, cancelled, "
     "void; --active running, --expiring running and ending within 30 days), show one with "
     "its ledger rows, extend its end (free, audited), cancel it with the refund policy "
     "(AcmePaySubscriptionRefund, pro rata by default), revenue per profile."},
    {"org", "org create HOLDER --name N --country CC (--locality L | --state S) "
            "[--evidence E] | org edit ORG [--name N] [--locality L] [--state S] [--country CC] "
            "[--evidence E] --reason R | org vet ORG [--evidence E] [--vetted-at DATE] "
            "[--days N] | org revoke ORG --reason R [--yes] | org show ORG | "
            "org list [--holder H] [--status vetted|unvetted|expired|revoked]",
     "Organizations for OV certificates (profiles with the ov option), one per billing "
     "holder; ORG is the organization's id or its holder's. create: legal name (at most 64 "
     "characters), locality and/or state or province, country (ISO 3166-1 alpha-2), the "
     "evidence reference. vet: records who vetted it (--actor) and when (now, or "
     "--vetted-at for a vetting done earlier); it is current for --days (default "
     "AcmePayOVVettingDays, 397) and never beyond AcmePayOVVettingDays after vetted_at. "
     "edit: changing the name, locality, state or country clears the vetting. revoke: OV "
     "orders of the holder are refused until vetted again. Every change is audited (who, "
     "when, the fields, the reason); show lists the trail."},
    {"migrate", "migrate", "Create or upgrade the schema."},
    {"info", "info",
     "Which database was opened (driver, parameters with the password masked), the server "
     "of -f it came from (the one with SetHandler acme-pay, or --vhost NAME), the key file, "
     "and whether the secrets in the database are sealed."},
    {"help", "help [COMMAND]", "This text, or one command's."},
    {NULL, NULL, NULL}};

static const char common[] =
    "usage: acme-pay-admin [-f apache.conf [--vhost NAME] | --driver D --params P]\n"
    "                      [--key-file F] [--json] [--actor NAME] [--ca CERT KEY] [--yes]\n"
    "                      COMMAND ...\n";

static const char list_opts[] =
    "list options: --limit N (default 100) --after CURSOR (printed when there is more)\n"
    "              --since DATE --until DATE (YYYY-MM-DD[ HH:MM], UTC) --oldest-first\n"
    "              --csv --json\n"
    "              --search: the newest 1,000 records first (a text they hold more\n"
    "              than a page of: the list scanned newest first), else whole words\n"
    "              (the word index), else any part (the trigram index), then the scan;\n"
    "              each within 20 to 30 ms; when all stop, the newest records' matches,\n"
    "              named partial; --complete waits for any part through the index;\n"
    "              --timing prints how long and which way on stderr\n";

static void print_help(FILE *f)
{
    const help_t *h;

    fputs(common, f);
    fputs("\ncommands:\n", f);
    for (h = helps; h->name; h++) {
        fprintf(f, "  %s\n", h->synopsis);
    }
    fputs("\n", f);
    fputs(list_opts, f);
    fputs("\n`acme-pay-admin help COMMAND` explains one command.\n"
          "exit codes: 0 ok, 1 not found / database or CA failure, 2 usage or bad input\n",
          f);
}

static int usage(void)
{
    fputs(common, stderr);
    fputs("`acme-pay-admin --help` lists the commands.\n", stderr);
    return ADM_USAGE;
}

static int help(int argc, char **argv)
{
    const help_t *h;

    if (argc < 1) {
        print_help(stdout);
        return ADM_OK;
    }
    for (h = helps; h->name; h++) {
        if (!strcmp(h->name, argv[0]) ||
            (!strcmp(h->name, "certs") && !strcmp(argv[0], "cert")) ||
            (!strcmp(h->name, "holders") && !strcmp(argv[0], "holder"))) {
            const char *t = h->text;
            printf("usage: acme-pay-admin %s\n\n", h->synopsis);
            /* wrap at 78 columns */
            while (*t) {
                size_t n = strlen(t), cut = n;
                if (n > 78) {
                    cut = 78;
                    while (cut > 0 && t[cut] != ' ') {
                        cut--;
                    }
                    if (cut == 0) {
                        cut = 78;
                    }
                }
                printf("%.*s\n", (int)cut, t);
                t += cut;
                while (*t == ' ') {
                    t++;
                }
            }
            if (strstr(h->synopsis, " list")) {
                printf("\n%s", list_opts);
            }
            return ADM_OK;
        }
    }
    fprintf(stderr, "acme-pay-admin: no command '%s'; `acme-pay-admin --help` lists them\n",
            argv[0]);
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

/* Database parameters without the password (pgsql "password=…" and URI user:pass@). */
static const char *redacted(apr_pool_t *p, const char *params)
{
    const char *pw = params ? strstr(params, "password=") : NULL;
    const char *end;

    if (!pw) {
        return params;
    }
    end = pw + 9;
    if (*end == '\'') {
        const char *q = strchr(end + 1, '\'');
        end = q ? q + 1 : end + strlen(end);
    }
    else {
        end += strcspn(end, " \t");
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, params, (apr_size_t)(pw - params)), "password=***",
                       end, NULL);
}

static int cmd_info(adm_t *adm)
{
    const char *err = NULL, *db = redacted(adm->pool, adm->params);
    json_object *o = adm_jpool(adm->pool, json_object_new_object());
    int sealed;

    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        const char *at = err && adm->params && *adm->params ? strstr(err, adm->params) : NULL;
        if (at) { /* the driver's message may quote the parameters: mask the password */
            err = apr_pstrcat(adm->pool, apr_pstrmemdup(adm->pool, err, (apr_size_t)(at - err)),
                              db, at + strlen(adm->params), NULL);
        }
        return adm_fail(adm, ADM_FAIL,
                        apr_psprintf(adm->pool, "%s database %s: %s", adm->driver, db,
                                     err ? err : "cannot open"));
    }
    sealed = adm_db_sealed(adm, adm->pool);
    json_object_object_add(o, "config", adm->conf ? json_object_new_string(adm->conf) : NULL);
    json_object_object_add(o, "server", adm->server ? json_object_new_string(adm->server) : NULL);
    json_object_object_add(o, "driver", json_object_new_string(adm->driver));
    json_object_object_add(o, "database", json_object_new_string(db));
    json_object_object_add(o, "key_file",
                           adm->key_file ? json_object_new_string(adm->key_file) : NULL);
    json_object_object_add(o, "secrets", json_object_new_string(sealed ? "sealed" : "clear"));
    adm_emit(adm, o,
             apr_psprintf(adm->pool,
                          "config:   %s\nserver:   %s\ndatabase: %s %s\nkey file: %s\n"
                          "secrets:  %s\n",
                          adm->conf ? adm->conf : "(none: --driver/--params)",
                          adm->server ? adm->server : "-", adm->driver, db,
                          adm->key_file ? adm->key_file : "(none)",
                          sealed ? "sealed (AES-256-GCM under the key file)" : "in clear"));
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
    json_object_object_add(o, "currency", json_object_new_string(adm_currency(adm)));
    adm_emit(adm, o,
             apr_pstrcat(adm->pool,
                         acp_money(adm->pool, acp_sa_atoll(row[3]), adm_currency(adm)), "\n",
                         NULL));
    return ADM_OK;
}

static int dispatch(adm_t *adm, int argc, char **argv)
{
    const char *c = argv[0];

    if (!strcmp(c, "help")) {
        return help(argc - 1, argv + 1);
    }
    if (!strcmp(c, "find")) {
        return adm_cmd_find(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "info")) {
        return cmd_info(adm);
    }
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
    if (!strcmp(c, "crl")) {
        return adm_cmd_crl(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "chain")) {
        return adm_cmd_chain(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "refund")) {
        return adm_cmd_refund(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "subscriptions")) {
        return adm_cmd_subscriptions(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "org") || !strcmp(c, "orgs")) {
        return adm_cmd_org(adm, argc - 1, argv + 1);
    }
    if (argc >= 2 && !strcmp(argv[1], "list")) {
        return adm_cmd_list(adm, argc, argv);
    }
    if (!strcmp(c, "show")) {
        return adm_cmd_show(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "credit") || !strcmp(c, "debit")) {
        return adm_cmd_money(adm, !strcmp(c, "credit"), argc - 1, argv + 1);
    }
    if (!strcmp(c, "balance")) {
        return cmd_balance(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "invoice")) {
        return adm_cmd_invoice(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "revoke")) {
        return adm_cmd_revoke(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "reissue")) {
        return adm_cmd_reissue(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "renew")) {
        return adm_cmd_renew(adm, argc - 1, argv + 1);
    }
    if (!strcmp(c, "revenue")) {
        return adm_cmd_revenue(adm, argc - 1, argv + 1);
    }
    return usage();
}

int main(int argc, char **argv)
{
    adm_t adm;
    const char *conf = NULL, *err = NULL, *ca_cert = NULL, *ca_key = NULL, *key_file = NULL;
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
        else if (!strcmp(argv[i], "--vhost") && i + 1 < argc) {
            adm.vhost = argv[++i];
        }
        else if (!strcmp(argv[i], "--key-file") && i + 1 < argc) {
            key_file = argv[++i];
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
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(stdout);
            return ADM_OK;
        }
        else if (!strcmp(argv[i], "--version")) {
            printf("acme-pay-admin %s\n", ACP_VERSION);
            return ADM_OK;
        }
        else {
            return usage();
        }
    }
    /* help needs no database and no configuration */
    if (i < argc && !strcmp(argv[i], "help")) {
        return help(argc - i - 1, argv + i + 1);
    }
    for (j = i; j < argc; j++) {
        if (!strcmp(argv[j], "--help") && !(j > i && !strcmp(argv[j - 1], "--reason"))) {
            return help(1, argv + i);
        }
    }
    /* --json may also follow the command */
    for (j = i; j < argc; j++) {
        if (!strcmp(argv[j], "--json")) {
            adm.json = 1;
        }
        if (!strcmp(argv[j], "--yes")) {
            adm.yes = 1;
        }
    }
    if (conf || !adm.driver || !adm.params) {
        const char *drv = adm.driver, *prm = adm.params;
        if (!conf) {
            conf = "/etc/apache2/apache2.conf";
        }
        if (adm_conf_read(&adm, conf, &err) != 0) {
            if (!drv || !prm) {
                return adm_fail(&adm, ADM_FAIL, err);
            }
        }
        else {
            adm.conf = conf;
        }
        adm.driver = drv ? drv : adm.driver;   /* flags win over the file */
        adm.params = prm ? prm : adm.params;
    }
    if (key_file) {
        adm.key_file = key_file;
    }
    if (ca_cert) {
        adm.ca_cert = ca_cert;
        adm.ca_key = ca_key;
        adm.ca_local = 1;
    }

    if (i >= argc) {
        if (isatty(0) && isatty(1)) {
            return adm_tui(&adm);
        }
        return usage();
    }
    return dispatch(&adm, argc - i, argv + i);
}
