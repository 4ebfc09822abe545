#!/usr/bin/python3
"""WeChat Pay API v3 (AcmePayWeChatPay) against the local stand-in (wechat_standin.py,
started by test_371 with the keys in $WECHAT_DIR): a short balance makes a Native order
whose code_url is the payment request's QR (and line); every bad notification (unknown
invoice, wrong amount or currency, stale timestamp, bad signature, unknown serial,
tampered ciphertext, another APIv3 key, another mchid or appid, malformed) is refused
with WeChat Pay's {"code":"FAIL"} answer, changes nothing and is logged once; a good one
credits once however often it is delivered, also concurrently; the same finalize then
issues; staff can record its refund. Prints one line per case and "N passed, N failed"."""
import json, os, threading, time
import wechat_standin as ws
from billing_util import (Acme, Key, admin, b64, balance, holder_of, ledger_consistent, name,
                          run_cases, short_invoice, sql)

CFG = ws.Config(os.environ["WECHAT_DIR"])
LOG = os.path.join(os.environ["T"], "httpd", "logs", "error.log")
PRICE = 1000
CASES = []
STATE = {}


def case(fn):
    CASES.append(fn)
    return fn


def log_lines(word="ACP04600"):
    with open(LOG, errors="replace") as f:
        return [line for line in f if word in line]


def books():
    return (sql("SELECT COUNT(*) FROM ledger"), sql("SELECT COUNT(*) FROM payments"),
            sql("SELECT COALESCE(SUM(balance), 0) FROM billing"),
            sql("SELECT COUNT(*) FROM invoices WHERE status = 'paid'"))


def wait_order(invoice, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return CFG.order(invoice)
        except (OSError, ValueError):
            time.sleep(0.2)
    raise AssertionError("the stand-in never saw a Native order for invoice " + invoice)


@case
def short_balance_makes_a_native_order_whose_code_url_is_the_qr():
    a = Acme()
    a.new_account(Key())
    names = [name("wx")]
    url, order, der, prob = short_invoice(a, names)
    inv = prob["instance"].rsplit("/", 1)[1]
    o = wait_order(inv)
    assert o["total"] == PRICE and o["currency"] == "CNY", o
    assert o["notify_url"] == os.environ["ACME_DIRECTORY"].rsplit("/", 1)[0] + "/pay/wechat", o
    assert names[0] in o["description"], o
    assert o["code_url"] in prob["detail"], prob["detail"]
    # a retry shows the same code_url: one Native order per invoice
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and o["code_url"] in r.json()["detail"], r
    assert sql("SELECT checkout_url FROM invoices WHERE id = '%s'" % inv) == o["code_url"]
    STATE.update(acme=a, inv=inv, order=order, der=der, url=url, o=o, holder=holder_of(a))


def refused(headers, body, status, why):
    before, logs = books(), len(log_lines())
    st, raw = ws.send(STATE["o"]["notify_url"], headers, body)
    assert st == status, (why, st, raw)
    ans = json.loads(raw)
    assert ans["code"] == "FAIL" and ans["message"], (why, ans)
    assert books() == before, "%s changed the books" % why
    new = log_lines()[logs:]
    assert len(new) == 1 and "refused" in new[0], (why, new)
    return ans["message"]


@case
def every_bad_notification_changes_nothing_and_is_logged_once():
    o, txid = STATE["o"], "4200000001" + str(int(time.time()))
    good = ws.transaction(o, txid)
    unknown = dict(o, out_trade_no="nosuchinvoice")
    refused(*ws.notification(CFG, ws.transaction(unknown, txid)), 404, "unknown invoice")
    refused(*ws.notification(CFG, ws.transaction(dict(o, total=PRICE - 1), txid)), 422,
            "wrong amount")
    refused(*ws.notification(CFG, ws.transaction(dict(o, currency="USD"), txid)), 422,
            "wrong currency")
    m = refused(*ws.notification(CFG, good, ts=int(time.time()) - 400), 401, "stale timestamp")
    assert "5 minutes" in m, m
    refused(*ws.notification(CFG, good, ts=int(time.time()) + 400), 401, "future timestamp")
    refused(*ws.notification(CFG, good, key=CFG.other_key), 401, "bad signature")
    m = refused(*ws.notification(CFG, good, serial="7" * 40), 401, "unknown serial")
    assert "Serial" in m, m
    m = refused(*ws.notification(CFG, good, tamper=True), 401, "tampered ciphertext")
    assert "decrypt" in m, m
    refused(*ws.notification(CFG, good, apiv3=b"x" * 32), 401, "another APIv3 key")
    refused(*ws.notification(CFG, dict(good, mchid="1900000999")), 401, "another mchid")
    refused(*ws.notification(CFG, dict(good, appid="wx0000000000000000")), 401, "another appid")
    h, body = ws.notification(CFG, good)
    refused(h, body + b" ", 401, "body changed after signing")
    h2 = dict(h)
    del h2["Wechatpay-Signature"]
    refused(h2, body, 401, "no signature")
    # an authentic delivery that is no payment: acknowledged, nothing changes
    for plain, event in ((good, "REFUND.SUCCESS"), (dict(good, trade_state="NOTPAY"),
                                                    "TRANSACTION.SUCCESS")):
        before = books()
        st, raw = ws.send(o["notify_url"], *ws.notification(CFG, plain, event=event))
        assert st in (200, 204) and books() == before, (event, st, raw)
    assert balance(STATE["holder"]) == 0
    ledger_consistent()


@case
def payment_credits_once_replayed_and_concurrent_then_the_same_finalize_issues():
    o, txid = STATE["o"], "4200000002" + str(int(time.time()))
    h, body = ws.notification(CFG, ws.transaction(o, txid))
    st, raw = ws.send(o["notify_url"], h, body)
    assert st in (200, 204) and raw == b"", (st, raw)
    ref = "wechat:" + txid
    assert sql("SELECT amount, source FROM payments WHERE reference = '%s'" % ref) == "1000|wechat"
    assert balance(STATE["holder"]) == PRICE
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % STATE["inv"]) == "paid"
    # the same delivery again (WeChat Pay redelivers until it gets 2xx): credited once
    for _ in range(3):
        assert ws.send(o["notify_url"], h, body)[0] in (200, 204)
    # 12 deliveries of the same transaction at once, each freshly signed: credited once
    res = []
    ts = [threading.Thread(target=lambda: res.append(
        ws.send(o["notify_url"], *ws.notification(CFG, ws.transaction(o, txid)))[0]))
        for _ in range(12)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    assert sorted(res) == sorted([res[0]] * 12) and res[0] in (200, 204), res
    assert sql("SELECT COUNT(*) FROM payments WHERE reference = '%s'" % ref) == "1"
    assert sql("SELECT COUNT(*) FROM ledger WHERE kind = 'payment' AND billing_id = '%s'"
               % STATE["holder"]) == "1"
    assert balance(STATE["holder"]) == PRICE
    # the same finalize now issues, charged once
    a = STATE["acme"]
    r = a.post(STATE["order"]["finalize"], {"csr": b64(STATE["der"])})
    assert r.status == 200, r
    assert a.poll(STATE["url"]).json()["status"] == "valid"
    assert balance(STATE["holder"]) == 0
    ledger_consistent()
    STATE["txid"] = txid


@case
def concurrent_first_deliveries_on_a_fresh_invoice_credit_once():
    a = Acme()
    a.new_account(Key())
    url, order, der, prob = short_invoice(a, [name("wxc")])
    inv = prob["instance"].rsplit("/", 1)[1]
    o = wait_order(inv)
    txid = "4200000003" + str(int(time.time()))
    deliveries = [ws.notification(CFG, ws.transaction(o, txid)) for _ in range(16)]
    res = []
    ts = [threading.Thread(target=lambda d=d: res.append(ws.send(o["notify_url"], *d)[0]))
          for d in deliveries]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    assert all(s in (200, 204) for s in res) and len(res) == 16, res
    assert sql("SELECT COUNT(*) FROM payments WHERE reference = 'wechat:%s'" % txid) == "1"
    assert balance(holder_of(a)) == PRICE
    ledger_consistent()


@case
def staff_record_the_refund_of_a_wechat_payment():
    # the holder of the first case spent its credit: the refund would go below zero
    rc, out, err = admin("refund", "record", "--holder", STATE["holder"], "--provider", "wechat",
                         "--reference", STATE["txid"], "--amount", "10.00", "--reason",
                         "customer asked", "--yes")
    assert rc == 2 and "below zero" in err, (rc, out, err)
    assert admin("credit", STATE["holder"], "10.00", "--reason", "goodwill", "--yes")[0] == 0
    rc, out, err = admin("refund", "record", "--holder", STATE["holder"], "--provider", "wechat",
                         "--reference", STATE["txid"], "--amount", "10.00", "--reason",
                         "customer asked", "--yes")
    assert rc == 0, (rc, out, err)
    assert balance(STATE["holder"]) == 0
    ledger_consistent()


run_cases(CASES)
