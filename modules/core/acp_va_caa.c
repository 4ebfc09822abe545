/* Validation authority, CAA part (RFC 8659, with RFC 8657's accounturi and
 * validationmethods): the answer to a CAA query is parsed here from the raw DNS message
 * (untrusted: every length is checked against the bytes that are there), the relevant
 * RRset is found by climbing from the name to its parents, and the issue / issuewild
 * properties are matched against AcmePayCAAIdentities. Internal helpers: acp_va_int.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "acp_va.h"
#include "acp_va_int.h"
#include "acp_util.h"

#define CAA_TYPE       257
#define CAA_TAG_MAX    15   /* RFC 8659 §4.1.1: tags are at most 15 characters */
#define CNAME_TYPE     5
#define CAA_NAME_HOPS  128  /* compression pointers followed per name at most */
#define CAA_MAX_CNAMES 8    /* aliases followed for one CAA(X) at most (RFC 8659 §3) */
#define CAA_ASK_MAX    8    /* names of a climb asked at once; deeper ones one at a time */

/* ---------------------------------------------------------------- record parsing */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int acp_caa_parse_rdata(apr_pool_t *p, const unsigned char *rdata, size_t len,
                        acp_caa_rr_t *out)
{
    size_t taglen, vlen, i;
    char *tag, *val;

    memset(out, 0, sizeof(*out));
    if (!rdata || len < 2) {
        return -1;
    }
    taglen = rdata[1];
    if (taglen == 0 || taglen > CAA_TAG_MAX || 2 + taglen > len) {
        return -1;
    }
    tag = apr_palloc(p, taglen + 1);
    for (i = 0; i < taglen; i++) {
        unsigned char c = rdata[2 + i];
        if (!is_alnum(c)) {
            return -1;
        }
        tag[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c); /* tags are case-insensitive */
    }
    tag[taglen] = '\0';
    vlen = len - 2 - taglen;
    val = apr_palloc(p, vlen + 1);
    for (i = 0; i < vlen; i++) {
        unsigned char c = rdata[2 + taglen + i];
        val[i] = c ? (char)c : '?';
    }
    val[vlen] = '\0';
    out->flags = rdata[0];
    out->tag = tag;
    out->value = val;
    return 0;
}

static unsigned int get16(const unsigned char *b)
{
    return ((unsigned int)b[0] << 8) | b[1];
}

/* Read the (possibly compressed) name at *off into out (lowercase text, no trailing dot,
 * "" for the root; a byte outside [a-z0-9-_] in a label written as \DDD, so no label byte
 * can pass for a dot) and move *off past it. -1 when it runs off the message, loops
 * (more than CAA_NAME_HOPS pointers) or is longer than a name may be. */
static int read_name(const unsigned char *msg, size_t len, size_t *off, char *out, size_t outsz)
{
    size_t o = *off, w = 0, wire = 0;
    int hops = 0, jumped = 0;

    out[0] = '\0';
    for (;;) {
        unsigned char l;
        size_t i;
        if (o >= len) {
            return -1;
        }
        l = msg[o];
        if (l == 0) {
            if (!jumped) {
                *off = o + 1;
            }
            out[w] = '\0';
            return 0;
        }
        if ((l & 0xc0) == 0xc0) { /* a pointer: the name goes on elsewhere */
            if (o + 2 > len || ++hops > CAA_NAME_HOPS) {
                return -1;
            }
            if (!jumped) {
                *off = o + 2;
                jumped = 1;
            }
            o = ((size_t)(l & 0x3f) << 8) | msg[o + 1];
            continue;
        }
        if (l & 0xc0) {
            return -1; /* 0x40 / 0x80: extended label types, not used */
        }
        wire += 1 + (size_t)l;
        if (o + 1 + l > len || wire > 255) {
            return -1;
        }
        if (w > 0) {
            if (w + 1 >= outsz) {
                return -1;
            }
            out[w++] = '.';
        }
        for (i = 0; i < l; i++) {
            unsigned char c = msg[o + 1 + i];
            if (c >= 'A' && c <= 'Z') {
                c = (unsigned char)(c + 32);
            }
            if (is_alnum(c) || c == '-' || c == '_') {
                if (w + 1 >= outsz) {
                    return -1;
                }
                out[w++] = (char)c;
            }
            else {
                if (w + 4 >= outsz) {
                    return -1;
                }
                snprintf(out + w, 5, "\\%03u", c);
                w += 4;
            }
        }
        o += 1 + (size_t)l;
    }
}

/* The name as read_name writes it: lowercase, no trailing dot. */
static const char *canon_name(apr_pool_t *p, const char *name)
{
    char *c = apr_pstrdup(p, name), *q;
    size_t n = strlen(c);

    for (q = c; *q; q++) {
        if (*q >= 'A' && *q <= 'Z') {
            *q = (char)(*q + 32);
        }
    }
    if (n > 0 && c[n - 1] == '.') {
        c[n - 1] = '\0';
    }
    return c;
}

typedef struct {
    unsigned int type;
    const char *owner;
    size_t rdoff, rdlen;
} caa_ans_rr_t;

apr_array_header_t *acp_caa_parse_answer(apr_pool_t *p, const unsigned char *msg, size_t len,
                                         const char *qname, const char **end, const char **err)
{
    apr_array_header_t *rrs = apr_array_make(p, 4, sizeof(acp_caa_rr_t));
    apr_array_header_t *all;
    unsigned int qd, an, i;
    size_t off = 12;
    const char *cur;
    char name[1100];
    int hops, n, k;

    *err = NULL;
    *end = NULL;
    if (!msg || len < 12) {
        *err = "DNS answer shorter than its header";
        return NULL;
    }
    qd = get16(msg + 4);
    an = get16(msg + 6);
    for (i = 0; i < qd; i++) {
        if (read_name(msg, len, &off, name, sizeof(name)) != 0 || off + 4 > len) {
            *err = "DNS answer truncated in its question section";
            return NULL;
        }
        off += 4;
    }
    all = apr_array_make(p, an > 0 && an < 64 ? (int)an : 4, sizeof(caa_ans_rr_t));
    for (i = 0; i < an; i++) {
        caa_ans_rr_t rr;

        if (read_name(msg, len, &off, name, sizeof(name)) != 0 || off + 10 > len) {
            *err = "DNS answer truncated in its answer section";
            return NULL;
        }
        rr.type = get16(msg + off);
        rr.rdlen = get16(msg + off + 8);
        off += 10;
        if (rr.rdlen > len - off) {
            *err = "DNS answer record longer than the message";
            return NULL;
        }
        rr.rdoff = off;
        rr.owner = apr_pstrdup(p, name);
        off += rr.rdlen;
        if (rr.type == CAA_TYPE || rr.type == CNAME_TYPE) {
            if (all->nelts >= ACP_CAA_MAX_RRS + CAA_MAX_CNAMES) {
                *err = apr_psprintf(p, "more than %d CAA and CNAME records",
                                    ACP_CAA_MAX_RRS + CAA_MAX_CNAMES);
                return NULL;
            }
            APR_ARRAY_PUSH(all, caa_ans_rr_t) = rr;
        }
    }
    /* RFC 8659 §3 (RFC 1034 §4.3.2): CAA(X) follows X's aliases; the RRset is the one
     * owned by the end of the CNAME chain that starts at the name asked for */
    cur = canon_name(p, qname);
    for (hops = 0;; hops++) {
        const char *target = NULL;
        for (k = 0; k < all->nelts && !target; k++) {
            const caa_ans_rr_t *rr = &APR_ARRAY_IDX(all, k, caa_ans_rr_t);
            size_t o = rr->rdoff;
            if (rr->type != CNAME_TYPE || strcmp(rr->owner, cur) != 0) {
                continue;
            }
            if (read_name(msg, rr->rdoff + rr->rdlen, &o, name, sizeof(name)) != 0 ||
                o != rr->rdoff + rr->rdlen) {
                *err = "malformed CNAME record";
                return NULL;
            }
            target = apr_pstrdup(p, name);
        }
        if (!target) {
            break;
        }
        if (hops >= CAA_MAX_CNAMES) {
            *err = apr_psprintf(p, "a CNAME chain longer than %d (or a loop)", CAA_MAX_CNAMES);
            return NULL;
        }
        cur = target;
    }
    for (n = 0, k = 0; k < all->nelts; k++) {
        const caa_ans_rr_t *rr = &APR_ARRAY_IDX(all, k, caa_ans_rr_t);
        acp_caa_rr_t caa;
        if (rr->type != CAA_TYPE || strcmp(rr->owner, cur) != 0) {
            continue; /* another name's records: not CAA(qname) */
        }
        if (++n > ACP_CAA_MAX_RRS) {
            *err = apr_psprintf(p, "more than %d CAA records", ACP_CAA_MAX_RRS);
            return NULL;
        }
        if (acp_caa_parse_rdata(p, msg + rr->rdoff, rr->rdlen, &caa) != 0) {
            *err = "malformed CAA record";
            return NULL;
        }
        APR_ARRAY_PUSH(rrs, acp_caa_rr_t) = caa;
    }
    *end = cur;
    return rrs;
}

/* ---------------------------------------------------------------- issue property values */

typedef struct {
    const char *issuer;           /* "" when the value names none (";" alone: forbids all) */
    const char *accounturi;       /* NULL when absent */
    const char *methods;          /* validationmethods, NULL when absent */
    int ok;                       /* 0: the value does not follow RFC 8659 §4.2 */
} caa_issue_t;

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)); returns the bytes it takes, 0: none */
static size_t scan_label(const char *s)
{
    size_t n = 0;

    if (!is_alnum((unsigned char)s[0])) {
        return 0;
    }
    while (is_alnum((unsigned char)s[n]) || s[n] == '-') {
        n++;
    }
    while (n > 0 && s[n - 1] == '-') {
        n--; /* a label does not end in '-' */
    }
    return n;
}

/* RFC 8659 §4.2:
 *   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 *   parameters  = (parameter *WSP ";" *WSP parameters) / parameter
 *   parameter   = tag *WSP "=" *WSP value;   value = *(%x21-3A / %x3C-7E)
 * A parameter given twice makes the value unusable (RFC 8657 §3, §4). */
static caa_issue_t parse_issue(apr_pool_t *p, const char *v)
{
    caa_issue_t r;
    const char *s = v, *start;
    size_t n;

    memset(&r, 0, sizeof(r));
    r.issuer = "";
    while (is_wsp(*s)) {
        s++;
    }
    start = s;
    while ((n = scan_label(s)) > 0) {
        s += n;
        if (*s != '.' || !scan_label(s + 1)) {
            break;
        }
        s++;
    }
    if (s > start) {
        r.issuer = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
    }
    while (is_wsp(*s)) {
        s++;
    }
    if (*s == '\0') {
        r.ok = 1;
        return r;
    }
    if (*s != ';') {
        return r;
    }
    s++;
    for (;;) {
        const char *tag, *val;
        size_t tlen;
        char *t, *vv;

        while (is_wsp(*s)) {
            s++;
        }
        if (*s == '\0') {
            break; /* ";" alone, or a trailing ";" */
        }
        tag = s;
        tlen = scan_label(s);
        if (tlen == 0) {
            return r;
        }
        s += tlen;
        while (is_wsp(*s)) {
            s++;
        }
        if (*s != '=') {
            return r;
        }
        s++;
        while (is_wsp(*s)) {
            s++;
        }
        val = s;
        while ((unsigned char)*s >= 0x21 && (unsigned char)*s <= 0x7e && *s != ';') {
            s++;
        }
        t = apr_pstrmemdup(p, tag, (apr_size_t)tlen);
        vv = apr_pstrmemdup(p, val, (apr_size_t)(s - val));
        if (strcasecmp(t, "accounturi") == 0) {
            if (r.accounturi) {
                return r;
            }
            r.accounturi = vv;
        }
        else if (strcasecmp(t, "validationmethods") == 0) {
            if (r.methods) {
                return r;
            }
            r.methods = vv;
        }
        /* other parameters: not ours to interpret (RFC 8659 §4.2) */
        while (is_wsp(*s)) {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        if (*s != ';') {
            return r; /* a byte a value may not hold */
        }
        s++;
    }
    r.ok = 1;
    return r;
}

/* RFC 8657 §3: the account URI, exactly. We know our account by its id: an http(s) URL
 * with an authority whose path ends in "/acct/<id>", without query or fragment. */
static int accounturi_matches(const char *uri, const char *account_id)
{
    const char *rest, *slash;
    size_t ulen, tlen;

    if (!account_id || !*account_id) {
        return 0;
    }
    if (strncmp(uri, "https://", 8) == 0) {
        rest = uri + 8;
    }
    else if (strncmp(uri, "http://", 7) == 0) {
        rest = uri + 7;
    }
    else {
        return 0;
    }
    slash = strchr(rest, '/');
    if (!slash || slash == rest || strpbrk(uri, "?#")) {
        return 0;
    }
    ulen = strlen(uri);
    tlen = 6 + strlen(account_id); /* "/acct/" id */
    if (ulen < tlen || (size_t)(uri + ulen - slash) < tlen) {
        return 0;
    }
    return strncmp(uri + ulen - tlen, "/acct/", 6) == 0 &&
           strcmp(uri + ulen - tlen + 6, account_id) == 0;
}

/* RFC 8657 §4: a comma-separated list of validation method labels. */
static int method_listed(const char *list, const char *method)
{
    size_t mlen = method ? strlen(method) : 0;
    const char *s = list;

    if (!mlen) {
        return 0;
    }
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == mlen && strncmp(s, method, n) == 0) {
            return 1;
        }
        if (!e) {
            break;
        }
        s = e + 1;
    }
    return 0;
}

static int identity_listed(const apr_array_header_t *ids, const char *issuer)
{
    int i;

    for (i = 0; ids && i < ids->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(ids, i, const char *), issuer) == 0) {
            return 1;
        }
    }
    return 0;
}

static int known_tag(const char *tag)
{
    /* RFC 8659 §4.2-4.4, and the contact tags of the CA/Browser Forum (Baseline
     * Requirements §A.1): understood, so their critical flag refuses nothing */
    return !strcmp(tag, "issue") || !strcmp(tag, "issuewild") || !strcmp(tag, "iodef") ||
           !strcmp(tag, "contactemail") || !strcmp(tag, "contactphone");
}

const char *acp_caa_policy(apr_pool_t *p, const apr_array_header_t *rrs,
                           const apr_array_header_t *identities, int wildcard,
                           const char *method, const char *account_id)
{
    const char *use = "issue", *why = NULL;
    int i, n_issue = 0, n_wild = 0, n_use;

    for (i = 0; rrs && i < rrs->nelts; i++) {
        const acp_caa_rr_t *rr = &APR_ARRAY_IDX(rrs, i, acp_caa_rr_t);
        if ((rr->flags & ACP_CAA_CRITICAL) && !known_tag(rr->tag)) {
            return apr_psprintf(p, "a CAA record with the critical flag has the unknown tag "
                                   "\"%s\" (RFC 8659 §4.1)", rr->tag);
        }
        n_issue += !strcmp(rr->tag, "issue");
        n_wild += !strcmp(rr->tag, "issuewild");
    }
    if (wildcard && n_wild > 0) {
        use = "issuewild"; /* RFC 8659 §4.3: issuewild, when present, decides for wildcards */
    }
    n_use = strcmp(use, "issuewild") == 0 ? n_wild : n_issue;
    if (n_use == 0) {
        return NULL; /* no issue(wild) property: CAA does not restrict issuance */
    }
    for (i = 0; i < rrs->nelts; i++) {
        const acp_caa_rr_t *rr = &APR_ARRAY_IDX(rrs, i, acp_caa_rr_t);
        caa_issue_t v;

        if (strcmp(rr->tag, use) != 0) {
            continue;
        }
        v = parse_issue(p, rr->value);
        if (!v.ok) {
            why = why ? why : apr_psprintf(p, "%s value \"%s\" is malformed", use,
                                           acp_va_int_quote(p, rr->value, strlen(rr->value)));
            continue;
        }
        if (!*v.issuer) {
            why = why ? why : apr_psprintf(p, "%s \"%s\" names no CA (forbids all)", use,
                                           acp_va_int_quote(p, rr->value, strlen(rr->value)));
            continue;
        }
        if (!identity_listed(identities, v.issuer)) {
            why = why ? why : apr_psprintf(p, "%s names \"%s\"%s", use,
                                           acp_va_int_quote(p, v.issuer, strlen(v.issuer)),
                                           identities && identities->nelts
                                               ? ", not this CA"
                                               : ", and this CA has no AcmePayCAAIdentities");
            continue;
        }
        if (v.accounturi && !accounturi_matches(v.accounturi, account_id)) {
            why = apr_psprintf(p, "%s for \"%s\" is limited to accounturi \"%s\", not this account",
                               use, v.issuer,
                               acp_va_int_quote(p, v.accounturi, strlen(v.accounturi)));
            continue;
        }
        if (v.methods && !method_listed(v.methods, method)) {
            why = apr_psprintf(p, "%s for \"%s\" is limited to validationmethods \"%s\", not %s",
                               use, v.issuer, acp_va_int_quote(p, v.methods, strlen(v.methods)),
                               method ? method : "(none)");
            continue;
        }
        return NULL; /* this record authorizes us */
    }
    return why ? why : apr_psprintf(p, "no %s record names this CA", use);
}

/* ---------------------------------------------------------------- the check */

/* The climb over the answers: set holds CAA(names[i]) asked at once for the first n names
 * (NULL: every question asked on its own) */
static acp_problem_t *caa_climb(const acp_va_int_t *va, acp_va_dns_caa_set_t *set, int n,
                                const char *domain, int wildcard, const char *method,
                                const char *account_id)
{
    const char *name = domain;
    int level = 0;

    /* RFC 8659 §3: CAA(X) for the name itself, then for each parent of the name asked for
     * (never the root, never a parent of an alias's target); CAA(X) follows X's aliases:
     * where the resolver stopped at a CNAME, its target is asked for, up to
     * CAA_MAX_CNAMES times */
    while (name && *name) {
        apr_array_header_t *rrs = NULL;
        const char *q = name, *owner = name, *dot;
        int hops;

        for (hops = 0;; hops++) {
            const unsigned char *msg = NULL;
            size_t len = 0;
            acp_problem_t *prob = NULL;
            const char *err = NULL, *end = NULL;

            if ((hops == 0 && set && level < n
                     ? acp_va_dns_caa_answer(set, level, &msg, &len, &prob)
                     : acp_va_dns_caa(va, q, &msg, &len, &prob)) != 0) {
                return acp_problem(va->p, ACP_ERR_CAA,
                                   "CAA lookup for %s failed, so issuance is refused: %s", q,
                                   prob && prob->detail ? prob->detail : "DNS error");
            }
            if (!msg) {
                break; /* no CAA RRset here (NOERROR without answers, NXDOMAIN) */
            }
            rrs = acp_caa_parse_answer(va->p, msg, len, q, &end, &err);
            if (!rrs) {
                return acp_problem(va->p, ACP_ERR_CAA,
                                   "CAA answer for %s unusable, so issuance is refused: %s", q,
                                   err);
            }
            owner = end;
            if (rrs->nelts > 0 || strcmp(end, canon_name(va->p, q)) == 0) {
                break; /* CAA(q) is this set (or empty) */
            }
            if (hops >= CAA_MAX_CNAMES) {
                return acp_problem(va->p, ACP_ERR_CAA,
                                   "CAA lookup for %s follows more than %d aliases, so "
                                   "issuance is refused", name, CAA_MAX_CNAMES);
            }
            q = end; /* the resolver stopped at an alias: ask for its target */
        }
        if (rrs && rrs->nelts > 0) {
            const char *why = acp_caa_policy(va->p, rrs, va->cfg->caa_identities, wildcard,
                                             method, account_id);
            if (why) {
                const char *at = strcmp(owner, canon_name(va->p, name)) == 0
                                     ? name
                                     : apr_psprintf(va->p, "%s (through the alias target %s)",
                                                    name, owner);
                return acp_problem(va->p, ACP_ERR_CAA,
                                   "CAA record for %s prevents issuance for %s%s: %s", at,
                                   wildcard ? "*." : "", domain, why);
            }
            return NULL; /* the relevant RRset allows us */
        }
        dot = strchr(name, '.');
        name = dot ? dot + 1 : NULL;
        level++;
    }
    return NULL; /* no CAA RRset anywhere up the tree */
}

acp_problem_t *acp_va_caa_int(const acp_va_int_t *va, const char *domain, int wildcard,
                              const char *method, const char *account_id)
{
    const char *names[CAA_ASK_MAX] = {NULL}, *name = domain, *dot;
    acp_va_dns_caa_set_t *set;
    acp_problem_t *prob;
    int n = 0;

    while (name && *name && n < CAA_ASK_MAX) {
        names[n++] = name;
        dot = strchr(name, '.');
        name = dot ? dot + 1 : NULL;
    }
    set = acp_va_dns_caa_ask(va, names, n);
    prob = caa_climb(va, set, n, domain, wildcard, method, account_id);
    acp_va_dns_caa_done(set);
    return prob;
}
