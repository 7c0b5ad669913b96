/* engine_cost: CPU time of rule evaluation per ingested reading, for
 * `make bench` (docs/performance.md). Links the daemon's modules and runs
 * the clinical engine alone: no HTTP, no SQL.
 *
 *   engine_cost --rules FILE [--hours H] [--reps R]
 *
 * Replays H hours (default 72) of one realistic IL-2 patient through the
 * live path of the clinical worker (server/clinical/clinical.c cache_advance and
 * process_patient): per job, the job's readings are added to the history,
 * engine_live_advance() brings the live state to the newest of them, the
 * state's digest is compared with the last full evaluation's, and
 * engine_evaluate() with the state runs only when they differ
 * (engine_state_digest(), engine_digest_same()). The patient: a bedside
 * monitor sends hr, rr, spo2, sbp, dbp and map every minute and temp every
 * 5 minutes; urine hourly, weight daily, six labs every 12 h, oxygen during
 * a desaturation; a fever episode (up to 40.3 Cel), a hypotensive episode
 * (SBP 85) and a creatinine rise; doses every 8 h, two of them held.
 *
 * Reported (each the median of --reps replays, default 1):
 *   single  every reading is its own job (a device posting 1 reading per
 *           request, as in ingest_single): the headline figure
 *   batch   one job per minute with that minute's readings (a monitor
 *           posting its vitals in one request)
 *   full    every reading its own job with a full evaluation each time
 *           (the worker before incremental evaluation), for comparison
 *   facts   every reading its own job, engine_state_facts() only (the
 *           floor of the live path)
 * and digest_mismatches: jobs the live path skipped although a full
 * evaluation at that moment would differ from the last one (changes that
 * time alone made, which the worker's timer evaluates; checked untimed).
 * For each job, CLOCK_THREAD_CPUTIME_ID is read before and after (the
 * clock's own cost, calibrated, is subtracted) and divided by the job's
 * readings. Prints one JSON object with the median, mean and p99 per
 * reading of each way and its number of full evaluations. */
#include "engine.h"
#include "obs.h"
#include "rules.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_MS  60000LL
#define HOUR_MS 3600000LL

typedef struct reading {
    int64_t t_ms;
    int code;
    double v;
} reading;

typedef struct readings {
    reading *r;
    size_t n, cap;
} readings;

static int code_id(const char *c)
{
    const obs_code *oc = obs_code_lookup(c);

    if (!oc) {
        fprintf(stderr, "engine_cost: unknown code %s\n", c);
        exit(1);
    }
    return oc->id;
}

static void push(readings *rs, int64_t t, const char *code, double v)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 4096;
        reading *grown = realloc(rs->r, cap * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "engine_cost: out of memory\n");
            exit(1);
        }
        rs->r = grown;
        rs->cap = cap;
    }
    rs->r[rs->n++] = (reading){t, code_id(code), v};
}

/* Deterministic noise in [-1, 1]. */
static double noise(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

/* Values with at most 6 fraction digits, as the engine takes them. */
static double round1(double v)
{
    return round(v * 10.0) / 10.0;
}

/* The patient's readings from t0 for `hours`, in time order. */
static void make_patient(readings *rs, int64_t t0, int hours)
{
    uint64_t s = 42;

    for (int64_t m = 0; m < (int64_t)hours * 60; m++) {
        int64_t t = t0 + m * MIN_MS;
        double h = (double)m / 60.0;
        bool fever = h >= 18 && h < 28, hypo = h >= 40 && h < 44, desat = h >= 30 && h < 36;
        double temp = fever ? (h >= 22 && h < 24 ? 40.3 : 39.4) : 37.0;
        double sbp = hypo ? 85 : 118;

        push(rs, t, "hr", round(fever ? 112 + 6 * noise(&s) : 82 + 8 * noise(&s)));
        push(rs, t, "rr", round(16 + 2 * noise(&s)));
        push(rs, t, "spo2", round(desat ? 89 + 2 * noise(&s) : 96 + 2 * noise(&s)));
        push(rs, t, "sbp", round(sbp + 5 * noise(&s)));
        push(rs, t, "dbp", round(sbp * 0.62 + 4 * noise(&s)));
        push(rs, t, "map", round(sbp * 0.75 + 3 * noise(&s)));
        if (m % 5 == 0)
            push(rs, t, "temp", round1(temp + 0.2 * noise(&s)));
        if (m % 60 == 30)
            push(rs, t, "urine", round(hypo ? 25 : 70 + 20 * noise(&s)));
        if (m % 60 == 0 && desat)
            push(rs, t, "o2_flow", 2);
        if (m % (24 * 60) == 6 * 60)
            push(rs, t, "weight", round1(80 + h / 24 * 1.5));
        if (m % (12 * 60) == 5 * 60) {
            push(rs, t, "creatinine", round1(0.9 + h / 72 * 1.1));
            push(rs, t, "bilirubin", round1(0.6 + h / 72 * 0.8));
            push(rs, t, "ast", round(25 + h / 3));
            push(rs, t, "alt", round(30 + h / 3));
            push(rs, t, "platelets", round(220 - h * 1.2));
            push(rs, t, "potassium", round1(4.1 - h / 72 * 0.6));
        }
    }
}

static int64_t cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double pct_sorted(const double *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);

    if (n == 0)
        return -1;
    if (rank < 1)
        rank = 1;
    return v[rank > n ? n - 1 : rank - 1];
}

typedef struct stats {
    double median_us, mean_us, p99_us;
    size_t jobs, evaluations, mismatches;
} stats;

typedef enum mode { MODE_FULL, MODE_LIVE, MODE_FACTS } mode;

/* The live path's memory of one patient between jobs. */
typedef struct live {
    engine_state *st;
    uint8_t *last, *now, *mask; /* digests: of the last full evaluation, of the state */
    bool have_last;
    size_t evaluations, mismatches;
} live;

/* One job for readings [a, b): they are added to the history and the live
 * state is advanced (engine_live_advance(), as server/clinical/clinical.c does); then
 *   MODE_FULL   a full engine_evaluate() with the state, every job (the
 *               worker before incremental evaluation)
 *   MODE_LIVE   the worker's path: the state's digest, and a full evaluation
 *               only when it differs from the last full evaluation's
 *   MODE_FACTS  engine_state_facts() only (the floor of the live path).
 * check_job() verifies the skips (untimed). */
static int run_job(const rules_set *rs, const engine_patient *pt, engine_hist *h, live *lv,
                   const readings *in, size_t a, size_t b, mode m)
{
    int64_t oldest = in->r[a].t_ms, newest = in->r[b - 1].t_ms;
    engine_result *r;

    for (size_t i = a; i < b; i++)
        if (engine_hist_add(h, in->r[i].code, in->r[i].t_ms, in->r[i].v) != 0)
            return -1;
    if (engine_live_advance(lv->st, pt, h, oldest, newest) != 0)
        return -1;
    if (m == MODE_FACTS) {
        engine_facts f;
        return engine_state_facts(lv->st, pt, h, &f);
    }
    if (m == MODE_LIVE) {
        if (engine_state_digest(lv->st, pt, h, lv->now, lv->mask) != 0)
            return -1;
        if (lv->have_last &&
            engine_digest_same(lv->now, lv->last, lv->mask, engine_digest_size(rs)))
            return 0;
    }
    /* the worker evaluates at "now": shortly after the reading */
    r = engine_evaluate(rs, pt, h, newest + 500, lv->st);
    if (!r)
        return -1;
    engine_result_digest(r, lv->last);
    lv->have_last = true;
    lv->evaluations++;
    engine_result_free(r);
    return 0;
}

/* Not timed: the safety of MODE_LIVE. A full evaluation at the job's "now"
 * must agree with what the worker holds (the last full evaluation's digest)
 * whenever the job skipped it; a skip that disagrees counts as a mismatch.
 * Only changes driven by time alone (a window sliding, a value going stale
 * with no new reading) can disagree: the worker's timer evaluates those. */
static int check_job(const rules_set *rs, const engine_patient *pt, const engine_hist *h, live *lv,
                     int64_t newest, size_t evaluations_before)
{
    engine_result *r;
    uint8_t *full;

    if (lv->evaluations != evaluations_before)
        return 0; /* evaluated: nothing skipped */
    r = engine_evaluate(rs, pt, h, newest + 500, lv->st);
    full = malloc(engine_digest_size(rs));
    if (!r || !full) {
        engine_result_free(r);
        free(full);
        return -1;
    }
    engine_result_digest(r, full);
    lv->mismatches += memcmp(full, lv->last, engine_digest_size(rs)) != 0;
    engine_result_free(r);
    free(full);
    return 0;
}

/* Replays `in`, one job per reading (batch false) or per instant (true). */
static int replay(const rules_set *rs, const engine_patient *pt, const readings *in, bool batch,
                  mode m, bool check, int64_t overhead_ns, stats *out)
{
    engine_hist *h = engine_hist_new();
    size_t dsize = engine_digest_size(rs);
    live lv = {.st = engine_state_new(rs),
               .last = malloc(dsize),
               .now = malloc(dsize),
               .mask = malloc(dsize)};
    double *per = malloc(in->n * sizeof *per), sum = 0;
    size_t n = 0;
    int rc = -1;

    if (!h || !lv.st || !lv.last || !lv.now || !lv.mask || !per)
        goto out;
    for (size_t a = 0; a < in->n;) {
        size_t b = a + 1;
        int64_t t0, dt;
        while (batch && b < in->n && in->r[b].t_ms == in->r[a].t_ms)
            b++;
        size_t evaluations = lv.evaluations;
        t0 = cpu_ns();
        if (run_job(rs, pt, h, &lv, in, a, b, m) != 0)
            goto out;
        dt = cpu_ns() - t0 - overhead_ns;
        if (check && check_job(rs, pt, h, &lv, in->r[b - 1].t_ms, evaluations) != 0)
            goto out;
        per[n] = (double)(dt > 0 ? dt : 0) / 1000.0 / (double)(b - a);
        sum += per[n] * (double)(b - a);
        n++;
        a = b;
    }
    qsort(per, n, sizeof *per, cmp_double);
    out->jobs = n;
    out->evaluations = lv.evaluations;
    out->mismatches = lv.mismatches;
    out->median_us = pct_sorted(per, n, 0.5);
    out->p99_us = pct_sorted(per, n, 0.99);
    out->mean_us = sum / (double)in->n;
    rc = 0;
out:
    free(per);
    free(lv.last);
    free(lv.now);
    free(lv.mask);
    engine_state_free(lv.st);
    engine_hist_free(h);
    return rc;
}

static void print_stats(const char *name, const stats *st, const char *after)
{
    printf("\"%s\":{\"jobs\":%zu,\"evaluations\":%zu,\"median_us\":%.3f,\"mean_us\":%.3f,"
           "\"p99_us\":%.3f}%s",
           name, st->jobs, st->evaluations, st->median_us, st->mean_us, st->p99_us, after);
}

static int cmp_stats(const void *a, const void *b)
{
    return cmp_double(&((const stats *)a)->median_us, &((const stats *)b)->median_us);
}

int main(int argc, char **argv)
{
    const char *rules_path = NULL;
    long hours = 72, reps = 1;
    rules_errors errs = {0};
    rules_set *rs;
    engine_patient pt;
    readings in = {0};
    int64_t t0 = 1790000000000LL, overhead = INT64_MAX;
    engine_dose doses[9];
    stats single[9], batch[9], full[9], facts[9], check;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rules") == 0)
            rules_path = argv[i + 1];
        else if (strcmp(argv[i], "--hours") == 0)
            hours = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = strtol(argv[i + 1], NULL, 10);
    }
    if (!rules_path || hours < 1 || hours > 24 * 30 || reps < 1 || reps > 9) {
        fprintf(stderr, "usage: engine_cost --rules FILE [--hours 1-720] [--reps 1-9]\n");
        return 2;
    }
    rs = rules_load_file(rules_path, &errs);
    if (!rs) {
        fprintf(stderr, "engine_cost: cannot load %s\n", rules_path);
        rules_errors_free(&errs);
        return 1;
    }
    engine_patient_init(&pt, 1);
    pt.baseline[RULES_BL_WEIGHT_KG] = 80;
    pt.baseline[RULES_BL_CREATININE_MG_DL] = 0.9;
    pt.baseline[RULES_BL_BILIRUBIN_MG_DL] = 0.6;
    pt.baseline[RULES_BL_AST_U_L] = 25;
    pt.baseline[RULES_BL_ALT_U_L] = 30;
    pt.baseline[RULES_BL_SBP_MM_HG] = 124;
    pt.baseline[RULES_BL_STOOLS_PER_DAY] = 1;
    /* every 8 h from hour 2; the ones during the fever and the hypotension held */
    for (int i = 0; i < 9; i++) {
        doses[i].t_ms = t0 + (2 + 8 * i) * HOUR_MS;
        doses[i].given = i != 3 && i != 5;
    }
    pt.doses = doses;
    pt.n_doses = 9;
    make_patient(&in, t0, (int)hours);

    /* the cost of the two clock reads themselves */
    for (int i = 0; i < 1000; i++) {
        int64_t a = cpu_ns(), b = cpu_ns();
        if (b - a < overhead)
            overhead = b - a;
    }
    for (long k = 0; k < reps; k++)
        if (replay(rs, &pt, &in, false, MODE_LIVE, false, overhead, &single[k]) != 0 ||
            replay(rs, &pt, &in, true, MODE_LIVE, false, overhead, &batch[k]) != 0 ||
            replay(rs, &pt, &in, false, MODE_FULL, false, overhead, &full[k]) != 0 ||
            replay(rs, &pt, &in, false, MODE_FACTS, false, overhead, &facts[k]) != 0) {
            fprintf(stderr, "engine_cost: replay failed (out of memory)\n");
            return 1;
        }
    if (replay(rs, &pt, &in, false, MODE_LIVE, true, overhead, &check) != 0) {
        fprintf(stderr, "engine_cost: check replay failed (out of memory)\n");
        return 1;
    }
    qsort(single, (size_t)reps, sizeof *single, cmp_stats);
    qsort(batch, (size_t)reps, sizeof *batch, cmp_stats);
    qsort(full, (size_t)reps, sizeof *full, cmp_stats);
    qsort(facts, (size_t)reps, sizeof *facts, cmp_stats);
    printf("{\"readings\":%zu,\"hours\":%ld,\"clock_overhead_ns\":%lld,"
           "\"digest_mismatches\":%zu,",
           in.n, hours, (long long)overhead, check.mismatches);
    print_stats("single", &single[reps / 2], ",");
    print_stats("batch", &batch[reps / 2], ",");
    print_stats("full", &full[reps / 2], ",");
    print_stats("facts", &facts[reps / 2], "}\n");
    free(in.r);
    rules_unref(rs);
    return 0;
}
