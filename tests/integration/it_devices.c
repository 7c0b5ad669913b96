/* it_devices: POST/GET /api/v1/devices, rotate-token and DELETE (docs/api.md
 * "Beds, patients, devices" and "Authentication and roles"): the token is
 * shown once and works, last_seen follows posts, a rotated or revoked
 * token is refused. auth.c caches device tokens: the tests that post
 * before a change (rotate, revoke, re-enrol on another bed) pin that the
 * cache never serves a principal the change replaced. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

/* POST /api/v1/readings with one valid hr reading; returns the status. */
static long post_one(wd_fixture *f, const char *token)
{
    json_t *items = json_pack(
        "[o]", wd_item(wd_uniq(f->s, "m"), "hr", json_integer(72), "/min", wd_now_ms() - 1000));
    return wd_post_readings(f->s, token, items)->status;
}

static wd_resp *create_device(wd_fixture *f, const char *serial, const char *bed)
{
    json_t *body = json_pack("{s:s, s:s}", "serial", serial, "model", "Test monitor");

    if (bed)
        json_object_set_new(body, "bed", json_string(bed));
    return wd_reqj(f->s, "POST", "/api/v1/devices", f->admin, body);
}

/* A new device on a new bed: its token, and its id in *id. */
static const char *new_device(wd_fixture *f, long long *id)
{
    wd_resp *r = create_device(f, wd_uniq(f->s, "SN-"), wd_new_bed(f));

    WD_EXPECT(r, 201);
    *id = WD_INT(r->json, "id");
    return WD_STR(r->json, "token");
}

static json_t *listed(wd_fixture *f, long long id)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/devices", f->admin, NULL);

    WD_EXPECT(r, 200);
    return wd_find_int(WD_LIST(r, "devices"), "id", id);
}

static void test_create_device(void **state)
{
    wd_fixture *f = fx(state);
    const char *serial = wd_uniq(f->s, "SN-");
    const char *bed = wd_new_bed(f);
    wd_resp *r = create_device(f, serial, bed);
    const char *token;
    long long id;

    WD_EXPECT(r, 201);
    id = WD_INT(r->json, "id");
    assert_string_equal(WD_STR(r->json, "serial"), serial);
    token = WD_STR(r->json, "token");
    if (strlen(token) < 22)
        fail_msg("device token \"%s\" is too short for 128 bits", token);
    /* The token works. */
    assert_int_equal(post_one(f, token), 201);
    /* Shown once: the list never shows it. */
    r = wd_req(f->s, "GET", "/api/v1/devices", f->admin, NULL);
    WD_EXPECT(r, 200);
    if (strstr(r->body, token))
        fail_msg("GET /api/v1/devices shows a device token");
    assert_non_null(wd_find_int(WD_LIST(r, "devices"), "id", id));
    assert_string_equal(WD_STR(wd_find_int(WD_LIST(r, "devices"), "id", id), "serial"), serial);
}

static void test_create_device_without_bed(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = create_device(f, wd_uniq(f->s, "SN-"), NULL);

    WD_EXPECT(r, 201);
    /* Its readings are kept, unassigned (docs/api.md Readings). */
    assert_int_equal(post_one(f, WD_STR(r->json, "token")), 201);
}

static void test_last_seen(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_device(f, &id);
    json_t *d;
    int64_t before, after, seen;

    d = listed(f, id);
    assert_non_null(d);
    if (!json_object_get(d, "last_seen"))
        fail_msg("GET /api/v1/devices lacks last_seen (docs/api.md)");
    assert_true(json_is_null(json_object_get(d, "last_seen")));
    before = wd_now_ms();
    assert_int_equal(post_one(f, token), 201);
    after = wd_now_ms();
    d = listed(f, id);
    seen = WD_TIME(d, "last_seen");
    if (seen < before - 2000 || seen > after + 2000)
        fail_msg("last_seen %s is not the time of the post (%s .. %s)", WD_STR(d, "last_seen"),
                 wd_iso(before), wd_iso(after));
}

static void test_duplicate_serial(void **state)
{
    wd_fixture *f = fx(state);
    const char *serial = wd_uniq(f->s, "SN-");

    WD_EXPECT(create_device(f, serial, NULL), 201);
    WD_EXPECT(create_device(f, serial, NULL), 409);
    WD_EXPECT(create_device(f, "MON-B1", NULL), 409);
}

static void test_invalid_device(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT_ERR(wd_reqj(f->s, "POST", "/api/v1/devices", f->admin, json_pack("{}")), 422,
                  "validation_failed");
    WD_EXPECT_ERR(
        wd_reqj(f->s, "POST", "/api/v1/devices", f->admin, json_pack("{s:s}", "serial", "")), 422,
        "validation_failed");
    WD_EXPECT_ERR(
        wd_reqj(f->s, "POST", "/api/v1/devices", f->admin, json_pack("{s:i}", "serial", 12)), 422,
        "validation_failed");
    /* A bed that does not exist (a reference in the body): docs/api.md says
     * 422; the test, older than that sentence, accepts 404 too. */
    WD_EXPECT_ONE_OF(create_device(f, wd_uniq(f->s, "SN-"), "NO-SUCH-BED"), 422, 404);
}

static void test_rotate_token(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *old_token = new_device(f, &id), *new_token;
    wd_resp *r;

    assert_int_equal(post_one(f, old_token), 201);
    r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/devices/%lld/rotate-token", id), f->admin,
               NULL);
    WD_EXPECT_ONE_OF(r, 200, 201);
    new_token = WD_STR(r->json, "token");
    assert_string_not_equal(new_token, old_token);
    if (strlen(new_token) < 22)
        fail_msg("rotated token \"%s\" is too short", new_token);
    WD_EXPECT_ERR(wd_post_readings(f->s, old_token,
                                   json_pack("[o]", wd_item("rot-1", "hr", json_integer(70), NULL,
                                                            wd_now_ms() - 1000))),
                  401, "unauthenticated");
    assert_int_equal(post_one(f, new_token), 201);
    /* Still the same device. */
    assert_non_null(listed(f, id));
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/devices/999999/rotate-token", f->admin, NULL), 404,
                  "not_found");
}

static void test_delete_device(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_device(f, &id);
    wd_resp *r;

    assert_int_equal(post_one(f, token), 201);
    WD_EXPECT_ONE_OF(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/devices/%lld", id), f->admin, NULL), 200,
        204);
    WD_EXPECT_ERR(wd_post_readings(f->s, token,
                                   json_pack("[o]", wd_item("del-1", "hr", json_integer(70), NULL,
                                                            wd_now_ms() - 1000))),
                  401, "unauthenticated");
    /* A revoked device cannot be brought back with rotate-token. */
    r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/devices/%lld/rotate-token", id), f->admin,
               NULL);
    if (r->status < 400)
        fail_msg("rotate-token revived a deleted device: %ld %s", r->status, r->body);
    WD_EXPECT_ERR(wd_req(f->s, "DELETE", "/api/v1/devices/999999", f->admin, NULL), 404,
                  "not_found");
    /* Other devices are unaffected. */
    assert_int_equal(post_one(f, f->device), 201);
}

/* The command line's token (fixture) works like the API's. */
static void test_cli_device_token(void **state)
{
    wd_fixture *f = fx(state);

    assert_int_equal(post_one(f, f->device), 201);
    assert_non_null(listed(f, f->device_id));
}

/* --- the token cache (auth.c) ------------------------------------------------------ */

/* A revoked device is moved to another bed by enrolling its serial again:
 * the next post with the new token is filed to the new bed's patient, and
 * the old token, used (and cached) just before, is refused. */
static void test_reenrol_on_another_bed(void **state)
{
    wd_fixture *f = fx(state);
    const char *serial = wd_uniq(f->s, "SN-"), *bed_a = wd_new_bed(f), *bed_b = wd_new_bed(f);
    int64_t hour_ago = wd_now_ms() - 3600000;
    long long pa = wd_admit(f, bed_a, hour_ago, NULL), pb = wd_admit(f, bed_b, hour_ago, NULL), id;
    const char *old_token, *new_token;
    wd_resp *r = create_device(f, serial, bed_a);
    json_t *got;

    WD_EXPECT(r, 201);
    id = WD_INT(r->json, "id");
    old_token = WD_STR(r->json, "token");
    for (int i = 0; i < 3; i++)
        assert_int_equal(post_one(f, old_token), 201);
    WD_EXPECT_ONE_OF(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/devices/%lld", id), f->admin, NULL), 200,
        204);
    r = create_device(f, serial, bed_b);
    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "id"), id);
    new_token = WD_STR(r->json, "token");
    /* post_one's readings are timed 1 s back, and a reading is filed by
     * where its device was at its own time (device_beds): let the move lie
     * more than 1 s in the past so that they are taken in bed B. */
    wd_sleep_ms(1100);
    assert_int_equal(post_one(f, old_token), 401);
    assert_int_equal(post_one(f, new_token), 201);
    assert_int_equal(post_one(f, new_token), 201);
    got = wd_all_readings(f->s, f->viewer, pa, NULL);
    if (json_array_size(got) != 3)
        fail_msg("bed A's patient should have the 3 readings from before the move, has %zu",
                 json_array_size(got));
    got = wd_all_readings(f->s, f->viewer, pb, NULL);
    if (json_array_size(got) != 2)
        fail_msg("bed B's patient should have the 2 readings after the move, has %zu",
                 json_array_size(got));
}

/* A token rotated twice in a row: only the newest works, each time. */
static void test_rotate_repeatedly(void **state)
{
    wd_fixture *f = fx(state);
    long long id;
    const char *token = new_device(f, &id);
    wd_resp *r;

    for (int round = 0; round < 3; round++) {
        const char *old = token;
        assert_int_equal(post_one(f, old), 201);
        r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/devices/%lld/rotate-token", id), f->admin,
                   NULL);
        WD_EXPECT_ONE_OF(r, 200, 201);
        token = WD_STR(r->json, "token");
        assert_int_equal(post_one(f, old), 401);
        assert_int_equal(post_one(f, token), 201);
        /* Another device's cached token keeps working. */
        assert_int_equal(post_one(f, f->device), 201);
    }
}

/* A device posting from several connections while it is revoked. */
struct poster {
    wd_client *client;
    const char *token;
    atomic_bool *stop;
    int id;
    /* Filled by the thread: requests sent after `revoked_ms` (set by the
     * main thread once the revocation's reply arrived) that were accepted. */
    _Atomic int64_t *revoked_ms;
    int before_ok, after, after_ok, other;
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    char body[256];

    for (int n = 0; !atomic_load(p->stop); n++) {
        int64_t sent = wd_mono_ms(), revoked = atomic_load(p->revoked_ms);
        long st;
        snprintf(body, sizeof body,
                 "{\"readings\": [{\"id\": \"race-%d-%d\", \"code\": \"hr\", "
                 "\"value\": 70, \"time\": \"%s\"}]}",
                 p->id, n, wd_iso(wd_now_ms() - 1000));
        st = wd_client_req(p->client, "POST", "/api/v1/readings", p->token, body, NULL);
        if (revoked && sent >= revoked) {
            p->after++;
            if (st != 401)
                p->after_ok++;
        } else if (st == 201) {
            p->before_ok++;
        } else if (st != 401) {
            p->other++;
        }
    }
    return NULL;
}

/* Revocation under load: every request sent after the DELETE's reply is
 * refused, on every connection (each MHD worker thread may hold the token
 * in the cache). */
static void test_revoke_under_load(void **state)
{
    enum { THREADS = 4 };
    wd_fixture *f = fx(state);
    struct poster posters[THREADS];
    pthread_t threads[THREADS];
    atomic_bool stop = false;
    _Atomic int64_t revoked_ms = 0;
    int before_ok = 0, after = 0, after_ok = 0, other = 0;
    long long id;
    const char *token = new_device(f, &id);

    for (int i = 0; i < THREADS; i++) {
        posters[i] = (struct poster){.client = wd_client_new(f->s),
                                     .token = token,
                                     .stop = &stop,
                                     .id = i,
                                     .revoked_ms = &revoked_ms};
        assert_int_equal(pthread_create(&threads[i], NULL, poster_main, &posters[i]), 0);
    }
    wd_sleep_ms(300);
    WD_EXPECT_ONE_OF(
        wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/devices/%lld", id), f->admin, NULL), 200,
        204);
    atomic_store(&revoked_ms, wd_mono_ms());
    wd_sleep_ms(300);
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        wd_client_free(posters[i].client);
        before_ok += posters[i].before_ok;
        after += posters[i].after;
        after_ok += posters[i].after_ok;
        other += posters[i].other;
    }
    if (before_ok == 0 || after == 0)
        fail_msg("the load did not span the revocation (%d accepted before, %d sent after)",
                 before_ok, after);
    if (after_ok != 0 || other != 0)
        fail_msg("%d of %d posts sent after the revocation were not refused with 401 "
                 "(%d unexpected statuses)",
                 after_ok, after, other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_device),
        cmocka_unit_test(test_create_device_without_bed),
        cmocka_unit_test(test_last_seen),
        cmocka_unit_test(test_duplicate_serial),
        cmocka_unit_test(test_invalid_device),
        cmocka_unit_test(test_rotate_token),
        cmocka_unit_test(test_delete_device),
        cmocka_unit_test(test_cli_device_token),
        cmocka_unit_test(test_reenrol_on_another_bed),
        cmocka_unit_test(test_rotate_repeatedly),
        cmocka_unit_test(test_revoke_under_load),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
