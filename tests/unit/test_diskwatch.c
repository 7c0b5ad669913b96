/* Unit tests for diskwatch's rule (docs/deploy.md "Storage"): the
 * threshold is the larger of a percentage of the filesystem and an
 * absolute floor, either of which may be switched off; a low disk is ok
 * again only 5 % above the threshold. The thread, the measurements and
 * the alert are tested end to end in tests/integration/it_disk.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "diskwatch.h"

#define GIB (1024ULL * 1024 * 1024)

static void test_threshold_is_the_larger_rule(void **state)
{
    (void)state;
    /* 10 % of 100 GiB (10 GiB) beats 2 GiB */
    assert_int_equal(diskwatch_threshold(100 * GIB, 10, (int64_t)(2 * GIB)), 10 * GIB);
    /* 10 % of 8 GiB (0.8 GiB) loses to 2 GiB */
    assert_int_equal(diskwatch_threshold(8 * GIB, 10, (int64_t)(2 * GIB)), 2 * GIB);
    /* either rule off */
    assert_int_equal(diskwatch_threshold(100 * GIB, 0, (int64_t)(2 * GIB)), 2 * GIB);
    assert_int_equal(diskwatch_threshold(100 * GIB, 10, 0), 10 * GIB);
    assert_int_equal(diskwatch_threshold(100 * GIB, 0, 0), 0);
    /* exact, and no overflow near the top of the range */
    assert_int_equal(diskwatch_threshold(1001, 10, 0), 100);
    assert_int_equal(diskwatch_threshold(UINT64_MAX, 99, 0),
                     UINT64_MAX / 100 * 99 + UINT64_MAX % 100 * 99 / 100);
}

static void test_low_below_threshold(void **state)
{
    (void)state;
    assert_int_equal(diskwatch_next(DISK_UNKNOWN, 999, 1000), DISK_LOW);
    assert_int_equal(diskwatch_next(DISK_OK, 999, 1000), DISK_LOW);
    assert_int_equal(diskwatch_next(DISK_OK, 1000, 1000), DISK_OK);
    assert_int_equal(diskwatch_next(DISK_UNKNOWN, 1000, 1000), DISK_OK);
    /* a threshold of 0 (both rules off) is never low */
    assert_int_equal(diskwatch_next(DISK_OK, 0, 0), DISK_OK);
}

static void test_recovery_needs_a_margin(void **state)
{
    (void)state;
    /* threshold 1000: ok again at 1050, not before */
    assert_int_equal(diskwatch_next(DISK_LOW, 1000, 1000), DISK_LOW);
    assert_int_equal(diskwatch_next(DISK_LOW, 1049, 1000), DISK_LOW);
    assert_int_equal(diskwatch_next(DISK_LOW, 1050, 1000), DISK_OK);
    /* the margin only holds a low disk low; an ok disk stays ok above the line */
    assert_int_equal(diskwatch_next(DISK_OK, 1010, 1000), DISK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_is_the_larger_rule),
        cmocka_unit_test(test_low_below_threshold),
        cmocka_unit_test(test_recovery_needs_a_margin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
