#!/usr/bin/python3
"""Billing attacks of issue 16 replayed against the module (tests 160-165): the invoice
command run per finalize, farmed welcome credit, mixed currencies, a forged Host in stored
payment links, shared Ethereum amounts, escape sequences reaching staff.
Usage: billing_sec.py CASE [CASE…]; prints one line per case, exits 1 on any failure."""
import hashlib, hmac, json, os, socket, ssl, subprocess, sys, threading, time, traceback, uuid
import urllib.request, urllib.error
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, Response, b64, make_csr
from billing_util import balance, holder_of, ledger_consistent, ready_order, sql

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
PRICE = int(os.environ.get("PRICE", "1000"))
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def name(tag):
    return "%s-%s.bsec.test" % (tag, uuid.uuid4().hex[:8])


def webhook(body, directory=None):
    secret = open(os.environ["ACME_WEBHOOK_SECRET_FILE"], "rb").read().strip()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = int(time.time())
    mac = hmac.new(secret, str(t).encode() + b"." + raw, hashlib.sha256).hexdigest()
    url = (directory or os.environ["ACME_DIRECTORY"]).rsplit("/", 1)[0] + "/pay/webhook"
    req = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json", "AcmePay-Signature": "t=%d,v1=%s" % (t, mac)})
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def short_finalize(acme, tag):
    n = [name(tag)]
    url, order = ready_order(acme, n)
    der, _ = make_csr(n)
    r = acme.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
    return order, der, r.json()


# ---- finding 6: the invoice command --------------------------------------------------------

@case
def invoice_command_runs_once_outside_the_transaction():
    runs = os.environ["CHECKOUT_RUNS"]
    a = Acme()
    a.new_account(Key())
    n = [name("ic")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    # another client's write while the command runs (it sleeps 3 s): must not wait for it
    b = Acme()
    b.new_account(Key())
    bodies = [json.dumps(a.jws(order["finalize"], {"csr": b64(der)})).encode() for _ in range(6)]
    answers = []

    def go(body):
        answers.append(a.request("POST", order["finalize"], body))
    threads = [threading.Thread(target=go, args=(body,)) for body in bodies]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.time()
    r = b.new_order([name("other")])
    other = time.time() - t0
    for t in threads:
        t.join(60)
    assert r.status == 201, r
    assert len(answers) == 6 and all(x.status == 403 for x in answers), [x.status for x in answers]
    lines = open(runs).read().split()
    assert len(lines) == 1, "invoice command ran %d times for one invoice: %s" % (len(lines), lines)
    inv = answers[0].json()["instance"].rsplit("/", 1)[1]
    assert lines[0] == inv, (lines, inv)
    assert sql("SELECT checkout_state || ' ' || checkout_url FROM invoices WHERE id = '%s'" % inv) == \
        "done https://checkout.provider.test/c/" + inv
    # every concurrent answer encodes the one checkout: the same QR in each detail
    details = set(x.json()["detail"] for x in answers)
    assert len(details) == 1, "answers differ (some without the checkout QR)"
    assert other < 1.5, "newOrder of another account took %.2f s while the command ran" % other
    # later finalizes and the certbot challenge path reuse the stored answer
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.json()["detail"] in details, r
    page = a.request("GET", answers[0].json()["instance"])
    assert b"https://checkout.provider.test/c/" + inv.encode() in page.body, page
    c = Acme(user_agent="CertbotACMEClient/2.1.0 (certbot; debian 12) Authenticator/webroot "
                        "Installer/None (certonly; flags: ) Py/3.11.2")
    c.new_account(Key())
    for i in range(3):
        o = c.new_order([name("icc")])
        ch, r = c.answer_http01(o.json()["authorizations"][0], WEBROOT)
        assert r.status == 200 and r.json()["status"] == "invalid", r
        assert r.json()["error"]["type"] == NS + "userActionRequired", r.json()
    lines = open(runs).read().split()
    assert len(lines) == 2, "certbot's three challenge POSTs (one invoice) ran it %d times" % (len(lines) - 1)
    print("     6 concurrent finalizes: 1 run; another account's newOrder took %.3f s during it" % other)
    ledger_consistent()


# ---- finding 7: welcome credit ----------------------------------------------------------------

@case
def welcome_credit_is_not_farmable():
    free = int(os.environ["FREE"])
    holders = []
    for i in range(3):
        a = Acme()
        assert a.new_account(Key()).status == 201
        holders.append(holder_of(a))
    got = [balance(h) for h in holders]
    assert got == [free, 0, 0], "three fresh keys from one address got %s" % got
    welcomes = sql("SELECT COUNT(*) FROM ledger WHERE reason = 'welcome credit'")
    assert welcomes == "1", welcomes
    # the second and third cannot buy with it: a short finalize asks for the full price
    a = Acme()
    a.new_account(Key())
    _, _, p = short_finalize(a, "wf")
    assert acme_money(PRICE) in p["detail"], p["detail"]
    # EAB: once per credential, whatever the number of accounts bound to it
    adm = [os.environ["ADMIN_BIN"], "--driver", os.environ["ACME_DB_DRIVER"],
           "--params", os.environ["ACME_DB_PARAMS"], "--key-file", os.environ["ACME_KEY_FILE"],
           "--json"]
    eab = json.loads(subprocess.run(adm + ["eab", "create", "--label", "w"], capture_output=True,
                                    text=True, check=True).stdout)
    assert balance(eab["holder"]) == 0, "credited before any account used the credential"
    import base64
    for i in range(2):
        d, k = Acme(), Key()
        prot = b64(json.dumps({"alg": "HS256", "kid": eab["kid"], "url": d.dir["newAccount"]}))
        pay = b64(json.dumps(k.jwk()))
        raw = base64.urlsafe_b64decode(eab["hmac_key"] + "=" * (-len(eab["hmac_key"]) % 4))
        sig = hmac.new(raw, (prot + "." + pay).encode(), hashlib.sha256).digest()
        r = d.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": {
            "protected": prot, "payload": pay, "signature": b64(sig)}})
        assert r.status == 201, r
    assert balance(eab["holder"]) == free, \
        "two accounts bound to one EAB credential: balance %d, want one credit" % balance(eab["holder"])
    assert sql("SELECT currency FROM billing WHERE id = '%s'" % eab["holder"]) == "CNY"
    ledger_consistent()


def acme_money(minor):
    return "%d.%02d CNY" % (minor // 100, minor % 100)


# ---- finding 8: currencies ----------------------------------------------------------------------

@case
def currencies_do_not_mix():
    eur_dir = os.environ["ACME_DIRECTORY_EUR"]
    ctx_trust = os.environ["ACME_TRUST"]
    # an account made on the CNY server, paid there
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    assert sql("SELECT currency FROM billing WHERE id = '%s'" % holder) == "CNY"
    order_a, der, p = short_finalize(a, "cur")
    inv = p["instance"].rsplit("/", 1)[1]
    # a webhook credit in another currency is refused and changes nothing
    st, body = webhook({"invoice": inv, "amount": PRICE * 5, "currency": "EUR", "reference": "eur-" + inv})
    assert st == 422, (st, body)
    assert balance(holder) == 0 and sql("SELECT COUNT(*) FROM payments") == "0"
    st, body = webhook({"invoice": inv, "amount": PRICE * 5, "currency": "cny", "reference": "lc-" + inv})
    assert st == 422, (st, body)
    st, body = webhook({"invoice": inv, "amount": PRICE * 5, "currency": "CNY", "reference": "ok-" + inv})
    assert st == 200, (st, body)
    assert balance(holder) == PRICE * 5
    # the same account (valid on every vhost) finalizes on the EUR server: refused, nothing moves
    e = Acme(directory=eur_dir, trust=ctx_trust)
    e.key, e.kid = a.key, a.kid.replace(a.directory_url.rsplit("/", 1)[0], eur_dir.rsplit("/", 1)[0])
    assert e.request("POST", e.dir["newAccount"], json.dumps(e.jws(e.dir["newAccount"], {
        "onlyReturnExisting": True}, use_jwk=True, kid="")).encode()).status == 200
    n = [name("eur")]
    o = e.new_order(n)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        e.answer_http01(az, WEBROOT)
        assert e.poll(az).json()["status"] == "valid"
    ledger_before = sql("SELECT COUNT(*) FROM ledger")
    invoices_before = sql("SELECT COUNT(*) FROM invoices")
    der2, _ = make_csr(n)
    r = e.post(o.json()["finalize"], {"csr": b64(der2)})
    assert r.status == 403 and r.json()["type"] == NS + "unauthorized", r
    assert "CNY" in r.json()["detail"] and "EUR" in r.json()["detail"], r.json()
    assert balance(holder) == PRICE * 5, "a refused charge moved money"
    assert sql("SELECT COUNT(*) FROM ledger") == ledger_before
    assert sql("SELECT COUNT(*) FROM invoices") == invoices_before, "an invoice in EUR was made"
    assert e.get(o.header("Location")).json()["status"] == "ready"
    # an account made on the EUR server keeps EUR; every ledger row carries its currency
    f = Acme(directory=eur_dir, trust=ctx_trust)
    f.new_account(Key())
    assert sql("SELECT currency FROM billing WHERE id = '%s'" % holder_of(f)) == "EUR"
    # and it pays in CNY on the CNY server: refused too
    g = Acme()
    g.key, g.kid = f.key, f.kid.replace(eur_dir.rsplit("/", 1)[0], a.directory_url.rsplit("/", 1)[0])
    n = [name("cny")]
    url, order = ready_order(g, n)
    der3, _ = make_csr(n)
    r = g.post(order["finalize"], {"csr": b64(der3)})
    assert r.status == 403 and r.json()["type"] == NS + "unauthorized", r
    assert sql("SELECT COUNT(*) FROM invoices WHERE currency <> 'CNY'") == "0"
    # the CNY account's own order still issues on the CNY server, charged in CNY
    r = a.post(order_a["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    assert balance(holder) == PRICE * 4
    assert sql("SELECT COUNT(*) FROM ledger WHERE currency IS NULL OR currency = ''") == "0"
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND currency <> 'CNY'" % holder) == "0"
    ledger_consistent()


# ---- finding 10: the Host header -------------------------------------------------------------

def forged(a, host):
    """A client that signs for, and sends, Host: host (same TLS connection target)."""
    real = a.directory_url.rsplit("/", 1)[0]
    fake = "https://%s/acme" % host
    orig = a.request

    def request(method, url, body=None, ctype="application/jose+json", headers=None):
        h = dict(headers or {})
        h["Host"] = host
        return orig(method, url.replace(fake, real), body, ctype, h)

    def jws(url, payload, **kw):
        kw.setdefault("kid", a.kid.replace(real, fake) if a.kid else a.kid)
        return Acme.jws(a, url.replace(real, fake), payload, **kw)
    a.request, a.jws = request, jws
    return fake


@case
def payment_links_ignore_the_host_header():
    a = Acme()
    a.new_account(Key())
    real = a.directory_url.rsplit("/", 1)[0]
    n = [name("host")]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    evil = "evil.example:%s" % real.rsplit(":", 1)[1].split("/")[0]
    fake = forged(a, evil)
    r = a.post(order["finalize"].replace(real, fake), {"csr": b64(der)})
    assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
    p = r.json()
    assert p["instance"].startswith(real + "/pay/i/"), p["instance"]
    assert "evil" not in p["detail"], p["detail"]
    inv = p["instance"].rsplit("/", 1)[1]
    stored = sql("SELECT pay_url FROM invoices WHERE id = '%s'" % inv)
    assert stored == real + "/pay/i/" + inv, stored
    # the invoice page asked with a forged Host links to the configured name
    page = a.request("GET", real + "/pay/i/" + inv)
    assert page.status == 200 and b"evil" not in page.body, page.body[:400]


# ---- finding 14: unique Ethereum amounts ---------------------------------------------------------

@case
def ethereum_amounts_are_unique_among_open_invoices():
    addr, rate = os.environ["ETH_ADDR"], int(os.environ["ETH_RATE"])
    base = PRICE * rate
    # half of the 999,999 numbers for this price are taken by open invoices (another node's)
    prefill = int(os.environ.get("ETH_PREFILL", "500000"))
    uri = "'ethereum:%s@1?value=' || (%d + n * 2)" % (addr, base)
    far = int(time.time()) + 86400
    if os.environ["ACME_DB_DRIVER"] == "sqlite3":
        q = ("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) "
             "INSERT INTO invoices (id, billing_id, amount, paid, currency, status, eth_wei, created, expires) "
             "SELECT 'pre' || n, 'other', %d, 0, 'CNY', 'open', %s, 0, %d FROM s" % (prefill, PRICE, uri, far))
    else:
        q = ("INSERT INTO invoices (id, billing_id, amount, paid, currency, status, eth_wei, created, expires) "
             "SELECT 'pre' || n, 'other', %d, 0, 'CNY', 'open', %s, 0, %d FROM generate_series(1, %d) n"
             % (PRICE, uri, far, prefill))
    sql(q)
    # one expired open invoice holds a number that must be given back, not block forever
    seen = []
    for i in range(12):
        a = Acme()
        a.new_account(Key())
        _, _, p = short_finalize(a, "eth%d" % i)
        eth = [ln for ln in p["detail"].splitlines() if ln.startswith("Ethereum: ")]
        assert eth, p["detail"]
        seen.append(eth[0][len("Ethereum: "):])
    dups = sql("SELECT eth_wei, COUNT(*) FROM invoices WHERE status = 'open' AND eth_wei IS NOT NULL "
               "GROUP BY eth_wei HAVING COUNT(*) > 1")
    assert dups == "", "open invoices share an Ethereum amount: %s" % dups[:300]
    assert len(set(seen)) == len(seen)
    ledger_consistent()


# ---- finding 9: escape sequences ------------------------------------------------------------------

@case
def webhook_reference_must_be_printable():
    a = Acme()
    a.new_account(Key())
    _, _, p = short_finalize(a, "ref")
    inv = p["instance"].rsplit("/", 1)[1]
    for ref in ["x\x1b]0;pwned\x07", "x\u009b31m", "x\x7f", "a b", "x" * 201]:
        st, body = webhook({"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": ref})
        assert st == 400, (ref, st, body)
    assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "0"
    st, body = webhook({"invoice": inv, "amount": PRICE, "currency": "CNY", "reference": "evt_" + inv})
    assert st == 200, (st, body)
    ledger_consistent()


@case
def escape_sequences_are_stored_escaped():
    """A redirect whose Location carries 7- and 8-bit escape sequences: the challenge error
    the validator stores (and staff later read) holds none of them raw."""
    port = int(os.environ["HTTP01_PORT"])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    srv.settimeout(30)
    evil = b"http://evil.test:1/\xc2\x9b31m\xc2\x9d0;owned\x07\x1b[2J\x7f"

    def serve():
        try:
            for _ in range(8):
                c, _ = srv.accept()
                c.settimeout(5)
                try:
                    c.recv(4096)
                    c.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + evil +
                              b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                finally:
                    c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    a = Acme()
    a.new_account(Key())
    n = name("esc")
    o = a.new_order([n])
    az = o.json()["authorizations"][0]
    authz = a.get(az).json()
    ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
    a.post(ch["url"], {})
    r = a.poll(az)
    srv.close()
    assert r.json()["status"] == "invalid", r
    chid = ch["url"].rsplit("/", 1)[1]
    raw = subprocess.run(["sqlite3", os.environ["ACME_DB_PARAMS"], "SELECT error FROM challenges WHERE id = '%s'" % chid]
                         if os.environ["ACME_DB_DRIVER"] == "sqlite3" else
                         ["psql", os.environ["ACME_DB_PARAMS"], "-tAc", "SELECT error FROM challenges WHERE id = '%s'" % chid],
                         capture_output=True, check=True).stdout
    for bad in (b"\x1b", b"\x07", b"\x7f", b"\xc2\x9b", b"\xc2\x9d"):
        assert bad not in raw, "stored challenge error holds %r: %r" % (bad, raw[:300])
    open(os.path.join(os.environ["T"], "order_url"), "w").write(o.header("Location").rsplit("/", 1)[1])


def main():
    failed = 0
    for c in sys.argv[1:]:
        try:
            CASES[c]()
            print("ok   " + c)
        except Exception as e:
            failed += 1
            print("FAIL %s: %s" % (c, e))
            traceback.print_exc(limit=4)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
