/* load: the benchmark mode (--load). C threads, each with its own libcurl
 * handle and keep-alive connection, post batches of B readings of one code
 * with the devices' tokens (thread i uses device i mod n).
 *
 *   closed loop (no --rate): each thread sends its next request as soon as
 *     the previous one is answered; latency is send-to-answer.
 *   fixed rate (--rate R): an open-loop schedule, request k due at
 *     t0 + k/R; a free thread takes the next due request, waits for its
 *     time, sends it. Latency is measured from the *scheduled* time, so a
 *     server that falls behind is charged for the queueing it causes
 *     (coordinated omission, Tene) instead of hiding it.
 *
 * Every latency is kept (a few MB for a long run) and sorted once at the
 * end; percentiles are nearest-rank. Output: one JSON line on stdout and
 * a human line on stderr; the first 20 failed requests are logged one line
 * each, later ones only counted. Only loopback targets are allowed (main.c).
 * The readings are filed to whichever patients occupy the devices' beds, so
 * point it at a scratch database. */
#include "model.h"
#include "obs.h"
#include "timefmt.h"
#include "wardsim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_TIMEOUT_MS 30000
#define ERRORS_LOGGED   20

struct lrun {
    const ws_opts *o;
    const ws_device *devs;
    size_t n_devs;
    char prefix[48];
    double lo, hi; /* value range for the code */
    int64_t t0, end;
    atomic_ulong next; /* fixed rate: the next scheduled request */
    atomic_ulong logged;
};

struct worker {
    struct lrun *r;
    int index;
    pthread_t th;
    double *lat; /* ms */
    size_t n, cap;
    unsigned long requests, readings, errors;
    bool failed_start;
};

/* Typical values for the vital signs; other codes use the middle of their
 * plausible range (obs.c). */
static void value_range(const obs_code *c, double *lo, double *hi)
{
    static const struct {
        const char *code;
        double lo, hi;
    } typical[] = {{"hr", 60, 140},  {"rr", 10, 30},  {"spo2", 88, 100}, {"temp", 36, 40},
                   {"sbp", 80, 160}, {"dbp", 40, 95}, {"map", 55, 110}};

    for (size_t i = 0; i < sizeof typical / sizeof typical[0]; i++) {
        if (strcmp(c->code, typical[i].code) == 0) {
            *lo = typical[i].lo;
            *hi = typical[i].hi;
            return;
        }
    }
    *lo = c->min + 0.3 * (c->max - c->min);
    *hi = c->min + 0.5 * (c->max - c->min);
}

/* The body of one request: B readings with fresh ids, time = now. */
static char *build_body(struct worker *w, uint64_t *seq, model_rng *rng, size_t *len)
{
    const struct lrun *r = w->r;
    size_t cap = 64 + (size_t)r->o->batch * 200, off;
    char *buf = malloc(cap), when[TIMEFMT_LEN], tag[16], id[OBS_ID_MAX + 1];
    bool decimals = r->hi - r->lo < 20;

    if (!buf)
        return NULL;
    timefmt_format(timefmt_now_ms(), when, sizeof when);
    snprintf(tag, sizeof tag, "w%d-", w->index);
    off = (size_t)snprintf(buf, cap, "{\"readings\":[");
    for (int i = 0; i < r->o->batch; i++) {
        double v = model_rng_range(rng, r->lo, r->hi);
        model_msg_id(id, sizeof id, r->prefix, tag, (*seq)++);
        off += (size_t)snprintf(buf + off, cap - off,
                                "%s{\"id\":\"%s\",\"code\":\"%s\",\"value\":%.*f,\"time\":\"%s\"}",
                                i ? "," : "", id, r->o->code, decimals ? 1 : 0, v, when);
    }
    off += (size_t)snprintf(buf + off, cap - off, "]}");
    *len = off;
    return buf;
}

static void record(struct worker *w, double ms)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        double *p = realloc(w->lat, cap * sizeof *p);
        if (!p)
            return;
        w->lat = p;
        w->cap = cap;
    }
    w->lat[w->n++] = ms;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct lrun *r = w->r;
    const ws_device *dev = &r->devs[(size_t)w->index % r->n_devs];
    uint64_t seq = 0;
    model_rng rng;
    ws_http c;

    model_rng_seed(&rng, r->o->seed, 1000u + (unsigned)w->index);
    if (ws_http_init(&c, r->o->url, LOAD_TIMEOUT_MS) != 0) {
        w->failed_start = true;
        return NULL;
    }
    for (;;) {
        int64_t start;
        size_t len = 0;
        long status = 0;
        char *body, why[400];
        unsigned long logged;
        int rc;
        if (r->o->rate > 0) {
            unsigned long k = atomic_fetch_add(&r->next, 1);
            start = r->t0 + (int64_t)((double)k * 1e9 / r->o->rate);
            if (start >= r->end || !ws_sleep_until(start))
                break;
        } else {
            start = ws_mono_ns();
            if (atomic_load(&ws_stopping) || start >= r->end)
                break;
        }
        body = build_body(w, &seq, &rng, &len);
        if (!body) {
            ws_log("out of memory");
            break;
        }
        rc = ws_http_do(&c, "POST", "/api/v1/readings", dev->token, body, len, &status);
        record(w, (double)(ws_mono_ns() - start) / 1e6);
        free(body);
        w->requests++;
        if (rc == 0 && status == 201) {
            const char *a = strstr(c.body ? c.body : "", "\"accepted\":");
            w->readings += a ? strtoul(a + 11, NULL, 10) : 0;
            continue;
        }
        w->errors++;
        logged = atomic_fetch_add(&r->logged, 1);
        if (logged < ERRORS_LOGGED)
            ws_log("load: POST /api/v1/readings: %s",
                   rc ? c.err : ws_http_error_text(&c, status, why, sizeof why));
        else if (logged == ERRORS_LOGGED)
            ws_log("load: more errors: counted in the summary, no longer logged");
    }
    ws_http_free(&c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

int ws_load_run(const ws_opts *o, const ws_device *devs, size_t n_devs, int64_t start_ms)
{
    struct lrun r = {.o = o, .devs = devs, .n_devs = n_devs};
    struct worker *w = calloc((size_t)o->connections, sizeof *w);
    const obs_code *code = obs_code_lookup(o->code);
    unsigned long requests = 0, readings = 0, errors = 0;
    double *all = NULL, secs;
    size_t n = 0, k = 0;
    int started = 0, rc = 1;

    if (!w) {
        ws_log("out of memory");
        return 1;
    }
    if (!code || code->kind != OBS_NUMERIC) {
        ws_log("--code %s: not a numeric observation code (e.g. hr, spo2, temp)", o->code);
        free(w);
        return 2;
    }
    value_range(code, &r.lo, &r.hi);
    model_msg_prefix(r.prefix, sizeof r.prefix, start_ms, o->seed);
    if (ws_wait_healthy(o->url, 10) != 0) {
        free(w);
        return 1;
    }
    r.t0 = ws_mono_ns();
    r.end = r.t0 + (int64_t)(o->duration_s * 1e9);
    for (int i = 0; i < o->connections; i++) {
        w[i].r = &r;
        w[i].index = i;
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            ws_log("cannot start load thread %d", i);
            ws_stop();
            break;
        }
        started++;
    }
    if (!ws_wait_signal(r.end))
        ws_stop();
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].th, NULL);
        n += w[i].n;
    }
    secs = (double)(ws_mono_ns() - r.t0) / 1e9;
    all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        ws_log("out of memory");
        goto done;
    }
    for (int i = 0; i < started; i++) {
        if (w[i].n)
            memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        requests += w[i].requests;
        readings += w[i].readings;
        errors += w[i].errors + (w[i].failed_start ? 1 : 0);
    }
    qsort(all, n, sizeof *all, cmp_double);
    printf("{\"mode\": \"%s\", \"connections\": %d, \"batch\": %d, \"rate\": %g, \"requests\": "
           "%lu, \"readings\": %lu, \"errors\": %lu, \"seconds\": %.3f, \"req_per_s\": %.1f, "
           "\"readings_per_s\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"max_ms\": %.3f}\n",
           o->rate > 0 ? "rate" : "closed", o->connections, o->batch, o->rate, requests, readings,
           errors, secs, (double)requests / secs, (double)readings / secs, percentile(all, n, 0.50),
           percentile(all, n, 0.90), percentile(all, n, 0.99), n ? all[n - 1] : 0.0);
    fflush(stdout);
    ws_log("load %s C=%d B=%d%s: %lu requests in %.1f s = %.0f req/s, %.0f readings/s, %lu "
           "errors; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
           o->rate > 0 ? "fixed rate" : "closed loop", o->connections, o->batch,
           o->rate > 0 ? " (open-loop schedule)" : "", requests, secs, (double)requests / secs,
           (double)readings / secs, errors, percentile(all, n, 0.50), percentile(all, n, 0.90),
           percentile(all, n, 0.99), n ? all[n - 1] : 0.0);
    rc = errors || started < o->connections ? 1 : 0;
done:
    for (int i = 0; i < o->connections; i++)
        free(w[i].lat);
    free(all);
    free(w);
    return rc;
}
