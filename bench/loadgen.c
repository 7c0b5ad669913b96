/* loadgen: paced (open-loop) device load and idle SSE clients for `make bench`
 * (docs/performance.md). Loopback only; every loop is bounded by time.
 *
 *   loadgen setup --url URL --user U --password P --beds N --prefix X --out FILE
 *       creates N beds X1..XN, a device in each and an admitted patient
 *       (docs/api.md), and writes one line per bed: "TOKEN PATIENT_ID DEVICE_ID BED".
 *
 *   loadgen run --url URL --beds-file FILE --interval-ms I --batch B --duration-s D
 *               [--tag T] [--sse N (--token T | --user U --password P)]
 *       every device of FILE posts a batch of B vitals (hr rr spo2 temp sbp dbp,
 *       normal values, time = now) every I ms, the devices' slots spread
 *       evenly over the interval, each device on its own keep-alive connection;
 *       N SSE clients stay connected to GET /api/v1/events meanwhile. Prints
 *       one JSON object: requests, ok, errors, late (a slot that found its
 *       device's previous request still in flight), readings_per_s,
 *       p50_ms/p99_ms of the posts, sse_connected, sse_events. SIGTERM or
 *       SIGINT ends the run early (the counts cover the time it ran). */
#include "bench_http.h"

#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_DEVICES 512
#define MAX_SSE     512

static volatile sig_atomic_t stop_now;

static void on_stop(int sig)
{
    (void)sig;
    stop_now = 1;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static long arg_long(int argc, char **argv, const char *name, long dflt)
{
    const char *v = arg(argc, argv, name, NULL);

    return v ? strtol(v, NULL, 10) : dflt;
}

static int cmd_setup(int argc, char **argv)
{
    const char *url = arg(argc, argv, "--url", NULL), *user = arg(argc, argv, "--user", NULL);
    const char *pw = arg(argc, argv, "--password", NULL), *out = arg(argc, argv, "--out", NULL);
    const char *prefix = arg(argc, argv, "--prefix", "B");
    long beds = arg_long(argc, argv, "--beds", 0);
    CURL *c = curl_easy_init();
    char *token = NULL;
    FILE *f = NULL;
    int rc = 1;

    if (!url || !user || !pw || !out || beds < 1 || beds > MAX_DEVICES || !c) {
        fprintf(stderr, "loadgen setup: --url --user --password --beds (1-%d) --out needed\n",
                MAX_DEVICES);
        goto done;
    }
    token = bh_login(c, url, user, pw);
    f = fopen(out, "w");
    if (!token || !f)
        goto done;
    for (long i = 1; i <= beds; i++) {
        char bed[40];
        bh_bed b;
        snprintf(bed, sizeof bed, "%s%ld", prefix, i);
        if (bh_make_bed(c, url, token, bed, &b) != 0)
            goto done;
        fprintf(f, "%s %" PRId64 " %" PRId64 " %s\n", b.token, b.patient_id, b.device_id, b.bed);
    }
    rc = 0;
done:
    if (f && fclose(f) != 0)
        rc = 1;
    free(token);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* --- run ----------------------------------------------------------------- */

struct device {
    char token[128];
    CURL *h;
    struct curl_slist *hdr;
    char body[16384];
    int64_t next_ns; /* next slot */
    bool busy;
    unsigned long seq;
};

struct sse {
    CURL *h;
    struct curl_slist *hdr;
    unsigned long events;
    size_t bytes;
};

static size_t sse_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sse *s = userdata;
    size_t n = size * nmemb;

    s->bytes += n;
    for (size_t i = 0; i + 6 <= n; i++)
        if ((i == 0 || ptr[i - 1] == '\n') && memcmp(ptr + i, "event:", 6) == 0)
            s->events++;
    return n;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static const char *const CODES[] = {"hr", "rr", "spo2", "temp", "sbp", "dbp"};
static const char *const UNITS[] = {"/min", "/min", "%", "Cel", "mm[Hg]", "mm[Hg]"};

static double normal_value(int code, unsigned long seq)
{
    static const double base[] = {78, 16, 97, 36.9, 122, 74};
    static const double swing[] = {12, 3, 2, 0.5, 8, 6};
    double phase = (double)(seq % 17) / 16.0 - 0.5; /* -0.5 .. 0.5 */

    return base[code] + swing[code] * phase;
}

static void make_body(struct device *d, int batch, const char *tag)
{
    char when[40], *p = d->body;
    size_t left = sizeof d->body;
    int n;

    bh_time(bh_wall_ms(), when, sizeof when);
    n = snprintf(p, left, "{\"readings\":[");
    p += n;
    left -= (size_t)n;
    for (int i = 0; i < batch && left > 200; i++) {
        int code = i % 6;
        n = snprintf(p, left,
                     "%s{\"id\":\"g%s-%lu\",\"code\":\"%s\",\"value\":%.1f,\"unit\":\"%s\","
                     "\"time\":\"%s\"}",
                     i ? "," : "", tag, d->seq, CODES[code], normal_value(code, d->seq),
                     UNITS[code], when);
        d->seq++;
        p += n;
        left -= (size_t)n;
    }
    snprintf(p, left, "]}");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static int cmd_run(int argc, char **argv)
{
    const char *url = arg(argc, argv, "--url", NULL), *file = arg(argc, argv, "--beds-file", NULL);
    const char *tag = arg(argc, argv, "--tag", "0");
    long interval_ms = arg_long(argc, argv, "--interval-ms", 1000);
    long batch = arg_long(argc, argv, "--batch", 6);
    long duration_s = arg_long(argc, argv, "--duration-s", 10);
    long n_sse = arg_long(argc, argv, "--sse", 0);
    static struct device dev[MAX_DEVICES];
    static struct sse sse[MAX_SSE];
    size_t n_dev = 0, n_lat = 0, cap_lat = 0;
    double *lat = NULL;
    unsigned long requests = 0, ok = 0, errors = 0, late = 0, readings = 0, sse_events = 0;
    long sse_connected = 0;
    char post_url[512], ev_url[512], line[512], auth[256];
    char *viewer = NULL;
    CURLM *m = curl_multi_init();
    FILE *f = NULL;
    int64_t start, end, stop_by;
    int running = 0;

    if (!url || !file || interval_ms < 1 || batch < 1 || batch > 100 || duration_s < 1 ||
        duration_s > 3600 || n_sse < 0 || n_sse > MAX_SSE || !m) {
        fprintf(stderr, "loadgen run: bad arguments\n");
        return 2;
    }
    f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "loadgen run: cannot read %s\n", file);
        return 1;
    }
    while (n_dev < MAX_DEVICES && fgets(line, sizeof line, f))
        if (sscanf(line, "%127s", dev[n_dev].token) == 1)
            n_dev++;
    fclose(f);
    if (n_dev == 0)
        return 1;
    snprintf(post_url, sizeof post_url, "%s/api/v1/readings", url);
    snprintf(ev_url, sizeof ev_url, "%s/api/v1/events", url);
    if (n_sse > 0 && arg(argc, argv, "--token", NULL)) {
        viewer = strdup(arg(argc, argv, "--token", ""));
    } else if (n_sse > 0) {
        CURL *c = curl_easy_init();
        viewer =
            c ? bh_login(c, url, arg(argc, argv, "--user", ""), arg(argc, argv, "--password", ""))
              : NULL;
        if (c)
            curl_easy_cleanup(c);
    }
    if (n_sse > 0) {
        if (!viewer)
            return 1;
        snprintf(auth, sizeof auth, "Authorization: Bearer %.200s", viewer);
        for (long i = 0; i < n_sse; i++) {
            struct sse *s = &sse[i];
            s->h = curl_easy_init();
            s->hdr = curl_slist_append(NULL, auth);
            s->hdr = curl_slist_append(s->hdr, "Accept: text/event-stream");
            curl_easy_setopt(s->h, CURLOPT_URL, ev_url);
            curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdr);
            curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sse_write);
            curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
            curl_easy_setopt(s->h, CURLOPT_PRIVATE, NULL);
            curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
            curl_multi_add_handle(m, s->h);
        }
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    start = bh_mono_ns();
    end = start + (int64_t)duration_s * 1000000000;
    for (size_t i = 0; i < n_dev; i++) {
        struct device *d = &dev[i];
        snprintf(auth, sizeof auth, "Authorization: Bearer %.200s", d->token);
        d->h = curl_easy_init();
        d->hdr = curl_slist_append(NULL, auth);
        d->hdr = curl_slist_append(d->hdr, "Content-Type: application/json");
        curl_easy_setopt(d->h, CURLOPT_URL, post_url);
        curl_easy_setopt(d->h, CURLOPT_HTTPHEADER, d->hdr);
        curl_easy_setopt(d->h, CURLOPT_POSTFIELDS, d->body);
        curl_easy_setopt(d->h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(d->h, CURLOPT_PRIVATE, d);
        curl_easy_setopt(d->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(d->h, CURLOPT_TIMEOUT_MS, 30000L);
        d->next_ns = start + (int64_t)interval_ms * 1000000 * (int64_t)i / (int64_t)n_dev;
    }
    cap_lat = 1024;
    lat = malloc(cap_lat * sizeof *lat);
    stop_by = end + 10 * 1000000000LL; /* in-flight posts get 10 s to finish */
    for (;;) {
        int64_t now = bh_mono_ns(), wait_ns = 5000000;
        bool in_flight = false;
        CURLMsg *msg;
        int left;

        if (stop_now && now < end) {
            end = now;
            stop_by = end + 10 * 1000000000LL;
        }
        for (size_t i = 0; i < n_dev; i++) {
            struct device *d = &dev[i];
            in_flight |= d->busy;
            if (now >= end || now < d->next_ns) {
                if (!d->busy && now < end && d->next_ns - now < wait_ns)
                    wait_ns = d->next_ns - now;
                continue;
            }
            if (d->busy)
                continue;
            if (now - d->next_ns > (int64_t)interval_ms * 1000000)
                late++;
            make_body(d, (int)batch, tag);
            curl_multi_add_handle(m, d->h);
            d->busy = true;
            in_flight = true;
            requests++;
            d->next_ns += (int64_t)interval_ms * 1000000;
        }
        if (now >= end && (!in_flight || now >= stop_by))
            break;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            struct device *d = NULL;
            long st = 0;
            curl_off_t t_us = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            if (!d)
                continue; /* an SSE stream ended */
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME_T, &t_us);
            curl_multi_remove_handle(m, d->h);
            d->busy = false;
            if (msg->data.result == CURLE_OK && st == 201) {
                ok++;
                readings += (unsigned long)batch;
            } else {
                errors++;
            }
            if (n_lat == cap_lat) {
                double *grown = realloc(lat, 2 * cap_lat * sizeof *lat);
                if (grown) {
                    lat = grown;
                    cap_lat *= 2;
                }
            }
            if (lat && n_lat < cap_lat)
                lat[n_lat++] = (double)t_us / 1000.0;
        }
        curl_multi_poll(m, NULL, 0, (int)(wait_ns / 1000000) + 1, NULL);
    }
    for (long i = 0; i < n_sse; i++) {
        long st = 0;
        curl_easy_getinfo(sse[i].h, CURLINFO_RESPONSE_CODE, &st);
        sse_connected += st == 200;
        sse_events += sse[i].events;
        curl_multi_remove_handle(m, sse[i].h);
        curl_easy_cleanup(sse[i].h);
        curl_slist_free_all(sse[i].hdr);
    }
    for (size_t i = 0; i < n_dev; i++) {
        if (dev[i].busy)
            curl_multi_remove_handle(m, dev[i].h);
        curl_easy_cleanup(dev[i].h);
        curl_slist_free_all(dev[i].hdr);
    }
    printf("{\"devices\":%zu,\"requests\":%lu,\"ok\":%lu,\"errors\":%lu,\"late\":%lu,"
           "\"readings\":%lu,\"readings_per_s\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
           "\"sse_clients\":%ld,\"sse_connected\":%ld,\"sse_events\":%lu}\n",
           n_dev, requests, ok, errors, late, readings,
           (double)readings * 1e9 / (double)(end - start), pct(lat, n_lat, 0.5),
           pct(lat, n_lat, 0.99), n_sse, sse_connected, sse_events);
    free(lat);
    free(viewer);
    curl_multi_cleanup(m);
    return errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int rc = 2;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc >= 2 && strcmp(argv[1], "setup") == 0)
        rc = cmd_setup(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "run") == 0)
        rc = cmd_run(argc, argv);
    else
        fprintf(stderr, "usage: loadgen setup|run ... (see bench/loadgen.c)\n");
    curl_global_cleanup();
    return rc;
}
