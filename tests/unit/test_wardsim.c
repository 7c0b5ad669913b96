/* Unit tests for the simulator's patient model (tools/wardsim/model.c):
 * reproducible for a seed, fever 2-4 h and chills 1-2 h after each dose
 * (Dutcher et al. 2014, Table 2; docs/clinical-policy.md source S3), capillary leak building over
 * the cycle and resolving in the rest days, each profile showing its picture, every value inside
 * the server's plausible ranges (obs.c), unique message ids.
 *
 * The Makefile links a unit test with the server's objects only, so the
 * model is compiled into this test by including its source file. */
#include "../../tools/wardsim/model.c"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "obs.h"
#include "timefmt.h"

#define CYCLE_END_H (MODEL_CYCLE_H * MODEL_CYCLES + 48)

static void test_dose_times(void **state)
{
    (void)state;
    assert_true(model_dose_time(0) == 8.0);    /* day 1 08:00 */
    assert_true(model_dose_time(13) == 112.0); /* 14th dose: day 5 16:00 */
    assert_true(model_dose_time(14) == 344.0); /* cycle 2: day 15 08:00 */
    assert_true(model_dose_time(27) == 448.0);
    assert_true(model_dose_time(28) < 0);
    assert_true(model_dose_time(-1) < 0);
    for (int n = 0; n < 28; n++) /* always at 00:00, 08:00 or 16:00 */
        assert_true(fmod(model_dose_time(n), 8.0) == 0.0);
}

/* Field by field: whole-struct memcmp would also compare padding bytes,
 * which C leaves indeterminate (model_nurse has tail padding). */
static void assert_vitals_equal(const model_vitals *a, const model_vitals *b)
{
    assert_true(a->hr == b->hr && a->sbp == b->sbp && a->dbp == b->dbp && a->map == b->map &&
                a->spo2 == b->spo2 && a->temp == b->temp && a->rr == b->rr);
    assert_string_equal(a->rhythm, b->rhythm);
}

static void assert_nurse_equal(const model_nurse *a, const model_nurse *b)
{
    assert_true(a->weight == b->weight && a->urine_rate == b->urine_rate &&
                a->creatinine == b->creatinine && a->bilirubin == b->bilirubin &&
                a->potassium == b->potassium && a->o2_flow == b->o2_flow &&
                a->confusion_grade == b->confusion_grade);
    assert_string_equal(a->conscious, b->conscious);
}

static void test_reproducible(void **state)
{
    model_patient a, b, c;
    model_vitals va, vb;
    model_nurse na, nb;
    bool differs = false;

    (void)state;
    for (unsigned bed = 0; bed < 8; bed++) {
        model_init(&a, 42, bed, -1);
        model_init(&b, 42, bed, -1);
        model_init(&c, 43, bed, -1);
        assert_memory_equal(&a, &b, sizeof a);
        /* later samples do not depend on earlier ones: sample b backwards */
        for (int i = 0; i < 2000; i++) {
            double t = i * 0.37, tb = (1999 - i) * 0.37;
            model_vitals_at(&a, t, &va);
            model_vitals_at(&b, tb, &vb);
            model_vitals_at(&b, t, &vb);
            assert_vitals_equal(&va, &vb);
            model_nurse_at(&a, t, &na);
            model_nurse_at(&b, t, &nb);
            assert_nurse_equal(&na, &nb);
            model_vitals_at(&c, t, &vb);
            differs |= va.hr != vb.hr || va.sbp != vb.sbp;
        }
    }
    assert_true(differs); /* another seed is another ward */
}

static void test_fever_peaks_2_to_4_h_after_each_dose(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        for (unsigned bed = 0; bed < 10; bed++) {
            model_patient p;
            model_init(&p, seed, bed, -1);
            for (int n = 0; n < 28; n++) {
                double d = model_dose_time(n), best = -1, best_h = -1, best_temp = -1,
                       best_temp_h = -1, chills = -1, chills_h = -1;
                for (int m = 0; m < 8 * 30; m++) { /* every 2 min until the next dose */
                    double h = m / 30.0;
                    model_state s;
                    model_vitals v;
                    model_state_at(&p, d + h, &s);
                    model_vitals_at(&p, d + h, &v);
                    if (s.fever > best)
                        best = s.fever, best_h = h;
                    if (v.temp > best_temp)
                        best_temp = v.temp, best_temp_h = h;
                    if (s.chills > chills)
                        chills = s.chills, chills_h = h;
                }
                if (best_h < 2.0 || best_h > 4.0)
                    fail_msg("seed %" PRIu64 " bed %u dose %d: fever peaks %.2f h after the dose",
                             seed, bed, n, best_h);
                assert_true(best > 0.5);
                /* the thermometer's reading (noise, 0.1 Cel steps) peaks there too */
                if (best_temp_h < 1.5 || best_temp_h > 4.5)
                    fail_msg("seed %" PRIu64 " bed %u dose %d: temp peaks %.2f h after the dose",
                             seed, bed, n, best_temp_h);
                if (chills_h < 1.0 || chills_h > 2.0)
                    fail_msg("seed %" PRIu64 " bed %u dose %d: chills peak %.2f h after the dose",
                             seed, bed, n, chills_h);
            }
        }
    }
}

static void check_range(const char *code, double v, uint64_t seed, unsigned bed, double t)
{
    const obs_code *c = obs_code_lookup(code);

    assert_non_null(c);
    if (!(v >= c->min && v <= c->max))
        fail_msg("seed %" PRIu64 " bed %u t %.2f h: %s %g outside %g-%g", seed, bed, t, code, v,
                 c->min, c->max);
}

static void check_category(const char *code, const char *v)
{
    const obs_code *c = obs_code_lookup(code);
    bool found = false;

    assert_non_null(c);
    for (const char *const *s = c->values; *s; s++)
        found |= strcmp(*s, v) == 0;
    assert_true(found);
}

static void test_values_plausible(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        for (unsigned bed = 0; bed < 10; bed++) {
            model_patient p;
            model_init(&p, seed, bed, -1);
            for (double t = 0; t < CYCLE_END_H; t += 0.25) {
                model_vitals v;
                model_nurse n;
                model_vitals_at(&p, t, &v);
                model_nurse_at(&p, t, &n);
                check_range("hr", v.hr, seed, bed, t);
                check_range("sbp", v.sbp, seed, bed, t);
                check_range("dbp", v.dbp, seed, bed, t);
                check_range("map", v.map, seed, bed, t);
                check_range("spo2", v.spo2, seed, bed, t);
                check_range("temp", v.temp, seed, bed, t);
                check_range("rr", v.rr, seed, bed, t);
                check_range("weight", n.weight, seed, bed, t);
                check_range("urine", n.urine_rate * 2, seed, bed, t); /* a 2 h round */
                check_range("creatinine", n.creatinine, seed, bed, t);
                check_range("potassium", n.potassium, seed, bed, t);
                check_range("bilirubin", n.bilirubin, seed, bed, t);
                check_range("o2_flow", n.o2_flow, seed, bed, t);
                check_range("ctcae.confusion", n.confusion_grade, seed, bed, t);
                check_category("rhythm", v.rhythm);
                check_category("consciousness", n.conscious);
                /* and physiologically ordered */
                assert_true(v.dbp < v.sbp && v.map > v.dbp && v.map < v.sbp);
                assert_true(n.urine_rate > 0);
            }
        }
    }
}

/* The monitor's SBP over one day (every 15 min): mean, and minimum. */
static double day_sbp(const model_patient *p, int day, double *min)
{
    double sum = 0;
    int n = 0;

    *min = 999;
    for (double t = (day - 1) * 24.0; t < day * 24.0; t += 0.25, n++) {
        model_vitals v;
        model_vitals_at(p, t, &v);
        sum += v.sbp;
        *min = fmin(*min, v.sbp);
    }
    return sum / n;
}

static void test_capillary_leak_builds_and_resolves(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        model_patient p;
        model_state d1, d3, d5, d12;
        model_nurse n1, n5;
        double min1, min5;
        model_init(&p, seed, 0, MODEL_LEAK);
        model_state_at(&p, 20, &d1); /* day 1 20:00 */
        model_state_at(&p, 68, &d3);
        model_state_at(&p, 116, &d5); /* day 5 20:00, after the 14th dose */
        model_state_at(&p, 11 * 24 + 12, &d12);
        assert_true(d1.leak < d3.leak && d3.leak < d5.leak);
        assert_true(d5.leak > 0.8);
        assert_true(d12.leak < 0.1);  /* resolved in the rest days */
        model_nurse_at(&p, 6, &n1);   /* day 1 06:00: before the first dose */
        model_nurse_at(&p, 126, &n5); /* day 6 06:00: the weight after the cycle */
        assert_true(n5.weight > n1.weight * 1.10);
        assert_true(n5.creatinine > n1.creatinine);
        assert_true(n5.o2_flow >= 2 && n1.o2_flow <= 1);
        assert_true(d5.spo2_air < d1.spo2_air - 5);
        assert_true(day_sbp(&p, 5, &min5) < day_sbp(&p, 1, &min1) - 20);
        assert_true(min5 < 90 && min1 >= 90); /* the SBP < 90 hold, by day 5 */
        assert_int_equal(d1.phase, MODEL_DOSING);
        assert_int_equal(d12.phase, MODEL_REST);
    }
}

static void test_profiles(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        model_patient well, af, conf, olig;
        bool saw_af = false, saw_conf = false, saw_olig = false;
        double min_sbp = 999, max_o2 = 0, max_creat = 0, min_urine = 1e9;
        model_init(&well, seed, 0, MODEL_WELL);
        model_init(&af, seed, 1, MODEL_AF);
        model_init(&conf, seed, 2, MODEL_CONFUSION);
        model_init(&olig, seed, 3, MODEL_OLIGURIA);
        for (double t = 0; t < MODEL_CYCLE_H; t += 0.25) {
            model_vitals v;
            model_nurse n;
            model_state s;
            model_state_at(&well, t, &s);
            model_vitals_at(&well, t, &v);
            model_nurse_at(&well, t, &n);
            assert_false(s.af || s.confused || s.oliguria > 0);
            min_sbp = fmin(min_sbp, v.sbp);
            max_o2 = fmax(max_o2, n.o2_flow);
            model_vitals_at(&af, t, &v);
            if (strcmp(v.rhythm, "af") == 0) {
                saw_af = true;
                assert_true(v.hr > 100);
            }
            model_nurse_at(&conf, t, &n);
            if (n.confusion_grade == 2) {
                saw_conf = true;
                assert_string_equal(n.conscious, "C");
            }
            model_nurse_at(&olig, t, &n);
            min_urine = fmin(min_urine, n.urine_rate);
            max_creat = fmax(max_creat, n.creatinine);
        }
        saw_olig = min_urine < 10 && max_creat >= 2.5;
        assert_true(saw_af && saw_conf && saw_olig);
        assert_true(min_sbp >= 90); /* stays well: never the SBP < 90 hold */
        assert_true(max_o2 <= 1);
    }
}

static void test_profiles_spread_over_beds(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 100; seed++) {
        unsigned seen = 0;
        for (unsigned bed = 0; bed < MODEL_PROFILES; bed++)
            seen |= 1u << model_profile_for(seed, bed);
        assert_int_equal(seen, (1u << MODEL_PROFILES) - 1);
    }
    for (int i = 0; i < MODEL_PROFILES; i++) {
        model_profile p;
        assert_int_equal(model_profile_parse(model_profile_name((model_profile)i), &p), 0);
        assert_int_equal(p, i);
    }
    {
        model_profile p;
        assert_int_equal(model_profile_parse("sepsis", &p), -1);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The server must accept the id: run it through the real validator. */
static void check_id_valid(const char *id)
{
    obs_context ctx = {.now_ms = timefmt_now_ms(), .require_id = true};
    json_t *item = json_pack("{s:s, s:s, s:i, s:s}", "id", id, "code", "hr", "value", 80, "time",
                             "2026-01-01T00:00:00Z");
    obs_reading r;
    obs_error e;

    if (obs_parse_reading(item, &ctx, &r, &e) != 0)
        fail_msg("id \"%s\" rejected: %s", id, e.message);
    json_decref(item);
}

static void test_message_ids_unique(void **state)
{
    enum { RUNS = 4, PER_RUN = 5000 };
    static const struct {
        int64_t start_ms;
        uint64_t seed;
    } runs[RUNS] = {{1795000000000, 1}, {1795000000001, 1}, {1795000000000, 2}, {0, 1}};
    char **ids = calloc(RUNS * PER_RUN, sizeof *ids), prefix[64], id[OBS_ID_MAX + 1];
    size_t n = 0;

    (void)state;
    assert_non_null(ids);
    for (int r = 0; r < RUNS; r++) {
        assert_int_equal(model_msg_prefix(prefix, sizeof prefix, runs[r].start_ms, runs[r].seed),
                         0);
        for (uint64_t s = 0; s < PER_RUN; s++) {
            assert_int_equal(model_msg_id(id, sizeof id, prefix, s % 2 ? "n" : "", s), 0);
            ids[n++] = strdup(id);
        }
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate message id %s", ids[i]);
    check_id_valid(ids[0]);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);

    /* the longest possible id still fits OBS_ID_MAX and is accepted */
    assert_int_equal(model_msg_prefix(prefix, sizeof prefix, INT64_MAX, UINT64_MAX), 0);
    assert_int_equal(model_msg_id(id, sizeof id, prefix, "w999-", UINT64_MAX), 0);
    assert_true(strlen(id) <= OBS_ID_MAX);
    check_id_valid(id);
    /* too small a buffer is an error, not a truncated id */
    assert_int_equal(model_msg_id(id, 8, prefix, "", 1), -1);
    assert_int_equal(model_msg_prefix(prefix, 4, 1795000000000, 1), -1);
}

static void test_rng(void **state)
{
    model_rng a, b;

    (void)state;
    model_rng_seed(&a, 42, 54); /* PCG32's reference demo: seed 42, sequence 54 */
    assert_int_equal(model_rng_next(&a), 0xa15c02b7u);
    assert_int_equal(model_rng_next(&a), 0x7b47f409u);
    model_rng_seed(&a, 7, 1);
    model_rng_seed(&b, 7, 1);
    for (int i = 0; i < 1000; i++) {
        double x = model_rng_range(&a, 2, 3);
        assert_true(x >= 2 && x < 3);
        assert_true(x == model_rng_range(&b, 2, 3));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_dose_times),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_fever_peaks_2_to_4_h_after_each_dose),
        cmocka_unit_test(test_values_plausible),
        cmocka_unit_test(test_capillary_leak_builds_and_resolves),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_profiles_spread_over_beds),
        cmocka_unit_test(test_message_ids_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
