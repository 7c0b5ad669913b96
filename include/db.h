/* db: SQLite connections, the prepared-statement cache, per-thread read
 * connections and the single writer thread with group commit.
 *
 * Durability: the database is in WAL mode and the writer connection uses
 * synchronous=FULL, so a committed transaction survives kill -9 and power
 * loss. All writes go through one writer thread (db_writer_*): it takes
 * every job queued while the previous commit was in flight, runs each in
 * its own SAVEPOINT inside one BEGIN IMMEDIATE transaction, and commits
 * once. A job that fails rolls back alone; a commit that fails fails every
 * job in it. Concurrent requests thus share one fsync.
 *
 * Reads use one connection per thread (db_reader), opened lazily, so
 * readers never wait on the writer (WAL snapshot isolation). */
#ifndef WARDD_DB_H
#define WARDD_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct db_conn db_conn;

/* Opens `path` (created if missing) with wardd's pragmas. A writer gets
 * synchronous=FULL; a reader is query_only. Returns NULL (logged) on error.
 * Caller frees with db_close(). */
db_conn *db_open(const char *path, bool writer);
void db_close(db_conn *c);
sqlite3 *db_handle(db_conn *c);

/* The cached prepared statement for `sql`, keyed by the string's address:
 * pass a static string (CONVENTIONS.md 9). Returns NULL (logged) when it
 * does not prepare. After use, call db_done(). */
sqlite3_stmt *db_prep(db_conn *c, const char *sql);
/* Resets a statement from db_prep and clears its bindings. NULL is ignored. */
void db_done(sqlite3_stmt *st);
/* Runs SQL text with no parameters and no rows (pragmas, BEGIN, migrations). */
int db_exec(db_conn *c, const char *sql);

/* Runs fn once the current writer transaction has ended, committed or
 * rolled back, on the writer thread and before any job of the batch is
 * completed (db_done_fn): so before any reply to it is sent. A function
 * registered several times in one transaction runs once. For state kept
 * outside the database that must follow committed changes (the device
 * generation, store_devices.c): bumping it after the commit means no
 * thread can read the old rows after seeing the new value. On a connection
 * outside the writer's batch (the command line, tests) fn runs at once.
 * 0, or -1 (logged) when too many distinct hooks are registered. */
int db_after_commit(db_conn *c, void (*fn)(void));

/* Binding helpers by parameter name (":name"); a missing name is a bug
 * and returns SQLITE_RANGE. Text is copied (SQLITE_TRANSIENT); NULL binds NULL. */
int db_bind_text(sqlite3_stmt *st, const char *name, const char *value);
int db_bind_int64(sqlite3_stmt *st, const char *name, int64_t value);
int db_bind_double(sqlite3_stmt *st, const char *name, double value);
int db_bind_null(sqlite3_stmt *st, const char *name);
/* Steps a statement that returns no rows, then resets it (db_done).
 * 0 when it ran to completion, -1 otherwise. */
int db_step_done(sqlite3_stmt *st);
/* Steps a statement once and resets it: 1 a row, 0 none, -1 failure. */
int db_step_exists(sqlite3_stmt *st);
/* Steps a statement that yields one row (a count, a max) and resets it:
 * column 0 into *out. 0, or -1 when st is NULL, no row came or a step
 * failed (*out unchanged). */
int db_step_int64(sqlite3_stmt *st, int64_t *out);
/* Steps every row of `st`, appending render(st) to a new array, then
 * resets it. 0 with *out set (caller owns it), or -1 (st NULL or a step
 * failed; nothing returned). */
int db_rows_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out);

/* Steps `st` once and resets it: 1 with *out = render(st) for a row, 0 for
 * none, -1 on failure (st NULL, a failed step, or render returning NULL). */
int db_row_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out);

/* Column text or "" when NULL. */
const char *db_col_text(sqlite3_stmt *st, int col);

/* --- read connections ---------------------------------------------------- */
/* Sets the path read connections open; call once before db_reader(). */
void db_readers_init(const char *path);
/* This thread's read connection, opened on first use; NULL on failure. */
db_conn *db_reader(void);
/* Closes every read connection (after all threads that used one stopped). */
void db_readers_close_all(void);

/* --- the writer ---------------------------------------------------------- */
typedef struct db_writer db_writer;

/* A unit of work run on the writer thread inside the shared transaction.
 * Returns 0 to keep its changes, or a positive error code (an err_code of
 * errors.def) to roll back its SAVEPOINT; DB_STORAGE_FAILURE when SQLite
 * failed. Must not block on anything but the database. */
typedef int (*db_apply_fn)(db_conn *c, void *arg);
/* Called on the writer thread after the commit (or rollback) with the
 * job's final status: 0 committed, or the error code. */
typedef void (*db_done_fn)(void *arg, int status);

#define DB_STORAGE_FAILURE (-1)

/* Starts the writer on `path`. NULL (logged) on failure. */
db_writer *db_writer_start(const char *path);
/* Refuses new jobs, runs and commits the queued ones, stops, frees. */
void db_writer_stop(db_writer *w);
/* Queues a job; `done` is called exactly once. Returns 0, or -1 when the
 * writer is stopping (done is not called then). */
int db_writer_submit(db_writer *w, db_apply_fn apply, db_done_fn done, void *arg);
/* Queues a job and waits for its status (0, an error code, or
 * DB_STORAGE_FAILURE; also DB_STORAGE_FAILURE when stopping). */
int db_writer_run(db_writer *w, db_apply_fn apply, void *arg);
/* Commits so far and jobs so far (for /metrics). */
void db_writer_stats(db_writer *w, uint64_t *commits, uint64_t *jobs, uint64_t *commit_ns_total);
/* Readiness as the writer last saw it, without queueing a job (/readyz):
 * false while stopping or when its last transaction (BEGIN, a statement
 * or COMMIT) failed; true before the first one. Any thread. */
bool db_writer_ready(db_writer *w);

#endif
