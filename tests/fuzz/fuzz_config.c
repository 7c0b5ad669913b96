/* fuzz_config: the config file (`wardd serve --config FILE`: "name =
 * value" lines, '#' comments) as server/cli.c parses it, through
 * cli_parse(); the input is the file's content (an in-memory file).
 * Built by `make fuzz` (build/fuzz/fuzz_config); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_config.c <the daemon's objects> ... -o /tmp/fuzz_config
 * cli.c reports a bad file on stderr; that goes to /dev/null here unless
 * FUZZ_VERBOSE is set (libFuzzer's own output and crash reports are not
 * affected: they are written outside the redirected call).
 * Properties: a parse that succeeds holds only allowed names, each value a
 * NUL-terminated string without surrounding spaces; cli_get_long is safe on
 * any value. */
#include "cli.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[] = {"listen",
                                      "db",
                                      "web",
                                      "rules",
                                      "tls-cert",
                                      "tls-key",
                                      "config",
                                      "port-file",
                                      "threads",
                                      "device-reading-horizon",
                                      "dose-backentry-margin",
                                      "disk-warn-percent",
                                      "disk-warn-bytes",
                                      "disk-check-interval",
                                      NULL};

static bool is_allowed(const char *name)
{
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, name) == 0)
            return true;
    return false;
}

static void check(const cli_args *a)
{
    long n = 0;

    for (int i = 0; i < a->nflags; i++) {
        size_t len = strlen(a->values[i]);
        if (!is_allowed(a->names[i]))
            abort();
        if (len && (isspace((unsigned char)a->values[i][0]) ||
                    isspace((unsigned char)a->values[i][len - 1])))
            abort();
    }
    (void)cli_get_long(a, "threads", 0, 0, 256, &n);
    (void)cli_get_long(a, "device-reading-horizon", 1440, 1, 527040, &n);
    (void)cli_get_long(a, "disk-warn-percent", 10, 0, 99, &n);
    (void)cli_get_long(a, "disk-warn-bytes", 2147483648L, 0, LONG_MAX, &n);
    (void)cli_get_long(a, "disk-check-interval", 10, 1, 3600, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int devnull = -1, saved = -1;
    char path[64];
    char *argv[] = {(char *)"--config", path};
    cli_args a;
    int fd = memfd_create("wardd-config", MFD_CLOEXEC);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (devnull < 0 && !getenv("FUZZ_VERBOSE")) {
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        saved = dup(2);
    }
    fflush(stderr);
    if (devnull >= 0)
        dup2(devnull, 2);
    if (cli_parse(&a, 2, argv, allowed) == 0) {
        check(&a);
        cli_free(&a);
    }
    fflush(stderr);
    if (saved >= 0)
        dup2(saved, 2);
    close(fd);
    return 0;
}
