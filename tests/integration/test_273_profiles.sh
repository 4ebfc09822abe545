#!/bin/bash
# Profiles as products (tests/integration/profiles.py): meta.profiles, newOrder's profile
# (default, unknown -> invalidProfile, too many names), price and lifetime per profile,
# free reissue only within the same profile, revenue per profile in acme-pay-admin. A private
# CA here (AcmePayMaxValidity off): the 365-day profile is not cut to the CA/B schedule.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayPricePerExtraName 200" \
    --directive 'AcmePayProfile short 7 300 "One-week test"' \
    --directive 'AcmePayProfile year 365 8000 "1-year DV" extra=500' \
    --directive "AcmePayDefaultProfile short" \
    --directive "AcmePayMaxValidity off"
export ACME_ADMIN="$REPO/out/acme-pay-admin"
/usr/bin/python3 "$IT_DIR/profiles.py" || { server_log 40; fail "profiles.py"; }
finish
