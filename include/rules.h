/* rules: load and validate a clinical rule set from JSON (the rule language
 * of docs/rules.md, schema in schema/rules/rules.schema.json). Pure: no
 * HTTP, no SQL.
 *
 * A rule set is immutable once loaded. Loading never touches a rule set
 * already in use: rules_load_*() returns a new object or NULL plus the full
 * list of errors, and the caller swaps its pointer (so a bad file can never
 * replace a good one). Evaluations may share one rule set from any number of
 * threads; the caller keeps it alive until the last evaluation using it has
 * finished (rules_ref()/rules_unref() count references atomically for callers
 * that swap the active set while requests are in flight).
 *
 * The compiled structures below are public so that the engine (engine.c) can
 * walk them; everything else treats them as read-only. Observation codes are
 * resolved to obs catalogue ids (obs.h) at load time. */
#ifndef WARDD_RULES_H
#define WARDD_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tz.h"

/* --- patient-record keys a rule may read ---------------------------------- */

/* Pre-treatment baselines (policy 9 (docs/rules.md 9); docs/api.md POST /patients "baseline"). */
typedef enum rules_baseline {
    RULES_BL_WEIGHT_KG,
    RULES_BL_CREATININE_MG_DL,
    RULES_BL_BILIRUBIN_MG_DL,
    RULES_BL_AST_U_L,
    RULES_BL_ALT_U_L,
    RULES_BL_SBP_MM_HG,
    RULES_BL_STOOLS_PER_DAY,
    RULES_BL_COUNT
} rules_baseline;

/* Reference limits (policy 10 (docs/rules.md 9)); defaults in the rule file, the
 * patient's "reference_ranges" override them. */
typedef enum rules_limit {
    RULES_LIM_CREATININE_ULN,
    RULES_LIM_BILIRUBIN_ULN,
    RULES_LIM_AST_ULN,
    RULES_LIM_ALT_ULN,
    RULES_LIM_PLATELETS_LLN,
    RULES_LIM_POTASSIUM_LLN,
    RULES_LIM_POTASSIUM_ULN,
    RULES_LIM_PH_LLN,
    RULES_LIM_PH_ULN,
    RULES_LIM_COUNT
} rules_limit;

/* Other patient attributes. */
typedef enum rules_pattr { RULES_PAT_NEWS2_SCALE, RULES_PAT_COUNT } rules_pattr;

/* The one catalogue of the patient-record keys rules read: JSON key, label,
 * unit as shown, and the plausible range a value must lie in (inclusive;
 * wide enough for any adult on the ward, narrow enough to catch a unit
 * slip: a weight in lb, a creatinine in umol/L). The patient API validates
 * against it and GET /api/v1/catalogue serves it to the dashboard. */
typedef struct rules_key_info {
    const char *key;   /* "weight_kg", "creatinine_uln" */
    const char *label; /* "Weight", "Creatinine ULN" */
    const char *unit;  /* "kg", "mg/dL" */
    double min, max;
} rules_key_info;

extern const rules_key_info rules_baseline_keys[RULES_BL_COUNT];
extern const rules_key_info rules_limit_keys[RULES_LIM_COUNT];

/* Lower/upper limit pairs that must be ordered when both are on the record. */
#define RULES_LIMIT_PAIRS 2
extern const int rules_limit_pairs[RULES_LIMIT_PAIRS][2];

/* JSON key of each baseline / limit ("weight_kg", "creatinine_uln"). */
const char *rules_baseline_name(int key);
const char *rules_limit_name(int key);

/* --- compiled conditions ----------------------------------------------------- */

typedef enum rules_cmp { RULES_GT, RULES_GE, RULES_LT, RULES_LE, RULES_EQ, RULES_NE } rules_cmp;

typedef enum rules_opkind {
    RULES_OP_CONST,       /* a number */
    RULES_OP_LATEST,      /* latest value within the code's freshness window */
    RULES_OP_PREVIOUS,    /* the reading before the latest one (any age) */
    RULES_OP_LATEST_RATE, /* interval code: latest reading / hours since the one before */
    RULES_OP_BASELINE,    /* patient baseline */
    RULES_OP_LIMIT,       /* reference limit */
    RULES_OP_PATIENT,     /* patient attribute */
    RULES_OP_RATIO,       /* a / b */
    RULES_OP_PCT_CHANGE,  /* (a - b) / b * 100 */
    RULES_OP_DIFF,        /* a - b */
    RULES_OP_SUM,         /* window aggregates ... */
    RULES_OP_MIN,
    RULES_OP_MAX,
    RULES_OP_COUNT,
    RULES_OP_RATE,           /* window sum / window hours */
    RULES_OP_RATE_MAX,       /* highest per-reading rate in the window (interval codes) */
    RULES_OP_RATE_MIN,       /* lowest per-reading rate in the window (interval codes) */
    RULES_OP_RUN_HOURS,      /* length of the run of readings meeting `pred` that ends
                                with the latest reading: last - first, hours */
    RULES_OP_LASTING_HOURS,  /* how long `pred` has held continuously up to T, hours */
    RULES_OP_PEAK_SINCE_HOLD /* resume only: highest value since the hold began
                                (including the value current at its onset) */
} rules_opkind;

struct rules_cond;
struct rules_deps;

typedef struct rules_operand {
    rules_opkind kind;
    double value;          /* RULES_OP_CONST */
    int code;              /* obs code id for reading operands, else -1 */
    int key;               /* baseline / limit / attribute key */
    int64_t window_ms;     /* window aggregates: window length */
    int64_t offset_ms;     /* window aggregates: window ends at T - offset */
    bool with_start_value; /* min/max: include the value in force at the window start */
    bool has_default;      /* use `def` (or `def_text`) when there is no value */
    double def;
    struct rules_operand *a, *b;  /* ratio, pct_change, diff */
    struct rules_cond *pred;      /* run_hours, lasting_hours */
    struct rules_deps *pred_deps; /* lasting_hours: codes `pred` reads */
} rules_operand;

typedef enum rules_condkind {
    RULES_C_ALL,
    RULES_C_ANY,
    RULES_C_NOT,
    RULES_C_AT_LEAST,
    RULES_C_CMP,  /* operand compared with one or more bounds, all must hold */
    RULES_C_IN,   /* categorical operand is one of a set of values */
    RULES_C_FLAG, /* clinical flag is true at T (never recorded = false) */
    RULES_C_REF   /* a named condition of the rule set */
} rules_condkind;

#define RULES_MAX_BOUNDS 4

typedef struct rules_bound {
    rules_cmp op;
    rules_operand *rhs;
} rules_bound;

typedef struct rules_cond {
    rules_condkind kind;
    struct rules_cond **kids; /* all / any / not / at_least */
    size_t n_kids;
    int at_least;
    rules_operand *x; /* cmp / in */
    rules_bound bounds[RULES_MAX_BOUNDS];
    size_t n_bounds;
    int *cats; /* in: categorical value indexes (obs_code.values) */
    size_t n_cats;
    int code;        /* flag: obs code id */
    bool since_hold; /* flag: must have been recorded true at or after the hold onset */
    int ref;         /* ref: index into rules_set.conds */
} rules_cond;

/* The set of observation codes an item reads (for change points and the
 * incremental update). */
typedef struct rules_deps {
    int *codes;
    size_t n;
} rules_deps;

/* --- items ---------------------------------------------------------------------- */

typedef enum rules_class {
    RULES_CLASS_LABEL,
    RULES_CLASS_RELATIVE,
    RULES_CLASS_ABSOLUTE
} rules_class;

typedef enum rules_action {
    RULES_ACT_NONE, /* consensus criteria: the consensus policy decides */
    RULES_ACT_HOLD,
    RULES_ACT_DISCONTINUE,       /* permanent, sticky */
    RULES_ACT_DISCONTINUE_COURSE /* sticky for the course */
} rules_action;

typedef struct rules_named {
    const char *name;
    const char *text;
    rules_cond *when;
    rules_deps deps;
} rules_named;

typedef struct rules_rule {
    const char *id;
    const char *text;
    const char *source;
    const char *resume_text; /* NULL when no resume */
    rules_class klass;
    rules_action action;
    rules_cond *when;
    rules_cond *resume; /* hold with hysteresis: held until `resume` is true */
    rules_deps deps;    /* codes of `when` and `resume` */
} rules_rule;

typedef struct rules_level {
    int level;
    const char *text;
    rules_cond *when;
} rules_level;

/* A graded scale: the level is the highest level whose condition is true.
 * strict: if a level above that is unknown, the whole scale is unknown
 * (CTCAE terms); otherwise unknown levels are ignored (KDIGO). */
typedef struct rules_scale {
    rules_level *levels;
    size_t n;
    bool strict;
    rules_deps deps;
} rules_scale;

typedef struct rules_term {
    const char *id;    /* "fever" */
    const char *label; /* "Fever" */
    const char *source;
    int clinician_code;  /* obs id of "ctcae.<term>", -1 when absent from the catalogue */
    rules_scale grades;  /* numeric grading (may be empty: clinician-only term) */
    rules_scale suggest; /* proxy grades, shown as suggestions, never decide */
} rules_term;

typedef struct rules_news2_param {
    const char *name;   /* component name in the output ("respiration_rate") */
    int code;           /* obs code whose latest value is shown, -1 for none */
    rules_cond *guard;  /* the parameter applies only when true (scale 1 / 2); may be NULL */
    rules_level *bands; /* level = points */
    size_t n_bands;
    rules_deps deps;
} rules_news2_param;

typedef struct rules_cycle {
    int number;
    int first_day;
    int last_day;
} rules_cycle;

typedef enum rules_policy { RULES_POLICY_S4B, RULES_POLICY_S5 } rules_policy;

/* Alert priorities, ordered (docs/api.md "Alerts": low < medium < high). */
typedef enum rules_prio {
    RULES_PRIO_NONE = 0, /* no alert */
    RULES_PRIO_LOW,
    RULES_PRIO_MEDIUM,
    RULES_PRIO_HIGH
} rules_prio;

/* "low", "medium", "high" ("none" for RULES_PRIO_NONE). */
const char *rules_prio_name(rules_prio p);

#define RULES_MAX_ALERT_CODES 8

/* Alert thresholds and timings: the rule file's optional "alerts" section
 * (docs/rules.md 7.8). Every member has a default, used when the section
 * or the member is absent, so each field is always set. */
typedef struct rules_alerts {
    int grade_medium_at; /* a term at this grade or above: medium (default 2) */
    int grade_high_at;   /* ... at this grade or above: high (default 3) */
    bool decision_hold;  /* a hold decision raises an alert (default true) */
    bool decision_discontinue;
    rules_prio decision_priority; /* default high */
    int news2_medium_at;          /* aggregate score: medium (default: news2.medium_at) */
    int news2_high_at;            /* ... high (default: news2.high_at) */
    rules_prio news2_single_3;    /* one parameter scoring 3 (default low; none = no alert) */
    int64_t device_silent_ms;     /* a bed's device silent this long (default 5 min) */
    rules_prio device_priority;   /* default medium */
    int missing_codes[RULES_MAX_ALERT_CODES]; /* vitals whose absence alerts (default:
                                                 required.codes) */
    size_t n_missing;
    int64_t missing_ms;          /* ... when none for this long (default: required.hours) */
    rules_prio missing_priority; /* default medium */
    int64_t escalate_ms;         /* unacknowledged this long: one step up (default 10 min) */
    int64_t resolve_ms;          /* a condition without a resume criterion must stay clear
                                    this long, over consecutive evaluations (default 15 min) */
    int64_t evaluate_ms;         /* the timer's period (default 30 s) */
    const char *source;          /* NULL when the section is absent */
} rules_alerts;

#define RULES_MAX_WARD_TIMES 8
#define RULES_MAX_CYCLES     4

typedef struct rules_set {
    char *file; /* base name of the file it was loaded from, for messages */
    const char *name;
    int version;
    const char *description;
    const char *ctcae_version;

    size_t n_codes;      /* obs_code_count() at load */
    int64_t *fresh_ms;   /* per obs code: freshness window, 0 = holds until changed */
    bool *interval_code; /* per obs code: reading is a volume since the previous one */

    double limit_default[RULES_LIM_COUNT];

    int *required; /* codes that must be fresh or the action is insufficient_data */
    size_t n_required;
    int64_t required_ms;
    const char *required_id;
    const char *required_source;

    rules_named *conds;
    size_t n_conds;

    rules_rule *rules;
    size_t n_rules;

    rules_policy policy;
    int consensus_relative_count; /* ">= N relative" escalates like an absolute (3) */
    const char *consensus_source;
    const char *consensus_id; /* reason id of the policy outcome ("CWG-S4b") */
    /* The policy outcome's reason text, naming consensus_relative_count. */
    char consensus_text[160];

    rules_term *terms;
    size_t n_terms;

    rules_news2_param *news2;
    size_t n_news2;
    int news2_medium;
    int news2_high;
    const char *news2_source;

    rules_scale kdigo;
    int kdigo_weight_key; /* baseline key used for mL/kg/h */
    const char *kdigo_source;

    /* dose schedule */
    /* The ward's IANA zone: schedule.time_zone, or the server's default
     * (serve --time-zone, else UTC) when the set names none. Every
     * ward-local time (dose slots, day numbers) goes through it. */
    const char *time_zone;
    const tz_zone *zone;
    int ward_minutes[RULES_MAX_WARD_TIMES]; /* minutes after local midnight, ascending */
    size_t n_ward_times;
    int interval_hours;
    rules_cycle cycles[RULES_MAX_CYCLES];
    size_t n_cycles;
    int max_per_cycle;
    int max_per_course;
    const char *schedule_source;
    /* A new course starts no earlier than this many days after the previous
     * course's discharge (schedule.courses; 49: the legacy label's 7 weeks). */
    int course_interval_days;
    const char *course_source;

    rules_alerts alerts;

    json_t *doc; /* the source document (kept for GET /api/v1/rules) */

    /* private */
    void *arena;
    int refs;
} rules_set;

/* One problem found while loading: "il2-default.json: rule L24-RS-1: field
 * 'resume.when': expected an object". */
typedef struct rules_error {
    char text[400];
} rules_error;

typedef struct rules_errors {
    rules_error *items;
    size_t n;
    size_t cap;
} rules_errors;

void rules_errors_free(rules_errors *errs);

/* Compiles a rule set from a parsed document. `file` names it in messages
 * (its base name is used). Returns a new rule set (refcount 1) or NULL with
 * every error appended to *errs (which may be NULL). Never partially applies. */
rules_set *rules_load_json(const json_t *doc, const char *file, rules_errors *errs);

/* Reads and compiles a file. Same contract as rules_load_json(). */
rules_set *rules_load_file(const char *path, rules_errors *errs);

/* Reference counting (atomic). rules_unref() frees at zero; NULL is ignored. */
rules_set *rules_ref(rules_set *rs);
void rules_unref(rules_set *rs);

/* `wardd rules check FILE`: prints every error, one a line, or
 * "ok: N rules, M terms" to `out`. Returns 0 when valid, 1 otherwise. */
int rules_check_file(const char *path, FILE *out);

/* Index of a term by id, or -1. */
int rules_term_index(const rules_set *rs, const char *id);

#endif
