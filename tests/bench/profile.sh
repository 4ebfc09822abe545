#!/bin/sh
# tests/bench/profile.sh [perf|callgrind|nonce] -- where the module's time goes (not part of make bench).
#   perf      (default) perf record -e cpu-clock -g on the Apache children while acmebench runs
#             PROF_FLOWS (default 600) full flows, PROF_CONC (8) concurrent; report in out/bench/
#   callgrind apache2 -X (one process) under valgrind --tool=callgrind, PROF_FLOWS (default 30)
#             flows one at a time; callgrind_annotate output in out/bench/callgrind.txt
#   nonce     perf on the children while wrk hammers GET newNonce for 10 s
#             PROF_PERF_ARGS replaces perf record's event and call-graph options, e.g.
#             "-e syscalls:sys_enter_madvise --call-graph dwarf" (KEEP=1 keeps perf.data)
# Needs: linux-perf (perf) or valgrind -- neither is in build/install-deps.sh.
# Ports: BENCH_PORT_BASE (default 19 here, so it can run beside make bench's 18).
set -eu
mode=${1:-perf}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/out/bench
pb=${BENCH_PORT_BASE:-19}
dns_port=${pb}053; cts_port=${pb}055; http01_port=${pb}002; alpn_port=${pb}001; acme_port=${pb}500
mkdir -p "$out"
gen=$out/acmebench
[ -x "$gen" ] || { echo "build the generator first (make bench or tests/bench/run.sh)" >&2; exit 1; }

T=$(mktemp -d /tmp/acp-prof.XXXXXX)
chmod 755 "$T"
CTS_PID= APID= VG_PID=
cleanup() {
    [ -n "$APID" ] && { apache2 -f "$T/httpd.conf" -k stop >/dev/null 2>&1 || true; sleep 2; kill -KILL -- "-$APID" 2>/dev/null || true; }
    [ -n "$VG_PID" ] && { kill "$VG_PID" 2>/dev/null || true; sleep 3; kill -KILL "$VG_PID" 2>/dev/null || true; }
    [ -n "$CTS_PID" ] && kill "$CTS_PID" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

sh "$repo/build/gen-ca.sh" "$T/ca" 2>/dev/null
pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -management "127.0.0.1:$cts_port" \
    -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" > "$T/cts.log" 2>&1 &
CTS_PID=$!
mkdir -p "$T/httpd/db"
sh "$repo/build/apache-conf.sh" --run-dir "$T/httpd" --ca-dir "$T/ca" --module "$repo/out/mod_acme_pay.so" \
    --acme-port "$acme_port" --http01-vhost-port none --db-driver sqlite3 --db-params "$T/httpd/db/acme.db" \
    --resolver "127.0.0.1:$dns_port" --http01-port "$http01_port" --tlsalpn01-port "$alpn_port" \
    --log-level warn > "$T/httpd.conf"
dir=https://localhost:$acme_port/acme/directory
ready() {
    _i=0
    while [ $_i -lt "$1" ]; do
        curl -sf --max-time 5 --cacert "$T/ca/trust.pem" "$dir" >/dev/null 2>&1 && return 0
        sleep 0.5; _i=$((_i + 1))
    done
    return 1
}

case $mode in
syscalls)
    # strace -c on the children: how many fdatasync/pwrite/pread per issued certificate
    apache2 -f "$T/httpd.conf" -k start
    ready 60 || { tail "$T/httpd/logs/error.log"; exit 1; }
    APID=$(cat "$T/httpd/httpd.pid")
    "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --flows 20 --conc 4 --http01 "$http01_port" >/dev/null 2>&1
    set --
    for p in $(ps -o pid= --ppid "$APID"); do set -- "$@" -p "$p"; done
    strace -f -c -e trace=fdatasync,fsync,pwrite64,pread64,fcntl,openat "$@" -o "$out/strace-syscalls.txt" &
    ST=$!
    sleep 1
    "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --flows "${PROF_FLOWS:-100}" --conc "${PROF_CONC:-8}" \
        --http01 "$http01_port" 2>/dev/null
    kill -INT "$ST"; wait "$ST" || true
    cat "$out/strace-syscalls.txt"
    ;;
perf|nonce)
    apache2 -f "$T/httpd.conf" -k start
    ready 60 || { tail "$T/httpd/logs/error.log"; exit 1; }
    APID=$(cat "$T/httpd/httpd.pid")
    "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --flows 20 --conc 4 --http01 "$http01_port" >/dev/null 2>&1
    pids=$(ps -o pid= --ppid "$APID" | tr -d ' ' | paste -sd, -)
    perf record ${PROF_PERF_ARGS:--e cpu-clock -F 4000 -g} -o "$T/perf.data" -p "$pids,$APID" > "$T/perf.log" 2>&1 &
    PERF=$!
    sleep 1
    if [ "$mode" = perf ]; then
        "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --flows "${PROF_FLOWS:-600}" --conc "${PROF_CONC:-8}" \
            --http01 "$http01_port" --pid "$APID" 2>/dev/null
    else
        wrk -t2 -c32 -d10s "https://localhost:$acme_port/acme/new-nonce"
    fi
    kill -INT "$PERF"
    wait "$PERF" || true
    perf report -i "$T/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -25 > "$out/perf-$mode-dso.txt"
    perf report -i "$T/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -70 > "$out/perf-$mode-sym.txt"
    perf report -i "$T/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -400 > "$out/perf-$mode-inclusive.txt"
    echo "reports: $out/perf-$mode-{dso,sym,inclusive}.txt"
    ;;
callgrind)
    # -X: one process, one worker set; valgrind is ~50x slower, hence the long timeouts.
    # Apache as root would drop to www-data inside valgrind and lose its output file;
    # the profile is written when Apache exits (SIGTERM, clean shutdown).
    # so run the whole thing as www-data from the start (no setuid inside valgrind)
    mkdir -p "$T/cg"
    chown -R www-data "$T"
    runuser -u www-data -- valgrind --tool=callgrind --vgdb=no --callgrind-out-file="$T/cg/cg.out" \
        apache2 -X -f "$T/httpd.conf" > "$T/vg.log" 2>&1 &
    VG_PID=$!
    ready 120 || { tail "$T/vg.log" "$T/httpd/logs/error.log"; exit 1; }
    "$gen" --dir "$dir" --cacert "$T/ca/trust.pem" --flows "${PROF_FLOWS:-30}" --conc 1 \
        --http01 "$http01_port" --timeout 120 --pid "$VG_PID"
    kill -TERM "$VG_PID"
    _i=0
    while kill -0 "$VG_PID" 2>/dev/null && [ $_i -lt 120 ]; do sleep 0.5; _i=$((_i + 1)); done
    VG_PID=
    f=$T/cg/cg.out
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -150 > "$out/callgrind-inclusive.txt"
    callgrind_annotate "$f" 2>/dev/null | head -80 > "$out/callgrind-self.txt"
    cp "$f" "$out/callgrind.out"
    echo "reports: $out/callgrind-{inclusive,self}.txt"
    ;;
*) echo "usage: $0 [perf|callgrind|nonce|syscalls]" >&2; exit 2 ;;
esac
