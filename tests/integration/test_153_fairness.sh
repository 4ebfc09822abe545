#!/bin/bash
# Validation queue fairness (issue 16, finding 5; issue 12, concurrent connections per
# target): account A posts 12 http-01 challenges whose names point at 127.0.0.3, where a
# listener accepts and never answers (each check runs into the 10 s timeout). Account B's
# instantly answerable http-01 must still be valid within 3 s (with one FIFO queue it waited
# ~30-60 s), and A may never hold more than one connection per child at once (two children
# here: ServerLimit 2), so at most 2 open connections to the listener.
# acp-test: serial
. "$(dirname "$0")/lib.sh"
acme_setup

IT_DIR="$IT_DIR" python3 - "$HTTP01_PORT" <<'PYEOF' || { server_log 30; fail "fairness"; }
import json, os, socket, sys, threading, time, urllib.request, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme

port = int(sys.argv[1])
mgmt = os.environ["CHALLTESTSRV"]
lock = threading.Lock()
state = {"open": 0, "max": 0, "total": 0}
failed = []


def cts(path, obj):
    req = urllib.request.Request(mgmt + path, data=json.dumps(obj).encode(), method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def hold(c):
    """Never answer; count the connection as open until the validator closes it."""
    try:
        c.settimeout(30)
        while c.recv(4096):
            pass
    except OSError:
        pass
    with lock:
        state["open"] -= 1
    c.close()


def tarpit():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.3", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        with lock:
            state["open"] += 1
            state["total"] += 1
            state["max"] = max(state["max"], state["open"])
        threading.Thread(target=hold, args=(c,), daemon=True).start()


threading.Thread(target=tarpit, daemon=True).start()
time.sleep(0.2)

a = Acme()
a.new_account()
t_start = time.time()
for i in range(12):
    n = "slow%d-%s.fair.test" % (i, uuid.uuid4().hex[:6])
    cts("/add-a", {"host": n + ".", "addresses": ["127.0.0.3"]})
    o = a.new_order([n])
    assert o.status == 201, o
    az = a.get(o.json()["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    r = a.post(ch["url"], {})
    assert r.status == 200, r
print("account A: 12 challenges at a listener that never answers, posted in %.1fs"
      % (time.time() - t_start))
time.sleep(1)

b = Acme()
b.new_account()
n = "quick-%s.fair.test" % uuid.uuid4().hex[:6]
o = b.new_order([n])
assert o.status == 201, o
az_url = o.json()["authorizations"][0]
t0 = time.time()
ch, r = b.answer_http01(az_url, os.environ["ACME_WEBROOT"])
assert r.status == 200, r
st = b.poll(az_url, timeout=40).json()["status"]
took = time.time() - t0
print("account B: http-01 %s after %.2fs" % (st, took))
if st != "valid" or took > 3:
    failed.append("B waited %.1fs (%s)" % (took, st))
time.sleep(2)
with lock:
    print("listener: %d connections so far, at most %d open at once"
          % (state["total"], state["max"]))
    if state["max"] > 2:
        failed.append("%d connections of one account at once" % state["max"])
    if state["total"] == 0:
        failed.append("A's checks never connected")
print("FAIL: " + ", ".join(failed) if failed else "all ok")
sys.exit(1 if failed else 0)
PYEOF
finish
