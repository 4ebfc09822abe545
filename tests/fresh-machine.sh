#!/bin/sh
# tests/fresh-machine.sh -- the README's `make run` and `make test` on a machine where the
# packages are not installed yet, simulated on this one (POSIX sh; one step of tests/run.sh).
#
# PATH is a directory of links to every command of this machine except the configuration
# tools the Makefile needs (apr-1-config, apu-1-config, apxs, apxs2, pkg-config). In their
# place stand wrappers that, until the dependency step has run, record the call as EARLY and
# fail like a missing command; the dependency step (DEPS_CMD) "installs" them by creating a
# marker file, after which they run the real tools. Then:
#   1. `make -n all` without the dependency step must record EARLY calls (the probe works);
#   2. `make -j2 run` must build out of the box (DEPS_CMD, the build, then RUN_CMD, which
#      checks the module and acme-pay-admin were built), with no EARLY call;
#   3. `make test` must run DEPS_CMD before TEST_CMD, with no EARLY call.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
tmp=$(mktemp -d /tmp/acp-fresh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES || true
hidden="apr-1-config apu-1-config apxs apxs2 pkg-config"
bin=$tmp/bin
mkdir -p "$bin"
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
        n=${f##*/}
        [ -x "$f" ] && [ ! -d "$f" ] || continue
        [ -e "$bin/$n" ] || [ -L "$bin/$n" ] && continue
        ln -s "$f" "$bin/$n"
    done
done
for t in $hidden; do
    real=$(command -v "$t") || { echo "fresh-machine: $t not installed here" >&2; exit 1; }
    rm -f "$bin/$t"
    cat > "$bin/$t" <<EOF
#!/bin/sh
if [ ! -e "$tmp/installed" ]; then
    echo "EARLY $t \$*" >> "$tmp/calls"
    echo "$t: not found" >&2
    exit 127
fi
exec "$real" "\$@"
EOF
    chmod +x "$bin/$t"
done
cat > "$tmp/deps.sh" <<EOF
#!/bin/sh
echo DEPS >> "$tmp/calls"
touch "$tmp/installed"
EOF
cat > "$tmp/run.sh" <<EOF
#!/bin/sh
echo RUN >> "$tmp/calls"
test -s "$tmp/out/mod_acme_pay.so" && test -x "$tmp/out/acme-pay-admin"
EOF
cat > "$tmp/test.sh" <<EOF
#!/bin/sh
echo TEST >> "$tmp/calls"
EOF
fail=0
m() { env PATH="$bin" make -C "$repo" --no-print-directory O="$tmp/out" \
    DEPS_CMD="sh $tmp/deps.sh" RUN_CMD="sh $tmp/run.sh" TEST_CMD="sh $tmp/test.sh" "$@"; }

# 1. the probe: building without the dependency step asks the missing tools
: > "$tmp/calls"
m -n all > "$tmp/probe.log" 2>&1 || true
if grep -q '^EARLY' "$tmp/calls"; then
    echo "ok probe: make -n all without deps asks $(grep -c '^EARLY' "$tmp/calls") times"
else
    echo "FAIL probe: make -n all without deps never asked the hidden tools"; fail=1
fi

# 2. make run, first time
: > "$tmp/calls"
rm -f "$tmp/installed"
if m -j2 run > "$tmp/run.log" 2>&1; then
    echo "ok make run built and ran"
else
    echo "FAIL make run"; tail -n 20 "$tmp/run.log"; fail=1
fi
if grep '^EARLY' "$tmp/calls"; then
    echo "FAIL make run asked a tool before the dependency step"; fail=1
fi
order=$(grep -v '^EARLY' "$tmp/calls" | tr '\n' ' ')
[ "$order" = "DEPS RUN " ] || { echo "FAIL make run order: $order"; fail=1; }

# 3. make test, first time (what TEST_CMD runs builds in its own make process)
: > "$tmp/calls"
rm -f "$tmp/installed"
if m test > "$tmp/test.log" 2>&1; then
    echo "ok make test ran"
else
    echo "FAIL make test"; tail -n 20 "$tmp/test.log"; fail=1
fi
if grep '^EARLY' "$tmp/calls"; then
    echo "FAIL make test asked a tool before the dependency step"; fail=1
fi
order=$(grep -v '^EARLY' "$tmp/calls" | tr '\n' ' ')
[ "$order" = "DEPS TEST " ] || { echo "FAIL make test order: $order"; fail=1; }
[ $fail = 0 ] && echo "fresh-machine: ok"
exit $fail
