/* test_alerts: the alert manager's decisions (include/alerts.h) and the rule
 * file's "alerts" section (rules.c). Pure: conditions in, transitions out.
 * Each test names the anti-fatigue property it pins: one alert per
 * condition, upgrade in place, resolution on the resume criterion (not the
 * first normal value), escalation of unacknowledged alerts only. */
#include "alerts.h"
#include "obs.h"
#include "rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#define MIN 60000

/* The defaults of docs/rules.md 7.8 with the file's values. */
static rules_alerts cfg(void)
{
    json_t *doc = test_default_rules_doc();
    rules_set *rs = rules_load_json(doc, "il2-default.json", NULL);
    rules_alerts a;

    assert_non_null(rs);
    a = rs->alerts;
    rules_unref(rs);
    json_decref(doc);
    return a;
}

static alerts_term fever_term(int grade)
{
    alerts_term t = {.id = "fever", .label = "Fever", .grade = grade};
    return t;
}

/* One patient evaluation with one term, a decision and a complete NEWS2 of 0. */
static alerts_patient_input input(const alerts_term *t, engine_action a)
{
    alerts_patient_input in = {.patient_id = 7,
                               .terms = t,
                               .n_terms = 1,
                               .action = a,
                               .reason = "SpO2 < 90 %",
                               .news2_complete = true,
                               .news2_score = 0};
    return in;
}

/* An open alert as the store would return it for a condition. */
static alert_open opened(int64_t id, const alert_cond *c, int64_t at)
{
    alert_open o;

    memset(&o, 0, sizeof o);
    o.id = id;
    snprintf(o.key, sizeof o.key, "%s", c->key);
    o.kind = c->kind;
    o.state = ALERT_ACTIVE;
    o.priority = o.base_priority = c->priority;
    o.level = c->level;
    o.grade = c->grade;
    o.activated_at = at;
    return o;
}

static const alert_cond *find(const alert_cond *c, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].key, key) == 0)
            return &c[i];
    return NULL;
}

static void test_config_defaults_and_file(void **state)
{
    rules_alerts a = cfg();
    json_t *doc = test_default_rules_doc();
    rules_set *rs;

    (void)state;
    assert_int_equal(a.grade_medium_at, 2);
    assert_int_equal(a.grade_high_at, 3);
    assert_true(a.decision_hold && a.decision_discontinue);
    assert_int_equal(a.decision_priority, RULES_PRIO_HIGH);
    assert_int_equal(a.news2_medium_at, 5);
    assert_int_equal(a.news2_high_at, 7);
    assert_int_equal(a.news2_single_3, RULES_PRIO_LOW);
    assert_int_equal(a.device_silent_ms, 5 * MIN);
    assert_int_equal(a.missing_ms, 4 * 60 * MIN);
    assert_int_equal(a.n_missing, 3);
    assert_int_equal(a.escalate_ms, 10 * MIN);
    assert_int_equal(a.resolve_ms, 15 * MIN);
    assert_int_equal(a.evaluate_ms, 30000);
    /* without the section: the same defaults (thresholds from news2/required) */
    json_object_del(doc, "alerts");
    rs = rules_load_json(doc, "x.json", NULL);
    assert_non_null(rs);
    assert_int_equal(rs->alerts.grade_medium_at, 2);
    assert_int_equal(rs->alerts.news2_high_at, 7);
    assert_int_equal(rs->alerts.n_missing, 3);
    assert_int_equal(rs->alerts.escalate_ms, 10 * MIN);
    assert_null(rs->alerts.source);
    rules_unref(rs);
    json_decref(doc);
}

static void test_config_errors_are_precise(void **state)
{
    json_t *doc = test_default_rules_doc();
    json_t *al = json_object_get(doc, "alerts");
    rules_errors errs = {0};
    rules_set *rs;
    bool a = false, b = false, c = false, d = false;

    (void)state;
    json_object_set_new(json_object_get(al, "grade"), "medium_at", json_integer(4));
    json_object_set_new(json_object_get(al, "device_silent"), "priority", json_string("urgent"));
    json_object_set_new(al, "escalate_after_minutes", json_integer(0));
    json_object_set_new(json_object_get(al, "data_missing"), "codes", json_pack("[s]", "pulse"));
    rs = rules_load_json(doc, "il2-default.json", &errs);
    assert_null(rs);
    for (size_t i = 0; i < errs.n; i++) {
        const char *t = errs.items[i].text;
        a |= strcmp(t, "il2-default.json: alerts: field 'grade.medium_at': must not be above "
                       "grade.high_at (3)") == 0;
        b |= strcmp(t, "il2-default.json: alerts: field 'device_silent.priority': expected low, "
                       "medium or high") == 0;
        c |= strstr(t, "field 'escalate_after_minutes': expected a number above 0") != NULL;
        d |= strcmp(t, "il2-default.json: alerts: field 'data_missing.codes[0]': unknown "
                       "observation code 'pulse'") == 0;
    }
    for (size_t i = 0; !(a && b && c && d) && i < errs.n; i++)
        fprintf(stderr, "    %s\n", errs.items[i].text);
    assert_true(a && b && c && d);
    rules_errors_free(&errs);
    json_decref(doc);
}

/* grade 2 raises a medium alert, once; 3 upgrades it in place (high). */
static void test_grade_raise_and_upgrade_in_place(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(2);
    alerts_patient_input in = input(&t, ENGINE_GIVE);
    alert_cond conds[8];
    alert_op ops[8];
    alert_open open[2];
    size_t nc, n;

    (void)state;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, NULL, 0, 1000, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_RAISE);
    assert_int_equal(ops[0].priority, RULES_PRIO_MEDIUM);
    assert_string_equal(ops[0].cond->key, "p7:grade:fever");
    assert_string_equal(ops[0].cond->message, "Fever: CTCAE grade 2");
    assert_int_equal(ops[0].cond->grade, 2);
    open[0] = opened(1, ops[0].cond, 1000);
    /* the same grade again: nothing (one alert per condition) */
    n = alerts_reconcile(&a, conds, nc, open, 1, 2000, ops, 8);
    assert_int_equal(n, 0);
    /* acknowledged, then worse: upgraded in place and re-activated */
    open[0].state = ALERT_ACKNOWLEDGED;
    t.grade = 3;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 3000, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_UPGRADE);
    assert_int_equal(ops[0].alert_id, 1);
    assert_int_equal(ops[0].priority, RULES_PRIO_HIGH);
    assert_true(ops[0].reactivate);
    /* back to 2 while open: no downgrade, no second alert */
    open[0].state = ALERT_ACKNOWLEDGED;
    open[0].priority = open[0].base_priority = RULES_PRIO_HIGH;
    open[0].level = open[0].grade = 3;
    t.grade = 2;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 4000, ops, 8);
    assert_int_equal(n, 0);
}

/* Not on the first normal value: clear on every evaluation for resolve_ms. */
static void test_grade_resolves_after_clear_period(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(3);
    alerts_patient_input in = input(&t, ENGINE_GIVE);
    alert_cond conds[8];
    alert_op ops[8];
    alert_open open[1];
    size_t nc, n;
    int64_t t0 = 100 * MIN;

    (void)state;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, NULL, 0, t0, ops, 8);
    assert_int_equal(n, 1);
    open[0] = opened(5, ops[0].cond, t0);
    t.grade = 0;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    /* first normal value: not resolved, the clear run starts */
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + MIN, ops, 8);
    assert_int_equal(n, 0);
    assert_int_equal(open[0].clear_since, t0 + MIN);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + MIN + a.resolve_ms - 1, ops, 8);
    assert_int_equal(n, 0);
    /* grade 2 in between: the run restarts (grade 2 is still >= medium_at) */
    t.grade = 2;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + 10 * MIN, ops, 8);
    assert_int_equal(n, 0);
    assert_int_equal(open[0].clear_since, 0);
    /* ungradable (stale data) also restarts it: unknown is not clear */
    t.grade = 1;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + 11 * MIN, ops, 8);
    assert_int_equal(open[0].clear_since, t0 + 11 * MIN);
    t.grade = -1;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_non_null(find(conds, nc, "p7:grade:fever"));
    assert_false(find(conds, nc, "p7:grade:fever")->present);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + 12 * MIN, ops, 8);
    assert_int_equal(n, 0);
    assert_int_equal(open[0].clear_since, 0);
    t.grade = 1;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + 13 * MIN, ops, 8);
    assert_int_equal(n, 0);
    n = alerts_reconcile(&a, conds, nc, open, 1, t0 + 13 * MIN + a.resolve_ms, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_RESOLVE);
    assert_int_equal(ops[0].alert_id, 5);
}

/* The decision alert follows the engine: hold raises (high, top reason),
 * discontinue upgrades, insufficient_data keeps it, give resolves at once. */
static void test_decision_alert(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(0);
    alerts_patient_input in = input(&t, ENGINE_HOLD);
    alert_cond conds[8];
    alert_op ops[8];
    alert_open open[1];
    size_t nc, n;

    (void)state;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, NULL, 0, 1000, ops, 8);
    assert_int_equal(n, 1);
    assert_string_equal(ops[0].cond->key, "p7:decision");
    assert_int_equal(ops[0].priority, RULES_PRIO_HIGH);
    assert_string_equal(ops[0].cond->message, "Dose decision hold: SpO2 < 90 %");
    open[0] = opened(9, ops[0].cond, 1000);
    in.action = ENGINE_DISCONTINUE;
    in.reason = "Ischemic ECG change";
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 2000, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_UPGRADE);
    assert_string_equal(ops[0].cond->message, "Dose decision discontinue: Ischemic ECG change");
    open[0].level = ENGINE_DISCONTINUE;
    in.action = ENGINE_INSUFFICIENT_DATA;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 3000, ops, 8);
    assert_int_equal(n, 0);
    in.action = ENGINE_GIVE;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 4000, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_RESOLVE);
    assert_int_equal(ops[0].alert_id, 9);
}

/* A hold from a criterion without a resume condition (consensus, met or
 * not at each reading): a HR hovering at 100 must not raise and resolve the
 * alert at every reading, so clearing is confirmed over resolve_ms. */
static void test_decision_without_resume_confirms(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(0);
    alerts_patient_input in = input(&t, ENGINE_HOLD);
    alert_cond conds[8];
    alert_op ops[8];
    alert_open open[1];
    size_t nc, n;

    (void)state;
    in.reason = "HR 100-130 /min";
    in.reason_without_resume = true;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, NULL, 0, 0, ops, 8);
    assert_int_equal(n, 1);
    open[0] = opened(4, ops[0].cond, 0);
    n = alerts_reconcile(&a, conds, nc, open, 1, 1000, ops, 8); /* learns `confirm` */
    assert_int_equal(n, 0);
    assert_true(open[0].confirm);
    in.action = ENGINE_GIVE;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 2000, ops, 8);
    assert_int_equal(n, 0);
    in.action = ENGINE_HOLD; /* HR 101 again: the same alert, no new one */
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 3000, ops, 8);
    assert_int_equal(n, 0);
    in.action = ENGINE_GIVE;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 4000, ops, 8);
    assert_int_equal(n, 0);
    n = alerts_reconcile(&a, conds, nc, open, 1, 4000 + a.resolve_ms, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_RESOLVE);
}

/* RCP thresholds: 5-6 medium, >= 7 high, a single 3 low; incomplete and
 * below: unknown. */
static void test_news2_alert(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(0);
    alerts_patient_input in = input(&t, ENGINE_GIVE);
    alert_cond conds[8];
    size_t nc;
    const alert_cond *c;

    (void)state;
    in.news2_score = 4;
    in.news2_single_3 = true;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    c = find(conds, nc, "p7:news2");
    assert_non_null(c);
    assert_true(c->present);
    assert_int_equal(c->priority, RULES_PRIO_LOW);
    assert_string_equal(c->message, "NEWS2 4 with a single parameter scoring 3: low-medium "
                                    "clinical risk");
    in.news2_score = 6;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_int_equal(find(conds, nc, "p7:news2")->priority, RULES_PRIO_MEDIUM);
    in.news2_score = 7;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_int_equal(find(conds, nc, "p7:news2")->priority, RULES_PRIO_HIGH);
    assert_string_equal(find(conds, nc, "p7:news2")->message, "NEWS2 7: high clinical risk");
    in.news2_single_3 = false;
    in.news2_score = 3;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_null(find(conds, nc, "p7:news2"));
    in.news2_complete = false;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_non_null(find(conds, nc, "p7:news2"));
    assert_false(find(conds, nc, "p7:news2")->present);
    in.news2_score = 5; /* a partial score is a lower bound: already medium */
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    assert_true(find(conds, nc, "p7:news2")->present);
    assert_string_equal(find(conds, nc, "p7:news2")->message, "NEWS2 >= 5: medium clinical risk");
}

static void test_missing_and_device(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(0);
    alerts_patient_input in = input(&t, ENGINE_GIVE);
    alerts_device_input d = {.device_id = 3, .serial = "MON-B1", .bed = "B1", .last_heard_ms = 0};
    alert_cond conds[8], dc;
    alert_op ops[8];
    alert_open open[1];
    size_t nc, n;
    const alert_cond *c;

    (void)state;
    in.missing[0] = "sbp";
    in.missing[1] = "spo2";
    in.n_missing = 2;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    c = find(conds, nc, "p7:data_missing");
    assert_non_null(c);
    assert_string_equal(c->message, "No sbp or spo2 in the last 4 h");
    assert_int_equal(c->priority, RULES_PRIO_MEDIUM);
    open[0] = opened(2, c, 0);
    in.n_missing = 0;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, open, 1, 1000, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].op, ALERT_OP_RESOLVE);
    /* device: exactly the silence limit is not silent; one ms more is */
    assert_false(alerts_device_condition(&a, &d, a.device_silent_ms, &dc));
    assert_true(alerts_device_condition(&a, &d, a.device_silent_ms + 1, &dc));
    assert_string_equal(dc.key, "d3:silent");
    assert_int_equal(dc.device_id, 3);
    assert_string_equal(dc.message, "Device MON-B1 on bed B1 has sent nothing for 5 min");
}

/* Unacknowledged alerts go one step up per period; high once; acknowledged never. */
static void test_escalation(void **state)
{
    rules_alerts a = cfg();
    alert_open o[4];
    alert_op ops[8];
    size_t n;

    (void)state;
    memset(o, 0, sizeof o);
    for (int i = 0; i < 4; i++) {
        o[i].id = i + 1;
        o[i].state = ALERT_ACTIVE;
        o[i].activated_at = 0;
    }
    o[0].priority = RULES_PRIO_LOW;
    o[1].priority = RULES_PRIO_MEDIUM;
    o[2].priority = RULES_PRIO_HIGH;
    o[3].priority = RULES_PRIO_MEDIUM;
    o[3].state = ALERT_ACKNOWLEDGED;
    n = alerts_escalate(&a, o, 4, a.escalate_ms - 1, ops, 8);
    assert_int_equal(n, 0);
    n = alerts_escalate(&a, o, 4, a.escalate_ms, ops, 8);
    assert_int_equal(n, 3);
    assert_int_equal(ops[0].alert_id, 1);
    assert_int_equal(ops[0].priority, RULES_PRIO_MEDIUM);
    assert_int_equal(ops[1].priority, RULES_PRIO_HIGH);
    assert_int_equal(ops[2].alert_id, 3);
    assert_int_equal(ops[2].priority, RULES_PRIO_HIGH);
    /* after escalating: the next step one period later; high escalated stays */
    o[0].priority = RULES_PRIO_MEDIUM;
    o[1].priority = RULES_PRIO_HIGH;
    for (int i = 0; i < 3; i++)
        o[i].escalated_at = a.escalate_ms;
    n = alerts_escalate(&a, o, 4, 2 * a.escalate_ms - 1, ops, 8);
    assert_int_equal(n, 0);
    n = alerts_escalate(&a, o, 4, 2 * a.escalate_ms, ops, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ops[0].alert_id, 1);
    assert_int_equal(ops[0].priority, RULES_PRIO_HIGH);
    /* re-activated by an upgrade: escalation starts over */
    o[1].activated_at = 3 * a.escalate_ms;
    n = alerts_escalate(&a, o + 1, 1, 4 * a.escalate_ms, ops, 8);
    assert_int_equal(n, 1);
}

/* An acknowledged alert is never raised again while its condition lasts. */
static void test_acknowledged_not_reraised(void **state)
{
    rules_alerts a = cfg();
    alerts_term t = fever_term(3);
    alerts_patient_input in = input(&t, ENGINE_HOLD);
    alert_cond conds[8];
    alert_op ops[8];
    alert_open open[2];
    size_t nc, n;

    (void)state;
    nc = alerts_patient_conditions(&a, &in, conds, 8);
    n = alerts_reconcile(&a, conds, nc, NULL, 0, 0, ops, 8);
    assert_int_equal(n, 2);
    open[0] = opened(1, ops[0].cond, 0);
    open[1] = opened(2, ops[1].cond, 0);
    open[0].state = open[1].state = ALERT_ACKNOWLEDGED;
    for (int64_t now = MIN; now < 60 * MIN; now += MIN) {
        n = alerts_reconcile(&a, conds, nc, open, 2, now, ops, 8);
        assert_int_equal(n, 0);
        n = alerts_escalate(&a, open, 2, now, ops, 8);
        assert_int_equal(n, 0);
    }
}

static void test_names(void **state)
{
    (void)state;
    for (int k = 0; k < ALERT_KIND__COUNT; k++)
        assert_int_equal(alert_kind_parse(alert_kind_name((alert_kind)k)), k);
    assert_int_equal(alert_kind_parse("nope"), -1);
    assert_int_equal(alert_state_parse("acknowledged"), ALERT_ACKNOWLEDGED);
    assert_int_equal(alert_prio_parse("high"), RULES_PRIO_HIGH);
    assert_int_equal(alert_prio_parse("none"), RULES_PRIO_NONE);
    assert_true(alert_kind_immediate(ALERT_KIND_DECISION));
    assert_false(alert_kind_immediate(ALERT_KIND_GRADE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_file),
        cmocka_unit_test(test_config_errors_are_precise),
        cmocka_unit_test(test_grade_raise_and_upgrade_in_place),
        cmocka_unit_test(test_grade_resolves_after_clear_period),
        cmocka_unit_test(test_decision_alert),
        cmocka_unit_test(test_decision_without_resume_confirms),
        cmocka_unit_test(test_news2_alert),
        cmocka_unit_test(test_missing_and_device),
        cmocka_unit_test(test_escalation),
        cmocka_unit_test(test_acknowledged_not_reraised),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
