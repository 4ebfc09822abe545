/* acme-pay-admin chain: the transfers the chain watcher saw (chain list) and staff
 * giving an unmatched one to a holder (chain assign, an audited payment ledger row). */
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_chain.h"
#include "acp_billing.h"
#include "acp_money.h"
#include "acp_util.h"

static const char *const cols[] = {"reference", "block", "tx",      "from",    "token",
                                   "value",     "amount", "status", "invoice", "holder",
                                   "seen",      "assigned_by", "reason"};

static int chain_list(adm_t *adm, int argc, char **argv)
{
    const char *status = adm_opt(argc, argv, "--status"), *err = NULL;
    apr_array_header_t *rows = NULL;
    json_object *arr, *o;
    int i, j;

    if (!status) {
        status = "all";
    }
    if (strcmp(status, "all") && strcmp(status, "unmatched") && strcmp(status, "credited") &&
        strcmp(status, "assigned")) {
        return adm_fail(adm, ADM_USAGE, "chain list --status all|unmatched|credited|assigned");
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    if (acp_sa_rows(adm->db, adm->pool, "acp_chain_transfer_list", &rows,
                    ACP_SA_ARGS(status, status, "1000")) != APR_SUCCESS) {
        return adm_fail(adm, ADM_FAIL, acp_sa_error(adm->db, adm->pool, 1));
    }
    arr = adm_jpool(adm->pool, json_object_new_array());
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        json_object *t = json_object_new_object();
        for (j = 0; j < (int)(sizeof(cols) / sizeof(cols[0])); j++) {
            if (j == 1 || j == 6 || j == 10) {
                json_object_object_add(t, cols[j], json_object_new_int64(acp_sa_atoll(r[j])));
            }
            else {
                json_object_object_add(t, cols[j], r[j] ? json_object_new_string(r[j]) : NULL);
            }
        }
        json_object_array_add(arr, t);
    }
    o = adm_jpool(adm->pool, json_object_new_object());
    json_object_object_add(o, "transfers", json_object_get(arr));
    adm_emit(adm, o,
             apr_pstrcat(adm->pool,
                         adm_table(adm, adm->pool, arr,
                                   "reference,block,value,amount,status,invoice,holder"),
                         adm_count(adm->pool, rows->nelts, "transfer", "transfers"), "\n",
                         NULL));
    return ADM_OK;
}

int adm_op_chain_assign(adm_t *adm, apr_pool_t *p, const char *ref, const char *holder,
                        const char *reason, adm_result_t *r)
{
    const char *err = NULL;
    long long amount = 0, balance = 0;
    apr_status_t rv;
    json_object *o;

    if (!ref || !*ref || !holder || !*holder) {
        return adm_result(r, ADM_USAGE, "usage: chain assign REFERENCE HOLDER --reason R", NULL);
    }
    if (!reason || !*reason) {
        return adm_result(r, ADM_USAGE, "chain assign needs a reason (--reason); nothing changed",
                          NULL);
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_result(r, ADM_FAIL, err, NULL);
    }
    rv = acp_chain_assign_tx(adm->db, p, ref, holder, apr_pstrcat(p, "staff:", adm->actor, NULL),
                             reason, &amount);
    if (rv != APR_SUCCESS) {
        const char *why;
        acp_sa_rollback(adm->db);
        why = rv == APR_NOTFOUND
                  ? apr_psprintf(p, "no unmatched transfer '%s' (or no holder '%s')", ref, holder)
              : rv == APR_EINVAL ? "the transfer is worth less than one minor unit"
                                 : acp_sa_error(adm->db, p, 1);
        return adm_result(r, rv == APR_NOTFOUND || rv == APR_EINVAL ? ADM_USAGE : ADM_FAIL, why,
                          NULL);
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return adm_result(r, ADM_FAIL, "chain assign: commit failed", NULL);
    }
    acp_billing_balance(adm->db, p, holder, &balance);
    o = adm_jpool(p, json_object_new_object());
    json_object_object_add(o, "reference", json_object_new_string(ref));
    json_object_object_add(o, "holder", json_object_new_string(holder));
    json_object_object_add(o, "amount", json_object_new_int64(amount));
    json_object_object_add(o, "balance", json_object_new_int64(balance));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    return adm_result(r, ADM_OK,
                      apr_psprintf(p, "assigned to %s: %s credited, balance %s (transfer %s)",
                                   holder, acp_money(p, amount, adm_currency(adm)),
                                   acp_money(p, balance, adm_currency(adm)), ref),
                      o);
}

static int chain_assign(adm_t *adm, int argc, char **argv)
{
    adm_result_t r;

    adm_op_chain_assign(adm, adm->pool, argc > 1 && argv[1][0] != '-' ? argv[1] : NULL,
                        argc > 2 && argv[2][0] != '-' ? argv[2] : NULL,
                        adm_opt(argc, argv, "--reason"), &r);
    if (r.code != ADM_OK) {
        return adm_fail(adm, r.code, r.msg);
    }
    adm_emit(adm, r.out, apr_pstrcat(adm->pool, r.msg, "\n", NULL));
    return ADM_OK;
}

int adm_cmd_chain(adm_t *adm, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "list")) {
        return chain_list(adm, argc, argv);
    }
    if (argc >= 1 && !strcmp(argv[0], "assign")) {
        return chain_assign(adm, argc, argv);
    }
    return adm_fail(adm, ADM_USAGE,
                    "usage: chain list [--status S] | chain assign REFERENCE HOLDER --reason R");
}
