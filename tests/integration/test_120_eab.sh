#!/bin/bash
# External Account Binding: required by the server, HS256 keys from the database
# (made with acme-pay-admin), bad MAC / unknown kid / disabled key refused; two devices
# on one EAB credential share one balance.
. "$(dirname "$0")/lib.sh"
acme_setup --eab on --directive "AcmePayPrice 500" --directive "AcmePayFreeBalance 0"
admin() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --key-file "$ACME_KEY_FILE" "$@"; }
eab=$(admin --json eab create --label "Reseller A") || die "eab create failed"
export EAB_KID=$(printf '%s' "$eab" | jq -r .kid) EAB_KEY=$(printf '%s' "$eab" | jq -r .hmac_key)
export EAB_HOLDER=$(printf '%s' "$eab" | jq -r .holder) ADMIN_BIN=$REPO/out/acme-pay-admin IT_DIR
/usr/bin/python3 - <<'PY' || fail "EAB cases"
import base64, hashlib, hmac, json, os, subprocess, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
NS = "urn:ietf:params:acme:error:"
W = os.environ["ACME_WEBROOT"]
ADMIN = [os.environ["ADMIN_BIN"], "--driver", os.environ["ACME_DB_DRIVER"], "--params", os.environ["ACME_DB_PARAMS"], "--key-file", os.environ["ACME_KEY_FILE"]]
def sql(q):
    drv, prm = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", prm, q] if drv == "sqlite3" else ["psql", prm, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
def eab(a, key, kid, mac_key):
    prot = b64(json.dumps({"alg": "HS256", "kid": kid, "url": a.dir["newAccount"]}))
    pay = b64(json.dumps(key.jwk()))
    raw = base64.urlsafe_b64decode(mac_key + "=" * (-len(mac_key) % 4))
    sig = hmac.new(raw, (prot + "." + pay).encode(), hashlib.sha256).digest()
    return {"protected": prot, "payload": pay, "signature": b64(sig)}
kid, mk = os.environ["EAB_KID"], os.environ["EAB_KEY"]
a = Acme()
assert a.dir["meta"]["externalAccountRequired"] is True
accounts = sql("SELECT COUNT(*) FROM accounts")
r = a.new_account(Key())
assert r.status == 401 and r.json()["type"] == NS + "externalAccountRequired", r
k = Key()
r = a.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(a, k, kid, b64(b"x" * 32))})
assert r.status == 403 and r.json()["type"] == NS + "unauthorized", r
r = a.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(a, k, "nosuchkid", mk)})
assert r.status == 403 and r.json()["type"] == NS + "unauthorized", r
r = a.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(a, Key(), kid, mk)})
assert r.status == 400 and r.json()["type"] == NS + "malformed", r
assert sql("SELECT COUNT(*) FROM accounts") == accounts, "a refused newAccount wrote a row"
# two devices, one credential
d1, d2 = Acme(), Acme()
k1, k2 = Key(), Key("rsa")
assert d1.new_account(k1, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(d1, k1, kid, mk)}).status == 201
assert d2.new_account(k2, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(d2, k2, kid, mk)}).status == 201
h1 = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % d1.kid.rsplit("/", 1)[1])
h2 = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % d2.kid.rsplit("/", 1)[1])
assert h1 == h2 == os.environ["EAB_HOLDER"], (h1, h2)
out = subprocess.run(ADMIN + ["--json", "credit", h1, "500minor", "--reason", "prepaid"],
                     capture_output=True, text=True)
assert out.returncode == 0, out.stderr
# device 1 spends the shared balance; device 2 is then asked to pay
# (the key ID is base64url: only its letters and digits make a DNS label)
label = "".join(c for c in kid.lower() if c.isalnum())
o1 = d1.issue(["dev1-%s.eab.test" % label], W)
assert sql("SELECT balance FROM billing WHERE id = '%s'" % h1) == "0"
o = d2.new_order(["dev2-%s.eab.test" % label]); assert o.status == 201
for az in o.json()["authorizations"]:
    d2.answer_http01(az, W); assert d2.poll(az).json()["status"] == "valid"
der, _ = make_csr([o.json()["identifiers"][0]["value"]])
r = d2.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
# a disabled credential registers nobody
subprocess.run(ADMIN + ["eab", "disable", kid], check=True, capture_output=True)
k3 = Key(); d3 = Acme()
r = d3.new_account(k3, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(d3, k3, kid, mk)})
assert r.status == 403, r
print("ok EAB: required, refused when wrong, shared balance across two devices, disable")
PY
finish
