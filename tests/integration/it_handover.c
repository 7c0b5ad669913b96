/* it_handover: GET /api/v1/handover?hours=8|12[&patient=ID] (docs/api.md
 * "Handover"): per admitted patient the decision now with its reasons and
 * the decision at the window's start (the same as the toxicity view's for
 * that time), the grades that changed, the doses given and held in the
 * window (and not those before it), the alerts and how they ended, and the
 * vitals' trend; roles and bad queries. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)

static wd_fixture *fx(void **state)
{
    return *state;
}

static json_t *item(const char *code, json_t *value, int64_t t)
{
    return wd_item(NULL, code, value, NULL, t);
}

static void observe(wd_fixture *f, long long pid, json_t *items)
{
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid),
                      f->nurse, json_pack("{s:o}", "readings", items)),
              201);
}

static json_t *vitals(int64_t t, double hr, double spo2, double temp)
{
    return json_pack("[o,o,o,o,o,o,o,o]", item("hr", json_real(hr), t),
                     item("sbp", json_integer(124), t), item("dbp", json_integer(76), t),
                     item("spo2", json_real(spo2), t), item("rr", json_integer(16), t),
                     item("temp", json_real(temp), t), item("o2_flow", json_integer(0), t),
                     item("consciousness", json_string("A"), t));
}

static void dose(wd_fixture *f, long long pid, int64_t t, const char *status, const char *reason,
                 const char *override)
{
    json_t *body = json_pack("{s:s, s:s}", "time", wd_iso(t), "status", status);

    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    if (override)
        json_object_set_new(body, "override_reason", json_string(override));
    /* The doses are charted hours back: at entry (now) there are no fresh
     * vitals, so a given dose is an override then too, and more than an
     * hour back needs a physician and a reason (docs/security.md). */
    if (!override && strcmp(status, "given") == 0)
        json_object_set_new(body, "override_reason", json_string("charted late (handover test)"));
    json_object_set_new(body, "backentry_reason", json_string("charted late (handover test)"));
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/doses", pid), f->physician,
                      body),
              201);
}

static json_t *handover(wd_fixture *f, const char *query)
{
    wd_resp *r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/handover%s", query), f->viewer, NULL);

    WD_EXPECT(r, 200);
    return r->json;
}

static json_t *patient_in(const json_t *h, long long pid)
{
    size_t i;
    json_t *p;

    json_array_foreach(WD_ARR(h, "patients"), i, p)
    {
        if (WD_INT(p, "patient.id") == pid)
            return p;
    }
    return NULL;
}

/* The first open alert of a patient, waited for (the clinical worker
 * raises it after the readings' commit). */
static json_t *wait_alert(wd_fixture *f, long long pid)
{
    for (int i = 0; i < 100; i++) {
        wd_resp *r =
            wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=active&patient=%lld", pid),
                   f->viewer, NULL);
        WD_EXPECT(r, 200);
        if (json_array_size(WD_LIST(r, "alerts")) > 0)
            return json_array_get(WD_LIST(r, "alerts"), 0);
        wd_sleep_ms(100);
    }
    fail_msg("no alert was raised for patient %lld", pid);
    return NULL;
}

static void test_handover_window(void **state)
{
    wd_fixture *f = fx(state);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 11 * HOUR, NULL);
    long long quiet = wd_admit(f, wd_new_bed(f), now - 1 * HOUR, NULL);
    long long gone = wd_admit(f, wd_new_bed(f), now - 2 * HOUR, NULL);
    json_t *h, *p, *a, *tox, *hr = NULL, *v;
    long long alert_id;
    size_t i;
    wd_resp *r;

    /* before the 8 h window (inside 12 h): a dose given */
    observe(f, pid, vitals(now - 10 * HOUR, 80, 97, 37.0));
    dose(f, pid, now - 10 * HOUR + MIN, "given", NULL, NULL);
    /* in the window: hr 90 then 120, SpO2 88 and fever 39.5 -> hold; a held dose */
    observe(f, pid, vitals(now - 2 * HOUR, 90, 97, 37.0));
    observe(f, pid, vitals(now - 20 * MIN, 120, 88, 39.5));
    dose(f, pid, now - 10 * MIN, "held", "SpO2 88 on air", NULL);
    alert_id = WD_INT(wait_alert(f, pid), "id");
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/alerts/%lld/ack", alert_id), f->nurse,
                      json_pack("{s:s}", "note", "doctor informed")),
              200);
    WD_EXPECT(wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", gone), f->nurse,
                     NULL),
              200);

    h = handover(f, "?hours=8");
    assert_int_equal(WD_INT(h, "hours"), 8);
    WD_NEAR((double)(WD_TIME(h, "to") - WD_TIME(h, "from")), 8.0 * HOUR, 1.0);
    assert_null(patient_in(h, gone)); /* admitted patients only */
    assert_non_null(patient_in(h, quiet));
    p = patient_in(h, pid);
    assert_non_null(p);
    /* the decision now, with the reason the toxicity view gives */
    assert_string_equal(WD_STR(p, "decision.action"), "hold");
    json_array_foreach(WD_ARR(p, "decision.reasons"), i, v)
    {
        if (strstr(WD_STR(v, "text"), "SpO2"))
            hr = v;
    }
    if (!hr)
        fail_msg("the hold's reasons do not name SpO2");
    hr = NULL;
    /* the decision at the window's start is the toxicity view's for that time */
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=%s", pid, WD_STR(h, "from")),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    tox = r->json;
    assert_string_equal(WD_STR(p, "decision_at_start"), WD_STR(tox, "decision.action"));
    /* fever changed grade within the window */
    v = wd_find(WD_ARR(p, "grades"), "term", "fever");
    assert_non_null(v);
    assert_int_equal(WD_INT(v, "to"), 2);
    /* doses: only the held one is in 8 h */
    assert_int_equal(json_array_size(WD_ARR(p, "doses")), 1);
    assert_string_equal(WD_STR(p, "doses.0.status"), "held");
    assert_string_equal(WD_STR(p, "doses.0.reason"), "SpO2 88 on air");
    /* the alert and how it was handled */
    a = wd_find_int(WD_ARR(p, "alerts"), "id", alert_id);
    assert_non_null(a);
    assert_string_equal(WD_STR(a, "state"), "acknowledged");
    assert_string_equal(WD_STR(a, "acked_by"), WD_NURSE);
    assert_string_equal(WD_STR(a, "ack_note"), "doctor informed");
    /* vitals: hr 90 -> 120 within the window (the 80 before it not counted) */
    json_array_foreach(WD_ARR(p, "vitals"), i, v)
    {
        if (strcmp(WD_STR(v, "code"), "hr") == 0)
            hr = v;
    }
    assert_non_null(hr);
    assert_int_equal(WD_INT(hr, "n"), 2);
    WD_NEAR(WD_NUM(hr, "first"), 90, 1e-9);
    WD_NEAR(WD_NUM(hr, "last"), 120, 1e-9);
    WD_NEAR(WD_NUM(hr, "min"), 90, 1e-9);
    /* 12 h holds the earlier dose too; one patient alone */
    p = patient_in(handover(f, wd_path(f->s, "?hours=12&patient=%lld", pid)), pid);
    assert_non_null(p);
    assert_int_equal(json_array_size(WD_ARR(p, "doses")), 2);
    assert_int_equal(
        json_array_size(WD_ARR(handover(f, wd_path(f->s, "?patient=%lld", pid)), "patients")), 1);
    /* a patient with nothing recorded is still listed, saying so */
    p = patient_in(h, quiet);
    assert_string_equal(WD_STR(p, "decision.action"), "insufficient_data");
    assert_int_equal(json_array_size(WD_ARR(p, "doses")), 0);
}

static void test_handover_refused(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r;

    r = wd_req(f->s, "GET", "/api/v1/handover?hours=10", f->viewer, NULL);
    WD_EXPECT_ERR(r, 400, "bad_query");
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "8 or 12"));
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/handover?hours=eight", f->viewer, NULL), 400,
                  "bad_query");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/handover?patient=x", f->viewer, NULL), 400,
                  "bad_query");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/handover?patient=999999", f->viewer, NULL), 404,
                  "not_found");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/handover", NULL, NULL), 401, "unauthenticated");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/handover", f->device, NULL), 403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/handover", f->admin, "{}"), 405,
                  "method_not_allowed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handover_window),
        cmocka_unit_test(test_handover_refused),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
