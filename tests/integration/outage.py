#!/usr/bin/python3
"""Load and checks for the database-fault tests (test_500, test_502).

  outage.py load EVENTS STOPFILE SECONDS [ISSUERS] [READERS]
      runs ISSUERS threads doing whole paid issuances (account, order, http-01, finalize,
      download) and READERS threads polling their account (POST-as-GET, every third time
      an update: a small write) every 50 ms, until
      STOPFILE exists or SECONDS pass; every ACME request (not newNonce) is one JSON line
      in EVENTS: t0, t1, what, status, retry_after, ctype, type.
  outage.py analyze EVENTS T_DOWN T_BACK
      during the outage every failure is 503 + Retry-After + problem+json serverInternal,
      never 500, at least one 503 was seen; after T_BACK (the database accepts connections
      again) the first request succeeds and none is lost. Prints the measurements.
  outage.py books
      the ledger sums to each balance, no order is left processing, every debit has its
      certificate or a refund.
Uses only the standard library, `cryptography` and acme_client.py."""
import json, os, subprocess, sys, threading, time, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, b64, make_csr

NS = "urn:ietf:params:acme:error:"


def sql(q):
    drv, params = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", params, q] if drv == "sqlite3" else ["psql", params, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


class Recorder(Acme):
    """An ACME client that writes one event per request."""
    lock = threading.Lock()

    def __init__(self, out, what="?"):
        self.out = out
        self.what = what
        Acme.__init__(self)

    def request(self, method, url, body=None, ctype="application/jose+json", headers=None):
        t0 = time.time()
        try:
            r = Acme.request(self, method, url, body, ctype, headers)
        except Exception as e:  # a refused or reset connection counts as lost too
            self.log(t0, method, url, 0, None, None, "exception: %s" % e)
            raise
        if method != "HEAD":
            ptype = None
            if (r.header("Content-Type") or "").startswith("application/problem+json"):
                try:
                    ptype = r.json().get("type")
                except ValueError:
                    ptype = "unparsable"
            self.log(t0, method, url, r.status, r.header("Retry-After"), r.header("Content-Type"),
                     ptype)
        return r

    def log(self, t0, method, url, status, ra, ct, ptype):
        ev = {"t0": t0, "t1": time.time(), "what": self.what, "url": url.rsplit("/acme", 1)[-1][:40],
              "status": status, "retry_after": ra, "ctype": ct, "type": ptype}
        with Recorder.lock:
            self.out.write(json.dumps(ev) + "\n")
            self.out.flush()


def load(events, stopfile, seconds, issuers=2, readers=2):
    end = time.time() + float(seconds)
    webroot = os.environ["ACME_WEBROOT"]
    out = open(events, "a")

    def stop():
        return os.path.exists(stopfile) or time.time() > end

    def pause():
        time.sleep(0.1)

    def issuer(i):
        a = None
        while not stop():
            try:
                if a is None:
                    a = Recorder(out, "issue")
                if not a.kid:
                    if a.new_account().status not in (200, 201):
                        pause()
                    continue
                name = "o%d-%s.outage.test" % (i, uuid.uuid4().hex[:8])
                o = a.new_order([name])
                if o.status != 201:
                    pause()
                    continue
                ok = True
                for az in o.json()["authorizations"]:
                    _, r = a.answer_http01(az, webroot)
                    st = a.poll(az, timeout=15)
                    ok = ok and r.status == 200 and st.status == 200 and st.json()["status"] == "valid"
                if not ok:
                    continue
                der, _ = make_csr([name])
                a.post(o.json()["finalize"], {"csr": b64(der)})
                r = a.poll(o.header("Location"), until=("valid", "invalid"), timeout=15)
                if r.status == 200 and r.json().get("certificate"):
                    a.get(r.json()["certificate"])
            except Exception:
                pause()

    def reader(i):
        a = None
        n = 0
        while not stop():
            n += 1
            try:
                if a is None:
                    a = Recorder(out, "read")
                if not a.kid:
                    a.new_account()
                elif n % 3 == 0:
                    a.post(a.kid, {"contact": []})  # a small write transaction
                else:
                    a.get(a.kid)
            except Exception:
                a = a if a and a.kid else None
            time.sleep(0.05)

    ts = [threading.Thread(target=issuer, args=(i,)) for i in range(int(issuers))]
    ts += [threading.Thread(target=reader, args=(i,)) for i in range(int(readers))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.close()


def analyze(events, t_down, t_back):
    t_down, t_back = float(t_down), float(t_back)
    evs = [json.loads(l) for l in open(events) if l.strip()]
    evs.sort(key=lambda e: e["t0"])
    fails = []
    n503 = [e for e in evs if e["status"] == 503]
    bad = [e for e in evs if e["status"] == 500 or e["status"] == 0]
    if bad:
        fails.append("%d requests answered 500 or lost the connection, e.g. %s" % (len(bad), bad[:3]))
    for e in n503:
        if not e["retry_after"] or e["type"] != NS + "serverInternal" or \
                not (e["ctype"] or "").startswith("application/problem+json"):
            fails.append("a 503 without Retry-After or problem document: %s" % e)
            break
    during = [e for e in n503 if e["t1"] >= t_down and e["t0"] <= t_back]
    if not during:
        fails.append("no 503 while the database was down (%d requests in that window)" %
                     len([e for e in evs if t_down <= e["t0"] <= t_back]))
    after = [e for e in evs if e["t0"] >= t_back]
    lost_after = [e for e in after if e["status"] >= 500 or e["status"] == 0]
    first_ok = next((e for e in after if 0 < e["status"] < 500), None)
    if not after:
        fails.append("no request after the database came back")
    elif after[0]["status"] >= 500 or after[0]["status"] == 0:
        fails.append("the first request after the database came back failed: %s" % after[0])
    if lost_after:
        fails.append("%d requests failed after the database came back: %s" %
                     (len(lost_after), lost_after[:3]))
    down_reqs = [e for e in evs if t_down <= e["t0"] <= t_back]
    print("requests: %d in all, %d while down (%d answered 503), %d after it was back" %
          (len(evs), len(down_reqs), len(during), len(after)))
    print("MEASURE requests lost after the database was back: %d" % len(lost_after))
    if first_ok:
        # a request sent this long after the database was back succeeded, in this time
        print("MEASURE seconds from database back to the first request that succeeded: %.3f "
              "(sent), %.3f (answered)" % (first_ok["t0"] - t_back, first_ok["t1"] - t_back))
    ok = len([e for e in evs if 0 < e["status"] < 500 and e["t0"] > t_back])
    print("successful requests after it was back: %d" % ok)
    for f in fails:
        print("FAIL: " + f)
    return not fails


def books():
    fails = []
    rows = sql("SELECT b.id, b.balance, COALESCE((SELECT SUM(delta) FROM ledger l "
               "WHERE l.billing_id = b.id), 0) FROM billing b")
    for line in rows.splitlines():
        bid, bal, total = line.split("|")
        if int(bal) != int(total):
            fails.append("holder %s: balance %s but the ledger sums to %s" % (bid, bal, total))
    proc = sql("SELECT COUNT(*) FROM orders WHERE status = 'processing'")
    if int(proc) != 0:
        fails.append("%s orders left processing" % proc)
    orphan = sql("SELECT l.order_id FROM ledger l JOIN orders o ON o.id = l.order_id "
                 "WHERE l.kind = 'debit' AND o.cert_id IS NULL AND NOT EXISTS "
                 "(SELECT 1 FROM ledger r WHERE r.order_id = l.order_id AND r.kind = 'refund')")
    if orphan:
        fails.append("debited without a certificate or refund: %s" % orphan.split())
    nocharge = sql("SELECT COUNT(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM ledger l "
                   "WHERE l.order_id = c.order_id AND l.kind IN ('debit', 'reissue'))")
    debits = sql("SELECT COUNT(*) FROM ledger WHERE kind = 'debit'")
    certs = sql("SELECT COUNT(*) FROM certificates")
    print("books: %s certificates, %s debits, %s certificates without a charge row" %
          (certs, debits, nocharge))
    if int(nocharge) != 0:
        fails.append("%s certificates issued without a charge" % nocharge)
    for f in fails:
        print("FAIL: " + f)
    return not fails


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "load":
        load(*sys.argv[2:])
        sys.exit(0)
    if cmd == "analyze":
        sys.exit(0 if analyze(*sys.argv[2:]) else 1)
    if cmd == "books":
        sys.exit(0 if books() else 1)
    sys.exit(2)
