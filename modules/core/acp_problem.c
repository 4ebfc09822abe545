/* Internal error kinds -> RFC 8555 problem types and HTTP statuses. */
#include "acp_problem.h"
#include "acp_ident.h"

#define NS "urn:ietf:params:acme:error:"

static const struct {
    const char *type;
    int status;
} kinds[ACP_ERR_KINDS_END] = {
    [ACP_ERR_NONE] = {NS "serverInternal", 500},
    [ACP_ERR_MALFORMED] = {NS "malformed", 400},
    [ACP_ERR_UNAUTHORIZED] = {NS "unauthorized", 403},
    [ACP_ERR_BAD_NONCE] = {NS "badNonce", 400},
    [ACP_ERR_BAD_SIGNATURE_ALG] = {NS "badSignatureAlgorithm", 400},
    [ACP_ERR_BAD_PUBLIC_KEY] = {NS "badPublicKey", 400},
    [ACP_ERR_ACCOUNT_DOES_NOT_EXIST] = {NS "accountDoesNotExist", 400},
    [ACP_ERR_BAD_CSR] = {NS "badCSR", 400},
    [ACP_ERR_ORDER_NOT_READY] = {NS "orderNotReady", 403},
    [ACP_ERR_REJECTED_IDENTIFIER] = {NS "rejectedIdentifier", 400},
    [ACP_ERR_UNSUPPORTED_IDENTIFIER] = {NS "unsupportedIdentifier", 400},
    [ACP_ERR_UNSUPPORTED_CONTACT] = {NS "unsupportedContact", 400},
    [ACP_ERR_INVALID_CONTACT] = {NS "invalidContact", 400},
    [ACP_ERR_CONNECTION] = {NS "connection", 400},
    [ACP_ERR_DNS] = {NS "dns", 400},
    [ACP_ERR_INCORRECT_RESPONSE] = {NS "incorrectResponse", 400},
    [ACP_ERR_TLS] = {NS "tls", 400},
    [ACP_ERR_CAA] = {NS "caa", 403},
    [ACP_ERR_ALREADY_REVOKED] = {NS "alreadyRevoked", 400},
    [ACP_ERR_BAD_REVOCATION_REASON] = {NS "badRevocationReason", 400},
    [ACP_ERR_EXTERNAL_ACCOUNT_REQUIRED] = {NS "externalAccountRequired", 401},
    [ACP_ERR_USER_ACTION_REQUIRED] = {NS "userActionRequired", 403},
    [ACP_ERR_RATE_LIMITED] = {NS "rateLimited", 429},
    [ACP_ERR_SERVER_INTERNAL] = {NS "serverInternal", 500},
    [ACP_ERR_NOT_FOUND] = {NS "malformed", 404},
    [ACP_ERR_METHOD] = {NS "malformed", 405},
    [ACP_ERR_MEDIA_TYPE] = {NS "malformed", 415},
    [ACP_ERR_TOO_LARGE] = {NS "malformed", 413},
    [ACP_ERR_CONFLICT] = {NS "malformed", 409},
    [ACP_ERR_ALREADY_REPLACED] = {NS "alreadyReplaced", 409},
    [ACP_ERR_INVALID_PROFILE] = {NS "invalidProfile", 400},
    /* RFC 8555 has no type for "try again later"; serverInternal with 503 and Retry-After
     * (RFC 9110 §15.6.4) is what clients retry */
    [ACP_ERR_UNAVAILABLE] = {NS "serverInternal", 503},
};

const char *acp_problem_type(acp_errkind_t kind)
{
    if (kind <= ACP_ERR_NONE || kind >= ACP_ERR_KINDS_END) {
        kind = ACP_ERR_SERVER_INTERNAL;
    }
    return kinds[kind].type;
}

int acp_problem_status(acp_errkind_t kind)
{
    if (kind <= ACP_ERR_NONE || kind >= ACP_ERR_KINDS_END) {
        kind = ACP_ERR_SERVER_INTERNAL;
    }
    return kinds[kind].status;
}

json_object *acp_problem_json(const acp_problem_t *prob)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "type", json_object_new_string(acp_problem_type(prob->kind)));
    json_object_object_add(o, "detail", json_object_new_string(prob->detail ? prob->detail : ""));
    json_object_object_add(o, "status", json_object_new_int(acp_problem_status(prob->kind)));
    if (prob->instance) {
        json_object_object_add(o, "instance", json_object_new_string(prob->instance));
    }
    if (prob->ident) {
        json_object *id = json_object_new_object();
        const char *t = prob->ident_type ? prob->ident_type : acp_ident_type(prob->ident);
        json_object_object_add(id, "type", json_object_new_string(t));
        json_object_object_add(id, "value", json_object_new_string(prob->ident));
        json_object_object_add(o, "identifier", id);
    }
    return o;
}
