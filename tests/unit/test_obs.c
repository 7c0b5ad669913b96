/* Unit tests for obs: the observation catalogue (docs/api.md "Observation codes")
 * and the validation of one reading item. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs.h"
#include "timefmt.h"

/* 2026-11-27T14:03:05Z: the fixed "now" of every test. */
#define NOW_MS   INT64_C(1795788185000)
#define NOW_TEXT "2026-11-27T14:03:05Z"

static obs_context ctx_default(void)
{
    obs_context ctx = {.now_ms = NOW_MS, .weight_kg = 80.0, .require_id = false};
    return ctx;
}

/* Parses a reading written as JSON text. */
static int parse_with(const obs_context *ctx, const char *text, obs_reading *out, obs_error *err)
{
    json_error_t jerr;
    json_t *item = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (item == NULL)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    int rc = obs_parse_reading(item, ctx, out, err);
    json_decref(item);
    return rc;
}

static obs_reading accept_with(const obs_context *ctx, const char *text)
{
    obs_reading r;
    obs_error err = {0};
    if (parse_with(ctx, text, &r, &err) != 0)
        fail_msg("rejected %s: %s: %s", text, err.code, err.message);
    assert_null(err.code);
    return r;
}

static obs_reading accept(const char *text)
{
    obs_context ctx = ctx_default();
    return accept_with(&ctx, text);
}

/* Expects rejection with `code`; returns the message (static storage). */
static const char *reject_with(const obs_context *ctx, const char *text, const char *code)
{
    static obs_error err;
    obs_reading r;
    memset(&err, 0, sizeof err);
    if (parse_with(ctx, text, &r, &err) == 0)
        fail_msg("accepted %s (expected %s)", text, code);
    assert_non_null(err.code);
    if (strcmp(err.code, code) != 0)
        fail_msg("%s: expected %s, got %s: %s", text, code, err.code, err.message);
    assert_true(strlen(err.message) > 10);
    return err.message;
}

static const char *reject(const char *text, const char *code)
{
    obs_context ctx = ctx_default();
    return reject_with(&ctx, text, code);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* A numeric reading of `code` with a value written as JSON text. */
static char *numeric_item(const char *code, const char *value, const char *unit)
{
    static char buf[256];
    if (unit != NULL)
        snprintf(buf, sizeof buf, "{\"code\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"time\":\"%s\"}",
                 code, value, unit, NOW_TEXT);
    else
        snprintf(buf, sizeof buf, "{\"code\":\"%s\",\"value\":%s,\"time\":\"%s\"}", code, value,
                 NOW_TEXT);
    return buf;
}

static double convert(const char *code, const char *value, const char *unit)
{
    return accept(numeric_item(code, value, unit)).value;
}

/* ---------------------------------------------------------------------- */
/* Catalogue                                                               */

/* docs/api.md's numeric table with the plausible ranges of the brief. */
static const struct {
    const char *code, *unit, *loinc;
    double min, max;
    bool integer;
} numeric_spec[] = {
    {"hr", "/min", "8867-4", 0, 300, false},
    {"rr", "/min", "9279-1", 0, 80, false},
    {"spo2", "%", "59408-5", 0, 100, false},
    {"temp", "Cel", "8310-5", 25, 45, false},
    {"sbp", "mm[Hg]", "8480-6", 0, 300, false},
    {"dbp", "mm[Hg]", "8462-4", 0, 250, false},
    {"map", "mm[Hg]", "8478-0", 0, 250, false},
    {"weight", "kg", "29463-7", 0.5, 400, false},
    {"urine", "mL", "9187-6", 0, 5000, false},
    {"o2_flow", "L/min", "3151-8", 0, 60, false},
    {"fio2", "%", "3150-0", 21, 100, false},
    {"phenylephrine", "ug/kg/min", NULL, 0, 10, false},
    {"vt_beats", "{beats}", NULL, 0, 1000, true},
    {"diarrhea_ml", "mL", NULL, 0, 10000, false},
    {"stool_count", "{stools}", NULL, 0, 50, true},
    {"creatinine", "mg/dL", "2160-0", 0, 30, false},
    {"bilirubin", "mg/dL", "1975-2", 0, 50, false},
    {"ast", "U/L", "1920-8", 0, 20000, false},
    {"alt", "U/L", "1742-6", 0, 20000, false},
    {"platelets", "10*3/uL", "777-3", 0, 2000, false},
    {"potassium", "mmol/L", "2823-3", 1, 10, false},
    {"bicarbonate", "mmol/L", "1963-8", 0, 60, false},
    {"ph", "[pH]", "2744-1", 6.5, 8.0, false},
    {"lactate", "mmol/L", "2524-7", 0, 40, false},
};
#define N_NUMERIC (sizeof numeric_spec / sizeof numeric_spec[0])

static const char *const flag_spec[] = {
    "intubated",
    "dialysis",
    "coma",
    "toxic_psychosis",
    "seizures_repetitive",
    "ecg_ischemia",
    "chest_pain",
    "cardiac_tamponade",
    "arrhythmia_uncontrolled",
    "cardiac_enzymes_elevated",
    "bowel_ischemia",
    "gi_bleed_surgery",
    "sepsis_unstable",
    "infection",
    "hepatic_failure",
    "bullous_dermatitis",
    "volume_overload_severe",
    "fluid_electrolytes_stable",
    "hallucinations",
};
#define N_FLAGS (sizeof flag_spec / sizeof flag_spec[0])

/* The clinician-graded terms: docs/clinical-policy.md's list (test_support.h). */
#define N_TERMS TEST_N_CLINICAL_TERMS

static const struct {
    const char *code;
    const char *values[7];
} categorical_spec[] = {
    {"rhythm", {"sinus", "af", "svt", "vt", "brady", "other", NULL}},
    {"consciousness", {"A", "C", "V", "P", "U", NULL}},
    {"fobt", {"positive", "negative", NULL}},
};
#define N_CATEGORICAL (sizeof categorical_spec / sizeof categorical_spec[0])

static void test_catalogue_size(void **state)
{
    (void)state;
    assert_int_equal(N_NUMERIC, 24);
    assert_int_equal(N_FLAGS, 19);
    assert_int_equal(N_TERMS, 28);
    assert_int_equal(obs_code_count(), N_NUMERIC + N_CATEGORICAL + N_FLAGS + N_TERMS);
}

static void test_catalogue_ids_and_lookup(void **state)
{
    (void)state;
    size_t n = obs_code_count();
    for (size_t i = 0; i < n; i++) {
        const obs_code *c = obs_code_by_id((int)i);
        assert_non_null(c);
        assert_int_equal(c->id, (int)i);
        assert_non_null(c->code);
        assert_non_null(c->label);
        assert_true(strlen(c->label) > 1);
        assert_ptr_equal(obs_code_lookup(c->code), c);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(obs_code_by_id((int)j)->code, c->code);
    }
    assert_null(obs_code_by_id(-1));
    assert_null(obs_code_by_id((int)n));
    assert_null(obs_code_lookup(NULL));
    static const char *const unknown[] = {
        "",          "HR",    "hr ", " hr", "heart_rate", "ctcae.",      "ctcae.Fever",
        "ctcae.foo", "ctcae", "zzz", "a",   "temp.",      "temperature", "~"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_null(obs_code_lookup(unknown[i]));
}

static void test_catalogue_numeric(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_NUMERIC; i++) {
        const obs_code *c = obs_code_lookup(numeric_spec[i].code);
        if (c == NULL) {
            fail_msg("numeric code %s missing", numeric_spec[i].code);
            return;
        }
        assert_int_equal(c->kind, OBS_NUMERIC);
        assert_string_equal(c->unit, numeric_spec[i].unit);
        if (numeric_spec[i].loinc != NULL)
            assert_string_equal(c->loinc, numeric_spec[i].loinc);
        else
            assert_null(c->loinc);
        assert_true(c->min == numeric_spec[i].min);
        assert_true(c->max == numeric_spec[i].max);
        assert_true(c->min < c->max);
        assert_null(c->values);
        for (const obs_unit_alt *a = c->alts; a != NULL && a->unit != NULL; a++) {
            assert_string_not_equal(a->unit, c->unit);
            assert_true(a->scale > 0);
        }
    }
}

static void test_catalogue_categorical(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CATEGORICAL; i++) {
        const obs_code *c = obs_code_lookup(categorical_spec[i].code);
        assert_non_null(c);
        assert_int_equal(c->kind, OBS_CATEGORICAL);
        assert_null(c->unit);
        assert_null(c->alts);
        assert_non_null(c->values);
        size_t k = 0;
        for (; categorical_spec[i].values[k] != NULL; k++)
            assert_string_equal(c->values[k], categorical_spec[i].values[k]);
        assert_null(c->values[k]);
        assert_true(c->min == 0);
        assert_true(c->max == (double)(k - 1));
    }
}

static void test_catalogue_flags_and_grades(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FLAGS; i++) {
        const obs_code *c = obs_code_lookup(flag_spec[i]);
        if (c == NULL) {
            fail_msg("flag %s missing", flag_spec[i]);
            return;
        }
        assert_int_equal(c->kind, OBS_FLAG);
        assert_null(c->unit);
        assert_null(c->values);
        assert_null(c->alts);
    }
    for (size_t i = 0; i < N_TERMS; i++) {
        char code[64];
        snprintf(code, sizeof code, "ctcae.%s", test_clinical_terms[i]);
        const obs_code *c = obs_code_lookup(code);
        if (c == NULL) {
            fail_msg("grade %s missing", code);
            return;
        }
        assert_int_equal(c->kind, OBS_GRADE);
        assert_string_equal(c->unit, "{grade}");
        assert_true(c->min == 0);
        assert_true(c->max == 5);
        assert_null(c->values);
        assert_null(c->alts);
    }
}

/* ---------------------------------------------------------------------- */
/* Item shape                                                              */

static void test_minimal_reading(void **state)
{
    (void)state;
    obs_reading r = accept("{\"code\":\"hr\",\"value\":118,\"time\":\"" NOW_TEXT "\"}");
    assert_ptr_equal(r.code, obs_code_lookup("hr"));
    assert_true(r.value == 118.0);
    assert_null(r.text);
    assert_int_equal(r.time_ms, NOW_MS);
    assert_string_equal(r.id, "");

    r = accept("{\"id\":\"M1-000123\",\"code\":\"hr\",\"value\":118,\"unit\":\"/min\","
               "\"time\":\"2026-11-27T14:03:05Z\"}");
    assert_string_equal(r.id, "M1-000123");
    /* a real value, and a null unit meaning the canonical unit */
    r = accept("{\"code\":\"hr\",\"value\":117.5,\"unit\":null,\"time\":\"" NOW_TEXT "\"}");
    assert_true(r.value == 117.5);
}

static void test_invalid_reading(void **state)
{
    (void)state;
    reject("[]", "invalid_reading");
    reject("\"hr\"", "invalid_reading");
    reject("118", "invalid_reading");
    reject("null", "invalid_reading");
    obs_context ctx = ctx_default();
    obs_reading r;
    obs_error err;
    assert_int_equal(obs_parse_reading(NULL, &ctx, &r, &err), -1);
    assert_string_equal(err.code, "invalid_reading");
    json_t *item = json_object();
    assert_int_equal(obs_parse_reading(item, NULL, &r, &err), -1);
    assert_string_equal(err.code, "invalid_reading");
    /* err may be NULL */
    assert_int_equal(obs_parse_reading(item, &ctx, &r, NULL), -1);
    json_decref(item);
}

static void test_unknown_field(void **state)
{
    (void)state;
    const char *m = reject("{\"code\":\"hr\",\"value\":1,\"time\":\"" NOW_TEXT "\",\"source\":1}",
                           "unknown_field");
    assert_contains(m, "\"source\"");
    m = reject("{\"Code\":\"hr\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_field");
    assert_contains(m, "\"Code\"");
    /* reported before a missing field */
    reject("{\"values\":1}", "unknown_field");
}

static void test_missing_field(void **state)
{
    (void)state;
    assert_contains(reject("{\"value\":1,\"time\":\"" NOW_TEXT "\"}", "missing_field"), "code");
    assert_contains(reject("{\"code\":\"hr\",\"time\":\"" NOW_TEXT "\"}", "missing_field"),
                    "value");
    assert_contains(reject("{\"code\":\"hr\",\"value\":1}", "missing_field"), "time");
    reject("{}", "missing_field");
    obs_context ctx = ctx_default();
    ctx.require_id = true;
    assert_contains(reject_with(&ctx, "{\"code\":\"hr\",\"value\":1,\"time\":\"" NOW_TEXT "\"}",
                                "missing_field"),
                    "\"id\"");
    accept_with(&ctx, "{\"id\":\"x\",\"code\":\"hr\",\"value\":1,\"time\":\"" NOW_TEXT "\"}");
}

static void test_invalid_id(void **state)
{
    (void)state;
    obs_context ctx = ctx_default();
    ctx.require_id = true;
    char text[256];
    char id[80];
    /* 64 characters: the longest accepted */
    memset(id, 'a', 64);
    id[64] = '\0';
    snprintf(text, sizeof text, "{\"id\":\"%s\",\"code\":\"hr\",\"value\":1,\"time\":\"%s\"}", id,
             NOW_TEXT);
    obs_reading r = accept_with(&ctx, text);
    assert_string_equal(r.id, id);
    /* 65: one too many */
    id[64] = 'a';
    id[65] = '\0';
    snprintf(text, sizeof text, "{\"id\":\"%s\",\"code\":\"hr\",\"value\":1,\"time\":\"%s\"}", id,
             NOW_TEXT);
    reject_with(&ctx, text, "invalid_id");
    /* printable ASCII edges */
    accept_with(&ctx, "{\"id\":\"!~\",\"code\":\"hr\",\"value\":1,\"time\":\"" NOW_TEXT "\"}");
    static const char *const bad[] = {"\"\"",         "\"a b\"",        "\" a\"", "\"a\\t\"",
                                      "\"a\\u007f\"", "\"caf\\u00e9\"", "12",     "null",
                                      "true",         "[\"a\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"id\":%s,\"code\":\"hr\",\"value\":1,\"time\":\"%s\"}",
                 bad[i], NOW_TEXT);
        reject_with(&ctx, text, "invalid_id");
        /* validated even when not required */
        reject(text, "invalid_id");
    }
}

static void test_unknown_code(void **state)
{
    (void)state;
    assert_contains(
        reject("{\"code\":\"HR\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_code"),
        "\"HR\"");
    reject("{\"code\":\"ctcae.pain\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_code");
    reject("{\"code\":\"\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_code");
    reject("{\"code\":7,\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_code");
    reject("{\"code\":null,\"value\":1,\"time\":\"" NOW_TEXT "\"}", "unknown_code");
}

/* ---------------------------------------------------------------------- */
/* Units and conversions                                                   */

static void test_invalid_unit(void **state)
{
    (void)state;
    const char *m = reject(numeric_item("temp", "38", "F"), "invalid_unit");
    assert_contains(m, "\"F\"");
    assert_contains(m, "Cel or [degF]");
    reject(numeric_item("hr", "80", "bpm"), "invalid_unit");
    reject(numeric_item("hr", "80", "/MIN"), "invalid_unit"); /* UCUM is case-sensitive */
    reject(numeric_item("temp", "38", "cel"), "invalid_unit");
    reject(numeric_item("creatinine", "1", "mg/dl"), "invalid_unit");
    reject(numeric_item("weight", "80", "[lb_av] "), "invalid_unit");
    reject(numeric_item("bilirubin", "1", "umol/l"), "invalid_unit");
    reject(numeric_item("hr", "80", ""), "invalid_unit");
    reject("{\"code\":\"hr\",\"value\":80,\"unit\":5,\"time\":\"" NOW_TEXT "\"}", "invalid_unit");
    /* no unit on categorical values and flags; grades take only {grade} */
    reject("{\"code\":\"rhythm\",\"value\":\"af\",\"unit\":\"1\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_unit");
    reject("{\"code\":\"intubated\",\"value\":true,\"unit\":\"{bool}\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_unit");
    reject("{\"code\":\"coma\",\"value\":true,\"unit\":false,\"time\":\"" NOW_TEXT "\"}",
           "invalid_unit");
    accept("{\"code\":\"rhythm\",\"value\":\"af\",\"unit\":null,\"time\":\"" NOW_TEXT "\"}");
    accept("{\"code\":\"ctcae.fever\",\"value\":2,\"unit\":\"{grade}\",\"time\":\"" NOW_TEXT "\"}");
    reject("{\"code\":\"ctcae.fever\",\"value\":2,\"unit\":\"grade\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_unit");
    /* every canonical unit is accepted when given explicitly */
    for (size_t i = 0; i < N_NUMERIC; i++) {
        char v[32];
        snprintf(v, sizeof v, "%.15g", numeric_spec[i].max);
        accept(numeric_item(numeric_spec[i].code, v, numeric_spec[i].unit));
    }
}

static void test_convert_temperature(void **state)
{
    (void)state;
    /* exact: the fever bands of the default rule set depend on these */
    assert_true(convert("temp", "102.2", "[degF]") == 39.0);
    assert_true(convert("temp", "100.4", "[degF]") == 38.0);
    assert_true(convert("temp", "104", "[degF]") == 40.0);
    assert_true(convert("temp", "104.0", "[degF]") == 40.0);
    assert_true(convert("temp", "98.6", "[degF]") == 37.0);
    assert_true(convert("temp", "100.3", "[degF]") == 37.94);
    assert_true(convert("temp", "100.5", "[degF]") == 38.06);
    assert_true(convert("temp", "102.4", "[degF]") == 39.11);
    assert_true(convert("temp", "104.1", "[degF]") == 40.06);
    /* the range is checked after conversion: 77 F = 25 C, 113 F = 45 C */
    assert_true(convert("temp", "77", "[degF]") == 25.0);
    assert_true(convert("temp", "113", "[degF]") == 45.0);
    const char *m = reject(numeric_item("temp", "113.1", "[degF]"), "implausible_value");
    assert_string_equal(m,
                        "temp 113.1 [degF] (45.06 Cel) is outside the plausible range 25-45 Cel");
    reject(numeric_item("temp", "76.9", "[degF]"), "implausible_value");
    /* a Fahrenheit value sent as Celsius is implausible */
    reject(numeric_item("temp", "102.2", NULL), "implausible_value");
    /* canonical values are kept as sent */
    assert_true(convert("temp", "38.95", "Cel") == 38.95);
}

static void test_convert_weight(void **state)
{
    (void)state;
    assert_true(convert("weight", "180", "[lb_av]") == 81.65);    /* 81.6466266 */
    assert_true(convert("weight", "100", "[lb_av]") == 45.36);    /* 45.359237 */
    assert_true(convert("weight", "220.5", "[lb_av]") == 100.02); /* 100.0171 */
    assert_true(convert("weight", "2", "[lb_av]") == 0.91);
    assert_true(convert("weight", "1.1", "[lb_av]") == 0.5);             /* 0.498951607 -> 0.50 */
    reject(numeric_item("weight", "1", "[lb_av]"), "implausible_value"); /* 0.45 kg */
    assert_true(convert("weight", "881.85", "[lb_av]") == 400.0);        /* 400.0003 */
    reject(numeric_item("weight", "881.9", "[lb_av]"), "implausible_value");
    assert_true(convert("weight", "81.5", NULL) == 81.5);
}

static void test_convert_labs(void **state)
{
    (void)state;
    /* creatinine: umol/L / 88.42, to 0.001 mg/dL */
    assert_true(convert("creatinine", "88.42", "umol/L") == 1.0);
    assert_true(convert("creatinine", "265.26", "umol/L") == 3.0);
    assert_true(convert("creatinine", "221.05", "umol/L") == 2.5);
    assert_true(convert("creatinine", "265", "umol/L") == 2.997); /* stays below 3.0 */
    assert_true(convert("creatinine", "106", "umol/L") == 1.199);
    assert_true(convert("creatinine", "0", "umol/L") == 0.0);
    assert_true(convert("creatinine", "2652.6", "umol/L") == 30.0);
    reject(numeric_item("creatinine", "2653", "umol/L"), "implausible_value");
    /* bilirubin: umol/L / 17.1, to 0.001 mg/dL */
    assert_true(convert("bilirubin", "17.1", "umol/L") == 1.0);
    assert_true(convert("bilirubin", "119.7", "umol/L") == 7.0);
    assert_true(convert("bilirubin", "120", "umol/L") == 7.018);
    assert_true(convert("bilirubin", "10.26", "umol/L") == 0.6);
    assert_true(convert("bilirubin", "20.52", "umol/L") == 1.2);
    assert_true(convert("bilirubin", "855", "umol/L") == 50.0);
    reject(numeric_item("bilirubin", "856", "umol/L"), "implausible_value");
    /* no other unit converts */
    reject(numeric_item("ast", "40", "ukat/L"), "invalid_unit");
}

static void test_convert_phenylephrine(void **state)
{
    (void)state;
    obs_context ctx = ctx_default(); /* 80 kg */
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "40", "ug/min")).value == 0.5);
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "64", "ug/min")).value == 0.8);
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "100", "ug/min")).value == 1.25);
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "800", "ug/min")).value == 10.0);
    reject_with(&ctx, numeric_item("phenylephrine", "801", "ug/min"), "implausible_value");
    ctx.weight_kg = 81.5;
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "81.5", "ug/min")).value == 1.0);
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "65.2", "ug/min")).value == 0.8);
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "40", "ug/min")).value == 0.491);
    /* ug/kg/min needs no weight */
    ctx.weight_kg = 0;
    assert_true(accept_with(&ctx, numeric_item("phenylephrine", "0.6", NULL)).value == 0.6);
    /* ug/min without a baseline weight */
    const char *m =
        reject_with(&ctx, numeric_item("phenylephrine", "40", "ug/min"), "invalid_unit");
    assert_contains(m, "baseline weight");
    ctx.weight_kg = -1;
    reject_with(&ctx, numeric_item("phenylephrine", "40", "ug/min"), "invalid_unit");
    ctx.weight_kg = NAN;
    reject_with(&ctx, numeric_item("phenylephrine", "40", "ug/min"), "invalid_unit");
}

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

static void test_ranges_every_numeric(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_NUMERIC; i++) {
        const char *code = numeric_spec[i].code;
        double lo = numeric_spec[i].min, hi = numeric_spec[i].max;
        double step = numeric_spec[i].integer ? 1 : 0.01;
        char v[40];
        snprintf(v, sizeof v, "%.15g", lo);
        assert_true(accept(numeric_item(code, v, NULL)).value == lo);
        snprintf(v, sizeof v, "%.15g", hi);
        assert_true(accept(numeric_item(code, v, NULL)).value == hi);
        snprintf(v, sizeof v, "%.15g", lo - step);
        reject(numeric_item(code, v, NULL), "implausible_value");
        snprintf(v, sizeof v, "%.15g", hi + step);
        reject(numeric_item(code, v, NULL), "implausible_value");
        /* the smallest step beyond the bounds */
        const char *beyond = numeric_spec[i].integer ? "invalid_value" : "implausible_value";
        snprintf(v, sizeof v, "%.17g", nextafter(hi, INFINITY));
        reject(numeric_item(code, v, NULL), beyond);
        snprintf(v, sizeof v, "%.17g", nextafter(lo, -INFINITY));
        reject(numeric_item(code, v, NULL), beyond);
    }
}

static void test_implausible_message(void **state)
{
    (void)state;
    assert_string_equal(reject(numeric_item("hr", "350", NULL), "implausible_value"),
                        "hr 350 /min is outside the plausible range 0-300 /min");
    assert_string_equal(reject(numeric_item("ph", "8.01", "[pH]"), "implausible_value"),
                        "ph 8.01 [pH] is outside the plausible range 6.5-8 [pH]");
    assert_string_equal(reject(numeric_item("hr", "-1", NULL), "implausible_value"),
                        "hr -1 /min is outside the plausible range 0-300 /min");
    reject(numeric_item("hr", "1e300", NULL), "implausible_value");
    reject(numeric_item("hr", "-1e300", NULL), "implausible_value");
    reject(numeric_item("hr", "9223372036854775807", NULL), "implausible_value");
    reject(numeric_item("temp", "1e308", "[degF]"), "implausible_value");
}

static void test_numeric_type(void **state)
{
    (void)state;
    assert_contains(reject(numeric_item("hr", "\"118\"", NULL), "invalid_value"), "hr");
    reject(numeric_item("hr", "true", NULL), "invalid_value");
    reject(numeric_item("hr", "null", NULL), "invalid_value");
    reject(numeric_item("hr", "[118]", NULL), "invalid_value");
    reject(numeric_item("hr", "{}", NULL), "invalid_value");
    reject(numeric_item("temp", "\"38.5\"", "[degF]"), "invalid_value");
    /* integer JSON and real JSON are both numbers */
    assert_true(convert("hr", "118", NULL) == 118);
    assert_true(convert("hr", "118.0", NULL) == 118);
    assert_true(convert("hr", "0", NULL) == 0);
    assert_true(convert("hr", "-0.0", NULL) == 0);
    assert_true(convert("hr", "1.18e2", NULL) == 118);
}

static void test_numeric_integers(void **state)
{
    (void)state;
    assert_true(convert("vt_beats", "3", NULL) == 3);
    assert_true(convert("vt_beats", "3.0", NULL) == 3);
    assert_contains(reject(numeric_item("vt_beats", "2.5", NULL), "invalid_value"), "whole");
    reject(numeric_item("vt_beats", "0.001", NULL), "invalid_value");
    assert_string_equal(
        reject(numeric_item("vt_beats", "1000.0000000000001", NULL), "invalid_value"),
        "vt_beats must be a whole number, got 1000.0000000000001");
    assert_true(convert("stool_count", "50", NULL) == 50);
    reject(numeric_item("stool_count", "1.5", NULL), "invalid_value");
    reject(numeric_item("stool_count", "51", NULL), "implausible_value");
    /* others take fractions */
    assert_true(convert("urine", "12.5", NULL) == 12.5);
}

static void test_categorical(void **state)
{
    (void)state;
    char text[160];
    for (size_t i = 0; i < N_CATEGORICAL; i++) {
        const obs_code *c = obs_code_lookup(categorical_spec[i].code);
        for (size_t k = 0; categorical_spec[i].values[k] != NULL; k++) {
            snprintf(text, sizeof text, "{\"code\":\"%s\",\"value\":\"%s\",\"time\":\"%s\"}",
                     categorical_spec[i].code, categorical_spec[i].values[k], NOW_TEXT);
            obs_reading r = accept(text);
            assert_ptr_equal(r.code, c);
            assert_true(r.value == (double)k);
            assert_ptr_equal(r.text, c->values[k]); /* points into the catalogue */
        }
    }
    const char *m = reject("{\"code\":\"rhythm\",\"value\":\"maybe\",\"time\":\"" NOW_TEXT "\"}",
                           "invalid_value");
    assert_contains(m, "\"maybe\"");
    assert_contains(m, "sinus, af, svt, vt, brady, other");
    reject("{\"code\":\"rhythm\",\"value\":\"AF\",\"time\":\"" NOW_TEXT "\"}", "invalid_value");
    reject("{\"code\":\"rhythm\",\"value\":\"\",\"time\":\"" NOW_TEXT "\"}", "invalid_value");
    reject("{\"code\":\"rhythm\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "invalid_value");
    reject("{\"code\":\"consciousness\",\"value\":\"a\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_value");
    reject("{\"code\":\"consciousness\",\"value\":\"Alert\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_value");
    reject("{\"code\":\"fobt\",\"value\":true,\"time\":\"" NOW_TEXT "\"}", "invalid_value");
    reject("{\"code\":\"fobt\",\"value\":null,\"time\":\"" NOW_TEXT "\"}", "invalid_value");
}

static void test_flags(void **state)
{
    (void)state;
    char text[160];
    for (size_t i = 0; i < N_FLAGS; i++) {
        snprintf(text, sizeof text, "{\"code\":\"%s\",\"value\":true,\"time\":\"%s\"}",
                 flag_spec[i], NOW_TEXT);
        assert_true(accept(text).value == 1);
        snprintf(text, sizeof text, "{\"code\":\"%s\",\"value\":false,\"time\":\"%s\"}",
                 flag_spec[i], NOW_TEXT);
        obs_reading r = accept(text);
        assert_true(r.value == 0);
        assert_null(r.text);
    }
    assert_contains(
        reject("{\"code\":\"intubated\",\"value\":1,\"time\":\"" NOW_TEXT "\"}", "invalid_value"),
        "true or false");
    reject("{\"code\":\"intubated\",\"value\":0,\"time\":\"" NOW_TEXT "\"}", "invalid_value");
    reject("{\"code\":\"intubated\",\"value\":\"true\",\"time\":\"" NOW_TEXT "\"}",
           "invalid_value");
    reject("{\"code\":\"intubated\",\"value\":null,\"time\":\"" NOW_TEXT "\"}", "invalid_value");
}

static void test_grades(void **state)
{
    (void)state;
    char text[200];
    for (size_t i = 0; i < N_TERMS; i++) {
        for (int g = 0; g <= 5; g++) {
            snprintf(text, sizeof text, "{\"code\":\"ctcae.%s\",\"value\":%d,\"time\":\"%s\"}",
                     test_clinical_terms[i], g, NOW_TEXT);
            assert_true(accept(text).value == g);
        }
    }
    accept("{\"code\":\"ctcae.confusion\",\"value\":3.0,\"time\":\"" NOW_TEXT "\"}");
    static const char *const bad[] = {"2.5",   "6",    "-1",   "5.0001", "-0.5",
                                      "\"2\"", "true", "null", "[2]",    "1e300"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"code\":\"ctcae.confusion\",\"value\":%s,\"time\":\"%s\"}",
                 bad[i], NOW_TEXT);
        assert_contains(reject(text, "invalid_value"), "ctcae.confusion");
    }
}

/* ---------------------------------------------------------------------- */
/* Time                                                                    */

static void test_time(void **state)
{
    (void)state;
    char text[160];
    /* 4:59 and exactly 5:00 ahead are accepted; 5:00.001 and 5:01 are not */
    static const struct {
        const char *time;
        bool ok;
    } cases[] = {
        {"2026-11-27T14:08:04Z", true},      {"2026-11-27T14:08:05Z", true},
        {"2026-11-27T14:08:05.001Z", false}, {"2026-11-27T14:08:06Z", false},
        {"2026-11-27T19:38:04+05:30", true}, {"2026-11-27T19:38:06+05:30", false},
        {"2026-11-27T14:03:05Z", true},      {"2020-01-01T00:00:00Z", true},
        {"1969-12-31T23:59:59.999Z", true},  {"2027-01-01T00:00:00Z", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "{\"code\":\"hr\",\"value\":80,\"time\":\"%s\"}",
                 cases[i].time);
        if (cases[i].ok) {
            int64_t ms;
            assert_int_equal(timefmt_parse(cases[i].time, &ms), 0);
            assert_int_equal(accept(text).time_ms, ms);
        } else {
            assert_contains(reject(text, "future_time"), "5 minutes");
        }
    }
    static const char *const bad[] = {"\"2026-11-27T14:03:05\"",
                                      "\"2026-11-27\"",
                                      "\"2026-02-29T00:00:00Z\"",
                                      "\"yesterday\"",
                                      "\"\"",
                                      "1795788185000",
                                      "null",
                                      "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"code\":\"hr\",\"value\":80,\"time\":%s}", bad[i]);
        assert_contains(reject(text, "invalid_time"), "RFC 3339");
    }
}

/* Check order: a reading with several faults reports the first in the
 * documented order (fields, id, code, unit, value, time). */
static void test_check_order(void **state)
{
    (void)state;
    reject("{\"id\":\"\",\"code\":\"nope\",\"value\":1,\"time\":\"x\"}", "invalid_id");
    reject("{\"code\":\"nope\",\"value\":\"x\",\"unit\":\"x\",\"time\":\"x\"}", "unknown_code");
    reject("{\"code\":\"hr\",\"value\":\"x\",\"unit\":\"x\",\"time\":\"x\"}", "invalid_unit");
    reject("{\"code\":\"hr\",\"value\":\"x\",\"time\":\"x\"}", "invalid_value");
    reject("{\"code\":\"hr\",\"value\":999,\"time\":\"x\"}", "implausible_value");
    reject("{\"code\":\"hr\",\"value\":99,\"time\":\"x\"}", "invalid_time");
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

static void assert_json(json_t *v, const char *expect)
{
    assert_non_null(v);
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    assert_string_equal(s, expect);
    free(s);
    json_decref(v);
}

static void test_value_json(void **state)
{
    (void)state;
    assert_json(obs_value_json(obs_code_lookup("hr"), 118, NULL), "118");
    assert_json(obs_value_json(obs_code_lookup("hr"), -0.0, NULL), "0");
    assert_json(obs_value_json(obs_code_lookup("temp"), 39.5, NULL), "39.5");
    assert_json(obs_value_json(obs_code_lookup("temp"), NAN, NULL), "null");
    assert_json(obs_value_json(obs_code_lookup("temp"), INFINITY, NULL), "null");
    json_t *v = obs_value_json(obs_code_lookup("temp"), 39.4, NULL);
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 39.4);
    json_decref(v);
    const obs_code *rhythm = obs_code_lookup("rhythm");
    assert_json(obs_value_json(rhythm, 1, rhythm->values[1]), "\"af\"");
    assert_json(obs_value_json(rhythm, 3, NULL), "\"vt\""); /* from the index */
    assert_json(obs_value_json(rhythm, 6, NULL), "null");
    assert_json(obs_value_json(rhythm, -1, NULL), "null");
    assert_json(obs_value_json(obs_code_lookup("intubated"), 1, NULL), "true");
    assert_json(obs_value_json(obs_code_lookup("intubated"), 0, NULL), "false");
    assert_json(obs_value_json(obs_code_lookup("ctcae.fever"), 3, NULL), "3");
    assert_json(obs_value_json(obs_code_lookup("ctcae.fever"), 1e300, NULL), "null");
    assert_json(obs_value_json(obs_code_lookup("ctcae.fever"), -1, NULL), "null");
    assert_json(obs_value_json(NULL, 3, NULL), "null");

    /* a parsed reading renders back to its input value */
    obs_reading r =
        accept("{\"code\":\"consciousness\",\"value\":\"V\",\"time\":\"" NOW_TEXT "\"}");
    assert_json(obs_value_json(r.code, r.value, r.text), "\"V\"");
    r = accept("{\"code\":\"ctcae.nausea\",\"value\":2.0,\"time\":\"" NOW_TEXT "\"}");
    assert_json(obs_value_json(r.code, r.value, r.text), "2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_size),
        cmocka_unit_test(test_catalogue_ids_and_lookup),
        cmocka_unit_test(test_catalogue_numeric),
        cmocka_unit_test(test_catalogue_categorical),
        cmocka_unit_test(test_catalogue_flags_and_grades),
        cmocka_unit_test(test_minimal_reading),
        cmocka_unit_test(test_invalid_reading),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_missing_field),
        cmocka_unit_test(test_invalid_id),
        cmocka_unit_test(test_unknown_code),
        cmocka_unit_test(test_invalid_unit),
        cmocka_unit_test(test_convert_temperature),
        cmocka_unit_test(test_convert_weight),
        cmocka_unit_test(test_convert_labs),
        cmocka_unit_test(test_convert_phenylephrine),
        cmocka_unit_test(test_ranges_every_numeric),
        cmocka_unit_test(test_implausible_message),
        cmocka_unit_test(test_numeric_type),
        cmocka_unit_test(test_numeric_integers),
        cmocka_unit_test(test_categorical),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_grades),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_value_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
