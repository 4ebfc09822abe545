#!/bin/sh
# tests/run.sh -- the suite `make test` runs (POSIX sh). Every step counts as tests:
#   build          make -j2 all (-Werror)                                   1 test
#   build-asan     make -j2 O=out/asan SAN='-fsanitize=address,undefined …' unit   1 test
#   unit           every out/unit/test_* and out/asan/unit/test_*: its last line
#                  "N passed, N failed" is added (no such line or a non-zero exit with
#                  0 failed counts as 1 failure); test_*_pg run inside test_605 instead
#   check-style    sh build/check-style.sh, if present                     1 test
#   fuzz_*         every tests/fuzz/fuzz_* target replays tests/fuzz/corpus/<target>/
#                  (clang + libFuzzer, ASan/UBSan; tests/fuzz/run.sh)  1 test per target
#   fresh-machine  sh tests/fresh-machine.sh: `make run`/`make test` with the configuration
#                  tools absent until the dependency step                  1 test
#   integration    every tests/integration/test_NNN_*.sh (bash) and test_NNN_*.py (python3,
#                  run after lib.sh's acme_setup), once with DB=sqlite and once with
#                  DB=pgsql (one private PostgreSQL 15 cluster for all pgsql runs), in
#                  ACME_TEST_JOBS parallel slots (see step 6)
# then the last line is exactly "N passed, N failed"; exit status 1 if any failed.
#
# Environment:
#   TESTS="test_200 test_210"  run only the tests whose name contains one of the words
#                  (names: test_ca, asan/test_ca, check-style, test_200_certbot, …);
#                  the module build always runs, the ASan build only if an asan test
#                  is selected
#   DB=sqlite|pgsql            only that driver for the integration tests
#   ACME_SERVER=pebble         developer aid: no builds, no unit tests; the client tests
#                  (acme_setup --pebble-ok) against Pebble once (see tests/integration/
#                  lib.sh); the module-only tests exit 77 = skip; *.py tests skipped
#   TEST_TIMEOUT=900           seconds per test file / unit binary (a bound, not a speed target;
#                  a test file may set its own with a line "# acp-test: timeout SECONDS";
#                  "# acp-test: db pgsql" runs a file with that driver only)
#   ACME_PORT_OFFSET=N         shift every loopback port the integration tests use by N
#                  (two suites on one machine; see tests/integration/lib.sh); slot k of
#                  the parallel run adds k * 2000 more
#   ACME_TEST_JOBS=3           integration tests run side by side (1 = one after another)
# Logs of every test: out/test-logs/.
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
timeout_s=${TEST_TIMEOUT:-900}
logs=$repo/out/test-logs
server=${ACME_SERVER:-module}
TESTS=${TESTS:-}
passed=0
failed=0
mkdir -p "$logs"

tmp=$(mktemp -d /tmp/acp-suite.XXXXXX)
chmod 755 "$tmp"
pg_dir=
cleanup() {
    if [ -n "$pg_dir" ]; then
        bash -c '. "$1"; pg_cluster_stop "$2"' suite "$repo/tests/integration/lib.sh" "$pg_dir" \
            >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# selected NAME: is NAME picked by $TESTS?
selected() {
    [ -z "$TESTS" ] && return 0
    for w in $(printf '%s' "$TESTS" | tr ',' ' '); do
        case $1 in *"$w"*) return 0 ;; esac
    done
    return 1
}

# record OK|FAIL LABEL LOGFILE
record() {
    if [ "$1" = ok ]; then
        passed=$((passed + 1))
        echo "ok $2"
    else
        failed=$((failed + 1))
        echo "FAIL $2"
        [ -n "${3:-}" ] && [ -f "$3" ] && tail -n 40 "$3" | sed 's/^/    | /'
    fi
}

# step LABEL CMD…: one command = one test
step() {
    label=$1
    shift
    lf=$logs/$(printf '%s' "$label" | tr ' /' '__').log
    if "$@" > "$lf" 2>&1; then record ok "$label"; else record FAIL "$label" "$lf"; fi
}

# unit BINARY LABEL: add its "N passed, N failed"
unit() {
    lf=$logs/unit_$(printf '%s' "$2" | tr '/' '_').log
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        timeout -k 30 "$timeout_s" "$1" > "$lf" 2>&1
    rc=$?
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$lf" | tail -n 1)
    if [ -z "$last" ]; then
        failed=$((failed + 1))
        echo "FAIL $2 (exit $rc, no \"N passed, N failed\" line)"
        tail -n 30 "$lf" | sed 's/^/    | /'
        return
    fi
    p=${last%% passed*}
    f=${last#*passed, }
    f=${f%% failed*}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1     # crashed, sanitizer report, or timeout after printing the counts
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -eq 0 ]; then
        echo "ok $2 ($p passed)"
    else
        echo "FAIL $2 ($p passed, $f failed, exit $rc)"
        grep -E 'FAIL|ERROR|runtime error|Sanitizer' "$lf" | head -n 20 | sed 's/^/    | /'
    fi
}

# integration FILE DB: one test file = one test
integration() {
    f=$1
    db=$2
    base=$(basename "$f")
    name=${base%.*}
    num=${name#test_}
    num=${num%%_*}
    label="$num ${name#test_"$num"_} ($db)"
    [ "$server" = pebble ] && label="$num ${name#test_"$num"_} (pebble)"
    lf=$logs/it_${db}_$name.log
    # a file may ask for more time with a line "# acp-test: timeout SECONDS"
    t_s=$(sed -n 's/^# acp-test: timeout \([0-9][0-9]*\)$/\1/p' "$f" | head -n 1)
    t_s=${t_s:-$timeout_s}
    case $base in
    *.sh)
        DB=$db timeout -k 30 "$t_s" bash "$f" > "$lf" 2>&1 ;;
    *.py)
        if [ "$server" = pebble ]; then
            echo "skip $label (module-only protocol test)"
            return
        fi
        DB=$db timeout -k 30 "$t_s" bash -c '. "$1"; acme_setup; python3 "$2" || exit 1' \
            "$name" "$repo/tests/integration/lib.sh" "$f" > "$lf" 2>&1 ;;
    esac
    rc=$?
    if [ $rc -eq 0 ]; then
        record ok "$label"
    elif [ $rc -eq 77 ] && [ "$server" = pebble ]; then
        echo "skip $label (module-only)"
    else
        [ $rc -eq 124 ] && echo "TIMEOUT after ${t_s}s" >> "$lf"
        record FAIL "$label" "$lf"
    fi
}

if [ "$server" != pebble ]; then
    # (1) the build, warnings are errors (-Werror in the Makefile)
    step "build" make -j2 all
    # (2) the sanitizer build of the unit tests
    want_asan=0
    selected asan/ && want_asan=1
    for src in tests/unit/test_*.c; do
        [ -f "$src" ] && selected "asan/$(basename "$src" .c)" && want_asan=1
    done
    if [ $want_asan = 1 ]; then
        step "build-asan" make -j2 O=out/asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer' unit
    fi
    # (3) unit tests
    for b in out/unit/test_* out/asan/unit/test_*; do
        [ -f "$b" ] && [ -x "$b" ] || continue
        # test_*_pg need a PostgreSQL database: the integration test that makes one runs
        # them (test_605), plain and ASan; here they would check nothing
        case $b in *_pg) continue ;; esac
        case $b in out/asan/*) label=asan/$(basename "$b") ;; *) label=$(basename "$b") ;; esac
        selected "$label" || continue
        unit "$b" "$label"
    done
    # (4) style
    if [ -f build/check-style.sh ] && selected check-style; then
        step "check-style" sh build/check-style.sh
    fi
    # (4b) fuzz: each libFuzzer target (tests/fuzz/fuzz_*.c, built by build/fuzz.mk)
    #      replays its committed corpus once: one test per target
    for src in tests/fuzz/fuzz_*.c; do
        [ -f "$src" ] || continue
        name=$(basename "$src" .c)
        selected "$name" || continue
        step "$name" sh -c 'make -s -j2 fuzz-build && sh tests/fuzz/run.sh replay "$1"' sh "$name"
    done
    # (5) the README commands on a machine without the packages (simulated)
    if selected fresh-machine; then
        step "fresh-machine" sh tests/fresh-machine.sh
    fi
fi

# (6) integration: every (file, driver) pair is one job; ACME_TEST_JOBS slots (default 3)
# run them side by side, each slot on its own ports (ACME_PORT_OFFSET + slot * 2000) and
# all pgsql jobs in one PostgreSQL cluster. A test file with a line "# acp-test: serial"
# runs after the parallel part, alone (timing or machine-wide tests). Results are printed
# and counted in job order.
it_files=$(ls tests/integration/test_[0-9]*.sh tests/integration/test_[0-9]*.py 2>/dev/null |
    sort -t_ -k2,2n)
todo=
for f in $it_files; do
    n=$(basename "$f")
    selected "${n%.*}" && todo="$todo $f"
done
if [ -n "$todo" ]; then
    if [ "$server" = pebble ]; then
        dbs=sqlite
    else
        dbs=${DB:-sqlite pgsql}
    fi
    jobs_n=${ACME_TEST_JOBS:-3}
    [ "$server" = pebble ] && jobs_n=1
    base_off=${ACME_PORT_OFFSET:-0}
    q=$tmp/queue
    mkdir -p "$q/res"
    : > "$q/par"
    : > "$q/ser"
    for db in $dbs; do
        for f in $todo; do
            # a file with a line "# acp-test: db pgsql" runs with that driver only
            only=$(sed -n 's/^# acp-test: db \([a-z0-9]*\)$/\1/p' "$f" | head -n 1)
            [ -z "$only" ] || [ "$only" = "$db" ] || continue
            if grep -q '^# acp-test: serial' "$f"; then
                echo "$f $db" >> "$q/ser"
            else
                echo "$f $db" >> "$q/par"
            fi
        done
    done
    case " $dbs " in
    *" pgsql "*)
        if [ "$server" != pebble ]; then
            pg_dir=$tmp/pg
            mkdir -p "$pg_dir"
            ACME_PG_PORT=$((15432 + base_off))
            export ACME_PG_PORT
            if bash -c '. "$1"; pg_cluster_start "$2"' suite \
                    "$repo/tests/integration/lib.sh" "$pg_dir" > "$logs/postgres.log" 2>&1; then
                ACME_PG_SHARED=1 ACME_PG_SOCKDIR=$pg_dir/sock
                export ACME_PG_SHARED ACME_PG_SOCKDIR
            else
                record FAIL "postgresql cluster for the pgsql pass" "$logs/postgres.log"
                grep -v ' pgsql$' "$q/par" > "$q/par.x"; mv "$q/par.x" "$q/par"
                grep -v ' pgsql$' "$q/ser" > "$q/ser.x"; mv "$q/ser.x" "$q/ser"
            fi
        fi ;;
    esac
    # run_queue LIST SLOT: take the next line of LIST (a counter under flock) until none is left
    run_queue() {
        while :; do
            n=$(flock "$1.lock" sh -c 'n=$(cat "$1.next" 2>/dev/null || echo 1)
                echo $((n + 1)) > "$1.next"; echo "$n"' x "$1")
            line=$(sed -n "${n}p" "$1")
            [ -n "$line" ] || break
            # shellcheck disable=SC2086
            set -- "$1" "$2" $line
            (
                passed=0 failed=0
                ACME_PORT_OFFSET=$((base_off + $2 * 2000))
                export ACME_PORT_OFFSET
                integration "$3" "$4" > "$q/res/$(basename "$1").$(printf '%05d' "$n")" 2>&1
            )
            set -- "$1" "$2"
        done
    }
    slot=0
    while [ $slot -lt "$jobs_n" ]; do
        run_queue "$q/par" "$slot" &
        slot=$((slot + 1))
    done
    wait
    run_queue "$q/ser" 0
    for r in "$q"/res/par.* "$q"/res/ser.*; do
        [ -f "$r" ] || continue
        cat "$r"
        while read -r w _; do
            case $w in ok) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; esac
        done < "$r"
    done
    if [ -n "$pg_dir" ]; then
        bash -c '. "$1"; pg_cluster_stop "$2"' suite "$repo/tests/integration/lib.sh" "$pg_dir" \
            >/dev/null 2>&1
        pg_dir=
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
