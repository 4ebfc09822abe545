/* ACME profiles as products: lookup, choice at newOrder, the directory label. */
#include <string.h>
#include <apr_strings.h>
#include "acp_profile.h"
#include "acp_money.h"

int acp_profile_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > 64) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

const acp_profile_t *acp_profile_find(const apr_array_header_t *profiles, const char *name)
{
    int i;

    if (!profiles || !name) {
        return NULL;
    }
    for (i = 0; i < profiles->nelts; i++) {
        const acp_profile_t *prof = APR_ARRAY_IDX(profiles, i, const acp_profile_t *);
        if (!strcmp(prof->name, name)) {
            return prof;
        }
    }
    return NULL;
}

acp_problem_t *acp_profile_choose(apr_pool_t *p, const apr_array_header_t *profiles,
                                  const char *default_name, const char *requested,
                                  const acp_profile_t **out)
{
    *out = NULL;
    if (!profiles || profiles->nelts == 0) {
        return NULL;
    }
    if (requested) {
        *out = acp_profile_find(profiles, requested);
        if (!*out) {
            return acp_problem(p, ACP_ERR_INVALID_PROFILE,
                               "profile '%s' is not offered here; the directory's meta.profiles "
                               "lists those that are",
                               acp_profile_name_ok(requested) ? requested : "(invalid name)");
        }
        return NULL;
    }
    *out = default_name ? acp_profile_find(profiles, default_name) : NULL;
    if (!*out) {
        *out = APR_ARRAY_IDX(profiles, 0, const acp_profile_t *);
    }
    return NULL;
}

const char *acp_profile_label(apr_pool_t *p, const acp_profile_t *prof, const char *currency)
{
    if (prof->term > 0) {
        return apr_psprintf(p, "%s (%d days, %s for %s)",
                            prof->description ? prof->description : prof->name, prof->days,
                            acp_money(p, prof->price.base, currency),
                            prof->term % 86400 ? apr_psprintf(p, "%d hours", (int)(prof->term / 3600))
                                               : apr_psprintf(p, "%d days", (int)(prof->term / 86400)));
    }
    return apr_psprintf(p, "%s (%d days, %s)", prof->description ? prof->description : prof->name,
                        prof->days, acp_money(p, prof->price.base, currency));
}
