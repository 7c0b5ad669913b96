/* store_patients: patients and their stays (who occupied which bed when).
 *
 * Invariants kept here (schema/migrations/0001_core.sql):
 * - An admitted patient has exactly one open stay (to_ms NULL), in the bed
 *   patients.bed_id names; a discharged patient has none and bed_id NULL.
 * - The stays of one bed never overlap: a new stay from T is refused while
 *   any stay of that bed is open or ends after T. So "who was in bed B at
 *   time t" (store_stay_at) has at most one answer, and readings are filed
 *   by the reading's time, not by when they arrive (docs/api.md "Readings").
 * - When a stay starts or ends at a time in the past (a late admission
 *   entry, a back-dated transfer), device readings of the affected bed from
 *   that time on are re-filed to match: unassigned readings are claimed by
 *   the new occupant, and the leaving patient's readings from the bed after
 *   the move are released (unassigned). Staff-entered observations are
 *   filed by patient, never by bed, and are not touched. The `latest`
 *   rows (store_obs.c) of a patient whose readings moved are rebuilt. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stored JSON text: 15 significant digits give back the decimal a person
 * entered (0.9, not 0.90000000000000002) and parse to the same double. */
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* The columns patient_render() reads, in order. */
#define PATIENT_COLS                                                                               \
    "id, mrn, name, birth_date, sex, diagnosis, status, bed_id, admitted_at, discharged_at, "      \
    "news2_scale, baseline, reference_ranges"

/* Used in #store_patient_get(). */
static const char SQL_PATIENT_GET[] = "SELECT " PATIENT_COLS " FROM patients WHERE id = :id";

/* Used in #store_patient_list(). Admitted: by bed (natural: B2 < B10), then id. */
static const char SQL_PATIENT_LIST_ADMITTED[] =
    "SELECT " PATIENT_COLS " FROM patients WHERE status = 'admitted' "
    "ORDER BY length(bed_id), bed_id, id";

/* Used in #store_patient_list(). Most recently discharged first. */
static const char SQL_PATIENT_LIST_DISCHARGED[] =
    "SELECT " PATIENT_COLS " FROM patients WHERE status = 'discharged' "
    "ORDER BY discharged_at DESC, id DESC";

/* Used in #store_patient_list(). Most recently admitted first. */
static const char SQL_PATIENT_LIST_ALL[] =
    "SELECT " PATIENT_COLS " FROM patients ORDER BY admitted_at DESC, id DESC";

/* Used in #store_patient_admit(). */
/* Used in #store_patient_admit(). */
static const char SQL_MRN_ADMITTED[] =
    "SELECT 1 FROM patients WHERE mrn = :mrn AND status = 'admitted'";

/* Used in #store_patient_admit(). */
static const char SQL_PATIENT_INSERT[] =
    "INSERT INTO patients (mrn, name, birth_date, sex, diagnosis, status, bed_id, admitted_at, "
    "news2_scale, baseline, reference_ranges, created_at, updated_at) "
    "VALUES (:mrn, :name, :birth_date, :sex, :diagnosis, 'admitted', :bed, :admitted_at, "
    ":news2_scale, :baseline, :ranges, :now, :now)";

/* Used in #open_stay(). */
static const char SQL_STAY_INSERT[] =
    "INSERT INTO stays (patient_id, bed_id, from_ms) VALUES (:patient, :bed, :from)";

/* Used in #bed_free_from(): any stay of the bed that is open or ends after
 * :from would overlap a new stay starting at :from. */
static const char SQL_STAY_OVERLAP[] =
    "SELECT 1 FROM stays WHERE bed_id = :bed AND (to_ms IS NULL OR to_ms > :from) LIMIT 1";

/* Used in #patient_state(). */
static const char SQL_PATIENT_STATE[] =
    "SELECT p.status, p.bed_id, s.id, s.from_ms FROM patients p "
    "LEFT JOIN stays s ON s.patient_id = p.id AND s.to_ms IS NULL WHERE p.id = :id";

/* Used in #store_patient_discharge() and #store_patient_transfer(). */
static const char SQL_STAY_CLOSE[] =
    "UPDATE stays SET to_ms = :at WHERE patient_id = :patient AND to_ms IS NULL";

/* Used in #store_patient_discharge(). */
static const char SQL_PATIENT_DISCHARGE[] =
    "UPDATE patients SET status = 'discharged', bed_id = NULL, discharged_at = :at, "
    "updated_at = :now WHERE id = :id AND status = 'admitted'";

/* Used in #store_patient_transfer(). */
static const char SQL_PATIENT_SET_BED[] =
    "UPDATE patients SET bed_id = :bed, updated_at = :now WHERE id = :id AND status = 'admitted'";

/* Used in #store_patient_update(). A flag per plain field says whether the
 * patch names it (a named null clears the field); baseline and
 * reference_ranges are RFC 7396 merge patches (a null member removes the
 * key), which is exactly SQLite's json_patch(). */
static const char SQL_PATIENT_UPDATE[] =
    "UPDATE patients SET "
    "mrn = CASE WHEN :set_mrn THEN :mrn ELSE mrn END, "
    "name = CASE WHEN :set_name THEN :name ELSE name END, "
    "birth_date = CASE WHEN :set_birth_date THEN :birth_date ELSE birth_date END, "
    "sex = CASE WHEN :set_sex THEN :sex ELSE sex END, "
    "diagnosis = CASE WHEN :set_diagnosis THEN :diagnosis ELSE diagnosis END, "
    "news2_scale = CASE WHEN :set_news2_scale THEN :news2_scale ELSE news2_scale END, "
    "baseline = CASE WHEN :baseline IS NULL THEN baseline "
    "ELSE json_patch(baseline, :baseline) END, "
    "reference_ranges = CASE WHEN :ranges IS NULL THEN reference_ranges "
    "ELSE json_patch(reference_ranges, :ranges) END, "
    "updated_at = :now WHERE id = :id";

/* Used in #store_stay_at(). from_ms <= t < to_ms, or open-ended. */
static const char SQL_STAY_AT[] =
    "SELECT patient_id FROM stays WHERE bed_id = :bed AND from_ms <= :t "
    "AND (to_ms IS NULL OR to_ms > :t) ORDER BY from_ms DESC, id DESC LIMIT 1";

/* Used in #store_stay_span(): the stay of the bed that began last at or
 * before :t (the same order as SQL_STAY_AT). */
static const char SQL_STAY_LAST_BEGUN[] =
    "SELECT patient_id, from_ms, to_ms FROM stays WHERE bed_id = :bed AND from_ms <= :t "
    "ORDER BY from_ms DESC, id DESC LIMIT 1";

/* Used in #store_stay_span(): when the next stay of the bed after :t begins. */
static const char SQL_STAY_NEXT_BEGIN[] =
    "SELECT min(from_ms) FROM stays WHERE bed_id = :bed AND from_ms > :t";

/* Used in #store_bed_patient_weight(). */
static const char SQL_BED_PATIENT_WEIGHT[] =
    "SELECT json_extract(baseline, '$.weight_kg') FROM patients "
    "WHERE bed_id = :bed AND status = 'admitted'";

/* Used in #store_patient_weight(). */
static const char SQL_PATIENT_WEIGHT[] =
    "SELECT json_extract(baseline, '$.weight_kg') FROM patients WHERE id = :id";

/* --- helpers ----------------------------------------------------------------- */

/* A stored JSON object column; {} if it does not parse (never expected). */
static json_t *object_col(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;

    if (json_is_object(v))
        return v;
    json_decref(v);
    return json_object();
}

/* The patient at the current row of a PATIENT_COLS statement (docs/api.md "Patients"). */
static json_t *patient_render(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "mrn", db_col_text(st, 1), "name",
                     db_col_text(st, 2), "birth_date", db_col_json_text(st, 3), "sex",
                     db_col_json_text(st, 4), "diagnosis", db_col_json_text(st, 5), "status",
                     db_col_text(st, 6), "bed", db_col_json_text(st, 7), "admitted_at",
                     db_col_json_time(st, 8), "discharged_at", db_col_json_time(st, 9),
                     "news2_scale", (json_int_t)sqlite3_column_int64(st, 10), "baseline",
                     object_col(st, 11), "reference_ranges", object_col(st, 12));
}

/* The members of an object that are not null, as compact JSON text with
 * sorted keys (caller frees), or NULL on allocation failure. A missing or
 * non-object value gives "{}". */
static char *object_text(const json_t *obj)
{
    json_t *copy = json_object();
    const char *key;
    json_t *v;
    char *text;

    if (!copy)
        return NULL;
    /* A non-object iterates as empty. */
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!json_is_null(v))
            json_object_set(copy, key, v);
    }
    text = json_dumps(copy, JSON_DUMP_FLAGS | JSON_SORT_KEYS);
    json_decref(copy);
    return text;
}

/* 1 when no stay of `bed` is open or ends after `from`, 0 when one does,
 * -1 on failure. */
static int bed_free_from(db_conn *c, const char *bed, int64_t from)
{
    sqlite3_stmt *st = db_prep(c, SQL_STAY_OVERLAP);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":from", from);
    rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 1 : rc == SQLITE_ROW ? 0 : -1;
}

static int open_stay(db_conn *c, int64_t patient_id, const char *bed, int64_t from)
{
    sqlite3_stmt *st = db_prep(c, SQL_STAY_INSERT);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":from", from);
    return db_step_done(st);
}

static int close_stay(db_conn *c, int64_t patient_id, int64_t at)
{
    sqlite3_stmt *st = db_prep(c, SQL_STAY_CLOSE);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":at", at);
    return db_step_done(st);
}

/* A patient's admission state for discharge and transfer. */
struct patient_state {
    bool admitted;
    char bed[64];  /* current bed ("" when none) */
    bool has_stay; /* an open stay exists */
    int64_t stay_from;
};

/* 1 found / 0 no such patient / -1. */
static int patient_state(db_conn *c, int64_t id, struct patient_state *s)
{
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_STATE);
    int rc;

    if (!st)
        return -1;
    memset(s, 0, sizeof *s);
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        s->admitted = strcmp(db_col_text(st, 0), "admitted") == 0;
        snprintf(s->bed, sizeof s->bed, "%s", db_col_text(st, 1));
        s->has_stay = sqlite3_column_type(st, 2) != SQLITE_NULL;
        s->stay_from = sqlite3_column_int64(st, 3);
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Maps a failed step on patients to the refusal it stands for. */
static int constraint_error(int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return ERR_BED_OCCUPIED; /* patients_one_per_bed */
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return ERR_NOT_FOUND; /* no such bed */
    return -1;
}

/* --- patients ---------------------------------------------------------------- */

int store_patient_admit(db_conn *c, const store_patient_fields *f, int64_t admitted_at, int64_t now,
                        int64_t *id)
{
    const char *bed = f->bed ? f->bed : "";
    const char *mrn = f->mrn ? f->mrn : "";
    sqlite3_stmt *st = NULL;
    char *baseline = object_text(f->baseline);
    char *ranges = object_text(f->reference_ranges);
    int rc = -1, step;
    bool moved = false;

    if (!baseline || !ranges)
        goto out;
    rc = store_bed_exists(c, bed);
    if (rc != 1) {
        rc = rc == 0 ? ERR_NOT_FOUND : -1;
        goto out;
    }
    rc = bed_free_from(c, bed, admitted_at);
    if (rc != 1) {
        rc = rc == 0 ? ERR_BED_OCCUPIED : -1;
        goto out;
    }
    rc = -1;
    st = db_prep(c, SQL_MRN_ADMITTED);
    if (!st)
        goto out;
    db_bind_text(st, ":mrn", mrn);
    step = db_step(st);
    db_done(st);
    if (step != SQLITE_DONE) {
        rc = step == SQLITE_ROW ? ERR_ALREADY_ADMITTED : -1;
        goto out;
    }
    st = db_prep(c, SQL_PATIENT_INSERT);
    if (!st)
        goto out;
    db_bind_text(st, ":mrn", mrn);
    db_bind_text(st, ":name", f->name ? f->name : "");
    db_bind_text(st, ":birth_date", f->birth_date);
    db_bind_text(st, ":sex", f->sex);
    db_bind_text(st, ":diagnosis", f->diagnosis);
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":admitted_at", admitted_at);
    db_bind_int64(st, ":news2_scale", f->news2_scale ? f->news2_scale : 1);
    db_bind_text(st, ":baseline", baseline);
    db_bind_text(st, ":ranges", ranges);
    db_bind_int64(st, ":now", now);
    step = db_step(st);
    db_done(st);
    if (step != SQLITE_DONE) {
        rc = constraint_error(step);
        goto out;
    }
    *id = sqlite3_last_insert_rowid(db_handle(c));
    if (open_stay(c, *id, bed, admitted_at) != 0 ||
        store_obs_claim_unassigned(c, *id, bed, admitted_at, &moved) != 0 ||
        (moved && store_obs_rebuild_latest(c, *id) != 0))
        goto out;
    rc = 0;
out:
    free(baseline);
    free(ranges);
    return rc;
}

int store_patient_get(db_conn *c, int64_t id, json_t **out)
{
    return db_row_json_by_id(c, SQL_PATIENT_GET, id, patient_render, out);
}

int store_patient_list(db_conn *c, const char *status, json_t **out)
{
    const char *sql = strcmp(status, "admitted") == 0     ? SQL_PATIENT_LIST_ADMITTED
                      : strcmp(status, "discharged") == 0 ? SQL_PATIENT_LIST_DISCHARGED
                                                          : SQL_PATIENT_LIST_ALL;
    return db_rows_json(db_prep(c, sql), patient_render, out);
}

/* Binds :set_<key> and :<key> for a text field of the change. */
static void bind_patch_text(sqlite3_stmt *st, const store_patient_fields *f, unsigned bit,
                            const char *set_name, const char *name, const char *value)
{
    db_bind_int64(st, set_name, (f->set & bit) != 0);
    db_bind_text(st, name, (f->set & bit) ? value : NULL);
}

int store_patient_update(db_conn *c, int64_t id, const store_patient_fields *f, int64_t now)
{
    const json_t *base = f->baseline;
    const json_t *ranges = f->reference_ranges;
    char *base_text = json_is_object(base) ? json_dumps(base, JSON_DUMP_FLAGS) : NULL;
    char *ranges_text = json_is_object(ranges) ? json_dumps(ranges, JSON_DUMP_FLAGS) : NULL;
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_UPDATE);
    int rc = -1, step;

    if (!st || (json_is_object(base) && !base_text) || (json_is_object(ranges) && !ranges_text))
        goto out;
    bind_patch_text(st, f, STORE_PF_MRN, ":set_mrn", ":mrn", f->mrn);
    bind_patch_text(st, f, STORE_PF_NAME, ":set_name", ":name", f->name);
    bind_patch_text(st, f, STORE_PF_BIRTH_DATE, ":set_birth_date", ":birth_date", f->birth_date);
    bind_patch_text(st, f, STORE_PF_SEX, ":set_sex", ":sex", f->sex);
    bind_patch_text(st, f, STORE_PF_DIAGNOSIS, ":set_diagnosis", ":diagnosis", f->diagnosis);
    db_bind_int64(st, ":set_news2_scale", f->news2_scale != 0);
    db_bind_int64(st, ":news2_scale", f->news2_scale ? f->news2_scale : 1);
    db_bind_text(st, ":baseline", base_text);
    db_bind_text(st, ":ranges", ranges_text);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    step = db_step(st);
    db_done(st);
    if (step != SQLITE_DONE) {
        /* patients_one_admission: the new MRN is another admitted record's
         * (the only unique index a patch can hit). */
        rc = step == SQLITE_CONSTRAINT_UNIQUE ? ERR_ALREADY_ADMITTED : -1;
        goto out;
    }
    rc = sqlite3_changes(db_handle(c)) == 1 ? 0 : ERR_NOT_FOUND;
out:
    free(base_text);
    free(ranges_text);
    return rc;
}

int store_patient_discharge(db_conn *c, int64_t id, int64_t at, int64_t now)
{
    struct patient_state s;
    sqlite3_stmt *st;
    bool moved = false;
    int rc = patient_state(c, id, &s);

    if (rc != 1)
        return rc == 0 ? ERR_NOT_FOUND : -1;
    if (!s.admitted)
        return ERR_NOT_ADMITTED;
    /* A stay never ends before it began (admitted_at may lie up to a few
     * minutes in the future). */
    if (s.has_stay && at < s.stay_from)
        at = s.stay_from;
    if (close_stay(c, id, at) != 0)
        return -1;
    st = db_prep(c, SQL_PATIENT_DISCHARGE);
    if (!st)
        return -1;
    db_bind_int64(st, ":at", at);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    if (db_step_done(st) != 0)
        return -1;
    if (s.bed[0] && store_obs_release(c, id, s.bed, at, &moved) != 0)
        return -1;
    return moved ? store_obs_rebuild_latest(c, id) : 0;
}

int store_patient_transfer(db_conn *c, int64_t id, const char *bed, int64_t at, int64_t now)
{
    struct patient_state s;
    sqlite3_stmt *st;
    bool moved = false;
    int rc = patient_state(c, id, &s);

    if (rc != 1)
        return rc == 0 ? ERR_NOT_FOUND : -1;
    if (!s.admitted)
        return ERR_NOT_ADMITTED;
    if (strcmp(s.bed, bed) == 0)
        return ERR_CONFLICT;
    if (s.has_stay && at < s.stay_from)
        return ERR_VALIDATION; /* would end the current stay before it began */
    rc = store_bed_exists(c, bed);
    if (rc != 1)
        return rc == 0 ? ERR_NOT_FOUND : -1;
    rc = bed_free_from(c, bed, at);
    if (rc != 1)
        return rc == 0 ? ERR_BED_OCCUPIED : -1;
    if (close_stay(c, id, at) != 0 || open_stay(c, id, bed, at) != 0)
        return -1;
    st = db_prep(c, SQL_PATIENT_SET_BED);
    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":now", now);
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return constraint_error(rc);
    if ((s.bed[0] && store_obs_release(c, id, s.bed, at, &moved) != 0) ||
        store_obs_claim_unassigned(c, id, bed, at, &moved) != 0)
        return -1;
    return moved ? store_obs_rebuild_latest(c, id) : 0;
}

int store_stay_at(db_conn *c, const char *bed, int64_t t, int64_t *patient_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_STAY_AT);
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":t", t);
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *patient_id = sqlite3_column_int64(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_stay_span(db_conn *c, const char *bed, int64_t t, store_stay *out)
{
    sqlite3_stmt *st = db_prep(c, SQL_STAY_LAST_BEGUN);
    bool last = false, covers = false;
    int64_t last_to = INT64_MIN;
    int rc;

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":t", t);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        last = true;
        out->patient_id = sqlite3_column_int64(st, 0);
        out->from_ms = sqlite3_column_int64(st, 1);
        out->to_ms =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 2);
        covers = t < out->to_ms;
        last_to = out->to_ms;
    }
    db_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    if (covers)
        return 1;
    /* Nobody at t: no stay covers anything from the end of the last one
     * (stays never overlap) until the next one begins. */
    st = db_prep(c, SQL_STAY_NEXT_BEGIN);
    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    db_bind_int64(st, ":t", t);
    rc = db_step(st);
    out->patient_id = 0;
    out->from_ms = last ? last_to : INT64_MIN;
    out->to_ms = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
                     ? sqlite3_column_int64(st, 0)
                     : INT64_MAX;
    db_done(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Runs a one-column weight query: 1 with a positive number, 0 when there is
 * no row or no weight, -1 on failure. */
static int weight_query(sqlite3_stmt *st, double *weight_kg)
{
    int rc = db_step(st);
    int found = 0;

    if (rc == SQLITE_ROW) {
        int type = sqlite3_column_type(st, 0);
        double w = sqlite3_column_double(st, 0);
        if ((type == SQLITE_INTEGER || type == SQLITE_FLOAT) && w > 0) {
            *weight_kg = w;
            found = 1;
        }
    }
    db_done(st);
    return rc == SQLITE_ROW ? found : rc == SQLITE_DONE ? 0 : -1;
}

int store_bed_patient_weight(db_conn *c, const char *bed, double *weight_kg)
{
    sqlite3_stmt *st = db_prep(c, SQL_BED_PATIENT_WEIGHT);

    if (!st)
        return -1;
    db_bind_text(st, ":bed", bed);
    return weight_query(st, weight_kg);
}

int store_patient_weight(db_conn *c, int64_t patient_id, double *weight_kg)
{
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_WEIGHT);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", patient_id);
    return weight_query(st, weight_kg);
}
