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

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct db_conn db_conn;

/* Opens `path` (created if missing) with wardd's pragmas. A writer gets
 * synchronous=FULL; a reader is query_only. Returns NULL (logged) on error.
 * Caller frees with db_close(). */
db_conn *db_open(const char *path, bool writer);
void db_close(db_conn *c);

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

/* Runs fn(c, arg) in one BEGIN IMMEDIATE transaction on a connection of
 * its own (the command line, the demo seed; the server writes through the
 * writer below): commits when fn returns 0, else rolls back. Returns 0,
 * fn's non-zero result, or DB_STORAGE_FAILURE when BEGIN or COMMIT failed. */
int db_transaction(db_conn *c, int (*fn)(db_conn *c, void *arg), void *arg);

/* Online, consistent copy of the database of `src` into `out`: written to
 * OUT.tmp, renamed over `out` only when complete. 0, or -1 with a message
 * for the operator in err (the backend's own words). */
int db_backup(db_conn *src, const char *out, char *err, size_t errlen);

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
/* The writer's counters since start (for /metrics): group commits, jobs,
 * and the time in transactions (ns), of which in the jobs' SQL (BEGIN
 * included) and in the COMMIT step (the WAL's writes and sync, and a
 * checkpoint when one is due). */
typedef struct db_writer_counters {
    uint64_t commits, jobs;
    uint64_t txn_ns, jobs_ns, commit_step_ns;
} db_writer_counters;
void db_writer_stats(db_writer *w, db_writer_counters *out);
/* Readiness as the writer last saw it, without queueing a job (/readyz):
 * false while stopping or when its last transaction (BEGIN, a statement
 * or COMMIT) failed; true before the first one. Any thread. */
bool db_writer_ready(db_writer *w);

#endif
