/* clinical: the rule set in force, the clinical worker, its caches and the
 * alert manager's side effects (contract in include/clinical.h, design in
 * docs/clinical.md).
 *
 * Threads: the worker thread owns the caches (no lock). Shared with other
 * threads, each under its own mutex: the active rule set (rules_mu), the
 * queue (q.mu) and the per-patient summaries the ward view reads (sum_mu).
 * No lock is held while the database or the engine runs. */
#include "clinical.h"
#include "alerts.h"
#include "app.h"
#include "drift.h"
#include "events.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Where the default rule set is looked for when --rules is not given: the
 * source tree (make run, tests), then the container image's copy. */
static const char *const default_rules[] = {
    "schema/rules/il2-default.json",
    "/usr/share/wardd/rules/il2-default.json",
};

/* Who system transitions are audited as. */
static const principal wardd_user = {.role = ROLE_NONE, .id = 0, .name = "(wardd)"};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* The active rule set                                                     */

static pthread_mutex_t rules_mu = PTHREAD_MUTEX_INITIALIZER;
static rules_set *active_rs;
static uint64_t rules_gen; /* bumped on every swap */

rules_set *clinical_rules(void)
{
    rules_set *rs;

    pthread_mutex_lock(&rules_mu);
    rs = rules_ref(active_rs);
    pthread_mutex_unlock(&rules_mu);
    return rs;
}

static void set_active(rules_set *rs)
{
    rules_set *old;

    pthread_mutex_lock(&rules_mu);
    old = active_rs;
    active_rs = rs;
    rules_gen++;
    pthread_mutex_unlock(&rules_mu);
    rules_unref(old);
}

/* ---------------------------------------------------------------------- */
/* The queue: a set of patient ids with flags                              */

#define Q_INGEST     1u
#define Q_INVALIDATE 2u

typedef struct idset {
    int64_t *keys; /* 0 = empty slot (ids are positive) */
    uint8_t *flags;
    size_t cap, n;
} idset;

static size_t idset_slot(const idset *s, int64_t id)
{
    uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);

    return (size_t)(h >> 32) & (s->cap - 1);
}

static int idset_grow(idset *s)
{
    idset bigger = {.cap = s->cap ? s->cap * 2 : 64};

    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.flags = calloc(bigger.cap, sizeof *bigger.flags);
    if (!bigger.keys || !bigger.flags) {
        free(bigger.keys);
        free(bigger.flags);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        size_t j;
        if (!s->keys[i])
            continue;
        for (j = idset_slot(&bigger, s->keys[i]); bigger.keys[j]; j = (j + 1) & (bigger.cap - 1))
            ;
        bigger.keys[j] = s->keys[i];
        bigger.flags[j] = s->flags[i];
        bigger.n++;
    }
    free(s->keys);
    free(s->flags);
    *s = bigger;
    return 0;
}

/* Amortised O(1). */
static int idset_put(idset *s, int64_t id, uint8_t flag)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap && idset_grow(s) != 0)
        return -1;
    for (i = idset_slot(s, id); s->keys[i]; i = (i + 1) & (s->cap - 1))
        if (s->keys[i] == id) {
            s->flags[i] |= flag;
            return 0;
        }
    s->keys[i] = id;
    s->flags[i] = flag;
    s->n++;
    return 0;
}

static void idset_clear(idset *s)
{
    if (s->cap) {
        memset(s->keys, 0, s->cap * sizeof *s->keys);
        memset(s->flags, 0, s->cap * sizeof *s->flags);
    }
    s->n = 0;
}

static void idset_free(idset *s)
{
    free(s->keys);
    free(s->flags);
    memset(s, 0, sizeof *s);
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    idset pending, spare;
    bool stop, rules_changed, started, overflow;
    pthread_t thread;
    struct app *app;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void enqueue(int64_t id, uint8_t flag)
{
    if (id <= 0)
        return;
    pthread_mutex_lock(&q.mu);
    if (q.started && idset_put(&q.pending, id, flag) != 0)
        q.overflow = true; /* out of memory: the next tick evaluates everyone */
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
}

void clinical_patient_ingested(int64_t patient_id)
{
    enqueue(patient_id, Q_INGEST);
}

void clinical_patient_changed(int64_t patient_id)
{
    enqueue(patient_id, Q_INVALIDATE);
}

void clinical_rules_activated(rules_set *rs)
{
    set_active(rs);
    pthread_mutex_lock(&q.mu);
    q.rules_changed = true;
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
}

/* ---------------------------------------------------------------------- */
/* Summaries for the ward view and change detection                        */

typedef struct summary {
    int64_t patient_id;
    uint64_t gen;   /* rules generation of `grades` */
    int8_t *grades; /* per term of that rule set */
    size_t n_terms;
    int max_grade; /* -1: none gradable */
    engine_action action;
    char rule[64];    /* top reason's rule id, "" when none */
    char reason[240]; /* top reason's text */
} summary;

static pthread_mutex_t sum_mu = PTHREAD_MUTEX_INITIALIZER;
static summary *sums;
static size_t n_sums, cap_sums;

/* Locked. */
static summary *sum_find(int64_t id)
{
    for (size_t i = 0; i < n_sums; i++)
        if (sums[i].patient_id == id)
            return &sums[i];
    return NULL;
}

static void sum_remove(int64_t id)
{
    pthread_mutex_lock(&sum_mu);
    for (size_t i = 0; i < n_sums; i++)
        if (sums[i].patient_id == id) {
            free(sums[i].grades);
            sums[i] = sums[--n_sums];
            break;
        }
    pthread_mutex_unlock(&sum_mu);
}

static void sum_free_all(void)
{
    pthread_mutex_lock(&sum_mu);
    for (size_t i = 0; i < n_sums; i++)
        free(sums[i].grades);
    free(sums);
    sums = NULL;
    n_sums = cap_sums = 0;
    pthread_mutex_unlock(&sum_mu);
}

/* ---------------------------------------------------------------------- */
/* Statistics                                                              */

static atomic_uint_fast64_t st_jobs, st_skipped, st_readings, st_ingest_ns, st_eval_ns, st_ticks,
    st_tick_evals, st_tick_ns;

void clinical_get_stats(clinical_stats *out)
{
    out->jobs = atomic_load(&st_jobs);
    out->skipped = atomic_load(&st_skipped);
    out->readings = atomic_load(&st_readings);
    out->ingest_ns = atomic_load(&st_ingest_ns);
    out->eval_ns = atomic_load(&st_eval_ns);
    out->ticks = atomic_load(&st_ticks);
    out->tick_evals = atomic_load(&st_tick_evals);
    out->tick_ns = atomic_load(&st_tick_ns);
}

/* ---------------------------------------------------------------------- */
/* Loading a patient's engine input                                        */

struct hist_load {
    engine_hist *h;
    int64_t max_id;
    int64_t newest;
    int64_t oldest_new; /* the live path: earliest time among the rows loaded */
    size_t n;
};

static int hist_visit(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id)
{
    struct hist_load *L = arg;

    if (engine_hist_add(L->h, code_id, t_ms, v) != 0)
        return -1;
    if (obs_id > L->max_id)
        L->max_id = obs_id;
    if (t_ms > L->newest)
        L->newest = t_ms;
    if (L->n == 0 || t_ms < L->oldest_new)
        L->oldest_new = t_ms;
    L->n++;
    return 0;
}

/* The record's engine form. 0 or -1 (logged). */
static int patient_input(const json_t *rec, int64_t id, engine_patient *pt)
{
    char err[160];

    engine_patient_init(pt, id);
    if (engine_patient_from_json(rec, pt, err, sizeof err) != 0) {
        log_error("patient %" PRId64 ": %s", id, err);
        return -1;
    }
    return 0;
}

const engine_reason *clinical_top_reason(const engine_result *r)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (r->reasons[i].action == r->action)
            return &r->reasons[i];
    return r->n_reasons ? &r->reasons[0] : NULL;
}

void clinical_eval_free(clinical_eval *ev)
{
    engine_result_free(ev->r);
    engine_hist_free(ev->h);
    free(ev->doses);
    json_decref(ev->patient);
    rules_unref(ev->rs);
    memset(ev, 0, sizeof *ev);
}

int clinical_evaluate_at(db_conn *c, int64_t id, int64_t at, clinical_eval *ev)
{
    struct hist_load L = {0};
    size_t nd = 0;
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->rs = clinical_rules();
    if (!ev->rs)
        return -1;
    if (store_snapshot_begin(c) != 0)
        return -1;
    rc = store_patient_get(c, id, &ev->patient);
    if (rc != 1)
        goto out;
    rc = -1;
    if (patient_input(ev->patient, id, &ev->pt) != 0)
        goto out;
    if (store_dose_engine(c, id, &ev->doses, &nd) != 0)
        goto out;
    ev->pt.doses = ev->doses;
    ev->pt.n_doses = nd;
    ev->h = L.h = engine_hist_new();
    if (!ev->h || store_clinical_history(c, id, at, hist_visit, &L) != 0)
        goto out;
    ev->r = engine_evaluate(ev->rs, &ev->pt, ev->h, at, NULL);
    rc = ev->r ? 1 : -1;
out:
    store_snapshot_end(c);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The worker's caches                                                     */

typedef struct clear_mark {
    int64_t alert_id;
    int64_t since;
    bool confirm;
} clear_mark;

typedef struct pcache {
    int64_t id;
    int64_t updated_at;
    int64_t admitted_at;
    char bed[64];
    engine_patient pt;
    engine_dose *doses;
    engine_hist *h;
    engine_state *st;
    int64_t last_obs_id;
    int64_t newest;    /* newest reading time, INT64_MIN when none */
    clear_mark *clear; /* alerts.h clear_since per open alert */
    size_t n_clear;
    /* Incremental evaluation: the digest of the last full evaluation (and
     * its data_missing codes) against the live state's after each job. */
    uint8_t *digest_eval, *digest_state, *digest_mask;
    bool have_digest;
    uint32_t missing_eval; /* bit i: w.cfg.missing_codes[i] missing */
} pcache;

static struct {
    rules_set *rs;
    uint64_t gen;
    rules_alerts cfg; /* rs->alerts with the environment's overrides */
    pcache **pc;
    size_t n, cap;
} w;

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

static pcache *cache_find(int64_t id)
{
    for (size_t i = 0; i < w.n; i++)
        if (w.pc[i]->id == id)
            return w.pc[i];
    return NULL;
}

static void cache_drop(int64_t id)
{
    for (size_t i = 0; i < w.n; i++)
        if (w.pc[i]->id == id) {
            pcache_free(w.pc[i]);
            w.pc[i] = w.pc[--w.n];
            return;
        }
}

static void cache_drop_all(void)
{
    for (size_t i = 0; i < w.n; i++)
        pcache_free(w.pc[i]);
    free(w.pc);
    w.pc = NULL;
    w.n = w.cap = 0;
}

/* Builds the cache of an admitted patient from the database. NULL when the
 * patient is unknown or discharged (*admitted false), or on failure. */
static pcache *cache_build(db_conn *c, int64_t id, bool *admitted)
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
    if (store_patient_get(c, id, &rec) != 1 || patient_input(rec, id, &p->pt) != 0)
        goto out;
    snprintf(p->bed, sizeof p->bed, "%s",
             json_is_string(json_object_get(rec, "bed"))
                 ? json_string_value(json_object_get(rec, "bed"))
                 : "");
    if (!json_is_string(json_object_get(rec, "admitted_at")) ||
        timefmt_parse(json_string_value(json_object_get(rec, "admitted_at")), &p->admitted_at) != 0)
        p->admitted_at = 0;
    if (store_dose_engine(c, id, &p->doses, &nd) != 0)
        goto out;
    p->pt.doses = p->doses;
    p->pt.n_doses = nd;
    p->h = L.h = engine_hist_new();
    if (!p->h || store_clinical_history(c, id, INT64_MAX, hist_visit, &L) != 0)
        goto out;
    /* The cursor at the newest row of the snapshot, the patient's or not:
     * every row of theirs up to it is loaded, and the next scan starts
     * at the head of the table however long ago their last reading was. */
    if (store_clinical_max_obs_id(c, &p->last_obs_id) != 0)
        goto out;
    if (L.max_id > p->last_obs_id)
        p->last_obs_id = L.max_id;
    p->newest = L.n ? L.newest : INT64_MIN;
    p->st = engine_state_new(w.rs);
    p->digest_eval = malloc(engine_digest_size(w.rs));
    p->digest_state = malloc(engine_digest_size(w.rs));
    p->digest_mask = malloc(engine_digest_size(w.rs));
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

static pcache *cache_add(pcache *p)
{
    if (w.n == w.cap) {
        size_t ncap = w.cap ? w.cap * 2 : 32;
        pcache **np = realloc(w.pc, ncap * sizeof *np);
        if (!np) {
            pcache_free(p);
            return NULL;
        }
        w.pc = np;
        w.cap = ncap;
    }
    w.pc[w.n++] = p;
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
        rr.last_cached = cache_find(patient_id) != NULL;
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
static void round_begin(db_conn *c, const idset *work)
{
    int64_t from = INT64_MAX, upto;
    bool any = false;

    rr.valid = false;
    rr.n = 0;
    for (size_t i = 0; i < work->cap && !any; i++)
        any = work->keys[i] && (work->flags[i] & Q_INGEST) && !(work->flags[i] & Q_INVALIDATE) &&
              cache_find(work->keys[i]);
    if (!any)
        return;
    for (size_t i = 0; i < w.n; i++)
        if (w.pc[i]->last_obs_id < from)
            from = w.pc[i]->last_obs_id;
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

static void round_end(void)
{
    if (rr.valid)
        for (size_t i = 0; i < w.n; i++) {
            pcache *p = w.pc[i];
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
                hist_visit(L, r->code_id, r->t_ms, r->v, r->obs_id) != 0)
                return -1;
        }
        if (rr.upto > L->max_id)
            L->max_id = rr.upto;
        return 0;
    }
    return store_clinical_history_since(c, p->id, p->last_obs_id, hist_visit, L, &L->max_id);
}

/* The live path: the readings stored since the cache last looked, added to
 * the history and run through the live state (engine_live_advance()).
 * Returns the number of readings, -1 on failure (the caller rebuilds). */
static long cache_advance(db_conn *c, pcache *p)
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
    atomic_fetch_add(&st_ingest_ns, mono_ns() - t0);
    return rc == 0 ? (long)L.n : -1;
}

/* ---------------------------------------------------------------------- */
/* Alert transitions: one writer job per batch, then the events            */

typedef struct op_item {
    alert_op op;
    int64_t patient_id; /* RAISE */
    char bed[64];       /* RAISE */
    int64_t raised_id;  /* RAISE: the new alert's id once stored, else 0 */
} op_item;

typedef struct op_batch {
    op_item *items;
    size_t n;
    int64_t now;
    json_t *events; /* [[alert, transition], ...] in order */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool finished;
    int status;
} op_batch;

static const char *op_transition(alert_op_kind k)
{
    switch (k) {
    case ALERT_OP_RAISE:
        return "raised";
    case ALERT_OP_UPGRADE:
        return "upgraded";
    case ALERT_OP_ESCALATE:
        return "escalated";
    case ALERT_OP_RESOLVE:
        return "resolved";
    }
    return "?";
}

static int ops_apply(db_conn *c, void *arg)
{
    op_batch *b = arg;

    for (size_t i = 0; i < b->n; i++) {
        op_item *it = &b->items[i];
        const alert_op *o = &it->op;
        int64_t id = o->alert_id;
        json_t *before = NULL, *after = NULL;
        char action[32], idbuf[24];
        int rc;

        if (o->op != ALERT_OP_RAISE && store_alert_get(c, id, &before) < 0)
            return DB_STORAGE_FAILURE;
        switch (o->op) {
        case ALERT_OP_RAISE:
            rc = store_alert_insert(c, o->cond, o->priority, it->patient_id, it->bed, b->now, &id);
            rc = rc == ERR_CONFLICT ? 0 : rc < 0 ? -1 : 1; /* already open: nothing to do */
            it->raised_id = rc == 1 ? id : 0;
            break;
        case ALERT_OP_UPGRADE:
            rc = store_alert_upgrade(c, id, o->cond, o->priority, b->now);
            break;
        case ALERT_OP_ESCALATE:
            rc = store_alert_escalate(c, id, o->priority, b->now);
            break;
        case ALERT_OP_RESOLVE:
        default:
            rc = store_alert_resolve(c, id, o->resolution, b->now);
            break;
        }
        if (rc < 0 || (rc == 1 && store_alert_get(c, id, &after) != 1)) {
            json_decref(before);
            return DB_STORAGE_FAILURE;
        }
        if (rc == 0) { /* the alert moved on meanwhile (acknowledged, resolved) */
            json_decref(before);
            continue;
        }
        snprintf(action, sizeof action, "alert.%s", op_transition(o->op));
        snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
        rc = store_audit(c, &wardd_user, action, "alert", idbuf, before, after, b->now);
        json_decref(before);
        if (rc != 0) {
            json_decref(after);
            return DB_STORAGE_FAILURE;
        }
        json_array_append_new(b->events, json_pack("[o, s]", after, op_transition(o->op)));
    }
    return 0;
}

/* Writer thread, after the commit: the events go out in commit order, so an
 * acknowledgement committed after an escalation is published after it. */
static void ops_done(void *arg, int status)
{
    op_batch *b = arg;

    for (size_t k = 0; status == 0 && k < json_array_size(b->events); k++) {
        const json_t *ev = json_array_get(b->events, k);
        clinical_publish_alert(json_array_get(ev, 0), json_string_value(json_array_get(ev, 1)));
    }
    pthread_mutex_lock(&b->mu);
    b->status = status;
    b->finished = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Runs the ops in one transaction (waiting for it) and publishes what
 * changed. Returns 0, or -1 when they were not stored. */
static int ops_run(op_item *items, size_t n, int64_t now)
{
    op_batch b = {.items = items, .n = n, .now = now, .events = json_array()};
    int rc;

    if (n == 0 || !b.events || !q.app) {
        json_decref(b.events);
        return n == 0 ? 0 : -1;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    rc = db_writer_submit(q.app->writer, ops_apply, ops_done, &b);
    if (rc == 0) {
        pthread_mutex_lock(&b.mu);
        while (!b.finished)
            pthread_cond_wait(&b.cv, &b.mu);
        rc = b.status;
        pthread_mutex_unlock(&b.mu);
    }
    if (rc != 0) {
        for (size_t k = 0; k < n; k++)
            items[k].raised_id = 0;
        log_error("alert transitions not stored (status %d); retried at the next evaluation", rc);
    }
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
    json_decref(b.events);
    return rc == 0 ? 0 : -1;
}

void clinical_publish_alert(const json_t *alert, const char *transition)
{
    json_t *e = json_deep_copy(alert);

    if (!e)
        return;
    json_object_set_new(e, "transition", json_string(transition));
    events_publish("alert", e);
}

/* ---------------------------------------------------------------------- */
/* One evaluation of one patient                                           */

/* The codes of alerts.missing_codes without a reading in the last
 * missing_ms at T; a patient admitted more recently than that is not yet
 * missing anything. */
/* Bit i set: w.cfg.missing_codes[i] has had no reading for missing_ms at T
 * (counted from the admission when it never had one). */
static uint32_t missing_mask(const pcache *p, int64_t T)
{
    uint32_t mask = 0;

    for (size_t i = 0; i < w.cfg.n_missing; i++) {
        int code = w.cfg.missing_codes[i];
        size_t np = 0;
        const engine_point *pts = engine_hist_points(p->h, code, &np);
        int64_t ref = p->admitted_at;
        while (np > 0 && pts[np - 1].t_ms > T)
            np--;
        if (np > 0 && pts[np - 1].t_ms > ref)
            ref = pts[np - 1].t_ms;
        if (T - ref > w.cfg.missing_ms)
            mask |= UINT32_C(1) << i;
    }
    return mask;
}

static size_t missing_codes(uint32_t mask, const char **out)
{
    size_t n = 0;

    for (size_t i = 0; i < w.cfg.n_missing; i++)
        if (mask & (UINT32_C(1) << i))
            out[n++] = obs_code_by_id(w.cfg.missing_codes[i])->code;
    return n;
}

/* Publishes "grade" and "decision" when they changed since the last
 * evaluation of this patient, and updates the ward summary. */
static void publish_changes(const pcache *p, const engine_result *r)
{
    const engine_reason *top = clinical_top_reason(r);
    json_t *changed = json_array();
    json_t *grade_ev = NULL, *decision_ev = NULL;
    char when[TIMEFMT_LEN];
    int max_grade = -1;
    summary *s;
    bool first, created, decision_changed;
    engine_action prev_action = ENGINE_GIVE;

    for (size_t i = 0; i < r->n_terms; i++)
        if (r->terms[i].grade > max_grade)
            max_grade = r->terms[i].grade;
    pthread_mutex_lock(&sum_mu);
    s = sum_find(p->id);
    first = created = s == NULL;
    if (!s && n_sums == cap_sums) {
        size_t ncap = cap_sums ? cap_sums * 2 : 32;
        summary *ns = realloc(sums, ncap * sizeof *ns);
        if (ns) {
            sums = ns;
            cap_sums = ncap;
        }
    }
    if (!s && n_sums < cap_sums) {
        s = &sums[n_sums++];
        memset(s, 0, sizeof *s);
        s->patient_id = p->id;
    }
    if (!s) {
        pthread_mutex_unlock(&sum_mu);
        json_decref(changed);
        return;
    }
    if (s->gen != w.gen || s->n_terms != r->n_terms || !s->grades) {
        first = true; /* another rule set: report the graded terms afresh */
        free(s->grades);
        s->grades = malloc(r->n_terms ? r->n_terms : 1);
        s->n_terms = s->grades ? r->n_terms : 0;
        for (size_t i = 0; i < s->n_terms; i++)
            s->grades[i] = INT8_MIN; /* unknown: every term counts as changed */
        s->gen = w.gen;
    }
    for (size_t i = 0; i < s->n_terms; i++) {
        const engine_term_result *t = &r->terms[i];
        if (s->grades[i] == (int8_t)t->grade)
            continue;
        if (!(first && t->grade <= 0))
            json_array_append_new(
                changed,
                json_pack("{s:s, s:s, s:o, s:o, s:o}", "term", t->term->id, "label", t->term->label,
                          "grade", t->grade >= 0 ? json_integer(t->grade) : json_null(), "previous",
                          s->grades[i] >= 0 ? json_integer(s->grades[i]) : json_null(), "max_grade",
                          t->max_grade >= 0 ? json_integer(t->max_grade) : json_null()));
        s->grades[i] = (int8_t)t->grade;
    }
    prev_action = s->action;
    decision_changed =
        created || s->action != r->action || strcmp(s->rule, top ? top->rule : "") != 0;
    s->action = r->action;
    s->max_grade = max_grade;
    snprintf(s->rule, sizeof s->rule, "%s", top ? top->rule : "");
    snprintf(s->reason, sizeof s->reason, "%s", top ? top->text : "");
    pthread_mutex_unlock(&sum_mu);

    timefmt_format(r->at_ms, when, sizeof when);
    if (json_array_size(changed) > 0)
        grade_ev =
            json_pack("{s:I, s:s?, s:s, s:o, s:O}", "patient_id", (json_int_t)p->id, "bed",
                      p->bed[0] ? p->bed : NULL, "at", when, "max_grade",
                      max_grade >= 0 ? json_integer(max_grade) : json_null(), "terms", changed);
    if (decision_changed) {
        json_t *reasons = json_array();
        for (size_t i = 0; i < r->n_reasons; i++)
            json_array_append_new(reasons,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule", r->reasons[i].rule,
                                            "text", r->reasons[i].text, "source",
                                            r->reasons[i].source, "class", r->reasons[i].klass,
                                            "action", engine_action_name(r->reasons[i].action)));
        decision_ev = json_pack(
            "{s:I, s:s?, s:s, s:s, s:o, s:o}", "patient_id", (json_int_t)p->id, "bed",
            p->bed[0] ? p->bed : NULL, "at", when, "action", engine_action_name(r->action),
            "previous", created ? json_null() : json_string(engine_action_name(prev_action)),
            "reasons", reasons);
    }
    json_decref(changed);
    if (grade_ev)
        events_publish("grade", grade_ev);
    if (decision_ev)
        events_publish("decision", decision_ev);
}

static void clear_get(const pcache *p, alert_open *a)
{
    for (size_t i = 0; i < p->n_clear; i++)
        if (p->clear[i].alert_id == a->id) {
            a->clear_since = p->clear[i].since;
            a->confirm = p->clear[i].confirm;
        }
}

/* Keeps the clear marks of the still-open alerts. */
static void clear_store(pcache *p, const alert_open *open, size_t n)
{
    clear_mark *m = n ? calloc(n, sizeof *m) : NULL;
    size_t k = 0;

    for (size_t i = 0; m && i < n; i++)
        if (open[i].clear_since || open[i].confirm) {
            m[k].alert_id = open[i].id;
            m[k].since = open[i].clear_since;
            m[k].confirm = open[i].confirm;
            k++;
        }
    free(p->clear);
    p->clear = m;
    p->n_clear = m ? k : 0;
}

/* The alert manager for one evaluation of one patient. Returns 0 when the
 * alerts now match the evaluation, -1 when that could not be done. */
static int patient_alerts(db_conn *c, pcache *p, const engine_result *r, uint32_t missing,
                          int64_t now)
{
    alerts_term *terms = calloc(r->n_terms ? r->n_terms : 1, sizeof *terms);
    alert_cond *conds = calloc(r->n_terms + 4, sizeof *conds);
    alerts_patient_input in = {.patient_id = p->id};
    const engine_reason *top = clinical_top_reason(r);
    alert_open *open = NULL;
    alert_op *ops = NULL;
    op_item *items = NULL;
    size_t nc, no = 0, nops, max_ops;
    int rc = -1;

    if (!terms || !conds)
        goto out;
    for (size_t i = 0; i < r->n_terms; i++) {
        terms[i].id = r->terms[i].term->id;
        terms[i].label = r->terms[i].term->label;
        terms[i].grade = r->terms[i].grade;
    }
    in.terms = terms;
    in.n_terms = r->n_terms;
    in.action = r->action;
    in.reason = top ? top->text : NULL;
    for (size_t i = 0; i < r->n_reasons; i++)
        if (r->reasons[i].action == r->action && r->reasons[i].resume == NULL)
            in.reason_without_resume = true;
    in.news2_complete = r->news2.complete;
    in.news2_score = r->news2.complete ? r->news2.score : r->news2.partial_score;
    in.news2_single_3 = r->news2.single_3;
    in.n_missing = missing_codes(missing, in.missing);
    nc = alerts_patient_conditions(&w.cfg, &in, conds, r->n_terms + 4);
    if (store_alert_open(c, p->id, -1, &open, &no) != 0)
        goto out;
    for (size_t i = 0; i < no; i++)
        clear_get(p, &open[i]);
    max_ops = nc + no + 1;
    ops = calloc(max_ops, sizeof *ops);
    items = calloc(max_ops, sizeof *items);
    if (!ops || !items)
        goto out;
    nops = alerts_reconcile(&w.cfg, conds, nc, open, no, now, ops, max_ops);
    clear_store(p, open, no);
    for (size_t i = 0; i < nops; i++) {
        items[i].op = ops[i];
        items[i].patient_id = p->id;
        snprintf(items[i].bed, sizeof items[i].bed, "%s", p->bed);
    }
    rc = ops_run(items, nops, now);
    /* a new decision alert whose hold has no resume condition: its clearing
     * must be confirmed from the first evaluation on */
    for (size_t i = 0; i < nops; i++)
        if (items[i].raised_id && items[i].op.cond->confirm) {
            clear_mark *m = realloc(p->clear, (p->n_clear + 1) * sizeof *m);
            if (!m)
                break;
            p->clear = m;
            m[p->n_clear++] = (clear_mark){.alert_id = items[i].raised_id, .confirm = true};
        }
out:
    free(terms);
    free(conds);
    free(open);
    free(ops);
    free(items);
    return rc;
}

/* Resolves every open alert of a patient no longer admitted. */
static void resolve_patient_alerts(db_conn *c, int64_t patient_id, const char *why, int64_t now)
{
    alert_open *open = NULL;
    op_item *items = NULL;
    size_t no = 0;

    if (store_alert_open(c, patient_id, -1, &open, &no) != 0 || no == 0)
        goto out;
    items = calloc(no, sizeof *items);
    if (!items)
        goto out;
    for (size_t i = 0; i < no; i++) {
        items[i].op.op = ALERT_OP_RESOLVE;
        items[i].op.alert_id = open[i].id;
        snprintf(items[i].op.resolution, sizeof items[i].op.resolution, "%s", why);
    }
    (void)ops_run(items, no, now); /* on failure, retried at the next tick */
out:
    free(open);
    free(items);
}

/* The incremental path, after a job's readings went through the live state:
 * true when the last full evaluation still stands as far as they can tell.
 * That is when the state's digest agrees with the evaluation's on every item
 * the readings touched (engine_state_digest()), the data_missing codes are
 * the same, and no open alert is counting down its clear time (that count
 * needs an evaluation each time: alerts.h). What changes with time alone is
 * left to the timer, as it is when no reading arrives. */
static bool unchanged_since_eval(pcache *p, int64_t T)
{
    size_t n = engine_digest_size(w.rs);

    if (engine_state_digest(p->st, &p->pt, p->h, p->digest_state, p->digest_mask) != 0)
        return false;
    return p->have_digest && p->n_clear == 0 && missing_mask(p, T) == p->missing_eval &&
           engine_digest_same(p->digest_state, p->digest_eval, p->digest_mask, n);
}

/* Brings one patient up to date and evaluates it at now. `live`: counted
 * as the ingest path, where a full evaluation runs only when the readings
 * changed something (unchanged_since_eval()). */
static void process_patient(db_conn *c, int64_t id, uint8_t flags, bool live)
{
    pcache *p;
    engine_result *r;
    int64_t now = timefmt_now_ms(), T;
    long loaded = 0;
    uint64_t t0;
    uint32_t missing;

    if (flags & Q_INVALIDATE)
        cache_drop(id);
    p = cache_find(id);
    if (p) {
        loaded = cache_advance(c, p);
        if (loaded < 0) {
            log_warn("patient %" PRId64 ": live state failed; rebuilding", id);
            cache_drop(id);
            p = NULL;
            loaded = 0;
        }
    }
    if (!p) {
        bool admitted = false;
        p = cache_build(c, id, &admitted);
        if (!p) {
            if (!admitted) {
                cache_drop(id);
                sum_remove(id);
                resolve_patient_alerts(c, id, "patient no longer admitted", now);
            } else {
                log_error("patient %" PRId64 ": cannot load for evaluation", id);
            }
            return;
        }
        if (!cache_add(p))
            return;
    }
    /* Evaluate at now, or at the newest reading if a device clock runs a
     * little ahead (readings may lie up to 5 min in the future). */
    T = p->newest > now ? p->newest : now;
    t0 = mono_ns();
    if (live && loaded > 0 && unchanged_since_eval(p, T)) {
        atomic_fetch_add(&st_eval_ns, mono_ns() - t0);
        atomic_fetch_add(&st_jobs, 1);
        atomic_fetch_add(&st_skipped, 1);
        atomic_fetch_add(&st_readings, (uint64_t)loaded);
        return;
    }
    r = engine_evaluate(w.rs, &p->pt, p->h, T, p->st);
    if (live && loaded > 0) { /* the live path: readings through an existing cache */
        atomic_fetch_add(&st_eval_ns, mono_ns() - t0);
        atomic_fetch_add(&st_jobs, 1);
        atomic_fetch_add(&st_readings, (uint64_t)loaded);
    } else if (!live) {
        atomic_fetch_add(&st_tick_evals, 1);
    }
    if (!r) {
        log_error("patient %" PRId64 ": evaluation failed (out of memory)", id);
        p->have_digest = false;
        return;
    }
    missing = missing_mask(p, T);
    publish_changes(p, r);
    p->have_digest = patient_alerts(c, p, r, missing, now) == 0;
    engine_result_digest(r, p->digest_eval);
    p->missing_eval = missing;
    engine_result_free(r);
}

/* ---------------------------------------------------------------------- */
/* The timer                                                               */

static void check_devices(db_conn *c, int64_t now)
{
    store_bed_device *devs = NULL;
    alert_open *open = NULL;
    alert_cond *conds = NULL;
    alert_op *ops = NULL;
    op_item *items = NULL;
    size_t nd = 0, no = 0, nc = 0, nops;

    if (store_clinical_bed_devices(c, &devs, &nd) != 0 ||
        store_alert_open(c, 0, ALERT_KIND_DEVICE_SILENT, &open, &no) != 0 ||
        drift_open_append(c, &open, &no) != 0)
        goto out;
    /* per device: silence and clock drift (drift.h) */
    conds = calloc(2 * nd + 1, sizeof *conds);
    ops = calloc(2 * nd + no + 1, sizeof *ops);
    items = calloc(2 * nd + no + 1, sizeof *items);
    if (!conds || !ops || !items)
        goto out;
    for (size_t i = 0; i < nd; i++) {
        alerts_device_input d = {.device_id = devs[i].device_id,
                                 .serial = devs[i].serial,
                                 .bed = devs[i].bed,
                                 .last_heard_ms = devs[i].last_heard_ms};
        if (alerts_device_condition(&w.cfg, &d, now, &conds[nc]))
            nc++;
        if (drift_condition(&w.cfg, d.device_id, d.serial, d.bed, &conds[nc]))
            nc++;
    }
    nops = alerts_reconcile(&w.cfg, conds, nc, open, no, now, ops, 2 * nd + no + 1);
    for (size_t i = 0; i < nops; i++) {
        items[i].op = ops[i];
        if (ops[i].op != ALERT_OP_RAISE)
            continue;
        for (size_t k = 0; k < nd; k++)
            if (devs[k].device_id == ops[i].cond->device_id) {
                items[i].patient_id = devs[k].patient_id;
                snprintf(items[i].bed, sizeof items[i].bed, "%s", devs[k].bed);
            }
    }
    ops_run(items, nops, now);
out:
    free(devs);
    free(open);
    free(conds);
    free(ops);
    free(items);
}

static void escalate_all(db_conn *c, int64_t now)
{
    alert_open *open = NULL;
    alert_op *ops = NULL;
    op_item *items = NULL;
    size_t no = 0, nops;

    if (store_alert_open(c, 0, -1, &open, &no) != 0 || no == 0)
        goto out;
    ops = calloc(no, sizeof *ops);
    items = calloc(no, sizeof *items);
    if (!ops || !items)
        goto out;
    nops = alerts_escalate(&w.cfg, open, no, now, ops, no);
    for (size_t i = 0; i < nops; i++)
        items[i].op = ops[i];
    ops_run(items, nops, now);
out:
    free(open);
    free(ops);
    free(items);
}

static void tick(db_conn *c)
{
    store_admitted *adm = NULL;
    size_t na = 0;
    int64_t now = timefmt_now_ms();
    uint64_t t0 = mono_ns();

    if (store_clinical_admitted(c, &adm, &na) != 0) {
        log_error("clinical timer: cannot list the admitted patients");
        return;
    }
    /* caches of patients discharged meanwhile: dropped, their alerts resolved */
    {
        int64_t *gone = calloc(w.n + 1, sizeof *gone);
        size_t ng = 0;
        for (size_t i = 0; gone && i < w.n; i++) {
            bool still = false;
            for (size_t k = 0; k < na && !still; k++)
                still = adm[k].id == w.pc[i]->id;
            if (!still)
                gone[ng++] = w.pc[i]->id;
        }
        for (size_t i = 0; i < ng; i++)
            process_patient(c, gone[i], Q_INVALIDATE, false);
        free(gone);
    }
    for (size_t k = 0; k < na; k++) {
        const pcache *p = cache_find(adm[k].id);
        uint8_t flags = p && p->updated_at != adm[k].updated_at ? Q_INVALIDATE : 0;
        process_patient(c, adm[k].id, flags, false);
    }
    /* alerts of patients discharged while the server was down */
    {
        alert_open *open = NULL;
        size_t no = 0;
        if (store_alert_open(c, 0, -1, &open, &no) == 0) {
            for (size_t i = 0; i < no; i++) {
                int64_t pid = 0;
                bool admitted = false;
                if (open[i].kind == ALERT_KIND_DEVICE_SILENT ||
                    sscanf(open[i].key, "p%" SCNd64 ":", &pid) != 1)
                    continue;
                for (size_t k = 0; k < na && !admitted; k++)
                    admitted = adm[k].id == pid;
                if (!admitted)
                    resolve_patient_alerts(c, pid, "patient no longer admitted", now);
            }
        }
        free(open);
    }
    free(adm);
    check_devices(c, now);
    escalate_all(c, now);
    atomic_fetch_add(&st_ticks, 1);
    atomic_fetch_add(&st_tick_ns, mono_ns() - t0);
}

/* ---------------------------------------------------------------------- */
/* The worker thread                                                       */

static int64_t env_ms(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long x;

    if (!v || !*v)
        return dflt;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x <= 0) {
        log_warn("%s=%s ignored: expected a positive number of milliseconds", name, v);
        return dflt;
    }
    return x;
}

/* Takes the active rule set for the worker (after a swap: every cache is
 * dropped, and the next pass rebuilds them with the new set). */
static void worker_take_rules(void)
{
    rules_set *rs;
    uint64_t gen;

    pthread_mutex_lock(&rules_mu);
    rs = rules_ref(active_rs);
    gen = rules_gen;
    pthread_mutex_unlock(&rules_mu);
    cache_drop_all();
    rules_unref(w.rs);
    w.rs = rs;
    w.gen = gen;
    w.cfg = rs->alerts;
    w.cfg.evaluate_ms = env_ms("WARDD_CLINICAL_TICK_MS", w.cfg.evaluate_ms);
    w.cfg.escalate_ms = env_ms("WARDD_ALERT_ESCALATE_MS", w.cfg.escalate_ms);
    w.cfg.device_silent_ms = env_ms("WARDD_DEVICE_SILENT_MS", w.cfg.device_silent_ms);
    w.cfg.resolve_ms = env_ms("WARDD_ALERT_RESOLVE_MS", w.cfg.resolve_ms);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool past(const struct timespec *ts)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *worker_main(void *unused)
{
    struct timespec next_tick;
    db_conn *c = db_reader();

    (void)unused;
    if (!c) {
        log_error("clinical worker: no read connection; evaluation is stopped");
        return NULL;
    }
    worker_take_rules();
    deadline_after(&next_tick, 0); /* evaluate everyone at once */
    pthread_mutex_lock(&q.mu);
    while (!q.stop) {
        idset work;
        bool rules_changed, due, overflow;

        while (!q.stop && q.pending.n == 0 && !q.rules_changed && !past(&next_tick))
            if (pthread_cond_timedwait(&q.cv, &q.mu, &next_tick) == ETIMEDOUT)
                break;
        if (q.stop)
            break;
        work = q.pending;
        q.pending = q.spare;
        q.spare = (idset){0};
        rules_changed = q.rules_changed;
        q.rules_changed = false;
        overflow = q.overflow;
        q.overflow = false;
        pthread_mutex_unlock(&q.mu);

        if (rules_changed)
            worker_take_rules();
        round_begin(c, &work);
        for (size_t i = 0; i < work.cap; i++)
            if (work.keys[i])
                process_patient(c, work.keys[i], work.flags[i], (work.flags[i] & Q_INGEST) != 0);
        round_end();
        due = rules_changed || overflow || past(&next_tick);
        if (due) {
            tick(c);
            deadline_after(&next_tick, w.cfg.evaluate_ms);
        }
        idset_clear(&work);

        pthread_mutex_lock(&q.mu);
        if (q.spare.cap == 0)
            q.spare = work;
        else
            idset_free(&work);
    }
    pthread_mutex_unlock(&q.mu);
    cache_drop_all();
    free(rr.rows);
    rr.rows = NULL;
    rr.n = rr.cap = 0;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Start and stop                                                          */

struct install {
    int version;
    const char *name;
    const json_t *doc;
};

static int install_apply(db_conn *c, void *arg)
{
    const struct install *in = arg;
    int64_t now = timefmt_now_ms();
    char idbuf[24];
    json_t *after;
    int rc = store_ruleset_activate(c, in->version, in->name, in->doc, wardd_user.name, now);

    if (rc != 0)
        return rc < 0 ? DB_STORAGE_FAILURE : rc;
    snprintf(idbuf, sizeof idbuf, "%d", in->version);
    after = json_pack("{s:s, s:i}", "name", in->name, "version", in->version);
    rc = store_audit(c, &wardd_user, "rules.install", "ruleset", idbuf, NULL, after, now);
    json_decref(after);
    return rc == 0 ? 0 : DB_STORAGE_FAILURE;
}

static void log_rule_errors(const rules_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        log_error("%s", errs->items[i].text);
}

/* DIR/../schema/rules/il2-default.json for the directory DIR of the
 * running binary. 0 or -1. */
static int exe_relative_rules(char *out, size_t len)
{
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    if (n <= 0)
        return -1;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return snprintf(out, len, "%s/../schema/rules/il2-default.json", exe) < (int)len ? 0 : -1;
}

/* No rule set in the database: load the file, store it as version 1. */
static rules_set *install_from_file(struct app *app, const char *path)
{
    char beside[2200];
    rules_errors errs = {0};
    rules_set *rs = NULL, *file_rs;
    json_t *doc = NULL;
    struct install in = {.version = 1};
    int rc;

    if (!path) {
        for (size_t i = 0; i < sizeof default_rules / sizeof default_rules[0] && !path; i++)
            if (access(default_rules[i], R_OK) == 0)
                path = default_rules[i];
        /* beside the binary's tree: build/wardd -> schema/rules/... */
        if (!path && exe_relative_rules(beside, sizeof beside) == 0 && access(beside, R_OK) == 0)
            path = beside;
        if (!path) {
            log_error("no rule set: the database has none, --rules was not given, and neither "
                      "%s nor %s exists",
                      default_rules[0], default_rules[1]);
            return NULL;
        }
    }
    file_rs = rules_load_file(path, &errs);
    if (!file_rs) {
        log_error("rule set %s is invalid:", path);
        log_rule_errors(&errs);
        goto out;
    }
    /* The database numbers the versions: the stored document says 1. */
    doc = json_deep_copy(file_rs->doc);
    if (!doc || json_object_set_new(doc, "version", json_integer(in.version)) != 0)
        goto out;
    rules_errors_free(&errs);
    rs = rules_load_json(doc, path, &errs);
    if (!rs)
        goto out;
    in.name = rs->name;
    in.doc = doc;
    rc = db_writer_run(app->writer, install_apply, &in);
    if (rc != 0) {
        log_error("cannot store the rule set %s (status %d)", path, rc);
        rules_unref(rs);
        rs = NULL;
        goto out;
    }
    log_info("installed rule set %s from %s as version %d", rs->name, path, in.version);
out:
    rules_unref(file_rs);
    rules_errors_free(&errs);
    json_decref(doc);
    return rs;
}

int clinical_start(struct app *app, const char *rules_path)
{
    db_conn *c = db_reader();
    json_t *doc = NULL;
    rules_set *rs = NULL;
    int version = 0, rc;
    pthread_condattr_t ca;

    if (!c)
        return -1;
    rc = store_ruleset_active(c, &version, &doc, NULL);
    if (rc < 0) {
        log_error("cannot read the active rule set");
        return -1;
    }
    if (rc == 1) {
        rules_errors errs = {0};
        char label[64];
        snprintf(label, sizeof label, "ruleset-v%d.json", version);
        rs = rules_load_json(doc, label, &errs);
        json_decref(doc);
        if (!rs) {
            log_error("the active rule set (version %d) does not load with this wardd:", version);
            log_rule_errors(&errs);
        }
        rules_errors_free(&errs);
        if (!rs)
            return -1;
        if (rules_path)
            log_warn("--rules %s ignored: the database's active rule set is %s version %d; "
                     "change it with PUT /api/v1/rules",
                     rules_path, rs->name, version);
        log_info("rule set %s version %d", rs->name, rs->version);
    } else {
        rs = install_from_file(app, rules_path);
        if (!rs)
            return -1;
    }
    set_active(rs);

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&q.mu);
    q.app = app;
    q.stop = false;
    q.started = true;
    pthread_mutex_unlock(&q.mu);
    if (pthread_create(&q.thread, NULL, worker_main, NULL) != 0) {
        log_error("cannot start the clinical worker: %s", strerror(errno));
        pthread_mutex_lock(&q.mu);
        q.started = false;
        pthread_mutex_unlock(&q.mu);
        pthread_cond_destroy(&q.cv);
        set_active(NULL);
        return -1;
    }
    return 0;
}

void clinical_stop(void)
{
    clinical_stats s;
    bool started;

    pthread_mutex_lock(&q.mu);
    started = q.started;
    q.stop = true;
    if (started)
        pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
    if (!started)
        return;
    pthread_join(q.thread, NULL);
    pthread_mutex_lock(&q.mu);
    q.started = false;
    idset_free(&q.pending);
    idset_free(&q.spare);
    pthread_mutex_unlock(&q.mu);
    pthread_cond_destroy(&q.cv);
    rules_unref(w.rs);
    w.rs = NULL;
    set_active(NULL);
    sum_free_all();
    clinical_get_stats(&s);
    if (s.jobs)
        log_info("clinical: %" PRIu64 " live evaluations of %" PRIu64 " readings: engine %.1f us "
                 "per reading (state %.1f us, evaluation %.1f us per job); %" PRIu64
                 " timer runs, %.2f ms each",
                 s.jobs, s.readings,
                 s.readings ? (double)(s.ingest_ns + s.eval_ns) / 1000.0 / (double)s.readings : 0.0,
                 s.readings ? (double)s.ingest_ns / 1000.0 / (double)s.readings : 0.0,
                 (double)s.eval_ns / 1000.0 / (double)s.jobs, s.ticks,
                 s.ticks ? (double)s.tick_ns / 1e6 / (double)s.ticks : 0.0);
}

/* ---------------------------------------------------------------------- */
/* Ward view                                                               */

int clinical_ward_annotate(db_conn *c, json_t *ward)
{
    json_t *counts = NULL, *bed;
    size_t i;

    if (store_alert_active_counts(c, &counts) != 0)
        return -1;
    pthread_mutex_lock(&sum_mu);
    json_array_foreach(json_object_get(ward, "beds"), i, bed)
    {
        json_t *pid = json_object_get(json_object_get(bed, "patient"), "id");
        const summary *s;
        char key[32];
        if (!json_is_integer(pid))
            continue;
        snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
        json_object_set_new(bed, "active_alerts",
                            json_integer(json_integer_value(json_object_get(counts, key))));
        s = sum_find(json_integer_value(pid));
        if (!s)
            continue;
        json_object_set_new(bed, "max_grade",
                            s->max_grade >= 0 ? json_integer(s->max_grade) : json_null());
        json_object_set_new(bed, "decision",
                            json_pack("{s:s, s:s?}", "action", engine_action_name(s->action),
                                      "reason", s->reason[0] ? s->reason : NULL));
    }
    pthread_mutex_unlock(&sum_mu);
    json_decref(counts);
    return 0;
}
