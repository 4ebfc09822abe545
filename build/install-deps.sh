#!/bin/sh
# Installs every Debian package the build, `make run` and `make test` need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -eu
PKGS="build-essential pkg-config ca-certificates curl openssl
apache2 apache2-dev libapr1-dev libaprutil1-dev
libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql sqlite3
libjson-c-dev libqrencode-dev libssl-dev libcurl4-openssl-dev libc-ares-dev
libncurses-dev
postgresql postgresql-client
pebble certbot lego uacme dehydrated acme-tiny
tmux zbar-tools imagemagick librsvg2-bin wrk python3 jq strace haproxy
debhelper dpkg-dev devscripts lintian fakeroot ssl-cert
clang libfuzzer-14-dev nodejs
chromium fonts-wqy-microhei"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# anvil (a local Ethereum node for the chain watcher tests), from npm, in /opt/foundry-anvil
ANVIL_VERSION=1.7.1
ANVIL_DIR=/opt/foundry-anvil
anvil_ok() {
    [ -x "$ANVIL_DIR/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] &&
        [ -x "$ANVIL_DIR/bin/anvil" ]
}
install_anvil() {
    anvil_ok && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: anvil missing in $ANVIL_DIR (run as root)" >&2
        exit 1
    fi
    # Debian's nodejs comes without npm (NodeSource's carries its own): add it if absent
    command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm
    mkdir -p "$ANVIL_DIR/bin"
    npm install --silent --no-audit --no-fund --prefix "$ANVIL_DIR" \
        "@foundry-rs/anvil-linux-amd64@$ANVIL_VERSION"
    ln -sf "$ANVIL_DIR/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" "$ANVIL_DIR/bin/anvil"
    anvil_ok
}
# solc-js (the npm package solc, the compiler as WebAssembly inside the package: nothing is
# downloaded when it compiles) for the ERC-20 test token, in /opt/solc-js
SOLC_VERSION=0.8.28
SOLC_DIR=/opt/solc-js
solc_ok() {
    [ -f "$SOLC_DIR/node_modules/solc/soljson.js" ] &&
        grep -q "\"version\": \"$SOLC_VERSION\"" "$SOLC_DIR/node_modules/solc/package.json"
}
install_solc() {
    solc_ok && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: solc-js missing in $SOLC_DIR (run as root)" >&2
        exit 1
    fi
    command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm
    mkdir -p "$SOLC_DIR"
    npm install --silent --no-audit --no-fund --prefix "$SOLC_DIR" "solc@$SOLC_VERSION"
    solc_ok
}
# playwright-core (drives Debian's chromium in the invoice page tests), from npm, in
# /opt/playwright-core; it downloads no browser of its own
PLAYWRIGHT_VERSION=1.65.1
PLAYWRIGHT_DIR=/opt/playwright-core
playwright_ok() {
    [ -f "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json" ] &&
        grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" \
            "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json"
}
install_playwright() {
    playwright_ok && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: playwright-core missing in $PLAYWRIGHT_DIR (run as root)" >&2
        exit 1
    fi
    command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm
    mkdir -p "$PLAYWRIGHT_DIR"
    npm install --silent --no-audit --no-fund --prefix "$PLAYWRIGHT_DIR" \
        "playwright-core@$PLAYWRIGHT_VERSION"
    playwright_ok
}
if [ -z "$missing" ]; then
    install_anvil
    install_solc
    install_playwright
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages from starting system services (apache2, postgresql)
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends $missing
install_anvil
install_solc
install_playwright
