/* The one table from internal error kinds to RFC 8555 problem types (§6.7) and HTTP
 * statuses. The web front end renders answers from it; the RA uses it only to store
 * a challenge's or order's error object. */
#ifndef ACP_PROBLEM_H
#define ACP_PROBLEM_H

#include <json-c/json.h>
#include "acp_core.h"

const char *acp_problem_type(acp_errkind_t kind);
int acp_problem_status(acp_errkind_t kind);
/* {"type", "detail", "status"[, "instance"][, "identifier"]}; caller owns the object. */
json_object *acp_problem_json(const acp_problem_t *prob);

#endif
