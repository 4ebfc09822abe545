"""Nonces spent in the database (AcmePayNonceStore database) stay single-use across two
nodes on one database and across restarts. Node 1 answers on 127.0.0.1, node 2 on
ACME_NODE2_IP, both at the same URLs (tests/integration/test_602_nonce_nodes.sh).

  nonce_nodes.py nodes            replays between the nodes, races over both
  nonce_nodes.py sign FILE        an account, then signed requests: some sent (spent), some
                                  kept unsent; all written to FILE (JSON)
  nonce_nodes.py replay FILE WHAT every spent request again, on both nodes: badNonce, nothing
                                  changed; WHAT=unsent-ok: each unsent one passes once
                                  (first node 2, then never again); WHAT=unsent-bad: refused
  nonce_nodes.py fresh            new clients on both nodes get through (a client retries
                                  a badNonce once with the nonce it came with)
Prints one line per check and exits non-zero on a failure."""
import concurrent.futures, json, os, sys, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, AcmeAt, db_count

BAD = "urn:ietf:params:acme:error:badNonce"
NODE2 = os.environ["ACME_NODE2_IP"]
fails = []


def check(ok, what):
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        fails.append(what)


def is_bad_nonce(r):
    try:
        return r.status == 400 and r.json().get("type") == BAD
    except ValueError:
        return False


def nodes():
    return Acme(), AcmeAt(NODE2)


def twin(a, b):
    """b acts for a's account on node 2"""
    b.key, b.kid = a.key, a.kid
    return b


def name(tag):
    return "n602-%s-%s.test" % (tag, uuid.uuid4().hex[:8])


def order_body(a, nonce):
    payload = {"identifiers": [{"type": "dns", "value": name("o")}]}
    return json.dumps(a.jws(a.dir["newOrder"], payload, nonce=nonce)).encode()


def cmd_nodes():
    a, b = nodes()
    check(a.new_account().status == 201, "account on node 1")
    twin(a, b)
    for first, second, tag in ((a, b, "1->2"), (b, a, "2->1")):
        # POST-as-GET (spent on its own) and newOrder (spent in the transaction)
        n = first.nonce()
        body = json.dumps(first.jws(a.kid, None, nonce=n)).encode()
        r1 = first.request("POST", a.kid, body)
        r2 = second.request("POST", a.kid, body)
        check(r1.status == 200, "POST-as-GET with a fresh nonce (%s)" % tag)
        check(is_bad_nonce(r2), "the same POST-as-GET replayed on the other node: badNonce (%s)" % tag)
        orders = db_count("orders")
        body = order_body(first, second.nonce())  # a nonce the other node made
        r1 = first.request("POST", a.dir["newOrder"], body)
        r2 = second.request("POST", a.dir["newOrder"], body)
        check(r1.status == 201, "newOrder with the other node's nonce (%s)" % tag)
        check(is_bad_nonce(r2), "newOrder replayed on the node that made the nonce: badNonce (%s)" % tag)
        check(db_count("orders") == orders + 1, "one order written, not two (%s)" % tag)
    # one signed request sent 8 times to each node at once: exactly one passes
    body = json.dumps(a.jws(a.kid, None, nonce=a.nonce())).encode()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        rs = list(ex.map(lambda i: (a if i % 2 else b).request("POST", a.kid, body), range(16)))
    check(sum(r.status == 200 for r in rs) == 1 and sum(is_bad_nonce(r) for r in rs) == 15,
          "16 copies over both nodes at once: 1 answered, 15 badNonce (%s)" %
          sorted(r.status for r in rs))


def cmd_sign(path):
    a, b = nodes()
    check(a.new_account().status == 201, "account on node 1")
    twin(a, b)
    out = {"spent": [], "unsent": []}
    for i, node in enumerate((a, b, a, b)):
        n = node.nonce()
        if i % 2:
            url, body = a.dir["newOrder"], order_body(a, n)
        else:
            url, body = a.kid, json.dumps(a.jws(a.kid, None, nonce=n)).encode()
        r = node.request("POST", url, body)
        check(r.status in (200, 201), "request %d sent once (%d)" % (i, r.status))
        out["spent"].append({"url": url, "body": body.decode()})
    for node in (a, b):
        out["unsent"].append({"url": a.kid, "body": json.dumps(a.jws(a.kid, None, nonce=node.nonce()))})
        out["unsent"].append({"url": a.dir["newOrder"], "body": order_body(a, node.nonce()).decode()})
    with open(path, "w") as f:
        json.dump(out, f)


def cmd_replay(path, what):
    with open(path) as f:
        saved = json.load(f)
    a, b = nodes()
    orders = db_count("orders")
    for i, s in enumerate(saved["spent"]):
        for node, tag in ((a, "node 1"), (b, "node 2")):
            r = node.request("POST", s["url"], s["body"].encode())
            check(is_bad_nonce(r), "spent request %d replayed on %s: badNonce (%d)" % (i, tag, r.status))
    check(db_count("orders") == orders, "the replays wrote no order")
    for i, s in enumerate(saved["unsent"]):
        r = b.request("POST", s["url"], s["body"].encode())
        again = a.request("POST", s["url"], s["body"].encode())
        if what == "unsent-ok":
            check(r.status in (200, 201), "unsent request %d passes once (%d)" % (i, r.status))
        else:
            check(is_bad_nonce(r), "unsent request %d of before the crash: badNonce (%d)" % (i, r.status))
        check(is_bad_nonce(again), "unsent request %d a second time: badNonce" % i)


def cmd_fresh():
    for node in nodes():
        r = node.new_account()
        if is_bad_nonce(r):  # a node still on the lost epoch: its answer carries a good nonce
            n = r.header("Replay-Nonce")
            r = node.post(node.dir["newAccount"], {"termsOfServiceAgreed": True},
                          use_jwk=True, kid="", nonce=n)
            if r.status == 201:
                node.kid = r.header("Location")
        check(r.status == 201, "new account on %s (%d)" % (getattr(node, "ip", "node 1"), r.status))
        r = node.post(node.kid, None)
        check(r.status == 200, "POST-as-GET right after (%d)" % r.status)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "nodes":
        cmd_nodes()
    elif cmd == "sign":
        cmd_sign(sys.argv[2])
    elif cmd == "replay":
        cmd_replay(sys.argv[2], sys.argv[3])
    elif cmd == "fresh":
        cmd_fresh()
    else:
        sys.exit(2)
    print("%d failed" % len(fails))
    sys.exit(1 if fails else 0)
