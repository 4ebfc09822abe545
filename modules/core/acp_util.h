/* Small helpers: base64url, random identifiers, hex, a growable string, time. */
#ifndef ACP_UTIL_H
#define ACP_UTIL_H

#include <stddef.h>
#include <apr_pools.h>

/* base64url without padding (RFC 7515 §2). */
char *acp_b64url_encode(apr_pool_t *p, const unsigned char *data, size_t len);
/* Strict decode: only [A-Za-z0-9_-], no padding, no whitespace.
 * Returns 0 on success (*out NUL-terminated for convenience), -1 on bad input. */
int acp_b64url_decode(apr_pool_t *p, const char *in, size_t inlen,
                      unsigned char **out, size_t *outlen);

/* nbytes of CSPRNG output, base64url-encoded. */
char *acp_random_id(apr_pool_t *p, int nbytes);

/* Lowercase hex of data. */
char *acp_hex(apr_pool_t *p, const unsigned char *data, size_t len);
/* The value of one hex digit (either case), -1 for anything else. Callers holding a char
 * pass it as unsigned char, so that a negative char stays -1. */
int acp_hexval(int c);

/* A growable string in a pool: b is always NUL-terminated; growing doubles the capacity
 * and leaves the old block to the pool. */
typedef struct acp_buf_t {
    apr_pool_t *p;
    char *b;
    size_t len, cap;
} acp_buf_t;
/* An empty string with room for cap bytes (64 when cap is 0), the NUL included. */
void acp_buf_init(acp_buf_t *sb, apr_pool_t *p, size_t cap);
/* Appends n bytes of s. */
void acp_buf_addn(acp_buf_t *sb, const char *s, size_t n);
/* Appends the string s. */
void acp_buf_add(acp_buf_t *sb, const char *s);

/* RFC 3339 UTC timestamp of a unix time (seconds). */
char *acp_rfc3339(apr_pool_t *p, long long unix_seconds);
/* Parse RFC 3339; returns 0 and sets *out (unix seconds) or -1. */
int acp_rfc3339_parse(const char *s, long long *out);

long long acp_now(void); /* unix seconds */

/* Text for a terminal: every control character -- C0 (newline and tab too), DEL, C1 as a
 * raw byte or UTF-8-encoded (U+0080..U+009F: 8-bit CSI, OSC, …) -- and every byte that is
 * not part of valid UTF-8 becomes a visible escape ("\x1b", "\u009b"); other UTF-8 stays.
 * Returns s itself when nothing needs escaping; NULL stays NULL. */
const char *acp_text_safe(apr_pool_t *p, const char *s);
/* JSON text (as json-c writes it, C0 already escaped) with DEL and U+0080..U+009F written
 * as \u escapes and bytes that are not UTF-8 as \ufffd: safe to print on a terminal. */
const char *acp_json_safe(apr_pool_t *p, const char *json);

#endif
