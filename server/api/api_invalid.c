/* api_invalid: readings a clinician overrules (docs/api.md "Invalid readings").
 *   POST /api/v1/readings/{id}/invalidate {"reason"}
 *        nurse: the reading (an id from GET .../readings) is marked invalid
 *        with who, when and why; it stays stored and listed on request, and
 *        no longer counts for grades, decisions, NEWS2, KDIGO, latest values
 *        or series. 200 with the reading's status; 409 when already invalid.
 *   POST /api/v1/readings/{id}/reinstate
 *        physician: undoes it; 409 when the reading is valid.
 * Both are audited ("reading.invalidated", "reading.reinstated", before and
 * after) in the transaction that changes the reading; after the commit the
 * patient's cache is rebuilt and the decision re-evaluated
 * (clinical_patient_changed) and a "reading_status" event is published. */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "events.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* What the write job leaves for the after-commit hook. */
struct invalid_ctx {
    bool invalidate;
    int64_t patient_id;
};

/* {"id", "patient_id", "code", "time", "invalid": {...} | null} */
static json_t *status_json(const store_obs_status *s)
{
    char when[TIMEFMT_LEN];

    return json_pack("{s:I, s:o, s:s, s:s, s:O?}", "id", (json_int_t)s->id, "patient_id",
                     s->patient_id ? json_integer(s->patient_id) : json_null(), "code", s->code,
                     "time", timefmt_format(s->time_ms, when, sizeof when), "invalid",
                     s->invalid ? s->invalid : json_null());
}

/* Loads reading `id` into *s and checks its state; 0 to go on, else the
 * error (recorded with req_fail) or DB_STORAGE_FAILURE. */
static int load_or_fail(db_conn *c, struct req *r, int64_t id, bool want_invalid,
                        store_obs_status *s)
{
    int rc = store_obs_invalid_get(c, id, s);

    if (rc < 0)
        return DB_STORAGE_FAILURE;
    if (rc == 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No reading %" PRId64 ".", id);
    if (!s->patient_id)
        return req_fail(r, ERR_CONFLICT, NULL,
                        "Reading %" PRId64 " is filed to no patient: it counts for nobody.", id);
    if (want_invalid && !s->invalid)
        return req_fail(r, ERR_CONFLICT, NULL,
                        "Reading %" PRId64 " is valid: there is nothing to reinstate.", id);
    if (!want_invalid && s->invalid)
        return req_fail(r, ERR_CONFLICT, NULL,
                        "Reading %" PRId64 " is already marked invalid (by %s: %s).", id,
                        body_str(s->invalid, "by", "?"), body_str(s->invalid, "reason", "?"));
    return 0;
}

static int status_apply(db_conn *c, struct req *r)
{
    struct invalid_ctx *ctx = r->ctx;
    store_obs_status s = {0};
    json_t *before = NULL;
    int64_t id = 0, now = timefmt_now_ms();
    char idbuf[24];
    int rc;

    req_param_id(r, 0, &id); /* checked by the handler */
    rc = load_or_fail(c, r, id, !ctx->invalidate, &s);
    if (rc != 0)
        goto done;
    before = status_json(&s);
    rc = ctx->invalidate
             ? store_obs_set_invalid(c, &s, &r->who, body_str(r->json, "reason", ""), now)
             : store_obs_reinstate(c, &s);
    if (rc == ERR_CONFLICT) /* changed since load_or_fail: cannot happen on the one writer */
        rc = req_fail(r, ERR_CONFLICT, NULL, "Reading %" PRId64 " changed meanwhile.", id);
    if (rc != 0)
        goto done;
    json_decref(s.invalid);
    s.invalid = NULL;
    if (store_obs_invalid_get(c, id, &s) != 1) {
        rc = DB_STORAGE_FAILURE;
        goto done;
    }
    r->out = status_json(&s);
    r->out_status = 200;
    ctx->patient_id = s.patient_id;
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    if (store_audit(c, &r->who, ctx->invalidate ? "reading.invalidated" : "reading.reinstated",
                    "reading", idbuf, before, r->out, now) != 0)
        rc = DB_STORAGE_FAILURE;
done:
    json_decref(s.invalid);
    json_decref(before);
    return rc;
}

/* On the writer thread after the commit: the worker rebuilds the patient's
 * history without (or with) the reading and re-evaluates; dashboards learn
 * of the change. */
static void status_committed(struct req *r)
{
    const struct invalid_ctx *ctx = r->ctx;

    clinical_patient_changed(ctx->patient_id);
    events_publish("reading_status", json_deep_copy(r->out));
}

static enum MHD_Result status_start(struct req *r, bool invalidate)
{
    struct invalid_ctx *ctx;
    int64_t id;

    if (req_param_id(r, 0, &id) != 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "No reading %s.", r->params[0]);
    ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    ctx->invalidate = invalidate;
    r->ctx = ctx;
    r->ctx_free = free;
    r->after_commit = status_committed;
    return req_write(r, status_apply);
}

enum MHD_Result api_invalid_invalidate(struct req *r)
{
    static const field_spec specs[] = {{"reason", F_STRING, true, false, 500}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));

    if (details)
        return reply_error(r, ERR_VALIDATION,
                           "Marking a reading invalid needs a reason, e.g. "
                           "{\"reason\": \"entered-in-error\"}.",
                           details);
    return status_start(r, true);
}

enum MHD_Result api_invalid_reinstate(struct req *r)
{
    return status_start(r, false);
}
