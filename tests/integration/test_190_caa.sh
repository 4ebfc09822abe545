#!/bin/bash
# CAA (RFC 8659 + RFC 8657) against pebble-challtestsrv serving CAA records: no record,
# our identity, another CA, issuewild vs issue, empty issuer, tree climbing, CNAME,
# accounturi, validationmethods, SERVFAIL, and the recheck at finalize after 8 hours
# (tests/integration/caa.py).
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCAAIdentities ca.example.net"
/usr/bin/python3 "$IT_DIR/caa.py" || { server_log 40; fail "caa.py"; }
finish
