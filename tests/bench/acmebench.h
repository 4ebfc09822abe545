/* acmebench: what its files share. acmebench.c: the options, the run, the server's process
 * trees and the report; acmebench_http.c: the http-01 responder and the HTTP client;
 * acmebench_flow.c: JWS, CSRs and one ACME issuance flow. */
#ifndef ACMEBENCH_H
#define ACMEBENCH_H

#include <stddef.h>
#include <curl/curl.h>
#include <json-c/json.h>

/* acmebench.c: options and shared state */
extern const char *opt_dir, *opt_cacert, *opt_prefix;
extern int opt_timeout;
extern volatile int g_stop;
extern long g_requests; /* HTTP requests made (ACME side) */
extern char g_new_nonce[512], g_new_account[512], g_new_order[512]; /* from the directory */
double now_s(void);
void die(const char *fmt, ...); /* the message on stderr, exit status 2 */

/* acmebench_http.c: the http-01 responder (token -> key authorization) */
extern long g_http01_served;
void tok_put(const char *token, const char *keyauth);
void tok_del(const char *token);
void http01_start(int port, int nthreads);

/* acmebench_http.c: the HTTP client (one libcurl easy handle) */
typedef struct {
    CURL *c;
    char *body;
    size_t len, cap;
    char nonce[256];
    char location[512];
    long status;
    int reqs;
} http_t;
int http_do(http_t *h, const char *method, const char *url, const char *body);
void http_init(http_t *h);
void http_free(http_t *h);

/* acmebench_flow.c: one issuance flow and its latencies; a response's JSON */
typedef struct {
    double flow, finalize, issue, neworder;
} flow_lat_t;
int run_flow(int idx, flow_lat_t *lat);
json_object *body_json(http_t *h);
const char *jget(json_object *o, const char *k);

#endif
