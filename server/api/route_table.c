/* route_table: the one route table (docs/CONVENTIONS.md "Routes"). Sorted by path, then
 * method. Each row: method, path ("{}" = one segment), minimum role, body
 * kind, handler. Roles: ROLE_NONE public; ROLE_DEVICE devices only;
 * viewer < nurse < physician < admin (docs/api.md "Conventions"). */
#include "api.h"
#include "fhir.h"
#include "route.h"

const struct route route_table[] = {
    {"GET", "/api/v1/alerts", ROLE_VIEWER, BODY_NONE, api_alerts_get},
    {"POST", "/api/v1/alerts/{}/ack", ROLE_NURSE, BODY_JSON, api_alerts_ack},
    {"GET", "/api/v1/audit", ROLE_ADMIN, BODY_NONE, api_audit_get},
    {"GET", "/api/v1/bed-locations", ROLE_ADMIN, BODY_NONE, api_bed_locations_get},
    {"GET", "/api/v1/beds", ROLE_VIEWER, BODY_NONE, api_beds_get},
    {"POST", "/api/v1/beds", ROLE_ADMIN, BODY_JSON, api_beds_post},
    {"PATCH", "/api/v1/beds/{}", ROLE_ADMIN, BODY_JSON, api_beds_patch},
    {"GET", "/api/v1/catalogue", ROLE_VIEWER, BODY_NONE, api_catalogue_get},
    {"GET", "/api/v1/devices", ROLE_ADMIN, BODY_NONE, api_devices_get},
    {"POST", "/api/v1/devices", ROLE_ADMIN, BODY_JSON, api_devices_post},
    {"DELETE", "/api/v1/devices/{}", ROLE_ADMIN, BODY_NONE, api_devices_delete},
    {"PATCH", "/api/v1/devices/{}", ROLE_ADMIN, BODY_JSON, api_devices_patch},
    {"POST", "/api/v1/devices/{}/rotate-token", ROLE_ADMIN, BODY_NONE, api_devices_rotate},
    {"GET", "/api/v1/events", ROLE_VIEWER, BODY_NONE, api_events_get},
    {"GET", "/api/v1/feeds", ROLE_ADMIN, BODY_NONE, api_feeds_get},
    {"POST", "/api/v1/feeds", ROLE_ADMIN, BODY_JSON, api_feeds_post},
    {"DELETE", "/api/v1/feeds/{}", ROLE_ADMIN, BODY_NONE, api_feeds_delete},
    {"PATCH", "/api/v1/feeds/{}", ROLE_ADMIN, BODY_JSON, api_feeds_patch},
    {"GET", "/api/v1/handover", ROLE_VIEWER, BODY_NONE, api_handover_get},
    {"GET", "/api/v1/openapi.json", ROLE_NONE, BODY_NONE, api_openapi_get},
    {"GET", "/api/v1/patients", ROLE_VIEWER, BODY_NONE, api_patients_list},
    {"POST", "/api/v1/patients", ROLE_NURSE, BODY_JSON, api_patients_post},
    {"GET", "/api/v1/patients/{}", ROLE_VIEWER, BODY_NONE, api_patients_get},
    {"PATCH", "/api/v1/patients/{}", ROLE_NURSE, BODY_JSON, api_patients_patch},
    {"POST", "/api/v1/patients/{}/discharge", ROLE_NURSE, BODY_JSON_OPTIONAL,
     api_patients_discharge},
    {"GET", "/api/v1/patients/{}/doses", ROLE_VIEWER, BODY_NONE, api_doses_get},
    {"POST", "/api/v1/patients/{}/doses", ROLE_NURSE, BODY_JSON, api_doses_post},
    {"POST", "/api/v1/patients/{}/observations", ROLE_NURSE, BODY_JSON,
     api_readings_observations_post},
    {"GET", "/api/v1/patients/{}/readings", ROLE_VIEWER, BODY_NONE, api_readings_list},
    {"GET", "/api/v1/patients/{}/responses", ROLE_VIEWER, BODY_NONE, api_courses_responses_get},
    {"POST", "/api/v1/patients/{}/responses", ROLE_PHYSICIAN, BODY_JSON,
     api_courses_responses_post},
    {"GET", "/api/v1/patients/{}/series", ROLE_VIEWER, BODY_NONE, api_readings_series},
    {"GET", "/api/v1/patients/{}/toxicity", ROLE_VIEWER, BODY_NONE, api_toxicity_get},
    {"POST", "/api/v1/patients/{}/transfer", ROLE_NURSE, BODY_JSON, api_patients_transfer},
    {"POST", "/api/v1/readings", ROLE_DEVICE, BODY_JSON, api_readings_post},
    {"POST", "/api/v1/readings/{}/invalidate", ROLE_NURSE, BODY_JSON, api_invalid_invalidate},
    {"POST", "/api/v1/readings/{}/reinstate", ROLE_PHYSICIAN, BODY_NONE, api_invalid_reinstate},
    {"GET", "/api/v1/rules", ROLE_VIEWER, BODY_NONE, api_rules_get},
    {"PUT", "/api/v1/rules", ROLE_ADMIN, BODY_JSON, api_rules_put},
    {"GET", "/api/v1/rules/versions", ROLE_VIEWER, BODY_NONE, api_rules_versions},
    {"GET", "/api/v1/screens", ROLE_VIEWER, BODY_NONE, api_screens_get},
    {"POST", "/api/v1/screens/heartbeat", ROLE_VIEWER, BODY_JSON, api_screens_heartbeat},
    {"POST", "/api/v1/screens/{}/pause", ROLE_VIEWER, BODY_NONE, api_screens_pause},
    {"DELETE", "/api/v1/session", ROLE_VIEWER, BODY_NONE, api_session_delete},
    {"GET", "/api/v1/session", ROLE_VIEWER, BODY_NONE, api_session_get},
    {"POST", "/api/v1/session", ROLE_NONE, BODY_JSON, api_session_post},
    {"GET", "/api/v1/stations", ROLE_ADMIN, BODY_NONE, api_stations_get},
    {"POST", "/api/v1/stations", ROLE_ADMIN, BODY_JSON, api_stations_post},
    {"DELETE", "/api/v1/stations/{}", ROLE_ADMIN, BODY_NONE, api_stations_delete},
    {"GET", "/api/v1/technical-alerts", ROLE_VIEWER, BODY_NONE, api_technical_alerts_get},
    {"POST", "/api/v1/technical-alerts/{}/resolve", ROLE_NURSE, BODY_JSON,
     api_technical_alerts_resolve},
    {"GET", "/api/v1/users", ROLE_ADMIN, BODY_NONE, api_users_get},
    {"POST", "/api/v1/users", ROLE_ADMIN, BODY_JSON, api_users_post},
    {"PATCH", "/api/v1/users/{}", ROLE_ADMIN, BODY_JSON, api_users_patch},
    {"GET", "/api/v1/ward", ROLE_VIEWER, BODY_NONE, api_ward_get},
    {"POST", "/fhir", ROLE_DEVICE_OR_NURSE, BODY_JSON, fhir_bundle_post},
    {"POST", "/fhir/", ROLE_DEVICE_OR_NURSE, BODY_JSON, fhir_bundle_post},
    {"GET", "/fhir/DetectedIssue", ROLE_VIEWER, BODY_NONE, fhir_detectedissue_search},
    {"GET", "/fhir/DetectedIssue/{}", ROLE_VIEWER, BODY_NONE, fhir_detectedissue_read},
    {"GET", "/fhir/Device", ROLE_VIEWER, BODY_NONE, fhir_device_search},
    {"GET", "/fhir/Device/{}", ROLE_VIEWER, BODY_NONE, fhir_device_read},
    {"GET", "/fhir/Observation", ROLE_VIEWER, BODY_NONE, fhir_observation_search},
    {"POST", "/fhir/Observation", ROLE_DEVICE_OR_NURSE, BODY_JSON, fhir_observation_post},
    {"GET", "/fhir/Observation/$lastn", ROLE_VIEWER, BODY_NONE, fhir_observation_lastn},
    {"GET", "/fhir/Observation/{}", ROLE_VIEWER, BODY_NONE, fhir_observation_read},
    {"GET", "/fhir/Observation/{}/_history/{}", ROLE_VIEWER, BODY_NONE, fhir_observation_vread},
    {"GET", "/fhir/Patient", ROLE_VIEWER, BODY_NONE, fhir_patient_search},
    {"GET", "/fhir/Patient/{}", ROLE_VIEWER, BODY_NONE, fhir_patient_read},
    {"GET", "/fhir/metadata", ROLE_NONE, BODY_NONE, fhir_metadata_get},
    {"GET", "/healthz", ROLE_NONE, BODY_NONE, api_ops_healthz},
    {"GET", "/metrics", ROLE_NONE, BODY_NONE, api_ops_metrics},
    {"GET", "/readyz", ROLE_NONE, BODY_NONE, api_ops_readyz},
};

const size_t route_count = sizeof route_table / sizeof route_table[0];

/* FHIR R4 under /fhir: the same routes machinery, replies in
 * application/fhir+json and errors as OperationOutcome (docs/fhir.md). */
const struct route_dialect route_dialects[] = {
    {"/fhir", "application/fhir+json", fhir_error_body},
};

const size_t route_dialect_count = sizeof route_dialects / sizeof route_dialects[0];
