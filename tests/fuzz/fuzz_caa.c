/* CAA (RFC 8659): the answer parser on a whole untrusted DNS message (compression
 * pointers, CNAME chains, counts), then the issuance policy on what it returned, for a
 * name and a wildcard, against our identity with an account and a method. The first byte
 * picks the question name; a set that allows us must name us in an issue(wild) record. */
#include <strings.h>
#include "fuzz_common.h"
#include "acp_va.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const qnames[] = {"example.com", "a.example.com", "foo.example.com",
                                         "Example.COM."};
    apr_pool_t *p;
    apr_array_header_t *rrs, *ids;
    const char *err = NULL, *end = NULL;
    int w, i;

    if (size < 1) {
        return 0;
    }
    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    ids = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(ids, const char *) = "ca.example.net";
    rrs = acp_caa_parse_answer(p, data + 1, size - 1, qnames[data[0] % 4], &end, &err);
    if (!rrs && !err) {
        abort(); /* a refusal always says why */
    }
    if (rrs && (rrs->nelts > ACP_CAA_MAX_RRS || !end)) {
        abort();
    }
    for (w = 0; rrs && rrs->nelts > 0 && w < 2; w++) {
        const char *why = acp_caa_policy(p, rrs, ids, w, "http-01",
                                         "https://ca.example.net/acme/acct/A1");
        if (!why) {
            /* allowed: some issue(wild) record names us, or none restricts at all */
            int named = 0, restricts = 0;
            for (i = 0; i < rrs->nelts; i++) {
                const acp_caa_rr_t *rr = &APR_ARRAY_IDX(rrs, i, acp_caa_rr_t);
                if (!strcmp(rr->tag, "issue") || !strcmp(rr->tag, "issuewild")) {
                    restricts = 1;
                    named |= strncasecmp(rr->value + strspn(rr->value, " \t"),
                                         "ca.example.net", 14) == 0;
                }
            }
            if (restricts && !named) {
                abort();
            }
        }
    }
    /* the record parser alone, on the same bytes */
    {
        acp_caa_rr_t rr;
        if (acp_caa_parse_rdata(p, data + 1, size - 1, &rr) == 0 &&
            (!rr.tag || !rr.value || strlen(rr.tag) == 0 || strlen(rr.tag) > 15)) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
