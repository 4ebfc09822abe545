#!/bin/bash
# Abuse limits (tests/integration/limits.py) with tiny limits: new accounts per address,
# new orders per account, pending authorizations per account, failed validations per
# account per name; each reached (429 rateLimited + Retry-After, nothing written or
# charged) and reset. Then an EAB key's own limits, given by AcmePayLimitEAB.
. "$(dirname "$0")/lib.sh"
conf_dir=$(mktemp -d /tmp/acp-limits.XXXXXX)
chmod 755 "$conf_dir"
at_exit "rm -rf '$conf_dir'"
: > "$conf_dir/eab-limits.conf"
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayFreeBalance 3000" \
    --directive "AcmePayLimitAccountsPerAddress 2 10s" \
    --directive "AcmePayLimitOrdersPerAccount 3 10s" \
    --directive "AcmePayLimitPendingAuthz 4" \
    --directive "AcmePayLimitFailedValidations 2 15s" \
    --include "$conf_dir/eab-limits.conf"
/usr/bin/python3 "$IT_DIR/limits.py" || { server_log 40; fail "limits.py"; }

# An EAB key's holders get their own limits: 4 accounts per address (in the default's
# period), orders and pending authorizations unlimited.
admin() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --key-file "$ACME_KEY_FILE" "$@"; }
eab=$(admin --json eab create --label "Reseller") || die "eab create failed"
export EAB_KID=$(printf '%s' "$eab" | jq -r .kid) EAB_KEY=$(printf '%s' "$eab" | jq -r .hmac_key)
echo "AcmePayLimitEAB $EAB_KID accounts=4 orders=off pending=off" > "$conf_dir/eab-limits.conf"
apache2 -f "$APACHE_CONF" -t > "$T/configtest2.log" 2>&1 || { cat "$T/configtest2.log"; die "config with AcmePayLimitEAB"; }
sleep 10.5   # the accounts limit.py made leave the window
old_pid=$(cat "$T/httpd/httpd.pid")
apache2 -f "$APACHE_CONF" -k graceful || die "graceful restart"
# bounded: until a child of the new generation answers (the directory always answers)
for _ in $(seq 1 50); do
    curl -sf --cacert "$ACME_TRUST" "$ACME_DIRECTORY" >/dev/null && break
    sleep 0.2
done
[ "$(cat "$T/httpd/httpd.pid")" = "$old_pid" ] || die "graceful restart replaced the parent"
sleep 1
export IT_DIR
/usr/bin/python3 - <<'PY' || fail "EAB limits"
import base64, hashlib, hmac, json, os, sys, uuid
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64
NS = "urn:ietf:params:acme:error:"
kid, mk = os.environ["EAB_KID"], os.environ["EAB_KEY"]
def eab(a, key):
    prot = b64(json.dumps({"alg": "HS256", "kid": kid, "url": a.dir["newAccount"]}))
    pay = b64(json.dumps(key.jwk()))
    raw = base64.urlsafe_b64decode(mk + "=" * (-len(mk) % 4))
    sig = hmac.new(raw, (prot + "." + pay).encode(), hashlib.sha256).digest()
    return {"protected": prot, "payload": pay, "signature": b64(sig)}
def with_eab(a):
    k = Key()
    return a.new_account(k, {"termsOfServiceAgreed": True, "externalAccountBinding": eab(a, k)})
plain = [Acme().new_account(Key()) for _ in range(3)]
assert [r.status for r in plain] == [201, 201, 429], plain       # the default: 2 per 10 s
holders = [Acme() for _ in range(3)]
rs = [with_eab(a) for a in holders]
assert [r.status for r in rs] == [201, 201, 429], rs              # 4 counted: 2 plain + 2 EAB
r = rs[2]
assert r.json()["type"] == NS + "rateLimited" and "limit 4 per 10s" in r.json()["detail"], r.json()
a = holders[0]
for i in range(5):                                                # default would stop at 3
    r = a.new_order(["eab%d-%s.limits.test" % (i, uuid.uuid4().hex[:8])])
    assert r.status == 201, (i, r)
print("ok EAB override: 4 accounts per address, orders and pending unlimited; defaults still apply to others")
PY
grep -q "AcmePayLimitEAB" "$T/httpd/logs/error.log" && fail "AcmePayLimitEAB error in the log"
finish
