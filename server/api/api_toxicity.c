/* api_toxicity: GET /api/v1/patients/{id}/toxicity[?at=T] (viewer)
 * (API.md "Toxicity grading and dose decision").
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

#include <inttypes.h>

enum MHD_Result api_toxicity_get(struct req *r)
{
    clinical_eval ev;
    int64_t id, at;
    db_conn *c;
    json_t *out;
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "No patient %s.", r->params[0]);
    if (req_query_time(r, "at", timefmt_now_ms(), &at) != 0)
        return reply_error(
            r, ERR_BAD_QUERY,
            "Query parameter at must be an RFC 3339 date-time with a zone, e.g. "
            "2026-11-27T14:03:05Z.",
            json_pack("[o]",
                      reply_field_detail("at", "must be an RFC 3339 date-time with a zone")));
    c = db_reader();
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = clinical_evaluate_at(c, id, at, &ev);
    if (rc <= 0) {
        clinical_eval_free(&ev);
        return rc == 0 ? reply_errorf(r, ERR_NOT_FOUND, NULL, "No patient %" PRId64 ".", id)
                       : reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    out = engine_result_to_json(ev.r);
    clinical_eval_free(&ev);
    if (!out)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return reply_json(r, 200, out);
}
