/* engine_json: an engine_result as docs/api.md's toxicity object ("Toxicity
 * grading and dose decision"), with the documented extensions (numeric and
 * clinician grade per term, suggested proxy grades, not_evaluated, NEWS2
 * completeness, KDIGO weight basis, schedule details). */
#include "engine_int.h"
#include "obs.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A number as JSON: integral values as integers, others rounded to 1e-6. */
static json_t *num_json(double v)
{
    double r = round(v * 1e6) / 1e6;
    if (fabs(r) < 9e15 && r == floor(r))
        return json_integer((json_int_t)r);
    return json_real(r);
}

static json_t *time_json(int64_t t)
{
    if (t == ENGINE_NO_TIME)
        return json_null();
    char buf[TIMEFMT_LEN];
    return json_string(timefmt_format(t, buf, sizeof buf));
}

static json_t *grade_json(int g)
{
    return g >= 0 ? json_integer(g) : json_null();
}

static json_t *evidence_json(const engine_evlist *ev)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < ev->n; i++) {
        const engine_evidence *e = &ev->ev[i];
        const obs_code *oc = obs_code_by_id(e->code);
        json_t *o = json_object();
        if (o == NULL)
            break;
        if (e->what != NULL) {
            char key[64];
            snprintf(key, sizeof key, "%s.%s", e->agg != NULL ? e->agg : "patient", e->what);
            json_object_set_new(o, "code", json_string(key));
            json_object_set_new(o, "value", num_json(e->value));
        } else {
            json_object_set_new(o, "code", json_string(oc != NULL ? oc->code : "?"));
            if (e->agg == NULL && oc != NULL) {
                const char *text =
                    oc->kind == OBS_CATEGORICAL && e->value >= 0 && e->value <= oc->max
                        ? oc->values[(int)e->value]
                        : NULL;
                json_t *v = obs_value_json(oc, e->value, text);
                json_object_set_new(o, "value", v != NULL ? v : num_json(e->value));
            } else {
                json_object_set_new(o, "value", num_json(e->value));
            }
            if (e->agg != NULL)
                json_object_set_new(o, "aggregate", json_string(e->agg));
            if (e->window_h > 0)
                json_object_set_new(o, "window_h", num_json(e->window_h));
        }
        if (e->t_ms != ENGINE_NO_TIME)
            json_object_set_new(o, "time", time_json(e->t_ms));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *missing_json(const engine_missing *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < m->n; i++)
        json_array_append_new(a, json_string(m->items[i]));
    return a;
}

static json_t *terms_json(const engine_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < r->n_terms; i++) {
        const engine_term_result *t = &r->terms[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        json_object_set_new(o, "term", json_string(t->term->id));
        json_object_set_new(o, "label", json_string(t->term->label));
        json_object_set_new(o, "grade", grade_json(t->grade));
        json_object_set_new(o, "since", time_json(t->since_ms));
        json_object_set_new(o, "max_grade", grade_json(t->max_grade));
        json_object_set_new(o, "source", json_string(t->term->source));
        json_object_set_new(o, "evidence", evidence_json(&t->evidence));
        json_object_set_new(o, "numeric_grade", grade_json(t->numeric_grade));
        json_object_set_new(o, "clinician_grade", grade_json(t->clinician_grade));
        if (t->grade < 0 && t->missing.n > 0)
            json_object_set_new(o, "missing", missing_json(&t->missing));
        if (t->suggested > 0) {
            json_t *s = json_object();
            json_object_set_new(s, "grade", json_integer(t->suggested));
            json_object_set_new(s, "text", json_string(t->suggested_text));
            json_object_set_new(s, "note",
                                json_string("proxy suggestion: a clinician must grade this "
                                            "term; never used for the decision"));
            json_object_set_new(o, "suggested", s);
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *decision_json(const engine_result *r)
{
    json_t *d = json_object();
    json_t *reasons = json_array();
    json_t *ne = json_array();
    if (d == NULL || reasons == NULL || ne == NULL) {
        json_decref(d);
        json_decref(reasons);
        json_decref(ne);
        return NULL;
    }
    json_object_set_new(d, "action", json_string(engine_action_name(r->action)));
    for (size_t i = 0; i < r->n_reasons; i++) {
        const engine_reason *rr = &r->reasons[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        json_object_set_new(o, "rule", json_string(rr->rule));
        json_object_set_new(o, "text", json_string(rr->text));
        json_object_set_new(o, "source", json_string(rr->source));
        json_object_set_new(o, "class", json_string(rr->klass));
        json_object_set_new(o, "action", json_string(engine_action_name(rr->action)));
        json_object_set_new(o, "evidence", evidence_json(&rr->evidence));
        if (rr->since_ms != ENGINE_NO_TIME)
            json_object_set_new(o, "since", time_json(rr->since_ms));
        if (rr->resume != NULL)
            json_object_set_new(o, "resume", json_string(rr->resume));
        json_array_append_new(reasons, o);
    }
    for (size_t i = 0; i < r->n_not_evaluated; i++) {
        json_t *o = json_object();
        if (o == NULL)
            break;
        json_object_set_new(o, "rule", json_string(r->not_evaluated[i].rule));
        json_object_set_new(o, "missing", missing_json(&r->not_evaluated[i].missing));
        json_array_append_new(ne, o);
    }
    json_object_set_new(d, "reasons", reasons);
    json_object_set_new(d, "not_evaluated", ne);
    json_object_set_new(d, "missing", missing_json(&r->missing_required));
    return d;
}

static json_t *news2_json(const engine_result *r)
{
    const engine_news2 *n = &r->news2;
    json_t *o = json_object();
    json_t *comp = json_object();
    if (o == NULL || comp == NULL) {
        json_decref(o);
        json_decref(comp);
        return NULL;
    }
    json_object_set_new(o, "score", n->score >= 0 ? json_integer(n->score) : json_null());
    json_object_set_new(o, "partial_score", json_integer(n->partial_score));
    json_object_set_new(o, "complete", json_boolean(n->complete));
    json_object_set_new(o, "risk", json_string(n->risk));
    json_object_set_new(o, "single_parameter_3", json_boolean(n->single_3));
    for (size_t i = 0; i < n->n; i++) {
        const engine_news2_component *c = &n->comp[i];
        json_t *x = json_object();
        if (x == NULL)
            break;
        json_object_set_new(x, "points", c->known ? json_integer(c->points) : json_null());
        const obs_code *oc = obs_code_by_id(c->code);
        if (oc != NULL && c->t_ms != ENGINE_NO_TIME) {
            const char *text = oc->kind == OBS_CATEGORICAL && c->value >= 0 && c->value <= oc->max
                                   ? oc->values[(int)c->value]
                                   : NULL;
            json_object_set_new(x, "code", json_string(oc->code));
            json_t *v = obs_value_json(oc, c->value, text);
            json_object_set_new(x, "value", v != NULL ? v : num_json(c->value));
            json_object_set_new(x, "time", time_json(c->t_ms));
        }
        json_object_set_new(comp, c->name, x);
    }
    json_object_set_new(o, "components", comp);
    json_object_set_new(o, "source", json_string(r->rs->news2_source));
    return o;
}

static json_t *kdigo_json(const engine_result *r)
{
    const engine_kdigo *k = &r->kdigo;
    json_t *o = json_object();
    json_t *basis = json_array();
    if (o == NULL || basis == NULL) {
        json_decref(o);
        json_decref(basis);
        return NULL;
    }
    json_object_set_new(o, "stage", k->stage >= 0 ? json_integer(k->stage) : json_null());
    for (size_t i = 0; i < k->n_basis; i++)
        json_array_append_new(basis, json_string(k->basis[i]));
    json_object_set_new(o, "basis", basis);
    char wb[96];
    snprintf(wb, sizeof wb, "baseline.%s (pre-treatment weight)", k->weight_basis);
    json_object_set_new(o, "weight_basis", json_string(wb));
    json_object_set_new(o, "weight_kg", isnan(k->weight_kg) ? json_null() : num_json(k->weight_kg));
    json_object_set_new(o, "evidence", evidence_json(&k->evidence));
    if (k->missing.n > 0)
        json_object_set_new(o, "not_evaluated", missing_json(&k->missing));
    json_object_set_new(o, "source", json_string(r->rs->kdigo_source));
    return o;
}

static json_t *schedule_json(const engine_result *r)
{
    const engine_schedule *s = &r->schedule;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "status", json_string(engine_sched_status_name(s->status)));
    json_object_set_new(o, "dose_due", json_boolean(s->dose_due));
    json_object_set_new(o, "cycle", json_integer(s->cycle));
    json_object_set_new(o, "day", json_integer(s->day));
    json_object_set_new(o, "dose_in_cycle",
                        s->dose_in_cycle ? json_integer(s->dose_in_cycle) : json_null());
    json_object_set_new(o, "dose_in_course",
                        s->dose_in_course ? json_integer(s->dose_in_course) : json_null());
    json_object_set_new(o, "doses_given_cycle", json_integer(s->given_in_cycle));
    json_object_set_new(o, "doses_held_cycle", json_integer(s->held_in_cycle));
    json_object_set_new(o, "doses_given_course", json_integer(s->given_in_course));
    json_object_set_new(o, "max_doses_per_cycle", json_integer(s->max_per_cycle));
    json_object_set_new(o, "max_doses_per_course", json_integer(s->max_per_course));
    json_object_set_new(o, "next_dose_at", time_json(s->next_dose_ms));
    json_object_set_new(o, "first_dose_at", time_json(s->first_dose_ms));
    json_object_set_new(o, "cycle_start", time_json(s->cycle_start_ms));
    json_object_set_new(o, "course", json_integer(s->course));
    if (s->status == ENGINE_SCHED_NOT_SCHEDULED)
        json_object_set_new(o, "reason", json_string(s->gate_text));
    json_object_set_new(o, "time_zone", json_string(r->rs->time_zone));
    json_object_set_new(
        o, "utc_offset_minutes",
        json_integer(r->rs->zone ? tz_offset_ms(r->rs->zone, r->at_ms) / 60000 : 0));
    return o;
}

json_t *engine_result_to_json(const engine_result *r)
{
    json_t *result = NULL;
    json_t *o = json_object();
    json_t *rs = json_object();
    if (o == NULL || rs == NULL)
        goto fail;
    json_object_set_new(o, "patient_id", json_integer(r->patient_id));
    json_object_set_new(o, "at", time_json(r->at_ms));
    json_object_set_new(rs, "name", json_string(r->rs->name));
    json_object_set_new(rs, "version", json_integer(r->rs->version));
    json_object_set_new(o, "ruleset", rs);
    rs = NULL;
    json_t *parts[5] = {terms_json(r), decision_json(r), news2_json(r), kdigo_json(r),
                        schedule_json(r)};
    static const char *const names[5] = {"terms", "decision", "news2", "kdigo", "schedule"};
    bool ok = true;
    for (int i = 0; i < 5; i++) {
        if (parts[i] == NULL)
            ok = false;
        else
            json_object_set_new(o, names[i], parts[i]);
    }
    if (!ok)
        goto fail;
    result = o;
    o = NULL;
fail:
    json_decref(o);
    json_decref(rs);
    return result;
}
