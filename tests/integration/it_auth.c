/* it_auth: sessions, cookies, bearer tokens, logout, disabled users, the
 * login rate limit, and the role matrix: every route of the server's table
 * (server/api/routes.c) against every kind of caller, with the answer docs/api.md
 * "Authentication and roles" requires (401 / 403 / allowed). */
#include "harness.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- helpers ------------------------------------------------------------------ */

static wd_fixture *fx(void **state)
{
    return *state;
}

static bool has_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);

    for (; *haystack; haystack++)
        if (strncasecmp(haystack, needle, n) == 0)
            return true;
    return false;
}

/* "name=value" of a Set-Cookie header (without attributes). */
static const char *cookie_pair(wd_server *s, const wd_resp *r)
{
    size_t n = strcspn(r->set_cookie, ";");

    return wd_path(s, "%.*s", (int)n, r->set_cookie);
}

static wd_resp *get_with_cookie(wd_server *s, const char *path, const char *pair)
{
    const char *hdr = wd_path(s, "Cookie: %s", pair);
    const char *const headers[] = {hdr, NULL};
    wd_raw_req q = {.method = "GET", .path = path, .headers = headers};

    return wd_raw(s, &q);
}

static wd_resp *login(wd_server *s, const char *user, const char *password)
{
    return wd_reqj(s, "POST", "/api/v1/session", NULL,
                   json_pack("{s:s, s:s}", "username", user, "password", password));
}

/* --- login, cookie, bearer --------------------------------------------------------- */

static void test_login_ok(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = login(f->s, WD_NURSE, WD_PASSWORD);
    const char *token;

    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "user.username"), WD_NURSE);
    assert_string_equal(WD_STR(r->json, "user.role"), "nurse");
    token = WD_STR(r->json, "token");
    /* >= 128 bits of randomness: at least 22 base64 characters. */
    if (strlen(token) < 22)
        fail_msg("session token \"%s\" is too short for 128 bits", token);
    if (strstr(r->body, WD_PASSWORD) || strstr(r->body, "argon2"))
        fail_msg("the login response shows the password or its hash: %s", r->body);
    if (!r->set_cookie[0])
        fail_msg("login sets no session cookie (docs/api.md)");
    if (!has_ci(r->set_cookie, "HttpOnly") || !has_ci(r->set_cookie, "SameSite=Strict") ||
        !has_ci(r->set_cookie, "Path=/"))
        fail_msg("session cookie \"%s\" lacks HttpOnly; SameSite=Strict; Path=/", r->set_cookie);
    /* Two logins, two different tokens. */
    r = login(f->s, WD_NURSE, WD_PASSWORD);
    WD_EXPECT(r, 200);
    assert_string_not_equal(WD_STR(r->json, "token"), token);
}

static void test_cookie_is_a_credential(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = login(f->s, WD_VIEWER, WD_PASSWORD);
    const char *pair;

    WD_EXPECT(r, 200);
    pair = cookie_pair(f->s, r);
    WD_EXPECT(get_with_cookie(f->s, "/api/v1/beds", pair), 200);
    /* A forged cookie is not. */
    WD_EXPECT_ERR(get_with_cookie(f->s, "/api/v1/beds",
                                  wd_path(f->s, "%.*sx", (int)strcspn(pair, "="), pair)),
                  401, "unauthenticated");
}

static void test_bearer_is_a_credential(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/beds", f->viewer, NULL), 200);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/beds", f->admin, NULL), 200);
}

static void test_bad_credentials_rejected(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    const char *const basic[] = {"Authorization: Basic bmluYTpwYXNzd29yZDEyMw==", NULL};
    wd_raw_req q = {.method = "GET", .path = "/api/v1/beds", .headers = basic};

    WD_EXPECT_ERR(wd_req(s, "GET", "/api/v1/beds", NULL, NULL), 401, "unauthenticated");
    WD_EXPECT_ERR(wd_req(s, "GET", "/api/v1/beds", "garbage", NULL), 401, "unauthenticated");
    WD_EXPECT_ERR(
        wd_req(s, "GET", "/api/v1/beds", "wdt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL),
        401, "unauthenticated");
    WD_EXPECT_ERR(wd_raw(s, &q), 401, "unauthenticated");
}

static void test_wrong_password_and_unknown_user(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *wrong = login(f->s, WD_PHYSICIAN, "not-the-password");
    wd_resp *unknown = login(f->s, "nobody-at-all", "not-the-password");

    WD_EXPECT_ERR(wrong, 401, "bad_credentials");
    WD_EXPECT_ERR(unknown, 401, "bad_credentials");
    /* The same answer, so user names cannot be probed. */
    assert_string_equal(WD_STR(wrong->json, "error.message"),
                        WD_STR(unknown->json, "error.message"));
    assert_null(wrong->json ? json_object_get(wrong->json, "token") : NULL);
    assert_false(wrong->set_cookie[0] && !has_ci(wrong->set_cookie, "Max-Age=0"));
}

static void test_logout(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    wd_resp *r = login(s, WD_NURSE, WD_PASSWORD);
    const char *token, *pair;

    WD_EXPECT(r, 200);
    token = WD_STR(r->json, "token");
    pair = cookie_pair(s, r);
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", token, NULL), 200);
    WD_EXPECT_ONE_OF(wd_req(s, "DELETE", "/api/v1/session", token, NULL), 200, 204);
    /* The token and its cookie are dead; other sessions of the user live. */
    WD_EXPECT_ERR(wd_req(s, "GET", "/api/v1/beds", token, NULL), 401, "unauthenticated");
    WD_EXPECT_ERR(get_with_cookie(s, "/api/v1/beds", pair), 401, "unauthenticated");
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", f->nurse, NULL), 200);
    /* Logging out again with the dead token: 401. */
    WD_EXPECT_ERR(wd_req(s, "DELETE", "/api/v1/session", token, NULL), 401, "unauthenticated");
}

static void test_logout_with_cookie(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    wd_resp *r = login(s, WD_VIEWER, WD_PASSWORD);
    const char *token, *pair;
    const char *hdr;

    WD_EXPECT(r, 200);
    token = WD_STR(r->json, "token");
    pair = cookie_pair(s, r);
    hdr = wd_path(s, "Cookie: %s", pair);
    {
        /* A browser sends its Origin with a DELETE (CSRF: docs/security.md). */
        const char *const headers[] = {hdr, wd_path(s, "Origin: http://127.0.0.1:%u", wd_port(s)),
                                       NULL};
        wd_raw_req q = {.method = "DELETE", .path = "/api/v1/session", .headers = headers};
        WD_EXPECT_ONE_OF(wd_raw(s, &q), 200, 204);
    }
    WD_EXPECT_ERR(wd_req(s, "GET", "/api/v1/beds", token, NULL), 401, "unauthenticated");
}

/* A disabled user cannot log in, and the sessions it had end. */
static void test_disabled_user(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    const char *name = wd_uniq(s, "dis");
    const char *token;

    wd_user_add(s, name, "viewer", WD_PASSWORD);
    token = wd_login(s, name, WD_PASSWORD);
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", token, NULL), 200);
    WD_EXPECT(wd_reqj(s, "PATCH", wd_path(s, "/api/v1/users/%s", name), f->admin,
                      json_pack("{s:b}", "disabled", 1)),
              200);
    WD_EXPECT_ERR(wd_req(s, "GET", "/api/v1/beds", token, NULL), 401, "unauthenticated");
    WD_EXPECT(login(s, name, WD_PASSWORD), 401);
    /* Enabled again: may log in again (the old session stays dead). */
    WD_EXPECT(wd_reqj(s, "PATCH", wd_path(s, "/api/v1/users/%s", name), f->admin,
                      json_pack("{s:b}", "disabled", 0)),
              200);
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", wd_login(s, name, WD_PASSWORD), NULL), 200);
}

/* A changed password: the old one no longer works, the new one does. */
static void test_password_change(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    const char *name = wd_uniq(s, "pwc");

    wd_user_add(s, name, "nurse", WD_PASSWORD);
    WD_EXPECT(wd_reqj(s, "PATCH", wd_path(s, "/api/v1/users/%s", name), f->admin,
                      json_pack("{s:s}", "password", "another-long-password")),
              200);
    WD_EXPECT_ERR(login(s, name, WD_PASSWORD), 401, "bad_credentials");
    WD_EXPECT(login(s, name, "another-long-password"), 200);
}

/* Repeated failures are rate limited with 429 + Retry-After. On a server
 * of its own: the limit may well apply to the whole client address. */
static void test_login_rate_limit(void **state)
{
    wd_server *s = wd_start(NULL);
    wd_resp *r = NULL;
    int i;
    (void)state;

    wd_user_add(s, "victim", "nurse", WD_PASSWORD);
    for (i = 0; i < 60; i++) {
        r = login(s, "victim", "wrong-password-guess");
        if (r->status == 429)
            break;
        WD_EXPECT_ERR(r, 401, "bad_credentials");
    }
    if (i == 60)
        fail_msg("60 wrong passwords in a row and still no 429 (docs/api.md: rate limited)");
    WD_EXPECT_ERR(r, 429, "rate_limited");
    {
        char *end = NULL;
        long secs = strtol(r->retry_after, &end, 10);
        if (secs <= 0 || *end)
            fail_msg("Retry-After \"%s\" is not a positive number of seconds", r->retry_after);
    }
    wd_stop(s);
}

/* Under TLS the session cookie is also Secure (docs/api.md). */
static void test_tls_cookie_secure(void **state)
{
    wd_server *s = wd_start_tls(NULL);
    wd_resp *r;
    (void)state;

    wd_user_add(s, "tls.nurse", "nurse", WD_PASSWORD);
    r = login(s, "tls.nurse", WD_PASSWORD);
    WD_EXPECT(r, 200);
    if (!has_ci(r->set_cookie, "Secure") || !has_ci(r->set_cookie, "HttpOnly") ||
        !has_ci(r->set_cookie, "SameSite=Strict"))
        fail_msg("session cookie under TLS \"%s\" lacks Secure; HttpOnly; SameSite=Strict",
                 r->set_cookie);
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", WD_STR(r->json, "token"), NULL), 200);
    wd_stop(s);
}

/* --- the role matrix ------------------------------------------------------------------- */

/* Who may call a route, per docs/api.md (not per the server's table). */
typedef enum need {
    PUBLIC,
    DEVICE,
    VIEWER,
    NURSE,
    PHYSICIAN,
    ADMIN,
    DEVICE_OR_NURSE /* FHIR creates (docs/fhir.md) */
} need;

typedef struct api_route {
    const char *method;
    const char *pattern;
    need need;
    const char *body; /* harmless body for the allowed callers; NULL: none */
    bool stream;      /* never ends (SSE): a status line is enough */
} api_route;

/* docs/api.md, route by route. The bodies are chosen so that an allowed caller
 * changes nothing of the fixture (ids that do not exist, invalid bodies). */
static const api_route api_routes[] = {
    {"GET", "/api/v1/audit", ADMIN, NULL, false},
    {"GET", "/api/v1/beds", VIEWER, NULL, false},
    {"POST", "/api/v1/beds", ADMIN, "{}", false},
    {"GET", "/api/v1/devices", ADMIN, NULL, false},
    {"POST", "/api/v1/devices", ADMIN, "{}", false},
    {"DELETE", "/api/v1/devices/{}", ADMIN, NULL, false},
    {"POST", "/api/v1/devices/{}/rotate-token", ADMIN, NULL, false},
    {"GET", "/api/v1/patients", VIEWER, NULL, false},
    {"POST", "/api/v1/patients", NURSE, "{}", false},
    {"GET", "/api/v1/patients/{}", VIEWER, NULL, false},
    {"PATCH", "/api/v1/patients/{}", NURSE, "{\"name\":\"Nobody\"}", false},
    {"POST", "/api/v1/patients/{}/discharge", NURSE, NULL, false},
    {"POST", "/api/v1/patients/{}/observations", NURSE, "{\"readings\":[]}", false},
    {"GET", "/api/v1/patients/{}/readings", VIEWER, NULL, false},
    {"GET", "/api/v1/patients/{}/series", VIEWER, NULL, false},
    {"POST", "/api/v1/patients/{}/transfer", NURSE, "{\"bed\":\"B3\"}", false},
    {"GET", "/api/v1/patients/{}/toxicity", VIEWER, NULL, false},
    {"GET", "/api/v1/patients/{}/doses", VIEWER, NULL, false},
    {"POST", "/api/v1/patients/{}/doses", NURSE, "{}", false},
    {"GET", "/api/v1/patients/{}/responses", VIEWER, NULL, false},
    {"POST", "/api/v1/patients/{}/responses", PHYSICIAN, "{}", false},
    {"GET", "/api/v1/catalogue", VIEWER, NULL, false},
    {"POST", "/api/v1/readings", DEVICE, "{\"readings\":[]}", false},
    {"POST", "/api/v1/readings/{}/invalidate", NURSE, "{\"reason\":\"matrix\"}", false},
    {"POST", "/api/v1/readings/{}/reinstate", PHYSICIAN, NULL, false},
    {"DELETE", "/api/v1/session", VIEWER, NULL, false},
    {"GET", "/api/v1/session", VIEWER, NULL, false},
    {"POST", "/api/v1/session", PUBLIC, "{}", false},
    {"GET", "/api/v1/users", ADMIN, NULL, false},
    {"POST", "/api/v1/users", ADMIN, "{}", false},
    {"PATCH", "/api/v1/users/{}", ADMIN, "{\"role\":\"viewer\"}", false},
    {"GET", "/api/v1/ward", VIEWER, NULL, false},
    {"GET", "/api/v1/handover", VIEWER, NULL, false},
    {"GET", "/api/v1/screens", VIEWER, NULL, false},
    {"POST", "/api/v1/screens/heartbeat", VIEWER, "{}", false},
    {"POST", "/api/v1/screens/{}/pause", NURSE, NULL, false},
    {"GET", "/api/v1/stations", ADMIN, NULL, false},
    {"POST", "/api/v1/stations", ADMIN, "{}", false},
    {"DELETE", "/api/v1/stations/{}", ADMIN, NULL, false},
    {"GET", "/api/v1/alerts", VIEWER, NULL, false},
    {"POST", "/api/v1/alerts/{}/ack", NURSE, "{\"note\":\"matrix\"}", false},
    {"GET", "/api/v1/events", VIEWER, NULL, true},
    {"GET", "/api/v1/rules", VIEWER, NULL, false},
    {"GET", "/api/v1/rules/versions", VIEWER, NULL, false},
    {"PUT", "/api/v1/rules", ADMIN, "{}", false},
    {"GET", "/api/v1/openapi.json", PUBLIC, NULL, false},
    /* HL7 v2 feeds, bed locations, device EUI-64s (docs/hl7.md) */
    {"GET", "/api/v1/feeds", ADMIN, NULL, false},
    {"POST", "/api/v1/feeds", ADMIN, "{}", false},
    {"PATCH", "/api/v1/feeds/{}", ADMIN, "{}", false},
    {"DELETE", "/api/v1/feeds/{}", ADMIN, NULL, false},
    {"PATCH", "/api/v1/beds/{}", ADMIN, "{}", false},
    {"GET", "/api/v1/bed-locations", ADMIN, NULL, false},
    {"PATCH", "/api/v1/devices/{}", ADMIN, "{}", false},
    {"GET", "/api/v1/technical-alerts", VIEWER, NULL, false},
    {"POST", "/api/v1/technical-alerts/{}/resolve", NURSE, "{}", false},
    {"GET", "/healthz", PUBLIC, NULL, false},
    {"GET", "/readyz", PUBLIC, NULL, false},
    {"GET", "/metrics", PUBLIC, NULL, false},
    /* docs/fhir.md: read viewer; create a device or nurse and up */
    {"POST", "/fhir", DEVICE_OR_NURSE, "{}", false},
    {"POST", "/fhir/", DEVICE_OR_NURSE, "{}", false},
    {"GET", "/fhir/DetectedIssue", VIEWER, NULL, false},
    {"GET", "/fhir/DetectedIssue/{}", VIEWER, NULL, false},
    {"GET", "/fhir/Device", VIEWER, NULL, false},
    {"GET", "/fhir/Device/{}", VIEWER, NULL, false},
    {"GET", "/fhir/Observation", VIEWER, NULL, false},
    {"POST", "/fhir/Observation", DEVICE_OR_NURSE, "{}", false},
    {"GET", "/fhir/Observation/$lastn", VIEWER, NULL, false},
    {"GET", "/fhir/Observation/{}", VIEWER, NULL, false},
    {"GET", "/fhir/Observation/{}/_history/{}", VIEWER, NULL, false},
    {"GET", "/fhir/Patient", VIEWER, NULL, false},
    {"GET", "/fhir/Patient/{}", VIEWER, NULL, false},
    {"GET", "/fhir/metadata", PUBLIC, NULL, false},
};

typedef enum caller {
    C_NONE,
    C_BAD,
    C_DEVICE,
    C_VIEWER,
    C_NURSE,
    C_PHYSICIAN,
    C_ADMIN,
    C_COUNT
} caller;

static const char *const caller_names[] = {"no credentials", "invalid token", "device", "viewer",
                                           "nurse",          "physician",     "admin"};

/* 401, 403, or 0 for "allowed" (anything but 401/403). */
static long expected(need n, caller c)
{
    if (n == PUBLIC)
        return 0;
    if (c == C_NONE || c == C_BAD)
        return 401;
    if (n == DEVICE)
        return c == C_DEVICE ? 0 : 403;
    if (n == DEVICE_OR_NURSE)
        return c == C_DEVICE || c >= C_NURSE ? 0 : 403;
    if (c == C_DEVICE)
        return 403;
    return (int)c - (int)C_VIEWER >= (int)n - (int)VIEWER ? 0 : 403;
}

static const api_route *api_route_for(const char *method, const char *pattern)
{
    for (size_t i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++)
        if (strcmp(api_routes[i].method, method) == 0 &&
            strcmp(api_routes[i].pattern, pattern) == 0)
            return &api_routes[i];
    return NULL;
}

/* The pattern with each {} replaced by an identifier that does not exist. */
static const char *concrete(wd_server *s, const char *pattern)
{
    char out[512];
    size_t n = 0;
    bool users = strncmp(pattern, "/api/v1/users/", 14) == 0;

    for (const char *p = pattern; *p && n < sizeof out - 32; p++) {
        if (p[0] == '{' && p[1] == '}') {
            n +=
                (size_t)snprintf(out + n, sizeof out - n, "%s", users ? "nobody-matrix" : "999999");
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return wd_path(s, "%s", out);
}

static void test_role_matrix(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    char problems[8192] = "";
    size_t plen = 0;
    int nproblems = 0, nchecked = 0;

    for (size_t i = 0; i < route_count; i++) {
        const struct route *rt = &route_table[i];
        const api_route *a = api_route_for(rt->method, rt->pattern);
        const char *path;

        if (!a) {
            plen += (size_t)snprintf(problems + plen, sizeof problems - plen,
                                     "  %s %s: in the route table but not in docs/api.md's roles "
                                     "(add a row to api_routes)\n",
                                     rt->method, rt->pattern);
            nproblems++;
            continue;
        }
        path = concrete(s, rt->pattern);
        for (caller c = C_NONE; c < C_COUNT; c++) {
            const char *tokens[C_COUNT] = {
                NULL,      "wdt_not-a-real-token-at-all-xxxxxxxxxxxxxxxxxxx",
                f->device, f->viewer,
                f->nurse,  f->physician,
                f->admin};
            long want = expected(a->need, c);
            wd_raw_req q = {.method = a->method,
                            .path = path,
                            .token = tokens[c],
                            .content_type = a->body ? "application/json" : NULL,
                            .body = a->body,
                            .body_len = a->body ? strlen(a->body) : 0,
                            .max_ms = a->stream ? 5000 : 0};
            wd_resp *r;
            bool ok;

            if (c == C_BAD && a->need == PUBLIC)
                continue; /* docs/api.md says nothing of bad tokens on public routes */
            /* Logging out must not end the fixture's sessions. */
            if (strcmp(a->method, "DELETE") == 0 && strcmp(a->pattern, "/api/v1/session") == 0 &&
                c >= C_VIEWER) {
                static const char *const users[] = {WD_VIEWER, WD_NURSE, WD_PHYSICIAN, WD_ADMIN};
                q.token = wd_login(s, users[c - C_VIEWER], WD_PASSWORD);
            }
            r = wd_raw(s, &q);
            nchecked++;
            ok = want == 0 ? (r->status != 401 && r->status != 403) : r->status == want;
            /* under /fhir the refusal is an OperationOutcome (docs/fhir.md) */
            if (ok && want && strncmp(path, "/fhir", 5) == 0)
                ok = strcmp(WD_STR(r->json, "issue.0.code"), want == 401 ? "login" : "forbidden") ==
                     0;
            else if (ok && want == 401)
                ok = strcmp(WD_STR(r->json, "error.code"), "unauthenticated") == 0;
            else if (ok && want == 403)
                ok = strcmp(WD_STR(r->json, "error.code"), "forbidden") == 0;
            if (!ok) {
                plen += (size_t)snprintf(
                    problems + plen, sizeof problems - plen, "  %s %s as %s: want %s, got %ld %s\n",
                    a->method, path, caller_names[c],
                    want == 0 ? "allowed" : (want == 401 ? "401 unauthenticated" : "403 forbidden"),
                    r->status,
                    json_string_value(wd_get(r->json, "error.code"))
                        ? json_string_value(wd_get(r->json, "error.code"))
                        : "");
                nproblems++;
            }
            if (plen >= sizeof problems - 200)
                plen = sizeof problems - 200;
        }
        wd_gc(s);
    }
    /* The fixture's sessions survived the matrix. */
    WD_EXPECT(wd_req(s, "GET", "/api/v1/beds", f->viewer, NULL), 200);
    print_message("role matrix: %d requests, %zu routes\n", nchecked, route_count);
    if (nproblems)
        fail_msg("role matrix: %d problem(s):\n%s", nproblems, problems);
}

/* docs/api.md routes the server does not route yet (informational). */
static void test_api_routes_present(void **state)
{
    char missing[4096] = "";
    size_t n = 0;
    (void)state;

    for (size_t i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++) {
        bool found = false;
        for (size_t j = 0; j < route_count && !found; j++)
            found = strcmp(route_table[j].method, api_routes[i].method) == 0 &&
                    strcmp(route_table[j].pattern, api_routes[i].pattern) == 0;
        if (!found && n < sizeof missing - 100)
            n += (size_t)snprintf(missing + n, sizeof missing - n, "  %s %s\n",
                                  api_routes[i].method, api_routes[i].pattern);
    }
    if (n)
        print_message("docs/api.md routes not in the route table yet (not checked):\n%s", missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_matrix),
        cmocka_unit_test(test_api_routes_present),
        cmocka_unit_test(test_login_ok),
        cmocka_unit_test(test_cookie_is_a_credential),
        cmocka_unit_test(test_bearer_is_a_credential),
        cmocka_unit_test(test_bad_credentials_rejected),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_logout_with_cookie),
        cmocka_unit_test(test_password_change),
        cmocka_unit_test(test_disabled_user),
        cmocka_unit_test(test_wrong_password_and_unknown_user),
        cmocka_unit_test(test_login_rate_limit),
        cmocka_unit_test(test_tls_cookie_secure),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
