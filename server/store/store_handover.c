/* store_handover: what the shift handover reads that no other view does
 * (docs/api.md "Handover"): the vital-sign trend of one patient over a
 * window. Doses and alerts come from store_doses.c and store_alerts.c. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

/* Used in #store_handover_vitals(). Numeric readings only; the first and
 * last values come from the (patient_id, code, time_ms) index. */
static const char SQL_HANDOVER_VITALS[] = STORE_PATIENT_CODES
    "SELECT o.code, count(*), min(o.value_num), max(o.value_num), "
    " (SELECT f.value_num FROM observations f WHERE f.patient_id = :patient AND f.code = o.code "
    "  AND f.time_ms >= :from AND f.time_ms <= :to AND f.value_num IS NOT NULL "
    "  ORDER BY f.time_ms, f.id LIMIT 1), "
    " (SELECT l.value_num FROM observations l WHERE l.patient_id = :patient AND l.code = o.code "
    "  AND l.time_ms >= :from AND l.time_ms <= :to AND l.value_num IS NOT NULL "
    "  ORDER BY l.time_ms DESC, l.id DESC LIMIT 1), max(o.time_ms) "
    "FROM observations o WHERE o.patient_id = :patient AND o.code IN (SELECT code FROM pc) "
    "AND o.time_ms >= :from "
    "AND o.time_ms <= :to AND o.value_num IS NOT NULL AND o.code NOT LIKE 'ctcae.%' "
    "GROUP BY o.code ORDER BY o.code";

static json_t *vitals_row(sqlite3_stmt *st)
{
    char buf[TIMEFMT_LEN];

    return json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:s}", "code", db_col_text(st, 0), "n",
                     (json_int_t)sqlite3_column_int64(st, 1), "min", sqlite3_column_double(st, 2),
                     "max", sqlite3_column_double(st, 3), "first", sqlite3_column_double(st, 4),
                     "last", sqlite3_column_double(st, 5), "last_time",
                     timefmt_format(sqlite3_column_int64(st, 6), buf, sizeof buf));
}

int store_handover_vitals(db_conn *c, int64_t patient_id, int64_t from, int64_t to, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_HANDOVER_VITALS);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":from", from);
    db_bind_int64(st, ":to", to);
    return db_rows_json(st, vitals_row, out);
}
