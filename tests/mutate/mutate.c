/* mutate: mutation testing of the default rule set (docs/rules.md "Proving
 * the boundaries pinned").
 *
 * Every comparison in schema/rules/il2-default.json is an object member
 * "lt", "le", "gt" or "ge" with a number. The walk is generic (any object
 * anywhere in the document), so new rules, bands and stages are covered
 * without a list to keep. Each comparison yields three mutants, applied one
 * at a time to a copy of the document:
 *   - the operator flipped: lt <-> le, gt <-> ge (same threshold);
 *   - the threshold moved by its smallest printed step, up and down: 1 for
 *     an integer, else 10^-d where d is the number of decimals the value
 *     needs, at least 1 (38.0 -> 0.1, 7.35 -> 0.01).
 * A flip onto a member the object already has is not applicable (skipped).
 * Each mutant is compiled with rules_load_json(); one the loader refuses
 * is killed by validation. Otherwise every case folder of tests/cases runs
 * against it in-process (the case's own ruleset_patch applied on top),
 * by full replay as in tests/unit/test_cases.c, stopping at the first
 * failed expectation: the mutant is killed. A mutant no case kills
 * survives; it must be listed, or the run fails:
 *   tests/mutate/equivalent.txt  with the reason it cannot change any
 *                                outcome (reviewed; permanent);
 *   tests/mutate/open.txt        it can, but no case pins it yet: the
 *                                backlog, which may only shrink.
 * A listed mutant that is killed, or no longer exists, also fails the run
 * (both lists must stay true), so a new rule or case that leaves a
 * boundary unpinned fails `make mutate` until it is pinned or reviewed.
 *
 *   build/tests/mutate [--sample N] [--verbose]
 *     --sample N  CI-sized: every operator flip, the threshold mutants of
 *                 every Nth comparison only
 *
 * Prints one line per surviving or listed mutant and the score
 * "killed/(total - equivalent)". Exit 0 when every non-equivalent mutant
 * is killed. The repository root is the working directory, or $WARDD_ROOT.
 *
 * Case loading repeats tests/unit/test_cases.c's (kept separate there so
 * that file stays a plain cmocka suite): patient, observations through
 * obs_parse_reading(), doses, checks compared by cases_check.h. */
#include "engine.h"
#include "obs.h"
#include "rules.h"
#include "timefmt.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#include "cases_check.h"

#define MAX_CASES 512
#define PATH_LEN  512

/* --- the case folders, loaded once ---------------------------------------- */

typedef struct kase {
    char name[128];
    engine_patient pt;
    engine_dose *doses;
    engine_hist *h;
    json_t *patch;  /* ruleset_patch.json or NULL */
    json_t *checks; /* expected.json "checks" */
    json_t *expected;
} kase;

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

static int load_doses(kase *k, const json_t *doses)
{
    size_t nd = json_array_size(doses), i;
    json_t *v;

    k->doses = calloc(nd + 1, sizeof *k->doses);
    if (!k->doses)
        return -1;
    json_array_foreach(doses, i, v)
    {
        if (timefmt_parse(json_string_value(json_object_get(v, "time")), &k->doses[i].t_ms) != 0)
            return -1;
        k->doses[i].given = strcmp(json_string_value(json_object_get(v, "status")), "given") == 0;
    }
    qsort(k->doses, nd, sizeof *k->doses, compare_dose);
    k->pt.doses = k->doses;
    k->pt.n_doses = nd;
    return 0;
}

/* Readings in time order (file order for equal times, as test_cases.c). */
static int load_history(kase *k, const json_t *obs, const json_t *invalid)
{
    size_t nr = json_array_size(obs), i;
    reading_t *rv = calloc(nr + 1, sizeof *rv);
    obs_context octx = {.now_ms = INT64_MAX / 2,
                        .weight_kg = k->pt.baseline[RULES_BL_WEIGHT_KG],
                        .require_id = false};
    json_t *v;
    int rc = -1;

    k->h = engine_hist_new();
    if (!rv || !k->h)
        goto done;
    json_array_foreach(obs, i, v)
    {
        obs_reading r;
        obs_error oe;
        if (obs_parse_reading(v, &octx, &r, &oe) != 0) {
            fprintf(stderr, "%s: observations[%zu]: %s\n", k->name, i, oe.message);
            goto done;
        }
        /* a reading marked invalid (invalid.json) never reaches the engine */
        rv[i] = (reading_t){cases_marked_invalid(invalid, i) ? -1 : r.code->id, r.time_ms, r.value};
    }
    for (size_t a = 1; a < nr; a++)
        for (size_t b = a; b > 0 && compare_reading(&rv[b - 1], &rv[b]) > 0; b--) {
            reading_t t = rv[b - 1];
            rv[b - 1] = rv[b];
            rv[b] = t;
        }
    for (size_t j = 0; j < nr; j++)
        if (rv[j].code >= 0 && engine_hist_add(k->h, rv[j].code, rv[j].t, rv[j].v) != 0)
            goto done;
    rc = 0;
done:
    free(rv);
    return rc;
}

static int load_case(kase *k, const char *dir)
{
    json_t *patient = cases_load_opt(dir, "patient.json");
    json_t *obs = cases_load_opt(dir, "observations.json");
    json_t *doses = cases_load_opt(dir, "doses.json");
    json_t *invalid = cases_load_opt(dir, "invalid.json");
    char err[200];
    int rc = -1;

    k->patch = cases_load_opt(dir, "ruleset_patch.json");
    k->expected = cases_load_opt(dir, "expected.json");
    k->checks = json_object_get(k->expected, "checks");
    engine_patient_init(&k->pt, 1);
    if (!patient || !k->checks || engine_patient_from_json(patient, &k->pt, err, sizeof err) != 0)
        fprintf(stderr, "%s: cannot load the case\n", dir);
    else if (load_doses(k, doses) == 0 && load_history(k, obs, invalid) == 0)
        rc = 0;
    json_decref(invalid);
    json_decref(patient);
    json_decref(obs);
    json_decref(doses);
    return rc;
}

static int compare_kase(const void *a, const void *b)
{
    return strcmp(((const kase *)a)->name, ((const kase *)b)->name);
}

static kase *load_cases(size_t *n)
{
    char dir[PATH_LEN], p[PATH_LEN * 2];
    kase *ks = calloc(MAX_CASES, sizeof *ks);
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof dir, "%s/tests/cases", test_root());
    d = opendir(dir);
    if (!d || !ks) {
        fprintf(stderr, "mutate: cannot open %s\n", dir);
        free(ks);
        if (d)
            closedir(d);
        return NULL;
    }
    *n = 0;
    while ((e = readdir(d)) != NULL && *n < MAX_CASES) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof ks[0].name)
            continue;
        snprintf(p, sizeof p, "%s/%s/expected.json", dir, e->d_name);
        if (access(p, R_OK) != 0)
            continue;
        /* A later course (course.json) needs the person's earlier courses
         * evaluated first; test_cases and it_clinical run those. Their gate
         * (interval, response, earlier discontinue) has no band to mutate. */
        snprintf(p, sizeof p, "%s/%s/course.json", dir, e->d_name);
        if (access(p, R_OK) == 0)
            continue;
        memcpy(ks[*n].name, e->d_name, strlen(e->d_name) + 1); /* length checked above */
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (load_case(&ks[*n], p) != 0) {
            closedir(d);
            return NULL;
        }
        (*n)++;
    }
    closedir(d);
    qsort(ks, *n, sizeof *ks, compare_kase);
    return ks;
}

/* --- the comparisons, found generically ------------------------------------- */

static const char *const OPS[] = {"lt", "le", "gt", "ge"};
static const char *const FLIP[] = {"le", "lt", "ge", "gt"};

typedef enum mut_kind { M_FLIP, M_UP, M_DOWN } mut_kind;

/* What the walk looks for and what it found. */
typedef struct site_walk {
    int want;    /* the index of the site to return, or -1 to count */
    int n;       /* sites seen */
    json_t *obj; /* the site found */
    const char *op;
    char path[PATH_LEN];
} site_walk;

/* A readable segment for an array element: its id, term, name or stage when
 * it has one (stable when rules are added), else its index. */
static void element_name(const json_t *el, size_t i, char *buf, size_t len)
{
    static const char *const keys[] = {"id", "term", "name", "code"};

    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const json_t *v = json_object_get(el, keys[k]);
        if (json_is_string(v)) {
            snprintf(buf, len, "[%s]", json_string_value(v));
            return;
        }
    }
    snprintf(buf, len, "[%zu]", i);
}

static bool walk(json_t *j, char *path, size_t len, site_walk *w);

static bool walk_object(json_t *j, char *path, size_t len, site_walk *w)
{
    size_t at = strlen(path);
    const char *key;
    json_t *v;

    for (size_t o = 0; o < 4; o++) {
        if (!json_is_number(json_object_get(j, OPS[o])))
            continue;
        if (w->n++ == w->want) {
            w->obj = j;
            w->op = OPS[o];
            snprintf(w->path, sizeof w->path, "%s", path);
            return true;
        }
    }
    json_object_foreach(j, key, v)
    {
        snprintf(path + at, len - at, ".%s", key);
        if (walk(v, path, len, w))
            return true;
    }
    path[at] = '\0';
    return false;
}

static bool walk(json_t *j, char *path, size_t len, site_walk *w)
{
    size_t at = strlen(path), i;
    json_t *v;

    if (json_is_object(j))
        return walk_object(j, path, len, w);
    if (!json_is_array(j))
        return false;
    json_array_foreach(j, i, v)
    {
        element_name(v, i, path + at, len - at);
        if (walk(v, path, len, w))
            return true;
    }
    path[at] = '\0';
    return false;
}

/* The smallest printed step of a threshold and its decimals. */
static double step_of(const json_t *v, int *decimals)
{
    char buf[64];
    const char *dot;
    double x;

    *decimals = 0;
    if (json_is_integer(v))
        return 1;
    x = json_real_value(v);
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    dot = strchr(buf, '.');
    *decimals = dot ? (int)strlen(dot + 1) : 0;
    if (*decimals < 1)
        *decimals = 1;
    return pow(10, -*decimals);
}

static void value_text(const json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, len, "%g", json_real_value(v));
}

/* Applies mutant (site, kind) to doc in place; writes its name. false when
 * not applicable. */
static bool apply(json_t *doc, int site, mut_kind kind, char *name, size_t len)
{
    char path[PATH_LEN] = "";
    site_walk w = {.want = site};
    json_t *v;
    char before[64], after[64];
    size_t o;

    if (!walk(doc, path, sizeof path, &w))
        return false;
    v = json_object_get(w.obj, w.op);
    value_text(v, before, sizeof before);
    for (o = 0; o < 4 && strcmp(OPS[o], w.op) != 0; o++)
        ;
    if (kind == M_FLIP) {
        if (json_object_get(w.obj, FLIP[o]))
            return false;
        json_object_set(w.obj, FLIP[o], v);
        json_object_del(w.obj, w.op);
        snprintf(name, len, "%.400s: %s %.40s -> %s %.40s", w.path, w.op, before, FLIP[o], before);
        return true;
    }
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v) + (kind == M_UP ? 1 : -1);
        json_object_set_new(w.obj, w.op, json_integer(x));
    } else {
        int d;
        double s = step_of(v, &d), scale = pow(10, d);
        double x = round((json_real_value(v) + (kind == M_UP ? s : -s)) * scale) / scale;
        json_object_set_new(w.obj, w.op, json_real(x));
    }
    value_text(json_object_get(w.obj, w.op), after, sizeof after);
    snprintf(name, len, "%.400s: %s %.40s -> %s %.40s", w.path, w.op, before, w.op, after);
    return true;
}

/* --- running the cases against one mutant ----------------------------------- */

/* Silences cases_check's report lines while mutants run (a killed mutant
 * is the expected outcome, not a message). */
static int quiet_fd = -1, saved_fd = -1;

static void quiet(bool on)
{
    fflush(stderr);
    if (on) {
        if (quiet_fd < 0)
            quiet_fd = open("/dev/null", O_WRONLY);
        saved_fd = dup(STDERR_FILENO);
        dup2(quiet_fd, STDERR_FILENO);
    } else if (saved_fd >= 0) {
        dup2(saved_fd, STDERR_FILENO);
        close(saved_fd);
        saved_fd = -1;
    }
}

/* Whether one case's checks all hold under rs. */
static bool case_passes(const rules_set *rs, const kase *k)
{
    size_t i;
    json_t *chk;

    json_array_foreach(k->checks, i, chk)
    {
        int64_t at;
        int before = cases_failures;
        engine_result *r;
        json_t *j;
        if (timefmt_parse(json_string_value(json_object_get(chk, "at")), &at) != 0)
            return false;
        r = engine_evaluate(rs, &k->pt, k->h, at, NULL);
        j = r ? engine_result_to_json(r) : NULL;
        if (j)
            cases_check(k->name, chk, j);
        json_decref(j);
        engine_result_free(r);
        if (!j || cases_failures != before)
            return false;
    }
    return true;
}

static rules_set *compile(const json_t *doc, const json_t *patch)
{
    json_t *d = json_deep_copy(doc);
    rules_errors errs = {0};
    rules_set *rs;

    if (patch)
        cases_merge_patch(d, patch);
    rs = rules_load_json(d, "il2-default.json", &errs);
    rules_errors_free(&errs);
    json_decref(d);
    return rs;
}

typedef enum verdict { V_KILLED, V_REFUSED, V_SURVIVED } verdict;

/* The first case that kills the mutant goes to killer. */
static verdict run_mutant(const json_t *doc, const kase *ks, size_t n, const char **killer)
{
    rules_set *base = compile(doc, NULL);
    verdict v = V_SURVIVED;

    if (!base)
        return V_REFUSED;
    for (size_t i = 0; i < n && v == V_SURVIVED; i++) {
        rules_set *rs = ks[i].patch ? compile(doc, ks[i].patch) : base;
        if (!rs)
            v = V_REFUSED;
        else if (!case_passes(rs, &ks[i])) {
            v = V_KILLED;
            *killer = ks[i].name;
        }
        if (rs != base)
            rules_unref(rs);
    }
    rules_unref(base);
    return v;
}

/* --- the equivalent-mutant list --------------------------------------------- */

typedef struct equiv {
    char name[PATH_LEN + 128];
    bool seen;
} equiv;

/* tests/mutate/<file>: "mutant name<TAB>reason" per line (the reason may
 * be absent in open.txt); '#' starts a comment line. */
static equiv *load_list(const char *file, size_t *n)
{
    char p[PATH_LEN], line[2048];
    equiv *e = calloc(1024, sizeof *e);
    FILE *f;

    *n = 0;
    snprintf(p, sizeof p, "%s/tests/mutate/%s", test_root(), file);
    f = fopen(p, "r");
    if (!f || !e) {
        if (f)
            fclose(f);
        return e;
    }
    while (fgets(line, sizeof line, f) && *n < 1024) {
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
            continue;
        if (tab)
            *tab = '\0';
        line[strcspn(line, "\n")] = '\0';
        snprintf(e[*n].name, sizeof e[*n].name, "%.*s", (int)sizeof e[*n].name - 1, line);
        (*n)++;
    }
    fclose(f);
    return e;
}

static equiv *find_equiv(equiv *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return &e[i];
    return NULL;
}

/* --- main ------------------------------------------------------------------------ */

typedef struct tally {
    int total, killed, refused, equivalent, open, survived, stale;
} tally;

/* The two reviewed lists: equivalent mutants (cannot change any outcome)
 * and open ones (can, but no case pins them yet: work to do). */
typedef struct lists {
    equiv *eq, *op;
    size_t ne, no;
} lists;

static void one_mutant(const json_t *doc, int site, mut_kind kind, const kase *ks, size_t nk,
                       lists *ls, bool verbose, tally *t)
{
    json_t *m = json_deep_copy(doc);
    char name[PATH_LEN + 128];
    const char *killer = NULL;
    equiv *listed, *open;
    verdict v;

    if (!apply(m, site, kind, name, sizeof name)) {
        json_decref(m);
        return;
    }
    t->total++;
    quiet(true);
    v = run_mutant(m, ks, nk, &killer);
    quiet(false);
    json_decref(m);
    listed = find_equiv(ls->eq, ls->ne, name);
    open = find_equiv(ls->op, ls->no, name);
    if (listed)
        listed->seen = true;
    if (open)
        open->seen = true;
    if (v == V_SURVIVED && listed) {
        t->equivalent++;
        if (verbose)
            printf("equivalent  %s\n", name);
    } else if (v == V_SURVIVED && open) {
        t->open++;
        if (verbose)
            printf("open        %s\n", name);
    } else if (v == V_SURVIVED) {
        t->survived++;
        printf("SURVIVED    %s\n", name);
    } else if (listed || open) {
        t->stale++;
        printf("STALE       %s (listed in %s, but %s)\n", name,
               listed ? "equivalent.txt" : "open.txt",
               v == V_REFUSED ? "the loader refuses it" : "killed");
    } else {
        t->killed++;
        t->refused += v == V_REFUSED;
        if (verbose)
            printf("killed      %s (%s)\n", name, v == V_REFUSED ? "loader" : killer);
    }
}

static void stale_entries(const equiv *e, size_t n, const char *file, tally *t)
{
    for (size_t i = 0; i < n; i++)
        if (!e[i].seen) {
            t->stale++;
            printf("STALE       %s (listed in %s, but no such mutant)\n", e[i].name, file);
        }
}

int main(int argc, char **argv)
{
    int sample = 1;
    bool verbose = false;
    size_t nk = 0;
    kase *ks;
    lists ls = {0};
    json_t *doc;
    site_walk count = {.want = -1};
    char path[PATH_LEN] = "";
    const char *killer = NULL;
    tally t = {0};
    struct timespec t0, t1;
    verdict base;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc)
            sample = atoi(argv[++i]);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else {
            fprintf(stderr, "usage: mutate [--sample N] [--verbose]\n");
            return 2;
        }
    }
    if (sample < 1)
        sample = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    doc = test_default_rules_doc();
    ks = load_cases(&nk);
    ls.eq = load_list("equivalent.txt", &ls.ne);
    ls.op = load_list("open.txt", &ls.no);
    if (!doc || !ks || !ls.eq || !ls.op)
        return 2;
    quiet(true);
    base = run_mutant(doc, ks, nk, &killer);
    quiet(false);
    if (base != V_SURVIVED) {
        fprintf(stderr, "mutate: the unmutated rule set fails case %s: fix the suite first\n",
                killer ? killer : "(loader)");
        return 1;
    }
    walk(doc, path, sizeof path, &count);
    for (int s = 0; s < count.n; s++) {
        one_mutant(doc, s, M_FLIP, ks, nk, &ls, verbose, &t);
        if (s % sample != 0)
            continue;
        one_mutant(doc, s, M_UP, ks, nk, &ls, verbose, &t);
        one_mutant(doc, s, M_DOWN, ks, nk, &ls, verbose, &t);
    }
    if (sample == 1) {
        stale_entries(ls.eq, ls.ne, "equivalent.txt", &t);
        stale_entries(ls.op, ls.no, "open.txt", &t);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("mutate: %d comparisons, %d mutants%s over %zu cases: %d killed (%d refused by the "
           "loader), %d equivalent, %d open (known, not yet pinned), %d new survivors, %d stale; "
           "score %d/%d killed (%.1f %%) in %.1f s\n",
           count.n, t.total, sample > 1 ? " (thresholds sampled)" : "", nk, t.killed, t.refused,
           t.equivalent, t.open, t.survived, t.stale, t.killed, t.total - t.equivalent,
           100.0 * t.killed / (t.total - t.equivalent > 0 ? t.total - t.equivalent : 1),
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (size_t i = 0; i < nk; i++) {
        engine_hist_free(ks[i].h);
        free(ks[i].doses);
        json_decref(ks[i].patch);
        json_decref(ks[i].expected);
    }
    free(ks);
    free(ls.eq);
    free(ls.op);
    json_decref(doc);
    return t.survived == 0 && t.stale == 0 ? 0 : 1;
}
