/* fsync_floor: the disk's own pace for durable commits, for the ingest gap
 * split (bench/run.sh; docs/performance.md "Where the ingest gap is").
 *
 *   fsync_floor --dir DIR [--seconds N] [--bytes B]
 *
 * One thread appends B bytes (default 8192: a group commit of one reading
 * writes two WAL frames of 4 KiB) to a new file in DIR and fdatasyncs it,
 * as SQLite's WAL commit does, for N seconds (default 3); prints one JSON
 * line: {"syncs":..,"per_s":..,"p50_us":..,"p99_us":..}. The file is removed.
 * A serial committer (wardd's writer) can make at most per_s commits a
 * second on this disk, whatever the software above it does. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 1000000

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static int usage(void)
{
    fprintf(stderr, "usage: fsync_floor --dir DIR [--seconds N] [--bytes B]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long seconds = 3, bytes = 8192;
    char path[4096];
    uint64_t *lat = NULL, t_end, n = 0;
    char *buf = NULL;
    int fd = -1, rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--bytes") == 0)
            bytes = strtol(argv[i + 1], NULL, 10);
        else
            return usage();
    }
    if (!dir || seconds <= 0 || bytes <= 0 || bytes > (1L << 24))
        return usage();
    snprintf(path, sizeof path, "%s/fsync_floor.%ld", dir, (long)getpid());
    lat = malloc(MAX_SAMPLES * sizeof *lat);
    buf = malloc((size_t)bytes);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (!lat || !buf || fd < 0) {
        fprintf(stderr, "fsync_floor: %s: %s\n", path, strerror(errno));
        goto out;
    }
    memset(buf, 0x5a, (size_t)bytes);
    t_end = now_ns() + (uint64_t)seconds * 1000000000u;
    while (n < MAX_SAMPLES) {
        uint64_t t0 = now_ns();
        if (t0 >= t_end)
            break;
        if (write(fd, buf, (size_t)bytes) != bytes || fdatasync(fd) != 0) {
            fprintf(stderr, "fsync_floor: write or sync: %s\n", strerror(errno));
            goto out;
        }
        lat[n++] = now_ns() - t0;
    }
    if (n == 0)
        goto out;
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("{\"syncs\":%llu,\"per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           (unsigned long long)n, (double)n / (double)seconds, (double)lat[n / 2] / 1e3,
           (double)lat[(n * 99) / 100] / 1e3);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(path);
    free(buf);
    free(lat);
    return rc;
}
