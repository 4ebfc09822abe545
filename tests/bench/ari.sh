#!/bin/bash
# tests/bench/ari.sh -- renewalInfo GETs per second next to newNonce's, same server, same
# run (wrk, 2 threads, 16 connections, 5 s each, twice): the ARI goal is at least half of
# newNonce's rate. Uses the integration harness (Apache + module + SQLite on loopback).
#   ACME_PORT_OFFSET=N bash tests/bench/ari.sh
. "$(dirname "$0")/../integration/lib.sh"
acme_setup
cid=$(REPO_DIR=$REPO /usr/bin/python3 - <<'PY'
import os, sys, uuid
sys.path.insert(0, os.path.join(os.environ.get("REPO_DIR", "."), "tests", "integration"))
from acme_client import Acme, b64
from cryptography import x509
a = Acme()
a.new_account()
order, pem = a.issue(["rate-%s.test" % uuid.uuid4().hex[:6]], os.environ["ACME_WEBROOT"])
c = x509.load_pem_x509_certificate(pem.split("-----END CERTIFICATE-----")[0].encode() +
                                   b"-----END CERTIFICATE-----\n")
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
print(b64(aki) + "." + b64(n.to_bytes((n.bit_length() + 8) // 8, "big")))
PY
)
base=${ACME_DIRECTORY%/directory}
curl -s -D - --cacert "$ACME_TRUST" "$base/renewal-info/$cid" | grep -iE "^(retry-after|cache-control)|suggested"
for round in 1 2; do
    for u in "$base/new-nonce" "$base/renewal-info/$cid"; do
        printf '%-14s ' "$(basename "$(dirname "$u/x")")"
        wrk -t2 -c16 -d5s "$u" 2>&1 | grep -E "Requests/sec"
    done
done
finish
