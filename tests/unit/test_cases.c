/* test_cases: runs every scenario folder in tests/cases/ against the engine.
 *
 * A folder holds (format in tests/cases/README.md):
 *   patient.json        the patient, docs/api.md POST /api/v1/patients body
 *   observations.json   array of reading items, docs/api.md POST .../observations
 *                       "readings" items ({code, value, unit?, time})
 *   doses.json          optional: array of docs/api.md POST .../doses bodies
 *   ruleset_patch.json  optional: JSON merge patch (RFC 7396) applied to
 *                       schema/rules/il2-default.json (e.g. policy S5)
 *   course.json         optional: the person's earlier courses (admissions of
 *                       the same MRN): {"previous": [{"admitted_at",
 *                       "discharged_at", "doses"?, "observations"?,
 *                       "response"?: {"category", "date"}}]}; this patient
 *                       is the next course (the doses make each a course
 *                       over HTTP; the engine is given the courses as such)
 *   invalid.json        optional: [{"index", "reason"}], readings of
 *                       observations.json a nurse marked invalid: left out
 *                       here (the engine never sees them), marked through
 *                       the API by it_clinical.c
 *   expected.json       {"description", "checks": [{"at", ...expectations}]}
 * Readings go through obs_parse_reading(), so every folder is also valid
 * input for the HTTP API. Each check is evaluated twice, by full replay and
 * through the incremental live state (engine_state_ingest per reading), and
 * the two results must be identical.
 *
 * The comparison with expected.json lives in cases_check.h, shared with
 * tests/integration/it_clinical.c, which replays the same folders through
 * the HTTP API of a running wardd.
 *
 * The repository root is the working directory, or $WARDD_ROOT. */
#include "engine.h"
#include "obs.h"
#include "rules.h"
#include "timefmt.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "cases_check.h"

typedef struct case_dir {
    char name[128];
    char path[1024];
} case_dir;

static int compare_dose(const void *a, const void *b)
{
    const engine_dose *x = a, *y = b;
    return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

typedef struct reading_t {
    int code;
    int64_t t;
    double v;
} reading_t;

static int compare_reading(const void *a, const void *b)
{
    const reading_t *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Readings of a case file into a history (file order kept for equal times). */
static engine_hist *hist_of(const char *cs, const json_t *obs, double weight_kg)
{
    engine_hist *h = engine_hist_new();
    obs_context octx = {.now_ms = INT64_MAX / 2, .weight_kg = weight_kg, .require_id = false};
    size_t i;
    json_t *v;

    assert_non_null(h);
    json_array_foreach(obs, i, v)
    {
        obs_reading r;
        obs_error oe;
        if (obs_parse_reading(v, &octx, &r, &oe) != 0)
            fail_msg("%s: observations[%zu]: %s: %s", cs, i, oe.code, oe.message);
        assert_int_equal(engine_hist_add(h, r.code->id, r.time_ms, r.value), 0);
    }
    return h;
}

/* The engine_course of course.json, as the server derives it: the course
 * number, the previous course's discharge and latest response, and a
 * permanent discontinue in an earlier course (each evaluated at its
 * discharge). */
static void load_course(const char *cs, const json_t *course, const rules_set *rs,
                        engine_patient *pt)
{
    const json_t *prev = json_object_get(course, "previous");
    size_t n = json_array_size(prev), i;
    json_t *v;

    if (course == NULL)
        return;
    pt->course.number = (int)n + 1;
    json_array_foreach(prev, i, v)
    {
        int64_t dis = 0;
        const json_t *resp = json_object_get(v, "response");
        assert_int_equal(
            timefmt_parse(json_string_value(json_object_get(v, "discharged_at")), &dis), 0);
        if (i + 1 == n) {
            pt->course.prev_discharge_ms = dis;
            if (resp) {
                snprintf(pt->course.prev_response, sizeof pt->course.prev_response, "%s",
                         json_string_value(json_object_get(resp, "category")));
                snprintf(pt->course.prev_response_date, sizeof pt->course.prev_response_date, "%s",
                         json_string_value(json_object_get(resp, "date")));
            }
        }
        engine_patient earlier;
        engine_patient_init(&earlier, 100 + (int64_t)i);
        earlier.baseline[RULES_BL_WEIGHT_KG] = pt->baseline[RULES_BL_WEIGHT_KG];
        engine_hist *h = hist_of(cs, json_object_get(v, "observations"), NAN);
        engine_result *r = engine_evaluate(rs, &earlier, h, dis, NULL);
        assert_non_null(r);
        const char *rule = engine_permanent_rule(r);
        if (rule && !pt->course.permanent_rule[0]) {
            snprintf(pt->course.permanent_rule, sizeof pt->course.permanent_rule, "%s", rule);
            pt->course.permanent_course = (int)i + 1;
        }
        engine_result_free(r);
        engine_hist_free(h);
    }
}

static void run_case(void **state)
{
    const case_dir *cd = *state;
    const char *cs = cd->name;
    json_t *patient = cases_load_opt(cd->path, "patient.json");
    json_t *obs = cases_load_opt(cd->path, "observations.json");
    json_t *doses = cases_load_opt(cd->path, "doses.json");
    json_t *patch = cases_load_opt(cd->path, "ruleset_patch.json");
    json_t *expected = cases_load_opt(cd->path, "expected.json");
    json_t *course = cases_load_opt(cd->path, "course.json");
    json_t *invalid = cases_load_opt(cd->path, "invalid.json");
    assert_non_null(patient);
    assert_non_null(expected);

    char rpath[600];
    snprintf(rpath, sizeof rpath, "%s/schema/rules/il2-default.json", test_root());
    json_error_t jerr;
    json_t *rdoc = json_load_file(rpath, 0, &jerr);
    assert_non_null(rdoc);
    if (patch != NULL)
        cases_merge_patch(rdoc, patch);
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(rdoc, "il2-default.json", &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    assert_non_null(rs);

    engine_patient pt;
    engine_patient_init(&pt, 1);
    char err[200];
    assert_int_equal(engine_patient_from_json(patient, &pt, err, sizeof err), 0);
    load_course(cs, course, rs, &pt);

    size_t nd = json_array_size(doses);
    engine_dose *dv = calloc(nd + 1, sizeof *dv);
    size_t i;
    json_t *v;
    json_array_foreach(doses, i, v)
    {
        assert_int_equal(timefmt_parse(json_string_value(json_object_get(v, "time")), &dv[i].t_ms),
                         0);
        dv[i].given = strcmp(json_string_value(json_object_get(v, "status")), "given") == 0;
    }
    qsort(dv, nd, sizeof *dv, compare_dose);
    pt.doses = dv;
    pt.n_doses = nd;

    size_t nr = json_array_size(obs);
    reading_t *rv = calloc(nr + 1, sizeof *rv);
    obs_context octx = {
        .now_ms = INT64_MAX / 2, .weight_kg = pt.baseline[RULES_BL_WEIGHT_KG], .require_id = false};
    json_array_foreach(obs, i, v)
    {
        obs_reading r;
        obs_error oe;
        if (obs_parse_reading(v, &octx, &r, &oe) != 0)
            fail_msg("%s: observations[%zu]: %s: %s", cs, i, oe.code, oe.message);
        if (cases_marked_invalid(invalid, i)) {
            rv[i].code = -1; /* dropped below */
            continue;
        }
        rv[i].code = r.code->id;
        rv[i].t = r.time_ms;
        rv[i].v = r.value;
    }
    /* stable sort keeps file order for equal times */
    for (size_t a = 1; a < nr; a++)
        for (size_t b = a; b > 0 && compare_reading(&rv[b - 1], &rv[b]) > 0; b--) {
            reading_t t = rv[b - 1];
            rv[b - 1] = rv[b];
            rv[b] = t;
        }
    {
        size_t kept = 0; /* readings marked invalid leave the history */
        for (size_t k = 0; k < nr; k++)
            if (rv[k].code >= 0)
                rv[kept++] = rv[k];
        nr = kept;
    }
    engine_hist *all = engine_hist_new();
    for (size_t k = 0; k < nr; k++)
        assert_int_equal(engine_hist_add(all, rv[k].code, rv[k].t, rv[k].v), 0);

    int before = cases_failures;
    json_array_foreach(json_object_get(expected, "checks"), i, v)
    {
        const char *at_s = json_string_value(json_object_get(v, "at"));
        int64_t at;
        assert_non_null(at_s);
        assert_int_equal(timefmt_parse(at_s, &at), 0);
        engine_result *r = engine_evaluate(rs, &pt, all, at, NULL);
        assert_non_null(r);
        json_t *j = engine_result_to_json(r);
        assert_non_null(j);
        cases_check(cs, v, j);
        if (getenv("WARDD_CASES_DUMP") != NULL) {
            char *s = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
            fprintf(stderr, "--- %s at %s\n%s\n", cs, at_s, s);
            free(s);
        }

        /* the live path: a state fed reading by reading must agree */
        engine_hist *live = engine_hist_new();
        engine_state *st = engine_state_new(rs);
        for (size_t k = 0; k < nr && rv[k].t <= at; k++) {
            assert_int_equal(engine_hist_add(live, rv[k].code, rv[k].t, rv[k].v), 0);
            if (k + 1 == nr || rv[k + 1].t != rv[k].t)
                assert_int_equal(engine_state_ingest(st, &pt, live, rv[k].t), 0);
        }
        engine_result *r2 = engine_evaluate(rs, &pt, live, at, st);
        json_t *j2 = engine_result_to_json(r2);
        if (!json_equal(j, j2)) {
            char *a = cases_dump(j), *b = cases_dump(j2);
            cases_report(cs, at_s,
                         "live state result differs from replay:\n    replay %s\n    live   %s", a,
                         b);
            free(a);
            free(b);
        }
        json_decref(j2);
        engine_result_free(r2);
        engine_state_free(st);
        engine_hist_free(live);
        json_decref(j);
        engine_result_free(r);
    }
    engine_hist_free(all);
    free(rv);
    free(dv);
    rules_unref(rs);
    rules_errors_free(&errs);
    json_decref(rdoc);
    json_decref(patient);
    json_decref(obs);
    json_decref(doses);
    json_decref(patch);
    json_decref(expected);
    json_decref(course);
    json_decref(invalid);
    if (cases_failures != before)
        fail_msg("%s: %d expectation(s) failed", cs, cases_failures - before);
}

static int compare_case(const void *a, const void *b)
{
    return strcmp(((const case_dir *)a)->name, ((const case_dir *)b)->name);
}

int main(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/cases", test_root());
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository root or set WARDD_ROOT)\n", dir);
        return 1;
    }
    size_t n = 0, cap = 64;
    case_dir *cases = calloc(cap, sizeof *cases);
    if (cases == NULL) {
        closedir(d);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof cases[0].name)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s/expected.json", dir, e->d_name);
        FILE *f = fopen(p, "r");
        if (f == NULL)
            continue;
        fclose(f);
        if (n == cap) {
            case_dir *c2 = realloc(cases, 2 * cap * sizeof *cases);
            if (c2 == NULL)
                break;
            cases = c2;
            cap *= 2;
        }
        memcpy(cases[n].name, e->d_name, strlen(e->d_name) + 1);
        snprintf(cases[n].path, sizeof cases[n].path, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "no case folders in %s\n", dir);
        free(cases);
        return 1;
    }
    qsort(cases, n, sizeof *cases, compare_case);
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    if (tests == NULL) {
        free(cases);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &cases[i];
    }
    int rc = _cmocka_run_group_tests("cases", tests, n, NULL, NULL);
    free(tests);
    free(cases);
    return rc;
}
