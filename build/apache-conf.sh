#!/bin/sh
# apache-conf.sh [options] -- print a complete standalone Apache config for
#   apache2 -f FILE [-k start|stop] / apache2 -f FILE -t
# Every path is absolute; nothing from /etc/apache2 is read. Used by build/run.sh
# (make run) and tests/integration/lib.sh.
#
# Options (each also settable by the environment variable in brackets; flags win):
#   --run-dir DIR        [ACP_RUN_DIR]  required. PidFile, logs/, Mutex flock:, runtime/.
#   --ca-dir DIR         [ACP_CA_DIR]   gen-ca.sh output: ca.pem ca.key server.pem server.key
#                                       (default RUN_DIR/ca)
#   --module PATH        [ACP_MODULE]   mod_acme_pay.so (default <repo>/out/mod_acme_pay.so)
#   --no-module          [ACP_NO_MODULE=1] leave out LoadModule acme_pay_module and the
#                                       module's block: validates the rest of the config
#                                       (apache2 -t) before the module exists; the ACME
#                                       vhost then serves nothing but TLS.
#   --no-acme            [ACP_NO_ACME=1] leave out the ACME vhost entirely (module too):
#                                       only the http-01 webroot vhost (Pebble mode).
#   --db-driver sqlite3|pgsql [ACP_DB_DRIVER] default sqlite3
#   --db-params STR      [ACP_DB_PARAMS] default RUN_DIR/db/acme.db (sqlite3); for pgsql
#                                       "host=127.0.0.1 port=… dbname=… user=… password=…"
#   --listen-ip IP       [ACP_LISTEN_IP] default 127.0.0.1
#   --acme-port N        [ACP_ACME_PORT] default 14000 (https, SSLEngine on)
#   --plain              [ACP_PLAIN=1] the ACME vhost speaks plain HTTP (TLS ends at a load
#                                       balancer in front; give it "ServerName https://..."
#                                       and "UseCanonicalName On" with --directive)
#   --http01-vhost-port N|none [ACP_HTTP01_VHOST_PORT] plain vhost serving the webroot, so
#                                       webroot-mode clients can answer http-01; default 5002
#   --webroot DIR        [ACP_WEBROOT]  default RUN_DIR/webroot
#   --resolver IP:PORT|none   [ACP_RESOLVER]      AcmePayResolver, default 127.0.0.1:8053
#   --http01-port N|none      [ACP_HTTP01_PORT]   AcmePayHTTP01Port, default 5002
#   --tlsalpn01-port N|none   [ACP_TLSALPN01_PORT] AcmePayTLSALPN01Port, default 5001
#   --eab on|off              [ACP_EAB]           AcmePayEABRequired, default off
#   --validation-allow "CIDR…"|none [ACP_VALIDATION_ALLOW] AcmePayValidationAllow, default
#                             "127.0.0.0/8 ::1": the test bed answers challenges on loopback,
#                             which the module otherwise refuses (special-purpose address)
#   --tos URL|none            [ACP_TOS]           default https://example.com/tos
#   --key-file PATH|none      [ACP_KEY_FILE]      AcmePayKeyFile, default RUN_DIR/secrets.key
#                                       (the module creates it, mode 0640, at first start)
#   --log-level LEVEL    [ACP_LOG_LEVEL] default "warn acme_pay:debug" (quote it)
#   --mpm worker|event|prefork [ACP_MPM] default worker (see the MPM block below)
#   --directive LINE     (repeatable)   appended inside the ACME vhost, after the module's
#                                       block (so it can override a directive given there)
#   --global LINE        (repeatable)   appended at server level, at the end of the file
#   --include FILE       (repeatable)   "Include FILE" at the end of the ACME vhost
#   [ACP_EXTRA]   newline-separated lines, like --directive
#   [ACP_GLOBAL]  newline-separated lines, like --global
# Side effect: creates RUN_DIR/logs, RUN_DIR/runtime, WEBROOT/.well-known/acme-challenge
# and the SQLite database's directory when missing (the module chowns the database and
# its directory to www-data at start-up).
# "none" omits the directive (module default: system resolver, port 80, port 443, …).
# The module's directives sit inside the ACME <VirtualHost> (the module runs one set of
# workers per child for the first configured server; the webroot vhost stays plain).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

run_dir=${ACP_RUN_DIR:-}
ca_dir=${ACP_CA_DIR:-}
module=${ACP_MODULE:-$repo/out/mod_acme_pay.so}
no_module=${ACP_NO_MODULE:-0}
no_acme=${ACP_NO_ACME:-0}
db_driver=${ACP_DB_DRIVER:-sqlite3}
db_params=${ACP_DB_PARAMS:-}
listen_ip=${ACP_LISTEN_IP:-127.0.0.1}
acme_port=${ACP_ACME_PORT:-14000}
vhost_port=${ACP_HTTP01_VHOST_PORT:-5002}
webroot=${ACP_WEBROOT:-}
resolver=${ACP_RESOLVER:-127.0.0.1:8053}
http01_port=${ACP_HTTP01_PORT:-5002}
tlsalpn01_port=${ACP_TLSALPN01_PORT:-5001}
eab=${ACP_EAB:-off}
va_allow=${ACP_VALIDATION_ALLOW:-127.0.0.0/8 ::1}
tos=${ACP_TOS:-https://example.com/tos}
key_file=${ACP_KEY_FILE:-}
log_level=${ACP_LOG_LEVEL:-warn acme_pay:debug}
mpm=${ACP_MPM:-worker}
plain=${ACP_PLAIN:-0}
extra=${ACP_EXTRA:-}
global=${ACP_GLOBAL:-}
nl='
'

usage() { sed -n "2,/^set -eu/{/^#/p}" "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
need() { [ $# -ge 2 ] || { echo "apache-conf.sh: $1 needs a value" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
    case $1 in
    --run-dir) need "$@"; run_dir=$2; shift ;;
    --ca-dir) need "$@"; ca_dir=$2; shift ;;
    --module) need "$@"; module=$2; shift ;;
    --no-module) no_module=1 ;;
    --no-acme) no_acme=1 ;;
    --db-driver) need "$@"; db_driver=$2; shift ;;
    --db-params) need "$@"; db_params=$2; shift ;;
    --listen-ip) need "$@"; listen_ip=$2; shift ;;
    --acme-port) need "$@"; acme_port=$2; shift ;;
    --plain) plain=1 ;;
    --http01-vhost-port) need "$@"; vhost_port=$2; shift ;;
    --webroot) need "$@"; webroot=$2; shift ;;
    --resolver) need "$@"; resolver=$2; shift ;;
    --http01-port) need "$@"; http01_port=$2; shift ;;
    --tlsalpn01-port) need "$@"; tlsalpn01_port=$2; shift ;;
    --eab) need "$@"; eab=$2; shift ;;
    --validation-allow) need "$@"; va_allow=$2; shift ;;
    --tos) need "$@"; tos=$2; shift ;;
    --key-file) need "$@"; key_file=$2; shift ;;
    --log-level) need "$@"; log_level=$2; shift ;;
    --mpm) need "$@"; mpm=$2; shift ;;
    --directive) need "$@"; extra=$extra$nl$2; shift ;;
    --global) need "$@"; global=$global$nl$2; shift ;;
    --include) need "$@"; extra="$extra${nl}Include \"$2\""; shift ;;
    -h|--help) usage ;;
    *) echo "apache-conf.sh: unknown option $1" >&2; usage ;;
    esac
    shift
done

[ -n "$run_dir" ] || { echo "apache-conf.sh: --run-dir is required" >&2; exit 2; }
case $run_dir in /*) ;; *) run_dir=$(pwd)/$run_dir ;; esac
ca_dir=${ca_dir:-$run_dir/ca}
webroot=${webroot:-$run_dir/webroot}
db_params=${db_params:-$run_dir/db/acme.db}
key_file=${key_file:-$run_dir/secrets.key}
case $db_driver in
sqlite3|pgsql) ;;
sqlite) db_driver=sqlite3 ;;
*) echo "apache-conf.sh: --db-driver must be sqlite3 or pgsql" >&2; exit 2 ;;
esac
[ "$no_acme" = 1 ] && no_module=1
case $mpm in
event|worker|prefork) ;;
*) echo "apache-conf.sh: --mpm must be worker, event or prefork" >&2; exit 2 ;;
esac

# The directories the config names below RUN_DIR must exist before Apache starts.
mkdir -p "$run_dir/logs" "$run_dir/runtime" "$webroot/.well-known/acme-challenge"
[ "$db_driver" = sqlite3 ] && mkdir -p "$(dirname "$db_params")"

mods=/usr/lib/apache2/modules

cat <<EOF
# Generated by build/apache-conf.sh -- do not edit, re-generate.
ServerRoot "$run_dir"
ServerName localhost
PidFile "$run_dir/httpd.pid"
DefaultRuntimeDir "$run_dir/runtime"
# flock, not file: (fcntl): two fcntl mutexes taken by threads of several children (the
# worker MPM's accept mutex, mod_ssl's session cache) can meet the kernel's per-process
# deadlock check (EDEADLK; README, Security bounds). The module never uses fcntl for its own.
Mutex flock:$run_dir/runtime default
ErrorLog "$run_dir/logs/error.log"
LogFormat "%h %l %u %t \"%r\" %>s %b %{ms}T" acp
CustomLog "$run_dir/logs/access.log" acp
User www-data
Group www-data
Timeout 60
KeepAlive On
# a new connection costs a TLS handshake; ACME clients and load balancers reuse theirs
MaxKeepAliveRequests 1000

LoadModule mpm_${mpm}_module $mods/mod_mpm_${mpm}.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
EOF
[ "$no_module" = 1 ] || echo "LoadModule acme_pay_module $module"
# per-module levels only for modules that are loaded (else: "Cannot find module")
if [ "$no_module" = 1 ]; then
    log_level=$(printf '%s\n' "$log_level" | tr ' ' '\n' | grep -v '^acme_pay:' | tr '\n' ' ')
fi
echo "LogLevel $log_level"

# MPM: worker by default. Short TLS requests (newNonce, directory) run ~1.3x faster than
# with event: event hands every keep-alive request from its listener thread to a worker
# (epoll_ctl + futex wake-up + context switch), worker reads the next request on the same
# thread. The cost: an idle keep-alive connection holds a thread until KeepAliveTimeout
# (5 s), so at most MaxRequestWorkers (50) connections, idle or not, are served at once;
# raise ThreadsPerChild for many concurrent clients, or use --mpm event. prefork is a
# poor fit: the module runs background threads and a mod_dbd pool in every child.
cat <<EOF

<IfModule !mpm_prefork_module>
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 10
MaxSpareThreads 50
</IfModule>

TypesConfig /etc/mime.types
DirectoryIndex disabled
SSLRandomSeed startup builtin
SSLSessionCache "shmcb:$run_dir/runtime/ssl_scache(512000)"
SSLProtocol -all +TLSv1.2 +TLSv1.3

<Directory />
    AllowOverride None
    Require all denied
</Directory>
EOF

if [ "$vhost_port" != none ]; then
    cat <<EOF

# http-01 for webroot-mode clients: $webroot/.well-known/acme-challenge/<token>
Listen $listen_ip:$vhost_port http
<VirtualHost $listen_ip:$vhost_port>
    DocumentRoot "$webroot"
    <Directory "$webroot">
        Require all granted
        Options None
    </Directory>
    <Location /.well-known/acme-challenge/>
        ForceType text/plain
    </Location>
</VirtualHost>
EOF
fi

if [ "$no_acme" != 1 ]; then
    cat <<EOF

# The ACME server: https://localhost:$acme_port/acme/directory
EOF
    if [ "$plain" = 1 ]; then
        cat <<EOF
Listen $listen_ip:$acme_port http
<VirtualHost $listen_ip:$acme_port>
    ServerName localhost
    DocumentRoot "$run_dir/runtime"
EOF
    else
        cat <<EOF
Listen $listen_ip:$acme_port https
<VirtualHost $listen_ip:$acme_port>
    ServerName localhost
    DocumentRoot "$run_dir/runtime"
    SSLEngine on
    SSLCertificateFile "$ca_dir/server.pem"
    SSLCertificateKeyFile "$ca_dir/server.key"
EOF
    fi
    if [ "$no_module" != 1 ]; then
        echo
        echo "    DBDriver $db_driver"
        echo "    DBDParams \"$db_params\""
        # keep connections: a new one re-prepares the whole statement catalogue
        echo "    DBDMin 2"
        echo "    DBDKeep 16"
        echo "    DBDMax 25"
        cat <<EOF
    <Location /acme>
        SetHandler acme-pay
        # the server-wide <Directory /> denies everything (no DocumentRoot is served here)
        Require all granted
    </Location>
    AcmePayCA "$ca_dir/ca.pem" "$ca_dir/ca.key"
EOF
        [ "$resolver" = none ] || echo "    AcmePayResolver $resolver"
        [ "$http01_port" = none ] || echo "    AcmePayHTTP01Port $http01_port"
        [ "$tlsalpn01_port" = none ] || echo "    AcmePayTLSALPN01Port $tlsalpn01_port"
        echo "    AcmePayEABRequired $eab"
        [ "$va_allow" = none ] || echo "    AcmePayValidationAllow $va_allow"
        [ "$tos" = none ] || echo "    AcmePayTermsOfService $tos"
        [ "$key_file" = none ] || echo "    AcmePayKeyFile \"$key_file\""
        # every client of the tests, make run and make bench comes from 127.0.0.1
        echo "    AcmePayLimitAccountsPerAddress off"
    fi
    if [ -n "$extra" ]; then
        echo "    # extra directives"
        printf '%s\n' "$extra" | sed '/^[[:space:]]*$/d; s/^/    /'
    fi
    echo "</VirtualHost>"
fi

if [ -n "$global" ]; then
    echo
    echo "# extra server-level directives"
    printf '%s\n' "$global" | sed '/^[[:space:]]*$/d'
fi
