#!/usr/bin/python3
"""ERC-20 payments through the chain watcher, configured by test_341_chain_token.sh: the
test token TTK ($TOKEN, $TOKEN_DECIMALS decimals, $TOKEN_UPM base units per CNY fen) next
to ETH, price 1000 fen, $ETH_CONF confirmations, poll 1 s, RPC through rpc_proxy.py.
Each case ends with every holder's balance equal to its ledger sum."""
import json, os, re, subprocess, time
import evm
from chainlib import (Acme, Key, ADDR, ADM, ANVIL, CHAIN, MEASURE, N, PAYER, PRICE, b64, balance, case,
                      credited, ctl, head, holder_of, last_block, ledger_consistent, log_count,
                      mine, ref, restart_rewound, rpc, run_cases, sent_then_reorged_away, short_order,
                      sql, unconfirmed_not_credited, wait_for, wait_processed)

TOKEN, DEC, UPM = os.environ["TOKEN"], int(os.environ["TOKEN_DECIMALS"]), int(os.environ["TOKEN_UPM"])
with open(os.environ["TOKEN_JSON"]) as f:
    METHODS = json.load(f)["methods"]


def token_send(*values, to=ADDR):
    """A Transfer (two in one transaction when two values): (tx hash, block number)"""
    if len(values) == 1:
        data = evm.call_data(METHODS, "transfer(address,uint256)", to, values[0])
    else:
        data = evm.call_data(METHODS, "transferTwice(address,uint256,uint256)", to, *values)
    h = rpc("eth_sendTransaction", {"from": PAYER, "to": TOKEN, "data": data, "gas": hex(200000)})
    rc = evm.receipt(ANVIL, h)
    assert rc["status"] == "0x1", rc
    return h, int(rc["blockNumber"], 16)


def token_order(tag):
    """short_order plus the invoice's TTK amount (base units) and the payment request"""
    a, url, order, der, inv, wei = short_order(tag)
    value = int(sql("SELECT value FROM invoice_tokens WHERE invoice_id = '%s' AND token = 'TTK'"
                    % inv))
    assert value // UPM == PRICE and 0 < value % UPM < UPM, value
    return a, url, order, der, inv, value, short_order.last


def human(value):
    s = "%d.%0*d" % (value // 10 ** DEC, DEC, value % 10 ** DEC)
    return s.rstrip("0").rstrip(".")


@case
def erc20_payment_request_shows_amount_uri_and_qr():
    a, url, order, der, inv, value, prob = token_order("t0")
    d = prob["detail"]
    uri = "ethereum:%s@%d/transfer?address=%s&uint256=%d" % (TOKEN, CHAIN, ADDR, value)
    assert "\nEthereum (TTK): %s TTK\n" % human(value) in d, d
    assert "\nEthereum: %s\n" % uri in d, d
    eth = sql("SELECT eth_wei FROM invoices WHERE id = '%s'" % inv)
    wei = int(eth.rsplit("=", 1)[1])
    assert "\nEthereum (ETH): %s ETH\n" % ("%d.%018d" % (wei // 10 ** 18, wei % 10 ** 18)).rstrip("0") in d, d
    # ETH's URI is the first "Ethereum:" line; each option has its own QR right above its URI
    assert d.index("Ethereum: " + eth) < d.index("Ethereum: " + uri)
    block = d.split("\nEthereum (TTK): ", 1)[1].split("\nEthereum: ", 1)[0]
    assert block.count("\n") > 10 and "\u2588" in block, block
    ledger_consistent()


@case
def erc20_payment_credited_after_n_confirmations_then_the_same_finalize_issues():
    a, url, order, der, inv, value, _ = token_order("t1")
    holder = holder_of(a)
    ctl("reset")
    h, blk = token_send(value)
    unconfirmed_not_credited(h, blk, holder)
    mine(1)
    t0 = time.time()
    wait_for(lambda: credited(h), 30, "the token credit")
    MEASURE.append("ERC-20: Nth confirmation -> credit: %.2f s (poll interval 1 s)" % (time.time() - t0))
    stats = json.loads(ctl("stats"))
    blocks = max(1, last_block() - (blk - 2))
    MEASURE.append("ERC-20: RPC calls %s over %d blocks (%.2f per block)"
                   % (json.dumps(stats, sort_keys=True), blocks, sum(stats.values()) / blocks))
    assert balance(holder) == PRICE
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "paid"
    assert sql("SELECT status || ' ' || token || ' ' || value || ' ' || invoice_id FROM "
               "chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "credited TTK %d %s" % (value, inv)
    assert sql("SELECT reference FROM payments WHERE invoice_id = '%s'" % inv).startswith(
        "eth:%d:%s:" % (CHAIN, h.lower()))
    r = a.post(order["finalize"], {"csr": b64(der)})
    assert r.status == 200, r
    o = a.poll(url).json()
    assert o["status"] == "valid" and a.get(o["certificate"]).status == 200, o
    assert balance(holder) == 0
    ledger_consistent()


@case
def the_same_token_transfer_after_a_restart_is_credited_once():
    a, url, order, der, inv, value, _ = token_order("t2")
    holder = holder_of(a)
    h, blk = token_send(value)
    mine(N - 1)
    wait_for(lambda: credited(h), 30, "the credit")
    restart_rewound(blk - 3)
    mine(2)
    wait_processed(blk + 1)
    assert balance(holder) == PRICE, "credited twice"
    assert sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'payment'" % holder) == "1"
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "1"
    ledger_consistent()


@case
def a_reorg_that_removes_the_token_payment_before_n_confirmations_credits_nothing():
    a, url, order, der, inv, value, _ = token_order("t3")
    holder = holder_of(a)
    h = sent_then_reorged_away(lambda: token_send(value))
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "0"
    assert balance(holder) == 0
    assert sql("SELECT status FROM invoices WHERE id = '%s'" % inv) == "open"
    ledger_consistent()


@case
def hostile_get_logs_answers_change_nothing_and_are_logged_once():
    a, url, order, der, inv, value, _ = token_order("t4")
    holder = holder_of(a)
    h, blk = token_send(value)
    before = log_count("ACP03801")
    ctl("mode/logs_huge")             # before the payment's block is confirmed
    mine(N + 1)
    try:
        for mode in ("logs_huge", "logs_notarray", "logs_bigvalue", "logs_nohex", "logs_missing",
                     "logs_foreign", "logs_range", "logs_index", "chain"):
            ctl("mode/" + mode)
            ctl("reset")              # a call counted from now on met this mode
            method = "eth_chainId" if mode == "chain" else "eth_getLogs"
            wait_for(lambda: json.loads(ctl("stats")).get(method, 0) >= 1, 40,
                     "the watcher to meet the %s answer" % mode)
            assert not credited(h, 0), mode
            assert last_block() < blk, "%s: progress moved past the payment's block" % mode
            assert balance(holder) == 0, mode
        assert log_count("ACP03801") == before + 1, "hostile answers not logged exactly once"
        assert log_count("Segmentation fault") == 0, "a child crashed"
    finally:
        ctl("mode/up")
    wait_for(lambda: balance(holder) == PRICE, 60, "the credit once the node is sane again")
    assert sql("SELECT COUNT(*) FROM payments WHERE invoice_id = '%s'" % inv) == "1"
    ledger_consistent()


@case
def token_over_and_underpayment_credit_what_arrived_and_two_logs_in_one_tx_count_twice():
    a, url, order, der, inv, value, _ = token_order("t5")
    holder = holder_of(a)
    h, blk = token_send(value - 300 * UPM, value + 500 * UPM)   # short, then too much
    mine(N - 1)
    wait_for(lambda: balance(holder) == PRICE - 300 + PRICE + 500, 30, "both credits")
    refs = sql("SELECT reference FROM payments WHERE invoice_id = '%s' ORDER BY reference" % inv)
    idx = sorted(int(r.rsplit(":", 1)[1]) for r in refs.split())
    assert len(idx) == 2 and idx[1] == idx[0] + 1, refs
    assert sql("SELECT status || ' ' || paid FROM invoices WHERE id = '%s'" % inv) == "paid %d" % (2 * PRICE + 200)
    ledger_consistent()


@case
def an_unmatched_token_transfer_is_recorded_and_staff_assign_it():
    a = Acme()
    a.new_account(Key())
    holder = holder_of(a)
    value = 9 * UPM + UPM - 1          # its remainder is no invoice's tag
    h, blk = token_send(value)
    mine(N - 1)
    wait_processed(blk)
    r = sql("SELECT reference FROM chain_transfers WHERE tx_hash = '%s'" % h.lower())
    assert re.fullmatch(r"eth:%d:%s:\d+" % (CHAIN, h.lower()), r), r
    assert sql("SELECT status || ' ' || token || ' ' || amount FROM chain_transfers "
               "WHERE reference = '%s'" % r) == "unmatched TTK 9"
    out = subprocess.run(ADM + ["--json", "chain", "assign", r, holder, "--reason", "ticket 7"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert balance(holder) == 9
    ledger_consistent()


@case
def a_transfer_to_another_address_is_not_ours():
    h, blk = token_send(1234567, to=PAYER)
    mine(N)
    wait_processed(blk)
    assert sql("SELECT COUNT(*) FROM chain_transfers WHERE tx_hash = '%s'" % h.lower()) == "0"
    ledger_consistent()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


@case
def an_idle_watcher_costs_two_small_rpc_calls_per_poll():
    wait_for(lambda: last_block() >= head() - N + 1, 30, "the watcher to catch up")
    pid = int(sql("SELECT holder FROM chain_watch WHERE name = 'eth'").split(":")[1])
    c0, t0 = cpu_ticks(pid), time.time()
    ctl("reset")
    time.sleep(10)
    stats, secs = json.loads(ctl("stats")), time.time() - t0
    cpu = (cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK")
    MEASURE.append("idle: %s in %.1f s (poll interval 1 s); the holder child used %.2f s CPU "
                   "(%.2f%% of one core, the whole child)" % (json.dumps(stats, sort_keys=True), secs,
                                                              cpu, 100 * cpu / secs))
    assert set(stats) <= {"eth_chainId", "eth_blockNumber"}, stats
    assert 5 <= stats.get("eth_blockNumber", 0) <= 12, stats


def status():
    out = subprocess.run(["curl", "-sf", "--max-time", "10", "--cacert", os.environ["ACME_TRUST"],
                          "https://localhost:%s/server-status?auto" % os.environ["ACME_PORT"]],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return dict(l.split(": ", 1) for l in out.stdout.splitlines() if l.startswith("AcmePayChain"))


@case
def server_status_shows_the_chain_lag():
    mine(3)
    wait_for(lambda: last_block() >= head() - N + 1, 30, "the watcher to catch up")
    time.sleep(1.5)
    st = status()
    last, h = last_block(), head()
    assert int(st["AcmePayChainLastBlock"]) == last, (st, last)
    assert int(st["AcmePayChainHead"]) == h, (st, h)
    assert int(st["AcmePayChainLagBlocks"]) == h - last == N - 1, (st, h, last)
    assert 0 <= int(st["AcmePayChainLagSeconds"]) <= 3, st
    ctl("mode/down")
    try:
        mine(2)
        time.sleep(5)
        st = status()
        assert int(st["AcmePayChainLagSeconds"]) >= 4, st
        assert int(st["AcmePayChainLastBlock"]) == last, st
    finally:
        ctl("mode/up")
    wait_for(lambda: 0 <= int(status()["AcmePayChainLagSeconds"]) <= 2, 40, "the lag to shrink")


@case
def the_no_webhook_warning_names_the_chain_watcher():
    with open(os.path.join(os.environ["T"], "httpd", "logs", "error.log"), errors="replace") as f:
        lines = [l for l in f if "ACP03404" in l]
    assert lines, "no ACP03404"
    for l in lines:
        assert "no balance can be credited except by the chain watcher (Ethereum payments) or " \
               "acme-pay-admin" in l, l


run_cases()
