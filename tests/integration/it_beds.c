/* it_beds: GET/POST /api/v1/beds (docs/api.md "Beds, patients, devices"):
 * creation, duplicates, invalid bodies, the list. */
#include "harness.h"

#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

static wd_resp *post_bed(wd_fixture *f, json_t *body)
{
    return wd_reqj(f->s, "POST", "/api/v1/beds", f->admin, body);
}

static void test_list_fixture_beds(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/beds", f->viewer, NULL);
    json_t *beds;

    WD_EXPECT(r, 200);
    beds = WD_LIST(r, "beds");
    for (int i = 1; i <= 3; i++) {
        char id[16], label[32];
        json_t *b;
        snprintf(id, sizeof id, "B%d", i);
        snprintf(label, sizeof label, "Bed %d", i);
        b = wd_find(beds, "id", id);
        if (!b)
            fail_msg("GET /api/v1/beds does not list %s: %s", id, r->body);
        assert_string_equal(WD_STR(b, "label"), label);
    }
}

static void test_create_bed(void **state)
{
    wd_fixture *f = fx(state);
    const char *id = wd_uniq(f->s, "C");
    wd_resp *r = post_bed(f, json_pack("{s:s, s:s}", "id", id, "label", "Isolation room"));
    json_t *b;

    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "id"), id);
    assert_string_equal(WD_STR(r->json, "label"), "Isolation room");
    r = wd_req(f->s, "GET", "/api/v1/beds", f->nurse, NULL);
    WD_EXPECT(r, 200);
    b = wd_find(WD_LIST(r, "beds"), "id", id);
    if (!b)
        fail_msg("a new bed is not listed: %s", r->body);
    assert_string_equal(WD_STR(b, "label"), "Isolation room");
}

/* The label is optional. */
static void test_create_bed_without_label(void **state)
{
    wd_fixture *f = fx(state);
    const char *id = wd_uniq(f->s, "N");
    wd_resp *r = post_bed(f, json_pack("{s:s}", "id", id));

    WD_EXPECT(r, 201);
    assert_string_equal(WD_STR(r->json, "id"), id);
    r = wd_req(f->s, "GET", "/api/v1/beds", f->viewer, NULL);
    assert_non_null(wd_find(WD_LIST(r, "beds"), "id", id));
}

static void test_duplicate_bed(void **state)
{
    wd_fixture *f = fx(state);
    const char *id = wd_uniq(f->s, "D");

    WD_EXPECT(post_bed(f, json_pack("{s:s, s:s}", "id", id, "label", "First")), 201);
    WD_EXPECT(post_bed(f, json_pack("{s:s, s:s}", "id", id, "label", "Second")), 409);
    WD_EXPECT(post_bed(f, json_pack("{s:s}", "id", "B1")), 409);
    /* The first label stands. */
    {
        wd_resp *r = wd_req(f->s, "GET", "/api/v1/beds", f->viewer, NULL);
        assert_string_equal(WD_STR(wd_find(WD_LIST(r, "beds"), "id", id), "label"), "First");
    }
}

static void test_invalid_bed(void **state)
{
    wd_fixture *f = fx(state);
    wd_resp *r;

    WD_EXPECT_ERR(post_bed(f, json_pack("{}")), 422, "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("{s:s}", "label", "No id")), 422, "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("{s:s}", "id", "")), 422, "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("{s:i}", "id", 7)), 422, "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("{s:n}", "id")), 422, "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("{s:s, s:i}", "id", wd_uniq(f->s, "L"), "label", 5)), 422,
                  "validation_failed");
    WD_EXPECT_ERR(post_bed(f, json_pack("[s]", "B9")), 422, "validation_failed");
    /* The error names the field. */
    r = post_bed(f, json_pack("{s:s}", "label", "No id"));
    if (!strstr(r->body, "\"id\""))
        fail_msg("the 422 for a bed without id does not name the field: %s", r->body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_fixture_beds),
        cmocka_unit_test(test_create_bed),
        cmocka_unit_test(test_create_bed_without_label),
        cmocka_unit_test(test_duplicate_bed),
        cmocka_unit_test(test_invalid_bed),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
