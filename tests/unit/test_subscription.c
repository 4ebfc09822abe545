/* Subscriptions: the pro-rata refund (integer, rounded down by less than one minor unit,
 * no overflow), the renewal window's bound, the names-subset rule. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_subscription.h"

#define D 86400LL

static void run_tests(apr_pool_t *p)
{
    long long t0 = 1790000000LL, price, paid, now;

    /* whole term unused, all used, past the end, before the start */
    CHECK(acp_subscription_prorata(9000, t0, t0 + 365 * D, t0) == 9000);
    CHECK(acp_subscription_prorata(9000, t0, t0 + 365 * D, t0 - D) == 9000);
    CHECK(acp_subscription_prorata(9000, t0, t0 + 365 * D, t0 + 365 * D) == 0);
    CHECK(acp_subscription_prorata(9000, t0, t0 + 365 * D, t0 + 400 * D) == 0);
    CHECK(acp_subscription_prorata(0, t0, t0 + D, t0) == 0);
    CHECK(acp_subscription_prorata(500, t0, t0, t0) == 0);
    /* half: exact; a third of 1000: 333 (rounded down, the loss < 1) */
    CHECK(acp_subscription_prorata(9000, t0, t0 + 2 * D, t0 + D) == 4500);
    CHECK(acp_subscription_prorata(1000, t0, t0 + 3 * D, t0 + 2 * D) == 333);
    CHECK(acp_subscription_prorata(1, t0, t0 + 3 * D, t0 + 1) == 0);
    /* against the exact value over many points: floor, never above, within one */
    paid = 365 * D + 7;
    for (price = 1; price < 2000000; price = price * 3 + 1) {
        for (now = t0; now <= t0 + paid; now += paid / 37 + 1) {
            long long r = acp_subscription_prorata(price, t0, t0 + paid, now);
            __int128 exact_num = (__int128)price * (t0 + paid - now);
            CHECK((__int128)r * paid <= exact_num && exact_num < (__int128)(r + 1) * paid);
        }
    }
    /* large prices and terms do not overflow */
    CHECK(acp_subscription_prorata(1000000000000LL, t0, t0 + 3650 * D, t0 + 1825 * D) ==
          500000000000LL);
    /* the renewal window: at most half the term */
    CHECK(acp_subscription_window(30 * D, 365 * D) == 30 * D);
    CHECK(acp_subscription_window(30 * D, 2 * D) == D);
    CHECK(acp_subscription_window(-1, 2 * D) == 0);
    /* names: a subset is covered, a superset or another set is not */
    CHECK(acp_subscription_names_subset(p, "a.test", "a.test,b.test"));
    CHECK(acp_subscription_names_subset(p, "a.test,b.test", "a.test,b.test"));
    CHECK(!acp_subscription_names_subset(p, "a.test,c.test", "a.test,b.test"));
    CHECK(!acp_subscription_names_subset(p, "a.tes", "a.test,b.test"));
    CHECK(!acp_subscription_names_subset(p, "x.a.test", "a.test"));
}
