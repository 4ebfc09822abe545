#!/usr/bin/python3
"""Shared helpers of the chain watcher tests (chain.py, chain_token.py, chain_nodes.py):
a real anvil node behind rpc_proxy.py, the test's database, the ACME client; environment
set by the test_34x shell files: ANVIL_URL, RPC_PROXY, ETH_ADDR, ETH_WPM, ETH_CONF, T, REPO,
ACME_DB_DRIVER, ACME_DB_PARAMS, ACME_KEY_FILE, ACME_WEBROOT."""
import os, re, subprocess, sys, time, traceback, urllib.request, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr  # noqa: F401 (re-exported)
from billing_util import balance, holder_of, ledger_consistent, ready_order, sql  # noqa: F401 (re-exported)
import evm

WEBROOT = os.environ["ACME_WEBROOT"]
ANVIL, PROXY = os.environ["ANVIL_URL"], os.environ["RPC_PROXY"]
ADDR, WPM, N = os.environ["ETH_ADDR"], int(os.environ["ETH_WPM"]), int(os.environ["ETH_CONF"])
CHAIN = 31337
PAYER = evm.PAYER
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


def rpc(method, *params, url=ANVIL):
    return evm.rpc(url, method, *params)


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
    rc = evm.receipt(ANVIL, h)
    assert rc["status"] == "0x1", rc
    return h, int(rc["blockNumber"], 16)


def ref(h, log_index=0):
    return "eth:%d:%s:%d" % (CHAIN, h.lower(), log_index)


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


def unconfirmed_not_credited(h, blk, holder):
    """After transfer h (mined in block blk) has N - 1 confirmations and the watcher has
    passed blk - 1: nothing credited (h, the holder's balance still 0)."""
    mine(N - 2)                       # N - 1 confirmations: not yet
    wait_processed(blk - 1)
    time.sleep(2.5)
    assert not credited(h), "credited before %d confirmations" % N
    assert balance(holder) == 0


def sent_then_reorged_away(send):
    """send() makes a transfer: (tx hash, block). With N - 1 confirmations a reorg removes
    it, then N + 3 blocks are mined and the watcher is past them; the tx hash."""
    snap = rpc("evm_snapshot")
    h, blk = send()
    mine(N - 2)
    wait_processed(blk - 1)
    time.sleep(1.5)
    assert rpc("evm_revert", snap) is True
    assert rpc("eth_getTransactionReceipt", h) is None, "the reorg kept the transaction"
    mine(N + 3)
    wait_processed(head() - N + 1)
    return h


def restart_rewound(block):
    """Stop Apache, set the watcher's stored progress back to block, start Apache: the
    watcher reads the blocks after it again."""
    conf = os.environ["APACHE_CONF"]
    subprocess.run(["apache2", "-f", conf, "-k", "stop"], check=True)
    pidfile = os.path.join(os.environ["T"], "httpd", "httpd.pid")
    wait_for(lambda: not os.path.exists(pidfile), 20, "Apache to stop")
    sql("UPDATE chain_watch SET last_block = %d, last_hash = NULL WHERE name = 'eth'" % block)
    subprocess.run(["apache2", "-f", conf, "-k", "start"], check=True)


def log_count(tag):
    with open(ERROR_LOG, errors="replace") as f:
        return sum(1 for line in f if tag in line)


def short_order(tag):
    """A new account with a ready order that is short: (acme, order url, order, csr, invoice,
    the invoice's wei amount)"""
    a = Acme()
    a.new_account(Key())
    n = ["%s-%s.chain.test" % (tag, uuid.uuid4().hex[:8])]
    url, order = ready_order(a, n)
    der, _ = make_csr(n)
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
    short_order.last = r.json()  # the payment request, for the tests that read it
    inv = r.json()["instance"].rsplit("/", 1)[1]
    uri = sql("SELECT eth_wei FROM invoices WHERE id = '%s'" % inv)
    m = re.fullmatch(r"ethereum:(0x[0-9a-fA-F]{40})@%d\?value=(\d+)" % CHAIN, uri)
    assert m and m.group(1) == ADDR, uri
    wei = int(m.group(2))
    assert wei // WPM == PRICE and 0 < wei % WPM <= 999999, wei
    return a, url, order, der, inv, wei


def credited(h, log_index=0):
    return sql("SELECT COUNT(*) FROM payments WHERE reference = '%s'" % ref(h, log_index)) == "1"


def run_cases():
    """Runs every @case, prints one line each, the measurements, "N passed, N failed"."""
    for c in CASES:
        try:
            c()
            results.append(None)
            print("ok   " + c.__name__, flush=True)
        except Exception as e:
            results.append(e)
            print("FAIL %s: %s" % (c.__name__, e), flush=True)
            traceback.print_exc(limit=3)
    try:
        ctl("mode/up")
    except OSError:
        pass
    for m in MEASURE:
        print("measure: " + m)
    failed = sum(1 for e in results if e)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)
