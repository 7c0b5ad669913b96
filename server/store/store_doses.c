/* store_doses: dose records (docs/clinical.md "Doses"). */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdlib.h>
#include <string.h>

/* Used in #store_dose_insert(). The unique (patient_id, time_ms) index
 * makes a second record of one slot a conflict. */
static const char SQL_DOSE_INSERT[] =
    "INSERT INTO doses (patient_id, time_ms, status, reason, override_reason, decision, "
    "recorded_by, user_id, created_at) VALUES (:patient, :time, :status, :reason, :override, "
    ":decision, :by, :user, :now) ON CONFLICT (patient_id, time_ms) DO NOTHING";

#define DOSE_COLS                                                                                  \
    "id, patient_id, time_ms, status, reason, override_reason, decision, recorded_by, created_at"

/* Used in #store_dose_get(). */
static const char SQL_DOSE_GET[] = "SELECT " DOSE_COLS " FROM doses WHERE id = :id";

/* Used in #store_dose_list(). */
static const char SQL_DOSE_LIST[] =
    "SELECT " DOSE_COLS " FROM doses WHERE patient_id = :patient ORDER BY time_ms, id";

/* Used in #store_dose_engine(). */
static const char SQL_DOSE_ENGINE[] =
    "SELECT time_ms, status FROM doses WHERE patient_id = :patient ORDER BY time_ms, id";

int store_dose_insert(db_conn *c, const store_dose *d, const principal *who, int64_t now,
                      int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_DOSE_INSERT);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", d->patient_id);
    db_bind_int64(st, ":time", d->time_ms);
    db_bind_text(st, ":status", d->given ? "given" : "held");
    db_bind_text(st, ":reason", d->reason);
    db_bind_text(st, ":override", d->override_reason);
    db_bind_text(st, ":decision", d->decision);
    db_bind_text(st, ":by", who ? who->name : "(command line)");
    if (who && who->id && who->role != ROLE_DEVICE)
        db_bind_int64(st, ":user", who->id);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return ERR_ALREADY_EXISTS;
    *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

static json_t *dose_row(sqlite3_stmt *st)
{
    char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "patient_id",
                     (json_int_t)sqlite3_column_int64(st, 1), "time",
                     timefmt_format(sqlite3_column_int64(st, 2), t1, sizeof t1), "status",
                     db_col_text(st, 3), "reason", db_col_json_text(st, 4), "override_reason",
                     db_col_json_text(st, 5), "decision", db_col_text(st, 6), "recorded_by",
                     db_col_text(st, 7), "created_at",
                     timefmt_format(sqlite3_column_int64(st, 8), t2, sizeof t2));
}

int store_dose_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_DOSE_GET, id, dose_row, out);
}

int store_dose_list(db_conn *c, int64_t patient_id, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_DOSE_LIST);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    return db_rows_json(st, dose_row, out);
}

static void fill_engine_dose(sqlite3_stmt *st, void *elem)
{
    engine_dose *d = elem;

    d->t_ms = sqlite3_column_int64(st, 0);
    d->given = strcmp(db_col_text(st, 1), "given") == 0;
}

int store_dose_engine(db_conn *c, int64_t patient_id, engine_dose **out, size_t *n)
{
    sqlite3_stmt *st = db_prep(c, SQL_DOSE_ENGINE);
    void *arr = NULL;
    int rc;

    if (st)
        db_bind_int64(st, ":patient", patient_id);
    rc = db_collect_rows(st, sizeof **out, fill_engine_dose, &arr, n);
    *out = arr;
    return rc;
}
