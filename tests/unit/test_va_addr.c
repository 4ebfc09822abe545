/* The validation authority's address policy: every IANA special-purpose range refused
 * (first and last address, naming the range; IPv4-mapped IPv6 judged as its IPv4
 * address), public neighbours allowed, and AcmePayValidationAllow's exempt ranges.
 * Against live targets (pebble-challtestsrv): test_va.c. */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_va.h"

/* Every IANA special-purpose range (IPv4 and IPv6 registries, plus multicast, reserved and
 * the IPv6 space outside 2000::/3): its first and last address are refused, naming the
 * range; public neighbours are allowed. */
static void test_special_addresses(apr_pool_t *p)
{
    static const struct {
        const char *addr, *want; /* want: substring of the refusal, NULL = allowed */
    } cases[] = {
        {"0.0.0.0", "0.0.0.0/8 (RFC 1122"}, {"0.255.255.255", "0.0.0.0/8"},
        {"10.0.0.1", "address 10.0.0.1 is in 10.0.0.0/8 (RFC 1918 private-use)"},
        {"10.255.255.255", "10.0.0.0/8"},
        {"100.64.0.0", "100.64.0.0/10 (RFC 6598"}, {"100.127.255.255", "100.64.0.0/10"},
        {"100.128.0.0", NULL}, {"100.63.255.255", NULL},
        {"127.0.0.1", "127.0.0.0/8 (RFC 1122 loopback)"}, {"127.255.255.254", "127.0.0.0/8"},
        {"169.254.169.254", "169.254.0.0/16 (RFC 3927 link-local"},
        {"169.254.0.0", "169.254.0.0/16"},
        {"172.16.0.0", "172.16.0.0/12 (RFC 1918"}, {"172.31.255.255", "172.16.0.0/12"},
        {"172.32.0.0", NULL}, {"172.15.255.255", NULL},
        {"192.0.0.8", "192.0.0.0/24 (RFC 6890"}, {"192.0.0.255", "192.0.0.0/24"},
        {"192.0.2.1", "192.0.2.0/24 (RFC 5737"}, {"192.31.196.1", "192.31.196.0/24 (RFC 7535"},
        {"192.52.193.1", "192.52.193.0/24 (RFC 7450"}, {"192.88.99.1", "192.88.99.0/24 (RFC 7526"},
        {"192.168.0.1", "192.168.0.0/16 (RFC 1918"}, {"192.168.255.255", "192.168.0.0/16"},
        {"192.175.48.1", "192.175.48.0/24 (RFC 7534"},
        {"198.18.0.0", "198.18.0.0/15 (RFC 2544"}, {"198.19.255.255", "198.18.0.0/15"},
        {"198.20.0.0", NULL}, {"198.17.255.255", NULL},
        {"198.51.100.7", "198.51.100.0/24 (RFC 5737"}, {"203.0.113.9", "203.0.113.0/24 (RFC 5737"},
        {"224.0.0.1", "224.0.0.0/4 (RFC 5771 multicast)"}, {"239.255.255.255", "224.0.0.0/4"},
        {"240.0.0.1", "240.0.0.0/4 (RFC 1112"}, {"255.255.255.254", "240.0.0.0/4"},
        {"255.255.255.255", "255.255.255.255/32 (RFC 919 limited broadcast)"},
        {"8.8.8.8", NULL}, {"1.1.1.1", NULL}, {"223.255.255.255", NULL}, {"192.0.3.1", NULL},
        {"::", "::/128 (RFC 4291 unspecified"}, {"::1", "::1/128 (RFC 4291 loopback)"},
        {"::8.8.8.8", "::/96 (RFC 4291 deprecated IPv4-compatible)"},
        {"::ffff:10.1.2.3", "address ::ffff:10.1.2.3 (IPv4-mapped 10.1.2.3) is in 10.0.0.0/8"},
        {"::ffff:169.254.169.254", "169.254.0.0/16"}, {"::ffff:127.0.0.1", "127.0.0.0/8"},
        {"::ffff:8.8.8.8", NULL},
        {"64:ff9b::a00:1", "64:ff9b::/96 (RFC 6052"}, {"64:ff9b:1::1", "64:ff9b:1::/48 (RFC 8215"},
        {"100::1", "100::/64 (RFC 6666"}, {"100:0:0:1::1", "100:0:0:1::/64 (RFC 9780"},
        {"2001::1", "2001::/32 (RFC 4380 Teredo)"}, {"2001:2::1", "2001:2::/48 (RFC 5180"},
        {"2001:20::1", "2001:20::/28 (RFC 7343"}, {"2001:1::1", "2001::/23 (RFC 2928"},
        {"2001:1ff:ffff::1", "2001::/23"}, {"2001:200::1", NULL},
        {"2001:db8::1", "2001:db8::/32 (RFC 3849"}, {"2002:a00:1::1", "2002::/16 (RFC 3056 6to4)"},
        {"2620:4f:8000::1", "2620:4f:8000::/48 (RFC 7534"}, {"3fff::1", "3fff::/20 (RFC 9637"},
        {"3fff:fff::1", "3fff::/20"}, {"3fff:1000::1", NULL},
        {"5f00::1", "5f00::/16 (RFC 9602"}, {"fc00::1", "fc00::/7 (RFC 4193 unique-local)"},
        {"fdff:ffff::1", "fc00::/7"}, {"fe80::1", "fe80::/10 (RFC 4291 link-local)"},
        {"febf::1", "fe80::/10"}, {"fec0::1", "fec0::/10 (RFC 3879"},
        {"ff02::1", "ff00::/8 (RFC 4291 multicast)"}, {"ff0e::1", "ff00::/8"},
        {"4000::1", "outside 2000::/3"}, {"1234::1", "outside 2000::/3"},
        {"2606:4700::1111", NULL}, {"2a00:1450:4001::1", NULL}, {"3ffe::1", NULL},
    };
    acp_va_cidr_t c;
    apr_array_header_t *allow = apr_array_make(p, 2, sizeof(acp_va_cidr_t));
    unsigned char a[16];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fam = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;
        const char *why;

        CHECK(inet_pton(fam, cases[i].addr, a) == 1);
        why = acp_va_addr_refusal(p, NULL, fam, a);
        if (cases[i].want ? !(why && strstr(why, cases[i].want)) : why != NULL) {
            fprintf(stderr, "address %s: got \"%s\", want \"%s\"\n", cases[i].addr,
                    why ? why : "(allowed)", cases[i].want ? cases[i].want : "(allowed)");
            CHECK(!"special-purpose classification");
        }
        else {
            CHECK(1);
        }
    }
    /* AcmePayValidationAllow: an exempt range, also through its IPv4-mapped form */
    CHECK(acp_va_cidr_parse(p, "127.0.0.0/8", &c) == NULL);
    APR_ARRAY_PUSH(allow, acp_va_cidr_t) = c;
    CHECK(acp_va_cidr_parse(p, "fd00:1::/32", &c) == NULL);
    APR_ARRAY_PUSH(allow, acp_va_cidr_t) = c;
    inet_pton(AF_INET, "127.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET, a) == NULL);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) == NULL);
    inet_pton(AF_INET6, "fd00:1:2::3", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) == NULL);
    inet_pton(AF_INET6, "fd00:2::3", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET6, a) != NULL);
    inet_pton(AF_INET, "10.0.0.1", a);
    CHECK(acp_va_addr_refusal(p, allow, AF_INET, a) != NULL);
    CHECK(acp_va_cidr_parse(p, "::1", &c) == NULL && c.bits == 128 && c.family == AF_INET6);
    CHECK(acp_va_cidr_parse(p, "10.1.2.3", &c) == NULL && c.bits == 32);
    CHECK(acp_va_cidr_parse(p, "10.0.0.1/8", &c) != NULL);     /* host bits set */
    CHECK(acp_va_cidr_parse(p, "10.0.0.0/33", &c) != NULL);
    CHECK(acp_va_cidr_parse(p, "10.0.0.0/", &c) != NULL);
    CHECK(acp_va_cidr_parse(p, "example.com/8", &c) != NULL);
}

static void run_tests(apr_pool_t *p)
{
    test_special_addresses(p);
}
