/* fhir: a small, exact FHIR R4 (4.0.1) server for what wardd holds
 * (docs/fhir.md): vital-sign and laboratory Observations in and out,
 * Patient and Device reads, and wardd's own findings (CTCAE grades, NEWS2,
 * the next-dose decision as a DetectedIssue), under /fhir on the HTTP
 * port with the API's tokens and roles. Errors are OperationOutcomes. */
#ifndef WARDD_FHIR_H
#define WARDD_FHIR_H

#include "http.h"
#include "obs.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FHIR_VERSION "4.0.1"
#define FHIR_LOINC   "http://loinc.org"
#define FHIR_UCUM    "http://unitsofmeasure.org"

/* --- OperationOutcome (fhir_outcome.c) -------------------------------------- */

/* One problem: an issue type of http://hl7.org/fhir/issue-type ("invalid",
 * "value", "required", "code-invalid", "not-supported", "not-found",
 * "duplicate", "processing", ...), a sentence, and the FHIRPath of the
 * element at fault ("" when none). */
typedef struct fhir_issue {
    const char *code;
    char diagnostics[256];
    char expression[96];
} fhir_issue;

/* {"resourceType": "OperationOutcome", "issue": [...]} for one issue. New. */
json_t *fhir_outcome(const char *severity, const char *code, const char *diagnostics,
                     const char *expression);
/* The /fhir dialect's error body for a wardd error code (route.h). New. */
json_t *fhir_error_body(err_code e, const char *message, json_t *details);
/* Replies with one issue at `status`, as an OperationOutcome. */
enum MHD_Result fhir_reply_issue(struct req *r, unsigned status, const fhir_issue *is);
/* A resource reply honouring Prefer: return=minimal|representation, with
 * an absolute Location (and ETag/Last-Modified) when location_path is not
 * NULL ("Observation/42/_history/1"). Steals body. */
enum MHD_Result fhir_reply_resource(struct req *r, unsigned status, json_t *body,
                                    const char *location_path);
/* The server's absolute base URL "http://host:port/fhir", from the Host
 * header and the transport. */
void fhir_base_url(struct req *r, char *buf, size_t len);
/* Whether the client accepts JSON (Accept and _format); false when it
 * replied 406. */
bool fhir_format_or_reply(struct req *r, enum MHD_Result *ret);

/* --- Observation mapping (fhir_map.c, pure) ---------------------------------- */

/* An Observation taken apart: wardd reading items ({"id", "code", "value",
 * "unit", "time"}, ready for obs_parse_reading) and its subject. */
typedef struct fhir_obs_in {
    size_t n;
    json_t *items[2];        /* new references; two for a blood-pressure panel */
    int64_t subject_patient; /* "Patient/N" -> N; 0 when absent */
    bool has_identifier;
} fhir_obs_in;

/* Takes an Observation apart. 0, or -1 with *err filled (nothing owned in
 * *out then). */
int fhir_observation_in(const json_t *obs, fhir_obs_in *out, fhir_issue *err);
void fhir_obs_in_clear(fhir_obs_in *in);
/* The idempotency key of identifier (system|value) as a reading id: the
 * pair itself when it fits OBS_ID_MAX printable characters, else "fhir:"
 * and a SHA-256 prefix. buf has OBS_ID_MAX + 1 bytes. 0 or -1 (none). */
int fhir_identifier_key(const json_t *identifier, char *buf, size_t len);

/* The wardd code for a LOINC code, or NULL. */
const obs_code *fhir_code_for_loinc(const char *loinc);
/* "vital-signs" or "laboratory" for a code that has a LOINC code. */
const char *fhir_category_of(const obs_code *code);

/* One stored reading as an Observation (fhir_map.c). */
typedef struct fhir_reading {
    int64_t id, patient_id, device_id;
    const obs_code *code;
    double value;
    const char *text; /* categorical value or NULL */
    int64_t time_ms, received_ms;
    const char *msg_id; /* or NULL */
    bool invalid;       /* marked invalid on the ward: status entered-in-error */
} fhir_reading;
json_t *fhir_observation_out(const fhir_reading *rd);

/* --- handlers (fhir_*.c) ------------------------------------------------------ */
enum MHD_Result fhir_metadata_get(struct req *r);
enum MHD_Result fhir_observation_post(struct req *r);
enum MHD_Result fhir_observation_read(struct req *r);
enum MHD_Result fhir_observation_vread(struct req *r);
enum MHD_Result fhir_observation_search(struct req *r);
enum MHD_Result fhir_observation_lastn(struct req *r);
enum MHD_Result fhir_bundle_post(struct req *r);
enum MHD_Result fhir_patient_read(struct req *r);
enum MHD_Result fhir_patient_search(struct req *r);
enum MHD_Result fhir_device_read(struct req *r);
enum MHD_Result fhir_device_search(struct req *r);
enum MHD_Result fhir_detectedissue_read(struct req *r);
enum MHD_Result fhir_detectedissue_search(struct req *r);

#endif
