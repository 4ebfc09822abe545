/* Identifier policy: normalisation and validation of ACME dns and ip identifiers. */
#ifndef ACP_IDENT_H
#define ACP_IDENT_H

#include "acp_core.h"

/* Most identifiers in one order, and so most names in one CSR (the CSR is refused
 * before its names are looked at one by one). */
#define ACP_MAX_IDENTIFIERS 100

/* Normalise and validate an identifier of the given type, "dns" or "ip" (other types:
 * ACP_ERR_UNSUPPORTED_IDENTIFIER).
 * "ip" (RFC 8738): the value must be an IPv4 address in dotted-decimal form or an IPv6
 * address in RFC 5952 canonical form, exactly (no leading zeros, lowercase hex, longest
 * zero run compressed, no zone id, no brackets): else ACP_ERR_MALFORMED naming the
 * canonical form; an IPv4-mapped IPv6 address: ACP_ERR_REJECTED_IDENTIFIER. *out is then
 * the value itself. A normalised dns name is never an IP literal, so the two can be told
 * apart by their text (acp_ident_type).
 * "dns": The value is lowercased, a single
 * trailing dot removed; it must be a syntactically valid hostname of at least two
 * labels: LDH labels of 1..63 octets, total <= 253, no leading/trailing hyphen,
 * "xn--" A-labels allowed, no IP address literals, no non-ASCII,
 * a TLD that is not all digits. A wildcard is allowed only as the whole leftmost
 * label "*." followed by at least two labels. Otherwise ACP_ERR_REJECTED_IDENTIFIER
 * with a detail naming the value. On success *out is the normalised value. */
acp_problem_t *acp_ident_normalize(apr_pool_t *p, const char *type, const char *value,
                                   const char **out);

int acp_ident_is_wildcard(const char *normalized);

/* "ip" when normalized is an IP identifier's value, else "dns". */
const char *acp_ident_type(const char *normalized);

/* AF_INET or AF_INET6 when name is an address in canonical text form (what normalising
 * an "ip" identifier keeps), with its bytes in addr (4 or 16 used; may be NULL); else 0. */
int acp_ident_ip_parse(const char *name, unsigned char addr[16]);

/* The canonical text of an address (4 or 16 bytes by family), in p; NULL if not one. */
const char *acp_ident_ip_text(apr_pool_t *p, int family, const unsigned char *addr);

/* The reverse-mapping name of an IP identifier (RFC 8738 §6, the tls-alpn-01 SNI):
 * "4.3.2.1.in-addr.arpa" for 1.2.3.4, 32 nibbles + ".ip6.arpa" for IPv6; NULL if ip is
 * not a canonical address. */
const char *acp_ident_ip_reverse(apr_pool_t *p, const char *ip);

/* Sorted, de-duplicated, comma-joined list of normalised names: the "names key"
 * used to find a previous certificate for the same set of names. An IP identifier
 * appears as "ip:<address>". */
const char *acp_ident_names_key(apr_pool_t *p, const apr_array_header_t *names);

#endif
