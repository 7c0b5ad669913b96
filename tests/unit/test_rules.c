/* test_rules: loading and validating rule sets (include/rules.h). The
 * default set must load and cover the policy of docs/rules.md 9; a bad set must be rejected
 * with every error named by file, item and field, and never half-loaded. */
#include "obs.h"
#include "rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

static bool has_error(const rules_errors *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->items[i].text, needle) != NULL)
            return true;
    return false;
}

static void print_errors(const rules_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "    %s\n", e->items[i].text);
}

/* policy 1 (docs/rules.md 9)-3: the rows and criteria the default set selects. */
static const char *const clinical_rules[] = {
    "L24-CV-1",       "L24-CV-2",       "L24-CV-3",     "L24-CV-4",
    "L24-CV-5",       "L24-CV-6",       "L24-RS-1",     "L24-RS-2",
    "L24-NE-1",       "L24-NE-2",       "L24-NE-3",     "L24-GI-1",
    "L24-GI-2",       "LEG-RN-1",       "LEG-RN-2",     "LEG-HP-1",
    "LEG-BW-1",       "LEG-SK-1",       "PD-6",         "CWG-R-HR",
    "CWG-A-HR",       "CWG-R-CREAT",    "CWG-A-CREAT",  "CWG-R-UO",
    "CWG-A-UO",       "CWG-R-PE-MAX",   "CWG-A-PE-MAX", "CWG-R-PE-DOSE",
    "CWG-A-PE-DOSE",  "CWG-R-O2",       "CWG-A-O2",     "CWG-R-PLT",
    "CWG-A-PLT",      "CWG-R-WT",       "CWG-R-BILI",   "CWG-R-HCO3",
    "CWG-R-DIARRHEA", "CWG-A-DIARRHEA", "CWG-A-RHYTHM", "CWG-A-VT",
    "CWG-A-ECG",      "CWG-A-ENZ",      "CWG-A-INTUB",  "CWG-A-INFECTION",
    "CWG-A-HALLUC",   "CWG-A-GIBLEED",  "CWG-A-MENTAL", "CWG-R-FOBT"};

static void test_default_loads(void **state)
{
    (void)state;
    json_t *doc = test_default_rules_doc();
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(doc, "il2-default.json", &errs);
    print_errors(&errs);
    assert_non_null(rs);
    assert_int_equal(errs.n, 0);
    assert_string_equal(rs->name, "il2-default");
    assert_int_equal(rs->policy, RULES_POLICY_S4B);
    for (size_t i = 0; i < TEST_N_CLINICAL_TERMS; i++) {
        int ti = rules_term_index(rs, test_clinical_terms[i]);
        if (ti < 0)
            fail_msg("term %s missing", test_clinical_terms[i]);
        assert_true(rs->terms[ti].clinician_code >= 0);
    }
    assert_int_equal(rs->n_terms, TEST_N_CLINICAL_TERMS);
    for (size_t i = 0; i < sizeof clinical_rules / sizeof clinical_rules[0]; i++) {
        bool found = false;
        for (size_t k = 0; k < rs->n_rules; k++)
            found |= strcmp(rs->rules[k].id, clinical_rules[i]) == 0;
        if (!found)
            fail_msg("rule %s missing", clinical_rules[i]);
    }
    for (size_t k = 0; k < rs->n_rules; k++) {
        assert_non_null(rs->rules[k].source);
        assert_true(strlen(rs->rules[k].source) > 10);
        if (rs->rules[k].action == RULES_ACT_HOLD)
            assert_non_null(rs->rules[k].resume); /* every label hold has a resume */
    }
    /* policy 10 (docs/rules.md 9) defaults and item 5 freshness */
    assert_true(rs->limit_default[RULES_LIM_CREATININE_ULN] == 1.2);
    assert_true(rs->limit_default[RULES_LIM_PLATELETS_LLN] == 150);
    assert_int_equal(rs->fresh_ms[obs_code_lookup("spo2")->id], 4 * 3600000);
    assert_int_equal(rs->fresh_ms[obs_code_lookup("creatinine")->id], 24 * 3600000);
    assert_int_equal(rs->fresh_ms[obs_code_lookup("weight")->id], 24 * 3600000);
    assert_int_equal(rs->fresh_ms[obs_code_lookup("rhythm")->id], 0);
    assert_int_equal(rs->max_per_cycle, 14);
    assert_int_equal(rs->max_per_course, 28);
    rules_unref(rs);
    rules_errors_free(&errs);
    json_decref(doc);
}

static void test_check_file_ok(void **state)
{
    (void)state;
    char p[600], out[256] = {0};
    snprintf(p, sizeof p, "%s/schema/rules/il2-default.json", test_root());
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    assert_int_equal(rules_check_file(p, f), 0);
    fclose(f);
    assert_non_null(strstr(out, "ok: 48 rules, 28 terms"));
}

/* Applies edits to the default document and expects failure with `needle`. */
static void expect_invalid(json_t *doc, const char *needle)
{
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(doc, "x.json", &errs);
    if (rs != NULL || !has_error(&errs, needle)) {
        print_errors(&errs);
        fail_msg("expected an error containing \"%s\"", needle);
    }
    rules_errors_free(&errs);
}

static json_t *rule_by_id(json_t *doc, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "rules"), i,
                       r) if (strcmp(json_string_value(json_object_get(r, "id")), id) ==
                              0) return r;
    fail_msg("no rule %s", id);
    return NULL;
}

static void test_errors_name_file_rule_field(void **state)
{
    (void)state;
    json_t *doc = test_default_rules_doc();
    json_t *rs1 = rule_by_id(doc, "L24-RS-1");
    json_object_set_new(json_object_get(rs1, "resume"), "when",
                        json_pack("{s:s, s:s}", "latest", "spo2", "gt", "ninety"));
    json_object_set_new(rule_by_id(doc, "L24-CV-2"), "when",
                        json_pack("{s:s, s:i}", "latest", "sbpx", "lt", 90));
    json_object_del(rule_by_id(doc, "LEG-RN-1"), "source");
    json_object_set_new(rule_by_id(doc, "CWG-R-HR"), "colour", json_string("red"));
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(doc, "il2-default.json", &errs);
    assert_null(rs);
    /* all errors, not just the first */
    assert_true(errs.n >= 4);
    assert_true(has_error(&errs, "il2-default.json: rule L24-RS-1: field 'resume.when.gt': "
                                 "expected a number or an operand object"));
    assert_true(has_error(&errs, "il2-default.json: rule L24-CV-2: field 'when.latest': unknown "
                                 "observation code 'sbpx'"));
    assert_true(has_error(&errs, "il2-default.json: rule LEG-RN-1: field 'source': required"));
    assert_true(has_error(&errs, "il2-default.json: rule CWG-R-HR: field 'colour': unknown field"));
    rules_errors_free(&errs);
    json_decref(doc);
}

static void test_semantic_errors(void **state)
{
    (void)state;
    json_t *doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "L24-GI-1"), "when",
                        json_pack("{s:s, s:i}", "latest", "fobt", "gt", 1));
    expect_invalid(doc, "rule L24-GI-1: field 'when': a categorical value is compared with 'in'");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "L24-RS-1"), "when",
                        json_pack("{s:s, s:f}", "peak_since_hold", "creatinine", "gt", 1.5));
    expect_invalid(doc, "peak_since_hold is only allowed in a resume condition");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "CWG-R-HR"), "action", json_string("hold"));
    expect_invalid(doc, "rule CWG-R-HR: field 'action': consensus criteria");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "CWG-A-HR"), "id", json_string("CWG-R-HR"));
    expect_invalid(doc, "rule CWG-R-HR: field 'id': duplicate rule id");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "L24-NE-1"), "when", json_pack("{s:s}", "ref", "nope"));
    expect_invalid(doc, "rule L24-NE-1: field 'when.ref': no condition named 'nope'");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(rule_by_id(doc, "CWG-R-UO"), "when",
                        json_pack("{s:s, s:i, s:i}", "sum", "hr", "hours", 8, "ge", 80));
    expect_invalid(doc, "sum needs an interval code");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(json_object_get(doc, "schedule"), "make_up_held_doses", json_true());
    expect_invalid(doc, "schedule: field 'make_up_held_doses': only false is supported");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_object_set_new(json_object_get(doc, "consensus"), "policy", json_string("S6"));
    expect_invalid(doc, "consensus: field 'policy': expected S4b or S5");
    json_decref(doc);

    /* a numeric 'latest' with no freshness window would never go stale */
    doc = test_default_rules_doc();
    json_t *fr = json_array_get(json_object_get(doc, "freshness"), 0);
    json_t *codes = json_object_get(fr, "codes");
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c)
    {
        if (strcmp(json_string_value(c), "spo2") == 0) {
            json_array_remove(codes, i);
            break;
        }
    }
    expect_invalid(doc, "numeric code 'spo2' is read as 'latest' but has no freshness window");
    json_decref(doc);

    doc = test_default_rules_doc();
    json_t *t0 = json_array_get(json_object_get(doc, "terms"), 0);
    json_object_set_new(json_array_get(json_object_get(t0, "grades"), 0), "grade", json_integer(5));
    expect_invalid(doc, "term fever: field 'grades[0].grade': expected an integer 1-4");
    json_decref(doc);
}

static void test_bad_files(void **state)
{
    (void)state;
    char out[2048] = {0};
    const char *path = "/tmp/wardd_test_rules_bad.json";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"name\": \"x\",\n \"version\": }\n", f);
    fclose(f);
    FILE *o = fmemopen(out, sizeof out - 1, "w");
    assert_int_equal(rules_check_file(path, o), 1);
    fclose(o);
    assert_non_null(strstr(out, "wardd_test_rules_bad.json: line 2"));

    memset(out, 0, sizeof out);
    f = fopen(path, "w");
    fputs("{\"name\": \"x\", \"version\": 1}\n", f);
    fclose(f);
    o = fmemopen(out, sizeof out - 1, "w");
    assert_int_equal(rules_check_file(path, o), 1);
    fclose(o);
    assert_non_null(strstr(out, "field 'rules': expected a non-empty array of rules"));
    assert_non_null(strstr(out, "field 'terms': expected a non-empty array of terms"));
    assert_non_null(strstr(out, "field 'schedule': expected an object"));
    remove(path);

    o = fmemopen(out, sizeof out - 1, "w");
    assert_int_equal(rules_check_file("/nonexistent/rules.json", o), 1);
    fclose(o);
}

/* The caller's pointer swap: a failed load returns NULL and the loaded set
 * stays valid; references are counted. */
static void test_swap_and_refs(void **state)
{
    (void)state;
    json_t *doc = test_default_rules_doc();
    rules_set *active = rules_load_json(doc, "il2-default.json", NULL);
    assert_non_null(active);
    json_object_set_new(doc, "version", json_string("two"));
    rules_set *next = rules_load_json(doc, "il2-default.json", NULL);
    assert_null(next); /* active stays */
    assert_string_equal(active->name, "il2-default");
    rules_set *held = rules_ref(active);
    rules_unref(active);
    assert_string_equal(held->name, "il2-default"); /* still alive */
    rules_unref(held);
    rules_unref(NULL);
    json_decref(doc);
}

static void test_policy_s5(void **state)
{
    (void)state;
    json_t *doc = test_default_rules_doc();
    json_object_set_new(json_object_get(doc, "consensus"), "policy", json_string("S5"));
    rules_set *rs = rules_load_json(doc, "x.json", NULL);
    assert_non_null(rs);
    assert_int_equal(rs->policy, RULES_POLICY_S5);
    assert_string_equal(rs->consensus_id, "CWG-S5");
    rules_unref(rs);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_loads),
        cmocka_unit_test(test_check_file_ok),
        cmocka_unit_test(test_errors_name_file_rule_field),
        cmocka_unit_test(test_semantic_errors),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_swap_and_refs),
        cmocka_unit_test(test_policy_s5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
