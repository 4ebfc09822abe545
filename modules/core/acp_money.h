/* Money: ISO 4217 minor-unit exponents, amounts in minor units written for people
 * ("12.34 CNY") and the price of a certificate from its names. Pure functions. */
#ifndef ACP_MONEY_H
#define ACP_MONEY_H

#include <apr_pools.h>
#include <apr_tables.h>

/* ISO 4217 minor-unit exponent of a currency code (case-insensitive): 0 for JPY, KRW, …,
 * 3 for BHD, KWD, …, 2 for everything else. */
int acp_currency_exponent(const char *currency);
/* "12.34 CNY", "500 JPY", "-0.05 EUR"; just the number when currency is NULL or "". */
char *acp_money(apr_pool_t *p, long long minor, const char *currency);

/* Price of a certificate: base + per_extra_name * (names - 1) + per_wildcard * wildcards.
 * names holds const char * ("*.x.y" for wildcards). Returns -1 on arithmetic overflow. */
typedef struct acp_price_cfg_t { long long base, per_extra_name, per_wildcard; } acp_price_cfg_t;
long long acp_price(const acp_price_cfg_t *cfg, const apr_array_header_t *names);

#endif
