/* store_obs_find: readings one at a time, as plain rows, for FHIR reads
 * and searches (include/store.h, "readings as rows"). Keyset paging on
 * (time_ms, id): a page never shifts while newer readings arrive. */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <string.h>

#define ROW_COLUMNS                                                                                \
    "SELECT id, patient_id, device_id, user_id, code, value_num, value_text, time_ms, "            \
    "time_ms + received_after_ms, msg_id, NOT " STORE_OBS_VALID(                                   \
        "observations") "FROM observations "

static const char SQL_OBS_BY_ID[] = ROW_COLUMNS "WHERE id = :id";
static const char SQL_OBS_BY_DEVICE_MSG[] =
    ROW_COLUMNS "WHERE device_id = :device AND msg_id = :msg";
static const char SQL_OBS_BY_USER_MSG[] = ROW_COLUMNS "WHERE user_id = :user AND msg_id = :msg";

/* Filed readings only (an unassigned reading belongs to no patient yet).
 * Four filters, so that each can use its index: one patient's readings
 * take the first :limit of each of the patient's codes from
 * observations_patient_code_time (STORE_PATIENT_CODES) and merge them, one
 * patient's chosen codes read the same index; ward-wide searches scan. Up to
 * STORE_FIND_CODES_MAX codes; unbound slots are NULL and match nothing. */
#define CODES_IN                                                                                   \
    "code IN (:c0, :c1, :c2, :c3, :c4, :c5, :c6, :c7, :c8, :c9, :c10, :c11, :c12, :c13, :c14, "    \
    ":c15) "
#define W_PATIENT       "WHERE patient_id = :patient "
#define W_PATIENT_CODES "WHERE patient_id = :patient AND " CODES_IN
#define W_WARD          "WHERE patient_id IS NOT NULL "
#define W_WARD_CODES    "WHERE patient_id IS NOT NULL AND " CODES_IN
#define W_TIME          "AND time_ms BETWEEN :from AND :to "
#define ASC             "AND (time_ms > :at OR (time_ms = :at AND id > :aid)) ORDER BY time_ms, id LIMIT :limit"
#define DESC                                                                                       \
    "AND (time_ms < :at OR (time_ms = :at AND id < :aid)) "                                        \
    "ORDER BY time_ms DESC, id DESC LIMIT :limit"
#define COUNT "SELECT count(*) FROM observations "

/* One patient, all codes: the candidates are the first :limit rows of
 * each code in the page's direction (index order: time_ms, then id). */
#define CAND(cursor, order)                                                                        \
    STORE_PATIENT_CODES ", cand(id) AS (SELECT x.id FROM pc JOIN observations x ON x.id IN ("      \
                        "SELECT s.id FROM observations s WHERE s.patient_id = :patient "           \
                        "AND s.code = pc.code AND s.time_ms BETWEEN :from AND :to " cursor         \
                        " ORDER BY " order " LIMIT :limit)) "
#define S_ASC  "AND s.time_ms >= :at AND (s.time_ms > :at OR (s.time_ms = :at AND s.id > :aid))"
#define S_DESC "AND s.time_ms <= :at AND (s.time_ms < :at OR (s.time_ms = :at AND s.id < :aid))"
#define W_CAND "WHERE id IN (SELECT id FROM cand) "

/* [filter][descending] and the counts, indexed by find_variant(). */
static const char *const SQL_FIND[4][2] = {
    {CAND(S_ASC, "s.time_ms, s.id") ROW_COLUMNS W_CAND "ORDER BY time_ms, id LIMIT :limit",
     CAND(S_DESC, "s.time_ms DESC, s.id DESC") ROW_COLUMNS W_CAND
     "ORDER BY time_ms DESC, id DESC LIMIT :limit"},
    {ROW_COLUMNS W_PATIENT_CODES W_TIME ASC, ROW_COLUMNS W_PATIENT_CODES W_TIME DESC},
    {ROW_COLUMNS W_WARD W_TIME ASC, ROW_COLUMNS W_WARD W_TIME DESC},
    {ROW_COLUMNS W_WARD_CODES W_TIME ASC, ROW_COLUMNS W_WARD_CODES W_TIME DESC},
};
static const char *const SQL_FIND_COUNT[4] = {
    STORE_PATIENT_CODES COUNT W_PATIENT "AND code IN (SELECT code FROM pc) " W_TIME,
    COUNT W_PATIENT_CODES W_TIME, COUNT W_WARD W_TIME, COUNT W_WARD_CODES W_TIME};

static int find_variant(const store_obs_find_q *q)
{
    return (q->patient_id > 0 ? 0 : 2) + (q->n_codes > 0 ? 1 : 0);
}

/* The newest reading of each code per admitted patient, through the
 * `latest` table the writer keeps (one row per patient and code). */
#define LATEST_COLUMNS                                                                             \
    "SELECT o.id, o.patient_id, o.device_id, o.user_id, o.code, o.value_num, o.value_text, "       \
    "o.time_ms, o.time_ms + o.received_after_ms, o.msg_id, NOT " STORE_OBS_VALID(                  \
        "o") "FROM latest l JOIN observations o ON o.id = l.obs_id "
static const char SQL_LATEST_PATIENT[] =
    LATEST_COLUMNS "WHERE l.patient_id = :patient AND l." CODES_IN "ORDER BY l.code";
static const char SQL_LATEST_WARD[] =
    LATEST_COLUMNS "JOIN patients p ON p.id = l.patient_id "
                   "WHERE p.status = 'admitted' AND l." CODES_IN "ORDER BY l.patient_id, l.code";

static void read_row(sqlite3_stmt *st, store_obs_row *row)
{
    const char *code = db_col_text(st, 4);
    const char *msg = sqlite3_column_type(st, 9) == SQLITE_NULL ? "" : db_col_text(st, 9);

    memset(row, 0, sizeof *row);
    row->id = sqlite3_column_int64(st, 0);
    row->patient_id = sqlite3_column_int64(st, 1);
    row->device_id = sqlite3_column_int64(st, 2);
    row->user_id = sqlite3_column_int64(st, 3);
    snprintf(row->code, sizeof row->code, "%s", code ? code : "");
    row->value = sqlite3_column_double(st, 5);
    row->has_text = sqlite3_column_type(st, 6) != SQLITE_NULL;
    if (row->has_text)
        snprintf(row->text, sizeof row->text, "%s", db_col_text(st, 6));
    row->time_ms = sqlite3_column_int64(st, 7);
    row->received_ms = sqlite3_column_int64(st, 8);
    snprintf(row->msg_id, sizeof row->msg_id, "%s", msg ? msg : "");
    row->invalid = sqlite3_column_int(st, 10) != 0;
}

/* One row: 1 found (into *out), 0 none, -1 failure. */
static int one_row(sqlite3_stmt *st, store_obs_row *out)
{
    int rc = db_step(st);

    if (rc == SQLITE_ROW)
        read_row(st, out);
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_obs_get(db_conn *c, int64_t id, store_obs_row *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_OBS_BY_ID);

    if (!st || db_bind_int64(st, ":id", id) != SQLITE_OK) {
        db_done(st);
        return -1;
    }
    return one_row(st, out);
}

int store_obs_by_msg(db_conn *c, int64_t device_id, int64_t user_id, const char *msg_id,
                     store_obs_row *out)
{
    sqlite3_stmt *st = db_prep(c, device_id ? SQL_OBS_BY_DEVICE_MSG : SQL_OBS_BY_USER_MSG);
    int rc;

    if (!st)
        return -1;
    rc = device_id ? db_bind_int64(st, ":device", device_id) : db_bind_int64(st, ":user", user_id);
    if (rc != SQLITE_OK || db_bind_text(st, ":msg", msg_id) != SQLITE_OK) {
        db_done(st);
        return -1;
    }
    return one_row(st, out);
}

/* The patient (when given) and the codes. 0 or -1. */
static int bind_codes(sqlite3_stmt *st, const store_obs_find_q *q)
{
    static const char *const slots[STORE_FIND_CODES_MAX] = {
        ":c0", ":c1", ":c2",  ":c3",  ":c4",  ":c5",  ":c6",  ":c7",
        ":c8", ":c9", ":c10", ":c11", ":c12", ":c13", ":c14", ":c15"};
    int rc = SQLITE_OK;

    if (q->patient_id > 0)
        rc = db_bind_int64(st, ":patient", q->patient_id);
    for (size_t i = 0; rc == SQLITE_OK && i < q->n_codes && i < STORE_FIND_CODES_MAX; i++)
        rc = db_bind_text(st, slots[i], q->codes[i]);
    return rc == SQLITE_OK ? 0 : -1;
}

static int bind_filter(sqlite3_stmt *st, const store_obs_find_q *q)
{
    int rc = bind_codes(st, q) == 0 ? SQLITE_OK : SQLITE_ERROR;

    if (rc == SQLITE_OK)
        rc = db_bind_int64(st, ":from", q->from);
    if (rc == SQLITE_OK)
        rc = db_bind_int64(st, ":to", q->to);
    return rc == SQLITE_OK ? 0 : -1;
}

int store_obs_find(db_conn *c, const store_obs_find_q *q, store_obs_row_visit visit, void *arg,
                   bool *more)
{
    sqlite3_stmt *st = db_prep(c, SQL_FIND[find_variant(q)][q->newest_first ? 1 : 0]);
    int64_t at = q->has_cursor ? q->cursor_time : (q->newest_first ? INT64_MAX : INT64_MIN);
    int64_t aid = q->has_cursor ? q->cursor_id : (q->newest_first ? INT64_MAX : INT64_MIN);
    int rc, n = 0, result = -1;

    *more = false;
    if (!st)
        return -1;
    if (bind_filter(st, q) != 0 || db_bind_int64(st, ":at", at) != SQLITE_OK ||
        db_bind_int64(st, ":aid", aid) != SQLITE_OK ||
        /* One row more than asked tells whether a next page exists. */
        db_bind_int64(st, ":limit", (int64_t)q->limit + 1) != SQLITE_OK)
        goto done;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_obs_row row;
        if (n == q->limit) {
            *more = true;
            break;
        }
        read_row(st, &row);
        if (visit(arg, &row) != 0)
            goto done;
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto done;
    result = 0;
done:
    db_done(st);
    return result;
}

int store_obs_count(db_conn *c, const store_obs_find_q *q, int64_t *n)
{
    sqlite3_stmt *st = db_prep(c, SQL_FIND_COUNT[find_variant(q)]);

    if (!st)
        return -1;
    if (bind_filter(st, q) != 0) {
        db_done(st);
        return -1;
    }
    return db_step_int64(st, n);
}

int store_obs_latest_rows(db_conn *c, int64_t patient_id, const char *const *codes, size_t n_codes,
                          store_obs_row_visit visit, void *arg)
{
    store_obs_find_q q = {.patient_id = patient_id, .n_codes = n_codes};
    sqlite3_stmt *st = db_prep(c, patient_id > 0 ? SQL_LATEST_PATIENT : SQL_LATEST_WARD);
    int rc, result = -1;

    if (!st)
        return -1;
    for (size_t i = 0; i < n_codes && i < STORE_FIND_CODES_MAX; i++)
        q.codes[i] = codes[i];
    if (bind_codes(st, &q) != 0)
        goto done;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        store_obs_row row;
        read_row(st, &row);
        if (visit(arg, &row) != 0)
            goto done;
    }
    result = rc == SQLITE_DONE ? 0 : -1;
done:
    db_done(st);
    return result;
}
