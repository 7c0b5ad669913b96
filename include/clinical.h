/* clinical: the clinical engine at work inside the server (docs/clinical.md).
 *
 * It owns:
 *  - the active rule set: loaded at start from the database (the active
 *    version), or, on a database without one, from `--rules FILE` (default
 *    schema/rules/il2-default.json, then /usr/share/wardd/rules/...) stored
 *    as version 1. PUT /api/v1/rules swaps it (clinical_rules_activated).
 *    Readers take a reference (clinical_rules) and drop it with
 *    rules_unref(), so a swap never frees a set still in use.
 *  - ONE clinical worker thread with a per-patient cache: the patient record
 *    (engine_patient), its doses, its observation history (engine_hist) and
 *    the engine's live state (engine_state), built from the database on
 *    first use. The worker is fed by a queue of patient ids:
 *      clinical_patient_ingested()  after a commit that filed readings: the
 *                                   worker loads only the new rows, advances
 *                                   the live state (engine_state_ingest),
 *                                   evaluates at now, publishes "grade" and
 *                                   "decision" events on change and runs the
 *                                   alert manager (alerts.h);
 *      clinical_patient_changed()   the record, doses or bed changed: the
 *                                   cache is rebuilt first.
 *    Enqueueing is O(1) and never touches the database: it runs on the
 *    writer thread. A patient queued many times before the worker gets to
 *    it is evaluated once (the queue is a set), so evaluation can fall
 *    behind ingest without slowing it.
 *  - a timer in the same thread (alerts.evaluate_every_seconds, or
 *    WARDD_CLINICAL_TICK_MS) that re-evaluates every admitted patient at
 *    now (values going stale, windows sliding, durations growing, vitals
 *    overdue), checks device silence, escalates unacknowledged alerts,
 *    resolves the alerts of discharged patients, and rebuilds any cache
 *    whose patient changed behind its back (patients.updated_at).
 *
 * Alert timings come from the rule set's "alerts" section; for tests the
 * environment overrides them: WARDD_CLINICAL_TICK_MS, WARDD_ALERT_ESCALATE_MS,
 * WARDD_DEVICE_SILENT_MS, WARDD_ALERT_RESOLVE_MS (milliseconds). */
#ifndef WARDD_CLINICAL_H
#define WARDD_CLINICAL_H

#include "db.h"
#include "engine.h"
#include "rules.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Loads the active rule set (installing the file as version 1 on a
 * database without one; `rules_path` NULL = the default search) and starts
 * the worker. Needs the writer and read connections running. 0, or -1 after
 * logging every problem. */
int clinical_start(db_writer *writer, const char *rules_path);
/* Stops and joins the worker, frees the caches and the rule set. Call
 * before the writer stops. Safe when not started. */
void clinical_stop(void);

/* The active rule set with a reference the caller drops with rules_unref();
 * NULL before clinical_start(). */
rules_set *clinical_rules(void);
/* Makes `rs` (stolen) the active set at once and has the worker rebuild
 * every cache and re-evaluate every patient. For PUT /rules, after commit. */
void clinical_rules_activated(rules_set *rs);

/* After-commit hooks: O(1), any thread, never block on the database. */
void clinical_patient_ingested(int64_t patient_id);
void clinical_patient_changed(int64_t patient_id);

/* --- evaluation for a request --------------------------------------------- */

/* A patient's engine input up to a time, and the result at that time. */
typedef struct clinical_eval {
    rules_set *rs;     /* referenced */
    json_t *patient;   /* the record (docs/api.md shape) */
    engine_patient pt; /* pt.doses points at `doses` */
    engine_dose *doses;
    engine_hist *h;
    engine_result *r;
} clinical_eval;

/* Loads patient `id`'s record, doses and observations with time <= at from
 * read connection c (one snapshot) and evaluates the active rule set at
 * `at`. 1 done, 0 no such patient, -1 failure. Free with
 * clinical_eval_free() in every case. */
int clinical_evaluate_at(db_conn *c, int64_t id, int64_t at, clinical_eval *ev);
void clinical_eval_free(clinical_eval *ev);

/* The decision's top reason: the first reason whose action is the
 * decision's, else the first; NULL when there is none. */
const engine_reason *clinical_top_reason(const engine_result *r);

struct store_admission;
/* The course number of each of a person's admissions (in the order of
 * store_course_admissions), under the active rule set's cycles
 * (docs/clinical.md "Courses"). 0 or -1. */
int clinical_course_numbers(db_conn *c, const struct store_admission *adm, size_t n,
                            int *course_of);

/* Whether the active rule set grades `term`, so that "ctcae.<term>" may be
 * posted (obs_context.grade_term_ok; `arg` unused). Any thread. */
bool clinical_grade_term_ok(void *arg, const char *term);

/* --- ward view ---------------------------------------------------------------- */

/* Fills each bed of a store_ward() object with the clinical fields of
 * docs/api.md: max_grade (highest current grade among the terms, null when none
 * can be graded or not yet evaluated), decision ({"action", "reason"} or
 * null) and active_alerts (unacknowledged alerts of the bed's patient);
 * and the ward's "time_zone": {"name", "utc_offset_minutes" now}. 0 or -1. */
int clinical_ward_annotate(db_conn *c, json_t *ward);

/* --- alerts from a request --------------------------------------------------- */

/* Publishes an "alert" event: the alert object with "transition" added
 * ("raised", "upgraded", "escalated", "acknowledged", "resolved"). */
void clinical_publish_alert(const json_t *alert, const char *transition);

/* --- measurement ------------------------------------------------------------------ */

typedef struct clinical_stats {
    uint64_t jobs;      /* patient jobs on the live path (ingest) */
    uint64_t skipped;   /* ... of which needed no full evaluation */
    uint64_t readings;  /* readings those jobs loaded */
    uint64_t ingest_ns; /* engine_state_ingest time of those jobs */
    uint64_t eval_ns;   /* digest and engine_evaluate time of those jobs */
    uint64_t ticks;     /* timer runs */
    uint64_t tick_evals;
    uint64_t tick_ns; /* whole timer runs */
} clinical_stats;
void clinical_get_stats(clinical_stats *out);

#endif
