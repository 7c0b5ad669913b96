/* clinical_worker: the worker thread: takes the queued patients, brings
 * each up to date and evaluates it, and runs the timer (everyone at once,
 * devices, escalation). */
#include "clinical_int.h"
#include "threadname.h"
#include "clock.h"
#include "envnum.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Statistics                                                              */

atomic_uint_fast64_t clin_st_jobs, clin_st_skipped, clin_st_readings, clin_st_ingest_ns,
    clin_st_eval_ns, clin_st_ticks, clin_st_tick_evals, clin_st_tick_ns;

void clinical_get_stats(clinical_stats *out)
{
    out->jobs = atomic_load(&clin_st_jobs);
    out->skipped = atomic_load(&clin_st_skipped);
    out->readings = atomic_load(&clin_st_readings);
    out->ingest_ns = atomic_load(&clin_st_ingest_ns);
    out->eval_ns = atomic_load(&clin_st_eval_ns);
    out->ticks = atomic_load(&clin_st_ticks);
    out->tick_evals = atomic_load(&clin_st_tick_evals);
    out->tick_ns = atomic_load(&clin_st_tick_ns);
}

/* ---------------------------------------------------------------------- */
/* One evaluation of one patient                                           */

/* The codes of alerts.missing_codes without a reading in the last
 * missing_ms at T; a patient admitted more recently than that is not yet
 * missing anything. */
/* Bit i set: clin_w.cfg.missing_codes[i] has had no reading for missing_ms at T
 * (counted from the admission when it never had one). */
static uint32_t missing_mask(const pcache *p, int64_t T)
{
    uint32_t mask = 0;

    for (size_t i = 0; i < clin_w.cfg.n_missing; i++) {
        int code = clin_w.cfg.missing_codes[i];
        size_t np = 0;
        const engine_point *pts = engine_hist_points(p->h, code, &np);
        int64_t ref = p->admitted_at;
        while (np > 0 && pts[np - 1].t_ms > T)
            np--;
        if (np > 0 && pts[np - 1].t_ms > ref)
            ref = pts[np - 1].t_ms;
        if (T - ref > clin_w.cfg.missing_ms)
            mask |= UINT32_C(1) << i;
    }
    return mask;
}

size_t clin_missing_codes(uint32_t mask, const char **out)
{
    size_t n = 0;

    for (size_t i = 0; i < clin_w.cfg.n_missing; i++)
        if (mask & (UINT32_C(1) << i))
            out[n++] = obs_code_by_id(clin_w.cfg.missing_codes[i])->code;
    return n;
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
    size_t n = engine_digest_size(clin_w.rs);

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
        clin_cache_drop(id);
    p = clin_cache_find(id);
    if (p) {
        loaded = clin_cache_advance(c, p);
        if (loaded < 0) {
            log_warn("patient %" PRId64 ": live state failed; rebuilding", id);
            clin_cache_drop(id);
            p = NULL;
            loaded = 0;
        }
    }
    if (!p) {
        bool admitted = false;
        p = clin_cache_build(c, id, &admitted);
        if (!p) {
            if (!admitted) {
                clin_cache_drop(id);
                clin_sum_remove(id);
                clin_resolve_patient_alerts(c, id, "patient no longer admitted", now);
            } else {
                log_error("patient %" PRId64 ": cannot load for evaluation", id);
            }
            return;
        }
        if (!clin_cache_add(p))
            return;
    }
    /* Evaluate at now, or at the newest reading if a device clock runs a
     * little ahead (readings may lie up to 5 min in the future). */
    T = p->newest > now ? p->newest : now;
    t0 = mono_ns();
    if (live && loaded > 0 && unchanged_since_eval(p, T)) {
        atomic_fetch_add(&clin_st_eval_ns, mono_ns() - t0);
        atomic_fetch_add(&clin_st_jobs, 1);
        atomic_fetch_add(&clin_st_skipped, 1);
        atomic_fetch_add(&clin_st_readings, (uint64_t)loaded);
        return;
    }
    r = engine_evaluate(clin_w.rs, &p->pt, p->h, T, p->st);
    if (live && loaded > 0) { /* the live path: readings through an existing cache */
        atomic_fetch_add(&clin_st_eval_ns, mono_ns() - t0);
        atomic_fetch_add(&clin_st_jobs, 1);
        atomic_fetch_add(&clin_st_readings, (uint64_t)loaded);
    } else if (!live) {
        atomic_fetch_add(&clin_st_tick_evals, 1);
    }
    if (!r) {
        log_error("patient %" PRId64 ": evaluation failed (out of memory)", id);
        p->have_digest = false;
        return;
    }
    missing = missing_mask(p, T);
    clin_publish_changes(p, r);
    p->have_digest = clin_patient_alerts(c, p, r, missing, now) == 0;
    engine_result_digest(r, p->digest_eval);
    p->missing_eval = missing;
    engine_result_free(r);
}

void clin_tick(db_conn *c)
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
        int64_t *gone = calloc(clin_w.n + 1, sizeof *gone);
        size_t ng = 0;
        for (size_t i = 0; gone && i < clin_w.n; i++) {
            bool still = false;
            for (size_t k = 0; k < na && !still; k++)
                still = adm[k].id == clin_w.pc[i]->id;
            if (!still)
                gone[ng++] = clin_w.pc[i]->id;
        }
        for (size_t i = 0; i < ng; i++)
            process_patient(c, gone[i], Q_INVALIDATE, false);
        free(gone);
    }
    for (size_t k = 0; k < na; k++) {
        const pcache *p = clin_cache_find(adm[k].id);
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
                    clin_resolve_patient_alerts(c, pid, "patient no longer admitted", now);
            }
        }
        free(open);
    }
    free(adm);
    clin_check_devices(c, now);
    clin_escalate_all(c, now);
    atomic_fetch_add(&clin_st_ticks, 1);
    atomic_fetch_add(&clin_st_tick_ns, mono_ns() - t0);
}

/* ---------------------------------------------------------------------- */
/* The worker thread                                                       */

/* A positive millisecond setting from the environment (tests shorten the
 * clock's periods), else dflt. */
static int64_t env_ms(const char *name, int64_t dflt)
{
    return (int64_t)env_number(name, dflt, 1, LLONG_MAX);
}

/* Takes the active rule set for the worker (after a swap: every cache is
 * dropped, and the next pass rebuilds them with the new set). */
static void worker_take_rules(void)
{
    rules_set *rs;
    uint64_t gen;

    rs = clin_rules_take(&gen);
    clin_cache_drop_all();
    rules_unref(clin_w.rs);
    clin_w.rs = rs;
    clin_w.gen = gen;
    clin_w.cfg = rs->alerts;
    clin_w.cfg.evaluate_ms = env_ms("WARDD_CLINICAL_TICK_MS", clin_w.cfg.evaluate_ms);
    clin_w.cfg.escalate_ms = env_ms("WARDD_ALERT_ESCALATE_MS", clin_w.cfg.escalate_ms);
    clin_w.cfg.device_silent_ms = env_ms("WARDD_DEVICE_SILENT_MS", clin_w.cfg.device_silent_ms);
    clin_w.cfg.resolve_ms = env_ms("WARDD_ALERT_RESOLVE_MS", clin_w.cfg.resolve_ms);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    *ts = clock_mono_after(ms);
}

bool clin_past(const struct timespec *ts)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

void *clin_worker_main(void *unused)
{
    struct timespec next_tick;
    db_conn *c = db_reader();

    (void)unused;
    thread_name("wd-clinical");
    if (!c) {
        log_error("clinical worker: no read connection; evaluation is stopped");
        return NULL;
    }
    worker_take_rules();
    deadline_after(&next_tick, 0); /* evaluate everyone at once */
    pthread_mutex_lock(&clin_q.mu);
    while (!clin_q.stop) {
        idset work;
        bool rules_changed, due, overflow;

        while (!clin_q.stop && clin_q.pending.n == 0 && !clin_q.rules_changed &&
               !clin_past(&next_tick))
            if (pthread_cond_timedwait(&clin_q.cv, &clin_q.mu, &next_tick) == ETIMEDOUT)
                break;
        if (clin_q.stop)
            break;
        work = clin_q.pending;
        clin_q.pending = clin_q.spare;
        clin_q.spare = (idset){0};
        rules_changed = clin_q.rules_changed;
        clin_q.rules_changed = false;
        overflow = clin_q.overflow;
        clin_q.overflow = false;
        pthread_mutex_unlock(&clin_q.mu);

        if (rules_changed)
            worker_take_rules();
        clin_round_begin(c, &work);
        for (size_t i = 0; i < work.cap; i++)
            if (work.keys[i])
                process_patient(c, work.keys[i], work.flags[i], (work.flags[i] & Q_INGEST) != 0);
        clin_round_end();
        due = rules_changed || overflow || clin_past(&next_tick);
        if (due) {
            clin_tick(c);
            deadline_after(&next_tick, clin_w.cfg.evaluate_ms);
        }
        clin_idset_clear(&work);

        pthread_mutex_lock(&clin_q.mu);
        if (clin_q.spare.cap == 0)
            clin_q.spare = work;
        else
            clin_idset_free(&work);
    }
    pthread_mutex_unlock(&clin_q.mu);
    clin_cache_drop_all();
    clin_round_free();
    return NULL;
}
