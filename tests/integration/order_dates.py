#!/usr/bin/python3
"""newOrder notBefore/notAfter policy (issue 16, finding 11): a notBefore more than
5 minutes (ACP_NOT_BEFORE_SKEW) in the past was once honoured, so a client could have a
certificate backdated by months. Asserts: backdated or too-long orders are malformed and
store nothing; a notBefore within the skew is accepted and the certificate carries it;
the certificate never starts before its order allowed."""
import datetime, os, sys, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr, db_count
from cryptography import x509

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
SKEW = 300
VALIDITY_DAYS = 90
TABLES = ["orders", "authorizations", "challenges", "order_authz"]
fails = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def name(tag):
    return "%s-%s.dates.test" % (tag, uuid.uuid4().hex[:8])


def snapshot():
    return {t: db_count(t) for t in TABLES}


acme = Acme()
acme.new_account(Key("ec256"))
now = time.time()
DAY = 86400
refused = [
    ("notBefore 85 days ago (the reported case)", now - 85 * DAY, now + 5 * DAY),
    ("notBefore 10 minutes ago, no notAfter", now - 600, None),
    ("notBefore 6 minutes ago, notAfter in 30 days", now - SKEW - 60, now + 30 * DAY),
    ("notAfter beyond the validity cap", None, now + (VALIDITY_DAYS + 1) * DAY),
    ("a future notBefore with a notAfter 91 days later", now + DAY, now + (VALIDITY_DAYS + 2) * DAY),
]
for what, nb, na in refused:
    extra = {}
    if nb is not None:
        extra["notBefore"] = rfc3339(nb)
    if na is not None:
        extra["notAfter"] = rfc3339(na)
    before = snapshot()
    r = acme.new_order([name("back")], extra)
    after = snapshot()
    check(r.status == 400 and r.json().get("type") == NS + "malformed",
          "%s: %d %s" % (what, r.status, r.body[:160]))
    check(before == after, "%s: nothing stored (%s -> %s)" % (what, before, after))

# within the skew: accepted, and the certificate starts exactly there
nb = int(time.time()) - 60
na = nb + 30 * DAY
n = name("ok")
o = acme.new_order([n], {"notBefore": rfc3339(nb), "notAfter": rfc3339(na)})
check(o.status == 201, "notBefore 60 s ago, notAfter 30 days on: %d %s" % (o.status, o.body[:160]))
if o.status == 201:
    for az in o.json()["authorizations"]:
        acme.answer_http01(az, WEBROOT)
        acme.poll(az)
    acme.poll(o.header("Location"), until=("ready", "invalid"))
    r = acme.post(o.json()["finalize"], {"csr": b64(make_csr([n])[0])})
    order = acme.poll(o.header("Location")).json()
    check(order.get("status") == "valid", "that order is issued: %s" % order.get("status"))
    if order.get("certificate"):
        pem = acme.get(order["certificate"]).body
        cert = x509.load_pem_x509_certificate(pem)  # the leaf comes first
        utc = datetime.timezone.utc
        cnb = cert.not_valid_before.replace(tzinfo=utc).timestamp()
        cna = cert.not_valid_after.replace(tzinfo=utc).timestamp()
        check(cnb >= time.time() - SKEW - 5 and cnb == nb,
              "certificate notBefore %s is the one asked for, within the skew" % rfc3339(cnb))
        check(cna == na, "certificate notAfter %s is the one asked for" % rfc3339(cna))
print("%d passed, %d failed" % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
