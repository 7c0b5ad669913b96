/* it_courses: a person's courses over HTTP: discharge with a time (and its
 * checks), courses numbered across admissions of an MRN, response
 * evaluations (roles, validation, audit, listing), and the course gate as
 * the toxicity view and the clinical worker's decision show it. */
#include "harness.h"

#include <curl/curl.h>
#include <string.h>

static wd_resp *discharge(wd_fixture *f, long long pid, const char *time)
{
    return wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse,
                   time ? json_pack("{s:s}", "time", time) : json_object());
}

static wd_resp *respond(wd_fixture *f, const char *token, long long pid, json_t *body)
{
    return wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/responses", pid), token,
                   body);
}

/* A dose recorded as given by a physician (an override without vitals). */
static void give(wd_fixture *f, long long pid, const char *time)
{
    wd_resp *r = wd_reqj(
        f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", pid), f->physician,
        json_pack("{s:s, s:s, s:s, s:s}", "time", time, "status", "given", "override_reason",
                  "course test", "backentry_reason", "course test: a dose months back"));
    WD_EXPECT(r, 201);
}

static void test_discharge_time(void **state)
{
    wd_fixture *f = *state;
    long long pid = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-01-05T06:00:00.000Z"), NULL);
    wd_resp *r;

    r = discharge(f, pid, "2026-01-04T06:00:00Z"); /* before the stay */
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "time");
    r = discharge(f, pid, "2099-01-01T00:00:00Z");
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse,
                json_pack("{s:s}", "colour", "red"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = discharge(f, pid, "2026-01-24T12:00:00Z");
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "discharged_at"), "2026-01-24T12:00:00.000Z");
    /* without a body: now, as before */
    pid = wd_admit(f, wd_new_bed(f), 0, NULL);
    r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse, NULL);
    WD_EXPECT(r, 200);
    assert_true(wd_now_ms() - WD_TIME(r->json, "discharged_at") < 60000);
}

static void test_courses_and_responses(void **state)
{
    wd_fixture *f = *state;
    const char *mrn = wd_uniq(f->s, "MRN-");
    long long c1 = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-01-05T06:00:00.000Z"),
                            json_pack("{s:s}", "mrn", mrn));
    long long c2;
    wd_resp *r;
    json_t *tox, *e;
    size_t i;
    bool audited = false;

    give(f, c1, "2026-01-05T08:00:00Z");
    WD_EXPECT(discharge(f, c1, "2026-01-24T12:00:00Z"), 200);
    c2 = wd_admit(f, wd_new_bed(f), 0, json_pack("{s:s}", "mrn", mrn));
    /* course 2: no response yet -> not scheduled, the decision holds */
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", c2), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "schedule.course"), 2);
    assert_string_equal(WD_STR(r->json, "schedule.status"), "not_scheduled");
    assert_non_null(strstr(WD_STR(r->json, "schedule.reason"), "no response evaluation"));
    assert_non_null(wd_find(WD_ARR(r->json, "decision.reasons"), "rule", "COURSE-RESPONSE"));
    assert_string_equal(WD_STR(r->json, "decision.action"), "hold");

    /* only a physician records a response; the body is checked */
    r = respond(f, f->nurse, c1,
                json_pack("{s:i, s:s, s:s}", "course", 1, "category", "PR", "date", "2026-03-05"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    r = respond(f, f->physician, c1,
                json_pack("{s:i, s:s, s:s}", "course", 1, "category", "XX", "date", "2026-03-05"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "category");
    r = respond(f, f->physician, c1,
                json_pack("{s:i, s:s, s:s}", "course", 3, "category", "PR", "date", "2026-03-05"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "course");
    r = respond(f, f->physician, c1,
                json_pack("{s:i, s:s, s:s}", "course", 1, "category", "PR", "date", "2099-03-05"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = respond(f, f->physician, 999999,
                json_pack("{s:i, s:s, s:s}", "course", 1, "category", "PR", "date", "2026-03-05"));
    WD_EXPECT_ERR(r, 404, "not_found");
    r = respond(f, f->physician, c2,
                json_pack("{s:i, s:s, s:s, s:s}", "course", 1, "category", "PR", "date",
                          "2026-03-05", "note", "CT: target lesions -38 %"));
    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "category"), "PR");
    assert_string_equal(WD_STR(r->json, "recorded_by"), WD_PHYSICIAN);

    /* listed from either admission, with the person's courses */
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/responses", c1), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "responses")), 1);
    assert_string_equal(WD_STR(r->json, "responses.0.note"), "CT: target lesions -38 %");
    assert_int_equal(json_array_size(WD_ARR(r->json, "courses")), 2);
    assert_int_equal(WD_INT(r->json, "courses.1.patient_id"), c2);
    assert_true(json_is_null(wd_get(r->json, "courses.1.discharged_at")));
    r = wd_req(f->s, "GET", "/api/v1/patients/999999/responses", f->viewer, NULL);
    WD_EXPECT_ERR(r, 404, "not_found");

    /* more than 7 weeks after the discharge, with PR: the gate opens */
    tox = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", c2), f->viewer, NULL)
              ->json;
    assert_int_equal(WD_INT(tox, "schedule.course"), 2);
    assert_string_not_equal(WD_STR(tox, "schedule.status"), "not_scheduled");
    assert_null(wd_find(WD_ARR(tox, "decision.reasons"), "rule", "COURSE-RESPONSE"));
    /* ... but not 42 days after it */
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=2026-03-07T08:00:00Z", c2),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "schedule.status"), "not_scheduled");
    assert_non_null(wd_find(WD_ARR(r->json, "decision.reasons"), "rule", "COURSE-INTERVAL"));
    /* as of a day before the evaluation's date, there was no response yet */
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=2026-03-04T08:00:00Z", c2),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(wd_find(WD_ARR(r->json, "decision.reasons"), "rule", "COURSE-RESPONSE"));

    /* a later PD correction closes it for good */
    r = respond(f, f->physician, c2,
                json_pack("{s:i, s:s, s:s}", "course", 1, "category", "PD", "date", "2026-03-06"));
    WD_EXPECT(r, 201);
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", c2), f->viewer, NULL);
    assert_string_equal(WD_STR(r->json, "decision.action"), "discontinue");
    assert_non_null(wd_find(WD_ARR(r->json, "decision.reasons"), "rule", "COURSE-PD"));

    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), "response.record") == 0 &&
            strcmp(json_string_value(json_object_get(json_object_get(e, "after"), "category")),
                   "PR") == 0) {
            audited = true;
            assert_string_equal(WD_STR(e, "user"), WD_PHYSICIAN);
        }
    }
    assert_true(audited);
}

/* An admission without a dose given is not a course of its own, and a
 * readmission for cycle 2 (day 15) continues course 1: its schedule counts
 * the doses of cycle 1 from the first admission. */
static void test_readmission_within_a_course(void **state)
{
    wd_fixture *f = *state;
    const char *mrn = wd_uniq(f->s, "MRN-");
    long long a0 = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-02-20T06:00:00.000Z"),
                            json_pack("{s:s}", "mrn", mrn));
    long long a1, a2;
    char t[32];
    wd_resp *r;

    /* admitted, not treated (an infection), sent home */
    WD_EXPECT(discharge(f, a0, "2026-02-21T10:00:00Z"), 200);
    a1 = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-03-02T06:00:00.000Z"),
                  json_pack("{s:s}", "mrn", mrn));
    for (int d = 2; d <= 5; d++) /* 4 doses of cycle 1, days 1-4 */
        snprintf(t, sizeof t, "2026-03-%02dT08:00:00Z", d), give(f, a1, t);
    WD_EXPECT(discharge(f, a1, "2026-03-07T10:00:00Z"), 200);
    a2 = wd_admit(f, wd_new_bed(f), wd_parse_time("2026-03-15T20:00:00.000Z"),
                  json_pack("{s:s}", "mrn", mrn));
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=2026-03-16T07:00:00Z", a2),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "schedule.course"), 1);
    assert_int_equal(WD_INT(r->json, "schedule.cycle"), 2);
    assert_int_equal(WD_INT(r->json, "schedule.day"), 15);
    assert_int_equal(WD_INT(r->json, "schedule.dose_in_course"), 5);
    assert_string_equal(WD_STR(r->json, "schedule.next_dose_at"), "2026-03-16T08:00:00.000Z");
    assert_null(wd_find(WD_ARR(r->json, "decision.reasons"), "rule", "COURSE-RESPONSE"));
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/responses", a2), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "courses.0.course"), 1);
    assert_int_equal(WD_INT(r->json, "courses.1.course"), 1);
    assert_int_equal(WD_INT(r->json, "courses.2.course"), 1);
    /* only course 1 exists: a response for course 2 is refused */
    r = respond(f, f->physician, a2,
                json_pack("{s:i, s:s, s:s}", "course", 2, "category", "PR", "date", "2026-03-16"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discharge_time, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_courses_and_responses, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_readmission_within_a_course, wd_fixture_setup,
                                        wd_fixture_teardown),
    };

    curl_global_init(CURL_GLOBAL_ALL);
    return cmocka_run_group_tests_name("courses", tests, NULL, NULL);
}
