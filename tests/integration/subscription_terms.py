#!/usr/bin/python3
"""Subscriptions over time against the module configured by test_265_subscription_terms.sh:
sub (90-day certificates, 500 for a 2-day term, renewal window 6h, refunds pro rata) and
long (300-day certificates, 700, cut by the CA/B Forum schedule). The clock of a
subscription is moved by shifting its start and end back. Prints one line per case and
"N passed, N failed"."""
import calendar, json, os, ssl, subprocess, sys, time, urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Acme, cert_id_of
from subs_lib import (sql, admin, admin_json, holder_of, balance, name, issue_pem, subs,
                      books_balance, race_finalize, run)

CASES, STATE = [], {}
H = 3600
TERM = 2 * 86400
WINDOW = 6 * H


def case(fn):
    CASES.append(fn)
    return fn


def openssl_dates(pem):
    """(notBefore, notAfter) of the leaf as openssl reads them."""
    out = subprocess.run(["openssl", "x509", "-noout", "-startdate", "-enddate"],
                         input=pem.split("-----END CERTIFICATE-----")[0] +
                         "-----END CERTIFICATE-----\n",
                         capture_output=True, text=True, check=True).stdout
    d = dict(line.split("=", 1) for line in out.strip().splitlines())
    conv = lambda s: calendar.timegm(time.strptime(" ".join(s.split()), "%b %d %H:%M:%S %Y GMT"))
    return conv(d["notBefore"]), conv(d["notAfter"])


def shift(sub_id, seconds):
    """Time passes for a subscription: its start and end move back."""
    sql("UPDATE subscriptions SET starts = starts - %d, ends = ends - %d WHERE id = '%s'"
        % (seconds, seconds, sub_id))


def sub_row(sub_id):
    return [s for s in subs() if s["id"] == sub_id][0]


def ari_window(a, pem):
    """The suggested window of renewalInfo (an unauthenticated GET)."""
    cid = cert_id_of(pem)[0]
    ctx = ssl.create_default_context(cafile=os.environ["ACME_TRUST"])
    url = a.dir["renewalInfo"].rstrip("/") + "/" + cid
    with urllib.request.urlopen(url, context=ctx, timeout=30) as r:
        w = json.loads(r.read())["suggestedWindow"]
    ts = lambda s: calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    return ts(w["start"]), ts(w["end"])


def buy(names):
    """A first purchase for names; returns the subscription's row."""
    a, h = STATE["a"], STATE["h"]
    before = balance(h)
    issue_pem(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = subs(names)
    assert len(s) == 1 and s[0]["status"] == "active", s
    return s[0]


@case
def setup_account():
    a = Acme()
    assert a.new_account().status == 201
    h = holder_of(a)
    r = admin("credit", h, "100.00", "--reason", "funds", "--yes")
    assert r.returncode == 0, r.stderr
    STATE["a"], STATE["h"] = a, h


@case
def three_certificates_one_charge_each_capped():
    a, h = STATE["a"], STATE["h"]
    names = [name("a"), name("b")]
    s = buy(names)
    assert s["ends_at"] - s["starts_at"] == TERM, s
    before = balance(h)
    pems = []
    for k in range(3):
        if k:
            shift(s["id"], 18 * H)         # 18 hours later: 30 h, then 12 h left
        end = sub_row(s["id"])["ends_at"]
        pem = issue_pem(a, names)
        nb, na = openssl_dates(pem)
        # min(90 days, 200 days, the subscription's end): the end, to the second
        assert na == end, (k, na, end)
        pems.append(pem)
        if k == 1:
            # ARI: a certificate cut at the end is pointed into the renewal window (its
            # own last third would start 10 h before the end), never past its end
            ws, we = ari_window(a, pem)
            assert na - WINDOW <= ws < we < na, (ws - na, we - na)
    assert balance(h) == before, (before, balance(h))
    n = int(sql("SELECT COUNT(*) FROM ledger WHERE billing_id = '%s' AND kind = 'subscription' "
                "AND delta = 0 AND reference = '%s'" % (h, s["id"])))
    assert n == 3, n
    assert len(subs(names)) == 1
    STATE["names"], STATE["sub"] = names, s["id"]


@case
def renewal_window_buys_the_next_term_from_the_end():
    a, h = STATE["a"], STATE["h"]
    names, sid = STATE["names"], STATE["sub"]
    shift(sid, 8 * H)                       # 4 h left: inside the 6 h window
    old_end = sub_row(sid)["ends_at"]
    before = balance(h)
    pem = issue_pem(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    s = sorted(subs(names), key=lambda x: x["starts_at"])
    assert len(s) == 2, s
    assert s[0]["id"] == sid and s[0]["status"] == "active", s
    assert s[1]["status"] == "upcoming", s
    # no day lost, none paid twice: the next term starts at the old end
    assert s[1]["starts_at"] == old_end and s[1]["ends_at"] == old_end + TERM, s
    assert openssl_dates(pem)[1] == old_end + TERM
    reason = sql("SELECT reason FROM ledger WHERE order_id = '%s' AND kind = 'debit'" %
                 s[1]["order"])
    assert "renewing " + sid in reason, reason
    # bought ahead: the next finalize in the window is covered, cut at the new end
    before = balance(h)
    pem = issue_pem(a, names)
    assert balance(h) == before and openssl_dates(pem)[1] == old_end + TERM
    # a subset of the names is covered too
    issue_pem(a, [names[0]])
    assert balance(h) == before


@case
def racing_renewals_charge_once():
    a, h = STATE["a"], STATE["h"]
    names = [name("race")]
    s = buy(names)
    shift(s["id"], TERM - 3 * H)            # 3 h left
    before = balance(h)
    race_finalize(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    assert len(subs(names)) == 2, subs(names)


@case
def other_names_and_ended_subscriptions_pay():
    a, h = STATE["a"], STATE["h"]
    buy([name("other")])                    # another name set: a purchase
    names = [name("e")]
    s = buy(names)
    sql("UPDATE subscriptions SET ends = %d, starts = %d WHERE id = '%s'"
        % (int(time.time()) - 10, int(time.time()) - 10 - TERM, s["id"]))
    before = balance(h)
    now = time.time()
    issue_pem(a, names)
    assert balance(h) == before - 500, (before, balance(h))
    new = [x for x in subs(names) if x["id"] != s["id"]]
    assert len(new) == 1 and abs(new[0]["starts_at"] - now) < 120, new
    assert sub_row(s["id"])["status"] == "ended"


@case
def extend_is_audited_and_free():
    a, h = STATE["a"], STATE["h"]
    s = buy([name("x")])
    before = balance(h)
    r = admin("subscriptions", "extend", s["id"], "60d")
    assert r.returncode != 0 and "reason" in r.stderr, r.stderr      # no --reason
    r = admin("subscriptions", "extend", s["id"], "sixty", "--reason", "x")
    assert r.returncode != 0
    assert sub_row(s["id"])["ends_at"] == s["ends_at"]
    out = admin_json("subscriptions", "extend", s["id"], "60d", "--reason", "outage goodwill")
    assert out["ends_at"] == s["ends_at"] + 60 * 86400, out
    assert sub_row(s["id"])["ends_at"] == s["ends_at"] + 60 * 86400
    assert balance(h) == before
    row = sql("SELECT kind, delta, actor, reason FROM ledger WHERE reference = '%s' AND "
              "kind = 'extend'" % s["id"])
    kind, delta, actor, reason = row.split("|")
    assert delta == "0" and actor == "erin" and "outage goodwill" in reason, row
    shown = admin_json("subscriptions", "show", s["id"])
    assert [l["kind"] for l in shown["ledger"]] == ["debit", "extend"], shown
    # filters: active has it, expiring within 30 days no longer does
    active = [x["id"] for x in admin_json("subscriptions", "list", "--active")]
    expiring = [x["id"] for x in admin_json("subscriptions", "list", "--expiring")]
    assert s["id"] in active and s["id"] not in expiring, (active, expiring)
    assert STATE["sub"] in active and STATE["sub"] in expiring
    ended = [x["id"] for x in subs() if x["status"] == "ended"]
    assert ended and not set(ended) & set(active)
    STATE["extended"] = s


@case
def cancel_pro_rata_refunds_the_unused_part_once():
    a, h = STATE["a"], STATE["h"]
    names = [name("c")]
    s = buy(names)
    shift(s["id"], TERM // 2)               # half the term used
    end = sub_row(s["id"])["ends_at"]
    before = balance(h)
    r = admin("subscriptions", "cancel", s["id"])
    assert r.returncode != 0 and balance(h) == before          # no --reason
    t0 = int(time.time())
    out = admin_json("subscriptions", "cancel", s["id"], "--reason", "customer left")
    t1 = int(time.time())
    lo, hi = 500 * (end - t1 - 1) // TERM, 500 * (end - t0) // TERM
    assert lo <= out["refund"] <= hi and 245 <= out["refund"] <= 250, (out, lo, hi)
    assert balance(h) == before + out["refund"] == out["balance"]
    row = sql("SELECT delta, order_id, actor FROM ledger WHERE kind = 'refund' AND "
              "reference = '%s'" % s["id"]).split("|")
    assert row == [str(out["refund"]), s["order"], "erin"], row
    books_balance()
    assert sub_row(s["id"])["status"] == "cancelled"
    # never twice
    r = admin("subscriptions", "cancel", s["id"], "--reason", "again", "--refund", "prorata")
    assert r.returncode != 0 and "cancelled already" in r.stderr, r.stderr
    assert balance(h) == before + out["refund"]
    # cancelled: the names are no longer covered
    before = balance(h)
    issue_pem(a, names)
    assert balance(h) == before - 500


@case
def cancel_without_refund():
    h = STATE["h"]
    s = buy([name("n")])
    before = balance(h)
    out = admin_json("subscriptions", "cancel", s["id"], "--reason", "abuse", "--refund", "none")
    assert out["refund"] == 0 and balance(h) == before, out
    assert sql("SELECT delta FROM ledger WHERE kind = 'refund' AND reference = '%s'"
               % s["id"]) == "0"
    r = admin("subscriptions", "cancel", s["id"], "--reason", "x", "--refund", "half")
    assert r.returncode != 0
    r = admin("subscriptions", "cancel", "nosuchid", "--reason", "x")
    assert r.returncode != 0
    books_balance()


@case
def revenue_by_profile():
    rows = {r["profile"]: r for r in admin_json("subscriptions", "revenue")}
    sold, charged, refunded = sql("SELECT COUNT(*), SUM(price), SUM(COALESCE(refunded, 0)) "
                                  "FROM subscriptions WHERE profile = 'sub' AND ends >= starts"
                                  ).split("|")
    r = rows["sub"]
    assert (r["sold"], r["charged"], r["refunded"]) == (int(sold), int(charged), int(refunded)), r
    assert r["revenue"] == r["charged"] - r["refunded"] and r["refunded"] > 0, r
    assert r["active"] >= r["expiring_30d"] >= 1 and r["active"] > r["expiring_30d"], r
    assert "sub" in admin("subscriptions", "revenue").stdout


@case
def schedule_caps_a_long_profile():
    a = STATE["a"]
    now = time.time()
    nb, na = openssl_dates(issue_pem(a, [name("long")], "long"))
    # issued between 2026-03-15 and 2027-03-15: at most 200 days, counted inclusively
    assert 1773532800 <= now < 1805068800, now
    assert na - nb == 200 * 86400 - 1, (na - nb) / 86400


@case
def books():
    books_balance()


sys.exit(run(CASES))
