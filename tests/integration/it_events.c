/* it_events: GET /api/v1/events, the live event bus as Server-Sent Events
 * (docs/api.md "Live updates"; payloads in docs/events.md): events arrive with
 * increasing ids, Last-Event-ID replays exactly what was missed, many
 * clients are served by a small thread pool, keep-alive comments flow,
 * and SIGTERM with open streams still exits 0 promptly.
 *
 * Each stream is read by a libcurl handle on its own thread, whose write
 * callback parses the SSE wire format (never asserting: cmocka's failures
 * stay on the main thread). The keep-alive interval is shortened with
 * WARDD_SSE_KEEPALIVE_MS, which the server inherits. */
#include "harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_MS "300"
#define EVENT_MS     2000 /* an event must arrive within this */
#define MAX_EVENTS   4096

static wd_fixture *fx(void **state)
{
    return *state;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- an SSE client on a thread --------------------------------------------------- */

typedef struct sse_event {
    unsigned long long id; /* 0 when the block had no id */
    char type[32];
    char *data;
    int64_t at_ns; /* when the block's blank line arrived */
} sse_event;

typedef struct sse {
    /* request */
    unsigned port;
    char token[256];
    char url_query[64];   /* appended to the path ("" = none) */
    char last_header[64]; /* Last-Event-ID value ("" = none) */
    /* thread */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    int fd; /* the socket, -1 when none (under mu) */
    bool done;
    CURLcode rc;
    long status;
    char content_type[128];
    char cache_control[128];
    /* parser (thread only) */
    char *line;
    size_t line_len, line_cap;
    unsigned long long cur_id;
    char cur_type[32];
    char *cur_data;
    bool has_block;
    /* results (under mu) */
    sse_event *events;
    size_t n_events;
    int connected; /* ": connected" comments */
    int keepalives;
    bool retry_seen;
} sse;

static void sse_dispatch(sse *c)
{
    if (c->has_block && (c->cur_type[0] || c->cur_data) && c->n_events < MAX_EVENTS) {
        sse_event *e = &c->events[c->n_events];
        e->id = c->cur_id;
        snprintf(e->type, sizeof e->type, "%s", c->cur_type[0] ? c->cur_type : "message");
        e->data = c->cur_data ? c->cur_data : strdup("");
        e->at_ns = mono_ns();
        c->cur_data = NULL;
        pthread_mutex_lock(&c->mu);
        c->n_events++;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    free(c->cur_data);
    c->cur_data = NULL;
    c->cur_type[0] = '\0';
    c->cur_id = 0;
    c->has_block = false;
}

/* One line of the stream, without its "\n" (SSE: field ": " value). */
static void sse_line(sse *c, const char *l)
{
    if (!*l) {
        sse_dispatch(c);
        return;
    }
    if (l[0] == ':') {
        pthread_mutex_lock(&c->mu);
        if (strcmp(l, ": keep-alive") == 0)
            c->keepalives++;
        else if (strcmp(l, ": connected") == 0)
            c->connected++;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (strncmp(l, "retry: ", 7) == 0) {
        pthread_mutex_lock(&c->mu);
        c->retry_seen = strcmp(l + 7, "2000") == 0;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->has_block = true;
    if (strncmp(l, "id: ", 4) == 0) {
        c->cur_id = strtoull(l + 4, NULL, 10);
    } else if (strncmp(l, "event: ", 7) == 0) {
        snprintf(c->cur_type, sizeof c->cur_type, "%s", l + 7);
    } else if (strncmp(l, "data: ", 6) == 0) {
        if (c->cur_data) { /* a second data line: the server promised one */
            free(c->cur_data);
            c->cur_data = strdup("<multi-line data>");
        } else {
            c->cur_data = strdup(l + 6);
        }
    }
}

static size_t sse_write(char *data, size_t size, size_t n, void *arg)
{
    sse *c = arg;
    size_t len = size * n;

    for (size_t i = 0; i < len; i++) {
        if (c->line_len + 1 >= c->line_cap) {
            size_t cap = c->line_cap ? c->line_cap * 2 : 1024;
            char *grown = realloc(c->line, cap);
            if (!grown)
                return 0;
            c->line = grown;
            c->line_cap = cap;
        }
        if (data[i] == '\n') {
            c->line[c->line_len] = '\0';
            sse_line(c, c->line);
            c->line_len = 0;
        } else {
            c->line[c->line_len++] = data[i];
        }
    }
    return len;
}

static size_t sse_header(char *data, size_t size, size_t n, void *arg)
{
    sse *c = arg;
    size_t len = size * n;
    char line[128];

    snprintf(line, sizeof line, "%.*s", (int)(len < 100 ? len : 100), data);
    line[strcspn(line, "\r\n")] = '\0';
    pthread_mutex_lock(&c->mu);
    if (strncasecmp(line, "Content-Type: ", 14) == 0)
        snprintf(c->content_type, sizeof c->content_type, "%s", line + 14);
    if (strncasecmp(line, "Cache-Control: ", 15) == 0)
        snprintf(c->cache_control, sizeof c->cache_control, "%s", line + 15);
    pthread_mutex_unlock(&c->mu);
    return len;
}

static int sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t d, curl_off_t e)
{
    sse *c = arg;
    (void)a, (void)b, (void)d, (void)e;
    return atomic_load(&c->stop) ? 1 : 0;
}

/* The socket is tracked so that sse_free() can shut it down at once,
 * instead of waiting for libcurl's next progress call. */
static curl_socket_t sse_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    sse *c = arg;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    (void)purpose;

    pthread_mutex_lock(&c->mu);
    c->fd = fd;
    pthread_mutex_unlock(&c->mu);
    return fd;
}

static int sse_closesocket(void *arg, curl_socket_t fd)
{
    sse *c = arg;

    pthread_mutex_lock(&c->mu);
    if (c->fd == fd)
        c->fd = -1;
    pthread_mutex_unlock(&c->mu);
    return close(fd);
}

static void *sse_main(void *arg)
{
    sse *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[512], auth[300], last[100];
    CURLcode rc = CURLE_FAILED_INIT;
    long status = 0;

    if (h) {
        snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/events%s", c->port, c->url_query);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
        if (c->last_header[0]) {
            snprintf(last, sizeof last, "Last-Event-ID: %s", c->last_header);
            hdrs = curl_slist_append(hdrs, last);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sse_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sse_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, sse_opensocket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
        curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, sse_closesocket);
        curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
        rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
    }
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->status = status;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Waits (bounded) until pred(c, arg) holds; true if it did. */
static bool sse_wait(sse *c, bool (*pred)(const sse *c, size_t arg), size_t arg, long ms)
{
    int64_t deadline = mono_ns() + ms * 1000000LL;
    bool ok;

    pthread_mutex_lock(&c->mu);
    while (!(ok = pred(c, arg)) && !c->done && mono_ns() < deadline) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 5 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &until);
    }
    ok = pred(c, arg);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static bool has_events(const sse *c, size_t n)
{
    return c->n_events >= n;
}

static bool is_connected(const sse *c, size_t n)
{
    (void)n;
    return c->connected > 0;
}

static bool has_retry(const sse *c, size_t n)
{
    (void)n;
    return c->retry_seen;
}

static bool has_keepalives(const sse *c, size_t n)
{
    return (size_t)c->keepalives >= n;
}

static bool is_done(const sse *c, size_t n)
{
    (void)n;
    return c->done;
}

/* Opens a stream as `token`; last: Last-Event-ID header (NULL: none);
 * query: appended to the path. Waits until ": connected" arrived, so every
 * event published from then on is delivered. NULL on failure. */
static sse *sse_open_opt(wd_fixture *f, const char *token, const char *last, const char *query)
{
    sse *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->events = calloc(MAX_EVENTS, sizeof *c->events);
    c->port = wd_port(f->s);
    snprintf(c->token, sizeof c->token, "%s", token);
    snprintf(c->last_header, sizeof c->last_header, "%s", last ? last : "");
    snprintf(c->url_query, sizeof c->url_query, "%s", query ? query : "");
    c->fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (!c->events || pthread_create(&c->thread, NULL, sse_main, c) != 0) {
        free(c->events);
        free(c);
        return NULL;
    }
    return c;
}

static void sse_free(sse *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    pthread_mutex_lock(&c->mu);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->n_events; i++)
        free(c->events[i].data);
    free(c->events);
    free(c->cur_data);
    free(c->line);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

#define sse_open(f, token, last) sse_open_at(__FILE__, __LINE__, (f), (token), (last), NULL)
static sse *sse_open_at(const char *file, int line, wd_fixture *f, const char *token,
                        const char *last, const char *query)
{
    sse *c = sse_open_opt(f, token, last, query);

    if (!c || !sse_wait(c, is_connected, 0, 5000)) {
        wd_dump_log(f->s);
        _fail(file, line);
    }
    return c;
}

static size_t n_events(sse *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->n_events;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Event i (it must have arrived); its data parsed (kept in the arena). */
static const sse_event *ev(sse *c, size_t i)
{
    assert_true(i < n_events(c));
    return &c->events[i];
}

static json_t *ev_json(wd_fixture *f, const sse_event *e)
{
    json_t *j = json_loads(e->data, 0, NULL);

    if (!j)
        fail_msg("event %llu (%s) data is not JSON: %s", e->id, e->type, e->data);
    return wd_keep(f->s, j);
}

/* Waits for event i, failing after EVENT_MS. */
#define next_event(f, c, i) next_event_at(__FILE__, __LINE__, (f), (c), (i))
static const sse_event *next_event_at(const char *file, int line, wd_fixture *f, sse *c, size_t i)
{
    if (!sse_wait(c, has_events, i + 1, EVENT_MS)) {
        print_error("%s:%d: event %zu did not arrive within %d ms (have %zu)\n", file, line, i,
                    EVENT_MS, n_events(c));
        wd_dump_log(f->s);
        _fail(file, line);
    }
    return &c->events[i];
}

/* Waits for the first event of `type` at index >= *from (other types, e.g.
 * the clinical engine's grade/decision/alert, are skipped); moves *from
 * past it. Fails after EVENT_MS. */
#define next_of(f, c, type, from) next_of_at(__FILE__, __LINE__, (f), (c), (type), (from))
static const sse_event *next_of_at(const char *file, int line, wd_fixture *f, sse *c,
                                   const char *type, size_t *from)
{
    int64_t deadline = mono_ns() + EVENT_MS * 1000000LL;

    for (;;) {
        size_t n = n_events(c);
        for (size_t i = *from; i < n; i++) {
            if (strcmp(c->events[i].type, type) == 0) {
                *from = i + 1;
                return &c->events[i];
            }
        }
        if (mono_ns() > deadline)
            break;
        sse_wait(c, has_events, n + 1, 20);
    }
    print_error("%s:%d: no '%s' event at or after #%zu within %d ms (have %zu)\n", file, line, type,
                *from, EVENT_MS, n_events(c));
    wd_dump_log(f->s);
    _fail(file, line);
    return NULL;
}

/* Events of `type` at index >= from, so far. */
static size_t count_of(sse *c, const char *type, size_t from)
{
    size_t n = n_events(c), k = 0;

    for (size_t i = from; i < n; i++)
        k += strcmp(c->events[i].type, type) == 0;
    return k;
}

/* Ids strictly increase along the stream. */
static void assert_ids_increase(sse *c)
{
    size_t n = n_events(c);

    for (size_t i = 1; i < n; i++)
        if (c->events[i].id <= c->events[i - 1].id)
            fail_msg("event #%zu id %llu after %llu", i, c->events[i].id, c->events[i - 1].id);
}

/* `got` received exactly the events `witness` (connected throughout) has
 * after id `after`: same ids, types and data, in order, none missing, none
 * extra (compared over what both have so far). Returns how many. */
static size_t assert_same_after(sse *got, sse *witness, unsigned long long after)
{
    size_t n = n_events(got), w = n_events(witness), j = 0, k;

    while (j < w && witness->events[j].id <= after)
        j++;
    k = w - j < n ? w - j : n;
    for (size_t i = 0; i < k; i++) {
        const sse_event *a = &got->events[i], *b = &witness->events[j + i];
        if (a->id != b->id || strcmp(a->type, b->type) != 0 || strcmp(a->data, b->data) != 0)
            fail_msg("replayed #%zu is %llu %s, the witness has %llu %s", i, a->id, a->type, b->id,
                     b->type);
    }
    return k;
}

/* --- helpers ------------------------------------------------------------------------------ */

static wd_resp *post_hr(wd_fixture *f, const char *token, int value)
{
    json_t *items = json_pack(
        "[o]", wd_item(wd_uniq(f->s, "m"), "hr", json_integer(value), "/min", wd_now_ms() - 1000));
    return wd_post_readings(f->s, token, items);
}

/* Admits a patient to B1 (where the fixture's monitor is); returns the id. */
static long long admit_b1(wd_fixture *f)
{
    return wd_admit(f, "B1", wd_now_ms() - 3600 * 1000, NULL);
}

/* The server's pid, found by its unique database path; -1 if unknown. */
static long server_pid(wd_server *s)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    long found = -1;

    while (d && (de = readdir(d)) != NULL) {
        char path[300], cmd[4096];
        FILE *fp;
        size_t n;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        fp = fopen(path, "rb");
        if (!fp)
            continue;
        n = fread(cmd, 1, sizeof cmd - 1, fp);
        fclose(fp);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, " serve ") && strstr(cmd, wd_db(s))) {
            found = strtol(de->d_name, NULL, 10);
            break;
        }
    }
    if (d)
        closedir(d);
    return found;
}

static int thread_count(long pid)
{
    char path[64];
    DIR *d;
    struct dirent *de;
    int n = 0;

    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    d = opendir(path);
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static long long metric(wd_fixture *f, const char *name)
{
    wd_resp *r = wd_req(f->s, "GET", "/metrics", NULL, NULL);
    const char *p;
    char key[128];

    WD_EXPECT(r, 200);
    snprintf(key, sizeof key, "\n%s ", name);
    p = strstr(r->body, key);
    if (!p)
        fail_msg("no %s in /metrics", name);
    return strtoll(p + strlen(key), NULL, 10);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_auth_and_bad_ids(void **state)
{
    wd_fixture *f = fx(state);
    const char *bad[] = {"Last-Event-ID: abc", NULL};
    wd_raw_req q = {.method = "GET", .path = "/api/v1/events", .max_ms = 2000};
    wd_resp *r;

    WD_EXPECT_ERR(wd_raw(f->s, &q), 401, "unauthenticated");
    q.token = f->device;
    WD_EXPECT_ERR(wd_raw(f->s, &q), 403, "forbidden");
    q.token = f->viewer;
    q.headers = bad;
    WD_EXPECT_ERR(wd_raw(f->s, &q), 400, "bad_query");
    q.headers = NULL;
    q.path = "/api/v1/events?last_event_id=-5";
    WD_EXPECT_ERR(wd_raw(f->s, &q), 400, "bad_query");
    r = wd_req(f->s, "POST", "/api/v1/events", f->admin, NULL);
    WD_EXPECT_ERR(r, 405, "method_not_allowed");
}

static void test_reading_event_arrives(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);
    long long pid;
    const sse_event *e;
    json_t *j;
    size_t at = 0;

    assert_true(sse_wait(c, has_retry, 0, 2000));
    pthread_mutex_lock(&c->mu);
    assert_string_equal(c->content_type, "text/event-stream");
    assert_string_equal(c->cache_control, "no-store");
    pthread_mutex_unlock(&c->mu);

    pid = admit_b1(f);
    e = next_of(f, c, "patient", &at);
    j = ev_json(f, e);
    assert_string_equal(WD_STR(j, "action"), "admit");
    assert_int_equal(WD_INT(j, "patient.id"), pid);
    assert_string_equal(WD_STR(j, "patient.bed"), "B1");

    for (int i = 0; i < 5; i++) {
        WD_EXPECT(post_hr(f, f->device, 70 + i), 201);
        e = next_of(f, c, "reading", &at);
        j = ev_json(f, e);
        assert_int_equal(WD_INT(j, "patient_id"), pid);
        assert_string_equal(WD_STR(j, "bed"), "B1");
        assert_string_equal(WD_STR(j, "device"), "MON-B1");
        assert_true(json_is_null(wd_get(j, "entered_by")));
        assert_int_equal(json_array_size(WD_ARR(j, "readings")), 1);
        assert_string_equal(WD_STR(j, "readings.0.code"), "hr");
        WD_NEAR(WD_NUM(j, "readings.0.value"), 70 + i, 1e-9);
        WD_TIME(j, "readings.0.time");
    }
    /* A duplicate (same message id) files nothing and publishes nothing. */
    {
        json_t *item = wd_item("dup-1", "hr", json_integer(90), "/min", wd_now_ms() - 500);
        WD_EXPECT(wd_post_readings(f->s, f->device, json_pack("[O]", item)), 201);
        next_of(f, c, "reading", &at);
        WD_EXPECT(wd_post_readings(f->s, f->device, json_pack("[o]", item)), 201);
        wd_sleep_ms(300);
        assert_int_equal(count_of(c, "reading", at), 0);
    }
    assert_ids_increase(c);
    sse_free(c);
}

static void test_large_event_in_pieces(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);
    json_t *items = json_array();
    int64_t t0 = wd_now_ms() - 1000 * 1000;
    json_t *j;
    size_t at = 0;

    admit_b1(f);
    next_of(f, c, "patient", &at);
    for (int i = 0; i < 1000; i++)
        json_array_append_new(items, wd_item(wd_uniq(f->s, "big"), "hr", json_integer(60 + i % 50),
                                             "/min", t0 + i * 1000));
    WD_EXPECT(wd_post_readings(f->s, f->device, items), 201);
    j = ev_json(f, next_of(f, c, "reading", &at));
    assert_int_equal(json_array_size(WD_ARR(j, "readings")), 1000);
    assert_string_equal(WD_STR(j, "readings.999.code"), "hr");
    sse_free(c);
}

static void test_last_event_id_replays_missed(void **state)
{
    wd_fixture *f = fx(state);
    sse *w = sse_open(f, f->viewer, NULL); /* the witness: connected throughout */
    sse *a = sse_open(f, f->viewer, NULL), *b, *q, *old;
    unsigned long long seen;
    char last[32], query[64];
    size_t at = 0, wat = 0, k;

    admit_b1(f);
    WD_EXPECT(post_hr(f, f->device, 60), 201);
    next_of(f, a, "reading", &at);
    /* Let whatever else that reading caused (clinical events) arrive too;
     * the client's last id is the last event it got, whatever its type. */
    next_of(f, w, "reading", &wat);
    wd_sleep_ms(200);
    seen = ev(a, n_events(a) - 1)->id;
    sse_free(a);

    /* While disconnected. */
    for (int i = 0; i < 3; i++)
        WD_EXPECT(post_hr(f, f->device, 61 + i), 201);
    for (int i = 0; i < 3; i++)
        next_of(f, w, "reading", &wat);
    wd_sleep_ms(200);

    snprintf(last, sizeof last, "%llu", seen);
    b = sse_open(f, f->viewer, last);
    snprintf(query, sizeof query, "?last_event_id=%llu", seen);
    q = sse_open_at(__FILE__, __LINE__, f, f->viewer, NULL, query);
    at = 0;
    for (int i = 0; i < 3; i++) {
        const sse_event *e = next_of(f, b, "reading", &at);
        WD_NEAR(WD_NUM(ev_json(f, e), "readings.0.value"), 61 + (double)i, 1e-9);
        assert_true(e->id > seen);
    }
    at = 0;
    for (int i = 0; i < 3; i++)
        next_of(f, q, "reading", &at);
    wd_sleep_ms(300);
    /* Exactly the missed ones: what the witness got after `seen`. */
    k = assert_same_after(b, w, seen);
    assert_int_equal(k, n_events(b));
    assert_true(k >= 3);
    assert_int_equal(assert_same_after(q, w, seen), n_events(q));
    assert_int_equal(n_events(q), k);

    /* Live events continue after the replay, on both. */
    WD_EXPECT(post_hr(f, f->device, 70), 201);
    at = k;
    next_of(f, b, "reading", &at);
    at = k;
    next_of(f, q, "reading", &at);
    wd_sleep_ms(200);
    assert_int_equal(assert_same_after(b, w, seen), n_events(b));
    assert_int_equal(assert_same_after(q, w, seen), n_events(q));

    /* An id from before this process's window: reset first, then replay
     * from the first event still held (here: the witness's first). */
    old = sse_open(f, f->viewer, "1");
    assert_string_equal(next_event(f, old, 0)->type, "reset");
    assert_string_equal(WD_STR(ev_json(f, ev(old, 0)), "reason"), "replay window exceeded");
    assert_int_equal(next_event(f, old, 1)->id, ev(w, 0)->id);
    assert_int_equal(ev(old, 0)->id, ev(w, 0)->id - 1);
    sse_free(old);
    assert_ids_increase(b);
    assert_ids_increase(q);
    assert_ids_increase(w);
    sse_free(b);
    sse_free(q);
    sse_free(w);
}

static void test_ids_survive_restart(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);
    unsigned long long before;
    char last[32];
    size_t at = 0;

    admit_b1(f);
    before = next_of(f, c, "patient", &at)->id;
    sse_free(c);
    wd_restart(f->s);
    wd_fixture_login(f);
    snprintf(last, sizeof last, "%llu", before);
    c = sse_open(f, f->viewer, last);
    /* The old process's events are gone: the client is told to reload. */
    assert_string_equal(next_event(f, c, 0)->type, "reset");
    WD_EXPECT(post_hr(f, f->device, 65), 201);
    at = 1;
    assert_true(next_of(f, c, "reading", &at)->id > before);
    assert_ids_increase(c);
    sse_free(c);
}

static void test_patient_and_device_events(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);
    long long pid, dev_id;
    const char *bed2 = wd_new_bed(f);
    const char *token;
    const sse_event *e;
    json_t *j;
    wd_resp *r;
    size_t at = 0, dat = 0;

    pid = admit_b1(f);
    assert_string_equal(WD_STR(ev_json(f, next_of(f, c, "patient", &at)), "action"), "admit");

    WD_EXPECT(wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/patients/%lld", pid), f->nurse,
                      json_pack("{s:s}", "name", "Renamed Patient")),
              200);
    j = ev_json(f, next_of(f, c, "patient", &at));
    assert_string_equal(WD_STR(j, "action"), "update");
    assert_string_equal(WD_STR(j, "patient.name"), "Renamed Patient");

    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", pid), f->nurse,
                      json_pack("{s:s}", "bed", bed2)),
              200);
    j = ev_json(f, next_of(f, c, "patient", &at));
    assert_string_equal(WD_STR(j, "action"), "transfer");
    assert_string_equal(WD_STR(j, "patient.bed"), bed2);

    WD_EXPECT(
        wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse, NULL),
        200);
    j = ev_json(f, next_of(f, c, "patient", &at));
    assert_string_equal(WD_STR(j, "action"), "discharge");
    assert_int_equal(WD_INT(j, "patient.id"), pid);

    /* A refused change publishes nothing. */
    WD_EXPECT_ERR(
        wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", pid), f->nurse, NULL),
        409, "not_admitted");

    r = wd_reqj(f->s, "POST", "/api/v1/devices", f->admin,
                json_pack("{s:s, s:s}", "serial", "EV-MON-1", "bed", bed2));
    WD_EXPECT(r, 201);
    dev_id = WD_INT(r->json, "id");
    token = WD_STR(r->json, "token");
    e = next_of(f, c, "device", &dat);
    j = ev_json(f, e);
    assert_string_equal(WD_STR(j, "action"), "create");
    assert_int_equal(WD_INT(j, "device.id"), dev_id);
    assert_string_equal(WD_STR(j, "device.serial"), "EV-MON-1");
    assert_string_equal(WD_STR(j, "device.bed"), bed2);
    assert_null(strstr(e->data, "token"));
    assert_null(strstr(e->data, token));

    r = wd_req(f->s, "POST", wd_path(f->s, "/api/v1/devices/%lld/rotate-token", dev_id), f->admin,
               NULL);
    WD_EXPECT(r, 200);
    token = WD_STR(r->json, "token");
    e = next_of(f, c, "device", &dat);
    j = ev_json(f, e);
    assert_string_equal(WD_STR(j, "action"), "rotate");
    assert_string_equal(WD_STR(j, "device.bed"), bed2);
    assert_null(strstr(e->data, "token"));
    assert_null(strstr(e->data, token));

    WD_EXPECT(wd_req(f->s, "DELETE", wd_path(f->s, "/api/v1/devices/%lld", dev_id), f->admin, NULL),
              200);
    j = ev_json(f, next_of(f, c, "device", &dat));
    assert_string_equal(WD_STR(j, "action"), "revoke");
    assert_string_equal(WD_STR(j, "device.serial"), "EV-MON-1");

    wd_sleep_ms(200);
    assert_int_equal(count_of(c, "patient", 0), 4);
    assert_int_equal(count_of(c, "device", 0), 3);
    assert_ids_increase(c);
    sse_free(c);
}

#define CLIENTS 50

static void test_fifty_clients_one_small_pool(void **state)
{
    wd_fixture *f = fx(state);
    sse *c[CLIENTS];
    long pid = server_pid(f->s);
    int threads_before = pid > 0 ? thread_count(pid) : -1, threads_after;
    int64_t worst_ns = 0;
    unsigned long long first_id = 0;

    assert_true(threads_before > 0);
    for (int i = 0; i < CLIENTS; i++)
        c[i] = sse_open(f, f->viewer, NULL);
    threads_after = thread_count(pid);
    /* No thread per client: the pool is fixed. */
    assert_int_equal(threads_after, threads_before);
    assert_true(threads_after < CLIENTS);
    assert_true(metric(f, "wardd_sse_clients") >= CLIENTS);

    /* The server stays responsive with every stream open. */
    for (int i = 0; i < 20; i++) {
        int64_t t = mono_ns();
        WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL), 200);
        if (mono_ns() - t > worst_ns)
            worst_ns = mono_ns() - t;
    }
    assert_true(worst_ns < 1000LL * 1000000);

    WD_EXPECT(post_hr(f, f->device, 88), 201);
    for (int i = 0; i < CLIENTS; i++) {
        size_t at = 0;
        const sse_event *e = next_of(f, c[i], "reading", &at);
        if (i == 0)
            first_id = e->id;
        assert_int_equal(e->id, first_id);
    }
    for (int i = 0; i < CLIENTS; i++)
        sse_free(c[i]);
    /* Closed streams are noticed at the latest on the next keep-alive. */
    for (int tries = 0; tries < 100 && metric(f, "wardd_sse_clients") != 0; tries++)
        wd_sleep_ms(50);
    assert_int_equal(metric(f, "wardd_sse_clients"), 0);
}

static void test_keepalive_comments(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);

    size_t at = 0;

    /* Interval 300 ms (main): several within two seconds. */
    assert_true(sse_wait(c, has_keepalives, 3, 2000));
    WD_EXPECT(post_hr(f, f->device, 77), 201);
    next_of(f, c, "reading", &at);
    sse_free(c);
}

static void test_sigterm_with_open_streams(void **state)
{
    wd_fixture *f = fx(state);
    sse *c[5];
    int64_t t;
    int code;

    for (int i = 0; i < 5; i++)
        c[i] = sse_open(f, f->viewer, NULL);
    t = mono_ns();
    wd_signal(f->s, SIGTERM);
    code = wd_wait_exit(f->s, 3000);
    t = mono_ns() - t;
    if (code != 0)
        wd_dump_log(f->s);
    assert_int_equal(code, 0);
    assert_true(t < 3000LL * 1000000);
    for (int i = 0; i < 5; i++) {
        /* The body ended properly (terminating chunk), not cut off. */
        assert_true(sse_wait(c[i], is_done, 0, 3000));
        assert_int_equal(c[i]->rc, CURLE_OK);
        assert_int_equal(c[i]->status, 200);
        sse_free(c[i]);
    }
}

static void test_latency_reading_to_event(void **state)
{
    wd_fixture *f = fx(state);
    sse *c = sse_open(f, f->viewer, NULL);
    enum { N = 50 };
    int64_t from_201[N], from_send[N];
    size_t at = 0;

    admit_b1(f);
    next_of(f, c, "patient", &at);
    for (int i = 0; i < N; i++) {
        int64_t sent = mono_ns(), got;
        const sse_event *e;
        WD_EXPECT(post_hr(f, f->device, 60 + i % 30), 201);
        got = mono_ns();
        e = next_of(f, c, "reading", &at);
        WD_NEAR(WD_NUM(ev_json(f, e), "readings.0.value"), 60 + i % 30, 1e-9);
        from_201[i] = e->at_ns - got;
        from_send[i] = e->at_ns - sent;
    }
    qsort(from_201, N, sizeof from_201[0], cmp_i64);
    qsort(from_send, N, sizeof from_send[0], cmp_i64);
    /* Negative: the event came before the 201 (it is published when the
     * commit is durable, the moment the reply is released). */
    print_message("latency over %d posts: 201 -> event median %.3f ms (min %.3f, max %.3f); "
                  "POST sent -> event median %.3f ms, max %.3f ms\n",
                  N, (double)from_201[N / 2] / 1e6, (double)from_201[0] / 1e6,
                  (double)from_201[N - 1] / 1e6, (double)from_send[N / 2] / 1e6,
                  (double)from_send[N - 1] / 1e6);
    assert_true(from_send[N - 1] < EVENT_MS * 1000000LL);
    sse_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth_and_bad_ids, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reading_event_arrives, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_large_event_in_pieces, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_last_event_id_replays_missed, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ids_survive_restart, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_patient_and_device_events, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fifty_clients_one_small_pool, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_comments, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_with_open_streams, wd_fixture_setup,
                                        wd_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_latency_reading_to_event, wd_fixture_setup,
                                        wd_fixture_teardown),
    };

    setenv("WARDD_SSE_KEEPALIVE_MS", KEEPALIVE_MS, 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
