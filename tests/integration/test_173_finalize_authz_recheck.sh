#!/bin/bash
# Finalize rechecks the order's authorizations (issue 16, finding 12; RFC 8555 §7.1.6):
# deactivated or expired since the order became ready -> orderNotReady, nothing charged
# (tests/integration/authz_recheck.py).
. "$(dirname "$0")/lib.sh"
export ACME_TEST_PRICE=100 ACME_ADMIN=$REPO/out/acme-pay-admin
acme_setup --directive "AcmePayPrice $ACME_TEST_PRICE"
/usr/bin/python3 "$IT_DIR/authz_recheck.py" || { server_log 40; fail "authz_recheck.py"; }
finish
