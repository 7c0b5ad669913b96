/* Unit tests for the security branch's store and validation pieces, on a
 * freshly migrated in-memory database:
 *   - the audit chain hash is exactly the serialisation docs/security.md
 *     defines (recomputed here independently), verify finds a changed row;
 *   - the device-to-bed history: intervals, the first bed open since ever,
 *     moves, no bed, and filing through store_device_stay_span;
 *   - the device reading horizon's boundary in obs_parse_reading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "../../server/store/store_int.h"
#include "migrate.h"
#include "obs.h"
#include "store.h"

#define T0   INT64_C(1795788185000) /* 2026-11-27T14:03:05Z */
#define HOUR INT64_C(3600000)

static int setup(void **state)
{
    db_conn *c = db_open(":memory:", true);

    if (!c || migrate_apply(c) != 0)
        return -1;
    if (store_bed_insert(c, "B1", "Bed 1", T0) != 0 || store_bed_insert(c, "B2", "Bed 2", T0) != 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    db_close(*state);
    return 0;
}

/* --- the audit chain -------------------------------------------------------------------- */

/* The documented serialisation, written out again from docs/security.md. */
static void add_text(crypto_hash_sha256_state *h, const unsigned char *s, int len)
{
    char head[32];

    if (!s) {
        crypto_hash_sha256_update(h, (const unsigned char *)"N\n", 2);
        return;
    }
    snprintf(head, sizeof head, "T%d:", len);
    crypto_hash_sha256_update(h, (const unsigned char *)head, strlen(head));
    crypto_hash_sha256_update(h, s, (unsigned long long)len);
    crypto_hash_sha256_update(h, (const unsigned char *)"\n", 1);
}

static void add_int(crypto_hash_sha256_state *h, sqlite3_stmt *st, int col)
{
    char buf[32];

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        snprintf(buf, sizeof buf, "N\n");
    else
        snprintf(buf, sizeof buf, "I%lld\n", (long long)sqlite3_column_int64(st, col));
    crypto_hash_sha256_update(h, (const unsigned char *)buf, strlen(buf));
}

static void documented_hash(sqlite3_stmt *st, const char *prev, char out[65])
{
    unsigned char d[32];
    crypto_hash_sha256_state h;

    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)"wardd-audit-v1\n", 15);
    for (int col = 0; col < 3; col++)
        add_int(&h, st, col);
    for (int col = 3; col < 9; col++)
        add_text(&h, sqlite3_column_text(st, col), sqlite3_column_bytes(st, col));
    crypto_hash_sha256_update(&h, (const unsigned char *)prev, 64);
    crypto_hash_sha256_final(&h, d);
    sodium_bin2hex(out, 65, d, sizeof d);
}

static void test_audit_hash_is_the_documented_one(void **state)
{
    db_conn *c = *state;
    principal nurse = {.role = ROLE_NURSE, .id = 7, .name = "nina"};
    json_t *after = json_pack("{s:s, s:f}", "id", "B9", "x", 0.9);
    char prev[65], want[65];
    sqlite3_stmt *st;
    int rows = 0;
    store_audit_check chk;

    assert_int_equal(store_audit(c, NULL, "bed.add", "bed", "B9", NULL, after, T0), 0);
    assert_int_equal(store_audit(c, &nurse, "patient.update", "patient", NULL, after, NULL, T0 + 1),
                     0);
    assert_int_equal(
        sqlite3_prepare_v2(db_handle(c),
                           "SELECT id, at_ms, user_id, username, action, entity, entity_id, "
                           "before, after, hash FROM audit ORDER BY id",
                           -1, &st, NULL),
        SQLITE_OK);
    memset(prev, '0', 64);
    prev[64] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        documented_hash(st, prev, want);
        assert_string_equal((const char *)sqlite3_column_text(st, 9), want);
        memcpy(prev, want, sizeof prev);
        rows++;
    }
    sqlite3_finalize(st);
    assert_int_equal(rows, 2);
    assert_int_equal(store_audit_verify(c, &chk), 0);
    assert_int_equal(chk.rows, 2);
    assert_string_equal(chk.head, prev);
    /* a changed row is named, with the triggers out of the way */
    assert_int_not_equal(db_exec(c, "UPDATE audit SET username = 'x' WHERE id = 1"), SQLITE_OK);
    assert_int_equal(db_exec(c, "DROP TRIGGER audit_no_update"), SQLITE_OK);
    assert_int_equal(db_exec(c, "UPDATE audit SET username = 'x' WHERE id = 1"), SQLITE_OK);
    assert_int_equal(store_audit_verify(c, &chk), 1);
    assert_int_equal(chk.bad_id, 1);
    assert_int_equal(chk.rows, 0);
    json_decref(after);
}

/* --- device-to-bed history -------------------------------------------------------------- */

static void expect_bed(db_conn *c, int64_t dev, int64_t t, const char *bed, int64_t from,
                       int64_t to)
{
    store_device_bed b;
    int rc = store_device_bed_at(c, dev, t, &b);

    if (!bed) {
        assert_int_equal(rc, 0);
        assert_string_equal(b.bed, "");
        return;
    }
    assert_int_equal(rc, 1);
    assert_string_equal(b.bed, bed);
    assert_true(b.from_ms == from);
    assert_true(b.to_ms == to);
}

static void test_device_history(void **state)
{
    db_conn *c = *state;
    int64_t dev = 0, other = 0;
    store_device_stay s;

    assert_int_equal(store_device_insert(c, "SN-1", "m", "B1", "h1", T0, &dev), 0);
    /* the first bed is open since ever */
    expect_bed(c, dev, T0 - 48 * HOUR, "B1", INT64_MIN, INT64_MAX);
    /* the same bed again changes nothing */
    assert_int_equal(store_device_set_bed(c, dev, "B1", T0 + HOUR), 1);
    expect_bed(c, dev, T0 + 2 * HOUR, "B1", INT64_MIN, INT64_MAX);
    /* moved at T0+3h: [.., T0+3h) B1, [T0+3h, ..) B2 */
    assert_int_equal(store_device_set_bed(c, dev, "B2", T0 + 3 * HOUR), 1);
    expect_bed(c, dev, T0 + 3 * HOUR - 1, "B1", INT64_MIN, T0 + 3 * HOUR);
    expect_bed(c, dev, T0 + 3 * HOUR, "B2", T0 + 3 * HOUR, INT64_MAX);
    /* taken off every bed at T0+5h */
    assert_int_equal(store_device_set_bed(c, dev, NULL, T0 + 5 * HOUR), 1);
    expect_bed(c, dev, T0 + 5 * HOUR - 1, "B2", T0 + 3 * HOUR, T0 + 5 * HOUR);
    expect_bed(c, dev, T0 + 6 * HOUR, NULL, 0, 0);
    /* back on B1: a later bed opens at the move, not since ever */
    assert_int_equal(store_device_set_bed(c, dev, "B1", T0 + 7 * HOUR), 1);
    expect_bed(c, dev, T0 + 6 * HOUR, NULL, 0, 0);
    expect_bed(c, dev, T0 + 8 * HOUR, "B1", T0 + 7 * HOUR, INT64_MAX);
    /* no such device */
    assert_int_equal(store_device_set_bed(c, 9999, "B1", T0), 0);
    /* a device enrolled on no bed has no history */
    assert_int_equal(store_device_insert(c, "SN-2", "m", NULL, "h2", T0, &other), 0);
    expect_bed(c, other, T0, NULL, 0, 0);
    /* filing: nobody admitted, so the bed but no patient */
    assert_int_equal(store_device_stay_span(c, dev, T0 + 4 * HOUR, &s), 0);
    assert_string_equal(s.bed, "B2");
    assert_true(s.patient_id == 0);
    assert_true(s.from_ms <= T0 + 4 * HOUR && T0 + 4 * HOUR < s.to_ms);
    assert_true(s.to_ms <= T0 + 5 * HOUR);
}

/* --- the horizon's boundary --------------------------------------------------------------- */

static int parse_at(int64_t now, int64_t max_age, const char *time, obs_error *err)
{
    obs_context ctx = {.now_ms = now, .require_id = true, .max_age_ms = max_age};
    obs_reading out;
    json_t *item =
        json_pack("{s:s, s:s, s:i, s:s}", "id", "x1", "code", "hr", "value", 70, "time", time);
    int rc = obs_parse_reading(item, &ctx, &out, err);

    json_decref(item);
    return rc;
}

static void test_horizon_boundary(void **state)
{
    obs_error err;

    (void)state;
    /* now 2026-11-27T14:03:05Z, horizon 24 h */
    assert_int_equal(parse_at(T0, 24 * HOUR, "2026-11-26T14:03:05Z", &err), 0);
    assert_int_equal(parse_at(T0, 24 * HOUR, "2026-11-26T14:03:04.999Z", &err), -1);
    assert_string_equal(err.code, "too_old");
    assert_non_null(strstr(err.message, "1440 minutes"));
    /* no horizon (staff): any age */
    assert_int_equal(parse_at(T0, 0, "2020-01-01T00:00:00Z", &err), 0);
    /* the future check still comes first */
    assert_int_equal(parse_at(T0, 24 * HOUR, "2026-11-27T14:08:06Z", &err), -1);
    assert_string_equal(err.code, "future_time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_hash_is_the_documented_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_history, setup, teardown),
        cmocka_unit_test(test_horizon_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
