/* model: one simulated HD IL-2 patient as a pure function of simulated
 * time. The clinical basis and the equations are documented in model.h. */
#include "model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LEAK_RISE_H     6.0  /* each dose's leak load rises with this constant */
#define LEAK_DECAY_H    72.0 /* ... and decays with this one while dosing */
#define LEAK_NORM       6.3  /* the load just after a cycle's 14th dose */
#define RECOVER_AFTER_H 16.0 /* resolution starts this long after a cycle's last dose */
#define RECOVER_H       36.0 /* ... and proceeds with this constant */
#define FEVER_PEAK_H    3.0
#define CHILLS_PEAK_H   1.5
#define CHILLS_WIDTH_H  0.6

/* Noise channels: one independent stream per measured quantity. */
enum { CH_HR = 1, CH_SBP, CH_DBP, CH_SPO2, CH_TEMP, CH_RR, CH_AF, CH_DOSE, CH_LAB };

static const char *const profile_names[MODEL_PROFILES] = {"well", "leak", "af", "confusion",
                                                          "oliguria"};
static const char *const phase_names[] = {"pre", "dosing", "complication", "rest", "done"};

/* --- random numbers ------------------------------------------------------ */

void model_rng_seed(model_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    (void)model_rng_next(r);
    r->state += seed;
    (void)model_rng_next(r);
}

uint32_t model_rng_next(model_rng *r)
{
    uint64_t old = r->state;
    uint32_t xorshifted, rot;

    r->state = old * UINT64_C(6364136223846793005) + r->inc;
    xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

double model_rng_range(model_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)model_rng_next(r) / 4294967296.0);
}

/* SplitMix64's finaliser (Steele, Lea, Flood 2014): a counter-based hash. */
static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* Uniform in [-1, 1), a function of (patient, channel, n) only. */
static double hash_signed(uint64_t key, unsigned channel, int64_t n)
{
    uint64_t h = mix64(key ^ mix64(((uint64_t)channel << 56) ^ (uint64_t)n));

    return (double)(h >> 11) / 4503599627370496.0 - 1.0; /* 2^52 */
}

/* Noise for time t: one draw per simulated second. */
static double noise(const model_patient *p, unsigned channel, double t, double amplitude)
{
    return amplitude * hash_signed(p->key, channel, (int64_t)floor(t * 3600.0));
}

/* --- names ------------------------------------------------------------------- */

const char *model_profile_name(model_profile p)
{
    return (unsigned)p < MODEL_PROFILES ? profile_names[p] : "?";
}

int model_profile_parse(const char *s, model_profile *out)
{
    for (int i = 0; s && i < MODEL_PROFILES; i++) {
        if (strcmp(s, profile_names[i]) == 0) {
            *out = (model_profile)i;
            return 0;
        }
    }
    return -1;
}

const char *model_phase_name(model_phase p)
{
    return (unsigned)p <= MODEL_DONE ? phase_names[p] : "?";
}

/* --- patients ------------------------------------------------------------------ */

model_profile model_profile_for(uint64_t seed, unsigned bed_index)
{
    int perm[MODEL_PROFILES];
    model_rng r;

    model_rng_seed(&r, seed, UINT64_C(0x5EED0000) + bed_index / MODEL_PROFILES);
    for (int i = 0; i < MODEL_PROFILES; i++)
        perm[i] = i;
    for (int i = MODEL_PROFILES - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)(model_rng_next(&r) % (uint32_t)(i + 1));
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    return (model_profile)perm[bed_index % MODEL_PROFILES];
}

void model_init(model_patient *p, uint64_t seed, unsigned bed_index, int profile)
{
    model_rng r;

    memset(p, 0, sizeof *p);
    model_rng_seed(&r, seed, bed_index);
    p->key = mix64(seed ^ mix64(bed_index + UINT64_C(1)));
    p->bed_index = bed_index;
    p->profile = profile >= 0 && profile < MODEL_PROFILES ? (model_profile)profile
                                                          : model_profile_for(seed, bed_index);
    p->hr0 = model_rng_range(&r, 66, 88);
    p->sbp0 = model_rng_range(&r, 112, 138);
    p->rr0 = model_rng_range(&r, 13, 17);
    p->temp0 = model_rng_range(&r, 36.5, 37.0);
    p->spo2_0 = model_rng_range(&r, 96.5, 99);
    p->weight0 = model_rng_range(&r, 58, 96);
    p->creat0 = model_rng_range(&r, 0.7, 1.15);
    p->bili0 = model_rng_range(&r, 0.4, 0.9);
    p->k0 = model_rng_range(&r, 3.8, 4.4);
    p->urine0 = model_rng_range(&r, 70, 120);
    p->lung = model_rng_range(&r, 0.6, 1.2);
    p->weight_gain = model_rng_range(&r, 0.06, 0.12);
    p->fever_amp = model_rng_range(&r, 1.0, 2.4);
    p->chills_amp = model_rng_range(&r, 0.4, 1.0);
    p->event_onset_h = model_rng_range(&r, 32, 80); /* day 2 08:00 .. day 4 08:00 */
    p->event_len_h = model_rng_range(&r, 6, 14);
    p->af_rate = model_rng_range(&r, 125, 150);
    switch (p->profile) {
    case MODEL_WELL:
        p->leak_gain = model_rng_range(&r, 0.10, 0.30);
        p->fever_amp *= 0.6;
        break;
    case MODEL_LEAK:
        p->leak_gain = model_rng_range(&r, 0.9, 1.0);
        p->weight_gain = model_rng_range(&r, 0.13, 0.16);
        p->lung = model_rng_range(&r, 0.9, 1.2);
        break;
    case MODEL_CONFUSION:
        p->event_onset_h = model_rng_range(&r, 56, 80); /* day 3 08:00 .. day 4 08:00 */
        p->event_len_h = model_rng_range(&r, 24, 48);
        p->leak_gain = model_rng_range(&r, 0.5, 0.75);
        break;
    case MODEL_OLIGURIA:
        p->leak_gain = model_rng_range(&r, 0.6, 0.85);
        break;
    case MODEL_AF:
    default:
        p->leak_gain = model_rng_range(&r, 0.5, 0.75);
        break;
    }
}

void model_set_baseline(model_patient *p, double weight_kg, double creat, double bili)
{
    if (weight_kg > 0)
        p->weight0 = weight_kg;
    if (creat > 0)
        p->creat0 = creat;
    if (bili > 0)
        p->bili0 = bili;
}

/* --- the regimen ------------------------------------------------------------------ */

double model_dose_time(int n)
{
    if (n < 0 || n >= MODEL_DOSES_PER_CYCLE * MODEL_CYCLES)
        return -1;
    /* first dose 08:00 day 1; q8h; cycle 2 fourteen days later */
    return (double)(n / MODEL_DOSES_PER_CYCLE) * MODEL_CYCLE_H + 8.0 +
           8.0 * (double)(n % MODEL_DOSES_PER_CYCLE);
}

/* Hours into the current cycle (t itself in cycle 1, t - 336 in cycle 2). */
static double cycle_time(double t)
{
    return t >= MODEL_CYCLE_H ? t - MODEL_CYCLE_H : t;
}

/* The fever bump: 0 at the dose, 1 at FEVER_PEAK_H, above 0.75 from 2 h to 4 h. */
static double fever_shape(double h)
{
    double x = h / FEVER_PEAK_H;

    return h <= 0 ? 0 : pow(x, 4) * exp(4.0 * (1.0 - x));
}

/* A 0-1 excursion that starts at `on`, approaches 1 with tau_up while on,
 * and after `off` decays from the value reached with tau_down. */
static double excursion(double t, double on, double off, double tau_up, double tau_down)
{
    double peak;

    if (t <= on)
        return 0;
    if (t <= off)
        return 1.0 - exp(-(t - on) / tau_up);
    peak = 1.0 - exp(-(off - on) / tau_up);
    return peak * exp(-(t - off) / tau_down);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void model_state_at(const model_patient *p, double t, model_state *s)
{
    double load = 0, last = -1, ct = cycle_time(t), end;
    double olig_end = 112.0 + 24.0; /* a day after the cycle's last dose */

    memset(s, 0, sizeof *s);
    s->since_dose = -1;
    for (int n = 0; n < MODEL_DOSES_PER_CYCLE * MODEL_CYCLES; n++) {
        double d = model_dose_time(n), h = t - d;
        if (h < 0)
            break;
        s->doses++;
        last = d;
        load += (1.0 - exp(-h / LEAK_RISE_H)) * exp(-h / LEAK_DECAY_H);
        if (h <= 12) /* fever varies dose to dose by +-15 % */
            s->fever +=
                p->fever_amp * (1.0 + 0.15 * hash_signed(p->key, CH_DOSE, n)) * fever_shape(h);
        if (h <= 4)
            s->chills += p->chills_amp * exp(-pow((h - CHILLS_PEAK_H) / CHILLS_WIDTH_H, 2));
    }
    s->leak = clamp(load / LEAK_NORM, 0, 1);
    if (last >= 0) {
        s->since_dose = t - last;
        if (s->since_dose > RECOVER_AFTER_H)
            s->leak *= exp(-(s->since_dose - RECOVER_AFTER_H) / RECOVER_H);
    }
    s->chills = clamp(s->chills, 0, 1);
    s->effect = p->leak_gain * s->leak * s->leak;

    /* complications, in hours into the current cycle */
    end = p->event_onset_h + p->event_len_h;
    if (s->doses > 0 && t < 2 * MODEL_CYCLE_H) {
        if (p->profile == MODEL_AF)
            s->af = ct >= p->event_onset_h && ct < end;
        else if (p->profile == MODEL_CONFUSION)
            s->confused = ct >= p->event_onset_h && ct < end;
        else if (p->profile == MODEL_OLIGURIA)
            s->oliguria = excursion(ct, p->event_onset_h, olig_end, 8.0, 12.0);
    }

    /* oxygen: the ward titrates whole L/min toward SpO2 95 % (CWG, S3) */
    s->spo2_air = p->spo2_0 - 11.0 * s->effect * p->lung;
    s->o2_flow = clamp(floor((95.0 - s->spo2_air) / 2.0 + 0.5), 0, 6);

    if (s->doses == 0)
        s->phase = MODEL_PRE;
    else if (s->af || s->confused || s->oliguria > 0.5)
        s->phase = MODEL_COMPLICATION;
    else if (s->doses == MODEL_DOSES_PER_CYCLE * MODEL_CYCLES && s->since_dose > 8)
        s->phase = MODEL_DONE;
    else if (s->since_dose > 8)
        s->phase = MODEL_REST;
    else
        s->phase = MODEL_DOSING;
}

void model_vitals_at(const model_patient *p, double t, model_vitals *v)
{
    model_state s;
    double e, hr, sbp, dbp, spo2;

    model_state_at(p, t, &s);
    e = s.effect;
    hr = p->hr0 + 30.0 * e + 9.0 * s.fever + 12.0 * s.chills + noise(p, CH_HR, t, 3);
    if (s.af) /* irregularly irregular: a wider spread around the AF rate */
        hr = p->af_rate + 10.0 * e + noise(p, CH_AF, t, 15);
    sbp = p->sbp0 * (1.0 - 0.36 * e) - 4.0 * s.fever + 6.0 * s.chills - (s.af ? 8.0 : 0) +
          noise(p, CH_SBP, t, 4);
    sbp = clamp(sbp, 60, 200);
    dbp = clamp(sbp * 0.58 + noise(p, CH_DBP, t, 3), 30, 130);
    spo2 = s.spo2_air + 1.6 * s.o2_flow + noise(p, CH_SPO2, t, 1);

    v->hr = round(clamp(hr, 40, 190));
    v->sbp = round(sbp);
    v->dbp = round(dbp);
    v->map = round((v->sbp + 2.0 * v->dbp) / 3.0);
    v->spo2 = round(clamp(spo2, 70, 100));
    v->temp = round(clamp(p->temp0 + s.fever + noise(p, CH_TEMP, t, 0.08), 34, 42.5) * 10) / 10;
    v->rr = round(
        clamp(p->rr0 + 8.0 * e + 1.5 * s.fever + 5.0 * s.chills + noise(p, CH_RR, t, 1.5), 6, 45));
    v->rhythm = s.af ? "af" : "sinus";
}

void model_nurse_at(const model_patient *p, double t, model_nurse *n)
{
    model_state s;
    double e, ct = cycle_time(t), rise;
    int64_t lab = (int64_t)floor(t); /* one lab draw per hour */

    model_state_at(p, t, &s);
    e = s.effect;
    /* creatinine follows oliguria more slowly: rises over ~30 h, falls over ~36 h */
    rise = 0;
    if (p->profile == MODEL_OLIGURIA && s.doses > 0 && t < 2 * MODEL_CYCLE_H)
        rise = excursion(ct, p->event_onset_h, 136.0, 30.0, 36.0);
    n->weight = round(p->weight0 * (1.0 + p->weight_gain * e) * 10) / 10;
    n->urine_rate = 4.0 + (p->urine0 * (1.0 - 0.5 * e) - 4.0) * (1.0 - s.oliguria);
    n->creatinine = round((p->creat0 * (1.0 + 0.5 * e) + 3.2 * rise) *
                          (1.0 + 0.03 * hash_signed(p->key, CH_LAB, lab)) * 100) /
                    100;
    n->bilirubin = round(p->bili0 * (1.0 + 2.0 * e) * 100) / 100;
    n->potassium = round(clamp(p->k0 - 0.4 * e + 1.6 * rise, 2.5, 7.0) * 10) / 10;
    n->o2_flow = s.o2_flow;
    n->conscious = s.confused ? "C" : "A";
    n->confusion_grade = s.confused ? 2 : 0;
}

/* --- message ids -------------------------------------------------------------------- */

static size_t base36(char *out, uint64_t v)
{
    char tmp[16];
    size_t n = 0, i;

    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v && n < sizeof tmp);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

int model_msg_prefix(char *buf, size_t len, int64_t start_ms, uint64_t seed)
{
    char a[16], b[16];
    int n;

    base36(a, (uint64_t)(start_ms < 0 ? 0 : start_ms));
    base36(b, seed);
    n = snprintf(buf, len, "%s-%s", a, b);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int model_msg_id(char *buf, size_t len, const char *prefix, const char *tag, uint64_t seq)
{
    int n = snprintf(buf, len, "%s-%s%" PRIu64, prefix, tag ? tag : "", seq);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}
