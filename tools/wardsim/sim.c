/* sim: the ward simulation. One thread per bed plays that bed's monitor,
 * one thread plays the nurse (with --nurse); model.c supplies the values.
 *
 * Time. The simulated clock starts at --start-day D, --start-hour H (default
 * the current UTC time of day) and runs --speed K times faster than the
 * wall clock: bed i's k-th sample is taken at simulated time
 *   sim0 + K * (offset_i + k * interval)
 * (offset_i staggers the beds across one interval). Every reading's `time`
 * is the real wall-clock time at which it is sent, never a simulated one:
 * the server accepts nothing more than 5 minutes in the future, and its
 * engine then sees an ordinary, plausible sequence, only one in which the
 * physiology changes K times faster. Nurse urine entries keep the
 * simulated *rate*: the volume posted is the simulated mL/h times the real
 * hours since the previous entry, so the server's mL/h and per-shift
 * figures match the model (at --speed 1 this is the ordinary volume).
 *
 * Delivery. Each device, and the nurse, keeps an outbox of batches (store
 * and forward, as a monitor on a flaky network would). A batch is built
 * once, with one message id per reading ("<run prefix>-<seq>" for devices,
 * "<run prefix>-n<seq>" for the nurse: unique per source across runs), and
 * re-sent byte for byte until the server answers: a failed or timed-out
 * post is retried with the same ids, so a retry after a lost 201 is counted
 * as duplicates, never stored twice. Retries back off (250 ms doubling, or
 * the server's Retry-After, at most 5 s) up to 4 attempts per tick; a batch
 * still unanswered stays at the head of the outbox for the next tick (at
 * most OUTBOX_MAX batches are kept, then the oldest is dropped with a log
 * line). A 4xx other than 408/429 is not retried; a 401 makes the nurse log
 * in again once. Every rejected reading is logged (one line each) and
 * counted; the exit status is 1 when any reading was rejected, dropped or
 * left unsent. */
#include "model.h"
#include "obs.h"
#include "timefmt.h"
#include "wardsim.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_MAX      256
#define ATTEMPTS        4
#define BACKOFF_MS      250
#define BACKOFF_MAX_MS  5000
#define POST_TIMEOUT_MS 10000
#define WARD_REFRESH_NS (30 * INT64_C(1000000000))
#define STATUS_EVERY_NS (30 * INT64_C(1000000000))
#define JSON_FLAGS      (JSON_COMPACT | JSON_REAL_PRECISION(15))

static struct {
    atomic_ulong batches, readings, accepted, duplicates, rejected, retries, failed, dropped;
    atomic_ulong nurse_entries, nurse_accepted, nurse_duplicates, nurse_rejected;
} cnt;

struct run {
    const ws_opts *o;
    const ws_device *devs;
    size_t n;
    model_patient *pats;
    char prefix[48];
    int64_t start_ns; /* monotonic time of simulated time sim0 */
    double sim0;      /* simulated hours at start_ns */
    char nurse_token[128];
};

/* Simulated hours at monotonic time ns. */
static double sim_hours(const struct run *r, int64_t ns)
{
    return r->sim0 + (double)(ns - r->start_ns) / 3.6e12 * r->o->speed;
}

static void now_text(char *buf)
{
    timefmt_format(timefmt_now_ms(), buf, TIMEFMT_LEN);
}

/* {"id", "code", "value", "unit"?, "time"}: value as obs_value_json writes it. */
static int add_reading(json_t *arr, const char *id, const char *code, double value,
                       const char *text, const char *time)
{
    const obs_code *c = obs_code_lookup(code);
    json_t *v;

    if (!c)
        return -1;
    v = text ? json_string(text) : obs_value_json(c, value, NULL);
    return json_array_append_new(
        arr, json_pack("{s:s, s:s, s:o, s:s*, s:s}", "id", id, "code", code, "value", v, "unit",
                       c->kind == OBS_NUMERIC ? c->unit : NULL, "time", time));
}

/* obj[key] as a string, "?" when absent (for log lines). */
static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "?";
}

/* --- posting with retries ---------------------------------------------------------- */

enum post_result { POST_DONE, POST_LATER, POST_AUTH, POST_DROPPED };

/* Logs every rejected item of a 201/422 answer, naming the reading. */
static void count_answer(const char *who, ws_http *c, const char *body, bool nurse)
{
    json_t *ans = json_loadb(c->body, c->len, 0, NULL), *req = NULL, *rej, *item;
    size_t i;

    if (!ans) {
        ws_log("%s: unreadable answer from the server: %.200s", who, c->body ? c->body : "");
        return;
    }
    atomic_fetch_add(nurse ? &cnt.nurse_accepted : &cnt.accepted,
                     (unsigned long)json_integer_value(json_object_get(ans, "accepted")));
    atomic_fetch_add(nurse ? &cnt.nurse_duplicates : &cnt.duplicates,
                     (unsigned long)json_integer_value(json_object_get(ans, "duplicates")));
    rej = json_object_get(ans, "rejected");
    if (json_array_size(rej) > 0)
        req = json_loads(body, 0, NULL);
    json_array_foreach(rej, i, item)
    {
        json_t *r = json_array_get(json_object_get(req, "readings"),
                                   (size_t)json_integer_value(json_object_get(item, "index")));
        atomic_fetch_add(nurse ? &cnt.nurse_rejected : &cnt.rejected, 1);
        ws_log("%s: %s reading %s (%s) rejected: %s: %s", who, nurse ? "nurse" : "device",
               jstr(r, "id"), jstr(r, "code"), jstr(item, "code"), jstr(item, "message"));
    }
    json_decref(req);
    json_decref(ans);
}

/* Posts one batch, retrying transport errors, timeouts, 408, 429 and 5xx
 * with the same body (the same message ids). */
static enum post_result post_batch(ws_http *c, const char *who, const char *path, const char *token,
                                   const char *body, bool nurse)
{
    long status = 0, wait_ms = BACKOFF_MS;
    char why[400];

    /* the first attempt is made even when stopping (a batch built before the
     * stop is still delivered); retries are not */
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        int rc = ws_http_do(c, "POST", path, token, body, strlen(body), &status);
        if (rc == 0 && (status == 201 || status == 422)) {
            count_answer(who, c, body, nurse);
            return POST_DONE;
        }
        if (rc == 0 && status == 401 && nurse)
            return POST_AUTH;
        if (rc == 0 && status != 408 && status != 429 && status < 500) {
            ws_log("%s: POST %s: %s; batch not retried", who, path,
                   ws_http_error_text(c, status, why, sizeof why));
            atomic_fetch_add(&cnt.failed, 1);
            return POST_DROPPED;
        }
        if (rc == 0 && c->retry_after_s > 0)
            wait_ms = c->retry_after_s * 1000;
        if (wait_ms > BACKOFF_MAX_MS)
            wait_ms = BACKOFF_MAX_MS;
        atomic_fetch_add(&cnt.failed, 1);
        if (attempt < ATTEMPTS && !atomic_load(&ws_stopping)) {
            ws_log("%s: POST %s failed (%s); retry %d/%d in %ld ms with the same ids", who, path,
                   rc ? c->err : ws_http_error_text(c, status, why, sizeof why), attempt,
                   ATTEMPTS - 1, wait_ms);
            atomic_fetch_add(&cnt.retries, 1);
            if (!ws_sleep_until(ws_mono_ns() + wait_ms * INT64_C(1000000)))
                break;
            wait_ms *= 2;
        } else {
            ws_log("%s: POST %s failed (%s); batch kept for the next %s", who, path,
                   rc ? c->err : ws_http_error_text(c, status, why, sizeof why),
                   atomic_load(&ws_stopping) ? "run (unsent)" : "tick");
            break;
        }
    }
    return POST_LATER;
}

static int nurse_login(struct run *r, ws_http *c);

/* --- outboxes ----------------------------------------------------------------------- */

/* Batches built but not yet answered, oldest first; each body is re-sent
 * unchanged (same message ids) until the server answers it. */
struct outbox {
    struct entry {
        char who[48];
        char *path, *body; /* owned */
        unsigned n;        /* readings in the batch */
    } e[OUTBOX_MAX];
    size_t head, count;
};

static void outbox_pop(struct outbox *ob)
{
    free(ob->e[ob->head].path);
    free(ob->e[ob->head].body);
    ob->head = (ob->head + 1) % OUTBOX_MAX;
    ob->count--;
}

/* Takes ownership of body. */
static void outbox_push(struct outbox *ob, const char *who, const char *path, char *body,
                        unsigned n)
{
    struct entry *e;

    if (ob->count == OUTBOX_MAX) {
        ws_log("%s: outbox full (server unreachable?): dropped the oldest batch of %u readings",
               ob->e[ob->head].who, ob->e[ob->head].n);
        atomic_fetch_add(&cnt.dropped, ob->e[ob->head].n);
        outbox_pop(ob);
    }
    e = &ob->e[(ob->head + ob->count) % OUTBOX_MAX];
    snprintf(e->who, sizeof e->who, "%s", who);
    e->path = strdup(path);
    e->body = body;
    e->n = n;
    if (!e->path) {
        ws_log("%s: out of memory: dropped a batch of %u readings", who, n);
        atomic_fetch_add(&cnt.dropped, n);
        free(body);
        return;
    }
    ob->count++;
}

/* Sends what is queued, oldest first, until the outbox is empty or a batch
 * stays unanswered. When stopping, each batch gets one attempt while posts
 * succeed. The nurse logs in again once when its session has ended. */
static void outbox_flush(struct outbox *ob, ws_http *c, struct run *r, const char *token,
                         bool nurse)
{
    while (ob->count > 0) {
        struct entry *e = &ob->e[ob->head];
        enum post_result res =
            post_batch(c, e->who, e->path, nurse ? r->nurse_token : token, e->body, nurse);
        if (res == POST_AUTH) { /* 12 h session over, or the password changed */
            ws_log("%s: session ended; logging in again", e->who);
            if (nurse_login(r, c) != 0)
                return;
            res = post_batch(c, e->who, e->path, r->nurse_token, e->body, nurse);
        }
        if (res == POST_AUTH) {
            ws_log("%s: still 401 after logging in again; batch kept", e->who);
            return;
        }
        if (res == POST_LATER)
            return;
        if (res == POST_DROPPED)
            atomic_fetch_add(&cnt.dropped, e->n);
        outbox_pop(ob);
    }
}

static unsigned long outbox_free(struct outbox *ob)
{
    unsigned long unsent = 0;

    while (ob->count > 0) {
        unsent += ob->e[ob->head].n;
        outbox_pop(ob);
    }
    return unsent;
}

/* --- devices ------------------------------------------------------------------------------ */

struct device {
    struct run *r;
    size_t index;
    struct outbox ob;
};

/* One monitor sample: the seven vital signs, and the rhythm when it changed. */
static char *device_batch(struct device *d, double t, uint64_t *seq, const char **rhythm,
                          unsigned *n_readings)
{
    const model_patient *p = &d->r->pats[d->index];
    model_vitals v;
    char when[TIMEFMT_LEN], id[OBS_ID_MAX + 1];
    json_t *arr = json_array(), *body;
    char *text;
    static const char *const codes[] = {"hr", "sbp", "dbp", "map", "spo2", "temp", "rr"};
    double x[7];

    model_vitals_at(p, t, &v);
    memcpy(x, (const double[7]){v.hr, v.sbp, v.dbp, v.map, v.spo2, v.temp, v.rr}, sizeof x);
    now_text(when);
    for (size_t i = 0; i < 7; i++) {
        model_msg_id(id, sizeof id, d->r->prefix, "", (*seq)++);
        add_reading(arr, id, codes[i], x[i], NULL, when);
    }
    if (!*rhythm || strcmp(*rhythm, v.rhythm) != 0) {
        model_msg_id(id, sizeof id, d->r->prefix, "", (*seq)++);
        add_reading(arr, id, "rhythm", 0, v.rhythm, when);
        *rhythm = v.rhythm;
    }
    *n_readings = (unsigned)json_array_size(arr);
    body = json_pack("{s:o}", "readings", arr);
    text = body ? json_dumps(body, JSON_FLAGS) : NULL;
    json_decref(body);
    return text;
}

static void *device_main(void *arg)
{
    struct device *d = arg;
    struct run *r = d->r;
    int64_t period = r->o->interval_ms * INT64_C(1000000);
    int64_t offset = period * (int64_t)d->index / (int64_t)r->n;
    const char *rhythm = NULL;
    uint64_t seq = 0;
    ws_http c;

    if (ws_http_init(&c, r->o->url, POST_TIMEOUT_MS) != 0)
        return NULL;
    for (int64_t k = 0;; k++) {
        int64_t due = r->start_ns + offset + k * period, late = ws_mono_ns() - due;
        unsigned n = 0;
        char *body;
        if (late > period) { /* behind after retries: skip the missed samples */
            k += late / period;
            due = r->start_ns + offset + k * period;
        }
        if (!ws_sleep_until(due))
            break;
        body = device_batch(d, sim_hours(r, due), &seq, &rhythm, &n);
        if (!body) {
            ws_log("%s: out of memory building a batch", r->devs[d->index].bed);
            continue;
        }
        atomic_fetch_add(&cnt.batches, 1);
        atomic_fetch_add(&cnt.readings, n);
        outbox_push(&d->ob, r->devs[d->index].bed, "/api/v1/readings", body, n);
        outbox_flush(&d->ob, &c, r, r->devs[d->index].token, false);
    }
    outbox_flush(&d->ob, &c, r, r->devs[d->index].token, false); /* leftovers: one try */
    ws_http_free(&c);
    return NULL;
}

/* --- the nurse ------------------------------------------------------------------------ */

struct nurse_bed {
    int64_t patient_id; /* 0: empty bed or not yet known */
    model_patient p;    /* the bed's model with the record's baselines */
    long round, weight, lab;
    double o2;
    int confusion;
    int64_t urine_since_ns; /* when the previous urine entry was made (0: none yet) */
};

struct nurse {
    struct run *r;
    ws_http c;
    struct nurse_bed *beds;
    uint64_t seq;
    struct outbox ob; /* entries not yet answered, all patients */
};

static int nurse_login(struct run *r, ws_http *c)
{
    const char *colon = strchr(r->o->nurse, ':');
    json_t *req, *ans;
    char *body, why[400];
    long status = 0;
    int rc = -1;

    req = json_pack("{s:s%, s:s}", "username", r->o->nurse, (size_t)(colon - r->o->nurse),
                    "password", colon + 1);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return -1;
    if (ws_http_do(c, "POST", "/api/v1/session", NULL, body, strlen(body), &status) != 0)
        ws_log("nurse: cannot log in: %s", c->err);
    else if (status != 200)
        ws_log("nurse: cannot log in as \"%.*s\": %s", (int)(colon - r->o->nurse), r->o->nurse,
               ws_http_error_text(c, status, why, sizeof why));
    else if ((ans = json_loadb(c->body, c->len, 0, NULL)) != NULL) {
        const char *tok = json_string_value(json_object_get(ans, "token"));
        if (tok && strlen(tok) < sizeof r->nurse_token) {
            memcpy(r->nurse_token, tok, strlen(tok) + 1);
            rc = 0;
        }
        json_decref(ans);
    }
    free(body);
    return rc;
}

/* The record's baselines anchor the nurse's weight, creatinine, bilirubin. */
static void nurse_baseline(struct nurse *nu, struct nurse_bed *b)
{
    char path[64];
    long status = 0;
    json_t *j, *base;

    snprintf(path, sizeof path, "/api/v1/patients/%" PRId64, b->patient_id);
    if (ws_http_do(&nu->c, "GET", path, nu->r->nurse_token, NULL, 0, &status) != 0 || status != 200)
        return;
    j = json_loadb(nu->c.body, nu->c.len, 0, NULL);
    base = json_object_get(j, "baseline");
    model_set_baseline(&b->p, json_number_value(json_object_get(base, "weight_kg")),
                       json_number_value(json_object_get(base, "creatinine_mg_dl")),
                       json_number_value(json_object_get(base, "bilirubin_mg_dl")));
    json_decref(j);
}

/* Which patient lies in each of our beds (GET /api/v1/ward). */
static void nurse_ward(struct nurse *nu)
{
    struct run *r = nu->r;
    long status = 0;
    char why[400];
    json_t *ward, *bed;
    size_t i;
    int rc = ws_http_do(&nu->c, "GET", "/api/v1/ward", r->nurse_token, NULL, 0, &status);

    if (rc == 0 && status == 401) { /* the session ended: log in again, once */
        ws_log("nurse: session ended; logging in again");
        if (nurse_login(r, &nu->c) != 0)
            return;
        rc = ws_http_do(&nu->c, "GET", "/api/v1/ward", r->nurse_token, NULL, 0, &status);
    }
    if (rc != 0 || status != 200) {
        ws_log("nurse: GET /api/v1/ward failed: %s",
               status ? ws_http_error_text(&nu->c, status, why, sizeof why) : nu->c.err);
        return;
    }
    ward = json_loadb(nu->c.body, nu->c.len, 0, NULL);
    for (size_t k = 0; k < r->n; k++) {
        int64_t pid = 0;
        json_array_foreach(json_object_get(ward, "beds"), i, bed)
        {
            const char *name = json_string_value(json_object_get(bed, "bed"));
            if (name && strcmp(name, r->devs[k].bed) == 0)
                pid = json_integer_value(json_object_get(json_object_get(bed, "patient"), "id"));
        }
        if (pid != nu->beds[k].patient_id) { /* admitted, discharged or replaced */
            struct nurse_bed *b = &nu->beds[k];
            memset(b, 0, sizeof *b);
            b->patient_id = pid;
            b->p = r->pats[k];
            b->round = b->weight = b->lab = LONG_MIN;
            b->o2 = -1;
            b->confusion = -1;
            if (pid)
                nurse_baseline(nu, b);
        }
    }
    json_decref(ward);
}

static long slot(double t, double first, double every)
{
    return (long)floor((t - first) / every);
}

/* What is due for one patient at simulated time t, as one batch. */
static void nurse_round(struct nurse *nu, struct nurse_bed *b, double t, int64_t ns)
{
    char when[TIMEFMT_LEN], id[OBS_ID_MAX + 1], path[80], who[48];
    json_t *arr = json_array(), *body;
    bool acvpu = false;
    long rnd = slot(t, 0, 2), weight = slot(t, 6, 24), lab = slot(t, 6, 12);
    model_nurse m;
    char *text;
    size_t n;

#define ID() (model_msg_id(id, sizeof id, nu->r->prefix, "n", nu->seq++), id)
    model_nurse_at(&b->p, t, &m);
    now_text(when);
    if (rnd != b->round) { /* q2h: urine output since the last round, and ACVPU */
        if (b->urine_since_ns)
            add_reading(arr, ID(), "urine",
                        round(m.urine_rate * (double)(ns - b->urine_since_ns) / 3.6e12 * 100) / 100,
                        NULL, when);
        b->urine_since_ns = ns;
        add_reading(arr, ID(), "consciousness", 0, m.conscious, when);
        acvpu = true;
        b->round = rnd;
    }
    if (weight != b->weight) { /* daily at 06:00 */
        add_reading(arr, ID(), "weight", m.weight, NULL, when);
        b->weight = weight;
    }
    if (lab != b->lab) { /* 06:00 and 18:00 */
        add_reading(arr, ID(), "creatinine", m.creatinine, NULL, when);
        add_reading(arr, ID(), "potassium", m.potassium, NULL, when);
        add_reading(arr, ID(), "bilirubin", m.bilirubin, NULL, when);
        b->lab = lab;
    }
    if (m.o2_flow != b->o2) { /* titrated when SpO2 falls (or recovers) */
        add_reading(arr, ID(), "o2_flow", m.o2_flow, NULL, when);
        b->o2 = m.o2_flow;
    }
    /* confusion: graded on first sight, when it starts and when it resolves */
    if (m.confusion_grade != b->confusion) {
        add_reading(arr, ID(), "ctcae.confusion", m.confusion_grade, NULL, when);
        if (!acvpu)
            add_reading(arr, ID(), "consciousness", 0, m.conscious, when);
    }
    b->confusion = m.confusion_grade;
#undef ID
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return;
    }
    n = json_array_size(arr);
    atomic_fetch_add(&cnt.nurse_entries, n);
    body = json_pack("{s:o}", "readings", arr);
    text = body ? json_dumps(body, JSON_FLAGS) : NULL;
    json_decref(body);
    if (!text)
        return;
    snprintf(path, sizeof path, "/api/v1/patients/%" PRId64 "/observations", b->patient_id);
    snprintf(who, sizeof who, "nurse, patient %" PRId64, b->patient_id);
    outbox_push(&nu->ob, who, path, text, (unsigned)n);
}

static void *nurse_main(void *arg)
{
    struct nurse *nu = arg;
    const struct run *r = nu->r;
    int64_t step = r->o->interval_ms < 1000 ? r->o->interval_ms * INT64_C(1000000)
                                            : INT64_C(1000000000),
            next_ward = 0;

    for (int64_t k = 0; ws_sleep_until(r->start_ns + k * step); k++) {
        int64_t ns = ws_mono_ns();
        if (ns >= next_ward) {
            nurse_ward(nu);
            next_ward = ns + WARD_REFRESH_NS;
        }
        for (size_t i = 0; i < r->n && !atomic_load(&ws_stopping); i++) {
            if (nu->beds[i].patient_id)
                nurse_round(nu, &nu->beds[i], sim_hours(r, ns), ns);
        }
        outbox_flush(&nu->ob, &nu->c, nu->r, NULL, true);
        if (ws_mono_ns() - (r->start_ns + k * step) > step) /* skip missed steps */
            k = (ws_mono_ns() - r->start_ns) / step;
    }
    outbox_flush(&nu->ob, &nu->c, nu->r, NULL, true); /* leftovers: one try */
    return NULL;
}

/* --- the run ------------------------------------------------------------------------ */

static int parse_profiles(const ws_opts *o, size_t n, int *out)
{
    char buf[1024], *save = NULL, *tok;
    size_t i = 0;

    for (size_t k = 0; k < n; k++)
        out[k] = -1;
    if (!o->profiles)
        return 0;
    if (strlen(o->profiles) >= sizeof buf) {
        ws_log("--profiles: list too long");
        return -1;
    }
    memcpy(buf, o->profiles, strlen(o->profiles) + 1);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
        model_profile p;
        if (i >= n) {
            ws_log("--profiles: %zu or more profiles for %zu beds", i + 1, n);
            return -1;
        }
        if (strcmp(tok, "auto") == 0)
            continue;
        if (model_profile_parse(tok, &p) != 0) {
            ws_log("--profiles: unknown profile \"%s\" (well, leak, af, confusion, oliguria, auto)",
                   tok);
            return -1;
        }
        out[i] = (int)p;
    }
    return 0;
}

static void status_line(const struct run *r, int64_t ns, bool final)
{
    double t = sim_hours(r, ns);
    model_state s;
    int day = (int)floor(t / 24) + 1;
    double hod = t - 24.0 * floor(t / 24);

    model_state_at(&r->pats[0], t, &s);
    ws_log("%ssimulated day %d %02d:%02d, %d of 28 doses given; devices: %lu readings sent, %lu "
           "accepted, %lu duplicates, %lu rejected; nurse: %lu entries, %lu accepted, %lu "
           "rejected; %lu failed posts, %lu retries",
           final ? "done: " : "", day, (int)floor(hod), (int)floor((hod - floor(hod)) * 60),
           s.doses, atomic_load(&cnt.readings), atomic_load(&cnt.accepted),
           atomic_load(&cnt.duplicates), atomic_load(&cnt.rejected),
           atomic_load(&cnt.nurse_entries), atomic_load(&cnt.nurse_accepted),
           atomic_load(&cnt.nurse_rejected), atomic_load(&cnt.failed), atomic_load(&cnt.retries));
}

int ws_sim_run(const ws_opts *o, const ws_device *devs, size_t n_devs, int64_t start_ms)
{
    struct run r = {.o = o, .devs = devs, .n = o->beds ? (size_t)o->beds : n_devs};
    struct device *dv = NULL;
    struct nurse nu = {.r = &r};
    pthread_t *th = NULL, nurse_th;
    int *profiles = NULL, rc = 1;
    size_t started = 0;
    bool nurse_started = false;
    int64_t end, next_status;
    unsigned long unsent = 0;

    if (r.n > n_devs) {
        ws_log("--beds %zu: the devices file %s has only %zu devices", r.n, o->devices, n_devs);
        return 2;
    }
    r.pats = calloc(r.n, sizeof *r.pats);
    dv = calloc(r.n, sizeof *dv);
    th = calloc(r.n, sizeof *th);
    profiles = calloc(r.n, sizeof *profiles);
    nu.beds = calloc(r.n, sizeof *nu.beds);
    if (!r.pats || !dv || !th || !profiles || !nu.beds) {
        ws_log("out of memory");
        goto done;
    }
    if (parse_profiles(o, r.n, profiles) != 0) {
        rc = 2;
        goto done;
    }
    model_msg_prefix(r.prefix, sizeof r.prefix, start_ms, o->seed);
    for (size_t i = 0; i < r.n; i++)
        model_init(&r.pats[i], o->seed, (unsigned)i, profiles[i]);
    r.sim0 = 24.0 * (o->start_day - 1) +
             (o->start_hour >= 0 ? o->start_hour : (double)(start_ms % 86400000) / 3.6e6);

    if (ws_wait_healthy(o->url, 15) != 0)
        goto done;
    if (ws_http_init(&nu.c, o->url, POST_TIMEOUT_MS) != 0)
        goto done;
    if (o->nurse && nurse_login(&r, &nu.c) != 0)
        goto done;

    {
        char line[1024];
        size_t off = 0;
        for (size_t i = 0; i < r.n && off < sizeof line - 64; i++)
            off += (size_t)snprintf(line + off, sizeof line - off, " %s=%s", devs[i].bed,
                                    model_profile_name(r.pats[i].profile));
        ws_log("%zu bed%s every %ld ms, speed %gx, seed %" PRIu64 ", starting day %d %02d:%02d "
               "simulated%s; profiles:%s",
               r.n, r.n == 1 ? "" : "s", o->interval_ms, o->speed, o->seed, o->start_day,
               (int)floor(fmod(r.sim0, 24)), (int)floor(fmod(r.sim0 * 60, 60)),
               o->nurse ? ", with nurse entries" : "", line);
    }
    r.start_ns = ws_mono_ns();
    for (size_t i = 0; i < r.n; i++) {
        dv[i].r = &r;
        dv[i].index = i;
        if (pthread_create(&th[i], NULL, device_main, &dv[i]) != 0) {
            ws_log("cannot start a device thread");
            ws_stop();
            goto join;
        }
        started++;
    }
    if (o->nurse) {
        if (pthread_create(&nurse_th, NULL, nurse_main, &nu) != 0) {
            ws_log("cannot start the nurse thread");
            ws_stop();
            goto join;
        }
        nurse_started = true;
    }
    end = o->duration_s > 0 ? r.start_ns + (int64_t)(o->duration_s * 1e9) : INT64_MAX;
    next_status = r.start_ns + STATUS_EVERY_NS;
    while (!ws_wait_signal(end < next_status ? end : next_status)) {
        if (ws_mono_ns() >= end)
            break;
        status_line(&r, ws_mono_ns(), false);
        next_status += STATUS_EVERY_NS;
    }
    rc = 0;
join:
    ws_stop();
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (nurse_started)
        pthread_join(nurse_th, NULL);
    for (size_t i = 0; i < started; i++)
        unsent += outbox_free(&dv[i].ob);
    unsent += outbox_free(&nu.ob);
    status_line(&r, ws_mono_ns(), true);
    printf("{\"mode\": \"sim\", \"beds\": %zu, \"seconds\": %.1f, \"simulated_hours\": %.2f, "
           "\"batches\": %lu, \"readings\": %lu, \"accepted\": %lu, \"duplicates\": %lu, "
           "\"rejected\": %lu, \"failed_posts\": %lu, \"retries\": %lu, \"dropped\": %lu, "
           "\"unsent\": %lu, \"nurse_entries\": %lu, \"nurse_accepted\": %lu, "
           "\"nurse_duplicates\": %lu, \"nurse_rejected\": %lu}\n",
           r.n, (double)(ws_mono_ns() - r.start_ns) / 1e9, sim_hours(&r, ws_mono_ns()) - r.sim0,
           atomic_load(&cnt.batches), atomic_load(&cnt.readings), atomic_load(&cnt.accepted),
           atomic_load(&cnt.duplicates), atomic_load(&cnt.rejected), atomic_load(&cnt.failed),
           atomic_load(&cnt.retries), atomic_load(&cnt.dropped), unsent,
           atomic_load(&cnt.nurse_entries), atomic_load(&cnt.nurse_accepted),
           atomic_load(&cnt.nurse_duplicates), atomic_load(&cnt.nurse_rejected));
    fflush(stdout);
    if (rc == 0 && (atomic_load(&cnt.rejected) || atomic_load(&cnt.nurse_rejected) ||
                    atomic_load(&cnt.dropped) || unsent))
        rc = 1;
done:
    ws_http_free(&nu.c);
    free(nu.beds);
    free(profiles);
    free(th);
    free(dv);
    free(r.pats);
    return rc;
}
