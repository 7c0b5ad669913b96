/* it_stream_auth: an event stream ends with its session (docs/security.md
 * "Streams end with their session"): within 15 s of logout, account
 * disable, role change or (idle) expiry, and no event is delivered once
 * the session has ended. Also the caps on streams per session and in
 * total. The streams are read over raw sockets ("Connection: close"), so
 * the end of the body is the server closing the connection. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define END_BOUND_MS 15000

typedef struct rawsse {
    int fd;
    char buf[256 * 1024];
    bool eof;
} rawsse;

/* Reads what arrives for up to ms (less once the server closed). */
static void rs_poll(rawsse *c, long ms)
{
    if (!c->eof)
        c->eof = wd_raw_read(c->fd, ms, c->buf, sizeof c->buf);
}

static bool rs_has(const rawsse *c, const char *needle)
{
    return strstr(c->buf, needle) != NULL;
}

static size_t rs_count(const rawsse *c, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(c->buf, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Opens GET /api/v1/events with token; waits for the status line. */
static rawsse *rs_open(wd_server *s, const char *token)
{
    rawsse *c = calloc(1, sizeof *c);
    char req[512];

    assert_non_null(c);
    snprintf(req, sizeof req,
             "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer "
             "%s\r\nConnection: close\r\n\r\n",
             wd_port(s), token);
    c->fd = wd_raw_open(s, req);
    for (int i = 0; i < 50 && !strstr(c->buf, "\r\n\r\n") && !c->eof; i++)
        rs_poll(c, 100);
    return c;
}

static void rs_close(rawsse *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

/* Waits until the server ends the stream; returns how long that took,
 * failing after END_BOUND_MS. */
static int64_t rs_wait_end(rawsse *c)
{
    int64_t t0 = wd_mono_ms();

    rs_poll(c, END_BOUND_MS + 1000);
    if (!c->eof)
        fail_msg("the stream still runs %d ms after its session ended", END_BOUND_MS + 1000);
    return wd_mono_ms() - t0;
}

static wd_resp *post_hr(wd_fixture *f, const char *id, int value)
{
    return wd_post_readings(
        f->s, f->device,
        json_pack("[o]", wd_item(id, "hr", json_integer(value), NULL, wd_now_ms())));
}

/* A stream for a fresh session of a new user with `role`, shown one event
 * (so it is known to deliver); the user's name in *name. */
static rawsse *live_stream(wd_fixture *f, const char *role, const char **name, const char **token)
{
    rawsse *c;

    *name = wd_uniq(f->s, "sse");
    wd_user_add(f->s, *name, role, WD_PASSWORD);
    *token = wd_login(f->s, *name, WD_PASSWORD);
    c = rs_open(f->s, *token);
    if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
        fail_msg("stream did not open: %.200s", c->buf);
    WD_EXPECT(post_hr(f, wd_uniq(f->s, "before-"), 91), 201);
    rs_poll(c, 300);
    for (int i = 0; i < 30 && !rs_has(c, "event: reading"); i++)
        rs_poll(c, 100);
    assert_true(rs_has(c, "event: reading"));
    return c;
}

/* After the session ended: a new reading must not reach the stream, which
 * ends within the bound. */
static void expect_ends_without_more(wd_fixture *f, rawsse *c)
{
    size_t before = rs_count(c, "event: reading");
    int64_t took;

    WD_EXPECT(post_hr(f, wd_uniq(f->s, "after-"), 92), 201);
    took = rs_wait_end(c);
    assert_int_equal(rs_count(c, "event: reading"), before);
    assert_true(took <= END_BOUND_MS);
}

static void setup_env(void)
{
    setenv("WARDD_SSE_RECHECK_MS", "2000", 1);
}

/* Logout, with the default re-check interval. */
static void test_stream_ends_on_logout(void **state)
{
    wd_fixture *f;
    const char *name, *token;
    rawsse *c;
    (void)state;

    unsetenv("WARDD_SSE_RECHECK_MS");
    f = wd_fixture_new();
    wd_admit(f, "B1", 0, NULL);
    c = live_stream(f, "viewer", &name, &token);
    WD_EXPECT(wd_req(f->s, "DELETE", "/api/v1/session", token, NULL), 200);
    expect_ends_without_more(f, c);
    rs_close(c);
    wd_fixture_free(f);
}

static void test_stream_ends_on_disable(void **state)
{
    wd_fixture *f;
    const char *name, *token;
    rawsse *c;
    (void)state;

    setup_env();
    f = wd_fixture_new();
    wd_admit(f, "B1", 0, NULL);
    c = live_stream(f, "nurse", &name, &token);
    WD_EXPECT(wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/users/%s", name), f->admin,
                      json_pack("{s:b}", "disabled", 1)),
              200);
    expect_ends_without_more(f, c);
    rs_close(c);
    wd_fixture_free(f);
}

static void test_stream_ends_on_role_change(void **state)
{
    wd_fixture *f;
    const char *name, *token;
    rawsse *c;
    (void)state;

    setup_env();
    f = wd_fixture_new();
    wd_admit(f, "B1", 0, NULL);
    c = live_stream(f, "physician", &name, &token);
    WD_EXPECT(wd_reqj(f->s, "PATCH", wd_path(f->s, "/api/v1/users/%s", name), f->admin,
                      json_pack("{s:s}", "role", "viewer")),
              200);
    expect_ends_without_more(f, c);
    rs_close(c);
    wd_fixture_free(f);
}

/* Expiry: a session idle past session-idle-timeout. */
static void test_stream_ends_on_expiry(void **state)
{
    const char *const args[] = {"--session-idle-timeout", "3", NULL};
    wd_fixture *f;
    const char *name, *token;
    rawsse *c;
    (void)state;

    setup_env();
    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    wd_admit(f, "B1", 0, NULL);
    c = live_stream(f, "viewer", &name, &token);
    wd_sleep_ms(3500); /* the session is now past its idle limit */
    expect_ends_without_more(f, c);
    WD_EXPECT_ERR(wd_req(f->s, "GET", "/api/v1/session", token, NULL), 401, "unauthenticated");
    rs_close(c);
    wd_fixture_free(f);
}

/* At most sse-max-per-session streams per session, sse-max in total. */
static void test_stream_caps(void **state)
{
    const char *const args[] = {"--sse-max-per-session", "2", "--sse-max", "3", NULL};
    wd_fixture *f;
    rawsse *c[4];
    (void)state;

    unsetenv("WARDD_SSE_RECHECK_MS");
    /* A closed stream is noticed at its next write: keep-alives every second. */
    setenv("WARDD_SSE_KEEPALIVE_MS", "1000", 1);
    wd_serve_args(args);
    f = wd_fixture_new();
    wd_serve_args(NULL);
    unsetenv("WARDD_SSE_KEEPALIVE_MS");
    c[0] = rs_open(f->s, f->viewer);
    c[1] = rs_open(f->s, f->viewer);
    c[2] = rs_open(f->s, f->viewer);
    assert_int_equal(strncmp(c[0]->buf, "HTTP/1.1 200", 12), 0);
    assert_int_equal(strncmp(c[1]->buf, "HTTP/1.1 200", 12), 0);
    if (strncmp(c[2]->buf, "HTTP/1.1 429", 12) != 0 || !strstr(c[2]->buf, "rate_limited"))
        fail_msg("a third stream on one session: %.300s", c[2]->buf);
    rs_close(c[2]);
    c[2] = rs_open(f->s, f->nurse);
    assert_int_equal(strncmp(c[2]->buf, "HTTP/1.1 200", 12), 0);
    c[3] = rs_open(f->s, f->admin);
    if (strncmp(c[3]->buf, "HTTP/1.1 429", 12) != 0)
        fail_msg("a fourth stream in total: %.300s", c[3]->buf);
    rs_close(c[3]);
    /* A closed stream gives its place back. */
    rs_close(c[0]);
    for (int i = 0; i < 100; i++) {
        c[3] = rs_open(f->s, f->admin);
        if (strncmp(c[3]->buf, "HTTP/1.1 200", 12) == 0)
            break;
        rs_close(c[3]);
        c[3] = NULL;
        wd_sleep_ms(200);
    }
    assert_non_null(c[3]);
    for (int i = 1; i < 4; i++)
        rs_close(c[i]);
    wd_fixture_free(f);
}

/* A failed test must not leave its serve flags to the next. */
static int clear_args(void **state)
{
    (void)state;
    wd_serve_args(NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stream_ends_on_logout, clear_args),
        cmocka_unit_test_setup(test_stream_ends_on_disable, clear_args),
        cmocka_unit_test_setup(test_stream_ends_on_role_change, clear_args),
        cmocka_unit_test_setup(test_stream_ends_on_expiry, clear_args),
        cmocka_unit_test_setup(test_stream_caps, clear_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
