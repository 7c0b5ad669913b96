/* store_beds: the ward's beds. */
#include "store.h"
#include "store_int.h"

/* Used in #store_bed_insert(). */
static const char SQL_BED_INSERT[] =
    "INSERT INTO beds (id, label, created_at) VALUES (:id, :label, :now) "
    "ON CONFLICT (id) DO NOTHING";

/* Used in #store_bed_exists(). */
static const char SQL_BED_EXISTS[] = "SELECT 1 FROM beds WHERE id = :id";

/* Used in #store_bed_list(). Natural order: B2 before B10. */
/* Used in #store_bed_count() (GET /readyz: the database answers a query). */
static const char SQL_BED_COUNT[] = "SELECT count(*) FROM beds";

static const char SQL_BED_LIST[] =
    "SELECT b.id, b.label, p.id FROM beds b "
    "LEFT JOIN patients p ON p.bed_id = b.id AND p.status = 'admitted' "
    "ORDER BY length(b.id), b.id";

int store_bed_insert(db_conn *c, const char *id, const char *label, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_INSERT);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":id", id);
    db_bind_text(st, ":label", label);
    db_bind_int64(st, ":now", now);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db_handle(c)) == 1 ? 0 : ERR_ALREADY_EXISTS;
}

int store_bed_exists(db_conn *c, const char *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_EXISTS);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":id", id);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_bed_list(db_conn *c, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_LIST);
    json_t *beds = json_array();
    int rc;

    if (!st) {
        json_decref(beds);
        return -1;
    }
    while ((rc = db_step(st)) == SQLITE_ROW) {
        json_t *pid = sqlite3_column_type(st, 2) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(st, 2));
        json_array_append_new(beds, json_pack("{s:s, s:s, s:o}", "id", db_col_text(st, 0), "label",
                                              db_col_text(st, 1), "patient_id", pid));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(beds);
        return -1;
    }
    *out = beds;
    return 0;
}

int store_bed_count(db_conn *c, int64_t *n)
{
    return db_step_int64(db_prep(c, SQL_BED_COUNT), n);
}
