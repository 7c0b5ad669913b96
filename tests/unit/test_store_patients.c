/* Unit tests for store_patients: admission, the one-patient-per-bed rule,
 * transfer and discharge, filing by stay time (store_stay_at) and PATCH
 * merge semantics, on a freshly migrated in-memory database. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/store/store_int.h" /* the store's statement helpers */
#include "migrate.h"
#include "reply.h"
#include "api.h"
#include "store.h"

/* 2026-11-27T14:03:05Z and some later times. */
#define T0     INT64_C(1795788185000)
#define HOUR   INT64_C(3600000)
#define T0_TXT "2026-11-27T14:03:05.000Z"

static int setup(void **state)
{
    db_conn *c = db_open(":memory:", true);

    if (!c || migrate_apply(c) != 0)
        return -1;
    if (store_bed_insert(c, "B1", "Bed 1", T0) != 0 ||
        store_bed_insert(c, "B2", "Bed 2", T0) != 0 ||
        store_bed_insert(c, "B3", "Bed 3", T0) != 0 ||
        store_bed_insert(c, "B10", "Bed 10", T0) != 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

static json_t *body(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);

    if (!j)
        fail_msg("bad test JSON: %s: %s", text, err.text);
    return j;
}

/* Applies the PATCH body `patch` through the handler's field mapping. */
static int update(db_conn *c, int64_t id, const json_t *patch, int64_t now)
{
    store_patient_fields f;

    api_patient_fields(patch, &f);
    return store_patient_update(c, id, &f, now);
}

/* Admits the patient described by `text`; returns the store's code. */
static int admit(db_conn *c, const char *text, int64_t at, int64_t *id)
{
    json_t *p = body(text);
    store_patient_fields f;
    int rc;

    api_patient_fields(p, &f);
    rc = store_patient_admit(c, &f, at, at, id);

    json_decref(p);
    return rc;
}

static int64_t admit_ok(db_conn *c, const char *bed, int64_t at)
{
    static int serial;
    char text[128];
    int64_t id = 0;

    /* A fresh MRN each time: one person is admitted at most once at a time. */
    snprintf(text, sizeof text, "{\"mrn\": \"M-%d\", \"name\": \"Pat %s\", \"bed\": \"%s\"}",
             ++serial, bed, bed);
    assert_int_equal(admit(c, text, at, &id), 0);
    assert_true(id > 0);
    return id;
}

static json_t *get(db_conn *c, int64_t id)
{
    json_t *p = NULL;

    assert_int_equal(store_patient_get(c, id, &p), 1);
    return p;
}

/* store_stay_at as a patient id, 0 for nobody. */
static int64_t stay_at(db_conn *c, const char *bed, int64_t t)
{
    int64_t pid = -1;
    int rc = store_stay_at(c, bed, t, &pid);

    assert_true(rc == 0 || rc == 1);
    return rc == 1 ? pid : 0;
}

/* The occupant of `bed` at t. Also checks that store_stay_span (ingest's
 * one lookup per batch) agrees with store_stay_at at t and at both ends of
 * the interval it returns, so every occupant() below checks it too. */
static int64_t occupant(db_conn *c, const char *bed, int64_t t)
{
    int64_t pid = stay_at(c, bed, t);
    store_stay span = {.patient_id = -1};

    assert_int_equal(store_stay_span(c, bed, t, &span), pid ? 1 : 0);
    assert_int_equal(span.patient_id, pid);
    assert_true(span.from_ms <= t && t < span.to_ms);
    if (span.from_ms != INT64_MIN)
        assert_int_equal(stay_at(c, bed, span.from_ms), pid);
    if (span.to_ms != INT64_MAX)
        assert_int_equal(stay_at(c, bed, span.to_ms - 1), pid);
    return pid;
}

static void exec(db_conn *c, const char *sql)
{
    assert_int_equal(sqlite3_exec(db_handle(c), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* The first column of the first row of `sql`, or "". */
static const char *column_text(db_conn *c, const char *sql)
{
    static char buf[256];
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(c), sql, -1, &st, NULL), SQLITE_OK);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static const char *str(const json_t *p, const char *key)
{
    return json_string_value(json_object_get(p, key));
}

/* --- admission ---------------------------------------------------------------- */

static void test_admit_and_get(void **state)
{
    db_conn *c = *state;
    int64_t id = 0;
    json_t *p, *b;

    assert_int_equal(admit(c,
                           "{\"mrn\": \"123\", \"name\": \"Ada\", \"birth_date\": \"1961-04-02\","
                           " \"sex\": \"female\", \"diagnosis\": \"melanoma\", \"bed\": \"B1\","
                           " \"news2_scale\": 2, \"baseline\": {\"weight_kg\": 81.5,"
                           " \"stools_per_day\": 0, \"ast_u_l\": null},"
                           " \"reference_ranges\": {\"creatinine_uln\": 1.1}}",
                           T0, &id),
                     0);
    p = get(c, id);
    assert_int_equal(json_integer_value(json_object_get(p, "id")), id);
    assert_string_equal(str(p, "mrn"), "123");
    assert_string_equal(str(p, "name"), "Ada");
    assert_string_equal(str(p, "birth_date"), "1961-04-02");
    assert_string_equal(str(p, "sex"), "female");
    assert_string_equal(str(p, "diagnosis"), "melanoma");
    assert_string_equal(str(p, "status"), "admitted");
    assert_string_equal(str(p, "bed"), "B1");
    assert_string_equal(str(p, "admitted_at"), T0_TXT);
    assert_true(json_is_null(json_object_get(p, "discharged_at")));
    assert_int_equal(json_integer_value(json_object_get(p, "news2_scale")), 2);
    b = json_object_get(p, "baseline");
    assert_true(json_number_value(json_object_get(b, "weight_kg")) == 81.5);
    assert_int_equal(json_integer_value(json_object_get(b, "stools_per_day")), 0);
    assert_null(json_object_get(b, "ast_u_l")); /* a null on admission is "not given" */
    assert_true(json_number_value(json_object_get(json_object_get(p, "reference_ranges"),
                                                  "creatinine_uln")) == 1.1);
    json_decref(p);
    /* Stored as entered: 1.1, not 1.1000000000000001. */
    assert_string_equal(column_text(c, "SELECT reference_ranges FROM patients WHERE id = 1"),
                        "{\"creatinine_uln\":1.1}");

    /* Optional fields absent: nulls, scale 1, empty objects. */
    id = admit_ok(c, "B2", T0);
    p = get(c, id);
    assert_true(json_is_null(json_object_get(p, "birth_date")));
    assert_true(json_is_null(json_object_get(p, "sex")));
    assert_true(json_is_null(json_object_get(p, "diagnosis")));
    assert_int_equal(json_integer_value(json_object_get(p, "news2_scale")), 1);
    assert_int_equal(json_object_size(json_object_get(p, "baseline")), 0);
    assert_int_equal(json_object_size(json_object_get(p, "reference_ranges")), 0);
    json_decref(p);

    assert_int_equal(store_patient_get(c, 999, &p), 0);
}

static void test_admit_refusals(void **state)
{
    db_conn *c = *state;
    int64_t id = 0, first = admit_ok(c, "B1", T0);

    /* Occupied now. */
    assert_int_equal(admit(c, "{\"mrn\": \"2\", \"name\": \"B\", \"bed\": \"B1\"}", T0 + HOUR, &id),
                     ERR_BED_OCCUPIED);
    /* No such bed. */
    assert_int_equal(admit(c, "{\"mrn\": \"2\", \"name\": \"B\", \"bed\": \"B9\"}", T0, &id),
                     ERR_NOT_FOUND);
    /* Once discharged at T0+2h, a back-dated admission overlapping the
     * previous stay is refused; one from the discharge on is fine. */
    assert_int_equal(store_patient_discharge(c, first, T0 + 2 * HOUR, T0 + 2 * HOUR), 0);
    assert_int_equal(admit(c, "{\"mrn\": \"2\", \"name\": \"B\", \"bed\": \"B1\"}", T0 + HOUR, &id),
                     ERR_BED_OCCUPIED);
    assert_int_equal(
        admit(c, "{\"mrn\": \"2\", \"name\": \"B\", \"bed\": \"B1\"}", T0 + 2 * HOUR, &id), 0);
    assert_int_equal(occupant(c, "B1", T0 + 2 * HOUR - 1), first);
    assert_int_equal(occupant(c, "B1", T0 + 2 * HOUR), id);
}

/* One person, one admitted record: a second admission of an admitted MRN
 * is refused; after discharge the MRN may be admitted again. */
static void test_admit_same_mrn_refused(void **state)
{
    db_conn *c = *state;
    int64_t id = 0, first = 0;

    assert_int_equal(admit(c, "{\"mrn\": \"X-1\", \"name\": \"A\", \"bed\": \"B1\"}", T0, &first),
                     0);
    assert_int_equal(admit(c, "{\"mrn\": \"X-1\", \"name\": \"A\", \"bed\": \"B2\"}", T0, &id),
                     ERR_ALREADY_ADMITTED);
    assert_int_equal(store_patient_discharge(c, first, T0 + HOUR, T0 + HOUR), 0);
    assert_int_equal(
        admit(c, "{\"mrn\": \"X-1\", \"name\": \"A\", \"bed\": \"B2\"}", T0 + HOUR, &id), 0);
}

/* The partial unique index is the last line of defence: a row that is
 * admitted to B3 without a stay (as a bad import might leave) still makes a
 * second admission fail as bed_occupied, with nothing half-written. */
static void test_admit_unique_index_maps_to_occupied(void **state)
{
    db_conn *c = *state;
    int64_t id = 0;
    json_t *list = NULL;

    exec(c, "INSERT INTO patients (mrn, name, bed_id, admitted_at, created_at, updated_at) "
            "VALUES ('X', 'Stray', 'B3', 0, 0, 0)");
    exec(c, "SAVEPOINT job");
    assert_int_equal(admit(c, "{\"mrn\": \"2\", \"name\": \"B\", \"bed\": \"B3\"}", T0, &id),
                     ERR_BED_OCCUPIED);
    exec(c, "ROLLBACK TO job");
    exec(c, "RELEASE job");
    assert_int_equal(store_patient_list(c, "all", &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

/* --- transfer and filing by time ------------------------------------------------ */

static void test_transfer_and_stay_at(void **state)
{
    db_conn *c = *state;
    int64_t t1 = T0 + 3 * HOUR;
    int64_t p1 = admit_ok(c, "B1", T0), p2, p3;
    json_t *p;

    assert_int_equal(occupant(c, "B1", T0 - 1), 0);
    assert_int_equal(occupant(c, "B1", T0), p1);
    assert_int_equal(store_patient_transfer(c, p1, "B2", t1, t1), 0);
    p = get(c, p1);
    assert_string_equal(str(p, "bed"), "B2");
    assert_string_equal(str(p, "status"), "admitted");
    json_decref(p);

    /* A reading taken before the move belongs to whoever was in the bed
     * then; at the move's instant, to the bed's new state. */
    assert_int_equal(occupant(c, "B1", t1 - 1), p1);
    assert_int_equal(occupant(c, "B1", t1), 0);
    assert_int_equal(occupant(c, "B2", t1 - 1), 0);
    assert_int_equal(occupant(c, "B2", t1), p1);
    assert_int_equal(occupant(c, "B2", t1 + 100 * HOUR), p1);

    /* The freed bed takes a new patient from the move on. */
    p2 = admit_ok(c, "B1", t1);
    assert_int_equal(occupant(c, "B1", t1 - 1), p1);
    assert_int_equal(occupant(c, "B1", t1), p2);

    /* Refusals. */
    assert_int_equal(store_patient_transfer(c, p1, "B2", t1 + HOUR, t1), ERR_CONFLICT);
    assert_int_equal(store_patient_transfer(c, p1, "B1", t1 + HOUR, t1), ERR_BED_OCCUPIED);
    assert_int_equal(store_patient_transfer(c, p1, "B9", t1 + HOUR, t1), ERR_NOT_FOUND);
    assert_int_equal(store_patient_transfer(c, p1, "B3", t1 - 1, t1), ERR_VALIDATION);
    assert_int_equal(store_patient_transfer(c, 999, "B3", t1, t1), ERR_NOT_FOUND);

    /* Into a bed that was occupied until later than the requested time. */
    p3 = admit_ok(c, "B3", T0);
    assert_int_equal(store_patient_discharge(c, p3, t1 + 2 * HOUR, t1 + 2 * HOUR), 0);
    assert_int_equal(store_patient_transfer(c, p1, "B3", t1 + HOUR, t1 + 2 * HOUR),
                     ERR_BED_OCCUPIED);
    assert_int_equal(store_patient_transfer(c, p1, "B3", t1 + 2 * HOUR, t1 + 2 * HOUR), 0);
    assert_int_equal(occupant(c, "B3", t1 + 2 * HOUR - 1), p3);
    assert_int_equal(occupant(c, "B3", t1 + 2 * HOUR), p1);
    assert_int_equal(occupant(c, "B2", t1 + 2 * HOUR), 0);
}

static void test_discharge_and_list(void **state)
{
    db_conn *c = *state;
    int64_t p10 = admit_ok(c, "B10", T0), p2 = admit_ok(c, "B2", T0 + 1);
    int64_t p1 = admit_ok(c, "B1", T0 + 2);
    json_t *p, *list = NULL;

    assert_int_equal(store_patient_discharge(c, p2, T0 + HOUR, T0 + HOUR), 0);
    p = get(c, p2);
    assert_string_equal(str(p, "status"), "discharged");
    assert_true(json_is_null(json_object_get(p, "bed")));
    assert_non_null(str(p, "discharged_at"));
    json_decref(p);
    assert_int_equal(occupant(c, "B2", T0 + HOUR - 1), p2);
    assert_int_equal(occupant(c, "B2", T0 + HOUR), 0);

    assert_int_equal(store_patient_discharge(c, p2, T0 + 2 * HOUR, T0 + 2 * HOUR),
                     ERR_NOT_ADMITTED);
    assert_int_equal(store_patient_transfer(c, p2, "B3", T0 + 2 * HOUR, T0 + 2 * HOUR),
                     ERR_NOT_ADMITTED);
    assert_int_equal(store_patient_discharge(c, 999, T0, T0), ERR_NOT_FOUND);

    /* Admitted: by bed in natural order (B1, B10), not by id. */
    assert_int_equal(store_patient_list(c, "admitted", &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), p1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "id")), p10);
    json_decref(list);
    assert_int_equal(store_patient_list(c, "discharged", &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* All: newest admission first. */
    assert_int_equal(store_patient_list(c, "all", &list), 0);
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), p1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 2), "id")), p10);
    json_decref(list);
}

/* A discharge can never end a stay before it began. */
static void test_discharge_before_admission_clamps(void **state)
{
    db_conn *c = *state;
    int64_t p = admit_ok(c, "B1", T0 + HOUR);
    json_t *j;

    assert_int_equal(store_patient_discharge(c, p, T0, T0), 0);
    j = get(c, p);
    assert_string_equal(str(j, "discharged_at"), str(j, "admitted_at"));
    json_decref(j);
}

/* store_stay_span against store_stay_at over a bed's whole history:
 * admissions, a back-dated admission into a gap, a transfer out and in, a
 * discharge clamped to a zero-length stay, and empty stretches. Every
 * instant inside a returned interval has the same answer. */
static void test_stay_span_matches_stay_at(void **state)
{
    db_conn *c = *state;
    int64_t pa = admit_ok(c, "B1", T0), pb, pc, pd;

    assert_int_equal(store_patient_transfer(c, pa, "B2", T0 + 2 * HOUR, T0 + 2 * HOUR), 0);
    /* Entered late (at 5 h): in B1 from 3 h to 4 h. */
    pc = admit_ok(c, "B1", T0 + 3 * HOUR);
    assert_int_equal(store_patient_discharge(c, pc, T0 + 4 * HOUR, T0 + 5 * HOUR), 0);
    pb = admit_ok(c, "B1", T0 + 4 * HOUR);
    assert_int_equal(store_patient_discharge(c, pb, T0 + 5 * HOUR, T0 + 5 * HOUR), 0);
    /* Discharged "before" admission: a zero-length stay, then a new one
     * from the same instant. */
    pd = admit_ok(c, "B1", T0 + 6 * HOUR);
    assert_int_equal(store_patient_discharge(c, pd, T0 + HOUR, T0 + 6 * HOUR), 0);
    pd = admit_ok(c, "B1", T0 + 6 * HOUR);
    assert_int_equal(store_patient_transfer(c, pa, "B1", T0 + 7 * HOUR, T0 + 7 * HOUR),
                     ERR_BED_OCCUPIED);

    for (int64_t t = T0 - HOUR; t <= T0 + 8 * HOUR; t += HOUR / 4) {
        store_stay span;
        int64_t pid = occupant(c, "B1", t);
        assert_int_equal(store_stay_span(c, "B1", t, &span), pid ? 1 : 0);
        for (int64_t u = T0 - HOUR; u <= T0 + 8 * HOUR; u += HOUR / 8)
            if (u >= span.from_ms && u < span.to_ms && stay_at(c, "B1", u) != pid)
                fail_msg("span of t=%lld says %lld at u=%lld, store_stay_at %lld",
                         (long long)(t - T0), (long long)pid, (long long)(u - T0),
                         (long long)stay_at(c, "B1", u));
    }
    assert_int_equal(occupant(c, "B1", T0 + 2 * HOUR - 1), pa);
    assert_int_equal(occupant(c, "B1", T0 + 3 * HOUR), pc);
    assert_int_equal(occupant(c, "B1", T0 + 4 * HOUR), pb);
    assert_int_equal(occupant(c, "B1", T0 + 5 * HOUR), 0);
    assert_int_equal(occupant(c, "B1", T0 + 6 * HOUR), pd);
    assert_int_equal(occupant(c, "B10", T0), 0);
}

/* --- PATCH ----------------------------------------------------------------------- */

static void test_patch_merge(void **state)
{
    db_conn *c = *state;
    int64_t id = 0;
    json_t *patch, *p, *b, *rr;

    assert_int_equal(admit(c,
                           "{\"mrn\": \"1\", \"name\": \"Ada\", \"bed\": \"B1\", \"sex\": \"f\","
                           " \"birth_date\": \"1961-04-02\", \"baseline\": {\"weight_kg\": 80,"
                           " \"creatinine_mg_dl\": 0.9}, \"reference_ranges\": {\"ph_lln\": 7.3}}",
                           T0, &id),
                     0);
    patch =
        body("{\"name\": \"Ada L.\", \"birth_date\": null, \"news2_scale\": 2,"
             " \"baseline\": {\"weight_kg\": 82.5, \"creatinine_mg_dl\": null, \"ast_u_l\": 25},"
             " \"reference_ranges\": {\"ph_uln\": 7.5}}");
    assert_int_equal(update(c, id, patch, T0 + HOUR), 0);
    json_decref(patch);

    p = get(c, id);
    assert_string_equal(str(p, "name"), "Ada L.");
    assert_string_equal(str(p, "mrn"), "1");                     /* not named: untouched */
    assert_string_equal(str(p, "sex"), "f");                     /* not named: untouched */
    assert_true(json_is_null(json_object_get(p, "birth_date"))); /* null clears */
    assert_int_equal(json_integer_value(json_object_get(p, "news2_scale")), 2);
    b = json_object_get(p, "baseline");
    assert_int_equal(json_object_size(b), 2);
    assert_true(json_number_value(json_object_get(b, "weight_kg")) == 82.5);
    assert_int_equal(json_integer_value(json_object_get(b, "ast_u_l")), 25);
    assert_null(json_object_get(b, "creatinine_mg_dl")); /* null removes the key */
    rr = json_object_get(p, "reference_ranges");
    assert_int_equal(json_object_size(rr), 2);
    assert_true(json_number_value(json_object_get(rr, "ph_lln")) == 7.3);
    assert_true(json_number_value(json_object_get(rr, "ph_uln")) == 7.5);
    json_decref(p);

    /* An empty patch changes nothing; an unknown patient is not found. */
    patch = body("{}");
    assert_int_equal(update(c, id, patch, T0 + HOUR), 0);
    assert_int_equal(update(c, 999, patch, T0 + HOUR), ERR_NOT_FOUND);
    json_decref(patch);
    p = get(c, id);
    assert_int_equal(json_object_size(json_object_get(p, "baseline")), 2);
    json_decref(p);
}

static void test_weights(void **state)
{
    db_conn *c = *state;
    int64_t id = 0, other = admit_ok(c, "B2", T0);
    double w = 0;

    assert_int_equal(admit(c,
                           "{\"mrn\": \"1\", \"name\": \"A\", \"bed\": \"B1\", \"baseline\": "
                           "{\"weight_kg\": 81.5}}",
                           T0, &id),
                     0);
    assert_int_equal(store_patient_weight(c, id, &w), 1);
    assert_true(w == 81.5);
    w = 0;
    assert_int_equal(store_bed_patient_weight(c, "B1", &w), 1);
    assert_true(w == 81.5);
    assert_int_equal(store_patient_weight(c, other, &w), 0); /* no baseline weight */
    assert_int_equal(store_bed_patient_weight(c, "B2", &w), 0);
    assert_int_equal(store_bed_patient_weight(c, "B3", &w), 0); /* empty bed */
    assert_int_equal(store_patient_weight(c, 999, &w), 0);
}

/* --- re-filing device readings when stays start or end in the past ---------------- */

static int64_t obs_patient(db_conn *c, const char *msg_id)
{
    static const char sql[] = "SELECT patient_id FROM observations WHERE msg_id = ?1";
    sqlite3_stmt *st = NULL;
    int64_t pid = -1;

    assert_int_equal(sqlite3_prepare_v2(db_handle(c), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, msg_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    pid = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return pid;
}

/* A device reading filed to `patient` (0 = unassigned). */
static void add_reading(db_conn *c, int64_t device, const char *bed, int64_t patient, int64_t t,
                        const char *msg_id)
{
    static const char sql[] =
        "INSERT INTO observations (patient_id, bed_id, code, value_num, time_ms, received_after_ms,"
        " device_id, msg_id) VALUES (nullif(?1, 0), ?2, 'hr', 80, ?3, 0, ?4, ?5)";
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(c), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, patient);
    sqlite3_bind_text(st, 2, bed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t);
    sqlite3_bind_int64(st, 4, device);
    sqlite3_bind_text(st, 5, msg_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* The msg_id of the observation `latest` holds for (patient, code), or "". */
static const char *latest_msg(db_conn *c, int64_t patient, const char *code)
{
    static const char sql[] = "SELECT o.msg_id FROM latest l JOIN observations o ON o.id = l.obs_id"
                              " WHERE l.patient_id = ?1 AND l.code = ?2";
    static char buf[64];
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(c), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, patient);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static void test_refile_readings(void **state)
{
    db_conn *c = *state;
    int64_t p1, p2;

    exec(c, "INSERT INTO devices (id, serial, bed_id, created_at) VALUES (1, 'M1', 'B1', 0),"
            " (2, 'M2', 'B2', 0)");
    /* The monitor in B1 posted while the bed looked empty; the admission
     * is entered later with the real admission time. */
    add_reading(c, 1, "B1", 0, T0 - 1, "early");
    add_reading(c, 1, "B1", 0, T0, "a");
    add_reading(c, 1, "B1", 0, T0 + HOUR, "b");
    p1 = admit_ok(c, "B1", T0);
    assert_int_equal(obs_patient(c, "early"), 0);
    assert_int_equal(obs_patient(c, "a"), p1);
    assert_int_equal(obs_patient(c, "b"), p1);
    assert_string_equal(latest_msg(c, p1, "hr"), "b");

    /* Readings filed to p1 in B1, then a transfer back-dated to T0+30min:
     * B1's later readings are no longer p1's; B2's unassigned ones are. */
    add_reading(c, 1, "B1", p1, T0 + 2 * HOUR, "c");
    add_reading(c, 2, "B2", 0, T0 + HOUR, "d");
    add_reading(c, 2, "B2", 0, T0, "e");
    assert_int_equal(store_patient_transfer(c, p1, "B2", T0 + HOUR / 2, T0 + 3 * HOUR), 0);
    assert_int_equal(obs_patient(c, "a"), p1);
    assert_int_equal(obs_patient(c, "b"), 0);
    assert_int_equal(obs_patient(c, "c"), 0);
    assert_int_equal(obs_patient(c, "d"), p1);
    assert_int_equal(obs_patient(c, "e"), 0);
    assert_string_equal(latest_msg(c, p1, "hr"), "d"); /* not B1's "c" any more */

    /* The next occupant of B1, admitted from the move on, claims them. */
    p2 = admit_ok(c, "B1", T0 + HOUR / 2);
    assert_int_equal(obs_patient(c, "b"), p2);
    assert_int_equal(obs_patient(c, "c"), p2);
    assert_int_equal(obs_patient(c, "a"), p1);
    assert_string_equal(latest_msg(c, p2, "hr"), "c");

    /* Discharge releases nothing taken before it. */
    assert_int_equal(store_patient_discharge(c, p1, T0 + 3 * HOUR, T0 + 3 * HOUR), 0);
    assert_int_equal(obs_patient(c, "d"), p1);
    assert_string_equal(latest_msg(c, p1, "hr"), "d");
}

/* Migration 0010 stores the receipt time as its distance after the
 * observation time: it reads back exactly, also when the device clock runs
 * ahead (received before "taken") and for a reading years old. */
static void test_received_time_round_trip(void **state)
{
    db_conn *c = *state;
    static const int64_t after[] = {0, 1, 250, -1500, 10 * 365 * 24 * HOUR};
    obs_source src = {.device_id = 1, .bed = "B1"};
    obs_reading o = {.code = obs_code_lookup("hr"), .value = 80};
    store_obs_row row;
    int64_t id;

    exec(c, "INSERT INTO devices (id, serial, bed_id, created_at) VALUES (1, 'M1', 'B1', 0)");
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        o.time_ms = T0 - (int64_t)i * HOUR;
        snprintf(o.id, sizeof o.id, "m%zu", i);
        assert_int_equal(store_obs_insert(c, &src, 0, &o, o.time_ms + after[i], &id), 0);
        assert_int_equal(store_obs_get(c, id, &row), 1);
        assert_int_equal(row.time_ms, o.time_ms);
        assert_int_equal(row.received_ms, o.time_ms + after[i]);
        assert_int_equal(store_obs_by_msg(c, 1, 0, o.id, &row), 1);
        assert_int_equal(row.received_ms, o.time_ms + after[i]);
    }
}

/* Migration 0010 on a database at version 9: the receipt times and the
 * invalid marks of existing rows come through exactly, and the dropped
 * index is gone. */
static void test_migration_0010_keeps_rows(void **state)
{
    db_conn *c = db_open(":memory:", true);
    char sql[512];
    store_obs_row row;
    store_obs_status st;

    (void)state;
    assert_non_null(c);
    assert_int_equal(migrate_apply_upto(c, 9), 0);
    exec(c, "INSERT INTO beds (id, label, created_at) VALUES ('B1', 'Bed 1', 0);"
            "INSERT INTO devices (id, serial, bed_id, created_at) VALUES (1, 'M1', 'B1', 0)");
    snprintf(sql, sizeof sql,
             "INSERT INTO observations (id, bed_id, code, value_num, time_ms, received_ms, "
             "device_id, msg_id) VALUES (1, 'B1', 'hr', 80, %lld, %lld, 1, 'a'), "
             "(2, 'B1', 'hr', 81, %lld, %lld, 1, 'b'); UPDATE observations SET invalid_at = "
             "%lld, invalid_by = 'nurse1', invalid_reason = 'artefact' WHERE id = 2",
             (long long)T0, (long long)(T0 + 250), (long long)(T0 + HOUR),
             (long long)(T0 + HOUR - 40), (long long)(T0 + 2 * HOUR));
    exec(c, sql);
    assert_int_equal(migrate_apply(c), 0);

    assert_int_equal(store_obs_get(c, 1, &row), 1);
    assert_int_equal(row.received_ms, T0 + 250);
    assert_false(row.invalid);
    assert_int_equal(store_obs_get(c, 2, &row), 1);
    assert_int_equal(row.received_ms, T0 + HOUR - 40);
    assert_true(row.invalid);
    assert_int_equal(store_obs_invalid_get(c, 2, &st), 1);
    assert_non_null(st.invalid);
    assert_string_equal(json_string_value(json_object_get(st.invalid, "by")), "nurse1");
    assert_string_equal(json_string_value(json_object_get(st.invalid, "reason")), "artefact");
    json_decref(st.invalid);
    assert_int_equal(store_obs_invalid_get(c, 1, &st), 1);
    assert_null(st.invalid);
    assert_string_equal(column_text(c, "SELECT count(*) FROM sqlite_schema "
                                       "WHERE name = 'observations_patient_time'"),
                        "0");
    db_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admit_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_same_mrn_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admit_unique_index_maps_to_occupied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_and_stay_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discharge_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discharge_before_admission_clamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stay_span_matches_stay_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refile_readings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_received_time_round_trip, setup, teardown),
        cmocka_unit_test(test_migration_0010_keeps_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
