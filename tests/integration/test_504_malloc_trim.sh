#!/bin/bash
# AcmePayMallocTrimThreshold: each child sets glibc's trim threshold (default 4 MB, the
# mmap threshold a quarter of it), so its threads keep their freed memory instead of
# giving 128 kB back to the kernel with madvise and faulting it in again on the next
# request (about twice per certificate on SQLite, each a TLB flush on every core:
# docs/PERFORMANCE.md, "SQLite without the driver's mutex"). Counted with strace on the
# children while clients register, order and read: with the default the children call
# madvise a few times less often than with "AcmePayMallocTrimThreshold 0" (glibc's own
# behaviour). A bad value or a use inside a virtual host is refused at configuration time.
# acp-test: db sqlite
. "$(dirname "$0")/lib.sh"
export IT_DIR

# madvise(MADV_DONTNEED) calls of the Apache children of run directory $1 while clients
# register and order
madvises() {
    local pids="" c st=$T/strace.$$.txt
    for c in $(pgrep -P "$(cat "$1/httpd.pid")"); do pids="$pids -p $c"; done
    [ -n "$pids" ] || { fail "no Apache children"; echo 0; return; }
    # shellcheck disable=SC2086
    strace -f -qq -e trace=madvise -e signal=none -o "$st" $pids &
    local spid=$!
    sleep 1
    /usr/bin/python3 - <<'PY' >&2 || fail "requests while counting madvise"
import os, sys
sys.path.insert(0, os.environ["IT_DIR"])
from acme_client import Acme, Key
for i in range(16):
    a = Acme()
    r = a.new_account(Key())
    assert r.status == 201, r
    for j in range(2):
        o = a.new_order(["trim%d-%d.example" % (i, j)])
        assert o.status == 201, o
        assert a.get(o.header("Location")).status == 200
PY
    sleep 1
    kill -INT "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    grep -c 'MADV_DONTNEED' "$st" || true
}

acme_setup
def=$(madvises "$T/httpd")
apache_stop "$T/httpd"
apache_again "$T/httpd2" --global "AcmePayMallocTrimThreshold 0" ||
    die "Apache with AcmePayMallocTrimThreshold 0 did not start"
off=$(madvises "$T/httpd2")
apache_stop "$T/httpd2"
log "madvise(MADV_DONTNEED) in the children: $def with the default, $off with glibc's threshold"
[ "$off" -ge 6 ] || fail "glibc's own threshold gave $off madvise calls: the workload shows nothing"
[ $((def * 3)) -le "$off" ] || fail "the default threshold gave $def madvise calls against $off"

# refused: not a number, over the maximum, inside a virtual host
expect_refused AcmePayMallocTrimThreshold "--global|AcmePayMallocTrimThreshold lots" \
    "--global|AcmePayMallocTrimThreshold 134217729" "--directive|AcmePayMallocTrimThreshold 1048576"
finish
