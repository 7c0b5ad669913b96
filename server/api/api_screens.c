/* api_screens: which dashboards can sound alarms, and pausing one
 * (docs/api.md "Screens", docs/dashboard.md "Alarms").
 *   POST /api/v1/screens/heartbeat      (viewer) {"screen", "sound"} -> {"screen", "paused_until"}
 *   GET  /api/v1/screens                (viewer) -> {"screens": [...], "sound": {"on", "off"}}
 *   POST /api/v1/screens/{screen}/pause (nurse, or the screen's own station) -> {"screen",
 * "paused_until"}
 *
 * Screens live in memory (screens.h); a pause is audited and announced to
 * every screen with a `sound` event (docs/events.md). */
#include "api.h"
#include "body.h"
#include "events.h"
#include "screens.h"
#include "store.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *until_json(int64_t until)
{
    char buf[TIMEFMT_LEN];

    return until ? json_string(timefmt_format(until, buf, sizeof buf)) : json_null();
}

/* --- POST /api/v1/screens/heartbeat ------------------------------------------ */

/* A station's heartbeat is its use: last_seen, and an audit row for its
 * first beat since the server started (r->ctx non-NULL), not for every beat. */
static int heartbeat_apply(db_conn *c, struct req *r)
{
    int64_t now = timefmt_now_ms();
    char id_text[24];
    json_t *after;
    int rc;

    if (store_station_touch(c, r->who.id, now) != 0)
        return DB_STORAGE_FAILURE;
    if (!r->ctx)
        return 0;
    snprintf(id_text, sizeof id_text, "%lld", (long long)r->who.id);
    after = json_pack("{s:O}", "screen", json_object_get(r->out, "screen"));
    rc = after ? store_audit(c, &r->who, "station.connect", "station", id_text, NULL, after, now)
               : -1;
    json_decref(after);
    return rc == 0 ? 0 : DB_STORAGE_FAILURE;
}

enum MHD_Result api_screens_heartbeat(struct req *r)
{
    static const field_spec specs[] = {
        {"screen", F_STRING, true, false, SCREEN_ID_MAX},
        {"sound", F_BOOL, true, false, 0},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const char *screen = body_str(r->json, "screen", "");
    int64_t until = 0;

    if (details)
        return reply_error(r, ERR_VALIDATION, "The heartbeat is invalid.", details);
    if (!screens_id_valid(screen))
        return reply_error(
            r, ERR_VALIDATION, "The heartbeat is invalid.",
            json_pack("[o]", reply_field_detail("screen", "must be 8-64 of A-Z a-z 0-9 _ -")));
    if (screens_beat(screen, &r->who, json_is_true(json_object_get(r->json, "sound")),
                     timefmt_now_ms(), &until) != 0)
        return reply_error(r, ERR_CONFLICT, "Too many screens are open; try again later.", NULL);
    if (!r->who.station)
        return reply_json(
            r, 200, json_pack("{s:s, s:o}", "screen", screen, "paused_until", until_json(until)));
    r->out = json_pack("{s:s, s:o}", "screen", screen, "paused_until", until_json(until));
    if (screens_station_first(r->who.id))
        r->ctx = r; /* a marker, not owned: no ctx_free */
    return req_write(r, heartbeat_apply);
}

/* --- GET /api/v1/screens ----------------------------------------------------- */

enum MHD_Result api_screens_get(struct req *r)
{
    int64_t now = timefmt_now_ms();
    json_t *list = screens_list(now);
    unsigned on, off;

    if (!list)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    screens_count(now, &on, &off);
    return reply_json(
        r, 200,
        json_pack("{s:o, s:{s:i, s:i}}", "screens", list, "sound", "on", (int)on, "off", (int)off));
}

/* --- POST /api/v1/screens/{screen}/pause ------------------------------------- */

struct pause {
    char screen[SCREEN_ID_MAX + 1];
    int64_t station_id;
    int64_t until;
};

static int pause_apply(db_conn *c, struct req *r)
{
    const struct pause *p = r->ctx;
    json_t *after = json_pack("{s:s, s:o, s:o}", "screen", p->screen, "station",
                              p->station_id ? json_integer(p->station_id) : json_null(),
                              "paused_until", until_json(p->until));
    int rc = after ? store_audit(c, &r->who, "screen.pause", "screen", p->screen, NULL, after,
                                 timefmt_now_ms())
                   : -1;

    json_decref(after);
    if (rc != 0)
        return DB_STORAGE_FAILURE;
    r->out = json_pack("{s:s, s:o}", "screen", p->screen, "paused_until", until_json(p->until));
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

/* After the commit: the pause takes effect and every screen is told. */
static void paused(struct req *r)
{
    const struct pause *p = r->ctx;

    screens_pause(p->screen, p->until);
    events_publish("sound", json_pack("{s:s, s:o, s:o, s:s}", "screen", p->screen, "station",
                                      p->station_id ? json_integer(p->station_id) : json_null(),
                                      "paused_until", until_json(p->until), "by", r->who.name));
}

/* A nurse (or above) may pause any screen; a station only its own
 * (station_id < 0: not known yet, only the role is checked). */
static bool may_pause_or_reply(struct req *r, int64_t station_id, enum MHD_Result *ret)
{
    bool ok = r->who.station ? station_id < 0 || station_id == r->who.id
                             : role_allows(r->who.role, ROLE_NURSE);

    if (!ok)
        *ret = reply_error(r, ERR_FORBIDDEN,
                           r->who.station ? "A station may pause only its own sound."
                                          : "Pausing alarm sound needs a nurse.",
                           NULL);
    return ok;
}

enum MHD_Result api_screens_pause(struct req *r)
{
    const char *screen = r->params[0];
    enum MHD_Result ret;
    struct pause *p;
    int64_t station_id = 0;

    if (!may_pause_or_reply(r, -1, &ret))
        return ret;
    if (!screens_id_valid(screen) || screens_owner(screen, &station_id) != 1)
        return reply_error(r, ERR_NOT_FOUND, "No open screen with that id.", NULL);
    if (!may_pause_or_reply(r, station_id, &ret))
        return ret;
    p = calloc(1, sizeof *p);
    if (!p)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    memcpy(p->screen, screen, strlen(screen) + 1); /* valid: at most SCREEN_ID_MAX */
    p->station_id = station_id;
    p->until = timefmt_now_ms() + SCREEN_PAUSE_MS;
    r->ctx = p;
    r->ctx_free = free;
    r->after_commit = paused;
    return req_write(r, pause_apply);
}
