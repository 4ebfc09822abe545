/* Validation authority, DNS part: A/AAAA/TXT/CAA lookups with c-ares (a channel kept per
 * thread, driven by poll() until the per-check deadline) and the dns-01 check
 * (RFC 8555 §8.4). Internal to the VA: see acp_va_int.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

/* ---- the thread's channel
 * Building a channel reads /etc/resolv.conf, /etc/nsswitch.conf and /etc/hosts and seeds
 * its query ids; a validation asks three to five questions (A, AAAA, CAA up the tree), and
 * every one used to build and destroy a channel of its own. Each thread now keeps one, for
 * one resolver setting and per-try timeout, in this process: it is rebuilt after
 * DNS_CHAN_MAX_AGE_MS (so a changed resolv.conf is read within that time), after any
 * lookup that ended other than with an answer, NODATA or NXDOMAIN (a timeout, a refusal,
 * a cancel leave nothing behind for the next check), and when the setting differs. */
#define DNS_CHAN_MAX_AGE_MS 60000

typedef struct {
    ares_channel ch;
    char *resolver;    /* the setting it was made for ("" = the system's) */
    int try_ms;        /* its per-try timeout */
    long long made_ms; /* CLOCK_MONOTONIC */
    pid_t pid;         /* never used across fork() */
} dns_chan_t;

static pthread_key_t dns_chan_key;
static pthread_once_t dns_chan_once = PTHREAD_ONCE_INIT;
static int dns_chan_key_ok;
static unsigned long dns_chans_made; /* in this process (atomic) */

static void dns_chan_free(void *v)
{
    dns_chan_t *c = v;

    if (c) {
        if (c->ch && c->pid == getpid()) {
            ares_destroy(c->ch);
        }
        free(c->resolver);
        free(c);
    }
}

static void dns_chan_key_make(void)
{
    dns_chan_key_ok = pthread_key_create(&dns_chan_key, dns_chan_free) == 0;
}

/* The per-try timeout: a third of the check's time, 0.2 s to 3 s (three tries). */
static int dns_try_ms(const acp_va_int_t *va)
{
    int t = (va->budget_ms > 0 ? va->budget_ms : acp_va_int_remaining_ms(va)) / 3;

    return t < 200 ? 200 : (t > 3000 ? 3000 : t);
}

static int dns_chan_make(const acp_va_int_t *va, int try_ms, ares_channel *out)
{
    struct ares_options opts;
    int rc;

    *out = NULL;
    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: report SERVFAIL/REFUSED as such instead of "could not contact" */
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    opts.timeout = try_ms;
    opts.tries = 3;
    rc = ares_init_options(out, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        *out = NULL; /* ares_init_options leaves no channel on failure */
        return rc;
    }
    __atomic_fetch_add(&dns_chans_made, 1, __ATOMIC_RELAXED);
    if (va->cfg->resolver && *va->cfg->resolver &&
        ares_set_servers_ports_csv(*out, va->cfg->resolver) != ARES_SUCCESS) {
        ares_destroy(*out);
        *out = NULL;
        return VA_EBADRESOLVER;
    }
    return ARES_SUCCESS;
}

/* The thread's channel for va's setting (made now if it has none that fits), or, where
 * no thread key could be made, a channel of its own (*kept 0: the caller destroys it). */
static int dns_chan_get(const acp_va_int_t *va, ares_channel *out, int *kept)
{
    const char *resolver = va->cfg->resolver ? va->cfg->resolver : "";
    int try_ms = dns_try_ms(va), rc;
    long long now = acp_va_int_mono_ms();
    dns_chan_t *c;

    *kept = 0;
    pthread_once(&dns_chan_once, dns_chan_key_make);
    if (!dns_chan_key_ok) {
        return dns_chan_make(va, try_ms, out);
    }
    c = pthread_getspecific(dns_chan_key);
    if (c && c->ch && c->pid == getpid() && c->try_ms == try_ms &&
        now - c->made_ms < DNS_CHAN_MAX_AGE_MS && strcmp(c->resolver, resolver) == 0) {
        *out = c->ch;
        *kept = 1;
        return ARES_SUCCESS;
    }
    if (c) { /* an old or other setting's channel: dropped */
        pthread_setspecific(dns_chan_key, NULL);
        dns_chan_free(c);
    }
    rc = dns_chan_make(va, try_ms, out);
    if (rc != ARES_SUCCESS) {
        return rc;
    }
    c = calloc(1, sizeof(*c));
    if (c) {
        c->resolver = strdup(resolver);
    }
    if (!c || !c->resolver || pthread_setspecific(dns_chan_key, c) != 0) {
        if (c) {
            free(c->resolver);
            free(c);
        }
        return ARES_SUCCESS; /* not kept: the caller destroys it */
    }
    c->ch = *out;
    c->try_ms = try_ms;
    c->made_ms = now;
    c->pid = getpid();
    *kept = 1;
    return ARES_SUCCESS;
}

/* After a lookup on the thread's channel: kept when it ended cleanly, else dropped. */
static void dns_chan_put(ares_channel ch, int kept, int status)
{
    dns_chan_t *c;

    if (!kept) {
        ares_destroy(ch); /* may call dns_cb with ARES_EDESTRUCTION; q->done keeps it idle */
        return;
    }
    if (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND) {
        return;
    }
    c = pthread_getspecific(dns_chan_key);
    pthread_setspecific(dns_chan_key, NULL);
    dns_chan_free(c);
}

unsigned long acp_va_dns_channels_made(void)
{
    return __atomic_load_n(&dns_chans_made, __ATOMIC_RELAXED);
}

void acp_va_dns_thread_done(void)
{
    dns_chan_t *c;

    if (!dns_chan_key_ok) {
        return;
    }
    c = pthread_getspecific(dns_chan_key);
    pthread_setspecific(dns_chan_key, NULL);
    dns_chan_free(c);
}

/* One query on the thread's channel. Returns the c-ares status; results in *q. */
static int dns_lookup(const acp_va_int_t *va, const char *name, int type, dnsq_t *q)
{
    ares_channel ch = NULL;
    int kept = 0, rc;

    memset(q, 0, sizeof(*q));
    q->p = va->p;
    q->type = type;
    q->txts = apr_array_make(va->p, 2, sizeof(const char *));
    if (acp_va_int_remaining_ms(va) <= 0) {
        q->status = ARES_ETIMEOUT;
        return q->status;
    }
    rc = dns_chan_get(va, &ch, &kept);
    if (rc != ARES_SUCCESS) {
        q->status = rc;
        return rc;
    }
    ares_query(ch, name, VA_C_IN, type, dns_cb, q);
    dns_wait(va, ch, q);
    if (!q->done) { /* (dns_wait returns only when done) */
        q->done = 1;
        q->status = ARES_ETIMEOUT;
    }
    dns_chan_put(ch, kept, q->status);
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

/* A CAA query's outcome as acp_va_dns_caa reports it */
static int caa_result(const acp_va_int_t *va, const dnsq_t *q, const char *name,
                      const unsigned char **msg, size_t *len, acp_problem_t **prob)
{
    *msg = NULL;
    *len = 0;
    *prob = NULL;
    if (q->status == ARES_SUCCESS) {
        *msg = q->raw;
        *len = q->raw_len;
        return 0;
    }
    if (q->status == ARES_ENODATA || q->status == ARES_ENOTFOUND) {
        return 0; /* no CAA RRset at this name (NOERROR without answers, NXDOMAIN) */
    }
    *prob = dns_problem(va, q->status, VA_T_CAA, name);
    return -1;
}

int acp_va_dns_caa(const acp_va_int_t *va, const char *name, const unsigned char **msg,
                   size_t *len, acp_problem_t **prob)
{
    dnsq_t q;

    dns_lookup(va, name, VA_T_CAA, &q);
    return caa_result(va, &q, name, msg, len, prob);
}

/* ---- a climb's CAA questions asked at once
 * RFC 8659 §3 walks from the name up to its top label and stops at the first CAA RRset;
 * a name without any (most names) costs one question per label, each asked after the
 * answer to the last. Here they all leave together and the walk takes the answers in its
 * order: one wait instead of one per label, and the answers it does not reach (a closer
 * RRset decided) are cancelled, so a slow or failing parent changes nothing it would not
 * have changed before. The thread's channel is held out of its slot meanwhile (a lookup
 * in between, for an alias's target, gets a channel of its own), and goes back only when
 * every answer waited for ended cleanly. */
struct acp_va_dns_caa_set {
    const acp_va_int_t *va;
    ares_channel ch;
    dns_chan_t *c; /* the thread's record of ch; NULL: ch is this set's own */
    int n, clean;
    const char *const *names;
    dnsq_t *q;
};

acp_va_dns_caa_set_t *acp_va_dns_caa_ask(const acp_va_int_t *va, const char *const *names, int n)
{
    acp_va_dns_caa_set_t *s;
    int kept = 0, i;

    if (n <= 0 || acp_va_int_remaining_ms(va) <= 0) {
        return NULL;
    }
    s = apr_pcalloc(va->p, sizeof(*s));
    if (dns_chan_get(va, &s->ch, &kept) != ARES_SUCCESS) {
        return NULL;
    }
    if (kept) {
        s->c = pthread_getspecific(dns_chan_key);
        pthread_setspecific(dns_chan_key, NULL);
    }
    s->va = va;
    s->n = n;
    s->clean = 1;
    s->names = names;
    s->q = apr_pcalloc(va->p, sizeof(dnsq_t) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        s->q[i].p = va->p;
        s->q[i].type = VA_T_CAA;
        ares_query(s->ch, names[i], VA_C_IN, VA_T_CAA, dns_cb, &s->q[i]);
    }
    return s;
}

int acp_va_dns_caa_answer(acp_va_dns_caa_set_t *s, int i, const unsigned char **msg,
                          size_t *len, acp_problem_t **prob)
{
    dnsq_t *q = &s->q[i];

    dns_wait(s->va, s->ch, q);
    if (q->status != ARES_SUCCESS && q->status != ARES_ENODATA && q->status != ARES_ENOTFOUND) {
        s->clean = 0;
    }
    return caa_result(s->va, q, s->names[i], msg, len, prob);
}

void acp_va_dns_caa_done(acp_va_dns_caa_set_t *s)
{
    int i;

    if (!s) {
        return;
    }
    for (i = 0; i < s->n; i++) {
        if (!s->q[i].done) {
            ares_cancel(s->ch); /* the callbacks run with ARES_ECANCELLED */
            break;
        }
    }
    if (!s->c) {
        ares_destroy(s->ch);
    }
    else if (!s->clean || pthread_getspecific(dns_chan_key) ||
             pthread_setspecific(dns_chan_key, s->c) != 0) {
        dns_chan_free(s->c); /* not kept: an answer failed, or the thread has made another */
    }
    s->ch = NULL;
    s->c = NULL;
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
