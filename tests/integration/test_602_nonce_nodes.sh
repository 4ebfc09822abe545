#!/bin/bash
# Nonces spent in the database (AcmePayNonceStore database) across two nodes on one
# database (node 2 on 127.0.0.2 serves the same URLs, as behind a load balancer):
#   - a request replayed on the other node, or on the node that made its nonce: badNonce,
#     nothing written; 16 copies sent to both nodes at once: exactly one answered;
#   - after node 1 restarts: spent requests stay refused, unsent ones pass exactly once;
#   - pgsql: after PostgreSQL restarts (clean stop): the same; after it crashes
#     (immediate stop: it empties the unlogged table of spent nonces) every request of
#     before is refused, spent or not, the epoch moves on once, and new clients on both
#     nodes get through.
. "$(dirname "$0")/lib.sh"

if [ "$DB" = pgsql ]; then
    # a cluster of our own to stop and crash, never the suite's shared one
    ACME_PG_SHARED=0
    ACME_PG_PORT=$((ACME_PG_PORT + 62))
    export ACME_PG_SHARED ACME_PG_PORT
fi
nonce_db=(--directive "AcmePayNonceStore database")
acme_setup "${nonce_db[@]}"
node2_ip=127.0.0.2
second_node_start "$T/httpd2" "$node2_ip" "${nonce_db[@]}" || die "node 2 did not start"
export ACME_NODE2_IP=$node2_ip
py() { /usr/bin/python3 "$IT_DIR/nonce_nodes.py" "$@"; }
epoch() { db_query "SELECT value FROM settings WHERE name = 'nonce_epoch'"; }
fails_at() { server_log 20; tail -n 20 "$T/httpd2/logs/error.log"; fail "$1"; }

e0=$(epoch)
[ -n "$e0" ] && [ "$e0" -ge 1 ] || fail "no nonce epoch in the database ('$e0')"
py nodes || fails_at "replays between the nodes"

log "node 1 restarts"
py sign "$T/signed1.json" || fails_at "signing"
apache_stop "$T/httpd"
apache_resume "$T/httpd" || die "node 1 did not come back"
py replay "$T/signed1.json" unsent-ok || fails_at "replays after a node restart"
expect_eq "$e0" "$(epoch)" "a node restart keeps the epoch"

if [ "$DB" = pgsql ]; then
    log "PostgreSQL restarts (clean stop)"
    py sign "$T/signed2.json" || fails_at "signing"
    pg_cluster_stop "$T/pg"
    pg_cluster_resume "$T/pg" || die "PostgreSQL did not come back"
    py replay "$T/signed2.json" unsent-ok || fails_at "replays after a database restart"
    expect_eq "$e0" "$(epoch)" "a clean database restart keeps the epoch"

    log "PostgreSQL crashes (immediate stop)"
    py sign "$T/signed3.json" || fails_at "signing"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$T/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    pg_cluster_resume "$T/pg" || die "PostgreSQL did not come back"
    py replay "$T/signed3.json" unsent-bad || fails_at "replays after a database crash"
    py fresh || fails_at "new clients after a database crash"
    e1=$(epoch)
    expect_eq "$((e0 + 1))" "$e1" "a crash moves the epoch on exactly once"
    py replay "$T/signed3.json" unsent-bad || fails_at "replays in the new epoch"
fi
finish
