/* clinical: the rule set in force, the queue of patients to evaluate, and
 * starting and stopping the clinical worker (contract in include/clinical.h,
 * design in docs/clinical.md).
 *
 * The worker is split by concern, with its shared state in clinical_int.h:
 *   clinical_idset.c    the set of queued patient ids
 *   clinical_eval.c     one patient's engine input; on-demand evaluation
 *   clinical_cache.c    the worker's per-patient caches and the row scan
 *   clinical_worker.c   the worker thread, the timer, one patient's update
 *   clinical_publish.c  ward summaries and the grade/decision events
 *   clinical_alerts.c   alert transitions stored and published
 *   clinical_install.c  the first rule set, from a file
 * No lock is held while the database or the engine runs. */
#include "clinical_int.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who system transitions are audited as. */
const principal clin_wardd_user = {.role = ROLE_NONE, .id = 0, .name = "(wardd)"};

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

rules_set *clin_rules_take(uint64_t *gen)
{
    rules_set *rs;

    pthread_mutex_lock(&rules_mu);
    rs = rules_ref(active_rs);
    *gen = rules_gen;
    pthread_mutex_unlock(&rules_mu);
    return rs;
}

bool clinical_grade_term_ok(void *arg, const char *term)
{
    rules_set *rs = clinical_rules();
    int i = rs != NULL ? rules_term_index(rs, term) : -1;
    bool ok = i >= 0 && rs->terms[i].clinician_code >= 0;

    (void)arg;
    rules_unref(rs);
    return ok;
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

clin_queue clin_q = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void enqueue(int64_t id, uint8_t flag)
{
    if (id <= 0)
        return;
    pthread_mutex_lock(&clin_q.mu);
    if (clin_q.started && clin_idset_put(&clin_q.pending, id, flag) != 0)
        clin_q.overflow = true; /* out of memory: the next tick evaluates everyone */
    pthread_cond_signal(&clin_q.cv);
    pthread_mutex_unlock(&clin_q.mu);
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
    pthread_mutex_lock(&clin_q.mu);
    clin_q.rules_changed = true;
    pthread_cond_signal(&clin_q.cv);
    pthread_mutex_unlock(&clin_q.mu);
}

/* ---------------------------------------------------------------------- */
/* Start and stop                                                          */

int clinical_start(db_writer *writer, const char *rules_path)
{
    db_conn *c = db_reader();
    json_t *doc = NULL;
    rules_set *rs = NULL;
    int version = 0, rc;

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
            clin_log_rule_errors(&errs);
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
        rs = clin_install_from_file(writer, rules_path);
        if (!rs)
            return -1;
    }
    set_active(rs);

    clock_cond_init_mono(&clin_q.cv);
    pthread_mutex_lock(&clin_q.mu);
    clin_q.writer = writer;
    clin_q.stop = false;
    clin_q.started = true;
    pthread_mutex_unlock(&clin_q.mu);
    if (pthread_create(&clin_q.thread, NULL, clin_worker_main, NULL) != 0) {
        log_error("cannot start the clinical worker: %s", strerror(errno));
        pthread_mutex_lock(&clin_q.mu);
        clin_q.started = false;
        pthread_mutex_unlock(&clin_q.mu);
        pthread_cond_destroy(&clin_q.cv);
        set_active(NULL);
        return -1;
    }
    return 0;
}

void clinical_stop(void)
{
    clinical_stats s;
    bool started;

    pthread_mutex_lock(&clin_q.mu);
    started = clin_q.started;
    clin_q.stop = true;
    if (started)
        pthread_cond_signal(&clin_q.cv);
    pthread_mutex_unlock(&clin_q.mu);
    if (!started)
        return;
    pthread_join(clin_q.thread, NULL);
    pthread_mutex_lock(&clin_q.mu);
    clin_q.started = false;
    clin_idset_free(&clin_q.pending);
    clin_idset_free(&clin_q.spare);
    pthread_mutex_unlock(&clin_q.mu);
    pthread_cond_destroy(&clin_q.cv);
    rules_unref(clin_w.rs);
    clin_w.rs = NULL;
    set_active(NULL);
    clin_sum_free_all();
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
