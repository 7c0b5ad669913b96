/* diskwatch: see diskwatch.h. */
#include "diskwatch.h"
#include "threadname.h"
#include "clock.h"
#include "events.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define KIND "disk_low"

static struct {
    pthread_mutex_t mu; /* guards status, running */
    pthread_cond_t wake;
    pthread_t thread;
    bool started, running;
    db_writer *writer;
    diskwatch_config cfg;
    char db[4096], wal[4100], dir[4096]; /* fixed once started */
    diskwatch_status status;
    /* Touched only by the checking thread (main at start, then the
     * watcher): the database's side still to be brought in line. */
    bool raise_pending, resolve_pending;
    bool failed_logged;
} dw = {.mu = PTHREAD_MUTEX_INITIALIZER};

const char *diskwatch_state_name(diskwatch_state_t s)
{
    return s == DISK_LOW ? "low" : s == DISK_OK ? "ok" : "unknown";
}

/* The directory holding `path` ("." when it names none). */
static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(out, len, ".");
    else if (slash == path)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* st_size of `path`; 0 when it does not exist (no WAL yet). */
static int file_size(const char *path, uint64_t *out)
{
    struct stat sb;

    *out = 0;
    if (stat(path, &sb) == 0) {
        *out = (uint64_t)sb.st_size;
        return 0;
    }
    return errno == ENOENT ? 0 : -1;
}

int diskwatch_measure(diskwatch_sample *out)
{
    struct statvfs vfs;
    uint64_t main_bytes = 0, wal_bytes = 0;

    memset(out, 0, sizeof *out);
    if (!dw.started || file_size(dw.db, &main_bytes) != 0 || file_size(dw.wal, &wal_bytes) != 0 ||
        statvfs(dw.dir, &vfs) != 0)
        return -1;
    out->db_bytes = main_bytes + wal_bytes;
    out->free_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    out->size_bytes = (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize;
    return 0;
}

uint64_t diskwatch_threshold(uint64_t size_bytes, int percent, int64_t bytes)
{
    uint64_t p = percent > 0 ? (uint64_t)percent : 0;
    uint64_t by_percent = size_bytes / 100 * p + size_bytes % 100 * p / 100;
    uint64_t by_bytes = bytes > 0 ? (uint64_t)bytes : 0;

    return by_percent > by_bytes ? by_percent : by_bytes;
}

diskwatch_state_t diskwatch_next(diskwatch_state_t prev, uint64_t free_bytes, uint64_t threshold)
{
    if (free_bytes < threshold)
        return DISK_LOW;
    if (prev == DISK_LOW && free_bytes - threshold < threshold / 20)
        return DISK_LOW; /* not yet 5 % clear of the line */
    return DISK_OK;
}

/* "12.3 GiB", "512.0 MiB": sizes as an engineer reads them. */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* --- the database's side ---------------------------------------------------------- */

typedef struct disk_job {
    const char *message; /* raise only */
    int64_t now;
    int64_t id; /* the alert raised or resolved; 0: none */
} disk_job;

static int raise_apply(db_conn *c, void *arg)
{
    disk_job *j = arg;

    return store_technical_alert_once(c, KIND, j->message, j->now, &j->id) == 0
               ? 0
               : DB_STORAGE_FAILURE;
}

static int resolve_apply(db_conn *c, void *arg)
{
    disk_job *j = arg;

    return store_technical_alert_resolve_kind(c, KIND, &j->id) == 0 ? 0 : DB_STORAGE_FAILURE;
}

/* The technical_alert event (docs/events.md). */
static void publish(int64_t id, const char *state, const char *message, const diskwatch_status *s)
{
    events_publish("technical_alert",
                   json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)id, "kind", KIND,
                             "state", state, "message", message, "free_bytes",
                             (json_int_t)s->sample.free_bytes, "threshold_bytes",
                             (json_int_t)s->threshold_bytes));
}

/* Raises the disk_low alert unless one is active; false to retry later. */
static bool raise_alert(const diskwatch_status *s)
{
    char msg[1024], f[32], size[32], thr[32];
    disk_job j = {.message = msg, .now = timefmt_now_ms()};

    snprintf(msg, sizeof msg,
             "Low disk space for the database: %s free of %s on %.400s, below the warning "
             "threshold of %s (disk-warn-percent %d, disk-warn-bytes %lld). Writes still "
             "succeed; free space or move the database before the disk fills.",
             human(s->sample.free_bytes, f, sizeof f),
             human(s->sample.size_bytes, size, sizeof size), dw.dir,
             human(s->threshold_bytes, thr, sizeof thr), dw.cfg.percent, (long long)dw.cfg.bytes);
    if (db_writer_run(dw.writer, raise_apply, &j) != 0) {
        log_error("cannot record the disk_low technical alert; retrying at the next check");
        return false;
    }
    if (j.id > 0)
        publish(j.id, "active", msg, s);
    return true;
}

/* Resolves the active disk_low alert, if any; false to retry later. */
static bool resolve_alert(const diskwatch_status *s)
{
    char msg[256], f[32], thr[32];
    disk_job j = {.now = timefmt_now_ms()};

    if (db_writer_run(dw.writer, resolve_apply, &j) != 0) {
        log_error("cannot resolve the disk_low technical alert; retrying at the next check");
        return false;
    }
    if (j.id > 0) {
        log_info("resolved the disk_low technical alert %lld", (long long)j.id);
        snprintf(msg, sizeof msg, "Disk space recovered: %s free, warning threshold %s.",
                 human(s->sample.free_bytes, f, sizeof f),
                 human(s->threshold_bytes, thr, sizeof thr));
        publish(j.id, "resolved", msg, s);
    }
    return true;
}

/* --- the check ----------------------------------------------------------------------- */

static void log_change(diskwatch_state_t from, const diskwatch_status *s)
{
    char f[32], size[32], thr[32];

    human(s->sample.free_bytes, f, sizeof f);
    human(s->sample.size_bytes, size, sizeof size);
    human(s->threshold_bytes, thr, sizeof thr);
    if (s->state == DISK_LOW)
        log_warn("disk space low: %s free of %s on %s (threshold %s)", f, size, dw.dir, thr);
    else if (from == DISK_LOW)
        log_warn("disk space recovered: %s free of %s on %s (threshold %s)", f, size, dw.dir, thr);
    else
        log_info("disk space ok: %s free of %s on %s (threshold %s)", f, size, dw.dir, thr);
}

/* Measures, updates the state, and brings the alert in line with it. */
static void check_once(void)
{
    diskwatch_status s;
    diskwatch_state_t prev;

    pthread_mutex_lock(&dw.mu);
    s = dw.status;
    pthread_mutex_unlock(&dw.mu);
    prev = s.state;
    if (diskwatch_measure(&s.sample) != 0) {
        if (!dw.failed_logged)
            log_error("cannot measure the database's disk (%s): %s", dw.dir, strerror(errno));
        dw.failed_logged = true;
        s.state = DISK_UNKNOWN;
    } else {
        dw.failed_logged = false;
        s.threshold_bytes = diskwatch_threshold(s.sample.size_bytes, dw.cfg.percent, dw.cfg.bytes);
        s.state = diskwatch_next(prev, s.sample.free_bytes, s.threshold_bytes);
    }
    if (s.state != prev && s.state != DISK_UNKNOWN) {
        log_change(prev, &s);
        dw.raise_pending = s.state == DISK_LOW;
        dw.resolve_pending = s.state == DISK_OK;
    }
    if (s.state == DISK_LOW && dw.raise_pending)
        dw.raise_pending = !raise_alert(&s);
    if (s.state == DISK_OK && dw.resolve_pending)
        dw.resolve_pending = !resolve_alert(&s);
    s.checks++;
    pthread_mutex_lock(&dw.mu);
    dw.status = s;
    pthread_mutex_unlock(&dw.mu);
}

static void *watch_main(void *unused)
{
    (void)unused;
    thread_name("wd-diskwatch");
    pthread_mutex_lock(&dw.mu);
    while (dw.running) {
        struct timespec until = clock_mono_after((int64_t)dw.cfg.interval_s * 1000);
        int rc = 0;

        while (dw.running && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&dw.wake, &dw.mu, &until);
        if (!dw.running)
            break;
        pthread_mutex_unlock(&dw.mu);
        check_once();
        pthread_mutex_lock(&dw.mu);
    }
    pthread_mutex_unlock(&dw.mu);
    return NULL;
}

int diskwatch_start(db_writer *w, const diskwatch_config *cfg)
{
    char real[PATH_MAX];

    dw.writer = w;
    dw.cfg = *cfg;
    snprintf(dw.db, sizeof dw.db, "%s", cfg->db_path);
    snprintf(dw.wal, sizeof dw.wal, "%s-wal", cfg->db_path);
    dir_of(cfg->db_path, dw.dir, sizeof dw.dir);
    if (realpath(dw.dir, real)) /* messages name the directory an engineer can find */
        snprintf(dw.dir, sizeof dw.dir, "%s", real);
    dw.cfg.db_path = dw.db;
    dw.status = (diskwatch_status){.state = DISK_UNKNOWN};
    dw.started = true;
    if (clock_cond_init_mono(&dw.wake) != 0) {
        log_error("cannot start the disk check");
        return -1;
    }
    check_once();
    dw.running = true;
    if (pthread_create(&dw.thread, NULL, watch_main, NULL) != 0) {
        dw.running = false;
        pthread_cond_destroy(&dw.wake);
        log_error("cannot start the disk check thread");
        return -1;
    }
    return 0;
}

void diskwatch_stop(void)
{
    bool was;

    pthread_mutex_lock(&dw.mu);
    was = dw.running;
    dw.running = false;
    if (was)
        pthread_cond_broadcast(&dw.wake);
    pthread_mutex_unlock(&dw.mu);
    if (!was)
        return;
    pthread_join(dw.thread, NULL);
    pthread_cond_destroy(&dw.wake);
}

void diskwatch_get(diskwatch_status *out)
{
    pthread_mutex_lock(&dw.mu);
    *out = dw.status;
    pthread_mutex_unlock(&dw.mu);
}
