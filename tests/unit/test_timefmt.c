/* Unit tests for timefmt: strict RFC 3339 parsing and UTC formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define DAY_MS INT64_C(86400000)

static int64_t parse_ok(const char *s)
{
    int64_t ms = INT64_MIN;
    if (timefmt_parse(s, &ms) != 0)
        fail_msg("rejected a valid time: \"%s\"", s);
    return ms;
}

static void expect_reject(const char *s)
{
    int64_t ms = 12345;
    if (timefmt_parse(s, &ms) == 0)
        fail_msg("accepted an invalid time: \"%s\"", s);
    assert_int_equal(ms, 12345); /* nothing stored */
}

static const char *fmt(int64_t ms)
{
    static char buf[TIMEFMT_LEN];
    return timefmt_format(ms, buf, sizeof buf);
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(timefmt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(timefmt_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(timefmt_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(timefmt_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(timefmt_days_from_civil(2026, 11, 27), 20784);
    assert_int_equal(timefmt_days_from_civil(0, 1, 1), -719528);
    assert_int_equal(timefmt_days_from_civil(10000, 1, 1), 2932897);
    assert_int_equal(timefmt_days_from_civil(1900, 1, 1), -25567);
}

/* Cross-check against the C library for every day of 1900-2100 (gmtime is
 * fine in a test; the module itself stays libc-calendar-free). */
static void test_days_match_gmtime(void **state)
{
    (void)state;
    for (int64_t d = -25567; d < 47482; d++) {
        time_t t = (time_t)(d * 86400);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        assert_int_equal(timefmt_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday), d);
        char expect[64];
        snprintf(expect, sizeof expect, "%04d-%02d-%02dT00:00:00.000Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
        assert_string_equal(fmt(d * DAY_MS), expect);
    }
}

static void test_parse_basic(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2026-11-27T14:03:05Z"), INT64_C(1795788185000));
    assert_int_equal(parse_ok("2026-11-27t14:03:05z"), INT64_C(1795788185000));
    assert_int_equal(parse_ok("2026-11-27T14:03:05.120Z"), INT64_C(1795788185120));
    assert_int_equal(parse_ok("2026-11-27T23:59:59.999Z"),
                     timefmt_days_from_civil(2026, 11, 28) * DAY_MS - 1);
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), INT64_C(-719528) * DAY_MS);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), INT64_C(2932897) * DAY_MS - 1);
}

static void test_parse_fraction(void **state)
{
    (void)state;
    int64_t base = parse_ok("2026-11-27T14:03:05Z");
    assert_int_equal(parse_ok("2026-11-27T14:03:05.1Z"), base + 100);
    assert_int_equal(parse_ok("2026-11-27T14:03:05.12Z"), base + 120);
    assert_int_equal(parse_ok("2026-11-27T14:03:05.123Z"), base + 123);
    /* truncated, not rounded */
    assert_int_equal(parse_ok("2026-11-27T14:03:05.1239Z"), base + 123);
    assert_int_equal(parse_ok("2026-11-27T14:03:05.999999999Z"), base + 999);
    assert_int_equal(parse_ok("2026-11-27T14:03:05.000000001Z"), base);
    assert_int_equal(parse_ok("2026-11-27T14:03:05.0Z"), base);
    /* 1-9 digits only */
    expect_reject("2026-11-27T14:03:05.Z");
    expect_reject("2026-11-27T14:03:05.1234567890Z");
    expect_reject("2026-11-27T14:03:05,123Z");
    expect_reject("2026-11-27T14:03:05.12aZ");
}

static void test_parse_offsets(void **state)
{
    (void)state;
    int64_t utc = parse_ok("2026-11-27T14:03:05Z");
    assert_int_equal(parse_ok("2026-11-27T19:33:05+05:30"), utc);
    assert_int_equal(parse_ok("2026-11-27T09:03:05-05:00"), utc);
    assert_int_equal(parse_ok("2026-11-27T14:03:05+00:00"), utc);
    assert_int_equal(parse_ok("2026-11-27T14:03:05-00:00"), utc);
    /* offset crossing a day and a year */
    assert_int_equal(parse_ok("2027-01-01T00:30:00+01:00"), parse_ok("2026-12-31T23:30:00Z"));
    assert_int_equal(parse_ok("2026-12-31T23:30:00-23:59"), parse_ok("2027-01-01T23:29:00Z"));
    assert_int_equal(parse_ok("2026-11-27T14:03:05.250+23:59"), utc + 250 - 1439 * 60000);
    /* bounds of the offset */
    expect_reject("2026-11-27T14:03:05+24:00");
    expect_reject("2026-11-27T14:03:05+05:60");
    expect_reject("2026-11-27T14:03:05+0530");
    expect_reject("2026-11-27T14:03:05+05");
    expect_reject("2026-11-27T14:03:05+5:30");
    expect_reject("2026-11-27T14:03:05+05:3");
    expect_reject("2026-11-27T14:03:05 +05:30");
    expect_reject("2026-11-27T14:03:05UTC");
    expect_reject("2026-11-27T14:03:05GMT");
}

static void test_parse_leap_years(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z") + DAY_MS, parse_ok("2024-03-01T12:00:00Z"));
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z") + DAY_MS, parse_ok("2000-03-01T00:00:00Z"));
    parse_ok("2400-02-29T00:00:00Z");
    parse_ok("2026-02-28T23:59:59Z");
    expect_reject("2026-02-29T00:00:00Z");
    expect_reject("2100-02-29T00:00:00Z");
    expect_reject("1900-02-29T00:00:00Z");
    expect_reject("2024-02-30T00:00:00Z");
}

static void test_parse_calendar_bounds(void **state)
{
    (void)state;
    parse_ok("2026-01-31T00:00:00Z");
    parse_ok("2026-04-30T00:00:00Z");
    parse_ok("2026-12-31T00:00:00Z");
    expect_reject("2026-04-31T00:00:00Z");
    expect_reject("2026-06-31T00:00:00Z");
    expect_reject("2026-01-32T00:00:00Z");
    expect_reject("2026-13-01T00:00:00Z");
    expect_reject("2026-00-10T00:00:00Z");
    expect_reject("2026-01-00T00:00:00Z");
    /* time fields */
    parse_ok("2026-11-27T23:59:59Z");
    expect_reject("2026-11-27T24:00:00Z");
    expect_reject("2026-11-27T23:60:00Z");
    expect_reject("2026-11-27T23:59:60Z");
    expect_reject("2026-06-30T23:59:60Z"); /* a leap second */
}

static void test_parse_shape(void **state)
{
    (void)state;
    expect_reject("");
    expect_reject("2026-11-27");
    expect_reject("2026-11-27T14:03:05");     /* no zone */
    expect_reject("2026-11-27T14:03:05.120"); /* no zone */
    expect_reject("2026-11-27T14:03Z");       /* no seconds */
    expect_reject("2026-11-27 14:03:05Z");    /* space separator */
    expect_reject("2026-11-27X14:03:05Z");
    expect_reject(" 2026-11-27T14:03:05Z");
    expect_reject("2026-11-27T14:03:05Z ");
    expect_reject("2026-11-27T14:03:05Zjunk");
    expect_reject("2026-11-27T14:03:05+05:30x");
    expect_reject("2026-11-27T14:03:05\n");
    expect_reject("26-11-27T14:03:05Z");
    expect_reject("+2026-11-27T14:03:05Z"); /* years outside 0000-9999 */
    expect_reject("-0001-11-27T14:03:05Z");
    expect_reject("12026-11-27T14:03:05Z");
    expect_reject("2026-1-27T14:03:05Z");
    expect_reject("2026-11-7T14:03:05Z");
    expect_reject("2026-11-27T4:03:05Z");
    expect_reject("2026/11/27T14:03:05Z");
    expect_reject("2026-11-27T14-03-05Z");
    expect_reject("2026-11-27T14:03:5Z");
    expect_reject("2026-11-27T+4:03:05Z");
    expect_reject("2026-1a-27T14:03:05Z");
    expect_reject("1795788185000");
    /* NULL arguments */
    int64_t ms = 7;
    assert_int_equal(timefmt_parse(NULL, &ms), -1);
    assert_int_equal(ms, 7);
    assert_int_equal(timefmt_parse("2026-11-27T14:03:05Z", NULL), -1);
}

static void test_format(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "1970-01-01T00:00:00.000Z");
    assert_string_equal(fmt(INT64_C(1795788185120)), "2026-11-27T14:03:05.120Z");
    assert_string_equal(fmt(INT64_C(1795788185000)), "2026-11-27T14:03:05.000Z");
    assert_string_equal(fmt(INT64_C(1795788185007)), "2026-11-27T14:03:05.007Z");
    /* before 1970: floor, not truncation */
    assert_string_equal(fmt(-1), "1969-12-31T23:59:59.999Z");
    assert_string_equal(fmt(-1000), "1969-12-31T23:59:59.000Z");
    assert_string_equal(fmt(-1001), "1969-12-31T23:59:58.999Z");
    assert_string_equal(fmt(-DAY_MS), "1969-12-31T00:00:00.000Z");
    assert_string_equal(fmt(-DAY_MS - 1), "1969-12-30T23:59:59.999Z");
    assert_string_equal(fmt(parse_ok("1961-04-02T08:30:15.250Z")), "1961-04-02T08:30:15.250Z");
    assert_string_equal(fmt(parse_ok("2024-02-29T23:59:59.999Z")), "2024-02-29T23:59:59.999Z");
    /* the representable ends, and clamping beyond them */
    assert_string_equal(fmt(INT64_C(-719528) * DAY_MS), "0000-01-01T00:00:00.000Z");
    assert_string_equal(fmt(INT64_C(-719528) * DAY_MS - 1), "0000-01-01T00:00:00.000Z");
    assert_string_equal(fmt(INT64_MIN), "0000-01-01T00:00:00.000Z");
    assert_string_equal(fmt(INT64_C(2932897) * DAY_MS - 1), "9999-12-31T23:59:59.999Z");
    assert_string_equal(fmt(INT64_C(2932897) * DAY_MS), "9999-12-31T23:59:59.999Z");
    assert_string_equal(fmt(INT64_MAX), "9999-12-31T23:59:59.999Z");
    /* always 24 characters */
    assert_int_equal(strlen(fmt(-1)), 24);
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    char buf[10];
    memset(buf, 'x', sizeof buf);
    assert_ptr_equal(timefmt_format(0, buf, sizeof buf), buf);
    assert_string_equal(buf, "1970-01-0"); /* truncated, still terminated */
    assert_ptr_equal(timefmt_format(0, buf, 0), buf);
    assert_null(timefmt_format(0, NULL, 5));
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const times[] = {
        "1970-01-01T00:00:00.000Z", "1969-07-20T20:17:40.000Z", "1900-01-01T00:00:00.001Z",
        "2000-02-29T12:34:56.789Z", "2026-11-27T14:03:05.120Z", "2038-01-19T03:14:08.000Z",
        "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1600-03-01T00:00:00.000Z",
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        assert_string_equal(fmt(parse_ok(times[i])), times[i]);
    /* ms -> text -> ms over a wide sweep, including negatives */
    for (int64_t ms = INT64_C(-62167219200000); ms < INT64_C(253402300799999);
         ms += INT64_C(7777777777777)) {
        char buf[TIMEFMT_LEN];
        assert_int_equal(parse_ok(timefmt_format(ms, buf, sizeof buf)), ms);
    }
}

static void test_now(void **state)
{
    (void)state;
    int64_t now = timefmt_now_ms();
    int64_t wall = (int64_t)time(NULL) * 1000;
    assert_true(now >= wall - 2000 && now <= wall + 2000);
}

static void test_parse_date(void **state)
{
    (void)state;
    int y = 0, m = 0, d = 0;
    assert_int_equal(timefmt_parse_date("1961-04-02", &y, &m, &d), 0);
    assert_int_equal(y, 1961);
    assert_int_equal(m, 4);
    assert_int_equal(d, 2);
    assert_int_equal(timefmt_parse_date("2024-02-29", &y, &m, &d), 0);
    assert_int_equal(timefmt_parse_date("2000-02-29", NULL, NULL, NULL), 0);
    assert_int_equal(timefmt_parse_date("0000-01-01", &y, &m, &d), 0);
    assert_int_equal(y, 0);
    y = m = d = -5;
    static const char *const bad[] = {
        "2026-02-29",
        "2100-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-00-01",
        "2026-01-00",
        "2026-1-01",
        "26-01-01",
        "2026-01-01T00:00:00Z",
        "2026-01-01 ",
        " 2026-01-01",
        "2026/01/01",
        "",
        "20260101",
        "+2026-01-01",
        "12026-01-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (timefmt_parse_date(bad[i], &y, &m, &d) == 0)
            fail_msg("accepted an invalid date: \"%s\"", bad[i]);
    }
    assert_int_equal(y, -5); /* nothing stored on failure */
    assert_int_equal(m, -5);
    assert_int_equal(d, -5);
    assert_int_equal(timefmt_parse_date(NULL, &y, &m, &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_days_match_gmtime),
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_fraction),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_calendar_bounds),
        cmocka_unit_test(test_parse_shape),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_parse_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
