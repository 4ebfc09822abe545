#!/bin/bash
# SSRF through validation (issue 16, finding 1): the validator must refuse every IANA
# special-purpose address after resolution -- for http-01, tls-alpn-01 and every redirect --
# say which rule refused, and quote nothing read from a refused target. Only 127.0.0.2 is
# exempt here (AcmePayValidationAllow 127.0.0.2/32); a listener on 127.0.0.1 stands in for
# an internal service and answers with a secret (or with the right key authorization, so a
# validator that connects to it would even turn the authorization valid).
. "$(dirname "$0")/lib.sh"
acme_setup --no-http01-vhost --validation-allow 127.0.0.2/32

IT_DIR="$IT_DIR" python3 - "$HTTP01_PORT" "$TLSALPN01_PORT" <<'EOF' || { server_log 40; fail "SSRF cases"; }
import http.server, json, os, socketserver, sys, threading, time, urllib.request, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme

port, tls_port = int(sys.argv[1]), int(sys.argv[2])
mgmt = os.environ["CHALLTESTSRV"]
NS = "urn:ietf:params:acme:error:"
SECRET = "internal-secret-3141"
acme = Acme()
acme.new_account()
answers = {}     # token -> key authorization (what a correct target would serve)
redirects = {}   # token -> Location the exempt target answers with
hits = {"127.0.0.1": 0, "127.0.0.2": 0}
failed = []


def cts(path, obj):
    req = urllib.request.Request(mgmt + path, data=json.dumps(obj).encode(), method="POST")
    urllib.request.urlopen(req, timeout=5).read()


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        me = self.server.server_address[0]
        hits[me] += 1
        tok = self.path.rsplit("/", 1)[-1]
        if tok in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[tok])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        # 127.0.0.1 is "the internal service": the right answer for *_valid tokens (a
        # validator that connects would succeed), else a secret it must never quote
        body = answers.get(tok, "") if (me == "127.0.0.2" or tok.endswith("_valid")) else SECRET
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


for ip in ("127.0.0.1", "127.0.0.2"):
    srv = S((ip, port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

# only explicit records from here on (names without one have no A record)
cts("/set-default-ipv4", {"ip": ""})


def name(tag, a=None, aaaa=None):
    n = "%s-%s.ssrf.test" % (tag, uuid.uuid4().hex[:8])
    if a:
        cts("/add-a", {"host": n + ".", "addresses": [a]})
    if aaaa:
        cts("/add-aaaa", {"host": n + ".", "addresses": [aaaa]})
    return n


def challenge(n, typ, token_suffix=""):
    """Order n, answer its challenge of type typ; returns (authz json, challenge json)."""
    o = acme.new_order([n])
    assert o.status == 201, o
    az_url = o.json()["authorizations"][0]
    az = acme.get(az_url).json()
    ch = [c for c in az["challenges"] if c["type"] == typ][0]
    answers[ch["token"] + token_suffix] = ch["token"] + "." + acme.key.thumbprint()
    return az_url, ch


def run(n, typ="http-01"):
    az_url, ch = challenge(n, typ)
    t0 = time.time()
    r = acme.post(ch["url"], {})
    assert r.status == 200, r
    az = acme.poll(az_url, timeout=30).json()
    return az, time.time() - t0


def expect_refused(label, n, rule, typ="http-01"):
    try:
        az, took = run(n, typ)
        ch = [c for c in az["challenges"] if c["type"] == typ][0]
        err = ch.get("error", {})
        detail = err.get("detail", "")
        assert az["status"] == "invalid", "authorization %s, want invalid" % az["status"]
        assert err.get("type") == NS + "connection", "type %s" % err.get("type")
        assert rule in detail, "rule %r not in %r" % (rule, detail)
        assert "refused to connect" in detail, detail
        assert SECRET not in detail, "quoted the refused target: %r" % detail
        assert took < 8, "took %.1fs: connected instead of refusing?" % took
        print("ok   %-34s %s" % (label, detail))
    except Exception as e:
        failed.append(label)
        print("FAIL %-34s %s" % (label, e))


# IPv4 special-purpose ranges (the first target, http-01)
for label, addr, rule in [
    ("loopback", "127.0.0.1", "127.0.0.0/8 (RFC 1122 loopback)"),
    ("this network 0.0.0.0", "0.0.0.0", "0.0.0.0/8"),
    ("RFC 1918 10/8", "10.0.0.1", "address 10.0.0.1 is in 10.0.0.0/8 (RFC 1918 private-use)"),
    ("RFC 1918 172.16/12", "172.16.5.4", "172.16.0.0/12"),
    ("RFC 1918 192.168/16", "192.168.1.1", "192.168.0.0/16"),
    ("cloud metadata", "169.254.169.254", "169.254.0.0/16 (RFC 3927 link-local"),
    ("CGNAT", "100.64.0.1", "100.64.0.0/10 (RFC 6598"),
    ("benchmarking", "198.18.0.1", "198.18.0.0/15"),
    ("documentation", "192.0.2.1", "192.0.2.0/24"),
    ("multicast", "224.0.0.1", "224.0.0.0/4"),
    ("reserved", "240.0.0.1", "240.0.0.0/4"),
    ("broadcast", "255.255.255.255", "255.255.255.255/32"),
]:
    expect_refused(label, name("v4", a=addr), rule)

# IPv6 special-purpose ranges (AAAA only). IPv4-mapped AAAA answers are covered by the
# unit test (tests/unit/test_va_addr.c): pebble-challtestsrv does not serve them.
for label, addr, rule in [
    ("IPv6 loopback", "::1", "::1/128 (RFC 4291 loopback)"),
    ("ULA", "fd12:3456::1", "fc00::/7 (RFC 4193"),
    ("link-local v6", "fe80::1", "fe80::/10"),
    ("NAT64", "64:ff9b::a9fe:a9fe", "64:ff9b::/96"),
    ("documentation v6", "2001:db8::1", "2001:db8::/32"),
    ("multicast v6", "ff02::1", "ff00::/8"),
]:
    expect_refused(label, name("v6", aaaa=addr), rule)

# tls-alpn-01 goes through the same refusal
expect_refused("tls-alpn-01 to RFC 1918", name("tls", a="10.1.2.3"), "10.0.0.0/8", "tls-alpn-01")
expect_refused("tls-alpn-01 to loopback", name("tls", a="127.0.0.1"), "127.0.0.0/8", "tls-alpn-01")

# a redirect from an exempt target into a special-purpose address is refused at that hop:
# to loopback (where the right answer waits) and to cloud metadata
for label, addr, rule in [("redirect into loopback", "127.0.0.1", "127.0.0.0/8"),
                          ("redirect into metadata", "169.254.169.254", "169.254.0.0/16")]:
    try:
        n = name("redir", a="127.0.0.2")
        inner = name("inner", a=addr)
        az_url, ch = challenge(n, "http-01")
        tok = ch["token"]
        answers[tok + "_valid"] = answers[tok]
        redirects[tok] = "http://%s:%d/.well-known/acme-challenge/%s_valid" % (inner, port, tok)
        r = acme.post(ch["url"], {})
        assert r.status == 200, r
        az = acme.poll(az_url, timeout=30).json()
        err = [c for c in az["challenges"] if c["type"] == "http-01"][0].get("error", {})
        detail = err.get("detail", "")
        assert az["status"] == "invalid", "authorization %s, want invalid" % az["status"]
        assert rule in detail and "refused to connect" in detail, detail
        print("ok   %-34s %s" % (label, detail))
    except Exception as e:
        failed.append(label)
        print("FAIL %-34s %s" % (label, e))

# the exempt address still validates (AcmePayValidationAllow works)
try:
    az, took = run(name("allowed", a="127.0.0.2"))
    assert az["status"] == "valid", az
    print("ok   %-34s valid" % "exempt 127.0.0.2")
except Exception as e:
    failed.append("exempt")
    print("FAIL exempt 127.0.0.2: %s" % e)

cts("/set-default-ipv4", {"ip": "127.0.0.1"})
if hits["127.0.0.1"]:
    failed.append("no connection")
    print("FAIL the validator connected to 127.0.0.1 %d time(s)" % hits["127.0.0.1"])
print("%d failed" % len(failed))
sys.exit(1 if failed else 0)
EOF
finish
