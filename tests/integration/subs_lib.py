"""Shared helpers of the subscription tests (subscriptions.py, subscription_terms.py):
the database and acme-pay-admin of the module under test, ordering and fetching
certificates under a profile, the subscriptions as the admin lists them, and the books."""
import json, os, subprocess, threading, uuid, calendar
from acme_client import b64, make_csr
from cryptography import x509

WEBROOT = os.environ["ACME_WEBROOT"]
ADMIN = [os.environ["ACME_ADMIN"], "--driver", os.environ["ACME_DB_DRIVER"],
         "--params", os.environ["ACME_DB_PARAMS"], "--actor", "erin"]


def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def admin(*args):
    return subprocess.run(ADMIN + list(args), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def admin_json(*args):
    r = admin("--json", *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def holder_of(a):
    return sql("SELECT billing_id FROM accounts WHERE id = '%s'" % a.kid.rsplit("/", 1)[1])


def balance(h):
    return int(sql("SELECT balance FROM billing WHERE id = '%s'" % h))


def name(tag, zone="sub.test"):
    return "%s-%s.%s" % (tag, uuid.uuid4().hex[:8], zone)


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


def fetch_pem(a, o):
    order = a.poll(o.header("Location")).json()
    assert order["status"] == "valid", order
    return a.get(order["certificate"]).body.decode()


def leaf(pem):
    return x509.load_pem_x509_certificate(pem.split("-----END CERTIFICATE-----")[0].encode() +
                                          b"-----END CERTIFICATE-----\n")


def fetch_cert(a, o):
    return leaf(fetch_pem(a, o))


def issue_pem(a, names, profile="sub"):
    o = ready_order(a, names, profile)
    der, _ = make_csr(names)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    return fetch_pem(a, o)


def issue(a, names, profile="sub"):
    return leaf(issue_pem(a, names, profile))


def not_after(cert):
    return calendar.timegm(cert.not_valid_after.timetuple())


def not_before(cert):
    return calendar.timegm(cert.not_valid_before.timetuple())


def subs(names=None):
    out = admin_json("subscriptions", "list")
    return [s for s in out if names is None or s["names"] == key(names)]


def ledger_kinds(h):
    return sql("SELECT kind || ':' || delta FROM ledger WHERE billing_id = '%s' AND order_id IS "
               "NOT NULL ORDER BY created, id" % h).splitlines()


def books_balance():
    """Every holder's balance is the sum of its ledger rows."""
    for line in sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
                    "WHERE l.billing_id = b.id), 0) FROM billing b").splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), line


def race_finalize(a, names, profile="sub"):
    """Two ready orders for names finalized at once; a loser told to finalize again does.
    Returns the two orders (both valid at the end)."""
    orders = [ready_order(a, names, profile) for _ in range(2)]
    bodies = []
    for o in orders:
        der, _ = make_csr(names)
        bodies.append((o.json()["finalize"], json.dumps(a.jws(o.json()["finalize"],
                                                              {"csr": b64(der)})).encode()))
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
    assert [r for r in statuses if r.status == 200], statuses
    for o in orders:
        st = a.poll(o.header("Location"), until=("valid", "invalid", "ready", "processing")).json()
        if st["status"] == "ready":
            der, _ = make_csr(names)
            r = a.post(o.json()["finalize"], {"csr": b64(der)})
            assert r.status == 200, r
        fetch_cert(a, o)
    return orders


def run(cases):
    """Runs each case, prints one line per case and "N passed, N failed"; exit status."""
    import traceback
    results = []
    for fn in cases:
        try:
            fn()
            results.append(True)
            print("ok", fn.__name__)
        except Exception:
            results.append(False)
            print("FAIL", fn.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1
