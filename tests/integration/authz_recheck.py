#!/usr/bin/python3
"""Finalize rechecks every authorization of a ready order (issue 16, finding 12; RFC 8555
§7.1.6). A ready order once issued (and charged) after one of its authorizations had
been deactivated or had expired. Asserts: such a finalize is refused with orderNotReady,
the order is then invalid, no certificate, no ledger row, balance unchanged; a control
order on the same account is issued and charged exactly once."""
import os, subprocess, sys, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr
from acme_client import db_sql_owner as sql

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
PRICE = int(os.environ["ACME_TEST_PRICE"])
ADMIN = os.environ["ACME_ADMIN"]
fails = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def name(tag):
    return "%s-%s.recheck.test" % (tag, uuid.uuid4().hex[:8])


def ready_order(names):
    o = acme.new_order(names)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        acme.answer_http01(az, WEBROOT)
        a = acme.poll(az)
        assert a.json()["status"] == "valid", a
    r = acme.poll(o.header("Location"), until=("ready", "invalid"))
    assert r.json()["status"] == "ready", r
    return o


def money():
    return (sql("SELECT balance FROM billing WHERE id = '%s'" % holder),
            sql("SELECT COUNT(*) FROM ledger"), sql("SELECT COUNT(*) FROM certificates"))


acme = Acme()
acme.new_account(Key("ec256"))
holder = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % acme.kid.rsplit("/", 1)[1])
subprocess.run([ADMIN, "--driver", os.environ["ACME_DB_DRIVER"], "--params",
                os.environ["ACME_DB_PARAMS"], "--actor", "test", "credit", holder,
                str(10 * PRICE), "--reason", "test funds"], check=True, capture_output=True)


def refused(what, o, n):
    before = money()
    r = acme.post(o.json()["finalize"], {"csr": b64(make_csr(n)[0])})
    after = money()
    check(r.status == 403 and r.json().get("type") == NS + "orderNotReady",
          "%s: finalize refused: %d %s" % (what, r.status, r.body[:200]))
    check(before == after, "%s: nothing charged or issued (balance, ledger rows, "
          "certificates %s -> %s)" % (what, before, after))
    st = acme.get(o.header("Location")).json()
    check(st.get("status") == "invalid" and st.get("error", {}).get("type") == NS + "unauthorized",
          "%s: the order is invalid with an unauthorized error: %s" % (what, st.get("error")))


# a deactivated authorization (RFC 8555 §7.5.2) on a ready order
n = [name("deact-a"), name("deact-b")]
o = ready_order(n)
d = acme.post(o.json()["authorizations"][1], {"status": "deactivated"})
check(d.status == 200 and d.json().get("status") == "deactivated", "deactivate: %d" % d.status)
refused("deactivated authorization", o, n)

# an authorization that expired after the order became ready (the clock moved on: the
# stored expiry is set into the past)
n = [name("expired")]
o = ready_order(n)
authz_id = o.json()["authorizations"][0].rsplit("/", 1)[1]
sql("UPDATE authorizations SET expires = %d WHERE id = '%s'" % (int(time.time()) - 10, authz_id))
refused("expired authorization", o, n)

# control: the same account, a ready order whose authorizations hold, is issued and
# charged exactly once
bal0, led0, cert0 = money()
n = [name("control")]
o = ready_order(n)
r = acme.post(o.json()["finalize"], {"csr": b64(make_csr(n)[0])})
st = acme.poll(o.header("Location")).json()
bal1, led1, cert1 = money()
check(r.status == 200 and st.get("status") == "valid", "control order issued: %d %s" % (r.status, st.get("status")))
check(int(bal0) - int(bal1) == PRICE and int(led1) == int(led0) + 1 and int(cert1) == int(cert0) + 1,
      "control order charged once: balance %s -> %s, ledger %s -> %s" % (bal0, bal1, led0, led1))
total = sql("SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE billing_id = '%s'" % holder)
check(int(total) == int(bal1), "ledger sums to the balance (%s = %s)" % (total, bal1))
print("%d passed, %d failed" % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
