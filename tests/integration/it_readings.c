/* it_readings: POST /api/v1/readings (devices) and
 * POST /api/v1/patients/{id}/observations (staff), and reading back:
 * GET .../readings, GET .../series and GET /api/v1/ward (docs/api.md
 * "Observation codes", "Readings (devices)", "Reading back", "ward").
 * Every test builds its own bedside: a bed, a monitor on it, a patient in
 * it admitted six hours ago. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS  60000LL
#define HOUR_MS 3600000LL

static wd_fixture *fx(void **state)
{
    return *state;
}

typedef struct bedside {
    const char *bed;
    const char *token; /* the monitor's */
    long long device_id;
    long long pid;    /* the patient in the bed */
    int64_t admitted; /* when */
} bedside;

static bedside make_bedside(wd_fixture *f)
{
    bedside b;

    b.bed = wd_new_bed(f);
    b.token = wd_new_device(f, b.bed, &b.device_id);
    b.admitted = wd_now_ms() / 1000 * 1000 - 6 * HOUR_MS;
    b.pid = wd_admit(f, b.bed, b.admitted, json_pack("{s:{s:f}}", "baseline", "weight_kg", 80.0));
    return b;
}

static const char *mid(wd_fixture *f)
{
    return wd_uniq(f->s, "msg-");
}

static json_t *num(double v)
{
    return json_real(v);
}

/* The rejected entry for `index`, or NULL. */
static json_t *rejected_at(const json_t *body, long long index)
{
    return wd_find_int(json_object_get(body, "rejected"), "index", index);
}

/* Checks {"accepted", "duplicates", "rejected": [...]}. */
static void check_counts(const wd_resp *r, long long accepted, long long duplicates,
                         size_t rejected)
{
    if (WD_INT(r->json, "accepted") != accepted || WD_INT(r->json, "duplicates") != duplicates ||
        json_array_size(WD_ARR(r->json, "rejected")) != rejected)
        fail_msg("want accepted %lld, duplicates %lld, %zu rejected; got %s", accepted, duplicates,
                 rejected, r->body);
}

static void check_rejected(const wd_resp *r, long long index, const char *code)
{
    json_t *e = rejected_at(r->json, index);

    if (!e)
        fail_msg("item %lld is not among the rejected: %s", index, r->body);
    if (strcmp(WD_STR(e, "code"), code) != 0)
        fail_msg("item %lld rejected as %s, want %s: %s", index, WD_STR(e, "code"), code, r->body);
    if (strlen(WD_STR(e, "message")) == 0)
        fail_msg("item %lld rejected without a message", index);
}

/* One item posted alone must be refused with `code` (422). */
static void expect_item_rejected(wd_fixture *f, const char *token, json_t *item, const char *code)
{
    wd_resp *r = wd_post_readings(f->s, token, json_pack("[o]", item));

    WD_EXPECT_ERR(r, 422, "no_reading_accepted");
    check_counts(r, 0, 0, 1);
    check_rejected(r, 0, code);
}

/* --- POST /api/v1/readings ---------------------------------------------------------- */

static void test_mixed_batch(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 10 * MIN_MS;
    json_t *items = json_array();
    json_t *bad;
    wd_resp *r;
    json_t *got;

    json_array_append_new(items, wd_item(mid(f), "hr", json_integer(118), "/min", t));  /* 0 ok */
    json_array_append_new(items, wd_item(mid(f), "hr", json_integer(350), "/min", t));  /* 1 */
    json_array_append_new(items, wd_item(mid(f), "spo2", json_integer(97), NULL, t));   /* 2 ok */
    json_array_append_new(items, wd_item(mid(f), "xyz", json_integer(1), NULL, t));     /* 3 */
    json_array_append_new(items, wd_item(mid(f), "temp", json_string("hot"), NULL, t)); /* 4 */
    bad = wd_item(mid(f), "hr", json_integer(80), NULL, t);                             /* 5 */
    json_object_del(bad, "time");
    json_array_append_new(items, bad);
    bad = wd_item(mid(f), "hr", json_integer(80), NULL, t); /* 6 */
    json_object_set_new(bad, "time", json_string("yesterday"));
    json_array_append_new(items, bad);
    bad = wd_item(mid(f), "hr", json_integer(80), NULL, t); /* 7 */
    json_object_set_new(bad, "colour", json_string("red"));
    json_array_append_new(items, bad);
    json_array_append_new(items, json_integer(42));                                     /* 8 */
    json_array_append_new(items, wd_item(NULL, "hr", json_integer(80), NULL, t));       /* 9 */
    json_array_append_new(items, wd_item(mid(f), "sbp", json_integer(120), "mmHg", t)); /* 10 */
    r = wd_post_readings(f->s, b.token, items);
    WD_EXPECT(r, 201);
    check_counts(r, 2, 0, 9);
    check_rejected(r, 1, "implausible_value");
    check_rejected(r, 3, "unknown_code");
    check_rejected(r, 4, "invalid_value");
    check_rejected(r, 5, "missing_field");
    check_rejected(r, 6, "invalid_time");
    check_rejected(r, 7, "unknown_field");
    check_rejected(r, 8, "invalid_reading");
    check_rejected(r, 9, "missing_field");
    check_rejected(r, 10, "invalid_unit");
    /* Exactly the two valid ones were stored, for the patient in the bed. */
    got = wd_all_readings(f->s, f->viewer, b.pid, NULL);
    assert_int_equal(json_array_size(got), 2);
    assert_non_null(wd_find(got, "code", "hr"));
    assert_non_null(wd_find(got, "code", "spo2"));
    WD_NEAR(WD_NUM(wd_find(got, "code", "hr"), "value"), 118, 1e-9);
    assert_string_equal(WD_STR(wd_find(got, "code", "hr"), "unit"), "/min");
    assert_int_equal(WD_TIME(wd_find(got, "code", "hr"), "time"), t);
}

static void test_all_invalid_is_422(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - MIN_MS;
    wd_resp *r =
        wd_post_readings(f->s, b.token,
                         json_pack("[o, o]", wd_item(mid(f), "hr", json_integer(350), NULL, t),
                                   wd_item(mid(f), "nope", json_integer(1), NULL, t)));

    /* The error shape (checked by the harness) and the batch shape. */
    WD_EXPECT_ERR(r, 422, "no_reading_accepted");
    check_counts(r, 0, 0, 2);
    check_rejected(r, 0, "implausible_value");
    check_rejected(r, 1, "unknown_code");
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), 0);
}

static void test_invalid_batch_shape(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    wd_resp *r;

    r = wd_reqj(f->s, "POST", "/api/v1/readings", b.token, json_pack("{s:s}", "readings", "x"));
    WD_EXPECT(r, 422);
    r = wd_reqj(f->s, "POST", "/api/v1/readings", b.token, json_pack("{}"));
    WD_EXPECT(r, 422);
    r = wd_reqj(f->s, "POST", "/api/v1/readings", b.token, json_pack("[]"));
    WD_EXPECT(r, 422);
}

static void test_duplicates(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    bedside other = make_bedside(f);
    int64_t t = wd_now_ms() - 30 * MIN_MS;
    json_t *batch = json_pack("[o, o, o]", wd_item("dup-1", "hr", json_integer(81), NULL, t),
                              wd_item("dup-2", "hr", json_integer(82), NULL, t + 1000),
                              wd_item("dup-3", "rr", json_integer(16), NULL, t + 2000));
    wd_resp *r;

    r = wd_post_readings(f->s, b.token, json_deep_copy(batch));
    WD_EXPECT(r, 201);
    check_counts(r, 3, 0, 0);
    /* Retried: all duplicates, still 201, nothing stored twice. */
    r = wd_post_readings(f->s, b.token, json_deep_copy(batch));
    WD_EXPECT(r, 201);
    check_counts(r, 0, 3, 0);
    json_decref(batch);
    /* One old and one new id. */
    r = wd_post_readings(f->s, b.token,
                         json_pack("[o, o]",
                                   wd_item("dup-3", "rr", json_integer(16), NULL, t + 2000),
                                   wd_item("dup-4", "rr", json_integer(18), NULL, t + 3000)));
    WD_EXPECT(r, 201);
    check_counts(r, 1, 1, 0);
    /* The same id twice in one batch: the second is a duplicate. */
    r = wd_post_readings(f->s, b.token,
                         json_pack("[o, o]",
                                   wd_item("dup-5", "hr", json_integer(90), NULL, t + 4000),
                                   wd_item("dup-5", "hr", json_integer(90), NULL, t + 4000)));
    WD_EXPECT(r, 201);
    check_counts(r, 1, 1, 0);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), 5);
    /* Ids are unique per device: another device may use the same ones. */
    r = wd_post_readings(f->s, other.token,
                         json_pack("[o]", wd_item("dup-1", "hr", json_integer(70), NULL, t)));
    WD_EXPECT(r, 201);
    check_counts(r, 1, 0, 0);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, other.pid, NULL)), 1);
}

static json_t *only_reading(wd_fixture *f, long long pid, const char *code)
{
    json_t *got = wd_all_readings(f->s, f->viewer, pid, code);

    if (json_array_size(got) != 1) {
        char *text = json_dumps(got, JSON_COMPACT);
        print_error("want exactly one %s reading, got %s\n", code, text);
        free(text);
        fail();
    }
    return json_array_get(got, 0);
}

/* Inputs in a listed unit are converted to the canonical unit. */
static void test_unit_conversion(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 20 * MIN_MS;
    wd_resp *r;
    json_t *g;

    r = wd_post_readings(f->s, b.token,
                         json_pack("[o, o, o, o]", wd_item(mid(f), "temp", num(102.2), "[degF]", t),
                                   wd_item(mid(f), "weight", json_integer(180), "[lb_av]", t),
                                   wd_item(mid(f), "creatinine", num(265.26), "umol/L", t),
                                   wd_item(mid(f), "bilirubin", num(1.2), "mg/dL", t)));
    WD_EXPECT(r, 201);
    check_counts(r, 4, 0, 0);
    g = only_reading(f, b.pid, "temp");
    WD_NEAR(WD_NUM(g, "value"), 39.0, 1e-9);
    assert_string_equal(WD_STR(g, "unit"), "Cel");
    g = only_reading(f, b.pid, "weight");
    WD_NEAR(WD_NUM(g, "value"), 180 * 0.45359237, 0.006);
    assert_string_equal(WD_STR(g, "unit"), "kg");
    g = only_reading(f, b.pid, "creatinine");
    WD_NEAR(WD_NUM(g, "value"), 3.0, 1e-6);
    assert_string_equal(WD_STR(g, "unit"), "mg/dL");
    /* The canonical unit is kept as sent. */
    g = only_reading(f, b.pid, "bilirubin");
    WD_NEAR(WD_NUM(g, "value"), 1.2, 1e-12);
}

/* ug/min of phenylephrine is converted by the patient's baseline weight
 * (80 kg here); without a baseline weight it cannot be. */
static void test_per_weight_unit(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 5 * MIN_MS;
    json_t *g;

    WD_EXPECT(wd_post_readings(f->s, b.token,
                               json_pack("[o]", wd_item(mid(f), "phenylephrine", json_integer(40),
                                                        "ug/min", t))),
              201);
    g = only_reading(f, b.pid, "phenylephrine");
    WD_NEAR(WD_NUM(g, "value"), 0.5, 1e-9);
    assert_string_equal(WD_STR(g, "unit"), "ug/kg/min");
    /* Staff entries too. */
    WD_EXPECT(
        wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", b.pid), f->nurse,
                json_pack("{s:[o]}", "readings",
                          wd_item(NULL, "phenylephrine", json_integer(80), "ug/min", t + 1000))),
        201);
    g = wd_all_readings(f->s, f->viewer, b.pid, "phenylephrine");
    assert_int_equal(json_array_size(g), 2);
    WD_NEAR(WD_NUM(g, "1.value"), 1.0, 1e-9);
    /* A patient without a baseline weight. */
    {
        const char *bed = wd_new_bed(f);
        const char *token = wd_new_device(f, bed, NULL);
        wd_admit(f, bed, wd_now_ms() - HOUR_MS, NULL);
        expect_item_rejected(f, token,
                             wd_item(mid(f), "phenylephrine", json_integer(40), "ug/min", t),
                             "invalid_unit");
    }
}

static void test_unit_rules(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - MIN_MS;

    expect_item_rejected(f, b.token, wd_item(mid(f), "hr", json_integer(80), "bpm", t),
                         "invalid_unit");
    expect_item_rejected(f, b.token, wd_item(mid(f), "temp", num(38.0), "F", t), "invalid_unit");
    expect_item_rejected(f, b.token, wd_item(mid(f), "temp", num(38.0), "cel", t), "invalid_unit");
    expect_item_rejected(f, b.token, wd_item(mid(f), "weight", num(80), "lb", t), "invalid_unit");
    expect_item_rejected(f, b.token, wd_item(mid(f), "rhythm", json_string("af"), "/min", t),
                         "invalid_unit");
    /* Omitted unit: the canonical one. */
    WD_EXPECT(
        wd_post_readings(f->s, b.token,
                         json_pack("[o]", wd_item(mid(f), "spo2", json_integer(95), NULL, t))),
        201);
    assert_string_equal(WD_STR(only_reading(f, b.pid, "spo2"), "unit"), "%");
}

static void test_plausibility_and_types(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - MIN_MS;

    expect_item_rejected(f, b.token, wd_item(mid(f), "hr", json_integer(301), NULL, t),
                         "implausible_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "hr", json_integer(-1), NULL, t),
                         "implausible_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "spo2", num(100.5), NULL, t),
                         "implausible_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "temp", num(46), "Cel", t),
                         "implausible_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "temp", num(24.9), NULL, t),
                         "implausible_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "hr", json_string("80"), NULL, t),
                         "invalid_value");
    expect_item_rejected(f, b.token, wd_item(mid(f), "hr", json_true(), NULL, t), "invalid_value");
    /* The edges of the range are plausible. */
    WD_EXPECT(
        wd_post_readings(f->s, b.token,
                         json_pack("[o, o, o]", wd_item(mid(f), "hr", json_integer(0), NULL, t),
                                   wd_item(mid(f), "hr", json_integer(300), NULL, t + 1),
                                   wd_item(mid(f), "spo2", json_integer(100), NULL, t))),
        201);
}

static void test_times(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t now = wd_now_ms();
    json_t *item;
    wd_resp *r;

    /* More than 5 minutes ahead: rejected; a little ahead: accepted. */
    expect_item_rejected(f, b.token,
                         wd_item(mid(f), "hr", json_integer(80), NULL, now + 10 * MIN_MS),
                         "future_time");
    r = wd_post_readings(
        f->s, b.token,
        json_pack("[o]", wd_item(mid(f), "hr", json_integer(80), NULL, now + 3 * MIN_MS)));
    WD_EXPECT(r, 201);
    /* Missing time. */
    item = wd_item(mid(f), "hr", json_integer(80), NULL, now);
    json_object_del(item, "time");
    expect_item_rejected(f, b.token, item, "missing_field");
    /* No zone, not a time. */
    item = wd_item(mid(f), "hr", json_integer(80), NULL, now);
    json_object_set_new(item, "time", json_string("2026-11-27T14:03:05"));
    expect_item_rejected(f, b.token, item, "invalid_time");
    item = wd_item(mid(f), "hr", json_integer(80), NULL, now);
    json_object_set_new(item, "time", json_integer(1700000000));
    expect_item_rejected(f, b.token, item, "invalid_time");
    /* A numeric offset is converted to UTC. */
    item = wd_item(mid(f), "rr", json_integer(14), NULL, now);
    {
        int64_t t = (now - HOUR_MS) / 1000 * 1000;
        char text[64];
        const char *utc = wd_iso(t + 2 * HOUR_MS); /* 02:00 ahead in +02:00 */
        snprintf(text, sizeof text, "%.19s+02:00", utc);
        json_object_set_new(item, "time", json_string(text));
        WD_EXPECT(wd_post_readings(f->s, b.token, json_pack("[o]", item)), 201);
        assert_int_equal(WD_TIME(only_reading(f, b.pid, "rr"), "time"), t);
    }
}

static void test_batch_limit(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 2 * HOUR_MS;
    json_t *items = json_array();
    wd_resp *r;

    for (int i = 0; i < 1001; i++)
        json_array_append_new(items, wd_item(wd_path(f->s, "lim-%d", i), "hr",
                                             json_integer(60 + i % 60), NULL, t + i * 1000LL));
    r = wd_post_readings(f->s, b.token, json_deep_copy(items));
    WD_EXPECT_ERR(r, 413, "too_many_readings");
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), 0);
    /* 1000 is fine. */
    json_array_remove(items, 1000);
    r = wd_post_readings(f->s, b.token, items);
    WD_EXPECT(r, 201);
    check_counts(r, 1000, 0, 0);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, "hr")), 1000);
}

/* A reading for an empty bed, or from a device without a bed, is kept. */
static void test_unassigned(void **state)
{
    wd_fixture *f = fx(state);
    const char *bed = wd_new_bed(f);
    const char *on_empty = wd_new_device(f, bed, NULL);
    const char *bedless = wd_device_add(f->s, wd_uniq(f->s, "MON-"), NULL, NULL); /* CLI */
    int64_t t = wd_now_ms() - MIN_MS;
    wd_resp *r;

    r = wd_post_readings(f->s, on_empty,
                         json_pack("[o]", wd_item(mid(f), "hr", json_integer(77), NULL, t)));
    WD_EXPECT(r, 201);
    check_counts(r, 1, 0, 0);
    r = wd_post_readings(f->s, bedless,
                         json_pack("[o]", wd_item(mid(f), "hr", json_integer(78), NULL, t)));
    WD_EXPECT(r, 201);
    check_counts(r, 1, 0, 0);
    /* A patient admitted afterwards does not inherit the earlier reading. */
    {
        long long pid = wd_admit(f, bed, 0, NULL);
        assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, pid, NULL)), 0);
    }
}

/* docs/api.md: the reading is filed to the patient who occupied the device's
 * bed at the reading's time. A in bed X is moved to Y at T, C takes X. */
static void test_filing_across_transfer(void **state)
{
    wd_fixture *f = fx(state);
    bedside x = make_bedside(f); /* patient A in X */
    const char *y = wd_new_bed(f);
    int64_t before_t, after_t, before_admission = x.admitted - 30 * MIN_MS;
    long long c;
    json_t *ga, *gc;
    wd_resp *r;

    /* A reading from before A was admitted (X empty then). */
    before_t = wd_now_ms() - 30 * MIN_MS;
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", x.pid),
                      f->nurse, json_pack("{s:s}", "bed", y)),
              200);
    c = wd_admit(f, x.bed, 0, NULL);
    wd_sleep_ms(20);
    after_t = wd_now_ms();
    /* Posted late, in one batch, in the wrong order: filing goes by time. */
    r = wd_post_readings(
        f->s, x.token,
        json_pack("[o, o, o]", wd_item(mid(f), "hr", json_integer(133), NULL, after_t),
                  wd_item(mid(f), "hr", json_integer(111), NULL, before_t),
                  wd_item(mid(f), "hr", json_integer(99), NULL, before_admission)));
    WD_EXPECT(r, 201);
    check_counts(r, 3, 0, 0);
    ga = wd_all_readings(f->s, f->viewer, x.pid, NULL);
    gc = wd_all_readings(f->s, f->viewer, c, NULL);
    if (json_array_size(ga) != 1 || WD_NUM(ga, "0.value") != 111)
        fail_msg("patient A should have exactly the reading from before the transfer (111)");
    if (json_array_size(gc) != 1 || WD_NUM(gc, "0.value") != 133)
        fail_msg("patient C should have exactly the reading from after the transfer (133)");
    assert_int_equal(WD_TIME(ga, "0.time"), before_t);
    assert_int_equal(WD_TIME(gc, "0.time"), after_t);
}

/* One batch in time order across four stretches of a bed: empty, patient
 * A, empty again (A transferred out, back-dated), patient C (admitted
 * back-dated), with readings on both sides of every boundary and on it.
 * ingest files a batch with one stay lookup while the times stay inside
 * the stay found: each boundary must still be honoured to the millisecond. */
static void test_batch_spanning_stays(void **state)
{
    wd_fixture *f = fx(state);
    bedside x = make_bedside(f); /* A in X since x.admitted (6 h ago) */
    int64_t now = wd_now_ms() / 1000 * 1000, t_out = now - 2 * HOUR_MS, t_in = now - HOUR_MS;
    int64_t times[64];
    size_t n = 0, want_a = 0, want_c = 0;
    json_t *items = json_array(), *ga, *gc;
    long long c;
    wd_resp *r;

    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", x.pid),
                      f->nurse,
                      json_pack("{s:s, s:s}", "bed", wd_new_bed(f), "time", wd_iso(t_out))),
              200);
    c = wd_admit(f, x.bed, t_in, NULL);
    for (int64_t t = x.admitted - 30 * MIN_MS; t < now; t += 10 * MIN_MS)
        times[n++] = t;
    times[n++] = x.admitted - 1;
    times[n++] = x.admitted;
    times[n++] = t_out - 1;
    times[n++] = t_out;
    times[n++] = t_in - 1;
    times[n++] = t_in;
    /* In time order, as a monitor sends them. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && times[j - 1] > times[j]; j--) {
            int64_t tmp = times[j];
            times[j] = times[j - 1];
            times[j - 1] = tmp;
        }
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(
            items, wd_item(mid(f), "hr", json_integer(60 + (json_int_t)i), NULL, times[i]));
        if (times[i] >= x.admitted && times[i] < t_out)
            want_a++;
        if (times[i] >= t_in)
            want_c++;
    }
    r = wd_post_readings(f->s, x.token, items);
    WD_EXPECT(r, 201);
    check_counts(r, (long long)n, 0, 0);
    ga = wd_all_readings(f->s, f->viewer, x.pid, NULL);
    gc = wd_all_readings(f->s, f->viewer, c, NULL);
    if (json_array_size(ga) != want_a || json_array_size(gc) != want_c)
        fail_msg("want %zu readings for A and %zu for C, got %zu and %zu", want_a, want_c,
                 json_array_size(ga), json_array_size(gc));
    for (size_t i = 0; i < json_array_size(ga); i++) {
        int64_t t = WD_TIME(json_array_get(ga, i), "time");
        if (t < x.admitted || t >= t_out)
            fail_msg("A got a reading at %s, outside its stay", wd_iso(t));
    }
    for (size_t i = 0; i < json_array_size(gc); i++)
        if (WD_TIME(json_array_get(gc, i), "time") < t_in)
            fail_msg("C got a reading from before its admission");
}

/* A reading that arrives after the discharge but was taken during the
 * stay is still the patient's; one taken after the discharge is not. */
static void test_filing_after_discharge(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t during = wd_now_ms() - HOUR_MS, after;
    json_t *got;

    WD_EXPECT(wd_req(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/discharge", b.pid),
                     f->nurse, NULL),
              200);
    wd_sleep_ms(20);
    after = wd_now_ms();
    WD_EXPECT(
        wd_post_readings(f->s, b.token,
                         json_pack("[o, o]", wd_item(mid(f), "hr", json_integer(88), NULL, during),
                                   wd_item(mid(f), "hr", json_integer(66), NULL, after))),
        201);
    got = wd_all_readings(f->s, f->viewer, b.pid, NULL);
    if (json_array_size(got) != 1 || WD_NUM(got, "0.value") != 88)
        fail_msg("a discharged patient should keep exactly the reading from the stay (88)");
}

/* After a transfer, the monitor of the new bed files to the patient. */
static void test_filing_in_new_bed(void **state)
{
    wd_fixture *f = fx(state);
    bedside x = make_bedside(f);
    const char *y = wd_new_bed(f);
    const char *y_monitor = wd_new_device(f, y, NULL);
    int64_t before = wd_now_ms() - 10 * MIN_MS, after;
    json_t *got;

    /* Y's monitor before the transfer: Y was empty. */
    WD_EXPECT(
        wd_post_readings(f->s, y_monitor,
                         json_pack("[o]", wd_item(mid(f), "spo2", json_integer(91), NULL, before))),
        201);
    WD_EXPECT(wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/transfer", x.pid),
                      f->nurse, json_pack("{s:s}", "bed", y)),
              200);
    wd_sleep_ms(20);
    after = wd_now_ms();
    WD_EXPECT(
        wd_post_readings(f->s, y_monitor,
                         json_pack("[o]", wd_item(mid(f), "spo2", json_integer(93), NULL, after))),
        201);
    got = wd_all_readings(f->s, f->viewer, x.pid, "spo2");
    if (json_array_size(got) != 1 || WD_NUM(got, "0.value") != 93)
        fail_msg("after the transfer the new bed's monitor should file to the patient (93 only)");
}

/* --- staff observations --------------------------------------------------------------- */

static wd_resp *observe(wd_fixture *f, const char *token, long long pid, json_t *items)
{
    return wd_reqj(f->s, "POST", wd_path(f->s, "/api/v1/patients/%lld/observations", pid), token,
                   json_pack("{s:o}", "readings", items));
}

static void test_staff_observations(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 5 * MIN_MS;
    wd_resp *r;
    json_t *g;

    r = observe(f, f->nurse, b.pid,
                json_pack("[o, o, o, o, o, o, o]", wd_item(NULL, "hr", json_integer(90), "/min", t),
                          wd_item(NULL, "intubated", json_true(), NULL, t),
                          wd_item(NULL, "rhythm", json_string("af"), NULL, t),
                          wd_item(NULL, "consciousness", json_string("V"), NULL, t),
                          wd_item(NULL, "ctcae.confusion", json_integer(2), NULL, t),
                          wd_item(NULL, "fobt", json_string("negative"), NULL, t),
                          wd_item("n-1", "urine", json_integer(250), "mL", t)));
    WD_EXPECT(r, 201);
    check_counts(r, 7, 0, 0);
    g = only_reading(f, b.pid, "intubated");
    assert_true(json_is_true(json_object_get(g, "value")));
    assert_string_equal(WD_STR(only_reading(f, b.pid, "rhythm"), "value"), "af");
    assert_string_equal(WD_STR(only_reading(f, b.pid, "consciousness"), "value"), "V");
    assert_int_equal(WD_INT(only_reading(f, b.pid, "ctcae.confusion"), "value"), 2);
    WD_NEAR(WD_NUM(only_reading(f, b.pid, "hr"), "value"), 90, 1e-9);
    assert_string_equal(WD_STR(only_reading(f, b.pid, "fobt"), "value"), "negative");
    /* A flag is cleared by a later false. */
    r = observe(f, f->physician, b.pid,
                json_pack("[o]", wd_item(NULL, "intubated", json_false(), NULL, t + 1000)));
    WD_EXPECT(r, 201);
    g = wd_all_readings(f->s, f->viewer, b.pid, "intubated");
    assert_int_equal(json_array_size(g), 2);
    assert_true(json_is_false(wd_get(g, "1.value")));
}

static void test_staff_observations_invalid(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - MIN_MS;
    wd_resp *r;

    r = observe(f, f->nurse, b.pid,
                json_pack("[o, o, o, o, o, o, o]",
                          wd_item(NULL, "ctcae.confusion", num(2.5), NULL, t),           /* 0 */
                          wd_item(NULL, "rhythm", json_string("flutter"), NULL, t),      /* 1 */
                          wd_item(NULL, "intubated", json_integer(1), NULL, t),          /* 2 */
                          wd_item(NULL, "consciousness", json_string("a"), NULL, t),     /* 3 */
                          wd_item(NULL, "ctcae.no_such_term", json_integer(1), NULL, t), /* 4 */
                          wd_item(NULL, "ctcae.confusion", json_integer(6), NULL, t),    /* 5 */
                          wd_item(NULL, "ctcae.confusion", json_integer(1), NULL, t)));  /* 6 ok */
    WD_EXPECT(r, 201);
    check_counts(r, 1, 0, 6);
    check_rejected(r, 0, "invalid_value");
    check_rejected(r, 1, "invalid_value");
    check_rejected(r, 2, "invalid_value");
    check_rejected(r, 3, "invalid_value");
    check_rejected(r, 4, "unknown_code");
    {
        const char *c5 = WD_STR(rejected_at(r->json, 5), "code");
        if (strcmp(c5, "implausible_value") != 0 && strcmp(c5, "invalid_value") != 0)
            fail_msg("ctcae grade 6 rejected as %s, want implausible_value or invalid_value", c5);
    }
    /* All invalid: 422 with the same shape. */
    r = observe(f, f->nurse, b.pid,
                json_pack("[o]", wd_item(NULL, "hr", json_integer(999), NULL, t)));
    WD_EXPECT_ERR(r, 422, "no_reading_accepted");
    check_counts(r, 0, 0, 1);
    check_rejected(r, 0, "implausible_value");
    /* No such patient. */
    WD_EXPECT_ERR(observe(f, f->nurse, 999999,
                          json_pack("[o]", wd_item(NULL, "hr", json_integer(80), NULL, t))),
                  404, "not_found");
}

/* --- GET .../readings ------------------------------------------------------------------ */

static void test_readings_query(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t0 = wd_now_ms() / 1000 * 1000 - 2 * HOUR_MS;
    json_t *items = json_array();
    json_t *all;
    wd_resp *r;
    size_t total;
    json_t *seen;
    const char *cursor = NULL;
    int pages = 0;

    for (int i = 0; i < 25; i++)
        json_array_append_new(items,
                              wd_item(mid(f), "hr", json_integer(70 + i), NULL, t0 + i * MIN_MS));
    for (int i = 0; i < 5; i++) /* ties with hr */
        json_array_append_new(items,
                              wd_item(mid(f), "spo2", json_integer(95), NULL, t0 + i * MIN_MS));
    {
        static const char *const codes[] = {"rr",   "sbp", "dbp", "map", "o2_flow",
                                            "fio2", "ast", "alt", "ph",  "lactate"};
        static const double values[] = {16, 120, 80, 93, 2, 40, 30, 31, 7.4, 1.1};
        for (int i = 0; i < 10; i++) /* ten at one instant */
            json_array_append_new(
                items, wd_item(mid(f), codes[i], num(values[i]), NULL, t0 + 30 * MIN_MS));
    }
    total = json_array_size(items);
    r = wd_post_readings(f->s, b.token, items);
    WD_EXPECT(r, 201);
    check_counts(r, (long long)total, 0, 0);

    /* Shape and order. */
    all = wd_all_readings(f->s, f->viewer, b.pid, NULL);
    assert_int_equal(json_array_size(all), total);
    for (size_t i = 0; i < total; i++) {
        json_t *g = json_array_get(all, i);
        static const char *const keys[] = {"code", "value", "unit", "time", "source", "device"};
        for (size_t k = 0; k < 6; k++)
            if (!json_object_get(g, keys[k]))
                fail_msg("a reading lacks \"%s\" (docs/api.md)", keys[k]);
        if (i && WD_TIME(g, "time") < WD_TIME(json_array_get(all, i - 1), "time"))
            fail_msg("readings are not time-ordered at %zu", i);
    }

    /* Small pages: every reading exactly once. */
    seen = wd_keep(f->s, json_array());
    do {
        const char *path = wd_path(f->s, "/api/v1/patients/%lld/readings?limit=7&from=%s&to=%s%s%s",
                                   b.pid, wd_iso(t0 - HOUR_MS), wd_iso(t0 + HOUR_MS),
                                   cursor ? "&cursor=" : "", cursor ? cursor : "");
        json_t *page, *next;
        size_t i;
        json_t *g;
        r = wd_req(f->s, "GET", path, f->viewer, NULL);
        WD_EXPECT(r, 200);
        page = WD_ARR(r->json, "readings");
        if (json_array_size(page) > 7)
            fail_msg("a page of %zu readings for limit=7", json_array_size(page));
        json_array_foreach(page, i, g)
        {
            json_array_append(seen, g);
        }
        next = json_object_get(r->json, "next");
        if (!next)
            fail_msg("the readings page lacks \"next\" (docs/api.md)");
        cursor = json_is_string(next)    ? wd_escape(f->s, json_string_value(next))
                 : json_is_integer(next) ? wd_path(f->s, "%lld", json_integer_value(next))
                                         : NULL;
        if (++pages > 20)
            fail_msg("pagination does not end");
    } while (cursor);
    assert_int_equal(pages, (total + 6) / 7);
    if (!json_equal(seen, all)) {
        char *a = json_dumps(seen, JSON_COMPACT);
        print_error("paging with limit=7 did not return every reading exactly once: %.3000s\n", a);
        free(a);
        fail();
    }

    /* The code filter. */
    {
        json_t *hr = wd_all_readings(f->s, f->viewer, b.pid, "hr");
        size_t i;
        json_t *g;
        assert_int_equal(json_array_size(hr), 25);
        json_array_foreach(hr, i, g)
        {
            assert_string_equal(WD_STR(g, "code"), "hr");
        }
    }

    /* from/to: hr readings 6..10 lie between 5.5 and 10.5 minutes. */
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/readings?code=hr&from=%s&to=%s", b.pid,
                       wd_iso(t0 + 5 * MIN_MS + 30000), wd_iso(t0 + 10 * MIN_MS + 30000)),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    if (json_array_size(WD_ARR(r->json, "readings")) != 5 ||
        WD_NUM(r->json, "readings.0.value") != 76 || WD_NUM(r->json, "readings.4.value") != 80)
        fail_msg("from/to selected the wrong readings: %s", r->body);
    assert_true(json_is_null(json_object_get(r->json, "next")));
}

static void test_readings_bad_query(void **state)
{
    static const char *const queries[] = {
        "limit=0",
        "limit=-1",
        "limit=abc",
        "from=yesterday",
        "to=2026-13-01T00:00:00Z",
        "cursor=%21%21not-a-cursor%21%21",
    };
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);

    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        WD_EXPECT_ERR(wd_req(f->s, "GET",
                             wd_path(f->s, "/api/v1/patients/%lld/readings?%s", b.pid, queries[i]),
                             f->viewer, NULL),
                      400, "bad_query");
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/patients/999999/readings", f->viewer, NULL), 404,
                  "not_found");
}

/* --- GET .../series ----------------------------------------------------------------------- */

static void test_series(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t0 = wd_now_ms() / 60000 * 60000 - 3 * HOUR_MS;
    wd_resp *r;
    json_t *hr, *spo2;
    long long bucket;

    WD_EXPECT(
        wd_post_readings(f->s, b.token,
                         json_pack("[o, o, o, o]",
                                   wd_item(mid(f), "hr", json_integer(100), NULL, t0 + MIN_MS),
                                   wd_item(mid(f), "hr", json_integer(110), NULL, t0 + 2 * MIN_MS),
                                   wd_item(mid(f), "hr", json_integer(120), NULL, t0 + 25 * MIN_MS),
                                   wd_item(mid(f), "rr", json_integer(20), NULL, t0 + 3 * MIN_MS))),
        201);
    r = wd_req(f->s, "GET",
               wd_path(f->s, "/api/v1/patients/%lld/series?codes=hr,spo2&from=%s&to=%s&buckets=6",
                       b.pid, wd_iso(t0), wd_iso(t0 + HOUR_MS)),
               f->viewer, NULL);
    WD_EXPECT(r, 200);
    assert_int_equal(WD_TIME(r->json, "from"), t0);
    assert_int_equal(WD_TIME(r->json, "to"), t0 + HOUR_MS);
    /* Six equal buckets covering the hour ("to" may count as inclusive,
     * making a bucket a millisecond longer). */
    bucket = WD_INT(r->json, "bucket_ms");
    if (bucket < 10 * MIN_MS || bucket > 10 * MIN_MS + 1)
        fail_msg("bucket_ms %lld for 6 buckets over one hour", bucket);
    hr = WD_ARR(r->json, "series.hr");
    if (json_array_size(hr) != 2)
        fail_msg("want 2 non-empty hr buckets (empty ones omitted), got %s", r->body);
    assert_int_equal(WD_TIME(hr, "0.start"), t0);
    WD_NEAR(WD_NUM(hr, "0.min"), 100, 1e-9);
    WD_NEAR(WD_NUM(hr, "0.max"), 110, 1e-9);
    WD_NEAR(WD_NUM(hr, "0.mean"), 105, 1e-9);
    assert_int_equal(WD_INT(hr, "0.n"), 2);
    assert_int_equal(WD_TIME(hr, "1.start"), t0 + 2 * bucket);
    WD_NEAR(WD_NUM(hr, "1.min"), 120, 1e-9);
    WD_NEAR(WD_NUM(hr, "1.max"), 120, 1e-9);
    WD_NEAR(WD_NUM(hr, "1.mean"), 120, 1e-9);
    assert_int_equal(WD_INT(hr, "1.n"), 1);
    /* No spo2 at all: no buckets. rr was not asked for. */
    spo2 = wd_get(r->json, "series.spo2");
    assert_true(!spo2 || (json_is_array(spo2) && json_array_size(spo2) == 0));
    assert_null(wd_get(r->json, "series.rr"));
}

static void test_series_bad_query(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t now = wd_now_ms();
    const char *from = wd_iso(now - HOUR_MS), *to = wd_iso(now);
    const char *const queries[] = {
        wd_path(f->s, "codes=hr&from=%s&to=%s&buckets=0", from, to),
        wd_path(f->s, "codes=hr&from=%s&to=%s&buckets=abc", from, to),
        wd_path(f->s, "codes=hr&from=%s&to=%s&buckets=-3", from, to),
        wd_path(f->s, "codes=hr&from=yesterday&to=%s&buckets=6", to),
        wd_path(f->s, "codes=hr&from=%s&to=%s&buckets=6", to, from), /* to before from */
    };

    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        WD_EXPECT_ERR(wd_req(f->s, "GET",
                             wd_path(f->s, "/api/v1/patients/%lld/series?%s", b.pid, queries[i]),
                             f->viewer, NULL),
                      400, "bad_query");
}

/* --- GET /api/v1/ward ----------------------------------------------------------------------- */

static void test_ward(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    const char *empty = wd_new_bed(f);
    int64_t t = wd_now_ms() - 2 * MIN_MS;
    wd_resp *r, *beds;
    json_t *wb, *list, *dev;
    int64_t at;
    size_t i;
    json_t *v;

    WD_EXPECT(wd_post_readings(f->s, b.token,
                               json_pack("[o, o, o]",
                                         wd_item(mid(f), "hr", json_integer(101), NULL, t - MIN_MS),
                                         wd_item(mid(f), "hr", json_integer(104), NULL, t),
                                         wd_item(mid(f), "temp", num(38.2), NULL, t))),
              201);
    r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    WD_EXPECT(r, 200);
    at = WD_TIME(r->json, "at");
    list = WD_ARR(r->json, "beds");
    /* Every bed. */
    beds = wd_req(f->s, "GET", "/api/v1/beds", f->viewer, NULL);
    json_array_foreach(WD_LIST(beds, "beds"), i, v)
    {
        if (!wd_find(list, "bed", WD_STR(v, "id")))
            fail_msg("GET /api/v1/ward lacks bed %s", WD_STR(v, "id"));
    }
    /* The bedside: patient, latest values with their age, the monitor. */
    wb = wd_find(list, "bed", b.bed);
    assert_int_equal(WD_INT(wb, "patient.id"), b.pid);
    WD_STR(wb, "patient.name");
    WD_STR(wb, "patient.mrn");
    assert_int_equal(WD_TIME(wb, "patient.admitted_at"), b.admitted);
    WD_STR(wb, "label");
    WD_NEAR(WD_NUM(wb, "latest.hr.value"), 104, 1e-9);
    assert_string_equal(WD_STR(wb, "latest.hr.unit"), "/min");
    assert_int_equal(WD_TIME(wb, "latest.hr.time"), t);
    WD_NEAR(WD_NUM(wb, "latest.hr.age_s"), (double)(at - t) / 1000.0, 2.0);
    WD_NEAR(WD_NUM(wb, "latest.temp.value"), 38.2, 1e-9);
    dev = wd_find_int(WD_ARR(wb, "devices"), "id", b.device_id);
    if (!dev)
        fail_msg("the ward's bed %s does not list its monitor: %s", b.bed, r->body);
    WD_STR(dev, "serial");
    {
        int64_t seen = WD_TIME(dev, "last_seen");
        if (seen < t || seen > at + 1000)
            fail_msg("last_seen %s is not the time of the post", WD_STR(dev, "last_seen"));
    }
    /* An empty bed. */
    wb = wd_find(list, "bed", empty);
    assert_non_null(wb);
    assert_true(json_is_null(json_object_get(wb, "patient")));
}

/* The clinical columns of the ward view (grade, decision, alerts). */
static void test_ward_clinical_fields(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL);
    json_t *wb;

    WD_EXPECT(r, 200);
    wb = wd_find(WD_ARR(r->json, "beds"), "bed", b.bed);
    assert_non_null(wb);
    if (!json_object_get(wb, "max_grade") || !json_object_get(wb, "decision") ||
        !json_is_integer(json_object_get(wb, "active_alerts")))
        fail_msg("a ward bed lacks max_grade, decision or active_alerts (docs/api.md): %s",
                 json_dumps(wb, JSON_COMPACT));
}

/* A device retries the same batch on eight connections at once: each
 * reading is stored once; the answers add up to one acceptance each. */
static void test_race_duplicate_batch(void **state)
{
    wd_fixture *f = fx(state);
    bedside b = make_bedside(f);
    int64_t t = wd_now_ms() - 40 * MIN_MS;
    json_t *items = json_array();
    json_t *wrapped;
    char *body;
    long st[8];
    json_t *bodies[8];
    long long accepted = 0, duplicates = 0;

    for (int i = 0; i < 20; i++)
        json_array_append_new(items, wd_item(wd_path(f->s, "race-%d", i), "hr",
                                             json_integer(70 + i), NULL, t + i * 1000LL));
    wrapped = json_pack("{s:o}", "readings", items);
    body = json_dumps(wrapped, JSON_COMPACT);
    json_decref(wrapped);
    wd_race(f->s, 8, "POST", "/api/v1/readings", b.token, body, st, bodies);
    free(body);
    for (int i = 0; i < 8; i++) {
        if (st[i] != 201)
            fail_msg("racing retry %d: HTTP %ld, want 201", i, st[i]);
        accepted += WD_INT(bodies[i], "accepted");
        duplicates += WD_INT(bodies[i], "duplicates");
    }
    assert_int_equal(accepted, 20);
    assert_int_equal(duplicates, 7 * 20);
    assert_int_equal(json_array_size(wd_all_readings(f->s, f->viewer, b.pid, NULL)), 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_all_invalid_is_422),
        cmocka_unit_test(test_invalid_batch_shape),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_race_duplicate_batch),
        cmocka_unit_test(test_unit_conversion),
        cmocka_unit_test(test_per_weight_unit),
        cmocka_unit_test(test_unit_rules),
        cmocka_unit_test(test_plausibility_and_types),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_batch_limit),
        cmocka_unit_test(test_unassigned),
        cmocka_unit_test(test_filing_across_transfer),
        cmocka_unit_test(test_batch_spanning_stays),
        cmocka_unit_test(test_filing_after_discharge),
        cmocka_unit_test(test_filing_in_new_bed),
        cmocka_unit_test(test_staff_observations),
        cmocka_unit_test(test_staff_observations_invalid),
        cmocka_unit_test(test_readings_query),
        cmocka_unit_test(test_readings_bad_query),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_series_bad_query),
        cmocka_unit_test(test_ward),
        cmocka_unit_test(test_ward_clinical_fields),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
