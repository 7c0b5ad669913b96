/* it_durability: what a 201 promises (docs/api.md "Readings": "A 201 means
 * every accepted reading is durably committed (it survives kill -9 and
 * power loss)"; "Command line": SIGTERM finishes in-flight requests,
 * commits and exits 0; 503 means nothing half-written).
 *
 * Readings are identified by their time: every reading posted here has a
 * time of its own (base + a unique number of milliseconds), so the stored
 * set can be compared with what was acknowledged. */
#include "harness.h"

#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL

static wd_fixture *fx(void **state)
{
    return *state;
}

typedef struct bedside {
    const char *bed;
    const char *token;
    long long pid;
    int64_t base; /* reading times are base + offset */
} bedside;

static bedside make_bedside(wd_fixture *f)
{
    bedside b;

    b.bed = wd_new_bed(f);
    b.token = wd_new_device(f, b.bed, NULL);
    b.pid = wd_admit(f, b.bed, wd_now_ms() - 6 * HOUR_MS, NULL);
    b.base = wd_now_ms() / 1000 * 1000 - 5 * HOUR_MS;
    return b;
}

/* The body of a batch: `n` hr readings at base + first .. base + first + n - 1. */
static char *batch_body(const char *prefix, int64_t base, long first, int n)
{
    json_t *items = json_array();
    json_t *body;
    char *text;

    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%ld", prefix, first + i);
        json_array_append_new(
            items, wd_item(id, "hr", json_integer(60 + (first + i) % 100), NULL, base + first + i));
    }
    body = json_pack("{s:o}", "readings", items);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The sorted times of a patient's stored readings; *n gets the count. */
static int64_t *stored_times(wd_fixture *f, long long pid, size_t *n)
{
    json_t *all = wd_all_readings(f->s, f->viewer, pid, NULL);
    int64_t *t = calloc(json_array_size(all) + 1, sizeof *t);
    size_t i;
    json_t *v;

    assert_non_null(t);
    json_array_foreach(all, i, v)
    {
        t[i] = WD_TIME(v, "time");
    }
    qsort(t, json_array_size(all), sizeof *t, cmp_i64);
    *n = json_array_size(all);
    return t;
}

static bool has_time(const int64_t *t, size_t n, int64_t want)
{
    return bsearch(&want, t, n, sizeof *t, cmp_i64) != NULL;
}

/* --- posters: threads that post batches and record what was acknowledged ---------- */

#define MAX_POSTS 2000

typedef struct poster {
    pthread_t thread;
    const wd_server *s;
    const char *token;
    int64_t base;
    int id;             /* thread number: offsets id * 1000000 + post * batch + i */
    int posts;          /* how many batches (or until stopped) */
    int batch;          /* readings per batch */
    bool until_failure; /* stop at the first answer that is not 201 */
    atomic_bool *stop;
    long status[MAX_POSTS]; /* per batch: HTTP status, 0 = no answer */
    int done;               /* batches sent */
} poster;

static long first_offset(const poster *p, int post)
{
    return (long)p->id * 1000000L + (long)post * p->batch;
}

static void *poster_run(void *arg)
{
    poster *p = arg;
    wd_client *c = wd_client_new(p->s);
    char prefix[32];

    snprintf(prefix, sizeof prefix, "t%d", p->id);
    for (int j = 0; c && j < p->posts && j < MAX_POSTS; j++) {
        char *body;
        if (p->stop && atomic_load(p->stop))
            break;
        body = batch_body(prefix, p->base, first_offset(p, j), p->batch);
        p->status[j] = wd_client_req(c, "POST", "/api/v1/readings", p->token, body, NULL);
        free(body);
        p->done = j + 1;
        if (p->until_failure && p->status[j] != 201)
            break;
    }
    wd_client_free(c);
    return NULL;
}

static void posters_start(poster *ps, int n, const wd_server *s, const bedside *b, int posts,
                          int batch, bool until_failure, atomic_bool *stop)
{
    for (int k = 0; k < n; k++) {
        memset(&ps[k], 0, sizeof ps[k]);
        ps[k].s = s;
        ps[k].token = b->token;
        ps[k].base = b->base;
        ps[k].id = k;
        ps[k].posts = posts;
        ps[k].batch = batch;
        ps[k].until_failure = until_failure;
        ps[k].stop = stop;
        assert_int_equal(pthread_create(&ps[k].thread, NULL, poster_run, &ps[k]), 0);
    }
}

static void posters_join(poster *ps, int n)
{
    for (int k = 0; k < n; k++)
        pthread_join(ps[k].thread, NULL);
}

/* Every batch answered 201 is stored whole; every batch answered 503 is
 * not stored at all; nothing is stored that was not sent. Returns the
 * number of acknowledged readings. */
static long check_acknowledged(wd_fixture *f, const bedside *b, const poster *ps, int n)
{
    size_t nstored = 0;
    int64_t *t = stored_times(f, b->pid, &nstored);
    long acked = 0, sent = 0;
    char problems[4096] = "";
    size_t plen = 0;

    for (int k = 0; k < n; k++) {
        for (int j = 0; j < ps[k].done; j++) {
            long first = first_offset(&ps[k], j);
            int present = 0;
            for (int i = 0; i < ps[k].batch; i++)
                present += has_time(t, nstored, b->base + first + i);
            sent += ps[k].batch;
            if (ps[k].status[j] == 201) {
                acked += ps[k].batch;
                if (present != ps[k].batch && plen < sizeof problems - 200)
                    plen += (size_t)snprintf(problems + plen, sizeof problems - plen,
                                             "  thread %d batch %d: 201 but only %d of %d stored\n",
                                             k, j, present, ps[k].batch);
            } else if (ps[k].status[j] == 503 && present != 0 && plen < sizeof problems - 200) {
                plen += (size_t)snprintf(problems + plen, sizeof problems - plen,
                                         "  thread %d batch %d: 503 but %d of %d stored\n", k, j,
                                         present, ps[k].batch);
            }
        }
    }
    free(t);
    if ((long)nstored > sent)
        fail_msg("%zu readings stored, only %ld sent", nstored, sent);
    if (plen)
        fail_msg("acknowledged readings lost or half-written:\n%s", problems);
    return acked;
}

/* --- tests ------------------------------------------------------------------------------- */

/* SIGTERM, start again: everything is still there. */
static void test_restart_keeps_data(void **state)
{
    wd_fixture *f = fx(state);
    wd_server *s = f->s;
    bedside b = make_bedside(f);
    const char *bed = wd_uniq(s, "R");
    const char *user = wd_uniq(s, "keeper");
    char *body = batch_body("restart", b.base, 0, 50);
    wd_resp *r;

    WD_EXPECT(wd_reqj(s, "POST", "/api/v1/beds", f->admin,
                      json_pack("{s:s, s:s}", "id", bed, "label", "Kept bed")),
              201);
    WD_EXPECT(wd_reqj(s, "POST", "/api/v1/users", f->admin,
                      json_pack("{s:s, s:s, s:s}", "username", user, "password", WD_PASSWORD,
                                "role", "physician")),
              201);
    WD_EXPECT(wd_req(s, "POST", "/api/v1/readings", b.token, body), 201);
    free(body);
    WD_EXPECT(wd_reqj(s, "PATCH", wd_path(s, "/api/v1/patients/%lld", b.pid), f->nurse,
                      json_pack("{s:s}", "name", "Kept Name")),
              200);

    wd_restart(s);
    wd_fixture_login(f);

    r = wd_req(s, "GET", "/api/v1/beds", f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(wd_find(WD_LIST(r, "beds"), "id", bed), "label"), "Kept bed");
    r = wd_req(s, "GET", wd_path(s, "/api/v1/patients/%lld", b.pid), f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_string_equal(WD_STR(r->json, "name"), "Kept Name");
    assert_string_equal(WD_STR(r->json, "bed"), b.bed);
    assert_int_equal(json_array_size(wd_all_readings(s, f->viewer, b.pid, NULL)), 50);
    wd_login(s, user, WD_PASSWORD);
    /* The device token survives too; the old message ids are still known. */
    body = batch_body("restart", b.base, 0, 50);
    r = wd_req(s, "POST", "/api/v1/readings", b.token, body);
    free(body);
    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "duplicates"), 50);
    assert_int_equal(WD_INT(r->json, "accepted"), 0);
}

/* kill -9 right after the last 201: every acknowledged reading is there. */
static void test_kill9_after_201(void **state)
{
    enum { N = 25, B = 40 };
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    wd_resp *r;
    size_t nstored = 0;
    int64_t *t;

    for (int j = 0; j < N; j++) {
        char *body = batch_body("k9", b.base, (long)j * B, B);
        r = wd_req(f->s, "POST", "/api/v1/readings", b.token, body);
        free(body);
        WD_EXPECT(r, 201);
        assert_int_equal(WD_INT(r->json, "accepted"), B);
    }
    wd_kill9(f->s);
    wd_restart(f->s);
    wd_fixture_login(f);
    t = stored_times(f, b.pid, &nstored);
    for (long i = 0; i < N * B; i++)
        if (!has_time(t, nstored, b.base + i)) {
            free(t);
            fail_msg("reading %ld was acknowledged with 201 and lost to kill -9", i);
        }
    free(t);
    assert_int_equal(nstored, N * B);
}

/* kill -9 while four clients post: all that got 201 survive. */
static void test_kill9_while_posting(void **state)
{
    enum { T = 4 };
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    static poster ps[T];
    long acked;

    posters_start(ps, T, f->s, &b, MAX_POSTS, 10, true, NULL);
    wd_sleep_ms(700);
    wd_kill9(f->s);
    posters_join(ps, T);
    wd_restart(f->s);
    wd_fixture_login(f);
    acked = check_acknowledged(f, &b, ps, T);
    print_message("kill -9 during posting: %ld readings acknowledged, all present\n", acked);
    assert_true(acked > 0);
}

/* SIGTERM while requests are in flight: those answered 201 are stored,
 * those answered 503 are not, and the exit status is 0. */
static void test_sigterm_while_posting(void **state)
{
    enum { T = 4 };
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    static poster ps[T];
    int code;
    long acked;

    posters_start(ps, T, f->s, &b, MAX_POSTS, 10, true, NULL);
    wd_sleep_ms(700);
    wd_signal(f->s, SIGTERM);
    code = wd_wait_exit(f->s, 60000);
    posters_join(ps, T);
    if (code != 0) {
        wd_dump_log(f->s);
        fail_msg("SIGTERM during posting: exit status %d, want 0", code);
    }
    wd_restart(f->s);
    wd_fixture_login(f);
    acked = check_acknowledged(f, &b, ps, T);
    print_message("SIGTERM during posting: %ld readings acknowledged, all present\n", acked);
    assert_true(acked > 0);
}

/* Eight clients, fifty posts each, at once (group commit): all 201, all
 * stored, none twice. */
static void test_concurrent_posters(void **state)
{
    enum { T = 8, P = 50, B = 2 };
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    static poster ps[T];
    char problems[2048] = "";
    size_t plen = 0;
    long acked;

    posters_start(ps, T, f->s, &b, P, B, false, NULL);
    posters_join(ps, T);
    for (int k = 0; k < T; k++) {
        if (ps[k].done != P && plen < sizeof problems - 100)
            plen += (size_t)snprintf(problems + plen, sizeof problems - plen,
                                     "  thread %d sent only %d posts\n", k, ps[k].done);
        for (int j = 0; j < ps[k].done; j++)
            if (ps[k].status[j] != 201 && plen < sizeof problems - 100)
                plen += (size_t)snprintf(problems + plen, sizeof problems - plen,
                                         "  thread %d post %d: HTTP %ld\n", k, j, ps[k].status[j]);
    }
    if (plen)
        fail_msg("concurrent posts that were not 201:\n%s", problems);
    acked = check_acknowledged(f, &b, ps, T);
    assert_int_equal(acked, T * P * B);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), T * P * B);
}

/* SIGINT is a clean stop too (docs/api.md "Command line"). */
static void test_sigint_clean_exit(void **state)
{
    wd_fixture *f = fx(state);
    int code;

    wd_signal(f->s, SIGINT);
    code = wd_wait_exit(f->s, 60000);
    if (code != 0) {
        wd_dump_log(f->s);
        fail_msg("SIGINT: exit status %d, want 0", code);
    }
    wd_restart(f->s);
    wd_fixture_login(f);
    WD_EXPECT(wd_req(f->s, "GET", "/readyz", NULL, NULL), 200);
}

/* `wardd backup` while the server runs gives a database another server
 * can open, with everything committed before it. */
static void test_online_backup(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    const char *copy = wd_path(f->s, "%s/backup.db", wd_dir(f->s));
    char *body = batch_body("bk", b.base, 0, 100);
    wd_server *other;
    wd_resp *r;
    int rc;

    WD_EXPECT(wd_req(f->s, "POST", "/api/v1/readings", b.token, body), 201);
    free(body);
    rc = wd_cli(f->s, NULL, NULL, "backup", "--db", wd_db(f->s), copy, (char *)NULL);
    if (rc != 0) {
        wd_dump_log(f->s);
        fail_msg("wardd backup exited %d", rc);
    }
    /* The server goes on working. */
    body = batch_body("bk", b.base, 100, 10);
    WD_EXPECT(wd_req(f->s, "POST", "/api/v1/readings", b.token, body), 201);
    free(body);
    /* A second server on the copy sees the first 100. */
    other = wd_start(copy);
    r = wd_reqj(other, "POST", "/api/v1/session", NULL,
                json_pack("{s:s, s:s}", "username", WD_VIEWER, "password", WD_PASSWORD));
    WD_EXPECT(r, 200);
    assert_int_equal(json_array_size(wd_all_readings(other, WD_STR(r->json, "token"), b.pid, NULL)),
                     100);
    wd_stop(other);
}

/* docs/api.md: 503 storage unavailable, with Retry-After, nothing half-written.
 * Another process holds the database's write lock for longer than the
 * server waits for it. */
static void test_storage_unavailable(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    char *body = batch_body("locked", b.base, 0, 5);
    sqlite3 *db = NULL;
    wd_resp *r;

    assert_int_equal(sqlite3_open(wd_db(f->s), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 20000); /* the server may be writing right now */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
        sqlite3_close(db);
        free(body);
        fail_msg("cannot take the write lock: %s", why);
        return;
    }
    r = wd_req(f->s, "POST", "/api/v1/readings", b.token, body);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    WD_EXPECT_ERR(r, 503, "storage_unavailable");
    /* Nothing was stored: the same batch is new, not a duplicate. */
    r = wd_req(f->s, "POST", "/api/v1/readings", b.token, body);
    free(body);
    WD_EXPECT(r, 201);
    assert_int_equal(WD_INT(r->json, "accepted"), 5);
    assert_int_equal(WD_INT(r->json, "duplicates"), 0);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_data),  cmocka_unit_test(test_kill9_after_201),
        cmocka_unit_test(test_kill9_while_posting), cmocka_unit_test(test_sigterm_while_posting),
        cmocka_unit_test(test_concurrent_posters),  cmocka_unit_test(test_sigint_clean_exit),
        cmocka_unit_test(test_online_backup),       cmocka_unit_test(test_storage_unavailable),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
