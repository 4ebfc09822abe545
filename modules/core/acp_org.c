/* Organizations (OV): field checks, the vetting state, and the RA's rule for OV orders. */
#include <string.h>
#include <apr_strings.h>
#include "acp_org.h"
#include "acp_util.h"

/* ISO 3166-1 alpha-2, the 249 assigned codes (iso-codes 4.x), sorted: two letters each */
static const char countries[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCG"
    "CHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGL"
    "GMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLA"
    "LBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONP"
    "NRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSV"
    "SXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

int acp_org_country_ok(const char *c)
{
    size_t i;

    if (!c || strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
        return 0;
    }
    for (i = 0; i + 1 < sizeof(countries); i += 2) {
        if (countries[i] == c[0] && countries[i + 1] == c[1]) {
            return 1;
        }
    }
    return 0;
}

/* Code points of valid UTF-8 without control characters; -1 otherwise. */
static long utf8_printable_len(const unsigned char *s)
{
    long n = 0;

    while (*s) {
        unsigned c = *s, cp, need, k;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return -1;
            }
            s++;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        }
        else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        }
        else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        }
        else {
            return -1;
        }
        for (k = 1; k <= need; k++) {
            if ((s[k] & 0xc0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (s[k] & 0x3f);
        }
        /* overlong, surrogates, beyond U+10FFFF, C1 controls (8-bit CSI, OSC …) */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) {
            return -1;
        }
        s += need + 1;
        n++;
    }
    return n;
}

const char *acp_org_text_check(apr_pool_t *p, const char *what, const char *v, size_t max,
                               int required)
{
    long n;
    size_t len;

    if (!v || !*v) {
        return required ? apr_psprintf(p, "%s is required", what) : NULL;
    }
    len = strlen(v);
    if (len > max * 4) {
        return apr_psprintf(p, "%s is longer than %zu characters", what, max);
    }
    n = utf8_printable_len((const unsigned char *)v);
    if (n < 0) {
        return apr_psprintf(p, "%s must be UTF-8 text without control characters", what);
    }
    if ((size_t)n > max) {
        return apr_psprintf(p, "%s is longer than %zu characters", what, max);
    }
    if (v[0] == ' ' || v[len - 1] == ' ') {
        return apr_psprintf(p, "%s must not begin or end with a space", what);
    }
    return NULL;
}

long long acp_org_vetting_end(const acp_org_t *org, int vetting_days)
{
    long long end;

    if (!org || !org->vetted_at || !org->valid_until) {
        return 0;
    }
    end = org->valid_until;
    if (vetting_days > 0 && org->vetted_at + (long long)vetting_days * 86400 < end) {
        end = org->vetted_at + (long long)vetting_days * 86400;
    }
    return end;
}

acp_org_state_t acp_org_state(const acp_org_t *org, long long now, int vetting_days)
{
    long long end = acp_org_vetting_end(org, vetting_days);

    if (!end) {
        return ACP_ORG_UNVETTED;
    }
    if (org->revoked_at) {
        return ACP_ORG_REVOKED;
    }
    return now < end ? ACP_ORG_CURRENT : ACP_ORG_EXPIRED;
}

const char *acp_org_state_name(acp_org_state_t s)
{
    switch (s) {
    case ACP_ORG_CURRENT: return "vetted";
    case ACP_ORG_EXPIRED: return "expired";
    case ACP_ORG_REVOKED: return "revoked";
    default: return "unvetted";
    }
}

acp_org_t *acp_org_from_row(apr_pool_t *p, const char **r)
{
    acp_org_t *o = apr_pcalloc(p, sizeof(*o));

    o->id = r[0];
    o->billing_id = r[1];
    o->legal_name = r[2];
    o->locality = r[3];
    o->state = r[4];
    o->country = r[5];
    o->evidence = r[6];
    o->vetted_by = r[7];
    o->vetted_at = acp_sa_atoll(r[8]);
    o->valid_until = acp_sa_atoll(r[9]);
    o->revoked_at = acp_sa_atoll(r[10]);
    o->revoked_by = r[11];
    o->revoked_reason = r[12];
    o->created = acp_sa_atoll(r[13]);
    o->updated = acp_sa_atoll(r[14]);
    return o;
}

static apr_status_t get_by(acp_db_t *db, apr_pool_t *p, const char *label, const char *key,
                           acp_org_t **out)
{
    const char **row = NULL;
    apr_status_t rv;

    *out = NULL;
    rv = acp_sa_row(db, p, label, &row, ACP_SA_ARGS(key));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!row) {
        return APR_NOTFOUND;
    }
    *out = acp_org_from_row(p, row);
    return APR_SUCCESS;
}

apr_status_t acp_org_get(acp_db_t *db, apr_pool_t *p, const char *id, acp_org_t **out)
{
    return get_by(db, p, "acp_org_get", id, out);
}

apr_status_t acp_org_by_holder(acp_db_t *db, apr_pool_t *p, const char *holder,
                               acp_org_t **out)
{
    return get_by(db, p, "acp_org_by_holder", holder, out);
}

acp_problem_t *acp_org_require(acp_db_t *db, apr_pool_t *p, const char *holder,
                               const char *profile, int vetting_days, const char *contact_url,
                               acp_org_t **out)
{
    acp_org_t *org = NULL;
    apr_status_t rv = acp_org_by_holder(db, p, holder, &org);
    const char *why;
    acp_problem_t *prob;

    *out = NULL;
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return acp_problem(p, ACP_ERR_SERVER_INTERNAL, "database error reading the organization");
    }
    if (rv == APR_SUCCESS) {
        switch (acp_org_state(org, acp_now(), vetting_days)) {
        case ACP_ORG_CURRENT:
            *out = org;
            return NULL;
        case ACP_ORG_EXPIRED:
            why = apr_psprintf(p, "its vetting expired on %s",
                               acp_rfc3339(p, acp_org_vetting_end(org, vetting_days)));
            break;
        case ACP_ORG_REVOKED:
            why = "its vetting was revoked";
            break;
        default:
            why = "it has not been vetted yet";
            break;
        }
        why = apr_psprintf(p, "the organization \"%s\" of this account is not validated: %s",
                           acp_text_safe(p, org->legal_name), why);
    }
    else {
        why = "no organization is registered for this account";
    }
    prob = acp_problem(p, ACP_ERR_USER_ACTION_REQUIRED,
                       "profile '%s' issues organization-validated (OV) certificates, but %s. "
                       "Ask the CA's staff to vet your organization%s%s, then order again.",
                       profile, why, contact_url ? ": " : "", contact_url ? contact_url : "");
    prob->instance = contact_url;
    return prob;
}
