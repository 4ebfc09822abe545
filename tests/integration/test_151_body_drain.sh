#!/bin/bash
# A request body over AcmePayMaxBody (issue 16, finding 13): the server answers 413 at once
# and closes the connection instead of reading (draining) whatever the client keeps sending.
# An endless chunked upload (at 2 MB/s, so Apache's own 1 GiB LimitRequestBody would take
# minutes) and a huge Content-Length must both get their 413 within a few seconds.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayMaxBody 65536"

url=https://localhost:$ACME_PORT/acme/new-account
# upload CMD…: curl POST of an endless body; prints "<status> <seconds>"
upload() {
    timeout 20 curl -s --http1.1 --cacert "$ACME_TRUST" -o "$T/resp" -X POST \
        -H 'Content-Type: application/jose+json' --limit-rate 2M -w '%{http_code} %{time_total}' \
        "$@" "$url"
}

out=$(upload -T /dev/zero -H 'Transfer-Encoding: chunked')
log "endless chunked body: $out"
read -r code secs <<< "$out"
expect_eq 413 "$code" "status for an endless chunked body"
[ "${secs%%.*}" -lt 5 ] 2>/dev/null || fail "the 413 took ${secs:-forever} s (the body was drained)"
expect_contains "$(cat "$T/resp" 2>/dev/null)" "urn:ietf:params:acme:error:malformed" "413 problem"

# a Content-Length far over the limit: answered without reading the body
out=$(head -c 300000000 /dev/zero | upload -H "Content-Length: 300000000" -T -)
log "Content-Length 300 MB: $out"
read -r code secs <<< "$out"
expect_eq 413 "$code" "status for a 300 MB Content-Length"
[ "${secs%%.*}" -lt 5 ] 2>/dev/null || fail "the 413 took ${secs:-forever} s (the body was drained)"

# the server still serves (the child is not stuck draining)
code=$(curl -s --cacert "$ACME_TRUST" -o /dev/null -w '%{http_code}' --max-time 5 "$ACME_DIRECTORY")
expect_eq 200 "$code" "directory after the uploads"
finish
