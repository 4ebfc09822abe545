#!/usr/bin/python3
"""Subscriptions against the module configured by test_274_subscriptions.sh: cert (1 day,
300, per certificate) and sub (1-day certificates, 500 for a 2-day term). Prints one line
per case and "N passed, N failed"."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme
from subs_lib import (sql, admin, holder_of, balance, name, issue, not_after, subs,
                      ledger_kinds, books_balance, race_finalize, run)

CASES, STATE = [], {}


def case(fn):
    CASES.append(fn)
    return fn


@case
def setup_account():
    a = Acme()
    assert "for 2 days" in a.dir["meta"]["profiles"]["sub"], a.dir["meta"]
    assert a.new_account().status == 201
    r = admin("credit", holder_of(a), "100.00", "--reason", "funds", "--yes")
    assert r.returncode == 0, r.stderr
    STATE["a"], STATE["h"] = a, holder_of(a)


@case
def bought_once_then_free_and_capped():
    a, h = STATE["a"], STATE["h"]
    names = [name("a"), name("b")]
    before = balance(h)
    now = time.time()
    c1 = issue(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = subs(names)
    assert len(s) == 1 and s[0]["status"] == "active" and s[0]["profile"] == "sub", s
    assert s[0]["holder"] == h and s[0]["price"] == 500, s
    assert abs(s[0]["ends_at"] - (now + 2 * 86400)) < 120, s
    # the first certificate: the profile's 1 day (the term is longer)
    assert abs(not_after(c1) - (now + 86400)) < 120, not_after(c1) - now
    # bring the end near so the cap is visible: min(1 day from issue, the end)
    end = int(time.time()) + 3600
    sql("UPDATE subscriptions SET ends = %d WHERE id = '%s'" % (end, s[0]["id"]))
    for _ in range(2):
        c = issue(a, names)
        assert not_after(c) <= end and end - not_after(c) < 5, (not_after(c), end)
    assert balance(h) == before - 500, (before, balance(h))
    n_sub = int(sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'subscription' "
                    "AND delta = 0 AND reference = '%s'" % (h, s[0]["id"])))
    assert n_sub == 2, ledger_kinds(h)
    assert len(subs(names)) == 1
    STATE["names"], STATE["sub"] = names, s[0]["id"]


@case
def subset_is_free_other_names_pay():
    a, h = STATE["a"], STATE["h"]
    before = balance(h)
    issue(a, [STATE["names"][1]])                    # a subset: covered
    assert balance(h) == before, (before, balance(h))
    other = [name("c")]
    issue(a, other)                                  # another name set: a purchase
    assert balance(h) == before - 500, (before, balance(h))
    issue(a, other + [STATE["names"][0]])            # a superset of neither: a purchase
    assert balance(h) == before - 1000, (before, balance(h))
    assert len(subs(other)) == 1


@case
def per_certificate_profile_unchanged():
    a, h = STATE["a"], STATE["h"]
    before = balance(h)
    issue(a, STATE["names"], "cert")                 # the same names, another product: pays
    assert balance(h) == before - 300, (before, balance(h))


@case
def ended_subscription_is_bought_again():
    a, h = STATE["a"], STATE["h"]
    names = STATE["names"]
    sql("UPDATE subscriptions SET ends = starts WHERE id = '%s'" % STATE["sub"])
    before = balance(h)
    now = time.time()
    c = issue(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = subs(names)
    assert sorted(x["status"] for x in s) == ["active", "ended"], s
    assert abs(not_after(c) - (now + 86400)) < 120
    before = balance(h)
    issue(a, names)                                  # the new one covers
    assert balance(h) == before


@case
def racing_first_purchases_charge_once():
    a, h = STATE["a"], STATE["h"]
    names = [name("race")]
    before = balance(h)
    race_finalize(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    assert len(subs(names)) == 1, subs(names)


@case
def admin_lists_subscriptions():
    r = admin("subscriptions", "list")
    assert r.returncode == 0 and STATE["sub"] in r.stdout and "ended" in r.stdout, r.stdout
    r = admin("subscriptions", "nope")
    assert r.returncode != 0


@case
def books():
    books_balance()


sys.exit(run(CASES))
