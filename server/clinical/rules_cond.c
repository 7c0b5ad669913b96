/* rules_cond: conditions (all, any, not, at_least, ref, flag, comparisons),
 * and the checks that run on them once the whole set is read. */
#include "rules_int.h"

#include <stdlib.h>
#include <string.h>

static rules_cond *parse_kids(ld *L, rules_cond *c, const json_t *arr, const char *path)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rl_ld_err(L, path, "expected a non-empty array of conditions");
        return c;
    }
    c->n_kids = json_array_size(arr);
    c->kids = rl_ld_alloc(L, c->n_kids * sizeof *c->kids);
    if (c->kids == NULL) {
        c->n_kids = 0;
        return c;
    }
    for (size_t i = 0; i < c->n_kids; i++) {
        char p[256];
        rl_subi(p, sizeof p, path, i);
        c->kids[i] = rl_parse_cond(L, json_array_get(arr, i), p);
    }
    return c;
}

/* all, any, not, at_least. */
static rules_cond *cond_logic(ld *L, rules_cond *c, const json_t *j, const char *path)
{
    json_t *v;
    char p[256];

    if ((v = json_object_get(j, "all")) != NULL || (v = json_object_get(j, "any")) != NULL) {
        bool all = json_object_get(j, "all") != NULL;
        c->kind = all ? RULES_C_ALL : RULES_C_ANY;
        rl_sub(p, sizeof p, path, all ? "all" : "any");
        static const char *const ka[] = {"all", NULL};
        static const char *const kb[] = {"any", NULL};
        rl_check_keys(L, j, path, all ? ka : kb);
        return parse_kids(L, c, v, p);
    }
    if ((v = json_object_get(j, "not")) != NULL) {
        c->kind = RULES_C_NOT;
        static const char *const k[] = {"not", NULL};
        rl_check_keys(L, j, path, k);
        rl_sub(p, sizeof p, path, "not");
        c->kids = rl_ld_alloc(L, sizeof *c->kids);
        if (c->kids != NULL) {
            c->n_kids = 1;
            c->kids[0] = rl_parse_cond(L, v, p);
        }
        return c;
    }
    c->kind = RULES_C_AT_LEAST;
    static const char *const k[] = {"at_least", "of", NULL};
    rl_check_keys(L, j, path, k);
    rl_sub(p, sizeof p, path, "of");
    parse_kids(L, c, json_object_get(j, "of"), p);
    int n = 0;
    if (rl_get_int(L, j, path, "at_least", true, 1, 1000, &n))
        c->at_least = n;
    if (c->n_kids > 0 && (size_t)c->at_least > c->n_kids) {
        rl_sub(p, sizeof p, path, "at_least");
        rl_ld_err(L, p, "larger than the number of conditions in 'of'");
    }
    return c;
}

/* {"ref": name}: a named condition defined earlier. */
static rules_cond *cond_ref(ld *L, rules_cond *c, const json_t *j, const json_t *v,
                            const char *path)
{
    char p[256];

    c->kind = RULES_C_REF;
    static const char *const k[] = {"ref", NULL};
    rl_check_keys(L, j, path, k);
    rl_sub(p, sizeof p, path, "ref");
    for (size_t i = 0; json_is_string(v) && i < L->n_named; i++)
        if (L->rs->conds[i].name != NULL && strcmp(L->rs->conds[i].name, json_string_value(v)) == 0)
            c->ref = (int)i;
    if (c->ref < 0)
        rl_ld_err(L, p, "no condition named %s%s%s defined before this point",
                  json_is_string(v) ? "'" : "", json_is_string(v) ? json_string_value(v) : "?",
                  json_is_string(v) ? "'" : "");
    return c;
}

/* {"flag": code, "since_hold": bool}. */
static rules_cond *cond_flag(ld *L, rules_cond *c, const json_t *j, const json_t *v,
                             const char *path)
{
    char p[256];

    c->kind = RULES_C_FLAG;
    static const char *const k[] = {"flag", "since_hold", NULL};
    rl_check_keys(L, j, path, k);
    rl_sub(p, sizeof p, path, "flag");
    c->code = rl_get_code(L, v, p);
    const obs_code *oc = obs_code_by_id(c->code);
    if (oc != NULL && oc->kind != OBS_FLAG)
        rl_ld_err(L, p, "'%s' is not a clinical flag", oc->code);
    json_t *sh = json_object_get(j, "since_hold");
    if (sh != NULL) {
        rl_sub(p, sizeof p, path, "since_hold");
        if (!json_is_boolean(sh))
            rl_ld_err(L, p, "expected true or false");
        else if (!L->in_resume)
            rl_ld_err(L, p, "since_hold is only allowed in a resume condition");
        c->since_hold = json_is_true(sh);
    }
    return c;
}

/* A categorical operand with {"in": [values]}. */
static rules_cond *cond_in(ld *L, rules_cond *c, const json_t *j, const json_t *in, bool cat,
                           const char *path)
{
    char p[256];

    c->kind = RULES_C_IN;
    rl_sub(p, sizeof p, path, "in");
    const obs_code *oc = c->x != NULL ? obs_code_by_id(c->x->code) : NULL;
    if (!cat || oc == NULL) {
        rl_ld_err(L, p, "'in' needs a categorical operand (latest of rhythm, consciousness, fobt)");
        return c;
    }
    if (!json_is_array(in) || json_array_size(in) == 0) {
        rl_ld_err(L, p, "expected a non-empty array of values");
        return c;
    }
    c->n_cats = json_array_size(in);
    c->cats = rl_ld_alloc(L, c->n_cats * sizeof *c->cats);
    for (size_t i = 0; c->cats != NULL && i < c->n_cats; i++) {
        json_t *s = json_array_get(in, i);
        int idx = -1;
        for (int k = 0; json_is_string(s) && oc->values[k] != NULL; k++)
            if (strcmp(oc->values[k], json_string_value(s)) == 0)
                idx = k;
        if (idx < 0) {
            char pi[256];
            rl_subi(pi, sizeof pi, p, i);
            rl_ld_err(L, pi, "not a value of '%s'", oc->code);
        }
        c->cats[i] = idx;
    }
    for (size_t b = 0; b < 6; b++)
        if (json_object_get(j, rl_bound_keys[b]) != NULL) {
            rl_sub(p, sizeof p, path, rl_bound_keys[b]);
            rl_ld_err(L, p, "a categorical value is compared with 'in' only");
        }
    return c;
}

/* A numeric operand with its bounds (gt, ge, lt, le, eq, ne). */
static rules_cond *cond_bounds(ld *L, rules_cond *c, const json_t *j, bool cat, const char *path)
{
    char p[256];

    c->kind = RULES_C_CMP;
    if (cat)
        rl_ld_err(L, path, "a categorical value is compared with 'in'");
    for (size_t b = 0; b < 6; b++) {
        json_t *bv = json_object_get(j, rl_bound_keys[b]);
        if (bv == NULL)
            continue;
        rl_sub(p, sizeof p, path, rl_bound_keys[b]);
        if (c->n_bounds == RULES_MAX_BOUNDS) {
            rl_ld_err(L, p, "too many bounds");
            break;
        }
        rules_operand *rhs = rl_parse_operand(L, bv, p);
        if (rhs != NULL && rl_operand_is_categorical(rhs))
            rl_ld_err(L, p, "a categorical value cannot be a bound");
        c->bounds[c->n_bounds].op = rl_bound_ops[b];
        c->bounds[c->n_bounds].rhs = rhs;
        c->n_bounds++;
    }
    if (c->n_bounds == 0)
        rl_ld_err(L, path, "a comparison needs at least one of gt, ge, lt, le, eq, ne");
    for (size_t i = 0; i < c->n_bounds; i++)
        if (c->bounds[i].rhs == NULL)
            return NULL;
    return c->x != NULL ? c : NULL;
}

rules_cond *rl_parse_cond(ld *L, const json_t *j, const char *path)
{
    json_t *v;

    if (!json_is_object(j)) {
        rl_ld_err(L, path, "expected an object (a condition)");
        return NULL;
    }
    rules_cond *c = rl_ld_alloc(L, sizeof *c);
    if (c == NULL)
        return NULL;
    c->code = -1;
    c->ref = -1;
    if (json_object_get(j, "all") || json_object_get(j, "any") || json_object_get(j, "not") ||
        json_object_get(j, "at_least"))
        return cond_logic(L, c, j, path);
    if ((v = json_object_get(j, "ref")) != NULL)
        return cond_ref(L, c, j, v, path);
    if ((v = json_object_get(j, "flag")) != NULL)
        return cond_flag(L, c, j, v, path);

    /* a comparison: one operand key, its modifiers, and bounds or "in" */
    const opdef *od = rl_find_opkey(L, j, path, true);
    if (od == NULL)
        return NULL;
    static const char *const extra[] = {"gt", "ge", "lt", "le", "eq", "ne", "in", NULL};
    c->x = rl_operand_from_obj(L, j, od, path, extra);
    bool cat = rl_operand_is_categorical(c->x);
    json_t *in = json_object_get(j, "in");
    if (in != NULL)
        return cond_in(L, c, j, in, cat, path);
    return cond_bounds(L, c, j, cat, path);
}

/* Fills lasting_hours dependency sets, after all named conditions exist. */
static void finish_operand_deps(ld *L, rules_operand *o, depset *d);

void rl_finish_cond_deps(ld *L, rules_cond *c, depset *d)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        rl_finish_cond_deps(L, c->kids[i], d);
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
        rl_finish_cond_deps(L, o->pred, d);
    if (o->kind == RULES_OP_LASTING_HOURS && o->pred_deps != NULL && o->pred != NULL) {
        depset tmp = {calloc(d->n_codes, sizeof(bool)), d->n_codes};
        if (tmp.has == NULL) {
            rl_ld_err(L, NULL, "out of memory");
            return;
        }
        rl_deps_cond(L->rs, o->pred, &tmp);
        rl_deps_finish(L, &tmp, o->pred_deps);
        free(tmp.has);
        if (o->pred_deps->n > 64) /* engine_eval.c walks at most 64 codes */
            rl_ld_err(L, NULL, "lasting_hours: the condition reads more than 64 codes");
    }
}

/* Checks that every 'latest' numeric code has a freshness window. */
static void check_fresh_operand(ld *L, const rules_operand *o, const char *what);

void rl_check_fresh_cond(ld *L, const rules_cond *c, const char *what)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_kids; i++)
        rl_check_fresh_cond(L, c->kids[i], what);
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
            rl_ld_err(L, what, "numeric code '%s' is read as 'latest' but has no freshness window",
                      c->code);
    }
    check_fresh_operand(L, o->a, what);
    check_fresh_operand(L, o->b, what);
    rl_check_fresh_cond(L, o->pred, what);
}
