/* it_users: GET/POST /api/v1/users and PATCH /api/v1/users/{username}
 * (docs/api.md "Users"): creation, the password policy, roles, duplicates,
 * changes of role and password, disabling, the last administrator, the
 * audit trail of those changes, and where the passwords are hashed. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

static wd_resp *create_user(wd_fixture *f, const char *name, const char *password, const char *role)
{
    return wd_reqj(
        f->s, "POST", "/api/v1/users", f->admin,
        json_pack("{s:s, s:s, s:s}", "username", name, "password", password, "role", role));
}

static wd_resp *patch_user(wd_fixture *f, const char *token, const char *name, json_t *body)
{
    return wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/users/%s", name), token, body);
}

static void no_secrets(const wd_resp *r, const char *password)
{
    if (strstr(r->body, "$argon2") || strstr(r->body, password) || strstr(r->body, "pw_hash") ||
        strstr(r->body, "\"password\""))
        fail_msg("%s %s shows a password or its hash: %s", r->method, r->path, r->body);
}

/* --- creation -------------------------------------------------------------------- */

static void test_create_user(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "user");
    wd_resp *r = create_user(f, name, "a-long-password-1", "nurse");
    json_t *u;

    WD_EXPECT(r, 201);
    no_secrets(r, "a-long-password-1");
    /* The new user logs in with its role. */
    r = wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                json_pack("{s:s, s:s}", "username", name, "password", "a-long-password-1"));
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "user.role"), "nurse");
    /* And is listed, without secrets. */
    r = wd_req(f->s, "GET", "/api/v1/users", f->admin, NULL);
    WD_EXPECT(r, 200);
    no_secrets(r, "a-long-password-1");
    u = wd_find(WD_LIST(r, "users"), "username", name);
    if (!u)
        fail_msg("GET /api/v1/users does not list %s: %s", name, r->body);
    assert_string_equal(WD_STR(u, "role"), "nurse");
    /* The fixture's users are listed with their roles. */
    assert_string_equal(WD_STR(wd_find(WD_LIST(r, "users"), "username", WD_ADMIN), "role"),
                        "admin");
    assert_string_equal(WD_STR(wd_find(WD_LIST(r, "users"), "username", WD_VIEWER), "role"),
                        "viewer");
}

static void test_every_role_can_be_created(void **state)
{
    static const char *const roles[] = {"viewer", "nurse", "physician", "admin"};
    wd_fixture *f = fx(state);

    for (size_t i = 0; i < 4; i++) {
        const char *name = wd_uniq(f->s, "role");
        WD_EXPECT(create_user(f, name, WD_PASSWORD, roles[i]), 201);
        /* Keep a single enabled admin besides the fixture's: demote it. */
        if (strcmp(roles[i], "admin") == 0)
            WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:s}", "role", "viewer")), 200);
    }
}

/* docs/api.md: passwords of at least 10 characters. */
static void test_password_policy(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "pw"), "short", "viewer"), 422, "validation_failed");
    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "pw"), "123456789", "viewer"), 422,
                  "validation_failed");
    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "pw"), "", "viewer"), 422, "validation_failed");
    WD_EXPECT(create_user(f, wd_uniq(f->s, "pw"), "1234567890", "viewer"), 201);
    /* Characters, not bytes: 5 two-byte characters are too few, 10 enough. */
    WD_EXPECT_ERR(
        create_user(f, wd_uniq(f->s, "pw"), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "viewer"),
        422, "validation_failed");
    WD_EXPECT(create_user(f, wd_uniq(f->s, "pw"),
                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                          "\xa9\xc3\xa9",
                          "viewer"),
              201);
}

static void test_bad_role(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "r"), WD_PASSWORD, "superuser"), 422,
                  "validation_failed");
    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "r"), WD_PASSWORD, "device"), 422,
                  "validation_failed");
    WD_EXPECT_ERR(create_user(f, wd_uniq(f->s, "r"), WD_PASSWORD, "Admin"), 422,
                  "validation_failed");
    WD_EXPECT_ERR(
        wd_reqj(f->s, "POST", "/api/v1/users", f->admin,
                json_pack("{s:s, s:s}", "username", wd_uniq(f->s, "r"), "password", WD_PASSWORD)),
        422, "validation_failed");
}

static void test_bad_username(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT_ERR(create_user(f, "", WD_PASSWORD, "viewer"), 422, "validation_failed");
    WD_EXPECT_ERR(wd_reqj(f->s, "POST", "/api/v1/users", f->admin,
                          json_pack("{s:s, s:s}", "password", WD_PASSWORD, "role", "viewer")),
                  422, "validation_failed");
    WD_EXPECT_ERR(wd_reqj(f->s, "POST", "/api/v1/users", f->admin,
                          json_pack("{s:i, s:s, s:s}", "username", 42, "password", WD_PASSWORD,
                                    "role", "viewer")),
                  422, "validation_failed");
}

static void test_duplicate_user(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "dup");

    WD_EXPECT(create_user(f, name, WD_PASSWORD, "viewer"), 201);
    WD_EXPECT(create_user(f, name, "another-password", "nurse"), 409);
    WD_EXPECT(create_user(f, WD_ADMIN, WD_PASSWORD, "viewer"), 409);
    /* The original is unchanged. */
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                      json_pack("{s:s, s:s}", "username", name, "password", WD_PASSWORD)),
              200);
}

/* --- changes --------------------------------------------------------------------------- */

static void test_patch_role(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "promo");
    const char *token;
    wd_resp *r;

    WD_EXPECT(create_user(f, name, WD_PASSWORD, "viewer"), 201);
    token = wd_login(f->s, name, WD_PASSWORD);
    WD_EXPECT_ERR(wd_reqj(f->s, "POST", "/api/v1/patients", token, json_pack("{}")), 403,
                  "forbidden");
    WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:s}", "role", "nurse")), 200);
    r = wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                json_pack("{s:s, s:s}", "username", name, "password", WD_PASSWORD));
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "user.role"), "nurse");
    /* The new role applies to the new session: a nurse may admit (422 for
     * an empty body, not 403). */
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/patients", WD_STR(r->json, "token"), json_pack("{}")),
              422);
    r = wd_req(f->s, "GET", "/api/v1/users", f->admin, NULL);
    assert_string_equal(WD_STR(wd_find(WD_LIST(r, "users"), "username", name), "role"), "nurse");
}

static void test_patch_disabled(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "off");
    wd_resp *r;
    json_t *u;

    WD_EXPECT(create_user(f, name, WD_PASSWORD, "viewer"), 201);
    WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:b}", "disabled", 1)), 200);
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                      json_pack("{s:s, s:s}", "username", name, "password", WD_PASSWORD)),
              401);
    r = wd_req(f->s, "GET", "/api/v1/users", f->admin, NULL);
    u = wd_find(WD_LIST(r, "users"), "username", name);
    assert_non_null(u);
    assert_true(json_is_true(wd_get(u, "disabled")));
}

static void test_patch_invalid(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "inv");

    WD_EXPECT(create_user(f, name, WD_PASSWORD, "viewer"), 201);
    WD_EXPECT_ERR(patch_user(f, f->admin, name, json_pack("{s:s}", "role", "root")), 422,
                  "validation_failed");
    WD_EXPECT_ERR(patch_user(f, f->admin, name, json_pack("{s:s}", "password", "short")), 422,
                  "validation_failed");
    WD_EXPECT_ERR(patch_user(f, f->admin, name, json_pack("{s:s}", "disabled", "yes")), 422,
                  "validation_failed");
    WD_EXPECT_ERR(patch_user(f, f->admin, "no-such-user", json_pack("{s:s}", "role", "nurse")), 404,
                  "not_found");
    /* Nothing changed: still a viewer with the old password. */
    {
        wd_resp *r = wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                             json_pack("{s:s, s:s}", "username", name, "password", WD_PASSWORD));
        WD_EXPECT(r, 200);
        assert_string_equal(WD_STR(r->json, "user.role"), "viewer");
    }
}

/* Every state change by a person is audited (docs/api.md), and the audit shows
 * no password. */
static void test_user_changes_are_audited(void **state)
{
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "aud");
    wd_resp *r;

    WD_EXPECT(create_user(f, name, "audited-password-1", "viewer"), 201);
    WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:s}", "role", "nurse")), 200);
    WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:s}", "password", "audited-password-2")),
              200);
    r = wd_req(f->s, "GET", "/api/v1/audit", f->admin, NULL);
    WD_EXPECT(r, 200);
    if (!strstr(r->body, name))
        fail_msg("the audit log does not mention user %s: %.2000s", name, r->body);
    if (!strstr(r->body, WD_ADMIN))
        fail_msg("the audit log does not name who changed user %s", name);
    no_secrets(r, "audited-password-1");
    no_secrets(r, "audited-password-2");
}

/* --- the last administrator ----------------------------------------------------------------- */

/* A server with exactly one user, an administrator. */
static int lone_admin_setup(void **state)
{
    wd_fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    f->s = wd_start(NULL);
    wd_user_add(f->s, "root.admin", "admin", WD_PASSWORD);
    f->admin = wd_login(f->s, "root.admin", WD_PASSWORD);
    *state = f;
    return 0;
}

static void test_last_admin_protected(void **state)
{
    wd_fixture *f = fx(state);
    const char *second;

    WD_EXPECT(patch_user(f, f->admin, "root.admin", json_pack("{s:s}", "role", "nurse")), 409);
    WD_EXPECT(patch_user(f, f->admin, "root.admin", json_pack("{s:b}", "disabled", 1)), 409);
    /* Still an administrator. */
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/users", f->admin, NULL), 200);
    /* With a second administrator, the first may step down ... */
    WD_EXPECT(create_user(f, "second.admin", WD_PASSWORD, "admin"), 201);
    second = wd_login(f->s, "second.admin", WD_PASSWORD);
    WD_EXPECT(patch_user(f, second, "root.admin", json_pack("{s:s}", "role", "physician")), 200);
    f->admin = second; /* root.admin's session is a physician's now */
    /* ... and then the second is the last one. */
    WD_EXPECT(patch_user(f, second, "second.admin", json_pack("{s:s}", "role", "viewer")), 409);
    WD_EXPECT(patch_user(f, second, "second.admin", json_pack("{s:b}", "disabled", 1)), 409);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/users", second, NULL), 200);
    /* A disabled administrator does not count: disable one of two. */
    WD_EXPECT(create_user(f, "third.admin", WD_PASSWORD, "admin"), 201);
    WD_EXPECT(patch_user(f, second, "third.admin", json_pack("{s:b}", "disabled", 1)), 200);
    WD_EXPECT(patch_user(f, second, "second.admin", json_pack("{s:s}", "role", "viewer")), 409);
}

/* Eight administrators create the same user at once: one 201, seven 409. */
static void test_race_create_same_user(void **state)
{
    wd_fixture *f = fx(state);
    const char *body =
        wd_path(f->s, "{\"username\":\"%s\",\"password\":\"%s\",\"role\":\"viewer\"}",
                wd_uniq(f->s, "race"), WD_PASSWORD);
    long st[8];
    int won = 0, conflict = 0;

    wd_race(f->s, 8, "POST", "/api/v1/users", f->admin, body, st, NULL);
    for (int i = 0; i < 8; i++) {
        if (st[i] == 201)
            won++;
        else if (st[i] == 409)
            conflict++;
        else
            fail_msg("racing user creation %d: HTTP %ld", i, st[i]);
    }
    assert_int_equal(won, 1);
    assert_int_equal(conflict, 7);
}

/* Passwords an admin sets are hashed on the password-hashing pool, as
 * log-ins are (docs/security.md "Ingest is never starved"), not on the
 * HTTP worker that serves the request, where argon2id would hold up the
 * devices' posts: the wd-hash threads' CPU time grows by the hashes' cost
 * (argon2id, 19 MiB, 2 passes: tens of ms each), the workers' does not.
 * The new password is the one that logs in. */
static void test_passwords_hashed_on_the_pool(void **state)
{
    enum { CHANGES = 8 };
    wd_fixture *f = fx(state);
    const char *name = wd_uniq(f->s, "pooled");
    char password[32] = "";
    long pool, workers;

    WD_EXPECT(create_user(f, name, "a-long-password-0", "nurse"), 201);
    pool = wd_thread_ticks(f->s, "wd-hash");
    workers = wd_thread_ticks(f->s, "MHD-worker");
    for (int i = 1; i <= CHANGES; i++) {
        snprintf(password, sizeof password, "a-long-password-%d", i);
        WD_EXPECT(patch_user(f, f->admin, name, json_pack("{s:s}", "password", password)), 200);
    }
    pool = wd_thread_ticks(f->s, "wd-hash") - pool;
    workers = wd_thread_ticks(f->s, "MHD-worker") - workers;
    if (pool < 3 || pool <= workers)
        fail_msg("%d password changes took %ld ticks of the hashing pool and %ld of the HTTP "
                 "workers: the hashing did not run on the pool",
                 CHANGES, pool, workers);
    WD_EXPECT(wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                      json_pack("{s:s, s:s}", "username", name, "password", password)),
              200);
    WD_EXPECT_ERR(
        wd_reqj(f->s, "POST", "/api/v1/session", NULL,
                json_pack("{s:s, s:s}", "username", name, "password", "a-long-password-0")),
        401, "bad_credentials");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_user),
        cmocka_unit_test(test_every_role_can_be_created),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_bad_role),
        cmocka_unit_test(test_bad_username),
        cmocka_unit_test(test_duplicate_user),
        cmocka_unit_test(test_race_create_same_user),
        cmocka_unit_test(test_patch_role),
        cmocka_unit_test(test_patch_disabled),
        cmocka_unit_test(test_patch_invalid),
        cmocka_unit_test(test_user_changes_are_audited),
        cmocka_unit_test(test_passwords_hashed_on_the_pool),
        cmocka_unit_test_setup_teardown(test_last_admin_protected, lone_admin_setup,
                                        wd_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
