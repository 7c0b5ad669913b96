/* Unit tests for the core helpers clock (monotonic time, deadlines for
 * pthread_cond_timedwait) and envnum (integer settings from the
 * environment). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "envnum.h"

static int64_t ts_ms(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_mono_moves_forward(void **state)
{
    int64_t a = clock_mono_ms();
    uint64_t n = clock_mono_ns();
    struct timespec pause = {0, 20 * 1000 * 1000};
    (void)state;

    nanosleep(&pause, NULL);
    assert_true(clock_mono_ms() - a >= 20);
    assert_true(clock_mono_ns() - n >= 20u * 1000 * 1000);
}

static void test_after_is_normalised_and_ahead(void **state)
{
    (void)state;
    for (int64_t ms = 0; ms <= 2500; ms += 250) {
        int64_t now = clock_mono_ms();
        struct timespec t = clock_mono_after(ms);
        assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
        assert_true(ts_ms(t) >= now + ms);
        assert_true(ts_ms(t) <= clock_mono_ms() + ms);
    }
}

/* A timed wait on a condition from clock_cond_init_mono() with a deadline
 * from clock_mono_after() times out after about that long: both use the
 * same clock (a mismatch would return at once or wait for ages). */
static void test_cond_waits_on_the_monotonic_clock(void **state)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    struct timespec until;
    int64_t t0;
    int rc;
    (void)state;

    assert_int_equal(clock_cond_init_mono(&c), 0);
    pthread_mutex_lock(&mu);
    t0 = clock_mono_ms();
    until = clock_mono_after(50);
    do
        rc = pthread_cond_timedwait(&c, &mu, &until);
    while (rc == 0);
    pthread_mutex_unlock(&mu);
    assert_int_equal(rc, ETIMEDOUT);
    assert_true(clock_mono_ms() - t0 >= 49);
    assert_true(clock_mono_ms() - t0 < 5000);
    pthread_cond_destroy(&c);
}

static void test_env_number(void **state)
{
    (void)state;
    unsetenv("WARDD_TEST_N");
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7);
    setenv("WARDD_TEST_N", "", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7);
    setenv("WARDD_TEST_N", "42", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 42);
    setenv("WARDD_TEST_N", "1", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 1); /* bounds included */
    setenv("WARDD_TEST_N", "100", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 100);
    setenv("WARDD_TEST_N", "0", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7); /* below min */
    setenv("WARDD_TEST_N", "101", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7); /* above max */
    setenv("WARDD_TEST_N", "12ms", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7); /* not a number */
    setenv("WARDD_TEST_N", "99999999999999999999999", 1);
    assert_int_equal(env_number("WARDD_TEST_N", 7, 1, 100), 7); /* overflow */
    unsetenv("WARDD_TEST_N");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_moves_forward),
        cmocka_unit_test(test_after_is_normalised_and_ahead),
        cmocka_unit_test(test_cond_waits_on_the_monotonic_clock),
        cmocka_unit_test(test_env_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
