#!/bin/bash
# RFC 8555 protocol and negative cases (tests/integration/protocol.py).
. "$(dirname "$0")/lib.sh"
acme_setup
/usr/bin/python3 "$IT_DIR/protocol.py" || { server_log 40; fail "protocol cases"; }
finish
