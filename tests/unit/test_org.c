/* Organizations (OV): country codes, field checks, the vetting state. */
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_org.h"

static void run_tests(apr_pool_t *p)
{
    acp_org_t o;
    long long now = 1800000000LL, day = 86400;

    /* ISO 3166-1 alpha-2: assigned codes only, upper case */
    CHECK(acp_org_country_ok("DE") && acp_org_country_ok("CN") && acp_org_country_ok("US") &&
          acp_org_country_ok("AD") && acp_org_country_ok("ZW") && acp_org_country_ok("GB"));
    CHECK(!acp_org_country_ok("XX") && !acp_org_country_ok("UK") && !acp_org_country_ok("de") &&
          !acp_org_country_ok("D") && !acp_org_country_ok("DEU") && !acp_org_country_ok("") &&
          !acp_org_country_ok(NULL) && !acp_org_country_ok("EU") && !acp_org_country_ok("ZZ"));
    /* text: UTF-8, no controls (C0, DEL, C1 raw or encoded), no outer spaces, bounded */
    CHECK(acp_org_text_check(p, "n", "Müller & Söhne KG", 64, 1) == NULL);
    CHECK(acp_org_text_check(p, "n", "北京示例有限公司", 64, 1) == NULL);
    CHECK(acp_org_text_check(p, "n", NULL, 64, 0) == NULL);
    CHECK(acp_org_text_check(p, "n", "", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "a\x1b[2Jb", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "a\nb", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "a\x7f", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "a\xc2\x9b" "31m", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "a\x9b", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", "\xc0\xaf", 64, 1) != NULL);      /* overlong */
    CHECK(acp_org_text_check(p, "n", "\xed\xa0\x80", 64, 1) != NULL);  /* surrogate */
    CHECK(acp_org_text_check(p, "n", " lead", 64, 1) != NULL);
    CHECK(acp_org_text_check(p, "n", apr_psprintf(p, "%064d", 1), 64, 1) == NULL);
    CHECK(acp_org_text_check(p, "n", apr_psprintf(p, "%065d", 1), 64, 1) != NULL);
    /* 64 two-byte characters fit, 65 do not */
    {
        char *s = apr_palloc(p, 2 * 65 + 1);
        int i;
        for (i = 0; i < 65; i++) {
            s[2 * i] = (char)0xc3;
            s[2 * i + 1] = (char)0xbc;
        }
        s[130] = '\0';
        CHECK(acp_org_text_check(p, "n", s, 64, 1) != NULL);
        s[128] = '\0';
        CHECK(acp_org_text_check(p, "n", s, 64, 1) == NULL);
    }
    /* the vetting: current until the earlier of its end and vetted_at + the period */
    memset(&o, 0, sizeof(o));
    CHECK(acp_org_state(&o, now, 397) == ACP_ORG_UNVETTED && acp_org_vetting_end(&o, 397) == 0);
    o.vetted_at = now - 10 * day;
    o.valid_until = o.vetted_at + 397 * day;
    CHECK(acp_org_state(&o, now, 397) == ACP_ORG_CURRENT);
    CHECK(acp_org_vetting_end(&o, 397) == o.valid_until);
    CHECK(acp_org_vetting_end(&o, 5) == o.vetted_at + 5 * day);
    CHECK(acp_org_state(&o, now, 5) == ACP_ORG_EXPIRED);
    CHECK(acp_org_state(&o, o.valid_until, 397) == ACP_ORG_EXPIRED);
    CHECK(acp_org_state(&o, o.valid_until - 1, 397) == ACP_ORG_CURRENT);
    o.revoked_at = now - 1;
    CHECK(acp_org_state(&o, now, 397) == ACP_ORG_REVOKED);
    CHECK_STR(acp_org_state_name(ACP_ORG_REVOKED), "revoked");
    CHECK_STR(acp_org_state_name(ACP_ORG_UNVETTED), "unvetted");
}
