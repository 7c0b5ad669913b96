/* sse_probe: alert latency for `make bench` (docs/performance.md).
 *
 *   sse_probe --url URL --user U --password P --probes N --tag T [--timeout-ms MS]
 *
 * Logs in, opens GET /api/v1/events (SSE) and keeps it open; creates N fresh
 * probe patients (bed, device, admitted patient, one set of normal vitals,
 * through the API), then for each in turn posts one reading that crosses a
 * grade-3 threshold of the default rule set (schema/rules/il2-default.json,
 * term "fever": grade 3 is {"latest": "temp", "gt": 40.0}; the probe posts
 * temp 40.5 Cel) and measures, on the monotonic clock:
 *   alert latency    the 201 of that POST -> the SSE `alert` event for the
 *                    patient with term "fever" and grade >= 3 (docs/api.md "Alerts")
 *   post latency     request sent -> 201: one durable group commit, the
 *                    baseline bench/run.sh prints beside the alert latency
 *   reading latency  the 201 -> the SSE `reading` event of the same reading
 *                    (the event bus's own delay; usually 0: the event is
 *                    published before the 201 is sent)
 * An event that arrives before the client has read the 201 counts as 0 ms.
 * Each probe uses a new patient because a grade alert stays open (one alert
 * per condition) until the condition has been clear for alerts.resolve_ms.
 *
 * Prints one JSON object. "status" is "ok", or "not_measured" with a
 * "reason" (no event stream, or no alert event within the first probe's
 * 40 s: the feature is not in this build). Bounded: at most N probes, each
 * waiting at most --timeout-ms (default 5000) for its events, and the
 * whole run at most 300 s. */
#include "bench_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_PROBES    1000
#define FIRST_WAIT_MS 40000
#define RUN_BUDGET_MS 300000

struct probe {
    bh_bed b;
    bool armed;
    int64_t t_send, t_201, t_alert, t_reading;
};

static struct probe probes[MAX_PROBES];
static size_t n_probes;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_bool stop_stream;
static atomic_bool stream_open;
static unsigned long alert_events, all_events;

/* --- the SSE reader -------------------------------------------------------- */

struct sse_parse {
    char line[65536];
    size_t len;
    char event[64];
    char data[65536];
    size_t data_len;
};

static struct probe *probe_of(json_int_t patient)
{
    for (size_t i = 0; i < n_probes; i++)
        if (probes[i].b.patient_id == patient)
            return &probes[i];
    return NULL;
}

/* A complete event: `event` type, `data` text. Called with mu held. */
static void on_event(const char *event, const char *data, int64_t now)
{
    json_t *j = json_loads(data, 0, NULL), *a;
    struct probe *p;

    all_events++;
    if (!j)
        return;
    if (strcmp(event, "alert") == 0) {
        alert_events++;
        /* The alert object itself, or wrapped as {"alert": {...}}. */
        a = json_is_object(json_object_get(j, "alert")) ? json_object_get(j, "alert") : j;
        p = probe_of(json_integer_value(json_object_get(a, "patient_id")));
        if (p && p->armed && p->t_alert == 0 && json_is_string(json_object_get(a, "term")) &&
            strcmp(json_string_value(json_object_get(a, "term")), "fever") == 0 &&
            json_integer_value(json_object_get(a, "grade")) >= 3) {
            p->t_alert = now;
            pthread_cond_broadcast(&cv);
        }
    } else if (strcmp(event, "reading") == 0) {
        p = probe_of(json_integer_value(json_object_get(j, "patient_id")));
        if (p && p->armed && p->t_reading == 0) {
            p->t_reading = now;
            pthread_cond_broadcast(&cv);
        }
    }
    json_decref(j);
}

static void on_line(struct sse_parse *s, int64_t now)
{
    const char *v;

    if (s->len == 0) { /* blank line: dispatch */
        if (s->data_len > 0) {
            s->data[s->data_len] = '\0';
            pthread_mutex_lock(&mu);
            on_event(s->event[0] ? s->event : "message", s->data, now);
            pthread_mutex_unlock(&mu);
        }
        s->event[0] = '\0';
        s->data_len = 0;
        return;
    }
    s->line[s->len] = '\0';
    v = strchr(s->line, ':');
    if (!v || v == s->line)
        return; /* a comment (": connected") or a field without value */
    v++;
    if (*v == ' ')
        v++;
    if (strncmp(s->line, "event:", 6) == 0) {
        snprintf(s->event, sizeof s->event, "%s", v);
    } else if (strncmp(s->line, "data:", 5) == 0) {
        size_t n = strlen(v);
        if (s->data_len + n + 2 < sizeof s->data) {
            if (s->data_len)
                s->data[s->data_len++] = '\n';
            memcpy(s->data + s->data_len, v, n);
            s->data_len += n;
        }
    }
}

static size_t sse_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sse_parse *s = userdata;
    size_t n = size * nmemb;
    int64_t now = bh_mono_ns();

    atomic_store(&stream_open, true);
    for (size_t i = 0; i < n; i++) {
        char ch = ptr[i];
        if (ch == '\r')
            continue;
        if (ch == '\n') {
            on_line(s, now);
            s->len = 0;
        } else if (s->len + 1 < sizeof s->line) {
            s->line[s->len++] = ch;
        }
    }
    return n;
}

static int sse_progress(void *p, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)p;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&stop_stream) ? 1 : 0;
}

struct stream_arg {
    char url[512];
    char auth[512];
    long status;
};

static void *stream_main(void *argp)
{
    struct stream_arg *a = argp;
    struct sse_parse *s = calloc(1, sizeof *s);
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();

    if (!s || !c)
        goto out;
    h = curl_slist_append(h, a->auth);
    h = curl_slist_append(h, "Accept: text/event-stream");
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)RUN_BUDGET_MS + 120000L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
out:
    atomic_store(&stream_open, false);
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(s);
    return NULL;
}

/* --- statistics ------------------------------------------------------------ */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return (a > b) - (a < b);
}

/* Nearest-rank percentile; -1 when there are no samples. */
static double pct(double *v, size_t n, double p)
{
    size_t rank;

    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_double);
    rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[rank > n ? n - 1 : rank - 1];
}

static double ms_since(int64_t from, int64_t to)
{
    double d = (double)(to - from) / 1e6;

    return d < 0 ? 0 : d;
}

/* --- main ------------------------------------------------------------------- */

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static void not_measured(const char *reason)
{
    json_t *o = json_pack("{s:s, s:s}", "status", "not_measured", "reason", reason);
    char *t = json_dumps(o, JSON_COMPACT);

    printf("%s\n", t ? t : "{\"status\":\"not_measured\"}");
    free(t);
    json_decref(o);
}

static int post_vitals(CURL *c, const char *url, const struct probe *p, int64_t t_ms, bool fever)
{
    char body[1024], when[40];
    long st;

    bh_time(t_ms, when, sizeof when);
    if (fever)
        snprintf(body, sizeof body,
                 "{\"readings\":[{\"id\":\"fever-1\",\"code\":\"temp\",\"value\":40.5,"
                 "\"unit\":\"Cel\",\"time\":\"%s\"}]}",
                 when);
    else
        snprintf(
            body, sizeof body,
            "{\"readings\":["
            "{\"id\":\"base-hr\",\"code\":\"hr\",\"value\":80,\"unit\":\"/min\",\"time\":\"%s\"},"
            "{\"id\":\"base-rr\",\"code\":\"rr\",\"value\":16,\"unit\":\"/min\",\"time\":\"%s\"},"
            "{\"id\":\"base-spo2\",\"code\":\"spo2\",\"value\":97,\"unit\":\"%%\",\"time\":\"%s\"},"
            "{\"id\":\"base-temp\",\"code\":\"temp\",\"value\":37.0,\"unit\":\"Cel\",\"time\":\"%"
            "s\"},"
            "{\"id\":\"base-sbp\",\"code\":\"sbp\",\"value\":120,\"unit\":\"mm[Hg]\",\"time\":\"%"
            "s\"},"
            "{\"id\":\"base-dbp\",\"code\":\"dbp\",\"value\":75,\"unit\":\"mm[Hg]\",\"time\":\"%"
            "s\"}]}",
            when, when, when, when, when, when);
    st = bh_request(c, "POST", url, p->b.token, body, NULL);
    return st == 201 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *url = arg(argc, argv, "--url", NULL), *tag = arg(argc, argv, "--tag", "p");
    const char *user = arg(argc, argv, "--user", NULL), *pw = arg(argc, argv, "--password", NULL);
    long want = strtol(arg(argc, argv, "--probes", "100"), NULL, 10);
    long timeout_ms = strtol(arg(argc, argv, "--timeout-ms", "5000"), NULL, 10);
    static struct stream_arg sa;
    static double alert_ms[MAX_PROBES], reading_ms[MAX_PROBES], post_ms[MAX_PROBES];
    size_t n_alert = 0, n_reading = 0, n_post = 0, timeouts = 0;
    char post_url[512], reason[256];
    char *token = NULL;
    pthread_t th;
    bool have_thread = false;
    int64_t t_start;
    CURL *c;
    int rc = 1;

    if (!url || !user || !pw || want < 1 || want > MAX_PROBES || timeout_ms < 100 ||
        timeout_ms > 60000) {
        fprintf(stderr, "usage: sse_probe --url URL --user U --password P --probes N --tag T\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    token = c ? bh_login(c, url, user, pw) : NULL;
    if (!token) {
        not_measured("cannot log in");
        goto out;
    }
    t_start = bh_mono_ns();
    snprintf(sa.url, sizeof sa.url, "%s/api/v1/events", url);
    snprintf(sa.auth, sizeof sa.auth, "Authorization: Bearer %.400s", token);
    if (pthread_create(&th, NULL, stream_main, &sa) != 0)
        goto out;
    have_thread = true;
    for (int i = 0; i < 500 && !atomic_load(&stream_open); i++)
        usleep(10000);
    if (!atomic_load(&stream_open)) {
        snprintf(reason, sizeof reason, "GET /api/v1/events did not stream (HTTP %ld)", sa.status);
        not_measured(reason);
        goto out;
    }

    /* The probe patients, each with a set of normal vitals a minute ago. */
    snprintf(post_url, sizeof post_url, "%s/api/v1/readings", url);
    for (long i = 0; i < want; i++) {
        char bed[40];
        struct probe p = {0};
        snprintf(bed, sizeof bed, "%s-%ld", tag, i + 1);
        if (bh_make_bed(c, url, token, bed, &p.b) != 0 ||
            post_vitals(c, post_url, &p, bh_wall_ms() - 60000, false) != 0) {
            not_measured("cannot create the probe patients");
            goto out;
        }
        pthread_mutex_lock(&mu);
        probes[n_probes++] = p;
        pthread_mutex_unlock(&mu);
    }
    usleep(200000);

    for (size_t i = 0; i < n_probes; i++) {
        struct probe *p = &probes[i];
        int64_t t_send, t_201, deadline;
        int ok;

        if (bh_mono_ns() - t_start > (int64_t)RUN_BUDGET_MS * 1000000)
            break;
        pthread_mutex_lock(&mu);
        p->armed = true;
        pthread_mutex_unlock(&mu);
        t_send = bh_mono_ns();
        ok = post_vitals(c, post_url, p, bh_wall_ms(), true);
        t_201 = bh_mono_ns();
        if (ok != 0) {
            not_measured("a probe reading was not accepted (no 201)");
            goto out;
        }
        deadline = t_201 + (int64_t)(i == 0 ? FIRST_WAIT_MS : timeout_ms) * 1000000;
        pthread_mutex_lock(&mu);
        p->t_send = t_send;
        p->t_201 = t_201;
        while ((p->t_alert == 0 || p->t_reading == 0) && bh_mono_ns() < deadline &&
               atomic_load(&stream_open)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&cv, &mu, &ts);
        }
        post_ms[n_post++] = ms_since(t_send, t_201);
        if (p->t_reading)
            reading_ms[n_reading++] = ms_since(t_201, p->t_reading);
        if (p->t_alert)
            alert_ms[n_alert++] = ms_since(t_201, p->t_alert);
        else
            timeouts++;
        snprintf(reason, sizeof reason,
                 "no fever grade-3 alert event on the SSE stream within %d s of the 201 "
                 "(%lu alert events, %lu events seen): alerts are not raised in this build",
                 FIRST_WAIT_MS / 1000, alert_events, all_events);
        pthread_mutex_unlock(&mu);
        if (i == 0 && timeouts == 1) {
            not_measured(reason);
            goto out;
        }
        usleep(30000);
    }
    {
        /* A probe that timed out counts as slower than every measured one. */
        for (size_t k = 0; k < timeouts && n_alert < MAX_PROBES; k++)
            alert_ms[n_alert++] = 1e9;
        json_t *o = json_pack(
            "{s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I}", "status", "ok", "probes",
            (json_int_t)n_post, "timeouts", (json_int_t)timeouts, "timeout_ms",
            (json_int_t)timeout_ms, "alert_p50_ms", pct(alert_ms, n_alert, 0.50), "alert_p99_ms",
            pct(alert_ms, n_alert, 0.99), "reading_p50_ms", pct(reading_ms, n_reading, 0.50),
            "reading_p99_ms", pct(reading_ms, n_reading, 0.99), "post_p50_ms",
            pct(post_ms, n_post, 0.50), "post_p99_ms", pct(post_ms, n_post, 0.99), "alert_events",
            (json_int_t)alert_events);
        char *t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", t ? t : "{}");
        free(t);
        json_decref(o);
        rc = 0;
    }
out:
    fflush(stdout);
    atomic_store(&stop_stream, true);
    if (have_thread)
        pthread_join(th, NULL);
    free(token);
    if (c)
        curl_easy_cleanup(c);
    curl_global_cleanup();
    return rc;
}
