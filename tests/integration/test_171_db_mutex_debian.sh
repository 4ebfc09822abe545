#!/bin/bash
# acp-test: serial
# The acme-pay-db write lock under Debian's stock `Mutex file:${APACHE_LOCK_DIR} default`
# (issue 16, finding 4): worker MPM, two children, many concurrent writers on new
# connections (tests/integration/mutex_contention.py). The module must not use fcntl for
# its lock (it says which mechanism it took at start-up), every answer must be right, and
# the error log must show no deadlock and no child that exited.
. "$(dirname "$0")/lib.sh"
make_lock_dir() { mkdir -p "$1" && chown www-data "$1"; }
lock_dir=/tmp/acp-lock-$$
make_lock_dir "$lock_dir"
at_exit "rm -rf '$lock_dir'"
# Debian's line; mod_ssl's session cache lock is moved to flock so the only fcntl locks
# left are the worker MPM's accept mutex and whatever the module takes (two fcntl locks
# taken by threads of several children can always meet the kernel's deadlock check:
# mod_ssl then logs AH02026 "Failed to acquire SSL session cache lock", httpd's own
# matter, see the README on the Mutex directive)
acme_setup --mpm worker --global "Mutex file:$lock_dir default" \
    --global "Mutex flock:$lock_dir ssl-cache" \
    --global "StartServers 2" --global "MinSpareThreads 50" --global "MaxSpareThreads 50"
errlog=$T/httpd/logs/error.log
nchildren=$(pgrep -P "$(cat "$T/httpd/httpd.pid")" | wc -l)
expect_eq 2 "$nchildren" "Apache children at start"
/usr/bin/python3 "$IT_DIR/mutex_contention.py" || { server_log 40; fail "mutex_contention.py"; }
if grep -E 'AH00273|AH00272|Resource deadlock|AH00052|AH00051|AH00045' "$errlog"; then
    fail "the error log shows a lock failure or a child that exited"
fi
# the module's lock (SQLite only; PostgreSQL needs none) is not fcntl whatever the
# default says
if [ "$ACME_DB_DRIVER" = sqlite3 ]; then
    grep -q 'ACP03200' "$errlog" || fail "no ACP03200 (the write lock's mechanism) in the error log"
    if grep "ACP03200" "$errlog" | grep -q "mechanism fcntl"; then
        fail "the write lock is fcntl"
    fi
    log "$(grep -m1 ACP03200 "$errlog" | sed 's/.*ACP03200: //')"
fi
# every child that started is still the same (none died and was replaced)
expect_eq "$nchildren" "$(pgrep -P "$(cat "$T/httpd/httpd.pid")" | wc -l)" "Apache children at the end"
finish
