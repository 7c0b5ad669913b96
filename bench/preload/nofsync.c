/* nofsync.so: an LD_PRELOAD shim for the benchmark's A/B run only
 * (bench/run.sh, "the ingest gap split"; docs/performance.md "Where the
 * ingest gap is").
 *
 * It makes fsync and fdatasync return at once, so the same wardd binary
 * runs the same requests without waiting for the disk: the difference
 * between the two runs is what the durability of a 201 costs on this
 * machine's disk. Everything else (SQLite, walbuf, the group commit) is
 * unchanged, including the order of writes and the points where a sync
 * would be. Never use it for anything but this measurement: a machine
 * that loses power loses what wardd acknowledged. */
#include <unistd.h>

int fsync(int fd)
{
    (void)fd;
    return 0;
}

int fdatasync(int fd)
{
    (void)fd;
    return 0;
}
