#!/usr/bin/python3
"""The Ethereum chain watcher against a real local chain (anvil), configured by
test_340_chain_eth.sh: price 1000 CNY minor units, AcmePayEthereum $ETH_ADDR 31337
$ETH_WPM, RPC through rpc_proxy.py ($RPC_PROXY), $ETH_CONF confirmations, poll 1 s.
Prints one line per case, the measurements, and "N passed, N failed"."""
import json, os, subprocess, time
from chainlib import (ADDR, ADM, CHAIN, MEASURE, N, PRICE, WPM, b64, balance, case, credited,
                      ctl, holder_of, last_block, ledger_consistent, log_count, mine, pay,
                      ref, restart_rewound, run_cases, sent_then_reorged_away, short_order, sql,
                      unconfirmed_not_credited, wait_for, wait_processed, Acme, Key)


@case
def eth_payment_credited_after_n_confirmations_then_the_same_finalize_issues():
    a, url, order, der, inv, wei = short_order("e1")
    holder = holder_of(a)
    ctl("reset")
    h, blk = pay(wei)
    unconfirmed_not_credited(h, blk, holder)
    mine(1)                           # the Nth confirmation
    t0 = time.time()
    wait_for(lambda: credited(h), 30, "the credit")
    MEASURE.append("Nth confirmation -> credit: %.2f s (poll interval 1 s)" % (time.time() - t0))
    assert balance(holder) == PRICE
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "paid"
    assert sql("SELECT status || ' ' || invoice_id FROM chain_transfers WHERE reference = '%s'"
               % ref(h)) == "credited " + inv
    stats = json.loads(ctl("stats"))
    blocks = max(1, last_block() - (blk - 2))
    MEASURE.append("RPC calls: %s over %d blocks (%.2f per block incl. polls of an idle head)"
                   % (json.dumps(stats, sort_keys=True), blocks, sum(stats.values()) / blocks))
    # the same client, the same command: finalize again issues
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    o = a.poll(url).json()
    assert o["status"] == "valid" and "certificate" in o, o
    assert a.get(o["certificate"]).status == 200
    assert balance(holder) == 0
    kinds = sql("SELECT kind || ':' || delta FROM ledger WHERE billing_id = '%s'" % holder)
    assert sorted(kinds.split()) == sorted(["payment:%d" % PRICE, "debit:-%d" % PRICE]), kinds
    ledger_consistent()


@case
def the_same_transfer_seen_again_after_a_restart_is_credited_once():
    a, url, order, der, inv, wei = short_order("e2")
    holder = holder_of(a)
    h, blk = pay(wei)
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the credit")
    assert balance(holder) == PRICE
    restart_rewound(blk - 3)
    mine(2)
    wait_processed(blk + 1)
    assert balance(holder) == PRICE, "credited twice"
    assert sql("SELECT COUNT(*) FROM ledger WHERE reference = '%s'" % ref(h)) == "1"
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE reference = '%s'" % ref(h)) == "1"
    ledger_consistent()


@case
def a_reorg_that_removes_the_payment_before_n_confirmations_credits_nothing():
    a, url, order, der, inv, wei = short_order("e3")
    holder = holder_of(a)
    h = sent_then_reorged_away(lambda: pay(wei))
    assert not credited(h)
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "0"
    assert balance(holder) == 0
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "open"
    ledger_consistent()


@case
def rpc_outage_logged_once_then_resumes_from_the_stored_block():
    a, url, order, der, inv, wei = short_order("e4")
    holder = holder_of(a)
    before = log_count("ACP03801")
    ctl("mode/down")
    try:
        stored = last_block()
        h, blk = pay(wei)
        mine(N + 2)
        time.sleep(6)
        assert last_block() == stored, "progress moved while the node was unreachable"
        assert not credited(h)
        assert log_count("ACP03801") == before + 1, "the outage was not logged exactly once"
    finally:
        ctl("mode/up")
    t0 = time.time()
    wait_for(lambda: credited(h), 60, "the credit after the outage")
    MEASURE.append("outage over -> credit: %.2f s (back-off)" % (time.time() - t0))
    wait_for(lambda: log_count("ACP03802") >= 1, 10, "the recovery's log line")
    assert balance(holder) == PRICE
    ledger_consistent()


@case
def hostile_rpc_answers_change_nothing():
    a, url, order, der, inv, wei = short_order("e5")
    holder = holder_of(a)
    stored = last_block()
    h, blk = pay(wei)
    mine(N + 1)
    before = log_count("ACP03801")
    for mode in ("huge", "junk", "error500", "chain", "bignum", "nohex", "nofield", "nullblock",
                 "missing", "bigvalue", "badvalue"):
        ctl("reset")
        ctl("mode/" + mode)
        method = "eth_getBlockByNumber" if mode in ("nullblock", "missing", "bigvalue",
                                                    "badvalue") else "eth_chainId"
        wait_for(lambda: json.loads(ctl("stats")).get(method, 0) >= 2, 30,
                 "the watcher to meet the %s answer" % mode)
        assert not credited(h), mode
        assert last_block() < blk, "%s: progress moved past the payment's block" % mode
        assert balance(holder) == 0, mode
    assert log_count("ACP03801") == before + 1, "hostile answers not logged exactly once"
    ctl("mode/up")
    wait_for(lambda: credited(h), 60, "the credit once the node is sane again")
    assert balance(holder) == PRICE
    assert last_block() >= blk and stored <= last_block()
    ledger_consistent()


@case
def over_and_underpayment_credit_what_arrived():
    a, url, order, der, inv, wei = short_order("e6")
    holder = holder_of(a)
    h, blk = pay(wei - 300 * WPM)      # 300 minor units short
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the underpayment's credit")
    assert balance(holder) == PRICE - 300
    assert sql("SELECT status || ' ' || paid FROM invoices WHERE id = '%s'" % inv) == "open 700"
    h2, blk2 = pay(wei + 500 * WPM)    # then too much
    mine(N - 1)
    wait_for(lambda: credited(h2), 30, "the overpayment's credit")
    assert balance(holder) == PRICE - 300 + PRICE + 500
    ledger_consistent()


@case
def an_unmatched_transfer_is_recorded_and_staff_assign_it():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    value = 7 * WPM + WPM - 1          # its remainder is no invoice's unique tag
    h, blk = pay(value)
    mine(N - 1)
    wait_processed(blk)
    r = ref(h)
    assert sql("SELECT status || ' ' || amount || ' ' || value FROM chain_transfers "
               "WHERE reference = '%s'" % r) == "unmatched 7 %d" % value
    assert sql("SELECT COUNT(*) FROM payments WHERE reference = '%s'" % r) == "0"
    out = subprocess.run(ADM + ["--json", "chain", "list", "--status", "unmatched"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    refs = [t["reference"] for t in json.loads(out.stdout)["transfers"]]
    assert r in refs, refs
    out = subprocess.run(ADM + ["chain", "assign", r, holder], capture_output=True, text=True)
    assert out.returncode == 2 and "--reason" in out.stderr, (out.returncode, out.stderr)
    out = subprocess.run(ADM + ["--json", "chain", "assign", r, holder, "--reason", "mail #42"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["amount"] == 7
    assert balance(holder) == 7
    assert sql("SELECT kind || ' ' || delta || ' ' || actor FROM ledger WHERE reference = '%s'"
               % r) == "payment 7 staff:alice", sql("SELECT * FROM ledger WHERE reference = '%s'" % r)
    assert sql("SELECT status || ' ' || billing_id || ' ' || assigned_by || ' ' || reason FROM "
               "chain_transfers WHERE reference = '%s'" % r) == "assigned %s staff:alice mail #42" % holder
    out = subprocess.run(ADM + ["chain", "assign", r, holder, "--reason", "again"],
                         capture_output=True, text=True)
    assert out.returncode == 2, "assigned twice"
    assert balance(holder) == 7
    ledger_consistent()


@case
def an_unmatched_transfer_left_for_the_console():
    """test_340 assigns it in the console (Chain screen, c): reference and holder to $T"""
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    h, blk = pay(5 * WPM + WPM - 2)
    mine(N - 1)
    wait_processed(blk)
    r = ref(h)
    assert sql("SELECT status FROM chain_transfers WHERE reference = '%s'" % r) == "unmatched"
    with open(os.path.join(os.environ["T"], "tui_transfer"), "w") as f:
        f.write("%s %s\n" % (r, holder))


@case
def one_watcher_holds_the_lease():
    holders = sql("SELECT holder FROM chain_watch WHERE name = 'eth'")
    assert holders and int(sql("SELECT lease_until FROM chain_watch")) > time.time(), holders


run_cases()
