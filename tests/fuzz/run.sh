#!/bin/sh
# tests/fuzz/run.sh -- the libFuzzer targets (built by `make fuzz-build`, build/fuzz.mk).
#   sh tests/fuzz/run.sh replay NAME    run NAME once over every file of its committed corpus
#                                       tests/fuzz/corpus/NAME/ (what `make test` does, one
#                                       test per target); exit 0 = no crash, leak or UB
#   sh tests/fuzz/run.sh fuzz [NAME…]   fuzz each (default: all) for $FUZZ_RUNS executions
#                                       (10^6) from a copy of its corpus; new inputs stay in
#                                       out/fuzz/work/NAME, findings in out/fuzz/findings/;
#                                       prints executions, seconds and execs/s per target
# A finding becomes a regression input: copy it to tests/fuzz/corpus/NAME/regress-WHAT.
set -u
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
bin=$repo/out/fuzz
corpus=$repo/tests/fuzz/corpus
mode=${1:-}
[ $# -gt 0 ] && shift
ca=$(mktemp -d /tmp/acp-fuzz-ca.XXXXXX) || exit 1
trap 'rm -rf "$ca"' EXIT
sh build/gen-ca.sh "$ca" >/dev/null 2>&1 || { echo "gen-ca.sh failed"; exit 1; }
ACP_FUZZ_CA_DIR=$ca
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ACP_FUZZ_CA_DIR ASAN_OPTIONS UBSAN_OPTIONS

targets() {
    if [ $# -gt 0 ]; then echo "$@"; return; fi
    for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done
}

case $mode in
replay)
    name=${1:?replay NAME}
    [ -x "$bin/$name" ] || { echo "$bin/$name not built (make fuzz-build)"; exit 1; }
    set -- "$corpus/$name"/*
    [ -f "$1" ] || { echo "no corpus in $corpus/$name"; exit 1; }
    "$bin/$name" -rss_limit_mb=2048 -timeout=30 "$@" 2>&1
    ;;
fuzz)
    runs=${FUZZ_RUNS:-1000000}
    rc=0
    mkdir -p "$bin/findings" "$bin/work"
    printf '%-14s %10s %8s %10s %s\n' target execs seconds execs/s result
    for name in $(targets "$@"); do
        work=$bin/work/$name
        mkdir -p "$work"
        log=$bin/work/$name.log
        start=$(date +%s)
        "$bin/$name" -runs="$runs" -max_len=8192 -timeout=30 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$bin/findings/$name-" \
            "$work" "$corpus/$name" > "$log" 2>&1
        r=$?
        secs=$(($(date +%s) - start))
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        if [ $r -eq 0 ]; then res=ok; else res="FINDING (see $log)"; rc=1; fi
        printf '%-14s %10s %8s %10s %s\n' "$name" "${execs:-?}" "$secs" "${rate:-?}" "$res"
    done
    exit $rc
    ;;
*)
    echo "usage: $0 replay NAME | fuzz [NAME…]"
    exit 2
    ;;
esac
