/* alerts: see alerts.h. Pure: every input is an argument. */
#include "alerts.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[ALERT_KIND__COUNT] = {
    "grade", "decision", "news2", "device_silent", "data_missing", "device_clock",
};
static const char *const state_names[] = {"active", "acknowledged", "resolved"};

const char *alert_kind_name(alert_kind k)
{
    return k >= 0 && k < ALERT_KIND__COUNT ? kind_names[k] : "?";
}

int alert_kind_parse(const char *s)
{
    for (int i = 0; s && i < ALERT_KIND__COUNT; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

int alert_state_parse(const char *s)
{
    for (int i = 0; s && i <= ALERT_RESOLVED; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

rules_prio alert_prio_parse(const char *s)
{
    for (int p = RULES_PRIO_LOW; s && p <= RULES_PRIO_HIGH; p++)
        if (strcmp(s, rules_prio_name((rules_prio)p)) == 0)
            return (rules_prio)p;
    return RULES_PRIO_NONE;
}

bool alert_kind_immediate(alert_kind k)
{
    return k == ALERT_KIND_DECISION || k == ALERT_KIND_DATA_MISSING ||
           k == ALERT_KIND_DEVICE_SILENT || k == ALERT_KIND_DEVICE_CLOCK;
}

/* --- conditions ------------------------------------------------------------- */

static alert_cond *next_cond(alert_cond *out, size_t *n, size_t max, alert_kind kind)
{
    alert_cond *c;

    if (*n >= max)
        return NULL;
    c = &out[(*n)++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->grade = -1;
    return c;
}

static void add_grades(const rules_alerts *cfg, const alerts_patient_input *in, alert_cond *out,
                       size_t *n, size_t max)
{
    for (size_t i = 0; i < in->n_terms; i++) {
        const alerts_term *t = &in->terms[i];
        alert_cond *c;
        if (t->grade >= 0 && t->grade < cfg->grade_medium_at)
            continue; /* clear */
        c = next_cond(out, n, max, ALERT_KIND_GRADE);
        if (!c)
            return;
        snprintf(c->key, sizeof c->key, "p%" PRId64 ":grade:%s", in->patient_id, t->id);
        snprintf(c->term, sizeof c->term, "%s", t->id);
        if (t->grade < 0)
            continue; /* null grade: unknown */
        c->present = true;
        c->grade = c->level = t->grade;
        c->priority = t->grade >= cfg->grade_high_at ? RULES_PRIO_HIGH : RULES_PRIO_MEDIUM;
        snprintf(c->message, sizeof c->message, "%s: CTCAE grade %d", t->label, t->grade);
    }
}

static void add_decision(const rules_alerts *cfg, const alerts_patient_input *in, alert_cond *out,
                         size_t *n, size_t max)
{
    bool alerting = (in->action == ENGINE_HOLD && cfg->decision_hold) ||
                    (in->action == ENGINE_DISCONTINUE && cfg->decision_discontinue);
    alert_cond *c;

    /* give clears it; insufficient_data cannot tell whether the hold's
     * resume criterion is met. */
    if (!alerting && in->action != ENGINE_INSUFFICIENT_DATA)
        return;
    c = next_cond(out, n, max, ALERT_KIND_DECISION);
    if (!c)
        return;
    snprintf(c->key, sizeof c->key, "p%" PRId64 ":decision", in->patient_id);
    if (!alerting)
        return;
    c->present = true;
    c->priority = cfg->decision_priority;
    c->level = (int)in->action;
    c->confirm = in->reason_without_resume;
    snprintf(c->message, sizeof c->message, "Dose decision %s: %s",
             in->action == ENGINE_DISCONTINUE ? "discontinue" : "hold",
             in->reason ? in->reason : "see the toxicity view");
}

static void add_news2(const rules_alerts *cfg, const alerts_patient_input *in, alert_cond *out,
                      size_t *n, size_t max)
{
    rules_prio p = RULES_PRIO_NONE;
    const char *risk = NULL;
    alert_cond *c;

    if (in->news2_score >= cfg->news2_high_at) {
        p = RULES_PRIO_HIGH;
        risk = "high";
    } else if (in->news2_score >= cfg->news2_medium_at) {
        p = RULES_PRIO_MEDIUM;
        risk = "medium";
    } else if (in->news2_single_3 && cfg->news2_single_3 != RULES_PRIO_NONE) {
        p = cfg->news2_single_3;
        risk = "low-medium";
    }
    /* complete and below every threshold: clear. Incomplete and below: the
     * missing parameters could reach a threshold, so unknown. */
    if (p == RULES_PRIO_NONE && in->news2_complete)
        return;
    c = next_cond(out, n, max, ALERT_KIND_NEWS2);
    if (!c)
        return;
    snprintf(c->key, sizeof c->key, "p%" PRId64 ":news2", in->patient_id);
    if (p == RULES_PRIO_NONE)
        return;
    c->present = true;
    c->priority = p;
    c->level = (int)p;
    if (risk && strcmp(risk, "low-medium") == 0 && in->news2_score < cfg->news2_medium_at)
        snprintf(c->message, sizeof c->message,
                 "NEWS2 %s%d with a single parameter scoring 3: %s clinical risk",
                 in->news2_complete ? "" : ">= ", in->news2_score, risk);
    else
        snprintf(c->message, sizeof c->message, "NEWS2 %s%d: %s clinical risk",
                 in->news2_complete ? "" : ">= ", in->news2_score, risk);
}

static void add_missing(const rules_alerts *cfg, const alerts_patient_input *in, alert_cond *out,
                        size_t *n, size_t max)
{
    alert_cond *c;
    size_t len;

    if (in->n_missing == 0)
        return;
    c = next_cond(out, n, max, ALERT_KIND_DATA_MISSING);
    if (!c)
        return;
    snprintf(c->key, sizeof c->key, "p%" PRId64 ":data_missing", in->patient_id);
    c->present = true;
    c->priority = cfg->missing_priority;
    c->level = (int)in->n_missing;
    len = (size_t)snprintf(c->message, sizeof c->message, "No ");
    for (size_t i = 0; i < in->n_missing && len < sizeof c->message; i++)
        len += (size_t)snprintf(c->message + len, sizeof c->message - len, "%s%s",
                                i == 0                   ? ""
                                : i + 1 == in->n_missing ? " or "
                                                         : ", ",
                                in->missing[i]);
    if (len < sizeof c->message)
        snprintf(c->message + len, sizeof c->message - len, " in the last %g h",
                 (double)cfg->missing_ms / 3600000.0);
}

size_t alerts_patient_conditions(const rules_alerts *cfg, const alerts_patient_input *in,
                                 alert_cond *out, size_t max)
{
    size_t n = 0;

    add_decision(cfg, in, out, &n, max);
    add_grades(cfg, in, out, &n, max);
    add_news2(cfg, in, out, &n, max);
    add_missing(cfg, in, out, &n, max);
    return n;
}

bool alerts_device_condition(const rules_alerts *cfg, const alerts_device_input *d, int64_t now,
                             alert_cond *out)
{
    int64_t silent = now - d->last_heard_ms;

    if (silent <= cfg->device_silent_ms)
        return false;
    memset(out, 0, sizeof *out);
    out->kind = ALERT_KIND_DEVICE_SILENT;
    out->present = true;
    out->priority = cfg->device_priority;
    out->grade = -1;
    out->device_id = d->device_id;
    snprintf(out->key, sizeof out->key, "d%" PRId64 ":silent", d->device_id);
    if (silent < 120000)
        snprintf(out->message, sizeof out->message,
                 "Device %s on bed %s has sent nothing for %" PRId64 " s", d->serial, d->bed,
                 silent / 1000);
    else
        snprintf(out->message, sizeof out->message,
                 "Device %s on bed %s has sent nothing for %" PRId64 " min", d->serial, d->bed,
                 silent / 60000);
    return true;
}

/* --- transitions -------------------------------------------------------------- */

static alert_op *next_op(alert_op *ops, size_t *n, size_t max, alert_op_kind kind)
{
    alert_op *o;

    if (*n >= max)
        return NULL;
    o = &ops[(*n)++];
    memset(o, 0, sizeof *o);
    o->op = kind;
    return o;
}

static const alert_cond *find_cond(const alert_cond *conds, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(conds[i].key, key) == 0)
            return &conds[i];
    return NULL;
}

static bool has_open(const alert_open *open, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(open[i].key, key) == 0)
            return true;
    return false;
}

static const char *resolution_text(alert_kind k)
{
    switch (k) {
    case ALERT_KIND_DECISION:
        return "decision back to give (resume criteria met)";
    case ALERT_KIND_DATA_MISSING:
        return "every watched vital has a fresh value";
    case ALERT_KIND_DEVICE_SILENT:
        return "device heard from again, or no longer serving an occupied bed";
    case ALERT_KIND_DEVICE_CLOCK:
        return "device clock back within the margin, or no longer serving an occupied bed";
    case ALERT_KIND_GRADE:
        return "grade below the alert threshold on every evaluation over the resolve time";
    case ALERT_KIND_NEWS2:
        return "NEWS2 below the alert thresholds on every evaluation over the resolve time";
    case ALERT_KIND__COUNT:
        break;
    }
    return "condition cleared";
}

size_t alerts_reconcile(const rules_alerts *cfg, const alert_cond *conds, size_t n_conds,
                        alert_open *open, size_t n_open, int64_t now, alert_op *ops, size_t max)
{
    size_t n = 0;

    /* open alerts: still present (maybe worse), unknown, or clear */
    for (size_t i = 0; i < n_open; i++) {
        alert_open *a = &open[i];
        const alert_cond *c = find_cond(conds, n_conds, a->key);
        alert_op *o;

        if (c && c->present) {
            a->clear_since = 0;
            a->confirm = c->confirm;
            if (c->priority > a->base_priority || c->level > a->level) {
                o = next_op(ops, &n, max, ALERT_OP_UPGRADE);
                if (!o)
                    break;
                o->alert_id = a->id;
                o->cond = c;
                o->priority = c->priority > a->priority ? c->priority : a->priority;
                o->reactivate = a->state == ALERT_ACKNOWLEDGED;
            }
            continue;
        }
        if (c) { /* unknown: a run of clear evaluations is broken */
            a->clear_since = 0;
            continue;
        }
        if (!alert_kind_immediate(a->kind) || a->confirm) {
            if (a->clear_since == 0 || a->clear_since > now) {
                a->clear_since = now;
                continue;
            }
            if (now - a->clear_since < cfg->resolve_ms)
                continue;
        }
        o = next_op(ops, &n, max, ALERT_OP_RESOLVE);
        if (!o)
            break;
        o->alert_id = a->id;
        snprintf(o->resolution, sizeof o->resolution, "%s", resolution_text(a->kind));
    }
    /* present conditions without an open alert */
    for (size_t i = 0; i < n_conds; i++) {
        const alert_cond *c = &conds[i];
        alert_op *o;
        if (!c->present || c->priority == RULES_PRIO_NONE || has_open(open, n_open, c->key))
            continue;
        o = next_op(ops, &n, max, ALERT_OP_RAISE);
        if (!o)
            break;
        o->cond = c;
        o->priority = c->priority;
    }
    return n;
}

size_t alerts_escalate(const rules_alerts *cfg, const alert_open *open, size_t n_open, int64_t now,
                       alert_op *ops, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < n_open; i++) {
        const alert_open *a = &open[i];
        bool escalated_since = a->escalated_at != 0 && a->escalated_at >= a->activated_at;
        int64_t ref = escalated_since ? a->escalated_at : a->activated_at;
        alert_op *o;

        if (a->state != ALERT_ACTIVE || now - ref < cfg->escalate_ms)
            continue;
        if (a->priority >= RULES_PRIO_HIGH && escalated_since)
            continue;
        o = next_op(ops, &n, max, ALERT_OP_ESCALATE);
        if (!o)
            break;
        o->alert_id = a->id;
        o->priority = a->priority >= RULES_PRIO_HIGH ? RULES_PRIO_HIGH : a->priority + 1;
    }
    return n;
}
