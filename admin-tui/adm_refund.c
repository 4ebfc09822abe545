/* acme-pay-admin refund record: a refund made in a payment provider's console, recorded by
 * staff. Shows payment, holder, amount and the new balance first and, on a terminal, asks
 * (unless --yes); bad input is refused before anything is asked or written. */
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include "adm.h"
#include "acp_money.h"
#include "acp_refund.h"
#include "acp_util.h"

#define USAGE                                                                              \
    "usage: refund record --holder H|--invoice I --amount A --provider P --reference REF "  \
    "[--refund-id ID] --reason R [--yes]"

static int refused(adm_t *adm, apr_status_t rv, const acp_refund_t *rf)
{
    if (rv == APR_NOTFOUND || rv == APR_EINVAL) {
        return adm_fail(adm, ADM_USAGE, apr_pstrcat(adm->pool, "refund refused: ",
                                                    rf->why ? rf->why : "bad input", NULL));
    }
    return adm_fail(adm, ADM_FAIL, acp_sa_error(adm->db, adm->pool, 1));
}

static int record(adm_t *adm, int argc, char **argv)
{
    const char *amount = adm_opt(argc, argv, "--amount"), *err = NULL, *why = NULL;
    acp_refund_t rf;
    apr_status_t rv;
    json_object *o;

    memset(&rf, 0, sizeof(rf));
    rf.holder = adm_opt(argc, argv, "--holder");
    rf.invoice = adm_opt(argc, argv, "--invoice");
    rf.provider = adm_opt(argc, argv, "--provider");
    rf.reference = adm_opt(argc, argv, "--reference");
    rf.refund_id = adm_opt(argc, argv, "--refund-id");
    rf.reason = adm_opt(argc, argv, "--reason");
    rf.actor = apr_pstrcat(adm->pool, "staff:", adm->actor, NULL);
    if ((!rf.holder && !rf.invoice) || !amount || !rf.provider || !rf.reference) {
        return adm_fail(adm, ADM_USAGE, USAGE);
    }
    if (adm_parse_money(adm, amount, &rf.amount, &why) != 0) {
        return adm_fail(adm, ADM_USAGE, apr_pstrcat(adm->pool, "--amount: ", why, NULL));
    }
    if (adm_open_db(adm, 0, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    rv = acp_refund_check(adm->db, adm->pool, &rf);
    if (rv != APR_SUCCESS) {
        return refused(adm, rv, &rf);
    }
    if (rf.recorded && !adm->yes && !adm_flag(argc, argv, "--yes") && isatty(0) &&
        !adm_confirm(apr_psprintf(adm->pool,
                                  "Record a refund of %s of payment %s (invoice %s, credited "
                                  "%s) for %s: balance %s -> %s?",
                                  acp_money(adm->pool, rf.amount, rf.currency), rf.payment_ref,
                                  rf.invoice_id, acp_money(adm->pool, rf.paid, rf.currency),
                                  rf.billing_id, acp_money(adm->pool, rf.balance, rf.currency),
                                  acp_money(adm->pool, rf.balance - rf.amount, rf.currency)))) {
        return adm_fail(adm, ADM_USAGE, "not confirmed; nothing changed");
    }
    if (adm_begin(adm, &err) != ADM_OK) {
        return adm_fail(adm, ADM_FAIL, err);
    }
    rv = acp_refund_record_tx(adm->db, adm->pool, &rf);
    if (rv != APR_SUCCESS) {
        int code = refused(adm, rv, &rf);
        acp_sa_rollback(adm->db);
        return code;
    }
    if (acp_sa_commit(adm->db) != APR_SUCCESS) {
        acp_sa_rollback(adm->db);
        return adm_fail(adm, ADM_FAIL, "refund record: commit failed");
    }
    o = adm_jpool(adm->pool, json_object_new_object());
    json_object_object_add(o, "payment", json_object_new_string(rf.payment_ref));
    json_object_object_add(o, "refund_id",
                           json_object_new_string(rf.refund_id ? rf.refund_id : ""));
    json_object_object_add(o, "invoice", json_object_new_string(rf.invoice_id));
    json_object_object_add(o, "holder", json_object_new_string(rf.billing_id));
    json_object_object_add(o, "amount", json_object_new_int64(rf.amount));
    json_object_object_add(o, "currency", json_object_new_string(rf.currency));
    json_object_object_add(o, "refunded", json_object_new_int64(rf.refunded));
    json_object_object_add(o, "paid", json_object_new_int64(rf.paid));
    json_object_object_add(o, "balance", json_object_new_int64(rf.balance));
    json_object_object_add(o, "recorded", json_object_new_boolean(rf.recorded));
    json_object_object_add(o, "reference",
                           json_object_new_string(acp_refund_ledger_ref(adm->pool, &rf)));
    json_object_object_add(o, "actor", json_object_new_string(adm->actor));
    json_object_object_add(o, "reason", json_object_new_string(rf.reason));
    adm_emit(adm, o,
             rf.recorded
                 ? apr_psprintf(adm->pool,
                                "refund of %s recorded for payment %s (%s of %s refunded): "
                                "%s debited, balance %s\n",
                                acp_money(adm->pool, rf.amount, rf.currency), rf.payment_ref,
                                acp_money(adm->pool, rf.refunded, rf.currency),
                                acp_money(adm->pool, rf.paid, rf.currency), rf.billing_id,
                                acp_money(adm->pool, rf.balance, rf.currency))
                 : apr_psprintf(adm->pool,
                                "this refund of payment %s was recorded before; nothing "
                                "changed\n",
                                rf.payment_ref));
    return ADM_OK;
}

int adm_cmd_refund(adm_t *adm, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "record")) {
        return record(adm, argc, argv);
    }
    return adm_fail(adm, ADM_USAGE, USAGE);
}
