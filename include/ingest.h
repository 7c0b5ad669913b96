/* ingest: one batch of validated readings from any transport (the JSON
 * API, HL7 v2 over MLLP, FHIR), filed and stored by one writer job and,
 * once its group commit is durable, counted, published as `reading`
 * events and handed to the clinical worker.
 *
 * A batch is built on the caller's thread (ingest_new, then
 * ingest_slot/ingest_keep per valid reading and ingest_reject per refused
 * item), stored on the writer thread by ingest_apply() inside the
 * transport's write job, and handed over after the commit with
 * ingest_committed(), which takes ownership. Filing: a batch filed to a
 * patient (staff entry, or an HL7 message naming an admitted patient)
 * stores every reading for that patient; a batch filed by bed stores each
 * reading for the patient whose stay in that bed covers the reading's
 * time (unassigned when the bed was empty). Idempotent on (source, id). */
#ifndef WARDD_INGEST_H
#define WARDD_INGEST_H

#include "db.h"
#include "obs.h"
#include "principal.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingest ingest;

/* A batch with room for `capacity` valid readings, or NULL (no memory). */
ingest *ingest_new(size_t capacity);
void ingest_free(ingest *in);

/* Who sent it: a device (device_id, its serial) or a staff member (the
 * principal, copied: it names the sender in the `reading` events and
 * authors the staff entry's audit row). */
void ingest_from_device(ingest *in, int64_t device_id, const char *serial);
void ingest_from_user(ingest *in, const principal *who);
/* An HL7 feed (feed_id), through a registered device when one matched
 * (device_id, else 0); `who` names the device or the feed in the events. */
void ingest_from_feed(ingest *in, int64_t feed_id, int64_t device_id, const char *who);

/* Where it is filed: to one patient; or by the stay in a bed at each
 * reading's time (an HL7 message's PV1-3); else, for a device, by where
 * the device was at each reading's time; else unassigned. Beds are
 * copied. */
void ingest_file_to_patient(ingest *in, int64_t patient_id);
void ingest_file_by_bed(ingest *in, const char *bed);
/* The bed a device batch's events name (its bed now), without filing by
 * it: a device's readings are filed by where it was at each reading's
 * time (its bed history). */
void ingest_label_bed(ingest *in, const char *bed);
int64_t ingest_patient(const ingest *in);

/* The next free reading slot (fill it, then ingest_keep), or NULL when
 * the batch is full. */
obs_reading *ingest_slot(ingest *in);
void ingest_keep(ingest *in);
/* Records why item `index` of the request was refused. 0 or -1 (memory). */
int ingest_reject(ingest *in, size_t index, const char *code, const char *message);

size_t ingest_valid_count(const ingest *in);
size_t ingest_rejected_count(const ingest *in);
/* The refused items: [{"index", "code", "message"}]. Borrowed. */
const json_t *ingest_rejected(const ingest *in);

/* On the writer thread, inside the caller's transaction: files and stores
 * every valid reading and touches the device. 0, or DB_STORAGE_FAILURE
 * (the transaction must then roll back). May run again after a rollback:
 * the counts start over. */
int ingest_apply(db_conn *c, ingest *in);

/* After ingest_apply: how many were stored and how many were duplicates
 * of an earlier (source, id); the patient reading i was filed to (0
 * unassigned, -1 duplicate). */
unsigned ingest_accepted(const ingest *in);
unsigned ingest_duplicates(const ingest *in);
int64_t ingest_filed(const ingest *in, size_t i);
const obs_reading *ingest_reading(const ingest *in, size_t i);
/* The stored row of reading i after ingest_apply (0 for a duplicate). */
int64_t ingest_obs_id(const ingest *in, size_t i);

/* {"accepted", "duplicates", "rejected"}: a new object with its own copy
 * of the refused items (the batch goes on to another thread, and jansson's
 * reference counts are not safe to share across threads). */
json_t *ingest_result(const ingest *in);

/* Once the batch is durable (from the writer's after-commit hook): counts
 * it in /metrics and hands it to the events publisher thread, which
 * publishes its `reading` events and then passes the patients to the
 * clinical worker, in commit order. Takes ownership of in. */
void ingest_committed(ingest *in);

/* A batch refused whole before any write (nothing valid): counts its
 * refused items in /metrics. Does not take ownership. */
void ingest_count_refused(const ingest *in);

#endif
