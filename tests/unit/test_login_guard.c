/* test_login_guard: the log-in failure counting of server/api/login_guard.c
 * (docs/security.md "Lockout that protects without locking out"). Times
 * are given, so every delay is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../server/api/login_guard.h"

#include <stdio.h>

#define T0 ((int64_t)10 * 24 * 3600 * 1000) /* any monotonic time */

static int reset(void **state)
{
    (void)state;
    login_guard_reset();
    return 0;
}

/* 5 free failures per pair, then 1 s, 2 s, 4 s ... */
static void test_growing_delays(void **state)
{
    int64_t now = T0;
    (void)state;

    for (int i = 0; i < LOGIN_PAIR_FREE; i++) {
        assert_int_equal(login_guard_wait_ms("phil", "10.0.0.1", now), 0);
        assert_int_equal(login_guard_failed("phil", "10.0.0.1", now), 0);
    }
    assert_int_equal(login_guard_failed("phil", "10.0.0.1", now), 1000);
    assert_int_equal(login_guard_wait_ms("phil", "10.0.0.1", now + 999), 1);
    assert_int_equal(login_guard_wait_ms("phil", "10.0.0.1", now + 1000), 0);
    now += 1000;
    assert_int_equal(login_guard_failed("phil", "10.0.0.1", now), 2000);
    now += 2000;
    assert_int_equal(login_guard_failed("phil", "10.0.0.1", now), 4000);
    /* Capped at 15 min. */
    for (int i = 0; i < 20; i++) {
        now += LOGIN_DELAY_MAX;
        assert_true(login_guard_failed("phil", "10.0.0.1", now) <= LOGIN_DELAY_MAX);
    }
    assert_int_equal(login_guard_wait_ms("phil", "10.0.0.1", now), LOGIN_DELAY_MAX);
}

/* Another address is not slowed by the first one's failures. */
static void test_other_address_unaffected(void **state)
{
    (void)state;
    for (int i = 0; i < LOGIN_PAIR_FREE + 3; i++)
        login_guard_failed("phil", "10.0.0.1", T0);
    assert_true(login_guard_wait_ms("phil", "10.0.0.1", T0) > 0);
    assert_int_equal(login_guard_wait_ms("phil", "10.0.0.2", T0), 0);
    assert_int_equal(login_guard_wait_ms("nina", "10.0.0.1", T0), 0);
}

/* An address guessing many names waits after LOGIN_ADDR_FREE failures. */
static void test_address_limit(void **state)
{
    char name[32];
    (void)state;

    for (int i = 0; i < LOGIN_ADDR_FREE; i++) {
        snprintf(name, sizeof name, "junk%d", i);
        assert_int_equal(login_guard_failed(name, "10.0.0.9", T0), 0);
    }
    assert_int_equal(login_guard_failed("junk-last", "10.0.0.9", T0), 1000);
    assert_true(login_guard_wait_ms("anyone", "10.0.0.9", T0) > 0);
    assert_int_equal(login_guard_wait_ms("anyone", "10.0.0.10", T0), 0);
}

/* Thousands of failures on other names and addresses never reset a pair
 * that is waiting (the old table evicted after 1,024 names). */
static void test_not_evicted_while_recent(void **state)
{
    char name[32], addr[32];
    int64_t w;
    (void)state;

    for (int i = 0; i < LOGIN_PAIR_FREE + 9; i++)
        login_guard_failed("admin", "10.0.0.1", T0 + i);
    w = login_guard_wait_ms("admin", "10.0.0.1", T0 + 100);
    assert_true(w > 60000);
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "junk%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.%d", 1 + i / 65536, (i / 256) % 256, i % 256);
        login_guard_failed(name, addr, T0 + 100);
    }
    assert_int_equal(login_guard_wait_ms("admin", "10.0.0.1", T0 + 100), w);
}

/* A success clears its pair, not the address; a stale key starts over. */
static void test_success_and_expiry(void **state)
{
    (void)state;
    for (int i = 0; i < LOGIN_PAIR_FREE + 1; i++)
        login_guard_failed("nina", "10.0.0.3", T0);
    login_guard_succeeded("nina", "10.0.0.3");
    assert_int_equal(login_guard_wait_ms("nina", "10.0.0.3", T0), 0);
    for (int i = 0; i < LOGIN_PAIR_FREE + 1; i++)
        login_guard_failed("vic", "10.0.0.4", T0);
    /* Long after the window, the pair counts from zero again. */
    assert_int_equal(login_guard_wait_ms("vic", "10.0.0.4", T0 + LOGIN_WINDOW_MS + 2000), 0);
    assert_int_equal(login_guard_failed("vic", "10.0.0.4", T0 + LOGIN_WINDOW_MS + 2000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_growing_delays, reset),
        cmocka_unit_test_setup(test_other_address_unaffected, reset),
        cmocka_unit_test_setup(test_address_limit, reset),
        cmocka_unit_test_setup(test_not_evicted_while_recent, reset),
        cmocka_unit_test_setup(test_success_and_expiry, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
