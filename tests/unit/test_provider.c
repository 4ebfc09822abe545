/* Payment providers: the shared helpers (forms, exact decimals), Stripe's webhook
 * signature scheme (signatures computed here with OpenSSL's HMAC directly, not through the
 * module's code), and the notification dispatcher + checkout hook against a real SQLite
 * file with a provider made here ("fake"): credited once per transaction id, every bad
 * notification changes nothing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/hmac.h>
#include <apr_strings.h>
#include <apr_dbd.h>
#include "acp_test.h"
#include "acp_provider.h"
#include "acp_billing.h"
#include "acp_wfe.h"
#include "acp_util.h"

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

static void test_helpers(apr_pool_t *p)
{
    apr_table_t *t;
    long long v = -1;

    CHECK_STR(acp_form_encode(p, "a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9%7E");
    t = acp_form_parse(p, "a=1&b=x+y%21&c=&d&&e=%E4%B8%AD", 30);
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(apr_table_get(t, "a"), "1");
        CHECK_STR(apr_table_get(t, "b"), "x y!");
        CHECK_STR(apr_table_get(t, "c"), "");
        CHECK_STR(apr_table_get(t, "d"), "");
        CHECK_STR(apr_table_get(t, "e"), "\xe4\xb8\xad");
    }
    CHECK(acp_form_parse(p, "a=1&a=2", 7) == NULL);     /* repeated name */
    CHECK(acp_form_parse(p, "a=%2", 4) == NULL);        /* cut escape */
    CHECK(acp_form_parse(p, "a=%zz", 5) == NULL);       /* bad escape */
    CHECK(acp_form_parse(p, "a=%00", 5) == NULL);       /* decoded NUL */
    CHECK(acp_form_parse(p, "=1", 2) == NULL);          /* empty name */
    CHECK(acp_form_parse(p, "a=1\0b=2", 7) == NULL);    /* raw NUL */

    CHECK(acp_decimal_to_minor("88.80", 2, &v) == 0 && v == 8880);
    CHECK(acp_decimal_to_minor("88.8", 2, &v) == 0 && v == 8880);
    CHECK(acp_decimal_to_minor("88", 2, &v) == 0 && v == 8800);
    CHECK(acp_decimal_to_minor("0.01", 2, &v) == 0 && v == 1);
    CHECK(acp_decimal_to_minor("500", 0, &v) == 0 && v == 500);
    CHECK(acp_decimal_to_minor("88.801", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("5.0", 0, &v) == -1);
    CHECK(acp_decimal_to_minor("88.", 2, &v) == -1);
    CHECK(acp_decimal_to_minor(".5", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("-1.00", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("+1.00", 2, &v) == -1);
    CHECK(acp_decimal_to_minor(" 1.00", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("1e3", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("1.0.0", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("99999999999999999999", 2, &v) == -1);
    CHECK(acp_decimal_to_minor("90000000000000000.00", 2, &v) == -1);
    CHECK_STR(acp_minor_to_decimal(p, 8880, 2), "88.80");
    CHECK_STR(acp_minor_to_decimal(p, 1, 2), "0.01");
    CHECK_STR(acp_minor_to_decimal(p, 500, 0), "500");
    CHECK_STR(acp_minor_to_decimal(p, 1234, 3), "1.234");

    CHECK(acp_str_equal_ct("abc", "abc"));
    CHECK(!acp_str_equal_ct("abc", "abd"));
    CHECK(!acp_str_equal_ct("abc", "ab"));

    CHECK(acp_provider_name_ok("stripe") && acp_provider_name_ok("wechat2"));
    CHECK(!acp_provider_name_ok("i") && !acp_provider_name_ok("webhook"));
    CHECK(!acp_provider_name_ok("") && !acp_provider_name_ok("Stripe") &&
          !acp_provider_name_ok("a/b") && !acp_provider_name_ok("abcdefghijklmnopq"));
}

static const char *write_file(apr_pool_t *p, const char *tag, const char *content)
{
    const char *path = apr_psprintf(p, "/tmp/acp-test-provider-%d-%s", (int)getpid(), tag);
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(content, f);
        fclose(f);
    }
    return path;
}

/* Stripe-Signature for body at t, HMAC computed here with OpenSSL directly */
static const char *stripe_sig(apr_pool_t *p, const char *secret, const char *body, apr_int64_t t)
{
    const char *msg = apr_psprintf(p, "%" APR_INT64_T_FMT ".%s", t, body);
    unsigned char mac[32];
    unsigned int len = sizeof(mac);

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), mac,
         &len);
    return acp_hex(p, mac, len);
}

static void test_stripe(apr_pool_t *p)
{
    const char *secret = "whsec_0123456789abcdefghijklmnop";
    apr_table_t *opts = apr_table_make(p, 4), *h = apr_table_make(p, 2);
    const char *sk = write_file(p, "sk", "sk_test_123456789\n");
    const char *wh = write_file(p, "wh", apr_pstrcat(p, secret, "\n", NULL));
    const char *err = NULL, *why = NULL, *paid, *sig, *other;
    acp_provider_t *pv = NULL;
    acp_notice_t n;
    apr_int64_t now = 1700000000;

    /* secrets only from files */
    apr_table_setn(opts, "secret-key", "sk_test_123456789");
    apr_table_setn(opts, "webhook-secret", apr_pstrcat(p, "file:", wh, NULL));
    CHECK(acp_provider_stripe_new(p, opts, &pv, &err) != APR_SUCCESS && err &&
          strstr(err, "file:"));
    apr_table_setn(opts, "secret-key", apr_pstrcat(p, "file:", sk, NULL));
    apr_table_setn(opts, "colour", "blue");
    CHECK(acp_provider_stripe_new(p, opts, &pv, &err) != APR_SUCCESS && err &&
          strstr(err, "colour"));
    apr_table_unset(opts, "colour");
    apr_table_setn(opts, "api", "http://127.0.0.1:1/");
    CHECK(acp_provider_stripe_new(p, opts, &pv, &err) == APR_SUCCESS && pv);
    if (!pv) {
        return;
    }
    CHECK_STR(pv->name, "stripe");

    paid = "{\"id\":\"evt_1\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":"
           "{\"id\":\"cs_test_a1\",\"object\":\"checkout.session\",\"client_reference_id\":"
           "\"INV1\",\"amount_total\":1000,\"currency\":\"cny\",\"payment_status\":\"paid\"}}}";
    sig = stripe_sig(p, secret, paid, now);
    apr_table_setn(h, "Stripe-Signature", apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, sig));
    memset(&n, 0, sizeof(n));
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now, &n, &why) == ACP_NOTICE_OK);
    CHECK(!n.not_payment && n.amount_minor == 1000);
    CHECK_STR(n.invoice_id, "INV1");
    CHECK_STR(n.currency, "CNY");
    CHECK_STR(n.txn_id, "cs_test_a1");
    /* several v1 (secret rolling): any match wins; v0 and unknown keys ignored */
    apr_table_setn(h, "Stripe-Signature",
                   apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s,v1=%s,v0=00", now,
                                stripe_sig(p, "whsec_old_secret_0000000000", paid, now), sig));
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now, &n, &why) == ACP_NOTICE_OK);
    /* within 300 s either way; beyond refused */
    apr_table_setn(h, "Stripe-Signature", apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, sig));
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now + 300, &n, &why) == ACP_NOTICE_OK);
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now + 301, &n, &why) == ACP_NOTICE_FORGED);
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now - 301, &n, &why) == ACP_NOTICE_FORGED);
    /* a changed body, another secret, no header, a malformed header */
    CHECK(pv->verify(pv, p, h, paid, strlen(paid) - 1, now, &n, &why) == ACP_NOTICE_FORGED);
    apr_table_setn(h, "Stripe-Signature",
                   apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, stripe_sig(p, "whsec_other", paid, now)));
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now, &n, &why) == ACP_NOTICE_FORGED);
    apr_table_unset(h, "Stripe-Signature");
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now, &n, &why) == ACP_NOTICE_FORGED);
    apr_table_setn(h, "Stripe-Signature", apr_psprintf(p, "v1=%s", sig));
    CHECK(pv->verify(pv, p, h, paid, strlen(paid), now, &n, &why) == ACP_NOTICE_FORGED);
    /* authentic but not a payment: acknowledged, nothing to credit */
    other = "{\"id\":\"evt_2\",\"type\":\"checkout.session.expired\",\"data\":{\"object\":{}}}";
    apr_table_setn(h, "Stripe-Signature",
                   apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, stripe_sig(p, secret, other, now)));
    memset(&n, 0, sizeof(n));
    CHECK(pv->verify(pv, p, h, other, strlen(other), now, &n, &why) == ACP_NOTICE_OK &&
          n.not_payment);
    other = "{\"id\":\"evt_3\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":"
            "{\"id\":\"cs_2\",\"client_reference_id\":\"INV1\",\"amount_total\":1000,"
            "\"currency\":\"cny\",\"payment_status\":\"unpaid\"}}}";
    apr_table_setn(h, "Stripe-Signature",
                   apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, stripe_sig(p, secret, other, now)));
    memset(&n, 0, sizeof(n));
    CHECK(pv->verify(pv, p, h, other, strlen(other), now, &n, &why) == ACP_NOTICE_OK &&
          n.not_payment);
    /* authentic, a payment, but amount_total missing: malformed */
    other = "{\"id\":\"evt_4\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":"
            "{\"id\":\"cs_3\",\"client_reference_id\":\"INV1\",\"currency\":\"cny\","
            "\"payment_status\":\"paid\"}}}";
    apr_table_setn(h, "Stripe-Signature",
                   apr_psprintf(p, "t=%" APR_INT64_T_FMT ",v1=%s", now, stripe_sig(p, secret, other, now)));
    CHECK(pv->verify(pv, p, h, other, strlen(other), now, &n, &why) == ACP_NOTICE_MALFORMED);
    unlink(sk);
    unlink(wh);
}

/* ---- the dispatcher and the checkout hook, with a provider made here ------------------ */

static int fake_checkouts;

static apr_status_t fake_checkout(const acp_provider_t *pv, apr_pool_t *p, acp_checkout_t *co,
                                  const char **err)
{
    fake_checkouts++;
    co->url = apr_pstrcat(p, "https://fake.test/pay/", co->invoice_id, NULL);
    co->reference = apr_pstrcat(p, "ref-", co->invoice_id, NULL);
    return APR_SUCCESS;
}

static apr_status_t failing_checkout(const acp_provider_t *pv, apr_pool_t *p,
                                     acp_checkout_t *co, const char **err)
{
    *err = "down";
    return APR_EGENERAL;
}

/* body "OK <invoice> <amount> <currency> <txn>" or "BAD" */
static acp_notice_err_t fake_verify(const acp_provider_t *pv, apr_pool_t *p,
                                    const apr_table_t *headers, const char *body, size_t len,
                                    long long now, acp_notice_t *n, const char **why)
{
    char *s = apr_pstrmemdup(p, body, len), *last = NULL;
    const char *w = apr_strtok(s, " ", &last);

    if (!w || strcmp(w, "OK") != 0) {
        *why = "bad signature";
        return ACP_NOTICE_FORGED;
    }
    n->invoice_id = apr_strtok(NULL, " ", &last);
    w = apr_strtok(NULL, " ", &last);
    n->amount_minor = w ? atoll(w) : 0;
    n->currency = apr_strtok(NULL, " ", &last);
    n->txn_id = apr_strtok(NULL, " ", &last);
    return ACP_NOTICE_OK;
}

static void fake_answer(const acp_provider_t *pv, apr_pool_t *p, int ok, int *status,
                        const char **ctype, const char **body, const char *why)
{
    *ctype = "text/plain";
    *body = ok ? "success" : "fail";
}

static acp_db_t *the_db;
static acp_db_t *get_db(void *baton)
{
    return the_db;
}

static int notify(apr_pool_t *p, const acp_wfe_t *wfe, const char *body, const char **note)
{
    acp_req_t req;
    acp_resp_t resp;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    resp.headers = apr_table_make(p, 2);
    req.method = "POST";
    req.path = "/pay/fake";
    req.body = body;
    req.body_len = strlen(body);
    req.headers = apr_table_make(p, 1);
    CHECK(acp_wfe_pay_notify(p, wfe, &req, &resp, "fake") == 1);
    *note = resp.log_note;
    CHECK_STR(resp.body, resp.status == 200 ? "success" : "fail");
    return resp.status;
}

static void test_dispatch(apr_pool_t *p)
{
    const char *path;
    const char *err = NULL, *holder = NULL, *inv, *note = NULL, **row = NULL;
    acp_wfe_cfg_t cfg;
    acp_wfe_t wfe;
    acp_provider_t fake, down;
    apr_array_header_t *list = apr_array_make(p, 2, sizeof(acp_provider_t *));
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(const char *));
    acp_charge_t charge;
    acp_problem_t *prob;
    acp_db_t *db = NULL;
    long long bal = -1;
    int welcomed = 0, ran = 0, i;

    memset(&fake, 0, sizeof(fake));
    fake.name = "fake";
    fake.checkout = fake_checkout;
    fake.verify = fake_verify;
    fake.answer = fake_answer;
    down = fake;
    down.name = "down";
    down.checkout = failing_checkout;
    /* the first provider fails: the next one makes the checkout */
    APR_ARRAY_PUSH(list, acp_provider_t *) = &down;
    APR_ARRAY_PUSH(list, acp_provider_t *) = &fake;
    APR_ARRAY_PUSH(names, const char *) = "a.example";
    acp_wfe_cfg_defaults(&cfg);
    acp_billing_cfg_defaults(&cfg.ra.billing);
    cfg.ra.billing.price.base = 1000;
    cfg.ra.billing.providers = list;
    memset(&wfe, 0, sizeof(wfe));
    wfe.cfg = &cfg;
    wfe.get_db = get_db;

    path = acp_t_sqlite_db(p, "provider");
    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    the_db = db;
    memset(&charge, 0, sizeof(charge));
    CHECK(acp_sa_begin(db) == APR_SUCCESS);
    CHECK(acp_billing_account_holder_tx(db, p, &cfg.ra.billing, "192.0.2.9", &holder,
                                        &welcomed) == APR_SUCCESS);
    prob = acp_billing_charge_tx(db, p, &cfg.ra.billing, holder, "o1", "a.example", names, 0,
                                 "https://ca.test/acme", &charge);
    CHECK(acp_sa_commit(db) == APR_SUCCESS);
    CHECK(prob && prob->payment && prob->payment->checkout_pending);
    if (!prob || !prob->payment) {
        return;
    }
    inv = prob->payment->invoice_id;
    CHECK_STR(prob->payment->notify_base, "https://ca.test/acme");
    for (i = 0; i < 2; i++) {
        prob->payment->checkout_pending = 1;
        CHECK(acp_billing_checkout(db, p, &cfg.ra.billing, prob->payment, &ran) == APR_SUCCESS);
        CHECK(ran == (i == 0)); /* once per invoice */
    }
    CHECK(fake_checkouts == 1);
    CHECK_STR(prob->payment->qr_data, apr_pstrcat(p, "https://fake.test/pay/", inv, NULL));
    CHECK(acp_sa_row(db, p, "acp_invoice_get", &row, ACP_SA_ARGS(inv)) == APR_SUCCESS && row &&
          row[11] && !strcmp(row[11], prob->payment->qr_data));

    /* every bad notification: refused, logged, nothing changes */
    CHECK(notify(p, &wfe, "BAD", &note) == 401 && note && strstr(note, "refused"));
    CHECK(notify(p, &wfe, "OK nosuchinvoice 1000 CNY t1", &note) == 404 && note);
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 999 CNY t1", inv), &note) == 422 && note &&
          strstr(note, "amount"));
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1001 CNY t1", inv), &note) == 422);
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1000 EUR t1", inv), &note) == 422 && note &&
          strstr(note, "currency"));
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1000 CNY t\x1b[2J", inv), &note) == 400);
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1000 CNY", inv), &note) == 400);
    CHECK(count_rows(db, p, "SELECT reference FROM payments") == 0);
    CHECK(acp_billing_balance(db, p, holder, &bal) == APR_SUCCESS && bal == 0);
    /* the payment, then its replay: credited once under "fake:<txn>" */
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1000 CNY t1", inv), &note) == 200 && note &&
          strstr(note, "credited"));
    CHECK(notify(p, &wfe, apr_psprintf(p, "OK %s 1000 CNY t1", inv), &note) == 200 && note &&
          strstr(note, "already credited"));
    CHECK(acp_billing_balance(db, p, holder, &bal) == APR_SUCCESS && bal == 1000);
    CHECK(count_rows(db, p, "SELECT reference FROM payments WHERE reference = 'fake:t1'") == 1);
    CHECK(count_rows(db, p,
                     "SELECT b.id FROM billing b WHERE b.balance <> COALESCE((SELECT "
                     "SUM(l.delta) FROM ledger l WHERE l.billing_id = b.id), 0)") == 0);
    /* no provider of that name: not ours (404 from the caller) */
    {
        acp_req_t req;
        acp_resp_t resp;
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        req.method = "POST";
        req.body = "";
        CHECK(acp_wfe_pay_notify(p, &wfe, &req, &resp, "other") == 0);
    }
}

static void run_tests(apr_pool_t *p)
{
    test_helpers(p);
    test_stripe(p);
    test_dispatch(p);
}
