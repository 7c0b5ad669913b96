/* Unit tests for route.c (matching, 404 vs 405 + Allow) and the role
 * ladder in http.c, against a small table and the real one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "route.h"

static enum MHD_Result h_dummy(struct req *r)
{
    (void)r;
    return MHD_YES;
}

static const struct route table[] = {
    {"GET", "/api/v1/beds", ROLE_VIEWER, BODY_NONE, h_dummy},
    {"POST", "/api/v1/beds", ROLE_ADMIN, BODY_JSON, h_dummy},
    {"GET", "/api/v1/patients/{}", ROLE_VIEWER, BODY_NONE, h_dummy},
    {"PATCH", "/api/v1/patients/{}", ROLE_NURSE, BODY_JSON, h_dummy},
    {"GET", "/api/v1/patients/{}/readings", ROLE_VIEWER, BODY_NONE, h_dummy},
};
#define N (sizeof table / sizeof table[0])

static route_outcome match(const char *method, const char *path, const struct route **found,
                           char params[][REQ_PARAM_LEN], int *np, char *allow)
{
    return route_match(table, N, method, path, found, params, np, allow, 64);
}

static void test_exact_and_params(void **state)
{
    const struct route *found = NULL;
    char params[REQ_MAX_PARAMS][REQ_PARAM_LEN];
    char allow[64];
    int np = -1;
    (void)state;

    assert_int_equal(match("GET", "/api/v1/beds", &found, params, &np, allow), ROUTE_FOUND);
    assert_ptr_equal(found, &table[0]);
    assert_int_equal(np, 0);
    assert_int_equal(match("GET", "/api/v1/patients/42/readings", &found, params, &np, allow),
                     ROUTE_FOUND);
    assert_ptr_equal(found, &table[4]);
    assert_int_equal(np, 1);
    assert_string_equal(params[0], "42");
}

static void test_405_lists_methods(void **state)
{
    const struct route *found = NULL;
    char params[REQ_MAX_PARAMS][REQ_PARAM_LEN];
    char allow[64];
    int np = 0;
    (void)state;

    assert_int_equal(match("DELETE", "/api/v1/beds", &found, params, &np, allow), ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET, HEAD, POST");
    assert_int_equal(match("POST", "/api/v1/patients/7", &found, params, &np, allow),
                     ROUTE_NO_METHOD);
    assert_string_equal(allow, "GET, HEAD, PATCH");
}

static void test_head_matches_get(void **state)
{
    const struct route *found = NULL;
    char params[REQ_MAX_PARAMS][REQ_PARAM_LEN];
    char allow[64];
    int np = 0;
    (void)state;

    assert_int_equal(match("HEAD", "/api/v1/beds", &found, params, &np, allow), ROUTE_FOUND);
    assert_ptr_equal(found, &table[0]);
}

static void test_404_cases(void **state)
{
    const struct route *found = NULL;
    char params[REQ_MAX_PARAMS][REQ_PARAM_LEN];
    char allow[64], longseg[300];
    int np = 0;
    (void)state;

    assert_int_equal(match("GET", "/api/v1/bed", &found, params, &np, allow), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/api/v1/beds/", &found, params, &np, allow), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/api/v1/patients/", &found, params, &np, allow), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/api/v1/patients//readings", &found, params, &np, allow),
                     ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/api/v1/patients/1/2", &found, params, &np, allow),
                     ROUTE_NO_PATH);
    assert_int_equal(match("GET", "", &found, params, &np, allow), ROUTE_NO_PATH);
    /* A segment longer than a parameter can hold never matches. */
    memset(longseg, 'x', sizeof longseg);
    memcpy(longseg, "/api/v1/patients/", 17);
    longseg[sizeof longseg - 1] = '\0';
    assert_int_equal(match("GET", longseg, &found, params, &np, allow), ROUTE_NO_PATH);
}

static void test_real_table_is_sorted_and_unique(void **state)
{
    (void)state;
    for (size_t i = 1; i < route_count; i++) {
        int c = strcmp(route_table[i - 1].pattern, route_table[i].pattern);
        assert_true(c <= 0);
        if (c == 0)
            assert_true(strcmp(route_table[i - 1].method, route_table[i].method) != 0);
    }
}

static void test_roles(void **state)
{
    (void)state;
    assert_true(role_allows(ROLE_NONE, ROLE_NONE));
    assert_false(role_allows(ROLE_NONE, ROLE_VIEWER));
    assert_true(role_allows(ROLE_DEVICE, ROLE_DEVICE));
    assert_false(role_allows(ROLE_ADMIN, ROLE_DEVICE));
    assert_false(role_allows(ROLE_DEVICE, ROLE_VIEWER));
    assert_true(role_allows(ROLE_VIEWER, ROLE_VIEWER));
    assert_false(role_allows(ROLE_VIEWER, ROLE_NURSE));
    assert_true(role_allows(ROLE_NURSE, ROLE_NURSE));
    assert_false(role_allows(ROLE_NURSE, ROLE_PHYSICIAN));
    assert_true(role_allows(ROLE_PHYSICIAN, ROLE_NURSE));
    assert_false(role_allows(ROLE_PHYSICIAN, ROLE_ADMIN));
    assert_true(role_allows(ROLE_ADMIN, ROLE_VIEWER));
}

static void test_role_names(void **state)
{
    role r = ROLE_NONE;
    (void)state;

    assert_int_equal(role_parse("nurse", &r), 0);
    assert_int_equal(r, ROLE_NURSE);
    assert_string_equal(role_name(ROLE_PHYSICIAN), "physician");
    assert_int_equal(role_parse("device", &r), -1);
    assert_int_equal(role_parse("Admin", &r), -1);
    assert_int_equal(role_parse(NULL, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_params),
        cmocka_unit_test(test_405_lists_methods),
        cmocka_unit_test(test_head_matches_get),
        cmocka_unit_test(test_404_cases),
        cmocka_unit_test(test_real_table_is_sorted_and_unique),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
