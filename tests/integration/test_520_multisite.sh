#!/bin/bash
# The CA inside a multi-site Apache, configured as the README says: DBDriver/DBDParams and
# the AcmePay* directives in the main server, "SetHandler acme-pay" in one HTTPS
# <VirtualHost>, three customer sites (two name-based on plain HTTP, one on HTTPS) and a
# plain-HTTP vhost that (wrongly) also carries the handler.
#   - customer sites answer 404 for /acme/…; the ACME vhost serves the directory
#   - plain HTTP never serves ACME: 403 unauthorized problem, no nonce, start-up warning
#   - start-up log: no AH02653 (statements registered once per database), no password
#   - the ACME vhost overrides only AcmePayPrice and keeps the main server's webhook
#     secret: a short balance is paid by a signed webhook and the same finalize issues
#   - a vhost overriding AcmePayPrice without any webhook secret is reported at start;
#     it keeps the main server's AcmePayWorkers (it had the default 2 instead)
. "$(dirname "$0")/lib.sh"
make_tmpdir
gen_ca "$T/ca"
ACME_TRUST=$T/ca/trust.pem
ACME_WEBROOT=$T/httpd/webroot
mkdir -p "$ACME_WEBROOT/.well-known/acme-challenge" "$T/sites"
challtestsrv_start
db_setup
ACME_ISSUER_CA=$T/ca/ca.pem
ACME_DIRECTORY=https://localhost:$ACME_PORT/acme/directory
export ACME_DIRECTORY ACME_TRUST ACME_ISSUER_CA ACME_WEBROOT ACME_DB_DRIVER ACME_DB_PARAMS

CUST_HTTP=$((ACME_PORT + 1))
CUST_HTTPS=$((ACME_PORT + 2))
PLAIN_ACME=$((ACME_PORT + 3))
for p in "$ACME_PORT" "$CUST_HTTP" "$CUST_HTTPS" "$PLAIN_ACME"; do
    port_free 127.0.0.1 "$p" || die "port $p is busy"
done
for s in site1 site2 site3; do
    mkdir -p "$T/sites/$s"
    echo "this is $s" > "$T/sites/$s/index.html"
done
openssl rand -hex 32 > "$T/webhook.secret"
chmod 644 "$T/webhook.secret"

# the README layout, at server level after the base config (webroot vhost for http-01)
g=()
add() { g+=(--global "$1"); }
add "LoadModule acme_pay_module $ACME_MODULE"
add "LogLevel warn acme_pay:info"
add "DBDriver $ACME_DB_DRIVER"
add "DBDParams \"$ACME_DB_PARAMS\""
add "DBDMin 1"
add "DBDKeep 4"
add "DBDMax 8"
add "AcmePayCA \"$T/ca/ca.pem\" \"$T/ca/ca.key\""
add "AcmePayResolver 127.0.0.1:$DNS_PORT"
add "AcmePayHTTP01Port $HTTP01_PORT"
add "AcmePayValidationAllow 127.0.0.0/8"
add "AcmePayCurrency CNY"
add "AcmePayPrice 1000"
add "AcmePayWebhookSecret file:$T/webhook.secret"
add "Listen 127.0.0.1:$CUST_HTTP http"
add "Listen 127.0.0.1:$CUST_HTTPS https"
add "Listen 127.0.0.1:$PLAIN_ACME http"
add "Listen 127.0.0.1:$ACME_PORT https"
for s in site1 site2; do
    add "<VirtualHost 127.0.0.1:$CUST_HTTP>"
    add "    ServerName $s.example.test"
    add "    DocumentRoot \"$T/sites/$s\""
    add "    <Directory \"$T/sites/$s\">"
    add "        Require all granted"
    add "    </Directory>"
    add "</VirtualHost>"
done
add "<VirtualHost 127.0.0.1:$CUST_HTTPS>"
add "    ServerName site3.example.test"
add "    DocumentRoot \"$T/sites/site3\""
add "    SSLEngine on"
add "    SSLCertificateFile \"$T/ca/server.pem\""
add "    SSLCertificateKeyFile \"$T/ca/server.key\""
add "    <Directory \"$T/sites/site3\">"
add "        Require all granted"
add "    </Directory>"
add "</VirtualHost>"
add "<VirtualHost 127.0.0.1:$PLAIN_ACME>"
add "    ServerName localhost"
add "    AcmePayPrice 300"
add "    <Location /acme>"
add "        SetHandler acme-pay"
add "        Require all granted"
add "    </Location>"
add "</VirtualHost>"
add "# The ACME server: https://localhost:$ACME_PORT/acme/directory"
add "<VirtualHost 127.0.0.1:$ACME_PORT>"
add "    ServerName localhost"
add "    SSLEngine on"
add "    SSLCertificateFile \"$T/ca/server.pem\""
add "    SSLCertificateKeyFile \"$T/ca/server.key\""
add "    AcmePayPrice 700"
add "    <Location /acme>"
add "        SetHandler acme-pay"
add "        Require all granted"
add "    </Location>"
add "</VirtualHost>"

apache_start "$T/httpd" --no-acme --ca-dir "$T/ca" --webroot "$ACME_WEBROOT" \
    --http01-vhost-port "$HTTP01_PORT" "${g[@]}" || die "Apache did not start"
end=$((SECONDS + 20))
until curl -sf --max-time 3 --cacert "$ACME_TRUST" "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; do
    [ $SECONDS -lt $end ] || { apache_error_log 40; die "the ACME vhost did not answer"; }
    sleep 0.3
done
elog=$T/httpd/logs/error.log

# ---- the ACME vhost, and nothing else ----
dir=$(curl -s --cacert "$ACME_TRUST" "$ACME_DIRECTORY")
expect_contains "$dir" "\"newNonce\": \"https://localhost:$ACME_PORT/acme/new-nonce\"" "ACME directory"
for s in site1 site2; do
    code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Host: $s.example.test" \
        "http://127.0.0.1:$CUST_HTTP/acme/directory")
    expect_eq 404 "$code" "http://$s/acme/directory"
    code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Host: $s.example.test" "http://127.0.0.1:$CUST_HTTP/index.html")
    expect_eq 200 "$code" "http://$s/ (the site itself still serves)"
    expect_contains "$(cat "$T/out")" "this is $s" "http://$s/"
done
code=$(curl -s -o "$T/out" -w '%{http_code}' --cacert "$ACME_TRUST" \
    "https://localhost:$CUST_HTTPS/acme/directory")
expect_eq 404 "$code" "https://site3/acme/directory"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ACME_TRUST" \
    "https://localhost:$CUST_HTTPS/acme/new-nonce")
expect_eq 404 "$code" "https://site3/acme/new-nonce"
code=$(curl -s -o "$T/out" -w '%{http_code}' --cacert "$ACME_TRUST" "https://localhost:$CUST_HTTPS/index.html")
expect_eq 200 "$code" "https://site3/index.html"
expect_contains "$(cat "$T/out")" "this is site3" "https://site3/index.html"
# the webroot vhost of the base config is a customer site too
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP01_PORT/acme/directory")
expect_eq 404 "$code" "http://webroot-vhost/acme/directory"

# ---- plain HTTP never serves ACME ----
for path in directory new-nonce new-account pay/webhook; do
    code=$(curl -s -D "$T/hdr" -o "$T/out" -w '%{http_code}' -X POST -d '{}' \
        -H 'Content-Type: application/jose+json' "http://127.0.0.1:$PLAIN_ACME/acme/$path")
    [ "$path" = directory ] || [ "$path" = new-nonce ] &&
        code=$(curl -s -D "$T/hdr" -o "$T/out" -w '%{http_code}' "http://127.0.0.1:$PLAIN_ACME/acme/$path")
    expect_eq 403 "$code" "http://…/acme/$path"
    expect_contains "$(cat "$T/out")" "urn:ietf:params:acme:error:unauthorized" "http://…/acme/$path body"
    if grep -qi '^Replay-Nonce' "$T/hdr"; then fail "plain HTTP handed out a nonce for $path"; fi
    if grep -q 'http://' "$T/out"; then fail "plain HTTP answer names an http:// URL: $(cat "$T/out")"; fi
done
expect_contains "$(cat "$elog")" "ACP03402" "start-up warning about the plain-HTTP ACME vhost"

# ---- the start-up log ----
if grep -q AH02653 "$elog"; then
    fail "AH02653 at start-up: $(grep -c AH02653 "$elog") lines, e.g. $(grep -m1 AH02653 "$elog")"
fi
if [ "$ACME_DB_DRIVER" = pgsql ]; then
    pw=${ACME_DB_PARAMS##*password=}
    pw=${pw%% *}
    # the start-up info line names the database with the password masked (password=***);
    # the test cluster's password is also its database's and user's name
    if grep -qE -- 'password=[^*]' "$elog" ||
        sed -e "s/dbname=$pw//g; s/user=$pw//g" "$elog" | grep -qF -- "$pw"; then
        fail "the database password is in the error log"
    fi
fi
# the ACME vhost sets AcmePayPrice only: it keeps the main server's webhook secret, so no
# ACP03404 is logged for it (nor for the plain vhost, which inherits the secret too)
if grep -q ACP03404 "$elog"; then fail "unexpected ACP03404: $(grep ACP03404 "$elog")"; fi

# ---- per-directive merge: price from the vhost, webhook secret from the main server ----
export SECRET_FILE=$T/webhook.secret REPO
/usr/bin/python3 - <<'EOF' || fail "payment through the ACME vhost"
import hashlib, hmac, json, os, ssl, sys, time, urllib.request, urllib.error, uuid
sys.path.insert(0, os.path.join(os.environ["REPO"], "tests", "integration"))
from acme_client import Acme, Key, b64, make_csr
secret = open(os.environ["SECRET_FILE"], "rb").read().strip()
a = Acme()
assert a.new_account(Key()).status == 201
n = ["multi-%s.example.test" % uuid.uuid4().hex[:8]]
o = a.new_order(n)
assert o.status == 201, o
assert o.json()["price"]["amount"] == 700, o.json().get("price")
for az in o.json()["authorizations"]:
    a.answer_http01(az, os.environ["ACME_WEBROOT"])
    assert a.poll(az).json()["status"] == "valid"
der, _ = make_csr(n)
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 403, r
inv = r.json()["instance"].rsplit("/", 1)[1]
body = json.dumps({"invoice": inv, "amount": 700, "currency": "CNY", "reference": "ref-" + inv}).encode()
t = int(time.time())
mac = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
url = os.environ["ACME_DIRECTORY"].rsplit("/", 1)[0] + "/pay/webhook"
req = urllib.request.Request(url, data=body, method="POST", headers={
    "Content-Type": "application/json", "AcmePay-Signature": "t=%d,v1=%s" % (t, mac)})
ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
try:
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        st, out = resp.status, resp.read()
except urllib.error.HTTPError as e:
    st, out = e.code, e.read()
assert st == 200, (st, out)
r = a.post(o.json()["finalize"], {"csr": b64(der)})
assert r.status == 200, r
assert a.poll(o.header("Location")).json()["status"] == "valid"
print("paid by webhook (secret inherited from the main server), issued")
EOF

# ---- the admin tool on this configuration opens the ACME vhosts' database ----
info=$("$REPO/out/acme-pay-admin" -f "$T/httpd/httpd.conf" --json info) || fail "admin info: $info"
expect_eq "$ACME_DB_DRIVER" "$(printf '%s' "$info" | jq -r .driver)" "admin -f: driver"
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    expect_eq "$ACME_DB_PARAMS" "$(printf '%s' "$info" | jq -r .database)" "admin -f: database"
else
    dbn=${ACME_DB_PARAMS##*dbname=}
    expect_contains "$(printf '%s' "$info" | jq -r .database)" "dbname=${dbn%% *}" "admin -f: database"
fi

apache_stop "$T/httpd"

# ---- a vhost charging money with no webhook secret anywhere is reported at start ----
mkdir -p "$T/h2"
sh "$REPO/build/apache-conf.sh" --run-dir "$T/h2" --ca-dir "$T/ca" --module "$ACME_MODULE" \
    --acme-port "$ACME_PORT" --http01-vhost-port none --db-driver "$ACME_DB_DRIVER" \
    --db-params "$ACME_DB_PARAMS" --directive "AcmePayPrice 500" \
    --global "AcmePayWorkers 3" --global "LogLevel warn acme_pay:info" > "$T/h2/httpd.conf"
apache2 -f "$T/h2/httpd.conf" -k start > "$T/h2/start.log" 2>&1 || { cat "$T/h2/start.log"; die "h2 start"; }
at_exit "apache_stop '$T/h2'"
end=$((SECONDS + 20))
until [ -s "$T/h2/httpd.pid" ] &&
    curl -sf --max-time 3 --cacert "$ACME_TRUST" "$ACME_DIRECTORY" 2>/dev/null | grep -q newNonce; do
    [ $SECONDS -lt $end ] || break
    sleep 0.3
done
expect_contains "$(cat "$T/h2/logs/error.log")" "ACP03404" "warning: prices without a webhook secret"
# LogLevel acme_pay:info reaches every file of the module: the start-up info line (written
# by acp_httpd_db.c; it was dropped under LogLevel warn, its glue files had no module index)
expect_contains "$(cat "$T/h2/logs/error.log")" "[acme_pay:info]" "LogLevel warn acme_pay:info: the module's info lines"
expect_contains "$(grep ACP03305 "$T/h2/logs/error.log")" "database $ACME_DB_DRIVER" "... the start-up info line"
# AcmePayWorkers of the main server in every child of the vhost with directives of its own
# (a notice of child_init, before the child answered the directory request above)
expect_contains "$(grep ACP04900 "$T/h2/logs/error.log")" "ACP04900: 3 background worker threads" \
    "the ACME vhost inherits AcmePayWorkers 3"
if grep ACP04900 "$T/h2/logs/error.log" | grep -qv "ACP04900: 3 "; then
    fail "a child with another worker count: $(grep ACP04900 "$T/h2/logs/error.log")"
fi
apache_stop "$T/h2"
# ---- the shipped sample site passes `apache2 -t` (only its paths swapped for ours) and
# switches nothing on that points at example.com ----
sed -e "s|/usr/lib/apache2/modules/mod_acme_pay.so|$ACME_MODULE|" \
    -e "s|/etc/ssl/certs/ssl-cert-snakeoil.pem|$T/ca/server.pem|" \
    -e "s|/etc/ssl/private/ssl-cert-snakeoil.key|$T/ca/server.key|" \
    -e "s|/etc/acme-pay/ca.pem|$T/ca/ca.pem|" -e "s|/etc/acme-pay/ca.key|$T/ca/ca.key|" \
    -e "s|/etc/acme-pay/secrets.key|$T/sample-state/secrets.key|" \
    -e "s|/var/lib/acme-pay/|$T/sample-state/|" \
    "$REPO/conf/acme-pay.conf" > "$T/sample.conf"
# apache2 -t also checks the files the sample names (CA, state directory): give them
mkdir -p "$T/sample-state" && chown www-data:www-data "$T/sample-state"
sh "$REPO/build/apache-conf.sh" --run-dir "$T/h3" --no-acme --http01-vhost-port none \
    --global "Include $T/sample.conf" > "$T/h3.conf"
out=$(apache2 -t -f "$T/h3.conf" 2>&1) || fail "conf/acme-pay.conf: apache2 -t: $out"
if grep -nE '^[[:space:]]*[^#[:space:]].*example\.com' "$REPO/conf/acme-pay.conf"; then
    fail "conf/acme-pay.conf switches on something pointing at example.com"
fi
expect_eq 1 "$(grep -c '^[[:space:]]*SetHandler acme-pay' "$REPO/conf/acme-pay.conf")" "handlers in the sample"
finish
