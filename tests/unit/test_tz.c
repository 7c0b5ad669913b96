/* Unit tests for tz: the system's TZif zones across the 2026 changes of
 * America/New_York (8 March, 1 November) and Europe/Amsterdam (29 March,
 * 25 October), a zone without daylight saving (Asia/Kolkata) and UTC; the
 * rules for gaps (skipped hour) and folds (repeated hour); the footer rule
 * alone (a "slim" zone); and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "tz.h"

#define H  INT64_C(3600000)
#define MN INT64_C(60000)

static int64_t utc(const char *s)
{
    int64_t ms = 0;
    if (timefmt_parse(s, &ms) != 0)
        fail_msg("bad time %s", s);
    return ms;
}

/* Local wall-clock "YYYY-MM-DDTHH:MM" read as UTC digits. */
static int64_t local(const char *s)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%s:00Z", s);
    return utc(buf);
}

static const tz_zone *zone(const char *name)
{
    char err[200];
    const tz_zone *z = tz_get(name, err, sizeof err);
    if (z == NULL)
        fail_msg("%s: %s", name, err);
    return z;
}

static void test_new_york_2026(void **state)
{
    (void)state;
    const tz_zone *z = zone("America/New_York");
    /* winter EST -5, summer EDT -4 */
    assert_int_equal(tz_offset_ms(z, utc("2026-01-15T12:00:00Z")), -5 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-07-15T12:00:00Z")), -4 * H);
    /* spring forward 8 March 2026 at 02:00 EST = 07:00 UTC */
    assert_int_equal(tz_offset_ms(z, utc("2026-03-08T06:59:59Z")), -5 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-03-08T07:00:00Z")), -4 * H);
    /* the 00:00 and 08:00 dose slots exist and are 7 h apart */
    int64_t s0 = tz_local_to_utc(z, local("2026-03-08T00:00"));
    int64_t s8 = tz_local_to_utc(z, local("2026-03-08T08:00"));
    int64_t s16 = tz_local_to_utc(z, local("2026-03-08T16:00"));
    assert_int_equal(s0, utc("2026-03-08T05:00:00Z"));
    assert_int_equal(s8, utc("2026-03-08T12:00:00Z"));
    assert_int_equal(s8 - s0, 7 * H);
    assert_int_equal(s16 - s8, 8 * H);
    /* the skipped 02:30 is read with the offset before: 03:30 EDT */
    assert_int_equal(tz_local_to_utc(z, local("2026-03-08T02:30")), utc("2026-03-08T07:30:00Z"));
    /* fall back 1 November 2026 at 02:00 EDT = 06:00 UTC: 01:30 occurs twice,
     * the first occurrence (EDT) is taken */
    assert_int_equal(tz_local_to_utc(z, local("2026-11-01T01:30")), utc("2026-11-01T05:30:00Z"));
    assert_int_equal(tz_offset_ms(z, utc("2026-11-01T05:59:59Z")), -4 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-11-01T06:00:00Z")), -5 * H);
    /* that day lasts 25 h; its slots are 00:00 EDT, 08:00 EST, 16:00 EST */
    assert_int_equal(tz_day_start(z, tz_local_day(z, utc("2026-11-02T12:00:00Z"))) -
                         tz_day_start(z, tz_local_day(z, utc("2026-11-01T12:00:00Z"))),
                     25 * H);
    assert_int_equal(tz_local_to_utc(z, local("2026-11-01T08:00")) -
                         tz_local_to_utc(z, local("2026-11-01T00:00")),
                     9 * H);
    /* local dates: 03:30 UTC on 8 March is still 7 March in New York */
    assert_int_equal(tz_local_day(z, utc("2026-03-08T03:30:00Z")),
                     tz_local_day(z, utc("2026-03-07T12:00:00Z")));
    assert_int_equal(tz_day_start(z, tz_local_day(z, utc("2026-03-08T12:00:00Z"))),
                     utc("2026-03-08T05:00:00Z"));
}

static void test_amsterdam_2026(void **state)
{
    (void)state;
    const tz_zone *z = zone("Europe/Amsterdam");
    assert_int_equal(tz_offset_ms(z, utc("2026-01-15T12:00:00Z")), 1 * H);
    /* 29 March 2026: 02:00 CET -> 03:00 CEST at 01:00 UTC */
    assert_int_equal(tz_offset_ms(z, utc("2026-03-29T00:59:59Z")), 1 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-03-29T01:00:00Z")), 2 * H);
    int64_t s0 = tz_local_to_utc(z, local("2026-03-29T00:00"));
    int64_t s8 = tz_local_to_utc(z, local("2026-03-29T08:00"));
    assert_int_equal(s0, utc("2026-03-28T23:00:00Z"));
    assert_int_equal(s8, utc("2026-03-29T06:00:00Z"));
    assert_int_equal(s8 - s0, 7 * H);
    assert_int_equal(tz_local_to_utc(z, local("2026-03-29T02:15")), utc("2026-03-29T01:15:00Z"));
    /* 25 October 2026: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30 twice */
    assert_int_equal(tz_local_to_utc(z, local("2026-10-25T02:30")), utc("2026-10-25T00:30:00Z"));
    assert_int_equal(tz_offset_ms(z, utc("2026-10-25T01:00:00Z")), 1 * H);
    assert_int_equal(tz_local_to_utc(z, local("2026-10-25T08:00")) -
                         tz_local_to_utc(z, local("2026-10-25T00:00")),
                     9 * H);
    /* 23:30 UTC on 28 March is already 29 March in Amsterdam */
    assert_int_equal(tz_local_day(z, utc("2026-03-28T23:30:00Z")),
                     tz_local_day(z, utc("2026-03-29T12:00:00Z")));
}

static void test_no_dst(void **state)
{
    (void)state;
    const tz_zone *k = zone("Asia/Kolkata");
    const tz_zone *u = zone("UTC");
    for (int m = 0; m < 12; m++) {
        int64_t t = utc("2026-01-01T00:00:00Z") + m * 30 * 24 * H;
        assert_int_equal(tz_offset_ms(k, t), 5 * H + 30 * MN);
        assert_int_equal(tz_offset_ms(u, t), 0);
    }
    assert_int_equal(tz_local_to_utc(k, local("2026-03-08T08:00")), utc("2026-03-08T02:30:00Z"));
    assert_int_equal(tz_day_start(u, tz_local_day(u, utc("2026-03-08T12:00:00Z"))),
                     utc("2026-03-08T00:00:00Z"));
    assert_string_equal(tz_name(zone("Etc/UTC")), "UTC");
}

/* A TZif v2 file with no transitions: only the footer rule decides, as in
 * a "slim" zone file after its last listed transition. */
static size_t slim(unsigned char *buf, const char *footer)
{
    unsigned char *p = buf;
    for (int part = 0; part < 2; part++) {
        memset(p, 0, 44);
        memcpy(p, "TZif2", 5);
        p[39] = 1; /* typecnt */
        p[43] = 4; /* charcnt */
        p += 44;
        memset(p, 0, 6); /* type 0: offset 0 */
        p += 6;
        memcpy(p, "UTC", 4);
        p += 4;
    }
    p += sprintf((char *)p, "\n%s\n", footer);
    return (size_t)(p - buf);
}

static void test_footer_rules(void **state)
{
    (void)state;
    unsigned char buf[256];
    char err[200];
    tz_zone *z = tz_parse(buf, slim(buf, "EST5EDT,M3.2.0,M11.1.0"), "slim", err, sizeof err);
    if (z == NULL)
        fail_msg("%s", err);
    assert_int_equal(tz_offset_ms(z, utc("2026-03-08T06:59:59Z")), -5 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-03-08T07:00:00Z")), -4 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-11-01T05:59:59Z")), -4 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-11-01T06:00:00Z")), -5 * H);
    tz_free(z);
    /* southern hemisphere: summer across the new year (Sydney) */
    z = tz_parse(buf, slim(buf, "AEST-10AEDT,M10.1.0,M4.1.0/3"), "syd", err, sizeof err);
    if (z == NULL)
        fail_msg("%s", err);
    assert_int_equal(tz_offset_ms(z, utc("2026-01-15T00:00:00Z")), 11 * H);
    assert_int_equal(tz_offset_ms(z, utc("2026-07-15T00:00:00Z")), 10 * H);
    tz_free(z);
    z = tz_parse(buf, slim(buf, "<+0530>-5:30"), "ist", err, sizeof err);
    assert_non_null(z);
    assert_int_equal(tz_offset_ms(z, 0), 5 * H + 30 * MN);
    tz_free(z);
}

static void test_rejects(void **state)
{
    (void)state;
    unsigned char buf[256];
    char err[200];
    size_t n = slim(buf, "EST5EDT,M3.2.0,M11.1.0");
    assert_null(tz_parse(buf, 10, "x", err, sizeof err));
    assert_null(tz_parse(buf, n - 3, "x", err, sizeof err)); /* footer cut */
    buf[4] = '1';
    assert_null(tz_parse(buf, n, "x", err, sizeof err));
    assert_non_null(strstr(err, "version"));
    n = slim(buf, "EST5EDT,M13.2.0,M11.1.0");
    assert_null(tz_parse(buf, n, "x", err, sizeof err));
    assert_null(tz_get("../etc/passwd", err, sizeof err));
    assert_null(tz_get("/etc/localtime", err, sizeof err));
    assert_null(tz_get("Mars/Olympus_Mons", err, sizeof err));
    assert_non_null(strstr(err, "unknown time zone"));
    assert_null(tz_get("", err, sizeof err));
    /* the default is UTC until set; a bad name leaves it */
    assert_string_equal(tz_name(tz_default()), "UTC");
    assert_int_equal(tz_set_default("Nowhere/Land", err, sizeof err), -1);
    assert_int_equal(tz_set_default("Europe/Amsterdam", err, sizeof err), 0);
    assert_string_equal(tz_name(tz_default()), "Europe/Amsterdam");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_york_2026), cmocka_unit_test(test_amsterdam_2026),
        cmocka_unit_test(test_no_dst),        cmocka_unit_test(test_footer_rules),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
