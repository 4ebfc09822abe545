#!/usr/bin/python3
"""Two nodes, one database, the chain watcher on both (test_342_chain_nodes.sh): node 1 in
$T/httpd asks the RPC proxy at /node1, node 2 in $T/httpd2 at /node2."""
import json, os, signal, time
from chainlib import (MEASURE, N, PRICE, balance, case, credited, ctl, holder_of,
                      ledger_consistent, mine, pay, run_cases, short_order, sql, wait_for)

T = os.environ["T"]
NODES = {"/node1": os.path.join(T, "httpd"), "/node2": os.path.join(T, "httpd2")}


def main_pid(node):
    with open(os.path.join(NODES[node], "httpd.pid")) as f:
        return int(f.read().strip())


def node_of_holder():
    """The node whose child holds the lease (holder is host:pid:random)."""
    holder = sql("SELECT holder FROM chain_watch WHERE name = 'eth'")
    pid = int(holder.split(":")[1])
    with open("/proc/%d/status" % pid) as f:
        ppid = int([l for l in f if l.startswith("PPid:")][0].split()[1])
    for node in NODES:
        if os.path.exists(os.path.join(NODES[node], "httpd.pid")) and main_pid(node) == ppid:
            return node
    raise AssertionError("holder %s (parent %d) is no node's child" % (holder, ppid))


def pollers(secs):
    """The proxy paths (nodes) that asked the RPC node during the next secs seconds."""
    ctl("reset")
    time.sleep(secs)
    return sorted(p for p, n in json.loads(ctl("paths")).items() if n > 0)


@case
def exactly_one_node_polls():
    wait_for(lambda: sql("SELECT holder FROM chain_watch WHERE name = 'eth'"), 20, "a lease holder")
    for _ in range(3):
        seen = pollers(3)
        assert len(seen) == 1, "nodes polling at once: %s" % seen
    assert seen == [node_of_holder()], (seen, node_of_holder())


@case
def a_payment_is_credited_once_with_two_nodes():
    a, url, order, der, inv, wei = short_order("n1")
    holder = holder_of(a)
    h, blk = pay(wei)
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the credit")
    time.sleep(3)                     # both nodes had time to see the block
    assert balance(holder) == PRICE
    assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "1"
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s'" % holder) == "1"
    ledger_consistent()


@case
def the_other_node_takes_over_when_the_holder_dies():
    a, url, order, der, inv, wei = short_order("n2")
    holder = holder_of(a)
    dead = node_of_holder()
    other = [n for n in NODES if n != dead][0]
    t0 = time.time()
    os.killpg(main_pid(dead), signal.SIGKILL)   # the holder's whole Apache, no clean stop
    os.unlink(os.path.join(NODES[dead], "httpd.pid"))
    h, blk = pay(wei)
    mine(N - 1)
    ctl("reset")
    wait_for(lambda: json.loads(ctl("paths")).get(other, 0) > 0, 60, "the other node to poll")
    took = time.time() - t0
    wait_for(lambda: credited(h), 30, "the credit by the other node")
    MEASURE.append("two nodes: holder killed -> the other polls after %.1f s (lease 3 x 1 s + 10 s), "
                   "credit after %.1f s" % (took, time.time() - t0))
    assert node_of_holder() == other
    assert json.loads(ctl("paths")).get(dead, 0) == 0
    assert balance(holder) == PRICE
    assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "1"
    ledger_consistent()


run_cases()
