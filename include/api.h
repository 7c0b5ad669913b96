/* api: the handlers, one file per resource (server/api/api_<resource>.c),
 * named api_<resource>_<verb>. Each runs after the dispatcher's generic
 * checks (http.h) and returns what its reply function returned. */
#ifndef WARDD_API_H
#define WARDD_API_H

#include "http.h"

#include <stdbool.h>
#include <stdint.h>

/* api_common.c: helpers that may reply (true = go on, false = replied,
 * *ret is what the handler returns). */
/* Path parameter 0 as a patient id; else replies 404 (reply_no_patient). */
bool patient_id_or_reply(struct req *r, int64_t *id, enum MHD_Result *ret);
/* patient_id_or_reply, and the patient exists (any status); else 404, or
 * 503 when the database cannot be read. */
bool patient_or_reply(struct req *r, int64_t *id, enum MHD_Result *ret);
/* In a write job, after `entity` (a device, a station) `id` was revoked
 * and read back as `after`: audits "<entity>.revoke" with the row before
 * (the same with revoked_at null) at `now` and sets r->out to {"id", "revoked_at"}.
 * 0, or DB_STORAGE_FAILURE. */
int audit_revoked(db_conn *c, struct req *r, const char *entity, int64_t id, json_t *after,
                  int64_t now);

/* api_alerts.c */
enum MHD_Result api_alerts_get(struct req *r);
enum MHD_Result api_alerts_ack(struct req *r);
/* api_doses.c */
enum MHD_Result api_doses_get(struct req *r);
enum MHD_Result api_doses_post(struct req *r);
/* api_rules.c */
enum MHD_Result api_rules_get(struct req *r);
enum MHD_Result api_rules_put(struct req *r);
enum MHD_Result api_rules_versions(struct req *r);
/* api_toxicity.c */
enum MHD_Result api_toxicity_get(struct req *r);
/* api_ops.c */
enum MHD_Result api_ops_healthz(struct req *r);
enum MHD_Result api_ops_readyz(struct req *r);
enum MHD_Result api_ops_metrics(struct req *r);
/* api_session.c */
enum MHD_Result api_session_post(struct req *r);
enum MHD_Result api_session_get(struct req *r);
enum MHD_Result api_session_delete(struct req *r);
/* api_users.c */
enum MHD_Result api_users_get(struct req *r);
enum MHD_Result api_users_post(struct req *r);
enum MHD_Result api_users_patch(struct req *r);
/* api_beds.c */
enum MHD_Result api_beds_get(struct req *r);
enum MHD_Result api_beds_post(struct req *r);
/* api_patients.c */
enum MHD_Result api_patients_list(struct req *r);
enum MHD_Result api_patients_post(struct req *r);
enum MHD_Result api_patients_get(struct req *r);
enum MHD_Result api_patients_patch(struct req *r);
enum MHD_Result api_patients_discharge(struct req *r);
enum MHD_Result api_patients_transfer(struct req *r);
/* The store's patient fields from a checked POST or PATCH /patients body
 * (borrowed from it): text fields named in the body go into f->set. */
struct store_patient_fields;
void api_patient_fields(const json_t *body, struct store_patient_fields *f);
/* api_devices.c */
enum MHD_Result api_devices_get(struct req *r);
enum MHD_Result api_devices_post(struct req *r);
enum MHD_Result api_devices_rotate(struct req *r);
enum MHD_Result api_devices_delete(struct req *r);
/* api_events.c */
enum MHD_Result api_events_get(struct req *r);
/* api_readings.c */
enum MHD_Result api_readings_post(struct req *r);
enum MHD_Result api_readings_observations_post(struct req *r);
enum MHD_Result api_readings_list(struct req *r);
enum MHD_Result api_readings_series(struct req *r);
/* api_invalid.c */
enum MHD_Result api_invalid_invalidate(struct req *r);
enum MHD_Result api_invalid_reinstate(struct req *r);
/* api_ward.c */
enum MHD_Result api_ward_get(struct req *r);
/* api_courses.c */
enum MHD_Result api_courses_responses_get(struct req *r);
enum MHD_Result api_courses_responses_post(struct req *r);
/* api_catalogue.c */
enum MHD_Result api_catalogue_get(struct req *r);
/* api_audit.c */
enum MHD_Result api_audit_get(struct req *r);
/* api_openapi.c */
enum MHD_Result api_openapi_get(struct req *r);

/* api_feeds.c (HL7 v2 feeds, bed locations, device EUI-64s) */
enum MHD_Result api_feeds_get(struct req *r);
enum MHD_Result api_feeds_post(struct req *r);
enum MHD_Result api_feeds_patch(struct req *r);
enum MHD_Result api_feeds_delete(struct req *r);
enum MHD_Result api_beds_patch(struct req *r);
enum MHD_Result api_bed_locations_get(struct req *r);
enum MHD_Result api_devices_patch(struct req *r);
enum MHD_Result api_technical_alerts_get(struct req *r);
enum MHD_Result api_technical_alerts_resolve(struct req *r);
/* An HL7 bed location "POC^ROOM^BED" (PV1-3 components 1-3). */
bool api_location_valid(const char *s);
/* An EUI-64: 16 upper-case hex digits. */
bool api_eui64_valid(const char *s);

/* api_stations.c */
enum MHD_Result api_stations_get(struct req *r);
enum MHD_Result api_stations_post(struct req *r);
enum MHD_Result api_stations_delete(struct req *r);
/* api_screens.c */
enum MHD_Result api_screens_heartbeat(struct req *r);
enum MHD_Result api_screens_get(struct req *r);
enum MHD_Result api_screens_pause(struct req *r);
/* api_handover.c */
enum MHD_Result api_handover_get(struct req *r);

#endif
