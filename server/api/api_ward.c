/* api_ward: GET /api/v1/ward (viewer) — every bed, its patient, the latest
 * value of each code with its age, the freshness of its devices, and the
 * clinical summary (highest current grade, decision, active alerts). */
#include "api.h"
#include "clinical.h"
#include "store.h"
#include "timefmt.h"

enum MHD_Result api_ward_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *ward = NULL;

    if (!c || store_ward(c, timefmt_now_ms(), &ward) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (clinical_ward_annotate(c, ward) != 0) { /* max_grade, decision, active_alerts */
        json_decref(ward);
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    return reply_json(r, 200, ward);
}
