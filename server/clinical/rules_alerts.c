/* rules_alerts: the optional "alerts" section of a rule set. */
#include "rules_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
    const char *s = rl_get_str(L, obj, path, key, false);
    char p[128];
    if (s == NULL)
        return;
    for (int i = allow_none ? 0 : 1; i <= RULES_PRIO_HIGH; i++)
        if (strcmp(s, prio_names[i]) == 0) {
            *out = (rules_prio)i;
            return;
        }
    rl_sub(p, sizeof p, path, key);
    rl_ld_err(L, p, "expected %s",
              allow_none ? "none, low, medium or high" : "low, medium or high");
}

/* A duration member in `unit_ms` units, in (0, max]; keeps *out when absent. */
static void get_duration(ld *L, const json_t *obj, const char *path, const char *key,
                         int64_t unit_ms, double max, int64_t *out)
{
    double v = 0;
    char p[128];
    if (!rl_get_num(L, obj, path, key, false, &v))
        return;
    if (v <= 0 || v > max) {
        rl_sub(p, sizeof p, path, key);
        rl_ld_err(L, p, "expected a number above 0 and at most %g", max);
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
        rl_ld_err(L, key, "expected an object");
        return NULL;
    }
    rl_check_keys(L, o, key, allowed);
    return o;
}

/* The section's defaults: a file without it, or with only some members,
 * is complete. */
static void alerts_defaults(ld *L, rules_alerts *al)
{
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
}

static void alerts_grade(ld *L, const json_t *a, rules_alerts *al)
{
    static const char *const kg[] = {"medium_at", "high_at", "comment", NULL};
    const json_t *g = alerts_part(L, a, "grade", kg);
    if (g == NULL)
        return;
    rl_get_int(L, g, "grade", "medium_at", false, 1, 5, &al->grade_medium_at);
    rl_get_int(L, g, "grade", "high_at", false, 1, 5, &al->grade_high_at);
    if (al->grade_medium_at > al->grade_high_at)
        rl_ld_err(L, "grade.medium_at", "must not be above grade.high_at (%d)", al->grade_high_at);
}

static void alerts_decision(ld *L, const json_t *a, rules_alerts *al)
{
    static const char *const kd[] = {"actions", "priority", "comment", NULL};
    const json_t *d = alerts_part(L, a, "decision", kd);
    if (d == NULL)
        return;
    const json_t *acts = json_object_get(d, "actions");
    if (acts != NULL && !json_is_array(acts)) {
        rl_ld_err(L, "decision.actions", "expected an array of hold, discontinue");
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
                rl_ld_err(L, p, "expected hold or discontinue");
        }
    }
    get_prio(L, d, "decision", "priority", false, &al->decision_priority);
}

static void alerts_news2(ld *L, const json_t *a, rules_alerts *al)
{
    static const char *const kn[] = {"medium_at", "high_at", "single_3", "comment", NULL};
    const json_t *n = alerts_part(L, a, "news2", kn);
    if (n == NULL)
        return;
    rl_get_int(L, n, "news2", "medium_at", false, 1, 20, &al->news2_medium_at);
    rl_get_int(L, n, "news2", "high_at", false, 1, 20, &al->news2_high_at);
    if (al->news2_medium_at > al->news2_high_at)
        rl_ld_err(L, "news2.medium_at", "must not be above news2.high_at (%d)", al->news2_high_at);
    get_prio(L, n, "news2", "single_3", true, &al->news2_single_3);
}

static void alerts_devices_and_missing(ld *L, const json_t *a, rules_alerts *al)
{
    static const char *const ks[] = {"minutes", "priority", "comment", NULL};
    const json_t *ds = alerts_part(L, a, "device_silent", ks);
    if (ds != NULL) {
        get_duration(L, ds, "device_silent", "minutes", 60000, 24 * 60, &al->device_silent_ms);
        get_prio(L, ds, "device_silent", "priority", false, &al->device_priority);
    }
    static const char *const km[] = {"codes", "hours", "priority", "comment", NULL};
    const json_t *m = alerts_part(L, a, "data_missing", km);
    if (m == NULL)
        return;
    const json_t *codes = json_object_get(m, "codes");
    if (codes != NULL && (!json_is_array(codes) || json_array_size(codes) == 0 ||
                          json_array_size(codes) > RULES_MAX_ALERT_CODES)) {
        rl_ld_err(L, "data_missing.codes", "expected 1-%d observation codes",
                  RULES_MAX_ALERT_CODES);
    } else if (codes != NULL) {
        size_t i;
        json_t *v;
        al->n_missing = 0;
        json_array_foreach(codes, i, v)
        {
            char p[64];
            snprintf(p, sizeof p, "data_missing.codes[%zu]", i);
            int id = rl_get_code(L, v, p);
            if (id >= 0)
                al->missing_codes[al->n_missing++] = id;
        }
    }
    get_duration(L, m, "data_missing", "hours", 3600000, 24 * 7, &al->missing_ms);
    get_prio(L, m, "data_missing", "priority", false, &al->missing_priority);
}

/* The optional "alerts" section (docs/rules.md 7.8). Defaults first, so a
 * file without the section, or with only some members, is complete. Reads
 * news2 and required, so it runs after those sections. */
void rl_parse_alerts(ld *L, const json_t *doc)
{
    rules_alerts *al = &L->rs->alerts;

    alerts_defaults(L, al);
    const json_t *a = json_object_get(doc, "alerts");
    L->where[0] = '\0';
    if (a == NULL)
        return;
    if (!json_is_object(a)) {
        rl_ld_err(L, "alerts", "expected an object");
        return;
    }
    rl_set_where(L, "alerts", NULL);
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
    rl_check_keys(L, a, "", k);
    al->source = rl_get_str(L, a, "", "source", true);
    alerts_grade(L, a, al);
    alerts_decision(L, a, al);
    alerts_news2(L, a, al);
    alerts_devices_and_missing(L, a, al);
    get_duration(L, a, "", "escalate_after_minutes", 60000, 24 * 60, &al->escalate_ms);
    get_duration(L, a, "", "resolve_after_minutes", 60000, 24 * 60, &al->resolve_ms);
    get_duration(L, a, "", "evaluate_every_seconds", 1000, 3600, &al->evaluate_ms);
    L->where[0] = '\0';
}
