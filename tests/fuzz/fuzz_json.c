/* acp_json_parse: every JSON document the server reads from the network goes through it
 * (JWS objects, protected headers, payloads, webhook bodies, stored JWKs). */
#include "fuzz_common.h"
#include "acp_jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_object *o;

    fuzz_init_apr();
    apr_pool_create(&p, fuzz_root);
    o = acp_json_parse(p, (const char *)data, size);
    if (o) {
        /* what the server does next with a parsed document */
        (void)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    }
    apr_pool_destroy(p);
    return 0;
}
