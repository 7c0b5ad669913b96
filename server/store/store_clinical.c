/* store_clinical: what the clinical worker (clinical.c) and the toxicity
 * view read: a patient's observation history in the engine's form, the
 * admitted patients, and the devices on occupied beds. */
#include "store.h"
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/* Used in #store_clinical_history(): the patient's ids from index
 * (patient_id, code, time_ms), one range per code, then their rows in id
 * order, which is the table's own order: one pass over its pages. Reading
 * each code's range in time order instead visits every table page of the
 * stay once per code; since migration 0010 dropped the (patient, time)
 * index that made a whole-stay load 2.5x slower, this form 2.2x faster
 * again (docs/performance.md, "A whole stay, read once"). The rows are put
 * in (code, time, id) order in memory (store_clinical_history). */
static const char SQL_HISTORY[] = STORE_PATIENT_CODES
    "SELECT code, value_num, value_text, time_ms, id FROM observations WHERE id IN "
    "(SELECT id FROM observations WHERE patient_id = :patient "
    "AND code IN (SELECT code FROM pc) AND time_ms <= :upto) "
    "AND " STORE_OBS_VALID("observations") "ORDER BY id";

/* Used in #store_clinical_history_since(). The unary + keeps SQLite off the
 * patient index, so the scan is the rowid range of rows stored since the
 * last load (a few), not the patient's whole history. */
static const char SQL_HISTORY_SINCE[] =
    "SELECT code, value_num, value_text, time_ms, id FROM observations "
    "WHERE id > :after AND +patient_id = :patient AND " STORE_OBS_VALID(
        "observations") "ORDER BY id";

/* Used in #store_clinical_rows_since(): every row stored after :after, of
 * any patient or none, in id order (the rowid range of the table). */
static const char SQL_ROWS_SINCE[] =
    "SELECT code, value_num, value_text, time_ms, id, patient_id FROM observations "
    "WHERE id > :after AND " STORE_OBS_VALID("observations") "ORDER BY id";

/* Used in #store_clinical_max_obs_id(). */
static const char SQL_MAX_OBS_ID[] = "SELECT coalesce(max(id), 0) FROM observations";

/* Used in #store_clinical_patient_stamp(). */
static const char SQL_PATIENT_STAMP[] = "SELECT updated_at, status FROM patients WHERE id = :id";

/* Used in #store_clinical_admitted(). */
static const char SQL_ADMITTED[] =
    "SELECT id, updated_at, bed_id FROM patients WHERE status = 'admitted' ORDER BY id";

/* Used in #store_clinical_bed_devices(): each active device on a bed with
 * an admitted patient, with when that patient's stay in the bed began (a
 * device is not "silent" for a patient who was not there). */
static const char SQL_BED_DEVICES[] =
    "SELECT d.id, d.serial, d.bed_id, p.id, d.last_seen, d.created_at, "
    "(SELECT max(s.from_ms) FROM stays s WHERE s.bed_id = d.bed_id AND s.patient_id = p.id "
    "AND s.to_ms IS NULL) FROM devices d "
    "JOIN patients p ON p.bed_id = d.bed_id AND p.status = 'admitted' "
    "WHERE d.revoked_at IS NULL ORDER BY d.id";

/* The engine value of one row; -1 when the code or value is unknown to this
 * build (e.g. a categorical value removed from the catalogue). */
static int row_value(sqlite3_stmt *st, int *code_id, double *v)
{
    const obs_code *oc = obs_code_lookup(db_col_text(st, 0));

    if (!oc)
        return -1;
    *code_id = oc->id;
    if (oc->kind == OBS_CATEGORICAL) {
        const char *text = db_col_text(st, 2);
        for (int i = 0; oc->values && oc->values[i]; i++)
            if (strcmp(oc->values[i], text) == 0) {
                *v = i;
                return 0;
            }
        return -1;
    }
    if (sqlite3_column_type(st, 1) == SQLITE_NULL)
        return -1;
    *v = sqlite3_column_double(st, 1);
    return 0;
}

static int visit_rows(sqlite3_stmt *st, store_obs_visit visit, void *arg, int64_t *max_id)
{
    int rc;

    while ((rc = db_step(st)) == SQLITE_ROW) {
        int code = -1, stop;
        double v = 0;
        int64_t id = sqlite3_column_int64(st, 4);
        if (max_id && id > *max_id)
            *max_id = id;
        if (row_value(st, &code, &v) != 0)
            continue;
        stop = visit(arg, code, sqlite3_column_int64(st, 3), v, id);
        if (stop != 0)
            return stop;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* One row of store_clinical_history in the engine's form; code -1 when
 * row_value does not know it. */
struct hist_row {
    int code;
    double v;
    int64_t t_ms, id;
};

static void fill_hist_row(sqlite3_stmt *st, void *elem)
{
    struct hist_row *r = elem;

    r->v = 0;
    if (row_value(st, &r->code, &r->v) != 0)
        r->code = -1; /* also when it had set the code: an unknown value */
    r->t_ms = sqlite3_column_int64(st, 3);
    r->id = sqlite3_column_int64(st, 4);
}

static int cmp_hist_row(const void *a, const void *b)
{
    const struct hist_row *x = a, *y = b;

    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int store_clinical_history(db_conn *c, int64_t patient_id, int64_t upto, store_obs_visit visit,
                           void *arg)
{
    sqlite3_stmt *st = db_prep(c, SQL_HISTORY);
    struct hist_row *rows = NULL;
    size_t n = 0;
    int rc = 0;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":upto", upto);
    if (db_collect_rows(st, sizeof *rows, fill_hist_row, (void **)&rows, &n) != 0)
        return -1;
    if (n > 1)
        qsort(rows, n, sizeof *rows, cmp_hist_row);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (rows[i].code >= 0)
            rc = visit(arg, rows[i].code, rows[i].t_ms, rows[i].v, rows[i].id);
    free(rows);
    return rc;
}

int store_clinical_history_since(db_conn *c, int64_t patient_id, int64_t after_id,
                                 store_obs_visit visit, void *arg, int64_t *max_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_HISTORY_SINCE);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":after", after_id);
    rc = visit_rows(st, visit, arg, max_id);
    db_done(st);
    return rc;
}

/* store_clinical_rows_since's rows through visit_rows: the patient is
 * column 5 of the row being visited; rows filed to nobody are passed over. */
struct with_patient {
    sqlite3_stmt *st;
    store_row_visit visit;
    void *arg;
};

static int visit_with_patient(void *p, int code_id, int64_t t_ms, double v, int64_t obs_id)
{
    const struct with_patient *w = p;

    if (sqlite3_column_type(w->st, 5) == SQLITE_NULL)
        return 0;
    return w->visit(w->arg, sqlite3_column_int64(w->st, 5), code_id, t_ms, v, obs_id);
}

int store_clinical_rows_since(db_conn *c, int64_t after_id, store_row_visit visit, void *arg,
                              int64_t *max_id)
{
    sqlite3_stmt *st = db_prep(c, SQL_ROWS_SINCE);
    struct with_patient w = {st, visit, arg};
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":after", after_id);
    rc = visit_rows(st, visit_with_patient, &w, max_id);
    db_done(st);
    return rc == 0 ? 0 : -1;
}

int store_clinical_max_obs_id(db_conn *c, int64_t *max_id)
{
    return db_step_int64(db_prep(c, SQL_MAX_OBS_ID), max_id);
}

static void fill_admitted(sqlite3_stmt *st, void *elem)
{
    store_admitted *a = elem;

    a->id = sqlite3_column_int64(st, 0);
    a->updated_at = sqlite3_column_int64(st, 1);
    snprintf(a->bed, sizeof a->bed, "%s", db_col_text(st, 2));
}

int store_clinical_admitted(db_conn *c, store_admitted **out, size_t *n)
{
    void *arr;
    int rc = db_collect_rows(db_prep(c, SQL_ADMITTED), sizeof **out, fill_admitted, &arr, n);

    *out = arr;
    return rc;
}

static void fill_bed_device(sqlite3_stmt *st, void *elem)
{
    store_bed_device *d = elem;
    int64_t heard, stay;

    d->device_id = sqlite3_column_int64(st, 0);
    snprintf(d->serial, sizeof d->serial, "%s", db_col_text(st, 1));
    snprintf(d->bed, sizeof d->bed, "%s", db_col_text(st, 2));
    d->patient_id = sqlite3_column_int64(st, 3);
    heard = sqlite3_column_type(st, 4) != SQLITE_NULL ? sqlite3_column_int64(st, 4)
                                                      : sqlite3_column_int64(st, 5);
    stay = sqlite3_column_type(st, 6) != SQLITE_NULL ? sqlite3_column_int64(st, 6) : 0;
    d->last_heard_ms = heard > stay ? heard : stay;
}

int store_clinical_bed_devices(db_conn *c, store_bed_device **out, size_t *n)
{
    void *arr;
    int rc = db_collect_rows(db_prep(c, SQL_BED_DEVICES), sizeof **out, fill_bed_device, &arr, n);

    *out = arr;
    return rc;
}

int store_snapshot_begin(db_conn *c)
{
    return db_exec(c, "BEGIN") == SQLITE_OK ? 0 : -1;
}

void store_snapshot_end(db_conn *c)
{
    db_exec(c, "COMMIT");
}

int store_clinical_patient_stamp(db_conn *c, int64_t id, int64_t *updated_at, bool *admitted)
{
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_STAMP);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *updated_at = sqlite3_column_int64(st, 0);
        *admitted = strcmp(db_col_text(st, 1), "admitted") == 0;
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
