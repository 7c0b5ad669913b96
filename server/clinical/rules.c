/* rules: load and validate a rule set (contract in include/rules.h, language
 * in docs/rules.md).
 *
 * Loading walks the whole document once and reports every problem it finds
 * (never only the first), each as "FILE: WHERE: field 'PATH': MESSAGE". The
 * compiled set points into a private deep copy of the document, and every
 * allocation is recorded in one arena freed with the set. A set with any
 * error is freed before returning NULL, so a caller never sees half a set. */
#include "rules.h"
#include "obs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Keys                                                                    */

static const char *const baseline_names[RULES_BL_COUNT] = {
    "weight_kg", "creatinine_mg_dl", "bilirubin_mg_dl", "ast_u_l",
    "alt_u_l",   "sbp_mm_hg",        "stools_per_day",
};
static const char *const limit_names[RULES_LIM_COUNT] = {
    "creatinine_uln", "bilirubin_uln", "ast_uln", "alt_uln", "platelets_lln",
    "potassium_lln",  "potassium_uln", "ph_lln",  "ph_uln",
};
static const char *const pattr_names[RULES_PAT_COUNT] = {"news2_scale"};

const char *rules_baseline_name(int key)
{
    return key >= 0 && key < RULES_BL_COUNT ? baseline_names[key] : "?";
}

const char *rules_limit_name(int key)
{
    return key >= 0 && key < RULES_LIM_COUNT ? limit_names[key] : "?";
}

const char *rules_pattr_name(int key)
{
    return key >= 0 && key < RULES_PAT_COUNT ? pattr_names[key] : "?";
}

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Arena and errors                                                        */

typedef struct arena {
    void **ptrs;
    size_t n, cap;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void **p = realloc(a->ptrs, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        a->ptrs = p;
        a->cap = cap;
    }
    void *m = calloc(1, size ? size : 1);
    if (m != NULL)
        a->ptrs[a->n++] = m;
    return m;
}

static void arena_free(arena *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->ptrs[i]);
    free(a->ptrs);
    free(a);
}

void rules_errors_free(rules_errors *errs)
{
    if (errs == NULL)
        return;
    free(errs->items);
    errs->items = NULL;
    errs->n = errs->cap = 0;
}

/* Loader state. `where` names the item ("rule L24-RS-1"), `path` is built
 * per call as the field path inside it ("resume.when.all[1].lt"). */
typedef struct ld {
    rules_set *rs;
    arena *ar;
    rules_errors *errs;
    const char *file;
    char where[128];
    int n_err;
    bool oom;
    bool in_resume; /* operands allowed only in resume conditions */
    size_t n_named; /* named conditions defined so far (refs may only point back) */
} ld;

static void ld_err(ld *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ld_err(ld *L, const char *path, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->n_err++;
    if (L->errs == NULL)
        return;
    if (L->errs->n == L->errs->cap) {
        size_t cap = L->errs->cap ? L->errs->cap * 2 : 16;
        rules_error *p = realloc(L->errs->items, cap * sizeof *p);
        if (p == NULL)
            return;
        L->errs->items = p;
        L->errs->cap = cap;
    }
    rules_error *e = &L->errs->items[L->errs->n++];
    const char *sep = L->where[0] ? ": " : "";
    int n;
    if (path != NULL && path[0] != '\0')
        n = snprintf(e->text, sizeof e->text, "%s: %s%sfield '%s': %s", L->file, L->where, sep,
                     path, msg);
    else
        n = snprintf(e->text, sizeof e->text, "%s: %s%s%s", L->file, L->where, sep, msg);
    if (n >= (int)sizeof e->text)
        memcpy(e->text + sizeof e->text - 4, "...", 4); /* truncated: say so */
}

static void *ld_alloc(ld *L, size_t size)
{
    void *p = arena_alloc(L->ar, size);
    if (p == NULL && !L->oom) {
        L->oom = true;
        ld_err(L, NULL, "out of memory");
    }
    return p;
}

static void sub(char *out, size_t len, const char *path, const char *key)
{
    if (path == NULL || path[0] == '\0')
        snprintf(out, len, "%s", key);
    else
        snprintf(out, len, "%s.%s", path, key);
}

static void subi(char *out, size_t len, const char *path, size_t i)
{
    /* Paths are diagnostics only: truncation is harmless but must not warn. */
    if (snprintf(out, len, "%s[%zu]", path, i) >= (int)len && len > 0)
        out[len - 1] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Field readers                                                           */

/* Reports keys of `obj` that are not in `allowed` (NULL-terminated). */
static void check_keys(ld *L, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            char p[256];
            sub(p, sizeof p, path, key);
            ld_err(L, p, "unknown field");
        }
    }
}

static const char *get_str(ld *L, const json_t *obj, const char *path, const char *key,
                           bool required)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            ld_err(L, p, "required");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        ld_err(L, p, "expected a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

static bool get_num(ld *L, const json_t *obj, const char *path, const char *key, bool required,
                    double *out)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            ld_err(L, p, "required");
        return false;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        ld_err(L, p, "expected a number");
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static bool get_int(ld *L, const json_t *obj, const char *path, const char *key, bool required,
                    int lo, int hi, int *out)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            ld_err(L, p, "required");
        return false;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        ld_err(L, p, "expected an integer %d-%d", lo, hi);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

static int64_t hours_ms(double h)
{
    return (int64_t)llround(h * 3600000.0);
}

/* Resolves an observation code name; reports unknown names. */
static int get_code(ld *L, const json_t *v, const char *path)
{
    if (!json_is_string(v)) {
        ld_err(L, path, "expected an observation code");
        return -1;
    }
    const obs_code *c = obs_code_lookup(json_string_value(v));
    if (c == NULL) {
        ld_err(L, path, "unknown observation code '%s'", json_string_value(v));
        return -1;
    }
    return c->id;
}

/* ---------------------------------------------------------------------- */
/* Dependencies                                                            */

typedef struct depset {
    bool *has;
    size_t n_codes;
} depset;

static void deps_cond(const rules_set *rs, const rules_cond *c, depset *d);

static void deps_operand(const rules_set *rs, const rules_operand *o, depset *d)
{
    if (o == NULL)
        return;
    if (o->code >= 0 && (size_t)o->code < d->n_codes)
        d->has[o->code] = true;
    deps_operand(rs, o->a, d);
    deps_operand(rs, o->b, d);
    if (o->pred != NULL)
        deps_cond(rs, o->pred, d);
}

static void deps_cond(const rules_set *rs, const rules_cond *c, depset *d)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        deps_cond(rs, c->kids[i], d);
    deps_operand(rs, c->x, d);
    for (size_t i = 0; i < c->n_bounds; i++)
        deps_operand(rs, c->bounds[i].rhs, d);
    if (c->kind == RULES_C_FLAG && c->code >= 0)
        d->has[c->code] = true;
    if (c->kind == RULES_C_REF && c->ref >= 0 && (size_t)c->ref < rs->n_conds)
        deps_cond(rs, rs->conds[c->ref].when, d);
}

static void deps_finish(ld *L, depset *d, rules_deps *out)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_codes; i++)
        n += d->has[i];
    out->codes = ld_alloc(L, (n ? n : 1) * sizeof(int));
    out->n = 0;
    if (out->codes == NULL)
        return;
    for (size_t i = 0; i < d->n_codes; i++)
        if (d->has[i])
            out->codes[out->n++] = (int)i;
    memset(d->has, 0, d->n_codes * sizeof(bool));
}

/* ---------------------------------------------------------------------- */
/* Conditions and operands                                                 */

static rules_cond *parse_cond(ld *L, const json_t *j, const char *path);
static rules_operand *parse_operand(ld *L, const json_t *j, const char *path);

typedef struct opdef {
    const char *key;
    rules_opkind kind;
} opdef;

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

static const char *const bound_keys[] = {"gt", "ge", "lt", "le", "eq", "ne"};
static const rules_cmp bound_ops[] = {RULES_GT, RULES_GE, RULES_LT, RULES_LE, RULES_EQ, RULES_NE};

/* Finds the one operand key of an object; reports none / several. */
static const opdef *find_opkey(ld *L, const json_t *obj, const char *path, bool report_none)
{
    const opdef *found = NULL;
    for (size_t i = 0; i < N_OPDEFS; i++) {
        if (json_object_get(obj, opdefs[i].key) == NULL)
            continue;
        if (found != NULL) {
            ld_err(L, path, "both '%s' and '%s': one operand per comparison", found->key,
                   opdefs[i].key);
            return NULL;
        }
        found = &opdefs[i];
    }
    if (found == NULL && report_none)
        ld_err(L, path,
               "expected a condition (all, any, not, at_least, ref, flag) or a comparison "
               "(an operand such as latest, ratio, sum with gt/ge/lt/le/eq/ne or in)");
    return found;
}

/* Operand fields from an object holding one operand key. `extra` are the
 * other keys the caller allows in the same object (bounds, in). */
static rules_operand *operand_from_obj(ld *L, const json_t *obj, const opdef *od, const char *path,
                                       const char *const *extra)
{
    rules_operand *o = ld_alloc(L, sizeof *o);
    if (o == NULL)
        return NULL;
    o->kind = od->kind;
    o->code = -1;
    o->key = -1;
    json_t *v = json_object_get(obj, od->key);
    char p[256];
    sub(p, sizeof p, path, od->key);
    const char *allowed[24];
    size_t na = 0;
    allowed[na++] = od->key;

    switch (od->kind) {
    case RULES_OP_CONST:
        if (!json_is_number(v))
            ld_err(L, p, "expected a number");
        else
            o->value = json_number_value(v);
        break;
    case RULES_OP_LATEST:
    case RULES_OP_PREVIOUS:
    case RULES_OP_LATEST_RATE:
    case RULES_OP_PEAK_SINCE_HOLD: {
        o->code = get_code(L, v, p);
        allowed[na++] = "default";
        const obs_code *c = obs_code_by_id(o->code);
        if (c == NULL)
            break;
        if (c->kind == OBS_FLAG)
            ld_err(L, p, "'%s' is a flag: use {\"flag\": \"%s\"}", c->code, c->code);
        if (od->kind == RULES_OP_LATEST_RATE && !L->rs->interval_code[o->code])
            ld_err(L, p, "latest_rate needs an interval code (see interval_codes), not '%s'",
                   c->code);
        if (od->kind == RULES_OP_PEAK_SINCE_HOLD && !L->in_resume)
            ld_err(L, p, "peak_since_hold is only allowed in a resume condition");
        if ((od->kind != RULES_OP_LATEST && od->kind != RULES_OP_PREVIOUS) &&
            c->kind == OBS_CATEGORICAL)
            ld_err(L, p, "'%s' is categorical", c->code);
        json_t *d = json_object_get(obj, "default");
        if (d != NULL) {
            char pd[256];
            sub(pd, sizeof pd, path, "default");
            o->has_default = true;
            if (c->kind == OBS_CATEGORICAL) {
                int idx = -1;
                for (int k = 0; json_is_string(d) && c->values[k] != NULL; k++)
                    if (strcmp(c->values[k], json_string_value(d)) == 0)
                        idx = k;
                if (idx < 0)
                    ld_err(L, pd, "expected one of the values of '%s'", c->code);
                o->def = idx;
            } else if (!json_is_number(d)) {
                ld_err(L, pd, "expected a number");
            } else {
                o->def = json_number_value(d);
            }
        }
        break;
    }
    case RULES_OP_BASELINE:
    case RULES_OP_LIMIT:
    case RULES_OP_PATIENT: {
        const char *const *names = od->kind == RULES_OP_BASELINE ? baseline_names
                                   : od->kind == RULES_OP_LIMIT  ? limit_names
                                                                 : pattr_names;
        int n = od->kind == RULES_OP_BASELINE ? RULES_BL_COUNT
                : od->kind == RULES_OP_LIMIT  ? RULES_LIM_COUNT
                                              : RULES_PAT_COUNT;
        o->key = json_is_string(v) ? name_index(names, n, json_string_value(v)) : -1;
        if (o->key < 0)
            ld_err(L, p, "unknown %s key", od->key);
        break;
    }
    case RULES_OP_RATIO:
    case RULES_OP_PCT_CHANGE:
    case RULES_OP_DIFF:
        if (!json_is_array(v) || json_array_size(v) != 2) {
            ld_err(L, p, "expected an array of two operands");
            break;
        }
        {
            char pa[256];
            subi(pa, sizeof pa, p, 0);
            o->a = parse_operand(L, json_array_get(v, 0), pa);
            subi(pa, sizeof pa, p, 1);
            o->b = parse_operand(L, json_array_get(v, 1), pa);
        }
        break;
    case RULES_OP_SUM:
    case RULES_OP_MIN:
    case RULES_OP_MAX:
    case RULES_OP_COUNT:
    case RULES_OP_RATE:
    case RULES_OP_RATE_MAX:
    case RULES_OP_RATE_MIN: {
        o->code = get_code(L, v, p);
        allowed[na++] = "hours";
        allowed[na++] = "offset_hours";
        double h = 0, off = 0;
        if (get_num(L, obj, path, "hours", true, &h)) {
            if (h <= 0 || h > 24 * 31) {
                char ph[256];
                sub(ph, sizeof ph, path, "hours");
                ld_err(L, ph, "expected a number of hours in (0, 744]");
            }
            o->window_ms = hours_ms(h);
        }
        if (get_num(L, obj, path, "offset_hours", false, &off)) {
            if (off < 0 || off > 24 * 31) {
                char ph[256];
                sub(ph, sizeof ph, path, "offset_hours");
                ld_err(L, ph, "expected a number of hours in [0, 744]");
            }
            o->offset_ms = hours_ms(off);
        }
        if (od->kind == RULES_OP_MIN || od->kind == RULES_OP_MAX) {
            allowed[na++] = "with_start_value";
            json_t *w = json_object_get(obj, "with_start_value");
            if (w != NULL && !json_is_boolean(w)) {
                char pw[256];
                sub(pw, sizeof pw, path, "with_start_value");
                ld_err(L, pw, "expected true or false");
            }
            o->with_start_value = json_is_true(w);
        }
        const obs_code *c = obs_code_by_id(o->code);
        if (c == NULL)
            break;
        bool interval = L->rs->interval_code[o->code];
        if (c->kind != OBS_NUMERIC && od->kind != RULES_OP_COUNT)
            ld_err(L, p, "window aggregates need a numeric code, not '%s'", c->code);
        else if ((od->kind == RULES_OP_SUM || od->kind == RULES_OP_RATE ||
                  od->kind == RULES_OP_RATE_MAX || od->kind == RULES_OP_RATE_MIN) &&
                 !interval)
            ld_err(L, p, "%s needs an interval code (see interval_codes), not '%s'", od->key,
                   c->code);
        else if ((od->kind == RULES_OP_MIN || od->kind == RULES_OP_MAX) && interval)
            ld_err(L, p, "%s of interval code '%s': use rate_min / rate_max", od->key, c->code);
        break;
    }
    case RULES_OP_RUN_HOURS: {
        /* the predicate: {"latest": code, bound: number...} */
        o->pred = parse_cond(L, v, p);
        rules_cond *pc = o->pred;
        bool ok = pc != NULL && pc->kind == RULES_C_CMP && pc->x != NULL &&
                  pc->x->kind == RULES_OP_LATEST;
        for (size_t i = 0; ok && i < pc->n_bounds; i++)
            ok = pc->bounds[i].rhs->kind == RULES_OP_CONST;
        if (pc != NULL && !ok)
            ld_err(L, p, "expected a comparison of one 'latest' code with numbers");
        if (ok)
            o->code = pc->x->code;
        break;
    }
    case RULES_OP_LASTING_HOURS: {
        o->pred = parse_cond(L, v, p);
        o->pred_deps = ld_alloc(L, sizeof *o->pred_deps);
        break;
    }
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && na < 23; i++)
        allowed[na++] = extra[i];
    allowed[na] = NULL;
    check_keys(L, obj, path, allowed);
    return o;
}

/* An operand in its own right: a number, or an object with one operand key. */
static rules_operand *parse_operand(ld *L, const json_t *j, const char *path)
{
    if (json_is_number(j)) {
        rules_operand *o = ld_alloc(L, sizeof *o);
        if (o == NULL)
            return NULL;
        o->kind = RULES_OP_CONST;
        o->code = -1;
        o->key = -1;
        o->value = json_number_value(j);
        return o;
    }
    if (!json_is_object(j)) {
        ld_err(L, path, "expected a number or an operand object");
        return NULL;
    }
    const opdef *od = find_opkey(L, j, path, false);
    if (od == NULL) {
        ld_err(L, path, "expected an operand (latest, baseline, ratio, sum, ...)");
        return NULL;
    }
    return operand_from_obj(L, j, od, path, NULL);
}

static bool operand_is_categorical(const rules_operand *o)
{
    if (o == NULL || (o->kind != RULES_OP_LATEST && o->kind != RULES_OP_PREVIOUS))
        return false;
    const obs_code *c = obs_code_by_id(o->code);
    return c != NULL && c->kind == OBS_CATEGORICAL;
}

static rules_cond *parse_kids(ld *L, rules_cond *c, const json_t *arr, const char *path)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        ld_err(L, path, "expected a non-empty array of conditions");
        return c;
    }
    c->n_kids = json_array_size(arr);
    c->kids = ld_alloc(L, c->n_kids * sizeof *c->kids);
    if (c->kids == NULL) {
        c->n_kids = 0;
        return c;
    }
    for (size_t i = 0; i < c->n_kids; i++) {
        char p[256];
        subi(p, sizeof p, path, i);
        c->kids[i] = parse_cond(L, json_array_get(arr, i), p);
    }
    return c;
}

static rules_cond *parse_cond(ld *L, const json_t *j, const char *path)
{
    if (!json_is_object(j)) {
        ld_err(L, path, "expected an object (a condition)");
        return NULL;
    }
    rules_cond *c = ld_alloc(L, sizeof *c);
    if (c == NULL)
        return NULL;
    c->code = -1;
    c->ref = -1;
    json_t *v;
    char p[256];

    if ((v = json_object_get(j, "all")) != NULL || (v = json_object_get(j, "any")) != NULL) {
        bool all = json_object_get(j, "all") != NULL;
        c->kind = all ? RULES_C_ALL : RULES_C_ANY;
        sub(p, sizeof p, path, all ? "all" : "any");
        static const char *const ka[] = {"all", NULL};
        static const char *const kb[] = {"any", NULL};
        check_keys(L, j, path, all ? ka : kb);
        return parse_kids(L, c, v, p);
    }
    if ((v = json_object_get(j, "not")) != NULL) {
        c->kind = RULES_C_NOT;
        static const char *const k[] = {"not", NULL};
        check_keys(L, j, path, k);
        sub(p, sizeof p, path, "not");
        c->kids = ld_alloc(L, sizeof *c->kids);
        if (c->kids != NULL) {
            c->n_kids = 1;
            c->kids[0] = parse_cond(L, v, p);
        }
        return c;
    }
    if ((v = json_object_get(j, "at_least")) != NULL) {
        c->kind = RULES_C_AT_LEAST;
        static const char *const k[] = {"at_least", "of", NULL};
        check_keys(L, j, path, k);
        sub(p, sizeof p, path, "of");
        parse_kids(L, c, json_object_get(j, "of"), p);
        int n = 0;
        if (get_int(L, j, path, "at_least", true, 1, 1000, &n))
            c->at_least = n;
        if (c->n_kids > 0 && (size_t)c->at_least > c->n_kids) {
            sub(p, sizeof p, path, "at_least");
            ld_err(L, p, "larger than the number of conditions in 'of'");
        }
        return c;
    }
    if ((v = json_object_get(j, "ref")) != NULL) {
        c->kind = RULES_C_REF;
        static const char *const k[] = {"ref", NULL};
        check_keys(L, j, path, k);
        sub(p, sizeof p, path, "ref");
        for (size_t i = 0; json_is_string(v) && i < L->n_named; i++)
            if (L->rs->conds[i].name != NULL &&
                strcmp(L->rs->conds[i].name, json_string_value(v)) == 0)
                c->ref = (int)i;
        if (c->ref < 0)
            ld_err(L, p, "no condition named %s%s%s defined before this point",
                   json_is_string(v) ? "'" : "", json_is_string(v) ? json_string_value(v) : "?",
                   json_is_string(v) ? "'" : "");
        return c;
    }
    if ((v = json_object_get(j, "flag")) != NULL) {
        c->kind = RULES_C_FLAG;
        static const char *const k[] = {"flag", "since_hold", NULL};
        check_keys(L, j, path, k);
        sub(p, sizeof p, path, "flag");
        c->code = get_code(L, v, p);
        const obs_code *oc = obs_code_by_id(c->code);
        if (oc != NULL && oc->kind != OBS_FLAG)
            ld_err(L, p, "'%s' is not a clinical flag", oc->code);
        json_t *sh = json_object_get(j, "since_hold");
        if (sh != NULL) {
            sub(p, sizeof p, path, "since_hold");
            if (!json_is_boolean(sh))
                ld_err(L, p, "expected true or false");
            else if (!L->in_resume)
                ld_err(L, p, "since_hold is only allowed in a resume condition");
            c->since_hold = json_is_true(sh);
        }
        return c;
    }

    /* a comparison: one operand key, its modifiers, and bounds or "in" */
    const opdef *od = find_opkey(L, j, path, true);
    if (od == NULL)
        return NULL;
    static const char *const extra[] = {"gt", "ge", "lt", "le", "eq", "ne", "in", NULL};
    c->x = operand_from_obj(L, j, od, path, extra);
    bool cat = operand_is_categorical(c->x);
    json_t *in = json_object_get(j, "in");
    if (in != NULL) {
        c->kind = RULES_C_IN;
        sub(p, sizeof p, path, "in");
        const obs_code *oc = c->x != NULL ? obs_code_by_id(c->x->code) : NULL;
        if (!cat || oc == NULL) {
            ld_err(L, p,
                   "'in' needs a categorical operand (latest of rhythm, consciousness, "
                   "fobt)");
            return c;
        }
        if (!json_is_array(in) || json_array_size(in) == 0) {
            ld_err(L, p, "expected a non-empty array of values");
            return c;
        }
        c->n_cats = json_array_size(in);
        c->cats = ld_alloc(L, c->n_cats * sizeof *c->cats);
        for (size_t i = 0; c->cats != NULL && i < c->n_cats; i++) {
            json_t *s = json_array_get(in, i);
            int idx = -1;
            for (int k = 0; json_is_string(s) && oc->values[k] != NULL; k++)
                if (strcmp(oc->values[k], json_string_value(s)) == 0)
                    idx = k;
            if (idx < 0) {
                char pi[256];
                subi(pi, sizeof pi, p, i);
                ld_err(L, pi, "not a value of '%s'", oc->code);
            }
            c->cats[i] = idx;
        }
        for (size_t b = 0; b < 6; b++)
            if (json_object_get(j, bound_keys[b]) != NULL) {
                sub(p, sizeof p, path, bound_keys[b]);
                ld_err(L, p, "a categorical value is compared with 'in' only");
            }
        return c;
    }
    c->kind = RULES_C_CMP;
    if (cat)
        ld_err(L, path, "a categorical value is compared with 'in'");
    for (size_t b = 0; b < 6; b++) {
        json_t *bv = json_object_get(j, bound_keys[b]);
        if (bv == NULL)
            continue;
        sub(p, sizeof p, path, bound_keys[b]);
        if (c->n_bounds == RULES_MAX_BOUNDS) {
            ld_err(L, p, "too many bounds");
            break;
        }
        rules_operand *rhs = parse_operand(L, bv, p);
        if (rhs != NULL && operand_is_categorical(rhs))
            ld_err(L, p, "a categorical value cannot be a bound");
        c->bounds[c->n_bounds].op = bound_ops[b];
        c->bounds[c->n_bounds].rhs = rhs;
        c->n_bounds++;
    }
    if (c->n_bounds == 0)
        ld_err(L, path, "a comparison needs at least one of gt, ge, lt, le, eq, ne");
    for (size_t i = 0; i < c->n_bounds; i++)
        if (c->bounds[i].rhs == NULL)
            return NULL;
    return c->x != NULL ? c : NULL;
}

/* Fills lasting_hours dependency sets, after all named conditions exist. */
static void finish_operand_deps(ld *L, rules_operand *o, depset *d);

static void finish_cond_deps(ld *L, rules_cond *c, depset *d)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        finish_cond_deps(L, c->kids[i], d);
    finish_operand_deps(L, c->x, d);
    for (size_t i = 0; i < c->n_bounds; i++)
        finish_operand_deps(L, c->bounds[i].rhs, d);
}

static void finish_operand_deps(ld *L, rules_operand *o, depset *d)
{
    if (o == NULL)
        return;
    finish_operand_deps(L, o->a, d);
    finish_operand_deps(L, o->b, d);
    if (o->pred != NULL)
        finish_cond_deps(L, o->pred, d);
    if (o->kind == RULES_OP_LASTING_HOURS && o->pred_deps != NULL && o->pred != NULL) {
        depset tmp = {calloc(d->n_codes, sizeof(bool)), d->n_codes};
        if (tmp.has == NULL) {
            ld_err(L, NULL, "out of memory");
            return;
        }
        deps_cond(L->rs, o->pred, &tmp);
        deps_finish(L, &tmp, o->pred_deps);
        free(tmp.has);
        if (o->pred_deps->n > 64) /* engine_eval.c walks at most 64 codes */
            ld_err(L, NULL, "lasting_hours: the condition reads more than 64 codes");
    }
}

/* Checks that every 'latest' numeric code has a freshness window. */
static void check_fresh_operand(ld *L, const rules_operand *o, const char *what);

static void check_fresh_cond(ld *L, const rules_cond *c, const char *what)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        check_fresh_cond(L, c->kids[i], what);
    check_fresh_operand(L, c->x, what);
    for (size_t i = 0; i < c->n_bounds; i++)
        check_fresh_operand(L, c->bounds[i].rhs, what);
}

static void check_fresh_operand(ld *L, const rules_operand *o, const char *what)
{
    if (o == NULL)
        return;
    if ((o->kind == RULES_OP_LATEST || o->kind == RULES_OP_LATEST_RATE) && o->code >= 0) {
        const obs_code *c = obs_code_by_id(o->code);
        if (c != NULL && c->kind == OBS_NUMERIC && L->rs->fresh_ms[o->code] == 0)
            ld_err(L, what, "numeric code '%s' is read as 'latest' but has no freshness window",
                   c->code);
    }
    check_fresh_operand(L, o->a, what);
    check_fresh_operand(L, o->b, what);
    check_fresh_cond(L, o->pred, what);
}

/* ---------------------------------------------------------------------- */
/* Sections                                                                */

/* Names the item being read in messages: "rule L24-RS-1", "term fever". */
static void set_where(ld *L, const char *kind, const char *name)
{
    if (name == NULL)
        snprintf(L->where, sizeof L->where, "%s", kind);
    else if (snprintf(L->where, sizeof L->where, "%s %s", kind, name) >= (int)sizeof L->where)
        L->where[sizeof L->where - 1] = '\0';
}

static void parse_freshness(ld *L, const json_t *doc)
{
    json_t *f = json_object_get(doc, "freshness");
    L->where[0] = '\0';
    if (!json_is_array(f)) {
        ld_err(L, "freshness", "expected an array of {hours, codes}");
        return;
    }
    size_t i;
    json_t *g;
    json_array_foreach(f, i, g)
    {
        char p[128];
        snprintf(p, sizeof p, "freshness[%zu]", i);
        if (!json_is_object(g)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        static const char *const k[] = {"hours", "codes", "comment", NULL};
        check_keys(L, g, p, k);
        double h = 0;
        if (!get_num(L, g, p, "hours", true, &h))
            continue;
        if (h <= 0 || h > 24 * 365) {
            ld_err(L, p, "hours: expected a positive number");
            continue;
        }
        json_t *codes = json_object_get(g, "codes");
        if (!json_is_array(codes)) {
            char pc[160];
            sub(pc, sizeof pc, p, "codes");
            ld_err(L, pc, "expected an array of observation codes");
            continue;
        }
        size_t k2;
        json_t *cv;
        json_array_foreach(codes, k2, cv)
        {
            char pc[160];
            snprintf(pc, sizeof pc, "%s.codes[%zu]", p, k2);
            int id = get_code(L, cv, pc);
            if (id < 0)
                continue;
            if (L->rs->fresh_ms[id] != 0)
                ld_err(L, pc, "'%s' has two freshness windows", json_string_value(cv));
            L->rs->fresh_ms[id] = hours_ms(h);
        }
    }
}

static void parse_interval_codes(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "interval_codes");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_array(a)) {
        ld_err(L, "interval_codes", "expected an array of observation codes");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char p[64];
        snprintf(p, sizeof p, "interval_codes[%zu]", i);
        int id = get_code(L, v, p);
        const obs_code *c = obs_code_by_id(id);
        if (c == NULL)
            continue;
        if (c->kind != OBS_NUMERIC)
            ld_err(L, p, "'%s' is not numeric", c->code);
        L->rs->interval_code[id] = true;
    }
}

static void parse_ranges(ld *L, const json_t *doc)
{
    json_t *r = json_object_get(doc, "reference_ranges");
    L->where[0] = '\0';
    if (!json_is_object(r)) {
        ld_err(L, "reference_ranges", "expected an object of reference limits");
        return;
    }
    static const char *k[RULES_LIM_COUNT + 2];
    for (int i = 0; i < RULES_LIM_COUNT; i++)
        k[i] = limit_names[i];
    k[RULES_LIM_COUNT] = "comment";
    k[RULES_LIM_COUNT + 1] = NULL;
    check_keys(L, r, "reference_ranges", k);
    for (int i = 0; i < RULES_LIM_COUNT; i++) {
        double v = NAN;
        if (get_num(L, r, "reference_ranges", limit_names[i], true, &v) && v <= 0) {
            char p[96];
            sub(p, sizeof p, "reference_ranges", limit_names[i]);
            ld_err(L, p, "expected a positive number");
        }
        L->rs->limit_default[i] = v;
    }
}

static void parse_required(ld *L, const json_t *doc)
{
    json_t *r = json_object_get(doc, "required");
    L->where[0] = '\0';
    if (!json_is_object(r)) {
        ld_err(L, "required", "expected {id, codes, hours, source}");
        return;
    }
    static const char *const k[] = {"id", "codes", "hours", "source", "text", NULL};
    check_keys(L, r, "required", k);
    L->rs->required_id = get_str(L, r, "required", "id", true);
    L->rs->required_source = get_str(L, r, "required", "source", true);
    double h = 0;
    if (get_num(L, r, "required", "hours", true, &h)) {
        if (h <= 0)
            ld_err(L, "required.hours", "expected a positive number");
        L->rs->required_ms = hours_ms(h);
    }
    json_t *codes = json_object_get(r, "codes");
    if (!json_is_array(codes) || json_array_size(codes) == 0) {
        ld_err(L, "required.codes", "expected a non-empty array of observation codes");
        return;
    }
    L->rs->required = ld_alloc(L, json_array_size(codes) * sizeof(int));
    if (L->rs->required == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v)
    {
        char p[64];
        snprintf(p, sizeof p, "required.codes[%zu]", i);
        int id = get_code(L, v, p);
        const obs_code *c = obs_code_by_id(id);
        if (c != NULL && c->kind != OBS_NUMERIC)
            ld_err(L, p, "'%s' is not numeric", c->code);
        L->rs->required[L->rs->n_required++] = id;
    }
}

static void parse_named(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "conditions");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_array(a)) {
        ld_err(L, "conditions", "expected an array of {name, text, when}");
        return;
    }
    L->rs->conds = ld_alloc(L, (json_array_size(a) + 1) * sizeof *L->rs->conds);
    if (L->rs->conds == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        rules_named *n = &L->rs->conds[i];
        char p[64];
        snprintf(p, sizeof p, "conditions[%zu]", i);
        if (!json_is_object(v)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        n->name = get_str(L, v, p, "name", true);
        set_where(L, "condition", n->name);
        static const char *const k[] = {"name", "text", "when", "source", NULL};
        check_keys(L, v, "", k);
        n->text = get_str(L, v, "", "text", false);
        for (size_t j = 0; j < i && n->name != NULL; j++)
            if (L->rs->conds[j].name != NULL && strcmp(L->rs->conds[j].name, n->name) == 0)
                ld_err(L, "name", "duplicate condition name");
        n->when = parse_cond(L, json_object_get(v, "when"), "when");
        L->n_named = i + 1;
        L->rs->n_conds = i + 1;
        L->where[0] = '\0';
    }
}

static const char *const class_names[] = {"label", "relative", "absolute"};
static const char *const action_names[] = {"none", "hold", "discontinue", "discontinue_course"};

static void parse_rules(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "rules");
    L->where[0] = '\0';
    if (!json_is_array(a) || json_array_size(a) == 0) {
        ld_err(L, "rules", "expected a non-empty array of rules");
        return;
    }
    L->rs->rules = ld_alloc(L, json_array_size(a) * sizeof *L->rs->rules);
    if (L->rs->rules == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        rules_rule *r = &L->rs->rules[L->rs->n_rules++];
        char p[64];
        snprintf(p, sizeof p, "rules[%zu]", i);
        if (!json_is_object(v)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        r->id = get_str(L, v, p, "id", true);
        if (r->id == NULL)
            set_where(L, p, NULL);
        else
            set_where(L, "rule", r->id);
        for (size_t j = 0; j + 1 < L->rs->n_rules && r->id != NULL; j++)
            if (L->rs->rules[j].id != NULL && strcmp(L->rs->rules[j].id, r->id) == 0)
                ld_err(L, "id", "duplicate rule id");
        static const char *const k[] = {"id",   "text",   "source", "class", "action",
                                        "when", "resume", "note",   NULL};
        check_keys(L, v, "", k);
        r->text = get_str(L, v, "", "text", true);
        r->source = get_str(L, v, "", "source", true);
        const char *cls = get_str(L, v, "", "class", true);
        int ci = cls != NULL ? name_index(class_names, 3, cls) : 0;
        if (ci < 0)
            ld_err(L, "class", "expected label, relative or absolute");
        r->klass = ci < 0 ? RULES_CLASS_LABEL : (rules_class)ci;
        const char *act = get_str(L, v, "", "action", r->klass == RULES_CLASS_LABEL);
        if (act != NULL) {
            int ai = name_index(action_names, 4, act);
            if (ai <= 0)
                ld_err(L, "action", "expected hold, discontinue or discontinue_course");
            else if (r->klass != RULES_CLASS_LABEL)
                ld_err(L, "action",
                       "consensus criteria (relative/absolute) take their action from the "
                       "consensus policy");
            else
                r->action = (rules_action)ai;
        }
        L->in_resume = false;
        r->when = parse_cond(L, json_object_get(v, "when"), "when");
        json_t *res = json_object_get(v, "resume");
        if (res != NULL) {
            if (r->action != RULES_ACT_HOLD)
                ld_err(L, "resume", "only a hold has a resume condition");
            if (!json_is_object(res)) {
                ld_err(L, "resume", "expected {when, text}");
            } else {
                static const char *const kr[] = {"when", "text", NULL};
                check_keys(L, res, "resume", kr);
                r->resume_text = get_str(L, res, "resume", "text", true);
                L->in_resume = true;
                r->resume = parse_cond(L, json_object_get(res, "when"), "resume.when");
                L->in_resume = false;
            }
        }
        L->where[0] = '\0';
    }
}

static void parse_levels(ld *L, const json_t *a, const char *path, const char *lkey, int lo, int hi,
                         rules_scale *sc)
{
    if (a == NULL)
        return;
    if (!json_is_array(a)) {
        ld_err(L, path, "expected an array of levels");
        return;
    }
    sc->levels = ld_alloc(L, (json_array_size(a) + 1) * sizeof *sc->levels);
    if (sc->levels == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char p[128];
        subi(p, sizeof p, path, i);
        if (!json_is_object(v)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        rules_level *lv = &sc->levels[sc->n++];
        const char *k[] = {lkey, "text", "when", NULL};
        check_keys(L, v, p, k);
        get_int(L, v, p, lkey, true, lo, hi, &lv->level);
        lv->text = get_str(L, v, p, "text", true);
        char pw[160];
        sub(pw, sizeof pw, p, "when");
        lv->when = parse_cond(L, json_object_get(v, "when"), pw);
    }
    /* highest level first: the engine stops at the first true level */
    for (size_t x = 1; x < sc->n; x++)
        for (size_t y = x; y > 0 && sc->levels[y - 1].level < sc->levels[y].level; y--) {
            rules_level t = sc->levels[y - 1];
            sc->levels[y - 1] = sc->levels[y];
            sc->levels[y] = t;
        }
}

static bool get_combine(ld *L, const json_t *obj, const char *path, bool dflt)
{
    const char *s = get_str(L, obj, path, "combine", false);
    if (s == NULL)
        return dflt;
    if (strcmp(s, "strict") == 0)
        return true;
    if (strcmp(s, "known") == 0)
        return false;
    char p[128];
    sub(p, sizeof p, path, "combine");
    ld_err(L, p, "expected strict or known");
    return dflt;
}

static void parse_terms(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "terms");
    L->where[0] = '\0';
    if (!json_is_array(a) || json_array_size(a) == 0) {
        ld_err(L, "terms", "expected a non-empty array of terms");
        return;
    }
    L->rs->terms = ld_alloc(L, json_array_size(a) * sizeof *L->rs->terms);
    if (L->rs->terms == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        rules_term *t = &L->rs->terms[L->rs->n_terms++];
        t->clinician_code = -1;
        char p[64];
        snprintf(p, sizeof p, "terms[%zu]", i);
        if (!json_is_object(v)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        t->id = get_str(L, v, p, "term", true);
        if (t->id == NULL)
            set_where(L, p, NULL);
        else
            set_where(L, "term", t->id);
        static const char *const k[] = {"term",    "label",   "source", "grades",
                                        "suggest", "combine", "note",   NULL};
        check_keys(L, v, "", k);
        t->label = get_str(L, v, "", "label", true);
        t->source = get_str(L, v, "", "source", true);
        if (t->id != NULL) {
            for (const char *s = t->id; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
                    ld_err(L, "term", "expected lower case letters, digits and '_'");
                    break;
                }
            for (size_t j = 0; j + 1 < L->rs->n_terms; j++)
                if (L->rs->terms[j].id != NULL && strcmp(L->rs->terms[j].id, t->id) == 0)
                    ld_err(L, "term", "duplicate term");
            char code[128];
            snprintf(code, sizeof code, "ctcae.%s", t->id);
            const obs_code *c = obs_code_lookup(code);
            if (c == NULL || c->kind != OBS_GRADE)
                ld_err(L, "term", "no clinician grade code '%s' in the observation catalogue",
                       code);
            else
                t->clinician_code = c->id;
        }
        t->grades.strict = get_combine(L, v, "", true);
        /* grade 5 (death) is only ever entered by a clinician */
        parse_levels(L, json_object_get(v, "grades"), "grades", "grade", 1, 4, &t->grades);
        parse_levels(L, json_object_get(v, "suggest"), "suggest", "grade", 1, 4, &t->suggest);
        t->suggest.strict = false;
        L->where[0] = '\0';
    }
}

static void parse_news2(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "news2");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        ld_err(L, "news2", "expected an object");
        return;
    }
    set_where(L, "news2", NULL);
    static const char *const k[] = {"source", "medium_at", "high_at", "parameters", "note", NULL};
    check_keys(L, n, "", k);
    L->rs->news2_source = get_str(L, n, "", "source", true);
    get_int(L, n, "", "medium_at", true, 1, 20, &L->rs->news2_medium);
    get_int(L, n, "", "high_at", true, 1, 20, &L->rs->news2_high);
    json_t *a = json_object_get(n, "parameters");
    if (!json_is_array(a) || json_array_size(a) == 0) {
        ld_err(L, "parameters", "expected a non-empty array");
        L->where[0] = '\0';
        return;
    }
    L->rs->news2 = ld_alloc(L, json_array_size(a) * sizeof *L->rs->news2);
    if (L->rs->news2 == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        rules_news2_param *pm = &L->rs->news2[L->rs->n_news2++];
        pm->code = -1;
        char p[64];
        snprintf(p, sizeof p, "parameters[%zu]", i);
        if (!json_is_object(v)) {
            ld_err(L, p, "expected an object");
            continue;
        }
        static const char *const kp[] = {"name", "code", "when", "bands", NULL};
        check_keys(L, v, p, kp);
        pm->name = get_str(L, v, p, "name", true);
        json_t *c = json_object_get(v, "code");
        if (c != NULL) {
            char pc[96];
            sub(pc, sizeof pc, p, "code");
            pm->code = get_code(L, c, pc);
        }
        json_t *w = json_object_get(v, "when");
        if (w != NULL) {
            char pw[96];
            sub(pw, sizeof pw, p, "when");
            pm->guard = parse_cond(L, w, pw);
        }
        char pb[96];
        sub(pb, sizeof pb, p, "bands");
        rules_scale tmp = {0};
        parse_levels(L, json_object_get(v, "bands"), pb, "points", 0, 3, &tmp);
        if (tmp.n == 0)
            ld_err(L, pb, "expected a non-empty array of {points, text, when}");
        pm->bands = tmp.levels;
        pm->n_bands = tmp.n;
    }
    L->where[0] = '\0';
}

static void parse_kdigo(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "kdigo");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        ld_err(L, "kdigo", "expected an object");
        return;
    }
    set_where(L, "kdigo", NULL);
    static const char *const k[] = {"source", "weight_baseline", "combine", "stages", "note", NULL};
    check_keys(L, n, "", k);
    L->rs->kdigo_source = get_str(L, n, "", "source", true);
    const char *w = get_str(L, n, "", "weight_baseline", true);
    L->rs->kdigo_weight_key = w != NULL ? name_index(baseline_names, RULES_BL_COUNT, w) : -1;
    if (w != NULL && L->rs->kdigo_weight_key < 0)
        ld_err(L, "weight_baseline", "unknown baseline key");
    L->rs->kdigo.strict = get_combine(L, n, "", false);
    parse_levels(L, json_object_get(n, "stages"), "stages", "stage", 1, 3, &L->rs->kdigo);
    if (L->rs->kdigo.n == 0)
        ld_err(L, "stages", "expected a non-empty array of {stage, text, when}");
    L->where[0] = '\0';
}

static void parse_consensus(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "consensus");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        ld_err(L, "consensus", "expected an object");
        return;
    }
    set_where(L, "consensus", NULL);
    static const char *const k[] = {"policy", "escalate_at_relative", "source", "note", NULL};
    check_keys(L, n, "", k);
    const char *pol = get_str(L, n, "", "policy", true);
    if (pol != NULL && strcmp(pol, "S4b") == 0) {
        L->rs->policy = RULES_POLICY_S4B;
        L->rs->consensus_id = "CWG-S4b";
    } else if (pol != NULL && strcmp(pol, "S5") == 0) {
        L->rs->policy = RULES_POLICY_S5;
        L->rs->consensus_id = "CWG-S5";
    } else if (pol != NULL) {
        ld_err(L, "policy", "expected S4b or S5");
    }
    get_int(L, n, "", "escalate_at_relative", true, 1, 100, &L->rs->consensus_relative_count);
    L->rs->consensus_source = get_str(L, n, "", "source", true);
    L->where[0] = '\0';
}

static int parse_hhmm(const char *s)
{
    if (s == NULL || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

static void parse_schedule(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "schedule");
    rules_set *rs = L->rs;
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        ld_err(L, "schedule", "expected an object");
        return;
    }
    set_where(L, "schedule", NULL);
    static const char *const k[] = {"time_zone",
                                    "utc_offset_minutes",
                                    "ward_times",
                                    "interval_hours",
                                    "cycles",
                                    "max_doses_per_cycle",
                                    "max_doses_per_course",
                                    "make_up_held_doses",
                                    "source",
                                    "note",
                                    NULL};
    check_keys(L, n, "", k);
    rs->time_zone = get_str(L, n, "", "time_zone", true);
    get_int(L, n, "", "utc_offset_minutes", true, -14 * 60, 14 * 60, &rs->utc_offset_min);
    get_int(L, n, "", "interval_hours", true, 1, 24, &rs->interval_hours);
    get_int(L, n, "", "max_doses_per_cycle", true, 1, 100, &rs->max_per_cycle);
    get_int(L, n, "", "max_doses_per_course", true, 1, 1000, &rs->max_per_course);
    rs->schedule_source = get_str(L, n, "", "source", true);
    json_t *mk = json_object_get(n, "make_up_held_doses");
    if (mk != NULL && !json_is_false(mk))
        ld_err(L, "make_up_held_doses", "only false is supported: held doses are not made up");
    json_t *wt = json_object_get(n, "ward_times");
    if (!json_is_array(wt) || json_array_size(wt) == 0 ||
        json_array_size(wt) > RULES_MAX_WARD_TIMES) {
        ld_err(L, "ward_times", "expected 1-%d times \"HH:MM\"", RULES_MAX_WARD_TIMES);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(wt, i, v)
        {
            int m = parse_hhmm(json_string_value(v));
            char p[64];
            snprintf(p, sizeof p, "ward_times[%zu]", i);
            if (m < 0)
                ld_err(L, p, "expected \"HH:MM\"");
            else if (i > 0 && m <= rs->ward_minutes[i - 1])
                ld_err(L, p, "ward times must be ascending");
            rs->ward_minutes[i] = m;
        }
        rs->n_ward_times = json_array_size(wt);
    }
    json_t *cy = json_object_get(n, "cycles");
    if (!json_is_array(cy) || json_array_size(cy) == 0 || json_array_size(cy) > RULES_MAX_CYCLES) {
        ld_err(L, "cycles", "expected 1-%d cycles {cycle, first_day, last_day}", RULES_MAX_CYCLES);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(cy, i, v)
        {
            char p[64];
            snprintf(p, sizeof p, "cycles[%zu]", i);
            rules_cycle *c = &rs->cycles[i];
            static const char *const kc[] = {"cycle", "first_day", "last_day", NULL};
            if (!json_is_object(v)) {
                ld_err(L, p, "expected an object");
                continue;
            }
            check_keys(L, v, p, kc);
            get_int(L, v, p, "cycle", true, 1, 100, &c->number);
            get_int(L, v, p, "first_day", true, 1, 1000, &c->first_day);
            get_int(L, v, p, "last_day", true, 1, 1000, &c->last_day);
            if (c->last_day < c->first_day)
                ld_err(L, p, "last_day before first_day");
            if (i == 0 && c->first_day != 1)
                ld_err(L, p, "the first cycle starts on day 1 (the day of the first dose)");
            if (i > 0 && c->first_day <= rs->cycles[i - 1].last_day)
                ld_err(L, p, "cycles overlap or are out of order");
        }
        rs->n_cycles = json_array_size(cy);
    }
    L->where[0] = '\0';
}

static const char *const prio_names[] = {"none", "low", "medium", "high"};

const char *rules_prio_name(rules_prio p)
{
    return p >= RULES_PRIO_NONE && p <= RULES_PRIO_HIGH ? prio_names[p] : "?";
}

/* A priority name at obj[key]; `allow_none` accepts "none". Keeps *out
 * (the default) when the key is absent. */
static void get_prio(ld *L, const json_t *obj, const char *path, const char *key, bool allow_none,
                     rules_prio *out)
{
    const char *s = get_str(L, obj, path, key, false);
    char p[128];
    if (s == NULL)
        return;
    for (int i = allow_none ? 0 : 1; i <= RULES_PRIO_HIGH; i++)
        if (strcmp(s, prio_names[i]) == 0) {
            *out = (rules_prio)i;
            return;
        }
    sub(p, sizeof p, path, key);
    ld_err(L, p, "expected %s", allow_none ? "none, low, medium or high" : "low, medium or high");
}

/* A duration member in `unit_ms` units, in (0, max]; keeps *out when absent. */
static void get_duration(ld *L, const json_t *obj, const char *path, const char *key,
                         int64_t unit_ms, double max, int64_t *out)
{
    double v = 0;
    char p[128];
    if (!get_num(L, obj, path, key, false, &v))
        return;
    if (v <= 0 || v > max) {
        sub(p, sizeof p, path, key);
        ld_err(L, p, "expected a number above 0 and at most %g", max);
        return;
    }
    *out = (int64_t)llround(v * (double)unit_ms);
}

/* The sub-object `key` of the alerts section (NULL when absent), with its
 * keys checked. */
static const json_t *alerts_part(ld *L, const json_t *a, const char *key,
                                 const char *const *allowed)
{
    const json_t *o = json_object_get(a, key);
    if (o == NULL)
        return NULL;
    if (!json_is_object(o)) {
        ld_err(L, key, "expected an object");
        return NULL;
    }
    check_keys(L, o, key, allowed);
    return o;
}

/* The optional "alerts" section (docs/rules.md 7.8). Defaults first, so a
 * file without the section, or with only some members, is complete. Reads
 * news2 and required, so it runs after those sections. */
static void parse_alerts(ld *L, const json_t *doc)
{
    rules_alerts *al = &L->rs->alerts;
    al->grade_medium_at = 2;
    al->grade_high_at = 3;
    al->decision_hold = true;
    al->decision_discontinue = true;
    al->decision_priority = RULES_PRIO_HIGH;
    al->news2_medium_at = L->rs->news2_medium;
    al->news2_high_at = L->rs->news2_high;
    al->news2_single_3 = RULES_PRIO_LOW;
    al->device_silent_ms = 5 * 60000;
    al->device_priority = RULES_PRIO_MEDIUM;
    for (size_t i = 0; i < L->rs->n_required && i < RULES_MAX_ALERT_CODES; i++)
        al->missing_codes[al->n_missing++] = L->rs->required[i];
    al->missing_ms = L->rs->required_ms;
    al->missing_priority = RULES_PRIO_MEDIUM;
    al->escalate_ms = 10 * 60000;
    al->resolve_ms = 15 * 60000;
    al->evaluate_ms = 30000;

    const json_t *a = json_object_get(doc, "alerts");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_object(a)) {
        ld_err(L, "alerts", "expected an object");
        return;
    }
    set_where(L, "alerts", NULL);
    static const char *const k[] = {"source",
                                    "comment",
                                    "grade",
                                    "decision",
                                    "news2",
                                    "device_silent",
                                    "data_missing",
                                    "escalate_after_minutes",
                                    "resolve_after_minutes",
                                    "evaluate_every_seconds",
                                    NULL};
    check_keys(L, a, "", k);
    al->source = get_str(L, a, "", "source", true);

    static const char *const kg[] = {"medium_at", "high_at", "comment", NULL};
    const json_t *g = alerts_part(L, a, "grade", kg);
    if (g != NULL) {
        get_int(L, g, "grade", "medium_at", false, 1, 5, &al->grade_medium_at);
        get_int(L, g, "grade", "high_at", false, 1, 5, &al->grade_high_at);
        if (al->grade_medium_at > al->grade_high_at)
            ld_err(L, "grade.medium_at", "must not be above grade.high_at (%d)", al->grade_high_at);
    }

    static const char *const kd[] = {"actions", "priority", "comment", NULL};
    const json_t *d = alerts_part(L, a, "decision", kd);
    if (d != NULL) {
        const json_t *acts = json_object_get(d, "actions");
        if (acts != NULL && !json_is_array(acts)) {
            ld_err(L, "decision.actions", "expected an array of hold, discontinue");
        } else if (acts != NULL) {
            size_t i;
            json_t *v;
            al->decision_hold = al->decision_discontinue = false;
            json_array_foreach(acts, i, v)
            {
                char p[64];
                const char *s = json_string_value(v);
                snprintf(p, sizeof p, "decision.actions[%zu]", i);
                if (s != NULL && strcmp(s, "hold") == 0)
                    al->decision_hold = true;
                else if (s != NULL && strcmp(s, "discontinue") == 0)
                    al->decision_discontinue = true;
                else
                    ld_err(L, p, "expected hold or discontinue");
            }
        }
        get_prio(L, d, "decision", "priority", false, &al->decision_priority);
    }

    static const char *const kn[] = {"medium_at", "high_at", "single_3", "comment", NULL};
    const json_t *n = alerts_part(L, a, "news2", kn);
    if (n != NULL) {
        get_int(L, n, "news2", "medium_at", false, 1, 20, &al->news2_medium_at);
        get_int(L, n, "news2", "high_at", false, 1, 20, &al->news2_high_at);
        if (al->news2_medium_at > al->news2_high_at)
            ld_err(L, "news2.medium_at", "must not be above news2.high_at (%d)", al->news2_high_at);
        get_prio(L, n, "news2", "single_3", true, &al->news2_single_3);
    }

    static const char *const ks[] = {"minutes", "priority", "comment", NULL};
    const json_t *ds = alerts_part(L, a, "device_silent", ks);
    if (ds != NULL) {
        get_duration(L, ds, "device_silent", "minutes", 60000, 24 * 60, &al->device_silent_ms);
        get_prio(L, ds, "device_silent", "priority", false, &al->device_priority);
    }

    static const char *const km[] = {"codes", "hours", "priority", "comment", NULL};
    const json_t *m = alerts_part(L, a, "data_missing", km);
    if (m != NULL) {
        const json_t *codes = json_object_get(m, "codes");
        if (codes != NULL && (!json_is_array(codes) || json_array_size(codes) == 0 ||
                              json_array_size(codes) > RULES_MAX_ALERT_CODES)) {
            ld_err(L, "data_missing.codes", "expected 1-%d observation codes",
                   RULES_MAX_ALERT_CODES);
        } else if (codes != NULL) {
            size_t i;
            json_t *v;
            al->n_missing = 0;
            json_array_foreach(codes, i, v)
            {
                char p[64];
                snprintf(p, sizeof p, "data_missing.codes[%zu]", i);
                int id = get_code(L, v, p);
                if (id >= 0)
                    al->missing_codes[al->n_missing++] = id;
            }
        }
        get_duration(L, m, "data_missing", "hours", 3600000, 24 * 7, &al->missing_ms);
        get_prio(L, m, "data_missing", "priority", false, &al->missing_priority);
    }

    get_duration(L, a, "", "escalate_after_minutes", 60000, 24 * 60, &al->escalate_ms);
    get_duration(L, a, "", "resolve_after_minutes", 60000, 24 * 60, &al->resolve_ms);
    get_duration(L, a, "", "evaluate_every_seconds", 1000, 3600, &al->evaluate_ms);
    L->where[0] = '\0';
}

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
        ld_err(L, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < rs->n_conds; i++) {
        deps_cond(rs, rs->conds[i].when, &d);
        deps_finish(L, &d, &rs->conds[i].deps);
        finish_cond_deps(L, rs->conds[i].when, &d);
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        rules_rule *r = &rs->rules[i];
        finish_cond_deps(L, r->when, &d);
        finish_cond_deps(L, r->resume, &d);
        deps_cond(rs, r->when, &d);
        deps_cond(rs, r->resume, &d);
        deps_finish(L, &d, &r->deps);
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        rules_term *t = &rs->terms[i];
        for (size_t j = 0; j < t->grades.n; j++) {
            finish_cond_deps(L, t->grades.levels[j].when, &d);
            deps_cond(rs, t->grades.levels[j].when, &d);
        }
        if (t->clinician_code >= 0)
            d.has[t->clinician_code] = true;
        deps_finish(L, &d, &t->grades.deps);
        for (size_t j = 0; j < t->suggest.n; j++) {
            finish_cond_deps(L, t->suggest.levels[j].when, &d);
            deps_cond(rs, t->suggest.levels[j].when, &d);
        }
        deps_finish(L, &d, &t->suggest.deps);
    }
    for (size_t i = 0; i < rs->n_news2; i++) {
        rules_news2_param *pm = &rs->news2[i];
        deps_cond(rs, pm->guard, &d);
        for (size_t j = 0; j < pm->n_bands; j++) {
            finish_cond_deps(L, pm->bands[j].when, &d);
            deps_cond(rs, pm->bands[j].when, &d);
        }
        deps_finish(L, &d, &pm->deps);
    }
    for (size_t j = 0; j < rs->kdigo.n; j++) {
        finish_cond_deps(L, rs->kdigo.levels[j].when, &d);
        deps_cond(rs, rs->kdigo.levels[j].when, &d);
    }
    deps_finish(L, &d, &rs->kdigo.deps);
    free(d.has);
}

static void check_all_fresh(ld *L)
{
    rules_set *rs = L->rs;
    for (size_t i = 0; i < rs->n_conds; i++) {
        set_where(L, "condition", rs->conds[i].name);
        check_fresh_cond(L, rs->conds[i].when, "when");
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        set_where(L, "rule", rs->rules[i].id);
        check_fresh_cond(L, rs->rules[i].when, "when");
        check_fresh_cond(L, rs->rules[i].resume, "resume.when");
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        set_where(L, "term", rs->terms[i].id);
        for (size_t j = 0; j < rs->terms[i].grades.n; j++)
            check_fresh_cond(L, rs->terms[i].grades.levels[j].when, "grades");
        for (size_t j = 0; j < rs->terms[i].suggest.n; j++)
            check_fresh_cond(L, rs->terms[i].suggest.levels[j].when, "suggest");
    }
    set_where(L, "news2", NULL);
    for (size_t i = 0; i < rs->n_news2; i++)
        for (size_t j = 0; j < rs->news2[i].n_bands; j++)
            check_fresh_cond(L, rs->news2[i].bands[j].when, "parameters");
    set_where(L, "kdigo", NULL);
    for (size_t j = 0; j < rs->kdigo.n; j++)
        check_fresh_cond(L, rs->kdigo.levels[j].when, "stages");
    for (size_t i = 0; i < rs->n_required; i++)
        if (rs->required[i] >= 0 && rs->fresh_ms[rs->required[i]] == 0) {
            L->where[0] = '\0';
            ld_err(L, "required.codes", "'%s' has no freshness window",
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
    arena_free(rs->arena);
    free(rs);
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
        ld_err(&L, NULL, "out of memory");
        goto fail;
    }
    rs->arena = ar;
    rs->refs = 1;
    rs->file = strdup(fname);
    if (!json_is_object(doc_in)) {
        ld_err(&L, NULL, "expected a JSON object at the top level");
        goto fail;
    }
    rs->doc = json_deep_copy(doc_in);
    rs->n_codes = obs_code_count();
    rs->fresh_ms = ld_alloc(&L, rs->n_codes * sizeof *rs->fresh_ms);
    rs->interval_code = ld_alloc(&L, rs->n_codes * sizeof *rs->interval_code);
    if (rs->doc == NULL || rs->file == NULL || rs->fresh_ms == NULL || rs->interval_code == NULL) {
        ld_err(&L, NULL, "out of memory");
        goto fail;
    }
    const json_t *doc = rs->doc;
    static const char *const k[] = {
        "name",       "version",        "description", "ctcae_version",
        "freshness",  "interval_codes", "required",    "reference_ranges",
        "conditions", "rules",          "consensus",   "terms",
        "news2",      "kdigo",          "schedule",    "alerts",
        "comment",    "$schema",        NULL};
    check_keys(&L, doc, "", k);
    rs->name = get_str(&L, doc, "", "name", true);
    get_int(&L, doc, "", "version", true, 1, 1000000, &rs->version);
    rs->description = get_str(&L, doc, "", "description", false);
    rs->ctcae_version = get_str(&L, doc, "", "ctcae_version", true);

    parse_freshness(&L, doc);
    parse_interval_codes(&L, doc);
    parse_ranges(&L, doc);
    parse_required(&L, doc);
    parse_named(&L, doc);
    parse_rules(&L, doc);
    parse_consensus(&L, doc);
    parse_terms(&L, doc);
    parse_news2(&L, doc);
    parse_kdigo(&L, doc);
    parse_schedule(&L, doc);
    parse_alerts(&L, doc);
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
            ld_err(&L, NULL, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        else
            ld_err(&L, NULL, "%s", jerr.text);
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
