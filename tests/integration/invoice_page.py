#!/usr/bin/python3
"""The invoice page in a real browser (headless Chromium), against the module configured by
test_350_invoice_page.sh: price 1000 + 200 per extra name (CNY), webhook secret, test mode,
Ethereum, an invoice command printing a hostile checkout URL, and a branding template.
Screenshots are kept in $ACP_ARTEFACTS. Prints one line per case and "N passed, N failed".
`invoice_page.py pay INVOICE AMOUNT CURRENCY` pays through the signed webhook (the browser
scenario runs it while the page is open)."""
import decimal, json, os, re, subprocess, sys, time, traceback, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr, db_sql, pay_webhook

IT_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(IT_DIR))
SECRET_FILE = os.environ.get("ACME_WEBHOOK_SECRET_FILE", "")
ART = os.environ.get("ACP_ARTEFACTS", "/tmp")
DB = os.environ.get("ACME_DB_DRIVER", "sqlite3")
CHECKOUT = os.environ.get("ACP_CHECKOUT_PREFIX", "")
ADMIN = [os.path.join(REPO, "out", "acme-pay-admin"), "--driver", DB,
         "--params", os.environ.get("ACME_DB_PARAMS", ""), "--actor", "dana"]
results, CASES = [], []


def case(fn):
    CASES.append(fn)
    return fn


def pay(inv, amount, currency):
    st, body = pay_webhook({"invoice": inv, "amount": int(amount), "currency": currency,
                            "reference": "inv-test-" + uuid.uuid4().hex},
                           open(SECRET_FILE, "rb").read().strip())
    assert st == 200 and b"credited" in body, (st, body)


def name(tag):
    return "%s-%s.inv.test" % (tag, uuid.uuid4().hex[:8])


def invoice_for(names):
    """A fresh account, an order for names made ready, a short finalize: (acme, order,
    csr, invoice link, invoice id)."""
    a = Acme()
    a.new_account(Key())
    o = a.new_order(names)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        a.answer_http01(az, os.environ["ACME_WEBROOT"])
        assert a.poll(az).json()["status"] == "valid"
    url = o.header("Location")
    assert a.poll(url, until=("ready", "invalid")).json()["status"] == "ready"
    der, _ = make_csr(names)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 403, r
    link = r.json()["instance"]
    return a, o.json(), der, link, link.rsplit("/", 1)[1]


def browser(url, steps, lang=None):
    sc = {"url": url, "steps": steps}
    if lang:
        sc["acceptLanguage"] = lang
    r = subprocess.run(["node", os.path.join(IT_DIR, "invoice_browser.js"), json.dumps(sc)],
                       capture_output=True, text=True, timeout=240)
    sys.stdout.write(r.stdout)
    assert r.returncode == 0, "browser: " + r.stdout[-1500:] + r.stderr[-1500:]


def E(js, equals):
    return {"do": "expect", "js": js, "equals": equals}


def W(js, timeout=20000):
    return {"do": "wait", "js": js, "timeout": timeout}


def shot(tag):
    return {"do": "shot", "path": os.path.join(ART, "test_350_%s_%s.png" % (DB, tag))}


def not_blank(tag):
    """The screenshot has content: its grey levels vary (ImageMagick)."""
    path = os.path.join(ART, "test_350_%s_%s.png" % (DB, tag))
    out = subprocess.run(["convert", path, "-colorspace", "gray", "-format",
                          "%[fx:standard_deviation]", "info:"],
                         capture_output=True, text=True, check=True).stdout
    assert float(out) > 0.05, "%s looks blank (deviation %s)" % (path, out)
    return path


def q(sel, what="textContent"):
    return "(document.querySelector(%s) || {})[%s]" % (json.dumps(sel), json.dumps(what))


def attr(sel, name):
    return "(document.querySelector(%s) || {getAttribute: () => null}).getAttribute(%s)" % (
        json.dumps(sel), json.dumps(name))


STATE = q("#acp-invoice", "dataset") + ".state"
PAY = [sys.executable, os.path.abspath(__file__), "pay"]


def human(base_units, decimals, symbol):
    s = format(decimal.Decimal(base_units) / decimal.Decimal(10) ** decimals, "f")
    return (s.rstrip("0").rstrip(".") if "." in s else s) + " " + symbol


@case
def english_page_turns_paid_without_reload():
    n = sorted([name("ip1"), name("ip1b")])
    a, order, der, link, inv = invoice_for(n)
    uri = db_sql("SELECT eth_wei FROM invoices WHERE id = '%s'" % inv)
    assert uri.startswith("ethereum:"), uri
    checkout = CHECKOUT + inv
    wei = int(re.search(r"value=(\d+)", uri).group(1))
    # the token's URI as the page (without JavaScript) writes it, attribute-escaped
    raw = a.request("GET", link).body.decode()
    m = re.search(r'acp-way-erc20.*?class="acp-uri">(ethereum:[^<]*)<', raw, re.S)
    assert m, "no ERC-20 option on the page"
    token_uri = m.group(1).replace("&amp;", "&")
    assert token_uri.startswith("ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer"
                                "?address=" + os.environ["ETH_ADDR"]), token_uri
    units = int(re.search(r"uint256=(\d+)", token_uri).group(1))
    assert 1200 * 1400 <= units < 1201 * 1400, units     # price x UNITS + a tag < 1 minor unit
    browser(link, [
        E("document.documentElement.lang", "en"),
        E(q(".acp-amount"), "12.00 CNY"),
        E(q(".acp-names"), ", ".join(n)),
        E(STATE, "open"),
        E(q(".acp-status"), "Waiting for payment"),
        E("!!document.querySelector('.acp-way-provider .acp-qr svg path')", True),
        E("document.querySelector('.acp-way-provider svg').getBoundingClientRect().width > 100",
          True),
        E(attr(".acp-way-provider a", "href"), checkout),
        E("!!document.querySelector('.acp-way-ethereum .acp-qr svg path')", True),
        E(q(".acp-way-ethereum .acp-way-amount"), human(wei, 18, "ETH")),
        E(q(".acp-way-ethereum .acp-uri"), uri),
        E(q(".acp-way-erc20 h3"), "USDT (ERC-20)"),
        E("!!document.querySelector('.acp-way-erc20 .acp-qr svg path')", True),
        E(q(".acp-way-erc20 .acp-way-amount"), human(units, 6, "USDT")),
        E(q(".acp-way-erc20 .acp-uri"), token_uri),
        E(q(".acp-way-test button"), "Simulate payment"),
        E("document.scripts.length", 1),
        E("getComputedStyle(document.querySelector('header.brand')).backgroundColor",
          "rgb(11, 61, 145)"),      # the template's own <style nonce> applies
        shot("en_open"),
        {"do": "run", "cmd": PAY + [inv, "1200", "CNY"]},
        W(STATE + " === 'paid'"),
        E(q(".acp-status"), "Paid"),
        E(q("[data-when=paid]", "hidden"), False),
        E(q("[data-when=open]", "hidden"), True),
        E(q(".acp-ways", "hidden"), True),
        E("document.querySelector('[data-when=paid]').textContent.includes("
          "'Paid — run the same command again')", True),
        shot("en_paid"),
    ])
    for t in ("en_open", "en_paid"):
        print("screenshot", not_blank(t))
    # without JavaScript: the state on load is right
    page = a.request("GET", link)
    body = page.body.decode()
    assert page.status == 200 and 'data-state="paid"' in body, body[:600]
    assert "acp-ways" not in body and "<script" not in body, "a paid page still offers payment"
    csp = page.header("Content-Security-Policy")
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp, csp
    assert page.header("Cache-Control") == "no-store", page.header("Cache-Control")
    # the JSON status: read-only, cacheable for a second, GET only
    st = a.request("GET", link + "/status")
    assert st.status == 200 and st.json()["status"] == "paid", st
    assert st.json()["paidMinor"] == 1200 and "max-age=1" in st.header("Cache-Control"), st
    assert a.request("POST", link + "/status", b"{}").status == 405
    assert a.request("GET", link.rsplit("/", 1)[0] + "/nosuchinvoice/status").status == 404
    # and the same finalize now issues
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 200, r


@case
def chinese_page_partial_then_paid():
    n = [name("ip2")]
    a, order, der, link, inv = invoice_for(n)
    browser(link, [
        E("document.documentElement.lang", "zh-CN"),
        E(q("h1"), "证书付款"),
        E(q(".acp-status"), "等待付款"),
        E(q(".acp-amount"), "10.00 CNY"),
        E(q(".acp-partial", "hidden"), True),
        E(q(".acp-way-test button"), "模拟付款"),
        shot("zh_open"),
        {"do": "run", "cmd": PAY + [inv, "600", "CNY"]},
        W(q(".acp-received") + " === '6.00 CNY' && !" + q(".acp-partial", "hidden")),
        E(STATE, "open"),
        {"do": "run", "cmd": PAY + [inv, "400", "CNY"]},
        W(STATE + " === 'paid'"),
        E(q(".acp-status"), "已付款"),
        E(q(".acp-partial", "hidden"), True),
        E("document.querySelector('[data-when=paid]').textContent.includes('请再次运行同一条命令')",
          True),
        shot("zh_paid"),
    ], lang="en;q=0.3, zh-CN;q=0.9")
    for t in ("zh_open", "zh_paid"):
        print("screenshot", not_blank(t))
    # q-values decide; nothing the page speaks: English
    for al, lang in (("zh-CN;q=0.2, en;q=0.9", "en"), ("zh", "zh-CN"), ("zh-TW", "en"),
                     ("de-DE, fr;q=0.8", "en"), ("zh-CN;q=0, *", "en"), ("zh-Hans-CN", "zh-CN")):
        r = a.request("GET", link, headers={"Accept-Language": al})
        assert r.header("Content-Language") == lang, (al, r.header("Content-Language"))
        assert ('<html lang="%s">' % lang) in r.body.decode(), al
        assert "Accept-Language" in (r.header("Vary") or ""), r.header("Vary")


@case
def hostile_values_are_text_and_voiding_shows_without_reload():
    n = [name("ip3")]
    a, order, der, link, inv = invoice_for(n)
    evil_names = "<script>alert(4)</script>.example,\"q'x\".example"
    oid = order["finalize"].rsplit("/", 2)[1]
    db_sql("UPDATE orders SET names_key = '%s' WHERE id = '%s'"
           % (evil_names.replace("'", "''"), oid))
    evil_reason = "<img src=x onerror=alert(5)>\"' </p><script>alert(6)</script>"
    void = ADMIN + ["invoice", "void", inv, "--reason", evil_reason]
    browser(link, [
        E(q(".acp-names"), evil_names.replace(",", ", ")),
        E(q("header.brand", "dataset") + ".names", evil_names.replace(",", ", ")),
        E(q("footer.brand-footer"), "Invoice %s · support@example.test" % inv),
        E("document.scripts.length", 1),
        E(attr(".acp-way-provider a", "href"), CHECKOUT + inv),
        E("document.querySelectorAll('.acp-way-provider a').length", 1),
        {"do": "run", "cmd": void},
        W(STATE + " === 'voided'"),
        E(q(".acp-status"), "Voided"),
        E(q(".acp-reason"), evil_reason),
        E("document.querySelectorAll('img').length", 0),
        E("document.scripts.length", 1),
        shot("hostile_voided"),
    ])
    not_blank("hostile_voided")
    body = a.request("GET", link).body.decode()
    assert "<script>alert(" not in body and "<img" not in body, body
    assert "&lt;script&gt;alert(4)&lt;/script&gt;.example, &#34;q&#39;x&#34;.example" in body, body
    assert "&lt;img src=x onerror=alert(5)&gt;&#34;&#39;" in body and 'data-state="voided"' in body


@case
def expired_and_superseded():
    a, order, der, link, inv = invoice_for([name("ip4")])
    db_sql("UPDATE invoices SET expires = %d WHERE id = '%s'" % (int(time.time()) - 5, inv))
    body = a.request("GET", link).body.decode()
    assert 'data-state="expired"' in body and "This invoice has expired" in body, body
    assert "acp-ways" not in body and "<script" not in body
    assert a.request("GET", link + "/status").json()["status"] == "expired"
    # a staff credit that covers the order closes the open page by itself
    a, order, der, link, inv = invoice_for([name("ip5")])
    holder = db_sql("SELECT billing_id FROM invoices WHERE id = '%s'" % inv)
    credit = ADMIN + ["credit", holder, "10.00", "--reason", "bank transfer", "--yes"]
    browser(link, [
        E(STATE, "open"),
        {"do": "run", "cmd": credit},
        W(STATE + " === 'superseded'"),
        E(q(".acp-status"), "Nothing to pay"),
        E(q(".acp-ways", "hidden"), True),
    ])


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "pay":
        pay(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    wanted = sys.argv[1:]
    for fn in CASES:
        if wanted and fn.__name__ not in wanted:
            continue
        t0 = time.time()
        try:
            fn()
            results.append(True)
            print("ok %s (%.1fs)" % (fn.__name__, time.time() - t0))
        except Exception:
            results.append(False)
            print("FAIL %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    p = sum(results)
    print("%d passed, %d failed" % (p, len(results) - p))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
