/* Identifiers: acp_ident_normalize (the type from the first byte: "dns", "ip", other),
 * then what newOrder does with accepted names (wildcard test, the names key). */
#include <sys/socket.h>
#include "fuzz_common.h"
#include "acp_ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"dns", "ip", "DNS", ""};
    apr_pool_t *p;
    const char *norm = NULL;

    if (size < 1) {
        return 0;
    }
    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    if (acp_ident_normalize(p, types[data[0] % 4], fuzz_str(p, data + 1, size - 1), &norm) ==
            NULL &&
        norm) {
        apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
        const char *again = NULL;
        APR_ARRAY_PUSH(names, const char *) = norm;
        APR_ARRAY_PUSH(names, const char *) = "a.example.com";
        acp_ident_is_wildcard(norm);
        acp_ident_names_key(p, names);
        /* normalising a dns name is idempotent, and a dns name never reads as an address */
        if (data[0] % 4 == 0 &&
            (acp_ident_normalize(p, "dns", norm, &again) != NULL || strcmp(again, norm) != 0 ||
             acp_ident_ip_parse(norm, NULL) != 0 || strcmp(acp_ident_type(norm), "dns") != 0)) {
            abort();
        }
        /* an accepted ip identifier is the canonical text of its octets (RFC 8738 §3): it
         * parses back to the same text, has a reverse name, and is marked in the key */
        if (data[0] % 4 == 1) {
            unsigned char a[16];
            int family = acp_ident_ip_parse(norm, a);
            const char *text = acp_ident_ip_text(p, family, a);
            const char *rev = acp_ident_ip_reverse(p, norm);
            const char *key = acp_ident_names_key(p, names);
            if (!family || !text || strcmp(text, norm) != 0 || !rev ||
                strlen(rev) != (family == AF_INET ? strlen(norm) + 13 : 72) ||
                acp_ident_normalize(p, "ip", norm, &again) != NULL || strcmp(again, norm) != 0 ||
                strcmp(acp_ident_type(norm), "ip") != 0 ||
                !strstr(key, apr_pstrcat(p, "ip:", norm, NULL)) ||
                acp_ident_normalize(p, "dns", norm, &again) == NULL) {
                abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
