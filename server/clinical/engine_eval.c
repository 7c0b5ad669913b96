/* engine_eval: operands and conditions of the rule language, evaluated at
 * one instant (docs/rules.md "Operands", "Conditions").
 *
 * Exact arithmetic (policy 12 (docs/rules.md 9)): a reading is taken as the decimal
 * round(v * 1e6) / 1e6 and every derived quantity is an exact rational in
 * 128-bit integers, reduced after each step. So creatinine 1.8 over a
 * baseline of 0.6 is exactly 3 (not 3.0000000000000004), 1.2 - 0.9 is
 * exactly 0.3, and 92.8 kg over 80.0 kg is exactly +16 %. Should a
 * product ever overflow (it cannot for values in the obs plausibility
 * ranges), the comparison falls back to long double.
 *
 * Missing data (policy 4 (docs/rules.md 9)): an operand without a value is unknown,
 * and unknown propagates by Kleene's three-valued logic: all() is false if
 * any part is false, any() is true if any part is true, otherwise unknown. */
#include "engine_int.h"
#include "obs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_HOUR 3600000

/* ---------------------------------------------------------------------- */
/* Exact rationals                                                         */

static __int128 gcd128(__int128 a, __int128 b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b != 0) {
        __int128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static eq eq_norm(eq a)
{
    if (a.d < 0) {
        a.n = -a.n;
        a.d = -a.d;
    }
    if (a.n == 0) {
        a.d = 1;
        return a;
    }
    __int128 g = gcd128(a.n, a.d);
    if (g > 1) {
        a.n /= g;
        a.d /= g;
    }
    return a;
}

eq eq_from_double(double v)
{
    /* the obs plausibility ranges keep |v| far below this clamp */
    if (!(fabs(v) < 1e12))
        v = v < 0 ? -1e12 : 1e12;
    eq r = {(__int128)llround(v * 1e6), 1000000};
    return eq_norm(r);
}

eq eq_from_int(int64_t v)
{
    eq r = {v, 1};
    return r;
}

double eq_to_double(eq a)
{
    return (double)((long double)a.n / (long double)a.d);
}

eq eq_mul(eq a, eq b, bool *ok)
{
    eq r = {0, 1};
    if (__builtin_mul_overflow(a.n, b.n, &r.n) || __builtin_mul_overflow(a.d, b.d, &r.d)) {
        *ok = false;
        return (eq){0, 1};
    }
    return eq_norm(r);
}

eq eq_div(eq a, eq b, bool *ok)
{
    if (b.n == 0) {
        *ok = false;
        return (eq){0, 1};
    }
    eq inv = {b.d, b.n};
    return eq_mul(a, eq_norm(inv), ok);
}

eq eq_add(eq a, eq b, bool *ok)
{
    __int128 x, y;
    eq r = {0, 1};
    if (__builtin_mul_overflow(a.n, b.d, &x) || __builtin_mul_overflow(b.n, a.d, &y) ||
        __builtin_add_overflow(x, y, &r.n) || __builtin_mul_overflow(a.d, b.d, &r.d)) {
        *ok = false;
        return (eq){0, 1};
    }
    return eq_norm(r);
}

eq eq_sub(eq a, eq b, bool *ok)
{
    eq nb = {-b.n, b.d};
    return eq_add(a, nb, ok);
}

int eq_cmp(eq a, eq b)
{
    __int128 x, y;
    if (__builtin_mul_overflow(a.n, b.d, &x) || __builtin_mul_overflow(b.n, a.d, &y)) {
        long double fa = (long double)a.n / (long double)a.d;
        long double fb = (long double)b.n / (long double)b.d;
        return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
    return x < y ? -1 : x > y ? 1 : 0;
}

static bool cmp_holds(int c, rules_cmp op)
{
    switch (op) {
    case RULES_GT:
        return c > 0;
    case RULES_GE:
        return c >= 0;
    case RULES_LT:
        return c < 0;
    case RULES_LE:
        return c <= 0;
    case RULES_EQ:
        return c == 0;
    case RULES_NE:
        return c != 0;
    }
    return false;
}

/* ---------------------------------------------------------------------- */
/* Evidence and missing data                                               */

void engine_ev_add(engine_evlist *ev, int code, const char *what, double value, int64_t t,
                   const char *agg, double window_h)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->n; i++) {
        const engine_evidence *e = &ev->ev[i];
        if (e->code == code && e->what == what && e->t_ms == t && e->agg == agg &&
            e->value == value && e->window_h == window_h)
            return;
    }
    if (ev->n == ENGINE_EV_MAX)
        return;
    engine_evidence *e = &ev->ev[ev->n++];
    e->code = code;
    e->what = what;
    e->value = value;
    e->t_ms = t;
    e->agg = agg;
    e->window_h = window_h;
}

void engine_miss_add(engine_missing *m, const char *item)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i], item) == 0)
            return;
    if (m->n == ENGINE_MISSING_MAX)
        return;
    snprintf(m->items[m->n++], sizeof m->items[0], "%s", item);
}

static void miss_code(const ectx *c, int code)
{
    const obs_code *oc = obs_code_by_id(code);
    engine_miss_add(c->miss, oc != NULL ? oc->code : "?");
}

static void miss_window(const ectx *c, int code, int64_t window_ms)
{
    if (c->miss == NULL)
        return;
    char buf[48];
    const obs_code *oc = obs_code_by_id(code);
    snprintf(buf, sizeof buf, "%s (%g h window not covered)", oc != NULL ? oc->code : "?",
             (double)window_ms / MS_PER_HOUR);
    engine_miss_add(c->miss, buf);
}

/* ---------------------------------------------------------------------- */
/* Visible readings                                                        */

/* Number of points with t <= at (strict: t < at). */
static size_t count_upto(const engine_point *p, size_t n, int64_t at, bool strict)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool in = strict ? p[mid].t_ms < at : p[mid].t_ms <= at;
        if (in)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const engine_point *engine_visible(const ectx *c, int code, size_t *n)
{
    *n = 0;
    if (code < 0 || (size_t)code >= c->h->n_codes)
        return NULL;
    const engine_point *p = c->h->s[code].p;
    size_t all = c->h->s[code].n;
    if (all == 0)
        return NULL;
    /* fast path: the whole series is visible (live evaluation at the newest time) */
    if (c->excl ? p[all - 1].t_ms < c->at : p[all - 1].t_ms <= c->at)
        *n = all;
    else
        *n = count_upto(p, all, c->at, c->excl);
    return p;
}

int engine_latest_grade(const ectx *c, int code, engine_evlist *ev)
{
    size_t n;
    const engine_point *p = engine_visible(c, code, &n);
    if (n == 0)
        return -1;
    engine_ev_add(ev, code, NULL, p[n - 1].v, p[n - 1].t_ms, NULL, 0);
    return (int)p[n - 1].v;
}

/* ---------------------------------------------------------------------- */
/* Operands                                                                */

typedef struct oval {
    bool known;
    eq q;
    int cat; /* categorical value index */
} oval;

static const oval UNKNOWN_VAL = {false, {0, 1}, -1};

static oval known_q(eq q)
{
    oval r = {true, q, -1};
    return r;
}

static oval op_eval(const ectx *c, const rules_operand *o);
etri engine_cond(const ectx *c, const rules_cond *cond);

static bool fresh_at(const ectx *c, int code, int64_t t)
{
    int64_t f = c->rs->fresh_ms[code];
    return f == 0 || t >= c->at - f;
}

static oval op_default(const ectx *c, const rules_operand *o)
{
    if (o->has_default) {
        const obs_code *oc = obs_code_by_id(o->code);
        oval r = known_q(eq_from_double(o->def));
        if (oc != NULL && oc->kind == OBS_CATEGORICAL)
            r.cat = (int)o->def;
        return r;
    }
    miss_code(c, o->code);
    return UNKNOWN_VAL;
}

static oval op_latest(const ectx *c, const rules_operand *o, bool previous)
{
    size_t n;
    const engine_point *p = engine_visible(c, o->code, &n);
    if (n == 0 || !fresh_at(c, o->code, p[n - 1].t_ms) || (previous && n < 2))
        return op_default(c, o);
    const engine_point *pt = previous ? &p[n - 2] : &p[n - 1];
    engine_ev_add(c->ev, o->code, NULL, pt->v, pt->t_ms, NULL, 0);
    oval r = known_q(eq_from_double(pt->v));
    r.cat = (int)pt->v;
    return r;
}

static oval op_latest_rate(const ectx *c, const rules_operand *o)
{
    size_t n;
    const engine_point *p = engine_visible(c, o->code, &n);
    if (n < 2 || !fresh_at(c, o->code, p[n - 1].t_ms) || p[n - 1].t_ms <= p[n - 2].t_ms)
        return op_default(c, o);
    bool ok = true;
    eq r = eq_div(eq_mul(eq_from_double(p[n - 1].v), eq_from_int(MS_PER_HOUR), &ok),
                  eq_from_int(p[n - 1].t_ms - p[n - 2].t_ms), &ok);
    if (!ok)
        return UNKNOWN_VAL;
    engine_ev_add(c->ev, o->code, NULL, eq_to_double(r), p[n - 1].t_ms, "rate_per_h", 0);
    return known_q(r);
}

static oval op_patient_value(const ectx *c, const rules_operand *o)
{
    double v = NAN;
    const char *what = NULL;
    char buf[48];
    switch (o->kind) {
    case RULES_OP_BASELINE:
        v = c->pt->baseline[o->key];
        what = rules_baseline_name(o->key);
        if (isnan(v)) {
            snprintf(buf, sizeof buf, "baseline.%s", what);
            engine_miss_add(c->miss, buf);
            return UNKNOWN_VAL;
        }
        engine_ev_add(c->ev, -1, what, v, ENGINE_NO_TIME, "baseline", 0);
        break;
    case RULES_OP_LIMIT:
        v = c->pt->limit[o->key];
        if (isnan(v))
            v = c->rs->limit_default[o->key];
        break;
    case RULES_OP_PATIENT:
        v = c->pt->news2_scale;
        break;
    default:
        return UNKNOWN_VAL;
    }
    return isnan(v) ? UNKNOWN_VAL : known_q(eq_from_double(v));
}

static oval op_arith(const ectx *c, const rules_operand *o)
{
    oval a = op_eval(c, o->a);
    oval b = op_eval(c, o->b);
    if (!a.known || !b.known)
        return UNKNOWN_VAL;
    bool ok = true;
    eq r;
    switch (o->kind) {
    case RULES_OP_RATIO:
        r = eq_div(a.q, b.q, &ok);
        break;
    case RULES_OP_PCT_CHANGE:
        r = eq_mul(eq_div(eq_sub(a.q, b.q, &ok), b.q, &ok), eq_from_int(100), &ok);
        break;
    default:
        r = eq_sub(a.q, b.q, &ok);
        break;
    }
    return ok ? known_q(r) : UNKNOWN_VAL;
}

static const char *agg_name(rules_opkind k)
{
    switch (k) {
    case RULES_OP_SUM:
        return "sum";
    case RULES_OP_MIN:
        return "min";
    case RULES_OP_MAX:
        return "max";
    case RULES_OP_COUNT:
        return "count";
    case RULES_OP_RATE:
        return "rate_per_h";
    case RULES_OP_RATE_MAX:
        return "rate_max_per_h";
    case RULES_OP_RATE_MIN:
        return "rate_min_per_h";
    default:
        return "?";
    }
}

/* Window aggregates (policy 6, docs/rules.md 9). The window is
 * (T - offset - hours, T - offset]. An interval code (urine, stool volume,
 * stool count: each reading is the amount since the previous one) needs a
 * reading at or before the window start and one inside. A reading belongs
 * whole to every window that contains its time, as a shift is totalled
 * from the chart: its sum is the sum of the readings inside, never a share
 * of one that began before the start, and the evidence lists those
 * readings, so it adds up to the figure shown (window_readings_evidence).
 * Other codes take the readings inside [start, end] (plus, with
 * with_start_value, the value in force at the start). */
/* The readings that make up a window sum, listed before the sum itself.
 * All or none: when they do not all fit in the evidence list with the sum,
 * only the sum is shown (a list that does not add up would mislead). */
static void window_readings_evidence(const ectx *c, int code, const engine_point *p, size_t n)
{
    if (c->ev == NULL || c->ev->n + n + 1 > ENGINE_EV_MAX)
        return;
    for (size_t j = 0; j < n; j++)
        engine_ev_add(c->ev, code, NULL, p[j].v, p[j].t_ms, NULL, 0);
}

static oval op_window(const ectx *c, const rules_operand *o)
{
    size_t n;
    const engine_point *p = engine_visible(c, o->code, &n);
    int64_t we = c->at - o->offset_ms;
    int64_t ws = we - o->window_ms;
    double wh = (double)o->window_ms / MS_PER_HOUR;
    size_t hi = o->offset_ms == 0 ? n : count_upto(p, n, we, false);
    bool ok = true;
    eq acc = {0, 1};
    bool have = false;

    if (o->kind == RULES_OP_COUNT) {
        size_t lo = count_upto(p, hi, ws, true);
        acc = eq_from_int((int64_t)(hi - lo));
        engine_ev_add(c->ev, o->code, NULL, (double)(hi - lo), we, "count", wh);
        return known_q(acc);
    }
    if (c->rs->interval_code[o->code]) {
        size_t lo = count_upto(p, hi, ws, false); /* readings at or before the start */
        if (lo == 0 || lo == hi) {
            miss_window(c, o->code, o->window_ms);
            return UNKNOWN_VAL;
        }
        for (size_t j = lo; j < hi && ok; j++) {
            int64_t dt = p[j].t_ms - p[j - 1].t_ms;
            eq v = eq_from_double(p[j].v);
            if (o->kind == RULES_OP_SUM || o->kind == RULES_OP_RATE) {
                acc = eq_add(acc, v, &ok);
                have = true;
            } else if (dt > 0) {
                eq r = eq_div(eq_mul(v, eq_from_int(MS_PER_HOUR), &ok), eq_from_int(dt), &ok);
                int cmpv = have ? eq_cmp(r, acc) : 0;
                if (!have || (o->kind == RULES_OP_RATE_MAX ? cmpv > 0 : cmpv < 0))
                    acc = r;
                have = true;
            }
        }
        if (have && o->kind == RULES_OP_RATE)
            acc =
                eq_div(eq_mul(acc, eq_from_int(MS_PER_HOUR), &ok), eq_from_int(o->window_ms), &ok);
        if (have && ok && (o->kind == RULES_OP_SUM || o->kind == RULES_OP_RATE))
            window_readings_evidence(c, o->code, p + lo, hi - lo);
    } else {
        size_t lo = count_upto(p, hi, ws, true); /* readings before the start */
        size_t from = (o->with_start_value && lo > 0) ? lo - 1 : lo;
        for (size_t j = from; j < hi; j++) {
            eq v = eq_from_double(p[j].v);
            int cmpv = have ? eq_cmp(v, acc) : 0;
            if (!have || (o->kind == RULES_OP_MAX ? cmpv > 0 : cmpv < 0))
                acc = v;
            have = true;
        }
    }
    if (!ok)
        return UNKNOWN_VAL;
    if (!have) {
        miss_window(c, o->code, o->window_ms);
        return UNKNOWN_VAL;
    }
    engine_ev_add(c->ev, o->code, NULL, eq_to_double(acc), we, agg_name(o->kind), wh);
    return known_q(acc);
}

/* Constant bounds of a run predicate, applied to one value. */
static bool pred_holds(const rules_cond *pred, double v)
{
    eq x = eq_from_double(v);
    for (size_t i = 0; i < pred->n_bounds; i++)
        if (!cmp_holds(eq_cmp(x, eq_from_double(pred->bounds[i].rhs->value)), pred->bounds[i].op))
            return false;
    return true;
}

/* policy 7 (docs/rules.md 9): a fever episode is a run of consecutive readings
 * meeting the predicate; its length is last minus first reading. The run
 * considered is the one containing the latest (fresh) reading. */
static oval op_run_hours(const ectx *c, const rules_operand *o)
{
    size_t n;
    const engine_point *p = engine_visible(c, o->code, &n);
    if (n == 0 || !fresh_at(c, o->code, p[n - 1].t_ms)) {
        miss_code(c, o->code);
        return UNKNOWN_VAL;
    }
    if (!pred_holds(o->pred, p[n - 1].v))
        return known_q(eq_from_int(0));
    size_t first = n - 1;
    while (first > 0 && pred_holds(o->pred, p[first - 1].v))
        first--;
    eq h = {(__int128)(p[n - 1].t_ms - p[first].t_ms), MS_PER_HOUR};
    h = eq_norm(h);
    engine_ev_add(c->ev, o->code, NULL, p[first].v, p[first].t_ms, NULL, 0);
    engine_ev_add(c->ev, o->code, NULL, p[n - 1].v, p[n - 1].t_ms, NULL, 0);
    engine_ev_add(c->ev, o->code, NULL, eq_to_double(h), p[first].t_ms, "run_h", 0);
    return known_q(h);
}

/* policy 7 (docs/rules.md 9): how long a condition has held continuously up to T.
 * Walks back over the times its codes changed; the onset is the change at
 * which it became true (evaluated on the readings just before that time). */
static oval op_lasting_hours(const ectx *c, const rules_operand *o)
{
    etri now = engine_cond(c, o->pred);
    if (now == ETRI_FALSE)
        return known_q(eq_from_int(0));
    if (now == ETRI_UNKNOWN)
        return UNKNOWN_VAL;
    const rules_deps *d = o->pred_deps;
    size_t idx[64];
    const engine_point *pts[64];
    size_t nd = d->n < 64 ? d->n : 64;
    for (size_t k = 0; k < nd; k++)
        pts[k] = engine_visible(c, d->codes[k], &idx[k]);
    ectx sub = *c;
    sub.ev = NULL;
    sub.miss = NULL;
    sub.excl = true;
    int64_t onset = c->at;
    int onset_code = -1;
    for (;;) {
        int64_t tc = ENGINE_NO_TIME;
        for (size_t k = 0; k < nd; k++)
            if (idx[k] > 0 && pts[k][idx[k] - 1].t_ms > tc)
                tc = pts[k][idx[k] - 1].t_ms;
        if (tc == ENGINE_NO_TIME)
            break;
        onset = tc;
        for (size_t k = 0; k < nd; k++)
            while (idx[k] > 0 && pts[k][idx[k] - 1].t_ms == tc) {
                idx[k]--;
                onset_code = d->codes[k];
            }
        sub.at = tc;
        if (engine_cond(&sub, o->pred) != ETRI_TRUE)
            break;
    }
    eq h = eq_norm((eq){(__int128)(c->at - onset), MS_PER_HOUR});
    engine_ev_add(c->ev, onset_code, NULL, eq_to_double(h), onset, "duration_h", 0);
    return known_q(h);
}

/* LEG-RN-2 resume: the highest value since the hold began, counting the
 * value current at its onset (the creatinine that was rising). */
static oval op_peak_since_hold(const ectx *c, const rules_operand *o)
{
    size_t n;
    const engine_point *p = engine_visible(c, o->code, &n);
    if (c->hold_since == ENGINE_NO_TIME || n == 0) {
        miss_code(c, o->code);
        return UNKNOWN_VAL;
    }
    size_t at_onset = count_upto(p, n, c->hold_since, false);
    size_t from = at_onset > 0 ? at_onset - 1 : 0;
    size_t best = from;
    for (size_t j = from + 1; j < n; j++)
        if (eq_cmp(eq_from_double(p[j].v), eq_from_double(p[best].v)) > 0)
            best = j;
    engine_ev_add(c->ev, o->code, NULL, p[best].v, p[best].t_ms, "peak_since_hold", 0);
    return known_q(eq_from_double(p[best].v));
}

static oval op_eval(const ectx *c, const rules_operand *o)
{
    if (o == NULL)
        return UNKNOWN_VAL;
    switch (o->kind) {
    case RULES_OP_CONST:
        return known_q(eq_from_double(o->value));
    case RULES_OP_LATEST:
        return op_latest(c, o, false);
    case RULES_OP_PREVIOUS:
        return op_latest(c, o, true);
    case RULES_OP_LATEST_RATE:
        return op_latest_rate(c, o);
    case RULES_OP_BASELINE:
    case RULES_OP_LIMIT:
    case RULES_OP_PATIENT:
        return op_patient_value(c, o);
    case RULES_OP_RATIO:
    case RULES_OP_PCT_CHANGE:
    case RULES_OP_DIFF:
        return op_arith(c, o);
    case RULES_OP_SUM:
    case RULES_OP_MIN:
    case RULES_OP_MAX:
    case RULES_OP_COUNT:
    case RULES_OP_RATE:
    case RULES_OP_RATE_MAX:
    case RULES_OP_RATE_MIN:
        return op_window(c, o);
    case RULES_OP_RUN_HOURS:
        return op_run_hours(c, o);
    case RULES_OP_LASTING_HOURS:
        return op_lasting_hours(c, o);
    case RULES_OP_PEAK_SINCE_HOLD:
        return op_peak_since_hold(c, o);
    }
    return UNKNOWN_VAL;
}

/* ---------------------------------------------------------------------- */
/* Conditions                                                              */

typedef struct mark {
    size_t ev, miss;
} mark;

static mark mark_get(const ectx *c)
{
    mark m = {c->ev != NULL ? c->ev->n : 0, c->miss != NULL ? c->miss->n : 0};
    return m;
}

/* Drops evidence of a part that is not true, and missing data of a part
 * that is false (it cannot matter). */
static void mark_rollback(const ectx *c, mark m, etri st)
{
    if (st != ETRI_TRUE && c->ev != NULL)
        c->ev->n = m.ev;
    if (st == ETRI_FALSE && c->miss != NULL)
        c->miss->n = m.miss;
}

static etri cond_cmp(const ectx *c, const rules_cond *cond)
{
    oval x = op_eval(c, cond->x);
    if (!x.known)
        return ETRI_UNKNOWN;
    etri res = ETRI_TRUE;
    for (size_t i = 0; i < cond->n_bounds; i++) {
        oval b = op_eval(c, cond->bounds[i].rhs);
        if (!b.known) {
            res = ETRI_UNKNOWN;
            continue;
        }
        if (!cmp_holds(eq_cmp(x.q, b.q), cond->bounds[i].op))
            return ETRI_FALSE;
    }
    return res;
}

static etri cond_flag(const ectx *c, const rules_cond *cond)
{
    size_t n;
    const engine_point *p = engine_visible(c, cond->code, &n);
    if (n == 0) /* never recorded: not present (docs/api.md: true from its time) */
        return ETRI_FALSE;
    engine_ev_add(c->ev, cond->code, NULL, p[n - 1].v, p[n - 1].t_ms, NULL, 0);
    if (p[n - 1].v == 0)
        return ETRI_FALSE;
    if (cond->since_hold && (c->hold_since == ENGINE_NO_TIME || p[n - 1].t_ms < c->hold_since))
        return ETRI_FALSE;
    return ETRI_TRUE;
}

etri engine_cond(const ectx *c, const rules_cond *cond)
{
    if (cond == NULL)
        return ETRI_UNKNOWN;
    switch (cond->kind) {
    case RULES_C_ALL: {
        etri res = ETRI_TRUE;
        for (size_t i = 0; i < cond->n_kids; i++) {
            mark m = mark_get(c);
            etri st = engine_cond(c, cond->kids[i]);
            if (st == ETRI_FALSE) {
                mark_rollback(c, m, st);
                return ETRI_FALSE;
            }
            if (st == ETRI_UNKNOWN)
                res = ETRI_UNKNOWN;
        }
        return res;
    }
    case RULES_C_ANY: {
        etri res = ETRI_FALSE;
        for (size_t i = 0; i < cond->n_kids; i++) {
            mark m = mark_get(c);
            etri st = engine_cond(c, cond->kids[i]);
            if (st == ETRI_TRUE)
                return ETRI_TRUE;
            mark_rollback(c, m, st);
            if (st == ETRI_UNKNOWN)
                res = ETRI_UNKNOWN;
        }
        return res;
    }
    case RULES_C_NOT: {
        etri st = engine_cond(c, cond->kids[0]);
        return st == ETRI_UNKNOWN ? ETRI_UNKNOWN : st == ETRI_TRUE ? ETRI_FALSE : ETRI_TRUE;
    }
    case RULES_C_AT_LEAST: {
        int yes = 0, unk = 0;
        for (size_t i = 0; i < cond->n_kids; i++) {
            mark m = mark_get(c);
            etri st = engine_cond(c, cond->kids[i]);
            mark_rollback(c, m, st);
            yes += st == ETRI_TRUE;
            unk += st == ETRI_UNKNOWN;
        }
        if (yes >= cond->at_least)
            return ETRI_TRUE;
        return yes + unk >= cond->at_least ? ETRI_UNKNOWN : ETRI_FALSE;
    }
    case RULES_C_CMP:
        return cond_cmp(c, cond);
    case RULES_C_IN: {
        oval x = op_eval(c, cond->x);
        if (!x.known)
            return ETRI_UNKNOWN;
        for (size_t i = 0; i < cond->n_cats; i++)
            if (cond->cats[i] == x.cat)
                return ETRI_TRUE;
        return ETRI_FALSE;
    }
    case RULES_C_FLAG:
        return cond_flag(c, cond);
    case RULES_C_REF:
        return engine_cond(c, c->rs->conds[cond->ref].when);
    }
    return ETRI_UNKNOWN;
}

/* The highest level whose condition is true (levels are sorted highest
 * first). Strict scales (CTCAE terms) are unknown when a level above the
 * one found is unknown: the grade could be higher (policy 9 (docs/rules.md 9)). */
int engine_scale(const ectx *c, const rules_scale *sc, const char **text)
{
    bool any_false = false;
    if (text != NULL)
        *text = NULL;
    for (size_t i = 0; i < sc->n; i++) {
        mark m = mark_get(c);
        etri st = engine_cond(c, sc->levels[i].when);
        if (st == ETRI_TRUE) {
            if (text != NULL)
                *text = sc->levels[i].text;
            return sc->levels[i].level;
        }
        mark_rollback(c, m, st);
        if (st == ETRI_UNKNOWN && sc->strict)
            return -1;
        any_false |= st == ETRI_FALSE;
    }
    return (sc->strict || any_false) ? 0 : -1;
}
