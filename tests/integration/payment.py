#!/usr/bin/python3
"""Billing and payment inside the ACME flow, against the module configured by
test_300_payment.sh (price 1000 CNY minor units, +200 per extra name, +500 per wildcard,
webhook secret in $ACME_WEBHOOK_SECRET_FILE, test mode on). Prints one line per case and
"N passed, N failed"."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr, pay_webhook
from billing_util import balance, holder_of, ledger_consistent, name, ready_order, run_cases, sql

WEBROOT = os.environ["ACME_WEBROOT"]
SECRET = open(os.environ["ACME_WEBHOOK_SECRET_FILE"], "rb").read().strip()
NS = "urn:ietf:params:acme:error:"
PRICE = 1000
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def webhook(body, t=None, secret=SECRET, sig=None):
    return pay_webhook(body, secret, t, sig)


def payment_problem(r):
    assert r.status == 403, r
    assert r.header("Content-Type") == "application/problem+json", r.header("Content-Type")
    p = r.json()
    assert p["type"] == NS + "userActionRequired", p["type"]
    assert b"\\u" not in r.body and b"\\/" not in r.body, "escaped UTF-8 or slash in the body"
    d = p["detail"]
    assert d.startswith("\n"), repr(d[:20])
    assert p["instance"] in d, "payment link not in the detail"
    assert "run the same command again" in d, d
    assert "\u2580" in d or "\u2584" in d or "\u2588" in d, "no Unicode QR rows in the detail"
    return p


@case
def order_shows_price_and_short_balance_asks_for_payment():
    a = Acme()
    a.new_account(Key())
    n = [name("p1"), name("p1b")]
    url, order = ready_order(a, n)
    assert order.get("price", {}).get("amount") == PRICE + 200, order.get("price")
    der, _ = make_csr(n)
    before = sql("SELECT COUNT(*) FROM ledger")
    r = a.post(order["finalize"], {"csr": b64(der)})
    p = payment_problem(r)
    assert "12.00 CNY" in p["detail"], p["detail"]
    assert sql("SELECT COUNT(*) FROM ledger") == before, "a short balance wrote a ledger row"
    assert a.get(url).json()["status"] == "ready", "order not usable after the payment request"
    # a retry reuses the open invoice
    r2 = a.post(order["finalize"], {"csr": b64(der)})
    assert payment_problem(r2)["instance"] == p["instance"], "a retry minted a second invoice"
    assert int(sql("SELECT COUNT(*) FROM invoices WHERE billing_id = '%s'" % holder_of(a))) == 1
    ledger_consistent()


@case
def webhook_rejects_forged_stale_and_malformed():
    a = Acme()
    a.new_account(Key())
    n = [name("p2")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    p = payment_problem(a.post(order["finalize"], {"csr": b64(der)}))
    inv = p["instance"].rsplit("/", 1)[1]
    holder = holder_of(a)
    body = {"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": "ref-" + inv}
    assert webhook(body, secret=b"wrong-secret-wrong-secret")[0] == 401
    assert webhook(body, t=int(time.time()) - 600)[0] == 401
    assert webhook(body, sig="")[0] == 401
    assert webhook(body, sig="t=abc,v1=00")[0] == 401
    assert webhook(b"{not json")[0] == 400
    assert webhook({"invoice": inv, "amount": -5, "currency": "CNY", "reference": "x"})[0] == 400
    assert webhook({"invoice": inv, "amount": 10.5, "currency": "CNY", "reference": "x"})[0] == 400
    assert webhook({"invoice": "nosuch", "amount": 5, "currency": "CNY", "reference": "y"})[0] == 404
    assert webhook({"invoice": inv, "amount": 5, "currency": "USD", "reference": "z"})[0] == 422
    assert balance(holder) == 0, "a rejected webhook credited"
    assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "0"
    ledger_consistent()


@case
def pay_then_same_finalize_issues_and_charges_once():
    a = Acme()
    a.new_account(Key())
    n = [name("p3")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    p = payment_problem(a.post(order["finalize"], {"csr": b64(der)}))
    inv = p["instance"].rsplit("/", 1)[1]
    holder = holder_of(a)
    st, body = webhook({"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": "pay-" + inv})
    assert st == 200, (st, body)
    assert balance(holder) == PRICE
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "paid"
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    o = a.poll(url).json()
    assert o["status"] == "valid" and "certificate" in o, o
    assert balance(holder) == 0
    kinds = sql("SELECT kind || ':' || delta FROM ledger WHERE billing_id = '%s' ORDER BY created, kind" % holder)
    assert sorted(kinds.split()) == sorted(["payment:%d" % PRICE, "debit:-%d" % PRICE]), kinds
    # the free reissue: same holder, same names (other order, other case), within the window
    cert1 = a.get(o["certificate"]).body.decode()
    time.sleep(1.1)  # a reissue signed a second later must still end with the original
    url2, order2 = ready_order(a, [n[0].upper()])
    der2, _ = make_csr(n)
    r = a.post(order2["finalize"], {"csr": b64(der2)})
    assert r.status == 200, r
    o2 = a.poll(url2).json()
    assert o2["status"] == "valid", o2
    assert balance(holder) == 0
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'reissue' AND delta = 0" % holder) == "1"
    from cryptography import x509
    c1 = x509.load_pem_x509_certificate(cert1.encode())
    c2 = x509.load_pem_x509_certificate(a.get(o2["certificate"]).body)
    assert c2.not_valid_after == c1.not_valid_after, ("reissue must end with the original",
                                                      c1.not_valid_after, c2.not_valid_after)
    ledger_consistent()


@case
def fifty_concurrent_finalizes_charge_once():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    n = [name("p4")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    p = payment_problem(a.post(order["finalize"], {"csr": b64(der)}))
    inv = p["instance"].rsplit("/", 1)[1]
    assert webhook({"invoice": inv, "amount": PRICE * 3, "currency": "CNY", "reference": "big-" + inv})[0] == 200
    bodies = [json.dumps(a.jws(order["finalize"], {"csr": b64(der)})).encode() for _ in range(50)]
    statuses = []

    def go(b):
        statuses.append(a.request("POST", order["finalize"], b).status)
    threads = [threading.Thread(target=go, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses.count(200) == 1, statuses
    assert balance(holder) == PRICE * 2, balance(holder)
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'debit'" % holder) == "1"
    ledger_consistent()


@case
def fifty_concurrent_webhook_deliveries_credit_once():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    n = [name("p5")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    inv = payment_problem(a.post(order["finalize"], {"csr": b64(der)}))["instance"].rsplit("/", 1)[1]
    body = {"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": "dup-" + inv}
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(webhook(body)[0])) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses.count(200) == 50, statuses
    assert balance(holder) == PRICE, balance(holder)
    ledger_consistent()


@case
def invoice_page_and_test_mode_payment():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    n = [name("p6")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    link = payment_problem(a.post(order["finalize"], {"csr": b64(der)}))["instance"]
    page = a.request("GET", link)
    assert page.status == 200 and b"<svg" in page.body and b"10.00 CNY" in page.body, page
    assert b"Simulate payment" in page.body
    sim = a.request("POST", link + "/simulate", b"", ctype="application/x-www-form-urlencoded")
    assert sim.status in (200, 303), sim
    assert balance(holder) == PRICE
    assert a.post(order["finalize"], {"csr": b64(der)}).status == 200
    ledger_consistent()


@case
def client_profiles_shape_the_answer():
    a = Acme(user_agent="acme-tiny")
    a.new_account(Key())
    n = [name("p7")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.header("Content-Type").startswith("text/plain"), r
    assert b"10.00 CNY" in r.body and b"run the same command again" in r.body
    a.ua = "CertbotACMEClient/2.1.0 (certbot; debian 12) Authenticator/webroot (renew; flags: ) Py/3.11.2"
    r = a.post(order["finalize"], {"csr": b64(der)})
    p = r.json()
    assert all(ord(ch) < 128 for ch in p["detail"]), "certbot renew got non-ASCII"
    assert "##" in p["detail"], "no ASCII QR for certbot renew"
    a.ua = "Apache/2.4.71 mod_md/2.4.26"
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.json()["type"] == NS + "orderNotReady", r


@case
def certbot_gets_the_request_on_the_challenge():
    # certbot 2.1 on Python 3.11 cannot print a finalize problem; for its User-Agent a
    # short balance is reported as the challenge's error, which it prints
    a = Acme(user_agent="CertbotACMEClient/2.1.0 (certbot; debian 12) Authenticator/webroot "
                        "Installer/None (certonly; flags: ) Py/3.11.2")
    a.new_account(Key())
    holder = holder_of(a)
    n = [name("p8")]
    o = a.new_order(n)
    az = o.json()["authorizations"][0]
    ch, r = a.answer_http01(az, WEBROOT)
    assert r.status == 200 and r.json()["status"] == "invalid", r
    err = r.json()["error"]
    assert err["type"] == NS + "userActionRequired" and "10.00 CNY" in err["detail"], err
    assert "\u2584" in err["detail"] or "\u2580" in err["detail"], "no QR in the challenge error"
    assert a.get(az).json()["status"] == "invalid"
    inv = err["instance"].rsplit("/", 1)[1]
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s'" % holder) == "0", "charged early"
    assert webhook({"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": "cb-" + inv})[0] == 200
    # the same command again: a new order validates and issues, charged once
    order, pem = a.issue(n, WEBROOT)
    assert balance(holder) == 0
    ledger_consistent()


run_cases(CASES)
