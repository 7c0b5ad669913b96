/* Unit tests for the FHIR mapping (server/fhir): an Observation taken
 * apart, identifier keys, search dates, and the text writer against the
 * jansson builder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../server/fhir/fhir_search.h"
#include "fhir.h"
#include "timefmt.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return j;
}

#define HR_OBS(extra)                                                                              \
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"    \
    "\"http://loinc.org\",\"code\":\"8867-4\"}]},\"subject\":{\"reference\":\"Patient/7\"},"       \
    "\"effectiveDateTime\":\"2026-03-08T07:30:00-05:00\",\"valueQuantity\":{\"value\":118,"        \
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}" extra "}"

static void test_heart_rate_in(void **state)
{
    json_t *o = parse(HR_OBS(",\"identifier\":[{\"system\":\"urn:x\",\"value\":\"a1\"}]"));
    fhir_obs_in in;
    fhir_issue err;
    (void)state;

    assert_int_equal(fhir_observation_in(o, &in, &err), 0);
    assert_int_equal(in.n, 1);
    assert_int_equal(in.subject_patient, 7);
    assert_true(in.has_identifier);
    assert_string_equal(json_string_value(json_object_get(in.items[0], "code")), "hr");
    assert_string_equal(json_string_value(json_object_get(in.items[0], "unit")), "/min");
    assert_string_equal(json_string_value(json_object_get(in.items[0], "id")), "urn:x|a1");
    assert_string_equal(json_string_value(json_object_get(in.items[0], "time")),
                        "2026-03-08T07:30:00-05:00");
    fhir_obs_in_clear(&in);
    json_decref(o);
}

/* One refusal: the issue code and the element named. */
static void expect_refused(const char *text, const char *code, const char *expression)
{
    json_t *o = parse(text);
    fhir_obs_in in;
    fhir_issue err = {0};

    if (fhir_observation_in(o, &in, &err) == 0)
        fail_msg("accepted: %s", text);
    assert_string_equal(err.code, code);
    assert_string_equal(err.expression, expression);
    assert_true(strlen(err.diagnostics) > 10);
    json_decref(o);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("{\"resourceType\":\"Observation\",\"code\":{}}", "required",
                   "Observation.status");
    expect_refused(HR_OBS(",\"status\":\"cancelled\""), "business-rule", "Observation.status");
    expect_refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"effectiveDateTime\":"
                   "\"2026-03-08\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                   "\"8867-4\"}]},\"valueQuantity\":{\"value\":1,\"code\":\"/min\"}}",
                   "value", "Observation.effectiveDateTime");
    expect_refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"effectiveDateTime\":"
                   "\"2026-03-08T07:30:00Z\",\"code\":{\"coding\":[{\"system\":\"http://snomed."
                   "info/sct\",\"code\":\"364075005\"}]},\"valueQuantity\":{\"value\":1}}",
                   "code-invalid", "Observation.code");
    expect_refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"effectiveDateTime\":"
                   "\"2026-03-08T07:30:00Z\",\"code\":{\"coding\":[{\"system\":\"http://loinc."
                   "org\",\"code\":\"39156-5\"}]},\"valueQuantity\":{\"value\":1}}",
                   "code-invalid", "Observation.code");
    expect_refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"effectiveDateTime\":"
                   "\"2026-03-08T07:30:00Z\",\"code\":{\"coding\":[{\"system\":\"http://loinc."
                   "org\",\"code\":\"8867-4\"}]},\"valueString\":\"fast\"}",
                   "not-supported", "Observation.valueQuantity");
    expect_refused(HR_OBS(",\"subject\":{\"reference\":\"urn:uuid:1234\"}"), "invalid",
                   "Observation.subject");
    expect_refused("{\"resourceType\":\"Observation\",\"status\":\"final\",\"effectiveDateTime\":"
                   "\"2026-03-08T07:30:00Z\",\"code\":{\"coding\":[{\"system\":\"http://loinc."
                   "org\",\"code\":\"85354-9\"}]},\"component\":[{\"code\":{\"coding\":[{"
                   "\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},\"valueQuantity\":{"
                   "\"value\":120,\"code\":\"mm[Hg]\"}}]}",
                   "required", "Observation.component");
}

static void test_bp_panel_in(void **state)
{
    json_t *o = parse(
        "{\"resourceType\":\"Observation\",\"status\":\"amended\",\"effectivePeriod\":{\"end\":"
        "\"2026-03-08T07:30:00Z\"},\"identifier\":[{\"value\":\"bp1\"}],\"code\":{\"coding\":[{"
        "\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},\"component\":[{\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},\"valueQuantity\":{"
        "\"value\":70,\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":\"http://loinc."
        "org\",\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":120,\"unit\":\"mm[Hg]\"}}]}");
    fhir_obs_in in;
    fhir_issue err;
    (void)state;

    assert_int_equal(fhir_observation_in(o, &in, &err), 0);
    assert_int_equal(in.n, 2);
    assert_string_equal(json_string_value(json_object_get(in.items[0], "code")), "sbp");
    assert_int_equal((int)json_number_value(json_object_get(in.items[0], "value")), 120);
    assert_string_equal(json_string_value(json_object_get(in.items[0], "id")), "|bp1#sbp");
    assert_string_equal(json_string_value(json_object_get(in.items[1], "code")), "dbp");
    assert_string_equal(json_string_value(json_object_get(in.items[1], "id")), "|bp1#dbp");
    fhir_obs_in_clear(&in);
    json_decref(o);
}

static void test_identifier_key(void **state)
{
    char key[OBS_ID_MAX + 1];
    json_t *shortid = parse("[{\"system\":\"urn:a\",\"value\":\"x\"}]");
    json_t *longid = parse("[{\"system\":\"http://example.org/very/long/system/of/identifiers\","
                           "\"value\":\"0123456789-0123456789\"}]");
    json_t *spaced = parse("[{\"system\":\"urn:a\",\"value\":\"has space\"}]");
    (void)state;

    assert_int_equal(fhir_identifier_key(shortid, key, sizeof key), 0);
    assert_string_equal(key, "urn:a|x");
    assert_int_equal(fhir_identifier_key(longid, key, sizeof key), 0);
    assert_int_equal(strncmp(key, "fhir:", 5), 0);
    assert_int_equal(strlen(key), 5 + 48);
    assert_int_equal(fhir_identifier_key(spaced, key, sizeof key), 0);
    assert_int_equal(strncmp(key, "fhir:", 5), 0);
    assert_int_equal(fhir_identifier_key(json_array_get(shortid, 5), key, sizeof key), -1);
    json_decref(shortid);
    json_decref(longid);
    json_decref(spaced);
}

static void test_date_narrow(void **state)
{
    int64_t from = INT64_MIN, to = INT64_MAX, day;
    (void)state;

    assert_int_equal(timefmt_parse("2026-03-08T00:00:00Z", &day), 0);
    assert_int_equal(fhir_date_narrow("2026-03-08", &from, &to), 0);
    assert_true(from == day && to == day + 86400000 - 1);
    from = INT64_MIN, to = INT64_MAX;
    assert_int_equal(fhir_date_narrow("ge2026-03-08", &from, &to), 0);
    assert_int_equal(fhir_date_narrow("lt2026-03-09", &from, &to), 0);
    assert_true(from == day && to == day + 86400000 - 1);
    from = INT64_MIN, to = INT64_MAX;
    assert_int_equal(fhir_date_narrow("gt2026-03", &from, &to), 0);
    assert_int_equal(timefmt_parse("2026-04-01T00:00:00Z", &day), 0);
    assert_true(from == day && to == INT64_MAX);
    assert_int_equal(fhir_date_narrow("le2026-03-08T07:30:00-05:00", &from, &to), 0);
    assert_int_equal(fhir_date_narrow("2026-13-01", &from, &to), -1);
    assert_int_equal(fhir_date_narrow("2026-02-30", &from, &to), -1);
    assert_int_equal(fhir_date_narrow("xx2026", &from, &to), -1);
    assert_int_equal(fhir_date_narrow("yesterday", &from, &to), -1);
    assert_int_equal(fhir_patient_ref("Patient/12"), 12);
    assert_int_equal(fhir_patient_ref("12"), 12);
    assert_int_equal(fhir_patient_ref("Device/12"), 0);
    assert_int_equal(fhir_patient_ref("Patient/1x"), 0);
}

/* The text writer builds exactly what the jansson builder builds, for
 * every code FHIR shows, awkward values and identifiers included. */
static void test_text_matches_builder(void **state)
{
    static const double values[] = {0, 1, 36.6, 118, 102.25, 0.1, 1e-7, 12345678.5, -3};
    static const char *const ids[] = {NULL, "m-1", "q\"uote\\back", "urn:x|\x01"};
    (void)state;

    for (size_t i = 0; i < obs_code_count(); i++) {
        const obs_code *c = obs_code_by_id((int)i);
        if (!c->loinc || c->kind != OBS_NUMERIC)
            continue;
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            fhir_reading rd = {.id = 41 + (int64_t)v,
                               .patient_id = v % 2 ? 7 : 0,
                               .device_id = v % 3 ? 3 : 0,
                               .code = c,
                               .value = values[v],
                               .time_ms = 1772973000123 + (int64_t)v,
                               .received_ms = 1772973001000,
                               .msg_id = ids[v % 4]};
            json_t *built = fhir_observation_out(&rd), *parsed;
            fhir_buf b = {0};
            fhir_observation_text(&rd, &b);
            assert_false(b.oom);
            parsed = parse(b.p);
            if (!json_equal(built, parsed)) {
                char *x = json_dumps(built, JSON_COMPACT);
                fail_msg("text differs for %s = %g:\n built %s\n text  %s", c->code, values[v], x,
                         b.p);
            }
            json_decref(built);
            json_decref(parsed);
            free(b.p);
        }
    }
}

static void test_bundle_text(void **state)
{
    json_t *head =
        json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type", "searchset", "entry");
    fhir_buf entries = {0};
    char *text;
    json_t *parsed;
    (void)state;

    fhir_entry_text(&entries, "http://h/fhir", "Observation", "1", "{\"a\":1}");
    fhir_entry_text(&entries, "http://h/fhir", "Observation", "2", "{\"a\":2}");
    text = fhir_bundle_text(head, &entries);
    assert_non_null(text);
    parsed = parse(text);
    assert_int_equal(json_array_size(json_object_get(parsed, "entry")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(parsed, "entry"), 1), "fullUrl")),
                        "http://h/fhir/Observation/2");
    json_decref(parsed);
    free(text);
    free(entries.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heart_rate_in), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bp_panel_in),   cmocka_unit_test(test_identifier_key),
        cmocka_unit_test(test_date_narrow),   cmocka_unit_test(test_text_matches_builder),
        cmocka_unit_test(test_bundle_text),
    };
    return cmocka_run_group_tests_name("test_fhir", tests, NULL, NULL);
}
