#!/usr/bin/python3
"""acme-pay-admin refund record against the module configured by test_370 (price 10.00 CNY,
webhook secret in $ACME_WEBHOOK_SECRET_FILE): refunds made in a provider's console are
recorded once per (payment, refund id), never beyond what the payment credited, never
below zero, with an audited ledger row; concurrent records refund once; bad input changes
nothing. Prints one line per case and "N passed, N failed"."""
import hashlib, hmac, json, os, ssl, subprocess, threading, time, urllib.error, urllib.request
from billing_util import (Acme, Key, admin, admin_json, balance, holder_of, ledger_consistent,
                          name, run_cases, short_invoice, sql, WEBROOT)

SECRET = open(os.environ["ACME_WEBHOOK_SECRET_FILE"], "rb").read().strip()
PRICE = 1000
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def webhook_pay(invoice, amount, reference):
    raw = json.dumps({"invoice": invoice, "amount": amount, "currency": "CNY",
                      "reference": reference}).encode()
    t = int(time.time())
    mac = hmac.new(SECRET, str(t).encode() + b"." + raw, hashlib.sha256).hexdigest()
    url = os.environ["ACME_DIRECTORY"].rsplit("/", 1)[0] + "/pay/webhook"
    req = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json", "AcmePay-Signature": "t=%d,v1=%s" % (t, mac)})
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        assert r.status == 200, r.status


def paid_invoice(ref):
    """A holder with a paid 10.00 CNY invoice (staff recorded the provider payment ref)."""
    a = Acme()
    a.new_account(Key())
    _, _, _, prob = short_invoice(a, [name("rf")])
    inv = prob["instance"].rsplit("/", 1)[1]
    rc, out, err = admin("invoice", "pay", inv, "--reference", ref, "--yes")
    assert rc == 0, (rc, out, err)
    return a, holder_of(a), inv


def rows(table, where):
    return int(sql("SELECT COUNT(*) FROM %s WHERE %s" % (table, where)))


def refund(*extra):
    return admin("refund", "record", "--reason", "refunded in the provider console", "--yes",
                 *extra)


@case
def refund_is_recorded_once_with_an_audited_ledger_row():
    tx = "42000" + str(int(time.time() * 1000))
    a, h, inv = paid_invoice("wechat:" + tx)
    assert balance(h) == PRICE
    rc, out, err = refund("--invoice", inv, "--amount", "4.00", "--provider", "wechat",
                          "--reference", tx)
    assert rc == 0, (rc, out, err)
    assert "4.00 CNY" in out and "balance 6.00 CNY" in out, out
    assert balance(h) == PRICE - 400
    row = sql("SELECT delta, kind, reference, actor, reason, invoice_id FROM ledger "
              "WHERE billing_id = '%s' AND kind = 'payment_refund'" % h)
    assert row == "-400|payment_refund|refund:wechat:%s|staff:alice|refunded in the provider " \
                  "console|%s" % (tx, inv), row
    assert sql("SELECT refunded FROM payments WHERE reference = 'wechat:%s'" % tx) == "400"
    # the same record again: nothing changes (exit 0, said so)
    rc, out, err = refund("--invoice", inv, "--amount", "4.00", "--provider", "wechat",
                          "--reference", tx)
    assert rc == 0 and "recorded before" in out, (rc, out, err)
    assert rows("ledger", "kind = 'payment_refund' AND billing_id = '%s'" % h) == 1
    # the same refund with another amount is refused
    rc, out, err = refund("--invoice", inv, "--amount", "5.00", "--provider", "wechat",
                          "--reference", tx)
    assert rc == 2 and "another amount" in err, (rc, out, err)
    assert balance(h) == PRICE - 400
    # ledger views: the list, the invoice page (payments with refunded), the dashboard
    led = admin_json("ledger", "list", "--holder", h)
    kinds = [r["kind"] for r in led]
    assert "payment_refund" in kinds, led
    page = admin_json("show", "invoice", inv)
    assert page["payments"][0]["refunded"] == 400, page["payments"]
    assert any(r["kind"] == "payment_refund" for r in page["ledger"]), page["ledger"]
    ledger_consistent()


@case
def partial_refunds_never_exceed_the_payment():
    tx = "ch_" + str(int(time.time() * 1000))
    a, h, inv = paid_invoice("stripe:" + tx)
    base = ["--holder", h, "--provider", "stripe", "--reference", tx]
    assert refund(*base, "--refund-id", "re_1", "--amount", "4.00")[0] == 0
    rc, out, err = refund(*base, "--refund-id", "re_2", "--amount", "7.00")
    assert rc == 2 and "exceed" in err, (rc, out, err)
    assert refund(*base, "--refund-id", "re_2", "--amount", "6.00")[0] == 0
    rc, out, err = refund(*base, "--refund-id", "re_3", "--amount", "0.01")
    assert rc == 2 and "exceed" in err, (rc, out, err)
    assert balance(h) == 0
    assert sql("SELECT refunded FROM payments WHERE reference = 'stripe:%s'" % tx) == "1000"
    assert rows("payment_refunds", "payment_ref = 'stripe:%s'" % tx) == 2
    ledger_consistent()


@case
def bad_input_changes_nothing():
    tx = "T" + str(int(time.time() * 1000))
    a, h, inv = paid_invoice("alipay:" + tx)
    other = Acme()
    other.new_account(Key())
    before = sql("SELECT COUNT(*) FROM ledger")
    bad = [
        (["--holder", holder_of(other), "--amount", "1.00", "--provider", "alipay",
          "--reference", tx], "not"),                                  # another holder
        (["--invoice", "nope", "--amount", "1.00", "--provider", "alipay", "--reference", tx],
         "not nope"),
        (["--holder", h, "--amount", "1.00", "--provider", "alipay", "--reference", "X" + tx],
         "no payment"),
        (["--holder", h, "--amount", "1.00", "--provider", "wechat", "--reference", tx],
         "no payment"),                                                # another provider's
        (["--holder", h, "--amount", "1.001", "--provider", "alipay", "--reference", tx],
         "amount"),
        (["--holder", h, "--amount", "0", "--provider", "alipay", "--reference", tx], ""),
        (["--holder", h, "--amount", "-1", "--provider", "alipay", "--reference", tx], ""),
        (["--holder", h, "--amount", "1.00", "--provider", "ALI PAY", "--reference", tx],
         "provider"),
        (["--holder", h, "--amount", "1.00", "--provider", "alipay", "--reference", tx,
          "--refund-id", "a\x1bb"], "refund-id"),
        (["--amount", "1.00", "--provider", "alipay", "--reference", tx], "usage"),
    ]
    for args, want in bad:
        rc, out, err = refund(*args)
        assert rc == 2 and want in err, (args, rc, out, err)
    rc, out, err = admin("refund", "record", "--holder", h, "--amount", "1.00", "--provider",
                         "alipay", "--reference", tx, "--yes")
    assert rc == 2 and "reason" in err, (rc, out, err)
    assert sql("SELECT COUNT(*) FROM ledger") == before, "a refused refund wrote a ledger row"
    assert rows("payment_refunds", "1 = 1 AND payment_ref = 'alipay:%s'" % tx) == 0
    assert balance(h) == PRICE
    # not confirmed on a terminal: nothing changes
    cmd = " ".join("'%s'" % x for x in [
        os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "out", "acme-pay-admin"), "--driver", os.environ["ACME_DB_DRIVER"],
        "--params", os.environ["ACME_DB_PARAMS"], "--key-file", os.environ["ACME_KEY_FILE"],
        "refund", "record", "--holder", h, "--amount", "1.00", "--provider", "alipay",
        "--reference", tx, "--reason", "r"])
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], input="n\n", text=True,
                       capture_output=True, timeout=60)
    assert "balance 10.00 CNY -> 9.00 CNY?" in r.stdout and "not confirmed" in r.stdout, r.stdout
    assert balance(h) == PRICE and sql("SELECT COUNT(*) FROM ledger") == before
    ledger_consistent()


@case
def spent_credit_is_not_refunded_below_zero_and_webhook_payments_are_found():
    a = Acme()
    a.new_account(Key())
    names = [name("rs")]
    url, order, der, prob = short_invoice(a, names)
    inv = prob["instance"].rsplit("/", 1)[1]
    ref = "wh-" + inv
    webhook_pay(inv, PRICE, ref)
    h = holder_of(a)
    # the generic webhook's payment: --provider webhook, the reference as delivered
    assert refund("--holder", h, "--provider", "webhook", "--reference", ref, "--refund-id",
                  "1", "--amount", "1.00")[0] == 0
    assert balance(h) == PRICE - 100
    # spend the rest: the order is charged 10.00 only if the balance covers it, so credit
    assert admin("credit", h, "1.00", "--reason", "goodwill", "--yes")[0] == 0
    r = a.post(order["finalize"], {"csr": __import__("acme_client").b64(der)})
    assert r.status == 200, r
    assert balance(h) == 0
    rc, out, err = refund("--holder", h, "--provider", "webhook", "--reference", ref,
                          "--refund-id", "2", "--amount", "2.00")
    assert rc == 2 and "below zero" in err, (rc, out, err)
    assert sql("SELECT refunded FROM payments WHERE reference = '%s'" % ref) == "100"
    ledger_consistent()


@case
def concurrent_records_refund_once():
    tx = "42001" + str(int(time.time() * 1000))
    a, h, inv = paid_invoice("wechat:" + tx)
    res, errs = [], []

    def go(rid, amount):
        rc, out, err = refund("--invoice", inv, "--provider", "wechat", "--reference", tx,
                              "--refund-id", rid, "--amount", amount)
        res.append(rc)
        errs.append(err.strip())

    # 8 distinct partial refunds of 3.00 each of a 10.00 payment: exactly 3 fit
    ts = [threading.Thread(target=go, args=("p%d" % i, "3.00")) for i in range(8)]
    [t.start() for t in ts]
    [t.join(90) for t in ts]
    assert sorted(res) == [0, 0, 0, 2, 2, 2, 2, 2], (res, errs)
    assert balance(h) == PRICE - 900
    assert sql("SELECT refunded FROM payments WHERE reference = 'wechat:%s'" % tx) == "900"
    # the same refund 8 times at once: one ledger row
    res.clear()
    errs.clear()
    tx2 = "42002" + str(int(time.time() * 1000))
    a2, h2, inv2 = paid_invoice("wechat:" + tx2)
    inv, tx = inv2, tx2
    ts = [threading.Thread(target=go, args=("same", "2.50")) for _ in range(8)]
    [t.start() for t in ts]
    [t.join(90) for t in ts]
    assert res == [0] * 8, (res, errs)
    assert rows("ledger", "kind = 'payment_refund' AND billing_id = '%s'" % h2) == 1
    assert balance(h2) == PRICE - 250
    # the dashboard's revenue is payments minus refunds of payments
    d = admin_json("dashboard")
    got = int(sql("SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE kind IN "
                  "('payment', 'payment_refund')"))
    assert d["revenue_today"] == got, (d["revenue_today"], got)
    ledger_consistent()


run_cases(CASES)
