/* store_obs: observations — insert (idempotent per source and message id),
 * time-ordered pages, latest values, re-filing. The bucketed series and its
 * rollup are in store_series.c. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used in #store_obs_insert(). ON CONFLICT DO NOTHING covers only the
 * unique (source, msg_id) indexes: a retried reading is a no-op. The
 * receipt time is stored after the observation time (migration 0010: a
 * few bytes instead of six). */
static const char SQL_OBS_INSERT[] =
    "INSERT INTO observations (patient_id, bed_id, code, value_num, value_text, time_ms, "
    "received_after_ms, device_id, user_id, msg_id, feed_id) VALUES (:patient, :bed, :code, :num, "
    ":text, :time, :received - :time, :device, :user, :msg, :feed) ON CONFLICT DO NOTHING";

/* Used in #store_obs_insert(): keep `latest` at the newest observation. */
static const char SQL_LATEST_UPSERT[] =
    "INSERT INTO latest (patient_id, code, value_num, value_text, time_ms, obs_id) "
    "VALUES (:patient, :code, :num, :text, :time, :obs) "
    "ON CONFLICT (patient_id, code) DO UPDATE SET value_num = excluded.value_num, "
    "value_text = excluded.value_text, time_ms = excluded.time_ms, obs_id = excluded.obs_id "
    "WHERE excluded.time_ms >= latest.time_ms";

/* Used in #store_obs_list(), with and without a code (two statements so
 * that each uses its own index). Cursor: strictly after (time, id). */
static const char SQL_OBS_PAGE_CODE[] =
    "SELECT o.id, o.code, o.value_num, o.value_text, o.time_ms, d.serial, u.username, o.feed_id, "
    "iv.at_ms, iv.by_name, iv.reason "
    "FROM observations o LEFT JOIN devices d ON d.id = o.device_id "
    "LEFT JOIN users u ON u.id = o.user_id LEFT JOIN obs_invalid iv ON iv.obs_id = o.id "
    "WHERE o.patient_id = :patient AND o.code = :code AND o.time_ms BETWEEN :from AND :to "
    "AND (:with_invalid OR iv.obs_id IS NULL) "
    "AND (o.time_ms > :after_time OR (o.time_ms = :after_time AND o.id > :after_id)) "
    "ORDER BY o.time_ms, o.id LIMIT :limit";
/* Without a code: the first :limit rows of each of the patient's codes
 * (cand), then the first :limit of those (STORE_PATIENT_CODES). */
static const char SQL_OBS_PAGE_ALL[] = STORE_PATIENT_CODES
    ", cand(id) AS (SELECT x.id FROM pc JOIN observations x ON x.id IN ("
    "SELECT s.id FROM observations s WHERE s.patient_id = :patient AND s.code = pc.code "
    "AND s.time_ms BETWEEN :from AND :to AND s.time_ms >= :after_time "
    "AND (:with_invalid OR " STORE_OBS_VALID(
        "s") ") "
             "AND (s.time_ms > :after_time OR (s.time_ms = :after_time AND s.id > :after_id)) "
             "ORDER BY s.time_ms, s.id LIMIT :limit)) "
             "SELECT o.id, o.code, o.value_num, o.value_text, o.time_ms, d.serial, u.username, "
             "o.feed_id, "
             "iv.at_ms, iv.by_name, iv.reason "
             "FROM observations o LEFT JOIN devices d ON d.id = o.device_id "
             "LEFT JOIN users u ON u.id = o.user_id LEFT JOIN obs_invalid iv ON iv.obs_id = o.id "
             "WHERE o.id IN (SELECT id FROM cand) ORDER BY o.time_ms, o.id LIMIT :limit";

/* Used in #store_obs_claim_unassigned(): device readings of the bed from :from on that
 * were filed to nobody (the bed looked empty) belong to the new occupant. */
static const char SQL_OBS_CLAIM[] =
    "UPDATE observations SET patient_id = :patient WHERE patient_id IS NULL AND bed_id = :bed "
    "AND (device_id IS NOT NULL OR feed_id IS NOT NULL) AND time_ms >= :from";

/* Used in #store_obs_release(): device readings of the bed the patient left
 * at :at, taken at or after :at, are no longer theirs. */
static const char SQL_OBS_RELEASE[] =
    STORE_PATIENT_CODES "UPDATE observations SET patient_id = NULL WHERE patient_id = :patient "
                        "AND code IN (SELECT code FROM pc) AND bed_id = :bed "
                        "AND (device_id IS NOT NULL OR feed_id IS NOT NULL) AND time_ms >= :at";

/* Used in #store_obs_rebuild_latest(): the `latest` table (newest observation per
 * code, kept by store_obs_insert) follows re-filed readings. */
static const char SQL_LATEST_CLEAR[] = "DELETE FROM latest WHERE patient_id = :patient";

/* Used in #store_obs_rebuild_latest(). Ties on time go to the later row, as
 * store_obs_insert's upsert does. */
static const char SQL_LATEST_REBUILD[] =
    "INSERT INTO latest (patient_id, code, value_num, value_text, time_ms, obs_id) "
    "SELECT patient_id, code, value_num, value_text, time_ms, id FROM ("
    "SELECT *, row_number() OVER (PARTITION BY code ORDER BY time_ms DESC, id DESC) AS rn "
    "FROM observations WHERE patient_id = :patient AND " STORE_OBS_VALID(
        "observations") ") "
                        "WHERE rn = 1";

static int bind_reading(sqlite3_stmt *st, int64_t patient_id, const obs_reading *o)
{
    if (patient_id)
        db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", o->code->code);
    if (o->code->kind == OBS_CATEGORICAL)
        db_bind_text(st, ":text", o->text);
    else
        db_bind_double(st, ":num", o->value);
    return db_bind_int64(st, ":time", o->time_ms);
}

static int upsert_latest(db_conn *c, int64_t patient_id, const obs_reading *o, int64_t obs_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_LATEST_UPSERT);
    int rc;

    if (!st)
        return -1;
    bind_reading(st, patient_id, o);
    db_bind_int64(st, ":obs", obs_id);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The row itself; 0 stored (*obs_id set), 1 duplicate, -1 failure. */
static int insert_row(db_conn *c, const obs_source *src, int64_t patient_id, const obs_reading *o,
                      int64_t received_ms, int64_t *obs_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_OBS_INSERT);
    int rc;

    if (!st)
        return -1;
    bind_reading(st, patient_id, o);
    db_bind_text(st, ":bed", src->bed);
    db_bind_int64(st, ":received", received_ms);
    if (src->device_id)
        db_bind_int64(st, ":device", src->device_id);
    if (src->user_id)
        db_bind_int64(st, ":user", src->user_id);
    if (src->feed_id)
        db_bind_int64(st, ":feed", src->feed_id);
    db_bind_text(st, ":msg", o->id[0] ? o->id : NULL);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return 1;
    *obs_id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

/* A patient's newest reading of a code in the batch so far. */
typedef struct latest_held {
    int64_t patient_id, obs_id;
    obs_reading o;
} latest_held;

struct store_obs_batch {
    store_series_fold *fold;
    int n_latest;
    latest_held latest[STORE_OBS_BATCH_LATEST];
};

store_obs_batch *store_obs_batch_new(void)
{
    store_obs_batch *b = malloc(sizeof *b);

    if (!b)
        return NULL;
    b->n_latest = 0;
    b->fold = store_series_fold_new();
    if (!b->fold) {
        free(b);
        return NULL;
    }
    return b;
}

void store_obs_batch_free(store_obs_batch *b)
{
    if (!b)
        return;
    store_series_fold_free(b->fold);
    free(b);
}

int store_obs_batch_flush(db_conn *c, store_obs_batch *b)
{
    for (int i = 0; i < b->n_latest; i++) {
        const latest_held *h = &b->latest[i];
        if (upsert_latest(c, h->patient_id, &h->o, h->obs_id) != 0)
            return -1;
    }
    b->n_latest = 0;
    return store_series_fold_flush(c, b->fold);
}

/* Holds o as the patient's newest of its code when it is (ties go to the
 * later row, as the upsert's >= does). */
static int hold_latest(db_conn *c, store_obs_batch *b, int64_t patient_id, const obs_reading *o,
                       int64_t obs_id)
{
    latest_held *h = NULL;

    for (int i = b->n_latest - 1; i >= 0 && !h; i--)
        if (b->latest[i].patient_id == patient_id && b->latest[i].o.code == o->code)
            h = &b->latest[i];
    if (h && o->time_ms < h->o.time_ms)
        return 0;
    if (!h) {
        if (b->n_latest == STORE_OBS_BATCH_LATEST && store_obs_batch_flush(c, b) != 0)
            return -1;
        h = &b->latest[b->n_latest++];
    }
    h->patient_id = patient_id;
    h->obs_id = obs_id;
    h->o = *o;
    return 0;
}

int store_obs_batch_insert(db_conn *c, store_obs_batch *b, const obs_source *src,
                           int64_t patient_id, const obs_reading *o, int64_t received_ms,
                           int64_t *obs_id)
{
    int rc = insert_row(c, src, patient_id, o, received_ms, obs_id);

    if (rc != 0)
        return rc;
    if (patient_id && hold_latest(c, b, patient_id, o, *obs_id) != 0)
        return -1;
    /* the series rollup, in the same transaction (a duplicate returned above) */
    if (patient_id && o->code->kind != OBS_CATEGORICAL &&
        store_series_fold_add(c, b->fold, patient_id, o->code->code, o->time_ms, o->value) != 0)
        return -1;
    return 0;
}

/* A batch of one (the demo seeding, the tests). */
int store_obs_insert(db_conn *c, const obs_source *src, int64_t patient_id, const obs_reading *o,
                     int64_t received_ms, int64_t *obs_id)
{
    store_obs_batch *b = store_obs_batch_new();
    int rc;

    if (!b)
        return -1;
    rc = store_obs_batch_insert(c, b, src, patient_id, o, received_ms, obs_id);
    if (rc == 0 && store_obs_batch_flush(c, b) != 0)
        rc = -1;
    store_obs_batch_free(b);
    return rc;
}

/* The stored value of row columns (num, text) as JSON for `code`. */
static json_t *value_json(const char *code, sqlite3_stmt *st, int num_col, int text_col)
{
    const obs_code *oc = obs_code_lookup(code);

    if (sqlite3_column_type(st, text_col) != SQLITE_NULL)
        return json_string(db_col_text(st, text_col));
    if (sqlite3_column_type(st, num_col) == SQLITE_NULL)
        return json_null();
    if (!oc)
        return json_real(sqlite3_column_double(st, num_col));
    return obs_value_json(oc, sqlite3_column_double(st, num_col), NULL);
}

static const char *unit_of(const char *code)
{
    const obs_code *oc = obs_code_lookup(code);

    return oc ? oc->unit : NULL;
}

int store_obs_list(db_conn *c, const obs_query *q, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, q->code ? SQL_OBS_PAGE_CODE : SQL_OBS_PAGE_ALL);
    json_t *rows = json_array();
    char when[TIMEFMT_LEN], cursor[64];
    int64_t last_time = 0, last_id = 0;
    int n = 0, rc;

    if (!st)
        goto fail;
    db_bind_int64(st, ":patient", q->patient_id);
    if (q->code)
        db_bind_text(st, ":code", q->code);
    db_bind_int64(st, ":from", q->from);
    db_bind_int64(st, ":to", q->to);
    db_bind_int64(st, ":after_time", q->has_cursor ? q->after_time : INT64_MIN);
    db_bind_int64(st, ":after_id", q->has_cursor ? q->after_id : 0);
    db_bind_int64(st, ":with_invalid", q->with_invalid ? 1 : 0);
    /* One row more than asked tells whether a next page exists. */
    db_bind_int64(st, ":limit", q->limit + 1);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        const char *code = db_col_text(st, 1);
        bool by_device = sqlite3_column_type(st, 5) != SQLITE_NULL;
        /* an HL7 feed's readings say so (docs/hl7.md), with their device if registered */
        const char *source = sqlite3_column_type(st, 7) != SQLITE_NULL ? "hl7"
                             : by_device                               ? "device"
                                                                       : "manual";
        if (n == q->limit)
            break;
        last_id = sqlite3_column_int64(st, 0);
        last_time = sqlite3_column_int64(st, 4);
        json_array_append_new(
            rows, json_pack("{s:I, s:s, s:o, s:s?, s:s, s:s, s:s?, s:s?, s:o*}", "id",
                            (json_int_t)last_id, "code", code, "value", value_json(code, st, 2, 3),
                            "unit", unit_of(code), "time",
                            timefmt_format(last_time, when, sizeof when), "source", source,
                            "device", by_device ? db_col_text(st, 5) : NULL, "entered_by",
                            sqlite3_column_type(st, 6) != SQLITE_NULL ? db_col_text(st, 6) : NULL,
                            "invalid", store_obs_invalid_json(st, 8)));
        n++;
    }
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    if (rc == SQLITE_ROW) {
        snprintf(cursor, sizeof cursor, "%" PRId64 ".%" PRId64, last_time, last_id);
        *out = json_pack("{s:o, s:s}", "readings", rows, "next", cursor);
    } else {
        *out = json_pack("{s:o, s:n}", "readings", rows, "next");
    }
    return 0;
fail:
    json_decref(rows);
    return -1;
}

/* {"value", "unit", "time", "age_s"} for one latest row. */
json_t *store_obs_latest_entry(const char *code, bool has_num, double value_num,
                               const char *value_text, int64_t time_ms, int64_t now)
{
    const obs_code *oc = obs_code_lookup(code);
    char when[TIMEFMT_LEN];
    json_t *value;

    if (value_text)
        value = json_string(value_text);
    else if (!has_num)
        value = json_null();
    else if (!oc)
        value = json_real(value_num);
    else
        value = obs_value_json(oc, value_num, NULL);
    return json_pack("{s:o, s:s?, s:s, s:I}", "value", value, "unit", unit_of(code), "time",
                     timefmt_format(time_ms, when, sizeof when), "age_s",
                     (json_int_t)((now - time_ms) / 1000));
}

/* --- re-filing after a back-dated admission or transfer ---------------------- */

/* Recomputes a patient's `latest` rows after readings moved to or from them. */
int store_obs_rebuild_latest(db_conn *c, int64_t patient_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_LATEST_CLEAR);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    if (db_step_done(st) != 0)
        return -1;
    st = db_prep(c, SQL_LATEST_REBUILD);
    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    return db_step_done(st);
}

/* Claims the unassigned device readings of `bed` from `from` on. Sets
 * *moved when any reading changed hands; the patient's series rollup
 * follows (store_series_rebuild). */
int store_obs_claim_unassigned(db_conn *c, int64_t patient_id, const char *bed, int64_t from,
                               bool *moved)
{
    sqlite3_stmt *st = db_prep(c, SQL_OBS_CLAIM);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":from", from);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return 0;
    *moved = true;
    return store_series_rebuild(c, patient_id, from);
}

/* Releases the patient's device readings of `bed` from `at` on. Sets
 * *moved when any reading changed hands; the patient's series rollup
 * follows (store_series_rebuild). */
int store_obs_release(db_conn *c, int64_t patient_id, const char *bed, int64_t at, bool *moved)
{
    sqlite3_stmt *st = db_prep(c, SQL_OBS_RELEASE);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":at", at);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return 0;
    *moved = true;
    return store_series_rebuild(c, patient_id, at);
}
