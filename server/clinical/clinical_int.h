/* clinical_int.h: private to server/clinical/clinical*.c, the clinical
 * worker's shared state (the design is in docs/clinical.md; which file holds
 * what is listed in clinical.c).
 *
 * Threads: the worker thread owns the caches (clin_w, no lock). Shared with
 * other threads, each under its own mutex: the active rule set
 * (clinical.c), the queue (clin_q.mu) and the per-patient summaries the
 * ward view reads (clinical_publish.c). */
#ifndef WARDD_CLINICAL_INT_H
#define WARDD_CLINICAL_INT_H

#include "alerts.h"
#include "db.h"
#include "clinical.h"
#include "engine.h"
#include "events.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#include <pthread.h>
#include "clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The monotonic clock in ns (include/clock.h), for the worker's timings. */
#define mono_ns clock_mono_ns

/* Who system transitions are audited as. */
extern const principal clin_wardd_user;

/* The queue: a set of patient ids with flags */
#define Q_INGEST     1u
#define Q_INVALIDATE 2u

typedef struct idset {
    int64_t *keys; /* 0 = empty slot (ids are positive) */
    uint8_t *flags;
    size_t cap, n;
} idset;

typedef struct clin_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    idset pending, spare;
    bool stop, rules_changed, started, overflow;
    pthread_t thread;
    db_writer *writer; /* the one writer (alert writes) */
} clin_queue;
extern clin_queue clin_q;

/* The active rule set and its generation (bumped on every swap). */
rules_set *clin_rules_take(uint64_t *gen);

/* Loading a patient's engine input */
struct hist_load {
    engine_hist *h;
    int64_t max_id;
    int64_t newest;
    int64_t oldest_new; /* the live path: earliest time among the rows loaded */
    size_t n;
};

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

typedef struct clin_worker {
    rules_set *rs;
    uint64_t gen;
    rules_alerts cfg; /* rs->alerts with the environment's overrides */
    pcache **pc;
    size_t n, cap;
} clin_worker;
extern clin_worker clin_w;

/* Statistics (clinical_worker.c) */
extern atomic_uint_fast64_t clin_st_ingest_ns;

/* Alert transitions */
typedef struct op_item {
    alert_op op;
    int64_t patient_id; /* RAISE */
    char bed[64];       /* RAISE */
    int64_t raised_id;  /* RAISE: the new alert's id once stored, else 0 */
} op_item;

/* clinical_idset.c */
int clin_idset_put(idset *s, int64_t id, uint8_t flag);
void clin_idset_clear(idset *s);
void clin_idset_free(idset *s);

/* clinical_publish.c */
void clin_sum_remove(int64_t id);
void clin_sum_free_all(void);
void clin_publish_changes(const pcache *p, const engine_result *r);

/* clinical_eval.c */
int clin_hist_visit(void *arg, int code_id, int64_t t_ms, double v, int64_t obs_id);
int clin_patient_input(const json_t *rec, int64_t id, engine_patient *pt);

/* The course of admission `id` (engine_course: number, the previous
 * course's end and its latest response dated on or before the ward date of
 * `at` (INT64_MAX: any), a permanent discontinue in any earlier admission)
 * and the course's doses from all its admissions up to this one (sorted,
 * malloc'd), read inside the caller's snapshot. 0 or -1. */
int clin_course_load(db_conn *c, rules_set *rs, int64_t id, int64_t at, engine_course *out,
                     engine_dose **doses, size_t *nd);

/* The course of each of a person's admissions (in order): a readmission
 * continues the course while no dose of it was given yet, or when it comes
 * before the end of the course's last cycle (day last_day from its first
 * given dose); otherwise it starts the next. 0 or -1. */
int clin_course_plan(db_conn *c, const rules_set *rs, const store_admission *adm, size_t n,
                     int *course_of);

/* clinical_cache.c */
pcache *clin_cache_find(int64_t id);
void clin_cache_drop(int64_t id);
void clin_cache_drop_all(void);
pcache *clin_cache_build(db_conn *c, int64_t id, bool *admitted);
pcache *clin_cache_add(pcache *p);
void clin_round_begin(db_conn *c, const idset *work);
void clin_round_end(void);
long clin_cache_advance(db_conn *c, pcache *p);
void clin_round_free(void);

/* clinical_alerts.c */
int clin_patient_alerts(db_conn *c, pcache *p, const engine_result *r, uint32_t missing,
                        int64_t now);
void clin_resolve_patient_alerts(db_conn *c, int64_t patient_id, const char *why, int64_t now);
void clin_check_devices(db_conn *c, int64_t now);
void clin_escalate_all(db_conn *c, int64_t now);

/* clinical_worker.c */
size_t clin_missing_codes(uint32_t mask, const char **out);
void clin_tick(db_conn *c);
bool clin_past(const struct timespec *ts);
void *clin_worker_main(void *unused);

/* clinical_install.c */
void clin_log_rule_errors(const rules_errors *errs);
rules_set *clin_install_from_file(db_writer *writer, const char *path);

#endif
