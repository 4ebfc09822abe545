#!/bin/sh
# gen-ca.sh DIR -- key material for a local mod_acme_pay (make run, integration tests).
#
# Writes into DIR (created if missing), keeping every file that already exists:
#   ca.pem, ca.key          the ISSUING CA: EC P-256, 10 years. AcmePayCA ca.pem ca.key.
#                           ACME certificates chain to it (openssl verify -CAfile ca.pem).
#   tls-root.pem, tls-root.key
#                           a SEPARATE root (EC P-256, 10 years) that only signs the
#                           listener certificate. Kept apart from the issuing CA so that a
#                           test which verifies an issued certificate against ca.pem can
#                           not pass by accident through the listener's trust, and so the
#                           listener certificate is an ordinary leaf, not signed by the CA
#                           whose issuance we test.
#   server.pem, server.key  the TLS certificate of the ACME listener (EC P-256, 825 days,
#                           SAN DNS:localhost, IP:127.0.0.1, serverAuth), signed by
#                           tls-root. server.pem holds the leaf only.
#   trust.pem               what a client must trust to talk to the listener
#                           (= tls-root.pem): REQUESTS_CA_BUNDLE, SSL_CERT_FILE,
#                           LEGO_CA_CERTIFICATES, curl --cacert, MDCACertificateFile.
# server.pem is re-made (from the existing tls-root) when it expires within a day.
# Private keys are mode 0600 (Apache and Pebble read them as root / the invoking user).
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

days_ca=3650
days_leaf=825

# self_signed NAME CN
self_signed() {
    if [ -s "$dir/$1.pem" ] && [ -s "$dir/$1.key" ]; then
        return 0
    fi
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$tmp/$1.key"
    openssl req -new -x509 -sha256 -days "$days_ca" -key "$tmp/$1.key" \
        -subj "/O=mod_acme_pay local/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$tmp/$1.pem"
    chmod 600 "$tmp/$1.key"
    chmod 644 "$tmp/$1.pem"
    mv "$tmp/$1.key" "$dir/$1.key"
    mv "$tmp/$1.pem" "$dir/$1.pem"
    echo "gen-ca: created $dir/$1.pem" >&2
}

self_signed ca "mod_acme_pay local issuing CA"
self_signed tls-root "mod_acme_pay local TLS root"

if ! [ -s "$dir/server.pem" ] || ! [ -s "$dir/server.key" ] ||
   ! openssl x509 -in "$dir/server.pem" -noout -checkend 86400 >/dev/null 2>&1 ||
   ! openssl verify -CAfile "$dir/tls-root.pem" "$dir/server.pem" >/dev/null 2>&1; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$tmp/server.key"
    openssl req -new -sha256 -key "$tmp/server.key" -subj "/CN=localhost" -out "$tmp/server.csr"
    cat > "$tmp/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
    openssl x509 -req -sha256 -days "$days_leaf" -in "$tmp/server.csr" \
        -CA "$dir/tls-root.pem" -CAkey "$dir/tls-root.key" -set_serial "0x$(openssl rand -hex 16)" \
        -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
    chmod 600 "$tmp/server.key"
    chmod 644 "$tmp/server.pem"
    mv "$tmp/server.key" "$dir/server.key"
    mv "$tmp/server.pem" "$dir/server.pem"
    echo "gen-ca: created $dir/server.pem" >&2
fi

if ! [ -s "$dir/trust.pem" ] || ! cmp -s "$dir/trust.pem" "$dir/tls-root.pem"; then
    cp "$dir/tls-root.pem" "$dir/trust.pem"
    chmod 644 "$dir/trust.pem"
fi
exit 0
