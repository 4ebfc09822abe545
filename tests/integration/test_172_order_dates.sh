#!/bin/bash
# newOrder notBefore/notAfter bounds (issue 16, finding 11): no backdating beyond the
# 5-minute skew, no lifetime beyond AcmePayCertValidity (tests/integration/order_dates.py).
. "$(dirname "$0")/lib.sh"
acme_setup
/usr/bin/python3 "$IT_DIR/order_dates.py" || { server_log 40; fail "order_dates.py"; }
finish
