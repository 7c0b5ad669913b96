/* Unit tests for store_series: GET /series read from the rollup
 * (obs_rollup, migration 0003) must equal the raw computation. The oracle
 * is the statement /series ran before the rollup (an aggregate over
 * observations grouped by bucket). Randomised data: times anywhere in the
 * millisecond, on whole seconds and on block edges; random windows (from
 * and to on readings, spans shorter than a block, bucket widths that are
 * no multiple of the block); duplicate retries; bursts denser than a
 * block packs; a categorical and a flag code; several patients; and re-filing by back-dated
 * admission, transfer and discharge. Then a database at schema version 2 with observations is
 * migrated and its rollup checked the same way. WARDD_TEST_SEED=N replays another random sequence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/store/store_int.h" /* the store's statement helpers */
#include "migrate.h"
#include "obs.h"
#include "api.h"
#include "store.h"
#include "timefmt.h"

/* 2026-11-27T14:03:05Z: not on a block edge. */
#define T0   INT64_C(1795788185000)
#define HOUR INT64_C(3600000)
#define BLK  STORE_SERIES_BLOCK_MS

static const char *const CODES[] = {"hr", "temp", "intubated", "rhythm"};
#define N_CODES (sizeof CODES / sizeof CODES[0])

/* The statement store_obs_series ran before the rollup: the oracle. */
static const char ORACLE[] =
    "SELECT min((time_ms - :from) / :bucket, :last) AS b, min(value_num), max(value_num), "
    "avg(value_num), count(*) FROM observations WHERE patient_id = :patient AND code = :code "
    "AND time_ms BETWEEN :from AND :to AND value_num IS NOT NULL GROUP BY b ORDER BY b";

typedef struct world {
    db_conn *c;
    int64_t device[3];
    int64_t patient[4];
    int n_patients;
    int64_t times[4096]; /* some reading times, for windows that start or end on one */
    int n_times;
    int msg;
    uint64_t seed;
    store_obs_batch *batch; /* when set, readings go in batches as ingest sends them */
    int batch_left;         /* readings until the batch is flushed */
} world;

static uint64_t rnd(world *w)
{
    w->seed = w->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return w->seed >> 17;
}

static int64_t rnd_range(world *w, int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rnd(w) % (uint64_t)(hi - lo + 1));
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    const char *seed = getenv("WARDD_TEST_SEED");

    *state = w;
    if (!w)
        return -1;
    w->seed = seed ? strtoull(seed, NULL, 10) : 20261127;
    w->c = db_open(":memory:", true);
    if (!w->c || migrate_apply(w->c) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        char bed[16], serial[24];
        snprintf(bed, sizeof bed, "B%d", i + 1);
        snprintf(serial, sizeof serial, "mon-%d", i + 1);
        if (store_bed_insert(w->c, bed, bed, T0 - 10 * HOUR) != 0 ||
            store_device_insert(w->c, serial, "monitor", bed, serial, T0 - 10 * HOUR,
                                &w->device[i]) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;

    store_obs_batch_free(w->batch);
    db_close(w->c);
    free(w);
    return 0;
}

static int64_t admit(world *w, const char *bed, int64_t at)
{
    char text[128];
    json_t *p;
    int64_t id = 0;
    store_patient_fields f;

    snprintf(text, sizeof text, "{\"mrn\": \"S-%d\", \"name\": \"Pat %d\", \"bed\": \"%s\"}",
             w->n_patients, w->n_patients, bed);
    p = json_loads(text, 0, NULL);
    assert_non_null(p);
    api_patient_fields(p, &f);
    assert_int_equal(store_patient_admit(w->c, &f, at, T0 + 4 * HOUR, &id), 0);
    json_decref(p);
    w->patient[w->n_patients++] = id;
    return id;
}

/* A reading time: anywhere, on a whole second, or on a block edge. */
static int64_t rnd_time(world *w, int64_t lo, int64_t hi)
{
    int64_t t = rnd_range(w, lo, hi);

    switch (rnd(w) % 4) {
    case 0:
        return t - t % 1000;
    case 1:
        return t - t % BLK;
    default:
        return t;
    }
}

/* Stores one reading: alone, or in the current batch, which is flushed
 * after a random 1 to 150 readings (and by flush_batch()). */
static int put(world *w, const obs_source *src, int64_t patient, const obs_reading *o)
{
    int64_t id = 0;
    int rc;

    if (!w->batch)
        return store_obs_insert(w->c, src, patient, o, T0, &id);
    rc = store_obs_batch_insert(w->c, w->batch, src, patient, o, T0, &id);
    if (--w->batch_left <= 0) {
        assert_int_equal(store_obs_batch_flush(w->c, w->batch), 0);
        w->batch_left = (int)rnd_range(w, 1, 150);
    }
    return rc;
}

static void flush_batch(world *w)
{
    if (w->batch)
        assert_int_equal(store_obs_batch_flush(w->c, w->batch), 0);
}

/* n readings from the three monitors, filed as ingest files them (the
 * bed's occupant at the reading's time, or nobody); about one in ten is
 * sent twice (a retry: a duplicate, stored once). */
static void insert_readings(world *w, int n, int64_t lo, int64_t hi)
{
    for (int i = 0; i < n; i++) {
        int d = (int)(rnd(w) % 3);
        char bed[16];
        obs_source src = {w->device[d], 0, bed, 0};
        obs_reading o = {0};
        int64_t patient = 0;
        const char *code = CODES[rnd(w) % N_CODES];

        snprintf(bed, sizeof bed, "B%d", d + 1);
        o.code = obs_code_lookup(code);
        assert_non_null(o.code);
        o.time_ms = rnd_time(w, lo, hi);
        if (o.code->kind == OBS_CATEGORICAL) {
            int k = (int)(rnd(w) % 2);
            o.value = k;
            o.text = o.code->values[k];
        } else if (o.code->kind == OBS_FLAG) {
            o.value = (double)(rnd(w) % 2);
        } else if (strcmp(code, "temp") == 0) {
            o.value = 35.0 + (double)rnd_range(w, 0, 600) / 100.0;
        } else {
            o.value = (double)rnd_range(w, 40, 180);
        }
        snprintf(o.id, sizeof o.id, "m%d", ++w->msg);
        assert_true(store_stay_at(w->c, bed, o.time_ms, &patient) >= 0);
        assert_int_equal(put(w, &src, patient, &o), 0);
        if (rnd(w) % 10 == 0)
            assert_int_equal(put(w, &src, patient, &o), 1);
        if (w->n_times < (int)(sizeof w->times / sizeof w->times[0]))
            w->times[w->n_times++] = o.time_ms;
    }
    flush_batch(w);
}

/* Bursts denser than the rollup packs (more than 90 readings of a code in
 * one minute): those blocks keep only aggregates and are read raw when cut. */
static void insert_bursts(world *w, int bursts, int64_t lo, int64_t hi)
{
    for (int i = 0; i < bursts; i++) {
        int d = (int)(rnd(w) % 3);
        char bed[16];
        obs_source src = {w->device[d], 0, bed, 0};
        int64_t block = rnd_range(w, lo, hi), n = rnd_range(w, 85, 200), patient = 0;
        const char *code = CODES[rnd(w) % 3];

        block -= block % BLK;
        snprintf(bed, sizeof bed, "B%d", d + 1);
        for (int64_t k = 0; k < n; k++) {
            obs_reading o = {0};
            o.code = obs_code_lookup(code);
            o.time_ms = block + rnd_range(w, 0, BLK - 1);
            o.value = o.code->kind == OBS_FLAG ? (double)(rnd(w) % 2)
                                               : (double)rnd_range(w, 3500, 4100) / 100.0;
            snprintf(o.id, sizeof o.id, "m%d", ++w->msg);
            assert_true(store_stay_at(w->c, bed, o.time_ms, &patient) >= 0);
            assert_int_equal(put(w, &src, patient, &o), 0);
            if (w->n_times < (int)(sizeof w->times / sizeof w->times[0]))
                w->times[w->n_times++] = o.time_ms;
        }
    }
    flush_batch(w);
}

/* store_series_buckets against the oracle for one window. */
static void check_window(world *w, int64_t patient, const char *code, int64_t from, int64_t to,
                         int buckets)
{
    store_bucket *b = calloc((size_t)buckets, sizeof *b);
    sqlite3_stmt *st = NULL;
    int64_t bucket_ms = store_series_bucket_ms(from, to, buckets), seen = 0, total = 0;

    assert_non_null(b);
    assert_int_equal(store_series_buckets(w->c, patient, code, from, to, buckets, b), 0);
    assert_int_equal(sqlite3_prepare_v2(db_handle(w->c), ORACLE, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":from"), from);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":to"), to);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":bucket"), bucket_ms);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":last"), buckets - 1);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":patient"), patient);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":code"), code, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        double mean = sqlite3_column_double(st, 3);
        if (b[k].n != sqlite3_column_int64(st, 4))
            fail_msg("%s patient %lld [%lld, %lld] / %d: bucket %d has n %lld, raw %lld", code,
                     (long long)patient, (long long)from, (long long)to, buckets, k,
                     (long long)b[k].n, (long long)sqlite3_column_int64(st, 4));
        /* n, min and max exact; the mean up to rounding (another order of addition) */
        assert_true(b[k].min == sqlite3_column_double(st, 1));
        assert_true(b[k].max == sqlite3_column_double(st, 2));
        assert_true(fabs(b[k].sum / (double)b[k].n - mean) <= 1e-9 * fmax(1.0, fabs(mean)));
        seen++;
        total += b[k].n;
    }
    sqlite3_finalize(st);
    /* and no bucket the oracle does not have */
    for (int k = 0; k < buckets; k++)
        if (b[k].n)
            seen--, total -= b[k].n;
    assert_int_equal(seen, 0);
    assert_int_equal(total, 0);
    free(b);
}

/* A random window: its ends on a reading, a block edge or anywhere. */
static int64_t rnd_end(world *w)
{
    if (w->n_times && rnd(w) % 3 == 0)
        return w->times[rnd(w) % (uint64_t)w->n_times];
    return rnd_time(w, T0 - 2 * HOUR, T0 + 4 * HOUR);
}

static void check_all(world *w, int windows)
{
    for (int p = 0; p < w->n_patients; p++)
        for (size_t c = 0; c < N_CODES; c++) {
            /* the whole period, as the dashboard asks */
            check_window(w, w->patient[p], CODES[c], T0 - 2 * HOUR, T0 + 4 * HOUR, 1000);
            check_window(w, w->patient[p], CODES[c], T0 - 2 * HOUR, T0 + 4 * HOUR, 1);
            for (int i = 0; i < windows; i++) {
                int64_t from = rnd_end(w), to, span;
                int buckets;
                switch (rnd(w) % 4) {
                case 0: /* shorter than a block */
                    span = rnd_range(w, 1, BLK - 1);
                    break;
                case 1: /* up to a few blocks */
                    span = rnd_range(w, BLK, 10 * BLK);
                    break;
                default:
                    span = rnd_range(w, 1, 6 * HOUR);
                }
                to = from + span;
                if (rnd(w) % 3 == 0) { /* `to` on a reading */
                    to = rnd_end(w);
                    if (to <= from)
                        continue;
                }
                buckets = (int)rnd_range(w, 1, 2000);
                check_window(w, w->patient[p], CODES[c], from, to, buckets);
            }
        }
}

static void test_series_matches_raw(void **state)
{
    world *w = *state;
    int64_t a, b, c;

    /* A is in B3 from before the data; B1 and B2 are empty, so their
     * readings are filed to nobody. */
    a = admit(w, "B3", T0 - 3 * HOUR);
    insert_readings(w, 3000, T0 - HOUR, T0 + 3 * HOUR);
    insert_bursts(w, 12, T0 - HOUR, T0 + 3 * HOUR);
    check_all(w, 40);

    /* B is admitted to B1 back-dated to T0: B1's readings from T0 on are claimed. */
    b = admit(w, "B1", T0);
    check_all(w, 20);

    /* B moves to B2 at T0 + 1 h (back-dated): B1 released, B2 claimed. */
    assert_int_equal(store_patient_transfer(w->c, b, "B2", T0 + HOUR, T0 + 4 * HOUR), 0);
    check_all(w, 20);

    /* A is discharged back-dated to the middle of a block. */
    assert_int_equal(store_patient_discharge(w->c, a, T0 + 2 * HOUR + 12345, T0 + 4 * HOUR), 0);
    /* C takes B1 from a time in the middle of a block: claims what B left. */
    c = admit(w, "B1", T0 + HOUR + 30001);
    (void)c;
    check_all(w, 20);

    /* more readings on top, into existing blocks, and a check again */
    insert_readings(w, 2000, T0 - HOUR, T0 + 3 * HOUR);
    insert_bursts(w, 6, T0 - HOUR, T0 + 3 * HOUR);
    check_all(w, 40);
}

/* The `latest` rows as text, patient by patient. */
static char *latest_dump(world *w)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);

    assert_non_null(out);
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db_handle(w->c),
                                        "SELECT patient_id, code, value_num, value_text, time_ms, "
                                        "obs_id FROM latest ORDER BY patient_id, code",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char row[256];
        int n = snprintf(
            row, sizeof row, "%lld %s %.17g %s %lld %lld\n", (long long)sqlite3_column_int64(st, 0),
            sqlite3_column_text(st, 1), sqlite3_column_double(st, 2),
            sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "-",
            (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
        assert_true(n > 0 && (size_t)n < sizeof row);
        if (len + (size_t)n + 1 > cap) {
            char *grown = realloc(out, cap * 2);
            assert_non_null(grown);
            out = grown;
            cap *= 2;
        }
        memcpy(out + len, row, (size_t)n + 1);
        len += (size_t)n;
    }
    sqlite3_finalize(st);
    return out;
}

static void check_rollup_shape(world *w);

/* `latest` as kept by the inserts equals `latest` recomputed from observations. */
static void check_latest(world *w)
{
    char *kept = latest_dump(w), *rebuilt;

    assert_true(kept[0] != '\0');
    for (int p = 0; p < w->n_patients; p++)
        assert_int_equal(store_obs_rebuild_latest(w->c, w->patient[p]), 0);
    rebuilt = latest_dump(w);
    assert_string_equal(kept, rebuilt);
    free(kept);
    free(rebuilt);
}

/* The same through store_obs_batch as POST /readings stores them: batches
 * of 1 to 150 readings, a retry inside the batch, bursts that cross the
 * packing limit across flushes, more blocks than a fold holds. The rollup
 * and `latest` must be what one-by-one inserts give. */
static void test_batched_inserts_match_raw(void **state)
{
    world *w = *state;

    w->batch = store_obs_batch_new();
    assert_non_null(w->batch);
    w->batch_left = (int)rnd_range(w, 1, 150);
    (void)admit(w, "B3", T0 - 3 * HOUR);
    (void)admit(w, "B2", T0 - 3 * HOUR);
    insert_readings(w, 3000, T0 - HOUR, T0 + 3 * HOUR);
    insert_bursts(w, 12, T0 - HOUR, T0 + 3 * HOUR);
    check_all(w, 40);
    check_latest(w);
    /* more on top, into existing blocks and rows */
    insert_readings(w, 2000, T0 - HOUR, T0 + 3 * HOUR);
    insert_bursts(w, 6, T0 - HOUR, T0 + 3 * HOUR);
    check_all(w, 40);
    check_latest(w);
    check_rollup_shape(w);
}

/* n and length(pts) of the patient's rollup row of `code` at block. */
static void rollup_row(world *w, int64_t patient, const char *code, int64_t block, int64_t *n,
                       int64_t *pts_len)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(w->c),
                                        "SELECT n, length(pts) FROM obs_rollup WHERE patient_id = "
                                        "?1 AND code = ?2 AND block_ms = ?3",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, patient);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, block);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *n = sqlite3_column_int64(st, 0);
    *pts_len = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
}

/* The edges a random run rarely hits: a block filled to exactly the
 * packing limit by two batches keeps every reading packed, one more drops
 * them; two readings of a code at the same time in one batch leave the
 * later one as `latest`, as two single inserts do. */
static void test_batch_edges(void **state)
{
    world *w = *state;
    int64_t patient = admit(w, "B1", T0 - 3 * HOUR), block = T0 - T0 % BLK, n, len;
    obs_source src = {w->device[0], 0, "B1", 0};
    obs_reading o = {0};
    char *kept;

    w->batch = store_obs_batch_new();
    assert_non_null(w->batch);
    w->batch_left = 1000;
    o.code = obs_code_lookup("hr");
    for (int i = 0; i < 91; i++) {
        if (i == 45 || i == 90)
            flush_batch(w);
        if (i == 90) {
            rollup_row(w, patient, "hr", block, &n, &len);
            assert_int_equal(n, 90);
            assert_int_equal(len, 900);
        }
        o.time_ms = block + 100 * i;
        o.value = 60 + i;
        snprintf(o.id, sizeof o.id, "edge-%d", i);
        assert_int_equal(put(w, &src, patient, &o), 0);
    }
    flush_batch(w);
    rollup_row(w, patient, "hr", block, &n, &len);
    assert_int_equal(n, 91);
    assert_int_equal(len, -1);

    /* a tie on time inside one batch: the later reading is the latest */
    o.time_ms = T0 + HOUR;
    o.value = 70;
    snprintf(o.id, sizeof o.id, "tie-1");
    assert_int_equal(put(w, &src, patient, &o), 0);
    o.value = 71;
    snprintf(o.id, sizeof o.id, "tie-2");
    assert_int_equal(put(w, &src, patient, &o), 0);
    flush_batch(w);
    kept = latest_dump(w);
    assert_non_null(strstr(kept, " hr 71 - "));
    free(kept);
    check_latest(w);
}

static void test_single_inserts_keep_latest(void **state)
{
    world *w = *state;

    (void)admit(w, "B3", T0 - 3 * HOUR);
    (void)admit(w, "B1", T0 - 3 * HOUR);
    insert_readings(w, 2000, T0 - HOUR, T0 + 3 * HOUR);
    check_latest(w);
}

/* The unassigned readings are in no rollup: the only rows there are of
 * numeric readings filed to a patient, and they add up; pts packs every
 * reading of a block up to 90, and is NULL above (B3's readings and some
 * bursts are filed to nobody). */
static void check_rollup_shape(world *w)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(
        sqlite3_prepare_v2(db_handle(w->c),
                           "SELECT (SELECT coalesce(sum(n), 0) FROM obs_rollup), "
                           "(SELECT count(*) FROM observations WHERE patient_id IS NOT "
                           "NULL AND value_num IS NOT NULL), "
                           "(SELECT count(*) FROM obs_rollup WHERE code = 'rhythm'), "
                           "(SELECT count(*) FROM obs_rollup WHERE block_ms % 60000 != 0 "
                           "OR (n <= 90 AND (pts IS NULL OR length(pts) != 10 * n)) "
                           "OR (n > 90 AND pts IS NOT NULL)), "
                           "(SELECT count(*) FROM obs_rollup WHERE pts IS NULL)",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_int64(st, 1) > 0);
    assert_int_equal(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
    assert_int_equal(sqlite3_column_int64(st, 2), 0);
    assert_int_equal(sqlite3_column_int64(st, 3), 0);
    assert_true(sqlite3_column_int64(st, 4) > 0); /* the bursts */
    sqlite3_finalize(st);
}

static void test_rollup_holds_only_filed_numeric(void **state)
{
    world *w = *state;

    (void)admit(w, "B1", T0 - 3 * HOUR);
    (void)admit(w, "B2", T0 - 3 * HOUR);
    insert_readings(w, 500, T0 - HOUR, T0 + HOUR);
    insert_bursts(w, 8, T0 - HOUR, T0 + HOUR);
    check_rollup_shape(w);
}

/* A database at schema version 2 holding observations (0003 not yet
 * applied: no obs_rollup) gets its rollup from the migration. */
static void test_migration_backfills(void **state)
{
    world *w = *state;

    (void)admit(w, "B1", T0 - 3 * HOUR);
    (void)admit(w, "B2", T0 - 3 * HOUR);
    insert_readings(w, 2000, T0 - HOUR, T0 + 3 * HOUR);
    insert_bursts(w, 8, T0 - HOUR, T0 + 3 * HOUR);
    /* back to version 2: the only thing 0003 adds is the table; later
     * migrations (re-applied by migrate_apply) are undone too: 0004 */
    assert_int_equal(db_exec(w->c,
                             "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "
                             "DROP TRIGGER audit_chained; ALTER TABLE audit DROP COLUMN hash; "
                             "DROP TABLE device_beds;"),
                     SQLITE_OK);
    assert_int_equal(db_exec(w->c, "DROP TABLE obs_rollup; PRAGMA user_version=2"), SQLITE_OK);
    assert_int_equal(migrate_apply_upto(w->c, 3), 0); /* later migrations are applied already */
    check_all(w, 40);
}

/* store_series_real writes a real exactly as jansson does in every other
 * reply (json_dumps with JSON_REAL_PRECISION(15)). */
/* --- store_clinical_history: what the clinical cache and as-of loads read -- */

typedef struct hist_seen {
    int code;
    int64_t t_ms, id;
    double v;
} hist_seen;

typedef struct hist_list {
    hist_seen *r;
    size_t n, cap;
} hist_list;

static void hist_push(hist_list *l, hist_seen h)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->r = realloc(l->r, l->cap * sizeof *l->r);
        assert_non_null(l->r);
    }
    l->r[l->n++] = h;
}

static int hist_visit(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id)
{
    hist_push(arg, (hist_seen){code_id, t_ms, obs_id, v});
    return 0;
}

/* The oracle: the patient's valid rows up to `upto` in time order (ties by
 * id), as store_clinical_history read them before it read by id; then
 * taken code by code (ascending code id), keeping that order in each. */
static void hist_oracle(world *w, int64_t patient, int64_t upto, hist_list *out)
{
    static const char sql[] =
        "SELECT code, time_ms, id, value_num, value_text FROM observations "
        "WHERE patient_id = :p AND time_ms <= :upto AND NOT EXISTS "
        "(SELECT 1 FROM obs_invalid v WHERE v.obs_id = observations.id) ORDER BY time_ms, id";
    sqlite3_stmt *st = db_prep(w->c, sql);
    hist_list all = {0};

    assert_non_null(st);
    db_bind_int64(st, ":p", patient);
    db_bind_int64(st, ":upto", upto);
    while (db_step(st) == SQLITE_ROW) {
        const obs_code *oc = obs_code_lookup((const char *)sqlite3_column_text(st, 0));
        double v = sqlite3_column_double(st, 3);
        assert_non_null(oc);
        if (oc->kind == OBS_CATEGORICAL) {
            const char *text = (const char *)sqlite3_column_text(st, 4);
            v = -1;
            for (int k = 0; oc->values[k]; k++)
                if (strcmp(oc->values[k], text) == 0)
                    v = k;
        }
        hist_push(&all,
                  (hist_seen){oc->id, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), v});
    }
    db_done(st);
    for (int code = 0; code < 64; code++)
        for (size_t i = 0; i < all.n; i++)
            if (all.r[i].code == code)
                hist_push(out, all.r[i]);
    assert_int_equal(out->n, all.n);
    free(all.r);
}

/* Random readings of four codes for several patients (retries, bursts,
 * equal times across codes and within a code, re-filing), some marked
 * invalid: for each patient and several cut-off times, what
 * store_clinical_history visits equals the oracle, reading for reading. */
static void test_clinical_history_matches_oracle(void **state)
{
    world *w = *state;
    int64_t ids[3];

    ids[0] = admit(w, "B1", T0 - 3 * HOUR);
    ids[1] = admit(w, "B2", T0 - 3 * HOUR);
    insert_readings(w, 2500, T0 - HOUR, T0 + 2 * HOUR);
    insert_bursts(w, 8, T0 - HOUR, T0 + 2 * HOUR);
    ids[2] = admit(w, "B3", T0); /* back-dated: claims B3's readings from T0 on */
    /* equal times: the same millisecond for every code, and twice in one code */
    for (size_t k = 0; k < N_CODES; k++) {
        obs_source src = {w->device[0], 0, "B1", 0};
        obs_reading o = {0};
        int64_t patient = 0;
        o.code = obs_code_lookup(CODES[k]);
        o.time_ms = T0 + HOUR;
        o.value = 1;
        o.text = o.code->kind == OBS_CATEGORICAL ? o.code->values[1] : NULL;
        assert_true(store_stay_at(w->c, "B1", o.time_ms, &patient) >= 0);
        for (int twice = 0; twice < 2; twice++) {
            snprintf(o.id, sizeof o.id, "eq%zu-%d", k, twice);
            assert_int_equal(put(w, &src, patient, &o), 0);
        }
    }
    flush_batch(w);
    assert_int_equal(db_exec(w->c, "INSERT INTO obs_invalid (obs_id, at_ms) "
                                   "SELECT id, 0 FROM observations WHERE id % 17 = 0"),
                     0);
    for (int p = 0; p < 3; p++) {
        static const int64_t cut[] = {T0 - 2 * HOUR, T0, T0 + HOUR, T0 + HOUR + 1, INT64_MAX};
        for (size_t k = 0; k < sizeof cut / sizeof cut[0]; k++) {
            hist_list got = {0}, want = {0};
            assert_int_equal(store_clinical_history(w->c, ids[p], cut[k], hist_visit, &got), 0);
            hist_oracle(w, ids[p], cut[k], &want);
            assert_int_equal(got.n, want.n);
            for (size_t i = 0; i < got.n; i++) {
                assert_int_equal(got.r[i].code, want.r[i].code);
                assert_int_equal(got.r[i].t_ms, want.r[i].t_ms);
                assert_int_equal(got.r[i].id, want.r[i].id);
                assert_true(got.r[i].v == want.r[i].v);
            }
            if (cut[k] == INT64_MAX)
                assert_true(got.n > 100); /* the test saw data */
            free(got.r);
            free(want.r);
        }
    }
}

static void test_real_format_is_janssons(void **state)
{
    world *w = *state;
    static const double fixed[] = {
        0.0,  -0.0, 78.0,    36.9,   -1.5,   0.05,    0.001,
        1e-7, 1e15, 1e21,    123.45, 99.99,  1.0 / 3, -2.5e-5,
        1e9,  -1e9, 999.995, 0.1,    100.01, 5e-324,  1.7976931348623157e308};

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 20000; i++) {
        double v;
        char mine[32], *theirs;
        json_t *j;
        if (i < sizeof fixed / sizeof fixed[0])
            v = fixed[i];
        else if (i % 2)
            v = (double)rnd_range(w, -100000, 100000) / (double)(1 + rnd(w) % 1000);
        else
            v = ldexp((double)rnd_range(w, -1000000, 1000000), (int)rnd_range(w, -80, 80));
        j = json_pack("[f]", v);
        theirs = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
        store_series_real(mine, v);
        /* "[x]" around jansson's number */
        theirs[strlen(theirs) - 1] = '\0';
        if (strcmp(mine, theirs + 1) != 0)
            fail_msg("%.17g: mine %s, jansson %s", v, mine, theirs + 1);
        free(theirs);
        json_decref(j);
    }
}

/* The reply text is valid JSON of docs/api.md's shape, a repeated code listed
 * once, and what jansson writes for the same values. */
static void test_reply_text(void **state)
{
    world *w = *state;
    const char *codes[] = {"hr", "temp", "hr", "spo2", NULL};
    int64_t from = T0 - HOUR, to = T0 + 3 * HOUR;
    store_bucket b[7];
    char *text = NULL, *again;
    json_t *j, *series, *hr;
    json_error_t err;

    (void)admit(w, "B1", T0 - 3 * HOUR);
    insert_readings(w, 1000, from, to);
    assert_int_equal(store_obs_series(w->c, w->patient[0], codes, from, to, 7, &text), 0);
    j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("not JSON (%s): %s", err.text, text);
    again = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(text, again);
    assert_int_equal(json_integer_value(json_object_get(j, "bucket_ms")),
                     store_series_bucket_ms(from, to, 7));
    series = json_object_get(j, "series");
    assert_int_equal(json_object_size(series), 3);
    assert_int_equal(json_array_size(json_object_get(series, "spo2")), 0);
    hr = json_object_get(series, "hr");
    assert_int_equal(store_series_buckets(w->c, w->patient[0], "hr", from, to, 7, b), 0);
    for (size_t i = 0, k = 0; k < 7; k++) {
        json_t *p = json_array_get(hr, i);
        char start[TIMEFMT_LEN];
        if (!b[k].n)
            continue;
        assert_non_null(p);
        timefmt_format(from + (int64_t)k * store_series_bucket_ms(from, to, 7), start,
                       sizeof start);
        assert_string_equal(json_string_value(json_object_get(p, "start")), start);
        assert_true(json_real_value(json_object_get(p, "min")) == b[k].min);
        assert_true(json_real_value(json_object_get(p, "max")) == b[k].max);
        assert_int_equal(json_integer_value(json_object_get(p, "n")), b[k].n);
        i++;
    }
    free(again);
    free(text);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_series_matches_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batched_inserts_match_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_inserts_keep_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_holds_only_filed_numeric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_backfills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clinical_history_matches_oracle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_format_is_janssons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_text, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
