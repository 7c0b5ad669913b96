/* Unit tests for cli.c's flag and config-file parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static const char *const allowed[] = {"listen", "db", "config", "threads", NULL};

static void test_flags_both_forms(void **state)
{
    char *argv[] = {"--listen", "127.0.0.1:9", "--db=/tmp/x.db", "OUT"};
    cli_args a;
    long n = 0;
    (void)state;

    assert_int_equal(cli_parse(&a, 4, argv, allowed), 0);
    assert_string_equal(cli_get(&a, "listen", NULL), "127.0.0.1:9");
    assert_string_equal(cli_get(&a, "db", NULL), "/tmp/x.db");
    assert_null(cli_get(&a, "threads", NULL));
    assert_int_equal(cli_get_long(&a, "threads", 4, 0, 8, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(a.npositional, 1);
    assert_string_equal(a.positional[0], "OUT");
    cli_free(&a);
}

static void test_bad_flags(void **state)
{
    char *unknown[] = {"--nope", "1"};
    char *missing[] = {"--db"};
    cli_args a;
    (void)state;

    assert_int_equal(cli_parse(&a, 2, unknown, allowed), -1);
    assert_int_equal(cli_parse(&a, 1, missing, allowed), -1);
}

static void test_config_file_and_precedence(void **state)
{
    char path[] = "/tmp/wardd-cli-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char cfg[64];
    cli_args a;
    long n = 0;
    (void)state;

    fprintf(f, "# a comment\n\nlisten = 0.0.0.0:80\n  db=/var/w.db  \nthreads = 3\n");
    fclose(f);
    snprintf(cfg, sizeof cfg, "--config=%s", path);
    {
        char *argv[] = {"--listen", "127.0.0.1:1", cfg};
        assert_int_equal(cli_parse(&a, 3, argv, allowed), 0);
    }
    /* The command line wins over the file. */
    assert_string_equal(cli_get(&a, "listen", NULL), "127.0.0.1:1");
    assert_string_equal(cli_get(&a, "db", NULL), "/var/w.db");
    assert_int_equal(cli_get_long(&a, "threads", 0, 0, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cli_get_long(&a, "threads", 0, 4, 8, &n), -1);
    cli_free(&a);
    unlink(path);
}

static void test_config_file_errors(void **state)
{
    char path[] = "/tmp/wardd-cli-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    char cfg[64];
    cli_args a;
    (void)state;

    fprintf(f, "listen = 1\nbogus = 2\n");
    fclose(f);
    snprintf(cfg, sizeof cfg, "--config=%s", path);
    {
        char *argv[] = {cfg};
        assert_int_equal(cli_parse(&a, 1, argv, allowed), -1);
    }
    unlink(path);
    {
        char *argv[] = {"--config", "/nonexistent/wardd.conf"};
        assert_int_equal(cli_parse(&a, 2, argv, allowed), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_both_forms),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_config_file_and_precedence),
        cmocka_unit_test(test_config_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
