/* rules: load and validate a rule set (contract in include/rules.h, language
 * in docs/rules.md).
 *
 * Loading walks the whole document once and reports every problem it finds
 * (never only the first), each as "FILE: WHERE: field 'PATH': MESSAGE". The
 * compiled set points into a private deep copy of the document, and every
 * allocation is recorded in one arena freed with the set. A set with any
 * error is freed before returning NULL, so a caller never sees half a set.
 *
 * The loader is split by what it reads: rules_fields.c (foundations),
 * rules_operands.c, rules_cond.c, rules_sections.c, rules_alerts.c; their
 * shared declarations are in rules_int.h. */
#include "rules_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Load                                                                    */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static void compute_deps(ld *L)
{
    rules_set *rs = L->rs;
    depset d = {calloc(rs->n_codes ? rs->n_codes : 1, sizeof(bool)), rs->n_codes};
    if (d.has == NULL) {
        rl_ld_err(L, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < rs->n_conds; i++) {
        rl_deps_cond(rs, rs->conds[i].when, &d);
        rl_deps_finish(L, &d, &rs->conds[i].deps);
        rl_finish_cond_deps(L, rs->conds[i].when, &d);
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        rules_rule *r = &rs->rules[i];
        rl_finish_cond_deps(L, r->when, &d);
        rl_finish_cond_deps(L, r->resume, &d);
        rl_deps_cond(rs, r->when, &d);
        rl_deps_cond(rs, r->resume, &d);
        rl_deps_finish(L, &d, &r->deps);
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        rules_term *t = &rs->terms[i];
        for (size_t j = 0; j < t->grades.n; j++) {
            rl_finish_cond_deps(L, t->grades.levels[j].when, &d);
            rl_deps_cond(rs, t->grades.levels[j].when, &d);
        }
        if (t->clinician_code >= 0)
            d.has[t->clinician_code] = true;
        rl_deps_finish(L, &d, &t->grades.deps);
        for (size_t j = 0; j < t->suggest.n; j++) {
            rl_finish_cond_deps(L, t->suggest.levels[j].when, &d);
            rl_deps_cond(rs, t->suggest.levels[j].when, &d);
        }
        rl_deps_finish(L, &d, &t->suggest.deps);
    }
    for (size_t i = 0; i < rs->n_news2; i++) {
        rules_news2_param *pm = &rs->news2[i];
        rl_deps_cond(rs, pm->guard, &d);
        for (size_t j = 0; j < pm->n_bands; j++) {
            rl_finish_cond_deps(L, pm->bands[j].when, &d);
            rl_deps_cond(rs, pm->bands[j].when, &d);
        }
        rl_deps_finish(L, &d, &pm->deps);
    }
    for (size_t j = 0; j < rs->kdigo.n; j++) {
        rl_finish_cond_deps(L, rs->kdigo.levels[j].when, &d);
        rl_deps_cond(rs, rs->kdigo.levels[j].when, &d);
    }
    rl_deps_finish(L, &d, &rs->kdigo.deps);
    free(d.has);
}

static void check_all_fresh(ld *L)
{
    rules_set *rs = L->rs;
    for (size_t i = 0; i < rs->n_conds; i++) {
        rl_set_where(L, "condition", rs->conds[i].name);
        rl_check_fresh_cond(L, rs->conds[i].when, "when");
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        rl_set_where(L, "rule", rs->rules[i].id);
        rl_check_fresh_cond(L, rs->rules[i].when, "when");
        rl_check_fresh_cond(L, rs->rules[i].resume, "resume.when");
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        rl_set_where(L, "term", rs->terms[i].id);
        for (size_t j = 0; j < rs->terms[i].grades.n; j++)
            rl_check_fresh_cond(L, rs->terms[i].grades.levels[j].when, "grades");
        for (size_t j = 0; j < rs->terms[i].suggest.n; j++)
            rl_check_fresh_cond(L, rs->terms[i].suggest.levels[j].when, "suggest");
    }
    rl_set_where(L, "news2", NULL);
    for (size_t i = 0; i < rs->n_news2; i++)
        for (size_t j = 0; j < rs->news2[i].n_bands; j++)
            rl_check_fresh_cond(L, rs->news2[i].bands[j].when, "parameters");
    rl_set_where(L, "kdigo", NULL);
    for (size_t j = 0; j < rs->kdigo.n; j++)
        rl_check_fresh_cond(L, rs->kdigo.levels[j].when, "stages");
    for (size_t i = 0; i < rs->n_required; i++)
        if (rs->required[i] >= 0 && rs->fresh_ms[rs->required[i]] == 0) {
            L->where[0] = '\0';
            rl_ld_err(L, "required.codes", "'%s' has no freshness window",
                      obs_code_by_id(rs->required[i])->code);
        }
    L->where[0] = '\0';
}

static void rules_destroy(rules_set *rs)
{
    if (rs == NULL)
        return;
    json_decref(rs->doc);
    free(rs->file);
    rl_arena_free(rs->arena);
    free(rs);
}

/* A term a rule set adds beyond the built-in CTCAE ones gets its clinician
 * grade code "ctcae.<term>" registered before the set is compiled (the code
 * arrays are sized then). Invalid names are left to rl_parse_terms to
 * report. */
static void register_grade_codes(const json_t *doc)
{
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(doc, "terms"), i, t)
    {
        const char *id = json_string_value(json_object_get(t, "term"));
        const char *label = json_string_value(json_object_get(t, "label"));
        if (id != NULL)
            (void)obs_grade_register(id, label);
    }
}

rules_set *rules_load_json(const json_t *doc_in, const char *file, rules_errors *errs)
{
    rules_set *result = NULL;
    rules_set *rs = calloc(1, sizeof *rs);
    arena *ar = calloc(1, sizeof *ar);
    const char *fname = base_name(file != NULL ? file : "rules");
    ld L = {.rs = rs, .ar = ar, .errs = errs, .file = fname};
    if (rs == NULL || ar == NULL) {
        free(ar);
        ar = NULL;
        L.ar = NULL;
        rl_ld_err(&L, NULL, "out of memory");
        goto fail;
    }
    rs->arena = ar;
    rs->refs = 1;
    rs->file = strdup(fname);
    if (!json_is_object(doc_in)) {
        rl_ld_err(&L, NULL, "expected a JSON object at the top level");
        goto fail;
    }
    rs->doc = json_deep_copy(doc_in);
    register_grade_codes(rs->doc);
    rs->n_codes = obs_code_count();
    rs->fresh_ms = rl_ld_alloc(&L, rs->n_codes * sizeof *rs->fresh_ms);
    rs->interval_code = rl_ld_alloc(&L, rs->n_codes * sizeof *rs->interval_code);
    if (rs->doc == NULL || rs->file == NULL || rs->fresh_ms == NULL || rs->interval_code == NULL) {
        rl_ld_err(&L, NULL, "out of memory");
        goto fail;
    }
    const json_t *doc = rs->doc;
    static const char *const k[] = {
        "name",       "version",        "description", "ctcae_version",
        "freshness",  "interval_codes", "required",    "reference_ranges",
        "conditions", "rules",          "consensus",   "terms",
        "news2",      "kdigo",          "schedule",    "alerts",
        "comment",    "$schema",        NULL};
    rl_check_keys(&L, doc, "", k);
    rs->name = rl_get_str(&L, doc, "", "name", true);
    rl_get_int(&L, doc, "", "version", true, 1, 1000000, &rs->version);
    rs->description = rl_get_str(&L, doc, "", "description", false);
    rs->ctcae_version = rl_get_str(&L, doc, "", "ctcae_version", true);

    rl_parse_freshness(&L, doc);
    rl_parse_interval_codes(&L, doc);
    rl_parse_ranges(&L, doc);
    rl_parse_required(&L, doc);
    rl_parse_named(&L, doc);
    rl_parse_rules(&L, doc);
    rl_parse_consensus(&L, doc);
    rl_parse_terms(&L, doc);
    rl_parse_news2(&L, doc);
    rl_parse_kdigo(&L, doc);
    rl_parse_schedule(&L, doc);
    rl_parse_alerts(&L, doc);
    if (L.n_err == 0)
        check_all_fresh(&L);
    if (L.n_err == 0)
        compute_deps(&L);
    if (L.n_err != 0)
        goto fail;
    result = rs;
    rs = NULL;
fail:
    rules_destroy(rs);
    return result;
}

rules_set *rules_load_file(const char *path, rules_errors *errs)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        ld L = {.errs = errs, .file = base_name(path)};
        if (jerr.line > 0)
            rl_ld_err(&L, NULL, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        else
            rl_ld_err(&L, NULL, "%s", jerr.text);
        return NULL;
    }
    rules_set *rs = rules_load_json(doc, path, errs);
    json_decref(doc);
    return rs;
}

rules_set *rules_ref(rules_set *rs)
{
    if (rs != NULL)
        __atomic_add_fetch(&rs->refs, 1, __ATOMIC_RELAXED);
    return rs;
}

void rules_unref(rules_set *rs)
{
    if (rs != NULL && __atomic_sub_fetch(&rs->refs, 1, __ATOMIC_ACQ_REL) == 0)
        rules_destroy(rs);
}

int rules_term_index(const rules_set *rs, const char *id)
{
    for (size_t i = 0; rs != NULL && id != NULL && i < rs->n_terms; i++)
        if (strcmp(rs->terms[i].id, id) == 0)
            return (int)i;
    return -1;
}

int rules_check_file(const char *path, FILE *out)
{
    rules_errors errs = {0};
    rules_set *rs = rules_load_file(path, &errs);
    int rc = 1;
    if (rs != NULL) {
        fprintf(out, "ok: %zu rules, %zu terms\n", rs->n_rules, rs->n_terms);
        rc = 0;
    } else {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(out, "%s\n", errs.items[i].text);
        if (errs.n == 0)
            fprintf(out, "%s: invalid rule set\n", base_name(path));
    }
    rules_unref(rs);
    rules_errors_free(&errs);
    return rc;
}
