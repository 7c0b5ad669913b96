/* fuzz_static: static path resolution (server/http/static.c): a request
 * path through static_path_safe() and static_resolve() against a small web
 * root made at start in a temporary directory, with a secret file next to
 * it, a symlink inside pointing out, a hidden file and a subdirectory.
 * Built by `make fuzz` (build/fuzz/fuzz_static); by hand:
 *   clang -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_static.c <the daemon's objects> ... -o /tmp/fuzz_static
 * Properties: whatever the path, a resolved file is a regular file under
 * the root's real path, never the secret, never through the symlink out,
 * never hidden; content types are never NULL. */
#include "static.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX], secret[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char tmpl[] = "/tmp/wardd-fuzz-static.XXXXXX", web[PATH_MAX], p[PATH_MAX];
    const char *base = mkdtemp(tmpl);

    (void)argc;
    (void)argv;
    if (!base)
        abort();
    snprintf(web, sizeof web, "%s/web", base);
    snprintf(p, sizeof p, "%s/web/js", base);
    if (mkdir(web, 0700) != 0 || mkdir(p, 0700) != 0)
        abort();
    put(base, "secret.txt", "secret");
    put(web, "index.html", "<!doctype html>");
    put(web, ".hidden", "hidden");
    put(p, "main.js", "export {};");
    snprintf(p, sizeof p, "%s/web/out", base);
    if (symlink(base, p) != 0)
        abort();
    if (!realpath(web, root))
        abort();
    snprintf(p, sizeof p, "%s/secret.txt", base);
    if (!realpath(p, secret))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char url[2048], real[PATH_MAX];
    struct stat sb;
    size_t rl = strlen(root);

    if (size >= sizeof url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    if (!static_content_type(url))
        abort();
    if (strlen(url) != size) /* a NUL inside: MHD never hands one over */
        return 0;
    if (static_path_safe(url) && strstr(url, "/."))
        abort();
    if (static_resolve(root, url, real, &sb) == 0) {
        if (strncmp(real, root, rl) != 0 || real[rl] != '/' || !S_ISREG(sb.st_mode))
            abort();
        if (strcmp(real, secret) == 0 || strstr(real + rl, "/."))
            abort();
    }
    return 0;
}
