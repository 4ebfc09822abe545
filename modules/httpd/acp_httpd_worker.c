/* Background work in each child: threads that claim due jobs (challenge validation,
 * unfinished issuance) from the database, woken at once when a request queues work
 * and every few seconds otherwise, so work queued by another child or node, or left
 * by a child that died, is picked up too. */
#include <string.h>
#include "httpd.h"
#include "http_log.h"
#include <apr_dbd.h>
#include "mod_dbd.h"
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_allocator.h>
#include <unistd.h>
#include "acp_httpd.h"
#include "acp_util.h"
#include "acp_va.h"

APLOG_USE_MODULE(acme_pay); /* LogLevel acme_pay:… applies to these lines */

#define IDLE_WAIT apr_time_from_sec(2)
#define PRUNE_EVERY 60
#define NONCE_PRUNE_MARGIN 600 /* seconds of clock difference between nodes tolerated */
#define WORKER_MAX_FREE (1024 * 1024) /* bytes a worker's allocator keeps for reuse */

/* The child's queue of claimed jobs: handed off by requests (acp_httpd_workers_handoff)
 * or claimed by a scan of the jobs table. Served fairly (issue 16, finding 5): a check may
 * take the whole validation timeout, so a FIFO let one account with many challenges
 * aimed at a port that never answers hold every thread for minutes. Each job carries its
 * owner (the account) and target (the identifier); a thread takes the job whose owner
 * was served least recently, among jobs whose owner has fewer than per_owner running and
 * whose target fewer than per_target running; an owner holds at most OWNER_QUEUED_MAX
 * queued jobs (more wait in the table for their lease to run out, then a scan). */
#define QUEUE_MAX 1024
#define OWNER_QUEUED_MAX 128
#define SERVED_SLOTS 64   /* owners whose last turn is remembered (least recent evicted) */
#define SCAN_ROOM 16      /* a scan claims jobs only while fewer than this are queued */
#define JOB_LEASE 120     /* seconds a scan claims a job for, as the RA's ACP_JOB_LEASE */
typedef struct {
    char id[48], kind[16], ref[80], owner[48], target[256];
    int attempts;
    unsigned long seq;
    /* a validation's inputs as the job came with them (acp_job_t.chall, .authz,
     * .thumbprint; the identifier is target, the account owner): the worker need not
     * read them. has_input 0: it reads them */
    int has_input, wildcard;
    char type[16], token[64], authz_id[48], thumbprint[64];
} qent_t;

#define FITS(field, s) (strlen(s) < sizeof(((qent_t *)0)->field))

/* The job's validation inputs into e, when it has them all and they fit. */
static void input_in(qent_t *e, const acp_job_t *job)
{
    const acp_chall_t *c = job->chall;
    const acp_authz_t *a = job->authz;

    e->has_input = 0;
    if (!c || !a || !job->thumbprint || !c->type || !c->token || !c->status || !a->ident ||
        !a->account_id || strcmp(c->status, "processing") != 0 || strcmp(c->id, job->ref) != 0 ||
        strcmp(a->ident, e->target) != 0 || strcmp(a->account_id, e->owner) != 0 ||
        !FITS(type, c->type) || !FITS(token, c->token) || !FITS(authz_id, a->id) ||
        !FITS(thumbprint, job->thumbprint)) {
        return;
    }
    apr_cpystrn(e->type, c->type, sizeof(e->type));
    apr_cpystrn(e->token, c->token, sizeof(e->token));
    apr_cpystrn(e->authz_id, a->id, sizeof(e->authz_id));
    apr_cpystrn(e->thumbprint, job->thumbprint, sizeof(e->thumbprint));
    e->wildcard = a->wildcard;
    e->has_input = 1;
}

/* The inputs back into job (pool p), when e has them. */
static void input_out(apr_pool_t *p, const qent_t *e, acp_job_t *job)
{
    acp_chall_t *c;
    acp_authz_t *a;

    if (!e->has_input) {
        return;
    }
    c = apr_pcalloc(p, sizeof(*c));
    a = apr_pcalloc(p, sizeof(*a));
    c->id = job->ref;
    c->authz_id = a->id = apr_pstrdup(p, e->authz_id);
    c->type = apr_pstrdup(p, e->type);
    c->token = apr_pstrdup(p, e->token);
    c->status = "processing";
    a->account_id = apr_pstrdup(p, e->owner);
    a->ident = apr_pstrdup(p, e->target);
    a->wildcard = e->wildcard;
    a->status = "pending";
    job->chall = c;
    job->authz = a;
    job->thumbprint = apr_pstrdup(p, e->thumbprint);
}

typedef struct {
    int busy;
    char owner[48], target[256];
} running_t;

typedef struct {
    char owner[48];
    unsigned long last;
} served_t;

typedef struct workers_t workers_t;
typedef struct {
    workers_t *w;
    int idx;
} thread_arg_t;

struct workers_t {
    server_rec *s;
    acp_srv_cfg_t *cfg;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    int pending;      /* wake-ups not yet taken */
    int rescan;       /* the last scan stopped for lack of room */
    qent_t *queue;    /* QUEUE_MAX entries, guarded by mutex */
    int queued;
    running_t *running; /* one per thread */
    served_t served[SERVED_SLOTS];
    unsigned long seq, turn;
    int per_owner, per_target;
    int stop;
    int nthreads;
    apr_thread_t **threads;
    thread_arg_t *args;
    long long last_prune;
    apr_thread_cond_t *chain_cond; /* the chain watcher's own wake-up (stop) */
    apr_thread_t *chain_thread;
};

static workers_t *workers;

/* ---- the fair queue (all under w->mutex) ---- */

static int owner_queued(const workers_t *w, const char *owner)
{
    int i, n = 0;

    for (i = 0; i < w->queued; i++) {
        n += strcmp(w->queue[i].owner, owner) == 0;
    }
    return n;
}

static unsigned long last_served(const workers_t *w, const char *owner)
{
    int i;

    for (i = 0; i < SERVED_SLOTS; i++) {
        if (w->served[i].last && strcmp(w->served[i].owner, owner) == 0) {
            return w->served[i].last;
        }
    }
    return 0; /* never served (or long ago): first in line */
}

static void mark_served(workers_t *w, const char *owner)
{
    int i, slot = 0;

    for (i = 0; i < SERVED_SLOTS; i++) {
        if (w->served[i].last && strcmp(w->served[i].owner, owner) == 0) {
            slot = i;
            break;
        }
        if (w->served[i].last < w->served[slot].last) {
            slot = i; /* free or least recently served */
        }
    }
    apr_cpystrn(w->served[slot].owner, owner, sizeof(w->served[slot].owner));
    w->served[slot].last = ++w->turn;
}

static int running_count(const workers_t *w, const char *owner, const char *target)
{
    int i, n = 0;

    for (i = 0; i < w->nthreads; i++) {
        if (w->running[i].busy && (owner ? strcmp(w->running[i].owner, owner) == 0
                                         : strcmp(w->running[i].target, target) == 0)) {
            n++;
        }
    }
    return n;
}

/* Append a claimed job (with its validation's inputs when it has them); 0 when the
 * queue, or this owner's share of it, is full. */
static int enqueue(workers_t *w, const acp_job_t *job, const char *owner, const char *target,
                   int attempts)
{
    qent_t *e;

    if (w->queued >= QUEUE_MAX || owner_queued(w, owner) >= OWNER_QUEUED_MAX) {
        return 0;
    }
    e = &w->queue[w->queued++];
    apr_cpystrn(e->id, job->id, sizeof(e->id));
    apr_cpystrn(e->kind, job->kind, sizeof(e->kind));
    apr_cpystrn(e->ref, job->ref, sizeof(e->ref));
    apr_cpystrn(e->owner, owner, sizeof(e->owner));
    apr_cpystrn(e->target, target, sizeof(e->target));
    input_in(e, job);
    e->attempts = attempts;
    e->seq = ++w->seq;
    return 1;
}

/* Take the next job for thread idx into *out: 1 taken, 0 none may run now. */
static int dequeue(workers_t *w, int idx, qent_t *out)
{
    int i, best = -1;
    unsigned long best_turn = 0;

    for (i = 0; i < w->queued; i++) {
        const qent_t *e = &w->queue[i];
        unsigned long t;

        if (running_count(w, e->owner, NULL) >= w->per_owner
            || (e->target[0] && running_count(w, NULL, e->target) >= w->per_target)) {
            continue;
        }
        t = last_served(w, e->owner);
        if (best < 0 || t < best_turn || (t == best_turn && e->seq < w->queue[best].seq)) {
            best = i;
            best_turn = t;
        }
    }
    if (best < 0) {
        return 0;
    }
    *out = w->queue[best];
    w->queue[best] = w->queue[--w->queued]; /* order is kept by seq, not position */
    mark_served(w, out->owner);
    w->running[idx].busy = 1;
    apr_cpystrn(w->running[idx].owner, out->owner, sizeof(w->running[idx].owner));
    apr_cpystrn(w->running[idx].target, out->target, sizeof(w->running[idx].target));
    return 1;
}

/* ---- running jobs ---- */

/* Claims due jobs from the table into the queue (another child's, another node's, or
 * ones whose lease ran out), so they are served as fairly as handed-off ones. */
static void scan(workers_t *w, apr_pool_t *p)
{
    apr_array_header_t *jobs = NULL;
    acp_db_t *db;
    long long now = acp_now();
    int i, full = 0;

    if (!acp_httpd_db_recover(p, w->s)) {
        return; /* started without the database and it is still not there */
    }
    /* a dead connection is replaced; an outage is logged once for all children */
    db = acp_httpd_db_acquire(p, w->s);
    if (!db) {
        acp_httpd_db_outcome(w->s, NULL);
        return;
    }
    if (acp_sa_jobs_due(db, p, now, &jobs) == APR_SUCCESS) {
        for (i = 0; i < jobs->nelts && !w->stop; i++) {
            acp_job_t *job = APR_ARRAY_IDX(jobs, i, acp_job_t *);
            acp_chall_t *chall = NULL;
            acp_authz_t *authz = NULL;
            const char *owner = "", *target = "", *thumbprint = NULL;
            int room, ok;

            apr_thread_mutex_lock(w->mutex);
            room = w->queued < SCAN_ROOM;
            apr_thread_mutex_unlock(w->mutex);
            if (!room) {
                full = 1;
                break;
            }
            if (strlen(job->id) >= sizeof(((qent_t *)0)->id)
                || strlen(job->ref) >= sizeof(((qent_t *)0)->ref)
                || strlen(job->kind) >= sizeof(((qent_t *)0)->kind)) {
                continue;
            }
            if (strcmp(job->kind, "validate") == 0
                && acp_sa_chall_authz(db, p, job->ref, &chall, &authz, &thumbprint) ==
                       APR_SUCCESS) {
                owner = authz->account_id;
                target = authz->ident;
                /* read before the claim: the claim makes the job this worker's, and only
                 * its job moves a processing challenge */
                job->chall = chall;
                job->authz = authz;
                job->thumbprint = thumbprint;
            }
            apr_thread_mutex_lock(w->mutex);
            ok = owner_queued(w, owner) < OWNER_QUEUED_MAX;
            apr_thread_mutex_unlock(w->mutex);
            if (!ok || acp_sa_job_claim(db, p, job->id, now, JOB_LEASE) != APR_SUCCESS) {
                continue;
            }
            apr_thread_mutex_lock(w->mutex);
            enqueue(w, job, owner, target, job->attempts + 1);
            apr_thread_cond_broadcast(w->cond);
            apr_thread_mutex_unlock(w->mutex);
        }
    }
    apr_thread_mutex_lock(w->mutex);
    w->rescan = full;
    apr_thread_mutex_unlock(w->mutex);
    if (w->cfg->wfe.ra.crl.url && !w->stop) {
        /* CRLs of shards with a revocation since, or due for their refresh; the lease on
         * each shard's row lets one worker of one node sign it */
        const char *err = NULL;
        int n = acp_crl_run_due(db, p, &w->cfg->wfe.ra.crl, &err);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s, ACPLOGNO(04001) "CRL: %s", err);
        }
        else if (n > 0) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s,
                         ACPLOGNO(04002) "CRL: %d shard(s) signed", n);
        }
    }
    if (acp_now() - w->last_prune > PRUNE_EVERY) {
        w->last_prune = acp_now();
        /* with a margin: another node's clock may be behind ours, and to it a nonce
         * we count as expired is still good -- its spent row must stay */
        acp_sa_exec(db, p, "acp_nonce_prune", NULL,
                    ACP_SA_ARGS(acp_sa_ll(p, acp_now() - NONCE_PRUNE_MARGIN)));
        acp_billing_welcome_prune(db, p);
    }
    acp_httpd_db_outcome(w->s, db);
}

/* Runs one queued job; it is claimed already, so no claim is written. */
static void run_job(workers_t *w, apr_pool_t *p, const qent_t *e)
{
    acp_db_t *db = acp_httpd_db_acquire(p, w->s);
    acp_job_t job;

    if (!db) {
        /* the job stays claimed: any worker takes it when its lease runs out */
        acp_httpd_db_outcome(w->s, NULL);
        return;
    }
    memset(&job, 0, sizeof(job));
    job.id = e->id;
    job.kind = e->kind;
    job.ref = e->ref;
    job.attempts = e->attempts;
    input_out(p, e, &job);
    acp_ra_run_job(db, p, &w->cfg->wfe.ra, &job);
    acp_httpd_db_outcome(w->s, db);
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *thd, void *data)
{
    thread_arg_t *arg = data;
    workers_t *w = arg->w;
    apr_allocator_t *alloc = NULL;
    apr_pool_t *p = NULL;

    /* Its own allocator that gives memory back above WORKER_MAX_FREE: APR's global one
     * keeps every freed block, so one large check would stay in the child for good. */
    if (apr_allocator_create(&alloc) == APR_SUCCESS) {
        apr_allocator_max_free_set(alloc, WORKER_MAX_FREE);
        if (apr_pool_create_ex(&p, NULL, NULL, alloc) == APR_SUCCESS) {
            apr_allocator_owner_set(alloc, p);
        }
        else {
            apr_allocator_destroy(alloc);
            p = NULL;
        }
    }
    if (!p) {
        apr_pool_create(&p, NULL);
    }
    for (;;) {
        qent_t e;
        int have = 0, do_scan = 0;

        apr_thread_mutex_lock(w->mutex);
        while (!w->stop) {
            if (dequeue(w, arg->idx, &e)) {
                have = 1;
                break;
            }
            if (w->pending > 0 || (w->rescan && w->queued == 0)) {
                if (w->pending > 0) {
                    w->pending--;
                }
                w->rescan = 0;
                do_scan = 1;
                break;
            }
            if (apr_thread_cond_timedwait(w->cond, w->mutex, IDLE_WAIT) != APR_SUCCESS) {
                do_scan = 1; /* idle: look for work left by others */
                break;
            }
        }
        apr_thread_mutex_unlock(w->mutex);
        if (w->stop) {
            break;
        }
        if (have) {
            run_job(w, p, &e);
            apr_thread_mutex_lock(w->mutex);
            w->running[arg->idx].busy = 0;
            apr_thread_cond_broadcast(w->cond); /* a job held back by the caps may run */
            apr_thread_mutex_unlock(w->mutex);
        }
        if (do_scan) {
            scan(w, p);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

static apr_status_t workers_stop(void *data)
{
    workers_t *w = data;
    int i;

    apr_thread_mutex_lock(w->mutex);
    w->stop = 1;
    apr_thread_cond_broadcast(w->cond);
    if (w->chain_cond) {
        apr_thread_cond_broadcast(w->chain_cond);
    }
    apr_thread_mutex_unlock(w->mutex);
    for (i = 0; i < w->nthreads; i++) {
        apr_status_t st;
        apr_thread_join(&st, w->threads[i]);
    }
    if (w->chain_thread) {
        apr_status_t st;
        apr_thread_join(&st, w->chain_thread);
    }
    workers = NULL;
    return APR_SUCCESS;
}

void acp_httpd_workers_wake(void *baton)
{
    workers_t *w = workers;

    if (!w) {
        return;
    }
    apr_thread_mutex_lock(w->mutex);
    w->pending++;
    apr_thread_cond_signal(w->cond);
    apr_thread_mutex_unlock(w->mutex);
}

void acp_httpd_workers_handoff(void *baton, const acp_job_t *job)
{
    workers_t *w = workers;
    const char *owner = job->owner ? job->owner : "", *target = job->target ? job->target : "";
    int ok;

    if (!w || strlen(job->id) >= sizeof(((qent_t *)0)->id)
        || strlen(job->kind) >= sizeof(((qent_t *)0)->kind)
        || strlen(job->ref) >= sizeof(((qent_t *)0)->ref)) {
        acp_httpd_workers_wake(baton); /* claimed: picked up when the lease runs out */
        return;
    }
    apr_thread_mutex_lock(w->mutex);
    ok = enqueue(w, job, owner, target, 1);
    if (ok) {
        apr_thread_cond_broadcast(w->cond);
    }
    apr_thread_mutex_unlock(w->mutex);
    if (!ok) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     ACPLOGNO(02005) "worker queue full%s: job %s runs when its lease runs out",
                     owner[0] ? " for this account" : "", job->id);
    }
}

/* ---- the chain watcher ----------------------------------------------------------------
 * One thread per child asks for the lease every poll interval; the holder polls the node
 * (acp_chain_poll). An RPC outage is logged once, then polls back off to 8 intervals
 * (at most 5 minutes);
 * the recovery is logged with the block the watcher resumes from. */
#define CHAIN_BACKOFF_MAX 300

static int chain_wait(workers_t *w, long long secs)
{
    int stop;

    apr_thread_mutex_lock(w->mutex);
    if (!w->stop) {
        apr_thread_cond_timedwait(w->chain_cond, w->mutex, apr_time_from_sec(secs));
    }
    stop = w->stop;
    apr_thread_mutex_unlock(w->mutex);
    return stop;
}

static void *APR_THREAD_FUNC chain_main(apr_thread_t *thd, void *data)
{
    workers_t *w = data;
    acp_chain_cfg_t cc = w->cfg->chain;
    acp_rpc_t rpc;
    apr_pool_t *p;
    char host[64] = "";
    const char *holder;
    long long interval, lease, wait, busy = 0;
    int failing = 0;
    unsigned long polls = 0, blocks = 0, calls = 0;

    apr_pool_create(&p, NULL);
    gethostname(host, sizeof(host) - 1);
    holder = apr_psprintf(p, "%s:%ld:%s", host, (long)getpid(), acp_random_id(p, 4));
    cc.address = w->cfg->wfe.ra.billing.eth_address;
    cc.chain_id = w->cfg->wfe.ra.billing.eth_chain;
    cc.wei_per_minor = w->cfg->wfe.ra.billing.eth_wei_per_minor;
    cc.currency = w->cfg->wfe.ra.billing.currency;
    cc.tokens = w->cfg->wfe.ra.billing.eth_tokens;
    interval = cc.poll_interval > 0 ? cc.poll_interval : ACP_CHAIN_POLL;
    lease = interval * 3 + 10; /* a dead holder's lease runs out after this */
    memset(&rpc, 0, sizeof(rpc));
    rpc.url = cc.rpc_url;
    rpc.header = cc.rpc_header;
    rpc.timeout_ms = 10000;
    rpc.max_body = ACP_CHAIN_RPC_MAX;
    wait = 0;
    while (!chain_wait(w, wait)) {
        apr_pool_t *pp;
        acp_db_t *db;
        acp_chain_poll_t out;

        apr_pool_create(&pp, p);
        db = acp_httpd_db_ready(w->cfg) ? acp_httpd_db_acquire(pp, w->s) : NULL;
        if (!db) {
            /* a database outage is logged once for all users of the database */
            if (acp_httpd_db_ready(w->cfg)) {
                acp_httpd_db_outcome(w->s, NULL);
            }
            apr_pool_destroy(pp);
            wait = interval;
            continue;
        }
        acp_chain_poll(db, pp, &cc, &rpc, holder, lease, &out);
        acp_httpd_db_outcome(w->s, db);
        wait = interval;
        if (out.leased) {
            polls++;
            blocks += (unsigned long)out.blocks;
            calls += out.rpc_calls;
        }
        if (out.rpc_error) {
            if (!failing) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                             ACPLOGNO(03801) "chain watcher: %s (%s); retrying with back-off, "
                                             "logged once until it answers again",
                             out.error, cc.rpc_url);
            }
            failing++;
            busy = interval << (failing < 3 ? failing : 3); /* 2, 4, then 8 intervals */
            wait = busy < CHAIN_BACKOFF_MAX ? busy : CHAIN_BACKOFF_MAX;
        }
        else if (out.leased) {
            if (failing) {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, w->s,
                             ACPLOGNO(03802) "chain watcher: the node answers again after %d "
                                             "failed polls; resumed at block %ld",
                             failing, (long)out.from);
                failing = 0;
            }
            if (out.error) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                             ACPLOGNO(03803) "chain watcher: %s", out.error);
            }
            if (out.credited || out.unmatched) {
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                             ACPLOGNO(03804) "chain watcher: blocks %ld-%ld (head %ld): "
                                             "%d credited, %d unmatched; %lu RPC calls for %lu "
                                             "blocks so far",
                             (long)out.from, (long)out.to, (long)out.head, out.credited,
                             out.unmatched, calls,
                             blocks);
            }
            if (out.blocks >= ACP_CHAIN_BLOCKS_PER_POLL) {
                wait = 0; /* catching up */
            }
        }
        else if (out.error) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                         ACPLOGNO(03805) "chain watcher: %s", out.error);
        }
        apr_pool_destroy(pp);
    }
    if (acp_httpd_db_ready(w->cfg)) {
        acp_db_t *db = acp_httpd_db_acquire(p, w->s);
        if (db) {
            acp_chain_release(db, p, holder); /* the next watcher need not wait */
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

void acp_httpd_workers_start(apr_pool_t *pchild, server_rec *s, acp_srv_cfg_t *cfg)
{
    workers_t *w;
    int i;

    if (workers) {
        return;
    }
    w = apr_pcalloc(pchild, sizeof(*w));
    w->s = s;
    w->cfg = cfg;
    w->nthreads = cfg->workers > 0 ? cfg->workers : 2;
    w->threads = apr_pcalloc(pchild, sizeof(apr_thread_t *) * (size_t)w->nthreads);
    w->args = apr_pcalloc(pchild, sizeof(thread_arg_t) * (size_t)w->nthreads);
    w->running = apr_pcalloc(pchild, sizeof(running_t) * (size_t)w->nthreads);
    w->queue = apr_pcalloc(pchild, sizeof(qent_t) * QUEUE_MAX);
    /* an account may hold half the threads (at least one), so another is always free for
     * the others; one target name as many as there may be connections to one address */
    w->per_owner = cfg->va_per_account > 0 ? cfg->va_per_account
                                           : (w->nthreads / 2 > 0 ? w->nthreads / 2 : 1);
    w->per_target = cfg->wfe.ra.va.max_host_conns > 0 ? cfg->wfe.ra.va.max_host_conns
                                                      : ACP_VA_DEFAULT_HOST_CONNS;
    apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    apr_thread_cond_create(&w->cond, pchild);
    for (i = 0; i < w->nthreads; i++) {
        w->args[i].w = w;
        w->args[i].idx = i;
        if (apr_thread_create(&w->threads[i], NULL, worker_main, &w->args[i], pchild) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         ACPLOGNO(02002) "cannot start a background worker thread");
            w->nthreads = i;
            break;
        }
    }
    if (cfg->chain.rpc_url && cfg->wfe.ra.billing.eth_address) {
        apr_thread_cond_create(&w->chain_cond, pchild);
        if (apr_thread_create(&w->chain_thread, NULL, chain_main, w, pchild) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         ACPLOGNO(03806) "cannot start the chain watcher thread");
            w->chain_thread = NULL;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ACPLOGNO(04900) "%d background worker threads in this child (AcmePayWorkers)",
                 w->nthreads);
    workers = w;
    /* a pre-cleanup: the threads must stop before their subpools are destroyed */
    apr_pool_pre_cleanup_register(pchild, w, workers_stop);
}
