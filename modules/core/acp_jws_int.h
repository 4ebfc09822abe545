/* Internal to acp_jws.c and acp_jwk.c: the helpers both halves share. Not a public API. */
#ifndef ACP_JWS_INT_H
#define ACP_JWS_INT_H

#include <json-c/json.h>
#include <openssl/evp.h>
#include "acp_core.h"

typedef struct {
    const char *crv;   /* JWK name */
    const char *group; /* OpenSSL group name */
    int nid;
    size_t size;       /* field element octets */
} acp_jws_int_curve_t;

/* P-256, P-384, P-521, in that order (acp_jwk.c). */
extern const acp_jws_int_curve_t acp_jws_int_curves[];

/* The curve of an EC key, or NULL (not EC, or a curve we do not support) (acp_jwk.c). */
const acp_jws_int_curve_t *acp_jws_int_curve_of_key(EVP_PKEY *key);

/* Pool cleanup that puts a json_object (acp_jws.c). */
apr_status_t acp_jws_int_json_cleanup(void *data);

/* The string member name of o: 1 and *val set (no embedded NUL), 0 absent, -1 not a
 * string (acp_jws.c). */
int acp_jws_int_member_str(json_object *o, const char *name, const char **val, size_t *vlen);

#endif
