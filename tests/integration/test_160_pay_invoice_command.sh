#!/bin/bash
# Issue 16, finding 6: AcmePayInvoiceCommand runs once per invoice, after the transaction
# that created the invoice (never holding the database's write lock), and its checkout URL
# is kept and reused: six concurrent finalizes on one invoice run it once while another
# account's newOrder goes through; later finalizes, the invoice page and certbot's
# challenge path reuse the answer.
. "$(dirname "$0")/lib.sh"
cmd_dir=$(mktemp -d /tmp/acp-checkout.XXXXXX)
at_exit "rm -rf '$cmd_dir'"
chmod 755 "$cmd_dir"
touch "$cmd_dir/runs" && chmod 666 "$cmd_dir/runs"
cat > "$cmd_dir/checkout" <<SH
#!/bin/sh
# a provider that takes 3 s to create a checkout
echo "\$1" >> "$cmd_dir/runs"
sleep 3
echo "https://checkout.provider.test/c/\$1"
SH
chmod 755 "$cmd_dir/checkout"
export CHECKOUT_RUNS=$cmd_dir/runs
acme_setup --directive "AcmePayPrice 1000" --directive "AcmePayInvoiceCommand $cmd_dir/checkout"
/usr/bin/python3 "$IT_DIR/billing_sec.py" invoice_command_runs_once_outside_the_transaction ||
    { server_log 40; fail "invoice command"; }
finish
