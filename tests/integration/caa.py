#!/usr/bin/python3
"""CAA (RFC 8659, RFC 8657) against a real DNS server (pebble-challtestsrv, the server's
AcmePayResolver), driven with the project's ACME client. The server runs with
AcmePayCAAIdentities ca.example.net. Every case uses fresh names under its own base, so
one case's records never reach another's tree."""
import base64, hashlib, json, os, sys, time, urllib.request, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr
from acme_client import db_sql_owner as sql

WEBROOT = os.environ["ACME_WEBROOT"]
CTS = os.environ["CHALLTESTSRV"]
US = "ca.example.net"
CAA = "urn:ietf:params:acme:error:caa"
fails = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def cts(path, obj):
    req = urllib.request.Request(CTS + path, data=json.dumps(obj).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, (path, r.status)


def add_caa(host, *policies):
    cts("/add-caa", {"host": host + ".", "policies": [{"tag": t, "value": v} for t, v in policies]})


def base():
    return "caa-%s.test" % uuid.uuid4().hex[:10]


def answer(acme, authz_url, method):
    az = acme.get(authz_url).json()
    ch = [c for c in az["challenges"] if c["type"] == method][0]
    ka = ch["token"] + "." + acme.key.thumbprint()
    if method == "http-01":
        d = os.path.join(WEBROOT, ".well-known", "acme-challenge")
        with open(os.path.join(d, ch["token"]), "w") as f:
            f.write(ka)
        os.chmod(os.path.join(d, ch["token"]), 0o644)
    else:
        val = base64.urlsafe_b64encode(hashlib.sha256(ka.encode()).digest()).decode().rstrip("=")
        cts("/set-txt", {"host": "_acme-challenge.%s." % az["identifier"]["value"], "value": val})
    r = acme.post(ch["url"], {})
    assert r.status == 200, r
    return acme.poll(authz_url).json()


def attempt(names, method="http-01", acme=None):
    """Order names and answer every authorization with method: (order url, order json,
    [authz json])."""
    acme = acme or A
    o = acme.new_order(names)
    assert o.status == 201, o
    azs = [answer(acme, u, method) for u in o.json()["authorizations"]]
    order = acme.poll(o.header("Location"), until=("ready", "invalid")).json()
    return o.header("Location"), order, azs


def chall_error(az):
    for c in az.get("challenges", []):
        if c.get("error"):
            return c["error"]
    return {}


def expect_valid(what, names, method="http-01", acme=None):
    url, order, azs = attempt(names, method, acme)
    check(all(a["status"] == "valid" for a in azs) and order["status"] == "ready",
          "%s: authorized (%s)" % (what, [chall_error(a).get("detail") for a in azs]))
    return url, order


def expect_caa(what, names, method="http-01", acme=None, detail=None):
    url, order, azs = attempt(names, method, acme)
    bad = [a for a in azs if a["status"] == "invalid"]
    err = chall_error(bad[0]) if bad else {}
    check(bool(bad) and err.get("type") == CAA and err.get("status") == 403,
          "%s: authorization refused with caa (%s)" % (what, err))
    if detail:
        check(detail in err.get("detail", ""), "%s: detail names %r (%s)" % (what, detail, err.get("detail")))
    oe = order.get("error") or {}
    check(order["status"] == "invalid" and oe.get("type") == CAA,
          "%s: order invalid with caa (%s %s)" % (what, order["status"], oe))


def finalize(order_url, order, names, acme=None):
    acme = acme or A
    der, _ = make_csr(names)
    return acme.post(order["finalize"], {"csr": b64(der)})


A = Acme()
A.new_account(Key("ec256"))
B = Acme()
B.new_account(Key("ec256"))

# -- no CAA record anywhere: issued
b = base()
url, order = expect_valid("no record", ["www." + b])
r = finalize(url, order, ["www." + b])
check(r.status == 200, "no record: finalize %s" % r.status)
check(A.poll(url).json()["status"] == "valid", "no record: certificate issued")

# -- our identity (case-insensitive), another CA, one of several
b = base(); add_caa("a." + b, ("issue", "CA.Example.Net"))
expect_valid("issue names us", ["a." + b])
b = base(); add_caa("a." + b, ("issue", "letsencrypt.org"))
expect_caa("issue names another CA", ["a." + b], detail="letsencrypt.org")
b = base(); add_caa("a." + b, ("issue", "letsencrypt.org"), ("issue", US))
expect_valid("one of two issue records names us", ["a." + b])
# only iodef and an unknown non-critical tag: no restriction
b = base(); add_caa("a." + b, ("iodef", "mailto:caa@example.net"), ("tbs", "x"))
expect_valid("iodef and unknown non-critical tag only", ["a." + b])

# -- empty issuer value: forbids every CA
b = base(); add_caa("a." + b, ("issue", ";"))
expect_caa("empty issuer \";\"", ["a." + b], detail="forbids all")

# -- issuewild vs issue
b = base(); add_caa(b, ("issue", "letsencrypt.org"), ("issuewild", US))
expect_valid("issuewild names us: wildcard", ["*." + b], method="dns-01")
expect_caa("issuewild names us: the bare name follows issue", [b])
b = base(); add_caa(b, ("issue", US), ("issuewild", ";"))
expect_caa("issuewild \";\": wildcard refused", ["*." + b], method="dns-01")
expect_valid("issuewild \";\": the bare name follows issue", [b])
b = base(); add_caa(b, ("issue", "letsencrypt.org"))
expect_caa("no issuewild: a wildcard follows issue", ["*." + b], method="dns-01")

# -- tree climbing (RFC 8659 §3): the closest RRset decides
b = base(); add_caa("p." + b, ("issue", "letsencrypt.org"))
expect_caa("parent forbids", ["x.y.p." + b], detail="for p." + b)
b = base(); add_caa(b, ("issue", "letsencrypt.org")); add_caa("p." + b, ("issue", US))
expect_valid("closer record names us, grandparent another CA", ["x.p." + b])
b = base(); add_caa(b, ("issue", US)); add_caa("p." + b, ("issue", "letsencrypt.org"))
expect_caa("closer record names another CA, grandparent us", ["x.p." + b])

# -- CNAME (followed by the resolver): the target's RRset applies to the alias
b = base()
cts("/set-cname", {"host": "alias." + b + ".", "target": "target." + b + "."})
add_caa("target." + b, ("issue", "letsencrypt.org"))
expect_caa("CNAME to a name whose CAA names another CA", ["alias." + b])
b = base()
cts("/set-cname", {"host": "alias." + b + ".", "target": "target." + b + "."})
add_caa("target." + b, ("issue", US)); add_caa(b, ("issue", "letsencrypt.org"))
expect_valid("CNAME to a name whose CAA names us", ["alias." + b])

# -- CNAME chains longer than the one level challtestsrv answers (it follows one alias per
#    query): the server asks again for the alias target (RFC 8659 §3: CAA(X) chases X's
#    aliases); the record at the end of the chain decides
b = base()
cts("/set-cname", {"host": "alias." + b + ".", "target": "mid." + b + "."})
cts("/set-cname", {"host": "mid." + b + ".", "target": "target." + b + "."})
add_caa("target." + b, ("issue", "letsencrypt.org"))
expect_caa("two-level CNAME to a name whose CAA names another CA", ["alias." + b],
           detail="target." + b)
b = base()
cts("/set-cname", {"host": "alias." + b + ".", "target": "mid." + b + "."})
cts("/set-cname", {"host": "mid." + b + ".", "target": "target." + b + "."})
add_caa("target." + b, ("issue", US)); add_caa(b, ("issue", "letsencrypt.org"))
expect_valid("two-level CNAME to a name whose CAA names us", ["alias." + b])
# the climb is over the alias's own parents, never the target's
b, o = base(), base()
cts("/set-cname", {"host": "alias." + b + ".", "target": "t.x." + o + "."})
add_caa(o, ("issue", "letsencrypt.org"))
expect_valid("CNAME target's parent names another CA: not relevant", ["alias." + b])
b, o = base(), base()
cts("/set-cname", {"host": "alias.p." + b + ".", "target": "t." + o + "."})
add_caa("p." + b, ("issue", "letsencrypt.org"))
expect_caa("CNAME target without CAA, the alias's parent names another CA", ["alias.p." + b],
           detail="for p." + b)
# a CNAME loop is refused, never followed forever
b = base()
cts("/set-cname", {"host": "l1." + b + ".", "target": "l2." + b + "."})
cts("/set-cname", {"host": "l2." + b + ".", "target": "l1." + b + "."})
expect_caa("CNAME loop", ["l1." + b], method="dns-01", detail="aliases")

# -- the critical flag (RFC 8659 §4.1): an unknown tag refuses, a known one does not
#    (the flag is set by dns_proxy.py for "crit-" names)
b = base(); add_caa("crit-a." + b, ("tbs", "x"))
expect_caa("critical flag on an unknown tag", ["crit-a." + b], detail="critical")
b = base(); add_caa("crit-a." + b, ("issue", US))
expect_valid("critical flag on issue naming us", ["crit-a." + b])

# -- a lookup that times out refuses (dns_proxy.py never answers CAA for "timeout-")
b = base()
t0 = time.time()
expect_caa("CAA lookup timeout", ["timeout-a." + b], detail="timeout")
check(time.time() - t0 < 30, "CAA lookup timeout: bounded (%.1f s)" % (time.time() - t0))

# -- RFC 8657 accounturi
b = base(); add_caa("a." + b, ("issue", "%s; accounturi=%s" % (US, A.kid)))
expect_valid("accounturi is this account", ["a." + b])
expect_caa("accounturi is another account", ["a." + b], acme=B, detail="accounturi")

# -- RFC 8657 validationmethods
b = base(); add_caa("a." + b, ("issue", "%s; validationmethods=dns-01" % US))
expect_caa("validationmethods=dns-01, http-01 used", ["a." + b], detail="validationmethods")
expect_valid("validationmethods=dns-01, dns-01 used", ["a." + b], method="dns-01")
b = base(); add_caa("a." + b, ("issue", "%s; accounturi=%s; validationmethods=http-01,dns-01" % (US, B.kid)))
expect_valid("both parameters match", ["a." + b], acme=B)

# -- a failing lookup refuses: SERVFAIL at the name (dns-01 asks _acme-challenge.<name>
#    for TXT, so only the CAA query meets it) and at a parent (http-01)
b = base(); cts("/set-servfail", {"host": "a." + b + "."})
expect_caa("SERVFAIL at the name", ["a." + b], method="dns-01", detail="SERVFAIL")
b = base(); cts("/set-servfail", {"host": "p." + b + "."})
expect_caa("SERVFAIL at a parent", ["x.p." + b], detail="SERVFAIL")

# -- again before issuance when the validation is older than 8 hours
b = base()
url, order = expect_valid("recheck: authorized without CAA", ["r." + b])
add_caa("r." + b, ("issue", "letsencrypt.org"))
oid = url.rsplit("/", 1)[1]
ledger0 = sql("SELECT COUNT(*) FROM ledger")
balance_before_recheck = sql("SELECT balance FROM billing WHERE id = (SELECT billing_id FROM "
                             "accounts WHERE id = '%s')" % A.kid.rsplit("/", 1)[1])
sql("UPDATE challenges SET validated = validated - 9 * 3600 WHERE authz_id IN "
    "(SELECT authz_id FROM order_authz WHERE order_id = '%s')" % oid)
r = finalize(url, order, ["r." + b])
check(r.status == 403 and r.json().get("type") == CAA,
      "recheck after 9 h: finalize refused with caa (%s %s)" % (r.status, r.body[:300]))
o = A.get(url).json()
check(o["status"] == "invalid" and (o.get("error") or {}).get("type") == CAA,
      "recheck after 9 h: order invalid with caa (%s)" % o)
check(sql("SELECT COUNT(*) FROM certificates WHERE order_id = '%s'" % oid) == "0",
      "recheck after 9 h: no certificate")
check(sql("SELECT COUNT(*) FROM ledger") == ledger0, "recheck after 9 h: no ledger row")
check(sql("SELECT COUNT(*) FROM ledger WHERE order_id = '%s'" % oid) == "0",
      "recheck after 9 h: nothing charged for the order (price 100)")
check(sql("SELECT balance FROM billing WHERE id = (SELECT billing_id FROM accounts WHERE id = '%s')"
          % A.kid.rsplit("/", 1)[1]) == balance_before_recheck,
      "recheck after 9 h: the balance is unchanged")
# the same for a client that finalizes as soon as its authorizations are valid, without
# reading the order first (certbot does): the order's stored status may still be pending
b = base()
o = A.new_order(["r." + b])
assert o.status == 201, o
url, order = o.header("Location"), o.json()
azs = [answer(A, u, "http-01") for u in order["authorizations"]]
check(all(a["status"] == "valid" for a in azs), "recheck, no order read: authorized")
add_caa("r." + b, ("issue", "letsencrypt.org"))
oid = url.rsplit("/", 1)[1]
sql("UPDATE challenges SET validated = validated - 9 * 3600 WHERE authz_id IN "
    "(SELECT authz_id FROM order_authz WHERE order_id = '%s')" % oid)
r = finalize(url, order, ["r." + b])
check(r.status == 403 and r.json().get("type") == CAA,
      "recheck after 9 h, no order read before finalize: refused with caa (%s %s)" % (r.status, r.body[:300]))
check(sql("SELECT COUNT(*) FROM ledger WHERE order_id = '%s'" % oid) == "0",
      "recheck after 9 h, no order read before finalize: nothing charged")
# within 8 hours the earlier check stands (CA/B BR: CAA may be reused for 8 hours); this
# finalize is charged, which shows the price is in force for the refusal above
b = base()
url, order = expect_valid("recheck: authorized without CAA (fresh)", ["r." + b])
add_caa("r." + b, ("issue", "letsencrypt.org"))
r = finalize(url, order, ["r." + b])
check(r.status == 200, "validated just now: finalize accepted (%s)" % r.status)
oid = url.rsplit("/", 1)[1]
A.poll(url)
check(sql("SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE order_id = '%s'" % oid) == "-100",
      "validated just now: charged the price (control for 'nothing charged')")

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
