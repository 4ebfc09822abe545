/* The chain watcher's readers of untrusted RPC numbers and its invoice matching
 * (exact amount; unique tag with other whole minor units; ambiguous or foreign: none). */
#include <stdlib.h>
#include <unistd.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_chain.h"
#include "acp_util.h"
#include "acp_eth.h"

#define ADDR "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define WPM "10000000000000"

static void numbers(apr_pool_t *p)
{
    long long q = -1;
    unsigned __int128 v = 0;

    CHECK(acp_hex_quantity("0x0", &q) == 0 && q == 0);
    CHECK(acp_hex_quantity("0x1b4", &q) == 0 && q == 436);
    CHECK(acp_hex_quantity("0x", &q) != 0);
    CHECK(acp_hex_quantity("1b4", &q) != 0);
    CHECK(acp_hex_quantity("0x12abz", &q) != 0);
    CHECK(acp_hex_quantity("0xffffffffffffffffffff", &q) != 0);   /* huge block number */
    CHECK(acp_hex_quantity("0x8000000000000000", &q) != 0);
    CHECK(acp_hex_quantity(NULL, &q) != 0);
    CHECK(acp_hex_u128("0x" "ffffffffffffffffffffffffffffffff", &v) == 0 && v == ~(unsigned __int128)0);
    CHECK(acp_hex_u128("0x1" "00000000000000000000000000000000", &v) != 0); /* 2^128 */
    CHECK(acp_hex_u128("0x" "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &v) != 0);
    CHECK(acp_hex_u128("0xzz", &v) != 0);
    CHECK(acp_hex_u128("0x00000000000000000000000000000000000000000000000000000000000000001", &v) != 0);
    CHECK(acp_hex_u128("0x2386f26fc10000", &v) == 0);
    CHECK_STR(acp_u128_dec(p, v), "10000000000000000");
    CHECK(acp_dec_u128("340282366920938463463374607431768211455", &v) == 0);
    CHECK_STR(acp_u128_dec(p, v), "340282366920938463463374607431768211455");
    CHECK(acp_dec_u128("340282366920938463463374607431768211456", &v) != 0);
    CHECK(acp_dec_u128("12a", &v) != 0);
    CHECK(acp_dec_u128("", &v) != 0);
    CHECK_STR(acp_u128_dec(p, 0), "0");
    CHECK(acp_hex_fixed("0x" "00112233445566778899aabbccddeeff00112233", 40));
    CHECK(!acp_hex_fixed("0x" "00112233445566778899aabbccddeeff0011223", 40));
    CHECK(!acp_hex_fixed("0x" "00112233445566778899aabbccddeeff0011223g", 40));
}

static void invoice(acp_db_t *db, apr_pool_t *p, const char *id, long long amount,
                    long long unique)
{
    const char *uri = acp_eip681_uri(p, ADDR, 31337, amount, WPM, unique);
    CHECK(acp_sa_exec(db, p, "acp_invoice_insert", NULL,
                      ACP_SA_ARGS(id, "h1", NULL, acp_sa_ll(p, amount), "CNY", "https://x/i",
                                  uri, acp_sa_ll(p, acp_now()),
                                  acp_sa_ll(p, acp_now() + 3600))) == APR_SUCCESS);
}

static void matching(apr_pool_t *p)
{
    const char *path = acp_t_sqlite_db(p, "chain");
    acp_db_t *db = NULL;
    const char *err = NULL, *inv = NULL;
    long long minor = 0;
    acp_chain_cfg_t cfg = {NULL, NULL, 5, 1, ADDR, 31337, WPM, "CNY", NULL};
    unsigned __int128 wpm = 10000000000000ULL;

    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        return;
    }
    invoice(db, p, "inv-a", 1000, 4242);
    invoice(db, p, "inv-b", 1000, 777);
    invoice(db, p, "inv-c", 500, 777);   /* same tag as inv-b, other amount */
    /* exact */
    CHECK(acp_chain_match(db, p, &cfg, 1000 * wpm + 4242, &inv, &minor) == APR_SUCCESS);
    CHECK_STR(inv, "inv-a");
    CHECK(minor == 1000);
    /* the tag with 300 minor units less, or 500 more */
    CHECK(acp_chain_match(db, p, &cfg, 700 * wpm + 4242, &inv, &minor) == APR_SUCCESS);
    CHECK_STR(inv, "inv-a");
    CHECK(minor == 700);
    CHECK(acp_chain_match(db, p, &cfg, 1500 * wpm + 4242, &inv, &minor) == APR_SUCCESS);
    CHECK(inv && minor == 1500);
    /* exact wins over a shared tag; a shared tag alone is ambiguous */
    CHECK(acp_chain_match(db, p, &cfg, 500 * wpm + 777, &inv, &minor) == APR_SUCCESS);
    CHECK_STR(inv, "inv-c");
    CHECK(acp_chain_match(db, p, &cfg, 900 * wpm + 777, &inv, &minor) == APR_SUCCESS);
    CHECK(inv == NULL);
    /* no tag, a tag nobody has, dust, huge */
    CHECK(acp_chain_match(db, p, &cfg, 1000 * wpm, &inv, &minor) == APR_SUCCESS && !inv);
    CHECK(acp_chain_match(db, p, &cfg, 1000 * wpm + 4243, &inv, &minor) == APR_SUCCESS && !inv);
    CHECK(acp_chain_match(db, p, &cfg, 4242, &inv, &minor) == APR_SUCCESS && !inv);
    CHECK(acp_chain_match(db, p, &cfg, ~(unsigned __int128)0, &inv, &minor) == APR_SUCCESS &&
          !inv);
}

static void run_tests(apr_pool_t *p)
{
    numbers(p);
    matching(p);
}
