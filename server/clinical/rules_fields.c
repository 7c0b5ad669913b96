/* rules_fields: the loader's foundations: key names, the arena, error
 * messages, typed field readers and dependency sets (the loader is described
 * in rules.c). */
#include "rules_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Keys                                                                    */

/* Pre-treatment baselines (policy 9, docs/rules.md 9). All must be
 * positive except stools_per_day, where 0 is a real baseline. */
const rules_key_info rules_baseline_keys[RULES_BL_COUNT] = {
    [RULES_BL_WEIGHT_KG] = {"weight_kg", "Weight", "kg", 20, 400},
    [RULES_BL_CREATININE_MG_DL] = {"creatinine_mg_dl", "Creatinine", "mg/dL", 0.1, 20},
    [RULES_BL_BILIRUBIN_MG_DL] = {"bilirubin_mg_dl", "Bilirubin", "mg/dL", 0.05, 50},
    [RULES_BL_AST_U_L] = {"ast_u_l", "AST", "U/L", 1, 5000},
    [RULES_BL_ALT_U_L] = {"alt_u_l", "ALT", "U/L", 1, 5000},
    [RULES_BL_SBP_MM_HG] = {"sbp_mm_hg", "Systolic BP", "mm[Hg]", 50, 250},
    [RULES_BL_STOOLS_PER_DAY] = {"stools_per_day", "Stools per day", "/d", 0, 20},
};

/* Per-patient reference limits overriding the rule file's defaults
 * (policy 10). Each range spans every laboratory's limits by a wide
 * margin. */
const rules_key_info rules_limit_keys[RULES_LIM_COUNT] = {
    [RULES_LIM_CREATININE_ULN] = {"creatinine_uln", "Creatinine ULN", "mg/dL", 0.3, 5},
    [RULES_LIM_BILIRUBIN_ULN] = {"bilirubin_uln", "Bilirubin ULN", "mg/dL", 0.3, 5},
    [RULES_LIM_AST_ULN] = {"ast_uln", "AST ULN", "U/L", 5, 500},
    [RULES_LIM_ALT_ULN] = {"alt_uln", "ALT ULN", "U/L", 5, 500},
    [RULES_LIM_PLATELETS_LLN] = {"platelets_lln", "Platelets LLN", "10*3/uL", 10, 1000},
    [RULES_LIM_POTASSIUM_LLN] = {"potassium_lln", "Potassium LLN", "mmol/L", 2, 6},
    [RULES_LIM_POTASSIUM_ULN] = {"potassium_uln", "Potassium ULN", "mmol/L", 3, 8},
    [RULES_LIM_PH_LLN] = {"ph_lln", "pH LLN", "[pH]", 6.8, 7.8},
    [RULES_LIM_PH_ULN] = {"ph_uln", "pH ULN", "[pH]", 6.8, 7.8},
};

const int rules_limit_pairs[RULES_LIMIT_PAIRS][2] = {
    {RULES_LIM_POTASSIUM_LLN, RULES_LIM_POTASSIUM_ULN},
    {RULES_LIM_PH_LLN, RULES_LIM_PH_ULN},
};

static const char *const pattr_names[RULES_PAT_COUNT] = {"news2_scale"};

const char *rules_baseline_name(int key)
{
    return key >= 0 && key < RULES_BL_COUNT ? rules_baseline_keys[key].key : "?";
}

const char *rules_limit_name(int key)
{
    return key >= 0 && key < RULES_LIM_COUNT ? rules_limit_keys[key].key : "?";
}

int rl_key_index(int kind, const char *s)
{
    int n = kind == RULES_OP_BASELINE ? RULES_BL_COUNT
            : kind == RULES_OP_LIMIT  ? RULES_LIM_COUNT
                                      : RULES_PAT_COUNT;
    for (int i = 0; s != NULL && i < n; i++) {
        const char *k = kind == RULES_OP_BASELINE ? rules_baseline_keys[i].key
                        : kind == RULES_OP_LIMIT  ? rules_limit_keys[i].key
                                                  : pattr_names[i];
        if (strcmp(k, s) == 0)
            return i;
    }
    return -1;
}

int rl_name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Arena and errors                                                        */

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

void rl_arena_free(arena *a)
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

void rl_ld_err(ld *L, const char *path, const char *fmt, ...)
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

void *rl_ld_alloc(ld *L, size_t size)
{
    void *p = arena_alloc(L->ar, size);
    if (p == NULL && !L->oom) {
        L->oom = true;
        rl_ld_err(L, NULL, "out of memory");
    }
    return p;
}

void rl_sub(char *out, size_t len, const char *path, const char *key)
{
    if (path == NULL || path[0] == '\0')
        snprintf(out, len, "%s", key);
    else
        snprintf(out, len, "%s.%s", path, key);
}

void rl_subi(char *out, size_t len, const char *path, size_t i)
{
    /* Paths are diagnostics only: truncation is harmless but must not warn. */
    if (snprintf(out, len, "%s[%zu]", path, i) >= (int)len && len > 0)
        out[len - 1] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Field readers                                                           */

/* Reports keys of `obj` that are not in `allowed` (NULL-terminated). */
void rl_check_keys(ld *L, const json_t *obj, const char *path, const char *const *allowed)
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
            rl_sub(p, sizeof p, path, key);
            rl_ld_err(L, p, "unknown field");
        }
    }
}

const char *rl_get_str(ld *L, const json_t *obj, const char *path, const char *key, bool required)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    rl_sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            rl_ld_err(L, p, "required");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        rl_ld_err(L, p, "expected a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

bool rl_get_num(ld *L, const json_t *obj, const char *path, const char *key, bool required,
                double *out)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    rl_sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            rl_ld_err(L, p, "required");
        return false;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        rl_ld_err(L, p, "expected a number");
        return false;
    }
    *out = json_number_value(v);
    return true;
}

bool rl_get_int(ld *L, const json_t *obj, const char *path, const char *key, bool required, int lo,
                int hi, int *out)
{
    json_t *v = json_object_get(obj, key);
    char p[256];
    rl_sub(p, sizeof p, path, key);
    if (v == NULL) {
        if (required)
            rl_ld_err(L, p, "required");
        return false;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        rl_ld_err(L, p, "expected an integer %d-%d", lo, hi);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

int64_t rl_hours_ms(double h)
{
    return (int64_t)llround(h * 3600000.0);
}

/* Resolves an observation code name; reports unknown names. */
int rl_get_code(ld *L, const json_t *v, const char *path)
{
    if (!json_is_string(v)) {
        rl_ld_err(L, path, "expected an observation code");
        return -1;
    }
    const obs_code *c = obs_code_lookup(json_string_value(v));
    if (c == NULL) {
        rl_ld_err(L, path, "unknown observation code '%s'", json_string_value(v));
        return -1;
    }
    return c->id;
}

/* ---------------------------------------------------------------------- */
/* Dependencies                                                            */

static void deps_operand(const rules_set *rs, const rules_operand *o, depset *d)
{
    if (o == NULL)
        return;
    if (o->code >= 0 && (size_t)o->code < d->n_codes)
        d->has[o->code] = true;
    deps_operand(rs, o->a, d);
    deps_operand(rs, o->b, d);
    if (o->pred != NULL)
        rl_deps_cond(rs, o->pred, d);
}

void rl_deps_cond(const rules_set *rs, const rules_cond *c, depset *d)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        rl_deps_cond(rs, c->kids[i], d);
    deps_operand(rs, c->x, d);
    for (size_t i = 0; i < c->n_bounds; i++)
        deps_operand(rs, c->bounds[i].rhs, d);
    if (c->kind == RULES_C_FLAG && c->code >= 0)
        d->has[c->code] = true;
    if (c->kind == RULES_C_REF && c->ref >= 0 && (size_t)c->ref < rs->n_conds)
        rl_deps_cond(rs, rs->conds[c->ref].when, d);
}

void rl_deps_finish(ld *L, depset *d, rules_deps *out)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_codes; i++)
        n += d->has[i];
    out->codes = rl_ld_alloc(L, (n ? n : 1) * sizeof(int));
    out->n = 0;
    if (out->codes == NULL)
        return;
    for (size_t i = 0; i < d->n_codes; i++)
        if (d->has[i])
            out->codes[out->n++] = (int)i;
    memset(d->has, 0, d->n_codes * sizeof(bool));
}
