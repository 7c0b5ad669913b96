/* it_backup: an archive taken while a device posts (docs/deploy.md
 * "Storage": `wardd backup --db PATH OUTFILE` is online and consistent;
 * restoring is copying the file into place and starting wardd on it).
 *
 * A thread posts batches of readings without pause, each reading with a
 * time of its own (base + a unique number of milliseconds, as in
 * it_durability), and records for every batch whether its 201 arrived
 * before the backup began. The backup runs as a separate process against
 * the live database while the posts go on; it must finish (no restart
 * loop, no failure on the server's concurrent commits). The archive is
 * then checked by SQLite (PRAGMA integrity_check) and by wardd itself
 * (`wardd audit verify`), copied into place and served by a second wardd:
 * every reading acknowledged before the backup began is there, once. */
#include "harness.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS   3600000LL
#define BATCH     20
#define MAX_POSTS 100000
#define BACKUPS   3 /* taken one after another, all under load */

typedef struct poster {
    pthread_t thread;
    const wd_server *s;
    const char *token;
    int64_t base;
    atomic_bool stop;
    atomic_bool backup_started; /* set just before the first backup runs */
    atomic_int done;            /* batches answered */
    long status[MAX_POSTS];     /* HTTP status per batch, 0 = no answer */
    bool before[MAX_POSTS];     /* 201 seen before the first backup began */
} poster;

/* `BATCH` hr readings at base + post * BATCH + i. */
static char *batch_body(int64_t base, int post)
{
    json_t *items = json_array();
    json_t *body;
    char *text;

    for (int i = 0; i < BATCH; i++) {
        long off = (long)post * BATCH + i;
        char id[64];
        snprintf(id, sizeof id, "bk-%ld", off);
        json_array_append_new(items,
                              wd_item(id, "hr", json_integer(60 + off % 100), NULL, base + off));
    }
    body = json_pack("{s:o}", "readings", items);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static void *poster_run(void *arg)
{
    poster *p = arg;
    wd_client *c = wd_client_new(p->s);

    for (int j = 0; c && j < MAX_POSTS && !atomic_load(&p->stop); j++) {
        char *body = batch_body(p->base, j);
        p->status[j] = wd_client_req(c, "POST", "/api/v1/readings", p->token, body, NULL);
        free(body);
        /* read after the answer: a batch counted "before" was answered
         * before the flag was set, so before the backup process started */
        p->before[j] = p->status[j] == 201 && !atomic_load(&p->backup_started);
        atomic_store(&p->done, j + 1);
    }
    wd_client_free(c);
    return NULL;
}

/* Waits (bounded) until the poster has had `n` batches answered. */
static void wait_batches(poster *p, int n)
{
    for (int i = 0; i < 3000 && atomic_load(&p->done) < n; i++)
        wd_sleep_ms(10);
    if (atomic_load(&p->done) < n)
        fail_msg("the poster had only %d of %d batches answered", atomic_load(&p->done), n);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* PRAGMA integrity_check on the file, read-only: "ok" or the first problem. */
static void expect_intact(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char got[512] = "no answer";

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(got, sizeof got, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (strcmp(got, "ok") != 0)
        fail_msg("integrity_check of %s: %s", path, got);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(fclose(in), 0);
    assert_int_equal(fclose(out), 0);
}

/* The restored server holds every reading acknowledged before the backup
 * began, each once, and nothing that was never sent. */
static void check_restored(wd_server *s2, long long pid, const poster *p)
{
    const char *token = wd_login(s2, WD_VIEWER, WD_PASSWORD);
    json_t *all = wd_all_readings(s2, token, pid, "hr");
    size_t n = json_array_size(all), i;
    int64_t *t = calloc(n + 1, sizeof *t);
    long missing = 0, before = 0, sent = (long)atomic_load(&p->done) * BATCH;
    json_t *v;

    assert_non_null(t);
    json_array_foreach(all, i, v)
    {
        t[i] = WD_TIME(v, "time");
    }
    qsort(t, n, sizeof *t, cmp_i64);
    for (i = 1; i < n; i++)
        if (t[i] == t[i - 1])
            fail_msg("reading at %s appears twice in the restored database", wd_iso(t[i]));
    for (int j = 0; j < atomic_load(&p->done); j++) {
        if (!p->before[j])
            continue;
        for (int k = 0; k < BATCH; k++) {
            int64_t want = p->base + (int64_t)j * BATCH + k;
            before++;
            missing += bsearch(&want, t, n, sizeof *t, cmp_i64) == NULL;
        }
    }
    free(t);
    if (missing)
        fail_msg("%ld of %ld readings acknowledged before the backup are missing", missing, before);
    if ((long)n > sent)
        fail_msg("%zu readings restored, only %ld sent", n, sent);
    if (before < 10 * BATCH)
        fail_msg("only %ld readings acknowledged before the backup: the test proved little",
                 before);
}

static void test_backup_under_load(void **state)
{
    wd_fixture *f = *state;
    poster *p = calloc(1, sizeof *p);
    long long pid = wd_admit(f, "B1", wd_now_ms() - 6 * HOUR_MS, NULL);
    char out[BACKUPS][600], restored[600], *stdout_text = NULL;
    int during = 0;
    wd_server *s2;

    assert_non_null(p);
    p->s = f->s;
    p->token = f->device;
    p->base = wd_now_ms() / 1000 * 1000 - 5 * HOUR_MS;
    assert_int_equal(pthread_create(&p->thread, NULL, poster_run, p), 0);
    wait_batches(p, 20);
    atomic_store(&p->backup_started, true);
    for (int b = 0; b < BACKUPS; b++) {
        int at_start = atomic_load(&p->done);
        snprintf(out[b], sizeof out[b], "%s/archive-%d.db", wd_dir(f->s), b);
        if (wd_cli(f->s, NULL, &stdout_text, "backup", "--db", wd_db(f->s), out[b], (char *)NULL) !=
            0) {
            wd_dump_log(f->s);
            fail_msg("backup %d under load failed", b);
        }
        assert_non_null(strstr(stdout_text, "archive-"));
        during += atomic_load(&p->done) > at_start;
        wait_batches(p, atomic_load(&p->done) + 5); /* the posts go on after it */
    }
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    for (int j = 0; j < atomic_load(&p->done); j++)
        if (p->status[j] != 201)
            fail_msg("batch %d answered %ld while backups ran", j, p->status[j]);
    if (during == 0)
        print_message("note: no batch was answered while a backup ran (they were quick)\n");

    /* the first archive, checked and restored: copied into place */
    expect_intact(out[0]);
    if (wd_cli(f->s, NULL, NULL, "audit", "verify", "--db", out[0], (char *)NULL) != 0)
        fail_msg("wardd audit verify rejects the archive");
    snprintf(restored, sizeof restored, "%s/restored.db", wd_dir(f->s));
    copy_file(out[0], restored);
    s2 = wd_start(restored);
    WD_EXPECT(wd_req(s2, "GET", "/readyz", NULL, NULL), 200);
    check_restored(s2, pid, p);
    wd_stop(s2);
    for (int b = 1; b < BACKUPS; b++)
        expect_intact(out[b]);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_under_load, wd_fixture_setup,
                                        wd_fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
