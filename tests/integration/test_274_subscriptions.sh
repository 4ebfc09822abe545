#!/bin/bash
# Subscriptions (tests/integration/subscriptions.py): a profile sold as a term
# (AcmePayProfile ... term=2d): bought once at the first finalize, later certificates for
# the same names or a subset free and capped at the subscription's end, another name set
# pays, an ended subscription is bought again, two racing first purchases charge once.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive 'AcmePayProfile cert 1 300 "One certificate"' \
    --directive 'AcmePayProfile sub 1 500 "Two-day subscription" term=2d' \
    --directive "AcmePayDefaultProfile cert" \
    --directive "AcmePaySubscriptionRenewWindow 10m"
export ACME_ADMIN="$REPO/out/acme-pay-admin"
/usr/bin/python3 "$IT_DIR/subscriptions.py" || { server_log 40; fail "subscriptions.py"; }
finish
