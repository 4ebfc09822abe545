/* acme-pay-admin: shared declarations. */
#ifndef ADM_H
#define ADM_H

#include <apr_pools.h>
#include <json-c/json.h>
#include "acp_sa.h"
#include "acp_ca.h"

/* exit codes a script can rely on */
#define ADM_OK 0
#define ADM_FAIL 1  /* not found (lookups), database or signer failure */
#define ADM_USAGE 2 /* usage, bad input: unknown id in an action, bad amount, no reason */

typedef struct adm_t {
    apr_pool_t *pool;
    const char *driver, *params;     /* the database */
    const char *conf;                /* Apache config read for them */
    const char *vhost;               /* --vhost NAME: the <VirtualHost> to take them from */
    const char *server;              /* which server of conf they came from (info) */
    const char *key_file;            /* AcmePayKeyFile, or --key-file */
    const char *currency;
    const char *sub_refund;          /* AcmePaySubscriptionRefund (NULL: prorata) */
    const char *actor;               /* staff user recorded in the ledger */
    const char *ca_cert, *ca_key;    /* AcmePayCA, or --ca CERT KEY */
    int ca_local;                    /* --ca given: sign reissues here */
    const char *sign_command;        /* AcmePaySignCommand */
    int validity_days;               /* AcmePayCertValidity (default 90) */
    int ov_vetting_days;             /* AcmePayOVVettingDays (0: ACP_ORG_VETTING_DAYS) */
    const char *crl_url;             /* AcmePayCRLURL (NULL: no CRLs) */
    int crl_shards, crl_lifetime;    /* AcmePayCRLShards, AcmePayCRLLifetime (0: default) */
    int json, yes;
    acp_db_t *db;
    acp_signer_t *signer;            /* made on first use */
    struct acp_secret_key_t *secrets; /* the key file's key, once read */
} adm_t;

/* Read DBDriver/DBDParams (and the AcmePay directives the tool needs) from an Apache
 * configuration file as Apache does (Include/IncludeOptional, <VirtualHost> inheriting
 * from the main server): from the server with "SetHandler acme-pay", or adm->vhost.
 * Refuses (-1, *err) when none or several on different databases qualify. */
int adm_conf_read(adm_t *adm, const char *path, const char **err);

/* ---- adm_out.c: output and formatting --------------------------------------------- */
/* A json object released with pool p. */
json_object *adm_jpool(apr_pool_t *p, json_object *o);
/* Error: {"error": msg} on stdout with --json, the message on stderr; returns code. */
int adm_fail(adm_t *adm, int code, const char *msg);
/* Success: o as JSON with --json, else text. */
void adm_emit(adm_t *adm, json_object *o, const char *text);
/* A value for people: times as "2025-01-02 03:04" UTC, money with the currency. */
const char *adm_fmt(adm_t *adm, apr_pool_t *p, const char *key, json_object *v);
/* A readable table of an array of flat objects (cols: comma list, NULL = all keys). */
const char *adm_table(adm_t *adm, apr_pool_t *p, json_object *arr, const char *cols);
/* The same array as CSV (RFC 4180; cols as above). */
const char *adm_csv(adm_t *adm, apr_pool_t *p, json_object *arr, const char *cols);
/* RFC 5280 reason name of a revocation code */
const char *adm_reason_name(int code);
/* "1 row", "2 rows" */
const char *adm_count(apr_pool_t *p, long long n, const char *one, const char *many);
/* A readable page of a nested object (scalars "key: value", arrays as tables). */
const char *adm_page(adm_t *adm, apr_pool_t *p, json_object *obj);

/* ---- adm_data.c (lists), adm_show.c (details, dashboard): json from catalogue rows ---- */
typedef struct adm_filter_t {
    const char *status;   /* orders: pending|ready|processing|valid|invalid;
                             invoices: open|paid|expired|superseded|voided */
    const char *q;        /* search (3+ characters, the trigram indexes); ledger: an exact
                             id, reference, invoice, order or holder */
    const char *holder;   /* billing id */
    const char *serial;   /* certificates: serial prefix (normalised) */
    const char *order;    /* ledger/invoices of one order */
    const char *cert;     /* ledger rows of one certificate */
    const char *invoice;  /* ledger rows of one invoice */
    int unpaid;           /* orders with an open invoice */
    long long limit;      /* 0: 100 */
    const char *after;    /* cursor: the page after the row it names ("TIME.KEY") */
    long long since, until; /* time range [since, until) in unix seconds, 0: open */
    int asc;              /* oldest first */
    int complete;         /* a search waits for every match (no time budget) */
    const char *next;     /* out: the cursor of the next page, NULL on the last */
    int partial;          /* out: the search stopped at its budget: the page holds only the
                           * matches among the newest 1,000 records (maybe none) */
    const char *path;     /* out: how the search ran: "words", "index", "scan", "newest"
                           * (NULL: none) */
} adm_filter_t;

/* A list's search runs each of its steps within this many ms: the newest 1,000 records,
 * the word index (where the text starts a word), the trigram index, and the list scanned
 * newest first checking each row (a text most rows hold; adm_list). */
#define ADM_LIST_BUDGET_MS 20
/* s in lowercase (ASCII: the indexes fold case so), a copy in p */
char *adm_lowercase(apr_pool_t *p, const char *s);

/* what: holders|accounts|orders|certs|invoices|ledger|eab|expiring. Newest first (time,
 * then insertion), one page; f->next says where the next one starts. */
int adm_list(adm_t *adm, apr_pool_t *p, const char *what, adm_filter_t *f,
             json_object **arr, const char **err);
int adm_cursor_parse(apr_pool_t *p, const char *cursor, long long *t, const char **key);
/* what: holder|account|order|cert|invoice|ledger (cert: id or serial in any format).
 * Every page but the holder's links to the holder (id, label, balance). */
int adm_show(adm_t *adm, apr_pool_t *p, const char *what, const char *id, json_object **obj,
             const char **err);
/* One text across holders, accounts (contacts), orders, invoices, certificates (names,
 * serials: hex with or without colons, decimal), EAB keys and payment references:
 * {"query", "results": [{kind, id, show, show_id?, summary, holder, created}], "more",
 * "exact"}. Exact keys first (an id, a serial, an e-mail address, a complete name, a
 * payment reference: index lookups); any part of the text only when nothing matched
 * exactly, or with all. */
#define ADM_FIND_ALL 1      /* any part of the text even after exact matches */
#define ADM_FIND_COMPLETE 2 /* wait for every match, however long the lookups take */
/* Without ADM_FIND_COMPLETE the any-part step's lookups share ADM_FIND_BUDGET_MS: a kind
 * whose lookup is stopped there is answered from its newest rows and listed in
 * "partial" (a fragment whose trigrams most rows hold, "7777777", has to check them all). */
#define ADM_FIND_BUDGET_MS 25
int adm_find(adm_t *adm, apr_pool_t *p, const char *text, long long limit, int flags,
             json_object **obj, const char **err);
/* Before a search of the trigram and word indexes: SQLite's newest search rows wait in
 * search_queue until a batch of them is indexed (migration 030); they are indexed now,
 * so the search sees every record committed before it. A write, only when rows wait; a
 * database this tool may not write is searched as it is. */
void adm_search_current(adm_t *adm, apr_pool_t *p);
int adm_dashboard(adm_t *adm, apr_pool_t *p, json_object **obj, const char **err);
/* The columns a list shows in a table (a subset of its JSON keys). */
const char *adm_list_cols(const char *what);
/* The rows of a catalogue statement as a JSON array of objects keyed by spec's names
 * ("#name": a number; adm_data.c). */
int adm_rows_json(adm_t *adm, apr_pool_t *p, const char *label, const char *spec, int nargs,
                  const char *const *args, json_object **arr, const char **err);
/* The same, stopped after ms milliseconds (acp_sa_rows_within): *stopped = 1, no rows. */
int adm_rows_json_within(adm_t *adm, apr_pool_t *p, const char *label, const char *spec, int ms,
                         int *stopped, int nargs, const char *const *args, json_object **arr,
                         const char **err);
/* One catalogue row as an object keyed by spec's names, as adm_rows_json makes them. */
json_object *adm_row_obj(apr_pool_t *p, const char *spec, const char **row);
/* A stored problem document as staff read it (a payment request: "awaiting payment"). */
json_object *adm_order_error(const char *err);
const char *adm_currency(adm_t *adm);

/* ---- adm_ops.c: the actions (each a transaction; bad input changes nothing) --------- */
typedef struct adm_result_t {
    int code;             /* ADM_OK / ADM_FAIL / ADM_USAGE */
    const char *msg;      /* error message, or a one-line summary on success */
    json_object *out;     /* on success (pool-owned) */
} adm_result_t;
/* Fills r; returns code. */
int adm_result(adm_result_t *r, int code, const char *msg, json_object *out);

int adm_open_db(adm_t *adm, int migrate, const char **err);
/* A write transaction begun, the database opened first if it is not (migrate 0): ADM_OK,
 * or ADM_FAIL and *err. */
int adm_begin(adm_t *adm, const char **err);
/* An amount as people type it: currency units ("10", "10.00", "0.5"), or minor units
 * with the suffix "minor" ("1000minor"). 0 and *minor on success, else -1 and *why. */
int adm_parse_money(adm_t *adm, const char *s, long long *minor, const char **why);
/* What a money action would do, for the confirmation: holder, label, amount, balance
 * now and after. ADM_USAGE (bad input / unknown holder) with r->msg. */
typedef struct adm_preview_t {
    const char *holder, *label;
    long long amount, balance, after;
    const char *text;     /* "Credit 10.00 CNY to H (label): balance 1.00 CNY -> 11.00 CNY" */
} adm_preview_t;
int adm_money_preview(adm_t *adm, apr_pool_t *p, int credit, const char *holder,
                      const char *amount, adm_preview_t *pv, adm_result_t *r);
int adm_invoice_preview(adm_t *adm, apr_pool_t *p, const char *id, const char *amount,
                        adm_preview_t *pv, adm_result_t *r);
/* Does the (open) database hold sealed secrets? */
int adm_db_sealed(adm_t *adm, apr_pool_t *p);
int adm_op_money(adm_t *adm, apr_pool_t *p, int credit, const char *holder, const char *amount,
                 const char *reason, adm_result_t *r);
int adm_op_invoice_pay(adm_t *adm, apr_pool_t *p, const char *id, const char *reference,
                       const char *amount, adm_result_t *r);
int adm_op_invoice_void(adm_t *adm, apr_pool_t *p, const char *id, const char *reason,
                        adm_result_t *r);
int adm_op_eab_create(adm_t *adm, apr_pool_t *p, const char *label, adm_result_t *r);
/* An unmatched on-chain transfer credited to a holder (an audited payment ledger row). */
int adm_op_chain_assign(adm_t *adm, apr_pool_t *p, const char *ref, const char *holder,
                        const char *reason, adm_result_t *r);
int adm_op_eab_disable(adm_t *adm, apr_pool_t *p, const char *kid, adm_result_t *r);
int adm_op_revoke(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                  adm_result_t *r);
/* Reissue: with --ca (the tool holds the CA) signed here; otherwise a request the
 * module's workers sign, waited for up to wait_s seconds (0: queue and return). */
int adm_op_reissue(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                   int wait_s, adm_result_t *r);

/* ---- adm_cmd.c: the sub-commands ------------------------------------------------------ */
int adm_cmd_list(adm_t *adm, int argc, char **argv);   /* argv[0] = what, argv[1] = "list" */
int adm_cmd_show(adm_t *adm, int argc, char **argv);
int adm_cmd_revoke(adm_t *adm, int argc, char **argv);
int adm_cmd_crl(adm_t *adm, int argc, char **argv);      /* adm_crl.c */
int adm_cmd_reissue(adm_t *adm, int argc, char **argv);
/* adm_renew.c: move the ARI window of one or many certificates */
int adm_cmd_renew(adm_t *adm, int argc, char **argv);
/* One certificate's ARI window becomes now .. now+span with the reason (the console). */
int adm_op_renew(adm_t *adm, apr_pool_t *p, const char *serial, const char *reason,
                 long long span, adm_result_t *r);
/* adm_revenue.c: revenue per profile */
int adm_cmd_revenue(adm_t *adm, int argc, char **argv);
/* adm_subs.c: subscriptions list|show|extend|cancel|revenue */
int adm_cmd_subscriptions(adm_t *adm, int argc, char **argv);
/* adm_org.c: organizations (OV) and their vetting, every change audited */
int adm_cmd_org(adm_t *adm, int argc, char **argv);
typedef struct adm_org_fields_t {
    const char *name, *locality, *state, *country, *evidence;  /* NULL: unchanged / none */
} adm_org_fields_t;
int adm_op_org_create(adm_t *adm, apr_pool_t *p, const char *holder, const adm_org_fields_t *f,
                      const char *reason, adm_result_t *r);
int adm_op_org_edit(adm_t *adm, apr_pool_t *p, const char *id, const adm_org_fields_t *f,
                    const char *reason, adm_result_t *r);
/* vetted_at 0: now; days 0: AcmePayOVVettingDays (397) */
int adm_op_org_vet(adm_t *adm, apr_pool_t *p, const char *id, const char *evidence,
                   long long vetted_at, int days, const char *reason, adm_result_t *r);
int adm_op_org_revoke(adm_t *adm, apr_pool_t *p, const char *id, const char *reason,
                      adm_result_t *r);
/* The "orgs" list's rows get status and vetting_end; show org: ID or holder. */
void adm_org_decorate(adm_t *adm, json_object *arr);
int adm_org_show(adm_t *adm, apr_pool_t *p, const char *id, json_object *obj, const char **err);
/* A date as staff type it (UTC): YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], or unix seconds. */
int adm_parse_date(const char *s, long long *out);
/* Staff's actions on one subscription (the sub-commands and the console). */
int adm_op_sub_cancel(adm_t *adm, apr_pool_t *p, const char *id, const char *policy,
                      const char *reason, adm_result_t *r);
int adm_op_sub_extend(adm_t *adm, apr_pool_t *p, const char *id, const char *duration,
                      const char *reason, adm_result_t *r);
/* A holder's subscriptions, the newest first (array of objects as `list` prints). */
json_object *adm_subs_rows(adm_t *adm, apr_pool_t *p, const char *holder, const char **err);
long long adm_duration(const char *s);
int adm_cmd_dashboard(adm_t *adm, int argc, char **argv);
int adm_cmd_find(adm_t *adm, int argc, char **argv);
int adm_cmd_money(adm_t *adm, int credit, int argc, char **argv);
int adm_cmd_invoice(adm_t *adm, int argc, char **argv);
int adm_cmd_chain(adm_t *adm, int argc, char **argv);   /* adm_chain.c */
int adm_cmd_refund(adm_t *adm, int argc, char **argv);  /* adm_refund.c */
/* y/N on the terminal (stderr); anything but y/yes refuses */
int adm_confirm(const char *question);
const char *adm_opt(int argc, char **argv, const char *name);
int adm_flag(int argc, char **argv, const char *name);

/* ---- tui.c: the console --------------------------------------------------------------- */
int adm_tui(adm_t *adm);

#endif
