/* store_series: GET /patients/{id}/series and the rollup behind it
 * (schema/migrations/0003_series_rollup.sql, docs/performance.md).
 *
 * obs_rollup holds, per patient, code and minute, the count, sum, min and
 * max of the numeric readings and the readings themselves packed (10 bytes
 * each, up to 90 a block). A series reads only the rollup: a block inside
 * one bucket counts by its aggregates; a block that a bucket edge, `from`
 * or `to` cuts is unpacked and each reading goes to its own bucket (a block
 * denser than 90 readings is read from observations instead). So n, min
 * and max are exactly those of the raw readings; the mean is sum / n with
 * the sum taken block by block (equal to a raw average up to float
 * rounding).
 *
 * The writer keeps the rollup exact in the transaction that changes
 * observations: a new reading (not a duplicate retry) is folded with its
 * batch's other readings of its block and merged into the row once
 * (store_series_fold, via store_obs_batch); re-filing
 * (store_obs_claim_unassigned, store_obs_release) recomputes the
 * patient's blocks from the first one touched, through the same fold. */
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W        STORE_SERIES_BLOCK_MS
#define PT_BYTES 10 /* uint16 offset in the block, binary64 value; both little-endian */
/* Readings packed per block at most: 1.5 Hz. A denser block keeps only its
 * aggregates (pts NULL) so that an insert rewrites at most 900 bytes and
 * the row stays on its b-tree page; cut, it is read from observations. */
#define PTS_MAX 90

/* Used in #fold_put(): a block's readings of one batch merged into its
 * row. pts is appended (|| yields text, hence the cast back to BLOB; no
 * conversion in a UTF-8 database) while the block holds at most PTS_MAX
 * readings, then NULL (the batch binds NULL past PTS_MAX itself). */
static const char SQL_ROLLUP_MERGE[] =
    "INSERT INTO obs_rollup (patient_id, code, block_ms, n, sum, min, max, pts) "
    "VALUES (:patient, :code, :block, :n, :sum, :min, :max, :pts) "
    "ON CONFLICT (patient_id, code, block_ms) DO UPDATE SET n = obs_rollup.n + excluded.n, "
    "sum = obs_rollup.sum + excluded.sum, min = min(obs_rollup.min, excluded.min), "
    "max = max(obs_rollup.max, excluded.max), "
    "pts = CASE WHEN obs_rollup.n + excluded.n <= :pts_max "
    "THEN CAST(obs_rollup.pts || excluded.pts AS BLOB) END";

/* Used in #store_series_rebuild(): the patient's blocks from :block on are
 * dropped, then recomputed from observations in (code, time) order. */
static const char SQL_ROLLUP_CLEAR[] =
    "DELETE FROM obs_rollup WHERE patient_id = :patient AND block_ms >= :block";
static const char SQL_ROLLUP_SOURCE[] = STORE_PATIENT_CODES
    "SELECT code, time_ms, value_num FROM observations "
    "WHERE patient_id = :patient AND code IN (SELECT code FROM pc) AND time_ms >= :block "
    "AND value_num IS NOT NULL "
    "AND " STORE_OBS_VALID("observations") "ORDER BY code, time_ms";
/* The same for store_series_backfill(), which runs inside migration 0003,
 * before 0008 adds invalid_at (nothing can be marked invalid yet). */
static const char SQL_ROLLUP_SOURCE_0003[] =
    "SELECT code, time_ms, value_num FROM observations "
    "WHERE patient_id = :patient AND time_ms >= :block AND value_num IS NOT NULL "
    "ORDER BY code, time_ms";

/* Used in #store_series_backfill(). */
static const char SQL_PATIENT_IDS[] = "SELECT id FROM patients ORDER BY id";

/* Used in #series_raw(): the readings of a block too dense to pack
 * (index observations_patient_code_time). */
static const char SQL_SERIES_RAW[] =
    "SELECT time_ms, value_num FROM observations WHERE patient_id = :patient AND code = :code "
    "AND time_ms BETWEEN :lo AND :hi AND value_num IS NOT NULL AND " STORE_OBS_VALID(
        "observations");

/* Used in #store_series_buckets(): the blocks overlapping [from, to], in
 * time order (primary key). */
static const char SQL_SERIES_BLOCKS[] =
    "SELECT block_ms, n, sum, min, max, pts FROM obs_rollup "
    "WHERE patient_id = :patient AND code = :code AND block_ms BETWEEN :lo AND :hi";

/* The start of the block holding t (floor, also before 1970). */
static int64_t block_of(int64_t t)
{
    int64_t r = t % W;

    return t - (r < 0 ? r + W : r);
}

static void pack_pt(unsigned char *p, int64_t offset, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof bits);
    p[0] = (unsigned char)(offset & 0xff);
    p[1] = (unsigned char)(offset >> 8);
    for (int i = 0; i < 8; i++)
        p[2 + i] = (unsigned char)(bits >> (8 * i));
}

static void unpack_pt(const unsigned char *p, int64_t *offset, double *v)
{
    uint64_t bits = 0;

    *offset = (int64_t)p[0] | (int64_t)p[1] << 8;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | p[2 + i];
    memcpy(v, &bits, sizeof *v);
}

static int bind_blob(sqlite3_stmt *st, const char *name, const void *p, size_t len)
{
    return sqlite3_bind_blob64(st, sqlite3_bind_parameter_index(st, name), p, len,
                               SQLITE_TRANSIENT);
}

/* One block's readings of a batch, merged into its row by fold_put(). */
typedef struct fold_block {
    int64_t patient_id, block, n;
    double sum, min, max;
    char code[64];
    unsigned char pts[PTS_MAX * PT_BYTES]; /* the first PTS_MAX readings */
} fold_block;

struct store_series_fold {
    int n;
    int hint; /* the block the last reading went to */
    fold_block b[STORE_SERIES_FOLD_MAX];
};

store_series_fold *store_series_fold_new(void)
{
    store_series_fold *f = malloc(sizeof *f);

    if (f)
        f->n = f->hint = 0;
    return f;
}

void store_series_fold_free(store_series_fold *f)
{
    free(f);
}

static int fold_put(db_conn *c, const fold_block *b)
{
    sqlite3_stmt *st = db_prep(c, SQL_ROLLUP_MERGE);

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", b->patient_id);
    db_bind_text(st, ":code", b->code);
    db_bind_int64(st, ":block", b->block);
    db_bind_int64(st, ":n", b->n);
    db_bind_double(st, ":sum", b->sum);
    db_bind_double(st, ":min", b->min);
    db_bind_double(st, ":max", b->max);
    if (b->n <= PTS_MAX)
        bind_blob(st, ":pts", b->pts, (size_t)b->n * PT_BYTES);
    db_bind_int64(st, ":pts_max", PTS_MAX);
    return db_step_done(st);
}

int store_series_fold_flush(db_conn *c, store_series_fold *f)
{
    for (int i = 0; i < f->n; i++)
        if (fold_put(c, &f->b[i]) != 0)
            return -1;
    f->n = f->hint = 0;
    return 0;
}

/* The held block of (patient, code, block), or -1. Readings of a batch
 * come in runs (a monitor's codes at one time, or one code in time
 * order), so the last block hit is tried first. */
static int fold_find(const store_series_fold *f, int64_t patient_id, const char *code,
                     int64_t block)
{
    for (int k = 0; k < f->n; k++) {
        int i = (f->hint + k) % f->n;
        const fold_block *b = &f->b[i];
        if (b->block == block && b->patient_id == patient_id && strcmp(b->code, code) == 0)
            return i;
    }
    return -1;
}

int store_series_fold_add(db_conn *c, store_series_fold *f, int64_t patient_id, const char *code,
                          int64_t time_ms, double value)
{
    int64_t block = block_of(time_ms);
    int i = fold_find(f, patient_id, code, block);
    fold_block *b;

    if (i < 0) {
        if (strlen(code) >= sizeof f->b[0].code)
            return -1; /* not a catalogue code (obs.c) */
        if (f->n == STORE_SERIES_FOLD_MAX && store_series_fold_flush(c, f) != 0)
            return -1;
        i = f->n++;
        b = &f->b[i];
        b->patient_id = patient_id;
        b->block = block;
        b->n = 0;
        b->sum = 0;
        b->min = b->max = value;
        strcpy(b->code, code);
    }
    f->hint = i;
    b = &f->b[i];
    if (b->n < PTS_MAX)
        pack_pt(b->pts + (size_t)b->n * PT_BYTES, time_ms - block, value);
    b->sum += value;
    if (value < b->min)
        b->min = value;
    if (value > b->max)
        b->max = value;
    b->n++;
    return 0;
}

static int rebuild_from(db_conn *c, int64_t patient_id, int64_t from_ms, const char *source)
{
    sqlite3_stmt *st = db_prep(c, SQL_ROLLUP_CLEAR);
    store_series_fold *f = NULL;
    int rc = SQLITE_ERROR, result = -1;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":block", block_of(from_ms));
    if (db_step_done(st) != 0)
        return -1;
    f = store_series_fold_new();
    st = f ? db_prep(c, source) : NULL;
    if (!st)
        goto done;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_int64(st, ":block", block_of(from_ms));
    while ((rc = db_step(st)) == SQLITE_ROW)
        if (store_series_fold_add(c, f, patient_id, db_col_text(st, 0), sqlite3_column_int64(st, 1),
                                  sqlite3_column_double(st, 2)) != 0)
            goto done;
    if (rc == SQLITE_DONE && store_series_fold_flush(c, f) == 0)
        result = 0;
done:
    db_done(st);
    store_series_fold_free(f);
    return result;
}

int store_series_rebuild(db_conn *c, int64_t patient_id, int64_t from_ms)
{
    return rebuild_from(c, patient_id, from_ms, SQL_ROLLUP_SOURCE);
}

int store_series_backfill(db_conn *c)
{
    sqlite3_stmt *st = db_prep(c, SQL_PATIENT_IDS);
    int rc;

    if (!st)
        return -1;
    while ((rc = db_step(st)) == SQLITE_ROW)
        if (rebuild_from(c, sqlite3_column_int64(st, 0), INT64_MIN / 2, SQL_ROLLUP_SOURCE_0003) !=
            0)
            break;
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* --- reading ------------------------------------------------------------------ */

/* What store_series_buckets() fills. */
typedef struct series_ctx {
    int64_t from, to, bucket_ms;
    int buckets;
    store_bucket *b;
} series_ctx;

int64_t store_series_bucket_ms(int64_t from, int64_t to, int buckets)
{
    int64_t bucket_ms = (to - from + buckets - 1) / buckets;

    return bucket_ms < 1 ? 1 : bucket_ms;
}

/* The bucket of time t in [from, to]: a reading at `to` joins the last. */
static int bucket_of(const series_ctx *s, int64_t t)
{
    int64_t k = (t - s->from) / s->bucket_ms;

    return k < s->buckets - 1 ? (int)k : s->buckets - 1;
}

static void bucket_add(store_bucket *b, int64_t n, double sum, double lo, double hi)
{
    if (b->n == 0 || lo < b->min)
        b->min = lo;
    if (b->n == 0 || hi > b->max)
        b->max = hi;
    b->sum += sum;
    b->n += n;
}

/* One reading into its bucket, when inside [from, to]. */
static void series_reading(series_ctx *s, int64_t t, double v)
{
    if (t >= s->from && t <= s->to)
        bucket_add(&s->b[bucket_of(s, t)], 1, v, v, v);
}

/* A cut block without packed readings: from observations. */
static int series_raw(db_conn *c, series_ctx *s, int64_t patient_id, const char *code,
                      int64_t block)
{
    sqlite3_stmt *st = db_prep(c, SQL_SERIES_RAW);
    int rc;

    if (!st)
        return -1;
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    db_bind_int64(st, ":lo", block);
    db_bind_int64(st, ":hi", block + W - 1);
    while ((rc = db_step(st)) == SQLITE_ROW)
        series_reading(s, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_series_buckets(db_conn *c, int64_t patient_id, const char *code, int64_t from, int64_t to,
                         int buckets, store_bucket *b)
{
    sqlite3_stmt *st = db_prep(c, SQL_SERIES_BLOCKS);
    series_ctx s = {from, to, store_series_bucket_ms(from, to, buckets), buckets, b};
    int rc;

    if (!st)
        return -1;
    memset(b, 0, (size_t)buckets * sizeof *b);
    db_bind_int64(st, ":patient", patient_id);
    db_bind_text(st, ":code", code);
    db_bind_int64(st, ":lo", block_of(from));
    db_bind_int64(st, ":hi", block_of(to));
    while ((rc = db_step(st)) == SQLITE_ROW) {
        int64_t start = sqlite3_column_int64(st, 0), end = start + W - 1;
        int k = bucket_of(&s, start);
        if (start >= from && end <= to && k == bucket_of(&s, end)) {
            bucket_add(&b[k], sqlite3_column_int64(st, 1), sqlite3_column_double(st, 2),
                       sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
            continue;
        }
        /* cut by an edge, `from` or `to`: reading by reading */
        if (sqlite3_column_type(st, 5) == SQLITE_NULL) {
            /* a second statement on the same snapshot, this one paused */
            if (series_raw(c, &s, patient_id, code, start) != 0) {
                rc = SQLITE_ERROR;
                break;
            }
            continue;
        }
        const unsigned char *p = sqlite3_column_blob(st, 5);
        int len = sqlite3_column_bytes(st, 5);
        for (int i = 0; i + PT_BYTES <= len; i += PT_BYTES) {
            int64_t offset;
            double v;
            unpack_pt(p + i, &offset, &v);
            series_reading(&s, start + offset, v);
        }
    }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* --- the reply text ------------------------------------------------------------ */

/* A growing text buffer; on allocation failure `p` becomes NULL and stays. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static char *text_room(text *t, size_t n)
{
    if (t->p && t->len + n + 1 > t->cap) {
        size_t cap = 2 * t->cap > t->len + n + 1 ? 2 * t->cap : t->len + n + 1;
        char *p = realloc(t->p, cap);
        if (!p)
            free(t->p);
        t->p = p;
        t->cap = cap;
    }
    return t->p ? t->p + t->len : NULL;
}

static void text_add(text *t, const char *s, size_t n)
{
    char *at = text_room(t, n);

    if (at) {
        memcpy(at, s, n);
        t->len += n;
        t->p[t->len] = '\0';
    }
}

#define TEXT_LIT(t, lit) text_add((t), (lit), sizeof(lit) - 1)

/* Writes v as jansson writes a real with JSON_REAL_PRECISION(15) (the
 * other replies: "%.15g", then ".0" when that looks like an integer) into
 * buf (>= 32 bytes); returns the length. Values that are a whole number of
 * hundredths (vitals: 78, 36.9) are written without printf; their %.15g is
 * the same decimal (at most 11 significant digits here, far inside 15). */
int store_series_real(char *buf, double v)
{
    double h = v * 100.0;
    int n;

    if (fabs(v) < 1e9 && v != 0.0 && nearbyint(h) / 100.0 == v) {
        int64_t k = (int64_t)nearbyint(h), whole;
        int cents;
        char digits[24];
        int d = 0;
        n = 0;
        if (k < 0) {
            buf[n++] = '-';
            k = -k;
        }
        whole = k / 100;
        cents = (int)(k % 100);
        do
            digits[d++] = (char)('0' + whole % 10);
        while ((whole /= 10) > 0);
        while (d > 0)
            buf[n++] = digits[--d];
        buf[n++] = '.';
        buf[n++] = (char)('0' + cents / 10);
        if (cents % 10)
            buf[n++] = (char)('0' + cents % 10);
        buf[n] = '\0';
        return n;
    }
    n = snprintf(buf, 32, "%.15g", v);
    if (n <= 0 || n >= 29)
        return 0;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + n, ".0", 3);
        return n + 2;
    }
    /* as jansson: no '+' and no leading zeros in the exponent */
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        memmove(start, end, (size_t)(buf + n + 1 - end));
        n -= (int)(end - start);
    }
    return n;
}

static void text_real(text *t, double v)
{
    char buf[32];

    text_add(t, buf, (size_t)store_series_real(buf, v));
}

static void text_int(text *t, int64_t v)
{
    char buf[24];

    text_add(t, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

static void text_time(text *t, int64_t ms)
{
    char when[TIMEFMT_LEN];

    timefmt_format(ms, when, sizeof when);
    text_add(t, "\"", 1);
    text_add(t, when, strlen(when));
    text_add(t, "\"", 1);
}

/* One bucket as {"start","min","max","mean","n"}. */
static void text_bucket(text *t, int64_t start, const store_bucket *b)
{
    TEXT_LIT(t, "{\"start\":");
    text_time(t, start);
    TEXT_LIT(t, ",\"min\":");
    text_real(t, b->min);
    TEXT_LIT(t, ",\"max\":");
    text_real(t, b->max);
    TEXT_LIT(t, ",\"mean\":");
    text_real(t, b->sum / (double)b->n);
    TEXT_LIT(t, ",\"n\":");
    text_int(t, b->n);
    TEXT_LIT(t, "}");
}

/* Whether `code` came earlier in the list (a repeated code is listed once,
 * as a JSON object would keep it). */
static bool listed_before(const char *const *codes, const char *const *code)
{
    for (const char *const *c = codes; c < code; c++)
        if (strcmp(*c, *code) == 0)
            return true;
    return false;
}

/* The reply is written as text, not built as jansson objects: 6,000
 * buckets as json_pack objects and json_dumps cost three times the query
 * (docs/performance.md). The text is what jansson would write. */
int store_obs_series(db_conn *c, int64_t patient_id, const char *const *codes, int64_t from,
                     int64_t to, int buckets, char **out)
{
    /* N equal buckets of ceil(span / N); a reading exactly at `to` joins
     * the last bucket rather than opening an N+1th. */
    int64_t bucket_ms = store_series_bucket_ms(from, to, buckets);
    store_bucket *b = calloc((size_t)buckets, sizeof *b);
    text t = {malloc(4096), 0, 4096};
    bool snapshot = false, first_code = true;

    if (!b || !t.p || store_snapshot_begin(c) != 0)
        goto fail;
    snapshot = true; /* every code from one snapshot */
    t.p[0] = '\0';
    TEXT_LIT(&t, "{\"from\":");
    text_time(&t, from);
    TEXT_LIT(&t, ",\"to\":");
    text_time(&t, to);
    TEXT_LIT(&t, ",\"bucket_ms\":");
    text_int(&t, bucket_ms);
    TEXT_LIT(&t, ",\"series\":{");
    for (const char *const *code = codes; *code; code++) {
        bool first = true;
        if (listed_before(codes, code))
            continue;
        /* catalogue codes: letters, digits, '.', '_' (nothing to escape) */
        if (strpbrk(*code, "\"\\") ||
            store_series_buckets(c, patient_id, *code, from, to, buckets, b) != 0)
            goto fail;
        if (!first_code)
            TEXT_LIT(&t, ",");
        first_code = false;
        TEXT_LIT(&t, "\"");
        text_add(&t, *code, strlen(*code));
        TEXT_LIT(&t, "\":[");
        text_room(&t, (size_t)buckets * 100);
        for (int k = 0; k < buckets; k++) {
            if (!b[k].n)
                continue;
            if (!first)
                TEXT_LIT(&t, ",");
            first = false;
            text_bucket(&t, from + k * bucket_ms, &b[k]);
        }
        TEXT_LIT(&t, "]");
    }
    TEXT_LIT(&t, "}}");
    store_snapshot_end(c);
    free(b);
    if (!t.p)
        return -1;
    *out = t.p;
    return 0;
fail:
    if (snapshot)
        store_snapshot_end(c);
    free(b);
    free(t.p);
    return -1;
}
