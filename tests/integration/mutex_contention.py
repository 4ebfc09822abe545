#!/usr/bin/python3
"""Many concurrent writers under Debian's stock `Mutex file:… default` with the worker
MPM and two children (issue 16, finding 4). That setting once made the acme-pay-db lock
an fcntl lock, whose deadlock detection is per process: with the accept mutex (also
fcntl) held by one child's listener and the write lock by a thread of another, the kernel
saw a cycle and answered EDEADLK, and a child exited (AH00273 "Resource deadlock
avoided"). Runs THREADS clients (each request on a new connection, so listeners keep
taking the accept mutex) doing newOrder, finalize and newAccount for SECONDS; asserts
every answer was the expected one. The wrapper checks the error log."""
import os, sys, threading, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr

WEBROOT = os.environ["ACME_WEBROOT"]
THREADS = int(os.environ.get("MUTEX_THREADS", "24"))
SECONDS = float(os.environ.get("MUTEX_SECONDS", "20"))
fails = []
stats = {}
lock = threading.Lock()


def name(tag):
    return "%s-%s.mutex.test" % (tag, uuid.uuid4().hex[:8])


def count(what, status):
    with lock:
        stats[(what, status)] = stats.get((what, status), 0) + 1


def ready_order(acme, n):
    o = acme.new_order([n])
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        acme.answer_http01(az, WEBROOT)
        a = acme.poll(az)
        assert a.json()["status"] == "valid", a
    r = acme.poll(o.header("Location"), until=("ready", "invalid"))
    assert r.json()["status"] == "ready", r
    return o


def client(i, stop):
    acme = Acme()
    acme.new_account(Key("ec256"))
    k = 0
    while time.time() < stop:
        k += 1
        try:
            if k % 5 == 0:
                # a whole issuance: validation on a worker, then finalize (signs in its
                # write transaction)
                n = name("fin")
                o = ready_order(acme, n)
                r = acme.post(o.json()["finalize"], {"csr": b64(make_csr([n])[0])})
                count("finalize", r.status)
            elif k % 7 == 0:
                r = Acme().new_account(Key("ec256"))
                count("newAccount", r.status)
            else:
                r = acme.new_order([name("o")])
                count("newOrder", r.status if r.status == 201 else "%d %s" % (r.status, r.body[:300]))
        except Exception as e:
            count("error", type(e).__name__ + " " + str(e)[:300])


stop = time.time() + SECONDS
ths = [threading.Thread(target=client, args=(i, stop)) for i in range(THREADS)]
for t in ths:
    t.start()
for t in ths:
    t.join(SECONDS + 120)
for k in sorted(stats, key=str):
    print("%-10s %-40s %d" % (k[0], k[1], stats[k]))
expected = {"newOrder": 201, "finalize": 200, "newAccount": 201}
bad = {k: v for k, v in stats.items() if expected.get(k[0]) != k[1]}
ok = sum(v for k, v in stats.items() if k not in bad)
print("%d requests as expected, %d not: %s" % (ok, sum(bad.values()), bad))
if bad or ok < THREADS:
    fails.append("unexpected answers")
print("%d passed, %d failed" % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
