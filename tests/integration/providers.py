#!/usr/bin/python3
"""Local stand-ins for the payment providers (loopback only) and the cases of
test_360_stripe.sh / test_361_alipay.sh.

Stand-ins implement the documented request formats exactly and refuse anything else:
  stripe  POST /v1/checkout/sessions (form-encoded, Bearer secret key, Idempotency-Key)
          -> a Checkout Session object; events signed like Stripe (Stripe-Signature:
          t=...,v1=HMAC-SHA256(whsec, "t.body")).
  alipay  POST /gateway.do, method alipay.trade.precreate, RSA2 (SHA256withRSA over the
          sorted "k=v&..." parameters without sign) checked with the app's public key ->
          {"alipay_trade_precreate_response": {...}, "sign": RSA2 over that raw text with
          Alipay's key}; notifications form-encoded, RSA2 over the sorted parameters
          without sign and sign_type.

  providers.py serve stripe|alipay PORT DIR     run a stand-in (DIR: keys, secrets, log)
  providers.py notify stripe|alipay DIR INVOICE send the paid notification for INVOICE
  providers.py qr FILE                          decode the terminal QR in a client's output
  providers.py cases stripe|alipay DIR          the cases against the running module
Prints one line per case and "N passed, N failed"."""
import base64, hashlib, hmac, json, os, secrets, ssl, subprocess, sys, tempfile, threading
import time, traceback, urllib.error, urllib.parse, urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

CST = timezone(timedelta(hours=8))  # Alipay's clock: China Standard Time


def rd(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read().strip()


def load_priv(d, name):
    return serialization.load_pem_private_key(rd(d, name), password=None)


def rsa2_sign(key, text):
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(pub, text, sig):
    try:
        pub.verify(base64.b64decode(sig, validate=True), text.encode(), padding.PKCS1v15(),
                   hashes.SHA256())
        return True
    except Exception:
        return False


def sign_content(params, skip):
    return "&".join("%s=%s" % (k, params[k]) for k in sorted(params)
                    if k not in skip and params[k] != "")


# ---- stand-ins -------------------------------------------------------------------------

class StandIn(BaseHTTPRequestHandler):
    kind = None
    d = None
    lock = threading.Lock()
    sessions = {}      # Stripe: Idempotency-Key -> session
    trades = {}        # Alipay: out_trade_no -> answer
    fail_next = [0]    # answer the next N creates with an error

    def log_message(self, *a):
        pass

    def record(self, line):
        with self.lock, open(os.path.join(self.d, "requests.log"), "a") as f:
            f.write(line + "\n")

    def answer(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def form(self):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return None
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
        f = dict(pairs)
        return f if len(f) == len(pairs) else None

    def do_POST(self):
        try:
            f = self.form()
            if f is None:
                return self.answer(400, '{"error":{"message":"form-encoded body expected"}}')
            if self.kind == "stripe" and self.path == "/v1/checkout/sessions":
                return self.stripe_create(f)
            if self.kind == "alipay" and self.path == "/gateway.do":
                return self.alipay_precreate(f)
            self.answer(404, '{"error":{"message":"no such route"}}')
        except Exception as e:  # a stand-in bug shows as a 500 and in its log
            self.record("ERROR %r" % e)
            self.answer(500, "{}")

    def stripe_create(self, f):
        if self.headers.get("Authorization") != "Bearer " + rd(self.d, "stripe.key").decode():
            return self.answer(401, '{"error":{"message":"Invalid API Key provided"}}')
        idem = self.headers.get("Idempotency-Key")
        li = "line_items[0][price_data]"
        need = ["mode", "client_reference_id", "success_url", "cancel_url", li + "[currency]",
                li + "[unit_amount]", li + "[product_data][name]", "line_items[0][quantity]"]
        if not idem or any(not f.get(k) for k in need) or f["mode"] != "payment" or \
                f["line_items[0][quantity]"] != "1" or not f[li + "[unit_amount]"].isdigit() or \
                f[li + "[currency]"] != f[li + "[currency]"].lower():
            return self.answer(400, '{"error":{"message":"bad request: %s"}}' % sorted(f))
        with self.lock:
            if self.fail_next[0] > 0:
                self.fail_next[0] -= 1
                return self.answer(402, '{"error":{"message":"stand-in told to fail"}}')
            s = self.sessions.get(idem)
            if s is None:
                sid = "cs_test_" + secrets.token_hex(12)
                s = {"id": sid, "object": "checkout.session", "mode": "payment",
                     "url": "https://checkout.stripe.test/c/pay/" + sid,
                     "client_reference_id": f["client_reference_id"],
                     "amount_total": int(f[li + "[unit_amount]"]),
                     "currency": f[li + "[currency]"], "payment_status": "unpaid",
                     "success_url": f["success_url"], "metadata": {"invoice": f.get("metadata[invoice]")}}
                self.sessions[idem] = s
        self.record("stripe create %s %s %d %s %s" % (f["client_reference_id"], s["id"],
                                                     s["amount_total"], s["currency"], f["success_url"]))
        self.answer(200, json.dumps(s))

    def alipay_precreate(self, f):
        app_pub = load_priv(self.d, "app.key").public_key()
        need = ["app_id", "method", "format", "charset", "sign_type", "timestamp", "version",
                "notify_url", "biz_content", "sign"]
        if any(not f.get(k) for k in need) or f["method"] != "alipay.trade.precreate" or \
                f["sign_type"] != "RSA2" or f["charset"] != "utf-8" or f["version"] != "1.0":
            return self.alipay_reply({"code": "40001", "msg": "Missing Required Arguments"})
        if f["app_id"] != rd(self.d, "app_id").decode():
            return self.alipay_reply({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id"})
        if not rsa2_verify(app_pub, sign_content(f, ("sign",)), f["sign"]):
            return self.alipay_reply({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"})
        ts = datetime.strptime(f["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
        if abs(ts.timestamp() - time.time()) > 600:
            return self.alipay_reply({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-timestamp"})
        biz = json.loads(f["biz_content"])
        amt = biz.get("total_amount", "")
        if not biz.get("out_trade_no") or not biz.get("subject") or \
                not amt.replace(".", "", 1).isdigit() or ("." in amt and len(amt.split(".")[1]) > 2):
            return self.alipay_reply({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER"})
        with self.lock:
            if self.fail_next[0] > 0:
                self.fail_next[0] -= 1
                return self.alipay_reply({"code": "20000", "msg": "Service Currently Unavailable"})
            resp = self.trades.get(biz["out_trade_no"])
            if resp is None:
                resp = {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"],
                        "qr_code": "https://qr.alipay.test/bax0" + secrets.token_hex(10)}
                self.trades[biz["out_trade_no"]] = resp
        self.record("alipay precreate %s %s %s %s" % (biz["out_trade_no"], amt, f["notify_url"],
                                                      resp["qr_code"]))
        self.alipay_reply(resp)

    def alipay_reply(self, resp):
        # Alipay signs the exact text of the response member; spaces after ':' as sent
        raw = json.dumps(resp, ensure_ascii=False, separators=(",", ":"))
        sig = rsa2_sign(load_priv(self.d, "alipay.key"), raw)
        self.answer(200, '{"alipay_trade_precreate_response":%s,"sign":"%s"}' % (raw, sig),
                    "text/html;charset=utf-8")


def serve(kind, port, d):
    StandIn.kind, StandIn.d = kind, d
    srv = ThreadingHTTPServer(("127.0.0.1", int(port)), StandIn)
    srv.daemon_threads = True
    srv.timeout = 1
    end = time.time() + 1800  # bounded: stops by itself after 30 minutes
    while time.time() < end and not os.path.exists(os.path.join(d, "stop")):
        if os.path.exists(os.path.join(d, "fail-next")):
            with StandIn.lock:
                StandIn.fail_next[0] = int(open(os.path.join(d, "fail-next")).read() or 0)
            os.unlink(os.path.join(d, "fail-next"))
        srv.handle_request()


# ---- notifications ---------------------------------------------------------------------

def base_url():
    return os.environ["ACME_DIRECTORY"].rsplit("/", 1)[0]


def post(path, body, headers):
    req = urllib.request.Request(base_url() + path, data=body, method="POST", headers=headers)
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def stripe_event(d, invoice, session_id, amount, currency="cny", etype="checkout.session.completed",
                 status="paid", t=None, secret=None, extra_sigs=()):
    body = json.dumps({"id": "evt_" + secrets.token_hex(8), "object": "event", "type": etype,
                       "data": {"object": {"id": session_id, "object": "checkout.session",
                                           "client_reference_id": invoice, "amount_total": amount,
                                           "currency": currency, "payment_status": status}}}).encode()
    t = int(time.time()) if t is None else t
    key = secret if secret is not None else rd(d, "stripe-webhook.secret")
    sig = hmac.new(key, b"%d." % t + body, hashlib.sha256).hexdigest()
    hdr = ",".join(["t=%d" % t] + ["v1=" + s for s in extra_sigs] + ["v1=" + sig])
    return body, {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": hdr}


def alipay_params(d, invoice, trade_no, amount, status="TRADE_SUCCESS", when=None, app_id=None):
    now = datetime.now(CST) if when is None else datetime.fromtimestamp(when, CST)
    return {"notify_time": now.strftime("%Y-%m-%d %H:%M:%S"), "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16), "app_id": app_id or rd(d, "app_id").decode(),
            "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "trade_no": trade_no,
            "out_trade_no": invoice, "trade_status": status, "total_amount": amount,
            "receipt_amount": amount, "buyer_pay_amount": amount, "subject": "Certificate: 测试",
            "gmt_payment": now.strftime("%Y-%m-%d %H:%M:%S"), "buyer_logon_id": "159****5620"}


def alipay_form(d, params, key=None):
    p = dict(params)
    p["sign"] = rsa2_sign(key or load_priv(d, "alipay.key"), sign_content(p, ("sign", "sign_type")))
    return urllib.parse.urlencode(p).encode(), {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def notify(kind, d, invoice):
    """The provider's paid notification for an invoice whose checkout it made."""
    row = sql("SELECT amount, checkout_ref FROM invoices WHERE id = '%s'" % invoice)
    amount, ref = row.split("|")
    if kind == "stripe":
        body, h = stripe_event(d, invoice, ref, int(amount))
        return post("/pay/stripe", body, h)
    body, h = alipay_form(d, alipay_params(d, invoice, "2026" + secrets.token_hex(8),
                                           "%d.%02d" % divmod(int(amount), 100)))
    return post("/pay/alipay", body, h)


# ---- the QR a client printed -----------------------------------------------------------

def qr_from_output(text):
    """The first terminal QR (Unicode half blocks, light modules drawn) in text, decoded
    with zbarimg; None when there is none."""
    rows = [l.rstrip("\n") for l in text.splitlines()]
    qr = [l for l in rows if l and set(l.strip()) <= set("\u2580\u2584\u2588 ") and len(l.strip()) > 20]
    if not qr:
        return None
    start = rows.index(qr[0])
    block = []
    for l in rows[start:]:
        if l and set(l.strip()) <= set("\u2580\u2584\u2588 ") and l.strip():
            block.append(l)
        else:
            break
    indent = min(len(l) - len(l.lstrip(" ")) for l in block)
    block = [l[indent:] for l in block]
    w = max(len(l) for l in block)
    m = []
    for l in block:
        l = l.ljust(w)
        m.append([1 if c in "\u2580\u2588" else 0 for c in l])
        m.append([1 if c in "\u2584\u2588" else 0 for c in l])
    scale, border = 6, 8
    n_w, n_h = (w + 2 * border) * scale, (len(m) + 2 * border) * scale
    pix = bytearray()
    for y in range(n_h):
        my = y // scale - border
        for x in range(n_w):
            mx = x // scale - border
            light = not (0 <= my < len(m) and 0 <= mx < w) or m[my][mx]
            pix.append(255 if light else 0)
    with tempfile.NamedTemporaryFile(suffix=".pgm", delete=False) as f:
        f.write(b"P5 %d %d 255\n" % (n_w, n_h) + bytes(pix))
    try:
        out = subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    return out.strip() or None


# ---- the cases ---------------------------------------------------------------------------

def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", "-X", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def log_lines(tag="ACP04600"):
    with open(os.environ["ACME_ERROR_LOG"], errors="replace") as f:
        return [l for l in f if tag in l]


def state():
    return (sql("SELECT COUNT(*) FROM payments"), sql("SELECT COUNT(*) FROM ledger"),
            sql("SELECT COALESCE(SUM(balance), 0) FROM billing"),
            sql("SELECT COUNT(*) FROM invoices WHERE status = 'paid'"))


def books_balance():
    rows = sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
               "WHERE l.billing_id = b.id), 0) FROM billing b")
    for line in rows.splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), "holder %s: balance %s, ledger %s" % (bid, bal, total)


def short_invoice(kind, d):
    """An account with a short balance finalizes: the payment request; returns (invoice,
    holder, problem detail)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from acme_client import Acme, Key, b64, make_csr
    a = Acme()
    assert a.new_account(Key()).status == 201
    name = "%s-%s.prov.test" % (kind, secrets.token_hex(4))
    o = a.new_order([name])
    for az in o.json()["authorizations"]:
        a.answer_http01(az, os.environ["ACME_WEBROOT"])
        assert a.poll(az).json()["status"] == "valid"
    a.poll(o.header("Location"), until=("ready", "invalid"))
    der, _ = make_csr([name])
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 403, r
    p = r.json()
    inv = p["instance"].rsplit("/", 1)[1]
    holder = sql("SELECT billing_id FROM invoices WHERE id = '%s'" % inv)
    # a second finalize reuses the invoice and its checkout: no second create
    r2 = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r2.status == 403 and r2.json()["instance"] == p["instance"], r2
    return inv, holder, p["detail"]


def expect_refused(kind, body, headers, status, why):
    before, logs = state(), len(log_lines())
    code, text = post("/pay/" + kind, body, headers)
    assert code == status, "%s: %d %s, wanted %d" % (why, code, text, status)
    if kind == "alipay":
        assert text == "fail", "%s: answer %r" % (why, text)
    assert state() == before, "%s changed something: %s -> %s" % (why, before, state())
    new = log_lines()[logs:]
    assert len(new) == 1 and "refused" in new[0], "%s: log lines %r" % (why, new)
    return text


def run_cases(kind, d):
    results = []

    def case(name, fn):
        try:
            fn()
            results.append(True)
            print("ok %s" % name)
        except Exception:
            results.append(False)
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)

    ctx = {}

    def checkout_made_once():
        inv, holder, detail = short_invoice(kind, d)
        ctx.update(inv=inv, holder=holder)
        url, prov, ref, amount = sql("SELECT checkout_url, checkout_provider, checkout_ref, amount "
                                     "FROM invoices WHERE id = '%s'" % inv).split("|")
        assert prov == kind, prov
        creates = [l.split() for l in open(os.path.join(d, "requests.log")) if inv in l]
        assert len(creates) == 1, creates  # once per invoice, though finalized twice
        c = creates[0]
        if kind == "stripe":
            assert c[2:5] == [inv, ref, amount] and c[5] == "cny", c
            assert c[6] == base_url() + "/pay/i/" + inv, c  # success/cancel: the invoice page
            assert url == "https://checkout.stripe.test/c/pay/" + ref, url
        else:
            assert c[2:5] == [inv, "%d.%02d" % divmod(int(amount), 100), base_url() + "/pay/alipay"], c
            assert url == c[5] and ref == inv, (url, c)
        assert qr_from_output(detail) == url, "the QR in the payment request is not the checkout"

    def bad_notifications_change_nothing():
        inv = ctx["inv"]
        amount, ref = sql("SELECT amount, checkout_ref FROM invoices WHERE id = '%s'" % inv).split("|")
        amount = int(amount)
        if kind == "stripe":
            ok = lambda amt=amount, **kw: stripe_event(d, inv, ref, amt, **kw)
            expect_refused(kind, *ok(secret=b"whsec_not_the_secret_at_all"), 401, "bad signature")
            expect_refused(kind, *ok(t=int(time.time()) - 400), 401, "stale timestamp")
            expect_refused(kind, *ok(t=int(time.time()) + 400), 401, "future timestamp")
            b, h = ok()
            expect_refused(kind, b.replace(b'"paid"', b'"paid" '), h, 401, "changed body")
            expect_refused(kind, b, {"Content-Type": "application/json"}, 401, "no signature")
            expect_refused(kind, *stripe_event(d, "NoSuchInvoice1", ref, amount), 404, "unknown invoice")
            expect_refused(kind, *ok(amt=amount - 1), 422, "wrong amount (less)")
            expect_refused(kind, *ok(amt=amount + 1), 422, "wrong amount (more)")
            expect_refused(kind, *ok(currency="eur"), 422, "wrong currency")
            # authentic but nothing paid: acknowledged, nothing changes, nothing refused
            before = state()
            assert post("/pay/stripe", *ok(status="unpaid"))[0] == 200
            assert post("/pay/stripe", *ok(etype="checkout.session.expired"))[0] == 200
            assert state() == before
        else:
            p = lambda **kw: alipay_params(d, inv, "2026TRADE" + inv, "%d.%02d" % divmod(amount, 100), **kw)
            other = load_priv(d, "app.key")  # a key that is not Alipay's
            expect_refused(kind, *alipay_form(d, p(), key=other), 401, "bad signature")
            b, h = alipay_form(d, p())
            expect_refused(kind, b.replace(b"TRADE_SUCCESS", b"TRADE_FINISHED"), h, 401, "changed parameter")
            expect_refused(kind, b.replace(b"sign_type=RSA2", b"sign_type=RSA"), h, 401, "sign_type RSA")
            expect_refused(kind, *alipay_form(d, p(when=time.time() - 1000)), 401, "stale notify_time")
            expect_refused(kind, *alipay_form(d, p(app_id="2021000000000001")), 401, "another app_id")
            q = p()
            q["out_trade_no"] = "NoSuchInvoice1"
            expect_refused(kind, *alipay_form(d, q), 404, "unknown invoice")
            for wrong in ("%d.%02d" % divmod(amount - 1, 100), "%d.%02d" % divmod(amount + 1, 100)):
                q = p()
                q["total_amount"] = wrong
                expect_refused(kind, *alipay_form(d, q), 422, "wrong amount " + wrong)
            q = p()
            q["total_amount"] = "%d.%03d" % (amount // 100, (amount % 100) * 10)
            expect_refused(kind, *alipay_form(d, q), 400, "amount with three decimals")
            expect_refused(kind, b"not=a&form=%zz", {"Content-Type": "application/x-www-form-urlencoded"},
                           400, "malformed body")
            before = state()
            code, text = post("/pay/alipay", *alipay_form(d, p(status="WAIT_BUYER_PAY")))
            assert (code, text) == (200, "success"), (code, text)
            assert state() == before

    def paid_once_then_replays_change_nothing():
        inv, holder = ctx["inv"], ctx["holder"]
        amount = int(sql("SELECT amount FROM invoices WHERE id = '%s'" % inv))
        bal = int(sql("SELECT balance FROM billing WHERE id = '%s'" % holder))
        if kind == "stripe":
            ref = sql("SELECT checkout_ref FROM invoices WHERE id = '%s'" % inv)
            first = stripe_event(d, inv, ref, amount)
        else:
            first = alipay_form(d, alipay_params(d, inv, "2026TRADE" + inv, "%d.%02d" % divmod(amount, 100)))
        code, text = post("/pay/" + kind, *first)
        assert code == 200 and (kind == "stripe" or text == "success"), (code, text)
        assert "credited" in log_lines()[-1] and "refused" not in log_lines()[-1]
        assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "paid"
        for _ in range(3):  # the provider delivers again: answered as done, credited once
            code, text = post("/pay/" + kind, *first)
            assert code == 200 and "already credited" in log_lines()[-1], (code, text)
        if kind == "alipay":  # TRADE_FINISHED follows TRADE_SUCCESS for the same trade
            post("/pay/alipay", *alipay_form(d, alipay_params(d, inv, "2026TRADE" + inv,
                                                              "%d.%02d" % divmod(amount, 100),
                                                              status="TRADE_FINISHED")))
        assert int(sql("SELECT balance FROM billing WHERE id = '%s'" % holder)) == bal + amount
        assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "1"
        assert sql("SELECT source FROM payments WHERE invoice_id = '%s'" % inv) == kind
        assert sql("SELECT reference FROM payments WHERE invoice_id = '%s'" % inv).startswith(kind + ":")
        books_balance()

    def concurrent_deliveries_credit_once():
        inv, holder, _ = short_invoice(kind, d)
        amount = int(sql("SELECT amount FROM invoices WHERE id = '%s'" % inv))
        if kind == "stripe":
            msg = stripe_event(d, inv, sql("SELECT checkout_ref FROM invoices WHERE id = '%s'" % inv), amount)
        else:
            msg = alipay_form(d, alipay_params(d, inv, "2026C" + inv, "%d.%02d" % divmod(amount, 100)))
        codes = []
        ts = [threading.Thread(target=lambda: codes.append(post("/pay/" + kind, *msg)[0])) for _ in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert codes.count(200) == 16, codes
        assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "1"
        assert int(sql("SELECT balance FROM billing WHERE id = '%s'" % holder)) == amount
        assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'payment'" % holder) == "1"
        books_balance()

    def provider_down_falls_back_to_the_link():
        with open(os.path.join(d, "fail-next"), "w") as f:
            f.write("1")
        time.sleep(1.5)  # the stand-in reads it between requests (1 s poll)
        logs = len(log_lines())
        inv, holder, detail = short_invoice(kind, d)
        row = sql("SELECT checkout_state, COALESCE(checkout_url, '') FROM invoices WHERE id = '%s'" % inv)
        assert row == "failed|", row
        assert qr_from_output(detail) == base_url() + "/pay/i/" + inv, "the QR is not the invoice page"
        new = [l for l in log_lines()[logs:] if "no checkout" in l]
        assert len(new) == 1 and kind in new[0], new

    case("checkout made once per invoice, its URL in the QR", checkout_made_once)
    case("bad notifications change nothing, each logged once", bad_notifications_change_nothing)
    case("paid once, replays change nothing", paid_once_then_replays_change_nothing)
    case("16 concurrent deliveries credit once", concurrent_deliveries_credit_once)
    case("provider down: no checkout, the QR shows the invoice page, logged", provider_down_falls_back_to_the_link)
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "notify":
        code, text = notify(sys.argv[2], sys.argv[3], sys.argv[4])
        print(code, text)
        sys.exit(0 if code == 200 else 1)
    elif cmd == "qr":
        print(qr_from_output(open(sys.argv[2], errors="replace").read()) or "")
    elif cmd == "cases":
        sys.exit(run_cases(sys.argv[2], sys.argv[3]))
