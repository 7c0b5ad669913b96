/* it_robust: odd input never earns a 5xx (docs/api.md "Errors": a 4xx for the
 * client's mistakes; 5xx only for the server's own). Every route of the
 * server's table (server/api/routes.c) gets, as a caller its role admits:
 * odd path identifiers, odd query strings and, on JSON routes, a set of
 * odd bodies. The harness checks the error shape of every answer; this
 * file checks that none is a 5xx and that the server is still healthy and
 * stops cleanly afterwards. */
#include "harness.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wd_fixture *fx(void **state)
{
    return *state;
}

/* Identifiers for a {} segment that exist nowhere or are not identifiers. */
static const char *const odd_ids[] = {
    "abc",    "-1",        "0",   "99999999999999999999",
    "1.5",    "1e3",       "%20", "0x10",
    "%2e%2e", "%00",       "..",  "+1",
    "1%2F2",  "%E2%82%AC",
};

static const char *const odd_queries[] = {
    "?limit=99999999999999999999&from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
    "?limit=&from=&to=&code=&cursor=&buckets=&codes=&status=&at=",
    "?codes=,,,&buckets=2000&from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00.001Z",
    "?code=hr&code=spo2&limit=1&limit=2",
    "?cursor=%FF%FE&state=%00&patient=-1",
    "?from=2026-02-30T00:00:00Z",
    "?%=%&&&==",
};

static char *big_string_body(void)
{
    size_t n = 100 * 1024;
    char *fill = malloc(n + 1);
    json_t *o;
    char *text;

    assert_non_null(fill);
    memset(fill, 'A', n);
    fill[n] = '\0';
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", fill, "name", fill, "mrn", fill,
                  "username", fill, "serial", fill, "label", fill, "password", fill, "bed", fill);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(fill);
    return text;
}

static const char *const odd_bodies[] = {
    "{}",
    "[]",
    "null",
    "\"x\"",
    "1",
    "true",
    "{\"x\":1}",
    "{\"id\":[],\"label\":{},\"serial\":1,\"model\":[],\"bed\":[1],\"username\":null,"
    "\"password\":5,\"role\":[],\"name\":{},\"mrn\":true,\"readings\":{\"a\":1},\"baseline\":[],"
    "\"reference_ranges\":\"x\",\"disabled\":\"no\",\"note\":1,\"birth_date\":19610402,"
    "\"sex\":[],\"diagnosis\":7,\"admitted_at\":{},\"news2_scale\":\"one\",\"time\":[],"
    "\"status\":0,\"reason\":{},\"override_reason\":[]}",
    "{\"id\":\"\\u0000\",\"name\":\"\\u0000abc\",\"mrn\":\"\\ud83d\\ude00\",\"bed\":\"\\u00e9\","
    "\"username\":\"\\u0000\",\"password\":\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000"
    "\\u0000\\u0000\\u0000\",\"role\":\"admin\\u0000\",\"serial\":\"\\n\"}",
    "{\"news2_scale\":1e308,\"baseline\":{\"weight_kg\":-1e308,\"creatinine_mg_dl\":1e-320},"
    "\"value\":-0.0,\"bed\":\"B3\",\"name\":\"N\",\"mrn\":\"M\"}",
    "{\"readings\":[{\"id\":\"x\",\"code\":\"hr\",\"value\":1e308,\"time\":\"9999-12-31T23:59:"
    "59Z\"},"
    "{\"id\":\"y\",\"code\":\"hr\",\"value\":80,\"time\":\"0000-01-01T00:00:00Z\"},"
    "{\"id\":\"\",\"code\":\"\",\"value\":\"\",\"time\":\"\"},null,[],"
    "{\"id\":\"z\",\"code\":\"ctcae.\",\"value\":1,\"time\":\"2026-01-01T00:00:00+23:59\"},"
    "{\"id\":\"w\",\"code\":\"phenylephrine\",\"value\":1e308,\"unit\":\"ug/min\","
    "\"time\":\"2026-01-01T00:00:00Z\"},"
    "{\"id\":\"v\",\"code\":\"temp\",\"value\":-1e308,\"unit\":\"[degF]\","
    "\"time\":\"2026-01-01T00:00:00Z\"},"
    "{\"id\":\"u\",\"code\":\"ctcae.confusion\",\"value\":9007199254740993,"
    "\"time\":\"2026-01-01T00:00:00-23:59\"}]}",
    "{\"readings\":[]}",
    "{\"readings\":null}",
    "{\"bed\":\"\"}",
    "{\"bed\":\"B1\"}",
};

/* The token of a caller the route's role admits. */
static const char *caller_for(const wd_fixture *f, const struct route *rt)
{
    switch (rt->min_role) {
    case ROLE_NONE:
        return NULL;
    case ROLE_DEVICE:
        return f->device;
    default:
        return f->admin;
    }
}

/* The pattern with every {} replaced by `id`. */
static const char *with_id(wd_server *s, const char *pattern, const char *id)
{
    char out[1024];
    size_t n = 0;

    for (const char *p = pattern; *p && n < sizeof out - 200; p++) {
        if (p[0] == '{' && p[1] == '}') {
            n += (size_t)snprintf(out + n, sizeof out - n, "%s", id);
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return wd_path(s, "%s", out);
}

static bool skip_route(const struct route *rt)
{
    /* Logging out would end the fixture's admin session. */
    return strcmp(rt->pattern, "/api/v1/session") == 0 && strcmp(rt->method, "DELETE") == 0;
}

/* Records a 5xx; returns 1 when r is one. */
static int note(char *problems, size_t *plen, size_t cap, const wd_resp *r, const char *body)
{
    if (r->status < 500)
        return 0;
    if (*plen < cap - 300)
        *plen += (size_t)snprintf(problems + *plen, cap - *plen, "  %s %s%s%.60s -> %ld %.100s\n",
                                  r->method, r->path, body ? " body " : "", body ? body : "",
                                  r->status, r->body);
    return 1;
}

static void test_odd_path_ids(void **state)
{
    wd_fixture *f = fx(state);
    char problems[8192] = "";
    size_t plen = 0;
    int bad = 0, n = 0;

    for (size_t i = 0; i < route_count; i++) {
        const struct route *rt = &route_table[i];
        if (!strstr(rt->pattern, "{}") || skip_route(rt))
            continue;
        for (size_t k = 0; k < sizeof odd_ids / sizeof odd_ids[0]; k++) {
            const char *body = rt->body == BODY_JSON ? "{}" : NULL;
            wd_raw_req q = {.method = rt->method,
                            .path = with_id(f->s, rt->pattern, odd_ids[k]),
                            .token = caller_for(f, rt),
                            .content_type = body ? "application/json" : NULL,
                            .body = body,
                            .body_len = body ? strlen(body) : 0,
                            .max_ms = 5000};
            bad += note(problems, &plen, sizeof problems, wd_raw(f->s, &q), NULL);
            n++;
        }
        wd_gc(f->s);
    }
    print_message("odd path ids: %d requests\n", n);
    if (bad)
        fail_msg("%d odd path identifiers earned a 5xx:\n%s", bad, problems);
}

static void test_odd_queries(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B2", wd_now_ms() - 3600000, NULL);
    char problems[8192] = "";
    size_t plen = 0;
    int bad = 0, n = 0;

    for (size_t i = 0; i < route_count; i++) {
        const struct route *rt = &route_table[i];
        const char *base;
        if (strcmp(rt->method, "GET") != 0)
            continue;
        base = with_id(f->s, rt->pattern, wd_path(f->s, "%lld", pid));
        for (size_t k = 0; k < sizeof odd_queries / sizeof odd_queries[0]; k++) {
            wd_raw_req q = {.method = "GET",
                            .path = wd_path(f->s, "%s%s", base, odd_queries[k]),
                            .token = caller_for(f, rt),
                            .max_ms = 5000};
            bad += note(problems, &plen, sizeof problems, wd_raw(f->s, &q), NULL);
            n++;
        }
        wd_gc(f->s);
    }
    print_message("odd queries: %d requests\n", n);
    if (bad)
        fail_msg("%d odd query strings earned a 5xx:\n%s", bad, problems);
}

static void test_odd_bodies(void **state)
{
    wd_fixture *f = fx(state);
    long long pid = wd_admit(f, "B3", wd_now_ms() - 3600000, NULL);
    char *big = big_string_body();
    char problems[8192] = "";
    size_t plen = 0;
    int bad = 0, n = 0;

    for (size_t i = 0; i < route_count; i++) {
        const struct route *rt = &route_table[i];
        const char *path;
        if (rt->body != BODY_JSON || skip_route(rt))
            continue;
        /* Existing ids where there are ids, so that handlers get past the
         * look-up; user names are the fixture viewer's. */
        path =
            with_id(f->s, rt->pattern,
                    strncmp(rt->pattern, "/api/v1/users/", 14) == 0 ? WD_VIEWER
                                                                    : wd_path(f->s, "%lld", pid));
        for (size_t k = 0; k <= sizeof odd_bodies / sizeof odd_bodies[0]; k++) {
            const char *body = k < sizeof odd_bodies / sizeof odd_bodies[0] ? odd_bodies[k] : big;
            /* The 800 KB body asks first (Expect: 100-continue, as curl
             * does past 1 MiB): a route that refuses it at once (413 past
             * the log-in's 4 KiB) answers before any of it is sent, instead
             * of closing on a client still sending (a broken pipe). */
            static const char *const expect[] = {"Expect: 100-continue", NULL};
            wd_raw_req q = {.method = rt->method,
                            .path = path,
                            .token = caller_for(f, rt),
                            .content_type = "application/json",
                            .body = body,
                            .body_len = strlen(body),
                            .headers = body == big ? expect : NULL};
            bad += note(problems, &plen, sizeof problems, wd_raw(f->s, &q), body);
            n++;
        }
        wd_gc(f->s);
    }
    free(big);
    print_message("odd bodies: %d requests\n", n);
    if (bad)
        fail_msg("%d odd bodies earned a 5xx:\n%s", bad, problems);
}

/* After all that: healthy, and the fixture's sessions still work. */
static void test_still_healthy(void **state)
{
    wd_fixture *f = fx(state);

    WD_EXPECT(wd_req(f->s, "GET", "/healthz", NULL, NULL), 200);
    WD_EXPECT(wd_req(f->s, "GET", "/readyz", NULL, NULL), 200);
    WD_EXPECT(wd_req(f->s, "GET", "/api/v1/ward", f->viewer, NULL), 200);
    /* The group teardown asserts a clean exit (status 0, no sanitizer report). */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_path_ids),
        cmocka_unit_test(test_odd_queries),
        cmocka_unit_test(test_odd_bodies),
        cmocka_unit_test(test_still_healthy),
    };
    return cmocka_run_group_tests(tests, wd_fixture_setup, wd_fixture_teardown);
}
