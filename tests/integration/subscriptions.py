#!/usr/bin/python3
"""Subscriptions against the module configured by test_274_subscriptions.sh: cert (1 day,
300, per certificate) and sub (1-day certificates, 500 for a 2-day term). Prints one line
per case and "N passed, N failed"."""
import json, os, subprocess, sys, threading, time, traceback, uuid, calendar
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, b64, make_csr
from cryptography import x509

WEBROOT = os.environ["ACME_WEBROOT"]
ADMIN = [os.environ["ACME_ADMIN"], "--driver", os.environ["ACME_DB_DRIVER"],
         "--params", os.environ["ACME_DB_PARAMS"], "--actor", "erin"]
CASES, results, STATE = [], [], {}


def case(fn):
    CASES.append(fn)
    return fn


def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def admin(*args):
    return subprocess.run(ADMIN + list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def holder_of(a):
    return sql("SELECT billing_id FROM accounts WHERE id = '%s'" % a.kid.rsplit("/", 1)[1])


def balance(h):
    return int(sql("SELECT balance FROM billing WHERE id = '%s'" % h))


def name(tag):
    return "%s-%s.sub.test" % (tag, uuid.uuid4().hex[:8])


def key(names):
    return ",".join(sorted(n.lower() for n in names))


def ready_order(a, names, profile):
    o = a.new_order(names, {"profile": profile})
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        if a.get(az).json()["status"] != "valid":
            a.answer_http01(az, WEBROOT)
            assert a.poll(az).json()["status"] == "valid"
    return o


def fetch_cert(a, o):
    order = a.poll(o.header("Location")).json()
    assert order["status"] == "valid", order
    pem = a.get(order["certificate"]).body
    return x509.load_pem_x509_certificate(pem.split(b"-----END CERTIFICATE-----")[0] +
                                          b"-----END CERTIFICATE-----\n")


def issue(a, names, profile="sub"):
    o = ready_order(a, names, profile)
    der, _ = make_csr(names)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    return fetch_cert(a, o)


def not_after(cert):
    return calendar.timegm(cert.not_valid_after.timetuple())


def subs(names=None):
    r = admin("--json", "subscriptions", "list")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return [s for s in out if names is None or s["names"] == key(names)]


def ledger_kinds(h):
    return sql("SELECT kind || ':' || delta FROM ledger WHERE billing_id = '%s' AND order_id IS "
               "NOT NULL ORDER BY created, id" % h).splitlines()


@case
def setup_account():
    a = Acme()
    assert "for 2 days" in a.dir["meta"]["profiles"]["sub"], a.dir["meta"]
    assert a.new_account().status == 201
    r = admin("credit", holder_of(a), "100.00", "--reason", "funds", "--yes")
    assert r.returncode == 0, r.stderr
    STATE["a"], STATE["h"] = a, holder_of(a)


@case
def bought_once_then_free_and_capped():
    a, h = STATE["a"], STATE["h"]
    names = [name("a"), name("b")]
    before = balance(h)
    now = time.time()
    c1 = issue(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = subs(names)
    assert len(s) == 1 and s[0]["status"] == "active" and s[0]["profile"] == "sub", s
    assert s[0]["holder"] == h and s[0]["price"] == 500, s
    assert abs(s[0]["ends_at"] - (now + 2 * 86400)) < 120, s
    # the first certificate: the profile's 1 day (the term is longer)
    assert abs(not_after(c1) - (now + 86400)) < 120, not_after(c1) - now
    # bring the end near so the cap is visible: min(1 day from issue, the end)
    end = int(time.time()) + 3600
    sql("UPDATE subscriptions SET ends = %d WHERE id = '%s'" % (end, s[0]["id"]))
    for _ in range(2):
        c = issue(a, names)
        assert not_after(c) <= end and end - not_after(c) < 5, (not_after(c), end)
    assert balance(h) == before - 500, (before, balance(h))
    n_sub = int(sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'subscription' "
                    "AND delta = 0 AND reference = '%s'" % (h, s[0]["id"])))
    assert n_sub == 2, ledger_kinds(h)
    assert len(subs(names)) == 1
    STATE["names"], STATE["sub"] = names, s[0]["id"]


@case
def subset_is_free_other_names_pay():
    a, h = STATE["a"], STATE["h"]
    before = balance(h)
    issue(a, [STATE["names"][1]])                    # a subset: covered
    assert balance(h) == before, (before, balance(h))
    other = [name("c")]
    issue(a, other)                                  # another name set: a purchase
    assert balance(h) == before - 500, (before, balance(h))
    issue(a, other + [STATE["names"][0]])            # a superset of neither: a purchase
    assert balance(h) == before - 1000, (before, balance(h))
    assert len(subs(other)) == 1


@case
def per_certificate_profile_unchanged():
    a, h = STATE["a"], STATE["h"]
    before = balance(h)
    issue(a, STATE["names"], "cert")                 # the same names, another product: pays
    assert balance(h) == before - 300, (before, balance(h))


@case
def ended_subscription_is_bought_again():
    a, h = STATE["a"], STATE["h"]
    names = STATE["names"]
    sql("UPDATE subscriptions SET ends = starts WHERE id = '%s'" % STATE["sub"])
    before = balance(h)
    now = time.time()
    c = issue(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = subs(names)
    assert sorted(x["status"] for x in s) == ["active", "ended"], s
    assert abs(not_after(c) - (now + 86400)) < 120
    before = balance(h)
    issue(a, names)                                  # the new one covers
    assert balance(h) == before


@case
def racing_first_purchases_charge_once():
    a, h = STATE["a"], STATE["h"]
    names = [name("race")]
    orders = [ready_order(a, names, "sub") for _ in range(2)]
    bodies = []
    for o in orders:
        der, _ = make_csr(names)
        bodies.append((o.json()["finalize"], json.dumps(a.jws(o.json()["finalize"],
                                                              {"csr": b64(der)})).encode()))
    before = balance(h)
    statuses = []
    gate = threading.Barrier(2)

    def go(url, body):
        gate.wait(10)
        statuses.append(a.request("POST", url, body))
    threads = [threading.Thread(target=go, args=b) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert balance(h) == before - 500, (before, balance(h), statuses)
    ok = [r for r in statuses if r.status == 200]
    assert ok, statuses
    # a loser (if any) is told to finalize again and then is covered
    for o in orders:
        st = a.poll(o.header("Location"), until=("valid", "invalid", "ready", "processing")).json()
        if st["status"] == "ready":
            der, _ = make_csr(names)
            r = a.post(o.json()["finalize"], {"csr": b64(der)})
            assert r.status == 200, r
        fetch_cert(a, o)
    assert balance(h) == before - 500, (before, balance(h))
    assert len(subs(names)) == 1, subs(names)


@case
def admin_lists_subscriptions():
    r = admin("subscriptions", "list")
    assert r.returncode == 0 and STATE["sub"] in r.stdout and "ended" in r.stdout, r.stdout
    r = admin("subscriptions", "nope")
    assert r.returncode != 0


@case
def books_balance():
    for line in sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
                    "WHERE l.billing_id = b.id), 0) FROM billing b").splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), line


for fn in CASES:
    try:
        fn()
        results.append(True)
        print("ok", fn.__name__)
    except Exception:
        results.append(False)
        print("FAIL", fn.__name__)
        traceback.print_exc()
print("%d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
