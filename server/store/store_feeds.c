/* store_feeds: HL7 v2 feeds (registered senders, their counters and the
 * ACK of each control id), bed locations, device EUI-64s, and the ADT
 * cancellations (A11, A12, A13) that undo a stay change
 * (schema/migrations/0006_hl7_feeds.sql, docs/hl7.md).
 *
 * The cancellations keep store_patients.c's invariants (one open stay per
 * admitted patient, stays of a bed never overlap) and re-file readings with
 * the same store_obs_claim_unassigned / store_obs_release that admissions,
 * transfers and discharges use. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_COLS                                                                                  \
    "id, name, kind, sending_application, sending_facility, addresses, tls_fingerprint, "          \
    "enabled, created_at, updated_at, last_message_at, last_error, last_error_at, count_aa, "      \
    "count_ae, count_ar"

/* Used in #store_feed_insert(). */
static const char SQL_FEED_INSERT[] =
    "INSERT INTO feeds (name, kind, sending_application, sending_facility, addresses, "
    "tls_fingerprint, created_at, updated_at) VALUES (:name, :kind, :app, :fac, :addr, :fp, "
    ":now, :now)";
/* Used in #store_feed_get(). */
static const char SQL_FEED_GET[] = "SELECT " FEED_COLS " FROM feeds WHERE id = :id";
/* Used in #store_feed_list(). */
static const char SQL_FEED_LIST[] = "SELECT " FEED_COLS " FROM feeds ORDER BY id";
/* Used in #store_feed_update(): a flag per field says whether the patch names it. */
static const char SQL_FEED_UPDATE[] =
    "UPDATE feeds SET name = CASE WHEN :set_name THEN :name ELSE name END, "
    "sending_application = CASE WHEN :set_app THEN :app ELSE sending_application END, "
    "sending_facility = CASE WHEN :set_fac THEN :fac ELSE sending_facility END, "
    "addresses = CASE WHEN :set_addr THEN :addr ELSE addresses END, "
    "tls_fingerprint = CASE WHEN :set_fp THEN :fp ELSE tls_fingerprint END, "
    "enabled = CASE WHEN :set_enabled THEN :enabled ELSE enabled END, "
    "updated_at = :now WHERE id = :id";
/* Used in #store_feed_match(). */
static const char SQL_FEED_MATCH[] =
    "SELECT id, name, kind, addresses, tls_fingerprint FROM feeds WHERE enabled = 1 "
    "AND sending_application = :app AND sending_facility = :fac";
/* Used in #store_feed_note(). */
static const char SQL_FEED_NOTE[] =
    "UPDATE feeds SET last_message_at = :now, "
    "count_aa = count_aa + (:code = 'AA'), count_ae = count_ae + (:code = 'AE'), "
    "count_ar = count_ar + (:code = 'AR'), "
    "last_error = CASE WHEN :error IS NULL THEN last_error ELSE :error END, "
    "last_error_at = CASE WHEN :error IS NULL THEN last_error_at ELSE :now END WHERE id = :id";
/* Used in #store_hl7_ack_get() and #store_hl7_ack_put(). */
static const char SQL_ACK_GET[] =
    "SELECT ack FROM hl7_acks WHERE feed_id = :feed AND control_id = :ctl";
static const char SQL_ACK_PUT[] =
    "INSERT INTO hl7_acks (feed_id, control_id, code, ack, at_ms) VALUES (:feed, :ctl, :code, "
    ":ack, :now) ON CONFLICT DO NOTHING";
/* Used in #store_bed_by_location() and #store_bed_set_location(). */
static const char SQL_BED_BY_LOCATION[] = "SELECT id FROM beds WHERE location = :loc";
static const char SQL_BED_SET_LOCATION[] = "UPDATE beds SET location = :loc WHERE id = :id";
/* Used in #store_unit_known(): a point of care any bed's location starts with. */
static const char SQL_UNIT_KNOWN[] =
    "SELECT 1 FROM beds WHERE location = :poc OR substr(location, 1, length(:poc) + 1) = "
    ":poc || '^' LIMIT 1";
static const char SQL_BED_LOCATIONS[] =
    "SELECT id, label, location FROM beds ORDER BY length(id), id";
/* Used in #store_device_by_ident(): an active device by serial or EUI-64. */
static const char SQL_DEVICE_BY_IDENT[] =
    "SELECT id, serial, bed_id FROM devices WHERE revoked_at IS NULL "
    "AND (serial = :serial OR eui64 = :eui) ORDER BY serial = :serial DESC LIMIT 1";
static const char SQL_DEVICE_SET_EUI[] =
    "UPDATE devices SET eui64 = :eui WHERE id = :id AND revoked_at IS NULL";
static const char SQL_DEVICE_EUI[] = "SELECT eui64 FROM devices WHERE id = :id";
/* Used in #store_patient_by_mrn(): the admitted record, else the latest. */
static const char SQL_PATIENT_BY_MRN[] =
    "SELECT id, status, bed_id FROM patients WHERE mrn = :mrn "
    "ORDER BY status = 'admitted' DESC, admitted_at DESC, id DESC LIMIT 1";
/* Used by the cancellations. */
static const char SQL_OPEN_STAY[] =
    "SELECT s.id, s.bed_id, s.from_ms FROM stays s JOIN patients p ON p.id = s.patient_id "
    "WHERE s.patient_id = :patient AND s.to_ms IS NULL AND p.status = 'admitted'";
static const char SQL_STAY_ENDING_AT[] =
    "SELECT id, bed_id FROM stays WHERE patient_id = :patient AND to_ms = :at "
    "ORDER BY id DESC LIMIT 1";
static const char SQL_LAST_STAY[] =
    "SELECT s.id, s.bed_id, s.to_ms FROM stays s JOIN patients p ON p.id = s.patient_id "
    "WHERE s.patient_id = :patient AND p.status = 'discharged' AND s.to_ms IS NOT NULL "
    "ORDER BY s.from_ms DESC, s.id DESC LIMIT 1";
static const char SQL_BED_TAKEN_FROM[] =
    "SELECT 1 FROM stays WHERE bed_id = :bed AND id != :stay AND (to_ms IS NULL OR to_ms > :from) "
    "LIMIT 1";
static const char SQL_STAY_DELETE[] = "DELETE FROM stays WHERE id = :id";
static const char SQL_STAYS_DELETE[] = "DELETE FROM stays WHERE patient_id = :patient";
static const char SQL_STAY_REOPEN[] = "UPDATE stays SET to_ms = NULL WHERE id = :id";
static const char SQL_PATIENT_REBED[] =
    "UPDATE patients SET bed_id = :bed, updated_at = :now WHERE id = :id";
static const char SQL_PATIENT_UNDISCHARGE[] =
    "UPDATE patients SET status = 'admitted', bed_id = :bed, discharged_at = NULL, "
    "updated_at = :now WHERE id = :id AND status = 'discharged'";
static const char SQL_PATIENT_UNADMIT[] =
    "UPDATE patients SET status = 'discharged', bed_id = NULL, discharged_at = admitted_at, "
    "updated_at = :now WHERE id = :id AND status = 'admitted'";
/* Used in #store_patient_cancel_admit(): every reading filed to the patient
 * by bed (devices and feeds; staff entries stay) goes back to nobody. */
static const char SQL_OBS_RELEASE_ALL[] =
    "UPDATE observations SET patient_id = NULL WHERE patient_id = :patient AND bed_id IS NOT NULL "
    "AND (device_id IS NOT NULL OR feed_id IS NOT NULL)";
/* Used in #store_technical_alert() and #store_technical_alert_list(). */
static const char SQL_TECH_ALERT_INSERT[] =
    "INSERT INTO technical_alerts (kind, feed_id, control_id, bed_id, patient_id, occupant_id, "
    "message, raised_at) VALUES (:kind, :feed, :ctl, :bed, :patient, :occupant, :message, :now)";
static const char SQL_TECH_ALERT_RESOLVE[] =
    "UPDATE technical_alerts SET state = 'resolved' WHERE id = :id AND state = 'active'";
static const char SQL_TECH_ALERT_LIST[] =
    "SELECT id, kind, feed_id, control_id, bed_id, patient_id, occupant_id, message, raised_at, "
    "state FROM technical_alerts ORDER BY id DESC LIMIT 500";
/* Used in #store_technical_alert_once() and #store_technical_alert_resolve_kind(): alerts
 * of which at most one may be active (disk_low; a partial unique index holds it). */
static const char SQL_TECH_ALERT_ONCE[] =
    "INSERT INTO technical_alerts (kind, message, raised_at) SELECT :kind, :message, :now "
    "WHERE NOT EXISTS (SELECT 1 FROM technical_alerts WHERE kind = :kind AND state = 'active')";
static const char SQL_TECH_ALERT_ACTIVE_KIND[] =
    "SELECT id FROM technical_alerts WHERE kind = :kind AND state = 'active' LIMIT 1";

/* --- helpers ------------------------------------------------------------------ */

static json_t *feed_render(sqlite3_stmt *st)
{
    json_t *addr = json_loads(db_col_text(st, 5), 0, NULL);

    if (!json_is_array(addr)) {
        json_decref(addr);
        addr = json_array();
    }
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, "
        "s:{s:I, s:I, s:I}}",
        "id", (json_int_t)sqlite3_column_int64(st, 0), "name", db_col_text(st, 1), "kind",
        db_col_text(st, 2), "sending_application", db_col_text(st, 3), "sending_facility",
        db_col_text(st, 4), "addresses", addr, "tls_fingerprint", db_col_json_text(st, 6),
        "enabled", sqlite3_column_int(st, 7) != 0, "created_at", db_col_json_time(st, 8),
        "updated_at", db_col_json_time(st, 9), "last_message_at", db_col_json_time(st, 10),
        "last_error", db_col_json_text(st, 11), "last_error_at", db_col_json_time(st, 12), "counts",
        "AA", (json_int_t)sqlite3_column_int64(st, 13), "AE",
        (json_int_t)sqlite3_column_int64(st, 14), "AR", (json_int_t)sqlite3_column_int64(st, 15));
}

/* Steps a change; 0, the refusal for a unique violation, or -1. */
static int step_change(sqlite3_stmt *st, int unique_err)
{
    int rc = db_step(st);

    db_done(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
        return unique_err;
    return -1;
}

/* --- feeds ----------------------------------------------------------------------- */

/* A member of a checked feed body as text, or dflt. */
static const char *feed_str(const json_t *f, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(f, key));

    return v ? v : dflt;
}

int store_feed_insert(db_conn *c, const json_t *f, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_FEED_INSERT);
    const json_t *addr = json_object_get(f, "addresses");
    char *addr_text = json_dumps(json_is_array(addr) ? addr : json_array(), JSON_COMPACT);
    int rc;

    if (!st || !addr_text) {
        free(addr_text);
        return -1;
    }
    db_bind_text(st, ":name", feed_str(f, "name", ""));
    db_bind_text(st, ":kind", feed_str(f, "kind", ""));
    db_bind_text(st, ":app", feed_str(f, "sending_application", ""));
    db_bind_text(st, ":fac", feed_str(f, "sending_facility", ""));
    db_bind_text(st, ":addr", addr_text);
    db_bind_text(st, ":fp", feed_str(f, "tls_fingerprint", NULL));
    db_bind_int64(st, ":now", now);
    rc = step_change(st, ERR_ALREADY_EXISTS);
    free(addr_text);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(db_handle(c));
    return rc;
}

int store_feed_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_FEED_GET, id, feed_render, out);
}

int store_feed_list(db_conn *c, json_t **out)
{
    return db_rows_json(db_prep(c, SQL_FEED_LIST), feed_render, out);
}

static void bind_opt_text(sqlite3_stmt *st, const json_t *patch, const char *set, const char *name,
                          const char *key)
{
    const json_t *v = json_object_get(patch, key);

    db_bind_int64(st, set, v != NULL);
    db_bind_text(st, name, json_is_string(v) ? json_string_value(v) : NULL);
}

int store_feed_update(db_conn *c, int64_t id, const json_t *patch, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_FEED_UPDATE);
    const json_t *addr = json_object_get(patch, "addresses");
    const json_t *enabled = json_object_get(patch, "enabled");
    char *addr_text = json_is_array(addr) ? json_dumps(addr, JSON_COMPACT) : NULL;
    int rc;

    if (!st || (addr && !addr_text)) {
        free(addr_text);
        return -1;
    }
    bind_opt_text(st, patch, ":set_name", ":name", "name");
    bind_opt_text(st, patch, ":set_app", ":app", "sending_application");
    bind_opt_text(st, patch, ":set_fac", ":fac", "sending_facility");
    bind_opt_text(st, patch, ":set_fp", ":fp", "tls_fingerprint");
    db_bind_int64(st, ":set_addr", addr_text != NULL);
    db_bind_text(st, ":addr", addr_text);
    db_bind_int64(st, ":set_enabled", json_is_boolean(enabled));
    db_bind_int64(st, ":enabled", json_is_true(enabled));
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    rc = step_change(st, ERR_ALREADY_EXISTS);
    free(addr_text);
    if (rc == 0 && sqlite3_changes(db_handle(c)) == 0)
        rc = ERR_NOT_FOUND;
    return rc;
}

int store_feed_match(db_conn *c, const char *app, const char *fac, store_feed *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_FEED_MATCH);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":app", app);
    db_bind_text(st, ":fac", fac);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(st, 0);
        snprintf(out->name, sizeof out->name, "%s", db_col_text(st, 1));
        snprintf(out->kind, sizeof out->kind, "%s", db_col_text(st, 2));
        snprintf(out->addresses, sizeof out->addresses, "%s", db_col_text(st, 3));
        snprintf(out->fingerprint, sizeof out->fingerprint, "%s", db_col_text(st, 4));
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_feed_note(db_conn *c, int64_t feed_id, const char *code, const char *error, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_FEED_NOTE);

    if (!st)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_text(st, ":code", code);
    db_bind_text(st, ":error", error);
    db_bind_int64(st, ":id", feed_id);
    return db_step_done(st);
}

int store_hl7_ack_get(db_conn *c, int64_t feed_id, const char *ctl, char **ack)
{
    sqlite3_stmt *st = db_prep(c, SQL_ACK_GET);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":feed", feed_id);
    db_bind_text(st, ":ctl", ctl);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *ack = strdup(db_col_text(st, 0));
        if (!*ack)
            rc = SQLITE_ERROR;
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_hl7_ack_put(db_conn *c, int64_t feed_id, const char *ctl, const char *code,
                      const char *ack, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_ACK_PUT);

    if (!st)
        return -1;
    db_bind_int64(st, ":feed", feed_id);
    db_bind_text(st, ":ctl", ctl);
    db_bind_text(st, ":code", code);
    db_bind_text(st, ":ack", ack);
    db_bind_int64(st, ":now", now);
    return db_step_done(st);
}

/* --- beds and devices --------------------------------------------------------- */

int store_bed_by_location(db_conn *c, const char *location, char *bed, size_t len)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_BY_LOCATION);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":loc", location);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(bed, len, "%s", db_col_text(st, 0));
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_bed_set_location(db_conn *c, const char *bed, const char *location)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_SET_LOCATION);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":loc", location);
    db_bind_text(st, ":id", bed);
    rc = step_change(st, ERR_ALREADY_EXISTS);
    if (rc == 0 && sqlite3_changes(db_handle(c)) == 0)
        rc = ERR_NOT_FOUND;
    return rc;
}

int store_unit_known(db_conn *c, const char *point_of_care)
{
    sqlite3_stmt *st = db_prep(c, SQL_UNIT_KNOWN);

    if (!st)
        return -1;
    db_bind_text(st, ":poc", point_of_care);
    return db_step_exists(st);
}

static json_t *bed_location_render(sqlite3_stmt *st)
{
    return json_pack("{s:s, s:s, s:o}", "id", db_col_text(st, 0), "label", db_col_text(st, 1),
                     "location", db_col_json_text(st, 2));
}

int store_bed_locations(db_conn *c, json_t **out)
{
    return db_rows_json(db_prep(c, SQL_BED_LOCATIONS), bed_location_render, out);
}

int store_device_by_ident(db_conn *c, const char *serial, const char *eui64, store_device_ref *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_BY_IDENT);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":serial", serial && serial[0] ? serial : NULL);
    db_bind_text(st, ":eui", eui64 && eui64[0] ? eui64 : NULL);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        snprintf(out->serial, sizeof out->serial, "%s", db_col_text(st, 1));
        snprintf(out->bed, sizeof out->bed, "%s", db_col_text(st, 2));
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_device_set_eui64(db_conn *c, int64_t id, const char *eui64)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_SET_EUI);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":eui", eui64);
    db_bind_int64(st, ":id", id);
    rc = step_change(st, ERR_ALREADY_EXISTS);
    if (rc == 0 && sqlite3_changes(db_handle(c)) == 0)
        rc = ERR_NOT_FOUND;
    return rc;
}

int store_device_eui64(db_conn *c, int64_t id, char *eui64, size_t len)
{
    sqlite3_stmt *st = db_prep(c, SQL_DEVICE_EUI);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(eui64, len, "%s", db_col_text(st, 0));
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* --- patients by MRN and the ADT cancellations ----------------------------------- */

int store_patient_by_mrn(db_conn *c, const char *mrn, store_mrn_patient *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_BY_MRN);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":mrn", mrn);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->admitted = strcmp(db_col_text(st, 1), "admitted") == 0;
        snprintf(out->bed, sizeof out->bed, "%s", db_col_text(st, 2));
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Runs a one-parameter-set statement; 0 or -1. */
static int exec_id(db_conn *c, const char *sql, const char *name, int64_t id)
{
    sqlite3_stmt *st = db_prep(c, sql);

    if (!st)
        return -1;
    db_bind_int64(st, name, id);
    return db_step_done(st);
}

/* The patient's open stay: 1 found, 0 not admitted, -1. */
static int open_stay(db_conn *c, int64_t patient, int64_t *stay, char *bed, size_t len,
                     int64_t *from)
{
    sqlite3_stmt *st = db_prep(c, SQL_OPEN_STAY);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *stay = sqlite3_column_int64(st, 0);
        snprintf(bed, len, "%s", db_col_text(st, 1));
        *from = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* 1 when another stay than `stay` of `bed` is open or ends after `from`. */
static int bed_taken_from(db_conn *c, const char *bed, int64_t stay, int64_t from)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_TAKEN_FROM);

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":stay", stay);
    db_bind_int64(st, ":from", from);
    return db_step_exists(st);
}

int store_patient_cancel_admit(db_conn *c, int64_t id, int64_t now)
{
    char bed[64];
    int64_t stay, from;
    sqlite3_stmt *st;
    int rc = open_stay(c, id, &stay, bed, sizeof bed, &from);

    if (rc != 1)
        return rc == 0 ? ERR_NOT_ADMITTED : -1;
    st = db_prep(c, SQL_OBS_RELEASE_ALL);
    if (!st)
        return -1;
    db_bind_int64(st, ":patient", id);
    if (db_step_done(st) != 0 || exec_id(c, SQL_STAYS_DELETE, ":patient", id) != 0)
        return -1;
    st = db_prep(c, SQL_PATIENT_UNADMIT);
    if (!st)
        return -1;
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    if (db_step_done(st) != 0)
        return -1;
    return store_obs_rebuild_latest(c, id) == 0 && store_series_rebuild(c, id, INT64_MIN / 2) == 0
               ? 0
               : -1;
}

int store_patient_cancel_transfer(db_conn *c, int64_t id, int64_t now)
{
    char bed[64], prev_bed[64] = "";
    int64_t stay, from, prev = 0;
    sqlite3_stmt *st;
    bool moved = false;
    int rc = open_stay(c, id, &stay, bed, sizeof bed, &from);

    if (rc != 1)
        return rc == 0 ? ERR_NOT_ADMITTED : -1;
    st = db_prep(c, SQL_STAY_ENDING_AT);
    if (!st)
        return -1;
    db_bind_int64(st, ":patient", id);
    db_bind_int64(st, ":at", from);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        prev = sqlite3_column_int64(st, 0);
        snprintf(prev_bed, sizeof prev_bed, "%s", db_col_text(st, 1));
    }
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? ERR_CONFLICT : -1; /* no transfer to cancel */
    rc = bed_taken_from(c, prev_bed, prev, from);
    if (rc != 0)
        return rc == 1 ? ERR_BED_OCCUPIED : -1;
    if (exec_id(c, SQL_STAY_DELETE, ":id", stay) != 0 ||
        exec_id(c, SQL_STAY_REOPEN, ":id", prev) != 0)
        return -1;
    st = db_prep(c, SQL_PATIENT_REBED);
    if (!st)
        return -1;
    db_bind_text(st, ":bed", prev_bed);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    if (db_step_done(st) != 0 || store_obs_release(c, id, bed, from, &moved) != 0 ||
        store_obs_claim_unassigned(c, id, prev_bed, from, &moved) != 0)
        return -1;
    return moved ? store_obs_rebuild_latest(c, id) : 0;
}

int store_patient_cancel_discharge(db_conn *c, int64_t id, int64_t now)
{
    sqlite3_stmt *st = db_prep(c, SQL_LAST_STAY);
    char bed[64] = "";
    int64_t stay = 0, to = 0;
    bool moved = false;
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        stay = sqlite3_column_int64(st, 0);
        snprintf(bed, sizeof bed, "%s", db_col_text(st, 1));
        to = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? ERR_CONFLICT : -1; /* not discharged */
    rc = bed_taken_from(c, bed, stay, to);
    if (rc != 0)
        return rc == 1 ? ERR_BED_OCCUPIED : -1;
    st = db_prep(c, SQL_PATIENT_UNDISCHARGE);
    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_CONSTRAINT_UNIQUE ? ERR_ALREADY_ADMITTED : -1;
    if (exec_id(c, SQL_STAY_REOPEN, ":id", stay) != 0 ||
        store_obs_claim_unassigned(c, id, bed, to, &moved) != 0)
        return -1;
    return moved ? store_obs_rebuild_latest(c, id) : 0;
}

/* --- technical alerts ----------------------------------------------------------------- */

int store_technical_alert(db_conn *c, const store_tech_alert *a, int64_t now, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_TECH_ALERT_INSERT);

    if (!st)
        return -1;
    db_bind_text(st, ":kind", a->kind);
    if (a->feed_id)
        db_bind_int64(st, ":feed", a->feed_id);
    db_bind_text(st, ":ctl", a->control_id);
    db_bind_text(st, ":bed", a->bed && a->bed[0] ? a->bed : NULL);
    if (a->patient_id > 0)
        db_bind_int64(st, ":patient", a->patient_id);
    if (a->occupant_id > 0)
        db_bind_int64(st, ":occupant", a->occupant_id);
    db_bind_text(st, ":message", a->message);
    db_bind_int64(st, ":now", now);
    if (db_step_done(st) != 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

int store_technical_alert_once(db_conn *c, const char *kind, const char *message, int64_t now,
                               int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_TECH_ALERT_ONCE);

    *id = 0;
    if (!st)
        return -1;
    db_bind_text(st, ":kind", kind);
    db_bind_text(st, ":message", message);
    db_bind_int64(st, ":now", now);
    if (db_step_done(st) != 0)
        return -1;
    if (sqlite3_changes(db_handle(c)) == 1)
        *id = sqlite3_last_insert_rowid(db_handle(c));
    return 0;
}

int store_technical_alert_resolve_kind(db_conn *c, const char *kind, int64_t *id)
{
    sqlite3_stmt *st = db_prep(c, SQL_TECH_ALERT_ACTIVE_KIND);
    int64_t found = 0;
    int rc;

    *id = 0;
    if (!st)
        return -1;
    db_bind_text(st, ":kind", kind);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        found = sqlite3_column_int64(st, 0);
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
    if (store_technical_alert_resolve(c, found) < 0)
        return -1;
    *id = found;
    return 0;
}

static json_t *tech_alert_render(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:s}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "kind", db_col_text(st, 1), "feed_id",
                     db_col_json_int(st, 2), "control_id", db_col_json_text(st, 3), "bed",
                     db_col_json_text(st, 4), "patient_id", db_col_json_int(st, 5), "occupant_id",
                     db_col_json_int(st, 6), "message", db_col_text(st, 7), "raised_at",
                     db_col_json_time(st, 8), "state", db_col_text(st, 9));
}

int store_technical_alert_list(db_conn *c, json_t **out)
{
    return db_rows_json(db_prep(c, SQL_TECH_ALERT_LIST), tech_alert_render, out);
}

int store_technical_alert_resolve(db_conn *c, int64_t id)
{
    sqlite3_stmt *st = db_prep(c, SQL_TECH_ALERT_RESOLVE);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    if (db_step_done(st) != 0)
        return -1;
    return sqlite3_changes(db_handle(c)) == 1 ? 1 : 0;
}
