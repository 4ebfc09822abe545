/* Ethereum payment options (acp_eth.c): token directive checks, human amounts, EIP-681
 * token URIs, token amounts with a unique tag below one minor unit, per-token uniqueness
 * among open invoices, the options of an invoice, and their rendering in the finalize
 * problem detail (acp_pay_detail). */
#include <stdlib.h>
#include <unistd.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_eth.h"
#include "acp_chain.h"
#include "acp_pay.h"
#include "acp_qr.h"
#include "acp_util.h"

#define TO "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define USDC "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define WPM "10000000000000"

static void checks(void)
{
    CHECK(acp_eth_token_check("USDC", USDC, "6", "1400") == NULL);
    CHECK(acp_eth_token_check("", USDC, "6", "1400") != NULL);
    CHECK(acp_eth_token_check("US-DC", USDC, "6", "1400") != NULL);
    CHECK(acp_eth_token_check("ABCDEFGHIJKL", USDC, "6", "1400") != NULL);
    CHECK(acp_eth_token_check("eth", USDC, "6", "1400") != NULL);
    CHECK(acp_eth_token_check("USDC", "0x5fbdb2315678afecb367f032d93f642f64180aa3", "6",
                              "1400") != NULL); /* no checksum */
    CHECK(acp_eth_token_check("USDC", USDC, "37", "1400") != NULL);
    CHECK(acp_eth_token_check("USDC", USDC, "-1", "1400") != NULL);
    CHECK(acp_eth_token_check("USDC", USDC, "6x", "1400") != NULL);
    CHECK(acp_eth_token_check("USDC", USDC, "6", "99") != NULL); /* no room for a tag */
    CHECK(acp_eth_token_check("USDC", USDC, "6", "1e5") != NULL);
    CHECK(acp_eth_token_check("USDC", USDC, "6", "99999999999999999999999999999999999999")
          != NULL);
}

static void human(apr_pool_t *p)
{
    CHECK_STR(acp_eth_human(p, "1000000000000000042", 18), "1.000000000000000042");
    CHECK_STR(acp_eth_human(p, "10000000000004242", 18), "0.010000000000004242");
    CHECK_STR(acp_eth_human(p, "1500000", 6), "1.5");
    CHECK_STR(acp_eth_human(p, "1000000", 6), "1");
    CHECK_STR(acp_eth_human(p, "7", 0), "7");
    CHECK_STR(acp_eth_human(p, "0", 6), "0");
    CHECK_STR(acp_eth_human(p, "000123", 2), "1.23");
    CHECK_STR(acp_eth_human(p, "5", 3), "0.005");
    CHECK(acp_eth_human(p, "", 6) == NULL);
    CHECK(acp_eth_human(p, "12a", 6) == NULL);
    CHECK(acp_eth_human(p, NULL, 6) == NULL);
}

static void uris(apr_pool_t *p)
{
    unsigned __int128 v;
    const char *s;
    int i;

    CHECK_STR(acp_eth_token_uri(p, "0x5fbdb2315678afecb367f032d93f642f64180aa3", 1, TO, "1400042"),
              "ethereum:" USDC "@1/transfer?address=" TO "&uint256=1400042");
    CHECK(acp_eth_token_uri(p, "0x1234", 1, TO, "1") == NULL);
    CHECK(acp_eth_token_uri(p, USDC, 0, TO, "1") == NULL);
    CHECK(acp_eth_token_uri(p, USDC, 1, TO, "1x") == NULL);
    /* amount × units + a tag in 1 .. units - 1 */
    for (i = 0; i < 2000; i++) {
        s = acp_eth_token_value(p, 1000, "1400", (unsigned)rand());
        CHECK(s && acp_dec_u128(s, &v) == 0 && v > 1400000 && v < 1401400);
    }
    CHECK_STR(acp_eth_token_value(p, 1000, "1400", 0), "1400001");
    CHECK_STR(acp_eth_token_value(p, 1000, "1400", 1398), "1401399");
    CHECK_STR(acp_eth_token_value(p, 5, "1000000000000000000", 999998), "5000000000000999999");
    CHECK(acp_eth_token_value(p, 1LL << 62, "340282366920938463463374607431768211455", 0) == NULL);
    CHECK(acp_eth_token_value(p, -1, "1400", 0) == NULL);
}

static const char *option(apr_array_header_t *o, const char *sym, const char **uri)
{
    int i;
    for (i = 0; o && i < o->nelts; i++) {
        acp_eth_option_t *e = &APR_ARRAY_IDX(o, i, acp_eth_option_t);
        if (!strcmp(e->symbol, sym)) {
            if (uri) {
                *uri = e->uri;
            }
            return e->amount;
        }
    }
    return NULL;
}

static void options(apr_pool_t *p)
{
    const char *path = acp_t_sqlite_db(p, "eth");
    int i, n = 0;
    acp_db_t *db = NULL;
    const char *err = NULL, *uri = NULL, *amt;
    apr_array_header_t *tokens = apr_array_make(p, 2, sizeof(acp_eth_token_t)), *o = NULL;
    acp_eth_token_t *t;
    apr_hash_t *seen = apr_hash_make(p);

    CHECK(acp_sa_open(p, "sqlite3", path, 1, &db, &err) == APR_SUCCESS);
    if (!db) {
        return;
    }
    t = apr_array_push(tokens);
    t->symbol = "USDC";
    t->contract = USDC;
    t->decimals = 6;
    t->units_per_minor = "1000"; /* 999 tags for 120 invoices of one amount */
    t = apr_array_push(tokens);
    t->symbol = "DAI";
    t->contract = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    t->decimals = 18;
    t->units_per_minor = "1400000000000000";
    /* 120 open invoices of one amount: every USDC amount distinct */
    for (i = 0; i < 120; i++) {
        const char *id = apr_psprintf(p, "inv-%d", i);
        CHECK(acp_sa_exec(db, p, "acp_invoice_insert", &n,
                          ACP_SA_ARGS(id, "h1", NULL, "1000", "CNY", "https://x/i",
                                      acp_eip681_uri(p, TO, 31337, 1000, WPM, i + 1),
                                      acp_sa_ll(p, acp_now()),
                                      acp_sa_ll(p, acp_now() + 3600))) == APR_SUCCESS);
        CHECK(acp_eth_invoice_tokens_tx(db, p, tokens, TO, 31337, id, 1000) == APR_SUCCESS);
        CHECK(acp_eth_invoice_options(db, p, id, &o) == APR_SUCCESS);
        CHECK(o && o->nelts == 3);
        amt = option(o, "USDC", &uri);
        CHECK(amt && !apr_hash_get(seen, amt, APR_HASH_KEY_STRING));
        if (amt) {
            apr_hash_set(seen, amt, APR_HASH_KEY_STRING, "1");
            CHECK(!strncmp(amt, "1.000", 5));
        }
        CHECK(uri && !strncmp(uri, "ethereum:" USDC "@31337/transfer?address=" TO "&uint256=1000",
                              strlen("ethereum:" USDC "@31337/transfer?address=" TO "&uint256=1000")));
    }
    /* ETH first, 18 decimals */
    CHECK(acp_eth_invoice_options(db, p, "inv-0", &o) == APR_SUCCESS);
    CHECK(o->nelts == 3 && !strcmp(APR_ARRAY_IDX(o, 0, acp_eth_option_t).symbol, "ETH"));
    CHECK_STR(option(o, "ETH", NULL), "0.010000000000000001");
    CHECK(option(o, "DAI", NULL) && !strncmp(option(o, "DAI", NULL), "1.4", 3));
    CHECK(acp_eth_invoice_options(db, p, "nope", &o) == APR_NOTFOUND);
}

static void detail(apr_pool_t *p)
{
    acp_pay_request_t req;
    apr_array_header_t *o = apr_array_make(p, 2, sizeof(acp_eth_option_t));
    acp_eth_option_t *e;
    const char *eth = "ethereum:" TO "@1?value=10000000000004242";
    const char *usdc = "ethereum:" USDC "@1/transfer?address=" TO "&uint256=1400077";
    const char *d;

    e = apr_array_push(o);
    e->symbol = "ETH";
    e->amount = "0.010000000000004242";
    e->uri = eth;
    e = apr_array_push(o);
    e->symbol = "USDC";
    e->amount = "1.400077";
    e->uri = usdc;
    memset(&req, 0, sizeof(req));
    req.amount_minor = 1000;
    req.currency = "CNY";
    req.link = "https://acme.example/pay/x";
    req.eip681 = eth;
    req.eth_options = o;
    d = acp_pay_detail(p, &req, acp_client_profile("lego-cli/4.9.1"));
    CHECK(d && strstr(d, "\nEthereum (ETH): 0.010000000000004242 ETH\n"));
    CHECK(d && strstr(d, "\nEthereum (USDC): 1.400077 USDC\n"));
    CHECK(d && strstr(d, acp_qr_text(p, eth, 0)));
    CHECK(d && strstr(d, acp_qr_text(p, usdc, 0)));
    CHECK(d && strstr(d, "\nEthereum: ") && strstr(d, apr_pstrcat(p, "\nEthereum: ", usdc, "\n", NULL)));
    /* the first "Ethereum: " line is still the ETH URI (scripts read it) */
    CHECK(d && !strncmp(strstr(d, "\nEthereum: ") + 11, eth, strlen(eth)));
    /* ASCII clients: ASCII QRs; clients that squash newlines: none */
    d = acp_pay_detail(p, &req, acp_client_profile("acme.sh/3.0.7"));
    CHECK(d && (strstr(d, acp_qr_text(p, usdc, 1)) || strstr(d, acp_qr_text(p, usdc, 0))));
    req.eth_options = NULL;
    d = acp_pay_detail(p, &req, NULL);
    CHECK(d && strstr(d, apr_pstrcat(p, "\nEthereum: ", eth, "\n", NULL)) &&
          !strstr(d, "Ethereum ("));
}

static void run_tests(apr_pool_t *p)
{
    checks();
    human(p);
    uris(p);
    options(p);
    detail(p);
}
