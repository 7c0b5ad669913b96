/* fhir_admin: the ward's people and machines as FHIR R4 (docs/fhir.md):
 *   GET /fhir/metadata                 the CapabilityStatement
 *   GET /fhir/Patient/{id}, ?identifier=[system|]MRN
 *   GET /fhir/Device/{id}, ?patient=, ?location=BED
 * Patients and devices are created by the ward's own routes (admission,
 * the ADT feed, the device registry); FHIR reads them. */
#include "app.h"
#include "fhir.h"
#include "fhir_search.h"
#include "store.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The MRN's identifier system: the hospital's, which wardd does not know;
 * the identifier type says what it is (http://terminology.hl7.org/CodeSystem/v2-0203 MR). */
#define MRN_SYSTEM "urn:wardd:mrn"

/* --- Patient ------------------------------------------------------------------ */

static const char *gender_of(const char *sex)
{
    if (!sex)
        return "unknown";
    if (strcmp(sex, "female") == 0 || strcmp(sex, "male") == 0 || strcmp(sex, "other") == 0)
        return sex;
    return "unknown";
}

/* A wardd patient record (the API's shape) as a Patient. New. */
static json_t *patient_resource(db_conn *c, const json_t *p)
{
    int64_t id = json_integer_value(json_object_get(p, "id")), updated = 0;
    const char *birth = json_string_value(json_object_get(p, "birth_date"));
    bool admitted = false;
    char sid[32], when[TIMEFMT_LEN];
    json_t *res;

    if (store_clinical_patient_stamp(c, id, &updated, &admitted) != 1)
        return NULL;
    snprintf(sid, sizeof sid, "%" PRId64, id);
    res =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:[{s:{s:[{s:s, s:s}]}, s:s, s:s}], s:b, "
                  "s:[{s:s}], s:s}",
                  "resourceType", "Patient", "id", sid, "meta", "versionId", "1", "lastUpdated",
                  timefmt_format(updated, when, sizeof when), "identifier", "type", "coding",
                  "system", "http://terminology.hl7.org/CodeSystem/v2-0203", "code", "MR", "system",
                  MRN_SYSTEM, "value", json_string_value(json_object_get(p, "mrn")), "active",
                  admitted, "name", "text", json_string_value(json_object_get(p, "name")), "gender",
                  gender_of(json_string_value(json_object_get(p, "sex"))));
    if (res && birth)
        json_object_set_new(res, "birthDate", json_string(birth));
    return res;
}

enum MHD_Result fhir_patient_read(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    db_conn *c = db_reader();
    json_t *p = NULL, *res;
    int64_t id = fhir_patient_ref(r->params[0]);
    int rc;

    if (!fhir_format_or_reply(r, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = id ? store_patient_get(c, id, &p) : 0;
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "Patient/%s is not known here.", r->params[0]);
    res = patient_resource(c, p);
    json_decref(p);
    return res ? reply_json(r, 200, res) : reply_error(r, ERR_STORAGE, NULL, NULL);
}

/* identifier=[system|]value: the MRN, with our system or none. */
static const char *mrn_of(const char *identifier)
{
    const char *bar = identifier ? strchr(identifier, '|') : NULL;

    if (!identifier)
        return NULL;
    if (!bar)
        return identifier;
    if ((size_t)(bar - identifier) == 0 ||
        ((size_t)(bar - identifier) == strlen(MRN_SYSTEM) &&
         strncmp(identifier, MRN_SYSTEM, strlen(MRN_SYSTEM)) == 0))
        return bar + 1;
    return NULL;
}

enum MHD_Result fhir_patient_search(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_params p;
    db_conn *c = db_reader();
    const char *ident, *mrn;
    json_t *all = NULL, *bundle, *one;
    size_t i;

    fhir_params_read(r, &p);
    fhir_params_common(&p);
    ident = fhir_param(&p, "identifier");
    if (!fhir_format_or_reply(r, &ret) || !fhir_params_known_or_reply(r, &p, &ret))
        return ret;
    mrn = mrn_of(ident);
    if (!c || store_patient_list(c, "all", &all) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    bundle = fhir_searchset(r, &p, "Patient", NULL);
    json_array_foreach(all, i, one)
    {
        json_t *res;
        if (ident && (!mrn || strcmp(mrn, json_string_value(json_object_get(one, "mrn"))) != 0))
            continue;
        res = patient_resource(c, one);
        if (res)
            fhir_searchset_add(r, bundle, "Patient", json_string_value(json_object_get(res, "id")),
                               res);
    }
    json_decref(all);
    return reply_json(r, 200, bundle);
}

/* --- Device ------------------------------------------------------------------- */

/* A registered device (the API's shape) as a Device. New. */
static json_t *device_resource(const json_t *d)
{
    const char *model = json_string_value(json_object_get(d, "model"));
    const char *seen = json_string_value(json_object_get(d, "last_seen"));
    const char *created = json_string_value(json_object_get(d, "created_at"));
    const char *bed = json_string_value(json_object_get(d, "bed"));
    char sid[32];
    json_t *res;

    snprintf(sid, sizeof sid, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(d, "id")));
    res = json_pack("{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:s}], s:s, s:s}", "resourceType", "Device",
                    "id", sid, "meta", "versionId", "1", "lastUpdated", seen ? seen : created,
                    "identifier", "system", "urn:wardd:device-serial", "value",
                    json_string_value(json_object_get(d, "serial")), "status",
                    json_is_null(json_object_get(d, "revoked_at")) ? "active" : "inactive",
                    "serialNumber", json_string_value(json_object_get(d, "serial")));
    if (res && model)
        json_object_set_new(res, "modelNumber", json_string(model));
    if (res && bed)
        json_object_set_new(res, "note", json_pack("[{s:s}]", "text", bed));
    return res;
}

enum MHD_Result fhir_device_read(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    db_conn *c = db_reader();
    json_t *d = NULL, *res;
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    int rc;

    if (!fhir_format_or_reply(r, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    rc = (*end || id <= 0) ? 0 : store_device_get(c, id, &d);
    if (rc < 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (rc == 0)
        return reply_errorf(r, ERR_NOT_FOUND, NULL, "Device/%s is not known here.", r->params[0]);
    res = device_resource(d);
    json_decref(d);
    return res ? reply_json(r, 200, res) : reply_error(r, ERR_INTERNAL, NULL, NULL);
}

/* The bed of patient id now, into bed ("" when none). 0 or -1. */
static int patient_bed(db_conn *c, int64_t id, char *bed, size_t len)
{
    json_t *p = NULL;
    int rc = store_patient_get(c, id, &p);

    bed[0] = '\0';
    if (rc == 1 && json_is_string(json_object_get(p, "bed")))
        snprintf(bed, len, "%s", json_string_value(json_object_get(p, "bed")));
    json_decref(p);
    return rc < 0 ? -1 : 0;
}

/* GET /fhir/Device?patient=N (the devices of the patient's bed now) or
 * ?location=BED; both narrow, neither lists every device. */
enum MHD_Result fhir_device_search(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    fhir_params p;
    db_conn *c = db_reader();
    const char *patient_s, *location;
    char bed[64] = "";
    json_t *all = NULL, *bundle, *one;
    size_t i;

    fhir_params_read(r, &p);
    fhir_params_common(&p);
    patient_s = fhir_param(&p, "patient");
    location = fhir_param(&p, "location");
    if (!fhir_format_or_reply(r, &ret) || !fhir_params_known_or_reply(r, &p, &ret))
        return ret;
    if (!c)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (patient_s && !fhir_patient_ref(patient_s)) {
        fhir_issue is = {.code = "invalid", .expression = "patient"};
        snprintf(is.diagnostics, sizeof is.diagnostics,
                 "patient must be a Patient id or Patient/{id}.");
        return fhir_reply_issue(r, 400, &is);
    }
    if (patient_s && patient_bed(c, fhir_patient_ref(patient_s), bed, sizeof bed) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    if (store_device_list(c, &all) != 0)
        return reply_error(r, ERR_STORAGE, NULL, NULL);
    bundle = fhir_searchset(r, &p, "Device", NULL);
    json_array_foreach(all, i, one)
    {
        const char *dbed = json_string_value(json_object_get(one, "bed"));
        json_t *res;
        if (patient_s && (!bed[0] || !dbed || strcmp(dbed, bed) != 0))
            continue;
        if (location && (!dbed || strcmp(dbed, location) != 0))
            continue;
        res = device_resource(one);
        if (res)
            fhir_searchset_add(r, bundle, "Device", json_string_value(json_object_get(res, "id")),
                               res);
    }
    json_decref(all);
    return reply_json(r, 200, bundle);
}

/* --- CapabilityStatement ------------------------------------------------------ */

static json_t *search_param(const char *name, const char *type, const char *doc)
{
    return json_pack("{s:s, s:s, s:s}", "name", name, "type", type, "documentation", doc);
}

static json_t *resource_cap(const char *type, bool create, json_t *params)
{
    json_t *ops = json_pack("[{s:s}, {s:s}]", "code", "read", "code", "search-type");

    if (create)
        json_array_append_new(ops, json_pack("{s:s}", "code", "create"));
    if (strcmp(type, "Observation") == 0)
        json_array_append_new(ops, json_pack("{s:s}", "code", "vread"));
    return json_pack("{s:s, s:o, s:o, s:b}", "type", type, "interaction", ops, "searchParam",
                     params, "conditionalCreate", create);
}

enum MHD_Result fhir_metadata_get(struct req *r)
{
    enum MHD_Result ret = MHD_NO;
    char base[256], when[TIMEFMT_LEN];
    json_t *cap, *obs;

    if (!fhir_format_or_reply(r, &ret))
        return ret;
    fhir_base_url(r, base, sizeof base);
    obs = resource_cap(
        "Observation", true,
        json_pack("[o, o, o, o, o, o]", search_param("patient", "reference", "Patient/{id}"),
                  search_param("subject", "reference", "Patient/{id}"),
                  search_param("code", "token", "LOINC codes wardd holds (docs/fhir.md)"),
                  search_param("date", "date", "eq, ge, gt, le, lt; repeatable"),
                  search_param("category", "token", "vital-signs or laboratory"),
                  search_param("_sort", "string", "date or -date")));
    json_object_set_new(obs, "operation",
                        json_pack("[{s:s, s:s}]", "name", "lastn", "definition",
                                  "http://hl7.org/fhir/OperationDefinition/Observation-lastn"));
    cap = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:[s, s], "
        "s:[{s:s, s:{s:b, s:s}, s:[o, o, o, o], s:[{s:s}, {s:s}]}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date",
        timefmt_format(timefmt_now_ms(), when, sizeof when), "publisher", "wardd", "kind",
        "instance", "fhirVersion", FHIR_VERSION, "description",
        "wardd: vital-sign and laboratory Observations of an IL-2 ward, and its findings",
        "software", "name", "wardd", "implementation", "description", "wardd FHIR R4 endpoint",
        "url", base, "format", "application/fhir+json", "json", "rest", "mode", "server",
        "security", "cors", false, "description",
        "Bearer tokens of the wardd API: staff session tokens (POST /api/v1/session) and "
        "device tokens; no SMART on FHIR launch (docs/fhir.md).",
        "resource", obs,
        resource_cap("Patient", false,
                     json_pack("[o]", search_param("identifier", "token", "the MRN"))),
        resource_cap("Device", false,
                     json_pack("[o, o]", search_param("patient", "reference", "Patient/{id}"),
                               search_param("location", "string", "a wardd bed id"))),
        resource_cap("DetectedIssue", false,
                     json_pack("[o]", search_param("patient", "reference", "Patient/{id}"))),
        "interaction", "code", "transaction", "code", "batch");
    if (!cap)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return reply_json(r, 200, cap);
}
