/* it_security: the defences of docs/security.md that belong to the
 * security branch, against the real daemon:
 *   - times that cannot be gamed: a device's readings are filed by where
 *     the device was at their time (the monitor moved from one bed to
 *     another), a device's readings older than the horizon are rejected
 *     item by item, staff entries have no horizon and are audited, a
 *     `given` dose is checked at its entry as well as at its time, and a
 *     dose entered later than the back-entry margin needs a physician and
 *     a reason;
 *   - the tamper-evident audit: UPDATE and DELETE refused by the database,
 *     a changed row named by `wardd audit verify`, the chain intact after
 *     concurrent writers, rows older than the chain chained at migration;
 *   - the dashboard's Content-Security-Policy and /readyz without a write. */
#include "harness.h"

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

static wd_fixture *fx(void **state)
{
    return *state;
}

/* --- helpers ----------------------------------------------------------------------------- */

/* A reading item without a message id (staff). */
static json_t *staff_item(const char *code, json_t *value, int64_t t)
{
    return wd_item(NULL, code, value, NULL, t);
}

/* Normal vitals at t (NEWS2 0 on air, alert), SpO2 as given. */
static json_t *vitals(int64_t t, double spo2)
{
    return json_pack("[o,o,o,o,o,o,o,o]", staff_item("hr", json_integer(80), t),
                     staff_item("sbp", json_integer(124), t),
                     staff_item("dbp", json_integer(76), t), staff_item("spo2", json_real(spo2), t),
                     staff_item("rr", json_integer(16), t), staff_item("temp", json_real(37.0), t),
                     staff_item("o2_flow", json_integer(0), t),
                     staff_item("consciousness", json_string("A"), t));
}

static void observe(wd_fixture *f, long long pid, json_t *items)
{
    wd_resp *r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid),
                         f->nurse, json_pack("{s:o}", "readings", items));
    WD_EXPECT(r, 201);
}

static const char *action_at(wd_fixture *f, long long pid, int64_t at)
{
    wd_resp *r =
        wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity?at=%s", pid, wd_iso(at)),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    return WD_STR(r->json, "decision.action");
}

/* The newest audit entry with this action and entity id, or NULL. */
static json_t *audit_find(wd_fixture *f, const char *action, const char *entity_id)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/audit?limit=1000", f->admin, NULL);
    json_t *e;
    size_t i;

    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "entries"), i, e)
    {
        const char *id = json_string_value(json_object_get(e, "entity_id"));
        if (strcmp(WD_STR(e, "action"), action) == 0 &&
            (!entity_id || (id && strcmp(id, entity_id) == 0)))
            return e;
    }
    return NULL;
}

/* POST /api/v1/devices with a serial of our own; returns the response. */
static wd_resp *enrol(wd_fixture *f, const char *serial, const char *bed)
{
    return wd_reqj(f->s, "POST", "/api/v1/devices", f->admin,
                   json_pack("{s:s, s:s, s:s}", "serial", serial, "model", "Monitor", "bed", bed));
}

/* `wardd audit verify` on the server's database: its exit status; *out
 * gets its stdout (a JSON line). */
static int audit_verify(wd_server *s, json_t **out)
{
    char *text = NULL;
    int rc = wd_cli(s, NULL, &text, "audit", "verify", "--db", wd_db(s), (char *)NULL);

    *out = text ? wd_keep(s, json_loads(text, 0, NULL)) : NULL;
    if (!*out)
        fail_msg("audit verify printed no JSON: %s", text ? text : "(nothing)");
    return rc;
}

/* Runs SQL on the server's database file with a connection of our own:
 * SQLITE_OK or the error code; *msg gets SQLite's message (static copy). */
static int sql_on(wd_server *s, const char *sql, char *msg, size_t len)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc = sqlite3_open_v2(wd_db(s), &db, SQLITE_OPEN_READWRITE, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    }
    if (msg)
        snprintf(msg, len, "%s", err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
}

static long long sql_count(wd_server *s, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    if (sqlite3_open_v2(wd_db(s), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* --- times that cannot be gamed ------------------------------------------------------------ */

/* A monitor moved from bed A to bed B uploads its buffer: the readings it
 * took in A go to A's patient, the ones after the move to B's. */
static void test_monitor_moved_files_by_history(void **state)
{
    wd_fixture *f = fx(state);
    const char *serial = wd_uniq(f->s, "MOVED-"), *bed_a = wd_new_bed(f), *bed_b = wd_new_bed(f);
    int64_t now = wd_now_ms();
    long long pa = wd_admit(f, bed_a, now - 3 * HOUR, NULL);
    long long pb = wd_admit(f, bed_b, now - 3 * HOUR, NULL);
    wd_resp *r = enrol(f, serial, bed_a);
    long long id;
    json_t *items, *got;

    WD_EXPECT(r, 201);
    id = WD_INT(r->json, "id");
    /* the move: revoked in A, enrolled again on B (a new token) */
    WD_EXPECT_ONE_OF(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/devices/%lld", id), f->admin, NULL), 200,
        204);
    r = enrol(f, serial, bed_b);
    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "id"), id);
    wd_sleep_ms(50);
    /* the buffer: two readings from bed A's hour, one taken in bed B */
    items = json_pack("[o,o,o]", wd_item("buf-1", "hr", json_integer(71), "/min", now - 50 * MIN),
                      wd_item("buf-2", "hr", json_integer(72), "/min", now - 40 * MIN),
                      wd_item("new-1", "hr", json_integer(99), "/min", wd_now_ms()));
    r = wd_post_readings(f->s, WD_STR(r->json, "token"), items);
    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "accepted"), 3);
    got = wd_all_readings(f->s, f->viewer, pa, "hr");
    if (json_array_size(got) != 2)
        fail_msg("bed A's patient should have the 2 readings the monitor took in A, has %zu",
                 json_array_size(got));
    assert_int_equal(WD_INT(got, "0.value"), 71);
    assert_int_equal(WD_INT(got, "1.value"), 72);
    got = wd_all_readings(f->s, f->viewer, pb, "hr");
    if (json_array_size(got) != 1)
        fail_msg("bed B's patient should have only the reading taken in B, has %zu",
                 json_array_size(got));
    assert_int_equal(WD_INT(got, "0.value"), 99);
    /* the history itself */
    assert_int_equal(sql_count(f->s, wd_path(f->s,
                                             "SELECT count(*) FROM device_beds WHERE device_id = "
                                             "%lld AND bed_id = '%s' AND to_ms IS NOT NULL",
                                             id, bed_a)),
                     1);
}

/* A device's batch with one reading older than the horizon (24 h): that
 * item alone is rejected, with too_old; the others are stored. */
static void test_device_horizon_per_item(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, bed, now - 3 * DAY, NULL);
    const char *token = wd_new_device(f, bed, NULL);
    json_t *items =
        json_pack("[o,o,o,o]", wd_item("h-1", "hr", json_integer(70), "/min", now - 25 * HOUR),
                  wd_item("h-2", "hr", json_integer(71), "/min", now - 23 * HOUR),
                  wd_item("h-3", "hr", json_integer(72), "/min", now - 2 * DAY),
                  wd_item("h-4", "hr", json_integer(73), "/min", now - MIN));
    wd_resp *r = wd_post_readings(f->s, token, items);

    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "accepted"), 2);
    assert_int_equal(json_array_size(WD_ARR(r->json, "rejected")), 2);
    assert_int_equal(WD_INT(r->json, "rejected.0.index"), 0);
    assert_string_equal(WD_STR(r->json, "rejected.0.code"), "too_old");
    assert_non_null(strstr(WD_STR(r->json, "rejected.0.message"), "horizon"));
    assert_int_equal(WD_INT(r->json, "rejected.1.index"), 2);
    assert_string_equal(WD_STR(r->json, "rejected.1.code"), "too_old");
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, pid, "hr")), 2);
    /* all of a batch too old: 422, nothing stored */
    r = wd_post_readings(
        f->s, token,
        json_pack("[o]", wd_item("h-5", "hr", json_integer(74), "/min", now - 30 * HOUR)));
    WD_EXPECT_ERR(r, 422, "no_reading_accepted");
    assert_string_equal(WD_STR(r->json, "rejected.0.code"), "too_old");
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, pid, "hr")), 2);
}

/* A nurse charts last week's outside lab results and a clinician CTCAE
 * grade: no horizon for staff, and one audit row lists the batch. */
static void test_staff_entry_no_horizon_audited(void **state)
{
    wd_fixture *f = fx(state);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 10 * DAY, NULL);
    char idbuf[32];
    json_t *items = json_pack("[o,o]", staff_item("creatinine", json_real(1.1), now - 7 * DAY),
                              staff_item("ctcae.confusion", json_integer(2), now - MIN));
    wd_resp *r = wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid),
                         f->nurse, json_pack("{s:o}", "readings", items));
    json_t *e;

    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "accepted"), 2);
    snprintf(idbuf, sizeof idbuf, "%lld", pid);
    e = audit_find(f, "observations.record", idbuf);
    if (!e)
        fail_msg("no observations.record audit row for patient %lld", pid);
    assert_string_equal(WD_STR(e, "user"), WD_NURSE);
    assert_string_equal(WD_STR(e, "entity"), "patient");
    assert_int_equal(json_array_size(WD_ARR(e, "after.readings")), 2);
    assert_string_equal(WD_STR(e, "after.readings.0.code"), "creatinine");
    assert_string_equal(WD_STR(e, "after.readings.0.time"), wd_iso(now - 7 * DAY));
    assert_string_equal(WD_STR(e, "after.readings.1.code"), "ctcae.confusion");
    assert_int_equal(WD_INT(e, "after.readings.1.value"), 2);
    assert_string_equal(WD_STR(e, "after.readings.0.outcome"), "stored");
}

/* Readings at T-10 min trigger a hold; a nurse types the dose as given at
 * T-30 min, before them, when the decision was give: the decision at entry
 * (hold) still makes it a physician's override. */
static void test_dose_checked_at_entry(void **state)
{
    wd_fixture *f = fx(state);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 2 * HOUR, NULL);
    const char *path = wd_path(f->s, "/api/v1/patients/%lld/doses", pid);
    wd_resp *r;
    json_t *e;

    observe(f, pid, vitals(now - 50 * MIN, 97));
    observe(f, pid, vitals(now - 10 * MIN, 88)); /* SpO2 < 90: hold */
    assert_string_equal(action_at(f, pid, now - 30 * MIN), "give");
    assert_string_equal(action_at(f, pid, now), "hold");
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s}", "time", wd_iso(now - 30 * MIN), "status", "given"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "when the dose is entered"));
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "physician's override"));
    /* a physician with a reason may; audited as an override with both decisions */
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s}", "time", wd_iso(now - 30 * MIN), "status", "given"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "override_reason");
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - 30 * MIN), "status", "given",
                          "override_reason", "given before the desaturation; ABG normal"));
    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "decision"), "give");
    e = audit_find(f, "dose.override", wd_path(f->s, "%lld", WD_INT(r->json, "id")));
    assert_non_null(e);
    assert_string_equal(WD_STR(e, "after.decision.action"), "give");
    assert_string_equal(WD_STR(e, "after.decision_at_entry.action"), "hold");
}

/* Entered more than 60 min after its time: a physician and a reason. */
static void test_dose_backentry(void **state)
{
    wd_fixture *f = fx(state);
    int64_t now = wd_now_ms();
    long long pid = wd_admit(f, wd_new_bed(f), now - 4 * HOUR, NULL);
    const char *path = wd_path(f->s, "/api/v1/patients/%lld/doses", pid);
    wd_resp *r;
    json_t *e;

    observe(f, pid, vitals(now - 3 * HOUR, 97));
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - 2 * HOUR), "status", "held",
                          "reason", "patient off the ward"));
    WD_EXPECT_ERR(r, 403, "forbidden");
    assert_non_null(strstr(WD_STR(r->json, "error.message"), "back-entry margin"));
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s}", "time", wd_iso(now - 2 * HOUR), "status", "held"));
    WD_EXPECT_ERR(r, 422, "validation_failed");
    assert_string_equal(WD_STR(r->json, "error.details.0.field"), "backentry_reason");
    r = wd_reqj(f->s, "POST", path, f->physician,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - 2 * HOUR), "status", "held",
                          "backentry_reason", "charted late after the emergency in bed 4"));
    WD_EXPECT(r, 201);
    e = audit_find(f, "dose.backentry", wd_path(f->s, "%lld", WD_INT(r->json, "id")));
    if (!e)
        fail_msg("no dose.backentry audit row");
    assert_true(json_is_true(wd_get(e, "after.backentry")));
    assert_string_equal(WD_STR(e, "after.backentry_reason"),
                        "charted late after the emergency in bed 4");
    assert_string_equal(WD_STR(e, "user"), WD_PHYSICIAN);
    /* within the margin a nurse records as before */
    r = wd_reqj(f->s, "POST", path, f->nurse,
                json_pack("{s:s, s:s, s:s}", "time", wd_iso(now - 30 * MIN), "status", "held",
                          "reason", "patient asleep"));
    WD_EXPECT(r, 201);
}

/* --- the audit chain --------------------------------------------------------------------- */

/* The database itself refuses to change or remove an audit row. */
static void test_audit_append_only(void **state)
{
    wd_fixture *f = fx(state);
    char msg[256];
    long long before = sql_count(f->s, "SELECT count(*) FROM audit");

    wd_new_bed(f); /* at least one audited change */
    assert_true(sql_count(f->s, "SELECT count(*) FROM audit") > before);
    assert_int_not_equal(
        sql_on(f->s, "UPDATE audit SET username = 'mallory' WHERE id = 1", msg, sizeof msg),
        SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(
        sql_on(f->s, "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)", msg, sizeof msg),
        SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(
        sql_on(f->s,
               "INSERT INTO audit (at_ms, username, action, entity) VALUES (1, 'x', 'y', 'z')", msg,
               sizeof msg),
        SQLITE_OK);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM audit WHERE username = 'mallory'"), 0);
}

/* With the triggers dropped, a row changed by hand: verify names it. */
static void test_audit_tamper_named(void **state)
{
    wd_fixture *f = wd_fixture_new();
    json_t *out = NULL;
    long long victim;
    char msg[256];

    (void)state;
    for (int i = 0; i < 5; i++)
        wd_new_bed(f);
    assert_int_equal(audit_verify(f->s, &out), 0);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(WD_INT(out, "rows"), sql_count(f->s, "SELECT count(*) FROM audit"));
    victim = sql_count(f->s, "SELECT id FROM audit WHERE action = 'bed.add' ORDER BY id LIMIT 1 "
                             "OFFSET 2");
    assert_true(victim > 0);
    assert_int_equal(sql_on(f->s,
                            wd_path(f->s,
                                    "DROP TRIGGER audit_no_update; UPDATE audit SET after = "
                                    "'{\"id\":\"B99\"}' WHERE id = %lld",
                                    victim),
                            msg, sizeof msg),
                     SQLITE_OK);
    assert_int_equal(audit_verify(f->s, &out), 1);
    assert_false(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(WD_INT(out, "first_bad_id"), victim);
    assert_int_equal(WD_INT(out, "verified"), victim - 1);
    wd_fixture_free(f);
}

/* A removed row breaks the chain at the row after it. */
static void test_audit_delete_named(void **state)
{
    wd_fixture *f = wd_fixture_new();
    json_t *out = NULL;
    long long victim;
    char msg[256];

    (void)state;
    for (int i = 0; i < 3; i++)
        wd_new_bed(f);
    victim = sql_count(f->s, "SELECT id FROM audit WHERE action = 'bed.add' ORDER BY id LIMIT 1");
    assert_int_equal(sql_on(f->s,
                            wd_path(f->s,
                                    "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = "
                                    "%lld",
                                    victim),
                            msg, sizeof msg),
                     SQLITE_OK);
    assert_int_equal(audit_verify(f->s, &out), 1);
    assert_int_equal(WD_INT(out, "first_bad_id"), victim + 1);
    wd_fixture_free(f);
}

/* Many writers at once (every write goes through the one writer thread):
 * the chain stays whole, one row per change. */
static void test_audit_chain_concurrent(void **state)
{
    wd_fixture *f = fx(state);
    enum { N = 32 };
    long statuses[N];
    long long before = sql_count(f->s, "SELECT count(*) FROM audit");
    json_t *out = NULL;
    int ok = 0;
    long long pid = wd_admit(f, wd_new_bed(f), wd_now_ms() - HOUR, NULL);
    char body[256];

    before = sql_count(f->s, "SELECT count(*) FROM audit");
    snprintf(body, sizeof body, "{\"readings\":[{\"code\":\"hr\",\"value\":80,\"time\":\"%s\"}]}",
             wd_iso(wd_now_ms() - MIN));
    wd_race(f->s, N, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid), f->nurse,
            body, statuses, NULL);
    for (int i = 0; i < N; i++)
        ok += statuses[i] == 201;
    assert_int_equal(ok, N);
    for (int i = 0; i < 8; i++)
        wd_new_bed(f);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM audit"), before + N + 8);
    assert_int_equal(audit_verify(f->s, &out), 0);
    assert_int_equal(WD_INT(out, "rows"), before + N + 8);
}

/* A database from before the chain (schema 3, audit rows without hashes)
 * is chained by the migration; verify then passes, and new rows extend it.
 * The schema-3 database is made by `wardd migrate --upto 3` and filled by
 * hand; then the server's own start migrates it. */
static void test_audit_chained_at_migration(void **state)
{
    wd_fixture *f = wd_fixture_new();
    json_t *out = NULL;
    char msg[256];
    long long rows;

    (void)state;
    wd_kill9(f->s);
    assert_int_equal(remove(wd_db(f->s)), 0);
    remove(wd_path(f->s, "%s-wal", wd_db(f->s)));
    remove(wd_path(f->s, "%s-shm", wd_db(f->s)));
    assert_int_equal(
        wd_cli(f->s, NULL, NULL, "migrate", "--db", wd_db(f->s), "--upto", "3", (char *)NULL), 0);
    assert_int_equal(sql_on(f->s,
                            "INSERT INTO beds (id, label, created_at) VALUES ('B1', 'Bed 1', 1); "
                            "INSERT INTO devices (serial, bed_id, created_at) "
                            "VALUES ('MON-OLD', 'B1', 1); "
                            "INSERT INTO audit (at_ms, username, action, entity, entity_id) VALUES "
                            "(1, 'cli', 'bed.create', 'bed', 'B1'), "
                            "(2, 'cli', 'device.create', 'device', '1'), "
                            "(3, 'cli', 'user.create', 'user', 'x')",
                            msg, sizeof msg),
                     SQLITE_OK);
    rows = sql_count(f->s, "SELECT count(*) FROM audit");
    assert_int_equal(rows, 3);
    assert_int_equal(wd_cli(f->s, NULL, NULL, "migrate", "--db", wd_db(f->s), (char *)NULL), 0);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM audit WHERE hash IS NULL"), 0);
    assert_int_equal(audit_verify(f->s, &out), 0);
    assert_int_equal(WD_INT(out, "rows"), rows);
    /* the old device got its bed history */
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM device_beds WHERE bed_id = 'B1'"), 1);
    /* the server starts on it, and a new row extends the chain */
    wd_restart(f->s);
    wd_user_add(f->s, "chain.admin", "admin", WD_PASSWORD);
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/beds", wd_login(f->s, "chain.admin", WD_PASSWORD),
                      json_pack("{s:s}", "id", "B2")),
              201);
    assert_int_equal(audit_verify(f->s, &out), 0);
    assert_true(WD_INT(out, "rows") > rows);
    wd_stop(f->s);
    f->s = NULL;
    wd_fixture_free(f);
}

/* --- headers and /readyz ------------------------------------------------------------------ */

static size_t collect_header(char *line, size_t size, size_t n, void *arg)
{
    char *all = arg;
    size_t have = strlen(all), len = size * n;

    if (have + len + 1 < 8192) {
        memcpy(all + have, line, len);
        all[have + len] = '\0';
    }
    return len;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* The response headers of GET path, lowercased. */
static void get_headers(wd_server *s, const char *path, char *out)
{
    CURL *h = curl_easy_init();
    char url[256];
    long status = 0;

    out[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", wd_port(s), path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    assert_int_equal(status, 200);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static void test_dashboard_csp(void **state)
{
    static const char *const paths[] = {"/", "/index.html", "/js/main.js", "/css/app.css"};
    static const char *const want[] = {
        "content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n",
        "x-content-type-options: nosniff\r\n",
        "referrer-policy: no-referrer\r\n",
    };
    wd_fixture *f = fx(state);
    char headers[8192];

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        get_headers(f->s, paths[i], headers);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (!strstr(headers, want[k]))
                fail_msg("GET %s lacks \"%.*s\"; its headers:\n%s", paths[i],
                         (int)strlen(want[k]) - 2, want[k], headers);
    }
}

/* The writer's job counter from /metrics. */
static long long writer_jobs(wd_server *s)
{
    wd_resp *r = wd_req(s, "GET", "/metrics", NULL, NULL);
    const char *p;

    WD_EXPECT(r, 200);
    p = strstr(r->body, "\nwardd_db_jobs_total ");
    assert_non_null(p);
    return strtoll(p + strlen("\nwardd_db_jobs_total "), NULL, 10);
}

/* 50 probes, no write job: a load balancer's poll costs no transaction. */
static void test_readyz_no_write(void **state)
{
    wd_server *s = wd_start(NULL);
    long long before;

    (void)state;
    WD_EXPECT(wd_req(s, "GET", "/readyz", NULL, NULL), 200);
    before = writer_jobs(s);
    for (int i = 0; i < 50; i++)
        WD_EXPECT(wd_req(s, "GET", "/readyz", NULL, NULL), 200);
    assert_int_equal(writer_jobs(s), before);
    wd_stop(s);
}

/* The settings are checked before anything starts: a bad value is exit 1. */
static void test_settings_checked(void **state)
{
    wd_fixture *f = fx(state);
    const char *db = wd_path(f->s, "%s/other.db", wd_dir(f->s));

    assert_int_equal(wd_cli(f->s, NULL, NULL, "serve", "--db", db, "--listen", "127.0.0.1:0",
                            "--device-reading-horizon", "0", (char *)NULL),
                     1);
    assert_int_equal(wd_cli(f->s, NULL, NULL, "serve", "--db", db, "--listen", "127.0.0.1:0",
                            "--dose-backentry-margin", "ten", (char *)NULL),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readyz_no_write),
        cmocka_unit_test(test_dashboard_csp),
        cmocka_unit_test(test_settings_checked),
        cmocka_unit_test(test_monitor_moved_files_by_history),
        cmocka_unit_test(test_device_horizon_per_item),
        cmocka_unit_test(test_staff_entry_no_horizon_audited),
        cmocka_unit_test(test_dose_checked_at_entry),
        cmocka_unit_test(test_dose_backentry),
        cmocka_unit_test(test_audit_append_only),
        cmocka_unit_test(test_audit_chain_concurrent),
        cmocka_unit_test(test_audit_tamper_named),
        cmocka_unit_test(test_audit_delete_named),
        cmocka_unit_test(test_audit_chained_at_migration),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
