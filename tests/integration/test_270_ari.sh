#!/bin/bash
# Renewal information (RFC 9773) with the project's own client (tests/integration/ari.py):
# renewalInfo in the directory, the default window, 404/400, staff `renew` (window,
# explanationURL, note page), `replaces` (free when staff asked, charged otherwise, another
# holder's certificate, an already replaced one, no common name), revoked certificates.
# Price 1000 and no free-reissue window, so only staff-requested renewals are free.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayCurrency CNY" --directive "AcmePayPrice 1000" \
    --directive "AcmePayReissueWindow 0s" --directive "AcmePayARIRetryAfter 3600"
export ACME_ADMIN="$REPO/out/acme-pay-admin"
/usr/bin/python3 "$IT_DIR/ari.py" || { server_log 40; fail "ari.py"; }
finish
