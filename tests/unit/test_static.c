/* Unit tests for static.c's pure parts: path safety and content types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "static.h"

static void test_safe_paths(void **state)
{
    (void)state;
    assert_true(static_path_safe("/"));
    assert_true(static_path_safe("/index.html"));
    assert_true(static_path_safe("/vendor/uPlot.min.css"));
    assert_true(static_path_safe("/a/b/c.js"));
}

static void test_unsafe_paths(void **state)
{
    (void)state;
    assert_false(static_path_safe(""));
    assert_false(static_path_safe("index.html"));
    assert_false(static_path_safe("/../Makefile"));
    assert_false(static_path_safe("/a/../../etc/passwd"));
    assert_false(static_path_safe("/./index.html"));
    assert_false(static_path_safe("/.git/config"));
    assert_false(static_path_safe("/a\\..\\b"));
    assert_false(static_path_safe("/a\nb"));
}

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(static_content_type("/x/index.html"), "text/html; charset=utf-8");
    assert_string_equal(static_content_type("app.JS"), "text/javascript; charset=utf-8");
    assert_string_equal(static_content_type("a.css"), "text/css; charset=utf-8");
    assert_string_equal(static_content_type("logo.svg"), "image/svg+xml");
    assert_string_equal(static_content_type("Makefile"), "application/octet-stream");
    assert_string_equal(static_content_type("dir.d/file"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_paths),
        cmocka_unit_test(test_unsafe_paths),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
