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
#include "app.h"
#include "body.h"
#include "clinical.h"
#include "ingest.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* docs/api.md: at most 1,000 readings in one request. */
#define READINGS_PER_REQUEST_MAX 1000

static void ingest_ctx_free(void *p)
{
    ingest_free(p);
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

static int readings_apply(db_conn *c, struct req *r)
{
    if (ingest_apply(c, r->ctx) != 0)
        return DB_STORAGE_FAILURE;
    r->out = ingest_result(r->ctx);
    r->out_status = 201;
    return 0;
}

/* Runs on the writer thread once the batch is durable; the batch leaves
 * the request (whose reply is already in r->out). */
static void readings_committed(struct req *r)
{
    ingest *in = r->ctx;

    r->ctx = NULL;
    ingest_committed(in);
}

/* The shape and size of {"readings": [...]}: true to go on, false when it
 * replied. */
static bool batch_shape_or_reply(struct req *r, size_t *n, enum MHD_Result *ret)
{
    static const field_spec specs[] = {{"readings", F_ARRAY, true, false, 0}};
    json_t *details = body_check(r->json, BODY_SPECS(specs));

    *n = json_array_size(json_object_get(r->json, "readings"));
    if (details) {
        *ret = reply_error(r, ERR_VALIDATION, "The body must be {\"readings\": [...]}.", details);
        return false;
    }
    if (*n > READINGS_PER_REQUEST_MAX) {
        *ret = reply_errorf(r, ERR_TOO_MANY_READINGS, NULL,
                            "The batch has %zu readings; at most %d are allowed.", *n,
                            READINGS_PER_REQUEST_MAX);
        return false;
    }
    if (*n == 0) {
        *ret = reply_error(r, ERR_VALIDATION, "The batch has no readings.",
                           json_pack("[o]", reply_field_detail("readings", "must not be empty")));
        return false;
    }
    return true;
}

/* Validates every item of the batch into a new ingest in r->ctx: true to
 * go on and write, false when it replied (bad shape, nothing valid). */
static bool batch_or_reply(struct req *r, double weight_kg, bool require_id, ingest **out,
                           enum MHD_Result *ret)
{
    const json_t *items = json_object_get(r->json, "readings");
    /* devices: no reading older than the horizon (docs/security.md); staff
     * may chart last week's outside results */
    obs_context ctx = {.now_ms = timefmt_now_ms(),
                       .weight_kg = weight_kg,
                       .require_id = require_id,
                       .max_age_ms =
                           r->who.role == ROLE_DEVICE ? r->app->device_reading_horizon_ms : 0,
                       .grade_term_ok = clinical_grade_term_ok};
    ingest *in;
    size_t n;

    if (!batch_shape_or_reply(r, &n, ret))
        return false;
    in = ingest_new(n);
    if (!in) {
        *ret = reply_error(r, ERR_INTERNAL, NULL, NULL);
        return false;
    }
    r->ctx = in;
    r->ctx_free = ingest_ctx_free;
    for (size_t i = 0; i < n; i++) {
        obs_error err;
        if (obs_parse_reading(json_array_get(items, i), &ctx, ingest_slot(in), &err) == 0)
            ingest_keep(in);
        else if (ingest_reject(in, i, err.code, err.message) != 0) {
            *ret = reply_error(r, ERR_INTERNAL, NULL, NULL);
            return false;
        }
    }
    if (ingest_valid_count(in) == 0) {
        json_t *body =
            reply_error_body(ERR_NO_READING_ACCEPTED, NULL, json_deep_copy(ingest_rejected(in)));
        /* docs/api.md: 422 "with the same shape": the error object plus the counts. */
        json_object_update_new(body, ingest_result(in));
        ingest_count_refused(in);
        *ret = reply_json(r, err_http_status(ERR_NO_READING_ACCEPTED), body);
        return false;
    }
    *out = in;
    return true;
}

enum MHD_Result api_readings_post(struct req *r)
{
    double weight = 0;
    enum MHD_Result ret = MHD_NO;
    ingest *in;

    if (r->who.bed[0] && needs_weight(json_object_get(r->json, "readings"))) {
        db_conn *c = db_reader();
        if (!c || store_bed_patient_weight(c, r->who.bed, &weight) < 0)
            return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    if (!batch_or_reply(r, weight, true, &in, &ret))
        return ret;
    ingest_from_device(in, r->who.id, r->who.name);
    ingest_label_bed(in, r->who.bed);
    r->after_commit = readings_committed;
    return req_write(r, readings_apply);
}

enum MHD_Result api_readings_observations_post(struct req *r)
{
    double weight = 0;
    enum MHD_Result ret = MHD_NO;
    int64_t patient = 0;
    ingest *in;

    if (!patient_or_reply(r, &patient, &ret))
        return ret;
    if (needs_weight(json_object_get(r->json, "readings"))) {
        db_conn *c = db_reader();
        if (!c || store_patient_weight(c, patient, &weight) < 0)
            return reply_error(r, ERR_STORAGE, NULL, NULL);
    }
    if (!batch_or_reply(r, weight, false, &in, &ret))
        return ret;
    ingest_from_user(in, &r->who);
    ingest_file_to_patient(in, patient);
    r->after_commit = readings_committed;
    return req_write(r, readings_apply);
}

/* --- reading back --------------------------------------------------------- */

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

    if (!patient_or_reply(r, &q.patient_id, &ret))
        return ret;
    q.code = req_query(r, "code");
    if (q.code && !obs_code_lookup(q.code))
        return reply_bad_query(r, "code", "is not a known observation code");
    if (req_query_time(r, "from", INT64_MIN, &q.from) != 0)
        return reply_bad_query(r, "from", "must be " REPLY_TIME_EXAMPLE);
    if (req_query_time(r, "to", INT64_MAX, &q.to) != 0)
        return reply_bad_query(r, "to", "must be " REPLY_TIME_EXAMPLE);
    if (q.from > q.to)
        return reply_bad_query(r, "from", "must not be after to");
    if (req_query_int(r, "limit", 100, 1, 1000, &limit) != 0)
        return reply_bad_query(r, "limit", "must be an integer from 1 to 1000");
    q.limit = (int)limit;
    /* readings marked invalid are left out unless asked for (api_invalid.c) */
    if (req_query_int(r, "include_invalid", 0, 0, 1, &limit) != 0)
        return reply_bad_query(r, "include_invalid", "must be 0 or 1");
    q.with_invalid = limit == 1;
    if (cursor) {
        if (parse_cursor(cursor, &q.after_time, &q.after_id) != 0)
            return reply_bad_query(r, "cursor", "must be a value from a previous page's next");
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
            return "must be a comma-separated list of numeric observation codes";
        if (n + 1 >= max)
            return "lists too many codes (at most 16)";
        codes[n++] = oc->code;
    }
    if (n == 0)
        return "must name at least one code";
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

    if (!patient_or_reply(r, &patient, &ret))
        return ret;
    if (snprintf(list, sizeof list, "%s",
                 req_query(r, "codes") ? req_query(r, "codes") : "hr,sbp,dbp,map,spo2,temp,rr") >=
        (int)sizeof list)
        return reply_bad_query(r, "codes", "is too long");
    problem = split_codes(list, codes, sizeof codes / sizeof codes[0]);
    if (problem)
        return reply_bad_query(r, "codes", problem);
    if (req_query_time(r, "to", now, &to) != 0)
        return reply_bad_query(r, "to", "must be " REPLY_TIME_EXAMPLE);
    if (req_query_time(r, "from", to - 24 * 3600 * 1000LL, &from) != 0)
        return reply_bad_query(r, "from", "must be " REPLY_TIME_EXAMPLE);
    if (from >= to)
        return reply_bad_query(r, "from", "must be before to");
    if (req_query_int(r, "buckets", 200, 1, 2000, &buckets) != 0)
        return reply_bad_query(r, "buckets", "must be an integer from 1 to 2000");
    c = db_reader();
    if (!c || store_obs_series(c, patient, codes, from, to, (int)buckets, &out) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json_text(r, 200, out);
}
