/* route_table: the one route table (docs/CONVENTIONS.md "Routes"). Sorted by path, then
 * method. Each row: method, path ("{}" = one segment), minimum role, body
 * kind, handler. Roles: ROLE_NONE public; ROLE_DEVICE devices only;
 * viewer < nurse < physician < admin (docs/api.md "Conventions"). */
#include "api.h"
#include "route.h"

const struct route route_table[] = {
    {"GET", "/api/v1/alerts", ROLE_VIEWER, BODY_NONE, api_alerts_get},
    {"POST", "/api/v1/alerts/{}/ack", ROLE_NURSE, BODY_JSON, api_alerts_ack},
    {"GET", "/api/v1/audit", ROLE_ADMIN, BODY_NONE, api_audit_get},
    {"GET", "/api/v1/beds", ROLE_VIEWER, BODY_NONE, api_beds_get},
    {"POST", "/api/v1/beds", ROLE_ADMIN, BODY_JSON, api_beds_post},
    {"GET", "/api/v1/devices", ROLE_ADMIN, BODY_NONE, api_devices_get},
    {"POST", "/api/v1/devices", ROLE_ADMIN, BODY_JSON, api_devices_post},
    {"DELETE", "/api/v1/devices/{}", ROLE_ADMIN, BODY_NONE, api_devices_delete},
    {"POST", "/api/v1/devices/{}/rotate-token", ROLE_ADMIN, BODY_NONE, api_devices_rotate},
    {"GET", "/api/v1/events", ROLE_VIEWER, BODY_NONE, api_events_get},
    {"GET", "/api/v1/handover", ROLE_VIEWER, BODY_NONE, api_handover_get},
    {"GET", "/api/v1/patients", ROLE_VIEWER, BODY_NONE, api_patients_list},
    {"POST", "/api/v1/patients", ROLE_NURSE, BODY_JSON, api_patients_post},
    {"GET", "/api/v1/patients/{}", ROLE_VIEWER, BODY_NONE, api_patients_get},
    {"PATCH", "/api/v1/patients/{}", ROLE_NURSE, BODY_JSON, api_patients_patch},
    {"POST", "/api/v1/patients/{}/discharge", ROLE_NURSE, BODY_NONE, api_patients_discharge},
    {"GET", "/api/v1/patients/{}/doses", ROLE_VIEWER, BODY_NONE, api_doses_get},
    {"POST", "/api/v1/patients/{}/doses", ROLE_NURSE, BODY_JSON, api_doses_post},
    {"POST", "/api/v1/patients/{}/observations", ROLE_NURSE, BODY_JSON,
     api_readings_observations_post},
    {"GET", "/api/v1/patients/{}/readings", ROLE_VIEWER, BODY_NONE, api_readings_list},
    {"GET", "/api/v1/patients/{}/series", ROLE_VIEWER, BODY_NONE, api_readings_series},
    {"GET", "/api/v1/patients/{}/toxicity", ROLE_VIEWER, BODY_NONE, api_toxicity_get},
    {"POST", "/api/v1/patients/{}/transfer", ROLE_NURSE, BODY_JSON, api_patients_transfer},
    {"POST", "/api/v1/readings", ROLE_DEVICE, BODY_JSON, api_readings_post},
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
    {"GET", "/api/v1/users", ROLE_ADMIN, BODY_NONE, api_users_get},
    {"POST", "/api/v1/users", ROLE_ADMIN, BODY_JSON, api_users_post},
    {"PATCH", "/api/v1/users/{}", ROLE_ADMIN, BODY_JSON, api_users_patch},
    {"GET", "/api/v1/ward", ROLE_VIEWER, BODY_NONE, api_ward_get},
    {"GET", "/healthz", ROLE_NONE, BODY_NONE, api_ops_healthz},
    {"GET", "/metrics", ROLE_NONE, BODY_NONE, api_ops_metrics},
    {"GET", "/readyz", ROLE_NONE, BODY_NONE, api_ops_readyz},
};

const size_t route_count = sizeof route_table / sizeof route_table[0];
