/* api_courses: a person's courses and their response evaluations
 * (docs/api.md "Courses", docs/clinical.md "Courses").
 *   GET  /api/v1/patients/{id}/responses   viewer:
 *        {"responses": [{"id", "course", "category", "date", "note",
 *                        "recorded_by", "recorded_at"}],
 *         "courses": [{"course", "patient_id", "admitted_at", "discharged_at"}]}
 *        (one row per admission, with its course)
 *   POST /api/v1/patients/{id}/responses   physician:
 *        {"course": 1, "category": "CR"|"PR"|"SD"|"PD", "date": "YYYY-MM-DD",
 *         "note"?} -> 201 with the response; audited ("response.record").
 * A person is an MRN; their admissions are grouped into courses
 * (clinical_course_numbers), and any admission's id reaches the person's
 * whole history. The course must be one the person has had; the date not
 * after today. After the commit every admission of the person is
 * re-evaluated (the course gate reads the responses). */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct response_ctx {
    int64_t patient_id;
    store_response resp;
    char category[4], date[11], note[1001];
    int64_t *admissions; /* ids, for the re-evaluation after the commit */
    size_t n_admissions;
};

static void response_ctx_free(void *p)
{
    struct response_ctx *x = p;

    if (x)
        free(x->admissions);
    free(x);
}

static enum MHD_Result no_patient(struct req *r)
{
    return reply_errorf(r, ERR_NOT_FOUND, NULL, "No patient %s.", r->nparams ? r->params[0] : "");
}

static json_t *courses_json(const store_admission *a, size_t n, const int *course_of)
{
    json_t *out = json_array();
    char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

    for (size_t i = 0; out && i < n; i++)
        json_array_append_new(
            out, json_pack("{s:I, s:I, s:s, s:s?}", "course", (json_int_t)course_of[i],
                           "patient_id", (json_int_t)a[i].id, "admitted_at",
                           timefmt_format(a[i].admitted_at, t1, sizeof t1), "discharged_at",
                           a[i].discharged_at ? timefmt_format(a[i].discharged_at, t2, sizeof t2)
                                              : NULL));
    return out;
}

enum MHD_Result api_courses_responses_get(struct req *r)
{
    db_conn *c = db_reader();
    store_admission *adm = NULL;
    json_t *list = NULL, *out;
    int *course_of = NULL;
    size_t n = 0;
    int64_t id;
    int rc = -1;

    if (req_param_id(r, 0, &id) != 0)
        return no_patient(r);
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (store_snapshot_begin(c) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (store_course_admissions(c, id, &adm, &n) == 0 &&
        (course_of = calloc(n + 1, sizeof *course_of)) != NULL &&
        (n == 0 || (clinical_course_numbers(c, adm, n, course_of) == 0 &&
                    store_responses(c, id, &list) == 0)))
        rc = 0;
    store_snapshot_end(c);
    if (rc != 0 || n == 0) {
        free(adm);
        free(course_of);
        return rc != 0 ? reply_error(r, ERR_STORAGE, NULL, NULL) : no_patient(r);
    }
    out = json_pack("{s:o, s:o}", "responses", list, "courses", courses_json(adm, n, course_of));
    free(adm);
    free(course_of);
    return reply_json(r, 200, out);
}

static int response_apply(db_conn *c, struct req *r)
{
    struct response_ctx *x = r->ctx;
    store_admission *adm = NULL;
    size_t n = 0;
    int64_t now = timefmt_now_ms(), id = 0;
    char idbuf[24];
    int rc;

    int *course_of = NULL;

    if (store_course_admissions(c, x->patient_id, &adm, &n) != 0)
        return DB_STORAGE_FAILURE;
    if (n == 0) {
        free(adm);
        return req_fail(r, ERR_NOT_FOUND, NULL, "No patient %" PRId64 ".", x->patient_id);
    }
    course_of = calloc(n, sizeof *course_of);
    if (!course_of || clinical_course_numbers(c, adm, n, course_of) != 0) {
        free(adm);
        free(course_of);
        return DB_STORAGE_FAILURE;
    }
    rc = course_of[n - 1];
    free(course_of);
    if (x->resp.course > rc) {
        free(adm);
        return req_fail(
            r, ERR_VALIDATION,
            json_pack("[o]", reply_field_detail("course", "is not a course of this person")),
            "The person has had %d course(s); course %d has not begun.", rc, x->resp.course);
    }
    x->admissions = calloc(n, sizeof *x->admissions);
    for (size_t i = 0; x->admissions && i < n; i++)
        x->admissions[x->n_admissions++] = adm[i].id;
    free(adm);
    rc = store_response_insert(c, x->patient_id, &x->resp, &r->who, now, &id);
    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    if (store_response_get(c, id, &r->out) != 1)
        return DB_STORAGE_FAILURE;
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    if (store_audit(c, &r->who, "response.record", "response", idbuf, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

static void response_committed(struct req *r)
{
    const struct response_ctx *x = r->ctx;

    for (size_t i = 0; i < x->n_admissions; i++)
        clinical_patient_changed(x->admissions[i]);
}

/* Checks the body into x; replies and returns false when it is invalid. */
static bool response_body_or_reply(struct req *r, struct response_ctx *x, enum MHD_Result *ret)
{
    static const field_spec specs[] = {
        {"course", F_INT, true, false, 0},
        {"category", F_STRING, true, false, 2},
        {"date", F_DATE, true, false, 0},
        {"note", F_STRING, false, true, 1000},
    };
    static const char *const categories[] = {"CR", "PR", "SD", "PD"};
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    const json_t *course = json_object_get(r->json, "course");
    const char *cat = body_str(r->json, "category", NULL);
    const char *date = body_str(r->json, "date", NULL);
    char latest[TIMEFMT_LEN];
    bool known = false;

    if (!details)
        details = json_array();
    for (size_t i = 0; cat && i < 4; i++)
        known |= strcmp(cat, categories[i]) == 0;
    if (cat && !known)
        json_array_append_new(details, reply_field_detail("category", "must be CR, PR, SD or PD"));
    if (json_is_integer(course) &&
        (json_integer_value(course) < 1 || json_integer_value(course) > 1000))
        json_array_append_new(details, reply_field_detail("course", "must be 1 or more"));
    /* a date-only evaluation may be today anywhere on earth (UTC+14) */
    timefmt_format(timefmt_now_ms() + 14 * INT64_C(3600000), latest, sizeof latest);
    latest[10] = '\0';
    if (date && strlen(date) == 10 && strcmp(date, latest) > 0)
        json_array_append_new(details, reply_field_detail("date", "must not be in the future"));
    if (json_array_size(details) > 0) {
        *ret = reply_error(r, ERR_VALIDATION, "The response evaluation is invalid.", details);
        return false;
    }
    json_decref(details);
    x->resp.course = (int)json_integer_value(course);
    snprintf(x->category, sizeof x->category, "%s", cat);
    snprintf(x->date, sizeof x->date, "%s", date);
    snprintf(x->note, sizeof x->note, "%s", body_str(r->json, "note", ""));
    x->resp.category = x->category;
    x->resp.date = x->date;
    x->resp.note = x->note[0] ? x->note : NULL;
    return true;
}

enum MHD_Result api_courses_responses_post(struct req *r)
{
    struct response_ctx *x = calloc(1, sizeof *x);
    enum MHD_Result ret = MHD_NO;

    if (!x)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    r->ctx = x;
    r->ctx_free = response_ctx_free;
    if (req_param_id(r, 0, &x->patient_id) != 0)
        return no_patient(r);
    if (!response_body_or_reply(r, x, &ret))
        return ret;
    r->after_commit = response_committed;
    return req_write(r, response_apply);
}
