/* timefmt: RFC 3339 <-> UTC epoch milliseconds (contract in include/timefmt.h).
 *
 * Pure integer arithmetic: no timegm/mktime, no locale, no TZ. Calendar
 * conversion is Howard Hinnant's days_from_civil / civil_from_days
 * (http://howardhinnant.github.io/date_algorithms.html), exact for the whole
 * proleptic Gregorian calendar. */
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define MS_PER_SEC  INT64_C(1000)
#define MS_PER_MIN  (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY  (24 * MS_PER_HOUR)

/* The range timefmt_format can print: 0000-01-01T00:00:00.000Z and
 * 9999-12-31T23:59:59.999Z. days_from_civil(0, 1, 1) = -719528 and
 * days_from_civil(10000, 1, 1) = 2932897. */
#define FORMAT_MIN_MS (INT64_C(-719528) * MS_PER_DAY)
#define FORMAT_MAX_MS (INT64_C(2932897) * MS_PER_DAY - 1)

int64_t timefmt_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * MS_PER_SEC + (int64_t)ts.tv_nsec / 1000000;
}

int64_t timefmt_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                         /* [0, 399] */
    int64_t mp = month > 2 ? month - 3 : month + 9;      /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;          /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Inverse of timefmt_days_from_civil. */
static void civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    int64_t d = doy - (153 * mp + 2) / 5 + 1;                            /* [1, 31] */
    int64_t m = mp < 10 ? mp + 3 : mp - 9;                               /* [1, 12] */
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap(year))
        return 29;
    return days[month - 1];
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n decimal digits at *p into *out and advances *p. Locale-free
 * and overflow-free (n <= 9). */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (!is_digit(c))
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* "YYYY-MM-DD" at *p, calendar-checked; advances *p past it. */
static bool parse_date_at(const char **p, int *year, int *month, int *day)
{
    int y, m, d;
    if (!digits(p, 4, &y) || !expect(p, '-') || !digits(p, 2, &m) || !expect(p, '-') ||
        !digits(p, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    *year = y;
    *month = m;
    *day = d;
    return true;
}

int timefmt_parse(const char *s, int64_t *out_ms)
{
    if (s == NULL || out_ms == NULL)
        return -1;
    const char *p = s;
    int year, month, day, hour, minute, second;
    if (!parse_date_at(&p, &year, &month, &day))
        return -1;
    if (*p != 'T' && *p != 't')
        return -1;
    p++;
    if (!digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &minute) || !expect(&p, ':') ||
        !digits(&p, 2, &second))
        return -1;
    /* RFC 3339 allows second 60 only for a leap second; epoch ms cannot
     * represent one, so it is rejected with hour 24. */
    if (hour > 23 || minute > 59 || second > 59)
        return -1;

    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (is_digit(p[n]))
            n++;
        if (n < 1 || n > 9)
            return -1;
        /* Truncate to milliseconds: ".1239" is 123 ms, ".5" is 500 ms. */
        static const int scale[4] = {0, 100, 10, 1};
        for (int i = 0; i < n && i < 3; i++)
            ms += (p[i] - '0') * scale[i + 1];
        p += n;
    }

    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1; /* no zone: a local time is ambiguous */
    }
    if (*p != '\0')
        return -1;

    int64_t days = timefmt_days_from_civil(year, month, day);
    *out_ms = days * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MIN + second * MS_PER_SEC +
              ms - offset_min * MS_PER_MIN;
    return 0;
}

/* Floor division and its non-negative remainder (C's / truncates). */
static int64_t floor_div(int64_t a, int64_t b, int64_t *rem)
{
    int64_t q = a / b;
    int64_t r = a % b;
    if (r < 0) {
        r += b;
        q--;
    }
    *rem = r;
    return q;
}

char *timefmt_format(int64_t ms, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return buf;
    if (ms < FORMAT_MIN_MS)
        ms = FORMAT_MIN_MS;
    if (ms > FORMAT_MAX_MS)
        ms = FORMAT_MAX_MS;
    int64_t in_day;
    int64_t days = floor_div(ms, MS_PER_DAY, &in_day);
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    int hour = (int)(in_day / MS_PER_HOUR);
    int minute = (int)(in_day / MS_PER_MIN % 60);
    int second = (int)(in_day / MS_PER_SEC % 60);
    int milli = (int)(in_day % MS_PER_SEC);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day, hour, minute,
             second, milli);
    return buf;
}

int timefmt_parse_date(const char *s, int *year, int *month, int *day)
{
    if (s == NULL)
        return -1;
    const char *p = s;
    int y, m, d;
    if (!parse_date_at(&p, &y, &m, &d) || *p != '\0')
        return -1;
    if (year != NULL)
        *year = y;
    if (month != NULL)
        *month = m;
    if (day != NULL)
        *day = d;
    return 0;
}
