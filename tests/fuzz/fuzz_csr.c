/* acp_csr_parse (DER PKCS#10: signature, key policy, names) and acp_csr_check against an
 * order's names, as finalize does. */
#include "fuzz_common.h"
#include "acp_ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    acp_csr_t *csr = NULL;

    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    if (acp_csr_parse(p, data, size, &csr) == NULL && csr) {
        apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
        APR_ARRAY_PUSH(names, const char *) = "fuzz.example.com";
        APR_ARRAY_PUSH(names, const char *) = "www.fuzz.example.com";
        acp_csr_check(p, csr, names, NULL);
        acp_csr_check(p, csr, csr->names, NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
