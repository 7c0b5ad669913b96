/* clinical_cache: the worker's per-patient caches (engine input, history,
 * live state) and the one scan of new rows per round that advances them. */
#include "clinical_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* The worker's caches                                                     */

clin_worker clin_w;

static void pcache_free(pcache *p)
{
    if (!p)
        return;
    engine_state_free(p->st);
    engine_hist_free(p->h);
    free(p->doses);
    free(p->clear);
    free(p->digest_eval);
    free(p->digest_state);
    free(p->digest_mask);
    free(p);
}

pcache *clin_cache_find(int64_t id)
{
    for (size_t i = 0; i < clin_w.n; i++)
        if (clin_w.pc[i]->id == id)
            return clin_w.pc[i];
    return NULL;
}

void clin_cache_drop(int64_t id)
{
    for (size_t i = 0; i < clin_w.n; i++)
        if (clin_w.pc[i]->id == id) {
            pcache_free(clin_w.pc[i]);
            clin_w.pc[i] = clin_w.pc[--clin_w.n];
            return;
        }
}

void clin_cache_drop_all(void)
{
    for (size_t i = 0; i < clin_w.n; i++)
        pcache_free(clin_w.pc[i]);
    free(clin_w.pc);
    clin_w.pc = NULL;
    clin_w.n = clin_w.cap = 0;
}

/* Builds the cache of an admitted patient from the database. NULL when the
 * patient is unknown or discharged (*admitted false), or on failure. */
pcache *clin_cache_build(db_conn *c, int64_t id, bool *admitted)
{
    pcache *p = calloc(1, sizeof *p);
    json_t *rec = NULL;
    struct hist_load L = {0};
    size_t nd = 0;
    bool ok = false;
    int rc;

    *admitted = false;
    if (!p || store_snapshot_begin(c) != 0) {
        free(p);
        return NULL;
    }
    p->id = id;
    rc = store_clinical_patient_stamp(c, id, &p->updated_at, admitted);
    if (rc != 1 || !*admitted)
        goto out;
    if (store_patient_get(c, id, &rec) != 1 || clin_patient_input(rec, id, &p->pt) != 0 ||
        clin_course_load(c, clin_w.rs, id, INT64_MAX, &p->pt.course, &p->doses, &nd) != 0)
        goto out;
    snprintf(p->bed, sizeof p->bed, "%s",
             json_is_string(json_object_get(rec, "bed"))
                 ? json_string_value(json_object_get(rec, "bed"))
                 : "");
    if (!json_is_string(json_object_get(rec, "admitted_at")) ||
        timefmt_parse(json_string_value(json_object_get(rec, "admitted_at")), &p->admitted_at) != 0)
        p->admitted_at = 0;
    p->pt.doses = p->doses;
    p->pt.n_doses = nd;
    p->h = L.h = engine_hist_new();
    if (!p->h || store_clinical_history(c, id, INT64_MAX, clin_hist_visit, &L) != 0)
        goto out;
    /* The cursor at the newest row of the snapshot, the patient's or not:
     * every row of theirs up to it is loaded, and the next scan starts
     * at the head of the table however long ago their last reading was. */
    if (store_clinical_max_obs_id(c, &p->last_obs_id) != 0)
        goto out;
    if (L.max_id > p->last_obs_id)
        p->last_obs_id = L.max_id;
    p->newest = L.n ? L.newest : INT64_MIN;
    p->st = engine_state_new(clin_w.rs);
    p->digest_eval = malloc(engine_digest_size(clin_w.rs));
    p->digest_state = malloc(engine_digest_size(clin_w.rs));
    p->digest_mask = malloc(engine_digest_size(clin_w.rs));
    if (!p->st || !p->digest_eval || !p->digest_state || !p->digest_mask)
        goto out;
    if (L.n && engine_state_ingest(p->st, &p->pt, p->h, L.newest) != 0)
        goto out;
    ok = true;
out:
    store_snapshot_end(c);
    json_decref(rec);
    if (!ok) {
        pcache_free(p);
        return NULL;
    }
    return p;
}

pcache *clin_cache_add(pcache *p)
{
    if (clin_w.n == clin_w.cap) {
        size_t ncap = clin_w.cap ? clin_w.cap * 2 : 32;
        pcache **np = realloc(clin_w.pc, ncap * sizeof *np);
        if (!np) {
            pcache_free(p);
            return NULL;
        }
        clin_w.pc = np;
        clin_w.cap = ncap;
    }
    clin_w.pc[clin_w.n++] = p;
    return p;
}

/* ---------------------------------------------------------------------- */
/* One scan of new rows per round                                          */
/*
 * The worker takes every patient queued since its last round together.
 * The rows stored since the oldest cursor of the cached patients are read
 * once (store_clinical_rows_since) and each patient's advance takes its
 * own from them, instead of one rowid-range scan per patient over every
 * patient's new rows (with 64 beds posting, each such scan read about 64
 * rows for each one it kept: 16 % of wardd's CPU at batch ingest,
 * docs/performance.md). After the round, each cached patient with no
 * unread row moves its cursor to the end of the scan, so the cursors, and
 * the next scan, stay at the head of the table.
 */

typedef struct round_row {
    int64_t patient_id, obs_id, t_ms;
    double v;
    int code_id;
} round_row;

static struct {
    round_row *rows; /* sorted by (patient, id) */
    size_t n, cap;
    int64_t from, upto; /* the scan: every filed row with from < id <= upto */
    bool valid;
    int64_t last_patient; /* round_keep's last lookup */
    bool last_cached;
} rr;

static int round_keep(void *arg, int64_t patient_id, int code_id, int64_t t_ms, double v,
                      int64_t obs_id)
{
    (void)arg;
    if (patient_id != rr.last_patient) {
        rr.last_patient = patient_id;
        rr.last_cached = clin_cache_find(patient_id) != NULL;
    }
    if (!rr.last_cached)
        return 0; /* a patient without a cache loads everything when built */
    if (rr.n == rr.cap) {
        size_t ncap = rr.cap ? 2 * rr.cap : 1024;
        round_row *np = realloc(rr.rows, ncap * sizeof *np);
        if (!np)
            return -1;
        rr.rows = np;
        rr.cap = ncap;
    }
    rr.rows[rr.n++] = (round_row){patient_id, obs_id, t_ms, v, code_id};
    return 0;
}

static int round_row_cmp(const void *a, const void *b)
{
    const round_row *x = a, *y = b;

    if (x->patient_id != y->patient_id)
        return x->patient_id < y->patient_id ? -1 : 1;
    return (x->obs_id > y->obs_id) - (x->obs_id < y->obs_id);
}

/* The first row of the patient in the round, or rr.n. */
static size_t round_first(int64_t patient_id)
{
    size_t lo = 0, hi = rr.n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rr.rows[mid].patient_id < patient_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reads the round's rows when a patient of `work` has a cache to advance.
 * Without the scan (none to advance, or it failed) every advance reads its
 * own rows. */
void clin_round_begin(db_conn *c, const idset *work)
{
    int64_t from = INT64_MAX, upto;
    bool any = false;

    rr.valid = false;
    rr.n = 0;
    for (size_t i = 0; i < work->cap && !any; i++)
        any = work->keys[i] && (work->flags[i] & Q_INGEST) && !(work->flags[i] & Q_INVALIDATE) &&
              clin_cache_find(work->keys[i]);
    if (!any)
        return;
    for (size_t i = 0; i < clin_w.n; i++)
        if (clin_w.pc[i]->last_obs_id < from)
            from = clin_w.pc[i]->last_obs_id;
    upto = from;
    rr.last_patient = 0;
    rr.last_cached = false;
    if (store_clinical_rows_since(c, from, round_keep, NULL, &upto) != 0) {
        rr.n = 0;
        return;
    }
    if (rr.n > 1) /* rr.rows is NULL when the scan kept nothing (UBSan: qsort(NULL, 0)) */
        qsort(rr.rows, rr.n, sizeof *rr.rows, round_row_cmp);
    rr.from = from;
    rr.upto = upto;
    rr.valid = true;
}

/* Whether the round holds a row of p past its cursor. */
static bool round_unread(const pcache *p)
{
    size_t i = round_first(p->id);

    for (; i < rr.n && rr.rows[i].patient_id == p->id; i++)
        if (rr.rows[i].obs_id > p->last_obs_id)
            return true;
    return false;
}

void clin_round_end(void)
{
    if (rr.valid)
        for (size_t i = 0; i < clin_w.n; i++) {
            pcache *p = clin_w.pc[i];
            if (p->last_obs_id >= rr.from && p->last_obs_id < rr.upto && !round_unread(p))
                p->last_obs_id = rr.upto;
        }
    rr.valid = false;
    rr.n = 0;
    if (rr.cap > 65536) { /* a burst's buffer is not kept */
        free(rr.rows);
        rr.rows = NULL;
        rr.cap = 0;
    }
}

/* The patient's rows past its cursor, from the round's scan when it
 * covers them, else from their own scan. 0 or -1. */
static int rows_since(db_conn *c, const pcache *p, struct hist_load *L)
{
    if (rr.valid && p->last_obs_id >= rr.from) {
        for (size_t i = round_first(p->id); i < rr.n && rr.rows[i].patient_id == p->id; i++) {
            const round_row *r = &rr.rows[i];
            if (r->obs_id > p->last_obs_id &&
                clin_hist_visit(L, r->code_id, r->t_ms, r->v, r->obs_id) != 0)
                return -1;
        }
        if (rr.upto > L->max_id)
            L->max_id = rr.upto;
        return 0;
    }
    return store_clinical_history_since(c, p->id, p->last_obs_id, clin_hist_visit, L, &L->max_id);
}

/* The live path: the readings stored since the cache last looked, added to
 * the history and run through the live state (engine_live_advance()).
 * Returns the number of readings, -1 on failure (the caller rebuilds). */
long clin_cache_advance(db_conn *c, pcache *p)
{
    struct hist_load L = {.h = p->h, .max_id = p->last_obs_id};
    uint64_t t0;
    int rc;

    if (rows_since(c, p, &L) != 0)
        return -1;
    p->last_obs_id = L.max_id;
    if (L.n == 0)
        return 0;
    if (L.newest > p->newest)
        p->newest = L.newest;
    t0 = mono_ns();
    rc = engine_live_advance(p->st, &p->pt, p->h, L.oldest_new, L.newest);
    atomic_fetch_add(&clin_st_ingest_ns, mono_ns() - t0);
    return rc == 0 ? (long)L.n : -1;
}

/* Frees the round's buffer (the worker, when it stops). */
void clin_round_free(void)
{
    free(rr.rows);
    rr.rows = NULL;
    rr.n = rr.cap = 0;
}
