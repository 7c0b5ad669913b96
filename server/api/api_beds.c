/* api_beds: GET /api/v1/beds (viewer), POST /api/v1/beds (admin). */
#include "api.h"
#include "body.h"
#include "store.h"
#include "timefmt.h"

#include <ctype.h>
#include <string.h>

enum MHD_Result api_beds_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *beds = NULL;

    if (!c || store_bed_list(c, &beds) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "beds", beds));
}

/* Bed ids appear in URLs and on the wall: letters, digits, '-', '_'. */
static bool bed_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
            return false;
    return true;
}

static int beds_post_apply(db_conn *c, struct req *r)
{
    const char *id = body_str(r->json, "id", "");
    const char *label = body_str(r->json, "label", id);
    const char *location = body_str(r->json, "location", NULL);
    int64_t now = timefmt_now_ms();
    int rc = store_bed_insert(c, id, label, now);

    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "Bed %s already exists.", id);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    /* HL7: the PV1-3 location of the bed (docs/hl7.md) */
    rc = location ? store_bed_set_location(c, id, location) : 0;
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "Another bed has location %s.", location);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:s, s:s, s:n}", "id", id, "label", label, "patient_id");
    if (r->out && location)
        json_object_set_new(r->out, "location", json_string(location));
    if (!r->out || store_audit(c, &r->who, "bed.add", "bed", id, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

enum MHD_Result api_beds_post(struct req *r)
{
    static const field_spec specs[] = {
        {"id", F_STRING, true, false, 32},
        {"label", F_STRING, false, false, 64},
        {"location", F_STRING, false, true, 64},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *location = body_str(r->json, "location", NULL);

    if (!details && location && !api_location_valid(location))
        details = json_pack("[o]", reply_field_detail("location", "must be POC^ROOM^BED (PV1-3)"));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The bed is invalid.", details);
    if (!bed_id_valid(body_str(r->json, "id", "")))
        return reply_error(
            r, ERR_VALIDATION, "The bed is invalid.",
            json_pack("[o]", reply_field_detail("id", "must be 1-32 letters, digits, - or _")));
    return req_write(r, beds_post_apply);
}
