#!/bin/bash
# OV with AcmePaySignCommand: the command (run by a worker, the slow-signer path that
# re-reads the vetting when it signs) gets the vetted organization in ACME_PAY_ORG_O/L/ST/C
# and ACME_PAY_POLICY, shell-quoted (a name with a quote and an ampersand arrives intact),
# and its certificate is what the client receives; a DV order gets none of them.
. "$(dirname "$0")/lib.sh"
S=$(mktemp -d /tmp/acp-ovsigner.XXXXXX)
chmod 755 "$S"
at_exit "rm -rf '$S'"
gen_ca "$S/ca"
chmod 644 "$S/ca/ca.key"    # the signer runs as the Apache user
touch "$S/env.log" && chmod 666 "$S/env.log"
cat > "$S/signer" <<SH
#!/bin/sh
csr=\$(mktemp)
cat > "\$csr"
printf 'O=[%s] L=[%s] ST=[%s] C=[%s] P=[%s] SET=[%s]\n' "\$ACME_PAY_ORG_O" "\$ACME_PAY_ORG_L" \
    "\$ACME_PAY_ORG_ST" "\$ACME_PAY_ORG_C" "\$ACME_PAY_POLICY" "\${ACME_PAY_ORG_O+set}" >> "$S/env.log"
first=\${ACME_PAY_NAMES%%,*}
ext=\$(mktemp)
printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' "\$first" > "\$ext"
subj="/CN=\$first"
if [ -n "\$ACME_PAY_ORG_O" ]; then
    subj="/C=\$ACME_PAY_ORG_C/ST=\$ACME_PAY_ORG_ST/O=\$ACME_PAY_ORG_O/CN=\$first"
    printf 'certificatePolicies=%s\n' "\$ACME_PAY_POLICY" >> "\$ext"
fi
openssl x509 -req -in "\$csr" -CA "$S/ca/ca.pem" -CAkey "$S/ca/ca.key" -subj "\$subj" \
    -set_serial "0x\$(openssl rand -hex 16 | sed 's/^./1/')" -days 30 -extfile "\$ext" 2>/dev/null || exit 1
cat "$S/ca/ca.pem"
rm -f "\$csr" "\$ext"
SH
chmod 755 "$S/signer"
acme_setup --directive "AcmePaySignCommand $S/signer" --directive "AcmePaySignTimeout 10" \
    --directive 'AcmePayProfile dv90 90 0 "90-day DV"' \
    --directive 'AcmePayProfile ov1y 365 0 "1-year OV" ov'
ACME_ISSUER_CA=$S/ca/ca.pem
adm() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" "$@"; }
n1=$(unique_name ovcmd) n2=$(unique_name dvcmd)
export n1 n2 IT_DIR T ADMIN_BIN=$REPO/out/acme-pay-admin
/usr/bin/python3 - > "$T/py.log" 2>&1 <<'PY' || { cat "$T/py.log"; server_log 30; fail "issuing through the signer command"; }
import os, subprocess, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
W = os.environ["ACME_WEBROOT"]
ADM = [os.environ["ADMIN_BIN"], "--driver", os.environ["ACME_DB_DRIVER"], "--params", os.environ["ACME_DB_PARAMS"]]
def sql(q):
    drv, prm = os.environ["ACME_DB_DRIVER"], os.environ["ACME_DB_PARAMS"]
    cmd = ["sqlite3", prm, q] if drv == "sqlite3" else ["psql", prm, "-tAc", q]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
a = Acme()
assert a.new_account(Key(), {"termsOfServiceAgreed": True}).status == 201
h = sql("SELECT billing_id FROM accounts WHERE id = '%s'" % a.kid.rsplit("/", 1)[1])
for args in (["org", "create", h, "--name", "O'Brien & Co Ltd", "--state", "Co. Dublin", "--country", "ie"],
             ["org", "vet", h, "--evidence", "CRO 123456"]):
    r = subprocess.run(ADM + args, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
o = a.new_order([os.environ["n1"]], {"profile": "ov1y"})
assert o.status == 201, o
from acme_client import make_csr, b64
for az in o.json()["authorizations"]:
    a.answer_http01(az, W); assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr([os.environ["n1"]])
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 200, r
order = a.poll(o.header("Location")).json()
assert order["status"] == "valid", order
open(os.environ["T"] + "/ov.pem", "wb").write(a.get(order["certificate"]).body)
_, pem = a.issue([os.environ["n2"]], W)
open(os.environ["T"] + "/dv.pem", "w").write(pem)
PY
check_cert "$T/ov.pem" "$n1"
expect_eq "subject=C=IE, ST=Co. Dublin, O=O'Brien & Co Ltd, CN=$n1" \
    "$(openssl x509 -in "$T/ov.pem" -noout -subject -nameopt oneline,-esc_msb,sep_comma_plus_space 2>/dev/null | sed 's/ = /=/g')" \
    "subject of the command's OV certificate"
expect_contains "$(openssl x509 -in "$T/ov.pem" -noout -ext certificatePolicies)" "2.23.140.1.2.2" "policy"
expect_eq "O=[O'Brien & Co Ltd] L=[] ST=[Co. Dublin] C=[IE] P=[2.23.140.1.2.2] SET=[set]" \
    "$(sed -n 1p "$S/env.log")" "environment of the OV signing"
expect_eq "O=[] L=[] ST=[] C=[] P=[] SET=[]" "$(sed -n 2p "$S/env.log")" "environment of the DV signing"
check_cert "$T/dv.pem" "$n2"
finish
