/* CRLs: the shard of a serial, shard numbers from URLs, the URL template. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_crl.h"

static void run_tests(apr_pool_t *p)
{
    /* the serial's value modulo the shard count */
    CHECK(acp_ca_crl_shard("00", 16) == 0);
    CHECK(acp_ca_crl_shard("1f", 16) == 15);
    CHECK(acp_ca_crl_shard("0100", 7) == 256 % 7);
    CHECK(acp_ca_crl_shard("7fffffffffffffffffffffffffffffff", 16) == 15);
    CHECK(acp_ca_crl_shard("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 10) ==
          acp_ca_crl_shard("7fffffffffffffffffffffffffffffff", 10));
    CHECK(acp_ca_crl_shard("12", 0) == -1);
    CHECK(acp_ca_crl_shard("-12", 16) == -1);
    CHECK(acp_ca_crl_shard("xyz", 16) == -1);
    CHECK(acp_ca_crl_shard("", 16) == -1);
    /* URL path segments: canonical decimal below the maximum, nothing else */
    CHECK(acp_crl_parse_shard("0") == 0);
    CHECK(acp_crl_parse_shard("15") == 15);
    CHECK(acp_crl_parse_shard("1023") == 1023);
    {
        static const char *bad[] = {"", "01", "-1", "+1", "1024", "99999", "999999999999",
                                    "1a", "a", " 1", "1 ", "0x1", "..", "1/"};
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            CHECK(acp_crl_parse_shard(bad[i]) == -1);
        }
    }
    CHECK(acp_crl_parse_shard(NULL) == -1);
    CHECK_STR(acp_ca_crl_url(p, "http://ca.example/crl/{shard}", 7), "http://ca.example/crl/7");
    CHECK_STR(acp_ca_crl_url(p, "http://ca.example/{shard}.crl", 12), "http://ca.example/12.crl");
}
