#!/bin/bash
# Secrets at rest and the admin tool's choice of database.
#   - AcmePayKeyFile created by the module at first start: 0640 root:www-data
#   - SQLite: database, -wal, -shm 0640 owned by www-data
#   - EAB HMAC keys and the nonce key stored sealed: the raw key is not in the database
#     files (nor in the row), the EAB key still works; an EAB key stored in clear (as
#     before) is sealed at the next start and keeps working
#   - acme-pay-admin -f: opens the database of the vhost with "SetHandler acme-pay" even
#     when another site's DBDParams comes later, `info` names it without the password,
#     refuses two ACME vhosts on different databases (--vhost picks one) and a
#     configuration without the handler; eab create without the key file is refused
. "$(dirname "$0")/lib.sh"
acme_setup --eab on
ADMIN=$REPO/out/acme-pay-admin
elog=$T/httpd/logs/error.log

# ---- the key file ----
expect_eq "640 root www-data" "$(stat -c '%a %U %G' "$ACME_KEY_FILE" 2>&1)" "mode of AcmePayKeyFile"
expect_eq 65 "$(stat -c %s "$ACME_KEY_FILE" 2>&1)" "size of AcmePayKeyFile (64 hex digits + newline)"
expect_contains "$(cat "$elog")" "ACP03405" "notice: key file created"

# ---- admin -f on the generated configuration ----
info=$("$ADMIN" -f "$APACHE_CONF" --json info) || fail "info: $info"
expect_eq "$ACME_DB_DRIVER" "$(printf '%s' "$info" | jq -r .driver)" "info driver"
expect_eq sealed "$(printf '%s' "$info" | jq -r .secrets)" "info: nonce key sealed"
expect_eq "$ACME_KEY_FILE" "$(printf '%s' "$info" | jq -r .key_file)" "info key file"
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    expect_eq "$ACME_DB_PARAMS" "$(printf '%s' "$info" | jq -r .database)" "info database"
else
    pw=${ACME_DB_PARAMS##*password=}
    pw=${pw%% *}
    expect_contains "$(printf '%s' "$info" | jq -r .database)" "password=***" "info database"
    case $("$ADMIN" -f "$APACHE_CONF" info) in *"password=$pw"*) fail "info shows the password" ;; esac
fi

# a database that cannot be opened: info names it, password masked
out=$("$ADMIN" --driver pgsql --params "host=127.0.0.1 port=1 dbname=x user=y password=Top5ecret" info 2>&1)
expect_eq 1 "$?" "info on an unreachable database (exit code)"
expect_contains "$out" "password=***" "info on an unreachable database"
case $out in *Top5ecret*) fail "info printed the password: $out" ;; esac

# ---- EAB key sealed, still working ----
eab=$("$ADMIN" -f "$APACHE_CONF" --json eab create --label "Reseller S") || die "eab create: $eab"
kid=$(printf '%s' "$eab" | jq -r .kid)
key=$(printf '%s' "$eab" | jq -r .hmac_key)
[ -n "$key" ] && [ "$key" != null ] || die "no hmac_key in $eab"
row=$(db_query "SELECT hmac_key FROM eab_keys WHERE kid = '$kid'")
case $row in enc1:*) ;; *) fail "EAB key stored as '$row', not sealed" ;; esac
case $row in *"$key"*) fail "the raw EAB key is in its row" ;; esac
nk=$(db_query "SELECT value FROM settings WHERE name = 'nonce_key'")
case $nk in enc1:*) ;; *) fail "nonce key stored in clear" ;; esac
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    # a copy of the database files: the raw key is nowhere in them
    for f in "$ACME_DB_PARAMS" "$ACME_DB_PARAMS-wal"; do
        [ -f "$f" ] || continue
        if grep -qaF "$key" "$f"; then fail "the raw EAB key is in $(basename "$f")"; fi
    done
fi

eab_register() {
    EAB_KID=$1 EAB_KEY=$2 IT_DIR=$IT_DIR /usr/bin/python3 - <<'PY'
import base64, hashlib, hmac, json, os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64
a, k = Acme(), Key()
kid, mk = os.environ["EAB_KID"], os.environ["EAB_KEY"]
prot = b64(json.dumps({"alg": "HS256", "kid": kid, "url": a.dir["newAccount"]}))
pay = b64(json.dumps(k.jwk()))
raw = base64.urlsafe_b64decode(mk + "=" * (-len(mk) % 4))
sig = hmac.new(raw, (prot + "." + pay).encode(), hashlib.sha256).digest()
r = a.new_account(k, {"termsOfServiceAgreed": True,
                      "externalAccountBinding": {"protected": prot, "payload": pay, "signature": b64(sig)}})
assert r.status == 201, r
print("account with EAB", kid)
PY
}
eab_register "$kid" "$key" || fail "newAccount with the sealed EAB key"

# without the key file the tool refuses to store a new key in clear
out=$("$ADMIN" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" eab create --label clear 2>&1)
rc=$?
expect_eq 1 "$rc" "eab create without the key file (exit code)"
expect_contains "$out" "sealed" "eab create without the key file"

# ---- SQLite file modes ----
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    for f in "$ACME_DB_PARAMS" "$ACME_DB_PARAMS-wal" "$ACME_DB_PARAMS-shm"; do
        [ -e "$f" ] || { fail "$f missing"; continue; }
        m=$(stat -c '%a %U' "$f")
        expect_eq "640 www-data" "$m" "mode/owner of $(basename "$f")"
    done
fi

# ---- a key stored in clear (a database from before) is sealed at the next start ----
legacy=$(openssl rand 32 | basenc --base64url | tr -d '=\n')
db_query "UPDATE eab_keys SET hmac_key = '$legacy' WHERE kid = '$kid'" >/dev/null
apache_stop "$T/httpd"
apache2 -f "$APACHE_CONF" -k start > "$T/restart.log" 2>&1 || { cat "$T/restart.log"; die "restart"; }
end=$((SECONDS + 30))
until curl -sf --max-time 3 --cacert "$ACME_TRUST" "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; do
    [ $SECONDS -lt $end ] || { apache_error_log 30; die "no directory after restart"; }
    sleep 0.3
done
row=$(db_query "SELECT hmac_key FROM eab_keys WHERE kid = '$kid'")
case $row in enc1:*) ;; *) fail "legacy plaintext EAB key not sealed at start: '$row'" ;; esac
expect_contains "$(cat "$elog")" "ACP03413" "notice: legacy keys sealed"
eab_register "$kid" "$legacy" || fail "newAccount with the re-sealed legacy EAB key"

# ---- admin -f follows Apache's rules ----
c=$T/conf
mkdir -p "$c/sites"
cat > "$c/apache2.conf" <<EOF
ServerRoot "$c"
DBDriver sqlite3
DBDParams "$c/main-server.db"
AcmePayKeyFile "$ACME_KEY_FILE"
IncludeOptional sites/*.conf
EOF
cat > "$c/sites/10-acme.conf" <<EOF
<VirtualHost *:443>
    ServerName acme.example.test
    DBDriver $ACME_DB_DRIVER
    DBDParams "$ACME_DB_PARAMS"
    <Location /acme>
        SetHandler acme-pay
    </Location>
</VirtualHost>
EOF
cat > "$c/sites/20-shop.conf" <<EOF
<VirtualHost *:80>
    ServerName shop.example.test
    DBDriver sqlite3
    DBDParams "$c/shop.db"
</VirtualHost>
EOF
info=$("$ADMIN" -f "$c/apache2.conf" --json info) || fail "info on the multi-site conf: $info"
expect_eq sealed "$(printf '%s' "$info" | jq -r .secrets)" "multi-site conf: the CA's database (sealed secrets)"
expect_contains "$(printf '%s' "$info" | jq -r .server)" "acme.example.test" "multi-site conf: server"
[ -e "$c/shop.db" ] && fail "the tool opened the shop's database"
# a second ACME vhost on another database: refused, --vhost chooses
cat > "$c/sites/30-acme2.conf" <<EOF
<VirtualHost *:8443>
    ServerName acme2.example.test
    ServerAlias ca2.example.test
    DBDriver sqlite3
    DBDParams "$c/acme2.db"
    <Location /acme>
        SetHandler acme-pay
    </Location>
</VirtualHost>
EOF
out=$("$ADMIN" -f "$c/apache2.conf" info 2>&1)
expect_eq 1 "$?" "two ACME vhosts on two databases (exit code)"
expect_contains "$out" "ambiguous" "two ACME vhosts on two databases"
expect_contains "$out" "--vhost" "two ACME vhosts: the way out"
info=$("$ADMIN" -f "$c/apache2.conf" --vhost acme.example.test --json info) || fail "--vhost: $info"
expect_eq sealed "$(printf '%s' "$info" | jq -r .secrets)" "--vhost acme.example.test"
# (an empty database there: the tool says which one it could not read)
out=$("$ADMIN" -f "$c/apache2.conf" --vhost ca2.example.test info 2>&1)
expect_contains "$out" "$c/acme2.db" "--vhost by ServerAlias"
out=$("$ADMIN" -f "$c/apache2.conf" --vhost nosuch.example.test info 2>&1)
expect_eq 1 "$?" "--vhost with an unknown name"
# no handler anywhere: refused
rm -f "$c/sites/10-acme.conf" "$c/sites/30-acme2.conf"
out=$("$ADMIN" -f "$c/apache2.conf" info 2>&1)
expect_eq 1 "$?" "no SetHandler acme-pay (exit code)"
expect_contains "$out" "SetHandler acme-pay" "no SetHandler acme-pay"
finish
