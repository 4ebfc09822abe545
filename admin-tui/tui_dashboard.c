/* Console screen 1: the dashboard (totals, orders by status, revenue, expiring). */
#include <apr_strings.h>
#include "tui.h"

static apr_int64_t num(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && v ? (apr_int64_t)json_object_get_int64(v) : 0;
}

static const char *money(tui_t *t, json_object *o, const char *k)
{
    return adm_fmt(t->adm, t->data, "amount", json_object_object_get(o, k));
}

static int load(tui_t *t, const char **err)
{
    json_object *d = NULL, *orders = NULL, *exp = NULL;
    char *text, *st = "";
    int rc = adm_dashboard(t->adm, t->data, &d, err);

    if (rc != ADM_OK) {
        return rc;
    }
    text = apr_psprintf(t->data,
                        "Accounts          %8" APR_INT64_T_FMT "      Certificates issued   %8" APR_INT64_T_FMT "\n"
                        "Billing holders   %8" APR_INT64_T_FMT "      Expiring within 30 d  %8" APR_INT64_T_FMT "\n"
                        "Holders' balance  %s\n"
                        "Open invoices     %8" APR_INT64_T_FMT "      due %s\n"
                        "Revenue today     %-14s Charged today     %s\n"
                        "Revenue month     %-14s Charged month     %s\n",
                        num(d, "accounts"), num(d, "certificates"), num(d, "holders"),
                        num(d, "expiring_30d"), money(t, d, "holders_balance"),
                        num(d, "open_invoices"), money(t, d, "open_amount"),
                        money(t, d, "revenue_today"), money(t, d, "charged_today"),
                        money(t, d, "revenue_month"), money(t, d, "charged_month"));
    if (json_object_object_get_ex(d, "orders", &orders)) {
        json_object_object_foreach(orders, k, v)
        {
            st = apr_psprintf(t->data, "%s  %s %" APR_INT64_T_FMT, st, k, (apr_int64_t)json_object_get_int64(v));
        }
    }
    text = apr_pstrcat(t->data, text, "\nOrders by status:\n", *st ? st : "  (none)", "\n", NULL);
    if (json_object_object_get_ex(d, "expiring", &exp)) {
        text = apr_pstrcat(t->data, text, "\nCertificates expiring within 30 days:\n",
                           adm_table(t->adm, t->data, exp, "serial,names,holder,not_after"),
                           NULL);
    }
    text = apr_pstrcat(t->data, text,
                       "\nRevenue: payments received. Charged: debits minus refunds, including what\n"
                       "welcome and goodwill credits paid for. Open invoices: only those still\n"
                       "waiting (not expired, their order still open). UTC days and months.\n", NULL);
    tui_set_page(t, text);
    return ADM_OK;
}

const tui_screen_t tui_dashboard = {NULL, NULL, NULL, NULL, NULL, load, NULL};
