/* obs: the observation catalogue and the validation of one reading item
 * (contract in include/obs.h; the codes are the API's observation codes, docs/api.md
 * "Readings"; the CTCAE v5.0 terms are those of docs/rules.md section 7.4).
 *
 * The catalogue is one static table in display order (vitals, fluids, labs,
 * categorical, flags, grades). obs_code_lookup() runs once per reading, so
 * a sorted index of the table is built once (pthread_once) and searched with
 * bsearch: about 7 string comparisons for ~75 codes. */
#include "obs.h"
#include "timefmt.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A catalogue row: the public description plus what only validation needs.
 * `pub` is the first member, so a `const obs_code *` handed out by this
 * module converts back to its row. */
typedef struct obs_entry {
    obs_code pub;
    int decimals; /* a value converted from another unit is rounded to this many
                     decimals (see "Rounding of converted values" below) */
    bool integer; /* the value must be a whole number */
} obs_entry;

/* Rounding of converted values. A conversion factor is not exact in binary
 * (5/9, 1/88.42), so a converted value carries noise in its last bits:
 * 102.2 [degF] would be 38.99999999999999 Cel and fail a ">= 39.0" rule.
 * Converted values are therefore rounded to a step finer than the input
 * unit's own resolution, so rounding never moves a value across a printed
 * boundary but removes the noise:
 *   temp        0.01 Cel      (0.1 [degF] = 0.056 Cel)
 *   weight      0.01 kg       (0.1 [lb_av] = 0.045 kg)
 *   creatinine  0.001 mg/dL   (1 umol/L = 0.011 mg/dL)
 *   bilirubin   0.001 mg/dL   (1 umol/L = 0.058 mg/dL)
 *   phenylephrine 0.001 ug/kg/min (ug/min by a baseline weight)
 * Values sent in the canonical unit are stored exactly as sent. */

static const obs_unit_alt temp_alts[] = {
    /* Cel = ([degF] - 32) * 5/9 */
    {"[degF]", 5.0 / 9.0, -160.0 / 9.0, false},
    {NULL, 0, 0, false},
};
static const obs_unit_alt weight_alts[] = {
    /* the international avoirdupois pound is exactly 0.45359237 kg */
    {"[lb_av]", 0.45359237, 0, false},
    {NULL, 0, 0, false},
};
static const obs_unit_alt creatinine_alts[] = {
    /* creatinine molar mass 113.12 g/mol: 1 mg/dL = 88.42 umol/L */
    {"umol/L", 1.0 / 88.42, 0, false},
    {NULL, 0, 0, false},
};
static const obs_unit_alt bilirubin_alts[] = {
    /* bilirubin molar mass 584.66 g/mol: 1 mg/dL = 17.1 umol/L */
    {"umol/L", 1.0 / 17.1, 0, false},
    {NULL, 0, 0, false},
};
static const obs_unit_alt phenylephrine_alts[] = {
    /* a pump rate in ug/min, divided by the patient's baseline weight */
    {"ug/min", 1.0, 0, true},
    {NULL, 0, 0, false},
};

static const char *const rhythm_values[] = {"sinus", "af", "svt", "vt", "brady", "other", NULL};
/* ACVPU: Alert, new Confusion, responds to Voice, to Pain, Unresponsive (NEWS2). */
static const char *const consciousness_values[] = {"A", "C", "V", "P", "U", NULL};
static const char *const fobt_values[] = {"positive", "negative", NULL};

#define NUM(c, u, l, lab, lo, hi, a, dec, whole)                                                   \
    {                                                                                              \
        {.code = (c),                                                                              \
         .kind = OBS_NUMERIC,                                                                      \
         .unit = (u),                                                                              \
         .loinc = (l),                                                                             \
         .label = (lab),                                                                           \
         .min = (lo),                                                                              \
         .max = (hi),                                                                              \
         .alts = (a)},                                                                             \
            (dec), (whole)                                                                         \
    }
#define CAT(c, lab, vals)                                                                          \
    {                                                                                              \
        {.code = (c), .kind = OBS_CATEGORICAL, .label = (lab), .values = (vals)}, 0, true          \
    }
#define FLAG(c, lab)                                                                               \
    {                                                                                              \
        {.code = (c), .kind = OBS_FLAG, .label = (lab), .min = 0, .max = 1}, 0, true               \
    }
#define GRADE(term, lab)                                                                           \
    {                                                                                              \
        {.code = "ctcae." term,                                                                    \
         .kind = OBS_GRADE,                                                                        \
         .unit = "{grade}",                                                                        \
         .label = lab " (CTCAE grade)",                                                            \
         .min = 0,                                                                                 \
         .max = 5},                                                                                \
            0, true                                                                                \
    }

/* Plausible ranges are wide on purpose: they catch unit mix-ups, typing
 * slips and sensor faults, never a real if extreme patient. Each is
 * inclusive, in the canonical unit. `id` is filled in by catalogue_init(). */
static obs_entry catalogue[] = {
    /* --- vital signs ----------------------------------------------------- */
    /* 0 = asystole / lead off; > 300 /min is not a human ventricular rate */
    NUM("hr", "/min", "8867-4", "Heart rate", 0, 300, NULL, 0, false),
    /* 0 = apnoea; > 80 /min exceeds even neonatal rates */
    NUM("rr", "/min", "9279-1", "Respiratory rate", 0, 80, NULL, 0, false),
    /* a saturation is a percentage */
    NUM("spo2", "%", "59408-5", "Oxygen saturation (pulse oximetry)", 0, 100, NULL, 0, false),
    /* 25 Cel: severe accidental hypothermia; 45 Cel: beyond survivable fever */
    NUM("temp", "Cel", "8310-5", "Body temperature", 25, 45, temp_alts, 2, false),
    /* 0 = no pressure (arrest); 300 mm[Hg] is beyond any cuff reading */
    NUM("sbp", "mm[Hg]", "8480-6", "Systolic blood pressure", 0, 300, NULL, 0, false),
    NUM("dbp", "mm[Hg]", "8462-4", "Diastolic blood pressure", 0, 250, NULL, 0, false),
    NUM("map", "mm[Hg]", "8478-0", "Mean arterial pressure", 0, 250, NULL, 0, false),
    /* 0.5 kg: smallest premature neonate; 400 kg: beyond bariatric scales */
    NUM("weight", "kg", "29463-7", "Body weight", 0.5, 400, weight_alts, 2, false),
    /* --- fluids and support ---------------------------------------------- */
    /* volume since the previous reading: 5 L is more than a shift's output */
    NUM("urine", "mL", "9187-6", "Urine volume", 0, 5000, NULL, 0, false),
    /* 0 = room air; 60 L/min is the ceiling of high-flow devices */
    NUM("o2_flow", "L/min", "3151-8", "Oxygen flow", 0, 60, NULL, 0, false),
    /* 21 % is room air; 100 % pure oxygen */
    NUM("fio2", "%", "3150-0", "Inhaled oxygen fraction", 21, 100, NULL, 0, false),
    /* label maximum is ~2 ug/kg/min; 10 leaves room for a bolus-rate entry */
    NUM("phenylephrine", "ug/kg/min", NULL, "Phenylephrine rate", 0, 10, phenylephrine_alts, 3,
        false),
    /* consecutive ventricular beats in the longest run; a count */
    NUM("vt_beats", "{beats}", NULL, "Longest ventricular run", 0, 1000, NULL, 0, true),
    /* stool volume since the previous entry: 10 L is beyond cholera-level loss */
    NUM("diarrhea_ml", "mL", NULL, "Stool volume", 0, 10000, NULL, 0, false),
    /* stools since the previous entry; a count */
    NUM("stool_count", "{stools}", NULL, "Stool count", 0, 50, NULL, 0, true),
    /* --- laboratory -------------------------------------------------------- */
    /* 30 mg/dL (2650 umol/L) exceeds reported end-stage values */
    NUM("creatinine", "mg/dL", "2160-0", "Serum creatinine", 0, 30, creatinine_alts, 3, false),
    /* 50 mg/dL (855 umol/L) exceeds the worst cholestasis */
    NUM("bilirubin", "mg/dL", "1975-2", "Total bilirubin", 0, 50, bilirubin_alts, 3, false),
    /* fulminant hepatitis reaches ~10000 U/L; 20000 leaves margin */
    NUM("ast", "U/L", "1920-8", "Aspartate aminotransferase (AST)", 0, 20000, NULL, 0, false),
    NUM("alt", "U/L", "1742-6", "Alanine aminotransferase (ALT)", 0, 20000, NULL, 0, false),
    /* 10*3/uL; 2000 covers extreme thrombocytosis */
    NUM("platelets", "10*3/uL", "777-3", "Platelet count", 0, 2000, NULL, 0, false),
    /* 1 and 10 mmol/L are beyond what the heart survives */
    NUM("potassium", "mmol/L", "2823-3", "Serum potassium", 1, 10, NULL, 0, false),
    NUM("bicarbonate", "mmol/L", "1963-8", "Serum bicarbonate", 0, 60, NULL, 0, false),
    /* 6.5 and 8.0 bracket every survivable arterial pH */
    NUM("ph", "[pH]", "2744-1", "Arterial pH", 6.5, 8.0, NULL, 0, false),
    /* 40 mmol/L exceeds the highest reported survivable lactate */
    NUM("lactate", "mmol/L", "2524-7", "Lactate", 0, 40, NULL, 0, false),
    /* --- categorical ------------------------------------------------------- */
    CAT("rhythm", "Cardiac rhythm", rhythm_values),
    CAT("consciousness", "Level of consciousness (ACVPU)", consciousness_values),
    CAT("fobt", "Faecal occult blood (FIT/FOBT)", fobt_values),
    /* --- clinical flags ---------------------------------------------------- */
    FLAG("intubated", "Intubated"),
    FLAG("dialysis", "On dialysis"),
    FLAG("coma", "Coma"),
    FLAG("toxic_psychosis", "Toxic psychosis"),
    FLAG("seizures_repetitive", "Repetitive or difficult-to-control seizures"),
    FLAG("ecg_ischemia", "Ischemic ECG change"),
    FLAG("chest_pain", "Chest pain"),
    FLAG("cardiac_tamponade", "Cardiac tamponade"),
    FLAG("arrhythmia_uncontrolled", "Uncontrolled arrhythmia"),
    FLAG("cardiac_enzymes_elevated", "Cardiac enzymes elevated"),
    FLAG("bowel_ischemia", "Bowel ischemia or perforation"),
    FLAG("gi_bleed_surgery", "GI bleeding requiring surgery"),
    FLAG("sepsis_unstable", "Sepsis, clinically unstable"),
    FLAG("infection", "Infection"),
    FLAG("hepatic_failure", "Hepatic failure"),
    FLAG("bullous_dermatitis", "Bullous dermatitis"),
    FLAG("volume_overload_severe", "Severe volume overload"),
    FLAG("fluid_electrolytes_stable", "Fluid and electrolyte status stable"),
    FLAG("hallucinations", "Hallucinations"),
    /* --- clinician CTCAE v5.0 grades (docs/rules.md section 7.4) ------- */
    GRADE("fever", "Fever"),
    GRADE("hypotension", "Hypotension"),
    GRADE("hypertension", "Hypertension"),
    GRADE("sinus_tachycardia", "Sinus tachycardia"),
    GRADE("atrial_fibrillation", "Atrial fibrillation"),
    GRADE("supraventricular_tachycardia", "Supraventricular tachycardia"),
    GRADE("ventricular_tachycardia", "Ventricular tachycardia"),
    GRADE("hypoxia", "Hypoxia"),
    GRADE("creatinine_increased", "Creatinine increased"),
    GRADE("acute_kidney_injury", "Acute kidney injury"),
    GRADE("blood_bilirubin_increased", "Blood bilirubin increased"),
    GRADE("aspartate_aminotransferase_increased", "Aspartate aminotransferase increased"),
    GRADE("alanine_aminotransferase_increased", "Alanine aminotransferase increased"),
    GRADE("platelet_count_decreased", "Platelet count decreased"),
    GRADE("weight_gain", "Weight gain"),
    GRADE("edema_limbs", "Edema limbs"),
    GRADE("capillary_leak_syndrome", "Capillary leak syndrome"),
    GRADE("confusion", "Confusion"),
    GRADE("somnolence", "Somnolence"),
    GRADE("depressed_level_of_consciousness", "Depressed level of consciousness"),
    GRADE("hypokalemia", "Hypokalemia"),
    GRADE("hyperkalemia", "Hyperkalemia"),
    GRADE("acidosis", "Acidosis"),
    GRADE("diarrhea", "Diarrhea"),
    GRADE("nausea", "Nausea"),
    GRADE("vomiting", "Vomiting"),
    GRADE("chills", "Chills"),
    GRADE("urine_output_decreased", "Urine output decreased"),
};

#define CATALOGUE_N (sizeof catalogue / sizeof catalogue[0])

/* The catalogue sorted by code (strcmp order), for bsearch. */
static const obs_entry *by_code[CATALOGUE_N];
static pthread_once_t catalogue_once = PTHREAD_ONCE_INIT;

static int compare_entries(const void *a, const void *b)
{
    const obs_entry *const *x = a;
    const obs_entry *const *y = b;
    return strcmp((*x)->pub.code, (*y)->pub.code);
}

static int compare_key(const void *key, const void *elem)
{
    const obs_entry *const *e = elem;
    return strcmp(key, (*e)->pub.code);
}

/* Numbers the rows, sets a categorical code's range to its value indexes,
 * and builds the sorted index. Runs once, before any accessor returns. */
static void catalogue_init(void)
{
    for (size_t i = 0; i < CATALOGUE_N; i++) {
        obs_code *c = &catalogue[i].pub;
        c->id = (int)i;
        if (c->kind == OBS_CATEGORICAL) {
            size_t n = 0;
            while (c->values[n] != NULL)
                n++;
            c->min = 0;
            c->max = (double)(n - 1);
        }
        by_code[i] = &catalogue[i];
    }
    qsort(by_code, CATALOGUE_N, sizeof by_code[0], compare_entries);
}

static void catalogue_ready(void)
{
    pthread_once(&catalogue_once, catalogue_init);
}

/* Registered grade codes (obs_grade_register). A slot is written under
 * extra_mu before n_extra is released past it, and never changes after:
 * readers load n_extra (acquire) and read the slots below it unlocked. */
typedef struct extra_grade {
    obs_entry e;
    char code[sizeof "ctcae." + OBS_TERM_MAX];
    char label[OBS_TERM_MAX + 32];
} extra_grade;

static extra_grade extra[OBS_EXTRA_GRADES];
static atomic_size_t n_extra;
static pthread_mutex_t extra_mu = PTHREAD_MUTEX_INITIALIZER;

size_t obs_code_count(void)
{
    return CATALOGUE_N + atomic_load_explicit(&n_extra, memory_order_acquire);
}

const obs_code *obs_code_by_id(int id)
{
    if (id < 0)
        return NULL;
    catalogue_ready();
    if ((size_t)id < CATALOGUE_N)
        return &catalogue[id].pub;
    if ((size_t)id - CATALOGUE_N < atomic_load_explicit(&n_extra, memory_order_acquire))
        return &extra[(size_t)id - CATALOGUE_N].e.pub;
    return NULL;
}

const obs_code *obs_code_lookup(const char *code)
{
    if (code == NULL)
        return NULL;
    catalogue_ready();
    const obs_entry *const *hit =
        bsearch(code, by_code, CATALOGUE_N, sizeof by_code[0], compare_key);
    if (hit != NULL)
        return &(*hit)->pub;
    size_t n = atomic_load_explicit(&n_extra, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(extra[i].code, code) == 0)
            return &extra[i].e.pub;
    return NULL;
}

static bool term_name_ok(const char *term)
{
    size_t n = term != NULL ? strlen(term) : 0;

    if (n == 0 || n > OBS_TERM_MAX)
        return false;
    for (const char *s = term; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

const obs_code *obs_grade_register(const char *term, const char *label)
{
    char code[sizeof "ctcae." + OBS_TERM_MAX];
    const obs_code *c;

    if (!term_name_ok(term))
        return NULL;
    snprintf(code, sizeof code, "ctcae.%s", term);
    pthread_mutex_lock(&extra_mu);
    c = obs_code_lookup(code);
    if (c == NULL) {
        size_t n = atomic_load_explicit(&n_extra, memory_order_relaxed);
        if (n < OBS_EXTRA_GRADES) {
            extra_grade *x = &extra[n];
            snprintf(x->code, sizeof x->code, "%s", code);
            snprintf(x->label, sizeof x->label, "%.*s (CTCAE grade)", OBS_TERM_MAX,
                     label != NULL ? label : term);
            x->e = (obs_entry){{.id = (int)(CATALOGUE_N + n),
                                .code = x->code,
                                .kind = OBS_GRADE,
                                .unit = "{grade}",
                                .label = x->label,
                                .min = 0,
                                .max = 5},
                               0,
                               true};
            atomic_store_explicit(&n_extra, n + 1, memory_order_release);
            c = &x->e.pub;
        }
    }
    pthread_mutex_unlock(&extra_mu);
    return c != NULL && c->kind == OBS_GRADE ? c : NULL;
}

/* ---------------------------------------------------------------------- */
/* Validation of one reading                                               */

static const char *const known_fields[] = {"id", "code", "value", "unit", "time"};

__attribute__((format(printf, 3, 4))) static int fail(obs_error *err, const char *code,
                                                      const char *fmt, ...)
{
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A number for a message, in the shortest form that reads back as the same
 * double: "102.2", not "102.20000000000000284"; but 1000.0000000000001 is
 * not shown as "1000". */
static const char *num_text(double v, char buf[32])
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buf, 32, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* "a string", "a number", ... for "got ..." in messages. */
static const char *json_kind_text(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown value";
}

static bool is_whole(double v)
{
    return v == floor(v);
}

/* Rounds v to `decimals` places. Dividing an integral double by a power of
 * ten gives the double nearest the decimal value, so 3900.0 / 100 is the
 * same double as the literal 39.0. Huge values are left alone (the range
 * check rejects them). */
static double round_decimals(double v, int decimals)
{
    if (decimals <= 0 || !(fabs(v) < 1e12))
        return v;
    double p = 1;
    for (int i = 0; i < decimals; i++)
        p *= 10;
    return round(v * p) / p;
}

static int check_id(const json_t *id, obs_reading *out, obs_error *err)
{
    static const char rule[] = "id must be a string of 1-64 printable ASCII characters without "
                               "spaces";
    if (!json_is_string(id))
        return fail(err, "invalid_id", "%s, got %s", rule, json_kind_text(id));
    const char *s = json_string_value(id);
    size_t n = json_string_length(id);
    if (n < 1 || n > OBS_ID_MAX)
        return fail(err, "invalid_id", "%s, got %zu characters", rule, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e)
            return fail(err, "invalid_id", "%s; character %zu is not", rule, i + 1);
    }
    memcpy(out->id, s, n);
    out->id[n] = '\0';
    return 0;
}

/* The listed units of a numeric code, "Cel or [degF]", for messages. */
static void units_text(const obs_code *c, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s", c->unit);
    for (const obs_unit_alt *a = c->alts; a != NULL && a->unit != NULL && used < len; a++) {
        const char *sep = a[1].unit == NULL ? " or " : ", ";
        used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, a->unit);
    }
}

/* Resolves `unit` (NULL = absent) for code c: *alt becomes the alternative
 * unit to convert from, or NULL for the canonical unit. */
static int check_unit(const obs_code *c, const json_t *unit, const obs_unit_alt **alt,
                      obs_error *err)
{
    *alt = NULL;
    if (unit == NULL || json_is_null(unit))
        return 0;
    if (c->kind == OBS_CATEGORICAL || c->kind == OBS_FLAG) {
        if (json_is_string(unit))
            return fail(err, "invalid_unit", "%s takes no unit, got \"%.40s\"", c->code,
                        json_string_value(unit));
        return fail(err, "invalid_unit", "%s takes no unit, got %s", c->code, json_kind_text(unit));
    }
    if (!json_is_string(unit))
        return fail(err, "invalid_unit", "unit must be a string such as \"%s\", got %s", c->unit,
                    json_kind_text(unit));
    const char *u = json_string_value(unit);
    if (strcmp(u, c->unit) == 0)
        return 0;
    for (const obs_unit_alt *a = c->alts; a != NULL && a->unit != NULL; a++) {
        if (strcmp(u, a->unit) == 0) {
            *alt = a;
            return 0;
        }
    }
    char accepted[80];
    units_text(c, accepted, sizeof accepted);
    return fail(err, "invalid_unit", "unit \"%.40s\" is not accepted for %s; use %s", u, c->code,
                accepted);
}

static int check_numeric(const obs_entry *e, const json_t *value, const obs_unit_alt *alt,
                         const obs_context *ctx, obs_reading *out, obs_error *err)
{
    const obs_code *c = &e->pub;
    const char *unit = alt != NULL ? alt->unit : c->unit;
    char a[32], b[32], d[32], m[32];
    if (!json_is_number(value))
        return fail(err, "invalid_value", "%s must be a number in %s, got %s", c->code, unit,
                    json_kind_text(value));
    double v = json_number_value(value);
    if (!isfinite(v))
        return fail(err, "invalid_value", "%s must be a finite number", c->code);
    if (e->integer && !is_whole(v))
        return fail(err, "invalid_value", "%s must be a whole number, got %s", c->code,
                    num_text(v, a));
    double canonical = v;
    if (alt != NULL) {
        if (alt->per_weight && !(ctx->weight_kg > 0))
            return fail(err, "invalid_unit",
                        "%s in %s needs the patient's baseline weight, which is not recorded; "
                        "send %s or record the baseline weight",
                        c->code, alt->unit, c->unit);
        canonical = v * alt->scale + alt->offset;
        if (alt->per_weight)
            canonical /= ctx->weight_kg;
        canonical = round_decimals(canonical, e->decimals);
    }
    if (!isfinite(canonical) || canonical < c->min || canonical > c->max) {
        num_text(v, a);
        num_text(c->min, b);
        num_text(c->max, m);
        if (alt != NULL)
            return fail(err, "implausible_value",
                        "%s %s %s (%s %s) is outside the plausible range %s-%s %s", c->code, a,
                        alt->unit, num_text(canonical, d), c->unit, b, m, c->unit);
        return fail(err, "implausible_value", "%s %s %s is outside the plausible range %s-%s %s",
                    c->code, a, c->unit, b, m, c->unit);
    }
    out->value = canonical;
    return 0;
}

static int check_categorical(const obs_code *c, const json_t *value, obs_reading *out,
                             obs_error *err)
{
    char allowed[120];
    size_t used = 0;
    allowed[0] = '\0';
    for (size_t i = 0; c->values[i] != NULL && used < sizeof allowed; i++)
        used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "",
                                 c->values[i]);
    if (!json_is_string(value))
        return fail(err, "invalid_value", "%s must be one of %s; got %s", c->code, allowed,
                    json_kind_text(value));
    const char *s = json_string_value(value);
    for (size_t i = 0; c->values[i] != NULL; i++) {
        if (strcmp(s, c->values[i]) == 0) {
            out->value = (double)i;
            out->text = c->values[i];
            return 0;
        }
    }
    return fail(err, "invalid_value", "%s must be one of %s; got \"%.40s\"", c->code, allowed, s);
}

static int check_flag(const obs_code *c, const json_t *value, obs_reading *out, obs_error *err)
{
    if (!json_is_boolean(value))
        return fail(err, "invalid_value", "%s must be true or false, got %s", c->code,
                    json_kind_text(value));
    out->value = json_is_true(value) ? 1 : 0;
    return 0;
}

static int check_grade(const obs_code *c, const json_t *value, obs_reading *out, obs_error *err)
{
    char a[32];
    if (!json_is_number(value))
        return fail(err, "invalid_value", "%s must be a CTCAE grade 0-5, got %s", c->code,
                    json_kind_text(value));
    double v = json_number_value(value);
    if (!isfinite(v) || !is_whole(v) || v < c->min || v > c->max)
        return fail(err, "invalid_value", "%s must be a CTCAE grade 0-5, got %s", c->code,
                    num_text(v, a));
    out->value = v + 0.0; /* -0 -> 0 */
    return 0;
}

static int check_time(const json_t *time, const obs_context *ctx, obs_reading *out, obs_error *err)
{
    static const char example[] = "e.g. 2026-11-27T14:03:05Z";
    if (!json_is_string(time))
        return fail(err, "invalid_time", "time must be an RFC 3339 date-time string (%s), got %s",
                    example, json_kind_text(time));
    const char *s = json_string_value(time);
    int64_t ms;
    if (timefmt_parse(s, &ms) != 0)
        return fail(err, "invalid_time",
                    "time \"%.40s\" is not an RFC 3339 date-time with a zone (%s)", s, example);
    if (ms > ctx->now_ms + OBS_FUTURE_MS) {
        char now[TIMEFMT_LEN];
        return fail(err, "future_time",
                    "time %.40s is more than 5 minutes in the future (server time %s)", s,
                    timefmt_format(ctx->now_ms, now, sizeof now));
    }
    /* A device's buffer is not a way to file last week's readings: older
     * than the horizon needs a person (staff entries have no horizon). */
    if (ctx->max_age_ms > 0 && ms < ctx->now_ms - ctx->max_age_ms) {
        char now[TIMEFMT_LEN];
        return fail(err, "too_old",
                    "time %.40s is more than %lld minutes before the server time %s: a device's "
                    "readings older than the reading horizon are not filed; enter them as staff",
                    s, (long long)(ctx->max_age_ms / 60000),
                    timefmt_format(ctx->now_ms, now, sizeof now));
    }
    out->time_ms = ms;
    return 0;
}

int obs_parse_reading(const json_t *item, const obs_context *ctx, obs_reading *out, obs_error *err)
{
    obs_error scratch;
    if (err == NULL)
        err = &scratch;
    err->code = NULL;
    err->message[0] = '\0';
    if (ctx == NULL || out == NULL)
        return fail(err, "invalid_reading", "internal error: no context for the reading");
    if (!json_is_object(item))
        return fail(err, "invalid_reading", "a reading must be a JSON object, got %s",
                    item != NULL ? json_kind_text(item) : "nothing");
    memset(out, 0, sizeof *out);

    /* 1. Only known fields. (json_object_iter takes a non-const object but
     * does not modify it.) */
    for (void *it = json_object_iter((json_t *)item); it != NULL;
         it = json_object_iter_next((json_t *)item, it)) {
        const char *key = json_object_iter_key(it);
        bool known = false;
        for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
            known = known || strcmp(key, known_fields[i]) == 0;
        if (!known)
            return fail(err, "unknown_field",
                        "unknown field \"%.40s\"; a reading has id, code, value, unit and time",
                        key);
    }

    /* 2. Required fields, in the order a reader scans them. */
    const json_t *id = json_object_get(item, "id");
    const json_t *code = json_object_get(item, "code");
    const json_t *value = json_object_get(item, "value");
    const json_t *unit = json_object_get(item, "unit");
    const json_t *time = json_object_get(item, "time");
    if (ctx->require_id && id == NULL)
        return fail(err, "missing_field", "field \"id\" is required (the device's message id)");
    if (code == NULL)
        return fail(err, "missing_field", "field \"code\" is required");
    if (value == NULL)
        return fail(err, "missing_field", "field \"value\" is required");
    if (time == NULL)
        return fail(err, "missing_field", "field \"time\" is required");

    /* 3. Each field on its own. */
    if (id != NULL && check_id(id, out, err) != 0)
        return -1;
    if (!json_is_string(code))
        return fail(err, "unknown_code", "code must be a string naming an observation code, got %s",
                    json_kind_text(code));
    const obs_code *c = obs_code_lookup(json_string_value(code));
    if (c == NULL)
        return fail(err, "unknown_code", "unknown observation code \"%.40s\"",
                    json_string_value(code));
    const obs_entry *e = (const obs_entry *)c;
    out->code = c;

    const obs_unit_alt *alt;
    if (check_unit(c, unit, &alt, err) != 0)
        return -1;
    int rc = -1;
    switch (c->kind) {
    case OBS_NUMERIC:
        rc = check_numeric(e, value, alt, ctx, out, err);
        break;
    case OBS_CATEGORICAL:
        rc = check_categorical(c, value, out, err);
        break;
    case OBS_FLAG:
        rc = check_flag(c, value, out, err);
        break;
    case OBS_GRADE:
        if (ctx->grade_term_ok != NULL &&
            !ctx->grade_term_ok(ctx->grade_arg, c->code + sizeof "ctcae." - 1))
            return fail(err, "unknown_code", "%.60s: the active rule set does not grade this term",
                        c->code);
        rc = check_grade(c, value, out, err);
        break;
    }
    if (rc != 0)
        return -1;
    return check_time(time, ctx, out, err);
}

json_t *obs_value_json(const obs_code *code, double value, const char *text)
{
    if (code == NULL)
        return json_null();
    switch (code->kind) {
    case OBS_NUMERIC:
        if (!isfinite(value))
            return json_null();
        /* Whole values print as integers ("hr": 118, not 118.0). */
        if (is_whole(value) && fabs(value) < 9007199254740992.0) /* 2^53 */
            return json_integer((json_int_t)value);
        return json_real(value);
    case OBS_CATEGORICAL:
        if (text != NULL)
            return json_string(text);
        if (isfinite(value) && value >= 0 && value <= code->max && is_whole(value))
            return json_string(code->values[(size_t)value]);
        return json_null();
    case OBS_FLAG:
        return json_boolean(value != 0);
    case OBS_GRADE:
        if (!isfinite(value) || value < code->min || value > code->max)
            return json_null();
        return json_integer((json_int_t)value);
    }
    return json_null();
}
