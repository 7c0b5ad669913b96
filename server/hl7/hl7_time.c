/* hl7_time: HL7 DTM values <-> UTC epoch ms (include/hl7.h). Pure but for
 * the ward zone a value without one is read in. */
#include "hl7.h"
#include "clinical.h"
#include "rules.h"
#include "tz.h"
#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The ward's UTC offset for DTM values that carry none. Until the ward's
 * IANA zone is configurable (`--time-zone`), wardd reads them as UTC; this
 * is the one place to change (docs/hl7.md "Times"). */
/* The ward's zone (the active rule set's, else serve --time-zone, else
 * UTC) at a ward-local wall-clock time: a DTM without a zone is ward time
 * (docs/hl7.md). Gaps and folds resolve as the schedule's do (tz.h). */
int hl7_ward_offset_at(int64_t local_ms)
{
    rules_set *rs = clinical_rules();
    const tz_zone *zone = rs && rs->zone ? rs->zone : tz_default();
    int64_t utc = zone ? tz_local_to_utc(zone, local_ms) : local_ms;

    rules_unref(rs);
    return (int)((local_ms - utc) / 60000);
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

static int num(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Reads the offset "+HHMM"/"-HHMM" at s (exactly the rest); minutes or
 * INT32_MIN... -1 on error via *ok. */
static bool read_zone(const char *s, int *minutes)
{
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 5)
        return false;
    for (int i = 1; i < 5; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    int hh = num(s + 1, 2), mm = num(s + 3, 2);
    if (hh > 14 || mm > 59)
        return false;
    *minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return true;
}

int hl7_dtm(const char *s, int min_digits, int64_t *ms, bool *had_zone)
{
    int digits = 0, frac_ms = 0, zone = 0;
    int f[6] = {0, 1, 1, 0, 0, 0}; /* year month day hour minute second */
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    const char *p = s;
    bool zoned = false;

    while (isdigit((unsigned char)p[digits]))
        digits++;
    if (digits < min_digits || digits < 4 || digits > 14 || (digits % 2) != 0)
        return -1;
    for (int i = 0, at = 0; i < 6 && at < digits; at += width[i], i++)
        f[i] = num(p + at, width[i]);
    p += digits;
    if (*p == '.') {
        int n = 0, scale = 100;
        if (digits != 14)
            return -1;
        for (p++; isdigit((unsigned char)*p); p++, n++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (n < 1 || n > 4)
            return -1;
    }
    if (*p) {
        if (!read_zone(p, &zone))
            return -1;
        zoned = true;
    }
    if (f[0] < 1 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > month_days(f[0], f[1]) ||
        f[3] > 23 || f[4] > 59 || f[5] > 59)
        return -1;
    int64_t local = ((timefmt_days_from_civil(f[0], f[1], f[2]) * 24 + f[3]) * 60 + f[4]) * 60000 +
                    (int64_t)f[5] * 1000 + frac_ms;
    if (!zoned)
        zone = hl7_ward_offset_at(local);
    *ms = local - (int64_t)zone * 60000;
    if (had_zone)
        *had_zone = zoned;
    return 0;
}

char *hl7_dtm_format(int64_t ms, char *buf, size_t len)
{
    char iso[TIMEFMT_LEN];

    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" -> "YYYYMMDDHHMMSS+0000" */
    timefmt_format(ms, iso, sizeof iso);
    snprintf(buf, len, "%.4s%.2s%.2s%.2s%.2s%.2s+0000", iso, iso + 5, iso + 8, iso + 11, iso + 14,
             iso + 17);
    return buf;
}
