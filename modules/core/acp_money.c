/* Money and prices (see acp_money.h): the currency exponent table, amount formatting
 * and the overflow-checked certificate price. */
#include <stdio.h>
#include <strings.h>
#include <apr_strings.h>
#include "acp_money.h"

static const struct {
    const char *code;
    int exponent;
} currency_exponents[] = {
    /* ISO 4217 currencies without minor units */
    {"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"ISK", 0}, {"JPY", 0}, {"KMF", 0},
    {"KRW", 0}, {"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"UYI", 0}, {"VND", 0}, {"VUV", 0},
    {"XAF", 0}, {"XOF", 0}, {"XPF", 0},
    /* three-decimal currencies */
    {"BHD", 3}, {"IQD", 3}, {"JOD", 3}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"TND", 3},
    /* four decimals */
    {"CLF", 4}, {"UYW", 4},
};

int acp_currency_exponent(const char *currency)
{
    size_t i;
    if (!currency) {
        return 2;
    }
    for (i = 0; i < sizeof(currency_exponents) / sizeof(currency_exponents[0]); i++) {
        if (strcasecmp(currency, currency_exponents[i].code) == 0) {
            return currency_exponents[i].exponent;
        }
    }
    return 2;
}

char *acp_money(apr_pool_t *p, long long minor, const char *currency)
{
    int e = acp_currency_exponent(currency), i;
    unsigned long long mag = minor < 0 ? 0ULL - (unsigned long long)minor
                                       : (unsigned long long)minor;
    unsigned long long scale = 1;
    char num[48];
    const char *sep = (currency && *currency) ? " " : "";

    for (i = 0; i < e; i++) {
        scale *= 10;
    }
    if (e == 0) {
        snprintf(num, sizeof(num), "%s%llu", minor < 0 ? "-" : "", mag);
    }
    else {
        snprintf(num, sizeof(num), "%s%llu.%0*llu", minor < 0 ? "-" : "", mag / scale, e,
                 mag % scale);
    }
    return apr_pstrcat(p, num, sep, currency ? currency : "", NULL);
}

long long acp_price(const acp_price_cfg_t *cfg, const apr_array_header_t *names)
{
    long long n = names ? names->nelts : 0, wild = 0, extra, total, part;
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        if (name && name[0] == '*' && name[1] == '.') {
            wild++;
        }
    }
    extra = n > 1 ? n - 1 : 0;
    total = cfg->base;
    if (__builtin_mul_overflow(cfg->per_extra_name, extra, &part) ||
        __builtin_add_overflow(total, part, &total) ||
        __builtin_mul_overflow(cfg->per_wildcard, wild, &part) ||
        __builtin_add_overflow(total, part, &total)) {
        return -1;
    }
    return total;
}
