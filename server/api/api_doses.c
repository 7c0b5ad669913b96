/* api_doses: dose records (docs/clinical.md "Doses").
 *   GET  /api/v1/patients/{id}/doses    viewer: {"doses": [...]} in time order
 *   POST /api/v1/patients/{id}/doses    nurse:  {time, status, reason?, override_reason?}
 *
 * Before a dose is recorded, the engine evaluates the decision at the
 * dose's time (the active rule set, readings up to that time, the doses
 * already recorded). Recording `given` while that decision is not `give`
 * (hold, discontinue, or insufficient_data: missing vitals never yield a
 * give: docs/rules.md section 5) is a physician's override: another role gets
 * 403, and a physician without a non-empty override_reason 422. Every
 * record is audited with the decision and its reasons ("dose.record", or
 * "dose.override" for an override). A second record of the same slot (same
 * patient and time) is 409. The patient's cache is rebuilt after the commit
 * (the schedule and the cycle depend on doses). */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "obs.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dose_ctx {
    int64_t patient_id;
    store_dose dose;
    char reason[512];
    char override_reason[1024];
    bool has_reason, has_override;
    bool override;    /* given against a non-give decision */
    json_t *decision; /* {"action", "reasons": [{"rule", "text", "source", "class"}]} */
};

static void dose_ctx_free(void *p)
{
    struct dose_ctx *d = p;

    if (!d)
        return;
    json_decref(d->decision);
    free(d);
}

enum MHD_Result api_doses_get(struct req *r)
{
    json_t *list = NULL;
    enum MHD_Result ret;
    int64_t id;

    if (!patient_or_reply(r, &id, &ret))
        return ret;
    if (store_dose_list(db_reader(), id, &list) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "doses", list));
}

/* The decision of an evaluation, for the audit: action and reasons. */
static json_t *decision_summary(const engine_result *res)
{
    json_t *reasons = json_array();

    for (size_t i = 0; i < res->n_reasons; i++)
        json_array_append_new(reasons,
                              json_pack("{s:s, s:s, s:s, s:s}", "rule", res->reasons[i].rule,
                                        "text", res->reasons[i].text, "source",
                                        res->reasons[i].source, "class", res->reasons[i].klass));
    return json_pack("{s:s, s:o}", "action", engine_action_name(res->action), "reasons", reasons);
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static int dose_apply(db_conn *c, struct req *r)
{
    struct dose_ctx *d = r->ctx;
    int64_t now = timefmt_now_ms(), id = 0;
    char when[TIMEFMT_LEN], idbuf[24];
    json_t *after = NULL;
    int rc = store_dose_insert(c, &d->dose, &r->who, now, &id);

    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS,
                        json_pack("[o]", reply_field_detail("time", "a dose is recorded then")),
                        "Patient %" PRId64 " already has a dose recorded at %s.", d->patient_id,
                        timefmt_format(d->dose.time_ms, when, sizeof when));
    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    if (store_dose_get(c, id, &r->out) != 1)
        return DB_STORAGE_FAILURE;
    after = json_pack("{s:O, s:O, s:b}", "dose", r->out, "decision", d->decision, "override",
                      d->override);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    rc = store_audit(c, &r->who, d->override ? "dose.override" : "dose.record", "dose", idbuf, NULL,
                     after, now);
    json_decref(after);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

static void dose_committed(struct req *r)
{
    const struct dose_ctx *d = r->ctx;

    clinical_patient_changed(d->patient_id);
}

/* Checks the body into d: true to go on, false when it replied 422. */
static bool dose_body_or_reply(struct req *r, struct dose_ctx *d, enum MHD_Result *ret)
{
    static const field_spec specs[] = {
        {"time", F_TIME, true, false, 0},
        {"status", F_STRING, true, false, 16},
        {"reason", F_STRING, false, true, 500},
        {"override_reason", F_STRING, false, true, 1000},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *status = body_str(r->json, "status", "");
    const char *reason = body_str(r->json, "reason", NULL);
    const char *override = body_str(r->json, "override_reason", NULL);

    if (!details)
        details = json_array();
    if (json_is_string(json_object_get(r->json, "status")) && strcmp(status, "given") != 0 &&
        strcmp(status, "held") != 0)
        json_array_append_new(details, reply_field_detail("status", "must be given or held"));
    if (json_is_string(json_object_get(r->json, "time")) &&
        timefmt_parse(body_str(r->json, "time", ""), &d->dose.time_ms) == 0 &&
        d->dose.time_ms > timefmt_now_ms() + OBS_FUTURE_MS)
        json_array_append_new(
            details, reply_field_detail("time", "must not be more than 5 minutes in the future"));
    if (json_array_size(details) > 0) {
        *ret = reply_error(r, ERR_VALIDATION, "The dose is invalid.", details);
        return false;
    }
    json_decref(details);
    d->dose.given = strcmp(status, "given") == 0;
    if (reason && !blank(reason)) {
        snprintf(d->reason, sizeof d->reason, "%s", reason);
        d->has_reason = true;
    }
    if (override && !blank(override)) {
        snprintf(d->override_reason, sizeof d->override_reason, "%s", override);
        d->has_override = true;
    }
    return true;
}

enum MHD_Result api_doses_post(struct req *r)
{
    struct dose_ctx *d = calloc(1, sizeof *d);
    enum MHD_Result ret = MHD_NO;
    clinical_eval ev = {0};
    const engine_reason *top;
    char when[TIMEFMT_LEN];
    db_conn *c;
    int rc;

    if (!d)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = d;
    r->ctx_free = dose_ctx_free;
    if (!patient_id_or_reply(r, &d->patient_id, &ret))
        return ret;
    if (!dose_body_or_reply(r, d, &ret))
        return ret;
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = clinical_evaluate_at(c, d->patient_id, d->dose.time_ms, &ev);
    if (rc <= 0) {
        clinical_eval_free(&ev);
        return rc == 0 ? reply_no_patient(r) : reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    if (strcmp(body_str(ev.patient, "status", ""), "admitted") != 0) {
        clinical_eval_free(&ev);
        return reply_errorf(r, ERR_NOT_ADMITTED, NULL,
                            "Patient %" PRId64 " is discharged; doses cannot be recorded.",
                            d->patient_id);
    }
    d->decision = decision_summary(ev.r);
    d->dose.decision = engine_action_name(ev.r->action);
    top = clinical_top_reason(ev.r);
    d->override = d->dose.given && ev.r->action != ENGINE_GIVE;
    if (d->override && !role_allows(r->who.role, ROLE_PHYSICIAN)) {
        ret = reply_errorf(r, ERR_FORBIDDEN, NULL,
                           "The decision at %s is %s (%s): recording the dose as given is a "
                           "physician's override; you are signed in as %s.",
                           timefmt_format(d->dose.time_ms, when, sizeof when),
                           engine_action_name(ev.r->action),
                           top ? top->text : "see the toxicity view", role_name(r->who.role));
        clinical_eval_free(&ev);
        return ret;
    }
    if (d->override && !d->has_override) {
        ret = reply_errorf(
            r, ERR_VALIDATION,
            json_pack("[o]", reply_field_detail("override_reason",
                                                "is required to give a dose against the decision")),
            "The decision at %s is %s (%s): giving the dose needs an "
            "override_reason.",
            timefmt_format(d->dose.time_ms, when, sizeof when), engine_action_name(ev.r->action),
            top ? top->text : "see the toxicity view");
        clinical_eval_free(&ev);
        return ret;
    }
    clinical_eval_free(&ev); /* d->dose.decision is a static name */
    d->dose.patient_id = d->patient_id;
    d->dose.reason = d->has_reason ? d->reason : NULL;
    d->dose.override_reason = d->has_override ? d->override_reason : NULL;
    r->after_commit = dose_committed;
    return req_write(r, dose_apply);
}
