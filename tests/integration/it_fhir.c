/* it_fhir: the /fhir R4 endpoint (docs/fhir.md) against the real daemon:
 * create, read, vread, search and paging, $lastn, bundles, Patient and
 * Device, wardd's findings, and the bad input the contract names. Every
 * error is an OperationOutcome in application/fhir+json. */
#include "harness.h"

#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

/* A vital-sign Observation: LOINC code, UCUM unit, value, time, subject
 * (0: none), identifier value (NULL: none). New. */
static json_t *obs(const char *loinc, const char *ucum, double value, int64_t t, long long patient,
                   const char *ident)
{
    json_t *o =
        json_pack("{s:s, s:s, s:{s:[{s:s, s:s}]}, s:s, s:{s:f, s:s, s:s}}", "resourceType",
                  "Observation", "status", "final", "code", "coding", "system", "http://loinc.org",
                  "code", loinc, "effectiveDateTime", wd_iso(t), "valueQuantity", "value", value,
                  "system", "http://unitsofmeasure.org", "code", ucum);
    char ref[48];

    if (patient) {
        snprintf(ref, sizeof ref, "Patient/%lld", patient);
        json_object_set_new(o, "subject", json_pack("{s:s}", "reference", ref));
    }
    if (ident)
        json_object_set_new(o, "identifier",
                            json_pack("[{s:s, s:s}]", "system", "urn:test:obs", "value", ident));
    return o;
}

/* JSON text of j (stolen); free() it. */
static char *wd_dump(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    return text;
}

static wd_resp *post_obs(wd_fixture *f, const char *token, json_t *o)
{
    return wd_reqj(f->s, "POST", "/fhir/Observation", token, o);
}

/* An OperationOutcome with an issue of this code. */
static void expect_outcome(const wd_resp *r, long status, const char *issue_code)
{
    WD_EXPECT(r, status);
    if (strncmp(r->content_type, "application/fhir+json", 21) != 0)
        fail_msg("%s %s: content type %s, not application/fhir+json", r->method, r->path,
                 r->content_type);
    assert_string_equal(WD_STR(r->json, "resourceType"), "OperationOutcome");
    if (issue_code)
        assert_string_equal(WD_STR(r->json, "issue.0.code"), issue_code);
}

static long long count_obs(wd_fixture *f, long long patient)
{
    wd_resp *r =
        wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld&_summary=count", patient),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    return WD_INT(r->json, "total");
}

static void test_metadata(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = wd_req(f->s, "GET", "/fhir/metadata", NULL, NULL);

    WD_EXPECT(r, 200);
    assert_string_equal(r->content_type, "application/fhir+json");
    assert_string_equal(WD_STR(r->json, "resourceType"), "CapabilityStatement");
    assert_string_equal(WD_STR(r->json, "fhirVersion"), "4.0.1");
    assert_string_equal(WD_STR(r->json, "rest.0.resource.0.type"), "Observation");
    /* exactly what is supported: four resource types */
    assert_int_equal(json_array_size(WD_ARR(r->json, "rest.0.resource")), 4);
    r = wd_req(f->s, "GET", "/fhir/metadata?_format=xml", NULL, NULL);
    expect_outcome(r, 406, "not-supported");
}

static void test_create_read_vread(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 60000;
    wd_resp *r = post_obs(f, f->nurse, obs("8867-4", "/min", 118, t, pid, NULL));
    const char *id, *loc, *path;
    char expect_loc[256];

    WD_EXPECT(r, 201);
    assert_string_equal(r->content_type, "application/fhir+json");
    id = WD_STR(r->json, "id");
    assert_string_equal(WD_STR(r->json, "code.coding.0.code"), "8867-4");
    assert_int_equal(WD_INT(r->json, "valueQuantity.value"), 118);
    assert_string_equal(WD_STR(r->json, "valueQuantity.code"), "/min");
    assert_string_equal(WD_STR(r->json, "subject.reference"), wd_path(f->s, "Patient/%lld", pid));
    assert_int_equal(wd_time_at(__FILE__, __LINE__, r->json, "effectiveDateTime"), t);
    assert_non_null(wd_get(r->json, "meta.lastUpdated"));
    /* an absolute Location that resolves */
    snprintf(expect_loc, sizeof expect_loc, "http://127.0.0.1:%u/fhir/Observation/%s/_history/1",
             wd_port(f->s), id);
    assert_string_equal(r->location, expect_loc);
    loc = r->location;
    path = strstr(loc, "/fhir/");
    r = wd_req(f->s, "GET", path, f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "id"), id);
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation/%s", id), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "valueQuantity.value"), 118);
    /* the reading is the same one the JSON API shows */
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/readings?code=hr", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_LIST(r, "readings")), 1);
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation/%s/_history/2", id), f->viewer, NULL);
    expect_outcome(r, 404, "not-found");
    r = wd_req(f->s, "GET", "/fhir/Observation/99999999", f->viewer, NULL);
    expect_outcome(r, 404, "not-found");
}

/* Temperature in [degF] is converted to Cel, as on the JSON path. */
static void test_unit_conversion(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    wd_resp *r = post_obs(f, f->nurse, obs("8310-5", "[degF]", 102.2, wd_now_ms(), pid, NULL));

    WD_EXPECT(r, 201);
    wd_near_at(__FILE__, __LINE__, WD_NUM(r->json, "valueQuantity.value"), 39.0, 1e-9);
    assert_string_equal(WD_STR(r->json, "valueQuantity.code"), "Cel");
    /* a unit that does not fit the code */
    r = post_obs(f, f->nurse, obs("8867-4", "mm[Hg]", 80, wd_now_ms(), pid, NULL));
    expect_outcome(r, 422, "value");
    assert_int_equal(count_obs(f, pid), 1);
}

static void test_device_create_files_by_bed(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B1", wd_now_ms() - 3600000, NULL); /* MON-B1's bed */
    wd_resp *r = post_obs(f, f->device, obs("59408-5", "%", 93, wd_now_ms() - 1000, 0, "d-1"));

    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "subject.reference"), wd_path(f->s, "Patient/%lld", pid));
    assert_string_equal(WD_STR(r->json, "device.reference"),
                        wd_path(f->s, "Device/%lld", f->device_id));
    /* the vital-signs profile's 2708-6 coding beside 59408-5 */
    assert_string_equal(WD_STR(r->json, "code.coding.1.code"), "2708-6");
    /* a device may not read */
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld", pid), f->device, NULL);
    expect_outcome(r, 403, "forbidden");
}

/* identifier is the idempotency key; If-None-Exist finds by it. */
static void test_identifier_idempotent(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 5000;
    wd_resp *r = post_obs(f, f->nurse, obs("9279-1", "/min", 22, t, pid, "rr-1"));
    const char *id;
    const char *hdr[] = {"If-None-Exist: identifier=urn:test:obs|rr-1", NULL};
    char *body;
    wd_raw_req q = {.method = "POST",
                    .path = "/fhir/Observation",
                    .token = f->nurse,
                    .content_type = "application/fhir+json",
                    .headers = hdr};

    WD_EXPECT(r, 201);
    id = WD_STR(r->json, "id");
    r = post_obs(f, f->nurse, obs("9279-1", "/min", 22, t, pid, "rr-1"));
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "id"), id);
    body = wd_dump(obs("9279-1", "/min", 30, t + 1000, pid, "rr-1"));
    q.body = body;
    q.body_len = strlen(body);
    r = wd_raw(f->s, &q);
    free(body);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "id"), id);
    assert_int_equal(WD_INT(r->json, "valueQuantity.value"), 22);
    assert_int_equal(count_obs(f, pid), 1);
}

static json_t *bp_panel(int64_t t, long long pid, bool with_dia)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:{s:[{s:s, s:s}]}, s:s, s:{s:s}, s:[{s:{s:[{s:s, s:s}]}, s:{s:i, s:s, s:s}}]}",
        "resourceType", "Observation", "status", "final", "code", "coding", "system",
        "http://loinc.org", "code", "85354-9", "effectiveDateTime", wd_iso(t), "subject",
        "reference", "Patient/0", "component", "code", "coding", "system", "http://loinc.org",
        "code", "8480-6", "valueQuantity", "value", 86, "system", "http://unitsofmeasure.org",
        "code", "mm[Hg]");
    char ref[48];

    snprintf(ref, sizeof ref, "Patient/%lld", pid);
    json_object_set_new(json_object_get(o, "subject"), "reference", json_string(ref));
    if (with_dia)
        json_array_append_new(json_object_get(o, "component"),
                              json_pack("{s:{s:[{s:s, s:s}]}, s:{s:i, s:s, s:s}}", "code", "coding",
                                        "system", "http://loinc.org", "code", "8462-4",
                                        "valueQuantity", "value", 50, "system",
                                        "http://unitsofmeasure.org", "code", "mm[Hg]"));
    return o;
}

static void test_blood_pressure_panel(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 2000;
    wd_resp *r = post_obs(f, f->nurse, bp_panel(t, pid, false));
    const char *id;

    expect_outcome(r, 422, "required");
    assert_non_null(strstr(WD_STR(r->json, "issue.0.diagnostics"), "8462-4"));
    assert_int_equal(count_obs(f, pid), 0);
    r = post_obs(f, f->nurse, bp_panel(t, pid, true));
    WD_EXPECT(r, 201);
    id = WD_STR(r->json, "id");
    assert_non_null(strchr(id, '-'));
    assert_string_equal(WD_STR(r->json, "code.coding.0.code"), "85354-9");
    assert_int_equal(WD_INT(r->json, "component.0.valueQuantity.value"), 86);
    assert_int_equal(WD_INT(r->json, "component.1.valueQuantity.value"), 50);
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation/%s", id), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "component.1.code.coding.0.code"), "8462-4");
    /* the panel's code searches both components */
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld&code=85354-9", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 2);
    /* and the engine sees SBP 86 as the JSON path would */
    r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/readings?code=sbp", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(json_array_get(WD_LIST(r, "readings"), 0), "value"), 86);
}

static void test_bad_input(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    json_t *o;
    wd_resp *r;
    wd_raw_req q = {.method = "POST",
                    .path = "/fhir/Observation",
                    .token = f->nurse,
                    .content_type = "application/fhir+json",
                    .body = "<Observation/>",
                    .body_len = 14};

    r = wd_raw(f->s, &q);
    expect_outcome(r, 400, "structure");
    r = wd_req(f->s, "POST", "/fhir/Observation", f->nurse, "[1, 2]");
    expect_outcome(r, 400, "structure");
    r = wd_req(f->s, "POST", "/fhir/Observation", f->nurse, "{\"resourceType\":\"Patient\"}");
    expect_outcome(r, 400, "structure");
    o = obs("8867-4", "/min", 80, wd_now_ms(), pid, NULL);
    json_object_set_new(o, "status", json_string("cancelled"));
    expect_outcome(post_obs(f, f->nurse, o), 422, "business-rule");
    o = obs("8867-4", "/min", 80, wd_now_ms(), pid, NULL);
    json_object_set_new(o, "status", json_string("entered-in-error"));
    expect_outcome(post_obs(f, f->nurse, o), 422, "business-rule");
    /* a code wardd does not hold: BMI */
    expect_outcome(post_obs(f, f->nurse, obs("39156-5", "kg/m2", 24, wd_now_ms(), pid, NULL)), 422,
                   "code-invalid");
    /* a date without a time of day */
    o = obs("8867-4", "/min", 80, wd_now_ms(), pid, NULL);
    json_object_set_new(o, "effectiveDateTime", json_string("2026-03-08"));
    expect_outcome(post_obs(f, f->nurse, o), 422, "value");
    /* staff must name the subject; it must exist */
    expect_outcome(post_obs(f, f->nurse, obs("8867-4", "/min", 80, wd_now_ms(), 0, NULL)), 422,
                   "required");
    expect_outcome(post_obs(f, f->nurse, obs("8867-4", "/min", 80, wd_now_ms(), 987654, NULL)), 422,
                   "not-found");
    /* implausible */
    expect_outcome(post_obs(f, f->nurse, obs("8867-4", "/min", 900, wd_now_ms(), pid, NULL)), 422,
                   "invalid");
    /* roles: a viewer may not create; nobody without a token */
    expect_outcome(post_obs(f, f->viewer, obs("8867-4", "/min", 80, wd_now_ms(), pid, NULL)), 403,
                   "forbidden");
    expect_outcome(wd_req(f->s, "GET", "/fhir/Observation", NULL, NULL), 401, "login");
    assert_int_equal(count_obs(f, pid), 0);
}

static void test_search_params(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t0 = wd_now_ms() - 3600000;
    const char *hdr[] = {"Prefer: handling=strict", NULL};
    wd_raw_req q = {.method = "GET", .token = f->viewer, .headers = hdr};
    wd_resp *r;

    for (int i = 0; i < 4; i++)
        WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 100 + i, t0 + i * 600000, pid, NULL)),
                  201);
    WD_EXPECT(post_obs(f, f->nurse, obs("2160-0", "mg/dL", 1.4, t0, pid, NULL)), 201);
    r = wd_req(f->s, "GET",
               wd_path(f->s,
                       "/fhir/Observation?patient=Patient/%lld&code=http://loinc.org|8867-4"
                       "&date=ge%s&date=le%s&_sort=-date",
                       pid, wd_escape(f->s, wd_iso(t0 + 600000)),
                       wd_escape(f->s, wd_iso(t0 + 1800000))),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "type"), "searchset");
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 3);
    assert_int_equal(WD_INT(r->json, "entry.0.resource.valueQuantity.value"), 103);
    assert_int_equal(WD_INT(r->json, "entry.2.resource.valueQuantity.value"), 101);
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/fhir/Observation?patient=%lld&category=laboratory", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 1);
    assert_string_equal(WD_STR(r->json, "entry.0.resource.category.0.coding.0.code"), "laboratory");
    /* unknown parameter: ignored (lenient), refused with handling=strict */
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld&colour=red", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_null(strstr(WD_STR(r->json, "link.0.url"), "colour"));
    q.path = wd_path(f->s, "/fhir/Observation?patient=%lld&colour=red", pid);
    expect_outcome(wd_raw(f->s, &q), 400, "not-supported");
    /* _count capped, bad dates refused, _summary=count */
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld&_count=100000", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 5);
    assert_non_null(strstr(WD_STR(r->json, "link.0.url"), "_count=100000"));
    expect_outcome(wd_req(f->s, "GET",
                          wd_path(f->s, "/fhir/Observation?patient=%lld&date=ge2026-13-45", pid),
                          f->viewer, NULL),
                   400, "invalid");
    expect_outcome(wd_req(f->s, "GET", "/fhir/Observation?code=39156-5", f->viewer, NULL), 400,
                   "invalid");
    assert_int_equal(count_obs(f, pid), 5);
}

/* Pages follow `next` and stay stable while readings arrive. */
static void test_paging_stable(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t0 = wd_now_ms() - 3600000;
    const char *next;
    wd_resp *r;
    long long seen = 0, last = 0;

    for (int i = 0; i < 7; i++)
        WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 60 + i, t0 + i * 1000, pid, NULL)),
                  201);
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation?patient=%lld&_count=3", pid),
               f->viewer, NULL);
    for (int page = 0; page < 10; page++) {
        json_t *entries, *e, *links, *l;
        size_t i;
        WD_EXPECT(r, 200);
        entries = WD_ARR(r->json, "entry");
        json_array_foreach(entries, i, e)
        {
            long long v = WD_INT(e, "resource.valueQuantity.value");
            assert_true(v > last);
            last = v;
            seen++;
        }
        /* a reading arriving between pages, later than all: appears once, at the end */
        if (page == 0)
            WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 90, t0 + 60000, pid, NULL)), 201);
        next = NULL;
        links = WD_ARR(r->json, "link");
        json_array_foreach(links, i, l)
        {
            if (strcmp(WD_STR(l, "relation"), "next") == 0)
                next = WD_STR(l, "url");
        }
        if (!next)
            break;
        r = wd_req(f->s, "GET", strstr(next, "/fhir/"), f->viewer, NULL);
    }
    assert_int_equal(seen, 8);
    assert_int_equal(last, 90);
}

static void test_lastn(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t0 = wd_now_ms() - 600000;
    wd_resp *r;

    for (int i = 0; i < 3; i++) {
        WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 70 + i, t0 + i * 1000, pid, NULL)),
                  201);
        WD_EXPECT(post_obs(f, f->nurse, obs("9279-1", "/min", 14 + i, t0 + i * 1000, pid, NULL)),
                  201);
    }
    r = wd_req(
        f->s, "GET",
        wd_path(f->s, "/fhir/Observation/$lastn?patient=%lld&category=vital-signs&max=2", pid),
        f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 4);
    assert_int_equal(WD_INT(r->json, "entry.0.resource.valueQuantity.value"), 72);
    assert_int_equal(WD_INT(r->json, "entry.1.resource.valueQuantity.value"), 71);
    expect_outcome(wd_req(f->s, "GET", "/fhir/Observation/$lastn?max=0", f->viewer, NULL), 400,
                   "invalid");
}

/* $lastn without a patient: the newest of each code for every admitted
 * patient (the writer's `latest` rows), and nothing of a discharged one. */
static void test_lastn_ward(void **state)
{
    wd_fixture *f = fx(state);
    long long a = wd_admit(f, "B2", 0, NULL), b = wd_admit(f, "B3", 0, NULL);
    int64_t t0 = wd_now_ms() - 600000;
    wd_resp *r;
    json_t *e;
    size_t i;
    int seen = 0;

    for (int k = 0; k < 3; k++) {
        WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 70 + k, t0 + k * 1000, a, NULL)),
                  201);
        WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 90 + k, t0 + k * 1000, b, NULL)),
                  201);
    }
    /* an older reading posted last is not the newest */
    WD_EXPECT(post_obs(f, f->nurse, obs("8867-4", "/min", 50, t0 - 60000, b, NULL)), 201);
    r = wd_req(f->s, "GET", "/fhir/Observation/$lastn?code=8867-4", f->viewer, NULL);
    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "entry"), i, e)
    {
        const char *subject = WD_STR(e, "resource.subject.reference");
        long long v = WD_INT(e, "resource.valueQuantity.value");
        if (strcmp(subject, wd_path(f->s, "Patient/%lld", a)) == 0)
            assert_int_equal(v, 72), seen++;
        else if (strcmp(subject, wd_path(f->s, "Patient/%lld", b)) == 0)
            assert_int_equal(v, 92), seen++;
    }
    assert_int_equal(seen, 2);
    WD_EXPECT(
        wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", a), f->nurse, NULL),
        200);
    r = wd_req(f->s, "GET", "/fhir/Observation/$lastn?code=8867-4", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 1);
}

static void test_transaction_all_or_nothing(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 10000;
    json_t *bundle =
        json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type", "transaction", "entry");
    json_t *entries = json_object_get(bundle, "entry");
    wd_resp *r;

    json_array_append_new(entries, json_pack("{s:o, s:{s:s, s:s}}", "resource",
                                             obs("8867-4", "/min", 99, t, pid, NULL), "request",
                                             "method", "POST", "url", "Observation"));
    json_array_append_new(entries, json_pack("{s:o, s:{s:s, s:s}}", "resource",
                                             obs("8867-4", "mm[Hg]", 99, t, pid, NULL), "request",
                                             "method", "POST", "url", "Observation"));
    r = wd_reqj(f->s, "POST", "/fhir/", f->nurse, json_deep_copy(bundle));
    expect_outcome(r, 400, "value");
    assert_non_null(strstr(WD_STR(r->json, "issue.0.expression.0"), "entry[1]"));
    assert_int_equal(count_obs(f, pid), 0);
    /* fixed: both stored, one response entry each */
    json_object_set_new(json_object_get(json_array_get(entries, 1), "resource"), "valueQuantity",
                        json_pack("{s:i, s:s, s:s}", "value", 120, "system",
                                  "http://unitsofmeasure.org", "code", "mm[Hg]"));
    json_object_set_new(
        json_object_get(json_object_get(json_array_get(entries, 1), "resource"), "code"), "coding",
        json_pack("[{s:s, s:s}]", "system", "http://loinc.org", "code", "8480-6"));
    r = wd_reqj(f->s, "POST", "/fhir", f->nurse, bundle);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "type"), "transaction-response");
    assert_string_equal(WD_STR(r->json, "entry.0.response.status"), "201 Created");
    assert_non_null(strstr(WD_STR(r->json, "entry.1.response.location"), "/fhir/Observation/"));
    assert_int_equal(count_obs(f, pid), 2);
}

static void test_batch_each_on_its_own(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 10000;
    json_t *bundle = json_pack(
        "{s:s, s:s, s:[{s:o, s:{s:s, s:s}}, {s:o, s:{s:s, s:s}}, {s:{s:s}, s:{s:s, s:s}}]}",
        "resourceType", "Bundle", "type", "batch", "entry", "resource",
        obs("8867-4", "/min", 99, t, pid, NULL), "request", "method", "POST", "url", "Observation",
        "resource", obs("39156-5", "kg/m2", 22, t, pid, NULL), "request", "method", "POST", "url",
        "Observation", "resource", "resourceType", "Patient", "request", "method", "POST", "url",
        "Patient");
    wd_resp *r = wd_reqj(f->s, "POST", "/fhir/", f->nurse, bundle);

    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "type"), "batch-response");
    assert_string_equal(WD_STR(r->json, "entry.0.response.status"), "201 Created");
    assert_string_equal(WD_STR(r->json, "entry.1.response.status"), "422 Unprocessable Entity");
    assert_string_equal(WD_STR(r->json, "entry.1.response.outcome.issue.0.code"), "code-invalid");
    assert_string_equal(WD_STR(r->json, "entry.2.response.outcome.issue.0.code"), "not-supported");
    assert_int_equal(count_obs(f, pid), 1);
    expect_outcome(wd_req(f->s, "POST", "/fhir/", f->nurse,
                          "{\"resourceType\":\"Bundle\",\"type\":\"collection\"}"),
                   400, "invalid");
}

static void test_prefer_minimal(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    const char *hdr[] = {"Prefer: return=minimal", NULL};
    char *body = wd_dump(obs("8867-4", "/min", 77, wd_now_ms(), pid, NULL));
    wd_raw_req q = {.method = "POST",
                    .path = "/fhir/Observation",
                    .token = f->nurse,
                    .content_type = "application/json",
                    .body = body,
                    .body_len = strlen(body),
                    .headers = hdr};
    wd_resp *r = wd_raw(f->s, &q);

    free(body);
    WD_EXPECT(r, 201);
    assert_int_equal(json_object_size(r->json), 0);
    assert_non_null(strstr(r->location, "/_history/1"));
    r = wd_req(f->s, "GET", strstr(r->location, "/fhir/"), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_INT(r->json, "valueQuantity.value"), 77);
}

static void test_patient_and_device(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B1", 0, NULL);
    wd_resp *r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Patient/%lld", pid), f->viewer, NULL);
    const char *mrn;

    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "resourceType"), "Patient");
    assert_true(json_is_true(wd_get(r->json, "active")));
    mrn = WD_STR(r->json, "identifier.0.value");
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Patient?identifier=%s", wd_escape(f->s, mrn)),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 1);
    assert_string_equal(WD_STR(r->json, "entry.0.resource.id"), wd_path(f->s, "%lld", pid));
    r = wd_req(f->s, "GET", "/fhir/Patient?identifier=no-such-mrn", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 0);
    expect_outcome(wd_req(f->s, "GET", "/fhir/Patient/424242", f->viewer, NULL), 404, "not-found");
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Device?patient=%lld", pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 1);
    assert_string_equal(WD_STR(r->json, "entry.0.resource.serialNumber"), "MON-B1");
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Device/%lld", f->device_id), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "status"), "active");
    r = wd_req(f->s, "GET", "/fhir/Device?location=B3", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 0);
}

/* The next-dose decision as a DetectedIssue, with its evidence. */
static void test_findings(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);
    int64_t t = wd_now_ms() - 60000;
    wd_resp *r = post_obs(f, f->nurse, obs("8480-6", "mm[Hg]", 84, t, pid, NULL));
    const char *sbp_id, *ref;
    json_t *view;

    WD_EXPECT(r, 201);
    sbp_id = WD_STR(r->json, "id");
    /* the engine's decision by the JSON API, for comparison */
    for (int i = 0; i < 100; i++) {
        r = wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld/toxicity", pid), f->viewer,
                   NULL);
        WD_EXPECT(r, 200);
        if (strcmp(WD_STR(r->json, "decision.action"), "hold") == 0)
            break;
        wd_sleep_ms(20);
    }
    view = r->json;
    assert_string_equal(WD_STR(view, "decision.action"), "hold");
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/DetectedIssue/decision-%lld", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "code.coding.0.code"), "hold");
    assert_string_equal(WD_STR(r->json, "severity"), "moderate");
    ref = WD_STR(r->json, "evidence.0.detail.0.reference");
    assert_string_equal(ref, wd_path(f->s, "Observation/%s", sbp_id));
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/DetectedIssue?patient=%lld", pid), f->viewer,
               NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(WD_ARR(r->json, "entry")), 1);
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation/ctcae-%lld-hypotension", pid),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "code.coding.0.code"), "hypotension");
    r = wd_req(f->s, "GET", wd_path(f->s, "/fhir/Observation/news2-%lld", pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "code.coding.0.code"), "news2");
    expect_outcome(wd_req(f->s, "GET", "/fhir/DetectedIssue/decision-999999", f->viewer, NULL), 404,
                   "not-found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metadata, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_read_vread, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unit_conversion, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_device_create_files_by_bed, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_identifier_idempotent, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_blood_pressure_panel, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_search_params, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_paging_stable, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lastn, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lastn_ward, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_transaction_all_or_nothing, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_each_on_its_own, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_prefer_minimal, wd_fixture_setup, wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_patient_and_device, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_findings, wd_fixture_setup, wd_fixture_teardown),
    };
    return cmocka_run_group_tests_name("it_fhir", tests, NULL, NULL);
}
