/* api_devices: bedside devices and their bearer tokens (docs/api.md "Beds,
 * patients, devices"), admin only.
 *   GET    /api/v1/devices                   -> {"devices": [... with last_seen]}
 *   POST   /api/v1/devices                   {"serial", "model"?, "bed"?} -> 201 + token
 *   POST   /api/v1/devices/{id}/rotate-token -> {"id", "serial", "token"}
 *   DELETE /api/v1/devices/{id}              -> {"id", "revoked_at"}
 *
 * A token is shown once, in the reply that creates it; only its SHA-256 is
 * stored, and neither appears in the audit log. A rotated or revoked token
 * stops working with the commit: store_devices.c bumps the device
 * generation before the reply, which invalidates auth.c's token cache.
 * Enrolling the serial of a revoked device enrols it again under its old
 * id (store_device_insert); an active serial is a 409. */
#include "api.h"
#include "body.h"
#include "events.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIAL_MAX 64

/* Serials are printed on labels: printable ASCII, no surrounding spaces. */
static bool serial_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SERIAL_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* Handler state: the device and the token made for it. */
struct device_token {
    int64_t id;                   /* the device (rotate, revoke) */
    char token[SECRET_TOKEN_LEN]; /* the new token (create, rotate) */
    json_t *event;                /* {"id", "serial", "bed"} for the `device` event */
};

static void device_token_free(void *p)
{
    if (p) {
        json_decref(((struct device_token *)p)->event);
        explicit_bzero(p, sizeof(struct device_token));
    }
    free(p);
}

/* The `device` event's view of a device: never its token (docs/events.md). */
static void set_event_device(struct device_token *d, const json_t *dev)
{
    json_t *bed = json_object_get(dev, "bed");

    json_decref(d->event);
    d->event = json_pack("{s:O, s:O, s:O}", "id", json_object_get(dev, "id"), "serial",
                         json_object_get(dev, "serial"), "bed", bed ? bed : json_null());
}

/* after_commit (writer thread): {"action", "device"}. */
static void publish_device(struct req *r, const char *action)
{
    const struct device_token *d = r->ctx;

    events_publish("device", json_pack("{s:s, s:O}", "action", action, "device", d->event));
}

static void created(struct req *r)
{
    publish_device(r, "create");
}

static void rotated(struct req *r)
{
    publish_device(r, "rotate");
}

static void revoked(struct req *r)
{
    publish_device(r, "revoke");
}

/* Allocates r->ctx; with_token also makes a new token. 0 or -1. */
static int device_token_create(struct req *r, bool with_token)
{
    struct device_token *d = calloc(1, sizeof *d);

    if (!d)
        return -1;
    r->ctx = d;
    r->ctx_free = device_token_free;
    return with_token ? secret_token_new(d->token, sizeof d->token) : 0;
}

/* --- GET /api/v1/devices --------------------------------------------------- */

enum MHD_Result api_devices_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *devices = NULL;

    if (!c || store_device_list(c, &devices) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "devices", devices));
}

/* --- POST /api/v1/devices -------------------------------------------------- */

static int devices_post_apply(db_conn *c, struct req *r)
{
    struct device_token *d = r->ctx;
    const char *serial = body_str(r->json, "serial", "");
    const char *model = body_str(r->json, "model", NULL);
    const char *bed = body_str(r->json, "bed", NULL);
    const char *eui64 = body_str(r->json, "eui64", NULL);
    char hash[SECRET_HASH_HEX], id_text[24];
    int64_t now = timefmt_now_ms(), id = 0;
    int rc;

    if (bed) {
        rc = store_bed_exists(c, bed);
        if (rc < 0)
            return DB_STORAGE_FAILURE;
        if (rc == 0)
            return req_fail(r, ERR_VALIDATION,
                            json_pack("[o]", reply_field_detail("bed", "is not a known bed")),
                            "There is no bed %s; add it first with POST /api/v1/beds.", bed);
    }
    secret_token_hash(d->token, hash);
    rc = store_device_insert(c, serial, model, bed, hash, now, &id);
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL,
                        "A device with serial %s is already enrolled; rotate its token or "
                        "revoke it first.",
                        serial);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    /* HL7: the EUI-64 OBX-18 names the device by (docs/hl7.md) */
    rc = eui64 ? store_device_set_eui64(c, id, eui64) : 0;
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS, NULL, "Another device has EUI-64 %s.", eui64);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    r->out = json_pack("{s:I, s:s, s:s?, s:s?}", "id", (json_int_t)id, "serial", serial, "model",
                       model, "bed", bed);
    if (r->out && eui64)
        json_object_set_new(r->out, "eui64", json_string(eui64));
    if (!r->out || store_audit(c, &r->who, "device.add", "device", id_text, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    set_event_device(d, r->out);
    /* After the audit row: the token never reaches it. */
    json_object_set_new(r->out, "token", json_string(d->token));
    r->out_status = 201;
    return 0;
}

enum MHD_Result api_devices_post(struct req *r)
{
    static const field_spec specs[] = {
        {"serial", F_STRING, true, false, SERIAL_MAX},
        {"model", F_STRING, false, true, 128},
        {"bed", F_STRING, false, true, 32},
        {"eui64", F_STRING, false, true, 16},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *eui64 = body_str(r->json, "eui64", NULL);

    if (!details && eui64 && !api_eui64_valid(eui64))
        details = json_pack("[o]", reply_field_detail("eui64", "must be 16 upper-case hex digits"));
    if (details)
        return reply_error(r, ERR_VALIDATION, "The device is invalid.", details);
    if (!serial_valid(body_str(r->json, "serial", "")))
        return reply_error(
            r, ERR_VALIDATION, "The device is invalid.",
            json_pack("[o]",
                      reply_field_detail("serial", "must be 1-64 printable ASCII "
                                                   "characters without surrounding spaces")));
    if (device_token_create(r, true) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->after_commit = created;
    return req_write(r, devices_post_apply);
}

/* --- POST /api/v1/devices/{id}/rotate-token -------------------------------- */

static int devices_rotate_apply(db_conn *c, struct req *r)
{
    struct device_token *d = r->ctx;
    char hash[SECRET_HASH_HEX], id_text[24];
    int64_t now = timefmt_now_ms();
    json_t *dev = NULL, *after;
    int rc;

    secret_token_hash(d->token, hash);
    rc = store_device_set_token(c, d->id, hash);
    if (rc == 0)
        return req_fail(r, ERR_NOT_FOUND, NULL, "No active device %lld.", (long long)d->id);
    if (rc < 0 || store_device_get(c, d->id, &dev) != 1)
        return DB_STORAGE_FAILURE;
    snprintf(id_text, sizeof id_text, "%lld", (long long)d->id);
    after = json_pack("{s:I, s:s}", "id", (json_int_t)d->id, "serial", body_str(dev, "serial", ""));
    rc = after ? store_audit(c, &r->who, "device.rotate_token", "device", id_text, NULL, after, now)
               : -1;
    json_decref(after);
    if (rc == 0)
        r->out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)d->id, "serial",
                           body_str(dev, "serial", ""), "token", d->token);
    set_event_device(d, dev);
    json_decref(dev);
    return rc == 0 && r->out ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_devices_rotate(struct req *r)
{
    int64_t id;

    if (req_param_id(r, 0, &id) != 0)
        return reply_error(r, ERR_NOT_FOUND, "No such device.", NULL);
    if (device_token_create(r, true) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    ((struct device_token *)r->ctx)->id = id;
    r->after_commit = rotated;
    return req_write(r, devices_rotate_apply);
}

/* --- DELETE /api/v1/devices/{id} ------------------------------------------- */

static int devices_delete_apply(db_conn *c, struct req *r)
{
    struct device_token *d = r->ctx;
    json_t *after = NULL;
    int64_t now = timefmt_now_ms();
    int rc = store_device_revoke(c, d->id, now);

    if (rc == 0)
        return req_fail(r, ERR_NOT_FOUND, NULL,
                        "No active device %lld (unknown or already revoked).", (long long)d->id);
    if (rc < 0 || store_device_get(c, d->id, &after) != 1)
        return DB_STORAGE_FAILURE;
    rc = audit_revoked(c, r, "device", d->id, after, now);
    set_event_device(d, after);
    json_decref(after);
    return rc;
}

enum MHD_Result api_devices_delete(struct req *r)
{
    int64_t id;

    if (req_param_id(r, 0, &id) != 0)
        return reply_error(r, ERR_NOT_FOUND, "No such device.", NULL);
    if (device_token_create(r, false) != 0)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    ((struct device_token *)r->ctx)->id = id;
    r->after_commit = revoked;
    return req_write(r, devices_delete_apply);
}
