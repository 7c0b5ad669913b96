/* it_openapi: the OpenAPI document (docs/openapi.json) is served by the
 * binary at GET /api/v1/openapi.json without a log-in, and it matches the
 * server: every route of the route table is an operation of the document
 * with the route's minimum role as its `x-wardd-role`, every operation of
 * the document is a route, and every error code of include/errors.def is
 * in its ErrorCode enum. The route table is the one linked into this test
 * (the daemon's own objects), so a route added to it without a document
 * entry fails here. How to add one: docs/api.md, "The OpenAPI document". */
#include "harness.h"
#include "route.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

/* "/api/v1/patients/{id}/doses" -> "/api/v1/patients/{}/doses", as the
 * route table writes a path parameter. */
static void normalise(const char *doc_path, char *out, size_t len)
{
    size_t n = 0;

    for (const char *p = doc_path; *p && n + 3 < len; p++) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (end) {
                out[n++] = '{';
                out[n++] = '}';
                p = end;
                continue;
            }
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* The document's path item for a route pattern, or NULL. */
static json_t *path_item(const json_t *doc, const char *pattern)
{
    const char *key;
    json_t *item;
    char norm[256];

    json_object_foreach(json_object_get(doc, "paths"), key, item)
    {
        normalise(key, norm, sizeof norm);
        if (strcmp(norm, pattern) == 0)
            return item;
    }
    return NULL;
}

static void lower(const char *in, char *out, size_t len)
{
    size_t i = 0;

    for (; in[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static json_t *fetch_doc(wd_fixture *f)
{
    wd_resp *r = wd_req(f->s, "GET", "/api/v1/openapi.json", NULL, NULL);

    WD_EXPECT(r, 200);
    if (strncmp(r->content_type, "application/json", 16) != 0)
        fail_msg("GET /api/v1/openapi.json: Content-Type %s", r->content_type);
    if (!json_is_object(r->json))
        fail_msg("GET /api/v1/openapi.json: not a JSON object");
    return r->json;
}

static void test_served_without_login(void **state)
{
    wd_fixture *f = fx(state);
    json_t *doc = fetch_doc(f);
    wd_raw_req head = {.method = "HEAD", .path = "/api/v1/openapi.json"};

    assert_string_equal(WD_STR(doc, "openapi"), "3.1.0");
    assert_string_equal(WD_STR(doc, "info.title"), "wardd API");
    WD_OBJ(doc, "components.schemas.Error");
    WD_EXPECT(wd_raw(f->s, &head), 200);
    /* The same document for a logged-in caller. */
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/openapi.json", f->viewer, NULL), 200);
    WD_EXPECT_ERR(wd_req(f->s, "POST", "/api/v1/openapi.json", NULL, NULL), 405,
                  "method_not_allowed");
}

/* Every /api/v1 route of the table is documented, with its role. */
static void test_every_route_is_documented(void **state)
{
    wd_fixture *f = fx(state);
    json_t *doc = fetch_doc(f);
    char missing[4096] = "";
    size_t used = 0;

    for (size_t i = 0; i < route_count; i++) {
        const struct route *rt = &route_table[i];
        json_t *item = path_item(doc, rt->pattern), *op;
        char method[16];
        const char *want = rt->min_role == ROLE_NONE ? "none" : role_name(rt->min_role);
        const char *doc_role;
        if (strncmp(rt->pattern, "/api/v1/", 8) != 0 && !item)
            continue; /* outside the contract's scope (/healthz etc. are listed anyway) */
        lower(rt->method, method, sizeof method);
        op = item ? json_object_get(item, method) : NULL;
        doc_role = op ? json_string_value(json_object_get(op, "x-wardd-role")) : NULL;
        if (!op)
            used += (size_t)snprintf(missing + used, sizeof missing - used,
                                     "\n  %s %s: no operation in docs/openapi.json", rt->method,
                                     rt->pattern);
        else if (!doc_role || strcmp(doc_role, want) != 0)
            used += (size_t)snprintf(missing + used, sizeof missing - used,
                                     "\n  %s %s: x-wardd-role is %s, the route table says %s",
                                     rt->method, rt->pattern, doc_role ? doc_role : "(none)", want);
        if (used >= sizeof missing)
            break;
    }
    if (missing[0])
        fail_msg("the route table and docs/openapi.json disagree (see docs/api.md, \"The "
                 "OpenAPI document\"):%s",
                 missing);
}

/* Every operation of the document is a route: nothing stale. */
static void test_every_operation_is_a_route(void **state)
{
    static const char *const methods[] = {"get", "put", "post", "delete", "patch"};
    wd_fixture *f = fx(state);
    json_t *doc = fetch_doc(f), *item;
    const char *key;
    char norm[256], upper[16];

    json_object_foreach(WD_OBJ(doc, "paths"), key, item)
    {
        normalise(key, norm, sizeof norm);
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            bool found = false;
            size_t k = 0;
            if (!json_object_get(item, methods[m]))
                continue;
            for (; methods[m][k]; k++)
                upper[k] = (char)toupper((unsigned char)methods[m][k]);
            upper[k] = '\0';
            for (size_t i = 0; i < route_count && !found; i++)
                found = strcmp(route_table[i].pattern, norm) == 0 &&
                        strcmp(route_table[i].method, upper) == 0;
            if (!found)
                fail_msg("docs/openapi.json documents %s %s, which is not in the route table",
                         upper, key);
        }
    }
}

/* The ErrorCode enum is include/errors.def. */
static void test_error_codes_match_registry(void **state)
{
    static const char *const codes[] = {
#define X(name, code, status, message) code,
#include "errors.def"
#undef X
    };
    wd_fixture *f = fx(state);
    json_t *doc = fetch_doc(f);
    json_t *listed = WD_ARR(doc, "components.schemas.ErrorCode.enum");
    size_t n = sizeof codes / sizeof codes[0];

    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < json_array_size(listed) && !found; k++)
            found = strcmp(json_string_value(json_array_get(listed, k)), codes[i]) == 0;
        if (!found)
            fail_msg("error code %s (include/errors.def) is missing from "
                     "components.schemas.ErrorCode in docs/openapi.json",
                     codes[i]);
    }
    if (json_array_size(listed) != n)
        fail_msg("components.schemas.ErrorCode lists %zu codes, include/errors.def %zu",
                 json_array_size(listed), n);
}

/* The document says a path id is a positive decimal integer, anything else
 * 404: also a leading space or sign, which strtoll alone would accept. Both
 * bugs here were found by tests/api/fuzz-requests.mjs. */
static void test_path_ids_are_decimal(void **state)
{
    static const char *const bad[] = {"%201", "+1", "-1", "0", "1x", "1.0", "%091"};
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", 0, NULL);

    WD_EXPECT(wd_req(f->s, "GET", wd_path(f->s, "/api/v1/patients/%lld", pid), f->viewer, NULL),
              200);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = wd_path(f->s, "/api/v1/patients/%s", bad[i]);
        WD_EXPECT_ERR(wd_req(f->s, "GET", p, f->viewer, NULL), 404, "not_found");
        p = wd_path(f->s, "/api/v1/patients/%s/discharge", bad[i]);
        WD_EXPECT_ERR(wd_req(f->s, "POST", p, f->nurse, NULL), 404, "not_found");
        /* With an invalid body too: under ASan (make sanitize) the 404 leaked
         * the body's problems, and the server's exit at wd_stop failed. */
        p = wd_path(f->s, "/api/v1/alerts/%s/ack", bad[i]);
        WD_EXPECT_ERR(wd_req(f->s, "POST", p, f->nurse, "{\"x\": 1}"), 404, "not_found");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_without_login),
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_every_operation_is_a_route),
        cmocka_unit_test(test_error_codes_match_registry),
        cmocka_unit_test(test_path_ids_are_decimal),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
