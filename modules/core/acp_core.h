/* mod_acme_pay core: shared types. Apache-free (APR, OpenSSL, json-c only). */
#ifndef ACP_CORE_H
#define ACP_CORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* Internal error kinds. Core code returns these; only the web front end
 * (acp_wfe.c) maps them to an RFC 8555 problem type and HTTP status. */
typedef enum {
    ACP_ERR_NONE = 0,
    ACP_ERR_MALFORMED,
    ACP_ERR_UNAUTHORIZED,
    ACP_ERR_BAD_NONCE,
    ACP_ERR_BAD_SIGNATURE_ALG,
    ACP_ERR_BAD_PUBLIC_KEY,
    ACP_ERR_ACCOUNT_DOES_NOT_EXIST,
    ACP_ERR_BAD_CSR,
    ACP_ERR_ORDER_NOT_READY,
    ACP_ERR_REJECTED_IDENTIFIER,
    ACP_ERR_UNSUPPORTED_IDENTIFIER,
    ACP_ERR_UNSUPPORTED_CONTACT,
    ACP_ERR_INVALID_CONTACT,
    ACP_ERR_CONNECTION,
    ACP_ERR_DNS,
    ACP_ERR_INCORRECT_RESPONSE,
    ACP_ERR_TLS,
    ACP_ERR_CAA,
    ACP_ERR_ALREADY_REVOKED,
    ACP_ERR_BAD_REVOCATION_REASON,
    ACP_ERR_EXTERNAL_ACCOUNT_REQUIRED,
    ACP_ERR_USER_ACTION_REQUIRED,
    ACP_ERR_RATE_LIMITED,
    ACP_ERR_SERVER_INTERNAL,
    ACP_ERR_NOT_FOUND,         /* 404, malformed type */
    ACP_ERR_METHOD,            /* 405, malformed type */
    ACP_ERR_MEDIA_TYPE,        /* 415, malformed type */
    ACP_ERR_TOO_LARGE,         /* 413, malformed type */
    ACP_ERR_CONFLICT,          /* 409, malformed type (keyChange to a used key) */
    ACP_ERR_ALREADY_REPLACED,  /* 409, RFC 9773 alreadyReplaced */
    ACP_ERR_INVALID_PROFILE,   /* 400, draft-ietf-acme-profiles invalidProfile */
    ACP_ERR_UNAVAILABLE,       /* 503, serverInternal type: the database cannot be used now */
    ACP_ERR_KINDS_END
} acp_errkind_t;

struct acp_pay_request_t;

/* Retry-After (seconds) on a 503 while the database cannot be used. */
#define ACP_UNAVAILABLE_RETRY_AFTER 5

typedef struct acp_problem_t {
    acp_errkind_t kind;
    const char *detail;
    const char *instance;   /* optional URL (payment link) */
    const char *ident;      /* optional identifier value (subproblem) */
    const char *ident_type; /* its type ("dns", "ip"); NULL: told from the value */
    /* a payment request: the web front end renders it for the client (User-Agent) */
    struct acp_pay_request_t *payment;
    int commit;             /* the writes made before this problem must be kept */
    int retry_after;        /* seconds for a Retry-After header (rateLimited); 0: none */
} acp_problem_t;

/* Allocate a problem in pool p; detail is printf-formatted. */
acp_problem_t *acp_problem(apr_pool_t *p, acp_errkind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
