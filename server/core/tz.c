/* tz: TZif (RFC 8536) zones and the conversions between UTC and a ward's
 * local time (contract and the rules for gaps and folds in include/tz.h). */
#include "tz.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_S   INT64_C(1000)
#define MS_PER_DAY INT64_C(86400000)
#define S_PER_DAY  INT64_C(86400)
/* RFC 8536 allows any offset but -2^31; real ones lie within -12 h..+14 h.
 * Anything beyond a day is taken as corrupt data. */
#define MAX_OFFSET_S (26 * 3600)
/* Bounds that keep a hostile file small (the largest real zone has a few
 * hundred transitions). */
#define MAX_TRANSITIONS 20000
#define MAX_TYPES       256
#define MAX_FILE        (1 << 20)

/* A POSIX TZ rule date: Mm.w.d, Jn or n, and the local time it applies at. */
typedef struct posix_date {
    char kind; /* 'M', 'J' or 'n' */
    int month, week, wday, day;
    int32_t time_s;
} posix_date;

/* The footer rule: standard offset, and when dst is set the summer offset
 * and the dates it starts and ends. Offsets are seconds east of UTC. */
typedef struct posix_rule {
    bool present, dst;
    int32_t std_off, dst_off;
    posix_date start, end;
} posix_rule;

struct tz_zone {
    char name[TZ_NAME_MAX + 1];
    size_t n_trans, n_types;
    int64_t *trans;  /* UTC seconds, ascending */
    uint8_t *idx;    /* type of each transition */
    int32_t *utoff;  /* offset of each type, seconds */
    posix_rule rule; /* after the last transition */
};

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Calendar arithmetic (proleptic Gregorian, days since 1970-01-01)       */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* H. Hinnant's days_from_civil. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_day(int64_t z)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* The local day (days since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const posix_date *p, int64_t y)
{
    if (p->kind == 'J') /* 1-365, February 29 never counted */
        return days_from_civil(y, 1, 1) + p->day - 1 + (is_leap(y) && p->day >= 60);
    if (p->kind == 'n') /* 0-365 */
        return days_from_civil(y, 1, 1) + p->day;
    int64_t first = days_from_civil(y, p->month, 1);
    int wd_first = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int64_t day = 1 + (p->wday - wd_first + 7) % 7 + 7 * (p->week - 1);
    while (day > month_days(y, p->month))
        day -= 7;
    return first + day - 1;
}

/* ---------------------------------------------------------------------- */
/* The footer: a POSIX TZ string                                           */

static const char *parse_tzname(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e != NULL && e - s >= 4 ? e + 1 : NULL;
    }
    const char *b = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to max_h. Seconds into *out. */
static const char *parse_hms(const char *s, int max_h, int32_t *out)
{
    int sign = 1, part[3] = {0, 0, 0};

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        int v = 0, digits = 0;
        if (i > 0) {
            if (*s != ':')
                break;
            s++;
        }
        while (*s >= '0' && *s <= '9' && digits < 3)
            v = v * 10 + (*s++ - '0'), digits++;
        if (digits == 0 || (i == 0 && v > max_h) || (i > 0 && v > 59))
            return NULL;
        part[i] = v;
    }
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return s;
}

static const char *parse_int(const char *s, int lo, int hi, int *out)
{
    int v = 0, digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 4)
        v = v * 10 + (*s++ - '0'), digits++;
    if (digits == 0 || v < lo || v > hi)
        return NULL;
    *out = v;
    return s;
}

static const char *parse_date(const char *s, posix_date *d)
{
    d->time_s = 2 * 3600;
    if (*s == 'M') {
        d->kind = 'M';
        s = parse_int(s + 1, 1, 12, &d->month);
        if (s == NULL || *s++ != '.' || (s = parse_int(s, 1, 5, &d->week)) == NULL || *s++ != '.' ||
            (s = parse_int(s, 0, 6, &d->wday)) == NULL)
            return NULL;
    } else if (*s == 'J') {
        d->kind = 'J';
        if ((s = parse_int(s + 1, 1, 365, &d->day)) == NULL)
            return NULL;
    } else {
        d->kind = 'n';
        if ((s = parse_int(s, 0, 365, &d->day)) == NULL)
            return NULL;
    }
    if (*s == '/')
        s = parse_hms(s + 1, 167, &d->time_s); /* RFC 8536 3.3.1: -167..167 h */
    return s;
}

/* "STDoff[DST[off][,start[/time],end[/time]]]"; an empty string is no
 * rule. 0 or -1. */
static int parse_posix(const char *s, posix_rule *r)
{
    int32_t off;

    memset(r, 0, sizeof *r);
    if (*s == '\0')
        return 0;
    if ((s = parse_tzname(s)) == NULL || (s = parse_hms(s, 24, &off)) == NULL)
        return -1;
    r->present = true;
    r->std_off = -off; /* POSIX counts west of UTC */
    if (*s == '\0')
        return 0;
    if ((s = parse_tzname(s)) == NULL)
        return -1;
    r->dst = true;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((s = parse_hms(s, 24, &off)) == NULL)
            return -1;
        r->dst_off = -off;
    }
    if (*s == '\0') { /* no dates: the US rules of POSIX's default */
        r->start = (posix_date){'M', 3, 2, 0, 0, 7200};
        r->end = (posix_date){'M', 11, 1, 0, 0, 7200};
        return 0;
    }
    if (*s++ != ',' || (s = parse_date(s, &r->start)) == NULL || *s++ != ',' ||
        (s = parse_date(s, &r->end)) == NULL || *s != '\0')
        return -1;
    return 0;
}

/* The footer rule's offset at UTC second t. */
static int32_t posix_offset(const posix_rule *r, int64_t t)
{
    if (!r->dst)
        return r->std_off;
    int64_t y = year_of_day(floor_div(t + r->std_off, S_PER_DAY));
    int64_t start = rule_day(&r->start, y) * S_PER_DAY + r->start.time_s - r->std_off;
    int64_t end = rule_day(&r->end, y) * S_PER_DAY + r->end.time_s - r->dst_off;
    bool in_dst = start < end ? (t >= start && t < end) : (t >= start || t < end);
    return in_dst ? r->dst_off : r->std_off;
}

/* ---------------------------------------------------------------------- */
/* TZif                                                                    */

typedef struct cursor {
    const unsigned char *p;
    size_t left;
} cursor;

static bool take(cursor *c, size_t n, const unsigned char **out)
{
    if (c->left < n)
        return false;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct header {
    char version;
    uint32_t isut, isstd, leap, time, type, chars;
} header;

static bool read_header(cursor *c, header *h)
{
    const unsigned char *p;

    if (!take(c, 44, &p) || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    return h->type >= 1 && h->type <= MAX_TYPES && h->time <= MAX_TRANSITIONS && h->chars >= 1 &&
           h->chars <= 1024 && h->leap <= 1000 && (h->isut == 0 || h->isut == h->type) &&
           (h->isstd == 0 || h->isstd == h->type);
}

static size_t block_size(const header *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6u + h->chars + h->leap * (tsize + 4) + h->isstd +
           h->isut;
}

/* The version 2+ data block (64-bit times) into z. */
static bool read_block(cursor *c, const header *h, tz_zone *z, char *err, size_t errlen)
{
    const unsigned char *times, *idx, *types, *skip;

    if (!take(c, h->time * 8u, &times) || !take(c, h->time, &idx) ||
        !take(c, h->type * 6u, &types) ||
        !take(c, h->chars + h->leap * 12u + h->isstd + h->isut, &skip)) {
        set_err(err, errlen, "truncated data block");
        return false;
    }
    z->n_trans = h->time;
    z->n_types = h->type;
    z->trans = calloc(h->time + 1, sizeof *z->trans);
    z->idx = calloc(h->time + 1, sizeof *z->idx);
    z->utoff = calloc(h->type, sizeof *z->utoff);
    if (z->trans == NULL || z->idx == NULL || z->utoff == NULL) {
        set_err(err, errlen, "out of memory");
        return false;
    }
    for (size_t i = 0; i < h->type; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (off < -MAX_OFFSET_S || off > MAX_OFFSET_S || types[6 * i + 4] > 1 ||
            types[6 * i + 5] >= h->chars) {
            set_err(err, errlen, "local time type %zu is invalid", i);
            return false;
        }
        z->utoff[i] = off;
    }
    for (size_t i = 0; i < h->time; i++) {
        z->trans[i] = be64(times + 8 * i);
        z->idx[i] = idx[i];
        if (idx[i] >= h->type || (i > 0 && z->trans[i] <= z->trans[i - 1])) {
            set_err(err, errlen, "transition %zu is invalid", i);
            return false;
        }
    }
    return true;
}

/* "\n<POSIX TZ>\n" after the data block. */
static bool read_footer(cursor *c, tz_zone *z, char *err, size_t errlen)
{
    char buf[128];
    size_t n = 0;

    if (c->left < 2 || c->p[0] != '\n') {
        set_err(err, errlen, "missing footer");
        return false;
    }
    for (size_t i = 1; i < c->left && c->p[i] != '\n'; i++) {
        if (n + 1 >= sizeof buf || c->p[i] < 0x20 || c->p[i] > 0x7e) {
            set_err(err, errlen, "invalid footer");
            return false;
        }
        buf[n++] = (char)c->p[i];
    }
    buf[n] = '\0';
    if (n + 1 >= c->left || parse_posix(buf, &z->rule) != 0) {
        set_err(err, errlen, "invalid footer TZ string \"%s\"", buf);
        return false;
    }
    return true;
}

tz_zone *tz_parse(const unsigned char *data, size_t len, const char *name, char *err, size_t errlen)
{
    cursor c = {data, len};
    header h;
    const unsigned char *v1;
    tz_zone *z = calloc(1, sizeof *z);

    if (z == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(z->name, sizeof z->name, "%s", name != NULL ? name : "");
    if (data == NULL || !read_header(&c, &h)) {
        set_err(err, errlen, "not a TZif file");
        goto fail;
    }
    if (h.version < '2') {
        set_err(err, errlen, "TZif version 1 is not supported (version 2 or later needed)");
        goto fail;
    }
    if (!take(&c, block_size(&h, 4), &v1) || !read_header(&c, &h)) {
        set_err(err, errlen, "truncated or invalid version 2 header");
        goto fail;
    }
    if (!read_block(&c, &h, z, err, errlen) || !read_footer(&c, z, err, errlen))
        goto fail;
    return z;
fail:
    tz_free(z);
    return NULL;
}

void tz_free(tz_zone *z)
{
    if (z == NULL)
        return;
    free(z->trans);
    free(z->idx);
    free(z->utoff);
    free(z);
}

/* ---------------------------------------------------------------------- */
/* Conversions                                                             */

static int32_t offset_s(const tz_zone *z, int64_t t)
{
    if (z->n_trans == 0 || t < z->trans[0]) {
        if (z->n_trans == 0 && z->rule.present)
            return posix_offset(&z->rule, t);
        return z->utoff[0];
    }
    if (t >= z->trans[z->n_trans - 1] && z->rule.present)
        return posix_offset(&z->rule, t);
    size_t lo = 0, hi = z->n_trans; /* the last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->utoff[z->idx[lo]];
}

const char *tz_name(const tz_zone *z)
{
    return z->name;
}

int64_t tz_offset_ms(const tz_zone *z, int64_t utc_ms)
{
    return (int64_t)offset_s(z, floor_div(utc_ms, MS_PER_S)) * MS_PER_S;
}

int64_t tz_to_local(const tz_zone *z, int64_t utc_ms)
{
    return utc_ms + tz_offset_ms(z, utc_ms);
}

/* Candidates: the offsets in force a day before and a day after (zones do
 * not change twice within two days). A candidate is valid when the instant
 * it gives has that offset. Two valid: a fold, the first occurrence is the
 * earlier instant. None: a gap, read with the earlier offset. */
int64_t tz_local_to_utc(const tz_zone *z, int64_t local_ms)
{
    int64_t before = tz_offset_ms(z, local_ms - MS_PER_DAY);
    int64_t after = tz_offset_ms(z, local_ms + MS_PER_DAY);
    int64_t u1 = local_ms - before, u2 = local_ms - after;
    bool ok1 = tz_offset_ms(z, u1) == before, ok2 = tz_offset_ms(z, u2) == after;

    if (ok1 && ok2)
        return u1 < u2 ? u1 : u2;
    if (ok2)
        return u2;
    return u1;
}

int64_t tz_local_day(const tz_zone *z, int64_t utc_ms)
{
    return floor_div(tz_to_local(z, utc_ms), MS_PER_DAY);
}

int64_t tz_day_start(const tz_zone *z, int64_t day)
{
    return tz_local_to_utc(z, day * MS_PER_DAY);
}

/* ---------------------------------------------------------------------- */
/* The database and the cache                                              */

static tz_zone utc_zone = {.name = "UTC", .n_types = 1, .utoff = (int32_t[]){0}};

typedef struct cached {
    struct cached *next;
    tz_zone *z;
} cached;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static cached *cache;
static const tz_zone *default_zone = &utc_zone;

static bool name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (const char *s = name; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '+' || *s == '/'))
            return false;
    return true;
}

static tz_zone *load_file(const char *name, char *err, size_t errlen)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    unsigned char *buf = NULL;
    size_t n = 0;
    tz_zone *z = NULL;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir != NULL && *dir ? dir : "/usr/share/zoneinfo", name);
    f = fopen(path, "rb");
    if (f == NULL) {
        set_err(err, errlen, "unknown time zone \"%s\" (%s: %s)", name, path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAX_FILE);
    if (buf != NULL)
        n = fread(buf, 1, MAX_FILE, f);
    if (buf != NULL && n < MAX_FILE && !ferror(f))
        z = tz_parse(buf, n, name, err, errlen);
    else
        set_err(err, errlen, "cannot read time zone file %s", path);
    fclose(f);
    free(buf);
    if (z == NULL && err != NULL && errlen > 0 && strncmp(err, "unknown", 7) != 0) {
        char inner[200];
        snprintf(inner, sizeof inner, "%s", err);
        set_err(err, errlen, "time zone \"%s\": %s", name, inner);
    }
    return z;
}

const tz_zone *tz_get(const char *name, char *err, size_t errlen)
{
    const tz_zone *found = NULL;

    if (!name_ok(name)) {
        set_err(err, errlen,
                "\"%.64s\" is not a time zone name (an IANA name such as "
                "America/New_York)",
                name != NULL ? name : "");
        return NULL;
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return &utc_zone;
    pthread_mutex_lock(&cache_mu);
    for (cached *c = cache; c != NULL && found == NULL; c = c->next)
        if (strcmp(c->z->name, name) == 0)
            found = c->z;
    if (found == NULL) {
        tz_zone *z = load_file(name, err, errlen);
        cached *c = z != NULL ? malloc(sizeof *c) : NULL;
        if (c != NULL) {
            c->z = z;
            c->next = cache;
            cache = c;
            found = z;
        } else {
            tz_free(z);
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return found;
}

int tz_set_default(const char *name, char *err, size_t errlen)
{
    const tz_zone *z = tz_get(name, err, errlen);

    if (z == NULL)
        return -1;
    pthread_mutex_lock(&cache_mu);
    default_zone = z;
    pthread_mutex_unlock(&cache_mu);
    return 0;
}

const tz_zone *tz_default(void)
{
    const tz_zone *z;

    pthread_mutex_lock(&cache_mu);
    z = default_zone;
    pthread_mutex_unlock(&cache_mu);
    return z;
}
