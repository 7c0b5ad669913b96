/* fhir_bundle: POST /fhir (and /fhir/) with a transaction or batch Bundle
 * of Observation creates (FHIR R4 http.html#transaction).
 *
 * transaction: every entry is checked first; one bad entry refuses the
 *   whole Bundle and nothing is stored. The entries are then stored by one
 *   writer job, so they commit together or not at all.
 * batch: each entry on its own; refused entries get their outcome in the
 *   response, the others are stored (by one writer job). */
#include "fhir.h"
#include "fhir_search.h"
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_ENTRIES_MAX 1000

struct entry {
    ingest *in;      /* NULL when refused */
    unsigned status; /* refusal status */
    fhir_issue err;
    json_t *resource; /* stored, after apply */
    char location[128];
    bool created;
};

struct bundle_job {
    char base[256]; /* taken on the request thread, for the writer's reply */
    bool transaction;
    size_t n;
    struct entry *e;
};

static void job_free(void *p)
{
    struct bundle_job *job = p;

    if (!job)
        return;
    for (size_t i = 0; i < job->n; i++) {
        ingest_free(job->e[i].in);
        json_decref(job->e[i].resource);
    }
    free(job->e);
    free(job);
}

static const char *status_text(unsigned status)
{
    switch (status) {
    case 200:
        return "200 OK";
    case 201:
        return "201 Created";
    case 400:
        return "400 Bad Request";
    case 403:
        return "403 Forbidden";
    case 404:
        return "404 Not Found";
    case 503:
        return "503 Service Unavailable";
    default:
        return status >= 500 ? "500 Internal Server Error" : "422 Unprocessable Entity";
    }
}

/* An entry must be a POST of an Observation. 0 or a status with *err. */
static unsigned entry_request(const json_t *entry, fhir_issue *err)
{
    const json_t *req = json_object_get(entry, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *url = json_string_value(json_object_get(req, "url"));
    const char *rt =
        json_string_value(json_object_get(json_object_get(entry, "resource"), "resourceType"));

    err->code = "not-supported";
    snprintf(err->expression, sizeof err->expression, "Bundle.entry.request");
    if (!method || !url) {
        err->code = "required";
        snprintf(err->diagnostics, sizeof err->diagnostics,
                 "Each entry needs request.method and request.url.");
        return 400;
    }
    if (strcmp(method, "POST") != 0 ||
        (strcmp(url, "Observation") != 0 && strcmp(url, "Observation/") != 0) || !rt ||
        strcmp(rt, "Observation") != 0) {
        snprintf(err->diagnostics, sizeof err->diagnostics,
                 "Only POST Observation entries are supported here (this entry: %.10s %.60s of "
                 "%.40s); nothing of it was stored.",
                 method, url, rt ? rt : "no resource");
        return 422;
    }
    return 0;
}

static unsigned prepare_entry(struct req *r, const json_t *entry, struct entry *e)
{
    unsigned status = entry_request(entry, &e->err);

    if (!status)
        status = fhir_observation_prepare(r, json_object_get(entry, "resource"), &e->in, &e->err);
    e->status = status;
    return status;
}

static json_t *response_bundle(const struct bundle_job *job, const char *base);

static int bundle_apply(db_conn *c, struct req *r)
{
    struct bundle_job *job = r->ctx;

    for (size_t i = 0; i < job->n; i++) {
        struct entry *e = &job->e[i];
        if (!e->in)
            continue;
        json_decref(e->resource);
        e->resource = NULL;
        if (ingest_apply(c, e->in) != 0 ||
            fhir_observation_stored(c, e->in, &r->who, &e->resource, e->location,
                                    sizeof e->location) != 0)
            return DB_STORAGE_FAILURE;
        e->created = ingest_accepted(e->in) > 0;
    }
    r->out = response_bundle(job, job->base);
    r->out_status = 200;
    return r->out ? 0 : DB_STORAGE_FAILURE;
}

static json_t *response_bundle(const struct bundle_job *job, const char *base)
{
    json_t *out = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type",
                            job->transaction ? "transaction-response" : "batch-response", "entry");

    for (size_t i = 0; i < job->n; i++) {
        const struct entry *e = &job->e[i];
        json_t *one;
        if (e->in && e->resource) {
            char full[512];
            snprintf(full, sizeof full, "%s/%s", base, e->location);
            one = json_pack("{s:O, s:{s:s, s:s, s:s}}", "resource", e->resource, "response",
                            "status", e->created ? "201 Created" : "200 OK", "location", full,
                            "etag", "W/\"1\"");
        } else {
            one = json_pack(
                "{s:{s:s, s:o}}", "response", "status", status_text(e->status), "outcome",
                fhir_outcome("error", e->err.code, e->err.diagnostics, e->err.expression));
        }
        json_array_append_new(json_object_get(out, "entry"), one);
    }
    return out;
}

static void bundle_committed(struct req *r)
{
    struct bundle_job *job = r->ctx;

    for (size_t i = 0; i < job->n; i++) {
        if (!job->e[i].in)
            continue;
        ingest_committed(job->e[i].in);
        job->e[i].in = NULL;
    }
}

/* The Bundle's type: true for transaction, false for batch; replies 400
 * for anything else. */
static bool bundle_type_or_reply(struct req *r, bool *transaction, enum MHD_Result *ret)
{
    const char *type = json_string_value(json_object_get(r->json, "type"));
    size_t n = json_array_size(json_object_get(r->json, "entry"));
    fhir_issue is = {.code = "invalid", .expression = "Bundle.type"};

    if (!fhir_resource_or_reply(r, r->json, "Bundle", ret))
        return false;
    if (!type || (strcmp(type, "transaction") != 0 && strcmp(type, "batch") != 0)) {
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "POST to the base takes a transaction or batch Bundle, not '%.40s'.",
                 type ? type : "(no type)");
        *ret = fhir_reply_issue(r, 400, &is);
        return false;
    }
    if (n > BUNDLE_ENTRIES_MAX) {
        snprintf(is.diagnostics, sizeof is.diagnostics, "A Bundle may hold at most %d entries.",
                 BUNDLE_ENTRIES_MAX);
        is.code = "too-costly";
        *ret = fhir_reply_issue(r, 413, &is);
        return false;
    }
    *transaction = strcmp(type, "transaction") == 0;
    return true;
}

enum MHD_Result fhir_bundle_post(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    const json_t *entries = json_object_get(r->json, "entry");
    struct bundle_job *job;
    bool transaction = false;
    size_t stored = 0;

    if (!fhir_format_or_reply(r, &ret) || !bundle_type_or_reply(r, &transaction, &ret))
        return ret;
    job = calloc(1, sizeof *job);
    if (job)
        job->e = calloc(json_array_size(entries) ? json_array_size(entries) : 1, sizeof *job->e);
    r->ctx = job;
    r->ctx_free = job_free;
    if (!job || !job->e)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    job->transaction = transaction;
    job->n = json_array_size(entries);
    for (size_t i = 0; i < job->n; i++) {
        struct entry *e = &job->e[i];
        if (prepare_entry(r, json_array_get(entries, i), e) == 0) {
            stored++;
            continue;
        }
        if (transaction) {
            char where[96];
            snprintf(where, sizeof where, "Bundle.entry[%zu].resource", i);
            snprintf(e->err.expression, sizeof e->err.expression, "%s", where);
            strncat(e->err.diagnostics, " The transaction was refused whole; nothing was stored.",
                    sizeof e->err.diagnostics - strlen(e->err.diagnostics) - 1);
            return fhir_reply_issue(r, e->status == 503 ? 503 : 400, &e->err);
        }
    }
    fhir_base_url(r, job->base, sizeof job->base);
    if (!stored)
        return reply_json(r, 200, response_bundle(job, job->base));
    r->after_commit = bundle_committed;
    return req_write(r, bundle_apply);
}
