#!/bin/bash
# Subscriptions over time (tests/integration/subscription_terms.py): one purchase, three
# certificates for the same names with the subscription's clock moved, charged once and
# each cut at the subscription's end (openssl); the renewal window buys the next term from
# the end; ARI points a cut certificate into that window; another name set and an ended
# subscription pay; staff extend and cancel (pro rata and none) with the books balanced;
# racing renewals charge once; the CA/B Forum schedule caps a 300-day profile at 200 days.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive 'AcmePayProfile sub 90 500 "Two-day subscription" term=2d' \
    --directive 'AcmePayProfile long 300 700 "300-day certificate"' \
    --directive "AcmePayDefaultProfile sub" \
    --directive "AcmePaySubscriptionRenewWindow 6h" \
    --directive "AcmePaySubscriptionRefund prorata"
export ACME_ADMIN="$REPO/out/acme-pay-admin"
/usr/bin/python3 "$IT_DIR/subscription_terms.py" || { server_log 40; fail "subscription_terms.py"; }
finish
