/* api_stations: wall-display stations (docs/api.md "Stations").
 *   GET    /api/v1/stations       (admin) -> {"stations": [... with last_seen, can_sound]}
 *   POST   /api/v1/stations       (admin) {"name", "location"?} -> 201 + token
 *   DELETE /api/v1/stations/{id}  (admin) -> {"id", "revoked_at"}
 *
 * A station token is shown once, in the reply that creates it; only its
 * SHA-256 is stored, and neither appears in the audit log. It works as
 * `Authorization: Bearer` with viewer rights (auth.c, store_stations.c):
 * it is not a session, so neither the session lifetime nor an idle
 * timeout ends it; revocation does, from its commit on. */
#include "api.h"
#include "body.h"
#include "screens.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATION_NAME_MAX     64
#define STATION_LOCATION_MAX 128

struct station_token {
    int64_t id;
    char token[SECRET_TOKEN_LEN];
};

static void station_token_free(void *p)
{
    if (p)
        explicit_bzero(p, sizeof(struct station_token));
    free(p);
}

static bool station_ctx_or_reply(struct req *r, bool with_token, enum MHD_Result *ret)
{
    struct station_token *s = calloc(1, sizeof *s);

    if (s) {
        r->ctx = s;
        r->ctx_free = station_token_free;
    }
    if (!s || (with_token && secret_token_new(s->token, sizeof s->token) != 0)) {
        *ret = reply_error(r, ERR_INTERNAL, NULL, NULL);
        return false;
    }
    return true;
}

/* Whether the station's screen can sound now (screens.h): "can_sound" and
 * "online" (a screen of the station sent a heartbeat lately). */
static int annotate(json_t *stations)
{
    int64_t now = timefmt_now_ms();
    size_t i;
    json_t *st;

    json_array_foreach(stations, i, st)
    {
        int s = screens_station_sound(json_integer_value(json_object_get(st, "id")), now);
        if (json_object_set_new(st, "online", json_boolean(s >= 0)) ||
            json_object_set_new(st, "can_sound", json_boolean(s == 1)))
            return -1;
    }
    return 0;
}

/* --- GET /api/v1/stations ---------------------------------------------------- */

enum MHD_Result api_stations_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *stations = NULL;

    if (!c || store_station_list(c, &stations) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (annotate(stations) != 0) {
        json_decref(stations);
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    }
    return reply_json(r, 200, json_pack("{s:o}", "stations", stations));
}

/* --- POST /api/v1/stations --------------------------------------------------- */

static int stations_post_apply(db_conn *c, struct req *r)
{
    struct station_token *s = r->ctx;
    const char *name = body_str(r->json, "name", "");
    const char *location = body_str(r->json, "location", NULL);
    char hash[SECRET_HASH_HEX], id_text[24];
    int64_t now = timefmt_now_ms(), id = 0;
    int rc;

    secret_token_hash(s->token, hash);
    rc = store_station_insert(c, name, location, hash, r->who.name, now, &id);
    if (rc == ERR_ALREADY_EXISTS)
        return req_fail(r, ERR_ALREADY_EXISTS,
                        json_pack("[o]", reply_field_detail("name", "is taken")),
                        "An active station is already named %s; revoke it or choose another "
                        "name.",
                        name);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    r->out =
        json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)id, "name", name, "location", location);
    if (!r->out ||
        store_audit(c, &r->who, "station.add", "station", id_text, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    /* After the audit row: the token never reaches it. */
    json_object_set_new(r->out, "token", json_string(s->token));
    r->out_status = 201;
    return 0;
}

/* Printable text without surrounding spaces (it is shown on the board). */
static bool label_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

enum MHD_Result api_stations_post(struct req *r)
{
    static const field_spec specs[] = {
        {"name", F_STRING, true, false, STATION_NAME_MAX},
        {"location", F_STRING, false, true, STATION_LOCATION_MAX},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *location = body_str(r->json, "location", NULL);
    enum MHD_Result ret;

    if (details)
        return reply_error(r, ERR_VALIDATION, "The station is invalid.", details);
    if (!label_valid(body_str(r->json, "name", "")) || (location && !label_valid(location)))
        return reply_error(
            r, ERR_VALIDATION, "The station is invalid.",
            json_pack("[o]", reply_field_detail(
                                 label_valid(body_str(r->json, "name", "")) ? "location" : "name",
                                 "must be printable text without surrounding "
                                 "spaces")));
    if (!station_ctx_or_reply(r, true, &ret))
        return ret;
    return req_write(r, stations_post_apply);
}

/* --- DELETE /api/v1/stations/{id} -------------------------------------------- */

static int stations_delete_apply(db_conn *c, struct req *r)
{
    const struct station_token *s = r->ctx;
    json_t *after = NULL;
    int64_t now = timefmt_now_ms();
    int rc = store_station_revoke(c, s->id, now);

    if (rc == 0)
        return req_fail(r, ERR_NOT_FOUND, NULL,
                        "No active station %lld (unknown or already revoked).", (long long)s->id);
    if (rc < 0 || store_station_get(c, s->id, &after) != 1)
        return DB_STORAGE_FAILURE;
    rc = audit_revoked(c, r, "station", s->id, after, now);
    json_decref(after);
    return rc;
}

enum MHD_Result api_stations_delete(struct req *r)
{
    enum MHD_Result ret;
    int64_t id;

    if (req_param_id(r, 0, &id) != 0)
        return reply_error(r, ERR_NOT_FOUND, "No such station.", NULL);
    if (!station_ctx_or_reply(r, false, &ret))
        return ret;
    ((struct station_token *)r->ctx)->id = id;
    return req_write(r, stations_delete_apply);
}
