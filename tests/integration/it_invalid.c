/* it_invalid: readings a clinician overrules (docs/api.md "Invalid
 * readings"). A loose probe's SpO2 71 % holds the dose; a nurse marks it
 * invalid and the decision, NEWS2, latest value, series and reading pages
 * stop counting it; a physician reinstates it and everything counts it
 * again. Roles, bad input and the audit trail are checked on the way. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC_MS 1000LL
#define MIN_MS 60000LL

typedef struct scene {
    wd_fixture *f;
    const char *bed;
    const char *token; /* the monitor's */
    long long pid;
    int64_t minute; /* start of the minute holding the artefact and a valid SpO2 */
    long long artefact_id;
} scene;

static json_t *dev_item(wd_fixture *f, const char *code, json_t *value, int64_t t)
{
    return wd_item(wd_uniq(f->s, "m"), code, value, NULL, t);
}

/* Normal vitals at t from the monitor (NEWS2 0 on air, alert). */
static void post_vitals(scene *sc, int64_t t, double spo2)
{
    wd_fixture *f = sc->f;
    wd_resp *r = wd_post_readings(
        f->s, sc->token,
        json_pack("[o,o,o,o,o,o,o,o]", dev_item(f, "hr", json_integer(80), t),
                  dev_item(f, "sbp", json_integer(124), t), dev_item(f, "dbp", json_integer(76), t),
                  dev_item(f, "spo2", json_real(spo2), t), dev_item(f, "rr", json_integer(16), t),
                  dev_item(f, "temp", json_real(37.0), t),
                  dev_item(f, "o2_flow", json_integer(0), t),
                  dev_item(f, "consciousness", json_string("A"), t)));
    WD_EXPECT(r, 201);
}

static json_t *toxicity(scene *sc)
{
    wd_resp *r =
        wd_req(sc->f->s, "GET", wd_path(sc->f->s, "/api/v1/patients/%lld/toxicity", sc->pid),
               sc->f->viewer, NULL);
    WD_EXPECT(r, 200);
    return r->json;
}

/* The ward view's bed of the scene (the clinical worker's decision). */
static json_t *ward_bed(scene *sc)
{
    wd_resp *r = wd_req(sc->f->s, "GET", "/api/v1/ward", sc->f->viewer, NULL);
    json_t *bed;

    WD_EXPECT(r, 200);
    bed = wd_find(WD_ARR(r->json, "beds"), "bed", sc->bed);
    assert_non_null(bed);
    return bed;
}

/* Waits (bounded) until the worker's decision for the bed is `action`. */
static void wait_ward_decision(scene *sc, const char *action)
{
    const char *got = "(none)";

    for (int k = 0; k < 200; k++) {
        json_t *d = wd_get(ward_bed(sc), "decision.action");
        got = json_is_string(d) ? json_string_value(d) : "(none)";
        if (strcmp(got, action) == 0)
            return;
        wd_sleep_ms(25);
    }
    fail_msg("ward decision is %s, expected %s after the change", got, action);
}

/* The scene's SpO2 series over the artefact's minute in one bucket. */
static json_t *spo2_bucket(scene *sc)
{
    wd_resp *r =
        wd_req(sc->f->s, "GET",
               wd_path(sc->f->s, "/api/v1/patients/%lld/series?codes=spo2&from=%s&to=%s&buckets=1",
                       sc->pid, wd_escape(sc->f->s, wd_iso(sc->minute)),
                       wd_escape(sc->f->s, wd_iso(sc->minute + MIN_MS - 1))),
               sc->f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "series.spo2")), 1);
    return WD_OBJ(r->json, "series.spo2.0");
}

static json_t *spo2_page(scene *sc, bool with_invalid)
{
    wd_resp *r = wd_req(sc->f->s, "GET",
                        wd_path(sc->f->s, "/api/v1/patients/%lld/readings?code=spo2%s", sc->pid,
                                with_invalid ? "&include_invalid=1" : ""),
                        sc->f->viewer, NULL);
    WD_EXPECT(r, 200);
    return WD_ARR(r->json, "readings");
}

static int setup(void **state)
{
    scene *sc = calloc(1, sizeof *sc);
    int64_t now = wd_now_ms();
    json_t *page, *it;
    size_t i;

    assert_non_null(sc);
    sc->f = wd_fixture_new();
    sc->bed = "B1";
    sc->token = sc->f->device;
    sc->pid = wd_admit(sc->f, sc->bed, now - 30 * MIN_MS,
                       json_pack("{s:{s:f}}", "baseline", "weight_kg", 80.0));
    sc->minute = now / MIN_MS * MIN_MS - 2 * MIN_MS;
    post_vitals(sc, sc->minute + 10 * SEC_MS, 96);
    /* the loose probe, in the same minute: the newest SpO2 */
    WD_EXPECT(wd_post_readings(sc->f->s, sc->token,
                               json_pack("[o]", dev_item(sc->f, "spo2", json_integer(71),
                                                         sc->minute + 20 * SEC_MS))),
              201);
    page = spo2_page(sc, false);
    json_array_foreach(page, i, it) if (WD_NUM(it, "value") == 71) sc->artefact_id =
        WD_INT(it, "id");
    assert_true(sc->artefact_id > 0);
    *state = sc;
    return 0;
}

static int teardown(void **state)
{
    scene *sc = *state;

    wd_fixture_free(sc->f);
    free(sc);
    return 0;
}

static const char *path_of(scene *sc, long long id, const char *verb)
{
    return wd_path(sc->f->s, "/api/v1/readings/%lld/%s", id, verb);
}

/* The whole round trip: hold -> invalid -> give -> reinstated -> hold. */
static void test_artefact_round_trip(void **state)
{
    scene *sc = *state;
    wd_fixture *f = sc->f;
    json_t *tox = toxicity(sc), *b, *item;
    wd_resp *r;

    /* the artefact counts today: hold on SpO2 < 90 %, NEWS2 3 points for SpO2 */
    assert_string_equal(WD_STR(tox, "decision.action"), "hold");
    assert_int_equal(WD_INT(tox, "news2.components.spo2_scale_1.points"), 3);
    wait_ward_decision(sc, "hold");
    b = spo2_bucket(sc);
    assert_int_equal(WD_INT(b, "n"), 2);
    WD_NEAR(WD_NUM(b, "min"), 71, 1e-9);
    WD_NEAR(WD_NUM(ward_bed(sc), "latest.spo2.value"), 71, 1e-9);

    r = wd_reqj(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                json_pack("{s:s}", "reason", "entered-in-error: probe loose"));
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "id"), sc->artefact_id);
    assert_int_equal(WD_INT(r->json, "patient_id"), sc->pid);
    assert_string_equal(WD_STR(r->json, "invalid.by"), WD_NURSE);
    assert_string_equal(WD_STR(r->json, "invalid.reason"), "entered-in-error: probe loose");
    assert_true(WD_TIME(r->json, "invalid.at") > 0);

    /* excluded everywhere: decision, NEWS2, series, latest, default pages */
    tox = toxicity(sc);
    assert_string_equal(WD_STR(tox, "decision.action"), "give");
    assert_int_equal(WD_INT(tox, "news2.components.spo2_scale_1.points"), 0);
    wait_ward_decision(sc, "give");
    b = spo2_bucket(sc);
    assert_int_equal(WD_INT(b, "n"), 1);
    WD_NEAR(WD_NUM(b, "min"), 96, 1e-9);
    WD_NEAR(WD_NUM(b, "max"), 96, 1e-9);
    WD_NEAR(WD_NUM(ward_bed(sc), "latest.spo2.value"), 96, 1e-9);
    assert_null(wd_find_int(spo2_page(sc, false), "id", sc->artefact_id));
    /* listed, struck through, when asked */
    item = wd_find_int(spo2_page(sc, true), "id", sc->artefact_id);
    assert_non_null(item);
    assert_string_equal(WD_STR(item, "invalid.by"), WD_NURSE);
    assert_string_equal(WD_STR(item, "invalid.reason"), "entered-in-error: probe loose");
    WD_NEAR(WD_NUM(item, "value"), 71, 1e-9);

    /* a physician reinstates: it counts again */
    r = wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->physician, NULL);
    WD_EXPECT(r, 200);
    assert_true(json_is_null(wd_get(r->json, "invalid")));
    tox = toxicity(sc);
    assert_string_equal(WD_STR(tox, "decision.action"), "hold");
    wait_ward_decision(sc, "hold");
    b = spo2_bucket(sc);
    assert_int_equal(WD_INT(b, "n"), 2);
    WD_NEAR(WD_NUM(b, "min"), 71, 1e-9);
    WD_NEAR(WD_NUM(ward_bed(sc), "latest.spo2.value"), 71, 1e-9);
    item = wd_find_int(spo2_page(sc, false), "id", sc->artefact_id);
    assert_non_null(item);
    assert_null(wd_get(item, "invalid"));
}

/* Only a nurse (or above) marks, only a physician (or above) reinstates. */
static void test_roles(void **state)
{
    scene *sc = *state;
    wd_fixture *f = sc->f;
    const char *body = "{\"reason\":\"entered-in-error\"}";

    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->viewer, body),
                  403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->device, body),
                  403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), NULL, body), 401,
                  "unauthenticated");
    assert_string_equal(WD_STR(toxicity(sc), "decision.action"), "hold");
    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse, body),
              200);
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->nurse, NULL),
                  403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->viewer, NULL),
                  403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->device, NULL),
                  403, "forbidden");
    assert_string_equal(WD_STR(toxicity(sc), "decision.action"), "give");
    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->admin, NULL), 200);
    assert_string_equal(WD_STR(toxicity(sc), "decision.action"), "hold");
}

/* Bad input: a clear error and nothing changed. */
static void test_bad_input(void **state)
{
    scene *sc = *state;
    wd_fixture *f = sc->f;
    wd_resp *r;

    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse, "{}"),
                  422, "validation_failed");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                         "{\"reason\":\"\"}"),
                  422, "validation_failed");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                         "{\"reason\":7}"),
                  422, "validation_failed");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse, "{"),
                  400, "malformed_json");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, 987654321, "invalidate"), f->nurse,
                         "{\"reason\":\"entered-in-error\"}"),
                  404, "not_found");
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/readings/abc/invalidate", f->nurse,
                         "{\"reason\":\"entered-in-error\"}"),
                  404, "not_found");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path_of(sc, 987654321, "reinstate"), f->physician, NULL),
                  404, "not_found");
    /* reinstating a valid reading */
    WD_EXPECT_ERR(
        wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->physician, NULL), 409,
        "conflict");
    assert_string_equal(WD_STR(toxicity(sc), "decision.action"), "hold");
    assert_null(wd_get(wd_find_int(spo2_page(sc, true), "id", sc->artefact_id), "invalid"));
    /* already invalid: the first marking stands */
    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                     "{\"reason\":\"probe loose\"}"),
              200);
    r = wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->physician,
               "{\"reason\":\"second opinion\"}");
    WD_EXPECT_ERR(r, 409, "conflict");
    assert_string_equal(
        WD_STR(wd_find_int(spo2_page(sc, true), "id", sc->artefact_id), "invalid.reason"),
        "probe loose");
    /* a bad query on the listing */
    WD_EXPECT_ERR(
        wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/readings?include_invalid=yes", sc->pid),
               f->viewer, NULL),
        400, "bad_query");
}

/* Both steps are in the audit log with who, before and after. */
static void test_audit(void **state)
{
    scene *sc = *state;
    wd_fixture *f = sc->f;
    char idbuf[32];
    bool marked = false, reinstated = false;
    json_t *e;
    size_t i;
    wd_resp *r;

    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                     "{\"reason\":\"drawn from the drip arm\"}"),
              200);
    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "reinstate"), f->physician, NULL),
              200);
    snprintf(idbuf, sizeof idbuf, "%lld", sc->artefact_id);
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        const char *action = WD_STR(e, "action");
        if (strcmp(WD_STR(e, "entity_id"), idbuf) != 0)
            continue;
        if (strcmp(action, "reading.invalidated") == 0) {
            marked = true;
            assert_string_equal(WD_STR(e, "user"), WD_NURSE);
            assert_true(json_is_null(wd_get(e, "before.invalid")));
            assert_string_equal(WD_STR(e, "after.invalid.reason"), "drawn from the drip arm");
        } else if (strcmp(action, "reading.reinstated") == 0) {
            reinstated = true;
            assert_string_equal(WD_STR(e, "user"), WD_PHYSICIAN);
            assert_string_equal(WD_STR(e, "before.invalid.by"), WD_NURSE);
            assert_true(json_is_null(wd_get(e, "after.invalid")));
        }
    }
    assert_true(marked);
    assert_true(reinstated);
}

/* The marking survives a restart (it is a column of the stored reading,
 * and the worker builds its caches from the store). */
static void test_restart(void **state)
{
    scene *sc = *state;
    wd_fixture *f = sc->f;

    WD_EXPECT(wd_req(f->s, "POST", path_of(sc, sc->artefact_id, "invalidate"), f->nurse,
                     "{\"reason\":\"entered-in-error\"}"),
              200);
    wd_restart(f->s);
    wd_fixture_login(f);
    assert_string_equal(WD_STR(toxicity(sc), "decision.action"), "give");
    wait_ward_decision(sc, "give");
    assert_int_equal(WD_INT(spo2_bucket(sc), "n"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_artefact_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
    };

    return cmocka_run_group_tests_name("invalid readings", tests, NULL, NULL);
}
