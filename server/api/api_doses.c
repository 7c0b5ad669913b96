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
 * (the schedule and the cycle depend on doses).
 *
 * Times that cannot be gamed (docs/security.md): a `given` dose is also
 * checked against the decision at the time it is entered, so a time typed
 * before the readings that triggered a hold does not skip the override;
 * and a dose timed more than the back-entry margin (dose-backentry-margin,
 * default 60 min) before its entry needs a physician and a non-empty
 * backentry_reason, audited. */
#include "api.h"
#include "app.h"
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
    char backentry_reason[1024];
    bool has_reason, has_override, has_backentry;
    bool override;             /* given against a non-give decision (at its time or at entry) */
    bool backentry;            /* timed more than the back-entry margin before its entry */
    json_t *decision;          /* {"action", "reasons": [{"rule", "text", "source", "class"}]} */
    json_t *decision_at_entry; /* the same, evaluated when the dose is entered */
    int64_t entered_ms;
};

static void dose_ctx_free(void *p)
{
    struct dose_ctx *d = p;

    if (!d)
        return;
    json_decref(d->decision);
    json_decref(d->decision_at_entry);
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
    after =
        json_pack("{s:O, s:O, s:O, s:s, s:b, s:b, s:s?}", "dose", r->out, "decision", d->decision,
                  "decision_at_entry", d->decision_at_entry ? d->decision_at_entry : json_null(),
                  "entered_at", timefmt_format(d->entered_ms, when, sizeof when), "override",
                  d->override, "backentry", d->backentry, "backentry_reason",
                  d->has_backentry ? d->backentry_reason : NULL);
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    rc = store_audit(c, &r->who,
                     d->override    ? "dose.override"
                     : d->backentry ? "dose.backentry"
                                    : "dose.record",
                     "dose", idbuf, NULL, after, now);
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
        {"backentry_reason", F_STRING, false, true, 1000},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *status = body_str(r->json, "status", "");
    const char *reason = body_str(r->json, "reason", NULL);
    const char *override = body_str(r->json, "override_reason", NULL);
    const char *late = body_str(r->json, "backentry_reason", NULL);

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
    if (late && !blank(late)) {
        snprintf(d->backentry_reason, sizeof d->backentry_reason, "%s", late);
        d->has_backentry = true;
    }
    return true;
}

/* A dose timed more than the margin before now: a physician with a
 * backentry_reason. Replies and returns false otherwise. */
static bool backentry_or_reply(struct req *r, struct dose_ctx *d, enum MHD_Result *ret)
{
    int64_t late_ms = d->entered_ms - d->dose.time_ms;
    char when[TIMEFMT_LEN];

    d->backentry = late_ms > r->app->dose_backentry_margin_ms;
    if (!d->backentry)
        return true;
    timefmt_format(d->dose.time_ms, when, sizeof when);
    if (!role_allows(r->who.role, ROLE_PHYSICIAN)) {
        *ret = reply_errorf(r, ERR_FORBIDDEN, NULL,
                            "The dose at %s is entered %lld minutes later, more than the "
                            "back-entry margin of %lld minutes: that needs a physician; you "
                            "are signed in as %s.",
                            when, (long long)(late_ms / 60000),
                            (long long)(r->app->dose_backentry_margin_ms / 60000),
                            role_name(r->who.role));
        return false;
    }
    if (!d->has_backentry) {
        *ret = reply_errorf(
            r, ERR_VALIDATION,
            json_pack("[o]", reply_field_detail("backentry_reason",
                                                "is required to enter a dose this late")),
            "The dose at %s is entered %lld minutes later, more than the back-entry margin of "
            "%lld minutes: give a backentry_reason.",
            when, (long long)(late_ms / 60000),
            (long long)(r->app->dose_backentry_margin_ms / 60000));
        return false;
    }
    return true;
}

/* The decision now, when the dose is entered after its time: a `given`
 * dose against a non-give decision at entry is an override too (readings
 * that arrived after the dose's stated time count). Replies and returns
 * false on a storage failure. */
static bool entry_decision_or_reply(struct req *r, struct dose_ctx *d, db_conn *c,
                                    enum MHD_Result *ret, engine_action *action, char *top,
                                    size_t top_len)
{
    clinical_eval ev = {0};
    const engine_reason *why;
    int rc;

    *action = ENGINE_GIVE;
    if (!d->dose.given || d->dose.time_ms >= d->entered_ms)
        return true;
    rc = clinical_evaluate_at(c, d->patient_id, d->entered_ms, &ev);
    if (rc <= 0) {
        clinical_eval_free(&ev);
        *ret = rc == 0 ? reply_no_patient(r) : reply_error(r, ERR_STORAGE, NULL, NULL);
        return false;
    }
    *action = ev.r->action;
    why = clinical_top_reason(ev.r);
    snprintf(top, top_len, "%s", why ? why->text : "see the toxicity view");
    d->decision_at_entry = decision_summary(ev.r);
    clinical_eval_free(&ev);
    return true;
}

/* A `given` dose against a non-give decision (at the dose's time, or at
 * its entry) is a physician's override with an override_reason. Replies
 * and returns false otherwise. */
static bool override_or_reply(struct req *r, struct dose_ctx *d, engine_action action,
                              const char *why, int64_t at, bool at_entry, enum MHD_Result *ret)
{
    const char *which = at_entry ? " (when the dose is entered)" : "";
    char when[TIMEFMT_LEN];

    if (!d->dose.given || action == ENGINE_GIVE)
        return true;
    d->override = true;
    timefmt_format(at, when, sizeof when);
    if (!role_allows(r->who.role, ROLE_PHYSICIAN)) {
        *ret = reply_errorf(r, ERR_FORBIDDEN, NULL,
                            "The decision at %s%s is %s (%s): recording the dose as given is a "
                            "physician's override; you are signed in as %s.",
                            when, which, engine_action_name(action), why, role_name(r->who.role));
        return false;
    }
    if (!d->has_override) {
        *ret = reply_errorf(
            r, ERR_VALIDATION,
            json_pack("[o]", reply_field_detail("override_reason",
                                                "is required to give a dose against the decision")),
            "The decision at %s%s is %s (%s): giving the dose needs an override_reason.", when,
            which, engine_action_name(action), why);
        return false;
    }
    return true;
}

enum MHD_Result api_doses_post(struct req *r)
{
    struct dose_ctx *d = calloc(1, sizeof *d);
    enum MHD_Result ret = MHD_NO;
    clinical_eval ev = {0};
    const engine_reason *top;
    engine_action entry_action = ENGINE_GIVE;
    char entry_why[256];
    db_conn *c;
    bool ok;
    int rc;

    if (!d)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = d;
    r->ctx_free = dose_ctx_free;
    if (!patient_id_or_reply(r, &d->patient_id, &ret))
        return ret;
    if (!dose_body_or_reply(r, d, &ret))
        return ret;
    d->entered_ms = timefmt_now_ms();
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (!entry_decision_or_reply(r, d, c, &ret, &entry_action, entry_why, sizeof entry_why))
        return ret;
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
    ok = override_or_reply(r, d, ev.r->action, top ? top->text : "see the toxicity view",
                           d->dose.time_ms, false, &ret) &&
         override_or_reply(r, d, entry_action, entry_why, d->entered_ms, true, &ret) &&
         backentry_or_reply(r, d, &ret);
    clinical_eval_free(&ev); /* d->dose.decision is a static name */
    if (!ok)
        return ret;
    d->dose.patient_id = d->patient_id;
    d->dose.reason = d->has_reason ? d->reason : NULL;
    d->dose.override_reason = d->has_override ? d->override_reason : NULL;
    r->after_commit = dose_committed;
    return req_write(r, dose_apply);
}
