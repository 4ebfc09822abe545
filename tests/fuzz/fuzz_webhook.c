/* The payment webhook, both halves of untrusted input. First byte even: the rest is the
 * AcmePay-Signature header, checked against a fixed body (acp_webhook_verify). Odd: the
 * rest is the body, correctly signed, through the whole webhook handler
 * (acp_wfe_pay_webhook) into a real SQLite database holding one open invoice; every
 * 1024 inputs the books must still balance (ledger sum = balance). */
#include "fuzz_common.h"
#include "acp_webhook.h"
#include "acp_wfe.h"
#include "acp_util.h"

static const unsigned char secret[] = "fuzz-webhook-secret-0123456789";
static acp_db_t *db;
static acp_wfe_cfg_t cfg;

static acp_db_t *get_db(void *baton)
{
    return db;
}

static void books_balance(apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *bal = NULL, *sum = NULL;

    if (apr_dbd_select(db->driver, p, db->handle, &res,
                       "SELECT b.balance, (SELECT COALESCE(SUM(delta), 0) FROM ledger l "
                       "WHERE l.billing_id = b.id) FROM billing b WHERE b.id = 'fuzzholder'",
                       0) != 0) {
        fuzz_die("books query");
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        bal = apr_pstrdup(p, apr_dbd_get_entry(db->driver, row, 0));
        sum = apr_pstrdup(p, apr_dbd_get_entry(db->driver, row, 1));
    }
    if (!bal || !sum || strcmp(bal, sum) != 0) {
        fprintf(stderr, "books do not balance: balance %s, ledger %s\n", bal, sum);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char fixed_body[] =
        "{\"invoice\":\"fuzzinv\",\"amount\":100,\"currency\":\"CNY\",\"reference\":\"r1\"}";
    static unsigned long runs;
    apr_pool_t *p;
    const char *why = NULL;

    if (size < 1) {
        return 0;
    }
    fuzz_init_apr();
    if (!db) {
        db = fuzz_db();
        fuzz_sql(db, "INSERT INTO billing (id, kind, label, balance, created) "
                     "VALUES ('fuzzholder', 'account', NULL, 0, 1)");
        fuzz_sql(db, "INSERT INTO invoices (id, billing_id, order_id, amount, paid, currency, "
                     "status, pay_url, eth_wei, created, expires) VALUES ('fuzzinv', "
                     "'fuzzholder', NULL, 1000, 0, 'CNY', 'open', NULL, NULL, 1, 4000000000)");
        acp_wfe_cfg_defaults(&cfg);
        memcpy(cfg.webhook_secret, secret, sizeof(secret) - 1);
        cfg.webhook_secret_len = sizeof(secret) - 1;
    }
    apr_pool_create(&p, fuzz_root);
    if (data[0] % 2 == 0) {
        acp_webhook_verify(p, secret, sizeof(secret) - 1, fuzz_str(p, data + 1, size - 1),
                           fixed_body, sizeof(fixed_body) - 1, FUZZ_NOW, 300, &why);
    }
    else {
        acp_wfe_t wfe;
        acp_req_t req;
        acp_resp_t resp;
        memset(&wfe, 0, sizeof(wfe));
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        wfe.cfg = &cfg;
        wfe.get_db = get_db;
        req.method = "POST";
        req.base_url = "https://fuzz.test/acme";
        req.path = "/pay/webhook";
        req.content_type = "application/json";
        req.body = fuzz_str(p, data + 1, size - 1);
        req.body_len = size - 1;
        req.pay_signature = acp_webhook_sign(p, secret, sizeof(secret) - 1, req.body,
                                             req.body_len, acp_now());
        resp.headers = apr_table_make(p, 4);
        acp_wfe_pay_webhook(p, &wfe, &req, &resp);
        if (resp.status < 200 || resp.status > 599) {
            abort();
        }
        if (++runs % 1024 == 0) {
            books_balance(p);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
