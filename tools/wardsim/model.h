/* model: the physiology of one simulated high-dose IL-2 patient. Pure: no
 * I/O, no clock, no global state; every value is a function of the seed,
 * the bed index and the simulated time, so a run is reproducible for a
 * --seed and the unit tests (tests/unit/test_wardsim.c) can check it.
 *
 * Simulated time `t` is in hours since 00:00 on day 1 of the course (ward
 * time). The regimen is the label's (docs/clinical-policy.md "The regimen",
 * S1 Table 1): 600,000 IU/kg every 8 hours at 00:00, 08:00 and 16:00;
 * cycle 1 is days 1-5 with at most 14 doses (first dose 08:00 on day 1, so
 * the 14th falls at 16:00 on day 5), rest days 6-14, cycle 2 days 15-19
 * (14 doses), then the course is complete. The simulator assumes every scheduled dose is
 * given (it does not read the server's decision back).
 *
 * Per dose (Dutcher et al. 2014, source S3, Table 2: "Chills/rigors 1-2 h
 * after IL-2; fever common 2-4 h after IL-2"):
 *   chills  a bump centred 1.5 h after the dose (HR, RR and SBP up briefly);
 *   fever   a bump peaking 3 h after the dose, (h/3)^4 e^(4(1-h/3)), so
 *           the temperature maximum after each dose lies 2-4 h after it.
 * Over days, capillary leak (S1 boxed warning): every dose adds load that
 * rises over ~6 h and decays with a 72 h time constant; the normalised
 * load `leak` (0-1) peaks near the end of a cycle and resolves over the
 * rest days (recovery starts 16 h after the last dose, 36 h constant).
 * Its effect, gain x leak^2 (gain per patient), lowers SBP (by 36 % at
 * full effect), raises HR (+30 /min) and RR (+8 /min), gains weight
 * (6-16 %), lowers urine output (-50 %), raises creatinine (+50 %) and
 * bilirubin (x3), and lowers SpO2 on room air (up to -11 %); the ward
 * titrates nasal O2 in whole L/min (0-6) to need, which recovers only part
 * of it, so SpO2 falls while O2 rises (CWG 3-4 L/min relative, > 4 L/min
 * absolute, docs/clinical-policy.md item 3).
 *
 * Profiles (per patient, drawn from the seed, or given):
 *   well       small leak gain (0.10-0.30), mild fevers: stays givable;
 *   leak       full capillary leak (gain 0.9-1.0): SBP < 90 after doses
 *              and O2 2-6 L/min by day 4-5, weight gain 12-16 %;
 *   af         moderate leak and one paroxysm of atrial fibrillation
 *              (rhythm af, HR 125-150 irregular) of 6-14 h starting on
 *              day 2-4 of each cycle;
 *   confusion  moderate leak; from day 3-4 of a cycle for 24-48 h the
 *              nurse charts consciousness C and ctcae.confusion 2;
 *   oliguria   moderate leak; from day 2-4 of a cycle urine falls below
 *              10 mL/h and creatinine rises (to 3-4.5 mg/dL) until the
 *              day after the cycle's last dose, then recovers.
 *
 * The state machine, per patient: PRE (before the first dose) -> DOSING
 * (leak building) <-> COMPLICATION (the profile's event active) -> REST
 * (after a cycle's last dose; leak resolving) -> DOSING (cycle 2) -> ...
 * -> DONE (course complete). Transitions happen at times drawn once from
 * the patient's seed, so the phase is a function of time too.
 *
 * Measurement noise comes from a counter-based hash of (patient, channel,
 * second of simulated time), never from a stream, so the value at a given
 * simulated time does not depend on how often or in what order it was
 * sampled. Per-patient parameters come from PCG32 seeded with (seed, bed). */
#ifndef WARDSIM_MODEL_H
#define WARDSIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_DOSES_PER_CYCLE 14
#define MODEL_CYCLES          2
#define MODEL_CYCLE_H         (14 * 24.0) /* cycle 2 starts on day 15 */

typedef enum model_profile {
    MODEL_WELL,
    MODEL_LEAK,
    MODEL_AF,
    MODEL_CONFUSION,
    MODEL_OLIGURIA,
    MODEL_PROFILES
} model_profile;

typedef enum model_phase {
    MODEL_PRE,
    MODEL_DOSING,
    MODEL_COMPLICATION,
    MODEL_REST,
    MODEL_DONE
} model_phase;

/* PCG32 (O'Neill, pcg-random.org, "pcg32_random_r"). */
typedef struct model_rng {
    uint64_t state, inc;
} model_rng;

void model_rng_seed(model_rng *r, uint64_t seed, uint64_t stream);
uint32_t model_rng_next(model_rng *r);
/* Uniform in [lo, hi). */
double model_rng_range(model_rng *r, double lo, double hi);

/* One patient: everything drawn at model_init(), then read-only. */
typedef struct model_patient {
    uint64_t key; /* noise key: mixes seed and bed */
    unsigned bed_index;
    model_profile profile;
    double hr0, sbp0, rr0, temp0, spo2_0; /* pre-treatment vital signs */
    double weight0, creat0, bili0, k0;    /* kg, mg/dL, mg/dL, mmol/L */
    double urine0;                        /* mL/h */
    double leak_gain;                     /* 0-1 */
    double lung;                          /* pulmonary share of the leak, 0.6-1.2 */
    double weight_gain;                   /* fraction at full effect */
    double fever_amp, chills_amp;         /* Cel at the fever peak; 0-1 */
    double event_onset_h, event_len_h;    /* complication, hours into each cycle */
    double af_rate;                       /* mean ventricular rate in AF */
} model_patient;

/* The noiseless physiological state at one time. */
typedef struct model_state {
    model_phase phase;
    int doses;         /* doses given before t */
    double since_dose; /* hours since the latest dose; -1 before the first */
    double leak;       /* normalised capillary-leak load, 0-1 */
    double effect;     /* leak_gain * leak^2: what the vital signs feel, 0-1 */
    double fever;      /* Cel above temp0 */
    double chills;     /* 0-1 */
    bool af, confused;
    double oliguria; /* 0-1: how far urine has fallen to the oliguric floor */
    double spo2_air; /* SpO2 on room air */
    double o2_flow;  /* L/min nasal O2 the ward gives (whole numbers) */
} model_state;

/* What a bedside monitor reports, rounded as a monitor would. */
typedef struct model_vitals {
    double hr, sbp, dbp, map, spo2, temp, rr;
    const char *rhythm; /* "sinus" or "af" */
} model_vitals;

/* What the nurse charts. */
typedef struct model_nurse {
    double weight;     /* kg, 0.1 */
    double urine_rate; /* mL/h */
    double creatinine, bilirubin, potassium;
    double o2_flow;        /* L/min */
    const char *conscious; /* ACVPU: "A" or "C" */
    int confusion_grade;   /* ctcae.confusion: 0 or 2 */
} model_nurse;

const char *model_profile_name(model_profile p);
/* Parses "well", "leak", "af", "confusion", "oliguria". 0 or -1. */
int model_profile_parse(const char *s, model_profile *out);
const char *model_phase_name(model_phase p);

/* The profile bed `bed_index` gets when none is given: each block of five
 * beds is a seeded permutation of all five profiles, so any five
 * consecutive beds of one block show every picture. */
model_profile model_profile_for(uint64_t seed, unsigned bed_index);

/* Draws patient `bed_index` of run `seed`; profile < 0 means
 * model_profile_for(seed, bed_index). */
void model_init(model_patient *p, uint64_t seed, unsigned bed_index, int profile);

/* Replaces the drawn pre-treatment weight, creatinine and bilirubin with
 * the patient record's baselines (a value <= 0 keeps the drawn one). */
void model_set_baseline(model_patient *p, double weight_kg, double creat, double bili);

/* Time of dose n (0-based, 0..27) in simulated hours, or -1 when n is
 * outside the course. */
double model_dose_time(int n);

void model_state_at(const model_patient *p, double t, model_state *out);
void model_vitals_at(const model_patient *p, double t, model_vitals *out);
void model_nurse_at(const model_patient *p, double t, model_nurse *out);

/* The run's message-id prefix: base-36 start time (ms) and seed, e.g.
 * "mgq1x2k3-1a". Unique across runs unless two start in the same
 * millisecond with the same seed. Returns 0, or -1 when buf is too small. */
int model_msg_prefix(char *buf, size_t len, int64_t start_ms, uint64_t seed);
/* "<prefix>-<tag><seq>": one reading's message id (tag may be ""). At most
 * 64 bytes (OBS_ID_MAX) with any prefix model_msg_prefix() makes. Returns 0,
 * or -1 when buf is too small. */
int model_msg_id(char *buf, size_t len, const char *prefix, const char *tag, uint64_t seq);

#endif
