/* Unit tests for db.c: statement cache, the writer's group commit, per-job
 * rollback inside a shared transaction, and draining on stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/store/store_int.h" /* the store's statement helpers */
#include "test_dbfile.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    return test_dbfile_create(dir, sizeof dir, path, sizeof path, "db",
                              "CREATE TABLE t (v INTEGER NOT NULL)");
}

static int teardown(void **state)
{
    (void)state;
    return test_dbfile_remove(dir);
}

static const char SQL_INSERT[] = "INSERT INTO t (v) VALUES (:v)";
static const char SQL_COUNT[] = "SELECT count(*), coalesce(sum(v), 0) FROM t";

struct result;

/* One queued job: the value it inserts and where it reports. */
struct job_arg {
    int value;
    struct result *res;
};

static int insert_value(db_conn *c, void *arg)
{
    sqlite3_stmt *st = db_prep(c, SQL_INSERT);
    int rc;

    if (!st)
        return DB_STORAGE_FAILURE;
    db_bind_int64(st, ":v", *(int *)arg);
    rc = sqlite3_step(st);
    db_done(st);
    /* Negative values insert, then refuse: their row must be rolled back. */
    if (*(int *)arg < 0)
        return 42;
    return rc == SQLITE_DONE ? 0 : DB_STORAGE_FAILURE;
}

static void count_rows(int64_t *n, int64_t *sum)
{
    db_conn *c = db_open(path, false);
    sqlite3_stmt *st;

    assert_non_null(c);
    st = db_prep(c, SQL_COUNT);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *n = sqlite3_column_int64(st, 0);
    *sum = sqlite3_column_int64(st, 1);
    db_done(st);
    db_close(c);
}

static void test_statement_cache(void **state)
{
    db_conn *c = db_open(path, true);
    (void)state;

    assert_non_null(c);
    assert_ptr_equal(db_prep(c, SQL_COUNT), db_prep(c, SQL_COUNT));
    assert_null(db_prep(c, "SELECT nonsense FROM nowhere"));
    db_close(c);
}

/* A statement whose bind failed does not run: db_step() refuses it (the
 * issue "results of db_bind_* are ignored everywhere"), db_done() forgets
 * the failure, and the statement then runs normally. */
static void test_failed_bind_stops_the_step(void **state)
{
    db_conn *c = db_open(path, true);
    sqlite3_stmt *st;
    int64_t n = -1, sum = -1;
    (void)state;

    assert_non_null(c);
    st = db_prep(c, SQL_INSERT);
    assert_non_null(st);
    assert_int_equal(db_bind_int64(st, ":no_such_name", 5), SQLITE_RANGE);
    assert_int_equal(db_bind_int64(st, ":v", 7), SQLITE_OK);
    assert_int_equal(db_step_done(st), -1); /* refused, not run */
    count_rows(&n, &sum);
    assert_int_equal(n, 0);

    /* The failure is forgotten once reported: the next use runs. */
    assert_int_equal(db_bind_int64(st, ":v", 7), SQLITE_OK);
    assert_int_equal(db_step_done(st), 0);
    /* db_done() after a failed bind, without a step, forgets it too. */
    assert_int_equal(db_bind_text(st, ":nope", "x"), SQLITE_RANGE);
    db_done(st);
    assert_int_equal(db_bind_int64(st, ":v", 8), SQLITE_OK);
    assert_int_equal(db_step_done(st), 0);
    count_rows(&n, &sum);
    assert_int_equal(n, 2);
    assert_int_equal(sum, 15);
    db_close(c);
}

static void test_run_and_refusal(void **state)
{
    db_writer *w = db_writer_start(path);
    int good = 5, bad = -7;
    int64_t n = 0, sum = 0;
    (void)state;

    assert_non_null(w);
    assert_int_equal(db_writer_run(w, insert_value, &good), 0);
    assert_int_equal(db_writer_run(w, insert_value, &bad), 42);
    db_writer_stop(w);
    count_rows(&n, &sum);
    assert_int_equal(n, 1);
    assert_int_equal(sum, 5);
}

struct result {
    pthread_mutex_t lock;
    int done, failed, ok;
};

/* Waits up to 10 s for `want` jobs to report. */
static void wait_done(struct result *res, int want)
{
    for (int spin = 0; spin < 1000; spin++) {
        pthread_mutex_lock(&res->lock);
        int done = res->done;
        pthread_mutex_unlock(&res->lock);
        if (done == want)
            return;
        usleep(10000);
    }
}

static int insert_job(db_conn *c, void *arg)
{
    return insert_value(c, &((struct job_arg *)arg)->value);
}

static void on_done(void *arg, int status)
{
    struct result *r = ((struct job_arg *)arg)->res;

    pthread_mutex_lock(&r->lock);
    r->done++;
    if (status == 0)
        r->ok++;
    else
        r->failed++;
    pthread_mutex_unlock(&r->lock);
}

/* Many queued jobs share few commits; a refusing job among them rolls back
 * alone; stop() commits everything still queued. */
static void test_group_commit(void **state)
{
    enum { JOBS = 400 };
    static struct job_arg args[JOBS];
    struct result res = {.done = 0};
    db_writer *w = db_writer_start(path);
    int64_t n = 0, sum = 0, want_sum = 0;
    (void)state;

    assert_non_null(w);
    pthread_mutex_init(&res.lock, NULL);
    for (int i = 0; i < JOBS; i++) {
        args[i] = (struct job_arg){.value = (i % 10 == 9) ? -1 : i, .res = &res};
        if (args[i].value > 0)
            want_sum += args[i].value;
        assert_int_equal(db_writer_submit(w, insert_job, on_done, &args[i]), 0);
    }
    db_writer_stop(w);
    assert_int_equal(res.done, JOBS);
    assert_int_equal(res.failed, JOBS / 10);
    count_rows(&n, &sum);
    assert_int_equal(n, JOBS - JOBS / 10);
    assert_int_equal(sum, want_sum);
    pthread_mutex_destroy(&res.lock);
}

static void test_commits_fewer_than_jobs(void **state)
{
    enum { JOBS = 200 };
    static struct job_arg args[JOBS];
    struct result res = {.done = 0};
    db_writer *w = db_writer_start(path);
    db_writer_counters wc;
    (void)state;

    pthread_mutex_init(&res.lock, NULL);
    for (int i = 0; i < JOBS; i++) {
        args[i] = (struct job_arg){.value = 1, .res = &res};
        assert_int_equal(db_writer_submit(w, insert_job, on_done, &args[i]), 0);
    }
    /* Wait for completion, then read the counters. */
    wait_done(&res, JOBS);
    db_writer_stats(w, &wc);
    assert_int_equal(wc.jobs, JOBS);
    /* Jobs queued while a commit is in flight join the next one. */
    assert_true(wc.commits < JOBS);
    /* The transaction time splits into the jobs and the COMMIT step,
     * both measured, together no more than the whole. */
    assert_true(wc.jobs_ns > 0);
    assert_true(wc.commit_step_ns > 0);
    assert_true(wc.jobs_ns + wc.commit_step_ns <= wc.txn_ns);
    db_writer_stop(w);
    pthread_mutex_destroy(&res.lock);
}

/* --- db_after_commit ---------------------------------------------------------- */

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static int hook_runs;
static int64_t hook_saw_rows = -1; /* rows a fresh connection saw when the hook ran */

/* Runs on the writer thread: no cmocka assertions here. */
static void hook(void)
{
    db_conn *c = db_open(path, false);
    sqlite3_stmt *st = c ? db_prep(c, SQL_COUNT) : NULL;
    int64_t n = -2;

    if (st && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    db_done(st);
    db_close(c);
    pthread_mutex_lock(&hook_lock);
    hook_runs++;
    hook_saw_rows = n;
    pthread_mutex_unlock(&hook_lock);
}

static int hook_runs_now(void)
{
    pthread_mutex_lock(&hook_lock);
    int n = hook_runs;
    pthread_mutex_unlock(&hook_lock);
    return n;
}

/* Inserts like insert_value and registers the hook, twice. */
static int insert_with_hook(db_conn *c, void *arg)
{
    if (db_after_commit(c, hook) != 0 || db_after_commit(c, hook) != 0)
        return DB_STORAGE_FAILURE;
    return insert_value(c, arg);
}

static int insert_job_with_hook(db_conn *c, void *arg)
{
    return insert_with_hook(c, &((struct job_arg *)arg)->value);
}

/* Each job's done callback records whether the hook of its batch had run. */
static int done_before_hook;

static void on_done_hooked(void *arg, int status)
{
    if (hook_runs_now() == 0) {
        pthread_mutex_lock(&hook_lock);
        done_before_hook++;
        pthread_mutex_unlock(&hook_lock);
    }
    on_done(arg, status);
}

/* The hook runs once per transaction, after the commit is visible to other
 * connections, before the jobs are completed; also after a rollback; at
 * once outside the writer. */
static void test_after_commit(void **state)
{
    enum { JOBS = 300 };
    static struct job_arg args[JOBS];
    struct result res = {.done = 0};
    db_writer *w = db_writer_start(path);
    db_conn *plain = db_open(path, false);
    db_writer_counters before, after;
    int good = 3, bad = -3;
    (void)state;

    assert_non_null(w);
    assert_non_null(plain);
    hook_runs = 0;
    done_before_hook = 0;
    assert_int_equal(db_after_commit(plain, hook), 0);
    assert_int_equal(hook_runs_now(), 1);
    db_close(plain);

    hook_runs = 0;
    assert_int_equal(db_writer_run(w, insert_with_hook, &good), 0);
    assert_int_equal(hook_runs_now(), 1);
    assert_int_equal(hook_saw_rows, 1); /* the committed row */
    assert_int_equal(db_writer_run(w, insert_with_hook, &bad), 42);
    assert_int_equal(hook_runs_now(), 2);
    assert_int_equal(hook_saw_rows, 1); /* the refused row rolled back */

    /* Many jobs share few transactions: one hook run per transaction. */
    hook_runs = 0;
    pthread_mutex_init(&res.lock, NULL);
    db_writer_stats(w, &before);
    for (int i = 0; i < JOBS; i++) {
        args[i] = (struct job_arg){.value = 1, .res = &res};
        assert_int_equal(db_writer_submit(w, insert_job_with_hook, on_done_hooked, &args[i]), 0);
    }
    wait_done(&res, JOBS);
    db_writer_stats(w, &after);
    db_writer_stop(w);
    assert_int_equal(res.done, JOBS);
    assert_int_equal(res.ok, JOBS);
    assert_int_equal(done_before_hook, 0);
    assert_int_equal(hook_runs_now(), (int)(after.commits - before.commits));
    pthread_mutex_destroy(&res.lock);
}

static void test_start_fails_on_unopenable_path(void **state)
{
    db_writer *w = db_writer_start("/nonexistent-dir/x.db");
    (void)state;

    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_bind_stops_the_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_fewer_than_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_commit, setup, teardown),
        cmocka_unit_test(test_start_fails_on_unopenable_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
