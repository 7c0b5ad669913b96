/* it_drift: device clock drift against the real daemon (drift.h,
 * docs/clinical.md "Device clock drift"). A monitor whose readings run 3
 * minutes behind (or 2.5 ahead of) the server's receipt raises one
 * device_clock alert naming the device and the offset, resolved once its
 * clock is back; a monitor catching up after a reconnect does not; the
 * margin is configurable; a bad --clock-drift-margin is refused. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC_MS 1000LL
#define MIN_MS 60000LL

static int setup(void **state)
{
    setenv("WARDD_CLINICAL_TICK_MS", "150", 1);
    *state = wd_fixture_new();
    unsetenv("WARDD_CLINICAL_TICK_MS");
    return 0;
}

static int teardown(void **state)
{
    wd_fixture_free((wd_fixture *)*state);
    return 0;
}

/* One batch from MON-B1 whose readings are `n` heart rates ending at
 * `newest`. Batches are a few ms apart, as a monitor's are seconds apart: a
 * batch bringing no newer reading than the last is not a live sample. */
static void post_batch(wd_fixture *f, int64_t newest, int n, int64_t spacing)
{
    json_t *items = json_array();

    wd_sleep_ms(5);
    for (int i = n - 1; i >= 0; i--)
        json_array_append_new(
            items, wd_item(wd_uniq(f->s, "d"), "hr", json_integer(80), NULL, newest - i * spacing));
    WD_EXPECT(wd_post_readings(f->s, f->device, items), 201);
}

/* The device_clock alert of MON-B1 in `state`, or NULL. */
static json_t *clock_alert(wd_fixture *f, const char *state)
{
    wd_resp *r =
        wd_req(f->s, "GET", wd_path(f->s, "/api/v1/alerts?state=%s", state), f->viewer, NULL);
    json_t *a;
    size_t i;

    WD_EXPECT(r, 200);
    json_array_foreach(WD_ARR(r->json, "alerts"), i, a)
    {
        if (strcmp(WD_STR(a, "kind"), "device_clock") == 0 &&
            json_integer_value(json_object_get(a, "device_id")) == f->device_id)
            return a;
    }
    return NULL;
}

static json_t *wait_clock_alert(wd_fixture *f, const char *state)
{
    for (int k = 0; k < 200; k++) {
        json_t *a = clock_alert(f, state);
        if (a)
            return a;
        wd_sleep_ms(25);
    }
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/alerts?state=all", f->viewer, NULL);
    wd_dump_log(f->s);
    fail_msg("no %s device_clock alert for MON-B1; alerts: %s", state, r->body);
    return NULL;
}

static void test_behind_raised_then_resolved(void **state)
{
    wd_fixture *f = *state;
    json_t *a;

    wd_admit(f, "B1", wd_now_ms() - 10 * MIN_MS, NULL);
    /* four batches are not enough to judge */
    for (int i = 0; i < 4; i++)
        post_batch(f, wd_now_ms() - 3 * MIN_MS, 3, SEC_MS);
    wd_sleep_ms(600);
    assert_null(clock_alert(f, "all"));
    post_batch(f, wd_now_ms() - 3 * MIN_MS, 3, SEC_MS);
    a = wait_clock_alert(f, "active");
    assert_string_equal(WD_STR(a, "bed"), "B1");
    assert_non_null(strstr(WD_STR(a, "message"), "MON-B1"));
    assert_non_null(strstr(WD_STR(a, "message"), "3 min 0 s behind")); /* arrival adds */
    /* the clock is set right: five live batches later the alert resolves */
    for (int i = 0; i < 5; i++)
        post_batch(f, wd_now_ms(), 3, SEC_MS);
    a = wait_clock_alert(f, "resolved");
    assert_non_null(a);
    assert_null(clock_alert(f, "active"));
}

static void test_ahead(void **state)
{
    wd_fixture *f = *state;
    json_t *a;

    wd_admit(f, "B1", wd_now_ms() - 10 * MIN_MS, NULL);
    for (int i = 0; i < 5; i++)
        post_batch(f, wd_now_ms() + 150 * SEC_MS, 2, SEC_MS);
    a = wait_clock_alert(f, "active");
    /* 150 s less the time the batch took to arrive */
    assert_true(strstr(WD_STR(a, "message"), "2 min 30 s ahead") ||
                strstr(WD_STR(a, "message"), "2 min 29 s ahead"));
}

/* A monitor back after 30 minutes sends its buffer in batches of three
 * minutes each, back to back, then live: no alert at any point. */
static void test_catch_up_is_not_drift(void **state)
{
    wd_fixture *f = *state;
    int64_t back = wd_now_ms();

    wd_admit(f, "B1", back - 60 * MIN_MS, NULL);
    for (int k = 9; k >= 1; k--)
        post_batch(f, back - k * 3 * MIN_MS, 36, 5 * SEC_MS);
    for (int i = 0; i < 5; i++) {
        post_batch(f, wd_now_ms(), 2, SEC_MS);
        wd_sleep_ms(200);
    }
    wd_sleep_ms(600);
    assert_null(clock_alert(f, "all"));
}

/* The margin is configurable: 5 minutes tolerates 3 behind. */
static void test_margin_configurable(void **state)
{
    wd_fixture *f;
    (void)state;

    setenv("WARDD_CLINICAL_TICK_MS", "150", 1);
    setenv("WARDD_CLOCK_DRIFT_MARGIN_MS", "300000", 1);
    f = wd_fixture_new();
    unsetenv("WARDD_CLOCK_DRIFT_MARGIN_MS");
    unsetenv("WARDD_CLINICAL_TICK_MS");
    wd_admit(f, "B1", wd_now_ms() - 10 * MIN_MS, NULL);
    for (int i = 0; i < 6; i++)
        post_batch(f, wd_now_ms() - 3 * MIN_MS, 2, SEC_MS);
    wd_sleep_ms(800);
    assert_null(clock_alert(f, "all"));
    wd_fixture_free(f);
}

static void test_bad_margin_flag(void **state)
{
    wd_fixture *f = *state;
    char db[1024];

    snprintf(db, sizeof db, "%s/other.db", wd_dir(f->s));
    assert_int_not_equal(wd_cli(f->s, NULL, NULL, "serve", "--db", db, "--listen", "127.0.0.1:0",
                                "--clock-drift-margin", "0", (char *)NULL),
                         0);
    assert_int_not_equal(wd_cli(f->s, NULL, NULL, "serve", "--db", db, "--listen", "127.0.0.1:0",
                                "--clock-drift-margin", "two", (char *)NULL),
                         0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_behind_raised_then_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_is_not_drift, setup, teardown),
        cmocka_unit_test(test_margin_configurable),
        cmocka_unit_test_setup_teardown(test_bad_margin_flag, setup, teardown),
    };

    return cmocka_run_group_tests_name("device clock drift", tests, NULL, NULL);
}
