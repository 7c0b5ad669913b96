/* store_ward: the ward overview (GET /api/v1/ward, docs/api.md "Ward"), read in one
 * transaction so beds, patients, latest values and devices agree. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>

/* Used in #store_ward(). Natural bed order: B2 before B10. */
static const char SQL_WARD_BEDS[] =
    "SELECT b.id, b.label, p.id, p.name, p.mrn, p.admitted_at FROM beds b "
    "LEFT JOIN patients p ON p.bed_id = b.id AND p.status = 'admitted' "
    "ORDER BY length(b.id), b.id";
static const char SQL_WARD_LATEST[] =
    "SELECT l.patient_id, l.code, l.value_num, l.value_text, l.time_ms FROM latest l "
    "JOIN patients p ON p.id = l.patient_id WHERE p.status = 'admitted' ORDER BY l.code";
static const char SQL_WARD_DEVICES[] =
    "SELECT id, serial, bed_id, last_seen FROM devices "
    "WHERE revoked_at IS NULL AND bed_id IS NOT NULL ORDER BY id";

static int add_beds(db_conn *c, json_t *beds, json_t *by_patient, json_t *by_bed)
{
    sqlite3_stmt *st = db_prep(c, SQL_WARD_BEDS);
    char when[TIMEFMT_LEN], key[32];
    int rc;

    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *bed = json_pack("{s:s, s:s, s:n, s:{}, s:n, s:n, s:i, s:[]}", "bed",
                                db_col_text(st, 0), "label", db_col_text(st, 1), "patient",
                                "latest", "max_grade", "decision", "active_alerts", 0, "devices");
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            int64_t pid = sqlite3_column_int64(st, 2);
            json_object_set_new(
                bed, "patient",
                json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)pid, "name", db_col_text(st, 3),
                          "mrn", db_col_text(st, 4), "admitted_at",
                          timefmt_format(sqlite3_column_int64(st, 5), when, sizeof when)));
            snprintf(key, sizeof key, "%" PRId64, pid);
            json_object_set(by_patient, key, bed);
        }
        json_object_set(by_bed, db_col_text(st, 0), bed);
        json_array_append_new(beds, bed);
    }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int add_latest(db_conn *c, json_t *by_patient, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_WARD_LATEST);
    char key[32];
    int rc;

    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *bed;
        snprintf(key, sizeof key, "%" PRId64, (int64_t)sqlite3_column_int64(st, 0));
        bed = json_object_get(by_patient, key);
        if (!bed)
            continue;
        json_object_set_new(
            json_object_get(bed, "latest"), db_col_text(st, 1),
            store_obs_latest_entry(db_col_text(st, 1), sqlite3_column_type(st, 2) != SQLITE_NULL,
                                   sqlite3_column_double(st, 2),
                                   sqlite3_column_type(st, 3) != SQLITE_NULL ? db_col_text(st, 3)
                                                                             : NULL,
                                   sqlite3_column_int64(st, 4), now));
    }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int add_devices(db_conn *c, json_t *by_bed)
{
    sqlite3_stmt *st = db_prep(c, SQL_WARD_DEVICES);
    char when[TIMEFMT_LEN];
    int rc;

    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *bed = json_object_get(by_bed, db_col_text(st, 2));
        bool seen = sqlite3_column_type(st, 3) != SQLITE_NULL;
        if (!bed)
            continue;
        json_array_append_new(
            json_object_get(bed, "devices"),
            json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)sqlite3_column_int64(st, 0), "serial",
                      db_col_text(st, 1), "last_seen",
                      seen ? timefmt_format(sqlite3_column_int64(st, 3), when, sizeof when)
                           : NULL));
    }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_ward(db_conn *c, int64_t now, json_t **out)
{
    json_t *beds = json_array();
    json_t *by_patient = json_object();
    json_t *by_bed = json_object();
    char when[TIMEFMT_LEN];
    int rc = -1;

    if (db_exec(c, "BEGIN") != SQLITE_OK)
        goto out;
    if (add_beds(c, beds, by_patient, by_bed) == 0 && add_latest(c, by_patient, now) == 0 &&
        add_devices(c, by_bed) == 0)
        rc = 0;
    db_exec(c, "COMMIT");
    if (rc == 0) {
        *out = json_pack("{s:s, s:O}", "at", timefmt_format(now, when, sizeof when), "beds", beds);
    }
out:
    json_decref(beds);
    json_decref(by_patient);
    json_decref(by_bed);
    return rc;
}
