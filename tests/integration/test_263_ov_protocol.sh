#!/bin/bash
# OV at the protocol level (issue 17, item 2), with the test client: newOrder under the OV
# profile without an organization → 403 userActionRequired with the contact URL as instance,
# no order written; a vetting revoked between newOrder and finalize → finalize refused the
# same way, the order stays ready and nothing is charged; vetted again → the same order is
# issued: subject C, ST, L, O from the vetting (the CSR's O=Evil ignored), the OV policy OID,
# charged once. A DV order under the default profile keeps a CN-only subject and no policy;
# names are still validated. A staff reissue of the OV certificate keeps the organization,
# and is refused once the vetting is revoked.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayFreeBalance 0" \
    --directive 'AcmePayProfile dv90 90 0 "90-day DV"' \
    --directive 'AcmePayProfile ov1y 365 300 "1-year OV" ov' \
    --directive "AcmePayOVContactURL https://ca.test/ov"
export ADMIN_BIN=$REPO/out/acme-pay-admin IT_DIR CA_DIR=$T/ca
/usr/bin/python3 - <<'PY' || fail "OV protocol cases"
import json, os, subprocess, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtensionOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
NS = "urn:ietf:params:acme:error:"
W = os.environ["ACME_WEBROOT"]
ADMIN = [os.environ["ADMIN_BIN"], "--driver", os.environ["ACME_DB_DRIVER"],
         "--params", os.environ["ACME_DB_PARAMS"], "--actor", "pia", "--yes"]
def sql(q):
    drv, prm = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", prm, q] if drv == "sqlite3" else ["psql", prm, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
def admin(*args):
    r = subprocess.run(ADMIN + list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return r
def evil_csr(name):
    k = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evil Corp"),
                      x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(subj)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
           .sign(k, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER)
def ready_order(a, name, profile):
    o = a.new_order([name], {"profile": profile} if profile else None)
    assert o.status == 201, o
    for az in o.json()["authorizations"]:
        a.answer_http01(az, W)
        assert a.poll(az).json()["status"] == "valid"
    return o
def leaf(a, order_url):
    order = a.poll(order_url).json()
    assert order["status"] == "valid", order
    pem = a.get(order["certificate"]).body
    return x509.load_pem_x509_certificate(pem)
def policies(c):
    try:
        return [p.policy_identifier.dotted_string for p in
                c.extensions.get_extension_for_oid(ExtensionOID.CERTIFICATE_POLICIES).value]
    except x509.ExtensionNotFound:
        return []
tag = os.urandom(3).hex()
a = Acme()
assert a.new_account(Key(), {"termsOfServiceAgreed": True}).status == 201
h = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % a.kid.rsplit("/", 1)[1])
assert admin("credit", h, "10.00", "--reason", "funds").returncode == 0
# no organization: refused at newOrder, nothing written
orders = sql("SELECT COUNT(*) FROM orders")
r = a.new_order(["ov1-%s.ov.test" % tag], {"profile": "ov1y"})
assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
assert r.json()["instance"] == "https://ca.test/ov", r
assert "no organization is registered" in r.json()["detail"], r
assert r.header("Content-Type") == "application/problem+json", r
assert sql("SELECT COUNT(*) FROM orders") == orders, "a refused newOrder wrote an order"
print("ok newOrder refused without an organization")
# names are still validated under an OV profile
r = a.new_order(["bad_name..%s.test" % tag], {"profile": "ov1y"})
assert r.status == 400 and r.json()["type"] in (NS + "rejectedIdentifier", NS + "malformed"), r
# vetted, order ready, vetting revoked before finalize: refused at finalize, not charged
c = admin("org", "create", h, "--name", "Ørsted Testing A/S", "--locality", "Fredericia",
          "--country", "DK", "--evidence", "CVR 12345678")
assert c.returncode == 0, c.stderr
assert admin("org", "vet", h).returncode == 0
name = "ov2-%s.ov.test" % tag
o = ready_order(a, name, "ov1y")
assert admin("org", "revoke", h, "--reason", "test: revoked before finalize").returncode == 0
r = a.post(o.json()["finalize"], {"csr": b64(evil_csr(name))})
assert r.status == 403 and r.json()["type"] == NS + "userActionRequired", r
assert "its vetting was revoked" in r.json()["detail"], r
st = a.post(o.header("Location"), None).json()["status"]
assert st == "ready", st
assert sql("SELECT balance FROM billing WHERE id = '%s'" % h) == "1000"
print("ok finalize refused after the vetting was revoked; order stays ready, nothing charged")
# vetted again: the same order is issued with the organization's subject
assert admin("org", "vet", h, "--evidence", "CVR 12345678, re-checked").returncode == 0
r = a.post(o.json()["finalize"], {"csr": b64(evil_csr(name))})
assert r.status == 200, r
c = leaf(a, o.header("Location"))
subj = c.subject.rfc4514_string()
assert subj == "CN=%s,O=Ørsted Testing A/S,L=Fredericia,C=DK" % name, subj
assert "Evil" not in subj and "XX" not in subj
assert policies(c) == ["2.23.140.1.2.2"], policies(c)
assert sql("SELECT balance FROM billing WHERE id = '%s'" % h) == "700"
assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'debit'" % h) == "1"
serial = "%032x" % c.serial_number
print("ok OV certificate: %s, policy 2.23.140.1.2.2, charged once" % subj)
# DV under the default profile: CN only, no policy, the CSR's O ignored as well
dname = "dv-%s.ov.test" % tag
o = ready_order(a, dname, None)
r = a.post(o.json()["finalize"], {"csr": b64(evil_csr(dname))})
assert r.status == 200, r
c = leaf(a, o.header("Location"))
assert c.subject.rfc4514_string() == "CN=" + dname, c.subject.rfc4514_string()
assert policies(c) == [], policies(c)
print("ok DV certificate: CN only, no certificatePolicies")
# staff reissue keeps the organization; refused once the vetting is revoked
ca = os.environ["CA_DIR"]
r = admin("--json", "--ca", ca + "/ca.pem", ca + "/ca.key", "reissue", serial, "--reason", "key rollover")
assert r.returncode == 0, r.stderr + r.stdout
new_id = sql("SELECT cert_id FROM orders WHERE org_id IS NOT NULL")
pem = sql("SELECT pem FROM certificates WHERE id = '%s'" % new_id)
c2 = x509.load_pem_x509_certificate(pem.encode())
assert c2.serial_number != c.serial_number
assert c2.subject.rfc4514_string() == "CN=%s,O=Ørsted Testing A/S,L=Fredericia,C=DK" % name, c2.subject
assert policies(c2) == ["2.23.140.1.2.2"]
assert admin("org", "revoke", h, "--reason", "test: revoked before reissue").returncode == 0
serial2 = "%032x" % c2.serial_number
r = admin("--ca", ca + "/ca.pem", ca + "/ca.key", "reissue", serial2, "--reason", "again")
assert r.returncode != 0 and "vetting" in (r.stderr + r.stdout), r
print("ok staff reissue keeps the organization; refused after the revocation")
PY
finish
