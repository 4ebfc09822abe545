#!/usr/bin/python3
"""The Ethereum chain watcher against a real local chain (anvil), configured by
test_340_chain_eth.sh: price 1000 CNY minor units, AcmePayEthereum $ETH_ADDR 31337
$ETH_WPM, RPC through rpc_proxy.py ($RPC_PROXY), $ETH_CONF confirmations, poll 1 s.
Prints one line per case, the measurements, and "N passed, N failed"."""
import json, os, re, subprocess, sys, time, traceback, urllib.request, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr

WEBROOT = os.environ["ACME_WEBROOT"]
ANVIL, PROXY = os.environ["ANVIL_URL"], os.environ["RPC_PROXY"]
ADDR, WPM, N = os.environ["ETH_ADDR"], int(os.environ["ETH_WPM"]), int(os.environ["ETH_CONF"])
CHAIN = 31337
PAYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"   # anvil's first funded account
NS = "urn:ietf:params:acme:error:"
PRICE = 1000
ERROR_LOG = os.path.join(os.environ["T"], "httpd", "logs", "error.log")
ADM = [os.path.join(os.environ["REPO"], "out", "acme-pay-admin"), "--driver",
       os.environ["ACME_DB_DRIVER"], "--params", os.environ["ACME_DB_PARAMS"], "--key-file",
       os.environ["ACME_KEY_FILE"], "--actor", "alice"]
results, CASES, MEASURE = [], [], []


def case(fn):
    CASES.append(fn)
    return fn


def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def rpc(method, *params, url=ANVIL):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        a = json.loads(r.read())
    assert "error" not in a, a
    return a["result"]


def ctl(path):
    with urllib.request.urlopen(PROXY + "/_ctl/" + path, timeout=10) as r:
        return r.read()


def head():
    return int(rpc("eth_blockNumber"), 16)


def mine(n):
    if n > 0:
        rpc("anvil_mine", hex(n))


def pay(wei, to=ADDR):
    """A native transfer (anvil mines it into its own block). (tx hash, block number)"""
    h = rpc("eth_sendTransaction", {"from": PAYER, "to": to, "value": hex(wei)})
    rc = wait_for(lambda: rpc("eth_getTransactionReceipt", h), 10, "anvil to mine " + h)
    assert rc["status"] == "0x1", rc
    return h, int(rc["blockNumber"], 16)


def ref(h):
    return "eth:%d:%s:0" % (CHAIN, h.lower())


def last_block():
    return int(sql("SELECT last_block FROM chain_watch WHERE name = 'eth'"))


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def wait_processed(block, timeout=30):
    wait_for(lambda: last_block() >= block, timeout, "the watcher to pass block %d" % block)


def holder_of(acme):
    return sql("SELECT billing_id FROM accounts WHERE id = '%s'" % acme.kid.rsplit("/", 1)[1])


def balance(holder):
    return int(sql("SELECT balance FROM billing WHERE id = '%s'" % holder))


def ledger_consistent():
    rows = sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
               "WHERE l.billing_id = b.id), 0) FROM billing b")
    for line in rows.splitlines():
        bid, bal, total = line.split("|")
        assert int(bal) == int(total), "holder %s: balance %s but ledger sums to %s" % (bid, bal, total)


def log_count(tag):
    with open(ERROR_LOG, errors="replace") as f:
        return sum(1 for line in f if tag in line)


def short_order(tag):
    """A new account with a ready order that is short: (acme, order url, order, csr, invoice,
    the invoice's wei amount)"""
    a = Acme()
    a.new_account(Key())
    n = ["%s-%s.chain.test" % (tag, uuid.uuid4().hex[:8])]
    o = a.new_order(n)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        a.answer_http01(az, WEBROOT)
        assert a.poll(az).json()["status"] == "valid"
    url = o.header("Location")
    assert a.poll(url, until=("ready", "invalid")).json()["status"] == "ready"
    der, _ = make_csr(n)
    r = a.post(o.json()["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
    inv = r.json()["instance"].rsplit("/", 1)[1]
    uri = sql("SELECT eth_wei FROM invoices WHERE id = '%s'" % inv)
    m = re.fullmatch(r"ethereum:(0x[0-9a-fA-F]{40})@%d\?value=(\d+)" % CHAIN, uri)
    assert m and m.group(1) == ADDR, uri
    wei = int(m.group(2))
    assert wei // WPM == PRICE and 0 < wei % WPM <= 999999, wei
    return a, url, o.json(), der, inv, wei


def credited(h):
    return sql("SELECT COUNT(*) FROM payments WHERE reference = '%s'" % ref(h)) == "1"


@case
def eth_payment_credited_after_n_confirmations_then_the_same_finalize_issues():
    a, url, order, der, inv, wei = short_order("e1")
    holder = holder_of(a)
    ctl("reset")
    h, blk = pay(wei)
    mine(N - 2)                       # N - 1 confirmations: not yet
    wait_processed(blk - 1)
    time.sleep(2.5)
    assert not credited(h), "credited before %d confirmations" % N
    assert balance(holder) == 0
    mine(1)                           # the Nth confirmation
    t0 = time.time()
    wait_for(lambda: credited(h), 30, "the credit")
    MEASURE.append("Nth confirmation -> credit: %.2f s (poll interval 1 s)" % (time.time() - t0))
    assert balance(holder) == PRICE
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "paid"
    assert sql("SELECT status || ' ' || invoice_id FROM chain_transfers WHERE reference = '%s'"
               % ref(h)) == "credited " + inv
    stats = json.loads(ctl("stats"))
    blocks = max(1, last_block() - (blk - 2))
    MEASURE.append("RPC calls: %s over %d blocks (%.2f per block incl. polls of an idle head)"
                   % (json.dumps(stats, sort_keys=True), blocks, sum(stats.values()) / blocks))
    # the same client, the same command: finalize again issues
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    o = a.poll(url).json()
    assert o["status"] == "valid" and "certificate" in o, o
    assert a.get(o["certificate"]).status == 200
    assert balance(holder) == 0
    kinds = sql("SELECT kind || ':' || delta FROM ledger WHERE billing_id = '%s'" % holder)
    assert sorted(kinds.split()) == sorted(["payment:%d" % PRICE, "debit:-%d" % PRICE]), kinds
    ledger_consistent()


@case
def the_same_transfer_seen_again_after_a_restart_is_credited_once():
    a, url, order, der, inv, wei = short_order("e2")
    holder = holder_of(a)
    h, blk = pay(wei)
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the credit")
    assert balance(holder) == PRICE
    conf = os.environ["APACHE_CONF"]
    subprocess.run(["apache2", "-f", conf, "-k", "stop"], check=True)
    pidfile = os.path.join(os.environ["T"], "httpd", "httpd.pid")
    wait_for(lambda: not os.path.exists(pidfile), 20, "Apache to stop")
    sql("UPDATE chain_watch SET last_block = %d, last_hash = NULL WHERE name = 'eth'" % (blk - 3))
    subprocess.run(["apache2", "-f", conf, "-k", "start"], check=True)
    mine(2)
    wait_processed(blk + 1)
    assert balance(holder) == PRICE, "credited twice"
    assert sql("SELECT COUNT(*) FROM ledger WHERE reference = '%s'" % ref(h)) == "1"
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE reference = '%s'" % ref(h)) == "1"
    ledger_consistent()


@case
def a_reorg_that_removes_the_payment_before_n_confirmations_credits_nothing():
    a, url, order, der, inv, wei = short_order("e3")
    holder = holder_of(a)
    snap = rpc("evm_snapshot")
    h, blk = pay(wei)
    mine(N - 2)
    wait_processed(blk - 1)
    time.sleep(1.5)
    assert rpc("evm_revert", snap) is True
    assert rpc("eth_getTransactionReceipt", h) is None, "the reorg kept the transaction"
    mine(N + 3)
    wait_processed(head() - N + 1)
    assert not credited(h)
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "0"
    assert balance(holder) == 0
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "open"
    ledger_consistent()


@case
def rpc_outage_logged_once_then_resumes_from_the_stored_block():
    a, url, order, der, inv, wei = short_order("e4")
    holder = holder_of(a)
    before = log_count("ACP03801")
    ctl("mode/down")
    try:
        stored = last_block()
        h, blk = pay(wei)
        mine(N + 2)
        time.sleep(6)
        assert last_block() == stored, "progress moved while the node was unreachable"
        assert not credited(h)
        assert log_count("ACP03801") == before + 1, "the outage was not logged exactly once"
    finally:
        ctl("mode/up")
    t0 = time.time()
    wait_for(lambda: credited(h), 60, "the credit after the outage")
    MEASURE.append("outage over -> credit: %.2f s (back-off)" % (time.time() - t0))
    wait_for(lambda: log_count("ACP03802") >= 1, 10, "the recovery's log line")
    assert balance(holder) == PRICE
    ledger_consistent()


@case
def hostile_rpc_answers_change_nothing():
    a, url, order, der, inv, wei = short_order("e5")
    holder = holder_of(a)
    stored = last_block()
    h, blk = pay(wei)
    mine(N + 1)
    before = log_count("ACP03801")
    for mode in ("huge", "junk", "error500", "chain", "bignum", "nohex", "nofield", "nullblock",
                 "missing", "bigvalue", "badvalue"):
        ctl("reset")
        ctl("mode/" + mode)
        method = "eth_getBlockByNumber" if mode in ("nullblock", "missing", "bigvalue",
                                                    "badvalue") else "eth_chainId"
        wait_for(lambda: json.loads(ctl("stats")).get(method, 0) >= 2, 30,
                 "the watcher to meet the %s answer" % mode)
        assert not credited(h), mode
        assert last_block() < blk, "%s: progress moved past the payment's block" % mode
        assert balance(holder) == 0, mode
    assert log_count("ACP03801") == before + 1, "hostile answers not logged exactly once"
    ctl("mode/up")
    wait_for(lambda: credited(h), 60, "the credit once the node is sane again")
    assert balance(holder) == PRICE
    assert last_block() >= blk and stored <= last_block()
    ledger_consistent()


@case
def over_and_underpayment_credit_what_arrived():
    a, url, order, der, inv, wei = short_order("e6")
    holder = holder_of(a)
    h, blk = pay(wei - 300 * WPM)      # 300 minor units short
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the underpayment's credit")
    assert balance(holder) == PRICE - 300
    assert sql("SELECT status || ' ' || paid FROM invoices WHERE id = '%s'" % inv) == "open 700"
    h2, blk2 = pay(wei + 500 * WPM)    # then too much
    mine(N - 1)
    wait_for(lambda: credited(h2), 30, "the overpayment's credit")
    assert balance(holder) == PRICE - 300 + PRICE + 500
    ledger_consistent()


@case
def an_unmatched_transfer_is_recorded_and_staff_assign_it():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    value = 7 * WPM + WPM - 1          # its remainder is no invoice's unique tag
    h, blk = pay(value)
    mine(N - 1)
    wait_processed(blk)
    r = ref(h)
    assert sql("SELECT status || ' ' || amount || ' ' || value FROM chain_transfers "
               "WHERE reference = '%s'" % r) == "unmatched 7 %d" % value
    assert sql("SELECT COUNT(*) FROM payments WHERE reference = '%s'" % r) == "0"
    out = subprocess.run(ADM + ["--json", "chain", "list", "--status", "unmatched"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    refs = [t["reference"] for t in json.loads(out.stdout)["transfers"]]
    assert r in refs, refs
    out = subprocess.run(ADM + ["chain", "assign", r, holder], capture_output=True, text=True)
    assert out.returncode == 2 and "--reason" in out.stderr, (out.returncode, out.stderr)
    out = subprocess.run(ADM + ["--json", "chain", "assign", r, holder, "--reason", "mail #42"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["amount"] == 7
    assert balance(holder) == 7
    assert sql("SELECT kind || ' ' || delta || ' ' || actor FROM ledger WHERE reference = '%s'"
               % r) == "payment 7 staff:alice", sql("SELECT * FROM ledger WHERE reference = '%s'" % r)
    assert sql("SELECT status || ' ' || billing_id || ' ' || assigned_by || ' ' || reason FROM "
               "chain_transfers WHERE reference = '%s'" % r) == "assigned %s staff:alice mail #42" % holder
    out = subprocess.run(ADM + ["chain", "assign", r, holder, "--reason", "again"],
                         capture_output=True, text=True)
    assert out.returncode == 2, "assigned twice"
    assert balance(holder) == 7
    ledger_consistent()


@case
def one_watcher_holds_the_lease():
    holders = sql("SELECT holder FROM chain_watch WHERE name = 'eth'")
    assert holders and int(sql("SELECT lease_until FROM chain_watch")) > time.time(), holders


for c in CASES:
    try:
        c()
        results.append(None)
        print("ok   " + c.__name__)
    except Exception as e:
        results.append(e)
        print("FAIL %s: %s" % (c.__name__, e))
        traceback.print_exc(limit=3)
ctl("mode/up")
for m in MEASURE:
    print("measure: " + m)
failed = sum(1 for e in results if e)
print("%d passed, %d failed" % (len(results) - failed, failed))
sys.exit(1 if failed else 0)
