/* Identifier policy: normalisation and validation of ACME dns identifiers. */
#ifndef ACP_IDENT_H
#define ACP_IDENT_H

#include "acp_core.h"

/* Most identifiers in one order, and so most names in one CSR (the CSR is refused
 * before its names are looked at one by one). */
#define ACP_MAX_IDENTIFIERS 100

/* Normalise and validate an identifier of the given type. Only "dns" is supported
 * (other types: ACP_ERR_UNSUPPORTED_IDENTIFIER). The value is lowercased, a single
 * trailing dot removed; it must be a syntactically valid hostname of at least two
 * labels: LDH labels of 1..63 octets, total <= 253, no leading/trailing hyphen,
 * "xn--" A-labels allowed, no IP address literals, no non-ASCII,
 * a TLD that is not all digits. A wildcard is allowed only as the whole leftmost
 * label "*." followed by at least two labels. Otherwise ACP_ERR_REJECTED_IDENTIFIER
 * with a detail naming the value. On success *out is the normalised value. */
acp_problem_t *acp_ident_normalize(apr_pool_t *p, const char *type, const char *value,
                                   const char **out);

int acp_ident_is_wildcard(const char *normalized);

/* Sorted, de-duplicated, comma-joined list of normalised names: the "names key"
 * used to find a previous certificate for the same set of names. */
const char *acp_ident_names_key(apr_pool_t *p, const apr_array_header_t *names);

#endif
