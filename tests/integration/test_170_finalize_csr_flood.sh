#!/bin/bash
# acp-test: serial
# Finalize with a 5,500-name CSR (issue 16, finding 3): badCSR quickly, short detail,
# nothing written, bounded memory, and a flood of them leaves newOrder fast
# (tests/integration/csr_flood.py).
. "$(dirname "$0")/lib.sh"
acme_setup
/usr/bin/python3 "$IT_DIR/csr_flood.py" || { server_log 40; fail "csr_flood.py"; }
finish
