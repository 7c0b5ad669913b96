/* it_stations: wall-display stations and screens (docs/api.md "Stations",
 * "Screens"): enrol (admin only, token shown once, bad input refused with
 * nothing stored), a station token reads with viewer rights and nothing
 * more, outlives every staff session (expired sessions, a restart) and is
 * refused from the commit of its revocation; heartbeats make the ward's
 * sound state visible in GET /screens, GET /stations and /metrics; a
 * pause is audited, needs a nurse (or the station itself) and shows on
 * every screen. */
#include "harness.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

static wd_resp *enrol(wd_fixture *f, const char *token, const char *name, const char *location)
{
    json_t *body = json_pack("{s:s}", "name", name);

    if (location)
        json_object_set_new(body, "location", json_string(location));
    return wd_reqj(f->s, "POST", "/api/v1/stations", token, body);
}

/* A new station: its token, and its id in *id. */
static const char *new_station(wd_fixture *f, long long *id)
{
    wd_resp *r = enrol(f, f->admin, wd_uniq(f->s, "Wall "), "nurses' station");

    WD_EXPECT(r, 201);
    *id = WD_INT(r->json, "id");
    return WD_STR(r->json, "token");
}

static json_t *station_listed(wd_fixture *f, long long id)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/stations", f->admin, NULL);

    WD_EXPECT(r, 200);
    return wd_find_int(WD_LIST(r, "stations"), "id", id);
}

/* The newest audit entry with `action`, or NULL. */
static json_t *audited(wd_fixture *f, const char *action)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);

    WD_EXPECT(r, 200);
    return wd_find(WD_ARR(r->json, "entries"), "action", action);
}

/* Audit entries with `action` about station `id`. */
static int audit_count(wd_fixture *f, const char *action, long long id)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    char id_text[24];
    json_t *e;
    size_t i;
    int n = 0;

    WD_EXPECT(r, 200);
    snprintf(id_text, sizeof id_text, "%lld", id);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        const char *eid = json_string_value(json_object_get(e, "entity_id"));
        if (strcmp(WD_STR(e, "action"), action) == 0 && eid && strcmp(eid, id_text) == 0)
            n++;
    }
    return n;
}

static long stations_count(wd_fixture *f)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/stations", f->admin, NULL);

    WD_EXPECT(r, 200);
    return (long)json_array_size(WD_LIST(r, "stations"));
}

static wd_resp *beat(wd_fixture *f, const char *token, const char *screen, bool sound)
{
    return wd_reqj(f->s, "POST", "/api/v1/screens/heartbeat", token,
                   json_pack("{s:s, s:b}", "screen", screen, "sound", sound));
}

static void test_enrol(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "Wall ");
    wd_resp *r = enrol(f, f->admin, name, "nurses' station");
    const char *token;
    json_t *st, *a;
    long long id;

    WD_EXPECT(r, 201);
    id = WD_INT(r->json, "id");
    token = WD_STR(r->json, "token");
    if (strlen(token) < 22)
        fail_msg("station token \"%s\" is too short", token);
    assert_string_equal(WD_STR(r->json, "name"), name);
    st = station_listed(f, id);
    assert_non_null(st);
    assert_string_equal(WD_STR(st, "location"), "nurses' station");
    assert_string_equal(WD_STR(st, "created_by"), WD_ADMIN);
    assert_true(json_is_null(json_object_get(st, "last_seen")));
    assert_true(json_is_false(json_object_get(st, "can_sound")));
    /* shown once: neither the list nor the audit shows it */
    r = wd_req(f->s, "GET", "/api/v1/stations", f->admin, NULL);
    if (strstr(r->body, token))
        fail_msg("GET /api/v1/stations shows a station token");
    a = audited(f, "station.add");
    assert_non_null(a);
    assert_string_equal(WD_STR(a, "user"), WD_ADMIN);
    assert_string_equal(WD_STR(a, "after.name"), name);
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    if (strstr(r->body, token))
        fail_msg("the audit log shows a station token");
    /* an active name is taken */
    WD_EXPECT_ERR(enrol(f, f->admin, name, NULL), 409, "already_exists");
}

static void test_enrol_refused(void **state)
{
    wd_fixture *f = fx(state);
    long before = stations_count(f);
    wd_resp *r;

    /* roles: only an admin enrols or lists */
    WD_EXPECT_ERR(enrol(f, f->nurse, "Wall N", NULL), 403, "forbidden");
    WD_EXPECT_ERR(enrol(f, f->physician, "Wall P", NULL), 403, "forbidden");
    WD_EXPECT_ERR(enrol(f, f->device, "Wall D", NULL), 403, "forbidden");
    WD_EXPECT_ERR(enrol(f, NULL, "Wall X", NULL), 401, "unauthenticated");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/stations", f->viewer, NULL), 403, "forbidden");
    /* bad input: a clear error naming the field, nothing stored */
    r = wd_req(f->s, "POST", "/api/v1/stations", f->admin, "{\"location\": \"x\"}");
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "name");
    r = enrol(f, f->admin, " Wall ", NULL);
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "name");
    r = wd_req(f->s, "POST", "/api/v1/stations", f->admin, "{\"name\": \"W\", \"colour\": 1}");
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_req(f->s, "POST", "/api/v1/stations", f->admin, "{\"name\": 5}");
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_req(f->s, "POST", "/api/v1/stations", f->admin, "{\"name\": ");
    WD_EXPECT_ERR(r, 400, "malformed_json");
    assert_int_equal(stations_count(f), before);
}

/* A station reads like a viewer and may do nothing a viewer may not. */
static void test_station_rights(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_station(f, &id);
    wd_resp *r;

    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 200);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/alerts", token, NULL), 200);
    r = wd_req(f->s, "GET", "/api/v1/session", token, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "user.role"), "viewer");
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/patients", token, "{\"name\": \"X\"}"), 403,
                  "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/stations", token, NULL), 403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/alerts/1/ack", token, "{}"), 403, "forbidden");
    /* not a device either */
    WD_EXPECT_ERR(wd_post_readings(f->s, token, json_array()), 403, "forbidden");
}

/* Expires every staff session in the database (the 12 h cap reached, or
 * an idle timeout), as another process, while the server runs. */
static void expire_sessions(wd_fixture *f)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc;

    assert_int_equal(sqlite3_open(wd_db(f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 20000);
    rc = sqlite3_exec(db, "UPDATE sessions SET expires_at = 1", NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("cannot expire sessions: %s", err ? err : "?");
    sqlite3_close(db);
}

static void test_outlives_sessions_and_restart(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_station(f, &id);

    expire_sessions(f);
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/ward", f->nurse, NULL), 401, "unauthenticated");
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 200);
    WD_EXPECT(beat(f, token, "screen-restart-1", true), 200);
    /* survives a restart without anyone signing in */
    wd_restart(f->s);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 200);
    /* its first use after the restart is audited again */
    WD_EXPECT(beat(f, token, "screen-restart-1", true), 200);
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL), 401, "unauthenticated");
    wd_fixture_login(f);
    assert_int_equal(audit_count(f, "station.connect", id), 2);
}

static void test_revoke(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_station(f, &id);
    wd_resp *r;
    json_t *a;

    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 200);
    WD_EXPECT_ERR(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/stations/%lld", id), f->nurse, NULL), 403,
        "forbidden");
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 200);
    r = wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/stations/%lld", id), f->admin, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "id"), id);
    WD_TIME(r->json, "revoked_at");
    /* refused on the very next request */
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/ward", token, NULL), 401, "unauthenticated");
    a = audited(f, "station.revoke");
    assert_non_null(a);
    assert_true(json_is_null(wd_get(a, "before.revoked_at")));
    WD_TIME(a, "after.revoked_at");
    /* twice, or unknown: 404, nothing changed */
    WD_EXPECT_ERR(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/stations/%lld", id), f->admin, NULL), 404,
        "not_found");
    WD_EXPECT_ERR(wd_req(f->s, "DELETE", "/api/v1/stations/999999", f->admin, NULL), 404,
                  "not_found");
    WD_EXPECT_ERR(wd_req(f->s, "DELETE", "/api/v1/stations/abc", f->admin, NULL), 404, "not_found");
    /* the name is free again */
    WD_EXPECT(enrol(f, f->admin, WD_STR(station_listed(f, id), "name"), NULL), 201);
}

/* The `wardd_screens` gauge for sound="on" or "off". */
static long screens_metric(wd_fixture *f, const char *sound)
{
    wd_resp *r = wd_req(f->s, "GET", "/metrics", NULL, NULL);
    char key[64];
    const char *p;

    WD_EXPECT(r, 200);
    snprintf(key, sizeof key, "wardd_screens{sound=\"%s\"} ", sound);
    p = strstr(r->body, key);
    if (!p)
        fail_msg("/metrics has no %s", key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* A station follows the live events with its token (the kiosk board is
 * live), and not once it is revoked. */
static void test_station_follows_events(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_station(f, &id);
    wd_raw_req q = {.method = "GET", .path = "/api/v1/events", .token = token, .max_ms = 1500};
    wd_resp *r = wd_raw(f->s, &q);

    WD_EXPECT(r, 200);
    assert_non_null(strstr(r->content_type, "text/event-stream"));
    WD_EXPECT(wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/stations/%lld", id), f->admin, NULL),
              200);
    r = wd_raw(f->s, &q);
    WD_EXPECT_ERR(r, 401, "unauthenticated");
}

static void test_heartbeat_sound_state(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_station(f, &id);
    const char *screen = wd_uniq(f->s, "screen-wall-");
    long on = screens_metric(f, "on"), off = screens_metric(f, "off");
    json_t *st, *sc;
    wd_resp *r;

    /* a station without sound yet: counted off, listed as not sounding */
    WD_EXPECT(beat(f, token, screen, false), 200);
    /* its first use since the start is audited, once */
    WD_EXPECT(beat(f, token, screen, false), 200);
    assert_int_equal(audit_count(f, "station.connect", id), 1);
    assert_int_equal(screens_metric(f, "off"), off + 1);
    st = station_listed(f, id);
    assert_true(json_is_true(json_object_get(st, "online")));
    assert_true(json_is_false(json_object_get(st, "can_sound")));
    WD_TIME(st, "last_seen");
    /* sound enabled: counted on */
    WD_EXPECT(beat(f, token, screen, true), 200);
    assert_int_equal(screens_metric(f, "on"), on + 1);
    assert_int_equal(screens_metric(f, "off"), off);
    assert_true(json_is_true(json_object_get(station_listed(f, id), "can_sound")));
    r = wd_req(f->s, "GET", "/api/v1/screens", f->viewer, NULL);
    WD_EXPECT(r, 200);
    sc = wd_find(WD_LIST(r, "screens"), "screen", screen);
    assert_non_null(sc);
    assert_int_equal(WD_INT(sc, "station"), id);
    assert_true(json_is_true(json_object_get(sc, "can_sound")));
    /* bad heartbeats: clear errors, nothing registered */
    r = beat(f, f->viewer, "short", true);
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "screen");
    r = wd_req(f->s, "POST", "/api/v1/screens/heartbeat", f->viewer,
               "{\"screen\": \"abcdefgh12\", \"sound\": \"yes\"}");
    WD_EXPECT_ERR(r, 422, "validation_failed");
    r = wd_req(f->s, "GET", "/api/v1/screens", f->viewer, NULL);
    assert_null(wd_find(WD_LIST(r, "screens"), "screen", "abcdefgh12"));
    WD_EXPECT_ERR(beat(f, NULL, screen, true), 401, "unauthenticated");
}

static void test_pause(void **state)
{
    wd_fixture *f = fx(state);
    long long id, other_id;
    const char *token = new_station(f, &id), *other = new_station(f, &other_id);
    const char *screen = wd_uniq(f->s, "screen-pause-");
    const char *path = wd_path(f->s, "/api/v1/screens/%s/pause", screen);
    int64_t t0 = wd_now_ms(), until;
    wd_resp *r;
    json_t *a, *sc;

    WD_EXPECT(beat(f, token, screen, true), 200);
    /* a viewer may not silence a ward, nor another station */
    WD_EXPECT_ERR(wd_req(f->s, "POST", path, f->viewer, NULL), 403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", path, other, NULL), 403, "forbidden");
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/screens/nosuchscreen1/pause", f->nurse, NULL), 404,
                  "not_found");
    assert_null(audited(f, "screen.pause"));
    /* the station pauses itself: two minutes, audited as the station */
    r = wd_req(f->s, "POST", path, token, NULL);
    WD_EXPECT(r, 200);
    until = WD_TIME(r->json, "paused_until");
    if (until < t0 + 115000 || until > wd_now_ms() + 125000)
        fail_msg("a pause should last 2 minutes, not %lld ms", (long long)(until - t0));
    a = audited(f, "screen.pause");
    assert_non_null(a);
    assert_string_equal(WD_STR(a, "entity_id"), screen);
    if (!strstr(WD_STR(a, "user"), "station:"))
        fail_msg("the pause is audited as %s, not as the station", WD_STR(a, "user"));
    /* shown to every screen: listed paused, not counted as sounding */
    r = wd_req(f->s, "GET", "/api/v1/screens", f->viewer, NULL);
    sc = wd_find(WD_LIST(r, "screens"), "screen", screen);
    assert_non_null(sc);
    WD_TIME(sc, "paused_until");
    assert_true(json_is_false(json_object_get(sc, "can_sound")));
    assert_true(json_is_false(json_object_get(station_listed(f, id), "can_sound")));
    /* the next heartbeat tells the screen it is paused */
    r = beat(f, token, screen, true);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_TIME(r->json, "paused_until"), until);
    /* a nurse may pause any screen */
    WD_EXPECT(wd_req(f->s, "POST", path, f->nurse, NULL), 200);
    assert_string_equal(WD_STR(audited(f, "screen.pause"), "user"), WD_NURSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrol),
        cmocka_unit_test(test_enrol_refused),
        cmocka_unit_test(test_station_rights),
        cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_station_follows_events),
        cmocka_unit_test(test_heartbeat_sound_state),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_outlives_sessions_and_restart),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
