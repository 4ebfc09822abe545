#!/bin/bash
# Apache's own ACME client, mod_md, in a SECOND Apache (from build/apache-conf.sh
# --no-acme plus mod_md directives): MDomain NAME on an SSL vhost (127.0.0.1:5443), mod_md
# answers http-01 itself on 127.0.0.1:5002 (MDPortMap http:5002), so the server under test
# runs without its webroot vhost. Waits (<= 120 s) for the certificate in mod_md's store,
# then a graceful restart must make the vhost serve it.
# Trust: MDCACertificateFile $ACME_TRUST.
. "$(dirname "$0")/lib.sh"
acme_setup --pebble-ok --no-http01-vhost
name=$(unique_name mod-md)
md_apache_start "$name" || die "the mod_md Apache did not start"

md_wait_cert "$name" 120 || { fail "mod_md got no certificate within 120 s"; finish; }
log "mod_md stored $pem"
sleep 1     # mod_md writes the staging set in several files; let it finish
check_cert "$pem" "$name"
cp "$pem" "$T/md-cert.pem"     # staging/ goes away on activation
check_db_issued 1

# activate: graceful restart moves staging -> domains, the vhost then serves it
apache2 -f "$md/httpd.conf" -k graceful > /dev/null 2>&1
served=
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
    served=$(openssl s_client -connect "127.0.0.1:$MD_TLS_PORT" -servername "$name" </dev/null 2>/dev/null |
        openssl x509 2>/dev/null)
    if [ -n "$served" ] && [ "$(printf '%s\n' "$served" > "$T/served.pem"; cert_sans "$T/served.pem")" = "DNS:$name" ] &&
       openssl verify -CAfile "$ACME_ISSUER_CA" -untrusted "$T/md-cert.pem" "$T/served.pem" >/dev/null 2>&1; then
        break
    fi
    served=
    sleep 1
done
[ -n "$served" ] && log "after a graceful restart the vhost serves it"
[ -n "$served" ] || fail "after a graceful restart 127.0.0.1:$MD_TLS_PORT does not serve the new certificate for $name"
finish
