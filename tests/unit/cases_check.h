/* cases_check: loading and checking the scenario folders of tests/cases
 * (format in tests/cases/README.md), shared by tests/unit/test_cases.c (the
 * engine directly) and tests/integration/it_clinical.c (the same folders
 * through the HTTP API of a running wardd), so both compare a toxicity
 * object with expected.json the same way. Header-only: every function is
 * static; failures are counted in cases_failures and printed as
 * "  CASE at TIME: what: expected X, got Y". */
#ifndef WARDD_CASES_CHECK_H
#define WARDD_CASES_CHECK_H

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static __attribute__((unused)) json_t *cases_load_opt(const char *dir, const char *file)
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
static __attribute__((unused)) void cases_merge_patch(json_t *target, const json_t *patch)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else if (json_is_object(v) && json_is_object(json_object_get(target, key))) {
            cases_merge_patch(json_object_get(target, key), v);
        } else {
            json_object_set(target, key, v);
        }
    }
}

/* Whether invalid.json (an array of {"index", "reason"}; NULL = none) marks
 * observations.json item i invalid. */
static __attribute__((unused)) bool cases_marked_invalid(const json_t *invalid, size_t i)
{
    size_t k;
    json_t *v;

    json_array_foreach(invalid, k, v)
    {
        if (json_integer_value(json_object_get(v, "index")) == (json_int_t)i)
            return true;
    }
    return false;
}

static int cases_failures;

static __attribute__((unused)) void cases_report(const char *cs, const char *at, const char *fmt,
                                                 ...) __attribute__((format(printf, 3, 4)));

static __attribute__((unused)) void cases_report(const char *cs, const char *at, const char *fmt,
                                                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  %s at %s: ", cs, at);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    cases_failures++;
}

static __attribute__((unused)) char *cases_dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* Expected value vs actual: numbers compared as numbers, null as null. */
static __attribute__((unused)) bool cases_same(const json_t *want, const json_t *got)
{
    if (json_is_number(want) && json_is_number(got))
        return fabs(json_number_value(want) - json_number_value(got)) < 1e-6;
    return json_equal((json_t *)want, (json_t *)got);
}

static __attribute__((unused)) void cases_expect_field(const char *cs, const char *at,
                                                       const char *what, const json_t *want,
                                                       const json_t *got)
{
    if (got == NULL && json_is_null(want))
        return;
    if (got == NULL || !cases_same(want, got)) {
        char *w = cases_dump(want), *g = got != NULL ? cases_dump(got) : NULL;
        cases_report(cs, at, "%s: expected %s, got %s", what, w, g != NULL ? g : "(absent)");
        free(w);
        free(g);
    }
}

static void cases_expect_items(const char *cs, const char *at, const char *what, const json_t *want,
                               const json_t *got);

/* Compares the keys of `want` with the cases_same keys of object `got`. */
static __attribute__((unused)) void cases_expect_object(const char *cs, const char *at,
                                                        const char *what, const json_t *want,
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
            cases_expect_object(cs, at, w, v, g);
        else if (json_is_array(v) && json_is_array(g) && json_is_object(json_array_get(v, 0)))
            cases_expect_items(cs, at, w, v, g);
        else
            cases_expect_field(cs, at, w, v, g);
    }
}

/* An array of objects: as many items as expected, each compared key by
 * key with the item at the same place. */
static void cases_expect_items(const char *cs, const char *at, const char *what, const json_t *want,
                               const json_t *got)
{
    if (json_array_size(want) != json_array_size(got)) {
        char *g = cases_dump(got);
        cases_report(cs, at, "%s: expected %zu items, got %s", what, json_array_size(want), g);
        free(g);
        return;
    }
    for (size_t i = 0; i < json_array_size(want); i++) {
        char w[200];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        cases_expect_object(cs, at, w, json_array_get(want, i), json_array_get(got, i));
    }
}

static __attribute__((unused)) json_t *cases_rule_ids(const json_t *arr)
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

static __attribute__((unused)) bool cases_contains(const json_t *arr, const char *s)
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

static __attribute__((unused)) void cases_expect_set(const char *cs, const char *at,
                                                     const char *what, const json_t *want,
                                                     const json_t *got, bool exact)
{
    size_t i;
    json_t *v;
    bool ok = true;
    json_array_foreach(want, i, v)
    {
        ok &= cases_contains(got, json_string_value(v));
    }
    if (exact && json_array_size(want) != json_array_size(got))
        ok = false;
    if (!ok) {
        char *w = cases_dump(want), *g = cases_dump(got);
        cases_report(cs, at, "%s: expected %s%s, got %s", what, exact ? "" : "to include ", w, g);
        free(w);
        free(g);
    }
}

static __attribute__((unused)) void cases_check(const char *cs, const json_t *chk,
                                                const json_t *res)
{
    const char *at = json_string_value(json_object_get(chk, "at"));
    const json_t *dec = json_object_get(res, "decision");
    json_t *v;
    if ((v = json_object_get(chk, "decision")) != NULL)
        cases_expect_field(cs, at, "decision.action", v, json_object_get(dec, "action"));
    json_t *ids = cases_rule_ids(json_object_get(dec, "reasons"));
    if ((v = json_object_get(chk, "reasons")) != NULL)
        cases_expect_set(cs, at, "decision.reasons", v, ids, true);
    if ((v = json_object_get(chk, "reasons_include")) != NULL)
        cases_expect_set(cs, at, "decision.reasons", v, ids, false);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(chk, "reasons_exclude"), i, x)
    {
        if (cases_contains(ids, json_string_value(x)))
            cases_report(cs, at, "decision.reasons: %s must not fire", json_string_value(x));
    }
    json_decref(ids);
    /* reason_detail: {"RULE": {"text": ..., "evidence": [{"value", "time"}]}} */
    const char *rk;
    json_object_foreach(json_object_get(chk, "reason_detail"), rk, v)
    {
        const json_t *reason = NULL;
        char w[160];
        json_array_foreach(json_object_get(dec, "reasons"), i, x)
        {
            if (strcmp(json_string_value(json_object_get(x, "rule")), rk) == 0)
                reason = x;
        }
        snprintf(w, sizeof w, "decision.reasons.%s", rk);
        if (reason == NULL)
            cases_report(cs, at, "%s: no such reason", w);
        else
            cases_expect_object(cs, at, w, v, reason);
    }
    if ((v = json_object_get(chk, "missing")) != NULL)
        cases_expect_set(cs, at, "decision.missing", v, json_object_get(dec, "missing"), true);
    if ((v = json_object_get(chk, "not_evaluated_include")) != NULL) {
        json_t *ne = cases_rule_ids(json_object_get(dec, "not_evaluated"));
        cases_expect_set(cs, at, "decision.not_evaluated", v, ne, false);
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
            cases_report(cs, at, "%s: no such term", w);
        else if (json_is_object(v))
            cases_expect_object(cs, at, w, v, term);
        else
            cases_expect_field(cs, at, w, v, json_object_get(term, "grade"));
    }
    static const char *const parts[] = {"news2", "kdigo", "schedule"};
    for (size_t p = 0; p < 3; p++)
        if ((v = json_object_get(chk, parts[p])) != NULL)
            cases_expect_object(cs, at, parts[p], v, json_object_get(res, parts[p]));
}

#endif
