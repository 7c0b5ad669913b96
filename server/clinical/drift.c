/* drift: see drift.h. The judge is pure; the per-device samples are a
 * small mutex-protected table (ingest notes, the clinical timer reads). */
#include "drift.h"
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Devices tracked at most; a ward has tens. A device beyond it is not
 * judged (never a false alert). */
#define DRIFT_DEVICES 1024

typedef struct dev_samples {
    int64_t device_id; /* 0: free slot */
    int64_t newest_ms; /* newest reading time seen from the device */
    int64_t s[DRIFT_WINDOW];
    size_t n;    /* samples held, <= DRIFT_WINDOW */
    size_t next; /* ring position of the next sample */
} dev_samples;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static dev_samples table[DRIFT_DEVICES];
static _Atomic int64_t margin = DRIFT_MARGIN_DEFAULT_MS;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

drift_state drift_judge(const int64_t *samples, size_t n, int64_t margin_ms, int64_t *median_ms)
{
    int64_t w[DRIFT_WINDOW];

    *median_ms = 0;
    if (n < DRIFT_WINDOW)
        return DRIFT_UNKNOWN;
    memcpy(w, samples + (n - DRIFT_WINDOW), sizeof w);
    qsort(w, DRIFT_WINDOW, sizeof w[0], cmp_i64);
    *median_ms = w[DRIFT_WINDOW / 2];
    if (w[DRIFT_WINDOW - 1] - w[0] > margin_ms / 4)
        return DRIFT_UNKNOWN;
    if (*median_ms > margin_ms || *median_ms < -margin_ms)
        return DRIFT_OFF;
    return DRIFT_IN_TIME;
}

void drift_set_margin_ms(int64_t margin_ms)
{
    const char *env = getenv("WARDD_CLOCK_DRIFT_MARGIN_MS"); /* tests */

    if (env && atoll(env) > 0)
        margin_ms = atoll(env);
    atomic_store(&margin, margin_ms);
}

int64_t drift_margin_ms(void)
{
    return atomic_load(&margin);
}

/* The device's slot (created when `create`), or NULL. Under mu. */
static dev_samples *slot(int64_t device_id, bool create)
{
    size_t h = (size_t)((uint64_t)device_id * 0x9E3779B97F4A7C15ull >> 54) % DRIFT_DEVICES;

    for (size_t k = 0; k < DRIFT_DEVICES; k++) {
        dev_samples *d = &table[(h + k) % DRIFT_DEVICES];
        if (d->device_id == device_id)
            return d;
        if (d->device_id == 0) {
            if (!create)
                return NULL;
            memset(d, 0, sizeof *d);
            d->device_id = device_id;
            d->newest_ms = INT64_MIN;
            return d;
        }
    }
    return NULL;
}

void drift_note(int64_t device_id, int64_t newest_reading_ms, int64_t received_ms)
{
    dev_samples *d;

    if (device_id <= 0)
        return;
    pthread_mutex_lock(&mu);
    d = slot(device_id, true);
    /* live only: a batch adding nothing newer is a re-send or a back-fill */
    if (d && newest_reading_ms > d->newest_ms) {
        d->newest_ms = newest_reading_ms;
        d->s[d->next] = newest_reading_ms - received_ms;
        d->next = (d->next + 1) % DRIFT_WINDOW;
        if (d->n < DRIFT_WINDOW)
            d->n++;
    }
    pthread_mutex_unlock(&mu);
}

void drift_reset(void)
{
    pthread_mutex_lock(&mu);
    memset(table, 0, sizeof table);
    pthread_mutex_unlock(&mu);
}

/* The device's samples oldest first into out; their number. */
static size_t samples_of(int64_t device_id, int64_t *out)
{
    const dev_samples *d;
    size_t n = 0;

    pthread_mutex_lock(&mu);
    d = slot(device_id, false);
    if (d) {
        n = d->n;
        for (size_t i = 0; i < n; i++)
            out[i] = d->s[(d->next + DRIFT_WINDOW - n + i) % DRIFT_WINDOW];
    }
    pthread_mutex_unlock(&mu);
    return n;
}

void drift_describe(int64_t offset_ms, char *buf, size_t len)
{
    int64_t a = offset_ms < 0 ? -offset_ms : offset_ms;
    int64_t min = a / 60000, s = a % 60000 / 1000;
    const char *dir = offset_ms < 0 ? "behind" : "ahead";

    if (min > 0)
        snprintf(buf, len, "%" PRId64 " min %" PRId64 " s %s", min, s, dir);
    else
        snprintf(buf, len, "%" PRId64 " s %s", s, dir);
}

bool drift_condition(const rules_alerts *cfg, int64_t device_id, const char *serial,
                     const char *bed, alert_cond *out)
{
    int64_t s[DRIFT_WINDOW], median = 0, m = drift_margin_ms();
    char what[64], lim[64];
    drift_state st = drift_judge(s, samples_of(device_id, s), m, &median);

    if (st == DRIFT_IN_TIME)
        return false;
    memset(out, 0, sizeof *out);
    out->kind = ALERT_KIND_DEVICE_CLOCK;
    out->present = st == DRIFT_OFF;
    out->priority = cfg->device_priority;
    out->grade = -1;
    out->device_id = device_id;
    snprintf(out->key, sizeof out->key, "d%" PRId64 ":clock", device_id);
    drift_describe(median, what, sizeof what);
    drift_describe(m, lim, sizeof lim);
    snprintf(out->message, sizeof out->message,
             "Device %s on bed %s: its clock runs %s of the server (median of its last %d "
             "batches; margin %.*s): its readings are filed at the wrong times",
             serial, bed, what, DRIFT_WINDOW, (int)(strlen(lim) - strlen(" ahead")), lim);
    return true;
}

int drift_open_append(db_conn *c, alert_open **open, size_t *n)
{
    alert_open *more = NULL, *all;
    size_t nm = 0;

    if (store_alert_open(c, 0, ALERT_KIND_DEVICE_CLOCK, &more, &nm) != 0)
        return -1;
    if (nm == 0) {
        free(more);
        return 0;
    }
    all = realloc(*open, (*n + nm) * sizeof *all);
    if (!all) {
        free(more);
        return -1;
    }
    memcpy(all + *n, more, nm * sizeof *all);
    *open = all;
    *n += nm;
    free(more);
    return 0;
}
