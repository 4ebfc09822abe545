#!/bin/bash
# AcmePayKeepAliveThread on the event MPM (as Debian ships Apache): once an ACME request has
# been served on a keep-alive connection, the connection's next requests are read by the
# same worker thread (mod_status shows it as "K"), instead of going back to the listener
# thread after each request -- but only while at
# least half of the child's threads are idle. One child of four threads: the first two
# client connections are held, the third is not (one thread of four idle when it asks);
# every connection keeps answering. With "AcmePayKeepAliveThread off" nothing is held.
# lego issues a certificate over a held connection.
# acp-test: db sqlite
. "$(dirname "$0")/lib.sh"
export IT_DIR

status=(--global "LoadModule status_module /usr/lib/apache2/modules/mod_status.so"
    --directive "<Location /server-status>" --directive "SetHandler server-status"
    --directive "Require all granted" --directive "</Location>")
# one child of four threads; a keep-alive connection idles for up to 20 s
small=(--mpm event --global "ServerLimit 1" --global "StartServers 1"
    --global "ThreadsPerChild 4" --global "MaxRequestWorkers 4" --global "MinSpareThreads 1"
    --global "MaxSpareThreads 5" --global "KeepAliveTimeout 20")
acme_setup "${small[@]}" "${status[@]}"

# held: connections opened one after the other, each sends two newNonces and stays open;
# after each, server-status (a connection of its own) is read. Prints one line per
# connection: how many threads hold a keep-alive connection ("K"), then "ok" when every connection answered a
# third newNonce afterwards (9 different nonces, none with "Connection: close").
held() {
    STATUS=https://localhost:$ACME_PORT/server-status /usr/bin/python3 - <<'PY'
import http.client, os, re, ssl, time, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
port = int(os.environ["ACME_DIRECTORY"].split(":")[2].split("/")[0])

def status():
    # the keep-alive state is recorded after the answer went out: wait for it to settle
    last = None
    for _ in range(20):
        with urllib.request.urlopen(os.environ["STATUS"] + "?auto", context=ctx, timeout=10) as r:
            t = r.read().decode()
        cur = re.search(r"^Scoreboard: (\S+)", t, re.M).group(1).count("K")
        if cur == last:
            return cur
        last = cur
        time.sleep(0.2)
    return last

conns, nonces = [], set()

def nonce(c):
    c.request("HEAD", "/acme/new-nonce")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    assert r.getheader("Connection", "").lower() != "close"
    nonces.add(r.getheader("Replay-Nonce"))

for i in range(3):
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    # the first answer marks the connection; it reaches a thread again with the second
    nonce(c)
    nonce(c)
    conns.append(c)
    print(status(), flush=True)
    time.sleep(0.5)  # the status request's thread back to idle before the next client
for c in conns:
    nonce(c)
    c.close()
assert len(nonces) == 9, nonces
print("ok")
PY
}

out=$(held) || fail "connections on the event MPM: $out"
log "threads holding a connection after each connection: $(echo $out)"
expect_eq "1|2|2|ok" "$(echo "$out" | paste -sd'|')" \
    "two connections held by their threads, the third handed back to the listener"

# lego (Go's keep-alive client) issues through held connections
name=$(unique_name keepalive)
LEGO_CA_CERTIFICATES=$ACME_TRUST run_client "$T/lego.log" lego_http_run "$name" &&
    check_cert "$T/lego/certificates/$name.crt" "$name"
check_db_issued 1
apache_stop "$T/httpd"

apache_again "$T/httpd2" "${small[@]}" "${status[@]}" --directive "AcmePayKeepAliveThread off" ||
    die "Apache with AcmePayKeepAliveThread off did not start"
out=$(held) || fail "connections with AcmePayKeepAliveThread off: $out"
log "threads holding a connection with the directive off: $(echo $out)"
expect_eq "0|0|0|ok" "$(echo "$out" | paste -sd'|')" "off: every connection back to the listener"
apache_stop "$T/httpd2"

expect_refused AcmePayKeepAliveThread "--directive|AcmePayKeepAliveThread sometimes"
finish
