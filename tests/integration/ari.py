#!/usr/bin/python3
"""Renewal information (RFC 9773) against the module configured by test_270_ari.sh
(price 1000 minor units, free-reissue window off, AcmePayARIRetryAfter 3600). Prints one
line per case and "N passed, N failed"."""
import json, os, ssl, subprocess, sys, time, urllib.request, urllib.error, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, cert_id_of
from billing_util import CASES, balance, case, holder_of, ledger_consistent, run_cases, sql
from cryptography import x509

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
PRICE = 1000
ADMIN = [os.environ["ACME_ADMIN"], "--driver", os.environ["ACME_DB_DRIVER"],
         "--params", os.environ["ACME_DB_PARAMS"], "--actor", "carol"]


def admin(*args):
    return subprocess.run(ADMIN + list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def name(tag):
    return "%s-%s.ari.test" % (tag, uuid.uuid4().hex[:8])


def get(url):
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    try:
        with urllib.request.urlopen(urllib.request.Request(url), context=ctx, timeout=30) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def ts(s):
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def funded(amount=3 * PRICE):
    a = Acme()
    assert a.new_account().status == 201
    r = admin("credit", holder_of(a), str(amount), "--reason", "test funds", "--yes")
    assert r.returncode == 0, r.stderr
    return a


def finalize_flow(a, names, extra=None):
    """newOrder (with extra), http-01, finalize; returns (new-order response, final order)."""
    o = a.new_order(names, extra)
    if o.status != 201:
        return o, None
    a.authorize_http01(o, WEBROOT)
    from acme_client import make_csr
    der, _ = make_csr(names)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    return o, a.poll(o.header("Location")).json()


STATE = {}


@case
def directory_and_default_window():
    a = funded()
    STATE["a"] = a
    n = name("base")
    STATE["names"] = [n]
    _, order = finalize_flow(a, [n])
    assert order["status"] == "valid", order
    pem = a.get(order["certificate"]).body.decode()
    cid, c, serial = cert_id_of(pem)
    STATE["cid"], STATE["serial"] = cid, serial
    ri = a.dir.get("renewalInfo")
    assert ri and ri.endswith("/renewal-info"), a.dir
    st, h, body = get(ri + "/" + cid)
    assert st == 200, (st, body)
    assert h.get("Content-Type", "").startswith("application/json"), h
    assert h.get("Retry-After") == "3600", h
    assert "max-age=3600" in h.get("Cache-Control", ""), h
    j = json.loads(body)
    import calendar
    nb = calendar.timegm(c.not_valid_before.timetuple())
    na = calendar.timegm(c.not_valid_after.timetuple())
    s, e = ts(j["suggestedWindow"]["start"]), ts(j["suggestedWindow"]["end"])
    v = na - nb
    assert nb + 2 * v / 3 - 1 <= s < e <= na, (nb, na, s, e)
    assert "explanationURL" not in j, j


@case
def unknown_and_malformed_cert_ids():
    ri = STATE["a"].dir["renewalInfo"]
    aki = STATE["cid"].split(".")[0]
    st, _, body = get(ri + "/" + aki + "." + b64(bytes.fromhex("7f" + "11" * 15)))
    assert st == 404, (st, body)
    st, _, body = get(ri + "/" + b64(b"\x01" * 20) + "." + STATE["cid"].split(".")[1])
    assert st == 404, (st, body)    # our serial, someone else's AKI
    for bad in ["abc", "a.b.c", "!!.AAAA", "AAAA.", ".AAAA", "AAAA." + b64(b"\xff\x01"),
                "AAAA." + b64(b"\x01" * 40)]:
        st, h, body = get(ri + "/" + bad)
        assert st == 400, (bad, st, body)
        assert json.loads(body)["type"] == NS + "malformed", body


@case
def staff_renew_moves_window():
    r = admin("renew", STATE["serial"], "--reason", "key rotation <b>", "--by", "2h")
    assert r.returncode == 0, (r.stdout, r.stderr)
    st, _, body = get(STATE["a"].dir["renewalInfo"] + "/" + STATE["cid"])
    j = json.loads(body)
    now = time.time()
    s, e = ts(j["suggestedWindow"]["start"]), ts(j["suggestedWindow"]["end"])
    assert abs(s - now) < 60 and abs(e - (now + 7200)) < 60, (s, e, now)
    url = j.get("explanationURL")
    assert url and "/renewal-note/" in url, j
    st, h, note = get(url)
    assert st == 200 and b"key rotation <b> (by carol)" in note, (st, note)
    assert h.get("Content-Type", "").startswith("text/plain"), h


@case
def replacement_after_staff_renew_is_free():
    a = STATE["a"]
    h = holder_of(a)
    before = balance(h)
    o, order = finalize_flow(a, STATE["names"], {"replaces": STATE["cid"]})
    assert o.status == 201 and o.json().get("replaces") == STATE["cid"], o
    assert order["status"] == "valid" and order.get("replaces") == STATE["cid"], order
    assert balance(h) == before, (before, balance(h))
    row = sql("SELECT kind, delta, reason FROM ledger WHERE order_id = '%s'"
              % o.header("Location").rsplit("/", 1)[1])
    assert row == "reissue|0|free renewal replacing %s" % STATE["serial"], row
    STATE["replacement_pem"] = a.get(order["certificate"]).body.decode()


@case
def unfinished_replacement_does_not_block():
    # an order replacing the replacement, left unfinished: the client's next attempt
    # (replacement_without_staff_request_is_charged below) is not refused
    cid, _, _ = cert_id_of(STATE["replacement_pem"])
    o = STATE["a"].new_order(STATE["names"], {"replaces": cid})
    assert o.status == 201 and o.json()["status"] == "ready", o


@case
def already_replaced_is_409():
    o = STATE["a"].new_order(STATE["names"], {"replaces": STATE["cid"]})
    assert o.status == 409 and o.json()["type"] == NS + "alreadyReplaced", o


@case
def another_holders_certificate_is_refused():
    b = funded()
    cid, _, _ = cert_id_of(STATE["replacement_pem"])
    o = b.new_order(STATE["names"], {"replaces": cid})
    assert o.status == 403 and o.json()["type"] == NS + "unauthorized", o


@case
def no_common_name_and_bad_values():
    a = STATE["a"]
    cid, _, _ = cert_id_of(STATE["replacement_pem"])
    o = a.new_order([name("other")], {"replaces": cid})
    assert o.status == 400 and o.json()["type"] == NS + "malformed", o
    for bad in [17, "nope", "AAAA." + b64(b"\x7f" * 16)]:
        o = a.new_order(STATE["names"], {"replaces": bad})
        assert o.status == 400 and o.json()["type"] == NS + "malformed", (bad, o)
    assert sql("SELECT COUNT(*) FROM orders WHERE replaces_cert IS NOT NULL") == "2"


@case
def replacement_without_staff_request_is_charged():
    a = STATE["a"]
    h = holder_of(a)
    cid, _, _ = cert_id_of(STATE["replacement_pem"])
    before = balance(h)
    o, order = finalize_flow(a, STATE["names"], {"replaces": cid})
    assert order and order["status"] == "valid", (o, order)
    assert balance(h) == before - PRICE, (before, balance(h))


@case
def revoked_certificate_says_renew_now():
    a = STATE["a"]
    cid, _, serial = cert_id_of(STATE["replacement_pem"])
    r = admin("revoke", serial, "--reason", "1", "--yes")
    assert r.returncode == 0, r.stderr
    st, _, body = get(a.dir["renewalInfo"] + "/" + cid)
    j = json.loads(body)
    assert ts(j["suggestedWindow"]["start"]) <= time.time() + 1, j


@case
def bulk_renew_needs_confirmation():
    r = admin("renew", "--name", "*.ari.test", "--reason", "incident 42")
    assert r.returncode == 2 and "--yes" in r.stderr, (r.returncode, r.stderr)
    r = admin("--json", "renew", "--name", "base-*.ari.test", "--reason", "incident 42", "--yes")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["count"] >= 1, r.stdout
    r = admin("renew", "--name", "nothing-*.example", "--reason", "x", "--yes")
    assert r.returncode == 1, r.returncode


@case
def books_balance():
    ledger_consistent()


run_cases(CASES)
