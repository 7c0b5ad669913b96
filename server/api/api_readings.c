/* api_readings: ingest and read-back of observations.
 *   POST /api/v1/readings                      (device) a batch from a bedside device
 *   POST /api/v1/patients/{id}/observations    (nurse) the same body, entered by staff
 *   GET  /api/v1/patients/{id}/readings        (viewer) time-ordered pages
 *   GET  /api/v1/patients/{id}/series          (viewer) bucketed min/max/mean/n
 *
 * Ingest: every item is validated on its own in the request thread; the
 * valid ones are stored by one write job on the writer thread, and 201 is
 * sent only after that job's group commit is durable. Device readings are
 * filed to the patient whose stay in the device's bed covers the reading's
 * time (unassigned when the bed was empty); idempotent on (source, id). */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "drift.h"
#include "events.h"
#include "metrics.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* API.md: up to 1000 readings a request. */
#define BATCH_MAX 1000

struct ingest {
    obs_source src;
    char bed[64];
    int64_t patient_id; /* staff entry: the patient; device: 0 (filed by stay) */
    size_t n_valid;
    obs_reading *valid;
    int64_t *filed;   /* per valid reading: its patient (0 unassigned), -1 duplicate */
    json_t *rejected; /* [{"index", "code", "message"}] */
    unsigned accepted, duplicates;
    char who[128]; /* the device's serial or the user's name, for the events */
};

static void ingest_free(void *p)
{
    struct ingest *in = p;

    if (!in)
        return;
    free(in->valid);
    free(in->filed);
    json_decref(in->rejected);
    free(in);
}

/* Whether the batch needs the patient's baseline weight (ug/min inputs). */
static bool needs_weight(const json_t *items)
{
    size_t i;
    const json_t *item;

    json_array_foreach(items, i, item)
    {
        if (json_is_string(json_object_get(item, "code")) &&
            strcmp(json_string_value(json_object_get(item, "code")), "phenylephrine") == 0)
            return true;
    }
    return false;
}

/* The reply's own copy of `rejected`: the batch, with its reference, goes
 * on to the events publisher thread while an HTTP worker sends and frees
 * the reply, and jansson's reference counts are not safe to share across
 * threads without a lock (ThreadSanitizer reported the race). */
static json_t *result_body(const struct ingest *in)
{
    return json_pack("{s:i, s:i, s:o}", "accepted", in->accepted, "duplicates", in->duplicates,
                     "rejected", json_deep_copy(in->rejected));
}

static int ingest_apply(db_conn *c, struct req *r)
{
    struct ingest *in = r->ctx;
    int64_t now = timefmt_now_ms();
    /* The bed's stay around the last reading looked up: a monitor's batch
     * spans minutes, so one lookup usually files all of it. Starts empty. */
    store_stay stay = {.patient_id = 0, .from_ms = INT64_MAX, .to_ms = INT64_MIN};
    /* latest and rollup rows once per code and minute, not per reading */
    store_obs_batch *batch = store_obs_batch_new();
    int result = DB_STORAGE_FAILURE;

    if (!batch)
        return DB_STORAGE_FAILURE;
    in->accepted = in->duplicates = 0;
    for (size_t i = 0; i < in->n_valid; i++) {
        int64_t patient = in->patient_id, obs_id = 0, t = in->valid[i].time_ms;
        int rc;
        if (!patient && in->bed[0]) {
            if ((t < stay.from_ms || t >= stay.to_ms) && store_stay_span(c, in->bed, t, &stay) < 0)
                goto done;
            patient = stay.patient_id;
        }
        rc = store_obs_batch_insert(c, batch, &in->src, patient, &in->valid[i], now, &obs_id);
        if (rc < 0)
            goto done;
        if (rc == 0)
            in->accepted++;
        else
            in->duplicates++;
        in->filed[i] = rc == 0 ? patient : -1;
    }
    if (store_obs_batch_flush(c, batch) != 0)
        goto done;
    if (in->src.device_id && store_device_touch(c, in->src.device_id, now) != 0)
        goto done;
    r->out = result_body(in);
    r->out_status = 201;
    result = 0;
done:
    store_obs_batch_free(batch);
    return result;
}

/* One `reading` event per patient (or unassigned bed) of the batch:
 * {"patient_id", "bed", "device", "entered_by", "readings": [{"code", "value", "unit", "time"}]}.
 */
static void publish_readings(const struct ingest *in, int64_t patient)
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
static void ingest_publish(void *arg)
{
    struct ingest *in = arg;

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

/* The newest time among the batch's stored (not duplicate) readings. */
static int64_t newest_stored(const struct ingest *in)
{
    int64_t t = INT64_MIN;

    for (size_t i = 0; i < in->n_valid; i++)
        if (in->filed[i] >= 0 && in->valid[i].time_ms > t)
            t = in->valid[i].time_ms;
    return t;
}

/* Runs on the writer thread once the batch is durable. The events are built
 * and serialised elsewhere: the writer is the one thread every write waits
 * for. The batch leaves the request (whose reply is already in r->out). */
static void ingest_committed(struct req *r)
{
    struct ingest *in = r->ctx;

    metrics_count_readings(in->accepted, in->duplicates, (unsigned)json_array_size(in->rejected));
    /* device clock drift (drift.h): the batch's newest stored reading vs now */
    if (in->src.device_id && in->accepted)
        drift_note(in->src.device_id, newest_stored(in), timefmt_now_ms());
    snprintf(in->who, sizeof in->who, "%s", r->who.name);
    r->ctx = NULL;
    events_defer(ingest_publish, in);
}

/* Validates the batch into r->ctx; replies and returns MHD_YES/NO when the
 * request ends here, or returns -1 when the write should proceed. */
static int validate_batch(struct req *r, double weight_kg, bool require_id, enum MHD_Result *ret)
{
    static const field_spec specs[] = {{"readings", F_ARRAY, true, false, 0}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const json_t *items = json_object_get(r->json, "readings");
    obs_context ctx = {
        .now_ms = timefmt_now_ms(), .weight_kg = weight_kg, .require_id = require_id};
    struct ingest *in = r->ctx;
    size_t n = json_array_size(items);

    if (details) {
        *ret = reply_error(r, ERR_VALIDATION, "The body must be {\"readings\": [...]}.", details);
        return 0;
    }
    if (n > BATCH_MAX) {
        *ret = reply_errorf(r, ERR_TOO_MANY_READINGS, NULL,
                            "The batch has %zu readings; at most %d are allowed.", n, BATCH_MAX);
        return 0;
    }
    if (n == 0) {
        *ret = reply_error(r, ERR_VALIDATION, "The batch has no readings.",
                           json_pack("[o]", reply_field_detail("readings", "must not be empty")));
        return 0;
    }
    in->valid = calloc(n, sizeof *in->valid);
    in->filed = calloc(n, sizeof *in->filed);
    in->rejected = json_array();
    if (!in->valid || !in->filed || !in->rejected) {
        *ret = reply_error(r, ERR_INTERNAL, NULL, NULL);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        obs_error err;
        if (obs_parse_reading(json_array_get(items, i), &ctx, &in->valid[in->n_valid], &err) == 0)
            in->n_valid++;
        else
            json_array_append_new(in->rejected,
                                  json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i, "code",
                                            err.code, "message", err.message));
    }
    if (in->n_valid == 0) {
        json_t *body = reply_error_body(ERR_NO_READING_ACCEPTED, NULL, json_copy(in->rejected));
        /* API.md: 422 "with the same shape": the error object plus the counts. */
        json_object_update_new(body, result_body(in));
        metrics_count_readings(0, 0, (unsigned)n);
        *ret = reply_json(r, err_http_status(ERR_NO_READING_ACCEPTED), body);
        return 0;
    }
    return -1;
}

static struct ingest *ingest_new(struct req *r)
{
    struct ingest *in = calloc(1, sizeof *in);

    r->ctx = in;
    r->ctx_free = ingest_free;
    return in;
}

enum MHD_Result api_readings_post(struct req *r)
{
    struct ingest *in = ingest_new(r);
    double weight = 0;
    enum MHD_Result ret = MHD_NO;

    if (!in)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    in->src.device_id = r->who.id;
    snprintf(in->bed, sizeof in->bed, "%s", r->who.bed);
    in->src.bed = in->bed[0] ? in->bed : NULL;
    if (in->bed[0] && needs_weight(json_object_get(r->json, "readings"))) {
        db_conn *c = db_reader();
        if (!c || store_bed_patient_weight(c, in->bed, &weight) < 0)
            return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    if (validate_batch(r, weight, true, &ret) == 0)
        return ret;
    r->after_commit = ingest_committed;
    return req_write(r, ingest_apply);
}

/* The patient of path parameter 0: 1 found, 0 replied 404, -1 replied 503. */
static int path_patient(struct req *r, int64_t *id, enum MHD_Result *ret)
{
    db_conn *c = db_reader();
    json_t *p = NULL;
    int rc;

    if (req_param_id(r, 0, id) != 0) {
        *ret = reply_error(r, ERR_NOT_FOUND, "No such patient.", NULL);
        return 0;
    }
    rc = c ? store_patient_get(c, *id, &p) : -1;
    json_decref(p);
    if (rc < 0) {
        *ret = reply_error(r, ERR_STORAGE, NULL, NULL);
        return -1;
    }
    if (rc == 0) {
        *ret = reply_error(r, ERR_NOT_FOUND, "No such patient.", NULL);
        return 0;
    }
    return 1;
}

enum MHD_Result api_readings_observations_post(struct req *r)
{
    struct ingest *in = ingest_new(r);
    double weight = 0;
    enum MHD_Result ret = MHD_NO;

    if (!in)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    if (path_patient(r, &in->patient_id, &ret) != 1)
        return ret;
    in->src.user_id = r->who.id;
    if (needs_weight(json_object_get(r->json, "readings"))) {
        db_conn *c = db_reader();
        if (!c || store_patient_weight(c, in->patient_id, &weight) < 0)
            return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    if (validate_batch(r, weight, false, &ret) == 0)
        return ret;
    r->after_commit = ingest_committed;
    return req_write(r, ingest_apply);
}

/* --- reading back --------------------------------------------------------- */

static enum MHD_Result bad_query(struct req *r, const char *param, const char *message)
{
    return reply_error(r, ERR_BAD_QUERY, message,
                       json_pack("[o]", reply_field_detail(param, message)));
}

static int parse_cursor(const char *s, int64_t *t, int64_t *id)
{
    char *end = NULL;
    long long a, b;

    a = strtoll(s, &end, 10);
    if (end == s || *end != '.')
        return -1;
    s = end + 1;
    b = strtoll(s, &end, 10);
    if (end == s || *end || b < 0)
        return -1;
    *t = a;
    *id = b;
    return 0;
}

enum MHD_Result api_readings_list(struct req *r)
{
    obs_query q = {.limit = 100};
    const char *cursor = req_query(r, "cursor");
    enum MHD_Result ret = MHD_NO;
    long limit = 0;
    json_t *out = NULL;
    db_conn *c;

    if (path_patient(r, &q.patient_id, &ret) != 1)
        return ret;
    q.code = req_query(r, "code");
    if (q.code && !obs_code_lookup(q.code))
        return bad_query(r, "code", "code is not a known observation code");
    if (req_query_time(r, "from", INT64_MIN, &q.from) != 0)
        return bad_query(r, "from", "from must be an RFC 3339 date-time");
    if (req_query_time(r, "to", INT64_MAX, &q.to) != 0)
        return bad_query(r, "to", "to must be an RFC 3339 date-time");
    if (q.from > q.to)
        return bad_query(r, "from", "from must not be after to");
    if (req_query_int(r, "limit", 100, 1, 1000, &limit) != 0)
        return bad_query(r, "limit", "limit must be an integer from 1 to 1000");
    q.limit = (int)limit;
    /* readings marked invalid are left out unless asked for (api_invalid.c) */
    if (req_query_int(r, "include_invalid", 0, 0, 1, &limit) != 0)
        return bad_query(r, "include_invalid", "include_invalid must be 0 or 1");
    q.with_invalid = limit == 1;
    if (cursor) {
        if (parse_cursor(cursor, &q.after_time, &q.after_id) != 0)
            return bad_query(r, "cursor", "cursor must be a value from a previous page's next");
        q.has_cursor = true;
    }
    c = db_reader();
    if (!c || store_obs_list(c, &q, &out) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, out);
}

/* Splits "hr,sbp" into codes[] (numeric codes only), NULL-terminated. */
static const char *split_codes(char *list, const char **codes, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const obs_code *oc = obs_code_lookup(tok);
        if (!oc || oc->kind != OBS_NUMERIC)
            return "codes must be a comma-separated list of numeric observation codes";
        if (n + 1 >= max)
            return "codes lists too many codes (at most 16)";
        codes[n++] = oc->code;
    }
    if (n == 0)
        return "codes must name at least one code";
    codes[n] = NULL;
    return NULL;
}

enum MHD_Result api_readings_series(struct req *r)
{
    const char *codes[17];
    char list[512];
    const char *problem;
    int64_t patient = 0, from = 0, to = 0, now = timefmt_now_ms();
    long buckets = 0;
    enum MHD_Result ret = MHD_NO;
    char *out = NULL;
    db_conn *c;

    if (path_patient(r, &patient, &ret) != 1)
        return ret;
    if (snprintf(list, sizeof list, "%s",
                 req_query(r, "codes") ? req_query(r, "codes") : "hr,sbp,dbp,map,spo2,temp,rr") >=
        (int)sizeof list)
        return bad_query(r, "codes", "codes is too long");
    problem = split_codes(list, codes, sizeof codes / sizeof codes[0]);
    if (problem)
        return bad_query(r, "codes", problem);
    if (req_query_time(r, "to", now, &to) != 0)
        return bad_query(r, "to", "to must be an RFC 3339 date-time");
    if (req_query_time(r, "from", to - 24 * 3600 * 1000LL, &from) != 0)
        return bad_query(r, "from", "from must be an RFC 3339 date-time");
    if (from >= to)
        return bad_query(r, "from", "from must be before to");
    if (req_query_int(r, "buckets", 200, 1, 2000, &buckets) != 0)
        return bad_query(r, "buckets", "buckets must be an integer from 1 to 2000");
    c = db_reader();
    if (!c || store_obs_series(c, patient, codes, from, to, (int)buckets, &out) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json_text(r, 200, out);
}
