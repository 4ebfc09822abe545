#!/usr/bin/python3
"""RFC 8555 protocol tests against the module: the happy path with every account key
type, and the negative cases, each asserting the problem type, the HTTP status, and
that nothing was written. Prints one line per case and "N passed, N failed"."""
import json, os, sys, time, traceback, uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, Key, b64, make_csr, db_count

WEBROOT = os.environ["ACME_WEBROOT"]
NS = "urn:ietf:params:acme:error:"
TABLES = ["accounts", "billing", "orders", "authorizations", "challenges", "certificates"]
results = []
CASES = []


def name(tag):
    return "%s-%s.protocol.test" % (tag, uuid.uuid4().hex[:8])


def snapshot():
    return {t: db_count(t) for t in TABLES}


def problem(r, typ, status):
    assert r.status == status, "status %d, want %d: %r" % (r.status, status, r)
    assert r.header("Content-Type") == "application/problem+json", r.header("Content-Type")
    p = r.json()
    assert p["type"] == NS + typ, "type %s, want %s" % (p["type"], typ)
    assert p.get("detail"), "no detail"
    assert r.header("Replay-Nonce"), "no Replay-Nonce on an error"
    return p


def case(fn):
    def run():
        try:
            fn()
            results.append((fn.__name__, None))
            print("ok   %s" % fn.__name__)
        except Exception as e:
            results.append((fn.__name__, e))
            print("FAIL %s: %s" % (fn.__name__, e))
            traceback.print_exc(limit=3)
    run.__name__ = fn.__name__
    CASES.append(run)
    return run


def unchanged(action, *check_args):
    before = snapshot()
    r = action()
    after = snapshot()
    assert before == after, "rows changed: %s -> %s" % (before, after)
    return r


acme = Acme()
acme.new_account(Key("ec256"))


@case
def directory_and_nonce():
    d = acme.dir
    for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "meta"):
        assert k in d, k
    assert "externalAccountRequired" in d["meta"]
    h = acme.request("HEAD", d["newNonce"])
    assert h.status == 200 and h.header("Replay-Nonce") and h.header("Cache-Control") == "no-store"
    g = acme.request("GET", d["newNonce"])
    assert g.status == 204 and g.header("Replay-Nonce")
    assert any('rel="index"' in l for l in g.headers_all("Link"))


@case
def issue_with_each_key_type():
    for kind in ("ec256", "ec384", "rsa", "ed25519"):
        c = Acme()
        r = c.new_account(Key(kind))
        assert r.status == 201, (kind, r)
        again = c.new_account()
        assert again.status == 200 and again.header("Location") == c.kid
        n = name(kind)
        order, pem = c.issue([n], WEBROOT)
        assert pem.count("BEGIN CERTIFICATE") >= 2, pem


@case
def replayed_nonce():
    n = acme.nonce()
    r = acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("a")}]}, nonce=n)
    assert r.status == 201, r
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("b")}]}, nonce=n))
    problem(r, "badNonce", 400)


@case
def replayed_nonce_on_post_as_get():
    # POST-as-GET writes nothing, but its nonce is still spent exactly once
    o = acme.new_order([name("g")])
    assert o.status == 201, o
    n = acme.nonce()
    r = acme.post(o.header("Location"), None, nonce=n)
    assert r.status == 200 and r.json()["status"] == "pending", r
    r = unchanged(lambda: acme.post(o.header("Location"), None, nonce=n))
    problem(r, "badNonce", 400)


@case
def bad_signature_does_not_spend_the_nonce():
    n = acme.nonce()
    j = acme.jws(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("t")}]}, nonce=n)
    sig = bytearray(base64_decode(j["signature"]))
    sig[7] ^= 1
    j["signature"] = b64(bytes(sig))
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], None, raw=json.dumps(j).encode()))
    problem(r, "malformed", 400)
    r = acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("t")}]}, nonce=n)
    assert r.status == 201, r


@case
def one_nonce_raced_by_many_requests():
    # 16 connections send the same signed POST-as-GET at once: one answer, 15 badNonce
    import concurrent.futures
    o = acme.new_order([name("r")])
    assert o.status == 201, o
    body = json.dumps(acme.jws(o.header("Location"), None)).encode()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        answers = list(ex.map(lambda _: acme.request("POST", o.header("Location"), body), range(16)))
    codes = sorted(a.status for a in answers)
    assert codes == [200] + [400] * 15, codes
    for a in answers:
        if a.status == 400:
            problem(a, "badNonce", 400)


@case
def forged_nonce():
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("b")}]},
                                    nonce=b64(os.urandom(32))))
    problem(r, "badNonce", 400)


@case
def wrong_url():
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("u")}]},
                                    jws_url=acme.dir["newAccount"]))
    problem(r, "unauthorized", 403)


@case
def alg_none():
    j = acme.jws(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("n")}]}, alg="none")
    j["signature"] = ""
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], None, raw=json.dumps(j).encode()))
    p = problem(r, "badSignatureAlgorithm", 400)
    assert "ES256" in p.get("algorithms", []), p


@case
def hs256_on_account_request():
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("h")}]},
                                    alg="HS256"))
    problem(r, "badSignatureAlgorithm", 400)


@case
def jwk_and_kid_together():
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("k")}]},
                                    protected_extra={"jwk": acme.key.jwk()}))
    problem(r, "malformed", 400)


@case
def unknown_kid():
    kid = acme.kid.rsplit("/", 1)[0] + "/nosuchaccount"
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("x")}]}, kid=kid))
    problem(r, "accountDoesNotExist", 400)


@case
def body_over_limit():
    pad = "x" * (70 * 1024)
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("l")}], "pad": pad}))
    problem(r, "malformed", 413)


@case
def bad_base64url():
    j = acme.jws(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("b")}]})
    j["payload"] = j["payload"] + "=="
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], None, raw=json.dumps(j).encode()))
    problem(r, "malformed", 400)


@case
def wrong_content_type():
    j = acme.jws(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("c")}]})
    r = unchanged(lambda: acme.request("POST", acme.dir["newOrder"], json.dumps(j).encode(), ctype="application/json"))
    problem(r, "malformed", 415)


@case
def not_json_at_all():
    r = unchanged(lambda: acme.request("POST", acme.dir["newOrder"], b"\x00\xff{garbage"))
    problem(r, "malformed", 400)


@case
def bad_signature():
    j = acme.jws(acme.dir["newOrder"], {"identifiers": [{"type": "dns", "value": name("s")}]})
    sig = bytearray(base64_decode(j["signature"]))
    sig[5] ^= 1
    j["signature"] = b64(bytes(sig))
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], None, raw=json.dumps(j).encode()))
    problem(r, "malformed", 400)


def base64_decode(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ready_order(names):
    o = acme.new_order(names)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        acme.answer_http01(az, WEBROOT)
        a = acme.poll(az)
        assert a.json()["status"] == "valid", a
    r = acme.poll(o.header("Location"), until=("ready", "invalid"))
    assert r.json()["status"] == "ready", r
    return o.header("Location"), o.json()["finalize"]


@case
def csr_with_extra_name():
    n = name("e")
    url, fin = ready_order([n])
    der, _ = make_csr([n, name("extra")])
    r = unchanged(lambda: acme.post(fin, {"csr": b64(der)}))
    problem(r, "badCSR", 400)
    assert acme.get(url).json()["status"] == "ready"


@case
def csr_reusing_account_key():
    n = name("r")
    url, fin = ready_order([n])
    der, _ = make_csr([n], acme.key)
    r = unchanged(lambda: acme.post(fin, {"csr": b64(der)}))
    problem(r, "badCSR", 400)


@case
def rsa1024_csr():
    n = name("w")
    url, fin = ready_order([n])
    der, _ = make_csr([n], Key("rsa", 1024))
    r = unchanged(lambda: acme.post(fin, {"csr": b64(der)}))
    problem(r, "badCSR", 400)


@case
def wildcard_offers_dns01_only():
    n = "*." + name("wild")
    o = acme.new_order([n])
    assert o.status == 201, o
    a = acme.get(o.json()["authorizations"][0]).json()
    assert a.get("wildcard") is True, a
    assert [c["type"] for c in a["challenges"]] == ["dns-01"], a
    assert a["identifier"]["value"] == n[2:], a


@case
def invalid_identifiers():
    for bad, typ in (("-bad-.example.test", "rejectedIdentifier"), ("127.0.0.1", "rejectedIdentifier"),
                     ("a..b.test", "rejectedIdentifier"), ("*.test", "rejectedIdentifier"),
                     ("a.*.b.test", "rejectedIdentifier")):
        r = unchanged(lambda: acme.new_order([bad]))
        problem(r, typ, 400)
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "email", "value": "a@b.test"}]}))
    problem(r, "unsupportedIdentifier", 400)
    # ip identifiers (RFC 8738) are supported; a non-canonical one is malformed
    r = unchanged(lambda: acme.post(acme.dir["newOrder"], {"identifiers": [{"type": "ip", "value": "127.0.0.01"}]}))
    problem(r, "malformed", 400)


@case
def finalize_before_authorizations_valid():
    n = name("f")
    o = acme.new_order([n])
    der, _ = make_csr([n])
    r = unchanged(lambda: acme.post(o.json()["finalize"], {"csr": b64(der)}))
    problem(r, "orderNotReady", 403)


@case
def wrong_key_authorization():
    n = name("k")
    o = acme.new_order([n])
    az = o.json()["authorizations"][0]
    a = acme.get(az).json()
    ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
    d = os.path.join(WEBROOT, ".well-known", "acme-challenge")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, ch["token"]), "w") as f:
        f.write(ch["token"] + ".not-the-thumbprint")
    acme.post(ch["url"], {})
    a = acme.poll(az).json()
    assert a["status"] == "invalid", a
    err = [c for c in a["challenges"] if c["type"] == "http-01"][0]["error"]
    assert err["type"] in (NS + "unauthorized", NS + "incorrectResponse"), err
    assert acme.get(o.header("Location")).json()["status"] == "invalid"


@case
def dns_name_that_does_not_resolve():
    mgmt = os.environ.get("CHALLTESTSRV", "http://127.0.0.1:8055")
    n = name("nx")
    import urllib.request
    # challtestsrv answers every name with its default address (it never says NXDOMAIN):
    # make the lookup of this one name fail with SERVFAIL
    urllib.request.urlopen(urllib.request.Request(mgmt + "/set-servfail", data=json.dumps({"host": n + "."}).encode()), timeout=5)
    o = acme.new_order([n])
    az = o.json()["authorizations"][0]
    acme.answer_http01(az, WEBROOT)
    a = acme.poll(az).json()
    assert a["status"] == "invalid", a
    err = [c for c in a["challenges"] if c["type"] == "http-01"][0]["error"]
    assert err["type"] in (NS + "dns", NS + "connection"), err


@case
def revoke_and_already_revoked():
    n = name("rv")
    order, pem = acme.issue([n], WEBROOT)
    from cryptography import x509 as cx
    from cryptography.hazmat.primitives import serialization as ser
    der = cx.load_pem_x509_certificate(pem.encode()).public_bytes(ser.Encoding.DER)
    r = acme.post(acme.dir["revokeCert"], {"certificate": b64(der), "reason": 7})
    problem(r, "badRevocationReason", 400)
    r = acme.post(acme.dir["revokeCert"], {"certificate": b64(der), "reason": 4})
    assert r.status == 200, r
    r = acme.post(acme.dir["revokeCert"], {"certificate": b64(der)})
    problem(r, "alreadyRevoked", 400)


@case
def other_account_cannot_read_order():
    n = name("o")
    o = acme.new_order([n])
    other = Acme()
    other.new_account(Key("ec256"))
    r = other.get(o.header("Location"))
    problem(r, "unauthorized", 403)


@case
def account_update_and_deactivate():
    c = Acme()
    c.new_account(Key("ec256"), {"termsOfServiceAgreed": True, "contact": ["mailto:ops@example.com"]})
    r = c.post(c.kid, {"contact": ["mailto:noc@example.com"]})
    assert r.status == 200 and r.json()["contact"] == ["mailto:noc@example.com"], r
    r = c.post(c.kid, {"contact": ["tel:+123"]})
    problem(r, "unsupportedContact", 400)
    r = c.post(c.kid, {"contact": ["mailto:not an address"]})
    problem(r, "invalidContact", 400)
    r = c.post(c.kid, {"status": "deactivated"})
    assert r.status == 200 and r.json()["status"] == "deactivated", r
    r = c.new_order([name("d")])
    problem(r, "unauthorized", 403)


@case
def key_change():
    c = Acme()
    c.new_account(Key("ec256"))
    new = Key("ec256")
    inner_url = c.dir["keyChange"]
    inner = {"protected": b64(json.dumps({"alg": new.alg, "jwk": new.jwk(), "url": inner_url})),
             "payload": b64(json.dumps({"account": c.kid, "oldKey": c.key.jwk()}))}
    inner["signature"] = b64(new.sign((inner["protected"] + "." + inner["payload"]).encode()))
    r = c.post(inner_url, inner)
    assert r.status == 200, r
    c.key = new
    r = c.new_order([name("kc")])
    assert r.status == 201, r


@case
def only_return_existing():
    c = Acme()
    c.key = Key("ec256")
    r = unchanged(lambda: c.post(c.dir["newAccount"], {"onlyReturnExisting": True}, use_jwk=True, kid=""))
    problem(r, "accountDoesNotExist", 400)


@case
def get_instead_of_post_as_get():
    o = acme.new_order([name("g")])
    r = acme.request("GET", o.header("Location"))
    problem(r, "malformed", 405)


for run_case in CASES:
    run_case()

failed = sum(1 for _, e in results if e)
print("%d passed, %d failed" % (len(results) - failed, failed))
sys.exit(1 if failed else 0)
