#!/usr/bin/python3
"""IP identifiers (RFC 8738) against the module, with the project's ACME client: http-01
and tls-alpn-01 on 127.0.0.1 and ::1, the certificates' iPAddress SANs, no dns-01, refused
and malformed addresses (nothing written), a CSR whose addresses differ (badCSR, nothing
charged), the price and the names key. The server runs with AcmePayPrice 100,
AcmePayPricePerExtraName 10 and a welcome credit of 1000 (test_191_ip_identifiers.sh)."""
import ipaddress, os, subprocess, sys, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, TlsAlpnResponder, b64, make_csr
from acme_client import db_sql_owner as sql

WEBROOTS = [os.environ["ACME_WEBROOT"]] + ([os.environ["ACME_WEBROOT_V6"]]
                                           if os.environ.get("ACME_WEBROOT_V6") else [])
V6 = os.environ.get("ACP_IPV6") == "1"
ALPN_PORT = int(os.environ["TLSALPN01_PORT"])
ERR = "urn:ietf:params:acme:error:"
V4_REVERSE = "1.0.0.127.in-addr.arpa"
V6_REVERSE = ".".join(["1"] + ["0"] * 31) + ".ip6.arpa"
fails = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def account():
    a = Acme()
    r = a.new_account(Key("ec256"))
    assert r.status == 201, r
    return a


def solve(acme, authz_url, method):
    """Answer authz_url with method; (authz json after polling, SNIs the responder saw)."""
    az = acme.get(authz_url).json()
    ch = [c for c in az["challenges"] if c["type"] == method][0]
    ka = ch["token"] + "." + acme.key.thumbprint()
    ident = az["identifier"]["value"]
    snis = []
    if method == "http-01":
        for root in WEBROOTS:
            d = os.path.join(root, ".well-known", "acme-challenge")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, ch["token"]), "w") as f:
                f.write(ka)
            os.chmod(os.path.join(d, ch["token"]), 0o644)
        r = acme.post(ch["url"], {})
        assert r.status == 200, r
        return acme.poll(authz_url).json(), snis
    host = ident if az["identifier"]["type"] == "ip" else "127.0.0.1"
    with TlsAlpnResponder(host, ALPN_PORT, ident, ka) as resp:
        r = acme.post(ch["url"], {})
        assert r.status == 200, r
        out = acme.poll(authz_url).json()
        snis = list(resp.snis)
    return out, snis


def finalize(acme, order, names=(), ips=(), cn=None):
    der, _ = make_csr(list(names), ips=list(ips), cn=cn)
    return acme.post(order["finalize"], {"csr": b64(der)})


def openssl_ip(a):
    """An address as openssl x509 prints an iPAddress SAN (IPv6: 8 groups, %X each)."""
    ip = ipaddress.ip_address(a)
    if ip.version == 4:
        return a
    return ":".join("%X" % int(g, 16) for g in ip.exploded.split(":"))


def cert_sans(pem):
    with open("/tmp/ipid-%s.pem" % uuid.uuid4().hex, "w") as f:
        f.write(pem)
        path = f.name
    try:
        out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-ext", "subjectAltName"],
                             capture_output=True, text=True).stdout
        ver = subprocess.run(["openssl", "verify", "-CAfile", os.environ["ACME_ISSUER_CA"],
                              "-untrusted", path, path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    lines = out.splitlines()[1:]
    sans = sorted(s.strip() for s in ",".join(lines).split(",") if s.strip())
    return sans, ver.returncode == 0


def issue(what, acme, ips, method, names=(), reverse=None):
    """Order ips (+ names), answer every pending authorization with method, finalize with a
    matching CSR; check the order, the authorizations, the SNI and the certificate."""
    o = acme.new_order(list(names), ips=ips)
    check(o.status == 201, "%s: newOrder 201 (%s)" % (what, o if o.status != 201 else "created"))
    if o.status != 201:
        return None
    order = o.json()
    want_ids = sorted([("dns", n) for n in names] + [("ip", a) for a in ips])
    check(sorted((i["type"], i["value"]) for i in order["identifiers"]) == want_ids,
          "%s: order identifiers %s" % (what, order["identifiers"]))
    for az_url in order["authorizations"]:
        az = acme.get(az_url).json()
        if az["identifier"]["type"] == "ip":
            check(sorted(c["type"] for c in az["challenges"]) == ["http-01", "tls-alpn-01"]
                  or az["status"] == "valid",
                  "%s: %s offers http-01 and tls-alpn-01 only (%s)" % (
                      what, az["identifier"]["value"], [c["type"] for c in az["challenges"]]))
            check("wildcard" not in az, "%s: no wildcard flag" % what)
        if az["status"] == "valid":
            continue
        m = method if az["identifier"]["type"] == "ip" else "http-01"
        done, snis = solve(acme, az_url, m)
        check(done["status"] == "valid", "%s: %s valid by %s (%s)" % (
            what, az["identifier"]["value"], m, done.get("challenges")))
        if m == "tls-alpn-01":
            check(snis and all(s == reverse for s in snis),
                  "%s: tls-alpn-01 SNI is %s (saw %s)" % (what, reverse, snis))
    r = finalize(acme, order, names, ips)
    check(r.status == 200, "%s: finalize 200 (%s)" % (what, r if r.status != 200 else "ok"))
    final = acme.poll(o.header("Location")).json()
    check(final["status"] == "valid", "%s: order valid (%s)" % (what, final.get("error")))
    if final["status"] != "valid":
        return None
    pem = acme.get(final["certificate"]).body.decode()
    sans, verifies = cert_sans(pem)
    want = sorted(["DNS:%s" % n for n in names] +
                  ["IP Address:%s" % openssl_ip(a) for a in ips])
    check(sans == want, "%s: certificate SANs %s (want %s)" % (what, sans, want))
    check(verifies, "%s: certificate verifies against the CA" % what)
    return o.header("Location").rsplit("/", 1)[1]


def charged(order_id):
    return int(sql("SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE order_id = '%s'" % order_id) or 0)


# ---- issuance: IPv4 loopback by http-01 and by tls-alpn-01 (a fresh account each, so no
#      authorization is reused)
A = account()
oid = issue("127.0.0.1 http-01", A, ["127.0.0.1"], "http-01")
if oid:
    check(sql("SELECT names_key FROM certificates WHERE order_id = '%s'" % oid) == "ip:127.0.0.1",
          "names key of an address is ip:127.0.0.1")
    check(charged(oid) == -100, "an address costs what a name costs (%s)" % charged(oid))
    # the same set again within the reissue window: free, like a name
    oid2 = issue("127.0.0.1 again (reissue)", A, ["127.0.0.1"], "http-01")
    if oid2:
        check(charged(oid2) == 0, "same address set again: free reissue (%s)" % charged(oid2))
B = account()
issue("127.0.0.1 tls-alpn-01", B, ["127.0.0.1"], "tls-alpn-01", reverse=V4_REVERSE)
# an address beside a name: both SANs, one extra name priced
mix = "ipmix-%s.test" % uuid.uuid4().hex[:8]
oid = issue("127.0.0.1 + %s" % mix, account(), ["127.0.0.1"], "http-01", names=[mix])
if oid:
    check(charged(oid) == -110, "address + name: price + one extra name (%s)" % charged(oid))

# ---- IPv6 loopback
if V6:
    issue("::1 http-01", account(), ["::1"], "http-01")
    issue("::1 tls-alpn-01", account(), ["::1"], "tls-alpn-01", reverse=V6_REVERSE)
else:
    print("SKIP IPv6: ::1 is not available on this machine (test_191 logged why)")

# ---- refused and malformed identifiers: the right problem, nothing written
C = account()
counts = lambda: (sql("SELECT COUNT(*) FROM orders"), sql("SELECT COUNT(*) FROM authorizations"),
                  sql("SELECT COUNT(*) FROM challenges"))
before = counts()
cases = [
    ("ip", "127.000.0.1", "malformed"), ("ip", "01.2.3.4", "malformed"), ("ip", "1.2.3", "malformed"),
    ("ip", "::01", "malformed"), ("ip", "0:0:0:0:0:0:0:1", "malformed"), ("ip", "::1%lo", "malformed"),
    ("ip", "fe80::1%25eth0", "malformed"), ("ip", "[::1]", "malformed"), ("ip", "2001:DB8::1", "malformed"),
    ("ip", "example.com", "malformed"), ("ip", "*.127.0.0.1", "malformed"), ("ip", "", "malformed"),
    ("ip", "::ffff:127.0.0.1", "rejectedIdentifier"), ("ip", "10.0.0.1", "rejectedIdentifier"),
    ("ip", "169.254.169.254", "rejectedIdentifier"), ("ip", "fe80::1", "rejectedIdentifier"),
    ("dns", "127.0.0.1", "rejectedIdentifier"), ("dns", "::1", "rejectedIdentifier"),
]
for typ, val, want in cases:
    r = C.post(C.dir["newOrder"], {"identifiers": [{"type": "ip", "value": "127.0.0.1"},
                                                   {"type": typ, "value": val}]})
    body = r.json() if r.body.startswith(b"{") else {}
    check(r.status == 400 and body.get("type") == ERR + want,
          "%s %r refused with %s (%s %s)" % (typ, val, want, r.status, body.get("type")))
    if want == "malformed" and typ == "ip" and val:
        check((body.get("identifier") or {}).get("type") == "ip",
              "%r: the problem names an ip identifier (%s)" % (val, body.get("identifier")))
check(counts() == before, "refused orders wrote nothing (%s -> %s)" % (before, counts()))

# ---- the CSR must carry the order's addresses (octets, exactly): badCSR, nothing charged
D = account()
o = D.new_order([], ips=["127.0.0.1"])
order = o.json()
solve(D, order["authorizations"][0], "http-01")
order = D.poll(o.header("Location"), until=("ready", "invalid")).json()
oid = o.header("Location").rsplit("/", 1)[1]
check(order["status"] == "ready", "badCSR setup: order ready (%s)" % order["status"])
for what, names, ips in [("another address", [], ["127.0.0.2"]),
                         ("the address as a dNSName", ["127.0.0.1"], []),
                         ("an IPv4-mapped IPv6 address", [], ["::ffff:127.0.0.1"]),
                         ("an extra address", [], ["127.0.0.1", "::1"])]:
    if names:
        der, _ = make_csr(names)
        r = D.post(order["finalize"], {"csr": b64(der)})
    else:
        r = finalize(D, order, names, ips)
    body = r.json() if r.body.startswith(b"{") else {}
    check(r.status == 400 and body.get("type") == ERR + "badCSR",
          "CSR with %s: badCSR (%s %s)" % (what, r.status, body.get("detail")))
check(sql("SELECT COUNT(*) FROM certificates WHERE order_id = '%s'" % oid) == "0",
      "badCSR: no certificate")
check(sql("SELECT COUNT(*) FROM ledger WHERE order_id = '%s'" % oid) == "0", "badCSR: nothing charged")
check(D.get(o.header("Location")).json()["status"] == "ready", "badCSR: the order stays ready")
r = finalize(D, order, [], ["127.0.0.1"])
check(r.status == 200 and D.poll(o.header("Location")).json()["status"] == "valid",
      "the right CSR afterwards: issued (%s)" % r.status)

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
