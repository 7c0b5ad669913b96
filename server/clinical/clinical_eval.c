/* clinical_eval: a patient's engine input from the store, and the
 * evaluation at any time T that the toxicity view asks for. */
#include "clinical_int.h"

#include <inttypes.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Loading a patient's engine input                                        */

int clin_hist_visit(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id)
{
    struct hist_load *L = arg;

    if (engine_hist_add(L->h, code_id, t_ms, v) != 0)
        return -1;
    if (obs_id > L->max_id)
        L->max_id = obs_id;
    if (t_ms > L->newest)
        L->newest = t_ms;
    if (L->n == 0 || t_ms < L->oldest_new)
        L->oldest_new = t_ms;
    L->n++;
    return 0;
}

/* The record's engine form. 0 or -1 (logged). */
int clin_patient_input(const json_t *rec, int64_t id, engine_patient *pt)
{
    char err[160];

    engine_patient_init(pt, id);
    if (engine_patient_from_json(rec, pt, err, sizeof err) != 0) {
        log_error("patient %" PRId64 ": %s", id, err);
        return -1;
    }
    return 0;
}

const engine_reason *clinical_top_reason(const engine_result *r)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (r->reasons[i].action == r->action)
            return &r->reasons[i];
    return r->n_reasons ? &r->reasons[0] : NULL;
}

void clinical_eval_free(clinical_eval *ev)
{
    engine_result_free(ev->r);
    engine_hist_free(ev->h);
    free(ev->doses);
    json_decref(ev->patient);
    rules_unref(ev->rs);
    memset(ev, 0, sizeof *ev);
}

/* Loads record, doses and history up to `at` into ev (rules already set)
 * and evaluates, inside the caller's snapshot. with_course: the course
 * context first (clin_course_load); without, the earlier courses' own
 * evaluations. 1, 0 no such patient, -1. */
static int evaluate_in_snapshot(db_conn *c, int64_t id, int64_t at, bool with_course,
                                clinical_eval *ev)
{
    struct hist_load L = {0};
    size_t nd = 0;
    int rc = store_patient_get(c, id, &ev->patient);

    if (rc != 1)
        return rc;
    if (clin_patient_input(ev->patient, id, &ev->pt) != 0)
        return -1;
    if (with_course ? clin_course_load(c, ev->rs, id, at, &ev->pt.course, &ev->doses, &nd) != 0
                    : store_dose_engine(c, id, &ev->doses, &nd) != 0)
        return -1;
    ev->pt.doses = ev->doses;
    ev->pt.n_doses = nd;
    ev->h = L.h = engine_hist_new();
    if (!ev->h || store_clinical_history(c, id, at, clin_hist_visit, &L) != 0)
        return -1;
    ev->r = engine_evaluate(ev->rs, &ev->pt, ev->h, at, NULL);
    return ev->r ? 1 : -1;
}

int clinical_evaluate_at(db_conn *c, int64_t id, int64_t at, clinical_eval *ev)
{
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->rs = clinical_rules();
    if (!ev->rs)
        return -1;
    if (store_snapshot_begin(c) != 0)
        return -1;
    rc = evaluate_in_snapshot(c, id, at, true, ev);
    store_snapshot_end(c);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Courses                                                                 */

/* The latest response recorded for `course` with a date on or before
 * `last_date` (YYYY-MM-DD, the ward-local date of the evaluation time):
 * responses come ordered by course, date, id, so the last match. */
static void latest_response(const json_t *responses, int course, const char *last_date,
                            engine_course *out)
{
    size_t i;
    json_t *r;

    json_array_foreach(responses, i, r)
    {
        const char *date = json_string_value(json_object_get(r, "date"));
        if (json_integer_value(json_object_get(r, "course")) != course || !date ||
            strcmp(date, last_date) > 0)
            continue;
        snprintf(out->prev_response, sizeof out->prev_response, "%s",
                 json_string_value(json_object_get(r, "category")));
        snprintf(out->prev_response_date, sizeof out->prev_response_date, "%s",
                 json_string_value(json_object_get(r, "date")));
    }
}

/* Whether a permanent discontinue fired in the earlier admission `a`: its
 * evaluation at its discharge (sticky discontinues stay). 0 or -1. */
static int earlier_permanent(db_conn *c, rules_set *rs, const store_admission *a, int course,
                             engine_course *out)
{
    clinical_eval ev = {.rs = rs};
    int64_t at = a->discharged_at ? a->discharged_at : timefmt_now_ms();
    int rc = evaluate_in_snapshot(c, a->id, at, false, &ev);
    const char *rule = rc == 1 ? engine_permanent_rule(ev.r) : NULL;

    if (rule) {
        snprintf(out->permanent_rule, sizeof out->permanent_rule, "%s", rule);
        out->permanent_course = course;
    }
    ev.rs = NULL; /* the caller's reference */
    clinical_eval_free(&ev);
    return rc < 0 ? -1 : 0;
}

/* The doses of admission `id` appended to *all (sorted later). 0 or -1. */
static int append_doses(db_conn *c, int64_t id, engine_dose **all, size_t *n)
{
    engine_dose *d = NULL, *grown;
    size_t nd = 0;

    if (store_dose_engine(c, id, &d, &nd) != 0)
        return -1;
    grown = nd ? realloc(*all, (*n + nd) * sizeof *grown) : *all;
    if (nd && !grown) {
        free(d);
        return -1;
    }
    if (nd)
        memcpy(grown + *n, d, nd * sizeof *d);
    *all = grown;
    *n += nd;
    free(d);
    return 0;
}

static int dose_cmp(const void *a, const void *b)
{
    const engine_dose *x = a, *y = b;
    return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

/* The first given dose of admission `id`, ENGINE_NO_TIME when none. */
static int first_given(db_conn *c, int64_t id, int64_t *out)
{
    engine_dose *d = NULL;
    size_t nd = 0;

    *out = ENGINE_NO_TIME;
    if (store_dose_engine(c, id, &d, &nd) != 0)
        return -1;
    for (size_t i = 0; i < nd && *out == ENGINE_NO_TIME; i++)
        if (d[i].given)
            *out = d[i].t_ms;
    free(d);
    return 0;
}

int clin_course_plan(db_conn *c, const rules_set *rs, const store_admission *adm, size_t n,
                     int *course_of)
{
    int course = 1;
    int64_t course_first = ENGINE_NO_TIME; /* the course's first given dose */
    int last_day = 0;

    for (size_t i = 0; i < rs->n_cycles; i++)
        if (rs->cycles[i].last_day > last_day)
            last_day = rs->cycles[i].last_day;
    for (size_t j = 0; j < n; j++) {
        int64_t first = ENGINE_NO_TIME;
        /* a readmission continues the course while it has no dose given,
         * or when it comes before the course's last cycle has ended */
        if (j > 0 && course_first != ENGINE_NO_TIME &&
            adm[j].admitted_at >=
                tz_day_start(rs->zone, tz_local_day(rs->zone, course_first) + last_day)) {
            course++;
            course_first = ENGINE_NO_TIME;
        }
        course_of[j] = course;
        if (first_given(c, adm[j].id, &first) != 0)
            return -1;
        if (course_first == ENGINE_NO_TIME)
            course_first = first;
    }
    return 0;
}

/* The previous course's end (its last admission's discharge) and its
 * latest response, into out. */
static int previous_course(db_conn *c, int64_t id, const store_admission *adm, size_t k,
                           const int *course_of, const char *last_date, engine_course *out)
{
    json_t *responses = NULL;

    for (size_t j = 0; j < k; j++)
        if (course_of[j] == out->number - 1 && adm[j].discharged_at)
            out->prev_discharge_ms = adm[j].discharged_at;
    if (store_responses(c, id, &responses) != 0)
        return -1;
    latest_response(responses, out->number - 1, last_date, out);
    json_decref(responses);
    return 0;
}

int clin_course_load(db_conn *c, rules_set *rs, int64_t id, int64_t at, engine_course *out,
                     engine_dose **doses, size_t *nd)
{
    store_admission *adm = NULL;
    int *course_of = NULL;
    size_t n = 0, k = 0;
    char last_date[TIMEFMT_LEN] = "9999-12-31";
    int rc = -1;

    *doses = NULL;
    *nd = 0;
    if (at != INT64_MAX) { /* the ward-local date of `at` */
        timefmt_format(tz_to_local(rs->zone, at), last_date, sizeof last_date);
        last_date[10] = '\0';
    }
    if (store_course_admissions(c, id, &adm, &n) != 0)
        return -1;
    while (k < n && adm[k].id != id)
        k++;
    if (k >= n) { /* not found: the record alone */
        rc = append_doses(c, id, doses, nd);
        goto out;
    }
    course_of = calloc(n, sizeof *course_of);
    if (!course_of || clin_course_plan(c, rs, adm, n, course_of) != 0)
        goto out;
    out->number = course_of[k];
    if (out->number > 1 && previous_course(c, id, adm, k, course_of, last_date, out) != 0)
        goto out;
    /* the course's doses, from every admission of it up to this one */
    for (size_t j = 0; j <= k; j++)
        if (course_of[j] == out->number && append_doses(c, adm[j].id, doses, nd) != 0)
            goto out;
    if (*nd > 1)
        qsort(*doses, *nd, sizeof **doses, dose_cmp);
    for (size_t j = 0; j < k && !out->permanent_rule[0]; j++)
        if (earlier_permanent(c, rs, &adm[j], course_of[j], out) != 0)
            goto out;
    rc = 0;
out:
    if (rc != 0) {
        free(*doses);
        *doses = NULL;
        *nd = 0;
    }
    free(adm);
    free(course_of);
    return rc;
}

int clinical_course_numbers(db_conn *c, const store_admission *adm, size_t n, int *course_of)
{
    rules_set *rs = clinical_rules();
    int rc = rs ? clin_course_plan(c, rs, adm, n, course_of) : -1;

    rules_unref(rs);
    return rc;
}
