#!/bin/bash
# OV profiles with certbot and lego over EAB (issue 17, items 1-2). The default profile is
# organization-validated: without an organization, or with one not yet vetted, newOrder is
# refused with userActionRequired, readable in each client's output, and nothing is charged.
# After `acme-pay-admin org vet` both clients get certificates whose subject is the vetted
# organization (O, L, ST, C; CN the first name) although their CSR says O=Evil, with the OV
# policy OID 2.23.140.1.2.2; a revoked vetting and one that has expired are refused again.
. "$(dirname "$0")/lib.sh"
contact=https://ca.test/ov-contact
acme_setup --eab on --directive "AcmePayFreeBalance 0" \
    --directive 'AcmePayProfile dv90 90 300 "90-day DV"' \
    --directive 'AcmePayProfile ov1y 365 500 "1-year OV" ov' \
    --directive "AcmePayDefaultProfile ov1y" \
    --directive "AcmePayOVContactURL $contact"
adm() { "$REPO/out/acme-pay-admin" --driver "$ACME_DB_DRIVER" --params "$ACME_DB_PARAMS" \
    --key-file "$ACME_KEY_FILE" --actor vera "$@"; }
eab=$(adm --json eab create --label "Widgets reseller") || die "eab create failed"
kid=$(printf '%s' "$eab" | jq -r .kid)
hmac=$(printf '%s' "$eab" | jq -r .hmac_key)
holder=$(printf '%s' "$eab" | jq -r .holder)
adm credit "$holder" 20.00 --reason "prepaid" --yes > /dev/null || die "credit failed"

cb=$T/certbot
certbot_run() { # certbot_run LOG NAME [certbot options]
    local logf=$1 name=$2
    shift 2
    REQUESTS_CA_BUNDLE=$ACME_TRUST certbot certonly --non-interactive --agree-tos \
        --register-unsafely-without-email --server "$ACME_DIRECTORY" \
        --eab-kid "$kid" --eab-hmac-key "$hmac" \
        --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
        --webroot --webroot-path "$ACME_WEBROOT" --no-random-sleep-on-renew \
        -d "$name" "$@" > "$logf" 2>&1
}
lego_run() { # lego_run LOG (-d NAME | --csr FILE)
    local logf=$1
    shift
    LEGO_CA_CERTIFICATES=$ACME_TRUST lego --server "$ACME_DIRECTORY" --accept-tos \
        --email admin@example.com --path "$T/lego" --eab --kid "$kid" --hmac "$hmac" \
        --http --http.webroot "$ACME_WEBROOT" "$@" run > "$logf" 2>&1
}
# evil_csr NAME OUT: a CSR (DER) for NAME whose subject claims another organization
evil_csr() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" \
        -subj "/C=XX/ST=Nowhere/L=Evil Town/O=Evil Corp/OU=Sales/CN=$1" \
        -addext "subjectAltName=DNS:$1" -outform DER -out "$2" 2>/dev/null || die "openssl req"
}
# expect_refused LOG CLIENT WHY: the client failed and its output shows the problem (certbot
# 2.1 prints no newOrder problem at all: it gets it as its challenge's error, "Detail:")
expect_refused() {
    local out
    out=$(cat "$1")
    if [ "$2" = certbot ]; then
        expect_contains "$out" "Detail: profile 'ov1y' issues" "$2 output (the challenge's error)"
    else
        expect_contains "$out" "urn:ietf:params:acme:error:userActionRequired" "$2 output (problem type)"
    fi
    expect_contains "$out" "organization-validated" "$2 output (the reason)"
    expect_contains "$out" "$3" "$2 output (why)"
    expect_contains "$out" "$contact" "$2 output (where to get vetted)"
}
# expect_ov_cert PEM NAME: subject from the vetting, never the CSR's; the OV policy
expect_ov_cert() {
    local subj pol
    subj=$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253 -nameopt -esc_msb 2>/dev/null)
    log "$1: $subj"
    expect_eq "subject=CN=$2,O=Widgets Ünited GmbH,L=Berlin,ST=Land Berlin,C=DE" "$subj" \
        "subject of $1"
    case $subj in *Evil*|*XX*|*Sales*) fail "the CSR's subject leaked into $1" ;; esac
    pol=$(openssl x509 -in "$1" -noout -ext certificatePolicies 2>/dev/null)
    expect_contains "$pol" "Policy: 2.23.140.1.2.2" "certificatePolicies of $1"
}
debits() { db_query "SELECT COUNT(*) FROM ledger WHERE billing_id = '$holder' AND kind = 'debit'"; }

# ---- no organization: refused in both clients, nothing charged
n1=$(unique_name ov-cb)
certbot_run "$T/cb-1.log" "$n1" && fail "certbot got an OV certificate without an organization"
expect_refused "$T/cb-1.log" certbot "no organization is registered"
n2=$(unique_name ov-lego)
lego_run "$T/lego-1.log" -d "$n2" && fail "lego got an OV certificate without an organization"
expect_refused "$T/lego-1.log" lego "no organization is registered"

# ---- registered, not vetted yet: still refused
adm org create "$holder" --name "Widgets Ünited GmbH" --locality Berlin --state "Land Berlin" \
    --country de --reason "customer onboarding" > "$T/org.log" 2>&1 || { cat "$T/org.log"; die "org create"; }
lego_run "$T/lego-2.log" -d "$n2" && fail "lego got an OV certificate before the vetting"
expect_refused "$T/lego-2.log" lego "has not been vetted yet"
expect_eq 0 "$(debits)" "debits while refused"
expect_eq 0 "$(db_query "SELECT COUNT(*) FROM orders WHERE status IN ('ready', 'processing', 'valid')")" \
    "orders that got past the refusal"
expect_eq 0 "$(db_query "SELECT COUNT(*) FROM certificates")" "certificates while refused"

# ---- vetted: certificates carry the organization, not the CSR's subject
adm org vet "$holder" --evidence "HRB 12345 B, Amtsgericht Charlottenburg" > "$T/vet.log" 2>&1 ||
    { cat "$T/vet.log"; die "org vet"; }
evil_csr "$n1" "$T/cb.csr"
mkdir -p "$T/cbout"
(cd "$T/cbout" && certbot_run "$T/cb-2.log" "$n1" --csr "$T/cb.csr" \
    --cert-path "$T/cbout/cert.pem" --fullchain-path "$T/cbout/fullchain.pem" \
    --chain-path "$T/cbout/chain.pem") ||
    { fail "certbot --csr after the vetting"; tail -n 20 "$T/cb-2.log"; server_log 20; }
check_cert "$T/cbout/fullchain.pem" "$n1" && expect_ov_cert "$T/cbout/cert.pem" "$n1"
evil_csr "$n2" "$T/lego.csr"
lego_run "$T/lego-3.log" --csr "$T/lego.csr" ||
    { fail "lego --csr after the vetting"; tail -n 20 "$T/lego-3.log"; server_log 20; }
check_cert "$T/lego/certificates/$n2.crt" "$n2" && expect_ov_cert "$T/lego/certificates/$n2.crt" "$n2"
expect_eq 2 "$(debits)" "debits for the two OV certificates"
org=$(adm --json org show "$holder" | jq -r .id)
expect_eq 2 "$(db_query "SELECT COUNT(*) FROM orders WHERE org_id = '$org' AND status = 'valid'")" \
    "valid orders naming the organization"

# ---- revoked: refused again
adm org revoke "$holder" --reason "registry shows the company dissolved" --yes > /dev/null ||
    fail "org revoke"
n3=$(unique_name ov-lego3)
lego_run "$T/lego-4.log" -d "$n3" && fail "lego got an OV certificate after the revocation"
expect_refused "$T/lego-4.log" lego "its vetting was revoked"

# ---- vetted again, but long ago: expired, refused again
adm org vet "$holder" --evidence "HRB 12345 B" --vetted-at 2025-01-01 > /dev/null || fail "org vet (backdated)"
expect_eq expired "$(adm --json org show "$holder" | jq -r .status)" "status after a backdated vetting"
certbot_run "$T/cb-3.log" "$(unique_name ov-cb3)" && fail "certbot got an OV certificate with an expired vetting"
expect_refused "$T/cb-3.log" certbot "its vetting expired on 2026-02-02"
expect_eq 2 "$(debits)" "no debit for refused orders"

# ---- the audit trail: every change, who and why
trail=$(adm --json org show "$holder" | jq -r '.audit[] | "\(.seq) \(.action) \(.actor) \(.reason)"')
expect_eq "0 create vera customer onboarding|1 vet vera null|2 revoke vera registry shows the company dissolved|3 vet vera null" \
    "$(printf '%s' "$trail" | paste -sd'|')" "audit trail"
finish
