/* it_catalogue: GET /api/v1/catalogue (the one catalogue of codes, baseline
 * and limit keys and CTCAE terms) and clinician grades validated against
 * the active rule set's terms: a rule set that adds a term can receive
 * grades for it, one that drops a term no longer accepts them. */
#include "harness.h"

#include <curl/curl.h>
#include <string.h>

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

static void test_catalogue_shape(void **state)
{
    wd_fixture *f = *state;
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/catalogue", NULL, NULL);
    json_t *x;

    WD_EXPECT_ERR(r, 401, "unauthenticated");
    r = wd_req(f->s, "GET", "/api/v1/catalogue", f->viewer, NULL);
    WD_EXPECT(r, 200);
    x = wd_find(WD_ARR(r->json, "codes"), "code", "hr");
    assert_non_null(x);
    assert_string_equal(WD_STR(x, "label"), "Heart rate");
    assert_string_equal(WD_STR(x, "unit"), "/min");
    assert_string_equal(WD_STR(x, "kind"), "numeric");
    assert_string_equal(WD_STR(x, "loinc"), "8867-4");
    x = wd_find(WD_ARR(r->json, "codes"), "code", "phenylephrine");
    assert_non_null(x);
    assert_true(json_is_null(json_object_get(x, "loinc")));
    x = wd_find(WD_ARR(r->json, "codes"), "code", "rhythm");
    assert_string_equal(WD_STR(x, "kind"), "categorical");
    x = wd_find(WD_ARR(r->json, "codes"), "code", "ctcae.fever");
    assert_string_equal(WD_STR(x, "kind"), "grade");
    assert_int_equal(json_array_size(WD_ARR(r->json, "baseline_keys")), 7);
    x = wd_find(WD_ARR(r->json, "baseline_keys"), "key", "weight_kg");
    assert_string_equal(WD_STR(x, "unit"), "kg");
    WD_NEAR(WD_NUM(x, "min"), 20, 1e-9);
    WD_NEAR(WD_NUM(x, "max"), 400, 1e-9);
    assert_int_equal(json_array_size(WD_ARR(r->json, "limit_keys")), 9);
    x = wd_find(WD_ARR(r->json, "limit_keys"), "key", "creatinine_uln");
    assert_string_equal(WD_STR(x, "label"), "Creatinine ULN");
    assert_int_equal(json_array_size(WD_ARR(r->json, "ctcae_terms")), 28);
    x = wd_find(WD_ARR(r->json, "ctcae_terms"), "term", "somnolence");
    assert_string_equal(WD_STR(x, "label"), "Somnolence");
    /* the patient API validates with the same table */
    {
        const char *bed = wd_new_bed(f);
        r = wd_reqj(f->s, "POST", "/api/v1/patients", f->nurse,
                    json_pack("{s:s, s:s, s:s, s:{s:f}}", "mrn", wd_uniq(f->s, "CAT"), "name",
                              "Catalogue", "bed", bed, "baseline", "weight_kg", 401.0));
        WD_EXPECT_ERR(r, 422, "validation_failed");
        assert_string_equal(WD_STR(r->json, "error.details.0.field"), "baseline.weight_kg");
    }
}

static long post_grade(wd_fixture *f, long long pid, const char *code, int grade)
{
    json_t *items = json_pack("[o]", wd_item(NULL, code, json_integer(grade), NULL, wd_now_ms()));
    wd_resp *r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid),
                         f->nurse, json_pack("{s:o}", "readings", items));
    return r->status;
}

static void test_grades_follow_the_rule_set(void **state)
{
    wd_fixture *f = *state;
    json_t *doc = default_rules(), *terms, *t;
    long long pid = wd_admit(f, wd_new_bed(f), 0, NULL);
    wd_resp *r;
    size_t i, drop = 0;

    /* not a term of the default set: rejected, nothing stored */
    r = wd_reqj(
        f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid), f->nurse,
        json_pack("{s:[o]}", "readings",
                  wd_item(NULL, "ctcae.mucositis_oral", json_integer(2), NULL, wd_now_ms())));
    WD_EXPECT_ERR(r, 422, "no_reading_accepted");
    assert_string_equal(WD_STR(r->json, "rejected.0.code"), "unknown_code");
    assert_int_equal(post_grade(f, pid, "ctcae.chills", 1), 201);

    /* a rule set that adds mucositis and drops chills */
    terms = json_object_get(doc, "terms");
    json_array_foreach(terms, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "term")), "chills") == 0)
            drop = i;
    }
    assert_int_equal(json_array_remove(terms, drop), 0);
    json_array_append_new(terms,
                          json_pack("{s:s, s:s, s:s, s:[]}", "term", "mucositis_oral", "label",
                                    "Mucositis oral", "source",
                                    "CTCAE v5.0 Mucositis oral (MedDRA 10028130)", "grades"));
    r = wd_reqj(f->s, "PUT", "/api/v1/rules", f->admin, doc);
    WD_EXPECT(r, 200);

    assert_int_equal(post_grade(f, pid, "ctcae.mucositis_oral", 2), 201);
    assert_int_equal(post_grade(f, pid, "ctcae.chills", 1), 422);
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    t = wd_find(WD_ARR(r->json, "terms"), "term", "mucositis_oral");
    assert_non_null(t);
    assert_int_equal(WD_INT(t, "grade"), 2);
    r = wd_req(f->s, "GET", "/api/v1/catalogue", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_non_null(wd_find(WD_ARR(r->json, "ctcae_terms"), "term", "mucositis_oral"));
    assert_null(wd_find(WD_ARR(r->json, "ctcae_terms"), "term", "chills"));
    assert_non_null(wd_find(WD_ARR(r->json, "codes"), "code", "ctcae.mucositis_oral"));
    assert_null(wd_find(WD_ARR(r->json, "codes"), "code", "ctcae.chills"));

    /* after a restart the stored grade is read back under the same term */
    wd_restart(f->s);
    wd_fixture_login(f);
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(wd_find(WD_ARR(r->json, "terms"), "term", "mucositis_oral"), "grade"),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catalogue_shape, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_grades_follow_the_rule_set, wd_fixture_setup,
                                        wd_fixture_teardown),
    };

    curl_global_init(CURL_GLOBAL_ALL);
    return cmocka_run_group_tests_name("catalogue", tests, NULL, NULL);
}
