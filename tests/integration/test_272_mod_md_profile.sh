#!/bin/bash
# mod_md chooses a priced profile (MDProfile): its certificate has that profile's lifetime
# and the holder is charged that profile's price; with MDProfileMandatory on and a profile
# the server does not offer, mod_md fails with a clear message and nothing is charged.
. "$(dirname "$0")/lib.sh"
acme_setup --no-http01-vhost --directive "AcmePayPrice 1000" \
    --directive 'AcmePayProfile dv90 90 1000 "90-day DV"' \
    --directive 'AcmePayProfile week 7 250 "One week"'
ADM=("$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" --actor fay)

# fund mod_md's account as soon as it exists (the first finalize then pays)
fund_when_registered() {
    local end=$((SECONDS + 60)) h=
    while [ $SECONDS -lt $end ] && [ -z "$h" ]; do
        h=$(db_query "SELECT billing_id FROM accounts ORDER BY created LIMIT 1" 2>/dev/null)
        sleep 1
    done
    [ -n "$h" ] || return 1
    "${ADM[@]}" credit "$h" 5.00 --reason "test funds" --yes > /dev/null || return 1
    holder=$h
}

name=$(unique_name md-prof)
md_apache_start "$name" --global "MDProfile week" || die "the mod_md Apache did not start"
fund_when_registered || die "mod_md registered no account"
md_wait_cert "$name" 150 || { fail "mod_md got no certificate"; finish; }
sleep 1
check_cert "$pem" "$name"
days=$(( ($(date -d "$(openssl x509 -in "$pem" -noout -enddate | cut -d= -f2)" +%s) -
          $(date -d "$(openssl x509 -in "$pem" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
expect_eq 7 "$days" "lifetime of the 'week' certificate (days)"
expect_eq week "$(db_query "SELECT profile FROM orders WHERE status = 'valid'")" "the order's profile"
expect_eq 250 "$(db_query "SELECT -delta FROM ledger WHERE kind = 'debit'")" "charged the profile's price"
expect_eq 250 "$(db_query "SELECT balance FROM billing WHERE id = '$holder'")" "balance 500 - 250"
apache_stop "$md"

# a profile the server does not offer, mandatory: mod_md refuses, nothing is charged
name2=$(unique_name md-prof2)
rm -rf "$T/md"
md_apache_start "$name2" --global "MDProfile gold" --global "MDProfileMandatory on" ||
    die "the second mod_md Apache did not start"
end=$((SECONDS + 60))
msg=
while [ $SECONDS -lt $end ]; do
    msg=$(grep -iE "profile" "$md/logs/error.log" | grep -iE "gold" | head -n 3)
    [ -n "$msg" ] && break
    sleep 2
done
log "mod_md says: $msg"
[ -n "$msg" ] || fail "mod_md did not report the missing profile 'gold'"
expect_eq 1 "$(db_query "SELECT COUNT(*) FROM certificates")" "no certificate for the unknown profile"
expect_eq 1 "$(db_query "SELECT COUNT(*) FROM ledger WHERE kind = 'debit'")" "no charge for the unknown profile"
finish
