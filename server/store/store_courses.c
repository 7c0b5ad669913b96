/* store_courses: a person's admissions in order (each is a course) and the
 * response evaluations of those courses (docs/clinical.md "Courses"). */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdlib.h>
#include <string.h>

/* Used in #store_course_admissions(). */
static const char SQL_ADMISSIONS[] =
    "SELECT id, admitted_at, discharged_at FROM patients "
    "WHERE mrn = (SELECT mrn FROM patients WHERE id = :id) ORDER BY admitted_at, id";

/* Used in #store_response_insert(). */
static const char SQL_RESPONSE_INSERT[] =
    "INSERT INTO responses (mrn, course, category, date, note, recorded_by, user_id, created_at) "
    "SELECT mrn, :course, :category, :date, :note, :by, :user, :now FROM patients WHERE id = :id";

#define RESPONSE_COLS "id, course, category, date, note, recorded_by, created_at"

/* Used in #store_responses(). */
static const char SQL_RESPONSES[] =
    "SELECT " RESPONSE_COLS " FROM responses "
    "WHERE mrn = (SELECT mrn FROM patients WHERE id = :id) ORDER BY course, date, id";

/* Used in #store_response_get(). */
static const char SQL_RESPONSE_GET[] = "SELECT " RESPONSE_COLS " FROM responses WHERE id = :id";

static void fill_admission(sqlite3_stmt *st, void *elem)
{
    store_admission *a = elem;

    a->id = sqlite3_column_int64(st, 0);
    a->admitted_at = sqlite3_column_int64(st, 1);
    a->discharged_at = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
}

int store_course_admissions(db_conn *c, int64_t patient_id, store_admission **out, size_t *n)
{
    sqlite3_stmt *st = db_prep(c, SQL_ADMISSIONS);
    void *arr = NULL;
    int rc;

    if (st)
        db_bind_int64(st, ":id", patient_id);
    rc = db_collect_rows(st, sizeof **out, fill_admission, &arr, n);
    *out = arr;
    return rc;
}

static json_t *response_row(sqlite3_stmt *st)
{
    char t[TIMEFMT_LEN];
    const unsigned char *note = sqlite3_column_text(st, 4);

    return json_pack(
        "{s:I, s:I, s:s, s:s, s:o, s:s, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
        "course", (json_int_t)sqlite3_column_int64(st, 1), "category", db_col_text(st, 2), "date",
        db_col_text(st, 3), "note", note ? json_string((const char *)note) : json_null(),
        "recorded_by", db_col_text(st, 5), "recorded_at",
        timefmt_format(sqlite3_column_int64(st, 6), t, sizeof t));
}

int store_response_insert(db_conn *c, int64_t patient_id, const store_response *resp,
                          const principal *who, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_RESPONSE_INSERT);
    int rc;

    if (!st)
        return -1;
    if (db_bind_int64(st, ":id", patient_id) != 0 ||
        db_bind_int64(st, ":course", resp->course) != 0 ||
        db_bind_text(st, ":category", resp->category) != 0 ||
        db_bind_text(st, ":date", resp->date) != 0 || db_bind_text(st, ":note", resp->note) != 0 ||
        db_bind_text(st, ":by", who ? who->name : "(command line)") != 0 ||
        (who && who->id && db_bind_int64(st, ":user", who->id) != 0) ||
        db_bind_int64(st, ":now", now) != 0) {
        db_done(st);
        return -1;
    }
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return ERR_NOT_FOUND;
    *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

int store_response_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_RESPONSE_GET, id, response_row, out);
}

int store_responses(db_conn *c, int64_t patient_id, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_RESPONSES);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", patient_id);
    return db_rows_json(st, response_row, out);
}
