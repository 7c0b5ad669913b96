/* bulkload: builds benchmark databases directly in SQLite, not through HTTP
 * (docs/performance.md). The schema is wardd's own: run `wardd migrate --db
 * PATH` first; bulkload only inserts rows, following
 * schema/migrations/0001_core.sql (beds, devices, patients, stays,
 * observations, and `latest` kept consistent with what it inserted).
 *
 *   bulkload year --db PATH --rows N [--beds 16] [--end-ms MS]
 *       a ward of --beds beds (Y01..), each with a device and a patient
 *       admitted before the period, and one reading a minute of each of six
 *       vital codes (hr rr spo2 temp sbp dbp) per bed for the
 *       ceil(N / (beds * 6)) minutes before --end-ms (default now): a year
 *       of a 16-bed ward is 16 * 6 * 525600 = 50,457,600 readings.
 *   bulkload series --db PATH --patient ID --device ID --bed B [--hours 24]
 *                   [--hz 1] [--end-ms MS]
 *       one reading per second (--hz) of each of the six codes for the
 *       patient over the --hours before --end-ms, filed as from the device.
 *   bulkload query --db PATH --patient ID --buckets N --from-ms F --to-ms T
 *                  [--reps 20]
 *       the storage floor of /series: the server's own series code
 *       (store_series_buckets() in server/store/store_series.c, linked in: the
 *       rollup only, same SQL) run for the six codes on
 *       a wardd read connection in one snapshot, no JSON; prints the median
 *       and minimum over --reps in ms.
 *
 * The loads run in big transactions (500,000 rows each) through one prepared
 * INSERT, with synchronous=OFF and no rollback journal during the load only
 * (build into a scratch file: an interrupted load leaves garbage); the
 * database is put back into WAL mode at the end, and the series rollup
 * (obs_rollup) of every patient loaded is computed by the server's own
 * store_series_rebuild(). Prints one JSON object. */
#include "../server/store/store_int.h" /* the store's statement helpers */
#include "store.h"

#include <sqlite3.h>

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TXN_ROWS 500000
#define N_CODES  6
#define MIN_MS   60000LL

static const char *const CODES[N_CODES] = {"hr", "rr", "spo2", "temp", "sbp", "dbp"};
static const double BASE[N_CODES] = {78, 16, 97, 36.9, 122, 74};
static const double SWING[N_CODES] = {12, 3, 2, 0.5, 8, 6};

/* Used in #insert_obs(): observations as wardd's writer inserts device readings. */
static const char SQL_OBS_INSERT[] =
    "INSERT INTO observations (patient_id, bed_id, code, value_num, time_ms, received_after_ms, "
    "device_id, msg_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6 - ?5, ?7, ?8)";

/* Used in #set_latest(): the newest reading per patient and code. */
static const char SQL_LATEST[] =
    "INSERT INTO latest (patient_id, code, value_num, value_text, time_ms, obs_id) "
    "VALUES (?1, ?2, ?3, NULL, ?4, ?5) ON CONFLICT (patient_id, code) DO UPDATE SET "
    "value_num = excluded.value_num, value_text = NULL, time_ms = excluded.time_ms, "
    "obs_id = excluded.obs_id WHERE excluded.time_ms >= latest.time_ms";

static sqlite3 *db;

static void die(const char *what)
{
    fprintf(stderr, "bulkload: %s: %s\n", what, db ? sqlite3_errmsg(db) : "no database");
    exit(1);
}

static void exec(const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bulkload: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    return st;
}

static void step_done(sqlite3_stmt *st, const char *what)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die(what);
    sqlite3_reset(st);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static int64_t arg_i64(int argc, char **argv, const char *name, int64_t dflt)
{
    const char *v = arg(argc, argv, name, NULL);

    return v ? (int64_t)strtoll(v, NULL, 10) : dflt;
}

static void open_db(const char *path, bool load)
{
    sqlite3_stmt *st;
    int version = 0;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die(path);
    st = prep("PRAGMA user_version");
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 1) {
        fprintf(stderr, "bulkload: %s has no wardd schema (run wardd migrate first)\n", path);
        exit(1);
    }
    if (load)
        exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576; "
             "PRAGMA temp_store=MEMORY");
}

static void close_db(bool load)
{
    if (load)
        exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    db = NULL;
}

/* The rollup of each patient loaded, from `from_ms` on, as the server
 * recomputes it after re-filing (after close_db: its own connection). */
static void fill_rollups(const char *path, const int64_t *patients, int n, int64_t from_ms)
{
    db_conn *c = db_open(path, true);

    if (!c || db_exec(c, "BEGIN") != SQLITE_OK)
        die("open for rollups");
    for (int i = 0; i < n; i++)
        if (store_series_rebuild(c, patients[i], from_ms) != 0)
            die("rollup");
    if (db_exec(c, "COMMIT") != SQLITE_OK)
        die("commit rollups");
    db_close(c);
}

/* Deterministic noise in [-1, 1]. */
static double noise(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static double vital(int code, uint64_t *s)
{
    double v = BASE[code] + SWING[code] * noise(s);

    return code == 3 ? round(v * 10) / 10 : round(v);
}

/* The newest reading inserted per (patient slot, code), for `latest`. */
typedef struct last {
    int64_t patient, obs_id, t_ms;
    double v;
} last;

static int64_t rows_done, rows_in_txn;

static void insert_obs(sqlite3_stmt *st, int64_t patient, const char *bed, int code, double v,
                       int64_t t_ms, int64_t device, const char *msg, last *l)
{
    sqlite3_bind_int64(st, 1, patient);
    sqlite3_bind_text(st, 2, bed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, CODES[code], -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, v);
    sqlite3_bind_int64(st, 5, t_ms);
    sqlite3_bind_int64(st, 6, t_ms + 300);
    sqlite3_bind_int64(st, 7, device);
    sqlite3_bind_text(st, 8, msg, -1, SQLITE_TRANSIENT);
    step_done(st, "insert observation");
    if (t_ms >= l->t_ms) {
        l->patient = patient;
        l->obs_id = sqlite3_last_insert_rowid(db);
        l->t_ms = t_ms;
        l->v = v;
    }
    rows_done++;
    if (++rows_in_txn == TXN_ROWS) {
        exec("COMMIT; BEGIN");
        rows_in_txn = 0;
    }
}

static void set_latest(const last *l, int code)
{
    sqlite3_stmt *st = prep(SQL_LATEST);

    sqlite3_bind_int64(st, 1, l->patient);
    sqlite3_bind_text(st, 2, CODES[code], -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, l->v);
    sqlite3_bind_int64(st, 4, l->t_ms);
    sqlite3_bind_int64(st, 5, l->obs_id);
    step_done(st, "upsert latest");
    sqlite3_finalize(st);
}

/* Used in #exec_bed(): a bed, its device, its patient and the stay. */
static const char SQL_BED[] = "INSERT INTO beds (id, label, created_at) VALUES (?1, ?1, ?2)";
static const char SQL_DEVICE[] =
    "INSERT INTO devices (serial, model, bed_id, token_hash, created_at, last_seen) "
    "VALUES ('bulk-' || ?1, 'bulkload monitor', ?1, ?2, ?3, ?4)";
static const char SQL_PATIENT[] =
    "INSERT INTO patients (mrn, name, status, bed_id, admitted_at, baseline, created_at, "
    "updated_at) VALUES ('MRN-' || ?1, 'Year patient ' || ?1, 'admitted', ?1, ?2, "
    "'{\"weight_kg\":80}', ?2, ?2)";
static const char SQL_STAY[] =
    "INSERT INTO stays (patient_id, bed_id, from_ms) VALUES (?1, ?2, ?3)";

static void exec_bed(const char *bed, const char *hash, int64_t since, int64_t end, int64_t *device,
                     int64_t *patient)
{
    sqlite3_stmt *st = prep(SQL_BED);

    sqlite3_bind_text(st, 1, bed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    step_done(st, "insert bed");
    sqlite3_finalize(st);
    st = prep(SQL_DEVICE);
    sqlite3_bind_text(st, 1, bed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, since);
    sqlite3_bind_int64(st, 4, end);
    step_done(st, "insert device");
    sqlite3_finalize(st);
    *device = sqlite3_last_insert_rowid(db);
    st = prep(SQL_PATIENT);
    sqlite3_bind_text(st, 1, bed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    step_done(st, "insert patient");
    sqlite3_finalize(st);
    *patient = sqlite3_last_insert_rowid(db);
    st = prep(SQL_STAY);
    sqlite3_bind_int64(st, 1, *patient);
    sqlite3_bind_text(st, 2, bed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, since);
    step_done(st, "insert stay");
    sqlite3_finalize(st);
}

static int cmd_year(int argc, char **argv)
{
    const char *path = arg(argc, argv, "--db", NULL);
    int64_t rows = arg_i64(argc, argv, "--rows", 0), beds = arg_i64(argc, argv, "--beds", 16);
    int64_t end = arg_i64(argc, argv, "--end-ms", wall_ms()), minutes, start;
    int64_t patient[64], device[64];
    char bed[64][8], msg[32];
    last lasts[64][N_CODES];
    uint64_t seed = 7;
    sqlite3_stmt *ins;
    double t0 = now_s();

    if (!path || rows < 1 || beds < 1 || beds > 64) {
        fprintf(stderr, "bulkload year: --db PATH --rows N [--beds 1-64]\n");
        return 2;
    }
    minutes = (rows + beds * N_CODES - 1) / (beds * N_CODES);
    end -= end % MIN_MS;
    start = end - minutes * MIN_MS;
    open_db(path, true);
    exec("BEGIN");
    memset(lasts, 0, sizeof lasts);
    for (int64_t b = 0; b < beds; b++) {
        char hash[65];
        snprintf(bed[b], sizeof bed[b], "Y%02d", (int)(b + 1));
        for (int k = 0; k < 64; k++)
            hash[k] = "0123456789abcdef"[(int)((noise(&seed) + 1) * 7.99)];
        hash[64] = '\0';
        exec_bed(bed[b], hash, start - 86400000, end, &device[b], &patient[b]);
    }
    ins = prep(SQL_OBS_INSERT);
    for (int64_t m = 0; m < minutes; m++) {
        int64_t t = start + m * MIN_MS;
        for (int64_t b = 0; b < beds; b++)
            for (int c = 0; c < N_CODES; c++) {
                snprintf(msg, sizeof msg, "y%010" PRId64, m * N_CODES + c);
                insert_obs(ins, patient[b], bed[b], c, vital(c, &seed), t, device[b], msg,
                           &lasts[b][c]);
            }
        if (m % 100000 == 0 && m)
            fprintf(stderr, "bulkload: %" PRId64 " rows, %.0f s\n", rows_done, now_s() - t0);
    }
    sqlite3_finalize(ins);
    for (int64_t b = 0; b < beds; b++)
        for (int c = 0; c < N_CODES; c++)
            set_latest(&lasts[b][c], c);
    exec("COMMIT");
    close_db(true);
    fill_rollups(path, patient, (int)beds, start);
    printf("{\"rows\":%" PRId64 ",\"beds\":%" PRId64 ",\"minutes\":%" PRId64
           ",\"seconds\":%.1f,\"rows_per_s\":%.0f}\n",
           rows_done, beds, minutes, now_s() - t0, (double)rows_done / (now_s() - t0));
    return 0;
}

static int cmd_series(int argc, char **argv)
{
    const char *path = arg(argc, argv, "--db", NULL), *bed = arg(argc, argv, "--bed", NULL);
    int64_t patient = arg_i64(argc, argv, "--patient", 0);
    int64_t device = arg_i64(argc, argv, "--device", 0);
    int64_t hours = arg_i64(argc, argv, "--hours", 24), hz = arg_i64(argc, argv, "--hz", 1);
    int64_t end = arg_i64(argc, argv, "--end-ms", wall_ms()), step, start;
    last lasts[N_CODES];
    uint64_t seed = 11;
    sqlite3_stmt *ins;
    char msg[32];
    double t0 = now_s();

    if (!path || !bed || patient < 1 || device < 1 || hours < 1 || hz < 1 || hz > 1000) {
        fprintf(stderr, "bulkload series: --db --patient --device --bed [--hours] [--hz]\n");
        return 2;
    }
    step = 1000 / hz;
    start = end - hours * 3600000;
    memset(lasts, 0, sizeof lasts);
    open_db(path, true);
    exec("BEGIN");
    ins = prep(SQL_OBS_INSERT);
    for (int64_t t = start, k = 0; t < end; t += step, k++)
        for (int c = 0; c < N_CODES; c++) {
            snprintf(msg, sizeof msg, "s%010" PRId64, k * N_CODES + c);
            insert_obs(ins, patient, bed, c, vital(c, &seed), t, device, msg, &lasts[c]);
        }
    sqlite3_finalize(ins);
    for (int c = 0; c < N_CODES; c++)
        set_latest(&lasts[c], c);
    exec("COMMIT");
    close_db(true);
    fill_rollups(path, &patient, 1, start);
    printf("{\"rows\":%" PRId64 ",\"seconds\":%.1f,\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64
           "}\n",
           rows_done, now_s() - t0, start, end);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int cmd_query(int argc, char **argv)
{
    const char *path = arg(argc, argv, "--db", NULL);
    int64_t patient = arg_i64(argc, argv, "--patient", 0);
    int64_t buckets = arg_i64(argc, argv, "--buckets", 1000);
    int64_t from = arg_i64(argc, argv, "--from-ms", 0), to = arg_i64(argc, argv, "--to-ms", 0);
    int64_t reps = arg_i64(argc, argv, "--reps", 20), rows = 0;
    double ms[200];
    store_bucket *b;
    db_conn *c;

    if (!path || patient < 1 || buckets < 1 || buckets > 2000 || to <= from || reps < 1 ||
        reps > 200) {
        fprintf(stderr, "bulkload query: --db --patient --buckets --from-ms --to-ms\n");
        return 2;
    }
    c = db_open(path, false); /* a wardd read connection, its pragmas */
    b = calloc((size_t)buckets, sizeof *b);
    if (!c || !b) {
        fprintf(stderr, "bulkload query: cannot open %s\n", path);
        return 1;
    }
    for (int64_t r = 0; r < reps; r++) {
        double t0 = now_s();
        rows = 0;
        if (store_snapshot_begin(c) != 0)
            return 1;
        for (int k = 0; k < N_CODES; k++) {
            if (store_series_buckets(c, patient, CODES[k], from, to, (int)buckets, b) != 0) {
                fprintf(stderr, "bulkload query: series failed\n");
                return 1;
            }
            for (int64_t i = 0; i < buckets; i++)
                rows += b[i].n;
        }
        store_snapshot_end(c);
        ms[r] = (now_s() - t0) * 1000;
    }
    free(b);
    db_close(c);
    qsort(ms, (size_t)reps, sizeof ms[0], cmp_double);
    printf("{\"median_ms\":%.3f,\"min_ms\":%.3f,\"readings\":%" PRId64 ",\"reps\":%" PRId64 "}\n",
           ms[reps / 2], ms[0], rows, reps);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "year") == 0)
        return cmd_year(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "series") == 0)
        return cmd_series(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "query") == 0)
        return cmd_query(argc, argv);
    fprintf(stderr, "usage: bulkload year|series|query ... (see bench/bulkload.c)\n");
    return 2;
}
