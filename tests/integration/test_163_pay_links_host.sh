#!/bin/bash
# Issue 16, finding 10: a finalize sent (and signed) with a forged Host header gets, and
# stores, payment links on the configured ServerName; the invoice page too.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayTestMode on"
/usr/bin/python3 "$IT_DIR/billing_sec.py" payment_links_ignore_the_host_header ||
    { server_log 40; fail "payment links"; }
finish
