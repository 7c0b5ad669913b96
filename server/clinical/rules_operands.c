/* rules_operands: operands (latest, baseline, ratio, window aggregates, ...)
 * as docs/rules.md describes them. */
#include "rules_int.h"

#include <string.h>

/* ---------------------------------------------------------------------- */
/* Conditions and operands                                                 */

static const opdef opdefs[] = {
    {"const", RULES_OP_CONST},
    {"latest", RULES_OP_LATEST},
    {"previous", RULES_OP_PREVIOUS},
    {"latest_rate", RULES_OP_LATEST_RATE},
    {"baseline", RULES_OP_BASELINE},
    {"limit", RULES_OP_LIMIT},
    {"patient", RULES_OP_PATIENT},
    {"ratio", RULES_OP_RATIO},
    {"pct_change", RULES_OP_PCT_CHANGE},
    {"diff", RULES_OP_DIFF},
    {"sum", RULES_OP_SUM},
    {"min", RULES_OP_MIN},
    {"max", RULES_OP_MAX},
    {"count", RULES_OP_COUNT},
    {"rate", RULES_OP_RATE},
    {"rate_max", RULES_OP_RATE_MAX},
    {"rate_min", RULES_OP_RATE_MIN},
    {"run_hours", RULES_OP_RUN_HOURS},
    {"lasting_hours", RULES_OP_LASTING_HOURS},
    {"peak_since_hold", RULES_OP_PEAK_SINCE_HOLD},
};
#define N_OPDEFS (sizeof opdefs / sizeof opdefs[0])

const char *const rl_bound_keys[] = {"gt", "ge", "lt", "le", "eq", "ne"};
const rules_cmp rl_bound_ops[] = {RULES_GT, RULES_GE, RULES_LT, RULES_LE, RULES_EQ, RULES_NE};

/* Finds the one operand key of an object; reports none / several. */
const opdef *rl_find_opkey(ld *L, const json_t *obj, const char *path, bool report_none)
{
    const opdef *found = NULL;
    for (size_t i = 0; i < N_OPDEFS; i++) {
        if (json_object_get(obj, opdefs[i].key) == NULL)
            continue;
        if (found != NULL) {
            rl_ld_err(L, path, "both '%s' and '%s': one operand per comparison", found->key,
                      opdefs[i].key);
            return NULL;
        }
        found = &opdefs[i];
    }
    if (found == NULL && report_none)
        rl_ld_err(L, path,
                  "expected a condition (all, any, not, at_least, ref, flag) or a comparison "
                  "(an operand such as latest, ratio, sum with gt/ge/lt/le/eq/ne or in)");
    return found;
}

/* The fields an operand object may carry, collected while reading it
 * (rl_check_keys reports any other). */
typedef struct allowed_keys {
    const char *k[24];
    size_t n;
} allowed_keys;

static void allow(allowed_keys *a, const char *key)
{
    if (a->n < 23)
        a->k[a->n++] = key;
}

/* The optional "default" of a latest/previous operand of code c. */
static void operand_default(ld *L, rules_operand *o, const json_t *obj, const char *path,
                            const obs_code *c)
{
    json_t *d = json_object_get(obj, "default");
    char pd[256];

    if (d == NULL)
        return;
    rl_sub(pd, sizeof pd, path, "default");
    o->has_default = true;
    if (c->kind == OBS_CATEGORICAL) {
        int idx = -1;
        for (int k = 0; json_is_string(d) && c->values[k] != NULL; k++)
            if (strcmp(c->values[k], json_string_value(d)) == 0)
                idx = k;
        if (idx < 0)
            rl_ld_err(L, pd, "expected one of the values of '%s'", c->code);
        o->def = idx;
    } else if (!json_is_number(d)) {
        rl_ld_err(L, pd, "expected a number");
    } else {
        o->def = json_number_value(d);
    }
}

/* latest, previous, latest_rate, peak_since_hold: one code. */
static void operand_latest(ld *L, rules_operand *o, const json_t *obj, const opdef *od,
                           const char *path, const char *p, allowed_keys *ak)
{
    o->code = rl_get_code(L, json_object_get(obj, od->key), p);
    allow(ak, "default");
    const obs_code *c = obs_code_by_id(o->code);
    if (c == NULL)
        return;
    if (c->kind == OBS_FLAG)
        rl_ld_err(L, p, "'%s' is a flag: use {\"flag\": \"%s\"}", c->code, c->code);
    if (od->kind == RULES_OP_LATEST_RATE && !L->rs->interval_code[o->code])
        rl_ld_err(L, p, "latest_rate needs an interval code (see interval_codes), not '%s'",
                  c->code);
    if (od->kind == RULES_OP_PEAK_SINCE_HOLD && !L->in_resume)
        rl_ld_err(L, p, "peak_since_hold is only allowed in a resume condition");
    if ((od->kind != RULES_OP_LATEST && od->kind != RULES_OP_PREVIOUS) &&
        c->kind == OBS_CATEGORICAL)
        rl_ld_err(L, p, "'%s' is categorical", c->code);
    operand_default(L, o, obj, path, c);
}

/* baseline, limit, patient: a key of the patient record. */
static void operand_key(ld *L, rules_operand *o, const json_t *v, const opdef *od, const char *p)
{
    o->key = json_is_string(v) ? rl_key_index((int)od->kind, json_string_value(v)) : -1;
    if (o->key < 0)
        rl_ld_err(L, p, "unknown %s key", od->key);
}

/* ratio, pct_change, diff: two operands. */
static void operand_pair(ld *L, rules_operand *o, const json_t *v, const char *p)
{
    char pa[256];

    if (!json_is_array(v) || json_array_size(v) != 2) {
        rl_ld_err(L, p, "expected an array of two operands");
        return;
    }
    rl_subi(pa, sizeof pa, p, 0);
    o->a = rl_parse_operand(L, json_array_get(v, 0), pa);
    rl_subi(pa, sizeof pa, p, 1);
    o->b = rl_parse_operand(L, json_array_get(v, 1), pa);
}

/* A window length member: "hours" is required and in (0, 744], "offset_hours"
 * optional and in [0, 744]. */
static void window_hours(ld *L, const json_t *obj, const char *path, const char *key, bool required,
                         int64_t *out)
{
    double h = 0;
    char ph[256];
    bool zero_ok = !required;

    if (!rl_get_num(L, obj, path, key, required, &h))
        return;
    if ((zero_ok ? h < 0 : h <= 0) || h > 24 * 31) {
        rl_sub(ph, sizeof ph, path, key);
        rl_ld_err(L, ph,
                  zero_ok ? "expected a number of hours in [0, 744]"
                          : "expected a number of hours in (0, 744]");
    }
    *out = rl_hours_ms(h);
}

/* sum, min, max, count, rate, rate_max, rate_min: a code over a window. */
static void operand_window(ld *L, rules_operand *o, const json_t *obj, const opdef *od,
                           const char *path, const char *p, allowed_keys *ak)
{
    o->code = rl_get_code(L, json_object_get(obj, od->key), p);
    allow(ak, "hours");
    allow(ak, "offset_hours");
    window_hours(L, obj, path, "hours", true, &o->window_ms);
    window_hours(L, obj, path, "offset_hours", false, &o->offset_ms);
    if (od->kind == RULES_OP_MIN || od->kind == RULES_OP_MAX) {
        allow(ak, "with_start_value");
        json_t *w = json_object_get(obj, "with_start_value");
        if (w != NULL && !json_is_boolean(w)) {
            char pw[256];
            rl_sub(pw, sizeof pw, path, "with_start_value");
            rl_ld_err(L, pw, "expected true or false");
        }
        o->with_start_value = json_is_true(w);
    }
    const obs_code *c = obs_code_by_id(o->code);
    if (c == NULL)
        return;
    bool interval = L->rs->interval_code[o->code];
    if (c->kind != OBS_NUMERIC && od->kind != RULES_OP_COUNT)
        rl_ld_err(L, p, "window aggregates need a numeric code, not '%s'", c->code);
    else if ((od->kind == RULES_OP_SUM || od->kind == RULES_OP_RATE ||
              od->kind == RULES_OP_RATE_MAX || od->kind == RULES_OP_RATE_MIN) &&
             !interval)
        rl_ld_err(L, p, "%s needs an interval code (see interval_codes), not '%s'", od->key,
                  c->code);
    else if ((od->kind == RULES_OP_MIN || od->kind == RULES_OP_MAX) && interval)
        rl_ld_err(L, p, "%s of interval code '%s': use rate_min / rate_max", od->key, c->code);
}

/* run_hours: the predicate {"latest": code, bound: number...}. */
static void operand_run_hours(ld *L, rules_operand *o, const json_t *v, const char *p)
{
    o->pred = rl_parse_cond(L, v, p);
    rules_cond *pc = o->pred;
    bool ok =
        pc != NULL && pc->kind == RULES_C_CMP && pc->x != NULL && pc->x->kind == RULES_OP_LATEST;
    for (size_t i = 0; ok && i < pc->n_bounds; i++)
        ok = pc->bounds[i].rhs->kind == RULES_OP_CONST;
    if (pc != NULL && !ok)
        rl_ld_err(L, p, "expected a comparison of one 'latest' code with numbers");
    if (ok)
        o->code = pc->x->code;
}

/* Operand fields from an object holding one operand key. `extra` are the
 * other keys the caller allows in the same object (bounds, in). */
rules_operand *rl_operand_from_obj(ld *L, const json_t *obj, const opdef *od, const char *path,
                                   const char *const *extra)
{
    rules_operand *o = rl_ld_alloc(L, sizeof *o);
    allowed_keys ak = {.n = 0};
    char p[256];

    if (o == NULL)
        return NULL;
    o->kind = od->kind;
    o->code = -1;
    o->key = -1;
    json_t *v = json_object_get(obj, od->key);
    rl_sub(p, sizeof p, path, od->key);
    allow(&ak, od->key);

    switch (od->kind) {
    case RULES_OP_CONST:
        if (!json_is_number(v))
            rl_ld_err(L, p, "expected a number");
        else
            o->value = json_number_value(v);
        break;
    case RULES_OP_LATEST:
    case RULES_OP_PREVIOUS:
    case RULES_OP_LATEST_RATE:
    case RULES_OP_PEAK_SINCE_HOLD:
        operand_latest(L, o, obj, od, path, p, &ak);
        break;
    case RULES_OP_BASELINE:
    case RULES_OP_LIMIT:
    case RULES_OP_PATIENT:
        operand_key(L, o, v, od, p);
        break;
    case RULES_OP_RATIO:
    case RULES_OP_PCT_CHANGE:
    case RULES_OP_DIFF:
        operand_pair(L, o, v, p);
        break;
    case RULES_OP_SUM:
    case RULES_OP_MIN:
    case RULES_OP_MAX:
    case RULES_OP_COUNT:
    case RULES_OP_RATE:
    case RULES_OP_RATE_MAX:
    case RULES_OP_RATE_MIN:
        operand_window(L, o, obj, od, path, p, &ak);
        break;
    case RULES_OP_RUN_HOURS:
        operand_run_hours(L, o, v, p);
        break;
    case RULES_OP_LASTING_HOURS:
        o->pred = rl_parse_cond(L, v, p);
        o->pred_deps = rl_ld_alloc(L, sizeof *o->pred_deps);
        break;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        allow(&ak, extra[i]);
    ak.k[ak.n] = NULL;
    rl_check_keys(L, obj, path, ak.k);
    return o;
}

/* An operand in its own right: a number, or an object with one operand key. */
rules_operand *rl_parse_operand(ld *L, const json_t *j, const char *path)
{
    if (json_is_number(j)) {
        rules_operand *o = rl_ld_alloc(L, sizeof *o);
        if (o == NULL)
            return NULL;
        o->kind = RULES_OP_CONST;
        o->code = -1;
        o->key = -1;
        o->value = json_number_value(j);
        return o;
    }
    if (!json_is_object(j)) {
        rl_ld_err(L, path, "expected a number or an operand object");
        return NULL;
    }
    const opdef *od = rl_find_opkey(L, j, path, false);
    if (od == NULL) {
        rl_ld_err(L, path, "expected an operand (latest, baseline, ratio, sum, ...)");
        return NULL;
    }
    return rl_operand_from_obj(L, j, od, path, NULL);
}

bool rl_operand_is_categorical(const rules_operand *o)
{
    if (o == NULL || (o->kind != RULES_OP_LATEST && o->kind != RULES_OP_PREVIOUS))
        return false;
    const obs_code *c = obs_code_by_id(o->code);
    return c != NULL && c->kind == OBS_CATEGORICAL;
}
