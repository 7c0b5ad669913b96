/* api_patients: admission, discharge, transfer and the patient record
 * (docs/api.md "Patients").
 *
 *   GET   /api/v1/patients?status=admitted|discharged|all   viewer
 *   POST  /api/v1/patients                                   nurse
 *   GET   /api/v1/patients/{id}                              viewer
 *   PATCH /api/v1/patients/{id}                              nurse; physician for
 *                                                            baseline, reference_ranges,
 *                                                            news2_scale
 *   POST  /api/v1/patients/{id}/discharge                    nurse
 *   POST  /api/v1/patients/{id}/transfer {"bed", "time"?}    nurse
 *
 * Every change is audited with the patient before and after. */
#include "api.h"
#include "body.h"
#include "clinical.h"
#include "obs.h"
#include "events.h"
#include "rules.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)

/* The baseline and reference-range keys, their units and plausible ranges
 * are the clinical layer's catalogue (rules_baseline_keys, rules_limit_keys
 * in rules.h, served by GET /api/v1/catalogue). */

static const char *const diagnoses[] = {"melanoma", "rcc", "other"};

/* --- validation -------------------------------------------------------------- */

static void add_detail(json_t *details, const char *field, const char *message)
{
    json_array_append_new(details, reply_field_detail(field, message));
}

/* Names, MRNs and the like are shown on the wall: no control characters,
 * not blank. NULL when fine. */
static const char *text_problem(const char *s)
{
    bool blank = true;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
        if (*p != ' ')
            blank = false;
    }
    return blank ? "must not be blank" : NULL;
}

static void check_text(const json_t *body, const char *key, json_t *details)
{
    const json_t *v = json_object_get(body, key);
    const char *problem = json_is_string(v) ? text_problem(json_string_value(v)) : NULL;

    if (problem)
        add_detail(details, key, problem);
}

/* Checks the members of `obj` (baseline or reference_ranges) against its
 * table; details name "prefix.key". A null member is accepted: on PATCH it
 * removes the key, on POST it is the same as leaving the key out. */
static void check_numbers(const json_t *obj, const char *prefix, const rules_key_info *fields,
                          size_t n, json_t *details)
{
    const char *key;
    json_t *v;
    char field[96], msg[128];

    if (!json_is_object(obj))
        return;
    json_object_foreach((json_t *)obj, key, v)
    {
        const rules_key_info *f = NULL;
        double x;

        for (size_t i = 0; i < n && !f; i++)
            if (strcmp(fields[i].key, key) == 0)
                f = &fields[i];
        snprintf(field, sizeof field, "%s.%s", prefix, key);
        if (!f) {
            add_detail(details, field, "is not a known field");
            continue;
        }
        if (json_is_null(v))
            continue;
        x = json_is_number(v) ? json_number_value(v) : -1;
        if (!json_is_number(v) || !(x >= f->min && x <= f->max)) {
            snprintf(msg, sizeof msg, "must be a number from %g to %g %s", f->min, f->max, f->unit);
            add_detail(details, field, msg);
        }
    }
}

/* Lower limits must lie below their upper limits. `ranges` is the record
 * as it will be stored (nulls dropped). */
static void check_range_order(const json_t *ranges, json_t *details)
{
    char field[96], msg[96];

    for (size_t i = 0; i < RULES_LIMIT_PAIRS; i++) {
        const char *lo_key = rules_limit_keys[rules_limit_pairs[i][0]].key;
        const char *hi_key = rules_limit_keys[rules_limit_pairs[i][1]].key;
        const json_t *lo = json_object_get(ranges, lo_key);
        const json_t *hi = json_object_get(ranges, hi_key);
        if (json_is_number(lo) && json_is_number(hi) &&
            json_number_value(lo) >= json_number_value(hi)) {
            snprintf(field, sizeof field, "reference_ranges.%s", lo_key);
            snprintf(msg, sizeof msg, "must be below %s", hi_key);
            add_detail(details, field, msg);
        }
    }
}

/* `key` holds an RFC 3339 time (already checked) no more than
 * OBS_FUTURE_MS after now. */
static void check_not_future(const json_t *body, const char *key, int64_t now, json_t *details)
{
    int64_t t;
    const char *s = body_str(body, key, NULL);

    if (s && timefmt_parse(s, &t) == 0 && t > now + OBS_FUTURE_MS)
        add_detail(details, key, "must not be more than 5 minutes in the future");
}

/* The checks body_check cannot express, shared by POST and PATCH. Each
 * runs only on a member of the right type (body_check reported the rest). */
static void check_patient_fields(const json_t *body, int64_t now, json_t *details)
{
    const char *birth = body_str(body, "birth_date", NULL);
    const char *dx = body_str(body, "diagnosis", NULL);
    const json_t *scale = json_object_get(body, "news2_scale");
    int y, m, d;

    check_text(body, "mrn", details);
    check_text(body, "name", details);
    check_text(body, "sex", details);
    if (birth && timefmt_parse_date(birth, &y, &m, &d) == 0) {
        /* Today in UTC plus a day, so that no time zone sees "tomorrow". */
        int64_t today = now / DAY_MS;
        if (y < 1900)
            add_detail(details, "birth_date", "must be 1900-01-01 or later");
        else if (timefmt_days_from_civil(y, m, d) > today + 1)
            add_detail(details, "birth_date", "must not be in the future");
    }
    if (dx) {
        bool known = false;
        for (size_t i = 0; i < sizeof diagnoses / sizeof diagnoses[0]; i++)
            known = known || strcmp(dx, diagnoses[i]) == 0;
        if (!known)
            add_detail(details, "diagnosis", "must be one of melanoma, rcc, other");
    }
    if (json_is_integer(scale) && json_integer_value(scale) != 1 && json_integer_value(scale) != 2)
        add_detail(details, "news2_scale", "must be 1 or 2");
    check_numbers(json_object_get(body, "baseline"), "baseline", rules_baseline_keys,
                  RULES_BL_COUNT, details);
    check_numbers(json_object_get(body, "reference_ranges"), "reference_ranges", rules_limit_keys,
                  RULES_LIM_COUNT, details);
}

/* Go on when `details` (stolen; NULL-safe) lists no problem; otherwise
 * replies 422 with them and returns false (*result set). */
static bool valid_or_reply(struct req *r, json_t *details, const char *message,
                           enum MHD_Result *result)
{
    if (!details || json_array_size(details) == 0) {
        json_decref(details);
        return true;
    }
    *result = reply_error(r, ERR_VALIDATION, message, details);
    return false;
}

/* A new empty details array when body_check found nothing. */
static json_t *details_or_new(json_t *details)
{
    return details ? details : json_array();
}

static void id_text(int64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRId64, id);
}

/* --- reads ------------------------------------------------------------------- */

enum MHD_Result api_patients_list(struct req *r)
{
    const char *status = req_query(r, "status");
    db_conn *c = db_reader();
    json_t *list = NULL;

    if (!status)
        status = "admitted";
    if (strcmp(status, "admitted") != 0 && strcmp(status, "discharged") != 0 &&
        strcmp(status, "all") != 0)
        return reply_bad_query(r, "status", "must be admitted, discharged or all");
    if (!c || store_patient_list(c, status, &list) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    return reply_json(r, 200, json_pack("{s:o}", "patients", list));
}

enum MHD_Result api_patients_get(struct req *r)
{
    db_conn *c = db_reader();
    json_t *p = NULL;
    int64_t id;
    enum MHD_Result result;
    int rc;

    if (!patient_id_or_reply(r, &id, &result))
        return result;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = store_patient_get(c, id, &p);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0)
        return reply_no_patient(r);
    return reply_json(r, 200, p);
}

/* --- events ------------------------------------------------------------------------ */

/* after_commit (writer thread): a `patient` event {"action", "patient"}
 * with the record the reply carries (docs/events.md). */
static void publish_patient(struct req *r, const char *action)
{
    events_publish("patient", json_pack("{s:s, s:O}", "action", action, "patient", r->out));
    /* the clinical cache follows the record, its bed and its stay */
    clinical_patient_changed(json_integer_value(json_object_get(r->out, "id")));
}

static void admitted(struct req *r)
{
    publish_patient(r, "admit");
}

static void updated(struct req *r)
{
    publish_patient(r, "update");
}

static void discharged(struct req *r)
{
    publish_patient(r, "discharge");
}

static void transferred(struct req *r)
{
    publish_patient(r, "transfer");
}

/* --- admission ----------------------------------------------------------------- */

void api_patient_fields(const json_t *body, store_patient_fields *f)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } text[] = {
        {"mrn", STORE_PF_MRN, offsetof(store_patient_fields, mrn)},
        {"name", STORE_PF_NAME, offsetof(store_patient_fields, name)},
        {"birth_date", STORE_PF_BIRTH_DATE, offsetof(store_patient_fields, birth_date)},
        {"sex", STORE_PF_SEX, offsetof(store_patient_fields, sex)},
        {"diagnosis", STORE_PF_DIAGNOSIS, offsetof(store_patient_fields, diagnosis)},
    };
    const json_t *scale = json_object_get(body, "news2_scale");

    *f = (store_patient_fields){0};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        const json_t *v = json_object_get(body, text[i].key);
        if (!v)
            continue;
        f->set |= text[i].bit;
        *(const char **)((char *)f + text[i].off) = json_is_string(v) ? json_string_value(v) : NULL;
    }
    f->bed = json_string_value(json_object_get(body, "bed"));
    f->news2_scale = json_is_integer(scale) ? (int)json_integer_value(scale) : 0;
    f->baseline = json_object_get(body, "baseline");
    f->reference_ranges = json_object_get(body, "reference_ranges");
}

static int admit_apply(db_conn *c, struct req *r)
{
    const char *bed = body_str(r->json, "bed", "");
    const char *at_text = body_str(r->json, "admitted_at", NULL);
    int64_t now = timefmt_now_ms(), at = now, id = 0;
    char when[TIMEFMT_LEN], idbuf[24];
    store_patient_fields f;
    int rc;

    if (at_text)
        timefmt_parse(at_text, &at); /* checked by the handler */
    api_patient_fields(r->json, &f);
    rc = store_patient_admit(c, &f, at, now, &id);
    if (rc == ERR_NOT_FOUND)
        return req_fail(r, ERR_VALIDATION,
                        json_pack("[o]", reply_field_detail("bed", "no such bed")),
                        "Bed %s does not exist.", bed);
    if (rc == ERR_BED_OCCUPIED)
        return req_fail(r, ERR_BED_OCCUPIED,
                        json_pack("[o]", reply_field_detail("bed", "is occupied")),
                        "Bed %s is occupied by another patient at %s.", bed,
                        timefmt_format(at, when, sizeof when));
    if (rc == ERR_ALREADY_ADMITTED)
        return req_fail(r, ERR_ALREADY_ADMITTED,
                        json_pack("[o]", reply_field_detail("mrn", "is already admitted")),
                        "A patient with MRN %s is already admitted; discharge or transfer that "
                        "record instead.",
                        body_str(r->json, "mrn", ""));
    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    if (store_patient_get(c, id, &r->out) != 1)
        return DB_STORAGE_FAILURE;
    id_text(id, idbuf, sizeof idbuf);
    if (store_audit(c, &r->who, "patient.admit", "patient", idbuf, NULL, r->out, now) != 0)
        return DB_STORAGE_FAILURE;
    r->out_status = 201;
    return 0;
}

enum MHD_Result api_patients_post(struct req *r)
{
    static const field_spec specs[] = {
        {"mrn", F_STRING, true, false, 64},       {"name", F_STRING, true, false, 128},
        {"birth_date", F_DATE, false, true, 0},   {"sex", F_STRING, false, true, 32},
        {"diagnosis", F_STRING, false, true, 16}, {"bed", F_STRING, true, false, 32},
        {"admitted_at", F_TIME, false, true, 0},  {"news2_scale", F_INT, false, true, 0},
        {"baseline", F_OBJECT, false, true, 0},   {"reference_ranges", F_OBJECT, false, true, 0},
    };
    json_t *details = body_check(r->json, BODY_SPECS(specs));
    int64_t now = timefmt_now_ms();
    enum MHD_Result result;

    if (json_is_object(r->json)) {
        details = details_or_new(details);
        check_text(r->json, "bed", details);
        check_not_future(r->json, "admitted_at", now, details);
        check_patient_fields(r->json, now, details);
        check_range_order(json_object_get(r->json, "reference_ranges"), details);
    }
    if (!valid_or_reply(r, details, "The patient is invalid.", &result))
        return result;
    r->after_commit = admitted;
    return req_write(r, admit_apply);
}

/* --- changes to the record ------------------------------------------------------ */

/* The reference ranges as they will be after applying `patch` (RFC 7396). */
static json_t *merged_ranges(const json_t *current, const json_t *patch)
{
    json_t *merged = json_deep_copy(current);
    const char *key;
    json_t *v;

    if (!json_is_object(merged)) {
        json_decref(merged);
        merged = json_object();
    }
    /* A non-object iterates as empty. */
    json_object_foreach((json_t *)patch, key, v)
    {
        if (json_is_null(v))
            json_object_del(merged, key);
        else
            json_object_set(merged, key, v);
    }
    return merged;
}

static int patch_apply(db_conn *c, struct req *r)
{
    int64_t now = timefmt_now_ms(), id = 0;
    json_t *before = NULL, *after = NULL, *ranges = NULL, *details = NULL;
    char idbuf[24];
    store_patient_fields f;
    int rc = DB_STORAGE_FAILURE;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail_no_patient(r);
    rc = store_patient_get(c, id, &before);
    if (rc != 1) {
        rc = rc == 0 ? req_fail_no_patient(r) : DB_STORAGE_FAILURE;
        goto out;
    }
    /* Limit pairs are checked on the merged record: a patch may set one
     * limit of a pair whose other limit is already stored. */
    ranges = merged_ranges(json_object_get(before, "reference_ranges"),
                           json_object_get(r->json, "reference_ranges"));
    details = json_array();
    check_range_order(ranges, details);
    if (json_array_size(details) > 0) {
        rc = req_fail(r, ERR_VALIDATION, details, "The patient is invalid.");
        details = NULL;
        goto out;
    }
    api_patient_fields(r->json, &f);
    rc = store_patient_update(c, id, &f, now);
    if (rc == ERR_ALREADY_ADMITTED) {
        rc = req_fail(r, ERR_ALREADY_ADMITTED,
                      json_pack("[o]", reply_field_detail("mrn", "is already admitted")),
                      "Another admitted patient has MRN %s.", body_str(r->json, "mrn", ""));
        goto out;
    }
    if (rc != 0) {
        rc = rc < 0 ? DB_STORAGE_FAILURE : rc;
        goto out;
    }
    rc = DB_STORAGE_FAILURE;
    if (store_patient_get(c, id, &after) != 1)
        goto out;
    id_text(id, idbuf, sizeof idbuf);
    /* A patch that changes nothing leaves no audit row. */
    if (!json_equal(before, after) &&
        store_audit(c, &r->who, "patient.update", "patient", idbuf, before, after, now) != 0)
        goto out;
    r->out = after;
    after = NULL;
    rc = 0;
out:
    json_decref(before);
    json_decref(after);
    json_decref(ranges);
    json_decref(details);
    return rc;
}

enum MHD_Result api_patients_patch(struct req *r)
{
    static const field_spec specs[] = {
        {"mrn", F_STRING, false, false, 64},      {"name", F_STRING, false, false, 128},
        {"birth_date", F_DATE, false, true, 0},   {"sex", F_STRING, false, true, 32},
        {"diagnosis", F_STRING, false, true, 16}, {"news2_scale", F_INT, false, false, 0},
        {"baseline", F_OBJECT, false, false, 0},  {"reference_ranges", F_OBJECT, false, false, 0},
    };
    /* docs/api.md "Patients": physician (edit baselines). The scale changes how SpO2 is
     * scored, so it is a physician's decision as well. */
    static const char *const physician_fields[] = {"baseline", "reference_ranges", "news2_scale"};
    json_t *details;
    int64_t id;
    enum MHD_Result result;

    if (!patient_id_or_reply(r, &id, &result))
        return result;
    if (!role_allows(r->who.role, ROLE_PHYSICIAN))
        for (size_t i = 0; i < sizeof physician_fields / sizeof physician_fields[0]; i++)
            if (json_object_get(r->json, physician_fields[i]))
                return reply_errorf(r, ERR_FORBIDDEN, NULL,
                                    "Changing %s needs a physician; you are signed in as %s.",
                                    physician_fields[i], role_name(r->who.role));
    details = body_check(r->json, BODY_SPECS(specs));
    if (json_is_object(r->json)) {
        details = details_or_new(details);
        check_patient_fields(r->json, timefmt_now_ms(), details);
    }
    if (!valid_or_reply(r, details, "The patient is invalid.", &result))
        return result;
    r->after_commit = updated;
    return req_write(r, patch_apply);
}

/* --- discharge and transfer -------------------------------------------------------- */

/* The discharge time: the body's "time" (checked by the handler), else
 * now. It starts the interval to the next course (docs/clinical.md
 * "Courses"), so it must not precede the stay. */
static int discharge_apply(db_conn *c, struct req *r)
{
    int64_t now = timefmt_now_ms(), id = 0, at = now, admitted = 0;
    const char *at_text = body_str(r->json, "time", NULL);
    json_t *before = NULL;
    char idbuf[24];
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail_no_patient(r);
    rc = store_patient_get(c, id, &before);
    if (rc != 1)
        return rc == 0 ? req_fail_no_patient(r) : DB_STORAGE_FAILURE;
    if (at_text && timefmt_parse(at_text, &at) == 0 &&
        timefmt_parse(body_str(before, "admitted_at", ""), &admitted) == 0 && at < admitted) {
        json_decref(before);
        return req_fail(
            r, ERR_VALIDATION,
            json_pack("[o]", reply_field_detail("time", "must not be before the stay began")),
            "The discharge time is before patient %" PRId64 " was admitted.", id);
    }
    rc = store_patient_discharge(c, id, at, now);
    if (rc == ERR_NOT_ADMITTED)
        rc = req_fail(r, ERR_NOT_ADMITTED, NULL, "Patient %" PRId64 " is already discharged.", id);
    else if (rc < 0)
        rc = DB_STORAGE_FAILURE;
    else if (rc == 0 && store_patient_get(c, id, &r->out) != 1)
        rc = DB_STORAGE_FAILURE;
    id_text(id, idbuf, sizeof idbuf);
    if (rc == 0 &&
        store_audit(c, &r->who, "patient.discharge", "patient", idbuf, before, r->out, now) != 0)
        rc = DB_STORAGE_FAILURE;
    json_decref(before);
    return rc;
}

enum MHD_Result api_patients_discharge(struct req *r)
{
    static const field_spec specs[] = {{"time", F_TIME, false, true, 0}};
    enum MHD_Result result;
    json_t *details;
    int64_t id;

    if (!patient_id_or_reply(r, &id, &result))
        return result;
    if (r->json) { /* optional: {"time": "..."} */
        details = body_check(r->json, BODY_SPECS(specs));
        if (json_is_object(r->json)) {
            details = details_or_new(details);
            check_not_future(r->json, "time", timefmt_now_ms(), details);
        }
        if (!valid_or_reply(r, details, "The discharge is invalid.", &result))
            return result;
    }
    r->after_commit = discharged;
    return req_write(r, discharge_apply);
}

/* Maps store_patient_transfer's refusals to replies. */
static int transfer_refusal(struct req *r, int rc, int64_t id, const char *bed, int64_t at,
                            const json_t *before)
{
    char when[TIMEFMT_LEN];

    switch (rc) {
    case ERR_NOT_ADMITTED:
        return req_fail(r, ERR_NOT_ADMITTED, NULL,
                        "Patient %" PRId64 " is discharged and cannot be transferred.", id);
    case ERR_CONFLICT:
        return req_fail(r, ERR_CONFLICT,
                        json_pack("[o]", reply_field_detail("bed", "is the current bed")),
                        "Patient %" PRId64 " is already in bed %s.", id, bed);
    case ERR_NOT_FOUND:
        return req_fail(r, ERR_VALIDATION,
                        json_pack("[o]", reply_field_detail("bed", "no such bed")),
                        "Bed %s does not exist.", bed);
    case ERR_BED_OCCUPIED:
        return req_fail(r, ERR_BED_OCCUPIED,
                        json_pack("[o]", reply_field_detail("bed", "is occupied")),
                        "Bed %s is occupied by another patient at %s.", bed,
                        timefmt_format(at, when, sizeof when));
    case ERR_VALIDATION:
        return req_fail(r, ERR_VALIDATION,
                        json_pack("[o]", reply_field_detail(
                                             "time", "must not be before the current stay began")),
                        "The transfer time is before the patient's stay in bed %s began.",
                        body_str(before, "bed", "?"));
    default:
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    }
}

static int transfer_apply(db_conn *c, struct req *r)
{
    const char *bed = body_str(r->json, "bed", "");
    const char *at_text = body_str(r->json, "time", NULL);
    int64_t now = timefmt_now_ms(), at = now, id = 0;
    json_t *before = NULL, *audit_after = NULL;
    char idbuf[24], when[TIMEFMT_LEN];
    int rc;

    if (req_param_id(r, 0, &id) != 0)
        return req_fail_no_patient(r);
    if (at_text)
        timefmt_parse(at_text, &at); /* checked by the handler */
    rc = store_patient_get(c, id, &before);
    if (rc != 1)
        return rc == 0 ? req_fail_no_patient(r) : DB_STORAGE_FAILURE;
    rc = store_patient_transfer(c, id, bed, at, now);
    if (rc != 0) {
        rc = transfer_refusal(r, rc, id, bed, at, before);
        goto out;
    }
    rc = DB_STORAGE_FAILURE;
    if (store_patient_get(c, id, &r->out) != 1)
        goto out;
    /* The patient record does not carry the move's time: the audit does. */
    audit_after = json_deep_copy(r->out);
    if (!audit_after ||
        json_object_set_new(audit_after, "transfer_time",
                            json_string(timefmt_format(at, when, sizeof when))) != 0)
        goto out;
    id_text(id, idbuf, sizeof idbuf);
    if (store_audit(c, &r->who, "patient.transfer", "patient", idbuf, before, audit_after, now) !=
        0)
        goto out;
    rc = 0;
out:
    json_decref(before);
    json_decref(audit_after);
    return rc;
}

enum MHD_Result api_patients_transfer(struct req *r)
{
    static const field_spec specs[] = {
        {"bed", F_STRING, true, false, 32},
        {"time", F_TIME, false, true, 0},
    };
    json_t *details;
    int64_t id;
    enum MHD_Result result;

    if (!patient_id_or_reply(r, &id, &result))
        return result;
    details = body_check(r->json, BODY_SPECS(specs));
    if (json_is_object(r->json)) {
        details = details_or_new(details);
        check_text(r->json, "bed", details);
        check_not_future(r->json, "time", timefmt_now_ms(), details);
    }
    if (!valid_or_reply(r, details, "The transfer is invalid.", &result))
        return result;
    r->after_commit = transferred;
    return req_write(r, transfer_apply);
}
