/* Validation authority, DNS part: A/AAAA/TXT lookups with c-ares (a private channel per
 * lookup, driven by poll() until the per-check deadline) and the dns-01 check
 * (RFC 8555 §8.4). Internal to the VA: see acp_va_int.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include <ares.h>

#include "acp_va.h"
#include "acp_va_int.h"
#include "acp_util.h"

/* DNS RR types (RFC 1035, RFC 3596) */
#define VA_T_A    1
#define VA_T_TXT  16
#define VA_T_AAAA 28
#define VA_T_CAA  257
#define VA_C_IN   1
#define VA_EBADRESOLVER (-1000) /* our status: cfg->resolver is unusable */

/* dns-01 looks for a 43-byte value: records far beyond that are counted, not copied */
#define VA_TXT_MAX_RECORDS 64   /* TXT records examined per answer */
#define VA_TXT_MAX_STRINGS 16   /* character-strings per record (RFC 1035 §3.3.14) */
#define VA_TXT_MAX_LEN     1024 /* bytes per record, strings joined */

/* ---------------------------------------------------------------- DNS (c-ares) */

typedef struct {
    apr_pool_t *p;
    int type;
    int done;
    int status;
    acp_va_int_addr_t addr;              /* A / AAAA: the first address */
    apr_array_header_t *txts;    /* TXT: const char * per record (chunks joined) */
    int txt_skipped;             /* TXT records over the limits below (not in txts) */
    size_t txt_max_strings, txt_max_len; /* the largest of those */
    unsigned char *raw;          /* CAA: a copy of the whole answer, parsed by acp_va_caa.c */
    size_t raw_len;
} dnsq_t;

/* TXT values are built in one pass per record (length first, then one copy), and only
 * records a dns-01 value could be are kept: a record of ~32,000 one-byte strings (64 KB
 * over TCP) once cost ~0.5 GB when rebuilt string by string. */
static void dns_parse_txt(dnsq_t *q, const unsigned char *abuf, int alen)
{
    struct ares_txt_ext *txt = NULL, *t, *first;
    int rc;

    rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    if (rc != ARES_SUCCESS) {
        q->status = rc;
        return;
    }
    for (t = txt; t;) {
        size_t len = 0, strings = 0, off = 0, i;
        char *val;

        first = t;
        do { /* one record: its first string has record_start set */
            len += t->length;
            strings++;
            t = t->next;
        } while (t && !t->record_start);
        if (q->txts->nelts + q->txt_skipped >= VA_TXT_MAX_RECORDS) {
            q->txt_skipped++; /* counted, not kept */
            continue;
        }
        if (strings > VA_TXT_MAX_STRINGS || len > VA_TXT_MAX_LEN) {
            q->txt_skipped++;
            if (strings > q->txt_max_strings) {
                q->txt_max_strings = strings;
            }
            if (len > q->txt_max_len) {
                q->txt_max_len = len;
            }
            continue;
        }
        val = apr_palloc(q->p, len + 1);
        for (; first != t; first = first->next) {
            memcpy(val + off, first->txt, first->length);
            off += first->length;
        }
        for (i = 0; i < len; i++) { /* an embedded NUL must not shorten the record */
            if (val[i] == '\0') {
                val[i] = '?';
            }
        }
        val[len] = '\0';
        APR_ARRAY_PUSH(q->txts, const char *) = val;
    }
    ares_free_data(txt);
    if (q->txts->nelts == 0 && q->txt_skipped == 0) {
        q->status = ARES_ENODATA;
    }
}

static void dns_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    dnsq_t *q = arg;

    (void)timeouts;
    if (q->done) {
        return;
    }
    q->done = 1;
    q->status = status;
    if (status != ARES_SUCCESS || !abuf) {
        return;
    }
    if (q->type == VA_T_A) {
        struct ares_addrttl at[16];
        int n = 16, rc = ares_parse_a_reply(abuf, alen, NULL, at, &n);
        if (rc != ARES_SUCCESS || n <= 0) {
            q->status = rc != ARES_SUCCESS ? rc : ARES_ENODATA;
            return;
        }
        q->addr.family = AF_INET;
        q->addr.v4 = at[0].ipaddr;
        inet_ntop(AF_INET, &q->addr.v4, q->addr.str, sizeof(q->addr.str));
    }
    else if (q->type == VA_T_AAAA) {
        struct ares_addr6ttl at[16];
        int n = 16, rc = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
        if (rc != ARES_SUCCESS || n <= 0) {
            q->status = rc != ARES_SUCCESS ? rc : ARES_ENODATA;
            return;
        }
        q->addr.family = AF_INET6;
        memcpy(&q->addr.v6, &at[0].ip6addr, sizeof(q->addr.v6));
        inet_ntop(AF_INET6, &q->addr.v6, q->addr.str, sizeof(q->addr.str));
    }
    else if (q->type == VA_T_CAA) {
        if (alen <= 0) {
            q->status = ARES_EBADRESP;
            return;
        }
        q->raw = apr_pmemdup(q->p, abuf, (apr_size_t)alen);
        q->raw_len = (size_t)alen;
    }
    else {
        dns_parse_txt(q, abuf, alen);
    }
}

/* Drive the channel until the query finished or the deadline passed. */
static void dns_wait(const acp_va_int_t *va, ares_channel ch, dnsq_t *q)
{
    while (!q->done) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        struct timeval maxtv, tv, *tvp;
        unsigned int ubits;
        int i, n = 0, left = acp_va_int_remaining_ms(va), wait_ms, rc;

        if (left <= 0) {
            ares_cancel(ch); /* the callback runs with ARES_ECANCELLED */
            if (!q->done) {
                q->done = 1;
                q->status = ARES_ETIMEOUT;
            }
            else if (q->status == ARES_ECANCELLED) {
                q->status = ARES_ETIMEOUT;
            }
            break;
        }
        ubits = (unsigned int)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            /* not ARES_GETSOCK_WRITABLE: it shifts a signed 1 into the sign bit */
            if ((ubits >> i) & 1u) {
                ev |= POLLIN;
            }
            if ((ubits >> (i + ARES_GETSOCK_MAXNUM)) & 1u) {
                ev |= POLLOUT;
            }
            if (ev) {
                pfd[n].fd = socks[i];
                pfd[n].events = ev;
                pfd[n].revents = 0;
                n++;
            }
        }
        maxtv.tv_sec = left / 1000;
        maxtv.tv_usec = (left % 1000) * 1000;
        tvp = ares_timeout(ch, &maxtv, &tv);
        wait_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
        rc = poll(pfd, (nfds_t)n, wait_ms);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            ares_cancel(ch);
            if (!q->done) {
                q->done = 1;
            }
            q->status = ARES_ECONNREFUSED;
            break;
        }
        if (rc == 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts, retries */
            continue;
        }
        for (i = 0; i < n; i++) {
            short re = pfd[i].revents;
            if (re) {
                ares_process_fd(ch, (re & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD,
                                (re & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
            }
        }
    }
}

/* One query on a fresh channel. Returns the c-ares status; results in *q. */
static int dns_lookup(const acp_va_int_t *va, const char *name, int type, dnsq_t *q)
{
    struct ares_options opts;
    ares_channel ch = NULL;
    int left = acp_va_int_remaining_ms(va), rc;

    memset(q, 0, sizeof(*q));
    q->p = va->p;
    q->type = type;
    q->txts = apr_array_make(va->p, 2, sizeof(const char *));
    if (left <= 0) {
        q->status = ARES_ETIMEOUT;
        return q->status;
    }
    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: report SERVFAIL/REFUSED as such instead of "could not contact" */
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    opts.timeout = left / 3 < 200 ? 200 : (left / 3 > 3000 ? 3000 : left / 3);
    opts.tries = 3;
    rc = ares_init_options(&ch, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        q->status = rc;
        return rc; /* ares_init_options leaves no channel on failure */
    }
    if (va->cfg->resolver && *va->cfg->resolver) {
        rc = ares_set_servers_ports_csv(ch, va->cfg->resolver);
        if (rc != ARES_SUCCESS) {
            q->status = VA_EBADRESOLVER;
            goto done;
        }
    }
    ares_query(ch, name, VA_C_IN, type, dns_cb, q);
    dns_wait(va, ch, q);

done:
    ares_destroy(ch); /* may call dns_cb with ARES_EDESTRUCTION; q->done keeps it idle */
    return q->status;
}

static const char *rr_name(int type)
{
    return type == VA_T_A ? "A" : type == VA_T_AAAA ? "AAAA" : type == VA_T_CAA ? "CAA" : "TXT";
}

static acp_problem_t *dns_problem(const acp_va_int_t *va, int status, int type, const char *name)
{
    const char *t = rr_name(type);

    switch (status) {
    case ARES_ENOTFOUND:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: NXDOMAIN looking up %s for %s", t, name);
    case ARES_ENODATA:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: no %s records found for %s", t, name);
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: timeout looking up %s for %s", t, name);
    case ARES_ESERVFAIL:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: SERVFAIL looking up %s for %s", t, name);
    case ARES_EREFUSED:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: REFUSED looking up %s for %s", t, name);
    case VA_EBADRESOLVER:
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "invalid DNS resolver address \"%s\"",
                           va->cfg->resolver);
    default:
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: %s looking up %s for %s",
                           ares_strerror(status), t, name);
    }
}

int acp_va_dns_caa(const acp_va_int_t *va, const char *name, const unsigned char **msg,
                   size_t *len, acp_problem_t **prob)
{
    dnsq_t q;
    int st = dns_lookup(va, name, VA_T_CAA, &q);

    *msg = NULL;
    *len = 0;
    *prob = NULL;
    if (st == ARES_SUCCESS) {
        *msg = q.raw;
        *len = q.raw_len;
        return 0;
    }
    if (st == ARES_ENODATA || st == ARES_ENOTFOUND) {
        return 0; /* no CAA RRset at this name (NOERROR without answers, NXDOMAIN) */
    }
    *prob = dns_problem(va, st, VA_T_CAA, name);
    return -1;
}

/* First A record of host, else first AAAA record. */
acp_problem_t *acp_va_dns_resolve(const acp_va_int_t *va, const char *host, acp_va_int_addr_t *out)
{
    dnsq_t q;
    int st = dns_lookup(va, host, VA_T_A, &q);

    if (st == ARES_SUCCESS) {
        *out = q.addr;
        return NULL;
    }
    if (st != ARES_ENODATA) {
        return dns_problem(va, st, VA_T_A, host);
    }
    st = dns_lookup(va, host, VA_T_AAAA, &q);
    if (st == ARES_SUCCESS) {
        *out = q.addr;
        return NULL;
    }
    if (st == ARES_ENODATA) {
        return acp_problem(va->p, ACP_ERR_DNS, "DNS problem: no valid A or AAAA records found for %s",
                           host);
    }
    return dns_problem(va, st, VA_T_AAAA, host);
}

/* ---------------------------------------------------------------- dns-01 */

acp_problem_t *acp_va_dns_01(const acp_va_int_t *va, const char *domain, const char *key_authz)
{
    unsigned char md[32];
    const char *name = apr_pstrcat(va->p, "_acme-challenge.", domain, NULL), *expected;
    dnsq_t q;
    int st, i;

    if (!acp_va_int_sha256(key_authz, md)) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "SHA-256 failed");
    }
    expected = acp_b64url_encode(va->p, md, sizeof(md));
    st = dns_lookup(va, name, VA_T_TXT, &q);
    if (st == ARES_ENODATA) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "No TXT record found at %s", name);
    }
    if (st != ARES_SUCCESS) {
        return dns_problem(va, st, VA_T_TXT, name);
    }
    for (i = 0; i < q.txts->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(q.txts, i, const char *), expected) == 0) {
            return NULL;
        }
    }
    if (q.txts->nelts == 0) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "No usable TXT record found at %s: %d record(s) over the limits "
                           "(largest: %lu strings, %lu bytes; at most %d records, %d strings "
                           "and %d bytes per record are read)",
                           name, q.txt_skipped, (unsigned long)q.txt_max_strings,
                           (unsigned long)q.txt_max_len, VA_TXT_MAX_RECORDS,
                           VA_TXT_MAX_STRINGS, VA_TXT_MAX_LEN);
    }
    {
        const char *first = APR_ARRAY_IDX(q.txts, 0, const char *);
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED, "Incorrect TXT record \"%s\"%s found at %s",
                           acp_va_int_quote(va->p, first, strlen(first)),
                           q.txts->nelts > 1 ? apr_psprintf(va->p, " (and %d more)", q.txts->nelts - 1) : "",
                           name);
    }
}
