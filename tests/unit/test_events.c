/* Unit tests for events: the replay ring, stream cursors, parking and
 * waking, keep-alives and shutdown, without HTTP (a fake transport records
 * park/wake calls). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"

/* --- a fake transport -------------------------------------------------------- */

typedef struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int parks, wakes;
} fake;

static void fake_init(fake *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
}

static void fake_destroy(fake *f)
{
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

static void fake_park(void *arg)
{
    fake *f = arg;

    pthread_mutex_lock(&f->mu);
    f->parks++;
    pthread_mutex_unlock(&f->mu);
}

static void fake_wake(void *arg)
{
    fake *f = arg;

    pthread_mutex_lock(&f->mu);
    f->wakes++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int wakes(fake *f)
{
    int n;

    pthread_mutex_lock(&f->mu);
    n = f->wakes;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Waits up to ms for the wake count to exceed `seen`; true if it did. */
static bool wait_wake(fake *f, int seen, long ms)
{
    struct timespec until;
    bool woke;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (f->wakes <= seen)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
            break;
    woke = f->wakes > seen;
    pthread_mutex_unlock(&f->mu);
    return woke;
}

static events_stream *open_stream(fake *f, bool has_last, uint64_t last)
{
    events_stream *s = events_stream_open(has_last, last, fake_park, fake_wake, f);

    assert_non_null(s);
    return s;
}

/* Reads once with a big buffer; returns the text (static). */
static const char *read_text(events_stream *s)
{
    static char buf[1 << 16];
    ssize_t n = events_stream_read(s, buf, sizeof buf - 1);

    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static const char *PREAMBLE = ": connected\nretry: 2000\n\n";

static uint64_t pub(const char *type, int n)
{
    uint64_t id = events_publish(type, json_pack("{s:i}", "n", n));

    assert_true(id > 0);
    return id;
}

static const char *block(uint64_t id, const char *type, int n)
{
    static char buf[8][128];
    static int next;
    char *b = buf[next++ % 8];

    snprintf(b, 128, "id: %llu\nevent: %s\ndata: {\"n\":%d}\n\n", (unsigned long long)id, type, n);
    return b;
}

static int setup(void **state)
{
    (void)state;
    unsetenv("WARDD_SSE_KEEPALIVE_MS");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    events_shutdown();
    assert_int_equal(events_clients(), 0);
    return 0;
}

/* --- tests ---------------------------------------------------------------------- */

static void test_ids_increase_from_wall_clock(void **state)
{
    struct timespec now;
    uint64_t ms, a, b, c;
    (void)state;

    assert_int_equal(events_publish("reading", json_object()), 0); /* not running */
    assert_int_equal(events_last_id(), 0);
    clock_gettime(CLOCK_REALTIME, &now);
    ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    assert_int_equal(events_init(16), 0);
    assert_int_equal(events_init(16), -1); /* already running */
    a = pub("reading", 1);
    b = pub("alert", 2);
    c = pub("patient", 3);
    assert_true(a >= ms * 1000 && a <= (ms + 5000) * 1000);
    assert_true(c < (UINT64_C(1) << 53));
    assert_int_equal(b, a + 1);
    assert_int_equal(c, b + 1);
    assert_int_equal(events_last_id(), c);
}

static void test_bad_input_not_published(void **state)
{
    (void)state;
    assert_int_equal(events_init(4), 0);
    assert_int_equal(events_publish("bad\ntype", json_object()), 0);
    assert_int_equal(events_publish("", json_object()), 0);
    assert_int_equal(events_publish(NULL, json_object()), 0);
    assert_int_equal(events_publish("reading", NULL), 0);
    assert_int_equal(events_init(0), -1);
}

static void test_data_is_one_line(void **state)
{
    fake f;
    events_stream *s;
    uint64_t id;
    char want[256];
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(4), 0);
    s = open_stream(&f, false, 0);
    assert_string_equal(read_text(s), PREAMBLE);
    id = events_publish("patient", json_pack("{s:s, s:f}", "name", "two\nlines\r\n", "x", 0.1));
    snprintf(want, sizeof want,
             "id: %llu\nevent: patient\ndata: {\"name\":\"two\\nlines\\r\\n\",\"x\":0.1}\n\n",
             (unsigned long long)id);
    assert_string_equal(read_text(s), want);
    events_stream_close(s);
    fake_destroy(&f);
}

static void test_no_last_id_starts_now(void **state)
{
    fake f;
    events_stream *s;
    uint64_t id;
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(16), 0);
    pub("reading", 1);
    pub("reading", 2);
    s = open_stream(&f, false, 0);
    assert_int_equal(events_clients(), 1);
    assert_string_equal(read_text(s), PREAMBLE);
    assert_string_equal(read_text(s), ""); /* parked */
    assert_int_equal(f.parks, 1);
    assert_int_equal(wakes(&f), 0);
    id = pub("reading", 3);
    assert_int_equal(wakes(&f), 1);
    pub("grade", 4); /* still not read: no second wake */
    assert_int_equal(wakes(&f), 1);
    {
        char want[512];
        snprintf(want, sizeof want, "%s%s", block(id, "reading", 3), block(id + 1, "grade", 4));
        assert_string_equal(read_text(s), want);
    }
    events_stream_close(s);
    assert_int_equal(events_clients(), 0);
    fake_destroy(&f);
}

static void test_replay_after_last_id(void **state)
{
    fake f;
    events_stream *s;
    uint64_t ids[5];
    char want[1024];
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(16), 0);
    for (int i = 0; i < 5; i++)
        ids[i] = pub("decision", i);
    s = open_stream(&f, true, ids[1]);
    snprintf(want, sizeof want, "%s%s%s%s", PREAMBLE, block(ids[2], "decision", 2),
             block(ids[3], "decision", 3), block(ids[4], "decision", 4));
    assert_string_equal(read_text(s), want);
    assert_string_equal(read_text(s), "");
    events_stream_close(s);

    /* Up to date: nothing to replay, no reset. */
    s = open_stream(&f, true, ids[4]);
    assert_string_equal(read_text(s), PREAMBLE);
    events_stream_close(s);
    fake_destroy(&f);
}

static void test_reset_when_too_old(void **state)
{
    fake f;
    events_stream *s;
    uint64_t ids[10];
    char want[2048];
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(4), 0);
    for (int i = 0; i < 10; i++)
        ids[i] = pub("alert", i);
    /* The ring holds ids[6..9]; the client last saw ids[2]. */
    s = open_stream(&f, true, ids[2]);
    snprintf(want, sizeof want,
             "%sid: %llu\nevent: reset\ndata: {\"reason\":\"replay window exceeded\"}\n\n%s%s%s%s",
             PREAMBLE, (unsigned long long)ids[5], block(ids[6], "alert", 6),
             block(ids[7], "alert", 7), block(ids[8], "alert", 8), block(ids[9], "alert", 9));
    assert_string_equal(read_text(s), want);
    events_stream_close(s);

    /* The oldest still held is exactly enough: no reset. */
    s = open_stream(&f, true, ids[5]);
    snprintf(want, sizeof want, "%s%s%s%s%s", PREAMBLE, block(ids[6], "alert", 6),
             block(ids[7], "alert", 7), block(ids[8], "alert", 8), block(ids[9], "alert", 9));
    assert_string_equal(read_text(s), want);
    events_stream_close(s);

    /* An id this process never issued (e.g. from before a clock step
     * back): reset, then from now. */
    s = open_stream(&f, true, ids[9] + 100);
    snprintf(want, sizeof want,
             "%sid: %llu\nevent: reset\ndata: {\"reason\":\"replay window exceeded\"}\n\n",
             PREAMBLE, (unsigned long long)ids[9]);
    assert_string_equal(read_text(s), want);
    events_stream_close(s);

    /* A client from before a restart (id below this process's first). */
    s = open_stream(&f, true, ids[0] - 1000);
    assert_non_null(strstr(read_text(s), "event: reset\n"));
    events_stream_close(s);
    fake_destroy(&f);
}

static void test_wrap_around(void **state)
{
    fake f;
    events_stream *s;
    uint64_t id = 0;
    char want[1024];
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(3), 0);
    s = open_stream(&f, false, 0);
    assert_string_equal(read_text(s), PREAMBLE);
    /* Many laps of a 3-slot ring, read two at a time. */
    for (int lap = 0; lap < 20; lap++) {
        uint64_t a = pub("reading", 2 * lap), b = pub("reading", 2 * lap + 1);
        assert_true(id == 0 || a == id + 1);
        id = b;
        snprintf(want, sizeof want, "%s%s", block(a, "reading", 2 * lap),
                 block(b, "reading", 2 * lap + 1));
        assert_string_equal(read_text(s), want);
    }
    /* A stream that falls behind while connected gets a reset, then the
     * ring's contents. */
    for (int i = 0; i < 7; i++)
        pub("reading", 100 + i);
    snprintf(want, sizeof want,
             "id: %llu\nevent: reset\ndata: {\"reason\":\"replay window exceeded\"}\n\n%s%s%s",
             (unsigned long long)(id + 4), block(id + 5, "reading", 104),
             block(id + 6, "reading", 105), block(id + 7, "reading", 106));
    assert_string_equal(read_text(s), want);
    events_stream_close(s);
    fake_destroy(&f);
}

/* Counts occurrences of needle in the first len bytes of hay. */
static size_t count_in(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle);

    for (const char *p = hay; (p = memmem(p, len - (size_t)(p - hay), needle, k)) != NULL; p += k)
        n++;
    return n;
}

/* Huge events: the ring keeps at most 64 MiB of text, dropping the oldest
 * early; a client behind that gets a reset and then what is left. */
static void test_byte_budget(void **state)
{
    enum { EVENTS = 80, SIZE = 1024 * 1024 };
    char *big = malloc(SIZE + 1), *buf = malloc(2 * SIZE);
    fake f;
    events_stream *s;
    uint64_t first = 0, last = 0;
    size_t events = 0, resets = 0;
    ssize_t n;
    char want[64];
    (void)state;

    assert_non_null(big);
    assert_non_null(buf);
    memset(big, 'x', SIZE);
    big[SIZE] = '\0';
    fake_init(&f);
    assert_int_equal(events_init(1000), 0);
    for (int i = 0; i < EVENTS; i++) {
        last = events_publish("reading", json_pack("{s:s}", "big", big));
        if (i == 0)
            first = last;
    }
    s = open_stream(&f, true, first);
    while ((n = events_stream_read(s, buf, 2 * SIZE)) > 0) {
        resets += count_in(buf, (size_t)n, "event: reset\n");
        events += count_in(buf, (size_t)n, "event: reading\n");
    }
    assert_int_equal(resets, 1);
    assert_true(events >= 60 && events <= 64);
    events_stream_close(s);

    /* The newest is always held. */
    s = open_stream(&f, true, last - 1);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long)last);
    events = 0;
    while ((n = events_stream_read(s, buf, 2 * SIZE)) > 0)
        events += count_in(buf, (size_t)n, want);
    assert_int_equal(events, 1);
    events_stream_close(s);
    fake_destroy(&f);
    free(big);
    free(buf);
}

static void test_small_buffers(void **state)
{
    fake f;
    events_stream *s;
    char buf[256], got[4096];
    size_t len = 0;
    uint64_t a, b;
    char want[4096];
    ssize_t n;
    (void)state;

    fake_init(&f);
    assert_int_equal(events_init(8), 0);
    s = open_stream(&f, false, 0);
    /* The preamble in 5-byte pieces. */
    while ((n = events_stream_read(s, buf, 5)) > 0) {
        assert_true(n <= 5);
        memcpy(got + len, buf, (size_t)n);
        len += (size_t)n;
    }
    got[len] = '\0';
    assert_string_equal(got, PREAMBLE);

    /* Whole blocks only: room for one and a half blocks yields one. */
    a = pub("reading", 1);
    b = pub("reading", 2);
    n = events_stream_read(s, buf, strlen(block(a, "reading", 1)) * 3 / 2);
    assert_int_equal(n, strlen(block(a, "reading", 1)));
    n = events_stream_read(s, buf, sizeof buf);
    assert_int_equal(n, strlen(block(b, "reading", 2)));

    /* An event larger than the buffer goes in pieces. */
    {
        char big[1000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        a = events_publish("reading", json_pack("{s:s}", "big", big));
        b = pub("reading", 3);
        snprintf(want, sizeof want, "id: %llu\nevent: reading\ndata: {\"big\":\"%s\"}\n\n%s",
                 (unsigned long long)a, big, block(b, "reading", 3));
    }
    len = 0;
    while ((n = events_stream_read(s, buf, 64)) > 0) {
        assert_true(n <= 64);
        memcpy(got + len, buf, (size_t)n);
        len += (size_t)n;
    }
    got[len] = '\0';
    assert_string_equal(got, want);
    events_stream_close(s);
    fake_destroy(&f);
}

static void test_keepalive(void **state)
{
    fake f;
    events_stream *s;
    (void)state;

    fake_init(&f);
    setenv("WARDD_SSE_KEEPALIVE_MS", "50", 1);
    assert_int_equal(events_init(8), 0);
    s = open_stream(&f, false, 0);
    assert_string_equal(read_text(s), PREAMBLE);
    assert_string_equal(read_text(s), "");
    assert_true(wait_wake(&f, 0, 2000));
    assert_string_equal(read_text(s), ": keep-alive\n\n");
    assert_string_equal(read_text(s), "");
    assert_true(wait_wake(&f, 1, 2000));
    assert_string_equal(read_text(s), ": keep-alive\n\n");
    events_stream_close(s);
    fake_destroy(&f);
}

static void test_shutdown_ends_streams(void **state)
{
    fake f, g;
    events_stream *parked, *busy;
    char buf[64];
    (void)state;

    fake_init(&f);
    fake_init(&g);
    assert_int_equal(events_init(8), 0);
    parked = open_stream(&f, false, 0);
    busy = open_stream(&g, false, 0);
    assert_int_equal(events_clients(), 2);
    read_text(parked);
    assert_string_equal(read_text(parked), ""); /* parked */
    events_shutdown();
    assert_int_equal(wakes(&f), 1);
    assert_int_equal(wakes(&g), 0);
    assert_int_equal(events_stream_read(parked, buf, sizeof buf), EVENTS_EOF);
    assert_int_equal(events_stream_read(busy, buf, sizeof buf), EVENTS_EOF);
    assert_int_equal(events_publish("reading", json_object()), 0);
    assert_null(events_stream_open(false, 0, fake_park, fake_wake, &f));
    events_shutdown(); /* idempotent */
    assert_int_equal(events_clients(), 2);
    events_stream_close(parked);
    events_stream_close(busy);
    assert_int_equal(events_clients(), 0);
    fake_destroy(&f);
    fake_destroy(&g);
}

/* --- concurrency: publishers and readers on threads ------------------------------ */

#define PUBLISHERS 4
#define PER_PUB    2000
#define READERS    4

struct reader {
    fake f;
    events_stream *s;
    uint64_t first, count;
    bool in_order;
};

static void *publisher(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_PUB; i++)
        events_publish("reading", json_pack("{s:i}", "n", i));
    return NULL;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    static __thread char buf[4096];
    uint64_t last = rd->first - 1;

    rd->in_order = true;
    for (;;) {
        int seen = wakes(&rd->f);
        ssize_t n = events_stream_read(rd->s, buf, sizeof buf - 1);
        if (n == EVENTS_EOF)
            break;
        if (n == 0) {
            wait_wake(&rd->f, seen, 5000);
            continue;
        }
        buf[n] = '\0';
        for (char *p = strstr(buf, "id: "); p; p = strstr(p + 1, "\nid: ")) {
            unsigned long long id = strtoull(p[0] == '\n' ? p + 5 : p + 4, NULL, 10);
            if (id != last + 1)
                rd->in_order = false;
            last = id;
            __atomic_fetch_add(&rd->count, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static void test_concurrent_publish_and_read(void **state)
{
    pthread_t pubs[PUBLISHERS], rds[READERS];
    struct reader readers[READERS];
    (void)state;

    /* Ring big enough that no reader can fall behind it. */
    assert_int_equal(events_init(PUBLISHERS * PER_PUB + 10), 0);
    for (int i = 0; i < READERS; i++) {
        fake_init(&readers[i].f);
        readers[i].s = open_stream(&readers[i].f, false, 0);
        readers[i].first = events_last_id() + 1;
        readers[i].count = 0;
        assert_int_equal(pthread_create(&rds[i], NULL, reader_main, &readers[i]), 0);
    }
    for (int i = 0; i < PUBLISHERS; i++)
        assert_int_equal(pthread_create(&pubs[i], NULL, publisher, NULL), 0);
    for (int i = 0; i < PUBLISHERS; i++)
        pthread_join(pubs[i], NULL);
    /* Let readers drain, then end the streams. */
    for (int tries = 0; tries < 500; tries++) {
        bool done = true;
        for (int i = 0; i < READERS; i++)
            done = done && __atomic_load_n(&readers[i].count, __ATOMIC_RELAXED) ==
                               (uint64_t)PUBLISHERS * PER_PUB;
        if (done)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    events_shutdown();
    for (int i = 0; i < READERS; i++) {
        pthread_join(rds[i], NULL);
        assert_int_equal(readers[i].count, PUBLISHERS * PER_PUB);
        assert_true(readers[i].in_order);
        events_stream_close(readers[i].s);
        fake_destroy(&readers[i].f);
    }
}

/* events_defer(): the work runs on another thread, in the order deferred
 * (more items than the queue holds, so the producer also waits for room),
 * all of it before events_shutdown() returns; afterwards on the caller. */
struct deferred_log {
    pthread_t caller;
    int next, out_of_order, on_caller;
};

struct deferred_item {
    struct deferred_log *log;
    int seq;
};

static void deferred_run(void *arg)
{
    struct deferred_item *it = arg;

    if (it->seq != it->log->next)
        it->log->out_of_order++;
    it->log->next = it->seq + 1;
    if (pthread_equal(pthread_self(), it->log->caller))
        it->log->on_caller++;
    free(it);
}

static void test_defer_in_order_off_thread(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct deferred_log log = {.caller = pthread_self()};

    assert_int_equal(events_init(8), 0);
    for (int i = 0; i < N; i++) {
        struct deferred_item *it = malloc(sizeof *it);
        assert_non_null(it);
        *it = (struct deferred_item){&log, i};
        events_defer(deferred_run, it);
    }
    events_shutdown();
    assert_int_equal(log.next, N);
    assert_int_equal(log.out_of_order, 0);
    assert_int_equal(log.on_caller, 0);
    struct deferred_item *late = malloc(sizeof *late);
    assert_non_null(late);
    *late = (struct deferred_item){&log, N};
    events_defer(deferred_run, late); /* the bus is down: runs here, now */
    assert_int_equal(log.next, N + 1);
    assert_int_equal(log.on_caller, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ids_increase_from_wall_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_not_published, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_is_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_last_id_starts_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_last_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_when_too_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_around, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_ends_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_publish_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_in_order_off_thread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
