/* obs: the catalogue of observation codes (docs/api.md "Readings") and
 * the validation of one reading item. Pure: no HTTP, no SQL.
 *
 * Every measured or observed fact about a patient is an observation with a
 * code. Four kinds:
 *   OBS_NUMERIC      a number in the code's canonical UCUM unit; other listed
 *                    units are converted on input; plausibility-checked.
 *   OBS_CATEGORICAL  one of a fixed set of strings (rhythm, consciousness, fobt).
 *   OBS_FLAG         a boolean clinical flag: true from its time until a later false.
 *   OBS_GRADE        a clinician-entered CTCAE grade "ctcae.<term>", integer 0-5.
 *
 * The catalogue is a static table; a code's `id` is its index, stable within
 * one build (never stored: the database stores the code text). */
#ifndef WARDD_OBS_H
#define WARDD_OBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest device message id accepted (bytes, printable ASCII). */
#define OBS_ID_MAX 64
/* How far in the future a client's time may lie (clock skew between a
 * device or workstation and the server): readings, doses, admissions and
 * transfers alike, 5 minutes (docs/api.md). The one definition. */
#define OBS_FUTURE_MS (5 * 60 * 1000)

typedef enum obs_kind { OBS_NUMERIC, OBS_CATEGORICAL, OBS_FLAG, OBS_GRADE } obs_kind;

/* Another accepted unit for a numeric code: canonical = value * scale + offset,
 * and, when per_weight is set, divided by the patient's baseline weight (kg).
 * A converted value is then rounded (temp and weight to 0.01, creatinine,
 * bilirubin and phenylephrine to 0.001 of the canonical unit) so that e.g.
 * 102.2 [degF] is exactly 39.0 Cel and 265.26 umol/L exactly 3.0 mg/dL.
 * Values sent in the canonical unit are kept as sent. */
typedef struct obs_unit_alt {
    const char *unit;
    double scale;
    double offset;
    bool per_weight;
} obs_unit_alt;

typedef struct obs_code {
    int id;           /* index in the catalogue */
    const char *code; /* "hr", "rhythm", "intubated", "ctcae.fever" */
    obs_kind kind;
    const char *unit;          /* canonical UCUM unit; NULL for categorical and flags,
                                  "{grade}" for CTCAE grades */
    const char *loinc;         /* LOINC code for FHIR output, NULL when none */
    const char *label;         /* human label, "Heart rate" */
    double min, max;           /* plausible range (inclusive, canonical unit);
                                  flags 0-1, grades 0-5, categorical 0..n-1 (index) */
    const obs_unit_alt *alts;  /* other accepted units, terminated by {NULL}; may be NULL */
    const char *const *values; /* categorical: allowed values, NULL-terminated */
} obs_code;

/* Number of codes in the catalogue; codes are obs_code_by_id(0..count-1). */
size_t obs_code_count(void);
/* The code with this id, or NULL when out of range. */
const obs_code *obs_code_by_id(int id);
/* The code named `code` (exact, case-sensitive), or NULL when unknown or
 * NULL. Binary search on a sorted index built once (pthread_once); safe from
 * any thread. Pointers stay valid for the life of the process. */
const obs_code *obs_code_lookup(const char *code);

/* Clinician-grade codes beyond the built-in CTCAE terms: a rule set that
 * grades a term of its own registers "ctcae.<term>" (lower case letters,
 * digits, '_', at most OBS_TERM_MAX bytes) before it is compiled, so
 * readings of it can be stored and read back. A registered code is never
 * removed (its id stays valid); obs_code_count() grows by one per new term,
 * up to OBS_EXTRA_GRADES. Returns the code (the existing one when already
 * known, built in or registered), or NULL when the name is invalid, names a
 * code of another kind, or the table is full. Thread-safe. */
#define OBS_EXTRA_GRADES 32
#define OBS_TERM_MAX     48
const obs_code *obs_grade_register(const char *term, const char *label);

/* One validated reading, in canonical form. */
typedef struct obs_reading {
    const obs_code *code;
    double value;            /* numeric: canonical unit; flag: 0 or 1; grade: 0-5;
                                categorical: index into code->values */
    const char *text;        /* categorical: the value (points into the catalogue); else NULL */
    int64_t time_ms;         /* UTC epoch ms */
    char id[OBS_ID_MAX + 1]; /* message id ("" when absent and not required) */
} obs_reading;

/* Why one item was rejected: a stable snake_case code and a sentence. */
typedef struct obs_error {
    const char *code; /* invalid_reading, unknown_field, missing_field, invalid_id,
                         unknown_code, invalid_unit, invalid_value, implausible_value,
                         invalid_time, future_time, too_old */
    char message[200];
} obs_error;

typedef struct obs_context {
    int64_t now_ms;     /* for the "at most 5 minutes in the future" check */
    double weight_kg;   /* baseline weight for per-weight units; <= 0 when unknown */
    bool require_id;    /* devices must send "id"; staff may omit it */
    int64_t max_age_ms; /* > 0: a time more than this before now_ms is too_old
                           (the device reading horizon); 0: no limit (staff) */
    /* Which clinician grades may be posted: grade_term_ok(grade_arg, term)
     * for "ctcae.<term>" (the caller passes the active rule set's graded
     * terms, clinical_grade_term_ok()); NULL accepts every grade code. A
     * rejected term is unknown_code. */
    bool (*grade_term_ok)(void *grade_arg, const char *term);
    void *grade_arg;
} obs_context;

/* Validates one item {"id", "code", "value", "unit", "time"} (unknown keys
 * rejected) and fills *out. Returns 0, or -1 with *err filled (err may be
 * NULL) and *out unspecified. Flags take JSON true/false; grades an integer
 * 0-5; categorical values a listed string (case-sensitive); numerics a JSON
 * number (integer or real) that, after conversion, lies within [min, max].
 * "Integer" means a whole value: 3 and 3.0 are both accepted (grades,
 * vt_beats, stool_count); 2.5 is invalid_value.
 *
 * "unit": absent or null means the canonical unit; a string must be the
 * canonical unit or a listed alternative (exact, case-sensitive UCUM);
 * categorical codes and flags take no unit (any string is invalid_unit);
 * grades accept "{grade}". A per-weight unit (phenylephrine in ug/min)
 * without ctx->weight_kg > 0 is invalid_unit.
 *
 * The first problem found is reported, in this order: not an object
 * (invalid_reading); unknown key (unknown_field); missing id when
 * ctx->require_id, then code, value, time (missing_field); a present id
 * that is not 1-OBS_ID_MAX printable ASCII without spaces (invalid_id, also
 * when not required); code not a known string (unknown_code); unit
 * (invalid_unit); value type or set (invalid_value); value range after
 * conversion (implausible_value); time not RFC 3339 with a zone
 * (invalid_time); time > ctx->now_ms + OBS_FUTURE_MS (future_time; exactly
 * 5:00 ahead is accepted); time < ctx->now_ms - ctx->max_age_ms when
 * max_age_ms > 0 (too_old; exactly max_age_ms old is accepted). Messages are English sentences that
 * name the field and the value, e.g. "hr 350 /min is outside the plausible range 0-300 /min". */
int obs_parse_reading(const json_t *item, const obs_context *ctx, obs_reading *out, obs_error *err);

/* The value of a reading as JSON: number, string, or true/false. New reference.
 * Numerics with a whole value (|v| < 2^53) and grades are JSON integers
 * ("hr": 118, not 118.0); other numerics are reals (dump them with
 * JSON_REAL_PRECISION(15) or 39.4 prints as 39.399999999999999).
 * Categorical: `text` if given, else code->values[value]. Non-finite or
 * out-of-set values, or a NULL code, give JSON null. */
json_t *obs_value_json(const obs_code *code, double value, const char *text);

#endif
