/* api_feeds: HL7 v2 feeds and the HL7 identifiers of beds and devices
 * (docs/api.md "HL7 v2 feeds", docs/hl7.md).
 *   GET    /api/v1/feeds                (admin) feeds with counts and last error
 *   POST   /api/v1/feeds                (admin) register a sender
 *   PATCH  /api/v1/feeds/{id}           (admin) change it (or re-enable it)
 *   DELETE /api/v1/feeds/{id}           (admin) disable it
 *   PATCH  /api/v1/beds/{id}            (admin) "location": "IL2U^101^1" | null, "label"
 *   GET    /api/v1/bed-locations        (admin) the bed-location map
 *   PATCH  /api/v1/devices/{id}         (admin) "eui64": "0019C0FFFE001011" | null
 *   GET    /api/v1/technical-alerts     (viewer) identity mismatches and the like
 *   POST   /api/v1/technical-alerts/{id}/resolve  (nurse) {"note"}: dealt with
 * Every change is audited. */
#include "api.h"
#include "events.h"
#include "body.h"
#include "store.h"
#include "timefmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void id_text(int64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "%lld", (long long)id);
}

enum MHD_Result api_feeds_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *feeds = NULL;

    if (!c || store_feed_list(c, &feeds) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "feeds", feeds));
}

static bool address_valid(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Fingerprints: 64 hex digits (SHA-256), colons allowed between pairs. */
static bool fingerprint_valid(const char *s)
{
    size_t hex = 0;

    for (; *s; s++) {
        if (isxdigit((unsigned char)*s))
            hex++;
        else if (*s != ':')
            return false;
    }
    return hex == 64;
}

/* The feed-specific checks body_check cannot express; adds details. */
static void check_feed(const json_t *b, json_t *details)
{
    const json_t *kind = json_object_get(b, "kind");
    const json_t *addr = json_object_get(b, "addresses");
    const json_t *fp = json_object_get(b, "tls_fingerprint");
    const json_t *a;
    size_t i;

    if (json_is_string(kind) && strcmp(json_string_value(kind), "adt") != 0 &&
        strcmp(json_string_value(kind), "device_gateway") != 0)
        json_array_append_new(details, reply_field_detail("kind", "must be adt or device_gateway"));
    json_array_foreach(addr, i, a)
    {
        if (!json_is_string(a) || !address_valid(json_string_value(a))) {
            json_array_append_new(
                details, reply_field_detail("addresses", "must be a list of IP addresses"));
            break;
        }
    }
    if (json_is_string(fp) && !fingerprint_valid(json_string_value(fp)))
        json_array_append_new(
            details, reply_field_detail("tls_fingerprint", "must be a SHA-256 fingerprint in hex"));
}

/* true to go on, false when it replied 422. */
static bool feed_body_or_reply(struct req *r, bool create, enum MHD_Result *ret)
{
    const field_spec specs[] = {
        {"name", F_STRING, create, false, 64},
        {"kind", F_STRING, create, false, 32},
        {"sending_application", F_STRING, create, false, 180},
        {"sending_facility", F_STRING, false, false, 180},
        {"addresses", F_ARRAY, create, false, 0},
        {"tls_fingerprint", F_STRING, false, true, 128},
        {"enabled", F_BOOL, false, false, 0},
    };
    const json_t *fac = json_object_get(r->json, "sending_facility");
    /* MSH-4 may be empty (many device gateways send none): "" is allowed,
     * so it is checked on a copy without it. */
    json_t *copy = json_copy(r->json), *details;

    if (json_is_string(fac) && json_string_value(fac)[0] == '\0')
        json_object_del(copy, "sending_facility");
    details = body_check(copy, specs, create ? 6 : 7);
    json_decref(copy);

    if (!details)
        details = json_array();
    if (!create && json_object_get(r->json, "kind"))
        json_array_append_new(details, reply_field_detail("kind", "cannot be changed"));
    check_feed(r->json, details);
    if (json_array_size(details) == 0) {
        json_decref(details);
        return true;
    }
    *ret = reply_error(r, ERR_VALIDATION, "The feed is invalid.", details);
    return false;
}

static int feeds_post_apply(db_conn *c, struct req *r)
{
    int64_t now = timefmt_now_ms(), id = 0;
    char idbuf[32];
    int rc = store_feed_insert(c, r->json, now, &id);

    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL,
                        "An enabled feed already has this sending application and facility.");
    if (rc != 0 || store_feed_get(c, id, &r->out) != 1)
        return DB_STORAGE_FAILURE;
    id_text(id, idbuf, sizeof idbuf);
    if (store_audit(c, &r->who, "feed.add", "feed", idbuf, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

enum MHD_Result api_feeds_post(struct req *r)
{
    enum MHD_Result ret = MHD_NO;

    if (!feed_body_or_reply(r, true, &ret))
        return ret;
    return req_write(r, feeds_post_apply);
}

/* PATCH and DELETE: the patch in r->json (DELETE: {"enabled": false}). */
static int feeds_change_apply(db_conn *c, struct req *r)
{
    int64_t now = timefmt_now_ms(), id = 0;
    json_t *before = NULL;
    char idbuf[32];
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No such feed.");
    rc = store_feed_get(c, id, &before);
    if (rc != 1)
        return rc == 0 ? req_fail(r, ERR_NOT_FOUND, NULL, "No such feed.") : DB_STORAGE_FAILURE;
    rc = store_feed_update(c, id, r->json, now);
    if (rc == ERR_ALREADY_EXISTS) {
        json_decref(before);
        return req_fail(r, ERR_ALREADY_EXISTS, NULL,
                        "An enabled feed already has this sending application and facility.");
    }
    id_text(id, idbuf, sizeof idbuf);
    if (rc != 0 || store_feed_get(c, id, &r->out) != 1 ||
        store_audit(c, &r->who, strcmp(r->method, "DELETE") == 0 ? "feed.disable" : "feed.update",
                    "feed", idbuf, before, r->out, now) != 0) {
        json_decref(before);
        return DB_STORAGE_FAILURE;
    }
    json_decref(before);
    r->out_status = 200;
    return 0;
}

enum MHD_Result api_feeds_patch(struct req *r)
{
    enum MHD_Result ret = MHD_NO;

    if (!feed_body_or_reply(r, false, &ret))
        return ret;
    return req_write(r, feeds_change_apply);
}

enum MHD_Result api_feeds_delete(struct req *r)
{
    json_decref(r->json);
    r->json = json_pack("{s:b}", "enabled", 0);
    if (!r->json)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return req_write(r, feeds_change_apply);
}

/* --- bed locations ---------------------------------------------------------------- */

/* PV1-3 components 1-3, "IL2U^101^1": printable, no other delimiters. */
bool api_location_valid(const char *s)
{
    int carets = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 64 || s[0] == '^')
        return false;
    for (; *s; s++) {
        if (*s == '^')
            carets++;
        else if (!isprint((unsigned char)*s) || strchr("|~\\&", *s))
            return false;
    }
    return carets <= 2;
}

static int bed_patch_apply(db_conn *c, struct req *r)
{
    const json_t *loc = json_object_get(r->json, "location");
    int64_t now = timefmt_now_ms();
    json_t *after;
    int rc = store_bed_set_location(c, r->params[0],
                                    json_is_string(loc) ? json_string_value(loc) : NULL);

    if (rc == ERR_NOT_FOUND)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No such bed.");
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "Another bed has location %s.",
                        json_string_value(loc));
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    after = json_pack("{s:s, s:O}", "id", r->params[0], "location", loc);
    if (!after || store_audit(c, &r->who, "bed.location", "bed", r->params[0], NULL, after, now)) {
        json_decref(after);
        return DB_STORAGE_FAILURE;
    }
    r->out = after;
    r->out_status = 200;
    return 0;
}

enum MHD_Result api_beds_patch(struct req *r)
{
    static const field_spec specs[] = {{"location", F_STRING, true, true, 64}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const json_t *loc = json_object_get(r->json, "location");

    if (!details && json_is_string(loc) && !api_location_valid(json_string_value(loc)))
        details = json_pack("[o]", reply_field_detail("location", "must be POC^ROOM^BED (PV1-3)"));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The bed location is invalid.", details);
    return req_write(r, bed_patch_apply);
}

enum MHD_Result api_bed_locations_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *beds = NULL;

    if (!c || store_bed_locations(c, &beds) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "beds", beds));
}

/* --- device EUI-64 ------------------------------------------------------------------- */

bool api_eui64_valid(const char *s)
{
    if (strlen(s) != 16)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || islower((unsigned char)*s))
            return false;
    return true;
}

static int device_patch_apply(db_conn *c, struct req *r)
{
    const json_t *eui = json_object_get(r->json, "eui64");
    int64_t now = timefmt_now_ms(), id = 0;
    char idbuf[32];
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No such device.");
    rc = store_device_set_eui64(c, id, json_is_string(eui) ? json_string_value(eui) : NULL);
    if (rc == ERR_NOT_FOUND)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No such active device.");
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "Another device has EUI-64 %s.",
                        json_string_value(eui));
    if (rc != 0 || store_device_get(c, id, &r->out) != 1)
        return DB_STORAGE_FAILURE;
    json_object_set_new(r->out, "eui64",
                        json_is_string(eui) ? json_string(json_string_value(eui)) : json_null());
    id_text(id, idbuf, sizeof idbuf);
    if (store_audit(c, &r->who, "device.eui64", "device", idbuf, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 200;
    return 0;
}

enum MHD_Result api_devices_patch(struct req *r)
{
    static const field_spec specs[] = {{"eui64", F_STRING, true, true, 16}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const json_t *eui = json_object_get(r->json, "eui64");

    if (!details && json_is_string(eui) && !api_eui64_valid(json_string_value(eui)))
        details = json_pack("[o]", reply_field_detail("eui64", "must be 16 upper-case hex digits"));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The device is invalid.", details);
    return req_write(r, device_patch_apply);
}

enum MHD_Result api_technical_alerts_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *alerts = NULL;

    if (!c || store_technical_alert_list(c, &alerts) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "alerts", alerts));
}

static int tech_resolve_apply(db_conn *c, struct req *r)
{
    int64_t id = 0, now = timefmt_now_ms();
    char idbuf[32];
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No such technical alert.");
    rc = store_technical_alert_resolve(c, id);
    if (rc < 0)
        return DB_STORAGE_FAILURE;
    if (rc == 0)
        return req_fail(r, ERR_CONFLICT, NULL, "Technical alert %lld is not active.",
                        (long long)id);
    id_text(id, idbuf, sizeof idbuf);
    r->out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "state", "resolved", "note",
                       body_str(r->json, "note", ""));
    if (!r->out || store_audit(c, &r->who, "technical_alert.resolve", "technical_alert", idbuf,
                               NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 200;
    return 0;
}

/* On the writer thread after the commit: every screen drops the line at
 * once (docs/events.md "technical_alert"). */
static void tech_resolved(struct req *r)
{
    events_publish("technical_alert",
                   json_pack("{s:O, s:s, s:O, s:s}", "id", json_object_get(r->out, "id"), "state",
                             "resolved", "note", json_object_get(r->out, "note"), "by",
                             r->who.name));
}

enum MHD_Result api_technical_alerts_resolve(struct req *r)
{
    static const field_spec specs[] = {{"note", F_STRING, false, false, 500}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));

    if (details)
        return reply_error(r, ERR_VALIDATION, "The resolution is invalid.", details);
    r->after_commit = tech_resolved;
    return req_write(r, tech_resolve_apply);
}
