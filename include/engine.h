/* engine: the clinical engine. Grades CTCAE v5.0 terms, decides give / hold /
 * discontinue / insufficient_data for the next dose, scores NEWS2, stages
 * KDIGO and places the patient in the dose schedule, all from a loaded rule
 * set (rules.h), a patient record and an observation history, as of a time
 * T. Pure: no HTTP, no SQL, no clock, no globals.
 *
 * Evaluation at T reads only observations with time <= T. Values are
 * compared exactly: every reading is taken as a decimal with at most six
 * fraction digits and all arithmetic (ratios, percentages, rises, window
 * sums, rates) is done in exact rationals, so 1.8 mg/dL against a baseline
 * of 0.6 is exactly 3.0x (policy 12 (docs/rules.md 9)).
 *
 * Threads: a rules_set and an engine_hist are only read during evaluation,
 * so any number of threads may evaluate concurrently. An engine_state is
 * per patient and must not be used by two threads at once.
 *
 * Typical use:
 *   engine_hist *h = engine_hist_new();
 *   engine_hist_add(h, obs_code_lookup("spo2")->id, t_ms, 88, NULL); ...
 *   engine_result *r = engine_evaluate(rs, &patient, h, at_ms, NULL);
 *   json_t *j = engine_result_to_json(r);    (docs/api.md toxicity shape)
 *   engine_result_free(r);
 * Live path (per reading, cheap): keep an engine_state per patient, append
 * the reading to the history, then engine_state_ingest(); read the alert
 * facts with engine_state_facts(). */
#ifndef WARDD_ENGINE_H
#define WARDD_ENGINE_H

#include "rules.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "no time" */
#define ENGINE_NO_TIME INT64_MIN

/* --- input ------------------------------------------------------------------ */

/* One reading in canonical form: numeric value in the code's canonical unit;
 * flags 0/1; grades 0-5; categorical: index into obs_code.values. */
typedef struct engine_point {
    int64_t t_ms;
    double v;
} engine_point;

/* Observation history of one patient: per code, readings sorted by time
 * (equal times keep insertion order; the last one is "latest"). */
typedef struct engine_hist engine_hist;

engine_hist *engine_hist_new(void);
void engine_hist_free(engine_hist *h);
/* Adds a reading. O(1) when readings arrive in time order, otherwise an
 * insertion. Returns 0, or -1 on a bad code id or out of memory. */
int engine_hist_add(engine_hist *h, int code_id, int64_t t_ms, double v);
/* Readings of one code (sorted) and their count; NULL/0 when none. */
const engine_point *engine_hist_points(const engine_hist *h, int code_id, size_t *n);

typedef struct engine_dose {
    int64_t t_ms;
    bool given; /* false = held */
} engine_dose;

/* The patient record (docs/api.md POST /patients), plus dose records
 * (docs/api.md POST /doses) sorted by time. NAN means "absent". */
/* The patient's course among the courses of the same person (MRN), which
 * group their admissions (docs/clinical.md "Courses"), and what the earlier
 * admissions say about starting this one. The doses of engine_patient are
 * the course's, from all its admissions. */
typedef struct engine_course {
    int number;                /* 1 = the first course */
    int64_t prev_discharge_ms; /* discharge of course number-1, ENGINE_NO_TIME when none */
    char prev_response[3];     /* latest response category of course number-1, "" none */
    char prev_response_date[11];
    char permanent_rule[64]; /* a permanent discontinue rule that fired in an earlier
                                course, "" when none */
    int permanent_course;    /* the course it fired in */
} engine_course;

typedef struct engine_patient {
    int64_t id;
    engine_course course;
    double baseline[RULES_BL_COUNT];
    double limit[RULES_LIM_COUNT]; /* overrides; NAN = rule-set default */
    int news2_scale;               /* 1 or 2 */
    const engine_dose *doses;
    size_t n_doses;
} engine_patient;

/* Sets every baseline and limit to NAN, news2_scale 1, no doses. */
void engine_patient_init(engine_patient *p, int64_t id);

/* Fills baselines, reference-range overrides and news2_scale from a patient
 * object in docs/api.md POST /patients form (unknown keys ignored; doses are not
 * part of it). Returns 0, or -1 with a message in err. */
int engine_patient_from_json(const json_t *j, engine_patient *p, char *err, size_t errlen);

/* --- output ------------------------------------------------------------------ */

typedef enum engine_action {
    ENGINE_GIVE = 0,
    ENGINE_INSUFFICIENT_DATA = 1,
    ENGINE_HOLD = 2,
    ENGINE_DISCONTINUE = 3 /* most severe */
} engine_action;

const char *engine_action_name(engine_action a);

/* One piece of evidence: a reading (agg NULL), a window aggregate
 * (agg "sum", "rate_max", ..., window_h > 0, t_ms = window end) or a
 * duration (agg "duration_h", t_ms = onset). */
typedef struct engine_evidence {
    int code; /* obs code id, or -1 with `what` naming a patient field */
    const char *what;
    double value;
    int64_t t_ms;
    const char *agg;
    double window_h;
} engine_evidence;

/* Room for the readings of a window sum (q1h urine over a day) and its
 * total. */
#define ENGINE_EV_MAX      32
#define ENGINE_MISSING_MAX 12

typedef struct engine_evlist {
    engine_evidence ev[ENGINE_EV_MAX];
    size_t n;
} engine_evlist;

/* What an unevaluable condition lacked: "spo2", "baseline.weight_kg",
 * "urine (8 h window not covered)". */
typedef struct engine_missing {
    char items[ENGINE_MISSING_MAX][48];
    size_t n;
} engine_missing;

typedef struct engine_term_result {
    const rules_term *term;
    int grade;           /* -1 = null (cannot be graded) */
    int numeric_grade;   /* from numbers, -1 = null or none defined */
    int clinician_grade; /* latest ctcae.<term>, -1 = none */
    int max_grade;       /* highest grade since the current cycle began, -1 = none */
    int suggested;       /* proxy grade (never used for decisions), -1 = none */
    const char *suggested_text;
    int64_t since_ms; /* current grade unchanged since, ENGINE_NO_TIME when null */
    engine_evlist evidence;
    engine_missing missing;
} engine_term_result;

typedef struct engine_reason {
    const char *rule;
    const char *text;
    const char *source;
    const char *klass; /* label | relative | absolute | data */
    engine_action action;
    int64_t since_ms;   /* hold / discontinue first met, ENGINE_NO_TIME when met now only */
    const char *resume; /* resume condition text of an active hold */
    engine_evlist evidence;
} engine_reason;

typedef struct engine_not_evaluated {
    const char *rule;
    engine_missing missing;
} engine_not_evaluated;

typedef struct engine_news2_component {
    const char *name;
    int code; /* obs code shown, -1 none */
    bool known;
    double value; /* latest value of `code` */
    int64_t t_ms;
    int points;
} engine_news2_component;

#define ENGINE_NEWS2_MAX 16

typedef struct engine_news2 {
    int score;         /* -1 when any component is unknown */
    int partial_score; /* sum of the known components (a lower bound) */
    bool complete;
    const char *risk; /* low | low-medium | medium | high, from partial_score */
    bool single_3;    /* some parameter scored 3 */
    engine_news2_component comp[ENGINE_NEWS2_MAX];
    size_t n;
} engine_news2;

typedef struct engine_kdigo {
    int stage; /* 0-3, -1 when nothing could be evaluated */
    const char *basis[8];
    size_t n_basis;
    double weight_kg;         /* weight used for mL/kg/h, NAN when absent */
    const char *weight_basis; /* "baseline.weight_kg" */
    engine_evlist evidence;
    engine_missing missing;
} engine_kdigo;

typedef enum engine_sched_status {
    ENGINE_SCHED_DUE,
    ENGINE_SCHED_REST,
    ENGINE_SCHED_CYCLE_COMPLETE,
    ENGINE_SCHED_COURSE_COMPLETE,
    ENGINE_SCHED_NOT_SCHEDULED /* a new course may not start (engine_course) */
} engine_sched_status;

const char *engine_sched_status_name(engine_sched_status s);

typedef struct engine_schedule {
    engine_sched_status status;
    bool dose_due;      /* status == due: a dose slot is open now or next */
    int cycle;          /* current (or last) cycle number, 0 before any */
    int day;            /* treatment day (1 = day of the first dose), 0 before */
    int dose_in_cycle;  /* number the next dose would have in its cycle, 0 when none */
    int dose_in_course; /* number the next dose would have in the course, 0 when none */
    int given_in_cycle;
    int held_in_cycle;
    int given_in_course;
    int max_per_cycle;
    int max_per_course;
    int64_t next_dose_ms;   /* next slot a dose could be given, ENGINE_NO_TIME when none */
    int64_t first_dose_ms;  /* day-1 anchor, ENGINE_NO_TIME when no dose recorded yet */
    int64_t cycle_start_ms; /* start of the current cycle, ENGINE_NO_TIME when none */
    int course;             /* the course number (engine_course.number) */
    /* status NOT_SCHEDULED: why, as a decision reason (rule id, text, the
     * action it asks for: hold until it may start, or discontinue) */
    const char *gate_rule;
    char gate_text[200];
    engine_action gate_action;
} engine_schedule;

typedef struct engine_result {
    const rules_set *rs;
    int64_t patient_id;
    int64_t at_ms;

    engine_term_result *terms; /* rs->n_terms, in rule-set order */
    size_t n_terms;

    engine_action action;
    engine_reason *reasons;
    size_t n_reasons;
    engine_not_evaluated *not_evaluated;
    size_t n_not_evaluated;
    engine_missing missing_required; /* required codes without a fresh value */
    char required_text[200];         /* text of the insufficient_data reason */

    engine_news2 news2;
    engine_kdigo kdigo;
    engine_schedule schedule;
} engine_result;

/* --- evaluation ------------------------------------------------------------- */

/* Per-patient incremental state: hold/resume state machines, sticky
 * discontinues, each term's grade, since and max since the cycle start, as
 * of the last processed time. */
typedef struct engine_state engine_state;

/* Evaluates everything at `at_ms`. With st == NULL (or a state that has
 * already run past at_ms, or belongs to another cycle) the history is
 * replayed from its start; with a state, only readings after the state's
 * time are replayed (the state itself is not modified). Returns NULL only
 * when out of memory. Caller frees with engine_result_free(). */
engine_result *engine_evaluate(const rules_set *rs, const engine_patient *pt, const engine_hist *h,
                               int64_t at_ms, const engine_state *st);
void engine_result_free(engine_result *r);

/* The id of a permanent-discontinue rule (action "discontinue", not
 * "discontinue_course") among the result's reasons, or NULL: what makes
 * retreatment contraindicated in a later course. */
const char *engine_permanent_rule(const engine_result *r);

/* The docs/api.md toxicity object. New reference, NULL when out of memory. */
json_t *engine_result_to_json(const engine_result *r);

/* Dose schedule at at_ms from the dose records alone. */
void engine_schedule_at(const rules_set *rs, const engine_patient *pt, int64_t at_ms,
                        engine_schedule *out);

/* --- live path ------------------------------------------------------------- */

engine_state *engine_state_new(const rules_set *rs);
void engine_state_free(engine_state *st);
/* Forgets everything (use after a reading arrives out of order, a dose is
 * recorded, or the patient record changes; the next ingest replays). */
void engine_state_reset(engine_state *st);
/* Time the state has processed up to, ENGINE_NO_TIME when fresh. */
int64_t engine_state_time(const engine_state *st);

/* Call after adding readings at time t_ms to the history (t_ms >= the
 * state's time; otherwise the state is rebuilt by replay). Advances holds,
 * sticky discontinues, grades and max grades through every reading up to
 * t_ms, re-evaluating only what depends on the codes that changed. Returns
 * 0, or -1 when out of memory. */
int engine_state_ingest(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        int64_t t_ms);

/* Alert-relevant facts at the state's time, without building a result. */
typedef struct engine_facts {
    int64_t at_ms;
    const int8_t *grades;     /* per term, -1 = null; valid until the next ingest */
    const int8_t *max_grades; /* per term, since the cycle start */
    size_t n_terms;
    engine_action action; /* decision at at_ms */
    int n_relative, n_absolute;
    int news2_score; /* -1 when incomplete */
    int news2_partial;
    const char *news2_risk;
    bool news2_single_3;
} engine_facts;

/* Fills *out from the state at the state's time: holds and discontinues from
 * the state machines, criteria from their status when their data last
 * changed (re-checked if met, as their data may have gone stale), required
 * vitals' freshness, NEWS2 from the per-parameter points. Values that go
 * stale or windows that slide with no new reading are only seen by a full
 * engine_evaluate(): the server should evaluate each patient periodically
 * (e.g. every minute) for "data missing" alerts. Returns 0, or -1 when out
 * of memory. */
int engine_state_facts(engine_state *st, const engine_patient *pt, const engine_hist *h,
                       engine_facts *out);

/* --- live path: advance, and evaluate only when something changed ------------- */

/* Brings the live state up to a job's readings, already added to the history:
 * `oldest` and `newest` are the earliest and latest times among them. A job
 * whose readings are older than the state's time rebuilds the state by
 * replay; more readings at the instant already processed step it again.
 * Returns 0, or -1 when out of memory (the caller rebuilds). */
int engine_live_advance(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        int64_t oldest, int64_t newest);

/* The digest: everything the server's events, ward summary and alerts read
 * from an evaluation, as bytes: per term its grade and max grade, per rule
 * the action it contributes (none, hold, discontinue), which required codes
 * lack a fresh value, NEWS2 points per parameter and in total (the action
 * and the consensus outcome follow from these). Exact values, not a hash.
 * engine_digest_size(rs) bytes. */
size_t engine_digest_size(const rules_set *rs);
/* The digest of a full result. */
void engine_result_digest(const engine_result *r, uint8_t *out);
/* The digest of the live state at its time, and in `mask` (same size) a 1
 * for each byte that reflects the readings ingested since the previous call
 * (terms and rules re-evaluated since, and freshness and NEWS2, recomputed
 * at the state's time on every call). Grades and criteria that change
 * with no new reading of theirs (a window sliding, a value going stale) are
 * not marked: only a full evaluation sees them, which the server runs
 * periodically. The live path: when
 * engine_digest_same(state digest, last full result's digest, mask), a full
 * evaluation now would differ from the last one only through such time-driven
 * changes. Returns 0, or -1 when out of memory. */
int engine_state_digest(engine_state *st, const engine_patient *pt, const engine_hist *h,
                        uint8_t *out, uint8_t *mask);
/* Whether a and b agree on every byte marked in mask. */
bool engine_digest_same(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n);

#endif
