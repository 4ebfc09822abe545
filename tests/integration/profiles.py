#!/usr/bin/python3
"""Profiles as products against the module configured by test_273_profiles.sh: short
(7 days, 300, default), year (365 days, 8000, +500 per extra name). Prints one line per
case and "N passed, N failed"."""
import json, os, subprocess, sys, uuid, calendar
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, b64, make_csr
from billing_util import CASES, balance, case, holder_of, ledger_consistent, run_cases, sql
from cryptography import x509

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
ADMIN = [os.environ["ACME_ADMIN"], "--driver", os.environ["ACME_DB_DRIVER"],
         "--params", os.environ["ACME_DB_PARAMS"], "--actor", "erin"]
STATE = {}


def admin(*args):
    return subprocess.run(ADMIN + list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def name(tag):
    return "%s-%s.prof.test" % (tag, uuid.uuid4().hex[:8])


def issue(a, names, profile=None):
    """Returns (order json, certificate) or (new-order response, None)."""
    o = a.new_order(names, {"profile": profile} if profile is not None else None)
    if o.status != 201:
        return o, None
    a.authorize_http01(o, WEBROOT)
    der, _ = make_csr(names)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    if r.status != 200:
        return r, None
    order = a.poll(o.header("Location")).json()
    pem = a.get(order["certificate"]).body
    return order, x509.load_pem_x509_certificate(pem.split(b"-----END CERTIFICATE-----")[0] +
                                                 b"-----END CERTIFICATE-----\n")


def days(cert):
    return (calendar.timegm(cert.not_valid_after.timetuple()) -
            calendar.timegm(cert.not_valid_before.timetuple())) / 86400.0


@case
def directory_lists_profiles_with_prices():
    a = Acme()
    profs = a.dir["meta"].get("profiles")
    assert profs == {"short": "One-week test (7 days, 3.00 CNY)",
                     "year": "1-year DV (365 days, 80.00 CNY)"}, profs
    assert a.new_account().status == 201
    r = admin("credit", holder_of(a), "200.00", "--reason", "funds", "--yes")
    assert r.returncode == 0, r.stderr
    STATE["a"] = a


@case
def default_profile_price_and_lifetime():
    a = STATE["a"]
    h = holder_of(a)
    before = balance(h)
    n = name("def")
    order, cert = issue(a, [n])
    assert cert is not None, order
    assert order.get("profile") == "short", order
    assert order["price"]["amount"] == 300, order
    assert 6.9 < days(cert) < 7.1, days(cert)
    assert balance(h) == before - 300
    STATE["short_names"] = [n]


@case
def chosen_profile_price_and_lifetime():
    a = STATE["a"]
    h = holder_of(a)
    before = balance(h)
    names = [name("yr"), name("yr2")]
    o = a.new_order(names, {"profile": "year"})
    assert o.status == 201 and o.json()["profile"] == "year", o
    assert o.json()["price"]["amount"] == 8500, o.json()     # 8000 + one extra name at 500
    order, cert = issue(a, names, "year")
    assert cert is not None, order
    assert 364.9 < days(cert) < 365.1, days(cert)
    assert balance(h) == before - 8500, (before, balance(h))


@case
def unknown_profile_is_invalid_profile():
    a = STATE["a"]
    n0 = int(sql("SELECT COUNT(*) FROM orders"))
    for bad in ["gold", "x" * 200, "bad name"]:
        o = a.new_order([name("unk")], {"profile": bad})
        assert o.status == 400 and o.json()["type"] == NS + "invalidProfile", (bad, o)
    o = a.new_order([name("unk")], {"profile": 7})
    assert o.status == 400 and o.json()["type"] == NS + "malformed", o
    assert int(sql("SELECT COUNT(*) FROM orders")) == n0


@case
def too_many_names_still_refused():
    a = STATE["a"]
    o = a.new_order([name("many%d" % i) for i in range(101)], {"profile": "year"})
    assert o.status == 400 and o.json()["type"] == NS + "malformed", o


@case
def free_reissue_only_within_the_same_profile():
    a = STATE["a"]
    h = holder_of(a)
    before = balance(h)
    order, cert = issue(a, STATE["short_names"], "short")      # same names, same profile
    assert cert is not None and balance(h) == before, (order, before, balance(h))
    order, cert = issue(a, STATE["short_names"], "year")       # same names, other product
    assert cert is not None, order
    assert balance(h) == before - 8000, (before, balance(h))
    assert 364.9 < days(cert) < 365.1


@case
def admin_shows_profiles_and_revenue():
    r = admin("--json", "revenue")
    assert r.returncode == 0, r.stderr
    rev = {x["profile"]: x for x in json.loads(r.stdout)}
    assert rev["short"]["revenue"] == 300 and rev["year"]["revenue"] == 16500, rev
    r = admin("--json", "orders", "list")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    rows = out if isinstance(out, list) else out.get("rows", out.get("items", []))
    assert any(x.get("profile") == "year" for x in rows), out


@case
def books_balance():
    ledger_consistent()


run_cases(CASES)
