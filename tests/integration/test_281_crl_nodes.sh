#!/bin/bash
# CRLs on two nodes sharing one database (as behind a load balancer): both nodes' workers
# and two staff `crl regenerate --all` at once race to sign the same shards while
# certificates are revoked through ACME and through acme-pay-admin. A client that reads the
# CRLs from both nodes in turn never sees a shard's cRLNumber go down; every revocation is
# on its shard's CRL within the bound, from either node; both nodes end with the number
# the database holds.
. "$(dirname "$0")/lib.sh"
CRL_PORT=$((ACME_PORT + 1))
BOUND=60 # seconds from a revocation to the CRL that lists it
crl_opts() { # IP: the CRL directives and a plain-HTTP CRL vhost on IP
    printf '%s\n' --directive "AcmePayCRLURL http://127.0.0.1:$CRL_PORT/crl/{shard}" \
        --directive "AcmePayCRLShards 2" --directive "AcmePayCRLLifetime 3d" \
        --global "Listen $1:$CRL_PORT" --global "<VirtualHost $1:$CRL_PORT>" \
        --global "    ServerName localhost" --global "    <Location /crl>" \
        --global "        SetHandler acme-pay-crl" --global "    </Location>" \
        --global "</VirtualHost>"
}
mapfile -t o1 < <(crl_opts 127.0.0.1)
mapfile -t o2 < <(crl_opts 127.0.0.2)
acme_setup "${o1[@]}"
NODE2_DIR=$T/httpd2
second_node_start "$NODE2_DIR" 127.0.0.2 "${o2[@]}" || die "node 2 did not start"
ADM=("$REPO/out/acme-pay-admin" -f "$APACHE_CONF" --actor alice)

# four certificates through the module; their serials and PEMs into $T
export IT_DIR T
/usr/bin/python3 - <<'PY' || die "issuing through the module failed"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
T = os.environ["T"]
a = Acme(); a.new_account(Key())
for i in range(4):
    name = "crln%d-%s.%s.it.test" % (i, os.getpid(), os.environ.get("ACME_DB", "db"))
    _, pem = a.issue([name], os.environ["ACME_WEBROOT"])
    open(os.path.join(T, "c%d.pem" % i), "w").write(pem)
open(os.path.join(T, "acct.kid"), "w").write(a.kid)
from cryptography.hazmat.primitives import serialization
open(os.path.join(T, "acct.pem"), "wb").write(a.key.priv.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
PY
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
shard_of() { openssl x509 -in "$1" -noout -ext crlDistributionPoints | sed -n 's/^ *URI:.*\/crl\///p'; }

# the reader: shards 0 and 1 from node 1 then node 2, in turn, until told to stop (bounded)
fetch_number() { # IP SHARD -> cRLNumber (decimal) or "-"
    local f=$T/r.$1.$2
    if [ "$(curl -s -o "$f" -w '%{http_code}' --max-time 5 "http://$1:$CRL_PORT/crl/$2")" = 200 ]; then
        openssl crl -inform DER -in "$f" -noout -crlnumber 2>/dev/null |
            sed 's/^crlNumber=//' | { read -r h; [ -n "$h" ] && echo $((16#${h#0x})) || echo -; }
    else
        echo -
    fi
}
(
    for ((i = 0; i < 2000; i++)); do
        [ -e "$T/stop" ] && break
        for ip in 127.0.0.1 127.0.0.2; do
            for s in 0 1; do echo "$ip $s $(fetch_number $ip $s)"; done
        done
        sleep 0.1
    done
) > "$T/reads" &
reader=$!
at_exit "kill $reader 2>/dev/null"

# each shard's number before (the reads above sample it; on a loaded machine too sparsely
# to see every re-signing)
for s in 0 1; do
    eval "start_$s=\$(db_query \"SELECT number FROM crls WHERE shard = $s\")"
done
# revocations: two through ACME (node 1), two by staff, with staff re-signing every
# shard twice at once in between
/usr/bin/python3 - <<'PY' || fail "ACME revocation"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key, b64
from cryptography import x509
from cryptography.hazmat.primitives import serialization
T = os.environ["T"]
a = Acme()
k = Key()  # ec256, as the account's
k.priv = serialization.load_pem_private_key(open(os.path.join(T, "acct.pem"), "rb").read(), None)
a.key = k
a.kid = open(os.path.join(T, "acct.kid")).read()
for i in (0, 1):
    der = x509.load_pem_x509_certificate(open(os.path.join(T, "c%d.pem" % i), "rb").read()) \
        .public_bytes(serialization.Encoding.DER)
    r = a.post(a.dir["revokeCert"], {"certificate": b64(der), "reason": 4})
    assert r.status == 200, r
PY
for round in 1 2 3; do
    "${ADM[@]}" crl regenerate --all > "$T/regen.a.$round" 2>&1 &
    p1=$!
    "${ADM[@]}" crl regenerate --all > "$T/regen.b.$round" 2>&1 &
    p2=$!
    wait $p1; r1=$?
    wait $p2; r2=$?
    # a staff command may find a shard's lease taken (by the other one or a node's
    # worker); no other failure
    for x in a b; do
        r=$r1; [ $x = b ] && r=$r2
        if [ "$r" != 0 ] && ! grep -q "another generator holds this shard" "$T/regen.$x.$round"; then
            fail "round $round: regenerate: $(cat "$T/regen.$x.$round")"
        fi
    done
    [ $round = 1 ] && "${ADM[@]}" --yes revoke "$(serial_of "$T/c2.pem")" --reason 1 > /dev/null 2>&1
    [ $round = 2 ] && "${ADM[@]}" --yes revoke "$(serial_of "$T/c3.pem")" --reason 5 > /dev/null 2>&1
done

# every revoked certificate is on its shard's CRL, from either node, within the bound
for i in 0 1 2 3; do
    c=$T/c$i.pem s=$(serial_of "$c") sh=$(shard_of "$c")
    [ -n "$sh" ] || { fail "c$i names no CRL shard"; continue; }
    for ip in 127.0.0.1 127.0.0.2; do
        ok=0
        for ((j = 0; j < BOUND * 2; j++)); do
            curl -s -o "$T/l.der" --max-time 5 "http://$ip:$CRL_PORT/crl/$sh" &&
                openssl crl -inform DER -in "$T/l.der" -noout -text 2>/dev/null | tr -d ':' |
                grep -qi "Serial Number $s\$" && { ok=1; break; }
            sleep 0.5
        done
        expect_eq 1 "$ok" "c$i (serial $s, shard $sh) on node $ip's CRL within ${BOUND}s"
    done
done
sleep 1
touch "$T/stop"
wait $reader

# the reads, in the order they were made: no shard's number ever goes down
reads=$(grep -vc ' -$' "$T/reads")
log "$reads CRL reads across both nodes"
[ "$reads" -gt 20 ] || fail "too few CRL reads ($reads): the reader did not run"
down=$(awk '$3 != "-" { if (($2 in hi) && $3 + 0 < hi[$2]) print; if ($3 + 0 > hi[$2]) hi[$2] = $3 + 0 }' "$T/reads")
expect_eq "" "$down" "no cRLNumber went down between reads (node shard number)"
for s in 0 1; do
    n=$(awk -v s=$s '$2 == s && $3 != "-" { print $3 }' "$T/reads" | sort -n | uniq | wc -l)
    [ "$n" -ge 2 ] || fail "shard $s: only $n distinct numbers read (the reader saw no re-signing)"
    eval "n0=\${start_$s:-0}"
    n1=$(db_query "SELECT number FROM crls WHERE shard = $s")
    log "shard $s: cRLNumber $n0 before the revocations, $n1 after"
    # three rounds of "regenerate --all" (each signs every shard at least once)
    [ "${n1:-0}" -ge $((n0 + 3)) ] || fail "shard $s: number $n0 -> $n1: the races did not re-sign it"
done
# both nodes end where the database is
for s in 0 1; do
    db=$(db_query "SELECT number FROM crls WHERE shard = $s")
    expect_eq "$db $db" "$(fetch_number 127.0.0.1 $s) $(fetch_number 127.0.0.2 $s)" "shard $s: both nodes serve number $db"
done
finish
