/* api_toxicity: GET /api/v1/patients/{id}/toxicity[?at=T] (viewer)
 * (docs/clinical.md "The toxicity view").
 *
 * Evaluates the active rule set on the patient's readings with time <= at
 * (default now), by a full replay from the database (one read snapshot),
 * and returns the engine's toxicity object: terms (grade, since, max_grade
 * this cycle, evidence, source), the decision with its reasons, news2,
 * kdigo and schedule (shape in docs/rules.md and docs/clinical.md). The
 * live cache of the clinical worker is not used: this view is always the
 * replay, so it is also the reference the live path is checked against. */
#include "api.h"
#include "clinical.h"
#include "timefmt.h"

enum MHD_Result api_toxicity_get(struct req *r)
{
    clinical_eval ev;
    enum MHD_Result ret;
    int64_t id, at;
    db_conn *c;
    json_t *out;
    int rc;

    if (!patient_id_or_reply(r, &id, &ret))
        return ret;
    if (req_query_time(r, "at", timefmt_now_ms(), &at) != 0)
        return reply_bad_query(r, "at", "must be " REPLY_TIME_EXAMPLE);
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = clinical_evaluate_at(c, id, at, &ev);
    if (rc <= 0) {
        clinical_eval_free(&ev);
        return rc == 0 ? reply_no_patient(r) : reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    out = engine_result_to_json(ev.r);
    clinical_eval_free(&ev);
    if (!out)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return reply_json(r, 200, out);
}
