/* api_ward: GET /api/v1/ward (viewer) — every bed, its patient, the latest
 * value of each code with its age, and the freshness of its devices. */
#include "api.h"
#include "store.h"
#include "timefmt.h"

enum MHD_Result api_ward_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *ward = NULL;

    if (!c || store_ward(c, timefmt_now_ms(), &ward) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, ward);
}
