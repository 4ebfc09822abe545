/* The maximum certificate validity by issue date (acp_validity.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acp_validity.h"

#define DAY 86400LL

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

void acp_validity_cabf(acp_validity_sched_t *s)
{
    memset(s, 0, sizeof(*s));
    s->base = 398 * DAY;
    s->n = 3;
    s->steps[0].from = days_from_civil(2026, 3, 15) * DAY;
    s->steps[0].max = 200 * DAY;
    s->steps[1].from = days_from_civil(2027, 3, 15) * DAY;
    s->steps[1].max = 100 * DAY;
    s->steps[2].from = days_from_civil(2029, 3, 15) * DAY;
    s->steps[2].max = 47 * DAY;
}

long long acp_validity_max(const acp_validity_sched_t *s, long long t)
{
    long long max = s->base;
    int i;

    for (i = 0; i < s->n && t >= s->steps[i].from; i++) {
        max = s->steps[i].max;
    }
    return max;
}

long long acp_validity_cap(const acp_validity_sched_t *s, long long t, long long nb,
                           long long na)
{
    long long max = acp_validity_max(s, t);

    if (max <= 0) {
        return na;
    }
    /* notBefore through notAfter inclusive: at most max seconds */
    if (!na || na > nb + max - 1) {
        return nb + max - 1;
    }
    return na;
}

long long acp_validity_duration(const char *s, long long max_s)
{
    char *end = NULL;
    long long v, unit;

    if (!s || *s < '0' || *s > '9') {
        return -1;
    }
    v = strtoll(s, &end, 10);
    if (!end || !end[0] || end[1]) {
        return -1;
    }
    unit = *end == 'd' ? DAY : *end == 'h' ? 3600 : *end == 'm' ? 60 : *end == 's' ? 1 : 0;
    if (!unit || v < 1 || v > max_s / unit) {
        return -1;
    }
    return v * unit;
}

static int parse_date(const char *s, size_t n, long long *out)
{
    unsigned y, m, d;
    size_t i;

    if (n != 10 || s[4] != '-' || s[7] != '-') {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return -1;
        }
    }
    y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
    m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) {
        return -1;
    }
    *out = days_from_civil(y, m, d) * DAY;
    return 0;
}

const char *acp_validity_parse(apr_pool_t *p, acp_validity_sched_t *s, int argc,
                               const char *const *argv)
{
    int i;

    memset(s, 0, sizeof(*s));
    acp_validity_cabf(s);
    for (i = 0; i < argc; i++) {
        const char *w = argv[i], *eq = strchr(w, '=');
        long long max, from;
        if (!strcmp(w, "schedule")) {
            acp_validity_cabf(s);
            continue;
        }
        if (!strcmp(w, "off") || !strcmp(w, "none")) {
            memset(s, 0, sizeof(*s));
            continue;
        }
        if (!eq) {
            /* a plain duration: the limit from now on, the schedule dropped */
            max = acp_validity_duration(w, 3650 * DAY);
            if (max < 0) {
                return apr_psprintf(p, "'%s' is not schedule, off, a duration (825d, 36h) or "
                                       "DATE=DURATION (2027-03-15=100d)", w);
            }
            memset(s, 0, sizeof(*s));
            s->base = max;
            continue;
        }
        if (parse_date(w, (size_t)(eq - w), &from) != 0) {
            return apr_psprintf(p, "'%s': the date is not YYYY-MM-DD", w);
        }
        max = acp_validity_duration(eq + 1, 3650 * DAY);
        if (max < 0) {
            return apr_psprintf(p, "'%s': the duration is not like 100d or 36h", w);
        }
        /* a dated step replaces the steps from its date on, then applies from it */
        {
            int k = 0;
            while (k < s->n && s->steps[k].from < from) {
                k++;
            }
            s->n = k;
        }
        if (s->n >= ACP_VALIDITY_STEPS) {
            return "at most 8 dated steps";
        }
        s->steps[s->n].from = from;
        s->steps[s->n].max = max;
        s->n++;
    }
    return NULL;
}

const char *acp_validity_text(apr_pool_t *p, long long max)
{
    if (max <= 0) {
        return "no limit";
    }
    if (max % DAY == 0) {
        return apr_psprintf(p, "%d days", (int)(max / DAY));
    }
    if (max % 3600 == 0) {
        return apr_psprintf(p, "%d hours", (int)(max / 3600));
    }
    return apr_psprintf(p, "%d seconds", (int)max);
}
