/* The configuration directives (AcmePay*): the setters and the command table of the
 * module record (mod_acme_pay.c); the server config they fill is acp_httpd_config.c's.
 * Plain numbers, flags, strings, paths and URLs are stored by one generic setter from a
 * slot (offset in acp_srv_cfg_t, range, unit) like httpd's ap_set_*_slot; what needs more
 * than that has its own setter. The abuse limits live in acp_httpd_limits.c, the payment
 * providers in acp_httpd_provider.c, the invoice template in acp_httpd_invoice.c. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "httpd.h"
#include "http_config.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include "acp_httpd.h"
#include "acp_va.h"
#include "acp_eth.h"
#include "acp_crl.h"
#include "acp_profile.h"
#include "acp_validity.h"

#define OFF(field) offsetof(acp_srv_cfg_t, field)
/* OFF(field), and a compile error unless field has the given type */
#define TYPED_OFF(type, field) (OFF(field) + 0 * sizeof((type *){&((acp_srv_cfg_t *)0)->field}))

static acp_srv_cfg_t *srv_cfg(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &acme_pay_module);
}

/* ---- slots: directives that store one value ----------------------------------------- */

typedef enum {
    SLOT_INT,        /* int, lo..hi times scale */
    SLOT_SIZE,       /* apr_size_t, lo..hi */
    SLOT_MINOR,      /* long long, an amount in minor units, lo..hi */
    SLOT_FLAG,       /* int, on/off */
    SLOT_STR,        /* const char *, as given */
    SLOT_PATH,       /* const char *, relative to ServerRoot */
    SLOT_URL,        /* const char *, http:// or https:// (else the error text bad) */
    SLOT_URL_MAILTO, /* const char *, http://, https:// or mailto: (else bad) */
} slot_kind_t;

typedef struct {
    slot_kind_t kind;
    apr_size_t off;     /* of the value in acp_srv_cfg_t */
    long long lo, hi;   /* numbers: the accepted range */
    int scale;          /* SLOT_INT: stored as given times this (seconds to ms); 0: 1 */
    unsigned pay_bit;   /* set in pay_set: the directive was given here (ACP_PAY_*) */
    unsigned cfg_bit;   /* set in cfg_set (ACP_SET_*) */
    const char *bad;    /* URLs: the error text */
} slot_t;

/* a slot as the cmd_data of a command_rec (a static, constant object) */
#define SLOT(...) ((void *)&(const slot_t){__VA_ARGS__})
#define INT_SLOT(field, lo_, hi_, ...) \
    SLOT(.kind = SLOT_INT, .off = TYPED_OFF(int, field), .lo = lo_, .hi = hi_, __VA_ARGS__)
#define MINOR_SLOT(field, bit) \
    SLOT(.kind = SLOT_MINOR, .off = TYPED_OFF(long long, field), .lo = 0, \
         .hi = 1000000000000LL, .pay_bit = bit)
#define FLAG_SLOT(field, ...) SLOT(.kind = SLOT_FLAG, .off = TYPED_OFF(int, field), __VA_ARGS__)
#define STR_SLOT(kind_, field, ...) \
    SLOT(.kind = kind_, .off = TYPED_OFF(const char *, field), __VA_ARGS__)

static int http_url(const char *s)
{
    return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

static const char *number_error(cmd_parms *cmd, const char *arg, long long lo, long long hi)
{
    return apr_psprintf(cmd->pool, "%s: '%s' is not a number in %" APR_INT64_T_FMT
                        "..%" APR_INT64_T_FMT, cmd->cmd->name, arg, (apr_int64_t)lo,
                        (apr_int64_t)hi);
}

static const char *parse_int(cmd_parms *cmd, const char *arg, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        return number_error(cmd, arg, lo, hi);
    }
    *out = v;
    return NULL;
}

static void slot_given(acp_srv_cfg_t *c, const slot_t *s)
{
    c->pay_set |= s->pay_bit;
    c->cfg_set |= s->cfg_bit;
}

static const char *set_slot(cmd_parms *cmd, void *d, const char *arg)
{
    const slot_t *s = cmd->info;
    acp_srv_cfg_t *c = srv_cfg(cmd);
    void *at = (char *)c + s->off;
    char *end = NULL;
    long long v;

    switch (s->kind) {
    case SLOT_STR:
    case SLOT_PATH:
    case SLOT_URL:
    case SLOT_URL_MAILTO:
        if ((s->kind == SLOT_URL && !http_url(arg)) ||
            (s->kind == SLOT_URL_MAILTO && !http_url(arg) && strncmp(arg, "mailto:", 7))) {
            return s->bad;
        }
        *(const char **)at = s->kind == SLOT_PATH ? ap_server_root_relative(cmd->pool, arg)
                                                  : arg;
        break;
    default:
        v = strtoll(arg, &end, 10);
        if (!*arg || *end || v < s->lo || v > s->hi) {
            return s->kind == SLOT_MINOR
                       ? apr_psprintf(cmd->pool,
                                      "%s: '%s' must be an integer (minor units) in range",
                                      cmd->cmd->name, arg)
                       : number_error(cmd, arg, s->lo, s->hi);
        }
        if (s->kind == SLOT_MINOR) {
            *(long long *)at = v;
        }
        else if (s->kind == SLOT_SIZE) {
            *(apr_size_t *)at = (apr_size_t)v;
        }
        else {
            *(int *)at = (int)v * (s->scale ? s->scale : 1);
        }
        break;
    }
    slot_given(c, s);
    return NULL;
}

static const char *set_flag_slot(cmd_parms *cmd, void *d, int flag)
{
    const slot_t *s = cmd->info;
    acp_srv_cfg_t *c = srv_cfg(cmd);

    *(int *)((char *)c + s->off) = flag;
    slot_given(c, s);
    return NULL;
}

/* ---- directives with their own syntax ----------------------------------------------- */

static const char *set_ca(cmd_parms *cmd, void *d, const char *cert, const char *key)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    c->ca_cert = ap_server_root_relative(cmd->pool, cert);
    c->ca_key = ap_server_root_relative(cmd->pool, key);
    return NULL;
}

static const char *set_resolver(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->wfe.ra.va.resolver = !strcasecmp(arg, "system") ? NULL : arg;
    return NULL;
}

static const char *add_caa(cmd_parms *cmd, void *d, const char *arg)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    if (!c->wfe.caa_identities) {
        c->wfe.caa_identities = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->wfe.caa_identities, const char *) = arg;
    c->wfe.ra.va.caa_identities = c->wfe.caa_identities;
    return NULL;
}

/* AcmePayMaxValidity schedule|off|DURATION|YYYY-MM-DD=DURATION ... */
static const char *set_max_validity(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    const char *err;

    if (argc < 1) {
        return "AcmePayMaxValidity schedule|off|DURATION|YYYY-MM-DD=DURATION ...";
    }
    err = acp_validity_parse(cmd->pool, &c->wfe.ra.max_validity, argc,
                             (const char *const *)argv);
    if (err) {
        return apr_pstrcat(cmd->pool, "AcmePayMaxValidity: ", err, NULL);
    }
    c->cfg_set |= ACP_SET_MAX_VALIDITY;
    return NULL;
}

/* AcmePaySubscriptionRenewWindow DURATION: a finalize this near a subscription's end
 * buys the next one (from the end on) */
static const char *set_sub_window(cmd_parms *cmd, void *d, const char *arg)
{
    long long v = acp_validity_duration(arg, 3650LL * 86400);

    if (v < 0) {
        return "AcmePaySubscriptionRenewWindow: a duration such as 30d, 12h or 600s";
    }
    srv_cfg(cmd)->wfe.ra.billing.sub_renew_window = v;
    srv_cfg(cmd)->pay_set |= ACP_PAY_SUB_RENEW_WINDOW;
    return NULL;
}

/* AcmePaySubscriptionRefund prorata|none: what a cancelled subscription gives back */
static const char *set_sub_refund(cmd_parms *cmd, void *d, const char *arg)
{
    if (strcasecmp(arg, "prorata") && strcasecmp(arg, "none")) {
        return "AcmePaySubscriptionRefund: prorata or none";
    }
    srv_cfg(cmd)->wfe.ra.billing.sub_refund_none = !strcasecmp(arg, "none");
    srv_cfg(cmd)->pay_set |= ACP_PAY_SUB_REFUND;
    return NULL;
}

/* AcmePayEthereumRPC URL ["Header: value"]: the JSON-RPC node the chain watcher asks */
static const char *set_eth_rpc(cmd_parms *cmd, void *d, const char *url, const char *header)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);

    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        return "AcmePayEthereumRPC: the URL must start with http:// or https://";
    }
    if (header && (!strchr(header, ':') || strpbrk(header, "\r\n"))) {
        return "AcmePayEthereumRPC: the header must read \"Name: value\" on one line";
    }
    c->chain.rpc_url = url;
    c->chain.rpc_header = header;
    return NULL;
}

static const char *set_nonce_store(cmd_parms *cmd, void *d, const char *arg)
{
    if (!strcasecmp(arg, "shm")) {
        srv_cfg(cmd)->nonce_mode = ACP_NONCE_SHM;
    }
    else if (!strcasecmp(arg, "database")) {
        srv_cfg(cmd)->nonce_mode = ACP_NONCE_DB;
    }
    else {
        return "AcmePayNonceStore: shm or database";
    }
    return NULL;
}

/* A server-wide byte count from 0 to max into *out (note: what 0 means, for the refusal) */
static const char *global_bytes(cmd_parms *cmd, const char *arg, apr_int64_t max,
                                const char *zero, apr_int64_t *out)
{
    apr_off_t n = 0;
    char *end = NULL;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (!apr_isdigit(*arg) || apr_strtoff(&n, arg, &end, 10) != APR_SUCCESS || *end ||
        n > (apr_off_t)max) {
        return apr_psprintf(cmd->pool, "%s: bytes from 0%s to %" APR_INT64_T_FMT, cmd->cmd->name,
                            zero, max);
    }
    *out = (apr_int64_t)n;
    return NULL;
}

static const char *set_sqlite_mmap(cmd_parms *cmd, void *d, const char *arg)
{
    return global_bytes(cmd, arg, ACP_SA_MMAP_MAX, "", &acp_httpd_sqlite_mmap);
}

static const char *set_sqlite_group_commit(cmd_parms *cmd, void *d, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    acp_httpd_sqlite_group_commit = on;
    return NULL;
}

static const char *set_malloc_trim(cmd_parms *cmd, void *d, const char *arg)
{
    return global_bytes(cmd, arg, ACP_HTTPD_MALLOC_TRIM_MAX, " (glibc's default)",
                        &acp_httpd_malloc_trim);
}

static const char *add_va_allow(cmd_parms *cmd, void *d, const char *arg)
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    acp_va_cidr_t cidr;
    const char *err = acp_va_cidr_parse(cmd->pool, arg, &cidr);
    apr_array_header_t *a;

    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    a = (apr_array_header_t *)c->wfe.ra.va.allow;
    if (!a) {
        a = apr_array_make(cmd->pool, 4, sizeof(acp_va_cidr_t));
        c->wfe.ra.va.allow = a;
    }
    APR_ARRAY_PUSH(a, acp_va_cidr_t) = cidr;
    return NULL;
}

static const char *set_currency(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_CURRENCY;
    size_t i, n = strlen(arg);
    if (n != 3) {
        return "AcmePayCurrency: a three-letter ISO 4217 code, e.g. CNY";
    }
    for (i = 0; i < n; i++) {
        if (arg[i] < 'A' || arg[i] > 'Z') {
            return "AcmePayCurrency: a three-letter ISO 4217 code in capitals, e.g. CNY";
        }
    }
    srv_cfg(cmd)->wfe.ra.billing.currency = arg;
    return NULL;
}

static int parse_ll(const char *arg, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* AcmePayFreeBalanceLimit COUNT SECONDS: welcome credits per client address and window
 * for accounts without EAB (COUNT 0: none) */
static const char *set_free_limit(cmd_parms *cmd, void *d, const char *count,
                                  const char *period)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_FREE_LIMIT;
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    long long c = 0, s = 0;
    if (parse_ll(count, 0, 1000000, &c) || parse_ll(period, 60, 366LL * 86400, &s)) {
        return "AcmePayFreeBalanceLimit: a count (0..1000000) and a period in seconds "
               "(60..31622400), e.g. 1 86400";
    }
    b->free_limit = c;
    b->free_period = s;
    return NULL;
}

/* A number with a unit: 30d, 12h, 600s or 600 (seconds); -1 when something else follows
 * the number (strtoll's reading: "d" alone is 0 days, "" is 0 seconds). */
static int duration_unit(const char *arg, long long *v, long long *mul)
{
    char *end = NULL;

    *v = strtoll(arg, &end, 10);
    *mul = !strcmp(end, "d") ? 86400 : !strcmp(end, "h") ? 3600 : 1;
    return *mul != 1 || !strcmp(end, "s") || !*end ? 0 : -1;
}

static const char *set_window(cmd_parms *cmd, void *d, const char *arg)
{
    long long v, mul;

    srv_cfg(cmd)->pay_set |= ACP_PAY_REISSUE_WINDOW;
    if (duration_unit(arg, &v, &mul)) {
        return "AcmePayReissueWindow: a duration such as 30d, 12h or 3600s";
    }
    if (v < 0 || (v > 3650 && mul != 1)) {
        return "AcmePayReissueWindow: out of range";
    }
    srv_cfg(cmd)->wfe.ra.billing.reissue_window = v * mul;
    return NULL;
}

static const char *set_crl_lifetime(cmd_parms *cmd, void *d, const char *arg)
{
    long long v, mul;

    if (duration_unit(arg, &v, &mul) || !*arg) {
        return "AcmePayCRLLifetime: a duration such as 7d, 36h or 600s";
    }
    /* at least a minute; at most 10 days (the Baseline Requirements' bound) */
    if (v <= 0 || v * mul < 60 || v * mul > 10 * 86400) {
        return "AcmePayCRLLifetime: between 60s and 10d";
    }
    srv_cfg(cmd)->wfe.ra.crl.lifetime = (int)(v * mul);
    return NULL;
}

/* AcmePayProfile NAME DAYS PRICE "description" [extra=MINOR] [wildcard=MINOR] [term=Nd|Nh]
 *                [ov] */
static const char *add_profile(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_srv_cfg_t *c = srv_cfg(cmd);
    acp_profile_t *prof;
    long v = 0;
    const char *err;
    int i;

    if (argc < 4) {
        return "AcmePayProfile NAME DAYS PRICE \"description\" [extra=MINOR] [wildcard=MINOR] "
               "[term=DAYSd|HOURSh] [ov]";
    }
    if (!acp_profile_name_ok(argv[0])) {
        return "AcmePayProfile: a NAME of letters, digits, '.', '_' or '-' (at most 64)";
    }
    if (c->wfe.ra.profiles && acp_profile_find(c->wfe.ra.profiles, argv[0])) {
        return apr_psprintf(cmd->pool, "AcmePayProfile: '%s' is defined twice", argv[0]);
    }
    prof = apr_pcalloc(cmd->pool, sizeof(*prof));
    prof->name = argv[0];
    prof->description = argv[3];
    if ((err = parse_int(cmd, argv[1], 1, 3650, &v))) {
        return err;
    }
    prof->days = (int)v;
    if ((err = parse_int(cmd, argv[2], 0, 1000000000L, &v))) {
        return err;
    }
    prof->price.base = v;
    /* surcharges: the global ones unless the profile names its own (resolved at start) */
    prof->price.per_extra_name = -1;
    prof->price.per_wildcard = -1;
    for (i = 4; i < argc; i++) {
        long long *dst = NULL;
        const char *val = NULL;
        if (!strncmp(argv[i], "extra=", 6)) {
            dst = &prof->price.per_extra_name;
            val = argv[i] + 6;
        }
        else if (!strncmp(argv[i], "wildcard=", 9)) {
            dst = &prof->price.per_wildcard;
            val = argv[i] + 9;
        }
        else if (!strcmp(argv[i], "ov")) {
            /* organization-validated: only for a holder with a current vetting */
            prof->ov = 1;
            continue;
        }
        else if (!strncmp(argv[i], "term=", 5)) {
            /* sold as a subscription: term=365d (days) or term=12h (hours) */
            const char *t = argv[i] + 5;
            size_t tl = strlen(t);
            long unit = tl > 1 && t[tl - 1] == 'd' ? 86400 : tl > 1 && t[tl - 1] == 'h' ? 3600 : 0;
            if (!unit) {
                return "AcmePayProfile: term=DAYSd or term=HOURSh (e.g. term=365d)";
            }
            if ((err = parse_int(cmd, apr_pstrndup(cmd->pool, t, tl - 1), 1, 3650L * 24, &v))) {
                return err;
            }
            prof->term = (long long)v * unit;
            if (prof->term > 3650LL * 86400) {
                return "AcmePayProfile: term at most 3650d";
            }
            continue;
        }
        else {
            return apr_psprintf(cmd->pool, "AcmePayProfile: unknown option '%s'", argv[i]);
        }
        if ((err = parse_int(cmd, val, 0, 1000000000L, &v))) {
            return err;
        }
        *dst = v;
    }
    if (!c->wfe.ra.profiles) {
        c->wfe.ra.profiles = apr_array_make(cmd->pool, 4, sizeof(acp_profile_t *));
    }
    APR_ARRAY_PUSH(c->wfe.ra.profiles, acp_profile_t *) = prof;
    return NULL;
}

static const char *set_default_profile(cmd_parms *cmd, void *d, const char *arg)
{
    if (!acp_profile_name_ok(arg)) {
        return "AcmePayDefaultProfile: a profile NAME";
    }
    srv_cfg(cmd)->wfe.ra.default_profile = arg;
    return NULL;
}

static const char *set_crl_url(cmd_parms *cmd, void *d, const char *arg)
{
    const char *at = strstr(arg, "{shard}");
    if (!http_url(arg) || !at || strstr(at + 1, "{shard}") || strpbrk(arg, " \t\"<>")) {
        return "AcmePayCRLURL: an http URL naming the shard once, e.g. "
               "http://ca.example/acme/crl/{shard}";
    }
    srv_cfg(cmd)->wfe.ra.crl.url = arg;
    return NULL;
}

static const char *set_ethereum(cmd_parms *cmd, void *d, const char *addr, const char *chain,
                                const char *wei)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_ETHEREUM;
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    long long c = 0;
    const char *q;
    if (!acp_eth_address_valid(addr)) {
        return apr_psprintf(cmd->pool,
                            "AcmePayEthereum: '%s' is not an EIP-55 checksummed address "
                            "(expected %s)",
                            addr, acp_eth_checksum(cmd->pool, addr) ? acp_eth_checksum(cmd->pool, addr)
                                                                    : "0x + 40 hex digits");
    }
    if (parse_ll(chain, 1, 1LL << 53, &c)) {
        return "AcmePayEthereum: the chain id must be a positive integer";
    }
    for (q = wei; *q; q++) {
        if (*q < '0' || *q > '9') {
            return "AcmePayEthereum: wei per minor unit must be a decimal integer";
        }
    }
    if (!*wei || strlen(wei) > 40) {
        return "AcmePayEthereum: wei per minor unit must be a decimal integer";
    }
    b->eth_address = addr;
    b->eth_chain = c;
    b->eth_wei_per_minor = wei;
    return NULL;
}

/* AcmePayEthereumToken SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR (repeatable) */
static const char *set_eth_token(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    acp_billing_cfg_t *b = &srv_cfg(cmd)->wfe.ra.billing;
    acp_eth_token_t *t;
    const char *err;
    int i;

    if (argc != 4) {
        return "AcmePayEthereumToken: SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR";
    }
    err = acp_eth_token_check(argv[0], argv[1], argv[2], argv[3]);
    if (err) {
        return apr_pstrcat(cmd->pool, "AcmePayEthereumToken ", argv[0], ": ", err, NULL);
    }
    if (!(srv_cfg(cmd)->pay_set & ACP_PAY_ETH_TOKENS) || !b->eth_tokens) {
        b->eth_tokens = apr_array_make(cmd->pool, 2, sizeof(acp_eth_token_t));
    }
    srv_cfg(cmd)->pay_set |= ACP_PAY_ETH_TOKENS;
    for (i = 0; i < b->eth_tokens->nelts; i++) {
        const acp_eth_token_t *o = &APR_ARRAY_IDX(b->eth_tokens, i, acp_eth_token_t);
        if (!strcasecmp(o->symbol, argv[0]) || !strcasecmp(o->contract, argv[1])) {
            return apr_pstrcat(cmd->pool, "AcmePayEthereumToken ", argv[0],
                               ": the symbol or the contract is configured twice", NULL);
        }
    }
    t = apr_array_push(b->eth_tokens);
    t->symbol = argv[0];
    t->contract = argv[1];
    t->decimals = (int)strtol(argv[2], NULL, 10);
    t->units_per_minor = argv[3];
    return NULL;
}

static const char *set_webhook_secret(cmd_parms *cmd, void *d, const char *arg)
{
    srv_cfg(cmd)->pay_set |= ACP_PAY_WEBHOOK_SECRET;
    acp_srv_cfg_t *c = srv_cfg(cmd);
    apr_file_t *f = NULL;
    apr_size_t n = sizeof(c->wfe.webhook_secret);
    const char *path;

    if (strncmp(arg, "file:", 5) != 0) {
        return "AcmePayWebhookSecret: file:/path/to/secret (keep secrets out of the config)";
    }
    path = ap_server_root_relative(cmd->pool, arg + 5);
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AcmePayWebhookSecret: cannot read %s", path);
    }
    apr_file_read(f, c->wfe.webhook_secret, &n);
    apr_file_close(f);
    while (n > 0 && (c->wfe.webhook_secret[n - 1] == '\n' || c->wfe.webhook_secret[n - 1] == '\r' ||
                     c->wfe.webhook_secret[n - 1] == ' ')) {
        n--;
    }
    if (n < 16 || n >= sizeof(c->wfe.webhook_secret)) {
        return "AcmePayWebhookSecret: the secret must be 16 to 127 bytes";
    }
    c->wfe.webhook_secret_len = n;
    return NULL;
}

/* ---- the command table -------------------------------------------------------------- */

const command_rec acp_httpd_cmds[] = {
    AP_INIT_TAKE1("AcmePayCurrency", set_currency, NULL, RSRC_CONF,
                  "ISO 4217 currency of every price and balance (default CNY)"),
    AP_INIT_TAKE1("AcmePayPrice", set_slot, MINOR_SLOT(wfe.ra.billing.price.base, ACP_PAY_PRICE),
                  RSRC_CONF, "price of a certificate in minor units (default 0: free)"),
    AP_INIT_TAKE1("AcmePayPricePerExtraName", set_slot,
                  MINOR_SLOT(wfe.ra.billing.price.per_extra_name, ACP_PAY_PRICE_EXTRA), RSRC_CONF,
                  "added for every name beyond the first, minor units"),
    AP_INIT_TAKE1("AcmePayPriceWildcard", set_slot,
                  MINOR_SLOT(wfe.ra.billing.price.per_wildcard, ACP_PAY_PRICE_WILDCARD),
                  RSRC_CONF, "added for every wildcard name, minor units"),
    AP_INIT_TAKE1("AcmePayFreeBalance", set_slot,
                  MINOR_SLOT(wfe.ra.billing.free_balance, ACP_PAY_FREE_BALANCE), RSRC_CONF,
                  "welcome credit, minor units (default 0): per EAB credential, and for "
                  "accounts without EAB within AcmePayFreeBalanceLimit"),
    AP_INIT_TAKE2("AcmePayFreeBalanceLimit", set_free_limit, NULL, RSRC_CONF,
                  "welcome credits per client address and period in seconds for accounts "
                  "without EAB (default 1 86400; 0: none)"),
    AP_INIT_TAKE1("AcmePayReissueWindow", set_window, NULL, RSRC_CONF,
                  "same holder + same names within this window reissue free (default 30d)"),
    AP_INIT_TAKE1("AcmePaySignTimeout", set_slot,
                  INT_SLOT(wfe.sign_timeout_ms, 1, 3600, .scale = 1000,
                           .pay_bit = ACP_PAY_SIGN_TIMEOUT),
                  RSRC_CONF,
                  "seconds finalize waits for a slow signer before answering processing (3)"),
    AP_INIT_TAKE1("AcmePayRetryAfter", set_slot,
                  INT_SLOT(wfe.retry_after, 1, 3600, .pay_bit = ACP_PAY_RETRY_AFTER), RSRC_CONF,
                  "Retry-After seconds on a processing order (default 30)"),
    AP_INIT_TAKE1("AcmePayPaymentURL", set_slot,
                  STR_SLOT(SLOT_URL, wfe.ra.billing.payment_url, .pay_bit = ACP_PAY_URL,
                           .bad = "AcmePayPaymentURL: an http(s) URL template containing "
                                  "{invoice}"),
                  RSRC_CONF,
                  "payment link template with {invoice} (default: built-in invoice page)"),
    AP_INIT_TAKE1("AcmePayInvoiceCommand", set_slot,
                  STR_SLOT(SLOT_PATH, wfe.ra.billing.invoice_command,
                           .pay_bit = ACP_PAY_INVOICE_COMMAND),
                  RSRC_CONF,
                  "program printing a provider checkout URL for the QR (invoice amount cur)"),
    AP_INIT_TAKE3("AcmePayEthereum", set_ethereum, NULL, RSRC_CONF,
                  "EIP-55 address, chain id, wei per minor unit: adds an EIP-681 URI"),
    AP_INIT_TAKE1("AcmePayWebhookSecret", set_webhook_secret, NULL, RSRC_CONF,
                  "file:/path holding the payment webhook's HMAC secret"),
    AP_INIT_RAW_ARGS("AcmePayStripe", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "secret-key=file:/path webhook-secret=file:/path [api=URL] "
                     "[methods=card,alipay,…]: Stripe Checkout, notifications at <base>/pay/stripe"),
    AP_INIT_RAW_ARGS("AcmePayAlipay", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "app-id=… private-key=file:/path alipay-public-key=file:/path "
                     "[gateway=URL]: Alipay face-to-face (alipay.trade.precreate), "
                     "notifications at <base>/pay/alipay"),
    AP_INIT_RAW_ARGS("AcmePayWeChatPay", acp_httpd_set_provider, NULL, RSRC_CONF,
                     "mchid=… appid=… serial=… private-key=file:/path apiv3-key=file:/path "
                     "platform-cert=file:/path [api=URL]: WeChat Pay API v3 Native pay, "
                     "notifications at <base>/pay/wechat"),
    AP_INIT_FLAG("AcmePayTestMode", set_flag_slot,
                 FLAG_SLOT(wfe.test_mode, .pay_bit = ACP_PAY_TEST_MODE), RSRC_CONF,
                 "adds a 'Simulate payment' button to invoice pages (default off)"),
    AP_INIT_TAKE1("AcmePayInvoiceTemplate", acp_httpd_set_invoice_template, NULL, RSRC_CONF,
                  "HTML file branding the invoice page ({{content}} and other placeholders; "
                  "default: the built-in layout)"),
    AP_INIT_TAKE1("AcmePaySignCommand", set_slot, STR_SLOT(SLOT_PATH, sign_command), RSRC_CONF,
                  "sign with this program instead of AcmePayCA's key (CSR in, chain out)"),
    AP_INIT_TAKE1("AcmePayKeyFile", set_slot, STR_SLOT(SLOT_PATH, key_file), RSRC_CONF,
                  "32-byte key (64 hex digits) sealing EAB keys and the nonce key in the "
                  "database; created 0640 at start-up when missing"),
    AP_INIT_TAKE2("AcmePayCA", set_ca, NULL, RSRC_CONF,
                  "issuing CA certificate (PEM, chain may follow) and its private key"),
    AP_INIT_TAKE1("AcmePayResolver", set_resolver, NULL, RSRC_CONF,
                  "DNS server (ip:port) used for validation, or 'system'"),
    AP_INIT_TAKE1("AcmePayHTTP01Port", set_slot,
                  INT_SLOT(wfe.ra.va.http_port, 1, 65535, .cfg_bit = ACP_SET_HTTP_PORT),
                  RSRC_CONF, "port http-01 challenges are checked on (default 80)"),
    AP_INIT_TAKE1("AcmePayTLSALPN01Port", set_slot,
                  INT_SLOT(wfe.ra.va.tlsalpn_port, 1, 65535, .cfg_bit = ACP_SET_ALPN_PORT),
                  RSRC_CONF, "port tls-alpn-01 challenges are checked on (default 443)"),
    AP_INIT_FLAG("AcmePayKeepAliveThread", set_flag_slot,
                 FLAG_SLOT(keepalive_thread, .cfg_bit = ACP_SET_KEEPALIVE), RSRC_CONF,
                 "event MPM: an ACME client's keep-alive connection stays with its thread "
                 "while half of the child's threads are idle (default on)"),
    AP_INIT_FLAG("AcmePayEABRequired", set_flag_slot,
                 FLAG_SLOT(wfe.ra.eab_required, .cfg_bit = ACP_SET_EAB), RSRC_CONF,
                 "require External Account Binding on newAccount (default off)"),
    AP_INIT_TAKE1("AcmePayTermsOfService", set_slot, STR_SLOT(SLOT_STR, wfe.ra.tos), RSRC_CONF,
                  "terms of service URL clients must agree to"),
    AP_INIT_TAKE1("AcmePayWebsite", set_slot, STR_SLOT(SLOT_STR, wfe.website), RSRC_CONF,
                  "website URL shown in the directory meta"),
    AP_INIT_ITERATE("AcmePayCAAIdentities", add_caa, NULL, RSRC_CONF,
                    "CAA issuer domain names shown in the directory meta"),
    AP_INIT_TAKE1("AcmePayCertValidity", set_slot,
                  INT_SLOT(wfe.ra.validity_days, 1, 3650, .cfg_bit = ACP_SET_VALIDITY),
                  RSRC_CONF, "certificate lifetime in days (default 90)"),
    AP_INIT_TAKE_ARGV("AcmePayMaxValidity", set_max_validity, NULL, RSRC_CONF,
                      "the longest certificate by issue date: schedule (the CA/Browser Forum's, "
                      "the default), off, a DURATION, or YYYY-MM-DD=DURATION steps"),
    AP_INIT_TAKE1("AcmePaySubscriptionRenewWindow", set_sub_window, NULL, RSRC_CONF,
                  "a finalize this near a subscription's end buys the next one from its end "
                  "(default 30d, at most half the term)"),
    AP_INIT_TAKE1("AcmePaySubscriptionRefund", set_sub_refund, NULL, RSRC_CONF,
                  "what cancelling a subscription gives back: prorata (default) or none"),
    AP_INIT_TAKE1("AcmePayMaxBody", set_slot,
                  SLOT(.kind = SLOT_SIZE, .off = TYPED_OFF(apr_size_t, wfe.max_body), .lo = 1024,
                       .hi = 16 * 1024 * 1024, .cfg_bit = ACP_SET_BODY),
                  RSRC_CONF, "largest accepted request body in bytes (default 65536)"),
    AP_INIT_TAKE1("AcmePayWorkers", set_slot, INT_SLOT(workers, 1, 64), RSRC_CONF,
                  "background worker threads per child (default 2)"),
    AP_INIT_TAKE_ARGV("AcmePayEthereumToken", set_eth_token, NULL, RSRC_CONF,
                      "SYMBOL CONTRACT DECIMALS UNITS_PER_MINOR: an ERC-20 token payers may "
                      "use too (repeatable); UNITS_PER_MINOR token base units make one minor "
                      "unit of AcmePayCurrency"),
    AP_INIT_TAKE12("AcmePayEthereumRPC", set_eth_rpc, NULL, RSRC_CONF,
                   "JSON-RPC URL of an Ethereum node the chain watcher asks, and optionally "
                   "one header line such as \"Authorization: Bearer …\" (default: no watcher)"),
    AP_INIT_TAKE1("AcmePayEthereumConfirmations", set_slot,
                  INT_SLOT(chain.confirmations, 1, 1000), RSRC_CONF,
                  "confirmations a transfer needs before it is credited (default 12)"),
    AP_INIT_TAKE1("AcmePayEthereumPollInterval", set_slot,
                  INT_SLOT(chain.poll_interval, 1, 3600), RSRC_CONF,
                  "seconds between the chain watcher's polls (default 15)"),
    AP_INIT_TAKE1("AcmePayNonceStore", set_nonce_store, NULL, RSRC_CONF,
                  "where spent nonces are kept: shm (one host) or database (several nodes); "
                  "default shm with sqlite3, database with pgsql"),
    AP_INIT_TAKE1("AcmePaySQLiteMmapSize", set_sqlite_mmap, NULL, RSRC_CONF,
                  "bytes of the database each SQLite connection memory-maps (server-wide; "
                  "default 0: none, reads through the page cache with pread)"),
    AP_INIT_FLAG("AcmePaySQLiteGroupCommit", set_sqlite_group_commit, NULL, RSRC_CONF,
                  "sync the SQLite WAL after the writers' lock is let go, once for every "
                  "commit made meanwhile, before answering (server-wide; default on)"),
    AP_INIT_TAKE1("AcmePayMallocTrimThreshold", set_malloc_trim, NULL, RSRC_CONF,
                  "free memory each thread arena of a child keeps before giving it back to the "
                  "kernel (server-wide; default 4194304; 0: glibc's default)"),
    AP_INIT_TAKE1("AcmePayValidationTimeout", set_slot,
                  INT_SLOT(wfe.ra.va.timeout_ms, 1, 300, .scale = 1000,
                           .cfg_bit = ACP_SET_TIMEOUT),
                  RSRC_CONF, "seconds one challenge check may take (default 10)"),
    AP_INIT_TAKE1("AcmePayValidationPerAccount", set_slot, INT_SLOT(va_per_account, 1, 64),
                  RSRC_CONF,
                  "validations one account may have running at once in a child (default: "
                  "half of AcmePayWorkers, at least 1)"),
    AP_INIT_TAKE1("AcmePayValidationPerHost", set_slot,
                  INT_SLOT(wfe.ra.va.max_host_conns, 1, 64), RSRC_CONF,
                  "validation connections to one address (and checks of one name) at once "
                  "in a child (default 2)"),
    AP_INIT_ITERATE("AcmePayValidationAllow", add_va_allow, NULL, RSRC_CONF,
                    "address ranges (CIDR) the validator may connect to although they are "
                    "IANA special-purpose (loopback, RFC 1918 …); default none"),
    AP_INIT_TAKE_ARGV("AcmePayProfile", add_profile, NULL, RSRC_CONF,
                      "NAME DAYS PRICE \"description\" [extra=MINOR] [wildcard=MINOR]: a "
                      "product clients choose with newOrder's profile"),
    AP_INIT_TAKE1("AcmePayDefaultProfile", set_default_profile, NULL, RSRC_CONF,
                  "the profile of an order that names none (default: the first)"),
    AP_INIT_TAKE1("AcmePayOVVettingDays", set_slot, INT_SLOT(wfe.ra.ov_vetting_days, 1, 3650),
                  RSRC_CONF, "days an organization vetting stays current (default 397)"),
    AP_INIT_TAKE1("AcmePayOVContactURL", set_slot,
                  STR_SLOT(SLOT_URL_MAILTO, wfe.ra.ov_contact_url,
                           .bad = "AcmePayOVContactURL: an http(s):// or mailto: URL"),
                  RSRC_CONF,
                  "where a customer gets the organization vetted (OV problems link it)"),
    AP_INIT_TAKE1("AcmePayARIRetryAfter", set_slot,
                  INT_SLOT(wfe.ari.retry_after, 60, 7 * 86400), RSRC_CONF,
                  "seconds between renewalInfo polls (Retry-After, default 21600)"),
    AP_INIT_TAKE1("AcmePayARIExplanationURL", set_slot,
                  STR_SLOT(SLOT_URL, wfe.ari.explanation_url,
                           .bad = "AcmePayARIExplanationURL: an http(s) URL"),
                  RSRC_CONF,
                  "explanationURL of a window staff moved (default: a built-in note page)"),
    AP_INIT_TAKE12("AcmePayLimitAccountsPerAddress", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, accounts), RSRC_CONF,
                   "new accounts per client address (IPv4, IPv6 /64) per period, N|off [3h]"),
    AP_INIT_TAKE12("AcmePayLimitOrdersPerAccount", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, orders), RSRC_CONF,
                   "new orders per account per period, N|off [3h] (default 300 3h)"),
    AP_INIT_TAKE12("AcmePayLimitPendingAuthz", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, pending), RSRC_CONF,
                   "pending authorizations per account, N|off (default 300)"),
    AP_INIT_TAKE12("AcmePayLimitFailedValidations", acp_httpd_set_limit,
                   (void *)offsetof(acp_limit_set_t, failed), RSRC_CONF,
                   "failed validations per account per name per period, N|off [1h] (default 5 1h)"),
    AP_INIT_TAKE_ARGV("AcmePayLimitEAB", acp_httpd_set_limit_eab, NULL, RSRC_CONF,
                      "an EAB key's own limits: kid accounts=N[/period] orders=N[/period] "
                      "pending=N failed=N[/period]"),
    AP_INIT_TAKE1("AcmePayCRLURL", set_crl_url, NULL, RSRC_CONF,
                  "crlDistributionPoints URL of issued certificates, {shard} replaced by the "
                  "shard number (default: none, no CRLs)"),
    AP_INIT_TAKE1("AcmePayCRLShards", set_slot,
                  INT_SLOT(wfe.ra.crl.shards, 1, ACP_CRL_SHARDS_MAX), RSRC_CONF,
                  "number of CRL shards, certificates spread by serial (default 16)"),
    AP_INIT_TAKE1("AcmePayCRLLifetime", set_crl_lifetime, NULL, RSRC_CONF,
                  "nextUpdate - thisUpdate of a CRL (default 7d)"),
    {NULL}};
