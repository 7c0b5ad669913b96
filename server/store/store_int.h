/* store_int: the store layer's private header. The SQLite statement
 * helpers every store_*.c, db.c and migrate.c use, and helpers shared
 * between store files. Nothing outside server/store/ includes it (tests of
 * the store may), so SQLite types and SQL stay behind include/store.h and
 * include/db.h (tools/checklayers.sh keeps it so: a private header belongs
 * to its folder).
 *
 * Bind results: db_bind_* return SQLite's code, and a failed bind is also
 * remembered for its statement on this thread, so the next db_step() of
 * that statement fails (SQLITE_ERROR, logged) instead of running with a
 * parameter left NULL. Store code therefore checks every bind at its
 * step: every step helper below goes through db_step(). */
#ifndef WARDD_STORE_INT_H
#define WARDD_STORE_INT_H

#include "db.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

sqlite3 *db_handle(db_conn *c);

/* True for a reading with no invalid mark (migration 0010: the marks are
 * rows of obs_invalid, keyed by the reading's id); `t` names the
 * observations row ("observations", or its alias). */
#define STORE_OBS_VALID(t) "NOT EXISTS (SELECT 1 FROM obs_invalid v WHERE v.obs_id = " t ".id) "

/* A WITH clause naming pc(code): the codes patient :patient has readings
 * of (and a final NULL), found by one seek per code in
 * observations_patient_code_time. Since migration 0010 that index is the
 * only one by patient: a query over a patient's readings in a time range
 * adds `code IN (SELECT code FROM pc)` and reads one index range per code,
 * and a page in time order takes at most LIMIT rows of each code (a
 * correlated subquery per pc row) before the merge. */
#define STORE_PATIENT_CODES                                                                        \
    "WITH RECURSIVE pc(code) AS ("                                                                 \
    "SELECT (SELECT min(code) FROM observations WHERE patient_id = :patient) UNION ALL "           \
    "SELECT (SELECT min(code) FROM observations WHERE patient_id = :patient AND code > pc.code) "  \
    "FROM pc WHERE pc.code IS NOT NULL) "

/* The cached prepared statement for `sql`, keyed by the string's address:
 * pass a static string (docs/CONVENTIONS.md). Returns NULL (logged) when it
 * does not prepare. After use, call db_done(). */
sqlite3_stmt *db_prep(db_conn *c, const char *sql);
/* Resets a statement from db_prep and clears its bindings (and a failed
 * bind remembered for it). NULL is ignored. */
void db_done(sqlite3_stmt *st);
/* Runs SQL text with no parameters and no rows (pragmas, BEGIN, migrations). */
int db_exec(db_conn *c, const char *sql);

/* Binding helpers by parameter name (":name"); a missing name is a bug
 * and returns SQLITE_RANGE. Text is copied (SQLITE_TRANSIENT); NULL binds
 * NULL. A failure is remembered: the statement's next db_step() fails. */
int db_bind_text(sqlite3_stmt *st, const char *name, const char *value);
int db_bind_int64(sqlite3_stmt *st, const char *name, int64_t value);
int db_bind_double(sqlite3_stmt *st, const char *name, double value);
/* sqlite3_step(), except that a statement with a failed bind returns
 * SQLITE_ERROR (logged) without running. Use it for every step. */
int db_step(sqlite3_stmt *st);
/* Steps a statement that returns no rows, then resets it (db_done).
 * 0 when it ran to completion, -1 otherwise. */
int db_step_done(sqlite3_stmt *st);
/* Steps once: 1 a row, 0 none, -1 failure; resets the statement. */
int db_step_exists(sqlite3_stmt *st);
/* Steps a statement that yields one row (a count, a max) and resets it:
 * column 0 into *out. 0, or -1 when st is NULL, no row came or a step
 * failed (*out unchanged). */
int db_step_int64(sqlite3_stmt *st, int64_t *out);
/* Steps every row of `st`, appending render(st) to a new array, then
 * resets it. 0 with *out set (caller owns it), or -1 (st NULL or a step
 * failed; nothing returned). */
int db_rows_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out);
/* Steps every row of `st`, filling one `size`-byte element of a malloc'd
 * array per row with fill(st, element), then resets it. 0 with the array
 * (caller frees) in *out and its length in *n, or -1 (st NULL or a step
 * failed; *out NULL, *n 0). */
int db_collect_rows(sqlite3_stmt *st, size_t size, void (*fill)(sqlite3_stmt *st, void *elem),
                    void **out, size_t *n);

/* Steps `st` once and resets it: 1 with *out = render(st) for a row, 0 for
 * none, -1 on failure (st NULL, a failed step, or render returning NULL). */
int db_row_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out);
/* db_row_json() of `sql` (prepared on c) with :id bound to id. */
int db_row_json_by_id(db_conn *c, const char *sql, int64_t id, json_t *(*render)(sqlite3_stmt *st),
                      json_t **out);

/* Column text or "" when NULL. */
const char *db_col_text(sqlite3_stmt *st, int col);
/* Column `col` as a JSON string, integer, or RFC 3339 time (the column
 * holds epoch ms); JSON null when the column is NULL. New references. */
json_t *db_col_json_text(sqlite3_stmt *st, int col);
json_t *db_col_json_int(sqlite3_stmt *st, int col);
json_t *db_col_json_time(sqlite3_stmt *st, int col);

/* --- shared between store files ----------------------------------------------- */
/* One `latest` entry {"value", "unit", "time", "age_s"} of `code` in the
 * ward and patient shapes (store_obs.c; store_ward.c uses it): value_num
 * when has_num, else value_text; time_ms its observation time. New
 * reference, or NULL on allocation failure. */
json_t *store_obs_latest_entry(const char *code, bool has_num, double value_num,
                               const char *value_text, int64_t time_ms, int64_t now);

/* {"by", "at", "reason"} from a row's (invalid_at, invalid_by,
 * invalid_reason) columns starting at col, or NULL when valid
 * (store_invalid.c). */
json_t *store_obs_invalid_json(sqlite3_stmt *st, int col);

#endif
