/* alerts: the alert manager's decisions (docs/api.md "Alerts"; lifecycle in
 * docs/clinical.md). Pure: no HTTP, no SQL, no clock; clinical.c feeds it
 * evaluations and the unresolved alerts, and carries out what it returns.
 *
 * Against alarm fatigue:
 *  - A condition has a stable key ("p7:grade:fever", "p7:decision",
 *    "p7:news2", "p7:data_missing", "d3:silent"); there is at most one
 *    unresolved alert per key, so a condition that lasts alerts once.
 *  - A condition that worsens while its alert is open (grade 2 -> 3, hold ->
 *    discontinue, NEWS2 medium -> high) upgrades that alert in place: level,
 *    grade, message and priority rise, and an acknowledged alert becomes
 *    active again (the new severity needs its own acknowledgement). It does
 *    not open a second alert. An improvement that does not clear the
 *    condition changes nothing (the alert keeps its worst level).
 *  - Resolution follows the condition's resume criterion, never the first
 *    normal value:
 *      decision      the engine's decision is back to give, at once when every
 *                    reason of the hold had a resume condition (the rules'
 *                    hold -> resume hysteresis already ran: S07); when some
 *                    reason had none (a consensus criterion: met or not at
 *                    each reading), like grade below, so that a value
 *                    hovering at a band edge does not raise and resolve the
 *                    alert at every reading. insufficient_data never
 *                    resolves it;
 *      data_missing  every watched code has a fresh value again;
 *      device_silent the device was heard from again (or left the bed);
 *      grade, news2  (no resume criterion in the rule set) the condition was
 *                    found clear on consecutive evaluations spanning at least
 *                    alerts.resolve_ms; an evaluation that finds it present,
 *                    or cannot tell (grade null, NEWS2 incomplete), restarts
 *                    the count.
 *  - Escalation: an alert still active (unacknowledged) escalate_ms after it
 *    became active, or after its last escalation, goes one priority step up
 *    (low -> medium -> high); a high alert is escalated once (escalated_at
 *    set, priority stays high: docs/api.md has no level above high).
 *  - Acknowledged alerts are never escalated and never re-raised; they stay
 *    until resolved. */
#ifndef WARDD_ALERTS_H
#define WARDD_ALERTS_H

#include "engine.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum alert_kind {
    ALERT_KIND_GRADE,
    ALERT_KIND_DECISION,
    ALERT_KIND_NEWS2,
    ALERT_KIND_DEVICE_SILENT,
    ALERT_KIND_DATA_MISSING,
    ALERT_KIND_DEVICE_CLOCK, /* a device's clock runs ahead or behind (drift.h) */
    ALERT_KIND__COUNT
} alert_kind;

typedef enum alert_state { ALERT_ACTIVE, ALERT_ACKNOWLEDGED, ALERT_RESOLVED } alert_state;

/* "grade", "decision", "news2", "device_silent", "data_missing", "device_clock". */
const char *alert_kind_name(alert_kind k);
/* The kind named s, or -1. */
int alert_kind_parse(const char *s);
/* The state named s, or -1. */
int alert_state_parse(const char *s);
/* "low", "medium", "high" -> RULES_PRIO_*, else RULES_PRIO_NONE. */
rules_prio alert_prio_parse(const char *s);
/* Whether a kind resolves as soon as its condition is absent (decision,
 * data_missing, device_silent) rather than after resolve_ms of clear
 * evaluations (grade, news2). */
bool alert_kind_immediate(alert_kind k);

#define ALERT_KEY_LEN  96
#define ALERT_MSG_LEN  256
#define ALERT_TERM_LEN 64

/* What one evaluation found about one condition. A condition of the scope
 * that is not listed was found absent (clear). */
typedef struct alert_cond {
    char key[ALERT_KEY_LEN];
    alert_kind kind;
    bool present;        /* false: the data cannot tell (unknown): neither raise nor clear */
    rules_prio priority; /* present only */
    int level;           /* severity within the kind: grade, decision action, NEWS2 priority */
    char term[ALERT_TERM_LEN]; /* grade alerts, else "" */
    int grade;                 /* grade alerts, else -1 */
    int64_t device_id;         /* device_silent and device_clock alerts, else 0 */
    bool confirm;              /* decision: some reason has no resume condition, so clearing must be
                                  confirmed over resolve_ms (grade, news2: always) */
    char message[ALERT_MSG_LEN];
} alert_cond;

/* An unresolved alert, as stored. */
typedef struct alert_open {
    int64_t id;
    char key[ALERT_KEY_LEN];
    alert_kind kind;
    alert_state state; /* ALERT_ACTIVE or ALERT_ACKNOWLEDGED */
    rules_prio priority;
    rules_prio base_priority;
    int level;
    int grade; /* -1 when none */
    int64_t activated_at;
    int64_t escalated_at; /* 0 when never escalated */
    /* Kept by the caller between evaluations (not stored): when the
     * condition was first found clear in the current run of clear
     * evaluations; 0 when it was not. alerts_reconcile() updates it. */
    int64_t clear_since;
    /* Also kept by the caller: whether clearing must be confirmed, from the
     * last evaluation that found the condition present (alert_cond.confirm). */
    bool confirm;
} alert_open;

typedef enum alert_op_kind {
    ALERT_OP_RAISE,    /* insert a new active alert for `cond` */
    ALERT_OP_UPGRADE,  /* alert `alert_id` worsened to `cond` */
    ALERT_OP_ESCALATE, /* alert `alert_id` unacknowledged too long */
    ALERT_OP_RESOLVE   /* alert `alert_id`'s resume criterion is met */
} alert_op_kind;

typedef struct alert_op {
    alert_op_kind op;
    int64_t alert_id;       /* UPGRADE, ESCALATE, RESOLVE */
    const alert_cond *cond; /* RAISE, UPGRADE: points into the caller's conditions */
    rules_prio priority;    /* RAISE, UPGRADE, ESCALATE: the alert's new priority */
    bool reactivate;        /* UPGRADE: the alert was acknowledged and becomes active */
    char resolution[128];   /* RESOLVE: why, one phrase */
} alert_op;

/* --- conditions of a patient ---------------------------------------------- */

typedef struct alerts_term {
    const char *id;    /* "fever" */
    const char *label; /* "Fever" */
    int grade;         /* -1 = null (cannot be graded) */
} alerts_term;

/* One evaluation of one patient (engine_result, summarised by clinical.c). */
typedef struct alerts_patient_input {
    int64_t patient_id;
    const alerts_term *terms;
    size_t n_terms;
    engine_action action;
    const char *reason;         /* text of the decision's top reason, NULL when none */
    bool reason_without_resume; /* some reason of a hold has no resume condition */
    bool news2_complete;
    int news2_score; /* the score when complete, else the partial score (a lower bound) */
    bool news2_single_3;
    /* Codes of alerts.missing_codes with no reading in the last
     * alerts.missing_ms (and admitted longer than that). */
    const char *missing[RULES_MAX_ALERT_CODES];
    size_t n_missing;
} alerts_patient_input;

/* Fills out[] with the patient's present and unknown conditions (at most
 * max; a patient has at most n_terms + 3). Returns the number written. */
size_t alerts_patient_conditions(const rules_alerts *cfg, const alerts_patient_input *in,
                                 alert_cond *out, size_t max);

/* --- conditions of a device ------------------------------------------------ */

typedef struct alerts_device_input {
    int64_t device_id;
    const char *serial;
    const char *bed;
    int64_t last_heard_ms; /* last reading, or when it was put on the bed if never heard */
} alerts_device_input;

/* Whether the device is silent at `now` (cfg->device_silent_ms); fills *out
 * when it is. */
bool alerts_device_condition(const rules_alerts *cfg, const alerts_device_input *d, int64_t now,
                             alert_cond *out);

/* --- transitions ----------------------------------------------------------- */

/* Compares one scope's conditions (a patient's, or every device's) with the
 * scope's unresolved alerts and appends the raises, upgrades and
 * resolutions to ops[] (at most max). Updates open[].clear_since. Returns
 * the number of ops written. */
size_t alerts_reconcile(const rules_alerts *cfg, const alert_cond *conds, size_t n_conds,
                        alert_open *open, size_t n_open, int64_t now, alert_op *ops, size_t max);

/* Appends an ESCALATE op for every active alert due (see above). */
size_t alerts_escalate(const rules_alerts *cfg, const alert_open *open, size_t n_open, int64_t now,
                       alert_op *ops, size_t max);

#endif
