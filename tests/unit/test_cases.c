/* test_cases: runs every scenario folder in tests/cases/ against the engine.
 *
 * A folder holds (format in tests/cases/README.md):
 *   patient.json        the patient, API.md POST /api/v1/patients body
 *   observations.json   array of reading items, API.md POST .../observations
 *                       "readings" items ({code, value, unit?, time})
 *   doses.json          optional: array of API.md POST .../doses bodies
 *   ruleset_patch.json  optional: JSON merge patch (RFC 7396) applied to
 *                       schema/rules/il2-default.json (e.g. policy S5)
 *   expected.json       {"description", "checks": [{"at", ...expectations}]}
 * Readings go through obs_parse_reading(), so every folder is also valid
 * input for the HTTP API. Each check is evaluated twice, by full replay and
 * through the incremental live state (engine_state_ingest per reading), and
 * the two results must be identical.
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

typedef struct case_dir {
    char name[128];
    char path[1024];
} case_dir;

static const char *root(void)
{
    const char *r = getenv("WARDD_ROOT");
    return r != NULL && r[0] != '\0' ? r : ".";
}

static json_t *load_opt(const char *dir, const char *file)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return NULL;
    fclose(f);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (j == NULL)
        fail_msg("%s: line %d: %s", p, err.line, err.text);
    return j;
}

/* RFC 7396 JSON merge patch, in place. */
static void merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else if (json_is_object(v) && json_is_object(json_object_get(target, key))) {
            merge_patch(json_object_get(target, key), v);
        } else {
            json_object_set(target, key, v);
        }
    }
}

static int failures;

static void report(const char *cs, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const char *cs, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  %s at %s: ", cs, at);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* Expected value vs actual: numbers compared as numbers, null as null. */
static bool same(const json_t *want, const json_t *got)
{
    if (json_is_number(want) && json_is_number(got))
        return fabs(json_number_value(want) - json_number_value(got)) < 1e-6;
    return json_equal((json_t *)want, (json_t *)got);
}

static void expect_field(const char *cs, const char *at, const char *what, const json_t *want,
                         const json_t *got)
{
    if (got == NULL && json_is_null(want))
        return;
    if (got == NULL || !same(want, got)) {
        char *w = dump(want), *g = got != NULL ? dump(got) : NULL;
        report(cs, at, "%s: expected %s, got %s", what, w, g != NULL ? g : "(absent)");
        free(w);
        free(g);
    }
}

/* Compares the keys of `want` with the same keys of object `got`. */
static void expect_object(const char *cs, const char *at, const char *what, const json_t *want,
                          const json_t *got)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)want, key, v)
    {
        char w[160];
        snprintf(w, sizeof w, "%s.%s", what, key);
        json_t *g = json_object_get(got, key);
        if (json_is_object(v) && json_is_object(g))
            expect_object(cs, at, w, v, g);
        else
            expect_field(cs, at, w, v, g);
    }
}

static json_t *rule_ids(const json_t *arr)
{
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        json_array_append(ids, json_object_get(v, "rule"));
    }
    return ids;
}

static bool contains(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static void expect_set(const char *cs, const char *at, const char *what, const json_t *want,
                       const json_t *got, bool exact)
{
    size_t i;
    json_t *v;
    bool ok = true;
    json_array_foreach(want, i, v)
    {
        ok &= contains(got, json_string_value(v));
    }
    if (exact && json_array_size(want) != json_array_size(got))
        ok = false;
    if (!ok) {
        char *w = dump(want), *g = dump(got);
        report(cs, at, "%s: expected %s%s, got %s", what, exact ? "" : "to include ", w, g);
        free(w);
        free(g);
    }
}

static void check_one(const char *cs, const json_t *chk, const json_t *res)
{
    const char *at = json_string_value(json_object_get(chk, "at"));
    const json_t *dec = json_object_get(res, "decision");
    json_t *v;
    if ((v = json_object_get(chk, "decision")) != NULL)
        expect_field(cs, at, "decision.action", v, json_object_get(dec, "action"));
    json_t *ids = rule_ids(json_object_get(dec, "reasons"));
    if ((v = json_object_get(chk, "reasons")) != NULL)
        expect_set(cs, at, "decision.reasons", v, ids, true);
    if ((v = json_object_get(chk, "reasons_include")) != NULL)
        expect_set(cs, at, "decision.reasons", v, ids, false);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(chk, "reasons_exclude"), i, x)
    {
        if (contains(ids, json_string_value(x)))
            report(cs, at, "decision.reasons: %s must not fire", json_string_value(x));
    }
    json_decref(ids);
    if ((v = json_object_get(chk, "missing")) != NULL)
        expect_set(cs, at, "decision.missing", v, json_object_get(dec, "missing"), true);
    if ((v = json_object_get(chk, "not_evaluated_include")) != NULL) {
        json_t *ne = rule_ids(json_object_get(dec, "not_evaluated"));
        expect_set(cs, at, "decision.not_evaluated", v, ne, false);
        json_decref(ne);
    }
    /* terms: {"fever": 2, "hypoxia": null} or {"fever": {"grade": 2, "max_grade": 3}} */
    const char *key;
    json_object_foreach(json_object_get(chk, "terms"), key, v)
    {
        json_t *term = NULL;
        json_array_foreach(json_object_get(res, "terms"), i,
                           x) if (strcmp(json_string_value(json_object_get(x, "term")), key) == 0)
            term = x;
        char w[160];
        snprintf(w, sizeof w, "terms.%s", key);
        if (term == NULL)
            report(cs, at, "%s: no such term", w);
        else if (json_is_object(v))
            expect_object(cs, at, w, v, term);
        else
            expect_field(cs, at, w, v, json_object_get(term, "grade"));
    }
    static const char *const parts[] = {"news2", "kdigo", "schedule"};
    for (size_t p = 0; p < 3; p++)
        if ((v = json_object_get(chk, parts[p])) != NULL)
            expect_object(cs, at, parts[p], v, json_object_get(res, parts[p]));
}

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

static void run_case(void **state)
{
    const case_dir *cd = *state;
    const char *cs = cd->name;
    json_t *patient = load_opt(cd->path, "patient.json");
    json_t *obs = load_opt(cd->path, "observations.json");
    json_t *doses = load_opt(cd->path, "doses.json");
    json_t *patch = load_opt(cd->path, "ruleset_patch.json");
    json_t *expected = load_opt(cd->path, "expected.json");
    assert_non_null(patient);
    assert_non_null(expected);

    char rpath[600];
    snprintf(rpath, sizeof rpath, "%s/schema/rules/il2-default.json", root());
    json_error_t jerr;
    json_t *rdoc = json_load_file(rpath, 0, &jerr);
    assert_non_null(rdoc);
    if (patch != NULL)
        merge_patch(rdoc, patch);
    rules_errors errs = {0};
    rules_set *rs = rules_load_json(rdoc, "il2-default.json", &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.items[i].text);
    assert_non_null(rs);

    engine_patient pt;
    engine_patient_init(&pt, 1);
    char err[200];
    assert_int_equal(engine_patient_from_json(patient, &pt, err, sizeof err), 0);

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
    engine_hist *all = engine_hist_new();
    for (size_t k = 0; k < nr; k++)
        assert_int_equal(engine_hist_add(all, rv[k].code, rv[k].t, rv[k].v), 0);

    int before = failures;
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
        check_one(cs, v, j);
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
            char *a = dump(j), *b = dump(j2);
            report(cs, at_s, "live state result differs from replay:\n    replay %s\n    live   %s",
                   a, b);
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
    if (failures != before)
        fail_msg("%s: %d expectation(s) failed", cs, failures - before);
}

static int compare_case(const void *a, const void *b)
{
    return strcmp(((const case_dir *)a)->name, ((const case_dir *)b)->name);
}

int main(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/cases", root());
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
