/* acmebench -- ACME (RFC 8555) load generator for `make bench`.
 *
 * N worker threads, each running complete issuance flows back to back on its own libcurl
 * easy handle (one keep-alive TLS connection per flow, as a real client would):
 *   directory, newNonce, newAccount (fresh ES256 key), newOrder for <prefix><flow>-<i>.bench.test,
 *   authz, http-01 answered by our own HTTP server (in-memory token -> key authorization),
 *   POST challenge, poll authz, finalize with a P-256 CSR, poll order, download the certificate.
 * While the flows run, a sampler thread reads /proc every 100 ms for the server's process
 * trees (--pid: Apache parent + children, or pebble; a comma-separated list adds more roots:
 * a second node, the PostgreSQL postmaster, the load balancer) and keeps the peak RSS; CPU is
 * summed utime+stime(+cutime+cstime, so exited children count) over the trees before and after.
 *
 * Output: one line "RESULT key=value ..." (run.sh parses it) and a human summary on stderr.
 *
 *   acmebench --dir URL --cacert FILE [--flows N] [--conc C] [--requests R] [--pid PID[,PID…]]
 *             [--http01 PORT] [--prefix STR] [--label NAME] [--timeout SEC]
 *   --requests R: stop starting flows once R HTTP requests were made (soak); else --flows.
 * Every loop is bounded: polls by --timeout (default 30 s per flow), the run by
 * flows/requests and --deadline (default 240 s: no new flow starts after it).
 *
 * Files: acmebench.c (options, the run, the server's process trees, the report),
 * acmebench_http.c (the http-01 responder, the HTTP client), acmebench_flow.c (JWS, CSR, one
 * flow); acmebench.h declares what they share. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "acmebench.h"

/* ---- options and shared state ------------------------------------------------------ */

const char *opt_dir, *opt_cacert, *opt_prefix = "";
static const char *opt_label = "server";
static int opt_flows = 100, opt_conc = 8, opt_requests = 0, opt_port = 5002;
int opt_timeout = 30;
static int opt_pid = 0, opt_deadline = 240;
#define MAX_ROOTS 8
static int opt_roots[MAX_ROOTS], opt_nroots; /* --pid: the roots of the trees summed */

volatile int g_stop;
static int g_next_flow;          /* next flow index to start */
long g_requests;                 /* HTTP requests made (ACME side) */
static int g_ok, g_fail;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
char g_new_nonce[512], g_new_account[512], g_new_order[512];

static double *lat_flow, *lat_final, *lat_issue, *lat_order;
static int n_lat;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "acmebench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* ---- server process tree: CPU and RSS ------------------------------------------------- */

typedef struct {
    double cpu_s;  /* utime+stime+cutime+cstime over the tree */
    double root_cpu_s[MAX_ROOTS]; /* the same per --pid root's tree */
    long rss_kb;   /* sum of RSS over the tree */
    int nproc;
    /* context switches of every thread in the trees: voluntary (a thread that waits for a
     * peer or the disk: a round trip to the database is one on each side) and not (taken
     * off the CPU for another); threads that ended in between are not counted */
    unsigned long long sleeps, preempts;
    unsigned long long root_sleeps[MAX_ROOTS];
} tree_t;

static int read_stat(int pid, int *ppid, unsigned long long *ticks, long *rss_pages)
{
    char path[64], buf[2048], *p;
    FILE *f;
    size_t n;
    unsigned long long ut, st;
    long long cut, cst;
    long rss;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p) {
        return -1;
    }
    /* fields after comm: 3 state, 4 ppid, ... 14 utime 15 stime 16 cutime 17 cstime ... 24 rss */
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld "
                      "%*d %*d %*d %*d %*u %*u %ld",
               ppid, &ut, &st, &cut, &cst, &rss) != 6) {
        return -1;
    }
    *ticks = ut + st + (unsigned long long)cut + (unsigned long long)cst;
    *rss_pages = rss;
    return 0;
}

/* 1 + the index of pid in --pid's roots, 0 when it is none of them */
static int is_root(int pid)
{
    int i;
    for (i = 0; i < opt_nroots; i++) {
        if (opt_roots[i] == pid) {
            return i + 1;
        }
    }
    return 0;
}

/* the voluntary context switches of every thread of pid; the others added to *preempts */
static unsigned long long sleeps_of(int pid, unsigned long long *preempts)
{
    char path[64], line[256];
    unsigned long long sum = 0, v;
    DIR *d;
    struct dirent *e;
    int tasks = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    if (!(d = opendir(path))) {
        return 0;
    }
    while ((e = readdir(d)) && tasks++ < 4096) {
        FILE *f;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", pid, e->d_name);
        if (!(f = fopen(path, "r"))) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1) {
                sum += v;
            }
            else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
                *preempts += v;
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* the trees' CPU, RSS and process count; with_sleeps: their threads' voluntary context
 * switches too (only before and after the flows: it reads every thread's status) */
static void tree_sample(int root, tree_t *t, int with_sleeps)
{
    static int pids[65536], ppids[65536];
    static unsigned long long ticks[65536];
    static long rss[65536];
    static unsigned char in[65536]; /* 1 + the root's index, 0: outside every tree */
    int n = 0, i, changed = 1, rounds = 0;
    DIR *d;
    struct dirent *e;
    long tck = sysconf(_SC_CLK_TCK), pg = sysconf(_SC_PAGESIZE) / 1024;

    memset(t, 0, sizeof(*t));
    if (root <= 0 || !(d = opendir("/proc"))) {
        return;
    }
    while ((e = readdir(d)) && n < 65536) {
        int pid = atoi(e->d_name);
        if (pid > 0 && read_stat(pid, &ppids[n], &ticks[n], &rss[n]) == 0) {
            pids[n] = pid;
            in[n] = (unsigned char)is_root(pid);
            n++;
        }
    }
    closedir(d);
    while (changed && rounds++ < 16) { /* tree depth is small; bounded */
        changed = 0;
        for (i = 0; i < n; i++) {
            int j;
            if (in[i]) {
                continue;
            }
            for (j = 0; j < n; j++) {
                if (in[j] && pids[j] == ppids[i]) {
                    in[i] = in[j];
                    changed = 1;
                    break;
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (in[i]) {
            t->cpu_s += (double)ticks[i] / (double)tck;
            t->root_cpu_s[in[i] - 1] += (double)ticks[i] / (double)tck;
            t->rss_kb += rss[i] * pg;
            t->nproc++;
            if (with_sleeps) {
                unsigned long long v = sleeps_of(pids[i], &t->preempts);
                t->sleeps += v;
                t->root_sleeps[in[i] - 1] += v;
            }
        }
    }
}

static long g_peak_rss_kb;
static int g_peak_nproc;

static void *sampler_thread(void *arg)
{
    (void)arg;
    while (!g_stop) {
        tree_t t;
        tree_sample(opt_pid, &t, 0);
        if (t.rss_kb > g_peak_rss_kb) {
            g_peak_rss_kb = t.rss_kb;
        }
        if (t.nproc > g_peak_nproc) {
            g_peak_nproc = t.nproc;
        }
        usleep(100000);
    }
    return NULL;
}

static double g_deadline;

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        int idx;
        flow_lat_t lat;
        pthread_mutex_lock(&g_mu);
        if (g_stop || now_s() > g_deadline ||
            (opt_requests > 0 ? g_requests >= opt_requests : g_next_flow >= opt_flows)) {
            pthread_mutex_unlock(&g_mu);
            break;
        }
        idx = g_next_flow++;
        pthread_mutex_unlock(&g_mu);
        memset(&lat, 0, sizeof(lat));
        if (run_flow(idx, &lat)) {
            pthread_mutex_lock(&g_mu);
            g_ok++;
            if (n_lat < opt_flows) {
                lat_flow[n_lat] = lat.flow;
                lat_final[n_lat] = lat.finalize;
                lat_issue[n_lat] = lat.issue;
                lat_order[n_lat] = lat.neworder;
                n_lat++;
            }
            pthread_mutex_unlock(&g_mu);
        }
        else {
            pthread_mutex_lock(&g_mu);
            g_fail++;
            pthread_mutex_unlock(&g_mu);
        }
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    int i;
    if (n == 0) {
        return 0;
    }
    i = (int)(q * (n - 1) + 0.5);
    return v[i] * 1000.0;
}

static void fetch_directory(void)
{
    http_t h;
    json_object *o;
    int i;

    http_init(&h);
    for (i = 0; i < 50; i++) {
        if (http_do(&h, "GET", opt_dir, NULL) == 0 && h.status == 200) {
            break;
        }
        usleep(200000);
    }
    o = body_json(&h);
    if (!jget(o, "newNonce") || !jget(o, "newAccount") || !jget(o, "newOrder")) {
        die("directory %s unusable: %.200s", opt_dir, h.body ? h.body : "");
    }
    snprintf(g_new_nonce, sizeof(g_new_nonce), "%s", jget(o, "newNonce"));
    snprintf(g_new_account, sizeof(g_new_account), "%s", jget(o, "newAccount"));
    snprintf(g_new_order, sizeof(g_new_order), "%s", jget(o, "newOrder"));
    json_object_put(o);
    http_free(&h);
}

int main(int argc, char **argv)
{
    int i;
    pthread_t *th, samp;
    tree_t before, after;
    struct rusage ru0, ru1;
    double t0, wall, gen_cpu, srv_cpu;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            die("option %s needs a value", a);
        }
        if (!strcmp(a, "--dir")) opt_dir = v;
        else if (!strcmp(a, "--cacert")) opt_cacert = v;
        else if (!strcmp(a, "--flows")) opt_flows = atoi(v);
        else if (!strcmp(a, "--conc")) opt_conc = atoi(v);
        else if (!strcmp(a, "--requests")) opt_requests = atoi(v);
        else if (!strcmp(a, "--pid")) {
            const char *q = v;
            opt_nroots = 0;
            while (q && *q && opt_nroots < MAX_ROOTS) {
                opt_roots[opt_nroots++] = atoi(q);
                q = strchr(q, ',');
                q = q ? q + 1 : NULL;
            }
            opt_pid = opt_nroots ? opt_roots[0] : 0;
        }
        else if (!strcmp(a, "--http01")) opt_port = atoi(v);
        else if (!strcmp(a, "--prefix")) opt_prefix = v;
        else if (!strcmp(a, "--label")) opt_label = v;
        else if (!strcmp(a, "--timeout")) opt_timeout = atoi(v);
        else if (!strcmp(a, "--deadline")) opt_deadline = atoi(v);
        else die("unknown option %s", a);
        i++;
    }
    if (!opt_dir || !opt_cacert || opt_conc < 1 || opt_conc > 1024 || opt_flows < 1) {
        die("usage: acmebench --dir URL --cacert FILE [--flows N] [--conc C] [--requests R] "
            "[--pid PID] [--http01 PORT] [--prefix STR] [--label NAME] [--timeout SEC] "
            "[--deadline SEC]");
    }
    if (opt_requests > 0) {
        opt_flows = opt_requests; /* upper bound on flows for the latency arrays */
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lat_flow = calloc((size_t)opt_flows, sizeof(double));
    lat_final = calloc((size_t)opt_flows, sizeof(double));
    lat_issue = calloc((size_t)opt_flows, sizeof(double));
    lat_order = calloc((size_t)opt_flows, sizeof(double));
    http01_start(opt_port, 4);
    fetch_directory();

    g_deadline = now_s() + opt_deadline;
    tree_sample(opt_pid, &before, 1);
    g_peak_rss_kb = before.rss_kb;
    g_requests = 0;
    pthread_create(&samp, NULL, sampler_thread, NULL);
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_s();
    th = calloc((size_t)opt_conc, sizeof(pthread_t));
    for (i = 0; i < opt_conc; i++) {
        pthread_create(&th[i], NULL, worker, NULL);
    }
    for (i = 0; i < opt_conc; i++) {
        pthread_join(th[i], NULL);
    }
    wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    tree_sample(opt_pid, &after, 1);
    g_stop = 1;
    pthread_join(samp, NULL);
    if (after.rss_kb > g_peak_rss_kb) {
        g_peak_rss_kb = after.rss_kb;
    }
    gen_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                       ru0.ru_stime.tv_sec) +
              (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                       ru0.ru_stime.tv_usec) / 1e6;
    srv_cpu = after.cpu_s - before.cpu_s;

    qsort(lat_flow, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_final, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_issue, (size_t)n_lat, sizeof(double), cmp_d);
    qsort(lat_order, (size_t)n_lat, sizeof(double), cmp_d);
    {
        int ok = g_ok > 0 ? g_ok : 1;
        printf("RESULT label=%s ok=%d fail=%d wall_s=%.3f certs_per_s=%.2f requests=%ld "
               "req_per_cert=%.1f fin_p50_ms=%.2f fin_p99_ms=%.2f issue_p50_ms=%.2f "
               "issue_p99_ms=%.2f flow_p50_ms=%.2f flow_p99_ms=%.2f order_p50_ms=%.2f "
               "order_p99_ms=%.2f srv_cpu_s=%.3f srv_cpu_ms_per_cert=%.3f srv_cpu_util=%.2f "
               "peak_rss_mb=%.1f srv_procs=%d gen_cpu_s=%.3f gen_cpu_ms_per_cert=%.3f "
               "gen_cpu_util=%.2f http01_served=%ld\n",
               opt_label, g_ok, g_fail, wall, g_ok / wall, g_requests,
               (double)g_requests / ok, pct(lat_final, n_lat, 0.5), pct(lat_final, n_lat, 0.99),
               pct(lat_issue, n_lat, 0.5), pct(lat_issue, n_lat, 0.99), pct(lat_flow, n_lat, 0.5),
               pct(lat_flow, n_lat, 0.99), pct(lat_order, n_lat, 0.5), pct(lat_order, n_lat, 0.99),
               srv_cpu, srv_cpu * 1000.0 / ok, srv_cpu / wall, (double)g_peak_rss_kb / 1024.0,
               g_peak_nproc, gen_cpu, gen_cpu * 1000.0 / ok, gen_cpu / wall, g_http01_served);
    }
    {
        /* each --pid root's share (node, database, balancer…), ms per certificate */
        char by[MAX_ROOTS * 16] = "";
        size_t o = 0;
        int ok = g_ok > 0 ? g_ok : 1;
        for (i = 0; i < opt_nroots && o < sizeof(by) - 16; i++) {
            o += (size_t)snprintf(by + o, sizeof(by) - o, "%s%.2f", i ? "/" : "",
                                  (after.root_cpu_s[i] - before.root_cpu_s[i]) * 1000.0 / ok);
        }
        printf("RESULT_BY_ROOT label=%s srv_cpu_ms_per_cert_by_root=%s", opt_label,
               by[0] ? by : "-");
        /* the same for the threads' voluntary context switches */
        o = 0;
        by[0] = '\0';
        for (i = 0; i < opt_nroots && o < sizeof(by) - 16; i++) {
            o += (size_t)snprintf(by + o, sizeof(by) - o, "%s%.1f", i ? "/" : "",
                                  (double)(after.root_sleeps[i] - before.root_sleeps[i]) / ok);
        }
        printf(" srv_sleeps_per_cert=%.1f srv_sleeps_per_cert_by_root=%s "
               "srv_preempts_per_cert=%.1f\n",
               (double)(after.sleeps - before.sleeps) / ok, by[0] ? by : "-",
               (double)(after.preempts - before.preempts) / ok);
    }
    fflush(stdout);
    curl_global_cleanup();
    return g_fail > 0 && g_ok == 0 ? 1 : 0;
}
