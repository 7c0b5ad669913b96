/* db: see db.h. */
#include "log.h"
#include "threadname.h"
#include "clock.h"
#include "store_int.h"
#include "timefmt.h"
#include "walbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Statement cache: open addressing on the SQL string's address. A
 * connection prepares few distinct statements (tens), so 256 slots never
 * fill; db_prep refuses rather than evicts if they ever do. */
#define STMT_SLOTS 256

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
};

/* Hooks one writer transaction may register (db_after_commit); distinct
 * functions, so a few suffice. */
#define AFTER_MAX 8

struct db_conn {
    sqlite3 *db;
    struct stmt_slot slots[STMT_SLOTS];
    db_conn *next_reader; /* list of all read connections, for closing */
    bool in_batch;        /* the writer's transaction is open (run_batch) */
    void (*after[AFTER_MAX])(void);
    int n_after;
};

static int exec_pragmas(sqlite3 *db, bool writer)
{
    const char *common = "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
                         "PRAGMA cache_size=-16000; PRAGMA temp_store=MEMORY;";
    char *err = NULL;
    int rc;

    rc = sqlite3_exec(db, common, NULL, NULL, &err);
    if (rc == SQLITE_OK && writer)
        rc = sqlite3_exec(db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          "PRAGMA wal_autocheckpoint=4000;",
                          NULL, NULL, &err);
    if (rc == SQLITE_OK && !writer)
        rc = sqlite3_exec(db, "PRAGMA query_only=ON;", NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        log_error("database pragmas failed: %s", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    return rc;
}

db_conn *db_open(const char *path, bool writer)
{
    db_conn *c = calloc(1, sizeof *c);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    if (!c)
        return NULL;
    /* A writer's WAL appends are gathered into one write per commit
     * (walbuf.h); safe because a writer always syncs at commit (FULL). */
    if (writer && walbuf_register() != SQLITE_OK) {
        log_error("cannot register the %s VFS", WALBUF_VFS);
        goto fail;
    }
    if (writer)
        flags |= SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(path, &c->db, flags, writer ? WALBUF_VFS : NULL);
    if (rc != SQLITE_OK) {
        log_error("cannot open database %s: %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    if (exec_pragmas(c->db, writer) != SQLITE_OK)
        goto fail;
    return c;
fail:
    db_close(c);
    return NULL;
}

void db_close(db_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < STMT_SLOTS; i++)
        sqlite3_finalize(c->slots[i].st);
    sqlite3_close(c->db);
    free(c);
}

sqlite3 *db_handle(db_conn *c)
{
    return c->db;
}

sqlite3_stmt *db_prep(db_conn *c, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 3) % STMT_SLOTS;

    for (size_t probe = 0; probe < STMT_SLOTS; probe++) {
        struct stmt_slot *s = &c->slots[(h + probe) % STMT_SLOTS];
        if (s->sql == sql)
            return s->st;
        if (s->sql == NULL) {
            int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
            if (rc != SQLITE_OK) {
                log_error("prepare failed: %s in: %.120s", sqlite3_errmsg(c->db), sql);
                sqlite3_finalize(s->st);
                s->st = NULL;
                return NULL;
            }
            s->sql = sql;
            return s->st;
        }
    }
    log_error("statement cache full");
    return NULL;
}

/* This thread's statements whose bind failed since they were last reset
 * (NULL slots: free): their next db_step() fails instead of running with a
 * parameter unset. A statement is bound and stepped before the next is
 * bound, so a few slots are plenty; when all are taken the last is reused. */
#define BIND_FAILED_SLOTS 4
static _Thread_local sqlite3_stmt *bind_failed[BIND_FAILED_SLOTS];

/* Forgets st's failed bind; true when it had one. */
static bool bind_failed_take(sqlite3_stmt *st)
{
    for (int i = 0; st && i < BIND_FAILED_SLOTS; i++) {
        if (bind_failed[i] == st) {
            bind_failed[i] = NULL;
            return true;
        }
    }
    return false;
}

static int bind_result(sqlite3_stmt *st, const char *name, int rc)
{
    int i = 0;

    if (rc == SQLITE_OK)
        return rc;
    log_error("binding SQL parameter %s failed: %s", name, sqlite3_errstr(rc));
    while (i < BIND_FAILED_SLOTS - 1 && bind_failed[i] && bind_failed[i] != st)
        i++;
    bind_failed[i] = st;
    return rc;
}

int db_step(sqlite3_stmt *st)
{
    if (bind_failed_take(st)) {
        log_error("statement not run: a parameter did not bind");
        return SQLITE_ERROR;
    }
    return sqlite3_step(st);
}

void db_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    bind_failed_take(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int db_step_done(sqlite3_stmt *st)
{
    int rc = db_step(st);

    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int db_step_exists(sqlite3_stmt *st)
{
    int rc = db_step(st);

    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_step_int64(sqlite3_stmt *st, int64_t *out)
{
    int rc;

    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int db_rows_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out)
{
    json_t *rows;
    int rc;

    if (!st)
        return -1;
    rows = json_array();
    while ((rc = db_step(st)) == SQLITE_ROW)
        json_array_append_new(rows, render(st));
    db_done(st);
    if (rc != SQLITE_DONE || !rows) {
        json_decref(rows);
        return -1;
    }
    *out = rows;
    return 0;
}

int db_row_json(sqlite3_stmt *st, json_t *(*render)(sqlite3_stmt *st), json_t **out)
{
    int rc;

    if (!st)
        return -1;
    rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *out = render(st);
        if (!*out)
            rc = SQLITE_ERROR;
    }
    db_done(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_row_json_by_id(db_conn *c, const char *sql, int64_t id, json_t *(*render)(sqlite3_stmt *st),
                      json_t **out)
{
    sqlite3_stmt *st = db_prep(c, sql);

    if (!st)
        return -1;
    db_bind_int64(st, ":id", id);
    return db_row_json(st, render, out);
}

int db_exec(db_conn *c, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);

    if (rc != SQLITE_OK) {
        log_error("sql failed: %s", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    return rc;
}

static int param_index(sqlite3_stmt *st, const char *name)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i == 0)
        log_error("no SQL parameter %s", name);
    return i;
}

int db_bind_text(sqlite3_stmt *st, const char *name, const char *value)
{
    int i = param_index(st, name);

    if (i == 0)
        return bind_result(st, name, SQLITE_RANGE);
    if (!value)
        return bind_result(st, name, sqlite3_bind_null(st, i));
    return bind_result(st, name, sqlite3_bind_text(st, i, value, -1, SQLITE_TRANSIENT));
}

int db_bind_int64(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = param_index(st, name);

    return bind_result(st, name, i == 0 ? SQLITE_RANGE : sqlite3_bind_int64(st, i, value));
}

int db_bind_double(sqlite3_stmt *st, const char *name, double value)
{
    int i = param_index(st, name);

    return bind_result(st, name, i == 0 ? SQLITE_RANGE : sqlite3_bind_double(st, i, value));
}

const char *db_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? (const char *)t : "";
}

json_t *db_col_json_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? json_string((const char *)t) : json_null();
}

json_t *db_col_json_int(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL
               ? json_null()
               : json_integer((json_int_t)sqlite3_column_int64(st, col));
}

json_t *db_col_json_time(sqlite3_stmt *st, int col)
{
    char buf[TIMEFMT_LEN];

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_string(timefmt_format(sqlite3_column_int64(st, col), buf, sizeof buf));
}

int db_after_commit(db_conn *c, void (*fn)(void))
{
    if (!c->in_batch) {
        fn();
        return 0;
    }
    for (int i = 0; i < c->n_after; i++)
        if (c->after[i] == fn)
            return 0;
    if (c->n_after == AFTER_MAX) {
        log_error("too many after-commit hooks in one transaction");
        return -1;
    }
    c->after[c->n_after++] = fn;
    return 0;
}

/* --- read connections ------------------------------------------------------ */

static char *reader_path;
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static db_conn *readers;
static _Thread_local db_conn *this_reader;

void db_readers_init(const char *path)
{
    pthread_mutex_lock(&readers_lock);
    free(reader_path);
    reader_path = strdup(path);
    pthread_mutex_unlock(&readers_lock);
}

db_conn *db_reader(void)
{
    db_conn *c;

    if (this_reader)
        return this_reader;
    pthread_mutex_lock(&readers_lock);
    c = reader_path ? db_open(reader_path, false) : NULL;
    if (c) {
        c->next_reader = readers;
        readers = c;
    }
    pthread_mutex_unlock(&readers_lock);
    this_reader = c;
    return c;
}

void db_readers_close_all(void)
{
    pthread_mutex_lock(&readers_lock);
    while (readers) {
        db_conn *next = readers->next_reader;
        db_close(readers);
        readers = next;
    }
    free(reader_path);
    reader_path = NULL;
    pthread_mutex_unlock(&readers_lock);
    /* Only the calling thread's cached pointer can be cleared here; other
     * threads using a reader must have stopped (db.h). */
    this_reader = NULL;
}

/* --- the writer ---------------------------------------------------------- */

struct job {
    db_apply_fn apply;
    db_done_fn done;
    void *arg;
    int status;
    struct job *next;
};

/* Jobs per transaction at most: bounds the latency one commit adds. */
#define WRITER_JOBS_MAX 4096

struct db_writer {
    db_conn *conn;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    bool stopping;
    db_writer_counters n;    /* under lock (db_writer_stats) */
    atomic_bool last_failed; /* the last transaction failed (db_writer_ready) */
};

/* Transaction control on the writer connection: prepared once (db_prep's
 * cache, first in db_writer_start) and stepped per batch and per job, so no
 * SQL text is parsed on the write path. */
/* Used in #begin_immediate(). */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
/* Used in #run_batch(). */
static const char SQL_COMMIT[] = "COMMIT";
/* Used in #run_batch(). */
static const char SQL_ROLLBACK[] = "ROLLBACK";
/* Used in #run_one(): each job inside its own savepoint. */
static const char SQL_SAVEPOINT[] = "SAVEPOINT job";
/* Used in #run_one(). */
static const char SQL_RELEASE[] = "RELEASE job";
/* Used in #run_one(): a failed job's changes go, the batch's stay. */
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO job";

static const char *const control_sql[] = {SQL_BEGIN,     SQL_COMMIT,  SQL_ROLLBACK,
                                          SQL_SAVEPOINT, SQL_RELEASE, SQL_ROLLBACK_TO};

/* Steps one of control_sql and resets it: SQLITE_OK or SQLite's code (the
 * connection's error message stays set for the caller's log). */
static int control(db_conn *c, const char *sql)
{
    sqlite3_stmt *st = db_prep(c, sql);
    int rc;

    if (!st)
        return SQLITE_ERROR;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* BEGIN IMMEDIATE. While another process (the CLI, a backup) holds the
 * write lock, busy_timeout (5 s) waits inside this one attempt; after that
 * the batch is answered 503 rather than queueing requests for longer. */
static int begin_immediate(db_conn *c)
{
    int rc = control(c, SQL_BEGIN);

    if (rc == SQLITE_OK)
        return 0;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        log_error("database stayed locked for 5 s; answering this batch 503");
    else
        log_error("BEGIN IMMEDIATE failed: %s", sqlite3_errmsg(c->db));
    return -1;
}

static void run_one(db_conn *c, struct job *j)
{
    int rc;

    if (control(c, SQL_SAVEPOINT) != SQLITE_OK) {
        j->status = DB_STORAGE_FAILURE;
        return;
    }
    rc = j->apply(c, j->arg);
    if (rc != 0) {
        control(c, SQL_ROLLBACK_TO);
        j->status = rc;
    }
    control(c, SQL_RELEASE);
}

/* Runs the hooks registered during the batch (db_after_commit), once the
 * transaction has ended and before any job is completed. */
static void run_after_hooks(db_conn *c)
{
    int n = c->n_after;

    c->in_batch = false;
    c->n_after = 0;
    for (int i = 0; i < n; i++)
        c->after[i]();
}

/* Runs one batch in one transaction; fills *bt with its times (commits,
 * jobs: 0; the writer adds it to its counters under the lock). */
static void run_batch(db_writer *w, struct job *batch, db_writer_counters *bt)
{
    db_conn *c = w->conn;
    uint64_t t0 = clock_mono_ns(), t_jobs, t_commit;
    bool ok = begin_immediate(c) == 0;

    c->in_batch = true;
    for (struct job *j = batch; j; j = j->next) {
        j->status = 0;
        if (!ok) {
            j->status = DB_STORAGE_FAILURE;
            continue;
        }
        run_one(c, j);
        /* An I/O error can make SQLite roll the whole transaction back:
         * then nothing of this batch is kept, so every job fails. */
        if (sqlite3_get_autocommit(c->db)) {
            log_error("transaction aborted by the database: %s", sqlite3_errmsg(c->db));
            ok = false;
        }
    }
    t_jobs = clock_mono_ns();
    if (ok && control(c, SQL_COMMIT) != SQLITE_OK) {
        log_error("COMMIT failed: %s", sqlite3_errmsg(c->db));
        ok = false;
    }
    t_commit = clock_mono_ns();
    if (!ok) {
        if (!sqlite3_get_autocommit(c->db))
            control(c, SQL_ROLLBACK);
        for (struct job *j = batch; j; j = j->next)
            j->status = DB_STORAGE_FAILURE;
    }
    atomic_store(&w->last_failed, !ok);
    run_after_hooks(c);
    *bt = (db_writer_counters){.jobs_ns = t_jobs - t0,
                               .commit_step_ns = t_commit - t_jobs,
                               .txn_ns = clock_mono_ns() - t0};
}

static void *writer_main(void *arg)
{
    db_writer *w = arg;

    thread_name("wd-writer");
    for (;;) {
        struct job *batch = NULL, **tailp = &batch;
        int n = 0;

        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->head && w->stopping) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        while (w->head && n < WRITER_JOBS_MAX) {
            struct job *j = w->head;
            w->head = j->next;
            j->next = NULL;
            *tailp = j;
            tailp = &j->next;
            n++;
        }
        if (!w->head)
            w->tail = NULL;
        w->n.jobs += (uint64_t)n;
        pthread_mutex_unlock(&w->lock);

        db_writer_counters bt;
        run_batch(w, batch, &bt);
        pthread_mutex_lock(&w->lock);
        w->n.commits++;
        w->n.txn_ns += bt.txn_ns;
        w->n.jobs_ns += bt.jobs_ns;
        w->n.commit_step_ns += bt.commit_step_ns;
        pthread_mutex_unlock(&w->lock);
        while (batch) {
            struct job *next = batch->next;
            batch->done(batch->arg, batch->status);
            free(batch);
            batch = next;
        }
    }
    return NULL;
}

db_writer *db_writer_start(const char *path)
{
    db_writer *w = calloc(1, sizeof *w);

    if (!w)
        return NULL;
    w->conn = db_open(path, true);
    if (!w->conn)
        goto fail;
    for (size_t i = 0; i < sizeof control_sql / sizeof control_sql[0]; i++)
        if (!db_prep(w->conn, control_sql[i]))
            goto fail;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        log_error("cannot start the writer thread: %s", strerror(errno));
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        goto fail;
    }
    return w;
fail:
    if (w->conn)
        db_close(w->conn);
    free(w);
    return NULL;
}

void db_writer_stop(db_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    db_close(w->conn);
    free(w);
}

int db_writer_submit(db_writer *w, db_apply_fn apply, db_done_fn done, void *arg)
{
    struct job *j = calloc(1, sizeof *j);

    if (!j)
        return -1;
    j->apply = apply;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -1;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
    int status;
    db_apply_fn apply;
    void *arg;
};

static int sync_apply(db_conn *c, void *arg)
{
    struct sync_wait *s = arg;

    return s->apply(c, s->arg);
}

static void sync_done(void *arg, int status)
{
    struct sync_wait *s = arg;

    pthread_mutex_lock(&s->lock);
    s->status = status;
    s->finished = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int db_writer_run(db_writer *w, db_apply_fn apply, void *arg)
{
    struct sync_wait s = {.finished = false, .status = 0, .apply = apply, .arg = arg};
    int status;

    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    if (db_writer_submit(w, sync_apply, sync_done, &s) != 0) {
        status = DB_STORAGE_FAILURE;
        goto out;
    }
    pthread_mutex_lock(&s.lock);
    while (!s.finished)
        pthread_cond_wait(&s.cond, &s.lock);
    status = s.status;
    pthread_mutex_unlock(&s.lock);
out:
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.cond);
    return status;
}

void db_writer_stats(db_writer *w, db_writer_counters *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->n;
    pthread_mutex_unlock(&w->lock);
}

/* --- the command line's transactions and backups --------------------------- */

int db_transaction(db_conn *c, int (*fn)(db_conn *c, void *arg), void *arg)
{
    int rc;

    if (db_exec(c, "BEGIN IMMEDIATE") != SQLITE_OK)
        return DB_STORAGE_FAILURE;
    rc = fn(c, arg);
    if (rc == 0 && db_exec(c, "COMMIT") == SQLITE_OK)
        return 0;
    db_exec(c, "ROLLBACK");
    return rc ? rc : DB_STORAGE_FAILURE;
}

/* A backup step that met a lock (a checkpoint, another connection's
 * recovery) is tried again this many times, BACKUP_RETRY_MS apart, on top
 * of the source's busy_timeout: bounded, never a loop. */
#define BACKUP_TRIES    20
#define BACKUP_RETRY_MS 250

/* Copies every page in one step. One step reads one snapshot of the source
 * (a WAL read transaction): the server's commits meanwhile go to the WAL
 * and neither block the copy nor restart it. Stepping in chunks would
 * release the snapshot between chunks, and SQLite restarts a backup whose
 * source another process changed between steps: under continuous ingest
 * that could restart forever. SQLITE_DONE, or the last step's code. */
static int backup_copy(sqlite3_backup *b)
{
    int rc = SQLITE_BUSY;

    for (int i = 0; i < BACKUP_TRIES; i++) {
        struct timespec pause = {0, BACKUP_RETRY_MS * 1000000L};
        rc = sqlite3_backup_step(b, -1);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return rc;
        nanosleep(&pause, NULL);
    }
    return rc;
}

/* fsync of the directory holding `path`, so the rename survives power
 * loss. 0, or -1. */
static int sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* SQLite's online backup API: a consistent copy while the server writes. */
int db_backup(db_conn *src, const char *out, char *err, size_t errlen)
{
    char tmp[4096];
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int rc = -1, step;

    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    remove(tmp);
    if (sqlite3_open(tmp, &dst) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create %s", tmp);
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", src->db, "main");
    step = b ? backup_copy(b) : SQLITE_ERROR;
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "backup failed: %s", b ? sqlite3_errstr(step) : sqlite3_errmsg(dst));
        goto out;
    }
    if (sqlite3_backup_finish(b) != SQLITE_OK) {
        b = NULL;
        snprintf(err, errlen, "backup failed: %s", sqlite3_errmsg(dst));
        goto out;
    }
    b = NULL;
    if (sqlite3_close(dst) != SQLITE_OK || rename(tmp, out) != 0 || sync_dir_of(out) != 0) {
        dst = NULL;
        snprintf(err, errlen, "cannot write %s", out);
        goto out;
    }
    dst = NULL;
    rc = 0;
out:
    if (b)
        sqlite3_backup_finish(b);
    if (dst) {
        sqlite3_close(dst);
        remove(tmp);
    }
    return rc;
}

bool db_writer_ready(db_writer *w)
{
    bool stopping;

    pthread_mutex_lock(&w->lock);
    stopping = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return !stopping && !atomic_load(&w->last_failed);
}

/* Grows a malloc'd array by one element; NULL when out of memory. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, ncap * size);
        if (!p)
            return NULL;
        *arr = p;
        *cap = ncap;
    }
    return (char *)*arr + (*n)++ * size;
}

int db_collect_rows(sqlite3_stmt *st, size_t size, void (*fill)(sqlite3_stmt *st, void *elem),
                    void **out, size_t *n)
{
    void *arr = NULL;
    size_t cap = 0;
    int rc;

    *n = 0;
    *out = NULL;
    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        void *elem = grow(&arr, n, &cap, size);
        if (!elem) {
            rc = SQLITE_NOMEM;
            break;
        }
        fill(st, elem);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        *n = 0;
        return -1;
    }
    *out = arr;
    return 0;
}
