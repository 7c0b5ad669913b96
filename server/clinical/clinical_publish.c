/* clinical_publish: the per-patient summaries the ward view reads, and the
 * "grade" and "decision" events when an evaluation changed them. */
#include "clinical_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Summaries for the ward view and change detection                        */

typedef struct summary {
    int64_t patient_id;
    uint64_t gen;   /* rules generation of `grades` */
    int8_t *grades; /* per term of that rule set */
    size_t n_terms;
    int max_grade; /* -1: none gradable */
    engine_action action;
    char rule[64];    /* top reason's rule id, "" when none */
    char reason[240]; /* top reason's text */
} summary;

static pthread_mutex_t sum_mu = PTHREAD_MUTEX_INITIALIZER;
static summary *sums;
static size_t n_sums, cap_sums;

/* Locked. */
static summary *sum_find(int64_t id)
{
    for (size_t i = 0; i < n_sums; i++)
        if (sums[i].patient_id == id)
            return &sums[i];
    return NULL;
}

void clin_sum_remove(int64_t id)
{
    pthread_mutex_lock(&sum_mu);
    for (size_t i = 0; i < n_sums; i++)
        if (sums[i].patient_id == id) {
            free(sums[i].grades);
            sums[i] = sums[--n_sums];
            break;
        }
    pthread_mutex_unlock(&sum_mu);
}

void clin_sum_free_all(void)
{
    pthread_mutex_lock(&sum_mu);
    for (size_t i = 0; i < n_sums; i++)
        free(sums[i].grades);
    free(sums);
    sums = NULL;
    n_sums = cap_sums = 0;
    pthread_mutex_unlock(&sum_mu);
}

/* The summary of patient `id`, added when missing. Locked; NULL when out
 * of memory. *created tells whether it was just added. */
static summary *sum_get(int64_t id, bool *created)
{
    summary *s = sum_find(id);

    *created = s == NULL;
    if (s)
        return s;
    if (n_sums == cap_sums) {
        size_t ncap = cap_sums ? cap_sums * 2 : 32;
        summary *ns = realloc(sums, ncap * sizeof *ns);
        if (!ns)
            return NULL;
        sums = ns;
        cap_sums = ncap;
    }
    s = &sums[n_sums++];
    memset(s, 0, sizeof *s);
    s->patient_id = id;
    return s;
}

/* After a swap of rule sets the summary's grades belong to another set:
 * every term counts as unknown. Returns true when that happened. */
static bool sum_reset_grades(summary *s, size_t n_terms)
{
    if (s->gen == clin_w.gen && s->n_terms == n_terms && s->grades)
        return false;
    free(s->grades);
    s->grades = malloc(n_terms ? n_terms : 1);
    s->n_terms = s->grades ? n_terms : 0;
    for (size_t i = 0; i < s->n_terms; i++)
        s->grades[i] = INT8_MIN; /* unknown: every term counts as changed */
    s->gen = clin_w.gen;
    return true;
}

/* Appends to `changed` each term whose grade differs from the summary's,
 * and records the new grades. On a first report, terms at grade 0 or
 * ungradable are recorded without being reported. Locked. */
static void sum_diff_grades(summary *s, const engine_result *r, bool first, json_t *changed)
{
    for (size_t i = 0; i < s->n_terms; i++) {
        const engine_term_result *t = &r->terms[i];
        if (s->grades[i] == (int8_t)t->grade)
            continue;
        if (!(first && t->grade <= 0))
            json_array_append_new(
                changed,
                json_pack("{s:s, s:s, s:o, s:o, s:o}", "term", t->term->id, "label", t->term->label,
                          "grade", t->grade >= 0 ? json_integer(t->grade) : json_null(), "previous",
                          s->grades[i] >= 0 ? json_integer(s->grades[i]) : json_null(), "max_grade",
                          t->max_grade >= 0 ? json_integer(t->max_grade) : json_null()));
        s->grades[i] = (int8_t)t->grade;
    }
}

/* The "decision" event of an evaluation; previous_action NULL on the
 * patient's first. */
static json_t *decision_event(const pcache *p, const engine_result *r, const char *when,
                              const char *previous_action)
{
    json_t *reasons = json_array();

    for (size_t i = 0; i < r->n_reasons; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule", r->reasons[i].rule,
                                        "text", r->reasons[i].text, "source", r->reasons[i].source,
                                        "class", r->reasons[i].klass, "action",
                                        engine_action_name(r->reasons[i].action)));
    return json_pack("{s:I, s:s?, s:s, s:s, s:o, s:o}", "patient_id", (json_int_t)p->id, "bed",
                     p->bed[0] ? p->bed : NULL, "at", when, "action", engine_action_name(r->action),
                     "previous", previous_action ? json_string(previous_action) : json_null(),
                     "reasons", reasons);
}

/* Publishes "grade" and "decision" when they changed since the last
 * evaluation of this patient, and updates the ward summary. */
void clin_publish_changes(const pcache *p, const engine_result *r)
{
    const engine_reason *top = clinical_top_reason(r);
    json_t *changed = json_array();
    json_t *grade_ev = NULL, *decision_ev = NULL;
    char when[TIMEFMT_LEN];
    const char *prev = NULL;
    int max_grade = -1;
    summary *s;
    bool first, created, decision_changed;

    for (size_t i = 0; i < r->n_terms; i++)
        if (r->terms[i].grade > max_grade)
            max_grade = r->terms[i].grade;
    pthread_mutex_lock(&sum_mu);
    s = changed ? sum_get(p->id, &created) : NULL;
    if (!s) {
        pthread_mutex_unlock(&sum_mu);
        json_decref(changed);
        return;
    }
    first = sum_reset_grades(s, r->n_terms) || created;
    sum_diff_grades(s, r, first, changed);
    prev = created ? NULL : engine_action_name(s->action);
    decision_changed =
        created || s->action != r->action || strcmp(s->rule, top ? top->rule : "") != 0;
    s->action = r->action;
    s->max_grade = max_grade;
    snprintf(s->rule, sizeof s->rule, "%s", top ? top->rule : "");
    snprintf(s->reason, sizeof s->reason, "%s", top ? top->text : "");
    pthread_mutex_unlock(&sum_mu);

    timefmt_format(r->at_ms, when, sizeof when);
    if (json_array_size(changed) > 0)
        grade_ev =
            json_pack("{s:I, s:s?, s:s, s:o, s:O}", "patient_id", (json_int_t)p->id, "bed",
                      p->bed[0] ? p->bed : NULL, "at", when, "max_grade",
                      max_grade >= 0 ? json_integer(max_grade) : json_null(), "terms", changed);
    if (decision_changed)
        decision_ev = decision_event(p, r, when, prev);
    json_decref(changed);
    if (grade_ev)
        events_publish("grade", grade_ev);
    if (decision_ev)
        events_publish("decision", decision_ev);
}

/* ---------------------------------------------------------------------- */
/* Ward view                                                               */

/* The ward's zone, for the dashboard to show ward time in: the active rule
 * set's, with its offset now. */
static void ward_time_zone(json_t *ward)
{
    rules_set *rs = clinical_rules();
    const tz_zone *z = rs && rs->zone ? rs->zone : tz_default();

    json_object_set_new(ward, "time_zone",
                        json_pack("{s:s, s:I}", "name", tz_name(z), "utc_offset_minutes",
                                  (json_int_t)(tz_offset_ms(z, timefmt_now_ms()) / 60000)));
    rules_unref(rs);
}

int clinical_ward_annotate(db_conn *c, json_t *ward)
{
    json_t *counts = NULL, *bed;
    size_t i;

    if (store_alert_active_counts(c, &counts) != 0)
        return -1;
    ward_time_zone(ward);
    pthread_mutex_lock(&sum_mu);
    json_array_foreach(json_object_get(ward, "beds"), i, bed)
    {
        json_t *pid = json_object_get(json_object_get(bed, "patient"), "id");
        const summary *s;
        char key[32];
        if (!json_is_integer(pid))
            continue;
        snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
        json_object_set_new(bed, "active_alerts",
                            json_integer(json_integer_value(json_object_get(counts, key))));
        s = sum_find(json_integer_value(pid));
        if (!s)
            continue;
        json_object_set_new(bed, "max_grade",
                            s->max_grade >= 0 ? json_integer(s->max_grade) : json_null());
        json_object_set_new(bed, "decision",
                            json_pack("{s:s, s:s?}", "action", engine_action_name(s->action),
                                      "reason", s->reason[0] ? s->reason : NULL));
    }
    pthread_mutex_unlock(&sum_mu);
    json_decref(counts);
    return 0;
}
