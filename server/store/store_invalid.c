/* store_invalid: readings a clinician marks invalid and reinstates
 * (schema/migrations/0008_invalid_readings.sql, docs/api.md "Invalid
 * readings").
 *
 * A reading is never deleted: marking it invalid stores who, when and why
 * in obs_invalid, keyed by its id (migration 0010; 0008 kept them on the
 * row), and every clinical read skips it (store_clinical.c: the engine's
 * history; store_obs.c: pages, latest; store_series.c: the rollup's
 * source). The derived rows that hold it are corrected in the same
 * transaction, exactly where it counted: the patient's `latest` row of its
 * code and the one obs_rollup block (patient, code, minute) holding its
 * time are recomputed from the valid readings. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <string.h>

/* Used in #store_obs_invalid_get(). */
static const char SQL_INVALID_GET[] =
    "SELECT o.patient_id, o.code, o.time_ms, o.value_num, iv.at_ms, iv.by_name, iv.reason "
    "FROM observations o LEFT JOIN obs_invalid iv ON iv.obs_id = o.id WHERE o.id = :id";

/* Used in #store_obs_set_invalid(): only a valid row is marked (the mark
 * is a row of obs_invalid, migration 0010), so a race of two nurses
 * changes it once. */
static const char SQL_INVALID_SET[] =
    "INSERT INTO obs_invalid (obs_id, at_ms, by_name, user_id, reason) "
    "SELECT id, :at, :by, :user, :reason FROM observations WHERE id = :id "
    "ON CONFLICT (obs_id) DO NOTHING";
static const char SQL_INVALID_CLEAR[] = "DELETE FROM obs_invalid WHERE obs_id = :id";

/* Used in #rebuild_latest_code(): the newest valid reading of one code
 * (index observations_patient_code_time); ties go to the later row, as
 * store_obs_insert's upsert does. */
static const char SQL_LATEST_CODE_CLEAR[] =
    "DELETE FROM latest WHERE patient_id = :patient AND code = :code";
static const char SQL_LATEST_CODE_REBUILD[] =
    "INSERT INTO latest (patient_id, code, value_num, value_text, time_ms, obs_id) "
    "SELECT patient_id, code, value_num, value_text, time_ms, id FROM observations "
    "WHERE patient_id = :patient AND code = :code AND " STORE_OBS_VALID(
        "observations") "ORDER BY time_ms DESC, id DESC LIMIT 1";

/* Used in #rebuild_block(): one rollup block, dropped and refilled from the
 * valid readings of its minute. */
static const char SQL_BLOCK_CLEAR[] =
    "DELETE FROM obs_rollup WHERE patient_id = :patient AND code = :code AND block_ms = :block";
static const char SQL_BLOCK_SOURCE[] =
    "SELECT time_ms, value_num FROM observations WHERE patient_id = :patient AND code = :code "
    "AND time_ms BETWEEN :block AND :block + :width - 1 AND value_num IS NOT NULL "
    "AND " STORE_OBS_VALID("observations") "ORDER BY time_ms, id";

json_t *store_obs_invalid_json(sqlite3_stmt *st, int col)
{
    char when[TIMEFMT_LEN];

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s}", "by", db_col_text(st, col + 1), "at",
                     timefmt_format(sqlite3_column_int64(st, col), when, sizeof when), "reason",
                     db_col_text(st, col + 2));
}

int store_obs_invalid_get(db_conn *c, int64_t obs_id, store_obs_status *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_INVALID_GET);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":id", obs_id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = obs_id;
        out->patient_id =
            sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
        snprintf(out->code, sizeof out->code, "%s", db_col_text(st, 1));
        out->time_ms = sqlite3_column_int64(st, 2);
        out->numeric = sqlite3_column_type(st, 3) != SQLITE_NULL;
        out->invalid = store_obs_invalid_json(st, 4);
    }
    db_done(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : -1;
}

static int rebuild_latest_code(db_conn *c, int64_t patient_id, const char *code)
{
    sqlite3_stmt *st = db_prep(c, SQL_LATEST_CODE_CLEAR);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    if (db_step_done(st) != 0)
        return -1;
    st = db_prep(c, SQL_LATEST_CODE_REBUILD);
    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    return db_step_done(st);
}

static int rebuild_block(db_conn *c, int64_t patient_id, const char *code, int64_t t)
{
    int64_t r = t % STORE_SERIES_BLOCK_MS;
    int64_t block = t - (r < 0 ? r + STORE_SERIES_BLOCK_MS : r);
    sqlite3_stmt *st = db_prep(c, SQL_BLOCK_CLEAR);
    store_series_fold *f = NULL;
    int rc = SQLITE_ERROR, result = -1;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    db_bind_int64(st, ":block", block);
    if (db_step_done(st) != 0)
        return -1;
    f = store_series_fold_new();
    st = f ? db_prep(c, SQL_BLOCK_SOURCE) : NULL;
    if (!st)
        goto done;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    db_bind_int64(st, ":block", block);
    db_bind_int64(st, ":width", STORE_SERIES_BLOCK_MS);
    while ((rc = db_step(st)) == SQLITE_ROW)
        if (store_series_fold_add(c, f, patient_id, code, sqlite3_column_int64(st, 0),
                                  sqlite3_column_double(st, 1)) != 0)
            goto done;
    if (rc == SQLITE_DONE && store_series_fold_flush(c, f) == 0)
        result = 0;
done:
    db_done(st);
    store_series_fold_free(f);
    return result;
}

/* The derived rows of a filed reading after its status changed. */
static int rederive(db_conn *c, const store_obs_status *s)
{
    if (!s->patient_id)
        return 0; /* unassigned: in no latest row and no rollup */
    if (rebuild_latest_code(c, s->patient_id, s->code) != 0)
        return -1;
    return s->numeric ? rebuild_block(c, s->patient_id, s->code, s->time_ms) : 0;
}

int store_obs_set_invalid(db_conn *c, const store_obs_status *s, const principal *who,
                          const char *reason, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_INVALID_SET);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", s->id);
    db_bind_int64(st, ":at", now);
    db_bind_text(st, ":by", who->name);
    if (who->id > 0)
        db_bind_int64(st, ":user", who->id);
    db_bind_text(st, ":reason", reason);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return ERR_CONFLICT;
    return rederive(c, s);
}

int store_obs_reinstate(db_conn *c, const store_obs_status *s)
{
    sqlite3_stmt *st = db_prep(c, SQL_INVALID_CLEAR);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", s->id);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return ERR_CONFLICT;
    return rederive(c, s);
}
