#!/bin/bash
# Issue 16, finding 7: the welcome credit (AcmePayFreeBalance) cannot be farmed with fresh
# account keys: three new keys from one address get it once (AcmePayFreeBalanceLimit's
# default, 1 per address per day); an EAB credential gets it once, however many accounts
# bind to it. Ledger sum = balance for every holder.
. "$(dirname "$0")/lib.sh"
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayFreeBalance 1000"
export FREE=1000 ADMIN_BIN=$REPO/out/acme-pay-admin
/usr/bin/python3 "$IT_DIR/billing_sec.py" welcome_credit_is_not_farmable ||
    { server_log 40; fail "welcome credit"; }
finish
