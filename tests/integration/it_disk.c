/* it_disk: the database's disk, before it fills (docs/deploy.md
 * "Storage"; docs/api.md "Operations" and "Technical alerts").
 *
 * This machine's disk has tens of GiB free, so a disk that is "low" is
 * made by the threshold: --disk-warn-bytes 1 PiB. The checks run every
 * second (--disk-check-interval 1) and the tests wait on the counter
 * wardd_db_disk_checks_total, never on the clock: "exactly one alert after
 * several checks" means after the counter moved on by several. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define PIB "1125899906842624"
#define GIB (1024LL * 1024 * 1024)

static const char *const low_args[] = {"--disk-warn-bytes", PIB, "--disk-check-interval", "1",
                                       NULL};
static const char *const default_args[] = {"--disk-check-interval", "1", NULL};

/* The value of an unlabelled metric line "NAME VALUE"; fails when absent. */
static long long metric(const wd_resp *r, const char *name)
{
    char key[128];
    const char *at;

    snprintf(key, sizeof key, "\n%s ", name);
    at = strstr(r->body, key);
    if (!at)
        fail_msg("/metrics lacks %s:\n%s", name, r->body);
    return strtoll(at + strlen(key), NULL, 10);
}

static long long checks(wd_server *s)
{
    wd_resp *r = wd_req(s, "GET", "/metrics", NULL, NULL);

    WD_EXPECT(r, 200);
    return metric(r, "wardd_db_disk_checks_total");
}

/* Waits until `more` further disk checks have completed; fails after
 * max_ms. */
static void wait_checks_within(wd_server *s, long long more, long max_ms)
{
    long long want = checks(s) + more;

    for (long waited = 0; waited < max_ms && checks(s) < want; waited += 50)
        wd_sleep_ms(50);
    if (checks(s) < want)
        fail_msg("the disk check did not run %lld more times within %ld ms", more, max_ms);
}

static void wait_checks(wd_server *s, long long more)
{
    wait_checks_within(s, more, 15000);
}

/* The disk_low technical alerts, newest first. */
static json_t *disk_alerts(wd_fixture *f)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/technical-alerts", f->viewer, NULL);
    json_t *all, *out = wd_keep(f->s, json_array()), *a;
    size_t i;

    WD_EXPECT(r, 200);
    all = WD_LIST(r, "alerts");
    json_array_foreach(all, i, a)
    {
        if (strcmp(WD_STR(a, "kind"), "disk_low") == 0)
            json_array_append(out, a);
    }
    return out;
}

/* Waits (bounded) until the event stream's replay from the start holds a
 * technical_alert event that contains both `has` and `also`. */
static void expect_tech_event(wd_fixture *f, const char *has, const char *also)
{
    char req[1024];
    int len = snprintf(req, sizeof req,
                       "GET /api/v1/events?last_event_id=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
                       f->viewer);

    for (int i = 0; i < 20; i++) {
        wd_resp *r = wd_sock(f->s, req, (size_t)len, 500);
        for (const char *ev = strstr(r->body, "event: technical_alert"); ev;
             ev = strstr(ev + 1, "event: technical_alert")) {
            const char *end = strstr(ev, "\n\n");
            size_t n = end ? (size_t)(end - ev) : strlen(ev);
            char *one = strndup(ev, n);
            bool hit = one && strstr(one, has) && strstr(one, also);
            free(one);
            if (hit)
                return;
        }
    }
    fail_msg("no technical_alert event with %s and %s on the event stream", has, also);
}

/* ... of kind disk_low in `state`. */
static void expect_disk_event(wd_fixture *f, const char *state)
{
    char want[64];

    snprintf(want, sizeof want, "\"state\":\"%s\"", state);
    expect_tech_event(f, "\"kind\":\"disk_low\"", want);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* main file + WAL, as the test sees them */
static uint64_t db_size(wd_server *s)
{
    char wal[700];

    snprintf(wal, sizeof wal, "%s-wal", wd_db(s));
    return file_size(wd_db(s)) + file_size(wal);
}

static json_t *readyz_disk(wd_server *s)
{
    wd_resp *r = wd_req(s, "GET", "/readyz", NULL, NULL);

    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "status"), "ready");
    return WD_OBJ(r->json, "disk");
}

static void test_low_disk(void **state)
{
    wd_fixture *f;
    json_t *disk, *alerts;
    const char *msg;
    (void)state;

    wd_serve_args(low_args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    /* low, but ready: writes still succeed */
    disk = readyz_disk(f->s);
    assert_string_equal(WD_STR(disk, "state"), "low");
    assert_int_equal(WD_INT(disk, "threshold_bytes"), atoll(PIB));
    assert_true(WD_INT(disk, "free_bytes") > 0);
    assert_true(WD_INT(disk, "free_bytes") <= WD_INT(disk, "size_bytes"));
    assert_true(WD_INT(disk, "db_bytes") > 0);
    WD_EXPECT(wd_post_readings(f->s, f->device,
                               json_pack("[o]", wd_item("disk-1", "hr", json_integer(80), NULL,
                                                        wd_now_ms() - 1000))),
              201);

    /* several checks later, still exactly one alert */
    wait_checks(f->s, 3);
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    assert_string_equal(WD_STR(json_array_get(alerts, 0), "state"), "active");
    assert_true(json_is_null(wd_get(json_array_get(alerts, 0), "feed_id")));
    msg = WD_STR(json_array_get(alerts, 0), "message");
    if (!strstr(msg, "free of") || !strstr(msg, "1.0 PiB"))
        fail_msg("the disk_low message does not give free space and threshold: %s", msg);
    expect_disk_event(f, "active");
    {
        wd_resp *m = wd_req(f->s, "GET", "/metrics", NULL, NULL);
        assert_int_equal(metric(m, "wardd_db_disk_low"), 1);
        assert_int_equal(metric(m, "wardd_db_fs_threshold_bytes"), atoll(PIB));
    }

    /* a restart while the disk is still low raises no second alert */
    wd_restart(f->s);
    wd_fixture_login(f);
    assert_string_equal(WD_STR(readyz_disk(f->s), "state"), "low");
    wait_checks(f->s, 2);
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    assert_string_equal(WD_STR(json_array_get(alerts, 0), "state"), "active");
    wd_fixture_free(f);
}

/* Space "recovers" when wardd starts again with the default thresholds:
 * the alert is resolved by wardd and no new one is raised. */
static void test_recovery_resolves(void **state)
{
    wd_fixture *f;
    wd_server *old;
    json_t *alerts;
    long long id;
    (void)state;

    wd_serve_args(low_args);
    f = wd_fixture_new();
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    id = WD_INT(json_array_get(alerts, 0), "id");
    wd_kill9(f->s); /* keeps the directory and database */
    old = f->s;
    wd_serve_args(default_args);
    f->s = wd_start(wd_db(old));
    wd_serve_args(NULL);
    wd_fixture_login(f);
    assert_string_equal(WD_STR(readyz_disk(f->s), "state"), "ok");
    wait_checks(f->s, 2);
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    assert_int_equal(WD_INT(json_array_get(alerts, 0), "id"), id);
    assert_string_equal(WD_STR(json_array_get(alerts, 0), "state"), "resolved");
    expect_disk_event(f, "resolved");
    wd_fixture_free(f);
    wd_stop(old); /* not running: removes its directory */
}

/* A nurse resolves the alert by hand: the resolution is published at once
 * (every screen drops the line), and the still-low disk raises no new one. */
static void test_resolve_by_hand(void **state)
{
    wd_fixture *f;
    json_t *alerts;
    char want[64];
    long long id;
    (void)state;

    wd_serve_args(low_args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    id = WD_INT(json_array_get(alerts, 0), "id");
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/technical-alerts/%lld/resolve", id),
                      f->nurse, json_pack("{s:s}", "note", "archived and moved to a larger disk")),
              200);
    snprintf(want, sizeof want, "\"id\":%lld", id);
    expect_tech_event(f, want, "\"state\":\"resolved\"");
    expect_tech_event(f, want, "\"by\":\"" WD_NURSE "\"");
    wait_checks(f->s, 2);
    alerts = disk_alerts(f);
    assert_int_equal(json_array_size(alerts), 1);
    assert_string_equal(WD_STR(json_array_get(alerts, 0), "state"), "resolved");
    wd_fixture_free(f);
}

/* With the defaults on this machine the disk is ok; the gauges agree
 * with what the test measures itself. */
static void test_defaults_and_gauges(void **state)
{
    wd_fixture *f;
    json_t *disk;
    wd_resp *m;
    struct statvfs vfs;
    uint64_t before, after, lo, hi, thr, size, fs_size;
    long long db_bytes, free_b, size_b;
    (void)state;

    wd_serve_args(default_args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    disk = readyz_disk(f->s);
    size = (uint64_t)WD_INT(disk, "size_bytes");
    thr = size / 10 > (uint64_t)(2 * GIB) ? size / 10 : (uint64_t)(2 * GIB);
    assert_int_equal(WD_INT(disk, "threshold_bytes"), thr);
    if ((uint64_t)WD_INT(disk, "free_bytes") < thr + thr / 20)
        fail_msg("this machine's disk has only %lld bytes free (threshold %llu): the test "
                 "needs a disk that is not low",
                 WD_INT(disk, "free_bytes"), (unsigned long long)thr);
    assert_string_equal(WD_STR(disk, "state"), "ok");
    wait_checks(f->s, 2);
    assert_int_equal(json_array_size(disk_alerts(f)), 0);

    /* the gauges: the database's files as stat sees them around the scrape */
    before = db_size(f->s);
    m = wd_req(f->s, "GET", "/metrics", NULL, NULL);
    after = db_size(f->s);
    WD_EXPECT(m, 200);
    db_bytes = metric(m, "wardd_db_bytes");
    free_b = metric(m, "wardd_db_fs_free_bytes");
    size_b = metric(m, "wardd_db_fs_size_bytes");
    lo = before < after ? before : after;
    hi = before < after ? after : before;
    if (db_bytes <= 0 || (uint64_t)db_bytes < lo || (uint64_t)db_bytes > hi)
        fail_msg("wardd_db_bytes %lld, the files measure %llu..%llu", db_bytes,
                 (unsigned long long)lo, (unsigned long long)hi);
    assert_true(free_b > 0 && size_b > 0 && free_b <= size_b);
    assert_int_equal(statvfs(wd_dir(f->s), &vfs), 0);
    fs_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    assert_int_equal((uint64_t)size_b, fs_size);
    assert_int_equal(metric(m, "wardd_db_disk_low"), 0);
    assert_non_null(strstr(m->body, "# TYPE wardd_db_fs_free_bytes gauge"));
    wd_fixture_free(f);
}

/* The settings also come from the config file (README "Configuration"). */
static void test_config_file(void **state)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], conf[600];
    const char *args[] = {"--config", conf, NULL};
    FILE *fp;
    wd_server *s;
    (void)state;

    snprintf(dir, sizeof dir, "%s/wardd-disk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/wardd.conf", dir);
    fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp,
            "# a disk that is always low\ndisk-warn-bytes = %s\ndisk-warn-percent = 0\n"
            "disk-check-interval = 1\n",
            PIB);
    assert_int_equal(fclose(fp), 0);
    wd_serve_args(args);
    s = wd_start(NULL);
    wd_serve_args(NULL);
    {
        json_t *disk = readyz_disk(s);
        assert_string_equal(WD_STR(disk, "state"), "low");
        assert_int_equal(WD_INT(disk, "threshold_bytes"), atoll(PIB));
    }
    /* the interval came from the file too: 1 s, not the default 10 */
    wait_checks_within(s, 2, 6000);
    wd_stop(s);
    assert_int_equal(remove(conf), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* Out-of-range settings are refused before anything starts. */
static void test_bad_settings(void **state)
{
    wd_server *s = wd_start(NULL);
    char db[700];
    (void)state;

    snprintf(db, sizeof db, "%s/other.db", wd_dir(s));
    assert_int_not_equal(wd_cli(s, NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db,
                                "--disk-warn-percent", "100", (char *)NULL),
                         0);
    assert_int_not_equal(wd_cli(s, NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db,
                                "--disk-warn-bytes", "-1", (char *)NULL),
                         0);
    assert_int_not_equal(wd_cli(s, NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db,
                                "--disk-check-interval", "0", (char *)NULL),
                         0);
    wd_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_low_disk),        cmocka_unit_test(test_recovery_resolves),
        cmocka_unit_test(test_resolve_by_hand), cmocka_unit_test(test_defaults_and_gauges),
        cmocka_unit_test(test_config_file),     cmocka_unit_test(test_bad_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
