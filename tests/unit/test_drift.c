/* test_drift: the device clock drift judge (drift.h): five live batches
 * judged together by their median, a steady offset beyond the margin is
 * drift, a catch-up after a reconnect is not, and the per-device samples
 * count only batches that bring newer readings. */
#include "drift.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define S   1000LL
#define MIN (60 * S)
#define M   (2 * MIN) /* the default margin */

static void test_needs_five_samples(void **state)
{
    const int64_t s[] = {-5 * MIN, -5 * MIN, -5 * MIN, -5 * MIN};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(s, 0, M, &med), DRIFT_UNKNOWN);
    assert_int_equal(drift_judge(s, 4, M, &med), DRIFT_UNKNOWN);
}

static void test_steady_offset_beyond_margin_is_drift(void **state)
{
    const int64_t behind[] = {-181 * S, -180 * S, -182 * S, -180 * S, -181 * S};
    const int64_t ahead[] = {150 * S, 151 * S, 150 * S, 149 * S, 150 * S};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(behind, 5, M, &med), DRIFT_OFF);
    assert_int_equal(med, -181 * S);
    assert_int_equal(drift_judge(ahead, 5, M, &med), DRIFT_OFF);
    assert_int_equal(med, 150 * S);
}

static void test_margin_is_inclusive(void **state)
{
    const int64_t at[] = {-M, -M, -M, -M, -M};
    const int64_t past[] = {-M - 1, -M - 1, -M - 1, -M - 1, -M - 1};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(at, 5, M, &med), DRIFT_IN_TIME);
    assert_int_equal(drift_judge(past, 5, M, &med), DRIFT_OFF);
}

static void test_one_bad_batch_is_not_drift(void **state)
{
    /* one batch 10 min off among in-time ones: the median ignores it, and
     * the spread makes the window unknown rather than in time */
    const int64_t s[] = {-1 * S, -1 * S, -10 * MIN, -2 * S, -1 * S};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(s, 5, M, &med), DRIFT_UNKNOWN);
    assert_int_equal(med, -1 * S);
}

static void test_catch_up_is_not_drift(void **state)
{
    /* a device back after 30 min sends its buffer: each batch is a few
     * minutes of readings sent back to back, so its lag shrinks by minutes
     * per batch; that is age, not a wrong clock */
    const int64_t s[] = {-27 * MIN, -24 * MIN, -21 * MIN, -18 * MIN, -15 * MIN};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(s, 5, M, &med), DRIFT_UNKNOWN);
}

static void test_only_last_five_count(void **state)
{
    const int64_t s[] = {-10 * MIN, -10 * MIN, -10 * MIN, -1 * S, -1 * S, 0, -2 * S, -1 * S};
    int64_t med;
    (void)state;

    assert_int_equal(drift_judge(s, 8, M, &med), DRIFT_IN_TIME);
    assert_int_equal(med, -1 * S);
}

static void test_describe(void **state)
{
    char buf[64];
    (void)state;

    drift_describe(-200 * S, buf, sizeof buf);
    assert_string_equal(buf, "3 min 20 s behind");
    drift_describe(45 * S, buf, sizeof buf);
    assert_string_equal(buf, "45 s ahead");
}

/* The registry: live batches only, per device; the condition names the
 * device and the offset. */
static void test_condition_from_notes(void **state)
{
    rules_alerts cfg;
    alert_cond c;
    int64_t now = 1780000000000LL;
    (void)state;

    memset(&cfg, 0, sizeof cfg);
    cfg.device_priority = RULES_PRIO_MEDIUM;
    drift_reset();
    drift_set_margin_ms(M);
    for (int i = 0; i < 5; i++)
        drift_note(7, now + i * MIN - 3 * MIN, now + i * MIN);
    /* a re-sent batch (nothing newer) is not a sample; another device's
     * notes are its own */
    drift_note(7, now, now + 10 * MIN);
    drift_note(8, now, now);
    assert_true(drift_condition(&cfg, 7, "MON-7", "B7", &c));
    assert_true(c.present);
    assert_int_equal(c.kind, ALERT_KIND_DEVICE_CLOCK);
    assert_int_equal(c.device_id, 7);
    assert_string_equal(c.key, "d7:clock");
    assert_non_null(strstr(c.message, "MON-7"));
    assert_non_null(strstr(c.message, "3 min 0 s behind"));
    /* device 8: one sample, unknown (neither raise nor clear) */
    assert_true(drift_condition(&cfg, 8, "MON-8", "B8", &c));
    assert_false(c.present);
    /* back in time: five live batches at the server's time */
    for (int i = 0; i < 5; i++)
        drift_note(7, now + (20 + i) * MIN, now + (20 + i) * MIN + 500);
    assert_false(drift_condition(&cfg, 7, "MON-7", "B7", &c));
    drift_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_five_samples),
        cmocka_unit_test(test_steady_offset_beyond_margin_is_drift),
        cmocka_unit_test(test_margin_is_inclusive),
        cmocka_unit_test(test_one_bad_batch_is_not_drift),
        cmocka_unit_test(test_catch_up_is_not_drift),
        cmocka_unit_test(test_only_last_five_count),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_condition_from_notes),
    };

    return cmocka_run_group_tests_name("drift", tests, NULL, NULL);
}
