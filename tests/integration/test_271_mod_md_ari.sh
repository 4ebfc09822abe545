#!/bin/bash
# Staff renewals reach clients through ARI (RFC 9773): mod_md (MDRenewViaARI on, the
# default) obtains a certificate; staff run `acme-pay-admin renew SERIAL`; mod_md, polling
# renewalInfo (AcmePayARIRetryAfter 60, MDCheckInterval 5s), renews by itself within a
# bounded wait, sends `replaces`, and pays nothing although the price is 1000 and the
# free-reissue window is off: the ledger shows a free renewal naming the old serial.
. "$(dirname "$0")/lib.sh"
acme_setup --no-http01-vhost --directive "AcmePayPrice 1000" \
    --directive "AcmePayReissueWindow 0s" --directive "AcmePayARIRetryAfter 60"
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --actor dana)
name=$(unique_name md-ari)
# the first certificate is paid for: mod_md's account gets funds once it exists
md_apache_start "$name" --global "MDCheckInterval 5s" || die "the mod_md Apache did not start"
end=$((SECONDS + 60))
holder=
while [ $SECONDS -lt $end ] && [ -z "$holder" ]; do
    holder=$(db_query "SELECT billing_id FROM accounts LIMIT 1" 2>/dev/null)
    sleep 1
done
[ -n "$holder" ] || die "mod_md registered no account"
"${ADM[@]}" credit "$holder" 1000minor --reason "first certificate" --yes > /dev/null ||
    die "credit failed"
md_wait_cert "$name" 150 || { fail "mod_md got no certificate"; finish; }
serial=$(db_query "SELECT serial FROM certificates")
log "first certificate $serial"
expect_eq 0 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance after the paid first certificate"
# activate it (mod_md checks ARI for the certificate it serves)
sleep 1
apache2 -f "$md/httpd.conf" -k graceful > /dev/null 2>&1
sleep 3
"${ADM[@]}" renew "$serial" --reason "key rotation test" --by 5s > "$T/renew.out" 2>&1 ||
    { cat "$T/renew.out"; die "acme-pay-admin renew failed"; }
log "$(cat "$T/renew.out")"
end=$((SECONDS + 150))
renewed=
while [ $SECONDS -lt $end ]; do
    renewed=$(db_query "SELECT COUNT(*) FROM orders WHERE replaces IS NOT NULL AND status = 'valid'")
    [ "$renewed" = 1 ] && break
    sleep 2
done
if [ "$renewed" != 1 ]; then
    fail "mod_md did not renew within 150 s after acme-pay-admin renew"
    grep -iE "ari|renew" "$md/logs/error.log" | grep -v AH01882 | tail -n 20
    server_log 20
    finish
fi
log "mod_md renewed by itself (an order with replaces)"
expect_eq 2 "$(db_query "SELECT COUNT(*) FROM certificates")" "certificates"
expect_eq "reissue|0|free renewal replacing $serial" \
    "$(db_query "SELECT l.kind, l.delta, l.reason FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.replaces IS NOT NULL")" \
    "ledger row of the renewal"
expect_eq 0 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance after the renewal"
expect_eq "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" \
    "$(db_query "SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE billing_id = '$holder'")" "ledger sum = balance"
finish
