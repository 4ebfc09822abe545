#!/bin/bash
# CRLs (RFC 5280): certificates name their shard's CRL (AcmePayCRLURL); the module serves
# it over plain HTTP (SetHandler acme-pay-crl on a plain vhost) and below the ACME
# <Location> (crl/<shard>); certbot revoke and acme-pay-admin revoke each show up on the
# CRL named in the certificate within the bound, so `openssl verify -crl_check` fails for
# the revoked certificate and passes for a good one; CRL numbers increase; conditional
# GET answers 304; hostile CRL URLs answer 404.
. "$(dirname "$0")/lib.sh"
CRL_PORT=$((ACME_PORT + 1))
BOUND=60 # seconds from a revocation to the CRL that lists it
acme_setup \
    --directive "AcmePayCRLURL http://127.0.0.1:$CRL_PORT/crl/{shard}" \
    --directive "AcmePayCRLShards 4" \
    --directive "AcmePayCRLLifetime 3d" \
    --global "Listen 127.0.0.1:$CRL_PORT" \
    --global "<VirtualHost 127.0.0.1:$CRL_PORT>" \
    --global "    ServerName localhost" \
    --global "    <Location /crl>" \
    --global "        SetHandler acme-pay-crl" \
    --global "    </Location>" \
    --global "</VirtualHost>"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --key-file "$ACME_KEY_FILE" --actor alice)
cb=$T/certbot
mkdir -p "$cb"
certbot_run() {
    REQUESTS_CA_BUNDLE=$ACME_TRUST run_client "$T/certbot.log" \
        certbot --non-interactive --agree-tos --register-unsafely-without-email \
        --server "$ACME_DIRECTORY" \
        --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
        --no-random-sleep-on-renew "$@" || { tail -n 30 "$cb/logs/letsencrypt.log" 2>/dev/null; finish; }
}
n1=$(unique_name crl1)
n2=$(unique_name crl2)
for n in "$n1" "$n2"; do
    certbot_run certonly --webroot --webroot-path "$ACME_WEBROOT" --key-type ecdsa -d "$n"
    check_cert "$cb/config/live/$n/fullchain.pem" "$n" || finish
done
c1=$cb/config/live/$n1/cert.pem
c2=$cb/config/live/$n2/cert.pem

# the URL in the certificate, e.g. http://127.0.0.1:PORT/crl/3
crl_url_of() { openssl x509 -in "$1" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p'; }
u1=$(crl_url_of "$c1")
u2=$(crl_url_of "$c2")
case $u1 in "http://127.0.0.1:$CRL_PORT/crl/"[0-3]) log "$n1 names $u1" ;; *) die "crlDistributionPoints of $n1: '$u1'" ;; esac
case $u2 in "http://127.0.0.1:$CRL_PORT/crl/"[0-3]) log "$n2 names $u2" ;; *) die "crlDistributionPoints of $n2: '$u2'" ;; esac
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
s1=$(serial_of "$c1")
s2=$(serial_of "$c2")

# fetch URL OUT: the CRL as DER into OUT (PEM into OUT.pem); the HTTP status on stdout
fetch() {
    local code
    code=$(curl -s -o "$2" -w '%{http_code}' --max-time 10 "$1")
    if [ "$code" = 200 ]; then
        openssl crl -inform DER -in "$2" -out "$2.pem" 2>/dev/null || code=bad-der
    fi
    echo "$code"
}
crl_number() { openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//'; }
verify() { openssl verify -crl_check -CAfile "$ACME_ISSUER_CA" -CRLfile "$2" "$1" 2>&1; }
# wait_listed URL SERIAL: bounded wait until the CRL at URL lists SERIAL; seconds on stdout
wait_listed() {
    local t0=$SECONDS i
    for ((i = 0; i < BOUND * 2; i++)); do
        if [ "$(fetch "$1" "$T/w.der")" = 200 ] &&
            openssl crl -in "$T/w.der.pem" -noout -text | tr -d ':' | grep -qi "Serial Number $2\$"; then
            echo $((SECONDS - t0))
            return 0
        fi
        sleep 0.5
    done
    return 1
}
# the first CRLs are signed by the workers shortly after start-up
for ((i = 0; i < 60; i++)); do
    [ "$(fetch "$u1" "$T/c1.der")" = 200 ] && [ "$(fetch "$u2" "$T/c2.der")" = 200 ] && break
    sleep 0.5
done
expect_eq 200 "$(fetch "$u1" "$T/c1.der")" "first CRL of $u1" || finish
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$u1")
expect_eq application/pkix-crl "$ctype" "Content-Type of a CRL"
out=$(openssl crl -in "$T/c1.der.pem" -noout -text)
expect_contains "$out" "Version 2" "CRL version"
expect_contains "$out" "Issuing Distribution Point" "the shard's IDP"
expect_contains "$out" "$u1" "the IDP names the shard's URL"
expect_contains "$out" "No Revoked Certificates" "no revocation yet"
out=$(verify "$c1" "$T/c1.der.pem")
expect_contains "$out" ": OK" "verify -crl_check before revocation ($n1)"
num0=$(crl_number "$T/c1.der.pem")
log "CRL $u1 number $num0"

# the same CRL below the ACME <Location> over HTTPS
code=$(curl -s -o "$T/https.der" -w '%{http_code}' --cacert "$ACME_TRUST" "https://localhost:$ACME_PORT/acme/crl/${u1##*/}")
expect_eq 200 "$code" "CRL below the ACME location over HTTPS"
cmp -s "$T/https.der" "$T/c1.der" || fail "the HTTPS and HTTP CRLs differ"

# conditional GET
etag=$(curl -s -D - -o /dev/null "$u1" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
lm=$(curl -s -D - -o /dev/null "$u1" | tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p')
[ -n "$etag" ] && [ -n "$lm" ] || fail "ETag '$etag' / Last-Modified '$lm' missing"
expect_eq "\"${u1##*/}-$((num0))\"" "$etag" "ETag: shard and CRL number"
expect_eq 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$u1")" "If-None-Match"
expect_eq 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$u1")" "If-Modified-Since"
expect_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "0-0"' "$u1")" "other ETag"

# hostile URLs
for path in /crl/../crl/0 /crl/..%2f0 /crl/4 /crl/99999999999999999999 /crl/abc /crl/01 \
    /crl/-1 /crl/0x1 /crl/%30 /crl/ /crl/1/ "/crl/0%00" /crl/+1; do
    code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CRL_PORT$path")
    expect_eq 404 "$code" "plain HTTP $path"
    code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' --cacert "$ACME_TRUST" \
        "https://localhost:$ACME_PORT/acme$path")
    expect_eq 404 "$code" "HTTPS /acme$path"
done
expect_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$u1")" "POST to a CRL"

# 1: revoked through ACME by certbot (keyCompromise = 1)
certbot_run revoke --cert-path "$c1" --reason keycompromise --no-delete-after-revoke
secs=$(wait_listed "$u1" "$s1") || { fail "$s1 not on $u1 within ${BOUND}s"; server_log 20; finish; }
log "certbot revoke: on the CRL after ${secs}s"
fetch "$u1" "$T/c1b.der" > /dev/null
out=$(verify "$c1" "$T/c1b.der.pem")
expect_contains "$out" "certificate revoked" "verify -crl_check after certbot revoke ($n1)"
out=$(openssl crl -in "$T/c1b.der.pem" -noout -text)
expect_contains "$out" "Key Compromise" "reason code"
num1=$(crl_number "$T/c1b.der.pem")
[ $((num1)) -gt $((num0)) ] || fail "CRL number did not increase: $num0 -> $num1"
if [ "$u1" != "$u2" ]; then
    fetch "$u2" "$T/c2.der" > /dev/null
fi
out=$(verify "$c2" "$T/c2.der.pem")
expect_contains "$out" ": OK" "verify -crl_check for the good certificate ($n2)"

# 2: revoked by staff (acme-pay-admin revoke, reason 4 = superseded)
"${ADM[@]}" revoke "$s2" --reason 4 --yes > "$T/adm.log" 2>&1 || { cat "$T/adm.log"; fail "acme-pay-admin revoke"; }
secs=$(wait_listed "$u2" "$s2") || { fail "$s2 not on $u2 within ${BOUND}s"; server_log 20; finish; }
log "acme-pay-admin revoke: on the CRL after ${secs}s"
fetch "$u2" "$T/c2b.der" > /dev/null
out=$(verify "$c2" "$T/c2b.der.pem")
expect_contains "$out" "certificate revoked" "verify -crl_check after acme-pay-admin revoke ($n2)"
expect_contains "$(openssl crl -in "$T/c2b.der.pem" -noout -text)" "Superseded" "reason code 4"

# acme-pay-admin crl list | show | regenerate (settings and CA read from the Apache config)
ADMF=("$REPO/out/acme-pay-admin" -f "$APACHE_CONF" --key-file "$ACME_KEY_FILE" --actor alice)
sh1=${u1##*/}
out=$("${ADMF[@]}" crl list 2>&1) || fail "crl list: $out"
expect_eq 4 "$(echo "$out" | grep -cE '^ *[0-3] ')" "crl list: one line per shard ($out)"
"${ADMF[@]}" --json crl show "$sh1" --out "$T/adm.der" > "$T/show.json" 2>&1 || fail "crl show: $(cat "$T/show.json")"
expect_contains "$(tr -d " " < "$T/show.json")" "\"url\":\"$u1\"" "crl show names the URL"
fetch "$u1" "$T/now.der" > /dev/null
cmp -s "$T/adm.der" "$T/now.der" || fail "crl show --out differs from the served CRL"
before=$(crl_number "$T/now.der.pem")
"${ADMF[@]}" crl regenerate "$sh1" > "$T/regen.log" 2>&1 || fail "crl regenerate: $(cat "$T/regen.log")"
fetch "$u1" "$T/regen.der" > /dev/null
after=$(crl_number "$T/regen.der.pem")
[ $((after)) -eq $((before + 1)) ] || fail "regenerate: number $before -> $after"
out=$(verify "$c1" "$T/regen.der.pem")
expect_contains "$out" "certificate revoked" "the regenerated CRL still lists $n1"
for bad in 4 -1 01 abc 99999999999; do
    "${ADMF[@]}" crl regenerate "$bad" > /dev/null 2>&1
    expect_eq 2 "$?" "crl regenerate $bad"
done
"${ADMF[@]}" crl regenerate --all > "$T/regen.log" 2>&1 || fail "crl regenerate --all: $(cat "$T/regen.log")"
expect_eq 4 "$(db_query "SELECT COUNT(*) FROM crls WHERE number > 1")" "every shard re-signed"

# numbers stored per shard: never lower than what was published
dbnum=$(db_query "SELECT number FROM crls WHERE shard = ${u1##*/}")
[ "$dbnum" -ge $((num1)) ] || fail "database number $dbnum below the published $num1"
finish
