#!/bin/bash
# dns-01 against a hostile TXT record (issue 16, finding 2): one TXT record split into
# ~32,600 one-byte strings (a 64 KB answer over TCP, from tests/integration/bigtxt_dns.py)
# must be refused in bounded time and memory: the Apache children's RSS may not grow by
# more than 64 MB over four such challenges (it grew by ~1 GB when the value was rebuilt
# string by string and the workers' freed memory stayed in APR's global allocator).
# acp-test: serial
. "$(dirname "$0")/lib.sh"

dnsdir=$(mktemp -d /tmp/acp-bigtxt.XXXXXX)
chmod 755 "$dnsdir"
at_exit "rm -rf '$dnsdir'"
mkdir -p "$dnsdir/values"
python3 "$IT_DIR/bigtxt_dns.py" "$dnsdir/port" "$dnsdir/values" > "$dnsdir/log" 2>&1 &
dns_pid=$!
at_exit "kill $dns_pid"
for _ in $(seq 1 50); do [ -s "$dnsdir/port" ] && break; sleep 0.1; done
[ -s "$dnsdir/port" ] || die "bigtxt_dns.py did not start: $(cat "$dnsdir/log")"
acme_setup --resolver "127.0.0.1:$(cat "$dnsdir/port")"

IT_DIR="$IT_DIR" VALUES="$dnsdir/values" HTTPD_PID="$(cat "$T/httpd/httpd.pid")" \
python3 - <<'PYEOF' || { server_log 30; fail "hostile TXT record"; }
import hashlib, os, sys, time, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, b64

acme = Acme()
acme.new_account()
failed = []


def children_rss_kb():
    """Sum of VmRSS of the Apache parent's children (where validation runs)."""
    ppid, total = os.environ["HTTPD_PID"], 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % pid).read()
            if st.rsplit(")", 1)[1].split()[1] != ppid:
                continue
            for line in open("/proc/%s/status" % pid):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def dns01(name, value=None):
    o = acme.new_order([name])
    assert o.status == 201, o
    az_url = o.json()["authorizations"][0]
    az = acme.get(az_url).json()
    ch = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
    if value is None:
        ka = ch["token"] + "." + acme.key.thumbprint()
        value = b64(hashlib.sha256(ka.encode()).digest())
    with open(os.path.join(os.environ["VALUES"], name), "w") as f:
        f.write(value)
    t0 = time.time()
    r = acme.post(ch["url"], {})
    assert r.status == 200, r
    az = acme.poll(az_url, timeout=60).json()
    ch = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
    return az["status"], ch.get("error", {}).get("detail", ""), time.time() - t0


# warm up (and show dns-01 works through this server)
st, detail, took = dns01("ok-%s.txt.test" % uuid.uuid4().hex[:8])
print("control: %s %.2fs %s" % (st, took, detail))
if st != "valid":
    failed.append("control")
before = children_rss_kb()
for i in range(4):
    st, detail, took = dns01("big-%s.txt.test" % uuid.uuid4().hex[:8])
    print("hostile TXT %d: %s in %.2fs: %s" % (i + 1, st, took, detail))
    if st != "invalid" or "over the limits" not in detail:
        failed.append("verdict %d" % i)
    if took > 5:
        failed.append("time %d (%.1fs)" % (i, took))
time.sleep(0.5)
after = children_rss_kb()
print("Apache children RSS: %d MB before, %d MB after four hostile TXT records (+%d MB)"
      % (before // 1024, after // 1024, (after - before) // 1024))
if after - before > 64 * 1024:
    failed.append("RSS grew by %d MB" % ((after - before) // 1024))
# still valid afterwards
st, detail, took = dns01("ok-%s.txt.test" % uuid.uuid4().hex[:8])
if st != "valid":
    failed.append("control after")
print("FAIL: " + ", ".join(failed) if failed else "all ok")
sys.exit(1 if failed else 0)
PYEOF
finish
