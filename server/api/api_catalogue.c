/* api_catalogue: GET /api/v1/catalogue (any signed-in role) — the one
 * catalogue the dashboard and integrations read instead of copying it:
 *   {"codes": [{"code", "label", "unit", "kind", "loinc"}],
 *    "baseline_keys": [{"key", "label", "unit", "min", "max"}],
 *    "limit_keys": [...same...],
 *    "ctcae_terms": [{"term", "label"}]}
 * Observation codes come from the observation catalogue (server/core/obs.c);
 * the baseline and reference-limit keys from the clinical layer (rules.h);
 * the CTCAE terms, and so the "ctcae.<term>" codes that may be posted, from
 * the active rule set. */
#include "api.h"
#include "clinical.h"
#include "obs.h"
#include "rules.h"

static const char *kind_name(obs_kind k)
{
    switch (k) {
    case OBS_NUMERIC:
        return "numeric";
    case OBS_CATEGORICAL:
        return "categorical";
    case OBS_FLAG:
        return "flag";
    case OBS_GRADE:
        return "grade";
    }
    return "?";
}

static json_t *keys_json(const rules_key_info *keys, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f, s:f}", "key", keys[i].key, "label",
                                           keys[i].label, "unit", keys[i].unit, "min", keys[i].min,
                                           "max", keys[i].max));
    return a;
}

/* Every observation code; of the grade codes, those the rule set grades. */
static json_t *codes_json(const rules_set *rs)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < obs_code_count(); i++) {
        const obs_code *c = obs_code_by_id((int)i);
        if (!c || (c->kind == OBS_GRADE &&
                   (!rs || rules_term_index(rs, c->code + sizeof "ctcae." - 1) < 0)))
            continue;
        json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "code", c->code, "label",
                                           c->label, "unit", c->unit, "kind", kind_name(c->kind),
                                           "loinc", c->loinc));
    }
    return a;
}

static json_t *terms_json(const rules_set *rs)
{
    json_t *a = json_array();

    for (size_t i = 0; a && rs && i < rs->n_terms; i++)
        if (rs->terms[i].clinician_code >= 0)
            json_array_append_new(
                a, json_pack("{s:s, s:s}", "term", rs->terms[i].id, "label", rs->terms[i].label));
    return a;
}

enum MHD_Result api_catalogue_get(struct req *r)
{
    rules_set *rs = clinical_rules();
    json_t *out =
        json_pack("{s:o, s:o, s:o, s:o}", "codes", codes_json(rs), "baseline_keys",
                  keys_json(rules_baseline_keys, RULES_BL_COUNT), "limit_keys",
                  keys_json(rules_limit_keys, RULES_LIM_COUNT), "ctcae_terms", terms_json(rs));

    rules_unref(rs);
    if (!out)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return reply_json(r, 200, out);
}
