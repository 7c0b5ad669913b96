/* clinical_alerts: the alert manager's side effects: transitions stored in
 * one writer job per batch, audited, then published; per patient, for
 * silent devices and for escalation. */
#include "clinical_int.h"
#include "drift.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Alert transitions: one writer job per batch, then the events            */

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
        rc = store_audit(c, &clin_wardd_user, action, "alert", idbuf, before, after, b->now);
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

    if (n == 0 || !b.events || !clin_q.writer) {
        json_decref(b.events);
        return n == 0 ? 0 : -1;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    rc = db_writer_submit(clin_q.writer, ops_apply, ops_done, &b);
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
int clin_patient_alerts(db_conn *c, pcache *p, const engine_result *r, uint32_t missing,
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
    in.n_missing = clin_missing_codes(missing, in.missing);
    nc = alerts_patient_conditions(&clin_w.cfg, &in, conds, r->n_terms + 4);
    if (store_alert_open(c, p->id, -1, &open, &no) != 0)
        goto out;
    for (size_t i = 0; i < no; i++)
        clear_get(p, &open[i]);
    max_ops = nc + no + 1;
    ops = calloc(max_ops, sizeof *ops);
    items = calloc(max_ops, sizeof *items);
    if (!ops || !items)
        goto out;
    nops = alerts_reconcile(&clin_w.cfg, conds, nc, open, no, now, ops, max_ops);
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
void clin_resolve_patient_alerts(db_conn *c, int64_t patient_id, const char *why, int64_t now)
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

/* ---------------------------------------------------------------------- */
/* The timer                                                               */

void clin_check_devices(db_conn *c, int64_t now)
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
        if (alerts_device_condition(&clin_w.cfg, &d, now, &conds[nc]))
            nc++;
        if (drift_condition(&clin_w.cfg, d.device_id, d.serial, d.bed, &conds[nc]))
            nc++;
    }
    nops = alerts_reconcile(&clin_w.cfg, conds, nc, open, no, now, ops, 2 * nd + no + 1);
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

void clin_escalate_all(db_conn *c, int64_t now)
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
    nops = alerts_escalate(&clin_w.cfg, open, no, now, ops, no);
    for (size_t i = 0; i < nops; i++)
        items[i].op = ops[i];
    ops_run(items, nops, now);
out:
    free(open);
    free(ops);
    free(items);
}
