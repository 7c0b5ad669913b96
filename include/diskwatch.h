/* diskwatch: the database's disk, before it fills (docs/deploy.md
 * "Storage").
 *
 * A full disk is survivable (every write fails, is answered 503 and
 * nothing acknowledged is lost) but the ward then learns of it only when
 * ingest stops. diskwatch measures the database's size (main file + WAL)
 * and the free and total space of its filesystem (statvfs on the
 * database's directory), at start and then every `interval_s` on a thread
 * of its own, and compares free space with a threshold:
 *
 *   low  when free < percent % of the filesystem OR free < bytes
 *        (threshold = the larger of the two);
 *   ok   again only once free >= threshold + threshold / 20, so a disk
 *        hovering at the threshold does not raise an alert every check.
 *
 * On the change to low it logs a warning and raises one technical alert of
 * kind disk_low (store_technical_alert_once: never a second while one is
 * active, also across restarts) and publishes it as a technical_alert
 * event; on the change back to ok (and at start when the disk is ok) it
 * logs and resolves the active disk_low alert, publishing that too. A write
 * that fails (the disk may be full) is retried at the next check.
 *
 * The measurements are plain stat()/statvfs() calls, taken with no lock
 * held; the state is kept under a mutex of its own. Thread-safe. */
#ifndef WARDD_DISKWATCH_H
#define WARDD_DISKWATCH_H

#include "db.h"

#include <stdbool.h>
#include <stdint.h>

#define DISKWATCH_PERCENT_DEFAULT  10
#define DISKWATCH_BYTES_DEFAULT    2147483648LL /* 2 GiB */
#define DISKWATCH_INTERVAL_DEFAULT 10           /* seconds */

typedef struct diskwatch_config {
    const char *db_path;
    int percent;    /* 0..99; 0: no percentage rule */
    int64_t bytes;  /* >= 0; 0: no absolute rule */
    int interval_s; /* seconds between checks, >= 1 */
} diskwatch_config;

/* One measurement. */
typedef struct diskwatch_sample {
    uint64_t db_bytes;   /* the database file plus its WAL */
    uint64_t free_bytes; /* available to wardd (statvfs f_bavail) */
    uint64_t size_bytes; /* the filesystem's size (f_blocks) */
} diskwatch_sample;

typedef enum { DISK_UNKNOWN, DISK_OK, DISK_LOW } diskwatch_state_t;

/* The last check's outcome. */
typedef struct diskwatch_status {
    diskwatch_state_t state; /* DISK_UNKNOWN before a check or when one failed */
    diskwatch_sample sample;
    uint64_t threshold_bytes;
    uint64_t checks; /* checks completed since start */
} diskwatch_status;

/* Checks once (raising or resolving the alert through `w`), then starts
 * the thread. 0, or -1 (logged) when the thread cannot start. */
int diskwatch_start(db_writer *w, const diskwatch_config *cfg);
/* Stops the thread (before the writer stops). Safe when never started. */
void diskwatch_stop(void);
/* A fresh measurement (for /metrics): 0, or -1 when not started or a
 * stat/statvfs failed. Takes no lock. */
int diskwatch_measure(diskwatch_sample *out);
/* The last check's outcome. */
void diskwatch_get(diskwatch_status *out);
/* The rule, pure (tests/unit/test_diskwatch.c): free space below the
 * result is low; the larger of percent % of size_bytes and bytes (either
 * 0: that rule off). */
uint64_t diskwatch_threshold(uint64_t size_bytes, int percent, int64_t bytes);
/* The state after `prev` given free space and threshold: low below it, ok
 * again only at threshold + threshold / 20 or more. */
diskwatch_state_t diskwatch_next(diskwatch_state_t prev, uint64_t free_bytes, uint64_t threshold);
/* "ok", "low" or "unknown". */
const char *diskwatch_state_name(diskwatch_state_t s);

#endif
