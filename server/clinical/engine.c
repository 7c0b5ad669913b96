/* engine: evaluation as of a time T (contract in include/engine.h; the
 * clinical choices are docs/rules.md 9's and are cited where they are made).
 *
 * Two things depend on history, not only on the readings at T:
 *  - a hold lasts until its resume condition is met (policy 4 (docs/rules.md 9),
 *    S07), and a discontinue is sticky;
 *  - a term's max_grade is the highest grade since the current cycle began.
 * Both are computed by one replay: the readings are walked in time order,
 * and at each time some code changed, only the rules and terms that read
 * that code are re-evaluated (the "change point" step). The same step is
 * the live path (engine_state_ingest): a reading arrives, its dependants
 * are re-evaluated, nothing else. A sticky rule is also evaluated on the
 * instant before each change, so that a flag episode that ended (dialysis
 * true for 80 h, then false) is seen at its full length.
 *
 * Decision (policy 4 (docs/rules.md 9)): the most severe action any rule asks for,
 * discontinue > hold > insufficient_data > give. Consensus criteria
 * (relative / absolute, Dutcher 2014 Table 3) are combined by the rule
 * set's policy: S4b (manufacturer guide) any relative -> hold; >= 3
 * relative or any absolute -> hold marked absolute, "physician review:
 * stop if not easily reversed"; S5 (SpringerPlus 2015) escalates to a
 * (sticky) discontinue instead. NEWS2 never drives the decision. */
#include "engine_int.h"
#include "obs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *engine_action_name(engine_action a)
{
    switch (a) {
    case ENGINE_GIVE:
        return "give";
    case ENGINE_INSUFFICIENT_DATA:
        return "insufficient_data";
    case ENGINE_HOLD:
        return "hold";
    case ENGINE_DISCONTINUE:
        return "discontinue";
    }
    return "?";
}

/* ---------------------------------------------------------------------- */
/* State                                                                   */

struct engine_state {
    const rules_set *rs;
    int64_t as_of;        /* change points processed up to here (inclusive) */
    int64_t cycle_start;  /* max grades count from here; ENGINE_NO_TIME = all history */
    int64_t *sticky_at;   /* per rule: first time a discontinue rule was met */
    bool *sticky_excl;    /* ... on the instant before that time */
    int64_t consensus_at; /* S5: first time the consensus escalated to discontinue */
    bool *held;           /* per rule with a resume condition */
    int64_t *held_since;
    int8_t *rule_st; /* per rule: last evaluated etri (live facts) */
    int8_t *grade;   /* per term, -1 = null */
    int8_t *max_grade;
    int64_t *grade_since;
    int8_t *news2_pts; /* per NEWS2 parameter: points, -1 unknown, -2 not applicable */
    bool *changed;     /* scratch: per code */
    uint8_t *touched;  /* per rule, then per term: re-evaluated since the last digest */
    int *codes;        /* codes any item reads */
    size_t n_codes;
};

static void state_clear(engine_state *st)
{
    const rules_set *rs = st->rs;
    st->as_of = ENGINE_NO_TIME;
    st->cycle_start = ENGINE_NO_TIME;
    st->consensus_at = ENGINE_NO_TIME;
    for (size_t i = 0; i < rs->n_rules; i++) {
        st->sticky_at[i] = ENGINE_NO_TIME;
        st->sticky_excl[i] = false;
        st->held[i] = false;
        st->held_since[i] = ENGINE_NO_TIME;
        st->rule_st[i] = ETRI_UNKNOWN;
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        st->grade[i] = -1;
        st->max_grade[i] = -1;
        st->grade_since[i] = ENGINE_NO_TIME;
    }
    for (size_t i = 0; i < rs->n_news2; i++)
        st->news2_pts[i] = -1;
    memset(st->touched, 1, rs->n_rules + rs->n_terms);
}

engine_state *engine_state_new(const rules_set *rs)
{
    engine_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->rs = rs;
    size_t nr = rs->n_rules ? rs->n_rules : 1, nt = rs->n_terms ? rs->n_terms : 1;
    st->sticky_at = calloc(nr, sizeof *st->sticky_at);
    st->sticky_excl = calloc(nr, sizeof *st->sticky_excl);
    st->held = calloc(nr, sizeof *st->held);
    st->held_since = calloc(nr, sizeof *st->held_since);
    st->rule_st = calloc(nr, sizeof *st->rule_st);
    st->grade = calloc(nt, sizeof *st->grade);
    st->max_grade = calloc(nt, sizeof *st->max_grade);
    st->grade_since = calloc(nt, sizeof *st->grade_since);
    st->news2_pts = calloc(rs->n_news2 ? rs->n_news2 : 1, sizeof *st->news2_pts);
    st->changed = calloc(rs->n_codes ? rs->n_codes : 1, sizeof *st->changed);
    st->codes = calloc(rs->n_codes ? rs->n_codes : 1, sizeof *st->codes);
    st->touched = calloc(nr + nt, 1);
    if (st->touched == NULL || st->sticky_at == NULL || st->sticky_excl == NULL ||
        st->held == NULL || st->held_since == NULL || st->rule_st == NULL || st->grade == NULL ||
        st->max_grade == NULL || st->grade_since == NULL || st->news2_pts == NULL ||
        st->changed == NULL || st->codes == NULL) {
        engine_state_free(st);
        return NULL;
    }
    /* the codes anything reads: the only ones whose readings are change points */
    bool *used = st->changed;
    for (size_t i = 0; i < rs->n_rules; i++)
        for (size_t k = 0; k < rs->rules[i].deps.n; k++)
            used[rs->rules[i].deps.codes[k]] = true;
    for (size_t i = 0; i < rs->n_terms; i++)
        for (size_t k = 0; k < rs->terms[i].grades.deps.n; k++)
            used[rs->terms[i].grades.deps.codes[k]] = true;
    for (size_t i = 0; i < rs->n_news2; i++)
        for (size_t k = 0; k < rs->news2[i].deps.n; k++)
            used[rs->news2[i].deps.codes[k]] = true;
    for (size_t i = 0; i < rs->n_codes; i++)
        if (used[i])
            st->codes[st->n_codes++] = (int)i;
    memset(st->changed, 0, rs->n_codes * sizeof *st->changed);
    state_clear(st);
    return st;
}

void engine_state_free(engine_state *st)
{
    if (st == NULL)
        return;
    free(st->sticky_at);
    free(st->sticky_excl);
    free(st->held);
    free(st->held_since);
    free(st->rule_st);
    free(st->grade);
    free(st->max_grade);
    free(st->grade_since);
    free(st->news2_pts);
    free(st->changed);
    free(st->codes);
    free(st->touched);
    free(st);
}

void engine_state_reset(engine_state *st)
{
    if (st != NULL)
        state_clear(st);
}

int64_t engine_state_time(const engine_state *st)
{
    return st != NULL ? st->as_of : ENGINE_NO_TIME;
}

static engine_state *state_copy(const engine_state *src)
{
    const rules_set *rs = src->rs;
    engine_state *st = engine_state_new(rs);
    if (st == NULL)
        return NULL;
    st->as_of = src->as_of;
    st->cycle_start = src->cycle_start;
    st->consensus_at = src->consensus_at;
    memcpy(st->sticky_at, src->sticky_at, rs->n_rules * sizeof *st->sticky_at);
    memcpy(st->sticky_excl, src->sticky_excl, rs->n_rules * sizeof *st->sticky_excl);
    memcpy(st->held, src->held, rs->n_rules * sizeof *st->held);
    memcpy(st->held_since, src->held_since, rs->n_rules * sizeof *st->held_since);
    memcpy(st->rule_st, src->rule_st, rs->n_rules * sizeof *st->rule_st);
    memcpy(st->grade, src->grade, rs->n_terms * sizeof *st->grade);
    memcpy(st->max_grade, src->max_grade, rs->n_terms * sizeof *st->max_grade);
    memcpy(st->grade_since, src->grade_since, rs->n_terms * sizeof *st->grade_since);
    memcpy(st->news2_pts, src->news2_pts, rs->n_news2 * sizeof *st->news2_pts);
    return st;
}

/* ---------------------------------------------------------------------- */
/* Items at one instant                                                    */

static bool depends(const rules_deps *d, const bool *changed)
{
    if (changed == NULL)
        return true;
    for (size_t k = 0; k < d->n; k++)
        if (changed[d->codes[k]])
            return true;
    return false;
}

/* A term's grade: max(numeric, clinician) (policy 11 (docs/rules.md 9)). */
static int term_grade(const ectx *c, const rules_term *t, int *numeric, int *clin)
{
    int num = t->grades.n > 0 ? engine_scale(c, &t->grades, NULL) : -1;
    int cg = t->clinician_code >= 0 ? engine_latest_grade(c, t->clinician_code, NULL) : -1;
    if (numeric != NULL)
        *numeric = num;
    if (clin != NULL)
        *clin = cg;
    return num > cg ? num : cg;
}

/* NEWS2 points of one parameter: -2 not applicable (other scale), -1 unknown. */
static int news2_points(const ectx *c, const rules_news2_param *pm)
{
    if (pm->guard != NULL) {
        etri g = engine_cond(c, pm->guard);
        if (g == ETRI_FALSE)
            return -2;
        if (g == ETRI_UNKNOWN)
            return -1;
    }
    for (size_t i = 0; i < pm->n_bands; i++) {
        etri st = engine_cond(c, pm->bands[i].when);
        if (st == ETRI_TRUE)
            return pm->bands[i].level;
        if (st == ETRI_UNKNOWN)
            return -1;
    }
    return -1; /* no band matched: the bands have a gap; never read as 0 */
}

/* Hold with hysteresis (policy 4 (docs/rules.md 9), S07): held from the first time
 * the trigger is met until the resume condition is met while the trigger
 * is not. */
static void hold_step(engine_state *st, size_t i, const ectx *c)
{
    const rules_rule *r = &st->rs->rules[i];
    etri trig = engine_cond(c, r->when);
    st->rule_st[i] = (int8_t)trig;
    if (trig == ETRI_TRUE) {
        if (!st->held[i]) {
            st->held[i] = true;
            st->held_since[i] = c->at;
        }
        return;
    }
    if (!st->held[i])
        return;
    ectx rc = *c;
    rc.hold_since = st->held_since[i];
    if (engine_cond(&rc, r->resume) == ETRI_TRUE) {
        st->held[i] = false;
        st->held_since[i] = ENGINE_NO_TIME;
    }
}

static bool is_sticky(const rules_rule *r)
{
    return r->action == RULES_ACT_DISCONTINUE || r->action == RULES_ACT_DISCONTINUE_COURSE;
}

/* Counts the consensus criteria met now. */
static void consensus_counts(const engine_state *st, int *rel, int *abs_)
{
    *rel = *abs_ = 0;
    for (size_t i = 0; i < st->rs->n_rules; i++) {
        if (st->rule_st[i] != ETRI_TRUE)
            continue;
        *rel += st->rs->rules[i].klass == RULES_CLASS_RELATIVE;
        *abs_ += st->rs->rules[i].klass == RULES_CLASS_ABSOLUTE;
    }
}

/* One change point: re-evaluates what reads a changed code (everything when
 * changed == NULL, the final step at T). */
static void step(engine_state *st, const ectx *base, int64_t t, const bool *changed)
{
    const rules_set *rs = st->rs;
    ectx c = *base;
    c.at = t;
    c.excl = false;
    c.ev = NULL;
    c.miss = NULL;
    c.hold_since = ENGINE_NO_TIME;
    bool criteria_changed = false;

    for (size_t i = 0; i < rs->n_rules; i++) {
        const rules_rule *r = &rs->rules[i];
        if (!depends(&r->deps, changed))
            continue;
        st->touched[i] = 1;
        if (is_sticky(r)) {
            if (st->sticky_at[i] != ENGINE_NO_TIME)
                continue;
            if (changed != NULL) { /* the instant before: an episode that just ended */
                ectx before = c;
                before.excl = true;
                if (engine_cond(&before, r->when) == ETRI_TRUE) {
                    st->sticky_at[i] = t;
                    st->sticky_excl[i] = true;
                    continue;
                }
            }
            etri s = engine_cond(&c, r->when);
            st->rule_st[i] = (int8_t)s;
            if (s == ETRI_TRUE)
                st->sticky_at[i] = t;
        } else if (r->resume != NULL) {
            hold_step(st, i, &c);
        } else {
            st->rule_st[i] = (int8_t)engine_cond(&c, r->when);
            criteria_changed |= r->klass != RULES_CLASS_LABEL;
        }
    }
    if (criteria_changed && rs->policy == RULES_POLICY_S5 && st->consensus_at == ENGINE_NO_TIME) {
        /* the escalation is sticky: count criteria as they are now, never a
         * cached status whose data may have gone stale since */
        for (size_t i = 0; changed != NULL && i < rs->n_rules; i++)
            if (rs->rules[i].klass != RULES_CLASS_LABEL && !depends(&rs->rules[i].deps, changed)) {
                st->rule_st[i] = (int8_t)engine_cond(&c, rs->rules[i].when);
                st->touched[i] = 1;
            }
        int rel, abs_;
        consensus_counts(st, &rel, &abs_);
        if (abs_ > 0 || rel >= rs->consensus_relative_count)
            st->consensus_at = t;
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        const rules_term *tm = &rs->terms[i];
        if (!depends(&tm->grades.deps, changed))
            continue;
        st->touched[rs->n_rules + i] = 1;
        int g = term_grade(&c, tm, NULL, NULL);
        if (g != st->grade[i] || st->grade_since[i] == ENGINE_NO_TIME) {
            st->grade[i] = (int8_t)g;
            st->grade_since[i] = g >= 0 ? t : ENGINE_NO_TIME;
        }
        if (g > st->max_grade[i] && (st->cycle_start == ENGINE_NO_TIME || t >= st->cycle_start))
            st->max_grade[i] = (int8_t)g;
    }
    for (size_t i = 0; i < rs->n_news2; i++)
        if (depends(&rs->news2[i].deps, changed))
            st->news2_pts[i] = (int8_t)news2_points(&c, &rs->news2[i]);
}

/* Walks the change points in (st->as_of, to]. */
static void replay(engine_state *st, const ectx *base, int64_t to)
{
    const engine_hist *h = base->h;
    size_t idx_stack[128];
    size_t *idx = st->n_codes <= 128 ? idx_stack : calloc(st->n_codes, sizeof *idx);
    if (idx == NULL)
        return;
    for (size_t k = 0; k < st->n_codes; k++) {
        const engine_series *s = &h->s[st->codes[k]];
        /* Resume after the readings already seen: a binary search, so the
         * live path costs the same on day 5 of a course as on day 1. */
        size_t lo = 0, hi = st->as_of == ENGINE_NO_TIME ? 0 : s->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->p[mid].t_ms <= st->as_of)
                lo = mid + 1;
            else
                hi = mid;
        }
        idx[k] = lo;
    }
    for (;;) {
        int64_t t = INT64_MAX;
        for (size_t k = 0; k < st->n_codes; k++) {
            const engine_series *s = &h->s[st->codes[k]];
            if (idx[k] < s->n && s->p[idx[k]].t_ms <= to && s->p[idx[k]].t_ms < t)
                t = s->p[idx[k]].t_ms;
        }
        if (t == INT64_MAX)
            break;
        for (size_t k = 0; k < st->n_codes; k++) {
            const engine_series *s = &h->s[st->codes[k]];
            while (idx[k] < s->n && s->p[idx[k]].t_ms == t) {
                idx[k]++;
                st->changed[st->codes[k]] = true;
            }
        }
        step(st, base, t, st->changed);
        for (size_t k = 0; k < st->n_codes; k++)
            st->changed[st->codes[k]] = false;
        st->as_of = t;
    }
    if (to > st->as_of || st->as_of == ENGINE_NO_TIME)
        st->as_of = to;
    if (idx != idx_stack)
        free(idx);
}

static ectx base_ctx(const rules_set *rs, const engine_patient *pt, const engine_hist *h)
{
    ectx c = {.rs = rs, .pt = pt, .h = h, .at = 0, .hold_since = ENGINE_NO_TIME};
    return c;
}

int engine_state_ingest(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        int64_t t_ms)
{
    if (st == NULL)
        return -1;
    engine_schedule sch;
    engine_schedule_at(st->rs, pt, t_ms, &sch);
    if ((st->as_of != ENGINE_NO_TIME && t_ms < st->as_of) ||
        (st->as_of != ENGINE_NO_TIME && sch.cycle_start_ms != st->cycle_start))
        state_clear(st);
    st->cycle_start = sch.cycle_start_ms;
    ectx base = base_ctx(st->rs, pt, h);
    if (st->as_of != ENGINE_NO_TIME && t_ms == st->as_of) {
        /* more readings at the instant already processed: step it again with
         * every code that has a reading at that instant */
        for (size_t k = 0; k < st->n_codes; k++) {
            const engine_series *s = &h->s[st->codes[k]];
            for (size_t i = s->n; i > 0 && s->p[i - 1].t_ms >= t_ms; i--)
                if (s->p[i - 1].t_ms == t_ms)
                    st->changed[st->codes[k]] = true;
        }
        step(st, &base, t_ms, st->changed);
        for (size_t k = 0; k < st->n_codes; k++)
            st->changed[st->codes[k]] = false;
        return 0;
    }
    replay(st, &base, t_ms);
    return 0;
}

static bool required_fresh(const ectx *c, int code)
{
    size_t n;
    const engine_point *p = engine_visible(c, code, &n);
    return n > 0 && p[n - 1].t_ms >= c->at - c->rs->required_ms;
}

static const char *news2_risk(const rules_set *rs, int score, bool single3)
{
    if (score >= rs->news2_high)
        return "high";
    if (score >= rs->news2_medium)
        return "medium";
    if (single3)
        return "low-medium";
    return "low";
}

int engine_state_facts(engine_state *st, const engine_patient *pt, const engine_hist *h,
                       engine_facts *out)
{
    const rules_set *rs = st->rs;
    ectx c = base_ctx(rs, pt, h);
    c.at = st->as_of;
    memset(out, 0, sizeof *out);
    out->at_ms = st->as_of;
    out->grades = st->grade;
    out->max_grades = st->max_grade;
    out->n_terms = rs->n_terms;
    engine_action a = ENGINE_GIVE;
    for (size_t i = 0; i < rs->n_required; i++)
        if (!required_fresh(&c, rs->required[i]))
            a = ENGINE_INSUFFICIENT_DATA;
    /* a criterion met when its data last changed may have gone stale since */
    for (size_t i = 0; i < rs->n_rules; i++)
        if (rs->rules[i].resume == NULL && !is_sticky(&rs->rules[i]) && st->rule_st[i] == ETRI_TRUE)
            st->rule_st[i] = (int8_t)engine_cond(&c, rs->rules[i].when);
    for (size_t i = 0; i < rs->n_rules; i++) {
        const rules_rule *r = &rs->rules[i];
        engine_action ra = ENGINE_GIVE;
        if (is_sticky(r))
            ra = st->sticky_at[i] != ENGINE_NO_TIME ? ENGINE_DISCONTINUE : ENGINE_GIVE;
        else if (r->resume != NULL)
            ra = st->held[i] ? ENGINE_HOLD : ENGINE_GIVE;
        else if (r->klass == RULES_CLASS_LABEL && st->rule_st[i] == ETRI_TRUE)
            ra = ENGINE_HOLD;
        if (ra > a)
            a = ra;
    }
    consensus_counts(st, &out->n_relative, &out->n_absolute);
    if ((out->n_relative > 0 || out->n_absolute > 0) && a < ENGINE_HOLD)
        a = ENGINE_HOLD;
    if (st->consensus_at != ENGINE_NO_TIME)
        a = ENGINE_DISCONTINUE;
    out->action = a;
    int sum = 0;
    bool complete = true, single3 = false;
    for (size_t i = 0; i < rs->n_news2; i++) {
        /* a parameter's value may have gone stale since it last changed */
        st->news2_pts[i] = (int8_t)news2_points(&c, &rs->news2[i]);
        int p = st->news2_pts[i];
        if (p == -2)
            continue;
        if (p < 0) {
            complete = false;
            continue;
        }
        sum += p;
        single3 |= p == 3;
    }
    out->news2_partial = sum;
    out->news2_score = complete ? sum : -1;
    out->news2_single_3 = single3;
    out->news2_risk = news2_risk(rs, sum, single3);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Full evaluation                                                         */

static void add_reason(engine_result *r, const char *rule, const char *text, const char *source,
                       const char *klass, engine_action a)
{
    engine_reason *rr = &r->reasons[r->n_reasons++];
    memset(rr, 0, sizeof *rr);
    rr->rule = rule;
    rr->text = text;
    rr->source = source;
    rr->klass = klass;
    rr->action = a;
    rr->since_ms = ENGINE_NO_TIME;
    if (a > r->action)
        r->action = a;
}

static const char *class_name(rules_class k)
{
    return k == RULES_CLASS_RELATIVE   ? "relative"
           : k == RULES_CLASS_ABSOLUTE ? "absolute"
                                       : "label";
}

/* Evidence of a condition evaluated at time t (instant before when excl). */
static void evidence_at(const ectx *base, const rules_cond *cond, int64_t t, bool excl,
                        int64_t hold_since, engine_evlist *ev)
{
    ectx c = *base;
    c.at = t;
    c.excl = excl;
    c.hold_since = hold_since;
    c.ev = ev;
    c.miss = NULL;
    ev->n = 0;
    if (engine_cond(&c, cond) != ETRI_TRUE)
        ev->n = 0;
}

/* The consensus policy outcome (policy 2, docs/rules.md 9): S4b holds at
 * escalate_at_relative relative criteria or any absolute one; S5
 * discontinues, and stays discontinued once it did. */
static void consensus_outcome(engine_result *res, const engine_state *st, int rel, int abs_)
{
    const rules_set *rs = res->rs;
    bool escalate = abs_ > 0 || rel >= rs->consensus_relative_count;

    if (rs->policy == RULES_POLICY_S5 && st->consensus_at != ENGINE_NO_TIME) {
        add_reason(res, rs->consensus_id, rs->consensus_text, rs->consensus_source, "absolute",
                   ENGINE_DISCONTINUE);
        res->reasons[res->n_reasons - 1].since_ms = st->consensus_at;
    } else if (escalate) {
        add_reason(res, rs->consensus_id, rs->consensus_text, rs->consensus_source, "absolute",
                   rs->policy == RULES_POLICY_S5 ? ENGINE_DISCONTINUE : ENGINE_HOLD);
    }
}

static void decide(engine_result *res, const engine_state *st, const ectx *at)
{
    const rules_set *rs = res->rs;
    int rel = 0, abs_ = 0;
    ectx c = *at;

    for (size_t i = 0; i < rs->n_required; i++)
        if (!required_fresh(&c, rs->required[i])) {
            const obs_code *oc = obs_code_by_id(rs->required[i]);
            engine_miss_add(&res->missing_required, oc != NULL ? oc->code : "?");
        }
    if (res->missing_required.n > 0) {
        size_t len = 0;
        char *buf = res->required_text;
        size_t cap = sizeof res->required_text;
        len += (size_t)snprintf(buf, cap, "no fresh value (last %g h) of",
                                (double)rs->required_ms / 3600000.0);
        for (size_t i = 0; i < res->missing_required.n && len < cap; i++)
            len += (size_t)snprintf(buf + len, cap - len, "%s %s", i ? "," : "",
                                    res->missing_required.items[i]);
        add_reason(res, rs->required_id, buf, rs->required_source, "data",
                   ENGINE_INSUFFICIENT_DATA);
    }

    for (size_t i = 0; i < rs->n_rules; i++) {
        const rules_rule *r = &rs->rules[i];
        if (is_sticky(r) && st->sticky_at[i] != ENGINE_NO_TIME) {
            add_reason(res, r->id, r->text, r->source, class_name(r->klass), ENGINE_DISCONTINUE);
            engine_reason *rr = &res->reasons[res->n_reasons - 1];
            rr->since_ms = st->sticky_at[i];
            evidence_at(at, r->when, st->sticky_at[i], st->sticky_excl[i], ENGINE_NO_TIME,
                        &rr->evidence);
            continue;
        }
        if (r->resume != NULL && st->held[i]) {
            add_reason(res, r->id, r->text, r->source, class_name(r->klass), ENGINE_HOLD);
            engine_reason *rr = &res->reasons[res->n_reasons - 1];
            rr->since_ms = st->held_since[i];
            rr->resume = r->resume_text;
            /* why it holds now: the trigger now if met, else at its onset */
            evidence_at(at, r->when, at->at, false, ENGINE_NO_TIME, &rr->evidence);
            if (rr->evidence.n == 0)
                evidence_at(at, r->when, st->held_since[i], false, ENGINE_NO_TIME, &rr->evidence);
            continue;
        }
        engine_missing miss = {0};
        engine_evlist ev = {0};
        c.ev = &ev;
        c.miss = &miss;
        etri s = engine_cond(&c, r->when);
        if (s == ETRI_UNKNOWN) {
            engine_not_evaluated *ne = &res->not_evaluated[res->n_not_evaluated++];
            ne->rule = r->id;
            ne->missing = miss;
            continue;
        }
        if (s != ETRI_TRUE)
            continue;
        engine_action a = ENGINE_HOLD; /* criteria: S4b hold unless escalated below */
        if (is_sticky(r))
            a = ENGINE_DISCONTINUE;
        add_reason(res, r->id, r->text, r->source, class_name(r->klass), a);
        res->reasons[res->n_reasons - 1].evidence = ev;
        if (r->resume != NULL)
            res->reasons[res->n_reasons - 1].resume = r->resume_text;
        rel += r->klass == RULES_CLASS_RELATIVE;
        abs_ += r->klass == RULES_CLASS_ABSOLUTE;
    }

    /* a course that may not start: the schedule's reason decides too */
    if (res->schedule.status == ENGINE_SCHED_NOT_SCHEDULED && res->schedule.gate_rule != NULL)
        add_reason(res, res->schedule.gate_rule, res->schedule.gate_text, rs->course_source,
                   "label", res->schedule.gate_action);
    consensus_outcome(res, st, rel, abs_);
}

const char *engine_permanent_rule(const engine_result *r)
{
    for (size_t i = 0; r != NULL && i < r->n_reasons; i++) {
        if (r->reasons[i].action != ENGINE_DISCONTINUE)
            continue;
        for (size_t k = 0; k < r->rs->n_rules; k++)
            if (r->rs->rules[k].action == RULES_ACT_DISCONTINUE &&
                strcmp(r->rs->rules[k].id, r->reasons[i].rule) == 0)
                return r->rs->rules[k].id;
    }
    return NULL;
}

static void eval_terms(engine_result *res, const engine_state *st, const ectx *at)
{
    const rules_set *rs = res->rs;
    for (size_t i = 0; i < rs->n_terms; i++) {
        const rules_term *t = &rs->terms[i];
        engine_term_result *tr = &res->terms[i];
        tr->term = t;
        ectx c = *at;
        c.ev = &tr->evidence;
        c.miss = &tr->missing;
        tr->numeric_grade = t->grades.n > 0 ? engine_scale(&c, &t->grades, NULL) : -1;
        engine_evlist cev = {0};
        tr->clinician_grade =
            t->clinician_code >= 0 ? engine_latest_grade(&c, t->clinician_code, &cev) : -1;
        if (tr->clinician_grade >= 0 && tr->clinician_grade >= tr->numeric_grade)
            for (size_t k = 0; k < cev.n; k++)
                engine_ev_add(&tr->evidence, cev.ev[k].code, NULL, cev.ev[k].value, cev.ev[k].t_ms,
                              NULL, 0);
        tr->grade =
            tr->numeric_grade > tr->clinician_grade ? tr->numeric_grade : tr->clinician_grade;
        if (tr->grade >= 0)
            tr->missing.n = 0;
        if (tr->grade == 0 && tr->evidence.n == 0) /* grade 0: show the values read */
            for (size_t k = 0; k < t->grades.deps.n; k++) {
                int code = t->grades.deps.codes[k];
                size_t cnt;
                const engine_point *p = engine_visible(&c, code, &cnt);
                if (code != t->clinician_code && cnt > 0 &&
                    (rs->fresh_ms[code] == 0 || p[cnt - 1].t_ms >= at->at - rs->fresh_ms[code]))
                    engine_ev_add(&tr->evidence, code, NULL, p[cnt - 1].v, p[cnt - 1].t_ms, NULL,
                                  0);
            }
        tr->since_ms = tr->grade >= 0 ? st->grade_since[i] : ENGINE_NO_TIME;
        tr->max_grade = st->max_grade[i] > tr->grade ? st->max_grade[i] : tr->grade;
        tr->suggested = -1;
        if (t->suggest.n > 0) {
            ectx sc = *at;
            int s = engine_scale(&sc, &t->suggest, &tr->suggested_text);
            if (s > 0)
                tr->suggested = s;
        }
    }
}

static void eval_news2(engine_result *res, const ectx *at)
{
    const rules_set *rs = res->rs;
    engine_news2 *n = &res->news2;
    n->complete = true;
    for (size_t i = 0; i < rs->n_news2 && n->n < ENGINE_NEWS2_MAX; i++) {
        const rules_news2_param *pm = &rs->news2[i];
        int p = news2_points(at, pm);
        if (p == -2)
            continue;
        engine_news2_component *cp = &n->comp[n->n++];
        cp->name = pm->name;
        cp->code = pm->code;
        cp->points = p;
        cp->known = p >= 0;
        cp->t_ms = ENGINE_NO_TIME;
        if (pm->code >= 0) {
            size_t cnt;
            const engine_point *pts = engine_visible(at, pm->code, &cnt);
            if (cnt > 0) {
                cp->value = pts[cnt - 1].v;
                cp->t_ms = pts[cnt - 1].t_ms;
            }
        }
        if (p < 0) {
            n->complete = false;
            continue;
        }
        n->partial_score += p;
        n->single_3 |= p == 3;
    }
    n->score = n->complete ? n->partial_score : -1;
    n->risk = news2_risk(rs, n->partial_score, n->single_3);
}

/* KDIGO (policy 15 (docs/rules.md 9)): the highest stage any criterion reaches; the
 * basis lists every criterion met at that stage. */
static void eval_kdigo(engine_result *res, const ectx *at)
{
    const rules_set *rs = res->rs;
    engine_kdigo *k = &res->kdigo;
    ectx c = *at;
    c.ev = &k->evidence;
    c.miss = &k->missing;
    k->stage = -1;
    bool any_known = false;
    for (size_t i = 0; i < rs->kdigo.n; i++) {
        const rules_level *lv = &rs->kdigo.levels[i];
        if (k->stage > lv->level)
            break;
        size_t nev = k->evidence.n;
        etri s = engine_cond(&c, lv->when);
        if (s != ETRI_TRUE)
            k->evidence.n = nev;
        if (s != ETRI_UNKNOWN)
            any_known = true;
        if (s == ETRI_TRUE) {
            k->stage = lv->level;
            if (k->n_basis < 8)
                k->basis[k->n_basis++] = lv->text;
        }
    }
    if (k->stage < 0 && any_known)
        k->stage = 0;
    if (k->stage >= 0 && k->n_basis == 0)
        k->basis[k->n_basis++] = "no KDIGO criterion met";
    k->weight_basis = rules_baseline_name(rs->kdigo_weight_key);
    k->weight_kg = rs->kdigo_weight_key >= 0 ? at->pt->baseline[rs->kdigo_weight_key] : NAN;
}

void engine_result_free(engine_result *r)
{
    if (r == NULL)
        return;
    free(r->terms);
    free(r->reasons);
    free(r->not_evaluated);
    free(r);
}

engine_result *engine_evaluate(const rules_set *rs, const engine_patient *pt, const engine_hist *h,
                               int64_t at_ms, const engine_state *given)
{
    engine_result *result = NULL;
    engine_result *r = calloc(1, sizeof *r);
    engine_state *st = NULL;
    if (r == NULL)
        goto fail;
    r->rs = rs;
    r->patient_id = pt->id;
    r->at_ms = at_ms;
    r->n_terms = rs->n_terms;
    r->terms = calloc(rs->n_terms ? rs->n_terms : 1, sizeof *r->terms);
    r->reasons = calloc(rs->n_rules + 4, sizeof *r->reasons);
    r->not_evaluated = calloc(rs->n_rules + 1, sizeof *r->not_evaluated);
    if (r->terms == NULL || r->reasons == NULL || r->not_evaluated == NULL)
        goto fail;

    engine_schedule_at(rs, pt, at_ms, &r->schedule);
    if (given != NULL && given->rs == rs && given->as_of != ENGINE_NO_TIME &&
        given->as_of <= at_ms && given->cycle_start == r->schedule.cycle_start_ms)
        st = state_copy(given);
    else
        st = engine_state_new(rs);
    if (st == NULL)
        goto fail;
    st->cycle_start = r->schedule.cycle_start_ms;

    ectx base = base_ctx(rs, pt, h);
    replay(st, &base, at_ms);
    step(st, &base, at_ms, NULL); /* the final step at T: everything, inclusive */

    ectx at = base;
    at.at = at_ms;
    r->action = ENGINE_GIVE;
    eval_terms(r, st, &at);
    decide(r, st, &at);
    eval_news2(r, &at);
    eval_kdigo(r, &at);
    result = r;
    r = NULL;
fail:
    engine_state_free(st);
    engine_result_free(r);
    return result;
}

/* ---------------------------------------------------------------------- */
/* Live path: advance, digest                                              */

int engine_live_advance(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        int64_t oldest, int64_t newest)
{
    int64_t as_of = engine_state_time(st);

    if (as_of == ENGINE_NO_TIME || oldest > as_of)
        return engine_state_ingest(st, pt, h, newest);
    if (oldest < as_of) { /* out of order: a late reading before what the state has seen */
        int64_t to = newest > as_of ? newest : as_of;
        engine_state_reset(st);
        return engine_state_ingest(st, pt, h, to);
    }
    /* more readings at the instant already processed */
    if (engine_state_ingest(st, pt, h, as_of) != 0)
        return -1;
    return newest > as_of ? engine_state_ingest(st, pt, h, newest) : 0;
}

/* Digest layout: [grade per term][max grade per term][per rule][per
 * required code][NEWS2 points per parameter][NEWS2 complete, score, partial,
 * single 3]. The action and the consensus outcome are not in it: they follow
 * from the rules and the required codes. */
size_t engine_digest_size(const rules_set *rs)
{
    return 2 * rs->n_terms + rs->n_rules + rs->n_required + rs->n_news2 + 4;
}

static uint8_t *digest_news2(uint8_t *p, bool complete, int score, int partial, bool single3)
{
    *p++ = complete;
    *p++ = (uint8_t)(int8_t)(complete ? score : -1);
    *p++ = (uint8_t)(int8_t)partial;
    *p++ = single3;
    return p;
}

void engine_result_digest(const engine_result *r, uint8_t *out)
{
    const rules_set *rs = r->rs;
    uint8_t *rules, *required, *news2;

    memset(out, 0, engine_digest_size(rs));
    for (size_t i = 0; i < rs->n_terms; i++) {
        out[i] = (uint8_t)(int8_t)r->terms[i].grade;
        out[rs->n_terms + i] = (uint8_t)(int8_t)r->terms[i].max_grade;
    }
    rules = out + 2 * rs->n_terms;
    required = rules + rs->n_rules;
    news2 = required + rs->n_required;
    /* add_reason() stores the rule set's own id pointers: match by address */
    for (size_t k = 0; k < r->n_reasons; k++)
        for (size_t i = 0; i < rs->n_rules; i++)
            if (r->reasons[k].rule == rs->rules[i].id)
                rules[i] = (uint8_t)r->reasons[k].action;
    for (size_t i = 0; i < rs->n_required; i++) {
        const obs_code *oc = obs_code_by_id(rs->required[i]);
        for (size_t k = 0; oc != NULL && k < r->missing_required.n; k++)
            if (strcmp(r->missing_required.items[k], oc->code) == 0)
                required[i] = 1;
    }
    /* eval_news2() lists the applicable parameters in rule-set order */
    for (size_t i = 0; i < rs->n_news2; i++) {
        news2[i] = (uint8_t)(int8_t)-2;
        for (size_t k = 0; k < r->news2.n; k++)
            if (r->news2.comp[k].name == rs->news2[i].name)
                news2[i] = (uint8_t)(int8_t)r->news2.comp[k].points;
    }
    digest_news2(news2 + rs->n_news2, r->news2.complete, r->news2.score, r->news2.partial_score,
                 r->news2.single_3);
}

/* What rule i contributes to the decision in the state, as decide() does. */
static engine_action rule_contribution(const engine_state *st, size_t i)
{
    const rules_rule *r = &st->rs->rules[i];

    if (is_sticky(r))
        return st->sticky_at[i] != ENGINE_NO_TIME ? ENGINE_DISCONTINUE : ENGINE_GIVE;
    if (r->resume != NULL)
        return st->held[i] ? ENGINE_HOLD : ENGINE_GIVE;
    return st->rule_st[i] == ETRI_TRUE ? ENGINE_HOLD : ENGINE_GIVE;
}

int engine_state_digest(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        uint8_t *out, uint8_t *mask)
{
    const rules_set *rs = st->rs;
    const size_t nt = rs->n_terms, nr = rs->n_rules;
    engine_facts f;
    uint8_t *p = out, *m = mask;
    ectx c = base_ctx(rs, pt, h);

    if (engine_state_facts(st, pt, h, &f) != 0)
        return -1;
    c.at = st->as_of;
    memset(mask, 0, engine_digest_size(rs));
    for (size_t i = 0; i < nt; i++) {
        p[i] = (uint8_t)f.grades[i];
        p[nt + i] = (uint8_t)f.max_grades[i];
        m[i] = m[nt + i] = st->touched[nr + i];
    }
    p += 2 * nt;
    m += 2 * nt;
    for (size_t i = 0; i < nr; i++) {
        *p++ = (uint8_t)rule_contribution(st, i);
        *m++ = st->touched[i];
    }
    /* freshness and NEWS2 are computed at the state's time for every item:
     * compared in full */
    for (size_t i = 0; i < rs->n_required; i++) {
        *p++ = !required_fresh(&c, rs->required[i]);
        *m++ = 1;
    }
    for (size_t i = 0; i < rs->n_news2; i++) {
        *p++ = (uint8_t)st->news2_pts[i];
        *m++ = 1;
    }
    digest_news2(p, f.news2_score >= 0, f.news2_score, f.news2_partial, f.news2_single_3);
    memset(m, 1, 4);
    memset(st->touched, 0, nr + nt);
    return 0;
}

bool engine_digest_same(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mask[i] && a[i] != b[i])
            return false;
    return true;
}
