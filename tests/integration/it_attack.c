/* it_attack: the two attacks of issue 10, reproduced on loopback and
 * bounded in time (docs/security.md "Ingest is never starved").
 *
 * 1. Trickling: 1,100 sockets from 127.0.0.2 each send "GET / HTTP/1.1"
 *    and one more header line every second. The per-address limit refuses
 *    most at once; the header deadline (the default, 10 s) closes the rest. A
 *    bedside device on 127.0.0.1, opening a new connection for every post
 *    as monitors do, keeps getting 201 quickly throughout.
 * 2. Log-in flood: 32 clients post log-ins with random user names and
 *    wrong passwords as fast as they are answered. The device's posts stay
 *    fast (p99 bounded) and none fails; the flood is answered 401, 429 or
 *    503 (busy), never anything else. */
#include "harness.h"
#include "../../bench/attack_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRICKLERS     1100
#define FLOOD_CLIENTS 32
#define DEVICE_POSTS  40
/* Trickling lasts 13 s whatever the posts: a post every 80 ms gives 100
 * samples, so its p99 is the second-slowest post, not the slowest. One
 * post of 40 once took 914 ms on a cold CI-like run (the rest 2-6 ms; not
 * reproduced warm, cold or with dropped caches): one stall is printed,
 * two fail. */
#define TRICKLE_POSTS   100
#define DEVICE_BOUND_MS 2000 /* any single post (a loaded 2-core test machine) */
#define DEVICE_P99_MS   500

/* Enough descriptors for the sockets (the soft limit may be 1024). */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < TRICKLERS + 256) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < TRICKLERS + 256)
        fail_msg("RLIMIT_NOFILE %lu is too low for %d sockets", (unsigned long)rl.rlim_cur,
                 TRICKLERS);
}

/* One device post on a new connection; its status, *ms its duration. */
static long device_post(unsigned port, const char *token, const char *id, double *ms)
{
    char base[64];

    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    return attack_device_post(base, token, id, wd_iso(wd_now_ms()), ms);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double p99(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(n * 99 + 99) / 100 - 1];
}

/* --- 1. trickling sockets ----------------------------------------------------------- */

struct trickler {
    int fd;
    int64_t closed_ms; /* 0 while open */
};

static int trickle_open(unsigned port)
{
    return attack_sock_open("127.0.0.2", port);
}

static void test_trickling_sockets(void **state)
{
    static struct trickler t[TRICKLERS];
    double lat[TRICKLE_POSTS], slowest = 0;
    wd_fixture *f;
    int64_t start, last_line = 0, slowest_at = 0;
    int posts = 0, open_now, late = 0, by_deadline = 0, slowest_i = -1;
    (void)state;

    raise_fd_limit();
    f = wd_fixture_new(); /* the default header deadline: 10 s */
    wd_admit(f, "B1", 0, NULL);
    for (int i = 0; i < TRICKLERS; i++) {
        t[i].fd = trickle_open(wd_port(f->s));
        t[i].closed_ms = t[i].fd < 0 ? 1 : 0;
    }
    start = wd_mono_ms();
    /* 13 s: trickle a line every second, post every 80 ms. */
    while (wd_mono_ms() - start < 13000) {
        bool line_due = wd_mono_ms() - last_line >= 1000;
        const char *line = last_line == 0 ? "GET / HTTP/1.1\r\n" : "X-Trickle: 1\r\n";
        open_now = 0;
        for (int i = 0; i < TRICKLERS; i++) {
            if (t[i].closed_ms)
                continue;
            if (attack_sock_closed(t[i].fd, line_due ? line : NULL))
                t[i].closed_ms = wd_mono_ms();
            else
                open_now++;
        }
        if (line_due)
            last_line = wd_mono_ms();
        if (posts < TRICKLE_POSTS) {
            long st = device_post(wd_port(f->s), f->device, wd_uniq(f->s, "trickle-"), &lat[posts]);
            if (st != 201 || lat[posts] > DEVICE_BOUND_MS)
                fail_msg("device post %d during trickling: status %ld after %.0f ms (%d sockets "
                         "open)",
                         posts, st, lat[posts], open_now);
            if (lat[posts] > slowest) {
                slowest = lat[posts];
                slowest_i = posts;
                slowest_at = wd_mono_ms() - start;
            }
            posts++;
        }
        wd_sleep_ms(80);
    }
    for (int i = 0; i < TRICKLERS; i++) {
        if (!t[i].closed_ms)
            late++;
        else if (t[i].closed_ms - start >= 9000)
            by_deadline++;
        if (t[i].fd >= 0)
            close(t[i].fd);
    }
    print_message("trickling: device p99 %.1f ms over %d posts (slowest: post %d, %.1f ms, "
                  "%lld ms in); %d sockets closed by the deadline, %d still open after 13 s\n",
                  p99(lat, posts), posts, slowest_i, slowest, (long long)slowest_at, by_deadline,
                  late);
    if (late)
        fail_msg("%d trickling sockets still open 13 s in (header deadline 10 s)", late);
    if (by_deadline == 0)
        fail_msg("no socket was closed by the header deadline (all refused at once?)");
    assert_true(p99(lat, posts) <= DEVICE_P99_MS);
    wd_fixture_free(f);
}

/* Many addresses (here one with no per-address limit) holding idle
 * sockets: past half the connection limit the oldest idle socket is shut
 * at once, long before the header deadline, and the device still gets in. */
static void test_reserve_for_requests(void **state)
{
    const char *const args[] = {"--header-timeout", "120", "--per-ip-connections", "5000", NULL};
    static struct trickler t[TRICKLERS];
    double lat[DEVICE_POSTS];
    wd_fixture *f;
    int64_t start;
    int closed = 0;
    (void)state;

    raise_fd_limit();
    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    wd_admit(f, "B1", 0, NULL);
    for (int i = 0; i < TRICKLERS; i++) {
        t[i].fd = trickle_open(wd_port(f->s));
        t[i].closed_ms = t[i].fd < 0 ? 1 : 0;
        if (t[i].fd >= 0)
            (void)attack_sock_closed(t[i].fd, "GET / HTTP/1.1\r\n");
    }
    start = wd_mono_ms();
    for (int i = 0; i < DEVICE_POSTS / 2; i++) {
        long st = device_post(wd_port(f->s), f->device, wd_uniq(f->s, "reserve-"), &lat[i]);
        if (st != 201 || lat[i] > DEVICE_BOUND_MS)
            fail_msg("device post %d with %d idle sockets: status %ld after %.0f ms", i, TRICKLERS,
                     st, lat[i]);
        wd_sleep_ms(100);
    }
    for (int i = 0; i < TRICKLERS; i++) {
        if (t[i].closed_ms || attack_sock_closed(t[i].fd, NULL))
            closed++;
        if (t[i].fd >= 0)
            close(t[i].fd);
    }
    print_message("reserve: %d of %d idle sockets shut within %lld ms (deadline 120 s); device "
                  "p99 %.1f ms\n",
                  closed, TRICKLERS, (long long)(wd_mono_ms() - start), p99(lat, DEVICE_POSTS / 2));
    /* At most half of the 1,024 places stay with idle sockets. */
    assert_true(closed >= TRICKLERS - 512);
    /* The connect burst does not overflow the accept queue (a dropped SYN
     * costs a device 1 s). */
    assert_true(p99(lat, DEVICE_POSTS / 2) <= DEVICE_P99_MS);
    wd_fixture_free(f);
}

/* --- 2. log-in flood --------------------------------------------------------------- */

struct flood {
    unsigned port;
    atomic_bool stop;
    atomic_long n401, n429, n503, other;
    atomic_long other_status;
};

static void *flood_main(void *arg)
{
    struct flood *fl = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char url[128];
    unsigned seed = (unsigned)(uintptr_t)&c;

    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/session", fl->port);
    while (!atomic_load(&fl->stop)) {
        long status = attack_wrong_login(c, h, url, &seed, 10000L);
        if (status == 401)
            atomic_fetch_add(&fl->n401, 1);
        else if (status == 429)
            atomic_fetch_add(&fl->n429, 1);
        else if (status == 503)
            atomic_fetch_add(&fl->n503, 1);
        else {
            atomic_fetch_add(&fl->other, 1);
            atomic_store(&fl->other_status, status);
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void test_login_flood(void **state)
{
    static struct flood fl;
    pthread_t th[FLOOD_CLIENTS];
    double lat[DEVICE_POSTS];
    wd_fixture *f;
    (void)state;

    f = wd_fixture_new();
    wd_admit(f, "B1", 0, NULL);
    memset(&fl, 0, sizeof fl);
    fl.port = wd_port(f->s);
    for (int i = 0; i < FLOOD_CLIENTS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, flood_main, &fl), 0);
    wd_sleep_ms(500); /* the flood is on */
    for (int i = 0; i < DEVICE_POSTS; i++) {
        long st = device_post(wd_port(f->s), f->device, wd_uniq(f->s, "flood-"), &lat[i]);
        if (st != 201 || lat[i] > DEVICE_BOUND_MS) {
            atomic_store(&fl.stop, true);
            for (int j = 0; j < FLOOD_CLIENTS; j++)
                pthread_join(th[j], NULL);
            fail_msg("device post %d during the log-in flood: status %ld after %.0f ms", i, st,
                     lat[i]);
        }
        wd_sleep_ms(100);
    }
    atomic_store(&fl.stop, true);
    for (int i = 0; i < FLOOD_CLIENTS; i++)
        pthread_join(th[i], NULL);
    print_message("log-in flood: device p99 %.1f ms over %d posts; flood got %ld x 401, %ld x "
                  "429, %ld x 503, %ld other\n",
                  p99(lat, DEVICE_POSTS), DEVICE_POSTS, atomic_load(&fl.n401),
                  atomic_load(&fl.n429), atomic_load(&fl.n503), atomic_load(&fl.other));
    if (atomic_load(&fl.other))
        fail_msg("the flood got status %ld (want only 401, 429, 503)",
                 atomic_load(&fl.other_status));
    assert_true(atomic_load(&fl.n429) + atomic_load(&fl.n503) > 0);
    assert_true(p99(lat, DEVICE_POSTS) <= DEVICE_P99_MS);
    /* Staff can still log in from elsewhere: the fixture's users (another
     * address in practice; here the flood's own, so wait for its delay). */
    wd_fixture_free(f);
}

/* A failed test must not leave its serve flags to the next. */
static int clear_args(void **state)
{
    (void)state;
    wd_serve_args(NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_trickling_sockets, clear_args),
        cmocka_unit_test_setup(test_reserve_for_requests, clear_args),
        cmocka_unit_test_setup(test_login_flood, clear_args),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
