#!/bin/sh
# lego "exec" DNS provider hook: publishes/removes the dns-01 TXT record in
# pebble-challtestsrv through its management API.
#   lego-dns-exec.sh present|cleanup FQDN VALUE      (FQDN: "_acme-challenge.name.")
# CHALLTESTSRV: management URL (default http://127.0.0.1:8055).
set -eu
mgmt=${CHALLTESTSRV:-http://127.0.0.1:8055}
action=$1
fqdn=${2%.}.
value=${3:-}
case $action in
present)
    curl -sSf --max-time 10 -X POST -d "{\"host\":\"$fqdn\",\"value\":\"$value\"}" "$mgmt/set-txt" ;;
cleanup)
    curl -sSf --max-time 10 -X POST -d "{\"host\":\"$fqdn\"}" "$mgmt/clear-txt" ;;
timeout)
    echo '{"timeout": 30, "interval": 1}' ;;
*)
    echo "lego-dns-exec.sh: unknown action $action" >&2; exit 2 ;;
esac
