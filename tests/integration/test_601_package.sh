#!/bin/bash
# acp-test: serial
# acp-test: timeout 900
# The Debian packages in the machine's own Apache, as a hosting company installs a module:
# `make deb` (dpkg-buildpackage + lintian), `make install DESTDIR=…` (apxs), install both
# .debs, `a2enmod acme_pay` (pulls in dbd and ssl), the sample site from sites-available
# adapted to loopback test ports and enabled with a2ensite, Apache started with apache2ctl
# (no systemd), a certificate issued by certbot (standalone http-01), the server-status
# section read on ?auto and compared with the database, acme-pay-admin from its package on
# the same database, then `apt-get purge`: no module or site left enabled, no process left
# running the module. Root only; it refuses to run when the system Apache is running or the
# packages, /etc/acme-pay or /var/lib/acme-pay already exist, and puts /etc/apache2 back
# exactly as it was, whatever happens (cleanup stack). Every wait is bounded.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root: it installs packages into the machine's Apache"
PIDFILE=/var/run/apache2/apache2.pid
if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    die "the system Apache (/etc/apache2) is running; refusing to touch it"
fi
for p in libapache2-mod-acme-pay acme-pay-admin; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        die "$p is installed already; refusing to purge someone's installation"
    fi
done
for d in /etc/acme-pay /var/lib/acme-pay; do
    [ -e "$d" ] && die "$d exists already; refusing"
done
STATUS_PORT=$((ACME_PORT + 1))
for port in "$ACME_PORT" "$STATUS_PORT" "$HTTP01_PORT"; do
    port_free 127.0.0.1 "$port" || die "port $port is busy"
done
make_tmpdir
had_group=0
getent group acme-pay >/dev/null && had_group=1

# ---- cleanup: registered before anything changes; runs in reverse order -------------------
cp -a /etc/apache2 "$T/etc-apache2"
restore() {
    # Apache first (bounded), then the packages, then /etc/apache2 exactly as it was
    if [ -s "$PIDFILE" ]; then
        local pid
        pid=$(cat "$PIDFILE")
        timeout 20 apache2ctl stop >/dev/null 2>&1
        wait_gone "$pid" 10 || kill -KILL -- "-$pid" "$pid" 2>/dev/null
        rm -f "$PIDFILE"
    fi
    timeout 120 env DEBIAN_FRONTEND=noninteractive dpkg --purge libapache2-mod-acme-pay \
        acme-pay-admin >/dev/null 2>&1
    if [ -d "$T/etc-apache2" ]; then
        rm -rf /etc/apache2 && cp -a "$T/etc-apache2" /etc/apache2
    fi
    rm -rf /etc/acme-pay /var/lib/acme-pay
    [ $had_group = 1 ] || groupdel acme-pay 2>/dev/null
}
at_exit restore

# ---- build ------------------------------------------------------------------------------------
# the .debs are built once per tree state (tests/ aside: the pgsql pass reuses the sqlite pass's)
DEB_OUT=$REPO/out/pkgtest
changes=$(ls "$DEB_OUT"/deb/*.changes 2>/dev/null | head -n 1)
if [ -z "$changes" ] || [ -n "$(cd "$REPO" && find . \( -path ./out -o -path ./run -o -path ./.git -o -path ./tests \) \
        -prune -o -type f -newer "$changes" -print -quit)" ]; then
    log "make deb"
    mkdir -p "$DEB_OUT"
    timeout 480 make -C "$REPO" --no-print-directory O="$DEB_OUT" deb > "$DEB_OUT/deb.log" 2>&1 ||
        { tail -n 40 "$DEB_OUT/deb.log"; rm -rf "$DEB_OUT/deb"; die "make deb failed (lintian included; log: $DEB_OUT/deb.log)"; }
    changes=$(ls "$DEB_OUT"/deb/*.changes | head -n 1)
else
    log "make deb: reusing $changes (tree unchanged)"
fi
mod_deb=$(ls "$DEB_OUT"/deb/libapache2-mod-acme-pay_*.deb)
adm_deb=$(ls "$DEB_OUT"/deb/acme-pay-admin_*.deb)
expect_contains "$(dpkg-deb -f "$mod_deb" Depends)" "libaprutil1-dbd-sqlite3 | libaprutil1-dbd-pgsql" \
    "module package Depends"
expect_contains "$(dpkg-deb -f "$mod_deb" Depends)" "apache2-api-" "module package Depends (Apache ABI)"
files=$(dpkg-deb -c "$mod_deb")
for f in ./usr/lib/apache2/modules/mod_acme_pay.so ./etc/apache2/mods-available/acme_pay.load \
        ./etc/apache2/mods-available/acme_pay.conf ./etc/apache2/sites-available/acme-pay.conf \
        ./usr/share/man/man5/mod_acme_pay.5.gz; do
    expect_contains "$files" "$f" "module package holds $f"
done
files=$(dpkg-deb -c "$adm_deb")
for f in ./usr/sbin/acme-pay-admin ./usr/share/man/man8/acme-pay-admin.8.gz; do
    expect_contains "$files" "$f" "admin package holds $f"
done

# ---- make install (apxs) into a staging directory ---------------------------------------------
timeout 120 make -C "$REPO" --no-print-directory DESTDIR="$T/stage" PREFIX=/usr/local install \
    > "$T/install.log" 2>&1 || { tail -n 20 "$T/install.log"; fail "make install"; }
for f in "$(apxs -q LIBEXECDIR)/mod_acme_pay.so" /usr/local/sbin/acme-pay-admin \
        /usr/local/share/man/man8/acme-pay-admin.8 /usr/local/share/man/man5/mod_acme_pay.5; do
    [ -s "$T/stage$f" ] || fail "make install: $f missing under DESTDIR"
done

# ---- install ------------------------------------------------------------------------------------
log "install $(basename "$mod_deb") $(basename "$adm_deb")"
timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=60 "$mod_deb" "$adm_deb" > "$T/apt.log" 2>&1 ||
    { tail -n 30 "$T/apt.log"; die "apt-get install of the packages failed"; }
expect_eq "www-data:acme-pay 2750" "$(stat -c '%U:%G %a' /var/lib/acme-pay)" "state directory"
expect_eq "root:www-data 750" "$(stat -c '%U:%G %a' /etc/acme-pay)" "/etc/acme-pay"
[ -e /etc/apache2/mods-enabled/acme_pay.load ] && fail "the module is enabled before a2enmod"
man -w acme-pay-admin >/dev/null 2>&1 || fail "man acme-pay-admin"
man -w 5 mod_acme_pay >/dev/null 2>&1 || fail "man 5 mod_acme_pay"
a2enmod -q acme_pay > "$T/a2enmod.log" 2>&1 || { cat "$T/a2enmod.log"; die "a2enmod acme_pay"; }
for m in acme_pay dbd ssl status; do
    [ -e "/etc/apache2/mods-enabled/$m.load" ] || fail "a2enmod acme_pay: $m not enabled"
done

# ---- the sample site, adapted to the test's loopback ports ------------------------------------
sh "$REPO/build/gen-ca.sh" /etc/acme-pay >/dev/null 2>&1 || die "gen-ca.sh /etc/acme-pay"
ACME_ISSUER_CA=/etc/acme-pay/ca.pem
ACME_TRUST=/etc/acme-pay/trust.pem
challtestsrv_start
if [ "$DB" = pgsql ]; then
    db_setup
else
    ACME_DB_DRIVER=sqlite3
    ACME_DB_PARAMS=/var/lib/acme-pay/acme.db
fi
site=/etc/apache2/sites-available/acme-pay.conf
extra="    AcmePayResolver 127.0.0.1:$DNS_PORT
    AcmePayHTTP01Port $HTTP01_PORT
    AcmePayFreeBalance 1000
    AcmePayValidationAllow 127.0.0.0/8"
if grep -q '^<VirtualHost' "$site"; then
    # the dedicated HTTPS vhost: move it to loopback, our names, CA, DNS and ports
    awk -v port="$ACME_PORT" -v extra="$extra" -v drv="$ACME_DB_DRIVER" -v prm="$ACME_DB_PARAMS" '
        /^<VirtualHost / { print "<VirtualHost 127.0.0.1:" port ">"; next }
        /^[[:space:]]*ServerName / { print "    ServerName localhost"; next }
        /^[[:space:]]*SSLCertificateFile / { print "    SSLCertificateFile /etc/acme-pay/server.pem"; next }
        /^[[:space:]]*SSLCertificateKeyFile / { print "    SSLCertificateKeyFile /etc/acme-pay/server.key"; next }
        /^[[:space:]]*DBDriver / { print "    DBDriver " drv; next }
        /^[[:space:]]*DBDParams / { print "    DBDParams \"" prm "\""; next }
        /^<\/VirtualHost>/ { print extra }
        { print }' "$site" > "$T/site" || die "adapting $site"
else
    # a server-wide sample: the same directives inside one loopback HTTPS vhost
    awk -v port="$ACME_PORT" -v extra="$extra" -v drv="$ACME_DB_DRIVER" -v prm="$ACME_DB_PARAMS" '
        BEGIN { print "<VirtualHost 127.0.0.1:" port ">"; print "    SSLEngine on"
                print "    ServerName localhost"
                print "    SSLCertificateFile /etc/acme-pay/server.pem"
                print "    SSLCertificateKeyFile /etc/acme-pay/server.key" }
        /^LoadModule / { next }
        /^DBDriver / { print "    DBDriver " drv; next }
        /^DBDParams / { print "    DBDParams \"" prm "\""; next }
        { print }
        END { print extra; print "</VirtualHost>" }' "$site" > "$T/site" || die "adapting $site"
fi
cat "$T/site" > "$site"
cat > /etc/apache2/ports.conf <<EOF
# test_601_package: loopback only
Listen 127.0.0.1:$ACME_PORT https
Listen 127.0.0.1:$STATUS_PORT
<VirtualHost 127.0.0.1:$STATUS_PORT>
    <Location /server-status>
        SetHandler server-status
        Require ip 127.0.0.1
    </Location>
</VirtualHost>
EOF
a2ensite -q acme-pay > "$T/a2ensite.log" 2>&1 || { cat "$T/a2ensite.log"; die "a2ensite acme-pay"; }
timeout 30 apache2ctl configtest > "$T/configtest.log" 2>&1 ||
    { cat "$T/configtest.log"; die "apache2ctl configtest"; }
timeout 30 apache2ctl start > "$T/start.log" 2>&1 ||
    { cat "$T/start.log"; tail -n 30 /var/log/apache2/error.log; die "apache2ctl start"; }
DIR=https://localhost:$ACME_PORT/acme/directory
end=$((SECONDS + 30))
until curl -sf --max-time 5 --cacert "$ACME_TRUST" "$DIR" 2>/dev/null | grep -q newNonce; do
    [ $SECONDS -lt $end ] || { tail -n 30 /var/log/apache2/error.log; die "no directory at $DIR"; }
    sleep 0.3
done
log "system Apache serves $DIR"

# ---- certbot --------------------------------------------------------------------------------------
name=$(unique_name pkg)
REQUESTS_CA_BUNDLE=$ACME_TRUST timeout 120 certbot certonly --non-interactive --agree-tos \
    --register-unsafely-without-email --server "$DIR" --config-dir "$T/certbot/config" \
    --work-dir "$T/certbot/work" --logs-dir "$T/certbot/logs" --standalone \
    --http-01-address 127.0.0.1 --http-01-port "$HTTP01_PORT" -d "$name" > "$T/certbot.log" 2>&1 ||
    { tail -n 30 "$T/certbot.log"; tail -n 20 /var/log/apache2/error.log; fail "certbot"; }
check_cert "$T/certbot/config/live/$name/fullchain.pem" "$name"

# ---- server-status?auto against the database ----------------------------------------------------
curl -sf --max-time 10 "http://127.0.0.1:$STATUS_PORT/server-status?auto" > "$T/auto" ||
    fail "server-status?auto"
key() { awk -F': ' -v k="$1" '$1 == k { print $2; f = 1 } END { exit !f }' "$T/auto"; }
expect_eq 1 "$(key AcmePayCertificatesIssued)" "status: certificates issued"
expect_eq "$(db_query "SELECT COUNT(*) FROM certificates")" "$(key AcmePayCertificatesIssued)" \
    "status = database: certificates"
expect_eq "$(db_query "SELECT COUNT(*) FROM orders WHERE status = 'valid'")" \
    "$(key AcmePayOrdersValid)" "status = database: valid orders"
now=$(date +%s)
expect_eq "$(db_query "SELECT COALESCE(-SUM(delta), 0) FROM ledger WHERE created >= $((now - now % 86400)) AND kind IN ('debit', 'refund')")" \
    "$(key AcmePayRevenueToday)" "status = database: revenue today"
expect_eq "$(db_query "SELECT COUNT(*) FROM jobs")" "$(key AcmePayJobsPending)" "status = database: jobs"

# ---- acme-pay-admin from its package, on the same database ---------------------------------------
d=$(runuser -u www-data -- /usr/sbin/acme-pay-admin --driver "$ACME_DB_DRIVER" \
    --params "$ACME_DB_PARAMS" --json dashboard) || fail "acme-pay-admin dashboard"
expect_eq 1 "$(jq .certificates <<<"$d")" "acme-pay-admin: certificates"

# ---- purge ----------------------------------------------------------------------------------------
timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=60 \
    libapache2-mod-acme-pay acme-pay-admin > "$T/purge.log" 2>&1 ||
    { tail -n 30 "$T/purge.log"; fail "apt-get purge"; }
for f in /etc/apache2/mods-enabled/acme_pay.load /etc/apache2/mods-enabled/acme_pay.conf \
        /etc/apache2/sites-enabled/acme-pay.conf /etc/apache2/mods-available/acme_pay.load \
        /etc/apache2/sites-available/acme-pay.conf /usr/lib/apache2/modules/mod_acme_pay.so \
        /usr/sbin/acme-pay-admin; do
    [ -e "$f" ] || [ -L "$f" ] && fail "after purge: $f is still there"
done
# no process keeps running the packaged module (a reload by the maintainer scripts drops it,
# otherwise Apache is stopped here, as an administrator would)
running() { grep -l /usr/lib/apache2/modules/mod_acme_pay.so /proc/[0-9]*/maps 2>/dev/null; }
if [ -n "$(running)" ]; then
    log "after purge, still mapped by: $(running | tr -d -c '0-9\n' | tr '\n' ' ') -- apache2ctl stop"
    timeout 20 apache2ctl stop >/dev/null 2>&1
fi
end=$((SECONDS + 15))
while [ -n "$(running)" ] && [ $SECONDS -lt $end ]; do sleep 0.3; done
[ -z "$(running)" ] || fail "after purge: processes still run the module: $(running)"
if [ -s "$PIDFILE" ]; then
    timeout 20 apache2ctl stop >/dev/null 2>&1
    wait_gone "$(cat "$PIDFILE")" 10 || fail "the system Apache did not stop"
fi
finish
