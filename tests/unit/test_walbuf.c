/* Unit tests for walbuf.c, the VFS that gathers a commit's WAL appends:
 * a commit becomes a few writes, not two per page; what a commit wrote is
 * visible to another connection as soon as it returns; a commit that
 * returned survives the process dying at once (_exit, no close: nothing
 * left in a buffer), and one that did not return is not half there; a
 * transaction larger than the buffer and a checkpoint read what they must. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../server/store/store_int.h" /* the store's statement helpers */
#include "test_dbfile.h"
#include "walbuf.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    /* rows of 1 KB under a random key: every commit dirties many pages */
    return test_dbfile_create(dir, sizeof dir, path, sizeof path, "walbuf",
                              "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"
                              "CREATE INDEX t_v ON t (v)");
}

static int teardown(void **state)
{
    (void)state;
    return test_dbfile_remove(dir);
}

/* n rows in one transaction; keys from *seed. SQLITE_OK or the error. */
static int insert_rows(db_conn *c, int n, unsigned *seed)
{
    int rc = db_exec(c, "BEGIN IMMEDIATE");

    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db_handle(c), "INSERT INTO t (k, v) VALUES (?1, randomblob(1000))",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            *seed = *seed * 1103515245u + 12345u;
            sqlite3_bind_int64(st, 1, (sqlite3_int64)(*seed >> 1));
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(st);
    }
    return rc == SQLITE_OK ? db_exec(c, "COMMIT") : rc;
}

static int64_t count_rows(void)
{
    db_conn *r = db_open(path, false);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    assert_non_null(r);
    assert_int_equal(sqlite3_prepare_v2(db_handle(r), "SELECT count(*) FROM t", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    db_close(r);
    return n;
}

/* PRAGMA integrity_check on c says "ok". */
static void assert_sound(db_conn *c)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(c), "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

static void test_commit_is_few_writes(void **state)
{
    db_conn *c = db_open(path, true);
    walbuf_stats before, after;
    unsigned seed = 1;
    (void)state;

    assert_non_null(c);
    walbuf_get_stats(&before);
    assert_int_equal(insert_rows(c, 40, &seed), SQLITE_OK);
    walbuf_get_stats(&after);
    /* 40 KB of rows plus the index: tens of pages, two writes each asked */
    assert_true(after.writes - before.writes >= 40);
    assert_true(after.flushes - before.flushes <= 1 + (after.writes - before.writes) / 16);
    /* the commit's sync (synchronous=FULL) and the writes are timed: the
     * disk's share of a commit in /metrics (wardd_db_wal_*_seconds_total) */
    assert_true(after.syncs > before.syncs);
    assert_true(after.sync_ns > before.sync_ns);
    assert_true(after.flush_ns > before.flush_ns);
    /* seen by another connection as soon as COMMIT returned */
    assert_int_equal(count_rows(), 40);
    db_close(c);
}

/* A transaction larger than the buffer (it fills and writes several
 * times, and spills pages before COMMIT), then a checkpoint that reads
 * the whole WAL back into the database: the data must be intact. */
static void test_large_transaction_and_checkpoint(void **state)
{
    db_conn *c = db_open(path, true);
    unsigned seed = 7;
    (void)state;

    assert_non_null(c);
    assert_int_equal(db_exec(c, "PRAGMA cache_size=50"), SQLITE_OK); /* force spills */
    assert_int_equal(insert_rows(c, 3000, &seed), SQLITE_OK);
    assert_int_equal(insert_rows(c, 500, &seed), SQLITE_OK);
    assert_int_equal(count_rows(), 3500);
    assert_int_equal(
        sqlite3_wal_checkpoint_v2(db_handle(c), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
        SQLITE_OK);
    assert_sound(c);
    db_close(c);
    assert_int_equal(count_rows(), 3500);
}

/* A child commits and dies without closing anything; another transaction
 * of it is left open when it dies. The committed rows are all there, the
 * uncommitted ones are not, and the database is sound. */
static void test_committed_survives_sudden_exit(void **state)
{
    pid_t pid;
    int status = 0;
    db_conn *c;
    (void)state;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        db_conn *child = db_open(path, true);
        unsigned seed = 3;
        if (!child || insert_rows(child, 200, &seed) != SQLITE_OK)
            _exit(1);
        if (db_exec(child, "BEGIN IMMEDIATE") != SQLITE_OK ||
            db_exec(child, "INSERT INTO t (k, v) VALUES (-1, x'00')") != SQLITE_OK)
            _exit(1);
        _exit(0); /* no COMMIT, no close: whatever is buffered is lost */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_rows(), 200);
    c = db_open(path, true);
    assert_non_null(c);
    assert_sound(c);
    db_close(c);
}

/* Read connections do not use the VFS (they never write the WAL); writers do. */
static void test_only_writers_use_it(void **state)
{
    db_conn *w = db_open(path, true), *r = db_open(path, false);
    sqlite3_vfs *wv = NULL, *rv = NULL;
    (void)state;

    assert_non_null(w);
    assert_non_null(r);
    assert_int_equal(sqlite3_file_control(db_handle(w), "main", SQLITE_FCNTL_VFS_POINTER, &wv),
                     SQLITE_OK);
    assert_int_equal(sqlite3_file_control(db_handle(r), "main", SQLITE_FCNTL_VFS_POINTER, &rv),
                     SQLITE_OK);
    assert_non_null(wv);
    assert_non_null(rv);
    assert_string_equal(wv->zName, WALBUF_VFS);
    assert_true(strcmp(rv->zName, WALBUF_VFS) != 0);
    db_close(w);
    db_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_is_few_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_transaction_and_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_committed_survives_sudden_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_writers_use_it, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
