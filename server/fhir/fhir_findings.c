/* fhir_findings: wardd's own findings as read-only FHIR resources
 * (docs/fhir.md "wardd's findings"):
 *   DetectedIssue/decision-{patient}   the next-dose decision (give, hold,
 *                                      discontinue, insufficient data)
 *   Observation/ctcae-{patient}-{term} a CTCAE v5.0 grade
 *   Observation/news2-{patient}        the NEWS2 total score
 * Each is the clinical engine's answer now (the toxicity view's), with
 * the readings behind it as references to their Observations. */
#include "clinical.h"
#include "engine.h"
#include "fhir.h"
#include "fhir_search.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* wardd's code systems, for what no standard terminology names exactly
 * (docs/fhir.md says why for each). */
#define CS_DECISION "urn:wardd:fhir:dose-decision"
#define CS_CTCAE    "urn:wardd:fhir:ctcae-v5-term"
#define CS_SCORE    "urn:wardd:fhir:score"

/* The engine's view of a patient now, as the toxicity route gives it.
 * 1 (*out new), 0 no such patient, -1 failure. */
static int evaluate_now(db_conn *c, int64_t patient, json_t **out)
{
    clinical_eval ev;
    int rc = clinical_evaluate_at(c, patient, timefmt_now_ms(), &ev);

    *out = NULL;
    if (rc == 1) {
        *out = engine_result_to_json(ev.r);
        if (!*out)
            rc = -1;
    }
    clinical_eval_free(&ev);
    return rc;
}

static int keep_id(void *arg, const store_obs_row *row)
{
    *(int64_t *)arg = row->id;
    return 0;
}

/* Appends {"reference": "Observation/N"} to refs for each evidence reading
 * that is a stored Observation FHIR shows (found by patient, code, time). */
static void evidence_refs(db_conn *c, int64_t patient, const json_t *evidence, json_t *refs)
{
    size_t i;
    const json_t *e;

    json_array_foreach(evidence, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "time"));
        const obs_code *oc = obs_code_lookup(json_string_value(json_object_get(e, "code")));
        store_obs_find_q q = {.patient_id = patient, .n_codes = 1, .limit = 1};
        int64_t id = 0;
        bool more;
        char ref[48];
        if (!oc || !oc->loinc || oc->kind != OBS_NUMERIC || !t || timefmt_parse(t, &q.from) != 0)
            continue;
        q.codes[0] = oc->code;
        q.to = q.from;
        if (store_obs_find(c, &q, keep_id, &id, &more) != 0 || !id)
            continue;
        snprintf(ref, sizeof ref, "Observation/%" PRId64, id);
        json_array_append_new(refs, json_pack("{s:s}", "reference", ref));
    }
}

static json_t *patient_ref(int64_t patient)
{
    char ref[40];

    snprintf(ref, sizeof ref, "Patient/%" PRId64, patient);
    return json_pack("{s:s}", "reference", ref);
}

/* --- DetectedIssue: the next-dose decision ---------------------------------- */

static const char *severity_of(const char *action)
{
    if (strcmp(action, "discontinue") == 0)
        return "high";
    if (strcmp(action, "hold") == 0)
        return "moderate";
    return "low";
}

static json_t *decision_issue(db_conn *c, int64_t patient, const json_t *view)
{
    const json_t *d = json_object_get(view, "decision");
    const char *action = json_string_value(json_object_get(d, "action"));
    const char *at = json_string_value(json_object_get(view, "at"));
    json_t *refs = json_array(), *issue;
    char id[48], detail[2048] = "", title[128];
    size_t i;
    const json_t *reason;

    if (!action || !at)
        return NULL;
    json_array_foreach(json_object_get(d, "reasons"), i, reason)
    {
        size_t used = strlen(detail);
        snprintf(detail + used, sizeof detail - used, "%s%s", used ? " " : "",
                 json_string_value(json_object_get(reason, "text")));
        evidence_refs(c, patient, json_object_get(reason, "evidence"), refs);
    }
    snprintf(id, sizeof id, "decision-%" PRId64, patient);
    snprintf(title, sizeof title, "Next aldesleukin (IL-2) dose: %s", action);
    issue = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:[{s:s, s:s, s:s}], s:s}, s:s, s:o, "
                      "s:s, s:s}",
                      "resourceType", "DetectedIssue", "id", id, "meta", "versionId", "1",
                      "lastUpdated", at, "status", "final", "code", "coding", "system", CS_DECISION,
                      "code", action, "display", title, "text", title, "severity",
                      severity_of(action), "patient", patient_ref(patient), "identifiedDateTime",
                      at, "detail", detail[0] ? detail : "No rule argues against the next dose.");
    if (issue && json_array_size(refs))
        json_object_set_new(issue, "evidence", json_pack("[{s:O}]", "detail", refs));
    json_decref(refs);
    return issue;
}

/* --- Observations: CTCAE grades and NEWS2 ------------------------------------ */

static json_t *finding_obs(const char *id, int64_t patient, const char *at, json_t *code)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:[{s:[{s:s, s:s}]}], s:o, s:o, s:s, s:s}",
                     "resourceType", "Observation", "id", id, "meta", "versionId", "1",
                     "lastUpdated", at, "status", "final", "category", "coding", "system",
                     "http://terminology.hl7.org/CodeSystem/observation-category", "code", "survey",
                     "code", code, "subject", patient_ref(patient), "effectiveDateTime", at,
                     "issued", at);
}

static json_t *grade_obs(db_conn *c, int64_t patient, const json_t *view, const json_t *term)
{
    const char *name = json_string_value(json_object_get(term, "term"));
    const char *label = json_string_value(json_object_get(term, "label"));
    const json_t *grade = json_object_get(term, "grade");
    const char *at = json_string_value(json_object_get(view, "at"));
    json_t *obs, *refs = json_array();
    char id[96], text[160];

    if (!name || !at)
        return NULL;
    snprintf(id, sizeof id, "ctcae-%" PRId64 "-%s", patient, name);
    snprintf(text, sizeof text, "%s (CTCAE v5.0 grade)", label ? label : name);
    obs = finding_obs(id, patient, at,
                      json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", CS_CTCAE, "code",
                                name, "display", label ? label : name, "text", text));
    if (!obs)
        return NULL;
    if (json_is_integer(grade))
        json_object_set_new(obs, "valueInteger", json_integer(json_integer_value(grade)));
    else
        json_object_set_new(obs, "dataAbsentReason",
                            json_pack("{s:[{s:s, s:s}], s:s}", "coding", "system",
                                      "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                      "code", "not-performed", "text",
                                      "Not gradable: a required reading is missing"));
    evidence_refs(c, patient, json_object_get(term, "evidence"), refs);
    if (json_array_size(refs))
        json_object_set(obs, "derivedFrom", refs);
    json_decref(refs);
    return obs;
}

static json_t *news2_obs(int64_t patient, const json_t *view)
{
    const json_t *n = json_object_get(view, "news2");
    const json_t *score = json_object_get(n, "score");
    const char *at = json_string_value(json_object_get(view, "at"));
    char id[48];
    json_t *obs;

    if (!at)
        return NULL;
    snprintf(id, sizeof id, "news2-%" PRId64, patient);
    obs = finding_obs(id, patient, at,
                      json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", CS_SCORE, "code",
                                "news2", "display", "NEWS2 total score", "text",
                                "National Early Warning Score 2 (RCP 2017)"));
    if (!obs)
        return NULL;
    if (json_is_integer(score))
        json_object_set_new(obs, "valueInteger", json_integer(json_integer_value(score)));
    else
        json_object_set_new(obs, "dataAbsentReason",
                            json_pack("{s:[{s:s, s:s}], s:s}", "coding", "system",
                                      "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                      "code", "not-performed", "text",
                                      "Incomplete: a NEWS2 parameter has no fresh value"));
    return obs;
}

/* --- lookups ----------------------------------------------------------------- */

/* "decision-12", "news2-12", "ctcae-12-fever": kind prefix, patient, term. */
static bool finding_id(const char *s, const char *prefix, int64_t *patient, const char **term)
{
    size_t n = strlen(prefix);
    char *end;
    long long id;

    if (strncmp(s, prefix, n) != 0)
        return false;
    id = strtoll(s + n, &end, 10);
    if (end == s + n || id <= 0)
        return false;
    *patient = id;
    *term = *end == '-' ? end + 1 : NULL;
    return *end == '\0' || *end == '-';
}

int fhir_finding_read(db_conn *c, const char *id, json_t **out)
{
    int64_t patient;
    const char *term = NULL;
    json_t *view = NULL;
    size_t i;
    const json_t *t;
    int rc;

    *out = NULL;
    if (!finding_id(id, "decision-", &patient, &term) &&
        !finding_id(id, "news2-", &patient, &term) && !finding_id(id, "ctcae-", &patient, &term))
        return 0;
    rc = evaluate_now(c, patient, &view);
    if (rc <= 0)
        return rc;
    if (strncmp(id, "decision-", 9) == 0 && !term)
        *out = decision_issue(c, patient, view);
    else if (strncmp(id, "news2-", 6) == 0 && !term)
        *out = news2_obs(patient, view);
    else if (term)
        json_array_foreach(json_object_get(view, "terms"), i, t)
        {
            if (!*out && strcmp(json_string_value(json_object_get(t, "term")), term) == 0)
                *out = grade_obs(c, patient, view, t);
        }
    json_decref(view);
    return *out ? 1 : 0;
}

static enum MHD_Result read_finding(struct req *r, const char *type)
{
    enum MHD_Result ret = MHD_NO;
    db_conn *c = db_reader();
    json_t *res = NULL;
    int rc;

    if (!fhir_format_or_reply(r, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = fhir_finding_read(c, r->params[0], &res);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0 || strcmp(json_string_value(json_object_get(res, "resourceType")), type) != 0) {
        json_decref(res);
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "%s/%s is not known here.", type, r->params[0]);
    }
    return reply_json(r, 200, res);
}

enum MHD_Result fhir_detectedissue_read(struct req *r)
{
    return read_finding(r, "DetectedIssue");
}

/* GET /fhir/DetectedIssue?patient=N: the patient's current decision. */
enum MHD_Result fhir_detectedissue_search(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_params p;
    db_conn *c = db_reader();
    json_t *bundle, *view = NULL, *res;
    int64_t patient;
    char id[48];
    int rc;

    fhir_params_read(r, &p);
    fhir_params_common(&p);
    patient = fhir_patient_ref(fhir_param(&p, "patient"));
    if (!fhir_format_or_reply(r, &ret) || !fhir_params_known_or_reply(r, &p, &ret))
        return ret;
    if (!patient) {
        fhir_issue is = {.code = "required", .expression = "patient"};
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "DetectedIssue search needs patient=Patient/{id}.");
        return fhir_reply_issue(r, 400, &is);
    }
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    bundle = fhir_searchset(r, &p, "DetectedIssue", NULL);
    rc = evaluate_now(c, patient, &view);
    if (rc < 0) {
        json_decref(bundle);
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    res = rc == 1 ? decision_issue(c, patient, view) : NULL;
    if (res) {
        snprintf(id, sizeof id, "decision-%" PRId64, patient);
        fhir_searchset_add(r, bundle, "DetectedIssue", id, res);
    }
    json_decref(view);
    return reply_json(r, 200, bundle);
}
