"""Shared helpers of the billing tests (refunds.py, wechat.py): the test database, an
order made ready by http-01, a short finalize's invoice, acme-pay-admin, the books."""
import json, os, subprocess, sys, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr  # noqa: F401 (re-exported)
from acme_client import db_sql as sql

WEBROOT = os.environ.get("ACME_WEBROOT", "")
CASES = []


def case(fn):
    """A test function, registered in CASES for run_cases(CASES)."""
    CASES.append(fn)
    return fn


def holder_of(acme):
    return sql("SELECT billing_id FROM accounts WHERE id = '%s'" % acme.kid.rsplit("/", 1)[1])


def balance(holder):
    return int(sql("SELECT balance FROM billing WHERE id = '%s'" % holder))


def ledger_consistent():
    """Every holder's balance equals the sum of its ledger rows."""
    rows = sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
               "WHERE l.billing_id = b.id), 0) FROM billing b")
    for line in rows.splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), "holder %s: balance %s, ledger sum %s" % (bid, bal, total)


def name(tag):
    return "%s-%s.pay.test" % (tag, uuid.uuid4().hex[:8])


def ready_order(acme, names):
    o = acme.new_order(names)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        acme.answer_http01(az, WEBROOT)
        assert acme.poll(az).json()["status"] == "valid"
    assert acme.poll(o.header("Location"), until=("ready", "invalid")).json()["status"] == "ready"
    return o.header("Location"), o.json()


def short_invoice(acme, names):
    """A ready order finalized on a short balance: (order url, order, csr der, problem)."""
    url, order = ready_order(acme, names)
    der, _ = make_csr(names)
    r = acme.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.json()["type"].endswith("userActionRequired"), r
    return url, order, der, r.json()


def admin(*args, actor="alice"):
    """acme-pay-admin with the test database: (exit code, stdout, stderr)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cmd = [os.path.join(repo, "out", "acme-pay-admin"), "--driver", os.environ["ACME_DB_DRIVER"],
           "--params", os.environ["ACME_DB_PARAMS"], "--key-file", os.environ["ACME_KEY_FILE"],
           "--actor", actor] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    return r.returncode, r.stdout, r.stderr


def admin_json(*args):
    rc, out, err = admin("--json", *args)
    assert rc == 0, "acme-pay-admin %s: exit %d: %s %s" % (" ".join(args), rc, out, err)
    return json.loads(out)


def run_cases(cases):
    """Run the test functions, one line each, then "N passed, N failed"; exit status."""
    import traceback
    failed = 0
    for c in cases:
        try:
            c()
            print("ok   " + c.__name__)
        except Exception as e:  # noqa: BLE001 (a case's failure, reported)
            failed += 1
            print("FAIL %s: %s" % (c.__name__, e))
            traceback.print_exc(limit=3)
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    sys.exit(1 if failed else 0)
