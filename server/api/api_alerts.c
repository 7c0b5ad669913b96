/* api_alerts: alerts (docs/clinical.md "Alerts").
 *   GET  /api/v1/alerts?state=active|acknowledged|resolved|all&patient=ID&limit=N
 *        viewer: {"alerts": [...]} newest first; state defaults to active,
 *        limit to 500 (at most 1000)
 *   POST /api/v1/alerts/{id}/ack {"note"}
 *        nurse: an active alert becomes acknowledged (409 when it is not
 *        active); audited as "alert.acknowledged" with the note; published
 *        as an "alert" event. An acknowledged alert is not escalated and not
 *        raised again; it stays until its condition resolves. */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_LIMIT_DEFAULT 500
#define ALERT_LIMIT_MAX     1000

enum MHD_Result api_alerts_get(struct req *r)
{
    const char *state = req_query(r, "state");
    const char *patient = req_query(r, "patient");
    int64_t patient_id = 0;
    long limit = 0;
    json_t *out = NULL;
    db_conn *c;

    if (!state)
        state = "active";
    if (strcmp(state, "all") != 0 && alert_state_parse(state) < 0)
        return reply_bad_query(r, "state", "must be active, acknowledged, resolved or all");
    if (patient) {
        char *end = NULL;
        long long v = strtoll(patient, &end, 10);
        if (!*patient || *end || v <= 0)
            return reply_bad_query(r, "patient", "must be a patient id");
        patient_id = v;
    }
    if (req_query_int(r, "limit", ALERT_LIMIT_DEFAULT, 1, ALERT_LIMIT_MAX, &limit) != 0)
        return reply_bad_query(r, "limit", "must be an integer from 1 to 1000");
    c = db_reader();
    if (!c || store_alert_list(c, state, patient_id, (int)limit, &out) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, out);
}

static int ack_apply(db_conn *c, struct req *r)
{
    int64_t id = 0, now = timefmt_now_ms();
    json_t *before = NULL;
    char idbuf[24];
    int rc;

    req_param_id(r, 0, &id); /* checked by the handler */
    rc = store_alert_get(c, id, &before);
    if (rc <= 0)
        return rc == 0 ? req_fail(r, ERR_NOT_FOUND, NULL, "No alert %" PRId64 ".", id)
                       : DB_STORAGE_FAILURE;
    rc = store_alert_ack(c, id, &r->who, body_str(r->json, "note", ""), now);
    if (rc == ERR_CONFLICT)
        rc = req_fail(r, ERR_CONFLICT, NULL,
                      "Alert %" PRId64 " is %s, not active: only an active "
                      "alert can be acknowledged.",
                      id, body_str(before, "state", "?"));
    else if (rc == ERR_NOT_FOUND)
        rc = req_fail(r, ERR_NOT_FOUND, NULL, "No alert %" PRId64 ".", id);
    else if (rc < 0 || store_alert_get(c, id, &r->out) != 1)
        rc = DB_STORAGE_FAILURE;
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    if (rc == 0 &&
        store_audit(c, &r->who, "alert.acknowledged", "alert", idbuf, before, r->out, now) != 0)
        rc = DB_STORAGE_FAILURE;
    json_decref(before);
    return rc;
}

static void ack_committed(struct req *r)
{
    clinical_publish_alert(r->out, "acknowledged");
}

enum MHD_Result api_alerts_ack(struct req *r)
{
    static const field_spec specs[] = {{"note", F_STRING, true, false, 1000}};
    json_t *details;
    int64_t id;

    if (req_param_id(r, 0, &id) != 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "No alert %s.", r->params[0]);
    /* After the id: a 404 must not leave the details behind (a leak
     * LeakSanitizer found under tests/api/fuzz-requests.mjs). */
    details = body_check(r->json, BODY_SPECS(specs));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The acknowledgement needs a note.", details);
    r->after_commit = ack_committed;
    return req_write(r, ack_apply);
}
