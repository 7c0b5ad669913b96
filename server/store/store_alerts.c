/* store_alerts: alert rows (docs/clinical.md "Alerts"). Every transition is a
 * conditional UPDATE (WHERE state = ...), so the clinical worker and a
 * nurse acknowledging at the same moment cannot both win: the writer runs
 * one after the other and the second sees the new state. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used in #store_alert_insert(). The partial unique index on
 * condition_key (unresolved rows) keeps one alert per condition. */
static const char SQL_ALERT_INSERT[] =
    "INSERT INTO alerts (patient_id, bed_id, device_id, kind, condition_key, priority, "
    "base_priority, term, grade, level, message, raised_at, activated_at, state) VALUES "
    "(:patient, :bed, :device, :kind, :key, :priority, :base, :term, :grade, :level, :message, "
    ":now, :now, 'active') ON CONFLICT DO NOTHING";

/* Used in #store_alert_upgrade(). */
static const char SQL_ALERT_UPGRADE[] =
    "UPDATE alerts SET level = max(level, :level), grade = CASE WHEN :grade IS NULL THEN grade "
    "ELSE max(coalesce(grade, 0), :grade) END, message = :message, base_priority = :base, "
    "priority = :priority, state = 'active', "
    "activated_at = CASE WHEN state = 'acknowledged' THEN :now ELSE activated_at END "
    "WHERE id = :id AND state != 'resolved'";

/* Used in #store_alert_escalate(). */
static const char SQL_ALERT_ESCALATE[] =
    "UPDATE alerts SET priority = :priority, escalated_at = :now, escalations = escalations + 1 "
    "WHERE id = :id AND state = 'active'";

/* Used in #store_alert_resolve(). */
static const char SQL_ALERT_RESOLVE[] =
    "UPDATE alerts SET state = 'resolved', resolved_at = :now, resolution = :why "
    "WHERE id = :id AND state != 'resolved'";

/* Used in #store_alert_ack(). */
static const char SQL_ALERT_STATE[] = "SELECT state FROM alerts WHERE id = :id";
static const char SQL_ALERT_ACK[] =
    "UPDATE alerts SET state = 'acknowledged', acked_at = :now, acked_by = :by, ack_note = :note "
    "WHERE id = :id AND state = 'active'";

#define ALERT_COLS                                                                                 \
    "id, patient_id, bed_id, kind, priority, term, grade, message, raised_at, state, acked_at, "   \
    "acked_by, resolved_at, base_priority, condition_key, escalated_at, escalations, ack_note, "   \
    "resolution, device_id, activated_at, level"

/* Used in #store_alert_get(). */
static const char SQL_ALERT_GET[] = "SELECT " ALERT_COLS " FROM alerts WHERE id = :id";

/* Used in #store_alert_list(): four statements so each uses its index. */
static const char SQL_ALERT_LIST_STATE[] = "SELECT " ALERT_COLS " FROM alerts WHERE state = :state "
                                           "ORDER BY raised_at DESC, id DESC LIMIT :limit";
static const char SQL_ALERT_LIST_ALL[] =
    "SELECT " ALERT_COLS " FROM alerts ORDER BY raised_at DESC, id DESC LIMIT :limit";
static const char SQL_ALERT_LIST_PATIENT_STATE[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE patient_id = :patient AND state = :state "
    "ORDER BY raised_at DESC, id DESC LIMIT :limit";
static const char SQL_ALERT_LIST_PATIENT[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE patient_id = :patient "
    "ORDER BY raised_at DESC, id DESC LIMIT :limit";

/* Used in #store_alert_open(). */
static const char SQL_ALERT_OPEN_PATIENT[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE patient_id = :patient "
    "AND state IN ('active', 'acknowledged') AND kind NOT IN ('device_silent', 'device_clock') "
    "ORDER BY id";
static const char SQL_ALERT_OPEN_KIND[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE state IN ('active', 'acknowledged') "
    "AND kind = :kind ORDER BY id";
static const char SQL_ALERT_OPEN_ALL[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE state IN ('active', 'acknowledged') ORDER BY id";

/* Used in #store_alert_active_counts(). */
static const char SQL_ALERT_COUNTS[] =
    "SELECT patient_id, count(*) FROM alerts WHERE state = 'active' AND patient_id IS NOT NULL "
    "GROUP BY patient_id";

int store_alert_insert(db_conn *c, const alert_cond *cond, rules_prio priority, int64_t patient_id,
                       const char *bed, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_INSERT);

    if (!st)
        return -1;
    if (patient_id > 0)
        db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":bed", bed && bed[0] ? bed : NULL);
    if (cond->device_id > 0)
        db_bind_int64(st, ":device", cond->device_id);
    db_bind_text(st, ":kind", alert_kind_name(cond->kind));
    db_bind_text(st, ":key", cond->key);
    db_bind_text(st, ":priority", rules_prio_name(priority));
    db_bind_text(st, ":base", rules_prio_name(cond->priority));
    db_bind_text(st, ":term", cond->term[0] ? cond->term : NULL);
    if (cond->grade >= 0)
        db_bind_int64(st, ":grade", cond->grade);
    db_bind_int64(st, ":level", cond->level);
    db_bind_text(st, ":message", cond->message);
    db_bind_int64(st, ":now", now);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 0)
        return ERR_CONFLICT;
    *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

static int changed(db_conn *c, sqlite3_stmt *st)
{
    if (db_step_done(st) != 0)
        return -1;
    return sqlite3_changes(db_handle(c)) > 0 ? 1 : 0;
}

int store_alert_upgrade(db_conn *c, int64_t id, const alert_cond *cond, rules_prio priority,
                        int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_UPGRADE);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    db_bind_int64(st, ":level", cond->level);
    if (cond->grade >= 0)
        db_bind_int64(st, ":grade", cond->grade);
    db_bind_text(st, ":message", cond->message);
    db_bind_text(st, ":base", rules_prio_name(cond->priority));
    db_bind_text(st, ":priority", rules_prio_name(priority));
    db_bind_int64(st, ":now", now);
    return changed(c, st);
}

int store_alert_escalate(db_conn *c, int64_t id, rules_prio priority, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_ESCALATE);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    db_bind_text(st, ":priority", rules_prio_name(priority));
    db_bind_int64(st, ":now", now);
    return changed(c, st);
}

int store_alert_resolve(db_conn *c, int64_t id, const char *resolution, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_RESOLVE);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    db_bind_text(st, ":why", resolution);
    db_bind_int64(st, ":now", now);
    return changed(c, st);
}

int store_alert_ack(db_conn *c, int64_t id, const principal *who, const char *note, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_STATE);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW && strcmp(db_col_text(st, 0), "active") != 0)
        rc = ERR_CONFLICT;
    else if (rc == SQLITE_DONE)
        rc = ERR_NOT_FOUND;
    else if (rc != SQLITE_ROW)
        rc = -1;
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc;
    st = db_prep(c, SQL_ALERT_ACK);
    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    db_bind_int64(st, ":now", now);
    db_bind_text(st, ":by", who ? who->name : "(command line)");
    db_bind_text(st, ":note", note);
    rc = changed(c, st);
    return rc < 0 ? -1 : rc == 0 ? ERR_CONFLICT : 0;
}

/* The alert object of docs/clinical.md "Alerts". */
static json_t *alert_row(sqlite3_stmt *st)
{
    json_t *a = json_object();

    json_object_set_new(a, "id", json_integer((json_int_t)sqlite3_column_int64(st, 0)));
    json_object_set_new(a, "patient_id", db_col_json_int(st, 1));
    json_object_set_new(a, "bed", db_col_json_text(st, 2));
    json_object_set_new(a, "kind", json_string(db_col_text(st, 3)));
    json_object_set_new(a, "priority", json_string(db_col_text(st, 4)));
    json_object_set_new(a, "term", db_col_json_text(st, 5));
    json_object_set_new(a, "grade", db_col_json_int(st, 6));
    json_object_set_new(a, "message", json_string(db_col_text(st, 7)));
    json_object_set_new(a, "raised_at", db_col_json_time(st, 8));
    json_object_set_new(a, "state", json_string(db_col_text(st, 9)));
    json_object_set_new(a, "acked_at", db_col_json_time(st, 10));
    json_object_set_new(a, "acked_by", db_col_json_text(st, 11));
    json_object_set_new(a, "resolved_at", db_col_json_time(st, 12));
    json_object_set_new(a, "base_priority", json_string(db_col_text(st, 13)));
    json_object_set_new(a, "condition", json_string(db_col_text(st, 14)));
    json_object_set_new(a, "escalated_at", db_col_json_time(st, 15));
    json_object_set_new(a, "escalations", json_integer(sqlite3_column_int(st, 16)));
    json_object_set_new(a, "ack_note", db_col_json_text(st, 17));
    json_object_set_new(a, "resolution", db_col_json_text(st, 18));
    json_object_set_new(a, "device_id", db_col_json_int(st, 19));
    json_object_set_new(a, "activated_at", db_col_json_time(st, 20));
    return a;
}

int store_alert_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_ALERT_GET, id, alert_row, out);
}

int store_alert_list(db_conn *c, const char *state, int64_t patient_id, int limit, json_t **out)
{
    bool all = strcmp(state, "all") == 0;
    const char *sql = patient_id > 0 ? (all ? SQL_ALERT_LIST_PATIENT : SQL_ALERT_LIST_PATIENT_STATE)
                                     : (all ? SQL_ALERT_LIST_ALL : SQL_ALERT_LIST_STATE);
    sqlite3_stmt *st = db_prep(c, sql);
    json_t *list = NULL;

    if (!st)
        return -1;
    if (patient_id > 0)
        db_bind_int64(st, ":patient", patient_id);
    if (!all)
        db_bind_text(st, ":state", state);
    db_bind_int64(st, ":limit", limit);
    if (db_rows_json(st, alert_row, &list) != 0)
        return -1;
    *out = json_pack("{s:o}", "alerts", list);
    return 0;
}

int store_alert_open(db_conn *c, int64_t patient_id, int kind, alert_open **out, size_t *n)
{
    const char *sql = patient_id > 0 ? SQL_ALERT_OPEN_PATIENT
                      : kind >= 0    ? SQL_ALERT_OPEN_KIND
                                     : SQL_ALERT_OPEN_ALL;
    sqlite3_stmt *st = db_prep(c, sql);
    alert_open *arr = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!st)
        return -1;
    if (patient_id > 0)
        db_bind_int64(st, ":patient", patient_id);
    else if (kind >= 0)
        db_bind_text(st, ":kind", alert_kind_name((alert_kind)kind));
    while ((rc = db_step(st)) == SQLITE_ROW) {
        alert_open *a;
        int k = alert_kind_parse(db_col_text(st, 3));
        if (k < 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            alert_open *p = realloc(arr, ncap * sizeof *p);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            arr = p;
            cap = ncap;
        }
        a = &arr[(*n)++];
        memset(a, 0, sizeof *a);
        a->id = sqlite3_column_int64(st, 0);
        snprintf(a->key, sizeof a->key, "%s", db_col_text(st, 14));
        a->kind = (alert_kind)k;
        a->state = strcmp(db_col_text(st, 9), "active") == 0 ? ALERT_ACTIVE : ALERT_ACKNOWLEDGED;
        a->priority = alert_prio_parse(db_col_text(st, 4));
        a->base_priority = alert_prio_parse(db_col_text(st, 13));
        a->grade = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
        a->level = sqlite3_column_int(st, 21);
        a->activated_at = sqlite3_column_int64(st, 20);
        a->escalated_at =
            sqlite3_column_type(st, 15) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 15);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        *n = 0;
        return -1;
    }
    *out = arr;
    return 0;
}

int store_alert_active_counts(db_conn *c, json_t **out)
{
    sqlite3_stmt *st = db_prep(c, SQL_ALERT_COUNTS);
    json_t *counts = json_object();
    char key[32];
    int rc;

    if (!st || !counts) {
        json_decref(counts);
        return -1;
    }
    while ((rc = db_step(st)) == SQLITE_ROW) {
        snprintf(key, sizeof key, "%" PRId64, (int64_t)sqlite3_column_int64(st, 0));
        json_object_set_new(counts, key, json_integer(sqlite3_column_int(st, 1)));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        json_decref(counts);
        return -1;
    }
    *out = counts;
    return 0;
}
