/* Unit tests for body.c: declarative field specs and the JSON depth scan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "body.h"

static const field_spec specs[] = {
    {"name", F_STRING, true, false, 8},   {"age", F_INT, false, false, 0},
    {"weight", F_NUMBER, false, true, 0}, {"on", F_BOOL, false, false, 0},
    {"when", F_TIME, false, false, 0},    {"born", F_DATE, false, false, 0},
    {"extra", F_OBJECT, false, false, 0}, {"list", F_ARRAY, false, false, 0},
};

/* The details for `text`, or NULL; asserts it parses. */
static json_t *check(const char *text)
{
    json_t *obj = json_loads(text, 0, NULL);
    json_t *details;

    assert_non_null(obj);
    details = body_check(obj, BODY_SPECS(specs));
    json_decref(obj);
    return details;
}

/* Whether details name `field` with a message containing `needle`. */
static int names(const json_t *details, const char *field, const char *needle)
{
    size_t i;
    const json_t *d;

    json_array_foreach(details, i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "field")), field) == 0 &&
            strstr(json_string_value(json_object_get(d, "message")), needle))
            return 1;
    }
    return 0;
}

static void test_valid(void **state)
{
    (void)state;
    assert_null(check("{\"name\":\"Ada\"}"));
    assert_null(check("{\"name\":\"Ada\",\"age\":3,\"weight\":81.5,\"on\":true,"
                      "\"when\":\"2026-11-27T14:03:05Z\",\"born\":\"1961-04-02\","
                      "\"extra\":{},\"list\":[]}"));
    assert_null(check("{\"name\":\"Ada\",\"weight\":null}"));
    assert_null(check("{\"name\":\"12345678\"}"));
}

static void test_each_problem_named(void **state)
{
    json_t *d;
    (void)state;

    d = check("{\"age\":1.5,\"bogus\":1,\"on\":\"yes\",\"when\":\"yesterday\","
              "\"born\":\"1961-02-30\",\"extra\":[],\"list\":{},\"weight\":\"80\"}");
    assert_non_null(d);
    assert_true(names(d, "name", "required"));
    assert_true(names(d, "age", "integer"));
    assert_true(names(d, "bogus", "not a known field"));
    assert_true(names(d, "on", "true or false"));
    assert_true(names(d, "when", "RFC 3339"));
    assert_true(names(d, "born", "YYYY-MM-DD"));
    assert_true(names(d, "extra", "object"));
    assert_true(names(d, "list", "array"));
    assert_true(names(d, "weight", "number"));
    json_decref(d);
}

static void test_strings(void **state)
{
    json_t *d;
    (void)state;

    d = check("{\"name\":\"\"}");
    assert_true(names(d, "name", "empty"));
    json_decref(d);
    d = check("{\"name\":\"123456789\"}");
    assert_true(names(d, "name", "at most 8"));
    json_decref(d);
    d = check("{\"name\":null}");
    assert_true(names(d, "name", "null"));
    json_decref(d);
}

static void test_not_an_object(void **state)
{
    json_t *arr = json_array();
    json_t *d = body_check(arr, BODY_SPECS(specs));
    (void)state;

    assert_true(names(d, "(body)", "object"));
    json_decref(d);
    json_decref(arr);
}

static void test_depth(void **state)
{
    const char *flat = "{\"a\":1}";
    const char *nested = "[[[{\"a\":[1]}]]]";
    const char *in_string = "{\"a\":\"[[[[[[\\\"]]]]\"}";
    (void)state;

    assert_int_equal(body_json_depth("1", 1), 0);
    assert_int_equal(body_json_depth(flat, strlen(flat)), 1);
    assert_int_equal(body_json_depth(nested, strlen(nested)), 5);
    /* Brackets and escaped quotes inside strings do not count. */
    assert_int_equal(body_json_depth(in_string, strlen(in_string)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),   cmocka_unit_test(test_each_problem_named),
        cmocka_unit_test(test_strings), cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
