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
#include "acp_httpd.h"
#include "acp_util.h"

#define IDLE_WAIT apr_time_from_sec(2)
#define PRUNE_EVERY 60
#define WORKER_MAX_FREE (1024 * 1024) /* bytes a worker's allocator keeps for reuse */

/* Jobs this child claimed as it queued them (acp_httpd_workers_handoff). */
#define HANDOFF_MAX 1024
typedef struct {
    char id[48], kind[16], ref[80];
} handoff_t;

typedef struct {
    server_rec *s;
    acp_srv_cfg_t *cfg;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    int pending;     /* wake-ups not yet taken */
    handoff_t *ring; /* HANDOFF_MAX entries, guarded by mutex */
    int ring_head, ring_count;
    int stop;
    int nthreads;
    apr_thread_t **threads;
    long long last_prune;
} workers_t;

static workers_t *workers;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

static void run_once(workers_t *w, apr_pool_t *p)
{
    ap_dbd_t *dbd = dbd_open(p, w->s);
    acp_db_t *db;
    int ran, rounds = 0;

    if (!dbd) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     ACPLOGNO(02001) "worker: no database connection");
        return;
    }
    db = acp_httpd_db(p, dbd);
    do {
        apr_pool_t *jp;
        apr_pool_create(&jp, p);
        ran = acp_ra_run_due_jobs(db, jp, &w->cfg->wfe.ra, 8);
        apr_pool_destroy(jp);
    } while (ran > 0 && ++rounds < 64 && !w->stop);
    if (acp_now() - w->last_prune > PRUNE_EVERY) {
        w->last_prune = acp_now();
        acp_sa_exec(db, p, "acp_nonce_prune", NULL, ACP_SA_ARGS(acp_sa_ll(p, acp_now())));
    }
    dbd_close(w->s, dbd);
}

/* Runs one handed-off job; it is claimed already, so no claim is written. */
static void run_handoff(workers_t *w, apr_pool_t *p, const handoff_t *h)
{
    ap_dbd_t *dbd = dbd_open(p, w->s);
    acp_job_t job;

    if (!dbd) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     ACPLOGNO(02004) "worker: no database connection (job %s waits for its "
                                     "lease to run out)", h->id);
        return;
    }
    job.id = h->id;
    job.kind = h->kind;
    job.ref = h->ref;
    job.attempts = 1;
    acp_ra_run_job(acp_httpd_db(p, dbd), p, &w->cfg->wfe.ra, &job);
    dbd_close(w->s, dbd);
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *thd, void *data)
{
    workers_t *w = data;
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
        handoff_t h;
        int have = 0, scan = 0;
        apr_thread_mutex_lock(w->mutex);
        if (!w->pending && !w->ring_count && !w->stop) {
            scan = apr_thread_cond_timedwait(w->cond, w->mutex, IDLE_WAIT) != APR_SUCCESS;
        }
        if (w->ring_count > 0) {
            h = w->ring[w->ring_head];
            w->ring_head = (w->ring_head + 1) % HANDOFF_MAX;
            w->ring_count--;
            have = 1;
        }
        else if (w->pending > 0) {
            w->pending--;
            scan = 1;
        }
        apr_thread_mutex_unlock(w->mutex);
        if (w->stop) {
            break;
        }
        if (have) {
            run_handoff(w, p, &h);
        }
        if (scan) {
            run_once(w, p);
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
    apr_thread_mutex_unlock(w->mutex);
    for (i = 0; i < w->nthreads; i++) {
        apr_status_t st;
        apr_thread_join(&st, w->threads[i]);
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
    handoff_t *h;

    if (!w || strlen(job->id) >= sizeof(h->id) || strlen(job->kind) >= sizeof(h->kind) ||
        strlen(job->ref) >= sizeof(h->ref)) {
        acp_httpd_workers_wake(baton); /* claimed: picked up when the lease runs out */
        return;
    }
    apr_thread_mutex_lock(w->mutex);
    if (w->ring_count == HANDOFF_MAX) {
        apr_thread_mutex_unlock(w->mutex);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s,
                     ACPLOGNO(02005) "worker queue full: job %s runs when its lease runs out",
                     job->id);
        return;
    }
    h = &w->ring[(w->ring_head + w->ring_count) % HANDOFF_MAX];
    apr_cpystrn(h->id, job->id, sizeof(h->id));
    apr_cpystrn(h->kind, job->kind, sizeof(h->kind));
    apr_cpystrn(h->ref, job->ref, sizeof(h->ref));
    w->ring_count++;
    apr_thread_cond_signal(w->cond);
    apr_thread_mutex_unlock(w->mutex);
}

void acp_httpd_workers_start(apr_pool_t *pchild, server_rec *s, acp_srv_cfg_t *cfg)
{
    workers_t *w;
    int i;

    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_open || !dbd_close || workers) {
        return;
    }
    w = apr_pcalloc(pchild, sizeof(*w));
    w->s = s;
    w->cfg = cfg;
    w->nthreads = cfg->workers > 0 ? cfg->workers : 2;
    w->threads = apr_pcalloc(pchild, sizeof(apr_thread_t *) * (size_t)w->nthreads);
    w->ring = apr_pcalloc(pchild, sizeof(handoff_t) * HANDOFF_MAX);
    apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    apr_thread_cond_create(&w->cond, pchild);
    for (i = 0; i < w->nthreads; i++) {
        if (apr_thread_create(&w->threads[i], NULL, worker_main, w, pchild) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         ACPLOGNO(02002) "cannot start a background worker thread");
            w->nthreads = i;
            break;
        }
    }
    workers = w;
    /* a pre-cleanup: the threads must stop before their subpools are destroyed */
    apr_pool_pre_cleanup_register(pchild, w, workers_stop);
}
