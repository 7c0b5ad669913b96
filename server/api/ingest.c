/* ingest (api layer: shared by the JSON, HL7 and FHIR handlers): a batch
 * of validated readings from any transport, filed, stored
 * by one writer job, and published after its commit (include/ingest.h). */
#include "ingest.h"
#include "clinical.h"
#include "drift.h"
#include "events.h"
#include "metrics.h"
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingest {
    obs_source src;
    char bed[64];       /* the bed the events name, or "" */
    bool by_bed;        /* filed by `bed`'s stays (HL7 PV1-3), not by device history */
    int64_t patient_id; /* filed to this patient, or 0 */
    principal user;     /* a staff entry's author, for its audit row */
    size_t capacity, n_valid;
    obs_reading *valid;
    int64_t *filed;   /* per valid reading: its patient (0 unassigned), -1 duplicate */
    int64_t *obs_ids; /* per valid reading: its stored row (0 for a duplicate) */
    json_t *rejected; /* [{"index", "code", "message"}] */
    unsigned accepted, duplicates;
    char who[128]; /* the device's serial or the user's name, for the events */
};

ingest *ingest_new(size_t capacity)
{
    ingest *in = calloc(1, sizeof *in);

    if (!in)
        return NULL;
    in->capacity = capacity;
    in->valid = calloc(capacity ? capacity : 1, sizeof *in->valid);
    in->filed = calloc(capacity ? capacity : 1, sizeof *in->filed);
    in->obs_ids = calloc(capacity ? capacity : 1, sizeof *in->obs_ids);
    in->rejected = json_array();
    if (!in->valid || !in->filed || !in->obs_ids || !in->rejected) {
        ingest_free(in);
        return NULL;
    }
    return in;
}

void ingest_free(ingest *in)
{
    if (!in)
        return;
    free(in->valid);
    free(in->filed);
    free(in->obs_ids);
    json_decref(in->rejected);
    free(in);
}

void ingest_from_device(ingest *in, int64_t device_id, const char *serial)
{
    in->src.device_id = device_id;
    in->src.user_id = 0;
    snprintf(in->who, sizeof in->who, "%s", serial ? serial : "");
}

void ingest_from_user(ingest *in, const principal *who)
{
    in->user = *who;
    in->src.user_id = who->id;
    in->src.device_id = 0;
    snprintf(in->who, sizeof in->who, "%s", who->name);
}

void ingest_from_feed(ingest *in, int64_t feed_id, int64_t device_id, const char *who)
{
    in->src.feed_id = feed_id;
    in->src.device_id = device_id;
    in->src.user_id = 0;
    snprintf(in->who, sizeof in->who, "%s", who ? who : "");
}

void ingest_file_to_patient(ingest *in, int64_t patient_id)
{
    in->patient_id = patient_id;
}

void ingest_file_by_bed(ingest *in, const char *bed)
{
    ingest_label_bed(in, bed);
    in->by_bed = in->bed[0] != '\0';
}

void ingest_label_bed(ingest *in, const char *bed)
{
    snprintf(in->bed, sizeof in->bed, "%s", bed ? bed : "");
    in->src.bed = in->bed[0] ? in->bed : NULL;
    in->by_bed = false;
}

int64_t ingest_patient(const ingest *in)
{
    return in->patient_id;
}

obs_reading *ingest_slot(ingest *in)
{
    if (in->n_valid >= in->capacity)
        return NULL;
    memset(&in->valid[in->n_valid], 0, sizeof in->valid[in->n_valid]);
    return &in->valid[in->n_valid];
}

void ingest_keep(ingest *in)
{
    if (in->n_valid < in->capacity)
        in->n_valid++;
}

int ingest_reject(ingest *in, size_t index, const char *code, const char *message)
{
    return json_array_append_new(
        in->rejected,
        json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "code", code, "message", message));
}

size_t ingest_valid_count(const ingest *in)
{
    return in->n_valid;
}

size_t ingest_rejected_count(const ingest *in)
{
    return json_array_size(in->rejected);
}

const json_t *ingest_rejected(const ingest *in)
{
    return in->rejected;
}

unsigned ingest_accepted(const ingest *in)
{
    return in->accepted;
}

unsigned ingest_duplicates(const ingest *in)
{
    return in->duplicates;
}

int64_t ingest_filed(const ingest *in, size_t i)
{
    return i < in->n_valid ? in->filed[i] : -1;
}

int64_t ingest_obs_id(const ingest *in, size_t i)
{
    return i < in->n_valid ? in->obs_ids[i] : 0;
}

const obs_reading *ingest_reading(const ingest *in, size_t i)
{
    return i < in->n_valid ? &in->valid[i] : NULL;
}

json_t *ingest_result(const ingest *in)
{
    return json_pack("{s:i, s:i, s:o}", "accepted", in->accepted, "duplicates", in->duplicates,
                     "rejected", json_deep_copy(in->rejected));
}

/* The patient reading i is filed to: the batch's patient; else, for a
 * device, the patient in the bed the device served at the reading's time
 * (its bed history, docs/security.md: a monitor moved from B1 to B2 files
 * its buffered B1 readings to B1's patient); else the bed's occupant then.
 * `stay` caches the last span looked up: a monitor's batch spans minutes,
 * so one lookup usually files all of it. -1 on a storage failure. */
static int file_reading(db_conn *c, ingest *in, int64_t t, store_device_stay *stay,
                        int64_t *patient)
{
    *patient = in->patient_id;
    if (*patient)
        return 0;
    if (in->src.device_id && !in->by_bed) {
        if ((t < stay->from_ms || t >= stay->to_ms) &&
            store_device_stay_span(c, in->src.device_id, t, stay) < 0)
            return -1;
        *patient = stay->patient_id;
        in->src.bed = stay->bed[0] ? stay->bed : NULL;
        return 0;
    }
    if (in->by_bed) {
        store_stay s;
        if (store_stay_span(c, in->bed, t, &s) < 0)
            return -1;
        *patient = s.patient_id;
    }
    return 0;
}

int ingest_apply(db_conn *c, ingest *in)
{
    int64_t now = timefmt_now_ms();
    store_device_stay stay = {.patient_id = 0, .from_ms = INT64_MAX, .to_ms = INT64_MIN};
    /* latest and rollup rows once per code and minute, not per reading */
    store_obs_batch *batch = store_obs_batch_new();
    int result = DB_STORAGE_FAILURE;

    if (!batch)
        return DB_STORAGE_FAILURE;
    in->accepted = in->duplicates = 0;
    for (size_t i = 0; i < in->n_valid; i++) {
        int64_t patient, obs_id = 0;
        int rc;
        if (file_reading(c, in, in->valid[i].time_ms, &stay, &patient) != 0)
            goto done;
        rc = store_obs_batch_insert(c, batch, &in->src, patient, &in->valid[i], now, &obs_id);
        if (rc < 0)
            goto done;
        if (rc == 0)
            in->accepted++;
        else
            in->duplicates++;
        in->filed[i] = rc == 0 ? patient : -1;
        in->obs_ids[i] = rc == 0 ? obs_id : 0;
    }
    if (store_obs_batch_flush(c, batch) != 0)
        goto done;
    /* every staff entry is audited (docs/security.md), grades included */
    if (in->src.user_id && store_audit_staff_entry(c, &in->user, in->patient_id, in->valid,
                                                   in->filed, in->n_valid, now) != 0)
        goto done;
    if (in->src.device_id && store_device_touch(c, in->src.device_id, now) != 0)
        goto done;
    result = 0;
done:
    in->src.bed = in->bed[0] ? in->bed : NULL; /* not into this frame's `stay` */
    store_obs_batch_free(batch);
    return result;
}

/* One `reading` event per patient (or unassigned bed) of the batch:
 * {"patient_id", "bed", "device", "entered_by", "readings": [{"code", "value", "unit", "time"}]}.
 */
static void publish_readings(const ingest *in, int64_t patient)
{
    json_t *items = json_array();
    char when[TIMEFMT_LEN];

    for (size_t i = 0; i < in->n_valid; i++) {
        const obs_reading *o = &in->valid[i];
        if (in->filed[i] != patient)
            continue;
        json_array_append_new(items, json_pack("{s:s, s:o, s:s?, s:s}", "code", o->code->code,
                                               "value", obs_value_json(o->code, o->value, o->text),
                                               "unit", o->code->unit, "time",
                                               timefmt_format(o->time_ms, when, sizeof when)));
    }
    events_publish("reading", json_pack("{s:o, s:s?, s:s?, s:s?, s:o}", "patient_id",
                                        patient ? json_integer(patient) : json_null(), "bed",
                                        in->bed[0] ? in->bed : NULL, "device",
                                        in->src.device_id ? in->who : NULL, "entered_by",
                                        in->src.user_id ? in->who : NULL, "readings", items));
}

/* On the events publisher thread (events_defer()), in commit order: the
 * batch's `reading` events, then the patients go to the clinical worker
 * (so their grade, decision and alert events follow their readings). */
static void publish_batch(void *arg)
{
    ingest *in = arg;

    for (size_t i = 0; i < in->n_valid; i++) {
        bool first = in->filed[i] >= 0;
        for (size_t j = 0; first && j < i; j++)
            first = in->filed[j] != in->filed[i];
        if (first)
            publish_readings(in, in->filed[i]);
        if (first && in->filed[i] > 0)
            clinical_patient_ingested(in->filed[i]); /* O(1): the clinical worker evaluates */
    }
    ingest_free(in);
}

/* Runs on the writer thread once the batch is durable. The events are
 * built and serialised elsewhere: the writer is the one thread every write
 * waits for. */
/* The newest time among the batch's stored (not duplicate) readings. */
static int64_t newest_stored(const ingest *in)
{
    int64_t t = INT64_MIN;

    for (size_t i = 0; i < in->n_valid; i++)
        if (in->filed[i] >= 0 && in->valid[i].time_ms > t)
            t = in->valid[i].time_ms;
    return t;
}

void ingest_committed(ingest *in)
{
    metrics_count_readings(in->accepted, in->duplicates, (unsigned)json_array_size(in->rejected));
    /* device clock drift (drift.h): the batch's newest stored reading vs now */
    if (in->src.device_id && in->accepted)
        drift_note(in->src.device_id, newest_stored(in), timefmt_now_ms());
    events_defer(publish_batch, in);
}

void ingest_count_refused(const ingest *in)
{
    metrics_count_readings(0, 0, (unsigned)json_array_size(in->rejected));
}
