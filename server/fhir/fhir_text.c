/* fhir_text: Observations and searchset Bundles written as JSON text
 * (fhir_search.h). A ward-wide $lastn or a page of 1,000 readings would
 * otherwise build some 40 jansson nodes per reading only to dump them;
 * this writes the same document directly (the unit test test_fhir checks
 * it parses to exactly what fhir_observation_out() builds). */
#include "fhir_search.h"
#include "store.h"
#include "timefmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(fhir_buf *b, size_t more)
{
    size_t cap;
    char *p;

    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

void fhir_buf_raw(fhir_buf *b, const char *s, size_t n)
{
    grow(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void fhir_buf_add(fhir_buf *b, const char *s)
{
    fhir_buf_raw(b, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
void fhir_buf_str(fhir_buf *b, const char *s)
{
    fhir_buf_raw(b, "\"", 1);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            fhir_buf_raw(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            fhir_buf_raw(b, esc, 6);
        } else {
            fhir_buf_raw(b, (const char *)&ch, 1);
        }
    }
    fhir_buf_raw(b, "\"", 1);
}

/* A value as obs_value_json() and JSON_REAL_PRECISION(15) write it: whole
 * values as integers, others as reals. */
static void number(fhir_buf *b, double v)
{
    char buf[40];

    if (isfinite(v) && v == nearbyint(v) && fabs(v) < 9007199254740992.0)
        snprintf(buf, sizeof buf, "%lld", (long long)v);
    else
        buf[store_series_real(buf, v)] = '\0';
    fhir_buf_add(b, buf);
}

static void key_str(fhir_buf *b, const char *key, const char *value)
{
    fhir_buf_str(b, key);
    fhir_buf_raw(b, ":", 1);
    fhir_buf_str(b, value);
}

static void ref(fhir_buf *b, const char *key, const char *type, int64_t id)
{
    char r[48];

    snprintf(r, sizeof r, "%s/%lld", type, (long long)id);
    fhir_buf_add(b, ",");
    fhir_buf_str(b, key);
    fhir_buf_add(b, ":{");
    key_str(b, "reference", r);
    fhir_buf_add(b, "}");
}

static void coding(fhir_buf *b, const char *code, const char *display)
{
    fhir_buf_add(b, "{\"system\":\"" FHIR_LOINC "\",");
    key_str(b, "code", code);
    fhir_buf_add(b, ",");
    key_str(b, "display", display);
    fhir_buf_add(b, "}");
}

void fhir_observation_text(const fhir_reading *rd, fhir_buf *b)
{
    const char *category = fhir_category_of(rd->code);
    bool vital = strcmp(category, "vital-signs") == 0;
    char id[32], when[TIMEFMT_LEN];

    snprintf(id, sizeof id, "%lld", (long long)rd->id);
    fhir_buf_add(b, "{\"resourceType\":\"Observation\",");
    key_str(b, "id", id);
    fhir_buf_add(b, ",\"meta\":{\"versionId\":\"1\",");
    key_str(b, "lastUpdated", timefmt_format(rd->received_ms, when, sizeof when));
    if (fhir_in_vitals_profile(rd->code))
        fhir_buf_add(b, ",\"profile\":[\"http://hl7.org/fhir/StructureDefinition/vitalsigns\"]");
    fhir_buf_add(b, rd->invalid ? "},\"status\":\"entered-in-error\"," : "},\"status\":\"final\",");
    fhir_buf_add(b, "\"category\":[{\"coding\":[{\"system\":"
                    "\"http://terminology.hl7.org/CodeSystem/observation-category\",");
    key_str(b, "code", category);
    fhir_buf_add(b, vital ? ",\"display\":\"Vital Signs\"}]}]" : ",\"display\":\"Laboratory\"}]}]");
    fhir_buf_add(b, ",\"code\":{\"coding\":[");
    coding(b, rd->code->loinc, rd->code->label);
    if (strcmp(rd->code->code, "spo2") == 0) {
        fhir_buf_add(b, ",");
        coding(b, "2708-6", "Oxygen saturation in Arterial blood");
    }
    fhir_buf_add(b, "],");
    key_str(b, "text", rd->code->label);
    fhir_buf_add(b, "},");
    key_str(b, "effectiveDateTime", timefmt_format(rd->time_ms, when, sizeof when));
    fhir_buf_add(b, ",\"valueQuantity\":{\"value\":");
    number(b, rd->value);
    fhir_buf_add(b, ",");
    key_str(b, "unit", rd->code->unit);
    fhir_buf_add(b, ",\"system\":\"" FHIR_UCUM "\",");
    key_str(b, "code", rd->code->unit);
    fhir_buf_add(b, "}");
    if (rd->patient_id > 0)
        ref(b, "subject", "Patient", rd->patient_id);
    if (rd->device_id > 0)
        ref(b, "device", "Device", rd->device_id);
    if (rd->msg_id && *rd->msg_id) {
        fhir_buf_add(b, ",\"identifier\":[{\"system\":\"urn:wardd:message-id\",");
        key_str(b, "value", rd->msg_id);
        fhir_buf_add(b, "}]");
    }
    fhir_buf_add(b, "}");
}

void fhir_entry_text(fhir_buf *b, const char *base, const char *resource, const char *id,
                     const char *resource_json)
{
    char full[512];

    snprintf(full, sizeof full, "%s/%s/%s", base, resource, id);
    if (b->entries++)
        fhir_buf_add(b, ",");
    fhir_buf_add(b, "{");
    key_str(b, "fullUrl", full);
    fhir_buf_add(b, ",\"resource\":");
    fhir_buf_add(b, resource_json);
    fhir_buf_add(b, ",\"search\":{\"mode\":\"match\"}}");
}

char *fhir_bundle_text(json_t *head, const fhir_buf *entries)
{
    char *text = json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(15));
    fhir_buf out = {0};
    size_t n;

    json_decref(head);
    if (!text || entries->oom)
        goto fail;
    n = strlen(text);
    /* head ends with its empty entry list: ..."entry":[]} */
    if (n < 3 || strcmp(text + n - 3, "[]}") != 0)
        goto fail;
    fhir_buf_raw(&out, text, n - 2);
    if (entries->len)
        fhir_buf_raw(&out, entries->p, entries->len);
    fhir_buf_add(&out, "]}");
    free(text);
    if (out.oom) {
        free(out.p);
        return NULL;
    }
    return out.p;
fail:
    free(text);
    return NULL;
}
