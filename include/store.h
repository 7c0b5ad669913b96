/* store: every SQL statement wardd runs, behind one interface, so that a
 * second backend (PostgreSQL, for deployments that outgrow one machine) can
 * replace the store_*.c files without touching a handler.
 *
 * Conventions for every function here:
 * - The first argument is the connection: a read connection (db_reader())
 *   for queries, the writer's connection (inside a db_writer job) for
 *   changes. Functions that change data must only be called from a job.
 * - Return: 0 ok; a positive err_code (errors.def) for a refusal the caller
 *   reports as is (e.g. ERR_BED_OCCUPIED); -1 (DB_STORAGE_FAILURE) when the
 *   database failed. Lookups return 1 found / 0 not found / -1 failure.
 * - JSON results are new references the caller owns, in the API's shapes (docs/api.md).
 * - Times are UTC epoch ms. */
#ifndef WARDD_STORE_H
#define WARDD_STORE_H

#include "alerts.h"
#include "db.h"
#include "engine.h"
#include "errors.h"
#include "obs.h"
#include "principal.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* --- audit (store_audit.c) --------------------------------------------------- */
/* Records a change made by `who` (NULL = the command line). before/after
 * are borrowed and may be NULL. */
int store_audit(db_conn *c, const principal *who, const char *action, const char *entity,
                const char *entity_id, const json_t *before, const json_t *after, int64_t now);
/* {"entries": [...]} between from and to (inclusive), newest first, at most limit. */
int store_audit_list(db_conn *c, int64_t from, int64_t to, int limit, json_t **out);
/* The audit chain (docs/security.md "Audit chain"): each row's `hash` is
 * SHA-256 (lowercase hex) over its canonical serialisation and the hash of
 * the row before it. store_audit_verify() recomputes the whole chain in id
 * order: 0 intact (out->rows, out->head = the last hash), 1 broken at
 * out->bad_id (out->why says how), -1 failure. */
#define STORE_AUDIT_HASH_LEN 64
typedef struct store_audit_check {
    int64_t rows;   /* rows verified before the first broken one */
    int64_t bad_id; /* the first broken row's id, 0 when intact */
    char head[STORE_AUDIT_HASH_LEN + 1];
    char why[160];
} store_audit_check;
int store_audit_verify(db_conn *c, store_audit_check *out);
/* Chains rows without a hash (those older than the chain): migration 0004. */
int store_audit_chain_backfill(db_conn *c);
/* One audit row ("observations.record", entity patient) for a batch of
 * readings entered by staff: every valid reading with its outcome
 * (filed[i] < 0: a duplicate of an earlier entry). */
int store_audit_staff_entry(db_conn *c, const principal *who, int64_t patient_id,
                            const obs_reading *readings, const int64_t *filed, size_t n,
                            int64_t now);

/* --- savepoints (store_ops.c) ------------------------------------------------ */
/* A part of the writer's transaction that can be undone on its own (an
 * HL7 ADT message answered AE changes nothing while the job commits its
 * ACK): begin, then roll back to it or release it. 0 or -1. */
int store_savepoint(db_conn *c);
int store_savepoint_rollback(db_conn *c);
int store_savepoint_release(db_conn *c);

/* --- readiness (store_ops.c) ------------------------------------------------ */
/* A read on `c` (a read connection) that succeeds when the database file is
 * readable and migrated: 0 or -1. No write, no job on the writer. */
int store_ready_probe(db_conn *c);

/* --- beds (store_beds.c) --------------------------------------------------- */
int store_bed_insert(db_conn *c, const char *id, const char *label, int64_t now);
/* 1/0/-1 */
int store_bed_exists(db_conn *c, const char *id);
/* [{"id", "label", "patient_id" | null}] ordered by id (natural: B2 < B10). */
int store_bed_list(db_conn *c, json_t **out);
/* The number of beds into *n. 0 or -1. */
int store_bed_count(db_conn *c, int64_t *n);

/* --- users and sessions (store_users.c) ------------------------------------ */
typedef struct user_row {
    int64_t id;
    char username[128];
    role role;
    char pw_hash[256];
    bool disabled;
} user_row;

int store_user_insert(db_conn *c, const char *username, role r, const char *pw_hash, int64_t now,
                      int64_t *id);
int store_user_get(db_conn *c, const char *username, user_row *out);
/* [{"username", "role", "disabled", "created_at", "updated_at"}] */
int store_user_list(db_conn *c, json_t **out);
/* Changes only the non-NULL fields; a disabled user or a new password also
 * ends the user's sessions. */
int store_user_update(db_conn *c, int64_t id, const role *r, const char *pw_hash,
                      const bool *disabled, int64_t now);

int store_session_insert(db_conn *c, const char *token_hash, int64_t user_id, int64_t now,
                         int64_t expires);
int store_session_delete(db_conn *c, const char *token_hash);
/* 1 and *who filled when the session exists, is unexpired and its user enabled. */
int store_session_lookup(db_conn *c, const char *token_hash, int64_t now, principal *who);

/* --- session idle timeout and re-hash (store_session_idle.c) --------------- */
/* store_session_lookup() that also requires use within idle_ms (<= 0: no
 * idle limit); *last_used and *expires_at (each may be NULL) get the latest
 * recorded use and the absolute expiry. */
int store_session_lookup_active(db_conn *c, const char *token_hash, int64_t now, int64_t idle_ms,
                                principal *who, int64_t *last_used, int64_t *expires_at);
/* Records a use of the session at `now` (never moves backwards). */
int store_session_touch(db_conn *c, const char *token_hash, int64_t now);
/* Replaces a user's password hash with a re-hash of the same password,
 * only while old_hash is still the stored one; sessions are kept. */
int store_user_rehash(db_conn *c, int64_t id, const char *old_hash, const char *new_hash);
/* Bumped after every commit that ends a session or changes a user's role,
 * password or enabled state; open event streams re-check when it moves. */
uint64_t store_session_generation(void);
/* Registers that bump for the current transaction: 0 or -1. */
int store_session_changed(db_conn *c);

/* --- devices (store_devices.c) --------------------------------------------- */
int store_device_insert(db_conn *c, const char *serial, const char *model, const char *bed,
                        const char *token_hash, int64_t now, int64_t *id);
/* 1 and *who filled (ROLE_DEVICE, id, serial, bed) for an active device. */
int store_device_lookup_token(db_conn *c, const char *token_hash, principal *who);
/* A counter that grows after every committed change to what
 * store_device_lookup_token() answers (insert, set_token, revoke: bumped
 * by db_after_commit once the writer's transaction ends, before its
 * replies). A lookup made after reading generation g reflects every change
 * up to g, so a result remembered with g is current while the counter is
 * still g (auth.c's token cache). Changes made by another process (the
 * command line only enrols new tokens) are not counted. Any thread. */
uint64_t store_device_generation(void);
/* [{"id", "serial", "model", "bed", "created_at", "revoked_at", "last_seen"}] */
int store_device_list(db_conn *c, json_t **out);
/* {"id", "serial", ...} for one device; 1/0/-1. */
int store_device_get(db_conn *c, int64_t id, json_t **out);
/* New token hash for an active device; 1 done / 0 no such active device / -1. */
int store_device_set_token(db_conn *c, int64_t id, const char *token_hash);
/* Revokes; 1 done / 0 no such active device / -1. */
int store_device_revoke(db_conn *c, int64_t id, int64_t now);
int store_device_touch(db_conn *c, int64_t id, int64_t now);
/* Device-to-bed history (schema 0004 device_beds; docs/security.md). A
 * device's bed changes only through store_device_insert (enrolment,
 * re-enrolment) and store_device_set_bed, which keep the history. */
/* Moves an enrolled device to `bed` (NULL: none) from `now` on; the caller
 * checked that the bed exists. 1 done / 0 no such device / -1. */
int store_device_set_bed(db_conn *c, int64_t id, const char *bed, int64_t now);
/* Where the device was at t: 1 with out->bed and the interval [from_ms,
 * to_ms) of that assignment (INT64_MIN / INT64_MAX when unbounded); 0 on
 * no bed at t (out->bed "", interval [t, t+1)); -1. */
typedef struct store_device_bed {
    char bed[64];
    int64_t from_ms, to_ms;
} store_device_bed;
int store_device_bed_at(db_conn *c, int64_t device_id, int64_t t, store_device_bed *out);
/* Filing a device's reading taken at t: the bed the device served at t
 * (out->bed, "" for none) and the patient who occupied that bed at t
 * (out->patient_id, 0 for none), with the interval [from_ms, to_ms) around
 * t over which both answers stay the same (so a batch needs one lookup).
 * 1 a patient, 0 none, -1 failure. Every ingest path files device readings
 * with this (HTTP, and any gateway that names the device). */
typedef struct store_device_stay {
    int64_t patient_id;
    char bed[64];
    int64_t from_ms, to_ms;
} store_device_stay;
int store_device_stay_span(db_conn *c, int64_t device_id, int64_t t, store_device_stay *out);

/* --- patients (store_patients.c) -------------------------------------------- */
/* A patient's recorded fields, as admit and update take them (the
 * handler fills it from a checked request body; strings and objects are
 * borrowed). Text fields: NULL = none (admit) or set to null (update, when
 * the field's STORE_PF_ bit is in `set`). */
typedef struct store_patient_fields {
    const char *bed; /* admit only */
    const char *mrn;
    const char *name;
    const char *birth_date; /* YYYY-MM-DD */
    const char *sex;
    const char *diagnosis;
    int news2_scale;                /* 1 or 2; 0 = not given (admit: 1; update: unchanged) */
    const json_t *baseline;         /* object key -> number; NULL = not given */
    const json_t *reference_ranges; /* object limit key -> number; NULL = not given */
    unsigned set;                   /* update: the STORE_PF_ text fields the patch names */
} store_patient_fields;

#define STORE_PF_MRN        (1u << 0)
#define STORE_PF_NAME       (1u << 1)
#define STORE_PF_BIRTH_DATE (1u << 2)
#define STORE_PF_SEX        (1u << 3)
#define STORE_PF_DIAGNOSIS  (1u << 4)

/* Admits: inserts the patient and opens a stay in f->bed (null members of
 * baseline and reference_ranges are dropped). ERR_BED_OCCUPIED,
 * ERR_NOT_FOUND (no such bed), ERR_ALREADY_ADMITTED (the MRN is). */
int store_patient_admit(db_conn *c, const store_patient_fields *f, int64_t admitted_at, int64_t now,
                        int64_t *id);
/* The patient in the API's shape (docs/api.md "Patients") (id, mrn, name, birth_date, sex,
 * diagnosis, status, bed, admitted_at, discharged_at, news2_scale, baseline, reference_ranges).
 * 1/0/-1. */
int store_patient_get(db_conn *c, int64_t id, json_t **out);
/* status: "admitted", "discharged" or "all". Array of patients. */
int store_patient_list(db_conn *c, const char *status, json_t **out);
/* Applies a checked change: the text fields named in f->set, news2_scale
 * when non-zero, baseline/reference_ranges when given (merged key by key,
 * a null member removes a key). ERR_NOT_FOUND. */
int store_patient_update(db_conn *c, int64_t id, const store_patient_fields *f, int64_t now);
/* Closes the stay and frees the bed. ERR_NOT_ADMITTED. */
int store_patient_discharge(db_conn *c, int64_t id, int64_t at, int64_t now);
/* Moves to another bed at `at`. ERR_BED_OCCUPIED, ERR_NOT_FOUND, ERR_NOT_ADMITTED. */
int store_patient_transfer(db_conn *c, int64_t id, const char *bed, int64_t at, int64_t now);
/* The patient who occupied `bed` at time t: 1 with *patient_id, 0 none. */
int store_stay_at(db_conn *c, const char *bed, int64_t t, int64_t *patient_id);
/* store_stay_at for a whole interval, so that a batch of readings needs one
 * lookup: the occupant of `bed` at t (patient_id, 0 when the bed was empty)
 * and the interval [from_ms, to_ms) around t over which store_stay_at gives
 * that same answer (INT64_MIN / INT64_MAX when unbounded). Exact because
 * the stays of a bed never overlap (store_patients.c). 1 occupied, 0
 * empty, -1 failure. */
typedef struct store_stay {
    int64_t patient_id;
    int64_t from_ms, to_ms;
} store_stay;
int store_stay_span(db_conn *c, const char *bed, int64_t t, store_stay *out);
/* The baseline weight of the patient now in `bed` (for ug/min); 1/0/-1. */
int store_bed_patient_weight(db_conn *c, const char *bed, double *weight_kg);
/* The baseline weight of a patient; 1/0/-1. */
int store_patient_weight(db_conn *c, int64_t patient_id, double *weight_kg);

/* --- observations (store_obs.c) --------------------------------------------- */
typedef struct obs_source {
    int64_t device_id; /* 0 when entered by staff */
    int64_t user_id;   /* 0 when from a device */
    const char *bed;   /* the device's bed, or NULL */
    int64_t feed_id;   /* the HL7 feed it came through, or 0 (store_feeds.c) */
} obs_source;

/* Stores one reading for patient_id (0 = unassigned). Returns 0 stored,
 * 1 duplicate of (source, id), -1 failure. *obs_id gets the new row id. */
int store_obs_insert(db_conn *c, const obs_source *src, int64_t patient_id, const obs_reading *o,
                     int64_t received_ms, int64_t *obs_id);

/* Readings stored together in one transaction (a POST /readings batch):
 * their `latest` rows and series rollup blocks are held, folded per
 * (patient, code) and per (patient, code, minute), and written by
 * store_obs_batch_flush(), which must run before the commit. The held
 * readings' text points into the catalogue (obs_reading.text). */
typedef struct store_obs_batch store_obs_batch;
#define STORE_OBS_BATCH_LATEST 32 /* (patient, code) pairs held before a flush */
store_obs_batch *store_obs_batch_new(void);
void store_obs_batch_free(store_obs_batch *b);
/* As store_obs_insert(), the derived rows held in b. */
int store_obs_batch_insert(db_conn *c, store_obs_batch *b, const obs_source *src,
                           int64_t patient_id, const obs_reading *o, int64_t received_ms,
                           int64_t *obs_id);
/* Writes what b holds and empties it. 0 or -1. */
int store_obs_batch_flush(db_conn *c, store_obs_batch *b);

typedef struct obs_query {
    int64_t patient_id;
    const char *code; /* NULL = every code */
    int64_t from, to; /* inclusive bounds */
    int limit;
    int64_t after_time; /* cursor: strictly after (time, id) */
    int64_t after_id;
    bool has_cursor;
    bool with_invalid; /* also readings marked invalid, each with "invalid" */
} obs_query;

/* {"readings": [{"code", "value", "unit", "time", "source", "device"}], "next": C|null} */
int store_obs_list(db_conn *c, const obs_query *q, json_t **out);

/* Re-filing when a stay is dated in the past (store_patients.c): device
 * readings of `bed` from `from` on that were filed to nobody go to the
 * patient; the patient's device readings of `bed` from `at` on go back to
 * nobody. *moved is set when any reading changed hands; then call
 * store_obs_rebuild_latest() for the patient. Staff entries never move. */
int store_obs_claim_unassigned(db_conn *c, int64_t patient_id, const char *bed, int64_t from,
                               bool *moved);
int store_obs_release(db_conn *c, int64_t patient_id, const char *bed, int64_t at, bool *moved);
/* Recomputes a patient's `latest` rows from observations. */
int store_obs_rebuild_latest(db_conn *c, int64_t patient_id);

/* --- readings as rows (store_obs_find.c): FHIR reads and searches ------------- */
typedef struct store_obs_row {
    int64_t id, patient_id, device_id, user_id; /* 0 when NULL */
    char code[48];
    double value;
    bool has_text;
    char text[32]; /* categorical value */
    int64_t time_ms, received_ms;
    char msg_id[OBS_ID_MAX + 1]; /* "" when none */
    bool invalid;                /* marked invalid by a nurse (entered in error) */
} store_obs_row;
typedef int (*store_obs_row_visit)(void *arg, const store_obs_row *row);

/* One reading by id, or by its source's message id: 1 found, 0 none, -1 failure. */
int store_obs_get(db_conn *c, int64_t id, store_obs_row *out);
int store_obs_by_msg(db_conn *c, int64_t device_id, int64_t user_id, const char *msg_id,
                     store_obs_row *out);

#define STORE_FIND_CODES_MAX 16
typedef struct store_obs_find_q {
    int64_t patient_id; /* 0: every patient's filed readings */
    const char *codes[STORE_FIND_CODES_MAX];
    size_t n_codes;   /* 0: every code */
    int64_t from, to; /* inclusive */
    bool newest_first;
    int limit;
    bool has_cursor; /* strictly after (cursor_time, cursor_id) in the sort order */
    int64_t cursor_time, cursor_id;
} store_obs_find_q;
/* Visits up to q->limit matching readings in order (visit returns 0 to go
 * on); *more says whether another page follows. 0 or -1. */
int store_obs_find(db_conn *c, const store_obs_find_q *q, store_obs_row_visit visit, void *arg,
                   bool *more);
/* How many readings match q (cursor and limit ignored). 0 or -1. */
int store_obs_count(db_conn *c, const store_obs_find_q *q, int64_t *n);
/* The newest reading of each of `codes` (at most STORE_FIND_CODES_MAX) of
 * one patient, or (patient_id 0) of every admitted patient, by patient
 * then code: FHIR $lastn with max=1 in one query. 0 or -1. */
int store_obs_latest_rows(db_conn *c, int64_t patient_id, const char *const *codes, size_t n_codes,
                          store_obs_row_visit visit, void *arg);
/* --- invalid readings (store_invalid.c) ------------------------------------- */
/* One reading's filing and status, for marking it invalid or reinstating it. */
typedef struct store_obs_status {
    int64_t id;
    int64_t patient_id; /* 0: filed to nobody */
    char code[64];
    int64_t time_ms;
    bool numeric;    /* value_num set: the reading is in the series rollup */
    json_t *invalid; /* {"by", "at", "reason"} (new reference) or NULL when valid */
} store_obs_status;
/* 1 found (*out filled; the caller drops out->invalid), 0 none, -1. */
int store_obs_invalid_get(db_conn *c, int64_t obs_id, store_obs_status *out);
/* Marks a valid reading invalid (who, now, reason) and corrects the
 * patient's `latest` row of its code and its rollup block. ERR_CONFLICT
 * when it is already invalid. */
int store_obs_set_invalid(db_conn *c, const store_obs_status *s, const principal *who,
                          const char *reason, int64_t now);
/* Undoes store_obs_set_invalid (derived rows follow). ERR_CONFLICT when valid. */
int store_obs_reinstate(db_conn *c, const store_obs_status *s);

/* --- series and its rollup (store_series.c) ---------------------------------- */
/* Bucketed min/max/mean/n per code (docs/api.md "Readings", series), as the reply's JSON
 * text {"from", "to", "bucket_ms", "series": {"hr": [{"start", "min", "max",
 * "mean", "n"}]}}; caller frees *out with free(). codes is a NULL-terminated
 * list. One read snapshot; n, min and max exact, mean = sum / n with the sum
 * taken in another order than a raw scan (equal up to float rounding). */
int store_obs_series(db_conn *c, int64_t patient_id, const char *const *codes, int64_t from,
                     int64_t to, int buckets, char **out);
/* A real as the JSON replies write it (jansson, JSON_REAL_PRECISION(15)):
 * into buf (>= 32 bytes), returns the length. For the tests. */
int store_series_real(char *buf, double v);

/* The rollup's block width (obs_rollup.block_ms is time_ms floored to it;
 * schema/migrations/0003_series_rollup.sql). */
#define STORE_SERIES_BLOCK_MS 60000
/* One bucket's aggregate; n == 0 when empty. */
typedef struct store_bucket {
    double min, max, sum;
    int64_t n;
} store_bucket;
/* The bucket width of `buckets` equal buckets over [from, to]: ceil(span / N), >= 1. */
int64_t store_series_bucket_ms(int64_t from, int64_t to, int buckets);
/* The aggregates of `code`'s numeric readings of the patient with
 * from <= time <= to into b[0..buckets-1]: bucket i starts at
 * from + i * bucket_ms, a reading at `to` joins the last. Reads the
 * rollup (and observations for a cut minute denser than it packs). Call
 * inside one read snapshot (store_snapshot_begin). 0 or -1.
 * Also the SQL floor of bench/bulkload.c. */
int store_series_buckets(db_conn *c, int64_t patient_id, const char *code, int64_t from, int64_t to,
                         int buckets, store_bucket *b);
/* Readings of a batch folded per (patient, code, block) before they reach
 * the rollup: one row write per block instead of one per reading. A full
 * fold writes itself out. */
typedef struct store_series_fold store_series_fold;
#define STORE_SERIES_FOLD_MAX 32 /* blocks held before a flush */
store_series_fold *store_series_fold_new(void);
void store_series_fold_free(store_series_fold *f);
/* Adds one numeric reading just stored for the patient (same
 * transaction), held in f. 0 or -1. */
int store_series_fold_add(db_conn *c, store_series_fold *f, int64_t patient_id, const char *code,
                          int64_t time_ms, double value);
/* Writes the held blocks (merging into their rows) and empties f. 0 or -1. */
int store_series_fold_flush(db_conn *c, store_series_fold *f);
/* Recomputes the patient's rollup from the block holding from_ms on, from
 * observations (after readings moved to or from the patient). 0 or -1. */
int store_series_rebuild(db_conn *c, int64_t patient_id, int64_t from_ms);
/* Computes the whole rollup from observations (migration 0003). 0 or -1. */
int store_series_backfill(db_conn *c);

/* --- clinical: history for the engine (store_clinical.c) ------------------- */
/* Receives one observation in the engine's canonical form (obs.h:
 * categorical values as the index into the code's values). */
typedef int (*store_obs_visit)(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id);

/* Every observation of a patient with time <= upto, to `visit` (a non-zero
 * return stops with that value): code by code (ascending code id), each
 * code's readings in time order, ties by id. Unknown codes and values are
 * skipped. Returns 0, -1, or visit's non-zero value. */
int store_clinical_history(db_conn *c, int64_t patient_id, int64_t upto, store_obs_visit visit,
                           void *arg);
/* The observations of a patient stored after obs id `after_id`, in id
 * order (the live path's increment; the rowid range keeps it small).
 * *max_id gets the highest id seen (unchanged when none). 0 or -1. */
int store_clinical_history_since(db_conn *c, int64_t patient_id, int64_t after_id,
                                 store_obs_visit visit, void *arg, int64_t *max_id);
/* Every observation filed to a patient and stored after obs id `after_id`,
 * of all patients, in id order, with its patient: the clinical worker's
 * one scan per round for all the patients it advances. *max_id gets the
 * highest id seen, also of rows filed to nobody (unchanged when none): no
 * row at or below it was missed. A non-zero visit stops the scan (-1). */
typedef int (*store_row_visit)(void *arg, int64_t patient_id, int code_id, int64_t t_ms, double v,
                               int64_t obs_id);
int store_clinical_rows_since(db_conn *c, int64_t after_id, store_row_visit visit, void *arg,
                              int64_t *max_id);
/* The highest observation id stored (0 when none). 0 or -1. */
int store_clinical_max_obs_id(db_conn *c, int64_t *max_id);
/* A read transaction on a read connection, so that several reads see one
 * snapshot (the record, its doses and its history). 0 or -1. */
int store_snapshot_begin(db_conn *c);
void store_snapshot_end(db_conn *c);
/* patients.updated_at and whether admitted: 1/0 (no such patient)/-1. */
int store_clinical_patient_stamp(db_conn *c, int64_t id, int64_t *updated_at, bool *admitted);

typedef struct store_admitted {
    int64_t id;
    int64_t updated_at; /* patients.updated_at: a change invalidates the cache */
    char bed[64];
} store_admitted;
/* The admitted patients (malloc'd array, caller frees). 0 or -1. */
int store_clinical_admitted(db_conn *c, store_admitted **out, size_t *n);

typedef struct store_bed_device {
    int64_t device_id;
    char serial[128];
    char bed[64];
    int64_t patient_id;    /* the bed's admitted patient */
    int64_t last_heard_ms; /* last_seen, or when the patient's stay in the bed began if later */
} store_bed_device;
/* Active devices on beds with an admitted patient (malloc'd, caller frees). */
int store_clinical_bed_devices(db_conn *c, store_bed_device **out, size_t *n);

/* --- doses (store_doses.c) ---------------------------------------------------- */
typedef struct store_dose {
    int64_t patient_id;
    int64_t time_ms;
    bool given;
    const char *reason;          /* NULL when none */
    const char *override_reason; /* NULL when none */
    const char *decision;        /* engine action at time_ms: "give", "hold", ... */
} store_dose;
/* Records a dose. ERR_ALREADY_EXISTS when the patient has one at that time. */
int store_dose_insert(db_conn *c, const store_dose *d, const principal *who, int64_t now,
                      int64_t *id);
/* {"id", "patient_id", "time", "status", "reason", "override_reason",
 * "decision", "recorded_by", "created_at"}; 1/0/-1. */
int store_dose_get(db_conn *c, int64_t id, json_t **out);
/* The patient's doses in time order, as store_dose_get. */
int store_dose_list(db_conn *c, int64_t patient_id, json_t **out);
/* The patient's doses for the engine, in time order (malloc'd, caller
 * frees; NULL when none). 0 or -1. */
int store_dose_engine(db_conn *c, int64_t patient_id, engine_dose **out, size_t *n);

/* --- rule sets (store_rules.c) ------------------------------------------------- */
/* The active rule set: 1 with *version and *doc (new reference) set, 0 when
 * none is stored, -1. meta (may be NULL) gets {"name", "version",
 * "created_at", "created_by"}. */
int store_ruleset_active(db_conn *c, int *version, json_t **doc, json_t **meta);
/* The highest stored version, 0 when none. 0 or -1. */
int store_ruleset_max_version(db_conn *c, int *version);
/* Stores `doc` as `version` and makes it the only active set.
 * ERR_CONFLICT when that version exists (a concurrent change). */
int store_ruleset_activate(db_conn *c, int version, const char *name, const json_t *doc,
                           const char *created_by, int64_t now);
/* [{"version", "name", "created_at", "created_by", "active"}], newest first. */
int store_ruleset_list(db_conn *c, json_t **out);

/* --- alerts (store_alerts.c) --------------------------------------------------- */
/* Inserts an active alert for `cond` (alerts.h). ERR_CONFLICT when an
 * unresolved alert with the same condition key exists. */
int store_alert_insert(db_conn *c, const alert_cond *cond, rules_prio priority, int64_t patient_id,
                       const char *bed, int64_t now, int64_t *id);
/* Worsened condition: level, grade, message, priority rise, and an
 * acknowledged alert becomes active again (activated_at = now). 1 done, 0
 * not open, -1. */
int store_alert_upgrade(db_conn *c, int64_t id, const alert_cond *cond, rules_prio priority,
                        int64_t now);
/* 1 done, 0 no longer active (acknowledged or resolved meanwhile), -1. */
int store_alert_escalate(db_conn *c, int64_t id, rules_prio priority, int64_t now);
/* 1 done, 0 already resolved, -1. */
int store_alert_resolve(db_conn *c, int64_t id, const char *resolution, int64_t now);
/* ERR_NOT_FOUND, ERR_CONFLICT (not active), 0 done, -1. */
int store_alert_ack(db_conn *c, int64_t id, const principal *who, const char *note, int64_t now);
/* The alert object (docs/clinical.md "Alerts"); 1/0/-1. */
int store_alert_get(db_conn *c, int64_t id, json_t **out);
/* state: "active", "acknowledged", "resolved" or "all"; patient 0 = all.
 * {"alerts": [...]} newest first, at most limit. */
int store_alert_list(db_conn *c, const char *state, int64_t patient_id, int limit, json_t **out);
/* Unresolved alerts: of one patient (patient_id > 0, device alerts
 * excluded), or of one kind (patient_id == 0, kind >= 0), or all
 * (patient_id == 0, kind < 0). malloc'd, caller frees; clear_since 0. */
int store_alert_open(db_conn *c, int64_t patient_id, int kind, alert_open **out, size_t *n);
/* Patient id (of each patient with any) -> number of active alerts:
 * {"7": 2, ...}. */
int store_alert_active_counts(db_conn *c, json_t **out);

/* --- ward (store_ward.c) ---------------------------------------------------- */
/* GET /api/v1/ward (docs/api.md "Ward") without the clinical fields: every bed with its
 * patient, latest values and devices. */
int store_ward(db_conn *c, int64_t now, json_t **out);

/* --- HL7 v2 feeds, bed locations, device EUI-64s, ADT cancellations,
 *     technical alerts (store_feeds.c; docs/hl7.md) ---------------------------- */
typedef struct store_feed {
    int64_t id;
    char name[128];
    char kind[32];         /* "adt" | "device_gateway" */
    char addresses[1024];  /* JSON array of allowed client addresses */
    char fingerprint[128]; /* TLS client-certificate SHA-256 hex, "" when none */
} store_feed;
/* f: the checked POST /feeds body. ERR_ALREADY_EXISTS (an enabled feed has
 * that sender). */
int store_feed_insert(db_conn *c, const json_t *f, int64_t now, int64_t *id);
/* {"id", "name", "kind", "sending_application", "sending_facility",
 * "addresses", "tls_fingerprint", "enabled", "created_at", "updated_at",
 * "last_message_at", "last_error", "last_error_at", "counts": {"AA", "AE",
 * "AR"}}; 1/0/-1. */
int store_feed_get(db_conn *c, int64_t id, json_t **out);
int store_feed_list(db_conn *c, json_t **out);
/* A checked PATCH (name, sending_application, sending_facility, addresses,
 * tls_fingerprint, enabled). ERR_NOT_FOUND, ERR_ALREADY_EXISTS. */
int store_feed_update(db_conn *c, int64_t id, const json_t *patch, int64_t now);
/* The enabled feed of a sender (MSH-3/MSH-4 first components); 1/0/-1. */
int store_feed_match(db_conn *c, const char *app, const char *fac, store_feed *out);
/* Counts one answered message (code AA/AE/AR) and, when error is not NULL,
 * records it as the feed's last error. */
int store_feed_note(db_conn *c, int64_t feed_id, const char *code, const char *error, int64_t now);
/* The ACK stored for (feed, control id): 1 with *ack (malloc'd), 0, -1. */
int store_hl7_ack_get(db_conn *c, int64_t feed_id, const char *ctl, char **ack);
int store_hl7_ack_put(db_conn *c, int64_t feed_id, const char *ctl, const char *code,
                      const char *ack, int64_t now);
/* The bed whose HL7 location is `location` ("IL2U^101^1"); 1/0/-1. */
int store_bed_by_location(db_conn *c, const char *location, char *bed, size_t len);
/* Sets (NULL clears) a bed's location. ERR_NOT_FOUND, ERR_ALREADY_EXISTS. */
int store_bed_set_location(db_conn *c, const char *bed, const char *location);
/* Whether any bed's location has this point of care (PV1-3.1): 1/0/-1. */
int store_unit_known(db_conn *c, const char *point_of_care);
/* [{"id", "label", "location"}] in bed order. */
int store_bed_locations(db_conn *c, json_t **out);
typedef struct store_device_ref {
    int64_t id;
    char serial[128];
    char bed[64]; /* "" when on no bed */
} store_device_ref;
/* The active device with this serial (preferred) or EUI-64; 1/0/-1. */
int store_device_by_ident(db_conn *c, const char *serial, const char *eui64, store_device_ref *out);
/* Sets (NULL clears) a device's EUI-64. ERR_NOT_FOUND, ERR_ALREADY_EXISTS. */
int store_device_set_eui64(db_conn *c, int64_t id, const char *eui64);
/* A device's EUI-64 ("" when none); 1/0/-1. */
int store_device_eui64(db_conn *c, int64_t id, char *eui64, size_t len);
typedef struct store_mrn_patient {
    int64_t id;
    bool admitted;
    char bed[64];
} store_mrn_patient;
/* The admitted record of an MRN, else its latest; 1/0/-1. */
int store_patient_by_mrn(db_conn *c, const char *mrn, store_mrn_patient *out);
/* ADT A11: the admission never happened: the stays go, the record is
 * closed (discharged at its admission time), readings filed to it by bed
 * become unassigned. ERR_NOT_ADMITTED. */
int store_patient_cancel_admit(db_conn *c, int64_t id, int64_t now);
/* ADT A12: the last transfer never happened: back in the previous bed from
 * the transfer time on, readings re-filed. ERR_NOT_ADMITTED, ERR_CONFLICT
 * (no transfer to cancel), ERR_BED_OCCUPIED (the old bed is taken since). */
int store_patient_cancel_transfer(db_conn *c, int64_t id, int64_t now);
/* ADT A13: the discharge never happened: the last stay is open again and
 * the bed's unassigned readings since are re-filed. ERR_CONFLICT (not
 * discharged), ERR_BED_OCCUPIED, ERR_ALREADY_ADMITTED (the MRN was admitted
 * again meanwhile). */
int store_patient_cancel_discharge(db_conn *c, int64_t id, int64_t now);
typedef struct store_tech_alert {
    const char *kind; /* "identity_mismatch" (disk_low: store_technical_alert_once) */
    int64_t feed_id;
    const char *control_id;
    const char *bed;
    int64_t patient_id, occupant_id; /* 0 when none */
    const char *message;
} store_tech_alert;
int store_technical_alert(db_conn *c, const store_tech_alert *a, int64_t now, int64_t *id);
/* [{"id", "kind", "feed_id", "control_id", "bed", "patient_id",
 * "occupant_id", "message", "raised_at", "state"}], newest first. */
int store_technical_alert_list(db_conn *c, json_t **out);
/* Marks an active technical alert resolved: 1 done, 0 not active, -1. */
int store_technical_alert_resolve(db_conn *c, int64_t id);
/* A technical alert of a kind that is active at most once (disk_low):
 * inserted unless one of the kind is active. 0 with *id the new alert's id,
 * or 0 when one was active already; -1 on failure. */
int store_technical_alert_once(db_conn *c, const char *kind, const char *message, int64_t now,
                               int64_t *id);
/* Resolves the active alert of such a kind: 0 with *id its id, or 0 when
 * none was active; -1 on failure. */
int store_technical_alert_resolve_kind(db_conn *c, const char *kind, int64_t *id);
/* --- courses (store_courses.c) ----------------------------------------------- */
/* One admission of a person (courses group them: docs/clinical.md "Courses"). */
typedef struct store_admission {
    int64_t id;
    int64_t admitted_at;
    int64_t discharged_at; /* 0 while admitted */
} store_admission;
/* The admissions of the person (MRN) of patient_id, in course order
 * (malloc'd, caller frees; none when there is no such patient). 0 or -1. */
int store_course_admissions(db_conn *c, int64_t patient_id, store_admission **out, size_t *n);

/* A response evaluation of a course (RECIST 1.1 category). */
typedef struct store_response {
    int course;
    const char *category; /* CR, PR, SD, PD */
    const char *date;     /* YYYY-MM-DD */
    const char *note;     /* or NULL */
} store_response;
/* Records one for the person of patient_id. 0, ERR_NOT_FOUND (no such
 * patient), -1. */
int store_response_insert(db_conn *c, int64_t patient_id, const store_response *resp,
                          const principal *who, int64_t now, int64_t *id);
/* {"id", "course", "category", "date", "note", "recorded_by", "recorded_at"};
 * 1/0/-1. */
int store_response_get(db_conn *c, int64_t id, json_t **out);
/* The person's responses, by course, date, id: an array. 0 or -1. */
int store_responses(db_conn *c, int64_t patient_id, json_t **out);
/* --- stations (store_stations.c) -------------------------------------------- */
/* Enrols a wall-display station; ERR_ALREADY_EXISTS when an active station
 * has that name. location may be NULL. */
int store_station_insert(db_conn *c, const char *name, const char *location, const char *token_hash,
                         const char *created_by, int64_t now, int64_t *id);
/* 1 and *who filled (ROLE_VIEWER, station, id, "station:<name>") for an
 * active station's token; 0 unknown or revoked; -1. */
int store_station_lookup_token(db_conn *c, const char *token_hash, principal *who);
/* [{"id", "name", "location", "created_at", "created_by", "revoked_at", "last_seen"}] */
int store_station_list(db_conn *c, json_t **out);
/* One station as in the list; 1/0/-1. */
int store_station_get(db_conn *c, int64_t id, json_t **out);
/* Revokes; 1 done / 0 no such active station / -1. */
int store_station_revoke(db_conn *c, int64_t id, int64_t now);
int store_station_touch(db_conn *c, int64_t id, int64_t now);

/* --- handover (store_handover.c) -------------------------------------------- */
/* [{"code", "n", "min", "max", "first", "last", "last_time"}]: the patient's
 * numeric readings (clinician grades excluded) with from <= time <= to, by
 * code. 0 or -1. */
int store_handover_vitals(db_conn *c, int64_t patient_id, int64_t from, int64_t to, json_t **out);

#endif
