/* rules_sections: the top-level sections of a rule set (freshness,
 * interval codes, ranges, required, conditions, rules, terms, NEWS2, KDIGO,
 * consensus, schedule). */
#include "rules_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Sections                                                                */

/* Names the item being read in messages: "rule L24-RS-1", "term fever". */
void rl_set_where(ld *L, const char *kind, const char *name)
{
    if (name == NULL)
        snprintf(L->where, sizeof L->where, "%s", kind);
    else if (snprintf(L->where, sizeof L->where, "%s %s", kind, name) >= (int)sizeof L->where)
        L->where[sizeof L->where - 1] = '\0';
}

void rl_parse_freshness(ld *L, const json_t *doc)
{
    json_t *f = json_object_get(doc, "freshness");
    L->where[0] = '\0';
    if (!json_is_array(f)) {
        rl_ld_err(L, "freshness", "expected an array of {hours, codes}");
        return;
    }
    size_t i;
    json_t *g;
    json_array_foreach(f, i, g)
    {
        char p[128];
        snprintf(p, sizeof p, "freshness[%zu]", i);
        if (!json_is_object(g)) {
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        static const char *const k[] = {"hours", "codes", "comment", NULL};
        rl_check_keys(L, g, p, k);
        double h = 0;
        if (!rl_get_num(L, g, p, "hours", true, &h))
            continue;
        if (h <= 0 || h > 24 * 365) {
            rl_ld_err(L, p, "hours: expected a positive number");
            continue;
        }
        json_t *codes = json_object_get(g, "codes");
        if (!json_is_array(codes)) {
            char pc[160];
            rl_sub(pc, sizeof pc, p, "codes");
            rl_ld_err(L, pc, "expected an array of observation codes");
            continue;
        }
        size_t k2;
        json_t *cv;
        json_array_foreach(codes, k2, cv)
        {
            char pc[160];
            snprintf(pc, sizeof pc, "%s.codes[%zu]", p, k2);
            int id = rl_get_code(L, cv, pc);
            if (id < 0)
                continue;
            if (L->rs->fresh_ms[id] != 0)
                rl_ld_err(L, pc, "'%s' has two freshness windows", json_string_value(cv));
            L->rs->fresh_ms[id] = rl_hours_ms(h);
        }
    }
}

void rl_parse_interval_codes(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "interval_codes");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_array(a)) {
        rl_ld_err(L, "interval_codes", "expected an array of observation codes");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char p[64];
        snprintf(p, sizeof p, "interval_codes[%zu]", i);
        int id = rl_get_code(L, v, p);
        const obs_code *c = obs_code_by_id(id);
        if (c == NULL)
            continue;
        if (c->kind != OBS_NUMERIC)
            rl_ld_err(L, p, "'%s' is not numeric", c->code);
        L->rs->interval_code[id] = true;
    }
}

void rl_parse_ranges(ld *L, const json_t *doc)
{
    json_t *r = json_object_get(doc, "reference_ranges");
    L->where[0] = '\0';
    if (!json_is_object(r)) {
        rl_ld_err(L, "reference_ranges", "expected an object of reference limits");
        return;
    }
    static const char *k[RULES_LIM_COUNT + 2];
    for (int i = 0; i < RULES_LIM_COUNT; i++)
        k[i] = rules_limit_keys[i].key;
    k[RULES_LIM_COUNT] = "comment";
    k[RULES_LIM_COUNT + 1] = NULL;
    rl_check_keys(L, r, "reference_ranges", k);
    for (int i = 0; i < RULES_LIM_COUNT; i++) {
        double v = NAN;
        if (rl_get_num(L, r, "reference_ranges", rules_limit_keys[i].key, true, &v) && v <= 0) {
            char p[96];
            rl_sub(p, sizeof p, "reference_ranges", rules_limit_keys[i].key);
            rl_ld_err(L, p, "expected a positive number");
        }
        L->rs->limit_default[i] = v;
    }
}

void rl_parse_required(ld *L, const json_t *doc)
{
    json_t *r = json_object_get(doc, "required");
    L->where[0] = '\0';
    if (!json_is_object(r)) {
        rl_ld_err(L, "required", "expected {id, codes, hours, source}");
        return;
    }
    static const char *const k[] = {"id", "codes", "hours", "source", "text", NULL};
    rl_check_keys(L, r, "required", k);
    L->rs->required_id = rl_get_str(L, r, "required", "id", true);
    L->rs->required_source = rl_get_str(L, r, "required", "source", true);
    double h = 0;
    if (rl_get_num(L, r, "required", "hours", true, &h)) {
        if (h <= 0)
            rl_ld_err(L, "required.hours", "expected a positive number");
        L->rs->required_ms = rl_hours_ms(h);
    }
    json_t *codes = json_object_get(r, "codes");
    if (!json_is_array(codes) || json_array_size(codes) == 0) {
        rl_ld_err(L, "required.codes", "expected a non-empty array of observation codes");
        return;
    }
    L->rs->required = rl_ld_alloc(L, json_array_size(codes) * sizeof(int));
    if (L->rs->required == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(codes, i, v)
    {
        char p[64];
        snprintf(p, sizeof p, "required.codes[%zu]", i);
        int id = rl_get_code(L, v, p);
        const obs_code *c = obs_code_by_id(id);
        if (c != NULL && c->kind != OBS_NUMERIC)
            rl_ld_err(L, p, "'%s' is not numeric", c->code);
        L->rs->required[L->rs->n_required++] = id;
    }
}

void rl_parse_named(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "conditions");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_array(a)) {
        rl_ld_err(L, "conditions", "expected an array of {name, text, when}");
        return;
    }
    L->rs->conds = rl_ld_alloc(L, (json_array_size(a) + 1) * sizeof *L->rs->conds);
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
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        n->name = rl_get_str(L, v, p, "name", true);
        rl_set_where(L, "condition", n->name);
        static const char *const k[] = {"name", "text", "when", "source", NULL};
        rl_check_keys(L, v, "", k);
        n->text = rl_get_str(L, v, "", "text", false);
        for (size_t j = 0; j < i && n->name != NULL; j++)
            if (L->rs->conds[j].name != NULL && strcmp(L->rs->conds[j].name, n->name) == 0)
                rl_ld_err(L, "name", "duplicate condition name");
        n->when = rl_parse_cond(L, json_object_get(v, "when"), "when");
        L->n_named = i + 1;
        L->rs->n_conds = i + 1;
        L->where[0] = '\0';
    }
}

static const char *const class_names[] = {"label", "relative", "absolute"};
static const char *const action_names[] = {"none", "hold", "discontinue", "discontinue_course"};

void rl_parse_rules(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "rules");
    L->where[0] = '\0';
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rl_ld_err(L, "rules", "expected a non-empty array of rules");
        return;
    }
    L->rs->rules = rl_ld_alloc(L, json_array_size(a) * sizeof *L->rs->rules);
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
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        r->id = rl_get_str(L, v, p, "id", true);
        if (r->id == NULL)
            rl_set_where(L, p, NULL);
        else
            rl_set_where(L, "rule", r->id);
        for (size_t j = 0; j + 1 < L->rs->n_rules && r->id != NULL; j++)
            if (L->rs->rules[j].id != NULL && strcmp(L->rs->rules[j].id, r->id) == 0)
                rl_ld_err(L, "id", "duplicate rule id");
        static const char *const k[] = {"id",   "text",   "source", "class", "action",
                                        "when", "resume", "note",   NULL};
        rl_check_keys(L, v, "", k);
        r->text = rl_get_str(L, v, "", "text", true);
        r->source = rl_get_str(L, v, "", "source", true);
        const char *cls = rl_get_str(L, v, "", "class", true);
        int ci = cls != NULL ? rl_name_index(class_names, 3, cls) : 0;
        if (ci < 0)
            rl_ld_err(L, "class", "expected label, relative or absolute");
        r->klass = ci < 0 ? RULES_CLASS_LABEL : (rules_class)ci;
        const char *act = rl_get_str(L, v, "", "action", r->klass == RULES_CLASS_LABEL);
        if (act != NULL) {
            int ai = rl_name_index(action_names, 4, act);
            if (ai <= 0)
                rl_ld_err(L, "action", "expected hold, discontinue or discontinue_course");
            else if (r->klass != RULES_CLASS_LABEL)
                rl_ld_err(L, "action",
                          "consensus criteria (relative/absolute) take their action from the "
                          "consensus policy");
            else
                r->action = (rules_action)ai;
        }
        L->in_resume = false;
        r->when = rl_parse_cond(L, json_object_get(v, "when"), "when");
        json_t *res = json_object_get(v, "resume");
        if (res != NULL) {
            if (r->action != RULES_ACT_HOLD)
                rl_ld_err(L, "resume", "only a hold has a resume condition");
            if (!json_is_object(res)) {
                rl_ld_err(L, "resume", "expected {when, text}");
            } else {
                static const char *const kr[] = {"when", "text", NULL};
                rl_check_keys(L, res, "resume", kr);
                r->resume_text = rl_get_str(L, res, "resume", "text", true);
                L->in_resume = true;
                r->resume = rl_parse_cond(L, json_object_get(res, "when"), "resume.when");
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
        rl_ld_err(L, path, "expected an array of levels");
        return;
    }
    sc->levels = rl_ld_alloc(L, (json_array_size(a) + 1) * sizeof *sc->levels);
    if (sc->levels == NULL)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char p[128];
        rl_subi(p, sizeof p, path, i);
        if (!json_is_object(v)) {
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        rules_level *lv = &sc->levels[sc->n++];
        const char *k[] = {lkey, "text", "when", NULL};
        rl_check_keys(L, v, p, k);
        rl_get_int(L, v, p, lkey, true, lo, hi, &lv->level);
        lv->text = rl_get_str(L, v, p, "text", true);
        char pw[160];
        rl_sub(pw, sizeof pw, p, "when");
        lv->when = rl_parse_cond(L, json_object_get(v, "when"), pw);
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
    const char *s = rl_get_str(L, obj, path, "combine", false);
    if (s == NULL)
        return dflt;
    if (strcmp(s, "strict") == 0)
        return true;
    if (strcmp(s, "known") == 0)
        return false;
    char p[128];
    rl_sub(p, sizeof p, path, "combine");
    rl_ld_err(L, p, "expected strict or known");
    return dflt;
}

void rl_parse_terms(ld *L, const json_t *doc)
{
    json_t *a = json_object_get(doc, "terms");
    L->where[0] = '\0';
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rl_ld_err(L, "terms", "expected a non-empty array of terms");
        return;
    }
    L->rs->terms = rl_ld_alloc(L, json_array_size(a) * sizeof *L->rs->terms);
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
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        t->id = rl_get_str(L, v, p, "term", true);
        if (t->id == NULL)
            rl_set_where(L, p, NULL);
        else
            rl_set_where(L, "term", t->id);
        static const char *const k[] = {"term",    "label",   "source", "grades",
                                        "suggest", "combine", "note",   NULL};
        rl_check_keys(L, v, "", k);
        t->label = rl_get_str(L, v, "", "label", true);
        t->source = rl_get_str(L, v, "", "source", true);
        if (t->id != NULL) {
            for (const char *s = t->id; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) {
                    rl_ld_err(L, "term", "expected lower case letters, digits and '_'");
                    break;
                }
            for (size_t j = 0; j + 1 < L->rs->n_terms; j++)
                if (L->rs->terms[j].id != NULL && strcmp(L->rs->terms[j].id, t->id) == 0)
                    rl_ld_err(L, "term", "duplicate term");
            char code[128];
            snprintf(code, sizeof code, "ctcae.%s", t->id);
            const obs_code *c = obs_code_lookup(code);
            if (c == NULL || c->kind != OBS_GRADE)
                rl_ld_err(L, "term",
                          "no clinician grade code '%s' (at most %d terms beyond the built-in "
                          "CTCAE ones, names of at most %d characters)",
                          code, OBS_EXTRA_GRADES, OBS_TERM_MAX);
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

void rl_parse_news2(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "news2");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        rl_ld_err(L, "news2", "expected an object");
        return;
    }
    rl_set_where(L, "news2", NULL);
    static const char *const k[] = {"source", "medium_at", "high_at", "parameters", "note", NULL};
    rl_check_keys(L, n, "", k);
    L->rs->news2_source = rl_get_str(L, n, "", "source", true);
    rl_get_int(L, n, "", "medium_at", true, 1, 20, &L->rs->news2_medium);
    rl_get_int(L, n, "", "high_at", true, 1, 20, &L->rs->news2_high);
    json_t *a = json_object_get(n, "parameters");
    if (!json_is_array(a) || json_array_size(a) == 0) {
        rl_ld_err(L, "parameters", "expected a non-empty array");
        L->where[0] = '\0';
        return;
    }
    L->rs->news2 = rl_ld_alloc(L, json_array_size(a) * sizeof *L->rs->news2);
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
            rl_ld_err(L, p, "expected an object");
            continue;
        }
        static const char *const kp[] = {"name", "code", "when", "bands", NULL};
        rl_check_keys(L, v, p, kp);
        pm->name = rl_get_str(L, v, p, "name", true);
        json_t *c = json_object_get(v, "code");
        if (c != NULL) {
            char pc[96];
            rl_sub(pc, sizeof pc, p, "code");
            pm->code = rl_get_code(L, c, pc);
        }
        json_t *w = json_object_get(v, "when");
        if (w != NULL) {
            char pw[96];
            rl_sub(pw, sizeof pw, p, "when");
            pm->guard = rl_parse_cond(L, w, pw);
        }
        char pb[96];
        rl_sub(pb, sizeof pb, p, "bands");
        rules_scale tmp = {0};
        parse_levels(L, json_object_get(v, "bands"), pb, "points", 0, 3, &tmp);
        if (tmp.n == 0)
            rl_ld_err(L, pb, "expected a non-empty array of {points, text, when}");
        pm->bands = tmp.levels;
        pm->n_bands = tmp.n;
    }
    L->where[0] = '\0';
}

void rl_parse_kdigo(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "kdigo");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        rl_ld_err(L, "kdigo", "expected an object");
        return;
    }
    rl_set_where(L, "kdigo", NULL);
    static const char *const k[] = {"source", "weight_baseline", "combine", "stages", "note", NULL};
    rl_check_keys(L, n, "", k);
    L->rs->kdigo_source = rl_get_str(L, n, "", "source", true);
    const char *w = rl_get_str(L, n, "", "weight_baseline", true);
    L->rs->kdigo_weight_key = w != NULL ? rl_key_index(RULES_OP_BASELINE, w) : -1;
    if (w != NULL && L->rs->kdigo_weight_key < 0)
        rl_ld_err(L, "weight_baseline", "unknown baseline key");
    L->rs->kdigo.strict = get_combine(L, n, "", false);
    parse_levels(L, json_object_get(n, "stages"), "stages", "stage", 1, 3, &L->rs->kdigo);
    if (L->rs->kdigo.n == 0)
        rl_ld_err(L, "stages", "expected a non-empty array of {stage, text, when}");
    L->where[0] = '\0';
}

void rl_parse_consensus(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "consensus");
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        rl_ld_err(L, "consensus", "expected an object");
        return;
    }
    rl_set_where(L, "consensus", NULL);
    static const char *const k[] = {"policy", "escalate_at_relative", "source", "note", NULL};
    rl_check_keys(L, n, "", k);
    const char *pol = rl_get_str(L, n, "", "policy", true);
    if (pol != NULL && strcmp(pol, "S4b") == 0) {
        L->rs->policy = RULES_POLICY_S4B;
        L->rs->consensus_id = "CWG-S4b";
    } else if (pol != NULL && strcmp(pol, "S5") == 0) {
        L->rs->policy = RULES_POLICY_S5;
        L->rs->consensus_id = "CWG-S5";
    } else if (pol != NULL) {
        rl_ld_err(L, "policy", "expected S4b or S5");
    }
    rl_get_int(L, n, "", "escalate_at_relative", true, 1, 100, &L->rs->consensus_relative_count);
    L->rs->consensus_source = rl_get_str(L, n, "", "source", true);
    snprintf(L->rs->consensus_text, sizeof L->rs->consensus_text,
             "consensus criteria: %d or more relative or any absolute criterion: %s",
             L->rs->consensus_relative_count,
             L->rs->policy == RULES_POLICY_S5
                 ? "discontinue (S5 policy)"
                 : "hold; physician review: stop if not easily reversed");
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

/* schedule.time_zone: an IANA name from the system's zone database; absent,
 * the ward's default zone (serve --time-zone). A fixed utc_offset_minutes
 * is refused: it cannot follow daylight saving, and a ward set to -300 in
 * New York doses an hour late from March to November. */
static void parse_zone(ld *L, const json_t *n)
{
    char err[200];
    rules_set *rs = L->rs;

    if (json_object_get(n, "utc_offset_minutes") != NULL)
        rl_ld_err(L, "utc_offset_minutes",
                  "no longer supported: a fixed offset cannot follow daylight saving; name the "
                  "ward's IANA zone in schedule.time_zone (e.g. \"America/New_York\") or leave "
                  "it out to use the server's --time-zone");
    if (json_object_get(n, "time_zone") == NULL) {
        rs->zone = tz_default();
        rs->time_zone = tz_name(rs->zone);
        return;
    }
    rs->time_zone = rl_get_str(L, n, "", "time_zone", false);
    if (rs->time_zone == NULL)
        return;
    rs->zone = tz_get(rs->time_zone, err, sizeof err);
    if (rs->zone == NULL)
        rl_ld_err(L, "time_zone", "%s", err);
}

/* schedule.courses: {"interval_days", "source"}: when a person's next
 * course may start (docs/clinical.md "Courses"). Optional: 49 days. */
static void parse_courses(ld *L, const json_t *n)
{
    const json_t *c = json_object_get(n, "courses");
    static const char *const k[] = {"interval_days", "source", "note", NULL};

    L->rs->course_interval_days = 49;
    L->rs->course_source = "PROLEUKIN legacy US label: \"Each treatment course should be "
                           "separated by a rest period of at least 7 weeks from the date of "
                           "hospital discharge\"";
    if (c == NULL)
        return;
    if (!json_is_object(c)) {
        rl_ld_err(L, "courses", "expected an object {interval_days, source}");
        return;
    }
    rl_check_keys(L, c, "courses", k);
    rl_get_int(L, c, "courses", "interval_days", true, 1, 3650, &L->rs->course_interval_days);
    L->rs->course_source = rl_get_str(L, c, "courses", "source", true);
}

/* schedule.ward_times: 1-RULES_MAX_WARD_TIMES ascending "HH:MM". */
static void parse_ward_times(ld *L, const json_t *n)
{
    rules_set *rs = L->rs;
    json_t *wt = json_object_get(n, "ward_times");
    if (!json_is_array(wt) || json_array_size(wt) == 0 ||
        json_array_size(wt) > RULES_MAX_WARD_TIMES) {
        rl_ld_err(L, "ward_times", "expected 1-%d times \"HH:MM\"", RULES_MAX_WARD_TIMES);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(wt, i, v)
        {
            int m = parse_hhmm(json_string_value(v));
            char p[64];
            snprintf(p, sizeof p, "ward_times[%zu]", i);
            if (m < 0)
                rl_ld_err(L, p, "expected \"HH:MM\"");
            else if (i > 0 && m <= rs->ward_minutes[i - 1])
                rl_ld_err(L, p, "ward times must be ascending");
            rs->ward_minutes[i] = m;
        }
        rs->n_ward_times = json_array_size(wt);
    }
}

void rl_parse_schedule(ld *L, const json_t *doc)
{
    json_t *n = json_object_get(doc, "schedule");
    rules_set *rs = L->rs;
    L->where[0] = '\0';
    if (!json_is_object(n)) {
        rl_ld_err(L, "schedule", "expected an object");
        return;
    }
    rl_set_where(L, "schedule", NULL);
    static const char *const k[] = {"time_zone",
                                    "utc_offset_minutes",
                                    "courses",
                                    "ward_times",
                                    "interval_hours",
                                    "cycles",
                                    "max_doses_per_cycle",
                                    "max_doses_per_course",
                                    "make_up_held_doses",
                                    "source",
                                    "note",
                                    NULL};
    rl_check_keys(L, n, "", k);
    parse_zone(L, n);
    parse_courses(L, n);
    rl_get_int(L, n, "", "interval_hours", true, 1, 24, &rs->interval_hours);
    rl_get_int(L, n, "", "max_doses_per_cycle", true, 1, 100, &rs->max_per_cycle);
    rl_get_int(L, n, "", "max_doses_per_course", true, 1, 1000, &rs->max_per_course);
    rs->schedule_source = rl_get_str(L, n, "", "source", true);
    json_t *mk = json_object_get(n, "make_up_held_doses");
    if (mk != NULL && !json_is_false(mk))
        rl_ld_err(L, "make_up_held_doses", "only false is supported: held doses are not made up");
    parse_ward_times(L, n);
    json_t *cy = json_object_get(n, "cycles");
    if (!json_is_array(cy) || json_array_size(cy) == 0 || json_array_size(cy) > RULES_MAX_CYCLES) {
        rl_ld_err(L, "cycles", "expected 1-%d cycles {cycle, first_day, last_day}",
                  RULES_MAX_CYCLES);
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
                rl_ld_err(L, p, "expected an object");
                continue;
            }
            rl_check_keys(L, v, p, kc);
            rl_get_int(L, v, p, "cycle", true, 1, 100, &c->number);
            rl_get_int(L, v, p, "first_day", true, 1, 1000, &c->first_day);
            rl_get_int(L, v, p, "last_day", true, 1, 1000, &c->last_day);
            if (c->last_day < c->first_day)
                rl_ld_err(L, p, "last_day before first_day");
            if (i == 0 && c->first_day != 1)
                rl_ld_err(L, p, "the first cycle starts on day 1 (the day of the first dose)");
            if (i > 0 && c->first_day <= rs->cycles[i - 1].last_day)
                rl_ld_err(L, p, "cycles overlap or are out of order");
        }
        rs->n_cycles = json_array_size(cy);
    }
    L->where[0] = '\0';
}
