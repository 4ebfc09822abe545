#!/usr/bin/python3
"""Abuse limits against the module configured by test_540_limits.sh (tiny limits: 2 new
accounts per address per 10 s, 3 orders per account per 10 s, 4 pending authorizations,
2 failed validations per name per 15 s; price 1000, welcome credit 3000). Each limit is
reached (429 rateLimited + Retry-After, nothing written, nothing charged) and reset (the
same request succeeds once Retry-After has passed, or the pending authorization is gone).
ACME_NODE2_IP, when set, is the address of a second node on the same database, serving
the same URLs (as two nodes behind a load balancer do): requests alternate between the
nodes and the counts must still hold. Prints one line per case and "N passed, N failed"."""
import http.client, os, socket, subprocess, sys, time, traceback, urllib.parse, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, AcmeAt, Key, Response

NS = "urn:ietf:params:acme:error:"
NODE2 = os.environ.get("ACME_NODE2_IP")
TABLES = ["accounts", "billing", "ledger", "orders", "authorizations", "challenges",
          "invoices", "certificates"]
results, CASES = [], []


def case(fn):
    CASES.append(fn)
    return fn


def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def snapshot():
    """row counts, money and statuses, read in one query (one psql start)"""
    parts = ["(SELECT COUNT(*) FROM %s)" % t for t in TABLES] + [
        "(SELECT COALESCE(SUM(balance), 0) FROM billing)",
        "(SELECT COALESCE(SUM(delta), 0) FROM ledger)",
        "(SELECT COUNT(*) FROM authorizations WHERE status = 'pending')",
        "(SELECT COUNT(*) FROM authorizations WHERE status = 'invalid')",
        "(SELECT COUNT(*) FROM challenges WHERE status = 'pending')"]
    return sql("SELECT " + ", ".join(parts))


def name(tag):
    return "%s-%s.limits.test" % (tag, uuid.uuid4().hex[:8])


def limited(r, what):
    """r is a rateLimited problem mentioning what; returns its Retry-After in seconds"""
    assert r.status == 429, "want 429 for %s, got %r" % (what, r)
    assert r.header("Content-Type") == "application/problem+json", r.header("Content-Type")
    p = r.json()
    assert p["type"] == NS + "rateLimited", p
    assert what in p["detail"], "'%s' not in detail %r" % (what, p["detail"])
    ra = r.header("Retry-After")
    assert ra and ra.isdigit() and int(ra) >= 1, "Retry-After %r" % ra
    assert r.header("Replay-Nonce"), "no Replay-Nonce on a 429"
    return int(ra), p


def refused_changes_nothing(action, what):
    before = snapshot()
    r = action()
    ra, p = limited(r, what)
    after = snapshot()
    assert before == after, "a refused request changed rows or money: %s -> %s" % (before, after)
    return ra, p


def wait(seconds):
    assert seconds <= 30, "Retry-After %d is longer than the test's windows" % seconds
    time.sleep(seconds + 0.2)


class Node2(AcmeAt):
    """The same URLs, answered by the node on NODE2."""
    def __init__(self):
        AcmeAt.__init__(self, NODE2)


def client(n):
    """a new client on node 1 (n even) or node 2 (n odd; node 1 when there is one node)"""
    return Node2() if NODE2 and n % 2 else Acme()


def twin(a, n):
    """the same account (key, kid) as a client of node n % 2"""
    t = client(n)
    t.key, t.kid = a.key, a.kid
    return t


state = {}


@case
def new_accounts_per_address():
    a1, a2, a3 = client(0), client(1), client(0)
    k3 = Key()
    for a in (a1, a2):
        r = a.new_account(Key())
        assert r.status == 201, r
    ra, p = refused_changes_nothing(lambda: a3.new_account(k3), "new accounts from 127.0.0.1")

    assert ra <= 10, ra
    ra, p = refused_changes_nothing(lambda: client(1).new_account(Key()), "new accounts from")
    # an existing account's key is answered, not counted
    r = client(1).new_account(a1.key)
    assert r.status == 200 and r.header("Location") == a1.kid, r
    assert sql("SELECT COUNT(*) FROM accounts WHERE reg_addr = '127.0.0.1'") == "2"
    wait(ra)
    r = a3.new_account(k3)
    assert r.status == 201, "after Retry-After: %r" % r
    state["accounts"] = [a1, a2, a3]


@case
def new_orders_per_account():
    a = state["accounts"][0]
    for i in range(3):
        r = twin(a, i).new_order([name("o%d" % i)])
        assert r.status == 201, r
    ra, _ = refused_changes_nothing(lambda: a.new_order([name("o3")]), "new orders from this account")
    assert ra <= 10, ra
    refused_changes_nothing(lambda: twin(a, 1).new_order([name("o3")]), "new orders from this account")
    # another account is not affected
    assert state["accounts"][1].new_order([name("other")]).status == 201
    wait(ra)
    r = a.new_order([name("o4")])
    assert r.status == 201, "after Retry-After: %r" % r
    state["pending_order"] = r.json()


@case
def pending_authorizations_per_account():
    a = state["accounts"][0]  # 4 pending authorizations now: the limit
    n = int(sql("SELECT COUNT(*) FROM authorizations WHERE account_id = '%s' AND status = 'pending'"
                % a.kid.rsplit("/", 1)[1]))
    assert n == 4, n
    r = a.new_order([name("p5")])
    if r.status == 429 and "new orders" in r.json()["detail"]:
        wait(int(r.header("Retry-After")))
    refused_changes_nothing(lambda: a.new_order([name("p5")]), "pending authorizations")
    refused_changes_nothing(lambda: twin(a, 1).new_order([name("p5")]), "pending authorizations")
    # an order whose authorization is reused needs no new one... deactivate one instead
    az = state["pending_order"]["authorizations"][0]
    r = a.post(az, {"status": "deactivated"})
    assert r.status == 200 and r.json()["status"] == "deactivated", r
    r = a.new_order([name("p6")])
    assert r.status == 201, "after deactivating one: %r" % r


@case
def failed_validations_per_name():
    a = state["accounts"][1]
    n = name("fail")
    orders = []
    for i in range(3):
        r = twin(a, i).new_order([n])
        if r.status == 429 and "new orders" in r.json()["detail"]:
            # this account's order of the previous case may still be in the 10 s window
            wait(int(r.header("Retry-After")))
            r = twin(a, i).new_order([n])
        assert r.status == 201, r
        orders.append(r.json())
    # answer http-01 without the file: the check fails, once on each node
    for i, o in enumerate(orders[:2]):
        t = twin(a, i)
        az = o["authorizations"][0]
        ch = [c for c in t.get(az).json()["challenges"] if c["type"] == "http-01"][0]
        assert t.post(ch["url"], {}).status == 200
        assert t.poll(az).json()["status"] == "invalid"
    # the third pending authorization may not be validated now, and no new order for the name
    az = orders[2]["authorizations"][0]
    ch = [c for c in a.get(az).json()["challenges"] if c["type"] == "http-01"][0]
    ra1, p = refused_changes_nothing(lambda: a.post(ch["url"], {}), "failed validations for " + n)
    assert p.get("identifier", {}).get("value") == n, p
    ra2, p = refused_changes_nothing(lambda: a.new_order([n]), "failed validations for " + n)
    assert p.get("identifier", {}).get("value") == n, p
    refused_changes_nothing(lambda: twin(a, 1).new_order([n]), "failed validations for " + n)
    ra2, p = refused_changes_nothing(lambda: a.new_order(["*." + n]), "failed validations for " + n)
    assert ra2 <= 15, ra2
    # other names and other accounts go on
    assert a.new_order([name("fine")]).status in (201, 429)
    b = state["accounts"][2]
    assert b.new_order([n]).status == 201
    wait(max(ra1, ra2))
    # the oldest failure has left the window: one order for the name, then one more
    # validation (which fails again, and would count against an order sent after it)
    r = a.new_order([n])
    assert r.status == 201, "after Retry-After: %r" % r
    assert a.post(ch["url"], {}).status == 200, "challenge after Retry-After"


@case
def books_balance():
    rows = sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
               "WHERE l.billing_id = b.id), 0) FROM billing b")
    for line in rows.splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), "holder %s: balance %s, ledger %s" % (bid, bal, total)
    # nothing was ever charged: only the welcome credits
    assert sql("SELECT COUNT(*) FROM ledger WHERE delta < 0") == "0", \
        sql("SELECT kind, delta FROM ledger")


for fn in CASES:
    try:
        fn()
        results.append((fn.__name__, None))
        print("ok   %s" % fn.__name__, flush=True)
    except Exception as e:
        results.append((fn.__name__, e))
        print("FAIL %s: %s" % (fn.__name__, e), flush=True)
        traceback.print_exc(limit=4)
failed = sum(1 for _, e in results if e)
print("%d passed, %d failed" % (len(results) - failed, failed))
sys.exit(1 if failed else 0)
