/* fhir_map: FHIR R4 Observation <-> wardd readings (include/fhir.h).
 * Pure: JSON in, JSON out; the catalogue (obs.h) says which LOINC codes
 * wardd holds and in which UCUM unit. The reading itself is validated
 * afterwards by obs_parse_reading(), exactly as a JSON-API reading. */
#include "fhir.h"
#include "fhir_search.h"
#include "timefmt.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Blood pressure as the vital-signs profile sends it: the panel, with its
 * systolic and diastolic components (http://hl7.org/fhir/R4/bp.html). */
#define LOINC_BP_PANEL "85354-9"
/* The R4 vital-signs profile's oxygen saturation code; wardd's catalogue
 * carries 59408-5 (by pulse oximetry), which the profile lists beside it. */
#define LOINC_SPO2_ARTERIAL "2708-6"
/* Oral temperature: a body temperature measured in the mouth; wardd's
 * `temp` is a body temperature by any site (LOINC 8310-5). */
#define LOINC_TEMP_ORAL "8331-1"

const obs_code *fhir_code_for_loinc(const char *loinc)
{
    if (!loinc)
        return NULL;
    if (strcmp(loinc, LOINC_SPO2_ARTERIAL) == 0)
        return obs_code_lookup("spo2");
    if (strcmp(loinc, LOINC_TEMP_ORAL) == 0)
        return obs_code_lookup("temp");
    for (size_t i = 0; i < obs_code_count(); i++) {
        const obs_code *c = obs_code_by_id((int)i);
        if (c && c->loinc && strcmp(c->loinc, loinc) == 0)
            return c;
    }
    return NULL;
}

/* Vital signs as the R4 vital-signs profile lists them (heart rate,
 * respiratory rate, SpO2, temperature, blood pressure, weight) plus the
 * ward's oxygen delivery; every other LOINC-coded reading is a laboratory
 * result. */
const char *fhir_category_of(const obs_code *code)
{
    static const char *const vitals[] = {"hr",  "rr",     "spo2",  "temp",    "sbp",  "dbp",
                                         "map", "weight", "urine", "o2_flow", "fio2", NULL};

    for (size_t i = 0; vitals[i]; i++)
        if (strcmp(code->code, vitals[i]) == 0)
            return "vital-signs";
    return "laboratory";
}

__attribute__((format(printf, 4, 5))) static void
set_issue(fhir_issue *err, const char *code, const char *expression, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    snprintf(err->expression, sizeof err->expression, "%s", expression);
    va_start(ap, fmt);
    vsnprintf(err->diagnostics, sizeof err->diagnostics, fmt, ap);
    va_end(ap);
}

/* The LOINC code of a CodeableConcept, or NULL. */
static const char *loinc_of(const json_t *concept)
{
    size_t i;
    const json_t *coding;

    json_array_foreach(json_object_get(concept, "coding"), i, coding)
    {
        const char *system = json_string_value(json_object_get(coding, "system"));
        const char *code = json_string_value(json_object_get(coding, "code"));
        if (system && code && strcmp(system, FHIR_LOINC) == 0)
            return code;
    }
    return NULL;
}

/* The reading time: effectiveDateTime, effectiveInstant, else
 * effectivePeriod.end. A FHIR dateTime may be a bare date; a reading needs
 * its time of day and zone, so only full RFC 3339 times pass. */
static int effective_time(const json_t *obs, const char **out, fhir_issue *err)
{
    const json_t *period = json_object_get(obs, "effectivePeriod");
    const char *path = "Observation.effectiveDateTime";
    const char *t = json_string_value(json_object_get(obs, "effectiveDateTime"));
    int64_t ms;

    if (!t && json_object_get(obs, "effectiveInstant")) {
        t = json_string_value(json_object_get(obs, "effectiveInstant"));
        path = "Observation.effectiveInstant";
    }
    if (!t && period) {
        t = json_string_value(json_object_get(period, "end"));
        path = "Observation.effectivePeriod.end";
    }
    if (!t) {
        set_issue(err, "required", "Observation.effective",
                  "A reading needs its time: effectiveDateTime, effectiveInstant or "
                  "effectivePeriod.end.%s",
                  "");
        return -1;
    }
    if (timefmt_parse(t, &ms) != 0) {
        set_issue(err, "value", path,
                  "'%s' is not a FHIR dateTime with a time of day and a zone "
                  "(e.g. 2026-03-08T07:30:00-05:00); a reading cannot be placed without them.",
                  t);
        return -1;
    }
    *out = t;
    return 0;
}

/* valueQuantity -> value and UCUM unit (the `code` when the system is
 * UCUM, else the `unit` text). */
static int quantity(const json_t *q, const char *path, double *value, const char **unit,
                    fhir_issue *err)
{
    const json_t *v = json_object_get(q, "value");
    const char *system = json_string_value(json_object_get(q, "system"));
    const char *code = json_string_value(json_object_get(q, "code"));

    if (!json_is_object(q)) {
        set_issue(err, "not-supported", path,
                  "Only valueQuantity readings are held here (no other value[x] type).%s", "");
        return -1;
    }
    if (!json_is_number(v)) {
        set_issue(err, "required", path, "valueQuantity.value must be a number.%s", "");
        return -1;
    }
    *value = json_number_value(v);
    *unit = (code && (!system || strcmp(system, FHIR_UCUM) == 0))
                ? code
                : json_string_value(json_object_get(q, "unit"));
    if (!*unit) {
        set_issue(err, "required", path,
                  "valueQuantity needs a UCUM unit (system http://unitsofmeasure.org and code).%s",
                  "");
        return -1;
    }
    return 0;
}

/* {"id", "code", "value", "unit", "time"} for obs_parse_reading. */
static json_t *item(const char *id, const char *suffix, const obs_code *code, double value,
                    const char *unit, const char *time)
{
    json_t *it = json_pack("{s:s, s:f, s:s, s:s}", "code", code->code, "value", value, "unit", unit,
                           "time", time);

    if (it && id && *id) {
        char full[OBS_ID_MAX + 16];
        snprintf(full, sizeof full, "%s%s", id, suffix);
        json_object_set_new(it, "id", json_string(full));
    }
    return it;
}

/* The components of a blood-pressure panel: both systolic and diastolic. */
static int bp_panel(const json_t *obs, const char *id, const char *time, fhir_obs_in *out,
                    fhir_issue *err)
{
    static const char *const parts[] = {"8480-6", "8462-4"};
    static const char *const suffix[] = {"#sbp", "#dbp"};

    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *comp, *found = NULL;
        double v;
        const char *unit;
        json_array_foreach(json_object_get(obs, "component"), i, comp)
        {
            const char *l = loinc_of(json_object_get(comp, "code"));
            if (l && strcmp(l, parts[k]) == 0)
                found = comp;
        }
        if (!found) {
            set_issue(err, "required", "Observation.component",
                      "A blood-pressure panel (85354-9) needs both components, systolic "
                      "(8480-6) and diastolic (8462-4); %s is missing.",
                      parts[k]);
            return -1;
        }
        if (quantity(json_object_get(found, "valueQuantity"), "Observation.component.value", &v,
                     &unit, err) != 0)
            return -1;
        out->items[out->n++] = item(id, suffix[k], fhir_code_for_loinc(parts[k]), v, unit, time);
    }
    return 0;
}

/* status: final, amended and corrected are readings; the others are not. */
static int status_ok(const json_t *obs, fhir_issue *err)
{
    const char *status = json_string_value(json_object_get(obs, "status"));

    if (!status) {
        set_issue(err, "required", "Observation.status", "Observation.status is required.%s", "");
        return -1;
    }
    if (strcmp(status, "final") && strcmp(status, "amended") && strcmp(status, "corrected")) {
        set_issue(err, "business-rule", "Observation.status",
                  "status '%s' is not stored: only final, amended and corrected observations "
                  "are readings (a cancelled or entered-in-error one carries no value to chart).",
                  status);
        return -1;
    }
    return 0;
}

static int subject_of(const json_t *obs, int64_t *patient, fhir_issue *err)
{
    const json_t *subject = json_object_get(obs, "subject");
    const char *ref = json_string_value(json_object_get(subject, "reference"));
    char *end;
    long long id;

    *patient = 0;
    if (!subject)
        return 0;
    if (!ref || strncmp(ref, "Patient/", 8) != 0 || !ref[8]) {
        set_issue(err, "invalid", "Observation.subject",
                  "subject must reference a Patient of this server as 'Patient/{id}'.%s", "");
        return -1;
    }
    id = strtoll(ref + 8, &end, 10);
    if (*end || id <= 0) {
        set_issue(err, "invalid", "Observation.subject", "'%s' is not a Patient of this server.",
                  ref);
        return -1;
    }
    *patient = id;
    return 0;
}

int fhir_identifier_key(const json_t *identifier, char *buf, size_t len)
{
    size_t i;
    const json_t *one;

    json_array_foreach(identifier, i, one)
    {
        const char *system = json_string_value(json_object_get(one, "system"));
        const char *value = json_string_value(json_object_get(one, "value"));
        char pair[1024];
        unsigned char hash[crypto_hash_sha256_BYTES];
        bool plain = true;
        if (!value || !*value)
            continue;
        snprintf(pair, sizeof pair, "%s|%s", system ? system : "", value);
        for (const char *p = pair; *p; p++)
            plain = plain && *p > ' ' && *p < 0x7f;
        /* Room for the "#sbp" suffix of a blood-pressure component. */
        if (plain && strlen(pair) + 4 <= OBS_ID_MAX && strlen(pair) < len) {
            snprintf(buf, len, "%s", pair);
            return 0;
        }
        crypto_hash_sha256(hash, (const unsigned char *)pair, strlen(pair));
        snprintf(buf, len, "fhir:");
        for (size_t k = 0; k < 24 && strlen(buf) + 3 <= len; k++)
            snprintf(buf + strlen(buf), len - strlen(buf), "%02x", hash[k]);
        return 0;
    }
    return -1;
}

int fhir_observation_in(const json_t *obs, fhir_obs_in *out, fhir_issue *err)
{
    char id[OBS_ID_MAX + 1] = "";
    const char *loinc, *time, *unit;
    const obs_code *code;
    double value;

    memset(out, 0, sizeof *out);
    if (status_ok(obs, err) != 0 || subject_of(obs, &out->subject_patient, err) != 0 ||
        effective_time(obs, &time, err) != 0)
        return -1;
    out->has_identifier =
        fhir_identifier_key(json_object_get(obs, "identifier"), id, sizeof id) == 0;
    loinc = loinc_of(json_object_get(obs, "code"));
    if (!loinc) {
        set_issue(err, "code-invalid", "Observation.code",
                  "Observation.code needs a LOINC coding (system http://loinc.org).%s", "");
        return -1;
    }
    if (strcmp(loinc, LOINC_BP_PANEL) == 0) {
        if (bp_panel(obs, id, time, out, err) == 0)
            return 0;
        fhir_obs_in_clear(out);
        return -1;
    }
    code = fhir_code_for_loinc(loinc);
    if (!code || code->kind != OBS_NUMERIC) {
        set_issue(err, "code-invalid", "Observation.code",
                  "LOINC %s is not an observation this server holds (docs/fhir.md lists them); "
                  "nothing was stored.",
                  loinc);
        return -1;
    }
    if (quantity(json_object_get(obs, "valueQuantity"), "Observation.valueQuantity", &value, &unit,
                 err) != 0)
        return -1;
    out->items[out->n++] = item(id, "", code, value, unit, time);
    return 0;
}

void fhir_obs_in_clear(fhir_obs_in *in)
{
    for (size_t i = 0; i < in->n; i++)
        json_decref(in->items[i]);
    in->n = 0;
}

/* The codes the R4 vital-signs profile constrains
 * (http://hl7.org/fhir/R4/observation-vitalsigns.html); only these claim the profile. */
bool fhir_in_vitals_profile(const obs_code *code)
{
    static const char *const profiled[] = {"hr",  "rr",  "spo2",   "temp", "sbp",
                                           "dbp", "map", "weight", NULL};

    for (size_t i = 0; profiled[i]; i++)
        if (strcmp(code->code, profiled[i]) == 0)
            return true;
    return false;
}

static json_t *code_concept(const obs_code *code)
{
    json_t *coding = json_pack("[{s:s, s:s, s:s}]", "system", FHIR_LOINC, "code", code->loinc,
                               "display", code->label);

    /* The profile's oxygen saturation code beside wardd's pulse-oximetry one. */
    if (strcmp(code->code, "spo2") == 0)
        json_array_append_new(coding, json_pack("{s:s, s:s, s:s}", "system", FHIR_LOINC, "code",
                                                LOINC_SPO2_ARTERIAL, "display",
                                                "Oxygen saturation in Arterial blood"));
    return json_pack("{s:o, s:s}", "coding", coding, "text", code->label);
}

json_t *fhir_observation_out(const fhir_reading *rd)
{
    char when[TIMEFMT_LEN], updated[TIMEFMT_LEN], ref[64];
    const char *category = fhir_category_of(rd->code);
    json_t *obs;

    snprintf(ref, sizeof ref, "%lld", (long long)rd->id);
    obs = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:s, s:[{s:[{s:s, s:s, s:s}]}], s:o, s:s, "
        "s:{s:o, s:s, s:s, s:s}}",
        "resourceType", "Observation", "id", ref, "meta", "versionId", "1", "lastUpdated",
        timefmt_format(rd->received_ms, updated, sizeof updated), "status",
        rd->invalid ? "entered-in-error" : "final", "category", "coding", "system",
        "http://terminology.hl7.org/CodeSystem/observation-category", "code", category, "display",
        strcmp(category, "vital-signs") == 0 ? "Vital Signs" : "Laboratory", "code",
        code_concept(rd->code), "effectiveDateTime", timefmt_format(rd->time_ms, when, sizeof when),
        "valueQuantity", "value", obs_value_json(rd->code, rd->value, NULL), "unit", rd->code->unit,
        "system", FHIR_UCUM, "code", rd->code->unit);
    if (!obs)
        return NULL;
    if (fhir_in_vitals_profile(rd->code))
        json_object_set_new(json_object_get(obs, "meta"), "profile",
                            json_pack("[s]", "http://hl7.org/fhir/StructureDefinition/vitalsigns"));
    if (rd->patient_id > 0) {
        snprintf(ref, sizeof ref, "Patient/%lld", (long long)rd->patient_id);
        json_object_set_new(obs, "subject", json_pack("{s:s}", "reference", ref));
    }
    if (rd->device_id > 0) {
        snprintf(ref, sizeof ref, "Device/%lld", (long long)rd->device_id);
        json_object_set_new(obs, "device", json_pack("{s:s}", "reference", ref));
    }
    if (rd->msg_id && *rd->msg_id)
        json_object_set_new(
            obs, "identifier",
            json_pack("[{s:s, s:s}]", "system", "urn:wardd:message-id", "value", rd->msg_id));
    return obs;
}
