/* it_patients: admission, reading back, the list by status, PATCH with
 * its role rules, discharge and transfer (docs/api.md "Beds, patients,
 * devices"; roles from "Authentication and roles": nurses admit and edit,
 * physicians edit baselines). Every test uses beds of its own. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

static json_t *full_patient(wd_fixture *f, const char *bed, int64_t admitted_at)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i,"
                     " s:{s:f, s:f, s:f, s:i, s:i, s:i, s:i}, s:{s:f}}",
                     "mrn", wd_uniq(f->s, "MRN-"), "name", "Ada Lovelace", "birth_date",
                     "1961-04-02", "sex", "female", "diagnosis", "melanoma", "bed", bed,
                     "admitted_at", wd_iso(admitted_at), "news2_scale", 1, "baseline", "weight_kg",
                     81.5, "creatinine_mg_dl", 0.9, "bilirubin_mg_dl", 0.6, "ast_u_l", 25,
                     "alt_u_l", 30, "sbp_mm_hg", 124, "stools_per_day", 1, "reference_ranges",
                     "creatinine_uln", 1.2);
}

static wd_resp *admit(wd_fixture *f, const char *token, json_t *body)
{
    return wd_reqj(f->s, "POST", "/api/v1/patients", token, body);
}

static wd_resp *get_patient(wd_fixture *f, long long id)
{
    return wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld", id), f->viewer, NULL);
}

static json_t *minimal(wd_fixture *f, const char *bed)
{
    return json_pack("{s:s, s:s, s:s}", "mrn", wd_uniq(f->s, "MRN-"), "name",
                     wd_uniq(f->s, "Patient "), "bed", bed);
}

/* The patient object as docs/api.md shapes it. */
static void check_full(const json_t *p, const char *bed, int64_t admitted_at)
{
    assert_true(WD_INT(p, "id") > 0);
    assert_string_equal(WD_STR(p, "name"), "Ada Lovelace");
    assert_string_equal(WD_STR(p, "birth_date"), "1961-04-02");
    assert_string_equal(WD_STR(p, "sex"), "female");
    assert_string_equal(WD_STR(p, "diagnosis"), "melanoma");
    assert_string_equal(WD_STR(p, "bed"), bed);
    assert_int_equal(WD_TIME(p, "admitted_at"), admitted_at);
    assert_int_equal(WD_INT(p, "news2_scale"), 1);
    WD_NEAR(WD_NUM(p, "baseline.weight_kg"), 81.5, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.creatinine_mg_dl"), 0.9, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.bilirubin_mg_dl"), 0.6, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.ast_u_l"), 25, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.alt_u_l"), 30, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.sbp_mm_hg"), 124, 1e-9);
    WD_NEAR(WD_NUM(p, "baseline.stools_per_day"), 1, 1e-9);
    WD_NEAR(WD_NUM(p, "reference_ranges.creatinine_uln"), 1.2, 1e-9);
}

/* --- admission ------------------------------------------------------------------- */

static void test_admit_full(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    int64_t at = wd_now_ms() / 1000 * 1000 - 3600000 + 123;
    wd_resp *r = admit(f, f->nurse, full_patient(f, bed, at));
    long long id;

    WD_EXPECT(r, 201);
    check_full(r->json, bed, at);
    id = WD_INT(r->json, "id");
    r = get_patient(f, id);
    WD_EXPECT(r, 200);
    check_full(r->json, bed, at);
    assert_int_equal(WD_INT(r->json, "id"), id);
    assert_string_equal(WD_STR(r->json, "status"), "admitted");
}

/* Only name, mrn and bed are required; admitted_at defaults to now. */
static void test_admit_minimal(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    int64_t before = wd_now_ms();
    wd_resp *r = admit(f, f->nurse, minimal(f, bed));
    int64_t at;

    WD_EXPECT(r, 201);
    assert_true(WD_INT(r->json, "id") > 0);
    assert_string_equal(WD_STR(r->json, "bed"), bed);
    at = WD_TIME(r->json, "admitted_at");
    if (at < before - 5000 || at > wd_now_ms() + 5000)
        fail_msg("admitted_at defaults to %s, not now", WD_STR(r->json, "admitted_at"));
    /* Higher roles may admit too. */
    WD_EXPECT(admit(f, f->physician, minimal(f, wd_new_bed(f))), 201);
    WD_EXPECT(admit(f, f->admin, minimal(f, wd_new_bed(f))), 201);
}

static void test_admit_occupied_bed(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);

    WD_EXPECT(admit(f, f->nurse, minimal(f, bed)), 201);
    WD_EXPECT_ERR(admit(f, f->nurse, minimal(f, bed)), 409, "bed_occupied");
}

static void test_admit_invalid(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    json_t *p;

    /* Unknown bed. */
    WD_EXPECT_ERR(admit(f, f->nurse, minimal(f, "NO-SUCH-BED")), 422, "validation_failed");
    /* Each required field missing. */
    WD_EXPECT_ERR(admit(f, f->nurse, json_pack("{s:s, s:s}", "mrn", "M1", "bed", bed)), 422,
                  "validation_failed");
    WD_EXPECT_ERR(admit(f, f->nurse, json_pack("{s:s, s:s}", "name", "N", "bed", bed)), 422,
                  "validation_failed");
    WD_EXPECT_ERR(admit(f, f->nurse, json_pack("{s:s, s:s}", "name", "N", "mrn", "M1")), 422,
                  "validation_failed");
    /* Unknown baseline key. */
    p = minimal(f, bed);
    json_object_set_new(p, "baseline", json_pack("{s:i}", "height_cm", 180));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    /* Baseline of the wrong type. */
    p = minimal(f, bed);
    json_object_set_new(p, "baseline", json_pack("{s:s}", "weight_kg", "heavy"));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    /* Diagnosis outside melanoma | rcc | other. */
    p = minimal(f, bed);
    json_object_set_new(p, "diagnosis", json_string("flu"));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    /* Dates and times. */
    p = minimal(f, bed);
    json_object_set_new(p, "birth_date", json_string("1961-13-02"));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    p = minimal(f, bed);
    json_object_set_new(p, "admitted_at", json_string("yesterday"));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    p = minimal(f, bed);
    json_object_set_new(p, "admitted_at", json_string("2026-11-27T14:03:05")); /* no zone */
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    /* NEWS2 SpO2 scale is 1 or 2. */
    p = minimal(f, bed);
    json_object_set_new(p, "news2_scale", json_integer(3));
    WD_EXPECT_ERR(admit(f, f->nurse, p), 422, "validation_failed");
    /* Nothing was admitted to the bed by any of these. */
    WD_EXPECT(admit(f, f->nurse, minimal(f, bed)), 201);
}

static void test_get_unknown_patient(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT_ERR(get_patient(f, 999999), 404, "not_found");
}

/* Every route under /patients/{id} that these handlers serve answers an
 * unknown patient, or an {id} that is not one, with the same 404 and the
 * same words (issue 13: there were two wordings across 13 sites). The
 * readings routes (/observations, /readings, /series) join this table when
 * api_readings.c uses reply_no_patient too. */
static void test_unknown_patient_one_wording(void **state)
{
    wd_fixture *f = fx(state);
    const char *ids[] = {"999999", "abc"};

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *id = ids[i];
        char want[64];
        struct {
            const char *method, *tail, *token;
            json_t *body;
        } calls[] = {
            {"GET", "", f->viewer, NULL},
            {"PATCH", "", f->nurse, json_pack("{s:s}", "name", "X")},
            {"POST", "/discharge", f->nurse, NULL},
            {"POST", "/transfer", f->nurse, json_pack("{s:s}", "bed", "NO-SUCH-BED")},
            {"GET", "/doses", f->viewer, NULL},
            {"POST", "/doses", f->physician,
             json_pack("{s:s, s:s}", "time", wd_iso(wd_now_ms()), "status", "held")},
            {"GET", "/toxicity", f->viewer, NULL},
            {"GET", "/readings", f->viewer, NULL},
            {"GET", "/series", f->viewer, NULL},
            {"POST", "/observations", f->nurse,
             json_pack("{s:[{s:s, s:i, s:s}]}", "readings", "code", "hr", "value", 80, "time",
                       wd_iso(wd_now_ms()))},
        };

        snprintf(want, sizeof want, "No patient %s.", id);
        for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
            wd_resp *r = wd_reqj(f->s, calls[k].method,
                                 wd_path(f->s, "/api/v1/patients/%s%s", id, calls[k].tail),
                                 calls[k].token, calls[k].body);
            WD_EXPECT_ERR(r, 404, "not_found");
            if (strcmp(WD_STR(r->json, "error.message"), want) != 0)
                fail_msg("%s /api/v1/patients/%s%s: message \"%s\", want \"%s\"", calls[k].method,
                         id, calls[k].tail, WD_STR(r->json, "error.message"), want);
        }
    }
}

/* --- the list ----------------------------------------------------------------------- */

static void test_list_by_status(void **state)
{
    wd_fixture *f = fx(state);
    long long in = wd_admit(f, wd_new_bed(f), 0, NULL);
    long long out = wd_admit(f, wd_new_bed(f), 0, NULL);
    wd_resp *r;
    json_t *list;

    WD_EXPECT(
        wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", out), f->nurse, NULL),
        200);
    r = wd_req(f->s, "GET", "/api/v1/patients?status=admitted", f->viewer, NULL);
    WD_EXPECT(r, 200);
    list = WD_LIST(r, "patients");
    assert_non_null(wd_find_int(list, "id", in));
    assert_null(wd_find_int(list, "id", out));
    r = wd_req(f->s, "GET", "/api/v1/patients?status=discharged", f->viewer, NULL);
    WD_EXPECT(r, 200);
    list = WD_LIST(r, "patients");
    assert_null(wd_find_int(list, "id", in));
    assert_non_null(wd_find_int(list, "id", out));
    r = wd_req(f->s, "GET", "/api/v1/patients?status=all", f->viewer, NULL);
    WD_EXPECT(r, 200);
    list = WD_LIST(r, "patients");
    assert_non_null(wd_find_int(list, "id", in));
    assert_non_null(wd_find_int(list, "id", out));
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/patients?status=sleeping", f->viewer, NULL), 400,
                  "bad_query");
}

/* --- PATCH ----------------------------------------------------------------------------- */

static wd_resp *patch(wd_fixture *f, const char *token, long long id, json_t *body)
{
    return wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/patients/%lld", id), token, body);
}

static void test_patch_name_by_nurse(void **state)
{
    wd_fixture *f = fx(state);
    long long id = wd_admit(f, wd_new_bed(f), 0, NULL);
    wd_resp *r;

    WD_EXPECT(patch(f, f->nurse, id, json_pack("{s:s}", "name", "Renamed Patient")), 200);
    r = get_patient(f, id);
    assert_string_equal(WD_STR(r->json, "name"), "Renamed Patient");
    WD_EXPECT(
        patch(f, f->nurse, id, json_pack("{s:s, s:s}", "mrn", "MRN-FIXED", "diagnosis", "rcc")),
        200);
    r = get_patient(f, id);
    assert_string_equal(WD_STR(r->json, "mrn"), "MRN-FIXED");
    assert_string_equal(WD_STR(r->json, "diagnosis"), "rcc");
    assert_string_equal(WD_STR(r->json, "name"), "Renamed Patient");
}

/* Changing the MRN to one another admitted patient has is the same
 * conflict as admitting it twice: 409 already_admitted, nothing changed
 * (it was a 503 storage_unavailable; found by tests/api/fuzz-requests.mjs). */
static void test_patch_mrn_of_admitted_patient(void **state)
{
    wd_fixture *f = fx(state);
    long long a = wd_admit(f, wd_new_bed(f), 0, NULL);
    long long b = wd_admit(f, wd_new_bed(f), 0, NULL);
    const char *mrn_a = WD_STR(get_patient(f, a)->json, "mrn");
    const char *mrn_b = WD_STR(get_patient(f, b)->json, "mrn");

    WD_EXPECT_ERR(patch(f, f->nurse, b, json_pack("{s:s}", "mrn", mrn_a)), 409, "already_admitted");
    assert_string_equal(WD_STR(get_patient(f, b)->json, "mrn"), mrn_b);
    /* The server is still writable, and a discharged record's MRN is free. */
    WD_EXPECT(
        wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", a), f->nurse, NULL),
        200);
    WD_EXPECT(patch(f, f->nurse, b, json_pack("{s:s}", "mrn", mrn_a)), 200);
    assert_string_equal(WD_STR(get_patient(f, b)->json, "mrn"), mrn_a);
}

/* Editing baselines needs a physician (docs/api.md roles). */
static void test_patch_baseline_roles(void **state)
{
    wd_fixture *f = fx(state);
    long long id =
        wd_admit(f, wd_new_bed(f), 0, json_pack("{s:{s:f}}", "baseline", "weight_kg", 80.0));
    wd_resp *r;

    WD_EXPECT_ERR(patch(f, f->nurse, id, json_pack("{s:{s:f}}", "baseline", "weight_kg", 70.0)),
                  403, "forbidden");
    r = get_patient(f, id);
    WD_NEAR(WD_NUM(r->json, "baseline.weight_kg"), 80.0, 1e-9);
    WD_EXPECT(patch(f, f->physician, id, json_pack("{s:{s:f}}", "baseline", "weight_kg", 70.0)),
              200);
    r = get_patient(f, id);
    WD_NEAR(WD_NUM(r->json, "baseline.weight_kg"), 70.0, 1e-9);
    WD_EXPECT(patch(f, f->admin, id, json_pack("{s:{s:f}}", "baseline", "creatinine_mg_dl", 1.1)),
              200);
    r = get_patient(f, id);
    WD_NEAR(WD_NUM(r->json, "baseline.creatinine_mg_dl"), 1.1, 1e-9);
    /* The nurse's forbidden change did not half-apply with other fields. */
    WD_EXPECT_ERR(
        patch(f, f->nurse, id,
              json_pack("{s:s, s:{s:f}}", "name", "Sneaky", "baseline", "weight_kg", 1.0)),
        403, "forbidden");
    r = get_patient(f, id);
    assert_string_not_equal(WD_STR(r->json, "name"), "Sneaky");
}

static void test_patch_invalid(void **state)
{
    wd_fixture *f = fx(state);
    long long id = wd_admit(f, wd_new_bed(f), 0, NULL);

    WD_EXPECT_ERR(patch(f, f->nurse, 999999, json_pack("{s:s}", "name", "Nobody")), 404,
                  "not_found");
    WD_EXPECT_ERR(patch(f, f->physician, id, json_pack("{s:s}", "diagnosis", "flu")), 422,
                  "validation_failed");
    WD_EXPECT_ERR(patch(f, f->physician, id, json_pack("{s:{s:i}}", "baseline", "height_cm", 180)),
                  422, "validation_failed");
    WD_EXPECT_ERR(patch(f, f->physician, id, json_pack("{s:s}", "name", "")), 422,
                  "validation_failed");
}

/* --- discharge and transfer ------------------------------------------------------------------ */

static wd_resp *discharge(wd_fixture *f, long long id)
{
    return wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", id), f->nurse,
                  NULL);
}

static wd_resp *transfer(wd_fixture *f, long long id, const char *bed)
{
    return wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", id), f->nurse,
                   json_pack("{s:s}", "bed", bed));
}

static void test_discharge(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    long long id = wd_admit(f, bed, 0, NULL);
    wd_resp *r;

    WD_EXPECT(discharge(f, id), 200);
    r = get_patient(f, id);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "status"), "discharged");
    /* Twice: the patient is not admitted any more. */
    WD_EXPECT_ERR(discharge(f, id), 409, "not_admitted");
    /* The bed is free again. */
    wd_admit(f, bed, 0, NULL);
    WD_EXPECT_ERR(discharge(f, 999999), 404, "not_found");
}

static void test_transfer(void **state)
{
    wd_fixture *f = fx(state);
    const char *from = wd_new_bed(f), *to = wd_new_bed(f);
    long long id = wd_admit(f, from, 0, NULL);
    wd_resp *r;

    WD_EXPECT(transfer(f, id, to), 200);
    r = get_patient(f, id);
    assert_string_equal(WD_STR(r->json, "bed"), to);
    assert_string_equal(WD_STR(r->json, "status"), "admitted");
    /* The old bed is free, the new one is not. */
    wd_admit(f, from, 0, NULL);
    WD_EXPECT_ERR(admit(f, f->nurse, minimal(f, to)), 409, "bed_occupied");
}

static void test_transfer_conflicts(void **state)
{
    wd_fixture *f = fx(state);
    const char *a = wd_new_bed(f), *b = wd_new_bed(f);
    long long pa = wd_admit(f, a, 0, NULL);
    long long pb = wd_admit(f, b, 0, NULL);
    wd_resp *r;

    WD_EXPECT_ERR(transfer(f, pa, b), 409, "bed_occupied");
    r = get_patient(f, pa);
    assert_string_equal(WD_STR(r->json, "bed"), a);
    /* A discharged patient cannot be transferred. */
    WD_EXPECT(discharge(f, pb), 200);
    WD_EXPECT_ERR(transfer(f, pb, wd_new_bed(f)), 409, "not_admitted");
    WD_EXPECT_ERR(transfer(f, 999999, wd_new_bed(f)), 404, "not_found");
    WD_EXPECT_ERR(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", pa),
                          f->nurse, json_pack("{}")),
                  422, "validation_failed");
    /* A bed that does not exist: docs/api.md says 422 (404 accepted too). */
    WD_EXPECT_ONE_OF(transfer(f, pa, "NO-SUCH-BED"), 422, 404);
    r = get_patient(f, pa);
    assert_string_equal(WD_STR(r->json, "bed"), a);
}

/* Every state change by a person is audited: who, what, before/after. */
static void test_patient_changes_are_audited(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f), *to = wd_new_bed(f);
    long long id = wd_admit(f, bed, 0, NULL);
    const char *name = wd_uniq(f->s, "Audited Name ");
    wd_resp *r;

    WD_EXPECT(wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/patients/%lld", id), f->nurse,
                      json_pack("{s:s}", "name", name)),
              200);
    WD_EXPECT(transfer(f, id, to), 200);
    WD_EXPECT(discharge(f, id), 200);
    r = wd_req(f->s, "GET", "/api/v1/audit?limit=1000", f->admin, NULL);
    WD_EXPECT(r, 200);
    if (!strstr(r->body, name))
        fail_msg("the audit log lacks the renamed patient (%s)", name);
    if (!strstr(r->body, WD_NURSE))
        fail_msg("the audit log does not name the nurse who changed the patient");
    if (!strstr(r->body, "before") || !strstr(r->body, "after"))
        fail_msg("the audit log lacks before/after");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/audit?from=yesterday", f->admin, NULL), 400,
                  "bad_query");
}

/* Eight nurses admit into the same free bed at once: one wins, seven get
 * 409, none a 5xx. */
static void test_race_admit_same_bed(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    const char *body = wd_path(f->s, "{\"mrn\":\"%s\",\"name\":\"Race\",\"bed\":\"%s\"}",
                               wd_uniq(f->s, "MRN-"), bed);
    long st[8];
    json_t *bodies[8];
    int won = 0, conflict = 0;

    wd_race(f->s, 8, "POST", "/api/v1/patients", f->nurse, body, st, bodies);
    for (int i = 0; i < 8; i++) {
        if (st[i] == 201)
            won++;
        else if (st[i] == 409 &&
                 strcmp(json_string_value(wd_get(bodies[i], "error.code")), "bed_occupied") == 0)
            conflict++;
        else
            fail_msg("racing admission %d: HTTP %ld", i, st[i]);
    }
    assert_int_equal(won, 1);
    assert_int_equal(conflict, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit_full),
        cmocka_unit_test(test_admit_minimal),
        cmocka_unit_test(test_admit_occupied_bed),
        cmocka_unit_test(test_race_admit_same_bed),
        cmocka_unit_test(test_admit_invalid),
        cmocka_unit_test(test_get_unknown_patient),
        cmocka_unit_test(test_unknown_patient_one_wording),
        cmocka_unit_test(test_list_by_status),
        cmocka_unit_test(test_patch_name_by_nurse),
        cmocka_unit_test(test_patch_mrn_of_admitted_patient),
        cmocka_unit_test(test_patch_baseline_roles),
        cmocka_unit_test(test_patch_invalid),
        cmocka_unit_test(test_discharge),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_transfer_conflicts),
        cmocka_unit_test(test_patient_changes_are_audited),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
