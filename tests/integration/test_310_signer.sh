#!/bin/bash
# A slow signer (AcmePaySignCommand sleeping 5 s) makes finalize answer "processing" with
# Retry-After after AcmePaySignTimeout, and the order becomes valid in the background; a
# failing signer makes the order invalid and refunds the charge.
. "$(dirname "$0")/lib.sh"
make_tmpdir_signer() {
    S=$(mktemp -d /tmp/acp-signer.XXXXXX)
    chmod 755 "$S"
    at_exit "rm -rf '$S'"
}
make_tmpdir_signer
gen_ca "$S/ca"
chmod 644 "$S/ca/ca.key"    # the signer runs as the Apache user
# signer MODE: prints a script that signs the CSR on stdin with the local CA
cat > "$S/signer" <<SH
#!/bin/sh
mode=\$(cat "$S/mode" 2>/dev/null)
csr=\$(mktemp)
cat > "\$csr"
[ "\$mode" = fail ] && { echo "HSM offline" >&2; rm -f "\$csr"; exit 3; }
[ "\$mode" = slow ] && sleep 5
ext=\$(mktemp)
printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    "\$(echo "\$ACME_PAY_NAMES" | sed 's/\([^,]*\)/DNS:\1/g')" > "\$ext"
openssl x509 -req -in "\$csr" -CA "$S/ca/ca.pem" -CAkey "$S/ca/ca.key" -set_serial "0x\$(openssl rand -hex 16 | sed 's/^./1/')" \
    -days 30 -extfile "\$ext" 2>/dev/null || exit 1
cat "$S/ca/ca.pem"
rm -f "\$csr" "\$ext"
SH
chmod 755 "$S/signer"
echo slow > "$S/mode"
chmod 666 "$S/mode"
secret=$S/webhook.secret
openssl rand -hex 32 > "$secret"
acme_setup --directive "AcmePaySignCommand $S/signer" --directive "AcmePaySignTimeout 3" \
    --directive "AcmePayRetryAfter 2" --directive "AcmePayPrice 700" \
    --directive "AcmePayFreeBalance 1400" --directive "AcmePayWebhookSecret file:$secret"
ACME_ISSUER_CA=$S/ca/ca.pem
export SIGNER_MODE_FILE=$S/mode IT_DIR
/usr/bin/python3 - <<'PY' || fail "signer cases"
import os, sys, time, subprocess
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64, make_csr
W = os.environ["ACME_WEBROOT"]
def sql(q):
    drv, prm = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", prm, q] if drv == "sqlite3" else ["psql", prm, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
def ready(a, n):
    o = a.new_order([n]); assert o.status == 201, o
    for az in o.json()["authorizations"]:
        a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
    assert a.poll(o.header("Location"), until=("ready",)).json()["status"] == "ready"
    return o.header("Location"), o.json()["finalize"]
a = Acme(); a.new_account(Key())
holder = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % a.kid.rsplit("/", 1)[1])
assert sql("SELECT balance FROM billing WHERE id = '%s'" % holder) == "1400"
# slow: processing + Retry-After, then valid
url, fin = ready(a, "slow-%d.signer.test" % time.time())
n = a.get(url).json()["identifiers"][0]["value"]
der, _ = make_csr([n])
t0 = time.time()
r = a.post(fin, {"csr": b64(der)})
took = time.time() - t0
assert r.status == 200 and r.json()["status"] == "processing", r
assert r.header("Retry-After") == "2", r.header("Retry-After")
assert 2.5 <= took < 5, "finalize took %.1fs" % took
o = a.poll(url, timeout=30).json()
assert o["status"] == "valid" and "certificate" in o, o
assert sql("SELECT balance FROM billing WHERE id = '%s'" % holder) == "700"
print("ok slow signer: processing after %.1fs, then valid" % took)
# failing: invalid + refund
open(os.environ["SIGNER_MODE_FILE"], "w").write("fail")
url, fin = ready(a, "fail-%d.signer.test" % time.time())
n = a.get(url).json()["identifiers"][0]["value"]
der, _ = make_csr([n])
r = a.post(fin, {"csr": b64(der)})
o = a.poll(url, timeout=30).json()
assert o["status"] == "invalid" and "HSM offline" in o.get("error", {}).get("detail", ""), o
assert sql("SELECT balance FROM billing WHERE id = '%s'" % holder) == "700", "no refund"
kinds = sql("SELECT kind FROM ledger WHERE billing_id = '%s' ORDER BY kind" % holder).split()
assert kinds.count("refund") == 1 and kinds.count("debit") == 2, kinds
total = sql("SELECT SUM(delta) FROM ledger WHERE billing_id = '%s'" % holder)
assert total == "700", total
print("ok failing signer: invalid, refunded")
PY
finish
