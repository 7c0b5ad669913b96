/* it_wardtime: the ward's time zone end to end: `serve --time-zone` as the
 * default when the rule set names none, schedule.time_zone in a rule set,
 * dose slots across the spring-forward of America/New_York, the zone in
 * GET /api/v1/ward, and the refusal of a fixed utc_offset_minutes by PUT
 * /api/v1/rules and `wardd rules check`, and of an unknown zone by serve. */
#include "harness.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static json_t *default_rules(void)
{
    const char *r = getenv("WARDD_ROOT");
    char p[600];
    json_error_t err;
    json_t *j;

    snprintf(p, sizeof p, "%s/schema/rules/il2-default.json", r && *r ? r : ".");
    j = json_load_file(p, 0, &err);
    if (j == NULL)
        fail_msg("%s: %s", p, err.text);
    return j;
}

static int ny_setup(void **state)
{
    setenv("WD_TIME_ZONE", "America/New_York", 1);
    *state = wd_fixture_new();
    unsetenv("WD_TIME_ZONE");
    return *state ? 0 : -1;
}

static void dose(wd_fixture *f, long long pid, const char *time)
{
    /* no vitals: the decision is insufficient_data, so given is an override */
    wd_resp *r = wd_reqj(
        f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", pid), f->physician,
        json_pack("{s:s, s:s, s:s, s:s}", "time", time, "status", "given", "override_reason",
                  "schedule test", "backentry_reason", "schedule test: a dose months back"));
    WD_EXPECT(r, 201);
}

static json_t *schedule_at(wd_fixture *f, long long pid, const char *at)
{
    wd_resp *r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=%s", pid, at),
                        f->viewer, NULL);
    WD_EXPECT(r, 200);
    return WD_OBJ(r->json, "schedule");
}

static void test_default_zone_and_dst(void **state)
{
    wd_fixture *f = *state;
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    long long pid;
    json_t *s, *doc;

    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "time_zone.name"), "America/New_York");
    pid = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-03-07T12:00:00.000Z"), NULL);
    dose(f, pid, "2026-03-07T13:00:00Z"); /* 08:00 EST */
    dose(f, pid, "2026-03-07T21:00:00Z"); /* 16:00 EST */
    dose(f, pid, "2026-03-08T05:00:00Z"); /* 00:00 EST, the night clocks go forward */
    s = schedule_at(f, pid, "2026-03-08T06:00:00Z");
    assert_string_equal(WD_STR(s, "time_zone"), "America/New_York");
    assert_string_equal(WD_STR(s, "next_dose_at"), "2026-03-08T12:00:00.000Z"); /* 08:00 EDT */
    assert_int_equal(WD_INT(s, "day"), 2);
    s = schedule_at(f, pid, "2026-03-08T04:30:00Z"); /* 23:30 EST, still 7 March */
    assert_int_equal(WD_INT(s, "day"), 1);

    /* a fixed offset is refused, nothing changes */
    doc = default_rules();
    json_object_set_new(json_object_get(doc, "schedule"), "utc_offset_minutes", json_integer(-300));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_non_null(strstr(WD_STR(r->json, "error.details.0.message"), "utc_offset_minutes"));
    assert_non_null(strstr(WD_STR(r->json, "error.details.0.message"), "daylight saving"));
    doc = default_rules();
    json_object_set_new(json_object_get(doc, "schedule"), "time_zone", json_string("Mars/Base"));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_non_null(strstr(WD_STR(r->json, "error.details.0.message"), "unknown time zone"));

    /* a rule set naming its zone wins over the server's default */
    doc = default_rules();
    json_object_set_new(json_object_get(doc, "schedule"), "time_zone",
                        json_string("Europe/Amsterdam"));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT(r, 200);
    r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "time_zone.name"), "Europe/Amsterdam");
    s = schedule_at(f, pid, "2026-03-08T06:00:00Z");
    assert_string_equal(WD_STR(s, "time_zone"), "Europe/Amsterdam");
    /* the dose at 06:00 CET took the 08:00 slot (within half an interval):
     * next is 16:00 CET */
    assert_string_equal(WD_STR(s, "next_dose_at"), "2026-03-08T15:00:00.000Z");
}

static void test_cli_refusals(void **state)
{
    wd_fixture *f = *state;
    json_t *doc = default_rules();
    char path[600], args[1400], *out = NULL;
    int rc;

    snprintf(args, sizeof args,
             "serve --db '%s/other.db' --listen 127.0.0.1:0 --time-zone Mars/Base", wd_dir(f->s));
    rc = wd_wardd_run(&out, "%s", args);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "--time-zone"));
    assert_non_null(strstr(out, "unknown time zone"));
    json_object_set_new(json_object_get(doc, "schedule"), "utc_offset_minutes", json_integer(60));
    snprintf(path, sizeof path, "%s/offset-rules.json", wd_dir(f->s));
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    free(out);
    snprintf(args, sizeof args, "rules check '%s'", path);
    rc = wd_wardd_run(&out, "%s", args);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "offset-rules.json: schedule: field 'utc_offset_minutes': no "
                                "longer supported"));
    free(out);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_zone_and_dst, ny_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_refusals, wd_fixture_setup, wd_fixture_teardown),
    };

    curl_global_init(CURL_GLOBAL_ALL);
    return cmocka_run_group_tests_name("ward time", tests, NULL, NULL);
}
