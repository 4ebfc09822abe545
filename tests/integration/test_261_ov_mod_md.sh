#!/bin/bash
# OV profiles with mod_md (MDExternalAccountBinding, MDProfile): an organization that is not
# vetted yet is refused, mod_md's error log says why; after `acme-pay-admin org vet` mod_md's
# certificate carries the vetted organization (O, L, ST, C) and the OV policy OID; after
# `org revoke` mod_md is refused again. Nothing is charged for a refused order.
. "$(dirname "$0")/lib.sh"
acme_setup --no-http01-vhost --eab on --directive "AcmePayFreeBalance 0" \
    --directive 'AcmePayProfile dv90 90 300 "90-day DV"' \
    --directive 'AcmePayProfile ov1y 365 500 "1-year OV" ov' \
    --directive "AcmePayOVContactURL mailto:vetting@ca.test"
adm() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" \
    --key-file "$ACME_KEY_FILE" --actor otto "$@"; }
eab=$(adm --json eab create --label "mod_md host") || die "eab create failed"
kid=$(printf '%s' "$eab" | jq -r .kid)
hmac=$(printf '%s' "$eab" | jq -r .hmac_key)
holder=$(printf '%s' "$eab" | jq -r .holder)
adm credit "$holder" 20.00 --reason "prepaid" --yes > /dev/null || die "credit failed"
adm org create "$holder" --name "Müller & Söhne KG" --state Bayern --country DE > /dev/null ||
    die "org create"

# md_start NAME: a fresh mod_md (new store) for NAME with the OV profile over EAB
md_start() {
    rm -rf "$T/md"
    md_apache_start "$1" --global "MDExternalAccountBinding $kid $hmac" \
        --global "MDProfile ov1y" --global "MDProfileMandatory on" ||
        die "the mod_md Apache did not start"
}
# md_refused WHY: mod_md logs the refusal (bounded wait), with why and where to get vetted
md_refused() {
    local end=$((SECONDS + 60)) msg=
    while [ $SECONDS -lt $end ]; do
        msg=$(grep -F "organization-validated" "$md/logs/error.log" | head -n 1)
        [ -n "$msg" ] && break
        sleep 1
    done
    log "mod_md says: ${msg:0:400}"
    expect_contains "$msg" "userActionRequired" "mod_md log (problem type)"
    expect_contains "$msg" "$1" "mod_md log (why)"
    expect_contains "$msg" "mailto:vetting@ca.test" "mod_md log (where to get vetted)"
    apache_stop "$md"
}
debits() { db_query "SELECT COUNT(*) FROM ledger WHERE billing_id = '$holder' AND kind = 'debit'"; }

# ---- not vetted: refused, readable in mod_md's log
md_start "$(unique_name ov-md1)"
md_refused "has not been vetted yet"
expect_eq 0 "$(debits)" "debits while refused"

# ---- vetted: the certificate names the organization
adm org vet "$holder" --evidence "HRA 4711, Amtsgericht München" > /dev/null || fail "org vet"
name=$(unique_name ov-md2)
md_start "$name"
if md_wait_cert "$name" 120; then
    sleep 1
    check_cert "$pem" "$name"
    subj=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253 -nameopt -esc_msb)
    log "subject: $subj"
    expect_eq "subject=CN=$name,O=Müller & Söhne KG,ST=Bayern,C=DE" "$subj" "subject of mod_md's certificate"
    expect_contains "$(openssl x509 -in "$pem" -noout -ext certificatePolicies)" "Policy: 2.23.140.1.2.2" \
        "certificatePolicies of mod_md's certificate"
else
    fail "mod_md got no OV certificate after the vetting"
fi
apache_stop "$md"
expect_eq 1 "$(debits)" "one debit for the one OV certificate"
expect_eq ov1y "$(db_query "SELECT profile FROM orders WHERE status = 'valid'")" "the order's profile"

# ---- revoked: refused again
adm org revoke "$holder" --reason "evidence withdrawn" --yes > /dev/null || fail "org revoke"
md_start "$(unique_name ov-md3)"
md_refused "its vetting was revoked"
expect_eq 1 "$(debits)" "no debit after the revocation"
finish
