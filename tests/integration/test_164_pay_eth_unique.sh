#!/bin/bash
# Issue 16, finding 14: Ethereum amounts are unique among open invoices, across nodes.
# Half of the 999,999 numbers for the price are taken by open invoices written directly
# (as another node would); twelve new invoices through the module must all avoid them.
. "$(dirname "$0")/lib.sh"
export ETH_ADDR=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed ETH_RATE=10000000000000
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayEthereum $ETH_ADDR 1 $ETH_RATE"
/usr/bin/python3 "$IT_DIR/billing_sec.py" ethereum_amounts_are_unique_among_open_invoices ||
    { server_log 40; fail "ethereum amounts"; }
finish
